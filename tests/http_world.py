"""The HTTP API on a real database with the seed's definitions, for the HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import attrs
from examples.telecom.seed_catalog import build_catalog
from litestar import Litestar

from crmcms import Client, Limits
from crmcms.engine import Engine, KeyProfile, LoginGateway
from crmcms.http import create_app
from crmcms.model import SYSTEM, Operator, Queue, QueueMember, Role
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import SqlLoginStore, SqlStore
from crmcms.testing.engine import FakeBilling

CLIENTS = (
    Client(1, "ООО Ромашка", category="BIS", region="Moscow"),
    Client(2, "Иванов", category="VIP", region="Pskov"),
)
PASSWORD = "кошка на окне 2026"
"""Every operator's password in these tests."""
GOOD = {"166": "Переезд", "168": date(2026, 4, 1).isoformat()}
"""Attributes of a TERMINATION appeal, as canonical text."""


@attrs.frozen
class World:
    app: Litestar
    engine: Engine
    store: SqlStore
    gateway: LoginGateway


@contextmanager
def http_world(
    url: str, *, cursor_secret: bytes = b"k" * 32, limits: Limits | None = None
) -> Iterator[World]:
    """The app of an engine on ``url``, with olga, bis, desk (a reader), anna (a manager)
    and the administrator given :data:`PASSWORD`."""
    seed = build_catalog()
    # A reader of its own queues only: every appeal of the seed's queues is another queue's.
    catalog = attrs.evolve(
        seed,
        roles=(*seed.roles, Role("READER", "Reader", permissions=("read",))),
        queues=(*seed.queues, Queue("DESK", "Desk", members=(QueueMember.operator("desk"),))),
        operators=(
            *seed.operators,
            Operator("desk", "Desk", roles=("READER",)),
            Operator("anna", "Anna", roles=("MANAGER",)),
        ),
    )
    store = SqlStore(url)
    logins = SqlLoginStore(url)
    plugins = make_plugin_manager([FakeBilling(CLIENTS)], load_entry_points=False)
    engine = Engine(catalog, store.unit_of_work, plugins=plugins, limits=limits)
    gateway = LoginGateway(logins, catalog, profile=KeyProfile.CHEAPEST)
    for login in ("olga", "bis", "desk", "anna", "Администратор"):
        gateway.set_password(SYSTEM, login, PASSWORD)
    try:
        yield World(
            create_app(engine, gateway, store, cursor_secret=cursor_secret), engine, store, gateway
        )
    finally:
        store.dispose()
        logins.dispose()
