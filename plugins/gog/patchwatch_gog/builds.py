"""Reading the content-system builds list and turning the newest public build into a Signal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from patchwatch import Signal


class BadBuilds(ValueError):
    """A builds answer that does not have the builds API's shape."""


@dataclass(frozen=True)
class Build:
    """One build of the builds list, the fields patchwatch uses."""

    build_id: str
    os: str
    branch: str | None
    version_name: str
    public: bool
    published: datetime
    generation: int | None

    def as_detail(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "version_name": self.version_name or None,
            "date_published": iso_utc(self.published),
            "generation": self.generation,
        }


def parse_builds(answer: Any, os: str) -> list[Build]:
    """The builds of a ``/products/{id}/os/{os}/builds`` answer; :class:`BadBuilds` if malformed."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("items"), list):
        raise BadBuilds("no 'items' list in the builds answer")
    builds = []
    for index, item in enumerate(answer["items"]):
        if not isinstance(item, Mapping):
            raise BadBuilds(f"items[{index}] is not an object")
        build_id = item.get("build_id")
        if not isinstance(build_id, (str, int)) or isinstance(build_id, bool) or str(build_id) == "":
            raise BadBuilds(f"items[{index}] has no build_id")
        branch = item.get("branch")
        if branch is not None and not isinstance(branch, str):
            raise BadBuilds(f"items[{index}].branch is not a string or null")
        published = _parse_date(item.get("date_published"))
        if published is None:
            raise BadBuilds(f"items[{index}].date_published is not a date: {item.get('date_published')!r}")
        version = item.get("version_name")
        generation = item.get("generation")
        builds.append(Build(
            build_id=str(build_id),
            os=str(item.get("os") or os),
            branch=branch,
            version_name=version if isinstance(version, str) else "",
            public=item.get("public") is True,
            published=published,
            generation=generation if isinstance(generation, int) else None,
        ))
    return builds


def newest_public(builds: list[Build], branch: str | None) -> Build | None:
    """The most recently published public build on ``branch`` (``None``: the default branch)."""
    candidates = [b for b in builds if b.public and b.branch == branch]
    # max() keeps the first of equal dates, and the API lists newest first.
    return max(candidates, key=lambda b: b.published, default=None)


def signal_kind(oses: tuple[str, ...], branch: str | None) -> str:
    """The Signal kind for what is tracked: ``build_id`` for Windows on the default branch.

    Any other choice gets its own kind (``build_id:osx+windows``, ``build_id:windows@beta``)
    so that changing the ``os`` or ``branch`` setting starts a new baseline instead of
    looking like an update.
    """
    kind = "build_id"
    if oses != ("windows",) or branch is not None:
        kind += ":" + "+".join(oses)
    if branch is not None:
        kind += "@" + branch
    return kind


def build_signal(newest: Mapping[str, Build], oses: tuple[str, ...], branch: str | None) -> Signal:
    """One Signal for the newest build of each tracked OS that has one.

    The value is the build id alone when one OS is tracked, else ``os:build_id`` pairs
    joined by ``;`` in OS order, so a new build on any OS changes it. The label and date
    come from the most recently published of those builds.
    """
    present = [os for os in oses if os in newest]
    if not present:
        raise ValueError("no build to report")
    if len(oses) == 1:
        value = newest[present[0]].build_id
    else:
        value = ";".join(f"{os}:{newest[os].build_id}" for os in present)
    latest = max((newest[os] for os in present), key=lambda b: b.published)
    return Signal(
        kind=signal_kind(oses, branch),
        value=value,
        version=latest.version_name or None,
        published_at=iso_utc(latest.published),
        is_build=True,
        detail={"branch": branch, "builds": {os: newest[os].as_detail() for os in present}},
    )


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
