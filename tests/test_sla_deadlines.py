"""An appeal's ``deadline`` and ``process_deadline`` are what its clocks say, stored with it
and recorded in its history, whatever moved them: a pause, its end, a priority, reopening,
an administrator, changed definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.test_sla_clocks import MONDAY, clocks, register, world

from crmcms.errors import StorageError, WorkflowError
from crmcms.model import Appeal, HistoryKind
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore


def fields(appeal: Appeal) -> tuple[datetime | None, datetime | None]:
    return appeal.deadline, appeal.process_deadline


def test_registration_gives_the_deadlines_the_clocks_give() -> None:
    engine, _, _ = world()
    appeal = engine.appeal(register(engine))
    found = clocks(engine, appeal.id)
    assert fields(appeal) == (found["resolution"].due, found["process:new"].due)
    assert appeal.deadline == datetime(2026, 3, 4, 9, tzinfo=UTC)


def test_a_priority_with_its_own_limit_gives_the_deadline_at_registration() -> None:
    engine, _, _ = world()
    appeal = engine.appeal(register(engine, priority="URGENT"))
    assert appeal.deadline == MONDAY + timedelta(hours=4)
    created = engine.history(appeal.id)[0]
    assert created.kind is HistoryKind.CREATED
    assert {c.field: c.new for c in created.changes}["deadline"] == appeal.deadline


def test_a_pausing_process_clears_the_deadline_and_leaving_it_moves_it_on() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    clock.advance(hours=3)
    asked = engine.transition(appeal_id, "ann", "ask")
    # What the action returns is what is stored.
    assert asked == engine.appeal(appeal_id)
    assert asked.deadline is None
    clock.now = datetime(2026, 3, 7, 12, tzinfo=UTC)
    answered = engine.transition(appeal_id, "ann", "answer")
    assert answered.deadline == datetime(2026, 3, 10, 21, tzinfo=UTC)
    assert answered.deadline == clocks(engine, appeal_id)["resolution"].due
    assert answered == engine.appeal(appeal_id)


def test_a_move_of_the_deadlines_is_part_of_the_event_of_the_action_that_moved_them() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    before = engine.appeal(appeal_id).deadline
    clock.advance(hours=1)
    engine.transition(appeal_id, "ann", "ask")
    events = engine.history(appeal_id)
    assert [e.kind for e in events] == [HistoryKind.CREATED, HistoryKind.MOVED]
    moved = {c.field: (c.old, c.new) for c in events[-1].changes}
    assert moved["deadline"] == (before, None)
    assert moved["process"] == ("new", "wait")


def test_replaying_the_history_gives_the_deadlines_stored() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    clock.advance(hours=2)
    engine.transition(appeal_id, "ann", "ask")
    asked_at = clock.now
    clock.advance(days=2)
    engine.transition(appeal_id, "ann", "answer")
    assert engine.state_at(appeal_id, clock.now) == engine.appeal(appeal_id)
    assert engine.state_at(appeal_id, asked_at).deadline is None


def test_reopening_gives_the_new_cycle_its_deadline() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    engine.transition(appeal_id, "ann", "finish")
    closed = engine.appeal(appeal_id)
    clock.advance(days=1)  # Tuesday: two working days on is Thursday, same time
    reopened = engine.reopen(appeal_id, "boss", "the client called back")
    assert reopened.deadline == clock.now + timedelta(days=2)
    assert reopened.process_deadline == clock.now + timedelta(hours=4)
    assert closed.deadline == MONDAY + timedelta(days=2)


def test_closing_keeps_the_deadline_the_appeal_had() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    deadline = engine.appeal(appeal_id).deadline
    clock.advance(hours=1)
    closed = engine.transition(appeal_id, "ann", "finish")
    assert closed.deadline == deadline
    assert closed.process_deadline is None


def test_an_administrators_deadline_is_kept_exactly_and_moves_with_pauses() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    agreed = datetime(2026, 3, 12, 15, 30, 7, tzinfo=UTC)
    changed = engine.change_deadlines(appeal_id, "boss", deadline=agreed, reason="agreed")
    assert changed.deadline == agreed
    assert [e.kind for e in engine.history(appeal_id)][-1] is HistoryKind.DEADLINE_CHANGED
    engine.transition(appeal_id, "ann", "ask")
    clock.advance(days=1)
    resumed = engine.transition(appeal_id, "ann", "answer")
    assert resumed.deadline == agreed + timedelta(days=1)
    assert clocks(engine, appeal_id)["resolution"].overridden


def test_changed_definitions_move_the_stored_deadlines_and_say_so_in_the_history() -> None:
    engine, _, store = world("2d business")
    open_id, closed_id = register(engine), register(engine)
    engine.transition(closed_id, "ann", "finish")
    later, _, _ = world("3d business", store)
    assert later.recompute_deadlines(batch=1) == 1
    assert later.appeal(open_id).deadline == MONDAY + timedelta(days=3)
    assert later.appeal(closed_id).deadline == MONDAY + timedelta(days=2)
    last = later.history(open_id)[-1]
    assert last.kind is HistoryKind.RESCHEDULED
    assert last.operator is None
    assert [(c.field, c.old, c.new) for c in last.changes] == [
        ("deadline", MONDAY + timedelta(days=2), MONDAY + timedelta(days=3))
    ]
    assert later.state_at(open_id, later.runtime.clock()) == later.appeal(open_id)
    assert later.recompute_deadlines() == 0


def test_sql_storage_keeps_the_moved_deadlines_and_their_history(database_url: str) -> None:
    store = SqlStore(database_url)
    engine, clock, _ = world(store=store)  # type: ignore[arg-type]
    appeal_id = register(engine)
    clock.advance(hours=3)
    assert engine.transition(appeal_id, "ann", "ask").deadline is None
    clock.now = datetime(2026, 3, 7, 12, tzinfo=UTC)
    engine.transition(appeal_id, "ann", "answer")
    appeal = engine.appeal(appeal_id)
    assert appeal.deadline == datetime(2026, 3, 10, 21, tzinfo=UTC)
    assert engine.state_at(appeal_id, clock.now) == appeal
    assert [e.kind for e in engine.history(appeal_id)] == [
        HistoryKind.CREATED,
        HistoryKind.MOVED,
        HistoryKind.MOVED,
    ]


def test_committed_history_cannot_be_amended() -> None:
    engine, _, store = world()
    appeal_id = register(engine)
    event = engine.history(appeal_id)[0]
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="not staged"):
        uow.history.amend(event)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["take", "ask", "answer", "finish", "reopen", "override"]),
        st.integers(min_value=1, max_value=60 * 60 * 30),
    ),
    max_size=10,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, urgent=st.booleans())
def test_the_stored_deadlines_are_always_the_clocks_and_the_history(
    actions: list[tuple[str, int]], urgent: bool
) -> None:
    store = MemoryStore()
    engine, clock, _ = world(store=store)
    appeal_id = register(engine, priority="URGENT" if urgent else None)
    for action, seconds in actions:
        clock.advance(seconds=seconds)
        try:
            if action == "take":
                returned = engine.take(appeal_id, "ann")
            elif action == "reopen":
                returned = engine.reopen(appeal_id, "boss", "again")
            elif action == "override":
                returned = engine.change_deadlines(
                    appeal_id, "boss", deadline=clock.now + timedelta(hours=5), reason="agreed"
                )
            else:
                returned = engine.transition(appeal_id, "ann", action)
        except WorkflowError:
            continue
        appeal = engine.appeal(appeal_id)
        assert returned == appeal
        assert engine.state_at(appeal_id, clock.now) == appeal
        if appeal.is_open:
            found = clocks(engine, appeal_id)
            assert appeal.deadline == found["resolution"].due
            if f"process:{appeal.process}" in found:
                assert appeal.process_deadline == found[f"process:{appeal.process}"].due


def test_a_recomputation_that_meets_a_concurrent_save_tries_its_batch_again() -> None:
    from crmcms.errors import ConcurrencyError

    engine, _, store = world("2d business")
    appeal_id = register(engine)
    later, _, _ = world("3d business", store)
    conflicts = [2]  # the next two commits meet an operator's save of the same appeal

    class Conflicting:
        """A unit of work whose commit meets the conflicts still to come."""

        def __init__(self) -> None:
            self.inner = store.unit_of_work()

        def __enter__(self) -> Conflicting:
            self.inner.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.__exit__(*exc)  # type: ignore[arg-type]

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def commit(self) -> None:
            if conflicts[0]:
                conflicts[0] -= 1
                raise ConcurrencyError("appeal", appeal_id, 1, 2)
            self.inner.commit()

    factory: Any = Conflicting

    later.runtime.uow_factory = factory
    assert later.recompute_deadlines() == 1
    assert later.appeal(appeal_id).deadline == MONDAY + timedelta(days=3)
    # Three conflicts in a row give up, and the batch leaves nothing behind.
    again, _, _ = world("4d business", store)
    again.runtime.uow_factory = factory
    conflicts[0] = 3
    with pytest.raises(ConcurrencyError):
        again.recompute_deadlines()
    assert again.appeal(appeal_id).deadline == MONDAY + timedelta(days=3)
