"""Definitions round-trip through SQL on every backend; published route versions are immutable."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from crmcms import testing as st_crm
from crmcms.errors import ValidationError
from crmcms.model import Catalog, Topic
from crmcms.storage.database import create_engine
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.schema import definition


def _by_key(items: tuple[Any, ...]) -> list[Any]:
    # JSONB may reorder mapping keys, so compare by value in a fixed order, never by repr.
    return sorted(items, key=lambda i: repr(getattr(i, "key", None) or getattr(i, "code", "")))


def _empty(store: DefinitionStore) -> DefinitionStore:
    # Hypothesis runs many examples on one fixture; each starts from an empty table.
    with store.engine.begin() as conn:
        conn.execute(definition.delete())
    return store


# A catalog takes seconds to generate on a loaded machine: the test's own list replaces
# the profile's, so it names too_slow again.
SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture
def store(database_url: str) -> DefinitionStore:
    engine = create_engine(database_url)
    store = DefinitionStore(engine)
    store.create_schema()
    return store


@settings(max_examples=15, suppress_health_check=SUPPRESSED)
@given(catalog=st_crm.catalogs())
def test_catalog_round_trips(store: DefinitionStore, catalog: Catalog) -> None:
    _empty(store).save(catalog)
    loaded = store.load()
    for field in attrs.fields(Catalog):
        if field.init:
            assert _by_key(getattr(loaded, field.name)) == _by_key(getattr(catalog, field.name)), (
                field.name
            )


@settings(max_examples=10, suppress_health_check=SUPPRESSED)
@given(catalog=st_crm.catalogs())
def test_route_versions_accumulate_and_other_definitions_are_replaced(
    store: DefinitionStore, catalog: Catalog
) -> None:
    _empty(store).save(catalog)
    store.save(attrs.evolve(catalog, topics=(), queues=(), routes=()))
    loaded = store.load()
    assert loaded.topics == ()
    assert loaded.queues == ()
    assert sorted(r.key for r in loaded.routes) == sorted(r.key for r in catalog.routes)


@settings(max_examples=10, suppress_health_check=SUPPRESSED)
@given(catalog=st_crm.catalogs())
def test_republishing_a_changed_route_version_is_refused_and_writes_nothing(
    store: DefinitionStore, catalog: Catalog
) -> None:
    if not catalog.routes:
        return
    _empty(store).save(catalog)
    route = catalog.routes[0]
    changed = attrs.evolve(route, name=route.name + " (edited)")
    with pytest.raises(ValidationError) as info:
        store.save(attrs.evolve(catalog, routes=(changed, *catalog.routes[1:]), topics=()))
    assert info.value.codes() == (f"routes.{route.code}",)
    assert store.load().topics == tuple(sorted(catalog.topics, key=lambda t: t.code))


def test_definition_text_holding_nul_is_refused_on_every_backend(store: DefinitionStore) -> None:
    # PostgreSQL text cannot hold NUL; SQLite could, and refuses it too, naming where.
    store.save(Catalog(topics=(Topic("T1", "Fine"),)))
    bad = Catalog(topics=(Topic("T1", "Fine"), Topic("T2", "Bad", description="a\x00b")))
    with pytest.raises(ValidationError, match="description may not contain the NUL") as info:
        store.save(bad)
    assert info.value.codes() == ("topics.T2",)
    assert store.load().topics == (Topic("T1", "Fine"),)  # nothing written
