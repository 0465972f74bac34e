"""PICS requests (run in the session's worker threads) and reading their answers (any thread)."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from patchwatch import Problem, Signal

from . import depots, keyvalues, messages as m
from .session import PicsError

CHANGES_SINCE = m.PICS_CHANGES_SINCE
PRODUCT_INFO = m.PICS_PRODUCT_INFO
ACCESS_TOKENS = m.PICS_ACCESS_TOKEN
EMSG_NAMES = {CHANGES_SINCE: "changes-since", PRODUCT_INFO: "product-info", ACCESS_TOKENS: "access-token"}
RESPONSES = {CHANGES_SINCE: m.ChangesSinceResponse, PRODUCT_INFO: m.ProductInfoResponse,
             ACCESS_TOKENS: m.AccessTokenResponse}


@dataclass
class Changes:
    current: int
    force_full: bool
    apps: dict[int, int]
    """App id -> its new change number."""


@dataclass
class AppEntry:
    """One app of a product-info answer, still undecoded."""

    appid: int
    change_number: int
    missing_token: bool
    buffer: bytes


@dataclass
class Fetched:
    apps: dict[int, AppEntry] = field(default_factory=dict)
    unknown: set[int] = field(default_factory=set)
    denied: set[int] = field(default_factory=set)
    """Apps that need an access token Steam refused to anonymous accounts."""
    unanswered: set[int] = field(default_factory=set)
    """Apps that need an access token Steam neither granted nor refused this time."""
    tokens: dict[int, int] = field(default_factory=dict)
    """Access tokens obtained on the way (worth keeping for the next sync)."""
    decoded: dict[int, Any] = field(default_factory=dict, repr=False)
    """Decoded app info, so an answer is decoded once (:func:`_decoded`)."""


# -- inside the session's worker threads ------------------------------------------------


def request(client: Any, emsg: int, body: Any, timeout: float, deadline: float | None = None) -> list[Any]:
    """Send one PICS job and collect every part of its answer (``response_pending``).

    Each part (the first one too) must arrive within ``timeout`` seconds of the one before;
    a ``JobHeartbeat`` for the job restarts that wait (SteamKit's AsyncJob adds time per
    heartbeat and per part), a ``DestJobFailed`` fails the job at once, and the whole
    answer may take at most ``deadline`` seconds (default: :func:`deadline_for`) however many
    heartbeats come. A dropped connection fails it as soon as the client notices.
    """
    name = EMSG_NAMES.get(emsg, str(emsg))
    deadline = deadline_for(timeout) if deadline is None else deadline
    give_up = time.monotonic() + deadline
    if not client.connected:
        raise PicsError(f"the Steam connection dropped before a {name} request")
    job, parts = client.start_job(emsg, body)
    try:
        bodies: list[Any] = []
        while True:
            wait_for = min(timeout, give_up - time.monotonic())
            try:
                if wait_for <= 0:
                    raise queue.Empty
                answer = parts.get(timeout=wait_for)
            except queue.Empty:
                if time.monotonic() >= give_up - 0.001:
                    raise PicsError(f"no complete {name} answer from Steam within {deadline:g} s") from None
                which = "next part of the" if bodies else "answer to the"
                raise PicsError(f"no {which} {name} request from Steam within {timeout:g} s") from None
            if answer is None:  # client.DROPPED
                raise PicsError(client.drop_reason or f"the Steam connection dropped during a {name} request")
            if answer.emsg == m.JOB_HEARTBEAT:
                continue  # Steam is still working on it: the wait starts again
            if answer.emsg == m.DEST_JOB_FAILED:
                raise PicsError(f"Steam failed the {name} request (DestJobFailed)")
            if answer.emsg != emsg + 1:
                continue  # not an answer to this job
            if answer.eresult is not None and answer.eresult != m.OK:
                raise PicsError(f"Steam answered the {name} request with {m.eresult_name(answer.eresult)}")
            try:
                part = RESPONSES[emsg].FromString(answer.body)
            except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and kin
                raise PicsError(f"Steam sent a malformed {name} answer ({exc})") from None
            bodies.append(part)
            if not getattr(part, "response_pending", False):
                return bodies
    finally:
        client.end_job(job)


def deadline_for(timeout: float) -> float:
    """The most one request may take, all parts and heartbeats included."""
    return 4 * timeout


def changes_since(client: Any, since: int, timeout: float) -> Changes:
    (body,) = request(client, CHANGES_SINCE, m.ChangesSinceRequest(
        since_change_number=since, send_app_info_changes=True, send_package_info_changes=False), timeout)
    return Changes(
        current=body.current_change_number,
        force_full=body.force_full_update or body.force_full_app_update,
        apps={change.appid: change.change_number for change in body.app_changes},
    )


def _product_info(client: Any, apps: Iterable[tuple[int, int]], timeout: float, into: Fetched) -> None:
    for body in request(client, PRODUCT_INFO, _product_request(apps, metadata_only=False), timeout):
        for app in body.apps:
            into.apps[app.appid] = AppEntry(app.appid, app.change_number, app.missing_token, app.buffer)
        into.unknown.update(body.unknown_appids)


def _product_request(apps: Iterable[tuple[int, int]], *, metadata_only: bool) -> Any:
    body = m.ProductInfoRequest(meta_data_only=metadata_only, num_prev_failed=0)
    for appid, token in apps:
        if token:
            body.apps.add(appid=appid, access_token=token)
        else:
            body.apps.add(appid=appid)
    return body


def fetch(client: Any, appids: list[int], tokens: dict[int, int], timeout: float) -> Fetched:
    """Product info for ``appids``, asking for access tokens where Steam says one is missing."""
    result = Fetched()
    _product_info(client, [(appid, tokens.get(appid, 0)) for appid in appids], timeout, result)
    missing = [appid for appid, entry in result.apps.items() if entry.missing_token]
    if not missing:
        return result
    (answer,) = request(client, ACCESS_TOKENS, m.AccessTokenRequest(appids=missing), timeout)
    granted = {t.appid: t.access_token for t in answer.app_access_tokens if t.access_token}
    result.denied = set(answer.app_denied_tokens) & set(missing)
    result.unanswered = set(missing) - set(granted) - result.denied
    result.tokens = granted
    if granted:
        _product_info(client, granted.items(), timeout, result)
    return result


METADATA_BATCH = 5000
"""Apps per metadata-only request (SteamDB FullUpdateProcessor.cs IdsPerMetadataRequest)."""


@dataclass
class Metadata:
    """A metadata-only product-info answer: change numbers, no app info."""

    change_numbers: dict[int, int] = field(default_factory=dict)
    unknown: set[int] = field(default_factory=set)


def metadata(client: Any, appids: list[int], tokens: dict[int, int], timeout: float) -> Metadata:
    """Each app's current change number (``meta_data_only``), as SteamDB's full runs ask."""
    result = Metadata()
    request_body = _product_request(((appid, tokens.get(appid, 0)) for appid in appids), metadata_only=True)
    for body in request(client, PRODUCT_INFO, request_body, timeout):
        for app in body.apps:
            result.change_numbers[app.appid] = app.change_number
        result.unknown.update(body.unknown_appids)
    return result


# -- reading answers (any thread) --------------------------------------------------------


def signal_kind(branch: str) -> str:
    """``buildid`` for the public branch (unchanged), ``buildid@<branch>`` for any other:
    a change of tracked branch starts a new baseline instead of looking like a new build."""
    return "buildid" if branch == "public" else f"buildid@{branch}"


def owners_needed(fetched: Fetched, appids: Iterable[int]) -> set[int]:
    """Apps owning ``depotfromapp`` depots of these answers (their info is needed too)."""
    needed: set[int] = set()
    for appid in appids:
        entry = fetched.apps.get(appid)
        if entry is None or entry.missing_token:
            continue
        try:
            needed |= depots.owners_of(_decoded(fetched, appid)["depots"])
        except Exception:  # noqa: BLE001 - read_result reports a malformed answer
            continue
    return needed


def owner_depots(fetched: Fetched) -> dict[str, Any]:
    """``{owner appid: depots section}`` of a fetch of owning apps (those it could read)."""
    found = {}
    for appid, entry in fetched.apps.items():
        if not entry.missing_token:
            try:
                found[str(appid)] = _decoded(fetched, appid)["depots"]
            except Exception:  # noqa: BLE001 - an owner we cannot read is not followed
                continue
    return found


def _decoded(fetched: Fetched, appid: int) -> dict[str, Any]:
    """The app's decoded ``depots`` section, decoded once per answer."""
    info = fetched.decoded.get(appid)
    if info is None:
        info = fetched.decoded[appid] = _decode(fetched.apps[appid].buffer)
    return info


