"""Test kit for patchwatch and its store plugins.

Installed with patchwatch as a pytest plugin (:mod:`patchwatch.testing.pytest_plugin`): the
``fake_store`` fixture gives a started :class:`FakeStoreServer` on loopback, and the ``live``
marker is registered. To test a plugin through the real sync without the installed plugins,
pass ``pm=patchwatch.plugins.new_plugin_manager({"name": module})`` to ``sync_library``.
"""

from .answers import each_answer, read_answers, read_launcher_items
from .example import ExamplePlugin
from .http import MALFORMED, FakeStoreServer, Request, Response, closed_port, gzip_bomb

__all__ = ["ExamplePlugin", "FakeStoreServer", "Request", "Response", "MALFORMED", "closed_port", "gzip_bomb",
           "each_answer", "read_answers", "read_launcher_items"]
