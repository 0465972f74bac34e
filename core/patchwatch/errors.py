"""Errors the core raises with a message meant for a person."""


class PatchwatchError(Exception):
    """Base class: the message is one clear line, shown as is by the CLI."""


class ConfigError(PatchwatchError):
    """The config file cannot be read or has a wrong value."""


class DatabaseError(PatchwatchError):
    """The database is corrupt, read-only, locked or not shaped as expected."""


class LibraryError(PatchwatchError):
    """A game to add or import is not valid."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (``systemctl stop``, ``docker stop``): handled like Ctrl-C."""


class LauncherNotFound(PatchwatchError):
    """Raised by a launcher plugin's ``read_launcher`` when its launcher is not on this
    machine: shown as a one-line note, not an error."""
