"""Screen reads: client history across the working and archive tables, times in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from crmcms.model import Appeal, AppealState
from crmcms.storage.schema import appeal_archive
from crmcms.storage.sql import AppealReads, AppealSummary, SqlStore
from crmcms.storage.sql.codec import appeal_row
from crmcms.testing.stored import add_contact

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """Client 7 has 12 appeals, one an hour from T0; those with an odd hour are archived."""
    store = SqlStore(database_url)
    archived = []
    with store.unit_of_work() as uow:
        c = add_contact(uow, registered_at=T0, client_id=7)
        for hour in range(12):
            a = Appeal(
                id=uow.appeals.next_id(),
                contact_id=c.id,
                topic="CLAIM",
                route="R",
                route_version=1,
                process="work",
                queue="67",
                operator="olga",
                # Two appeals share each registration time: the id must break the tie.
                registered_at=T0 + timedelta(hours=hour // 2 * 2),
                deadline=T0 + timedelta(days=2),
                state=AppealState.CLOSED if hour % 2 else AppealState.OPEN,
            )
            if hour % 2:
                archived.append({**appeal_row(a, 7), "archived_at": T0 + timedelta(days=9)})
            else:
                uow.appeals.add(a)
        uow.commit()
    with store.engine.begin() as conn:
        conn.execute(sa.insert(appeal_archive), archived)
    yield store
    store.dispose()


def test_client_history_pages_newest_first_across_the_archive(store: SqlStore) -> None:
    reads = AppealReads(store.engine)
    seen: list[AppealSummary] = []
    page = reads.client_history(7, limit=5)
    while True:
        seen += page.items
        if page.next is None:
            break
        page = reads.client_history(7, before=page.next, limit=5)
    assert len(seen) == 12
    keys = [(s.registered_at, s.id) for s in seen]
    assert keys == sorted(keys, reverse=True)
    assert {s.state for s in seen} == {"open", "closed"}
    working = reads.client_history(7, archived=False, limit=50).items
    assert [s.state for s in working] == ["open"] * 6
    assert reads.client_history(8).items == ()


def test_summaries_carry_aware_utc_times(store: SqlStore) -> None:
    reads = AppealReads(store.engine)
    first = reads.client_history(7, limit=1).items[0]
    queued = reads.queue_page("67").items[0]
    for summary in (first, queued):
        assert summary.registered_at.utcoffset() == timedelta(0)
        assert summary.deadline == T0 + timedelta(days=2)
    assert first.registered_at == T0 + timedelta(hours=10)
    # Comparable with an aware "now" on every database.
    assert first.registered_at < datetime.now(UTC)
