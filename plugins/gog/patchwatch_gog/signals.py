"""Turning the chosen builds (and the Linux installer) into one Signal per game."""

from __future__ import annotations

from typing import Mapping

from patchwatch import Signal

from .builds import Build, iso_utc
from .installers import Installer

INSTALLER_KIND = "installer_version:linux"
"""The part of a kind that stands for the Linux installer's version."""


def signal_kind(oses: tuple[str, ...], branch: str | None) -> str:
    """The Signal kind for what is tracked: ``build_id`` for Windows on the default branch.

    Any other choice gets its own kind (``build_id:osx+windows``, ``build_id:windows@beta``,
    ``installer_version:linux``, ``build_id:windows&installer_version:linux``) so that
    changing the ``os`` or ``branch`` setting starts a new baseline instead of looking
    like an update.
    """
    build_oses = tuple(os for os in oses if os != "linux")
    parts = []
    if build_oses:
        kind = "build_id"
        if build_oses != ("windows",) or branch is not None or "linux" in oses:
            kind += ":" + "+".join(build_oses)
        if branch is not None:
            kind += "@" + branch
        parts.append(kind)
    if "linux" in oses:
        parts.append(INSTALLER_KIND)
    return "&".join(parts)


def make_signal(builds: Mapping[str, Build], installer: Installer | None,
                oses: tuple[str, ...], branch: str | None) -> Signal:
    """One Signal for the chosen build of each tracked OS that has one, and the Linux installer.

    The value is the build id (or, for Linux, the installer version) alone when one OS is
    tracked, else ``os:value`` pairs joined by ``;`` in OS order, so a new build or
    installer on any OS changes it. The label and date come from the most recently
    published build; a Linux installer has no date, and labels the signal only when no
    build does.
    """
    values = {os: build.build_id for os, build in builds.items()}
    if installer is not None and installer.version:
        values["linux"] = installer.version
    present = [os for os in oses if os in values]
    if not present:
        raise ValueError("no build or installer to report")
    value = values[present[0]] if len(oses) == 1 else ";".join(f"{os}:{values[os]}" for os in present)
    latest = max(builds.values(), key=lambda b: b.published, default=None)
    detail: dict = {"branch": branch, "builds": {os: builds[os].as_detail() for os in present if os in builds}}
    if "linux" in values:
        detail["linux_installer"] = installer.as_detail()  # type: ignore[union-attr]
    return Signal(
        kind=signal_kind(oses, branch),
        value=value,
        version=(latest.version_name or None) if latest else values.get("linux"),
        published_at=iso_utc(latest.published) if latest else None,
        is_build=True,
        detail=detail,
    )
