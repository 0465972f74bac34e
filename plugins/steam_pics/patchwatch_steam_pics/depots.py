"""What a new build changed: manifest gids per depot of the tracked branch (issue 21).

PICS app info lists, under ``depots``, each depot with its ``config`` (``oslist``,
``language``), ``dlcappid`` for DLC content, ``depotfromapp`` for a depot another app owns
(shared redistributables: followed to that app's public manifest, as DepotDownloader
``ContentDownloader.cs`` does), and ``manifests/<branch>``: a bare manifest gid in older app
info, ``{gid, size, download}`` in newer (DepotDownloader PR #425 reads both; ``size`` and
``download`` are the whole depot's, not a delta: a true delta needs the manifests, which
anonymous accounts cannot fetch). A new build id whose depots all keep their gid changed
nothing to download (LinuxGSM #3143 saw such builds go live).

The signal's ``detail["depots"]`` keeps the branch's ``depot=gid`` pairs in one string
(``"441=7361...,442=1187..."``: one string per app, not a dict, so 20,000 stored signals
read back from the database stay 20,000 small objects for the garbage collector, not
40,000 dicts); on a new build id
the plugin compares with the stored one and adds the core's generic keys (hookspecs):

- ``content_changed``: whether a depot the user would download changed;
- ``download_bytes``: the sum of ``download`` of those changed depots (``maxsize`` for the
  bare form): at most this much to download, always an upper bound;
- ``changed_depots``: ``{depot: "os" | "shared" | "other-os" | "dlc" | "language"}``.

Which depots "the user would download" is an assumption (README): depots with no
``oslist`` or one naming the user's system (``os`` setting, default this machine's), and
when an app has no depot for that system, its Windows depots (Proton, Wine); no DLC
depots (the user may not own the DLC); no depot of another language than English.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

OS_NAMES = ("windows", "macos", "linux")


def this_os() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    return "macos" if sys.platform == "darwin" else "linux"


def owners_of(depots: Mapping[str, Any]) -> set[int]:
    """The apps that own this app's ``depotfromapp`` depots (shared redistributables)."""
    return {int(d["depotfromapp"]) for key, d in depots.items()
            if key.isdigit() and isinstance(d, dict) and str(d.get("depotfromapp", "")).isdigit()}


def manifests(depots: Mapping[str, Any], branch: str,
              owners: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """``{depot: {"gid", "download", "oslist", "dlc", "language"}}`` of ``branch``. A
    ``depotfromapp`` depot is followed to its owner's ``depots`` section in ``owners``
    (``{owner appid: depots}``), whose public manifest it installs (DepotDownloader
    ``ContentDownloader.cs`` reads such a depot's manifest from the owning app); an owner
    not in ``owners`` leaves the depot out."""
    found: dict[str, dict[str, Any]] = {}
    for key, depot in depots.items():
        if not key.isdigit() or not isinstance(depot, dict):
            continue
        source, wanted = depot, branch
        if "depotfromapp" in depot:
            owner = (owners or {}).get(str(depot["depotfromapp"]))
            source = owner.get(key) if isinstance(owner, Mapping) else None
            if not isinstance(source, Mapping):
                continue
            wanted = "public"
        listed = source.get("manifests")
        manifest = listed.get(wanted) if isinstance(listed, dict) else None
        if isinstance(manifest, dict):
            gid, download = manifest.get("gid"), manifest.get("download")
        elif isinstance(manifest, str):
            gid, download = manifest, source.get("maxsize")  # the bare form: the depot's size
        else:
            continue
        if not isinstance(gid, str) or not gid.isdigit():
            continue
        config = depot.get("config") if isinstance(depot.get("config"), dict) else (
            source.get("config") if isinstance(source.get("config"), dict) else {})
        found[key] = {
            "gid": gid,
            "download": int(download) if isinstance(download, str) and download.isdigit() else None,
            "oslist": [o.strip() for o in str(config.get("oslist", "")).split(",") if o.strip()],
            "dlc": bool(depot.get("dlcappid")),
            "language": str(config.get("language", "")),
        }
    return found


def encode(current: Mapping[str, Mapping[str, Any]]) -> str:
    """``{depot: {"gid": ...}}`` as ``"depot=gid,depot=gid"`` (depots in id order)."""
    return ",".join(f"{depot}={m['gid']}" for depot, m in sorted(current.items(), key=lambda i: int(i[0])))


def decode(text: Any) -> dict[str, str] | None:
    """The ``{depot: gid}`` of a stored ``detail["depots"]``; None when it is not one."""
    if not isinstance(text, str):
        return None
    pairs = {}
    for pair in text.split(","):
        depot, _, gid = pair.partition("=")
        if depot:
            pairs[depot] = gid
    return pairs


def changes(current: dict[str, dict[str, Any]], before: Mapping[str, Any], os_name: str) -> dict[str, Any]:
    """The build facts of going from ``before`` (``{depot: gid}``) to ``current``."""
    has_os = any(os_name in m["oslist"] for m in current.values())
    wanted = os_name if has_os else "windows"
    changed: dict[str, str] = {}
    total, known = 0, True
    for depot, m in sorted(current.items()):
        if before.get(depot) == m["gid"]:
            continue
        if m["dlc"]:
            role = "dlc"
        elif m["language"] and m["language"] != "english":
            role = "language"
        elif not m["oslist"]:
            role = "shared"
        elif wanted in m["oslist"]:
            role = "os"
        else:
            role = "other-os"
        changed[depot] = role
        if role in ("os", "shared"):
            if m["download"] is None:
                known = False
            else:
                total += m["download"]
    counted = [d for d, role in changed.items() if role in ("os", "shared")]
    facts: dict[str, Any] = {"changed_depots": changed, "content_changed": bool(counted)}
    if counted and known:
        facts["download_bytes"] = total
    return facts
