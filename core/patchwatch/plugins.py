"""The plugin manager: loading store plugins, listing them, calling one at a time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Mapping

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from . import __version__, hookspecs
from .config import Config
from .models import BadAnswer, checked_store_info

GROUP = "patchwatch"
NOT_IMPLEMENTED = object()


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers the plugins that could not be loaded."""

    def __init__(self) -> None:
        super().__init__(GROUP)
        self.add_hookspecs(hookspecs)
        self.load_errors: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.store_info_hung: dict[str, threading.Thread] = {}
        """``store_info()`` calls that never answered: not asked again while still stuck."""


def new_plugin_manager(
    plugins: Mapping[str, object] | None = None,
    *,
    entry_points: bool = False,
    strict: bool = False,
) -> PluginManager:
    """A fresh manager with ``plugins`` registered by name (and installed ones if asked).

    ``strict`` raises on the first plugin that fails to load instead of recording it.
    """
    pm = PluginManager()
    if entry_points:
        load_entry_points(pm, strict=strict)
    for name, plugin in (plugins or {}).items():
        _register(pm, plugin, name, strict)
    return pm


def load_entry_points(pm: PluginManager, *, strict: bool = False) -> None:
    """Register every installed ``patchwatch`` entry point, each in its own try/except."""
    by_name: dict[str, list[Any]] = {}
    for ep in entry_points(group=GROUP):
        by_name.setdefault(ep.name, []).append(ep)
    for name, eps in sorted(by_name.items()):
        dists = sorted({_dist_name(ep) for ep in eps})
        if len(dists) > 1 or len({ep.value for ep in eps}) > 1:
            pm.load_errors[name] = f"claimed by several installed packages: {', '.join(dists)}"
            if strict:
                raise RuntimeError(f"plugin {name}: {pm.load_errors[name]}")
            continue
        ep = eps[0]
        wrong_core = contract_error(ep.dist)
        if wrong_core is not None:  # never import a plugin built for another hook contract
            pm.load_errors[name] = wrong_core
            pm.versions[name] = ep.dist.version
            if strict:
                raise RuntimeError(f"plugin {name}: {wrong_core}")
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            pm.load_errors[name] = f"failed to import {ep.value}: {type(exc).__name__}: {exc}"
            if strict:
                raise
            continue
        if _register(pm, plugin, name, strict) and ep.dist is not None:
            pm.versions[name] = ep.dist.version


def contract_error(dist: Any, core_version: str = __version__) -> str | None:
    """Why the distribution ``dist`` does not fit this core, or None when it does.

    A plugin states the core versions whose hook contract it implements in its own
    requirement on ``patchwatch`` (``patchwatch>=0.1,<0.2``); pip and uv honour it at install
    time, and this check holds it at load time too (an install with ``--no-deps``, a core
    upgraded under the plugin). A requirement with no version range fits every core.
    """
    if dist is None:
        return None
    for line in dist.requires or ():
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) != GROUP:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if req.specifier and not req.specifier.contains(core_version, prereleases=True):
            return (f"{dist.name} {dist.version} is built for patchwatch{req.specifier}, "
                    f"this is patchwatch {core_version}: install a {dist.name} made for it")
    return None


def _dist_name(ep: Any) -> str:
    return ep.dist.name if ep.dist is not None else "?"


def _register(pm: PluginManager, plugin: object, name: str, strict: bool) -> bool:
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except Exception as exc:
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
        pm.load_errors[name] = f"failed to register: {exc}"
        if strict:
            raise
        return False
    return True


_default: PluginManager | None = None
_default_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager with the installed plugins, loaded on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = new_plugin_manager(entry_points=True)
        return _default


def call(pm: pluggy.PluginManager, plugin_name: str, hook: str, **kwargs: Any) -> Any:
    """Call one plugin's implementation of ``hook``, passing only the arguments it declares.

    Returns :data:`NOT_IMPLEMENTED` when the plugin does not implement the hook.
    """
    for impl in getattr(pm.hook, hook).get_hookimpls():
        if impl.plugin_name == plugin_name:
            return impl.function(*(kwargs[arg] for arg in impl.argnames))
    return NOT_IMPLEMENTED


