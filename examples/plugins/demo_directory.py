"""The demo's clients as a client directory plugin, for a server to run the examples against:
``crmcms serve --plugin examples.plugins.demo_directory:Directory``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcms.entrypoints.demo_workflow import CLIENTS
from crmcms.plugins import hookimpl


class Directory:
    """Finds the demo's three clients by id (``1`` is a BIS client in Moscow)."""

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return CLIENTS.get(client_id)
