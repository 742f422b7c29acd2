"""Gunicorn run in-process (its ``BaseApplication``) for ``genro-storage serve``; importing
this module needs gunicorn (the ``serve`` extra)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

__all__ = ["GunicornServer", "OPTIONAL"]

#: Settings of newer gunicorns, left out on older ones (the control socket came in 25.1).
OPTIONAL = frozenset({"control_socket_disable"})


class GunicornServer(BaseApplication):
    """A gunicorn arbiter serving the WSGI app ``factory`` builds in each worker, after the
    fork (so no worker shares the master's clients or connections)."""

    def __init__(self, factory: Callable[[], Any], settings: Mapping[str, Any]):
        self.factory = factory
        self.settings = dict(settings)
        super().__init__(prog="genro-storage serve")

    def load_config(self) -> None:
        for key, value in self.settings.items():
            if key in OPTIONAL and key not in self.cfg.settings:
                continue
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()
