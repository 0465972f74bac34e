"""Reading the content-system builds list and choosing the tracked branch's build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping


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
            "public": self.public,
        }


@dataclass(frozen=True)
class BuildList:
    """One builds answer: its builds in GOG's order (newest first) and its counts."""

    builds: list[Build]
    total_count: int | None
    """GOG's ``total_count``; it can exceed what is listed (393 with ``count`` 10)."""
    has_private_branches: bool

    @property
    def partial(self) -> bool:
        """True when GOG says it has more builds than it listed."""
        return self.total_count is not None and self.total_count > len(self.builds)


def parse_builds(answer: Any, os: str) -> BuildList:
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
            branch=branch or None,  # Heroic's `!build.branch`: "" is the default branch too
            version_name=version if isinstance(version, str) else "",
            public=item.get("public") is True,
            published=published,
            generation=generation if isinstance(generation, int) else None,
        ))
    total = answer.get("total_count")
    return BuildList(
        builds=builds,
        total_count=total if isinstance(total, int) and not isinstance(total, bool) else None,
        has_private_branches=answer.get("has_private_branches") is True,
    )


def pick_build(builds: list[Build], branch: str | None) -> Build | None:
    """The build a GOG launcher installs from ``branch`` (``None``: the default branch).

    That is the first listed build on the branch, as heroic-gogdl (``dl/managers/
    manager.py``: the first item whose ``branch`` is null, or the ``--branch`` one) and
    Heroic (``library.ts`` ``getMetaResponse``: ``items.find(b => !b.branch)``) choose it,
    whether or not GOG marks it ``public``.
    """
    return next((b for b in builds if b.branch == branch), None)


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
