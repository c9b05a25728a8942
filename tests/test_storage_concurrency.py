"""Optimistic concurrency on PostgreSQL: many threads edit the same appeals, none is lost."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest

from crmcms.errors import ConcurrencyError
from crmcms.model import Appeal
from crmcms.storage.database import create_engine
from crmcms.storage.sql import SqlStore
from crmcms.testing.stored import add_contact

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
THREADS = 50
EDITS = 8
APPEALS = 5
CONNECTIONS = 10
"""The threads share a pool of this many connections: a connection per thread (55 with
overflow) could exhaust a server's max_connections (100 by default) when other test runs
share it, and the threads that got none would die with an error instead of a conflict."""


@pytest.mark.postgres
def test_fifty_threads_lose_no_update(postgres_url: str) -> None:
    # A thread waits for a free connection as long as the others need: 400 short
    # transactions on a machine under load, not a stuck pool.
    database = create_engine(postgres_url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=300)
    store = SqlStore(database, id_block=10)
    with store.unit_of_work() as uow:
        c = add_contact(uow, registered_at=T0)
        ids = []
        for _ in range(APPEALS):
            a = Appeal(
                id=uow.appeals.next_id(),
                contact_id=c.id,
                topic="T",
                route="R",
                route_version=1,
                process="p",
                operator="olga",
                registered_at=T0,
                values={"count": "0"},
            )
            uow.appeals.add(a)
            ids.append(a.id)
        uow.commit()

    wins: Counter[int] = Counter()
    conflicts: Counter[int] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        try:
            edit(n)
        except BaseException as exc:  # a thread's error would otherwise only be printed
            with lock:
                errors.append(exc)
            raise

    def edit(n: int) -> None:
        start.wait()
        for k in range(EDITS):
            appeal_id = ids[(n + k) % APPEALS]
            with store.unit_of_work() as uow:
                got = uow.appeals.get(appeal_id)
                # A read-modify-write: a lost update would show as a count behind the wins.
                got.values["count"] = str(int(str(got.values["count"])) + 1)
                got.responsible = f"op{n}"
                try:
                    uow.appeals.update(got)
                    uow.commit()
                except ConcurrencyError:
                    with lock:
                        conflicts[appeal_id] += 1
                    continue
            with lock:
                wins[appeal_id] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    assert sum(wins.values()) + sum(conflicts.values()) == THREADS * EDITS
    assert sum(conflicts.values()) > 0, "the threads never met; the test proves nothing"
    with store.unit_of_work() as uow:
        for appeal_id in ids:
            stored = uow.appeals.get(appeal_id)
            assert stored.version == 1 + wins[appeal_id]
            assert stored.values["count"] == str(wins[appeal_id])
    store.dispose()
