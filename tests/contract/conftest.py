"""The storage backends the contract suite runs on; adding one is one entry in BACKENDS."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from crmcms.engine.ports import UnitOfWork
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore


def _memory(request: pytest.FixtureRequest) -> Callable[[], UnitOfWork]:
    return MemoryStore().unit_of_work


# name -> builder of a fresh, empty backend's unit-of-work factory. An SQL adapter adds
# e.g. "sqlite": lambda request: SqlStore(request.getfixturevalue("database_url")).unit_of_work
def _sql(url_fixture: str) -> Callable[[pytest.FixtureRequest], Callable[[], UnitOfWork]]:
    def build(request: pytest.FixtureRequest) -> Callable[[], UnitOfWork]:
        store = SqlStore(request.getfixturevalue(url_fixture))
        request.addfinalizer(store.dispose)
        return store.unit_of_work

    return build


BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Callable[[], UnitOfWork]]] = {
    "memory": _memory,
    "sqlite": _sql("sqlite_url"),
    "postgresql": _sql("postgres_url"),
}


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    """An SQLite file of the test's own."""
    return f"sqlite:///{os.path.join(tmp_path, 'crmcms.sqlite')}"


@pytest.fixture(
    params=[
        pytest.param(name, marks=pytest.mark.postgres) if name == "postgresql" else name
        for name in sorted(BACKENDS)
    ]
)
def uow_factory(request: pytest.FixtureRequest) -> Callable[[], UnitOfWork]:
    """A unit-of-work factory over a fresh, empty backend."""
    return BACKENDS[request.param](request)
