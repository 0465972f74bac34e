"""patchwatch plugin: Steam updates over public HTTP APIs (the fallback)."""

from patchwatch import StoreInfo, hookimpl


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(store="steam", description="Steam updates over public HTTP APIs (the fallback)")
