"""patchwatch plugin: Steam updates through Steam's PICS protocol (anonymous login, bulk, change numbers)."""

from patchwatch import StoreInfo, hookimpl


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(store="steam", description="Steam updates through Steam's PICS protocol (anonymous login, bulk, change numbers)")
