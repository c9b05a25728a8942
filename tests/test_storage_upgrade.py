"""Upgrading a database of the first released schema keeps its data and adds the records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crmcms.model import Appeal
from crmcms.storage.database import create_engine
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.migrate import current_revision, head_revision, upgrade_schema
from crmcms.storage.sql import SqlStore
from crmcms.testing.stored import add_contact

FIRST_RELEASE = "0001"


def _by_key(items: tuple[Any, ...]) -> list[Any]:
    return sorted(items, key=lambda i: repr(getattr(i, "key", None) or getattr(i, "code", "")))


def test_upgrade_from_the_first_release_keeps_definitions(database_url: str) -> None:
    from crmcms.demo import example_catalog

    engine = create_engine(database_url)
    assert upgrade_schema(engine, FIRST_RELEASE) == FIRST_RELEASE
    catalog = example_catalog()
    # The first release's DefinitionStore wrote the same table; save without upgrading.
    DefinitionStore(engine).save(catalog)

    assert upgrade_schema(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    loaded = DefinitionStore(engine).load()
    assert _by_key(loaded.routes) == _by_key(catalog.routes)
    assert _by_key(loaded.topics) == _by_key(catalog.topics)

    store = SqlStore(engine)
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with store.unit_of_work() as uow:
        c = add_contact(uow, registered_at=t0)
        route = loaded.routes[0]
        a = Appeal(
            id=uow.appeals.next_id(),
            contact_id=c.id,
            topic="TERMINATION",
            route=route.code,
            route_version=route.version,
            process=route.processes[0].code,
            operator="olga",
            registered_at=t0,
        )
        uow.appeals.add(a)
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.appeals.get(a.id)
    # The appeal finds the very route version it runs on, after a restart too.
    assert DefinitionStore(engine).load().route(got.route, got.route_version) == route
    store.dispose()