def read_result(appid: int, fetched: Fetched, branch: str, previous: Any = None,
                os_name: str = "windows", owners: Mapping[str, Any] | None = None) -> Signal | Problem | None:
    """The build signal of ``appid`` on ``branch`` from a product-info answer; None when
    the app needs an access token this anonymous session does not have (another plugin
    may see it). With the ``previous`` signal of the same kind, a new build id also says
    what it changed (:mod:`depots`)."""
    if appid in fetched.unknown:
        return Problem(f"Steam knows no app {appid} (unknown to PICS)", status="not_found")
    entry = fetched.apps.get(appid)
    if entry is None:
        return Problem(f"Steam left app {appid} out of its product-info answer")
    if entry.missing_token:
        return None
    try:
        info = _decoded(fetched, appid)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a malformed answer
        return Problem(f"malformed product info for Steam app {appid}: {exc}")
    branches = info.get("depots", {}).get("branches", {}) if isinstance(info.get("depots"), dict) else {}
    found = branches.get(branch) if isinstance(branches, dict) else None
    if not isinstance(found, dict) or not str(found.get("buildid", "")).isdigit():
        if branch != "public":
            names = ", ".join(sorted(branches)) if isinstance(branches, dict) else ""
            return Problem(f"Steam app {appid} has no branch {branch!r} with a build"
                           + (f" (branches: {names})" if names else ""))
        return Problem(f"Steam lists no public build for app {appid}", status="hidden")
    value = str(int(found["buildid"]))
    detail: dict[str, Any] = {"branch": branch, "change_number": entry.change_number}
    current = depots.manifests(info["depots"], branch, owners)
    if current:
        detail["depots"] = depots.encode(current)
        before = depots.decode(previous.detail.get("depots")) if isinstance(previous, Signal) and isinstance(
            previous.detail, Mapping) and previous.value != value else None
        if before is not None:
            detail.update(depots.changes(current, before, os_name))
    return Signal(kind=signal_kind(branch), value=value, published_at=_iso(found.get("timeupdated")),
                  detail=detail)


def _decode(buffer: bytes) -> dict[str, Any]:
    """The ``appinfo`` tree reduced to its ``depots`` section (all a build needs; the rest
    of the ~12 KB is never tokenized, see :mod:`keyvalues`)."""
    return {"depots": keyvalues.section(buffer, "depots")}


def _iso(timestamp: Any) -> str | None:
    try:
        seconds = int(timestamp)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
