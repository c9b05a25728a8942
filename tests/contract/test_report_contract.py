"""Reports mean the same on every backend: the memory store's Python and the SQL adapters'
aggregates give the same groups and figures over the same records."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcms.dsl import load_catalog
from crmcms.engine import Engine, ReportQueries
from crmcms.engine.ports import UnitOfWork
from crmcms.storage.memory import MemoryStore
from crmcms.storage.memory_reports import MemoryReports
from crmcms.storage.sql import SqlStore
from report_world import START, generate

CATALOG = load_catalog(["examples/telecom"])
END = datetime(2026, 4, 1, tzinfo=UTC)

Backend = tuple[Callable[[], UnitOfWork], ReportQueries]


def _memory(request: pytest.FixtureRequest) -> Backend:
    store = MemoryStore()
    return store.unit_of_work, MemoryReports(store, CATALOG)


def _sql(url_fixture: str) -> Callable[[pytest.FixtureRequest], Backend]:
    def build(request: pytest.FixtureRequest) -> Backend:
        store = SqlStore(request.getfixturevalue(url_fixture))
        request.addfinalizer(store.dispose)
        return store.unit_of_work, store.reports()

    return build


BACKENDS = {"memory": _memory, "sqlite": _sql("sqlite_url"), "postgresql": _sql("postgres_url")}


@pytest.fixture(
    params=[
        pytest.param(n, marks=pytest.mark.postgres) if n == "postgresql" else n
        for n in sorted(BACKENDS)
    ]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param](request)


def reference(code: str, **options: object) -> dict[tuple[object, ...], tuple[object, ...]]:
    """The report on the memory store over the standard records, keyed by its groups."""
    store = MemoryStore()
    generate(store.unit_of_work, 200)
    return keyed(
        Engine(
            CATALOG, store.unit_of_work, reports=MemoryReports(store, CATALOG), trust_logins=True
        ),
        code,
        **options,
    )


def keyed(
    engine: Engine, code: str, **options: object
) -> dict[tuple[object, ...], tuple[object, ...]]:
    table = engine.report(code, start=START, end=END, **options)  # type: ignore[arg-type]
    width = sum(c.dimension for c in table.columns)
    return {row[:width]: row[width:] for row in table.rows}


CASES = [
    ("by_topic", {}),
    ("by_operator", {"timezone": "Europe/Moscow"}),
    ("repeat_appeals", {"repeat_days": 3}),
    ("sla", {}),
    ("reopened", {"by": ["channel"]}),
    ("backlog", {"bucket": "week", "timezone": "Europe/Moscow"}),
    ("by_topic", {"by": ["period", "queue"], "bucket": "day", "filter": 'Appeal.Queue = "67"'}),
]


@pytest.mark.parametrize(("code", "options"), CASES, ids=[c for c, _ in CASES])
def test_every_backend_gives_the_same_report(backend: Backend, code: str, options: dict) -> None:  # type: ignore[type-arg]
    factory, reports = backend
    generate(factory, 200)
    engine = Engine(CATALOG, factory, reports=reports, trust_logins=True)
    assert keyed(engine, code, **options) == reference(code, **options)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    count=st.integers(0, 40),
    zone=st.sampled_from(["UTC", "Europe/Moscow", "America/Sao_Paulo"]),
    bucket=st.sampled_from(["hour", "day", "week", "month"]),
)
def test_random_appeals_count_alike_in_sqlite_and_python(
    tmp_path_factory: pytest.TempPathFactory, seed: int, count: int, zone: str, bucket: str
) -> None:
    path = tmp_path_factory.mktemp("reports") / "r.sqlite"
    store = SqlStore(f"sqlite:///{os.fspath(path)}")
    memory = MemoryStore()
    try:
        generate(store.unit_of_work, count, seed)
        generate(memory.unit_of_work, count, seed)
        sql = Engine(CATALOG, store.unit_of_work, reports=store.reports(), trust_logins=True)
        python = Engine(
            CATALOG, memory.unit_of_work, reports=MemoryReports(memory, CATALOG), trust_logins=True
        )
        for code in ("by_topic", "backlog", "repeat_appeals"):
            options = {"by": ["period", "topic"], "bucket": bucket, "timezone": zone}
            if code == "backlog":
                options["by"] = ["period"]
            assert keyed(sql, code, **options) == keyed(python, code, **options), code
    finally:
        store.dispose()
