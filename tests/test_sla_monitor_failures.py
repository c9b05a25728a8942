"""A level that fails while firing stops nobody else: it is rolled back, recorded, retried
with a growing wait and given up after the last attempt, on every backend."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from tests.test_sla_monitor import World

from crmcms.engine import SlaRetry, sla
from crmcms.engine.ports import UnitOfWork
from crmcms.entrypoints.worker import Worker
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore

LADDER = "at 50%: call record_risk  at +0: notify LEADS"
RETRY = SlaRetry(first=timedelta(minutes=1), cap=timedelta(minutes=3), give_up_after=4)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def factory(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Callable[[], UnitOfWork]]:
    if request.param == "memory":
        yield MemoryStore().unit_of_work
        return
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path}/sla.sqlite")
    else:
        store = SqlStore(request.getfixturevalue("postgres_url"))
    yield store.unit_of_work
    store.dispose()


def broken_world(factory: Callable[[], UnitOfWork]) -> tuple[World, list[int], int]:
    world = World(factory, ladder=LADDER)
    world.engine.sla_retry = RETRY
    ids = [world.register() for _ in range(21)]
    broken = ids[7]

    def record(call: object) -> None:
        appeal_id = call.appeal.id  # type: ignore[attr-defined]
        if appeal_id == broken:
            raise RuntimeError("no such subscriber")
        world.calls.append(appeal_id)

    world.billing.functions["record_risk"] = record
    world.clock.advance(hours=2, minutes=30)
    return world, ids, broken


def test_one_failing_appeal_does_not_stop_the_others(
    factory: Callable[[], UnitOfWork], caplog: pytest.LogCaptureFixture
) -> None:
    world, ids, broken = broken_world(factory)
    with caplog.at_level(logging.WARNING, logger="crmcms.sla"):
        scan = world.engine.scan_deadlines()
    others = [i for i in ids if i != broken]
    assert sorted(f.appeal_id for f in scan) == others
    assert sorted(world.calls) == others
    [failure] = scan.failures
    assert (failure.appeal_id, failure.clock, failure.step, failure.attempts) == (
        broken,
        "resolution",
        0,
        1,
    )
    assert failure.retry_at == world.clock() + timedelta(minutes=1)
    assert f"appeal {broken}" in caplog.text
    assert "no such subscriber" in caplog.text
    [stored] = world.engine.escalation_attempts(broken)
    assert (stored.attempts, stored.gave_up) == (1, False)
    assert "RuntimeError: no such subscriber" in stored.error
    # The broken level kept nothing: no history event of it.
    assert [e.kind.value for e in world.engine.history(broken)] == ["created"]

    # Until its retry is due, scans leave it alone.
    again = world.engine.scan_deadlines()
    assert (again, again.failures) == ([], [])


def test_a_failing_level_is_retried_with_a_growing_wait_then_given_up(
    factory: Callable[[], UnitOfWork],
) -> None:
    world, _, broken = broken_world(factory)
    attempts = [f.attempts for f in world.engine.scan_deadlines().failures]
    waits = [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=3)]
    for wait in waits:
        world.clock.advance(seconds=wait.total_seconds() - 1)
        assert world.engine.scan_deadlines().failures == []  # not yet
        world.clock.advance(seconds=1)
        attempts += [f.attempts for f in world.engine.scan_deadlines().failures]
    assert attempts == [1, 2, 3, 4]
    [stored] = world.engine.escalation_attempts(broken)
    assert (stored.attempts, stored.gave_up) == (4, True)
    # Given up, it counts as fired: the ladder goes on to the next level at its moment.
    world.clock.advance(hours=3)
    scan = world.engine.scan_deadlines()
    assert [(f.appeal_id, f.step) for f in scan if f.appeal_id == broken] == [(broken, 1)]
    assert scan.failures == []
    assert world.engine.scan_deadlines() == []


def test_a_worker_survives_a_failing_level(factory: Callable[[], UnitOfWork]) -> None:
    world, ids, _ = broken_world(factory)
    worker = Worker(world.engine)
    worker.run_once()
    assert worker.totals.findings == len(ids) - 1
    assert worker.totals.escalation_failures == 1
    world.clock.advance(minutes=1)
    worker.run_once()
    assert worker.totals.escalation_failures == 2


def test_an_appeal_failing_before_any_level_backs_off_and_is_given_up_too(
    factory: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(factory, ladder=LADDER)
    world.engine.sla_retry = RETRY
    ids = [world.register() for _ in range(5)]
    broken = ids[2]
    world.billing.functions["record_risk"] = lambda call: world.calls.append(call.appeal.id)
    real_route_of = sla.route_of

    def route_of(tx: Any, appeal: Any) -> Any:
        if appeal.id == broken:
            raise RuntimeError("route version withdrawn")
        return real_route_of(tx, appeal)

    monkeypatch.setattr(sla, "route_of", route_of)
    world.clock.advance(hours=2, minutes=30)
    scan = world.engine.scan_deadlines()
    assert sorted(f.appeal_id for f in scan) == [i for i in ids if i != broken]
    [failure] = scan.failures
    assert (failure.appeal_id, failure.clock, failure.step, failure.attempts) == (broken, "", -1, 1)
    assert "route version withdrawn" in failure.error
    attempts = [failure.attempts]
    for wait in [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=3)]:
        world.clock.advance(seconds=wait.total_seconds() - 1)
        assert world.engine.scan_deadlines().failures == []  # backing off, not every scan
        world.clock.advance(seconds=1)
        attempts += [f.attempts for f in world.engine.scan_deadlines().failures]
    assert attempts == [1, 2, 3, 4]
    [stored] = world.engine.escalation_attempts(broken)
    assert (stored.clock, stored.level, stored.attempts, stored.gave_up) == ("", -1, 4, True)
    # Given up, the monitor leaves the appeal alone, past its next level's moment too...
    world.clock.advance(hours=3)
    assert [f for f in world.engine.scan_deadlines() if f.appeal_id == broken] == []
    assert world.engine.scan_deadlines().failures == []
    # ...until its clocks are worked out again once the route is mended.
    monkeypatch.setattr(sla, "route_of", real_route_of)
    world.engine.recompute_deadlines()
    fired = world.engine.scan_deadlines()
    assert {f.appeal_id for f in fired} == {broken}
    assert fired.failures == []
