"""Reading a product's Linux offline installer, GOG's only per-release value for Linux.

GOG has no Linux builds (gogapidocs: the builds API's ``os`` is windows or osx; Yepoleb/gogdb#9:
"GOG does not have Linux builds, it only has downloads"). Heroic checks a Linux game for
updates by comparing the ``version`` of its Linux installer in
``api.gog.com/products/{id}?expand=downloads`` (``library.ts`` ``checkForLinuxInstallerUpdate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


class BadProduct(ValueError):
    """A product answer that does not have the product API's shape."""


@dataclass(frozen=True)
class Installer:
    """One offline installer of ``downloads.installers``, the fields patchwatch uses."""

    id: str
    os: str
    language: str
    version: str | None
    total_size: int | None

    def as_detail(self) -> dict[str, Any]:
        return {"installer": self.id, "language": self.language, "version": self.version,
                "total_size": self.total_size}


def parse_installers(product: Any) -> list[Installer]:
    """The installers of a ``?expand=downloads`` product answer; :class:`BadProduct` if malformed."""
    if not isinstance(product, Mapping) or "id" not in product:
        raise BadProduct("no product id")
    downloads = product.get("downloads")
    if not isinstance(downloads, Mapping) or not isinstance(downloads.get("installers"), list):
        raise BadProduct("no 'downloads.installers' list (was ?expand=downloads honoured?)")
    installers = []
    for index, item in enumerate(downloads["installers"]):
        if not isinstance(item, Mapping) or not isinstance(item.get("os"), str):
            raise BadProduct(f"downloads.installers[{index}] is not an installer")
        version = item.get("version")
        size = item.get("total_size")
        installers.append(Installer(
            id=str(item.get("id") or ""),
            os=item["os"],
            language=str(item.get("language") or ""),
            version=version.strip() or None if isinstance(version, str) else None,
            total_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        ))
    return installers


def linux_installer(installers: list[Installer]) -> Installer | None:
    """The Linux installer to follow: the English one, else the first listed.

    heroic-gogdl falls back to English ("English installers should be multilanguage
    ready", ``dl/managers/linux.py``); Heroic takes the first Linux installer.
    """
    linux = [i for i in installers if i.os == "linux"]
    return next((i for i in linux if i.language == "en"), linux[0] if linux else None)
