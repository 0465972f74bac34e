"""The fake CM's catalogue: apps, branches, builds and change numbers, as PICS sees them."""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..keyvalues import dumps as kv_dumps


TOKEN_ANSWERS = ("deny", "grant", "silent")


def realistic_size(rng: random.Random) -> int:
    """Bytes of one app's full info: log-normal, median 11.3 KB, sigma 0.35 (mean ~12 KB,
    two thirds within 8-16 KB), clipped to 3-96 KB. winnow docs/spikes/update-signals.md
    measured the steamcmd.net mirror of PICS app info at 8.9-15.1 KB, ~12.1 KB on average;
    the log-normal shape and the clip are assumptions (README)."""
    return int(min(96_000, max(3_000, rng.lognormvariate(math.log(11_300), 0.35))))

# The token mix of a realistic library (share of apps, answer to an anonymous account). The
# shares are an assumption (see README); that anonymous accounts are refused tokens
# (steamcmd/api#49, DepotDownloader Steam3Session.cs AppTokensDenied) except for the free
# apps of their one package (steamctl#31: sub 17906), and that Steam sometimes answers
# neither way (issue 10, SteamKit#941), are reported.
TOKEN_MIX = (("deny", 0.06), ("silent", 0.01), ("grant", 0.01))


@dataclass
class FakeBranch:
    """One branch of an app's depots (``depots/branches/<name>``)."""

    buildid: int
    timeupdated: int
    description: str = ""
    pwdrequired: bool = False


