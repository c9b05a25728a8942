"""Archiving moves closed appeals in batches, survives a crash mid-batch, reads and restores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crmcms.errors import NotFoundError, StorageError
from crmcms.model import Appeal, AppealState, HistoryEvent, HistoryKind
from crmcms.storage.sql import AppealReads, Archiver, SqlStore
from crmcms.testing.stored import add_contact

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=100)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(database_url, id_block=50)
    with store.unit_of_work() as uow:
        c = add_contact(uow, registered_at=T0, client_id=7)
        for k in range(25):
            closed = k % 5 != 0
            a = Appeal(
                id=uow.appeals.next_id(),
                contact_id=c.id,
                topic="CLAIM",
                route="R",
                route_version=1,
                process="done" if closed else "work",
                operator="olga",
                registered_at=T0 + timedelta(hours=k),
                state=AppealState.CLOSED if closed else AppealState.OPEN,
                closed_at=T0 + timedelta(days=k) if closed else None,
                values={"reason": f"r{k}"},
            )
            uow.appeals.add(a)
            for kind in (HistoryKind.CREATED, HistoryKind.CLOSED):
                uow.history.add(
                    HistoryEvent(
                        id=uow.history.next_id(),
                        appeal_id=a.id,
                        kind=kind,
                        at=a.registered_at,
                        operator="olga",
                        comment=f"{kind.value} {k}",
                        reason=f"why {k}",  # archived and restored with the rest
                    )
                )
        uow.commit()
    yield store
    store.dispose()


def _counts(store: SqlStore) -> tuple[int, int]:
    with store.engine.connect() as conn:
        live = conn.execute(sa.text("SELECT count(*) FROM crm_appeal")).scalar_one()
        gone = conn.execute(sa.text("SELECT count(*) FROM crm_appeal_archive")).scalar_one()
    return int(live), int(gone)


def test_archive_in_batches_is_resumable_and_idempotent(store: SqlStore) -> None:
    archiver = Archiver(store.engine)
    # Closed more than 60 days before NOW: closed_at = T0 + k days with k < 40, k % 5 != 0.
    first = archiver.archive(timedelta(days=60), now=NOW, batch=3, max_batches=2)
    assert (first.archived, first.batches, first.finished) == (6, 2, False)
    rest = archiver.archive(timedelta(days=60), now=NOW, batch=3)
    assert rest.finished
    assert first.archived + rest.archived == 20
    assert archiver.archive(timedelta(days=60), now=NOW).archived == 0
    assert _counts(store) == (5, 20)


def test_a_crash_inside_a_batch_moves_nothing(store: SqlStore) -> None:
    archiver = Archiver(store.engine)
    archiver.archive(timedelta(days=60), now=NOW, batch=4, max_batches=1)

    def crash(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM CRM_APPEAL "):
            raise RuntimeError("killed")

    sa.event.listen(store.engine, "before_cursor_execute", crash)
    try:
        with pytest.raises((StorageError, RuntimeError)):
            archiver.archive(timedelta(days=60), now=NOW, batch=4)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", crash)
    assert _counts(store) == (21, 4)
    archiver.archive(timedelta(days=60), now=NOW, batch=4)
    assert _counts(store) == (5, 20)


def test_archived_appeals_stay_readable_reportable_and_come_back(store: SqlStore) -> None:
    archiver = Archiver(store.engine)
    with store.unit_of_work() as uow:
        before = uow.appeals.get(2)
        events = uow.history.for_appeal(2)
    kept = [(e.comment, e.reason) for e in events]
    assert kept == [("created 1", "why 1"), ("closed 1", "why 1")]
    archiver.archive(timedelta(days=60), now=NOW)
    with store.unit_of_work() as uow, pytest.raises(NotFoundError):
        uow.appeals.get(2)
    assert archiver.get(2) == before
    assert archiver.history(2) == events
    reads = AppealReads(store.engine)
    assert reads.report(T0, NOW) == {"CLAIM": 25}
    assert reads.report(T0, NOW, archived=False) == {"CLAIM": 5}
    assert len(reads.client_history(7, limit=100).items) == 25
    assert sum(1 for _ in reads.stream(archived=True, batch=7)) == 25

    restored = archiver.restore(2)
    assert restored.version == before.version + 1
    with store.unit_of_work() as uow:
        assert uow.appeals.get(2).values == before.values
        assert uow.history.for_appeal(2) == events
    with pytest.raises(NotFoundError):
        archiver.get(2)
    with pytest.raises(NotFoundError):
        archiver.restore(2)


def test_queue_page_and_overdue_scan(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for appeal_id in (1, 6, 11, 16, 21):
            a = uow.appeals.get(appeal_id)
            a.queue = "67"
            a.deadline = None if appeal_id == 11 else T0 + timedelta(hours=30 - appeal_id)
            uow.appeals.update(a)
        uow.commit()
    reads = AppealReads(store.engine)
    seen: list[int] = []
    page = reads.queue_page("67", limit=2)
    while True:
        seen += [a.id for a in page.items]
        if page.next is None:
            break
        page = reads.queue_page("67", limit=2, after=page.next)
    assert seen == [21, 16, 6, 1, 11]
    overdue = reads.overdue(T0 + timedelta(hours=20), limit=1)
    assert [a.id for a in overdue.items] == [21]
    assert overdue.next is not None
    assert [a.id for a in reads.overdue(T0 + timedelta(hours=20), after=overdue.next).items] == [16]


KILLED_RUN = """
import sys
from datetime import timedelta
from crmcms.storage.database import create_engine
from crmcms.storage.sql import Archiver
print("started", flush=True)
Archiver(create_engine(sys.argv[1])).archive(timedelta(0), batch=5)
"""


def test_a_killed_archiving_process_loses_and_duplicates_nothing(tmp_path: Any) -> None:
    import signal
    import subprocess
    import sys
    import time

    from crmcms.storage.sql.dataset import generate

    url = f"sqlite:///{tmp_path}/kill.sqlite"
    store = SqlStore(url)
    generate(store.engine, 3000, seed=3)

    def census() -> tuple[int, int, int, int, int]:
        with store.engine.connect() as conn:
            one = lambda sql: int(conn.execute(sa.text(sql)).scalar_one())  # noqa: E731
            return (
                one("SELECT count(*) FROM crm_appeal"),
                one("SELECT count(*) FROM crm_appeal_archive"),
                one("SELECT count(*) FROM crm_appeal a JOIN crm_appeal_archive b USING (id)"),
                one("SELECT count(*) FROM crm_history"),
                one("SELECT count(*) FROM crm_history_archive"),
            )

    live, gone, _, events, archived_events = census()
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, url], stdout=subprocess.PIPE)
    assert child.stdout is not None
    child.stdout.readline()
    time.sleep(0.4)
    child.send_signal(signal.SIGKILL)
    child.wait()
    after = census()
    assert after[1] > 0, "killed before the first batch; the test proves little"
    assert after[0] + after[1] == live + gone == 3000
    assert after[2] == 0
    assert after[3] + after[4] == events + archived_events
    Archiver(store.engine).archive(timedelta(0))
    final = census()
    assert final[0] + final[1] == 3000
    assert final[2] == 0
    assert final[3] + final[4] == events
    store.dispose()