def implements(pm: pluggy.PluginManager, plugin_name: str, hook: str) -> bool:
    """Whether the plugin registered as ``plugin_name`` implements ``hook``."""
    return any(impl.plugin_name == plugin_name
               for impl in getattr(pm.hook, hook).get_hookimpls())


def is_launcher_only(pm: pluggy.PluginManager, plugin_name: str) -> bool:
    """A launcher plugin (see :mod:`patchwatch.launchers`) that serves no store."""
    return (implements(pm, plugin_name, "read_launcher")
            and not implements(pm, plugin_name, "store_info"))


@dataclass
class Backend:
    """A registered plugin as the core sees it: what it serves and whether it may run."""

    name: str
    store: str | None
    priority: int
    description: str = ""
    version: str | None = None
    disabled: bool = False
    error: str | None = None
    """Why the plugin cannot be used at all (failed to load, bad ``store_info``)."""
    change_feed: bool = False
    """See :attr:`patchwatch.StoreInfo.change_feed`."""


STORE_INFO_TIMEOUT = 5.0
"""Seconds every plugin's ``store_info()`` gets (they are asked at once, side by side)."""


def backends(pm: PluginManager, config: Config) -> list[Backend]:
    """Every plugin, loaded or not, sorted by store then ``(-priority, name)``.

    A plugin whose ``store_info()`` raises, returns a malformed :class:`StoreInfo` or does
    not answer within :data:`STORE_INFO_TIMEOUT` gets ``error`` set (naming it) and is
    never used; the others are unaffected.
    """
    disabled = config.disabled()
    found: list[Backend] = []
    names = [name for name, plugin in pm.list_name_plugin()
             if name is not None and plugin is not None and not is_launcher_only(pm, name)]
    for name, (info, error) in _store_infos(pm, names).items():
        if error is not None:
            found.append(Backend(name, None, 0, error=error, disabled=name in disabled))
            continue
        found.append(Backend(
            name=name,
            store=info.store,
            priority=config.priorities.get(name, info.priority),
            description=info.description,
            version=pm.versions.get(name),
            disabled=name in disabled,
            change_feed=info.change_feed is True,
        ))
    for name, error in pm.load_errors.items():
        found.append(Backend(name, None, 0, error=error, version=pm.versions.get(name),
                             disabled=name in disabled))
    return sorted(found, key=lambda b: (b.store or "~", -b.priority, b.name))


def _store_infos(pm: PluginManager, names: list[str]) -> dict[str, tuple[Any, str | None]]:
    """Ask every plugin's ``store_info()`` in its own daemon thread, bounded in time."""
    boxes: dict[str, list[Any]] = {name: [] for name in names}
    hung = pm.store_info_hung
    workers: dict[str, threading.Thread] = {}

    def ask(name: str) -> None:
        try:
            info = call(pm, name, "store_info")
            boxes[name].append((checked_store_info(info), None) if info is not NOT_IMPLEMENTED
                               else (None, "does not implement store_info()"))
        except BadAnswer as exc:
            boxes[name].append((None, f"store_info() gave garbage: {exc}"))
        except Exception as exc:
            boxes[name].append((None, f"store_info() failed: {type(exc).__name__}: {exc}"))

    for name in names:
        if name in hung and hung[name].is_alive():
            continue  # still stuck since an earlier call: do not pile up threads
        workers[name] = threading.Thread(target=ask, args=(name,), daemon=True,
                                         name=f"patchwatch-{name}-store-info")
        workers[name].start()
    deadline = time.monotonic() + STORE_INFO_TIMEOUT
    for worker in workers.values():
        worker.join(max(0.0, deadline - time.monotonic()))
    answers: dict[str, tuple[Any, str | None]] = {}
    for name in names:
        if boxes[name]:
            hung.pop(name, None)
            answers[name] = boxes[name][0]
        else:
            hung.setdefault(name, workers.get(name) or hung[name])
            answers[name] = (None, f"store_info() did not answer in {STORE_INFO_TIMEOUT:g} s")
    return answers


