"""Storage queries bounded by a reader's scope return exactly the appeals the engine lets it
read, on every SQL backend; the scope's texts are bound parameters."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import PG_URL
from tests.test_engine_permissions import DEFINITIONS, LOGINS, MONDAY, register

from crmcms import Client, Engine, Permission, Principal
from crmcms.dsl import load_catalog_text
from crmcms.engine import ReadScope, may_read
from crmcms.errors import ValidationError
from crmcms.model import Appeal
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import AppealFilters, AppealReads, SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

World = tuple[Engine, AppealFilters, AppealReads, list[Appeal]]


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('scope')}/scope.sqlite")
        yield from _world(store)
        return
    admin = request.getfixturevalue("postgres_admin")
    assert isinstance(admin, sa.Engine)
    schema = f"crmcms_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield from _world(SqlStore(f"{PG_URL}{sep}options=-csearch_path%3D{schema}"))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _world(store: SqlStore) -> Iterator[World]:
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(
        load_catalog_text(DEFINITIONS),
        store.unit_of_work,
        plugins=plugins,
        clock=ManualClock(MONDAY),
    )
    who = {login: engine.trusted(login) for login in LOGINS}
    for i in range(12):
        registrar = ("ann", "bob", "lead", "desk")[i % 4]
        appeal = register(engine, who[registrar], "BILL" if i % 3 == 0 else "REPAIR")
        if i % 4 == 1:
            worker = who["bob"] if appeal.queue == "BACK" else who["ann"]
            engine.take(appeal.id, worker)
        if i % 5 == 2 and appeal.queue == "LINE":
            engine.transition(appeal.id, who["lead"], "start")
    filters, reads = AppealFilters(store.engine), AppealReads(store.engine)
    everything = list(filters.page("true", limit=1000).items)
    yield engine, filters, reads, everything
    store.dispose()


BACKENDS = pytest.mark.parametrize(
    "world", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

principals = st.builds(
    Principal,
    # No login holds a control character: a Principal refuses one (tested below).
    login=st.one_of(
        st.sampled_from(LOGINS),
        st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12),
    ),
    permissions=st.frozensets(st.sampled_from([Permission.READ, Permission.READ_ALL])),
)


@BACKENDS
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(principal=principals)
def test_a_scoped_filter_returns_what_the_reader_may_read(
    world: World, principal: Principal
) -> None:
    engine, filters, _, everything = world
    queues = engine.runtime.queues
    expected = {a.id for a in everything if may_read(principal, a, queues)}
    scope = engine.read_scope(principal)
    found = {a.id for a in filters.page("true", limit=1000, scope=scope).items}
    assert found == expected
    assert filters.count("true", scope=scope) == len(expected)


@BACKENDS
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(principal=principals, queue=st.sampled_from(["LINE", "BACK"]))
def test_a_scoped_queue_page_returns_what_the_reader_may_read(
    world: World, principal: Principal, queue: str
) -> None:
    engine, _, reads, everything = world
    queues = engine.runtime.queues
    expected = {
        a.id
        for a in everything
        if a.queue == queue and a.is_open and may_read(principal, a, queues)
    }
    page = reads.queue_page(queue, limit=1000, scope=engine.read_scope(principal))
    assert {s.id for s in page.items} == expected


@BACKENDS
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(login=st.text(), codes=st.frozensets(st.text(max_size=20), max_size=3))
def test_any_text_in_a_scope_is_a_bound_value_not_sql(
    world: World, login: str, codes: frozenset[str]
) -> None:
    _, filters, _, everything = world
    scope = ReadScope(login.replace("\x00", ""), frozenset(c.replace("\x00", "") for c in codes))
    found = filters.page("true", limit=1000, scope=scope).items
    assert {a.id for a in found} <= {a.id for a in everything}
    assert len(filters.page("true", limit=1000).items) == len(everything)


def test_the_scope_of_a_reader_without_read_is_empty() -> None:
    catalog = load_catalog_text(DEFINITIONS)
    engine = Engine(catalog, SqlStore("sqlite://").unit_of_work)
    assert engine.read_scope(engine.trusted("sec")) == ReadScope("sec", nothing=True)
    assert engine.read_scope(engine.trusted("mia")) is None
    assert engine.read_scope(engine.trusted("ann")) == ReadScope("ann", frozenset({"LINE"}))


@BACKENDS
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(principal=principals)
def test_overdue_client_history_and_reports_keep_to_the_scope(
    world: World, principal: Principal
) -> None:
    engine, _, reads, everything = world
    queues = engine.runtime.queues
    seen = {a.id for a in everything if may_read(principal, a, queues)}
    scope = engine.read_scope(principal)
    later = MONDAY + timedelta(days=400)
    overdue = {s.id for s in reads.overdue(later, limit=1000, scope=scope).items}
    assert overdue == {
        a.id
        for a in everything
        if a.id in seen and a.is_open and a.deadline is not None and a.deadline <= later
    }
    history = {s.id for s in reads.client_history(1, limit=1000, scope=scope).items}
    assert history == seen
    counted = reads.report(MONDAY - timedelta(days=1), later, by="queue", scope=scope)
    assert sum(counted.values()) == len(seen)


@pytest.mark.parametrize("login", ["olga\x00", "ol\nga", "\x7f"])
def test_a_principal_whose_login_holds_a_control_character_is_refused(login: str) -> None:
    with pytest.raises(ValidationError, match="control character") as refused:
        Principal(login)
    assert [p.code for p in refused.value.problems] == ["login"]
