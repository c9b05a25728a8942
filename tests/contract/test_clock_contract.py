"""Stored SLA clocks behave alike on every backend: replaced per appeal, kept exactly,
staged until commit, and open appeals walked in batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from crmcms.engine.ports import UnitOfWork
from crmcms.model import AppealState, ClockKind, SlaClock
from crmcms.testing.stored import add_appeal, add_contact

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def clock(appeal_id: int, kind: ClockKind = ClockKind.RESOLUTION, **fields: object) -> SlaClock:
    values: dict[str, object] = {
        "appeal_id": appeal_id,
        "kind": kind,
        "start": T0,
        "limit": timedelta(days=2),
        "due": T0 + timedelta(days=2),
        "elapsed": timedelta(hours=1, microseconds=7),
        "remaining": timedelta(days=2) - timedelta(hours=1, microseconds=7),
        "at": T0 + timedelta(hours=1),
        **fields,
    }
    return SlaClock(**values)  # type: ignore[arg-type]


def appeals(uow_factory: Factory, *states: AppealState) -> list[int]:
    with uow_factory() as uow:
        c = add_contact(uow)
        ids = [add_appeal(uow, c.id, state=s).id for s in states]
        uow.commit()
    return ids


def test_clocks_are_kept_exactly_and_replaced_per_appeal(uow_factory: Factory) -> None:
    a, b = appeals(uow_factory, AppealState.OPEN, AppealState.OPEN)
    first = [
        clock(a, ClockKind.FIRST_RESPONSE, stopped_at=T0 + timedelta(minutes=5)),
        clock(a),
        clock(a, ClockKind.PROCESS, process="work", cycle=2, paused_since=T0, due=None),
    ]
    with uow_factory() as uow:
        uow.clocks.put(a, first)
        uow.clocks.put(b, [clock(b, breached_at=T0, overridden=True, limit=None)])
        assert uow.clocks.for_appeal(a) == first
        uow.commit()
    with uow_factory() as uow:
        assert uow.clocks.for_appeal(a) == first
        assert uow.clocks.for_appeal(b)[0].overridden
        uow.clocks.put(a, [attrs.evolve(first[1], cycle=3)])
        uow.commit()
    with uow_factory() as uow:
        assert [c.cycle for c in uow.clocks.for_appeal(a)] == [3]
        assert len(uow.clocks.for_appeal(b)) == 1


def test_clocks_not_committed_are_not_kept(uow_factory: Factory) -> None:
    (a,) = appeals(uow_factory, AppealState.OPEN)
    with uow_factory() as uow:
        uow.clocks.put(a, [clock(a)])
    with uow_factory() as uow:
        assert uow.clocks.for_appeal(a) == []


def test_open_appeals_come_in_batches_by_id(uow_factory: Factory) -> None:
    ids = appeals(
        uow_factory, AppealState.OPEN, AppealState.CLOSED, AppealState.OPEN, AppealState.OPEN
    )
    with uow_factory() as uow:
        assert uow.clocks.open_appeal_ids(0, 2) == [ids[0], ids[2]]
        assert uow.clocks.open_appeal_ids(ids[2], 2) == [ids[3]]
        assert uow.clocks.open_appeal_ids(ids[3], 2) == []
