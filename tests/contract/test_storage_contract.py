"""The behaviour every storage adapter of the engine's ports must show, memory and SQL alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from crmcms.engine.ports import IdempotencyRecord, UnitOfWork
from crmcms.errors import ConcurrencyError, NotFoundError, ReadOnlyRecordError, StorageError
from crmcms.model import (
    Appeal,
    AppealState,
    Change,
    Contact,
    HistoryEvent,
    HistoryKind,
    StoredAppeal,
)
from crmcms.testing.stored import add_appeal, add_contact

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def contact(uow: UnitOfWork, *, client_id: int | None = 1) -> Contact:
    return add_contact(uow, client_id=client_id)


def appeal(uow: UnitOfWork, contact_id: int, **fields: object) -> Appeal:
    defaults = {"topic": "TERMINATION", "route": "TERMINATION", "route_version": 2}
    where = {"process": "registration", "queue": "REGISTRATION"}
    return add_appeal(uow, contact_id, **{**defaults, **where, **fields})


def committed_appeal(uow_factory: Factory, **fields: object) -> Appeal:
    """An appeal (and its contact) added and committed in a unit of work of its own."""
    with uow_factory() as uow:
        a = appeal(uow, contact(uow).id, **fields)
        uow.commit()
    return a


def event(uow: UnitOfWork, appeal_id: int, at: datetime, kind: HistoryKind) -> HistoryEvent:
    e = HistoryEvent(
        id=uow.history.next_id(),
        appeal_id=appeal_id,
        kind=kind,
        at=at,
        operator="olga",
        process="registration",
        queue="REGISTRATION",
        changes=(Change("process", None, "registration"),),
    )
    uow.history.add(e)
    return e


# --- Units of work ------------------------------------------------------------------------


def test_committed_writes_are_visible_to_later_units(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        a = appeal(uow, c.id, values={"166": "moving", "168": date(2026, 4, 1)})
        uow.commit()
    with uow_factory() as uow:
        assert uow.contacts.get(c.id) == c
        got = uow.appeals.get(a.id)
        assert got == a
        assert got.values == {"166": "moving", "168": date(2026, 4, 1)}


def test_leaving_without_commit_rolls_back(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        a = appeal(uow, c.id)
        event(uow, a.id, T0, HistoryKind.CREATED)
        # not committed
    with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            uow.contacts.get(c.id)
        with pytest.raises(NotFoundError):
            uow.appeals.get(a.id)
        assert uow.history.for_appeal(a.id) == []


def test_an_exception_rolls_back(uow_factory: Factory) -> None:
    def fail() -> None:
        with uow_factory() as uow:
            contact(uow)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    with uow_factory() as uow:
        assert uow.appeals.of_client(1) == []


def test_explicit_rollback_discards_pending_writes(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        uow.rollback()
        uow.commit()
    with uow_factory() as uow, pytest.raises(NotFoundError):
        uow.contacts.get(c.id)


def test_writes_are_invisible_to_other_units_until_commit(uow_factory: Factory) -> None:
    with uow_factory() as first:
        c = contact(first)
        with uow_factory() as second, pytest.raises(NotFoundError):
            second.contacts.get(c.id)
        first.commit()


def test_a_unit_sees_its_own_writes(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        a = appeal(uow, c.id)
        assert uow.contacts.get(c.id) == c
        assert uow.appeals.get(a.id) == a
        assert [x.id for x in uow.appeals.of_contact(c.id)] == [a.id]


def test_ids_are_fresh_and_never_reused_after_rollback(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        first = uow.appeals.next_id()
    with uow_factory() as uow:
        second = uow.appeals.next_id()
        assert second != first
        ids = {uow.contacts.next_id() for _ in range(5)}
        assert len(ids) == 5


def test_adding_an_existing_id_is_refused(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        a = appeal(uow, c.id)
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(StorageError):
            uow.contacts.add(c)
        with pytest.raises(StorageError):
            uow.appeals.add(a)


def test_get_of_a_missing_record_raises_not_found(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            uow.appeals.get(987654)
        with pytest.raises(NotFoundError):
            uow.contacts.get(987654)


def test_records_handed_out_are_copies(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        a = appeal(uow, c.id, values={"166": "x"})
        uow.commit()
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        got.values["166"] = "changed"
        got.process = "elsewhere"
        again = uow.appeals.get(a.id)
        assert again.values == {"166": "x"}
        assert again.process == "registration"


# --- Optimistic concurrency ---------------------------------------------------------------


def test_update_bumps_the_version(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        got.process = "transfer_sd"
        got.values["170"] = "PSKOV"
        uow.appeals.update(got)
        assert got.version == 2
        uow.commit()
    with uow_factory() as uow:
        stored = uow.appeals.get(a.id)
        assert (stored.version, stored.process, stored.values) == (
            2,
            "transfer_sd",
            {"170": "PSKOV"},
        )


def test_two_updates_in_one_unit(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        got.process = "transfer_sd"
        uow.appeals.update(got)
        again = uow.appeals.get(a.id)  # the staged state, to change further
        assert (again.version, again.process) == (2, "transfer_sd")
        again.queue = "CP"
        uow.appeals.update(again)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.appeals.get(a.id)
        assert (stored.version, stored.process, stored.queue) == (3, "transfer_sd", "CP")


def test_a_stored_appeal_can_be_stored_again_elsewhere(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    # Read-only already, as one read from another store and copied under a fresh id would be.
    with uow_factory() as uow:
        moved = StoredAppeal.of(attrs.evolve(a, id=uow.appeals.next_id()))
        assert StoredAppeal.of(moved) is moved  # nothing to copy: it cannot change
        assert uow.appeals.add(moved) == moved
        uow.commit()
    with uow_factory() as uow:
        assert uow.appeals.get(moved.id) == moved


def test_add_and_update_return_the_record_kept_read_only(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory, values={"166": "x"})
    assert isinstance(a, StoredAppeal)
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        assert type(got) is Appeal  # a plain copy, the caller's to change
        got.values["170"] = "PSKOV"
        kept = uow.appeals.update(got)
        assert isinstance(kept, StoredAppeal)
        assert kept == got
        assert kept.version == got.version == 2
        # What add and update keep cannot be changed behind them, through their result or
        # through the appeal they were given.
        for taken in (a, kept):
            with pytest.raises(ReadOnlyRecordError, match="process"):
                taken.process = "elsewhere"
            with pytest.raises(ReadOnlyRecordError, match=r"values\.166"):
                taken.values["166"] = "changed"
        got.values["166"] = "changed after the update"
        got.queue = "ELSEWHERE"
        assert uow.appeals.get(a.id) == kept
        uow.commit()
    with uow_factory() as uow:
        stored = uow.appeals.get(a.id)
        assert (stored.version, stored.process, stored.queue, stored.values) == (
            2,
            "registration",
            "REGISTRATION",
            {"166": "x", "170": "PSKOV"},
        )
        assert stored == kept


def test_an_appeal_updated_twice_in_one_unit_is_stored_as_last_given(
    uow_factory: Factory,
) -> None:
    a = committed_appeal(uow_factory)
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        got.queue = "FIRST"
        uow.appeals.update(got)  # its version went up with the stored one's
        got.queue = "SECOND"
        assert uow.appeals.update(got).version == 3
        uow.commit()
    with uow_factory() as uow:
        assert (uow.appeals.get(a.id).queue, uow.appeals.get(a.id).version) == ("SECOND", 3)


def test_a_stale_version_is_refused_and_stores_nothing(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        got.version = 7
        got.process = "closed"
        with pytest.raises(ConcurrencyError) as info:
            uow.appeals.update(got)
        assert info.value.expected == 7
        assert info.value.actual == 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.appeals.get(a.id).process == "registration"


def test_concurrent_updates_only_one_commits(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    first, second = uow_factory(), uow_factory()
    with first, second:
        mine = first.appeals.get(a.id)
        theirs = second.appeals.get(a.id)
        mine.responsible = "olga"
        theirs.responsible = "bis"
        first.appeals.update(mine)
        first.commit()

        def save() -> None:
            second.appeals.update(theirs)
            second.commit()

        with pytest.raises(ConcurrencyError):
            save()
    with uow_factory() as uow:
        assert uow.appeals.get(a.id).responsible == "olga"


def test_updates_of_both_units_before_either_commits(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    first, second = uow_factory(), uow_factory()
    with first, second:
        mine = first.appeals.get(a.id)
        theirs = second.appeals.get(a.id)
        mine.responsible = "olga"
        theirs.responsible = "bis"
        first.appeals.update(mine)
        try:
            second.appeals.update(theirs)  # a database may block or refuse here
        except ConcurrencyError:
            first.commit()
        else:
            first.commit()
            with pytest.raises(ConcurrencyError):
                second.commit()
    with uow_factory() as uow:
        stored = uow.appeals.get(a.id)
        assert (stored.responsible, stored.version) == ("olga", 2)


def test_update_of_a_missing_appeal_is_a_conflict(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        ghost = Appeal(
            id=uow.appeals.next_id(),
            contact_id=1,
            topic="T",
            route="R",
            route_version=1,
            process="p",
            operator="olga",
            registered_at=T0,
        )
        with pytest.raises(ConcurrencyError):
            uow.appeals.update(ghost)


# --- Queries ------------------------------------------------------------------------------


def test_in_queue_orders_by_deadline_then_id_with_no_deadline_last(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        late = appeal(uow, c.id, queue="67", deadline=T0 + timedelta(days=3))
        none1 = appeal(uow, c.id, queue="67")
        early = appeal(uow, c.id, queue="67", deadline=T0 + timedelta(days=1))
        same = appeal(uow, c.id, queue="67", deadline=T0 + timedelta(days=1))
        appeal(uow, c.id, queue="79", deadline=T0)
        closed = appeal(uow, c.id, queue="67", state=AppealState.CLOSED, closed_at=T0)
        uow.commit()
    with uow_factory() as uow:
        ids = [a.id for a in uow.appeals.in_queue("67")]
        assert ids == [early.id, same.id, late.id, none1.id]
        with_closed = [a.id for a in uow.appeals.in_queue("67", open_only=False)]
        assert closed.id in with_closed
        assert len(with_closed) == 5
        assert uow.appeals.in_queue("nowhere") == []


def test_in_queue_sees_uncommitted_moves_of_its_unit(uow_factory: Factory) -> None:
    a = committed_appeal(uow_factory)
    with uow_factory() as uow:
        got = uow.appeals.get(a.id)
        got.queue = "67"
        uow.appeals.update(got)
        assert [x.id for x in uow.appeals.in_queue("67")] == [a.id]
        assert uow.appeals.in_queue("REGISTRATION") == []


def test_children_of_contact_and_of_client(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c1 = contact(uow, client_id=10)
        c2 = contact(uow, client_id=10)
        c3 = contact(uow, client_id=11)
        parent = appeal(uow, c1.id)
        kid1 = appeal(uow, c1.id, parent_id=parent.id)
        later = appeal(uow, c2.id, registered_at=T0 + timedelta(hours=1))
        kid2 = appeal(uow, c2.id, parent_id=parent.id, registered_at=T0 - timedelta(hours=1))
        appeal(uow, c3.id)
        uow.commit()
    with uow_factory() as uow:
        assert [a.id for a in uow.appeals.children(parent.id)] == [kid1.id, kid2.id]
        assert uow.appeals.children(kid1.id) == []
        assert [a.id for a in uow.appeals.of_contact(c1.id)] == [parent.id, kid1.id]
        assert [a.id for a in uow.appeals.of_client(10)] == [kid2.id, parent.id, kid1.id, later.id]
        assert uow.appeals.of_client(999) == []


def test_due_before_finds_open_appeals_with_either_deadline(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        c = contact(uow)
        by_appeal = appeal(uow, c.id, deadline=T0 + timedelta(hours=1))
        by_process = appeal(uow, c.id, process_deadline=T0 + timedelta(hours=2))
        appeal(uow, c.id, deadline=T0 + timedelta(days=9))
        appeal(uow, c.id)
        appeal(uow, c.id, deadline=T0, state=AppealState.CLOSED, closed_at=T0 + timedelta(hours=1))
        uow.commit()
    with uow_factory() as uow:
        due = uow.appeals.due_before(T0 + timedelta(hours=2))
        assert [a.id for a in due] == [by_appeal.id, by_process.id]
        assert uow.appeals.due_before(T0) == []


# --- History ------------------------------------------------------------------------------


def test_history_is_ordered_by_time_then_id(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        a = appeal(uow, contact(uow).id)
        e2 = event(uow, a.id, T0 + timedelta(minutes=5), HistoryKind.MOVED)
        e1 = event(uow, a.id, T0, HistoryKind.CREATED)
        e3 = event(uow, a.id, T0 + timedelta(minutes=5), HistoryKind.QUEUED)
        uow.commit()
    with uow_factory() as uow:
        e4 = event(uow, a.id, T0 + timedelta(hours=1), HistoryKind.CLOSED)
        assert uow.history.for_appeal(a.id) == [e1, e2, e3, e4]
        uow.commit()
    with uow_factory() as uow:
        assert [e.id for e in uow.history.for_appeal(a.id)] == [e1.id, e2.id, e3.id, e4.id]
        assert uow.history.for_appeal(a.id + 1000) == []


def test_history_events_keep_their_changes(uow_factory: Factory) -> None:
    changes = (
        Change("values.168", None, date(2026, 4, 1)),
        Change("values.185", Decimal("1.50"), Decimal("2.25")),
        Change("values.167", None, ("a", "b")),
        Change("values.190", True, False),
        Change("deadline", None, T0),
    )
    with uow_factory() as uow:
        a = appeal(uow, contact(uow).id)
        e = HistoryEvent(
            id=uow.history.next_id(),
            appeal_id=a.id,
            kind=HistoryKind.CHANGED,
            at=T0,
            operator=None,
            transition="to_sd",
            changes=changes,
            comment="why",
        )
        uow.history.add(e)
        uow.commit()
    with uow_factory() as uow:
        assert uow.history.for_appeal(a.id) == [e]


# --- Idempotency keys ---------------------------------------------------------------------


def record(key: str, result: dict[str, object] | None = None) -> IdempotencyRecord:
    return IdempotencyRecord(key, "create_appeal", "f1", result or {"appeal_id": 1}, T0)


def test_idempotency_records_round_trip_and_roll_back(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.idempotency.add(record("k1", {"appeal_id": 5, "ids": [1, 2]}))
        assert uow.idempotency.get("k1") is not None
        uow.commit()
    with uow_factory() as uow:
        uow.idempotency.add(record("k2"))
    with uow_factory() as uow:
        got = uow.idempotency.get("k1")
        assert got is not None
        assert dict(got.result) == {"appeal_id": 5, "ids": [1, 2]}
        assert (got.operation, got.fingerprint, got.at) == ("create_appeal", "f1", T0)
        assert uow.idempotency.get("k2") is None


def test_a_key_is_stored_once(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.idempotency.add(record("k"))
        with pytest.raises(ConcurrencyError):
            uow.idempotency.add(record("k"))
        uow.commit()
    first, second = uow_factory(), uow_factory()
    with first, second:
        first.idempotency.add(record("race"))
        try:
            second.idempotency.add(record("race"))
        except ConcurrencyError:
            first.commit()
        else:
            first.commit()
            with pytest.raises(ConcurrencyError):
                second.commit()
