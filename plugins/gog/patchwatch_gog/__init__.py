"""patchwatch plugin: GOG updates from the public content-system builds API."""

from patchwatch import StoreInfo, hookimpl


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(store="gog", description="GOG updates from the public content-system builds API")
