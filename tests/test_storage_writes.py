"""The commit's write path: stored values, batched version checks, id blocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crmcms.errors import ConcurrencyError
from crmcms.model import (
    Appeal,
    AppealState,
    AttributeValue,
    Change,
    Contact,
    HistoryEvent,
    HistoryKind,
)
from crmcms.storage.schema import appeal, contact, history, id_counter
from crmcms.storage.sql import SqlStore, SqlUnitOfWork
from crmcms.storage.sql.codec import appeal_row, contact_row, event_row
from crmcms.storage.sql.ids import IdAllocator
from crmcms.testing.stored import add_contact

T0 = datetime(2026, 3, 2, 9, 0, 0, 250, tzinfo=UTC)
VALUES: dict[str, AttributeValue] = {
    "reason": "PRICE",
    "due": date(2026, 4, 1),
    "amount": Decimal("12.50"),
    "vip": True,
}


def _register(uow: SqlUnitOfWork, count: int) -> tuple[Contact, list[Appeal], HistoryEvent]:
    c = add_contact(uow, registered_at=T0, client_id=7)
    made = []
    for k in range(count):
        a = Appeal(
            id=uow.appeals.next_id(),
            contact_id=c.id,
            topic="CLAIM",
            route="R",
            route_version=1,
            process="work",
            queue="67",
            operator="olga",
            registered_at=T0,
            deadline=None if k else T0 + timedelta(days=3),
            state=AppealState.OPEN,
            values={**VALUES, "tags": ("a", "b")},
        )
        uow.appeals.add(a)
        made.append(a)
    event = HistoryEvent(
        uow.history.next_id(),
        made[0].id,
        HistoryKind.CREATED,
        T0,
        "olga",
        "work",
        "67",
        None,
        (Change("reason", None, "PRICE"), Change("amount", None, Decimal("12.50"))),
    )
    uow.history.add(event)
    return c, made, event


def test_rows_are_stored_as_sqlalchemy_core_stores_them(database_url: str) -> None:
    store = SqlStore(database_url)
    with store.unit_of_work() as uow:
        c, (a, _), event = _register(uow, 2)
        uow.commit()
    # The same rows under other ids through plain Core inserts: stored values must agree.
    core = (
        (contact, {**contact_row(c), "id": c.id + 1000}, c.id),
        (appeal, {**appeal_row(a, 7), "id": a.id + 1000}, a.id),
        (history, {**event_row(event), "id": event.id + 1000}, event.id),
    )
    with store.engine.begin() as conn:
        for table, row, _ in core:
            conn.execute(sa.insert(table), [row])
    with store.engine.connect() as conn:
        for table, _, stored_id in core:
            # As the database holds them (text on SQLite), not as the driver decodes them.
            columns = ", ".join(k.name for k in table.c if k.name != "id")
            query = f"SELECT {columns} FROM {table.name} WHERE id = %s"
            ours = conn.exec_driver_sql(query % stored_id).one()
            theirs = conn.exec_driver_sql(query % (stored_id + 1000)).one()
            assert ours == theirs, table.name
    with store.unit_of_work() as uow:
        assert uow.appeals.get(a.id) == a
        assert uow.contacts.get(c.id) == c
        assert uow.history.for_appeal(a.id)[0] == event
    store.dispose()


def test_a_stale_appeal_among_several_changes_writes_nothing(database_url: str) -> None:
    store = SqlStore(database_url)
    with store.unit_of_work() as uow:
        _, made, _ = _register(uow, 3)
        uow.commit()
    ids = [a.id for a in made]
    with store.unit_of_work() as mine:
        for i in ids:
            a = mine.appeals.get(i)
            a.responsible = "olga"
            mine.appeals.update(a)
        # Another unit commits a change of the second one between update() and commit().
        with store.unit_of_work() as other:
            theirs = other.appeals.get(ids[1])
            theirs.responsible = "ivan"
            other.appeals.update(theirs)
            other.commit()
        with pytest.raises(ConcurrencyError) as raised:
            mine.commit()
    assert str(ids[1]) in str(raised.value)
    with store.unit_of_work() as uow:
        stored = [uow.appeals.get(i) for i in ids]
    assert [a.responsible for a in stored] == [None, "ivan", None]
    assert [a.version for a in stored] == [made[0].version, made[1].version + 1, made[2].version]
    # Without a conflict the same batch is written whole.
    with store.unit_of_work() as uow:
        for a in stored:
            a.priority = "high"
            uow.appeals.update(a)
        uow.commit()
    with store.unit_of_work() as uow:
        assert {uow.appeals.get(i).priority for i in ids} == {"high"}
    store.dispose()


def test_busy_counters_reserve_growing_blocks(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlStore(database_url)
    ids = IdAllocator(store.engine, block=10)

    def reserved() -> int:
        with store.engine.connect() as conn:
            query = sa.select(id_counter.c.value).where(id_counter.c.name == "event")
            return int(conn.execute(query).scalar_one())

    taken = [ids.next_id("event") for _ in range(10 + 20 + 40 + 1)]
    assert taken == list(range(1, 72))
    # 10, then 20, 40, 80 as each block was used up within a second; capped at 16 blocks.
    assert reserved() == 150
    monkeypatch.setattr(IdAllocator, "BUSY", 0.0)
    taken = [ids.next_id("event") for _ in range(80)]
    assert taken == list(range(72, 152))
    assert reserved() == 160  # quiet again: back to the configured block
    store.dispose()
