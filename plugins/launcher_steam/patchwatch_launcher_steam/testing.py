"""Steam client trees for tests and benchmarks, written in the client's documented format.

Every field written here is one the Steam client writes (sources in :mod:`.manifests`:
GameFinder ``GameFinder.StoreHandlers.Steam``, lutris ``docs/steam.rst``, protontricks
``steam.py``; a real manifest with these fields in GeeTwentyFive/GHSI
``src/app_manifest.go``). Windows paths in ``libraryfolders.vdf`` have their backslashes
escaped, as the client writes them.
"""

from __future__ import annotations

from pathlib import Path


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def library_folders(paths: list[Path | str]) -> str:
    """``steamapps/libraryfolders.vdf`` in the format since 2021: one numbered block per
    library with its ``path`` (and ``label``, ``contentid``, ``apps`` we do not need)."""
    blocks = []
    for n, path in enumerate(paths):
        blocks.append(f'\t"{n}"\n\t{{\n\t\t"path"\t\t{_quote(str(path))}\n\t\t"label"\t\t""\n'
                      f'\t\t"contentid"\t\t"{1000 + n}"\n\t\t"apps"\n\t\t{{\n\t\t}}\n\t}}\n')
    return '"libraryfolders"\n{\n' + "".join(blocks) + "}\n"


def app_manifest(appid: int | str, name: str, buildid: int | str, *, flags: int = 4,
                 target: int | str | None = None, beta: str | None = None,
                 installdir: str | None = None) -> str:
    """``appmanifest_<appid>.acf``: ``StateFlags`` 4 = fully installed, 6 = installed with
    an update required; ``TargetBuildID`` the build being installed (= ``buildid`` when
    none is pending); ``BetaKey`` under ``UserConfig`` and ``MountedConfig``."""
    target = buildid if target is None else target
    beta_line = f'\t\t"BetaKey"\t\t{_quote(beta)}\n' if beta else ""
    return (
        '"AppState"\n{\n'
        f'\t"appid"\t\t"{appid}"\n\t"Universe"\t\t"1"\n\t"name"\t\t{_quote(name)}\n'
        f'\t"StateFlags"\t\t"{flags}"\n\t"installdir"\t\t{_quote(installdir or name)}\n'
        f'\t"LastUpdated"\t\t"1700000000"\n\t"SizeOnDisk"\t\t"1048576"\n'
        f'\t"buildid"\t\t"{buildid}"\n\t"LastOwner"\t\t"76561198000000000"\n'
        f'\t"TargetBuildID"\t\t"{target}"\n\t"AutoUpdateBehavior"\t\t"0"\n'
        f'\t"InstalledDepots"\n\t{{\n\t\t"{int(appid) + 1}"\n\t\t{{\n'
        f'\t\t\t"manifest"\t\t"1692357934132329117"\n\t\t\t"size"\t\t"1048576"\n\t\t}}\n\t}}\n'
        f'\t"UserConfig"\n\t{{\n\t\t"language"\t\t"english"\n{beta_line}\t}}\n'
        f'\t"MountedConfig"\n\t{{\n\t\t"language"\t\t"english"\n{beta_line}\t}}\n'
        "}\n")


def make_client(root: Path, libraries: list[Path] | None = None) -> Path:
    """A Steam client folder at ``root`` whose ``libraryfolders.vdf`` lists ``root`` and
    ``libraries``; returns ``root``."""
    (root / "steamapps").mkdir(parents=True, exist_ok=True)
    for library in libraries or []:
        (Path(library) / "steamapps").mkdir(parents=True, exist_ok=True)
    (root / "steamapps" / "libraryfolders.vdf").write_text(
        library_folders([root, *(libraries or [])]), encoding="utf-8")
    return root


def add_app(library: Path, appid: int | str, name: str, buildid: int | str,
            **fields: object) -> Path:
    """Write ``appmanifest_<appid>.acf`` into ``library/steamapps``; returns its path."""
    path = Path(library) / "steamapps" / f"appmanifest_{appid}.acf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(app_manifest(appid, name, buildid, **fields), encoding="utf-8")  # type: ignore[arg-type]
    return path
