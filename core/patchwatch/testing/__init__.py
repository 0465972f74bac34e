"""Test kit for patchwatch and its store plugins.

Installed with patchwatch as a pytest plugin: the ``fake_store`` fixture gives a started
:class:`FakeStoreServer` on loopback; ``patchwatch_env`` gives a fresh plugin manager and
an empty database so installed plugins never leak into a test.
"""

from .answers import each_answer, read_answers
from .example import ExamplePlugin
from .http import MALFORMED, FakeStoreServer, Request, Response, closed_port, gzip_bomb

__all__ = ["ExamplePlugin", "FakeStoreServer", "Request", "Response", "MALFORMED", "closed_port", "gzip_bomb",
           "each_answer", "read_answers"]
