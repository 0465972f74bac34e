"""patchwatch plugin: Epic Games Store updates."""

from patchwatch import StoreInfo, hookimpl


@hookimpl
def store_info() -> StoreInfo:
    return StoreInfo(store="epic", description="Epic Games Store updates")