QUICK_HOOK_TIMEOUT = 5.0
"""Seconds a hook that must answer without any request (``check_settings``,
``check_store_id``, ``weak_only``) gets before it counts as no answer."""


def call_quick(pm: PluginManager, plugin_name: str, hook: str, **kwargs: Any) -> Any:
    """:func:`call` in a daemon thread, within :data:`QUICK_HOOK_TIMEOUT`: a plugin that
    hangs in a hook meant to be instant cannot hold the caller. Returns the answer, or
    :data:`NOT_IMPLEMENTED` when it does not answer in time; raises what the hook raised."""
    box: list[tuple[bool, Any]] = []

    def ask() -> None:
        try:
            box.append((True, call(pm, plugin_name, hook, **kwargs)))
        except Exception as exc:
            box.append((False, exc))

    worker = threading.Thread(target=ask, daemon=True, name=f"patchwatch-{plugin_name}-{hook}")
    worker.start()
    worker.join(QUICK_HOOK_TIMEOUT)
    if not box:
        return NOT_IMPLEMENTED
    ok, value = box[0]
    if not ok:
        raise value
    return value


def settings_error(pm: PluginManager, name: str, settings: Mapping[str, Any]) -> str | None:
    """What the plugin's ``check_settings`` hook finds wrong with ``settings`` (one line),
    or None (also when it does not implement the hook or does not answer in time)."""
    try:
        answer = call_quick(pm, name, "check_settings", settings=settings)
    except Exception as exc:  # SettingsError, or a plugin's own ValueError: its message
        return str(exc) or type(exc).__name__
    return answer.strip() if isinstance(answer, str) and answer.strip() else None


def check_config(pm: PluginManager, config: Config, found: list[Backend] | None = None,
                 source: str = "config") -> list[str]:
    """Raise :class:`~patchwatch.errors.ConfigError` for a plugin name in ``[plugins.*]``,
    ``[priority]`` or ``disable`` (also ``$PATCHWATCH_DISABLE``) that is a misspelling of an
    installed plugin, a ``[stores.*]`` that misspells a served store, or a plugin setting
    the plugin refuses. Returns notes on names that match no installed plugin at all (a
    plugin you uninstalled may keep its section)."""
    from .config import closest, is_typo
    from .errors import ConfigError

    found = found if found is not None else backends(pm, config)
    known = {b.name for b in found} | {  # launcher plugins serve no store: not backends
        n for n, p in pm.list_name_plugin() if n and p is not None and is_launcher_only(pm, n)}
    stores = {b.store for b in found if b.store}
    named = [(f"[plugins.{n}]", n) for n in config.plugins] + \
        [(f"[priority] {n}", n) for n in config.priorities] + \
        [(f"disable = {n!r}", n) for n in sorted(config.disabled())]
    notes = []
    for where, name in named:
        if name in known:
            continue
        if is_typo(name, known):
            raise ConfigError(f"{source}: {where}: unknown plugin {name!r}{closest(name, known)}")
        notes.append(f"{where}: no plugin {name!r} is installed")
    for name in config.stores:
        if name not in stores and is_typo(name, stores):
            raise ConfigError(f"{source}: [stores.{name}]: unknown store {name!r}"
                              f"{closest(name, stores)}")
    for backend in found:
        if backend.error or backend.disabled:
            continue
        error = settings_error(pm, backend.name, config.settings_for(backend.name, backend.store))
        if error:
            raise ConfigError(f"{source}: [plugins.{backend.name}]: {error}")
    return notes


def store_id_problem(pm: PluginManager, config: Config, store: str, store_id: str,
                     extra: Mapping[str, Any] | None = None,
                     found: list[Backend] | None = None) -> str | None:
    """What the plugins of ``store`` find wrong with ``store_id`` (their ``check_store_id``
    hook), or None. A plugin that raises is not asked again here."""
    found = found if found is not None else backends(pm, config)
    for backend in found:
        if backend.store != store or backend.error:
            continue
        try:
            answer = call_quick(pm, backend.name, "check_store_id", store_id=store_id,
                                extra=dict(extra or {}))
        except Exception:  # a broken check must not stop the user adding a game
            continue
        if isinstance(answer, str) and answer.strip():
            return answer.strip()
    return None
