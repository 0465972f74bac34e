"""patchwatch's web pages: ``patchwatch serve``, or one line in a host app::

    app.mount("/updates", patchwatch.web.create_app(DATABASE_PATH))

Needs the ``web`` extra (``pip install 'patchwatch[web]'``): Starlette, Jinja2, uvicorn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`patchwatch.web.app.create_app`."""
    try:
        from .app import create_app as build
    except ImportError as exc:  # the extra is missing: say which one, in one line
        from ..errors import PatchwatchError
        raise PatchwatchError(f"patchwatch.web needs the web extra: pip install "
                              f"'patchwatch[web]' ({exc})") from None
    return build(*args, **kwargs)
