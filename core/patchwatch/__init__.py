"""patchwatch: which games of your library got a real update."""

import pluggy

from .errors import LauncherNotFound
from .models import (Game, LauncherGame, LauncherInfo, LauncherWarning, Links, Problem, Result,
                     Signal, StoreInfo, Unchanged)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("patchwatch")

__all__ = ["hookimpl", "Game", "Signal", "Problem", "Result", "StoreInfo", "Unchanged", "Links",
           "LauncherInfo", "LauncherGame", "LauncherWarning", "LauncherNotFound", "__version__"]
