"""The application each ``crmcms serve`` worker runs, configured from the environment.

uvicorn starts every worker process afresh and calls :func:`app_from_environment` in it; the
command passes what it was given through these variables, so every worker reads the same
database and definitions and signs cursors with the same secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = [
    "CURSOR_SECRET_VARIABLE",
    "DATABASE_VARIABLE",
    "DEFINITIONS_VARIABLE",
    "PLUGINS_VARIABLE",
    "app_from_environment",
]

DATABASE_VARIABLE = "CRMCMS_DATABASE_URL"
DEFINITIONS_VARIABLE = "CRMCMS_DEFINITIONS"
"""Definition files or folders, separated by ``os.pathsep``; none: the stored catalog."""
PLUGINS_VARIABLE = "CRMCMS_PLUGINS"
"""``MODULE[:NAME]`` of plugins to register besides the installed ones, comma-separated."""
REPORTS_DATABASE_VARIABLE = "CRMCMS_REPORTS_DATABASE_URL"
"""A read-only replica reports run on (the primary when unset)."""
CURSOR_SECRET_VARIABLE = "CRMCMS_CURSOR_SECRET"
"""The key page cursors are signed with, in hex."""


def app_from_environment() -> Litestar:
    """The HTTP API of the database and definitions the environment names."""
    from crmcms.dsl import load_catalog
    from crmcms.engine import Engine, LoginGateway
    from crmcms.entrypoints.worker import load_plugins
    from crmcms.http import create_app
    from crmcms.plugins import make_plugin_manager, rule_schema
    from crmcms.storage.database import create_engine
    from crmcms.storage.definitions import DefinitionStore
    from crmcms.storage.sql import SqlLoginStore, SqlStore, SqlWebhookStore

    specs = [s for s in os.environ.get(PLUGINS_VARIABLE, "").split(",") if s.strip()]
    pm = make_plugin_manager(load_plugins(specs))
    database = create_engine(os.environ.get(DATABASE_VARIABLE))
    # The command brought the schema up to date once, before starting the workers.
    store = SqlStore(database, upgrade=False)
    paths = [Path(p) for p in os.environ.get(DEFINITIONS_VARIABLE, "").split(os.pathsep) if p]
    if paths:
        catalog = load_catalog(paths, schema=rule_schema(pm))
    else:
        catalog = DefinitionStore(database).load()
    reports = store.reports(os.environ.get(REPORTS_DATABASE_VARIABLE) or None)
    engine = Engine(
        catalog,
        store.unit_of_work,
        plugins=pm,
        webhook_store=SqlWebhookStore(store.engine),
        reports=reports,
    )
    gateway = LoginGateway(SqlLoginStore(database, upgrade=False), catalog)
    secret = os.environ.get(CURSOR_SECRET_VARIABLE)
    return create_app(
        engine, gateway, store, cursor_secret=None if secret is None else bytes.fromhex(secret)
    )