@dataclass
class FakeApp:
    """One app as PICS knows it."""

    appid: int
    name: str
    change_number: int
    branches: dict[str, FakeBranch]
    depots: list[int] = field(default_factory=list)
    depot_config: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Per depot: ``oslist`` (default ``windows``; ``""`` for a shared depot), ``dlcappid``,
    ``depotfromapp``, ``language``, ``download`` / ``size`` (bytes)."""
    manifest_form: str = "full"
    """``full``: ``manifests/<branch>`` is ``{gid, size, download}``; ``bare``: just the gid
    (with the depot's ``maxsize``). Both are served by Steam (DepotDownloader PR #425)."""
    gids: dict[tuple[int, str], int] = field(default_factory=dict)
    """Manifest gids kept across a build (depots a build did not change)."""
    app_type: str = "Game"
    tags: list[int] = field(default_factory=list)
    review_percentage: int = 80
    token: int = 0
    """Non-zero: full info needs this access token (without it only a public stub is sent)."""
    token_answer: str = "deny"
    """What an anonymous access-token request gets: ``deny`` (listed in
    ``app_denied_tokens``), ``grant`` (the token) or ``silent`` (in neither list)."""
    delisted: bool = False
    """Off the store; PICS still serves it."""
    info_size: int = 0
    """Size in bytes its full app info is padded to (0: the small natural size)."""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def appinfo(self, full: bool = True) -> dict[str, Any]:
        """The app's KeyValues tree as PICS sends it (``appinfo`` root)."""
        common = {
            "name": self.name,
            "type": self.app_type,
            "oslist": "windows,linux",
            "osarch": "64",
            "controller_support": "full",
            "metacritic_score": str(self.review_percentage),
            "review_percentage": str(self.review_percentage),
            "review_score": "8",
            "gameid": str(self.appid),
            "store_tags": {str(i): str(tag) for i, tag in enumerate(self.tags)},
            "languages": {lang: "1" for lang in ("english", "french", "german", "spanish", "japanese")},
            "associations": {
                "0": {"type": "developer", "name": f"Studio {self.appid % 97}"},
                "1": {"type": "publisher", "name": f"Publisher {self.appid % 31}"},
            },
            "category": {f"category_{c}": "1" for c in (1, 2, 22, 28, 29)},
            "genres": {"0": "1", "1": "25"},
            "steam_release_date": "1600000000",
        }
        if self.delisted:
            common["releasestate"] = "unavailable"
        tree: dict[str, Any] = {"appid": str(self.appid), "common": common}
        if not full:
            return {"appinfo": tree}
        tree["extended"] = {
            "developer": f"Studio {self.appid % 97}",
            "publisher": f"Publisher {self.appid % 31}",
            "homepage": f"https://example.invalid/{self.appid}",
            "listofdlc": ",".join(str(self.appid + i) for i in range(1, 4)),
        }
        tree["config"] = {
            "installdir": self.name.replace(" ", ""),
            "launch": {
                "0": {"executable": "game.exe", "type": "default", "config": {"oslist": "windows"}},
                "1": {"executable": "game.sh", "type": "default", "config": {"oslist": "linux"}},
            },
        }
        depots: dict[str, Any] = {}
        for depot in self.depots:
            spec = self.depot_config.get(depot, {})
            entry: dict[str, Any] = {}
            oslist = spec.get("oslist", "windows")
            config = {"oslist": oslist} if oslist else {}
            if spec.get("language"):
                config["language"] = spec["language"]
            if config:
                entry["config"] = config
            if spec.get("depotfromapp"):
                # Steam's shared redistributables: the depot belongs to another app and has
                # no manifests here (SteamDB app pages list "depotfromapp"; DepotDownloader
                # ContentDownloader.cs follows it to the owning app).
                entry["depotfromapp"] = str(spec["depotfromapp"])
                entry["sharedinstall"] = "1"
                depots[str(depot)] = entry
                continue
            if spec.get("dlcappid"):
                entry["dlcappid"] = str(spec["dlcappid"])  # DepotDownloader: DLC content, needs the DLC
            size = spec.get("size", 1_000_000_000 + depot)
            download = spec.get("download", 400_000_000 + depot)
            manifests: dict[str, Any] = {}
            for name, branch in self.branches.items():
                gid = str(self.gids.get((depot, name)) or _gid(depot, branch.buildid))
                # DepotDownloader PR #425: manifests/<branch> is a bare gid in older app
                # info, {gid, size, download} in newer; both still come.
                manifests[name] = gid if self.manifest_form == "bare" else {
                    "gid": gid, "size": str(size), "download": str(download)}
            if self.manifest_form == "bare":
                entry["maxsize"] = str(size)
            entry["manifests"] = manifests
            depots[str(depot)] = entry
        branches: dict[str, Any] = {}
        for name, branch in self.branches.items():
            entry = {"buildid": str(branch.buildid), "timeupdated": str(branch.timeupdated)}
            if branch.description:
                entry["description"] = branch.description
            if branch.pwdrequired:
                entry["pwdrequired"] = "1"
            branches[name] = entry
        depots["branches"] = branches
        tree["depots"] = depots
        return {"appinfo": tree}

    def buffer(self, full: bool = True) -> bytes:
        """The text KeyValues buffer PICS sends, NUL-terminated (padded to ``info_size``)."""
        key = (self.change_number, full, self.info_size)
        cached = self._cache.get(key)
        if cached is None:
            tree = self.appinfo(full)
            text = kv_dumps(tree)
            if full and self.info_size > len(text):
                # Real app info carries localisation, more depots, ufs...: filler of that kind.
                lines = (self.info_size - len(text)) // 56 + 1
                tree["appinfo"]["localization"] = {"english": {"richpresence": {
                    f"#Status_{n:05d}": f"Playing level {n} of App {self.appid}" for n in range(lines)}}}
                text = kv_dumps(tree)
            cached = self._cache[key] = text.encode("utf-8") + b"\x00"
            for old in [k for k in self._cache if k != key and k[1] == full]:
                del self._cache[old]
        return cached


def _gid(depot: int, buildid: int) -> int:
    return (depot * 1_000_003 + buildid * 7_919) % (2**63)


class Catalogue:
    """Apps and the global change number, as PICS sees them. Thread-safe; tests mutate it."""

    def __init__(self, change_number: int = 20_000_000, clock: int = 1_700_000_000) -> None:
        self.lock = threading.RLock()
        self.change_number = change_number
        self.oldest_change = change_number
        """Changes at or before this number are forgotten: older cursors get force_full_update."""
        self.force_full_update = False
        """Answer every changes-since request with ``force_full_update`` (a test switch)."""
        self.retention = 5_000
        """How many change numbers back a changes-since cursor may be (winnow
        docs/spikes/update-signals.md: more than ~5,000 gets only the current number)."""
        self.clock = clock
        self.last_buildid = 10_000_000
        """Build ids are one global sequence on Steam, as here (README: assumptions)."""
        self.apps: dict[int, FakeApp] = {}

    def _bump(self) -> int:
        # SteamKit PICSChangesCallback: one global change number; each app keeps the number
        # of its last change.
        self.change_number += 1
        return self.change_number

    def _next_build(self) -> int:
        self.last_buildid += 1
        return self.last_buildid

    def _tick(self) -> int:
        self.clock += 60
        return self.clock

    def add_app(
        self,
        appid: int,
        name: str | None = None,
        *,
        buildid: int | None = None,
        timeupdated: int | None = None,
        branches: dict[str, FakeBranch] | None = None,
        depots: int = 2,
        depot_config: dict[int, dict[str, Any]] | None = None,
        manifest_form: str = "full",
        token: int = 0,
        token_answer: str = "deny",
        app_type: str = "Game",
        info_size: int = 0,
    ) -> FakeApp:
        """Add (or replace) an app with a public branch; returns it.

        ``token`` makes it token-protected; anonymous accounts are then denied the token
        unless ``token_answer`` says ``grant`` (or ``silent``: Steam answers neither way).
        """
        if token_answer not in TOKEN_ANSWERS:
            raise ValueError(f"token_answer must be one of {', '.join(TOKEN_ANSWERS)}, got {token_answer!r}")
        with self.lock:
            if branches is None:
                branches = {
                    "public": FakeBranch(
                        buildid if buildid is not None else self._next_build(),
                        timeupdated if timeupdated is not None else self._tick(),
                    )
                }
            app = FakeApp(
                appid=appid,
                name=name or f"App {appid}",
                change_number=self._bump(),
                branches=branches,
                depots=sorted(depot_config) if depot_config else [appid + i for i in range(1, depots + 1)],
                depot_config=dict(depot_config or {}),
                manifest_form=manifest_form,
                tags=[19, 492, 1662, 3871, 4182][: 1 + appid % 5],
                token=token,
                token_answer=token_answer,
                app_type=app_type,
                info_size=info_size,
            )
            self.apps[appid] = app
            return app

    def add_apps(self, appids: Iterator[int] | list[int] | range, **kwargs: Any) -> None:
        """Add many apps at once (e.g. a benchmark library)."""
        for appid in appids:
            self.add_app(appid, **kwargs)

    def add_realistic_apps(self, appids: Iterator[int] | list[int] | range, seed: int = 1) -> dict[str, list[int]]:
        """Add apps with the token mix of :data:`TOKEN_MIX` and app info sizes from
        :func:`realistic_size`; returns the app ids per token answer (``deny``,
        ``silent``, ``grant``, ``none``)."""
        rng = random.Random(seed)
        groups: dict[str, list[int]] = {"none": [], **{answer: [] for answer in TOKEN_ANSWERS}}
        for appid in appids:
            roll, answer = rng.random(), "none"
            for candidate, share in TOKEN_MIX:
                if roll < share:
                    answer = candidate
                    break
                roll -= share
            groups[answer].append(appid)
            size = realistic_size(rng)
            if answer == "none":
                self.add_app(appid, info_size=size)
            else:
                self.add_app(appid, token=rng.randint(10**17, 10**18), token_answer=answer, info_size=size)
        return groups

    def publish_build(
        self, appid: int, branch: str = "public", buildid: int | None = None, timeupdated: int | None = None,
        changed_depots: list[int] | None = None,
    ) -> int:
        """A developer pushes a new build to ``branch``; returns the new build id.

        ``changed_depots``: the depots that get a new manifest (default: all of them); ``[]``
        is a new build id with no content change (LinuxGSM #3143 saw such builds go live).
        A ``buildid`` lower than the current one is a rollback."""
        with self.lock:
            app = self.apps[appid]
            old = app.branches.get(branch)
            for depot in app.depots:
                key = (depot, branch)
                if changed_depots is not None and depot not in changed_depots and old is not None:
                    app.gids[key] = app.gids.get(key) or _gid(depot, old.buildid)
                else:
                    app.gids.pop(key, None)
            new_id = buildid if buildid is not None else self._next_build()
            app.branches[branch] = FakeBranch(
                new_id,
                timeupdated if timeupdated is not None else self._tick(),
                description=old.description if old else ("" if branch == "public" else f"{branch} branch"),
            )
            app.change_number = self._bump()
            return new_id

    def edit_metadata(self, appid: int, *, name: str | None = None, tags: list[int] | None = None,
                      review_percentage: int | None = None) -> None:
        """A store-page edit (name, tags, review score): a new change number, same builds
        (winnow docs/spikes/update-signals.md: change numbers move for more than builds)."""
        with self.lock:
            app = self.apps[appid]
            if name is not None:
                app.name = name
            app.tags = tags if tags is not None else app.tags + [random.randint(1, 9000)]
            if review_percentage is not None:
                app.review_percentage = review_percentage
            app.change_number = self._bump()

    def unseen_apps(self) -> list[int]:
        """Apps an anonymous account cannot read (token refused or never answered)."""
        with self.lock:
            return sorted(a.appid for a in self.apps.values() if a.token and a.token_answer != "grant")

    def warm(self) -> int:
        """Build every app's buffers now (a benchmark's fake should not be timed making
        them); returns the bytes of full app info held."""
        total = 0
        with self.lock:
            for app in self.apps.values():
                total += len(app.buffer(full=True))
                if app.token:
                    app.buffer(full=False)  # what an account without the token gets
        return total

    def delist_app(self, appid: int) -> None:
        """Take an app off the store: PICS keeps it, builds and all (issue 10, point 4)."""
        with self.lock:
            app = self.apps[appid]
            app.delisted = True
            app.change_number = self._bump()

    def remove_app(self, appid: int) -> None:
        """Make PICS forget an app: it is then reported among the unknown app ids."""
        with self.lock:
            self.apps.pop(appid, None)
            self._bump()

    def forget_history(self) -> None:
        """Drop the change history: any older cursor now gets ``force_full_update``."""
        with self.lock:
            self.oldest_change = self._bump()

    def advance(self, count: int) -> None:
        """``count`` changes to apps outside this catalogue (Steam's number moves ~650 an
        hour: winnow saw a 7,148 gap in ~11 h)."""
        with self.lock:
            self.change_number += count

    def changes_since(self, since: int) -> tuple[int, str | None, list[tuple[int, int, bool]]]:
        """``(current change number, forced, [(appid, change number, needs token)])``;
        ``forced`` is None, ``"app"`` (cursor outside the retention window: only
        ``force_full_app_update``) or ``"all"`` (history forgotten / the test switch)."""
        with self.lock:
            if self.force_full_update or since == 0 or since < self.oldest_change:
                return self.change_number, "all", []
            if self.change_number - since > self.retention:
                return self.change_number, "app", []
            changes = sorted(
                (app.change_number, app.appid, bool(app.token))
                for app in self.apps.values()
                if app.change_number > since
            )
            return self.change_number, None, [(appid, cn, token) for cn, appid, token in changes]
