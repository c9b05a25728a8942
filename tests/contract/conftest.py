"""The storage backends the contract suite runs on; adding one is one entry in BACKENDS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crmcms.engine.ports import UnitOfWork
from crmcms.storage.memory import MemoryStore


def _memory(request: pytest.FixtureRequest) -> Callable[[], UnitOfWork]:
    return MemoryStore().unit_of_work


# name -> builder of a fresh, empty backend's unit-of-work factory. An SQL adapter adds
# e.g. "sqlite": lambda request: SqlStore(request.getfixturevalue("database_url")).unit_of_work
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Callable[[], UnitOfWork]]] = {
    "memory": _memory,
}


@pytest.fixture(params=sorted(BACKENDS))
def uow_factory(request: pytest.FixtureRequest) -> Callable[[], UnitOfWork]:
    """A unit-of-work factory over a fresh, empty backend."""
    return BACKENDS[request.param](request)
