"""What the handlers work with: the engine, the login gateway and the storage reads."""

from __future__ import annotations

from datetime import timedelta

from litestar.di import NamedDependency

from crmcms.engine import Engine, LoginGateway
from crmcms.http.cursor import Cursors
from crmcms.http.idempotency import Writes
from crmcms.model import Principal
from crmcms.storage.sql import AppealFilters, AppealReads, SqlStore, attribute_types

__all__ = ["Acting", "Needs", "Services"]


class Services:
    """One per application; every handler gets it as ``services``."""

    def __init__(
        self,
        engine: Engine,
        gateway: LoginGateway,
        store: SqlStore,
        *,
        cursor_secret: bytes | None = None,
        idempotency_lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.engine = engine
        self.gateway = gateway
        self.store = store
        self.reads = AppealReads(store.engine)
        self.filters = AppealFilters(store.engine, attributes=attribute_types(engine.catalog))
        self.cursors = Cursors(cursor_secret)
        self.writes = Writes(engine, lease=idempotency_lease)


Needs = NamedDependency[Services]
"""A handler's ``services`` parameter: the application's :class:`Services`."""
Acting = NamedDependency[Principal]
"""A handler's ``principal`` parameter: whom the request's session token stands for."""
