"""The outbox every storage adapter must keep: written with the change, claimed under a lease."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from crmcms.engine.ports import UnitOfWork
from crmcms.errors import NotFoundError
from crmcms.model import NOTIFICATION, OutboxMessage, OutboxStatus

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def write(uow_factory: Factory, count: int = 1, *, at: datetime = T0) -> list[int]:
    """``count`` pending messages committed in one unit of work; their ids."""
    with uow_factory() as uow:
        ids = []
        for n in range(count):
            message_id = uow.outbox.next_id()
            payload = {"n": n, "text": "Тема"}
            uow.outbox.add(OutboxMessage(message_id, NOTIFICATION, payload, at, at))
            ids.append(message_id)
        uow.commit()
    return ids


def claim(uow_factory: Factory, owner: str = "a", *, now: datetime = T0, **kw: object) -> list[int]:
    with uow_factory() as uow:
        args: dict[str, object] = {"now": now, "lease": LEASE, "limit": 100, **kw}
        return [m.id for m in uow.outbox.claim(owner, **args)]  # type: ignore[arg-type]


def stored(uow_factory: Factory, message_id: int) -> OutboxMessage:
    with uow_factory() as uow:
        return uow.outbox.get(message_id)


def test_a_message_is_stored_only_when_its_unit_of_work_commits(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        lost = uow.outbox.next_id()
        uow.outbox.add(OutboxMessage(lost, NOTIFICATION, {"n": 1}, T0, T0))
    [kept] = write(uow_factory)
    with pytest.raises(NotFoundError):
        stored(uow_factory, lost)
    message = stored(uow_factory, kept)
    assert message.payload == {"n": 0, "text": "Тема"}
    assert message.status is OutboxStatus.PENDING
    assert message.available_at == T0
    assert message.attempts == 0
    assert claim(uow_factory) == [kept]


def test_a_claim_leases_due_messages_oldest_first_and_counts_the_attempt(
    uow_factory: Factory,
) -> None:
    later = write(uow_factory, at=T0 + timedelta(minutes=1))
    first = write(uow_factory, 2)
    lease = timedelta(minutes=5)
    assert claim(uow_factory, now=T0, lease=lease) == first  # the later one is not due yet
    message = stored(uow_factory, first[0])
    assert message.lease_owner == "a"
    assert message.lease_expires_at == T0 + lease
    assert message.attempts == 1
    assert claim(uow_factory, "b", now=T0 + timedelta(minutes=1)) == later


def test_a_leased_message_is_not_claimed_again_until_its_lease_expires(
    uow_factory: Factory,
) -> None:
    ids = write(uow_factory, 3)
    assert claim(uow_factory, "a", limit=2) == ids[:2]
    assert claim(uow_factory, "b") == ids[2:]
    assert claim(uow_factory, "b", now=T0 + LEASE - timedelta(seconds=1)) == []
    # The owner died: once its lease is over its messages go to whoever claims.
    assert claim(uow_factory, "b", now=T0 + LEASE) == ids
    assert stored(uow_factory, ids[0]).attempts == 2


def test_a_claim_can_be_narrowed_to_given_ids(uow_factory: Factory) -> None:
    ids = write(uow_factory, 3)
    assert claim(uow_factory, ids=[ids[2], 999_999]) == [ids[2]]
    assert claim(uow_factory, ids=[]) == []


def test_delivered_messages_are_claimed_no_more(uow_factory: Factory) -> None:
    [one, two] = write(uow_factory, 2)
    claim(uow_factory)
    with uow_factory() as uow:
        uow.outbox.delivered(one, at=T0 + timedelta(seconds=5))
        uow.commit()
    message = stored(uow_factory, one)
    assert message.status is OutboxStatus.DELIVERED
    assert message.delivered_at == T0 + timedelta(seconds=5)
    assert message.lease_owner is None
    assert claim(uow_factory, "b", now=T0 + LEASE) == [two]


def test_marks_wait_for_commit(uow_factory: Factory) -> None:
    [one] = write(uow_factory)
    claim(uow_factory)
    with uow_factory() as uow:
        uow.outbox.delivered(one, at=T0)
        uow.outbox.dead(one, "a", error="x")
    assert stored(uow_factory, one).status is OutboxStatus.PENDING


def test_a_rescheduled_message_waits_for_its_time(uow_factory: Factory) -> None:
    [one] = write(uow_factory)
    claim(uow_factory)
    retry_at = T0 + timedelta(minutes=2)
    with uow_factory() as uow:
        uow.outbox.reschedule(one, "a", available_at=retry_at, error="451 try later")
        uow.commit()
    message = stored(uow_factory, one)
    assert (message.status, message.last_error, message.lease_owner) == (
        OutboxStatus.PENDING,
        "451 try later",
        None,
    )
    assert claim(uow_factory, "b", now=retry_at - timedelta(seconds=1)) == []
    assert claim(uow_factory, "b", now=retry_at) == [one]
    assert stored(uow_factory, one).attempts == 2


def test_only_the_lease_holder_reschedules_or_gives_up(uow_factory: Factory) -> None:
    [one] = write(uow_factory)
    claim(uow_factory, "a")
    claim(uow_factory, "b", now=T0 + LEASE)  # a's lease ran out; b holds it now
    with uow_factory() as uow:
        uow.outbox.reschedule(one, "a", available_at=T0 + timedelta(hours=1), error="late")
        uow.outbox.dead(one, "a", error="late")
        uow.commit()
    message = stored(uow_factory, one)
    assert (message.status, message.lease_owner, message.last_error) == (
        OutboxStatus.PENDING,
        "b",
        "",
    )


def test_a_dead_message_is_not_claimed_until_retried(uow_factory: Factory) -> None:
    [one, two] = write(uow_factory, 2)
    claim(uow_factory)
    with uow_factory() as uow:
        uow.outbox.dead(one, "a", error="550 no such user")
        uow.commit()
    assert stored(uow_factory, one).status is OutboxStatus.DEAD
    with uow_factory() as uow:
        assert uow.outbox.dead_ids() == [one]
        assert [m.id for m in uow.outbox.find(status=OutboxStatus.DEAD)] == [one]
    later = T0 + timedelta(hours=1)
    assert claim(uow_factory, "b", now=later) == [two]
    with uow_factory() as uow:
        uow.outbox.retry([one], now=later)
        uow.commit()
    message = stored(uow_factory, one)
    assert (message.status, message.attempts, message.available_at) == (
        OutboxStatus.PENDING,
        0,
        later,
    )
    assert claim(uow_factory, "b", now=later) == [one]


def test_retrying_an_unknown_message_changes_nothing(uow_factory: Factory) -> None:
    [one] = write(uow_factory)
    claim(uow_factory)
    with uow_factory() as uow:
        uow.outbox.dead(one, "a", error="gone")
        uow.commit()
    with uow_factory() as uow, pytest.raises(NotFoundError, match="999999"):
        uow.outbox.retry([one, 999_999], now=T0)
    assert stored(uow_factory, one).status is OutboxStatus.DEAD


def test_a_released_message_is_claimable_at_once_and_its_attempt_not_counted(
    uow_factory: Factory,
) -> None:
    [one] = write(uow_factory)
    claim(uow_factory, "a")
    with uow_factory() as uow:
        uow.outbox.release(one, "a")
        uow.commit()
    assert stored(uow_factory, one).attempts == 0
    assert claim(uow_factory, "b") == [one]


def test_find_lists_newest_first_by_status(uow_factory: Factory) -> None:
    ids = write(uow_factory, 3)
    with uow_factory() as uow:
        assert [m.id for m in uow.outbox.find()] == ids[::-1]
        assert [m.id for m in uow.outbox.find(limit=2)] == ids[:0:-1]
        assert uow.outbox.find(status=OutboxStatus.DELIVERED) == []


def test_purge_deletes_messages_delivered_before_a_time(uow_factory: Factory) -> None:
    ids = write(uow_factory, 3)
    claim(uow_factory)
    with uow_factory() as uow:
        uow.outbox.delivered(ids[0], at=T0)
        uow.outbox.delivered(ids[1], at=T0 + timedelta(days=2))
        uow.commit()
    with uow_factory() as uow:
        assert uow.outbox.purge(delivered_before=T0 + timedelta(days=1)) == 1
        uow.commit()
    with pytest.raises(NotFoundError):
        stored(uow_factory, ids[0])
    assert stored(uow_factory, ids[1]).status is OutboxStatus.DELIVERED
    assert stored(uow_factory, ids[2]).status is OutboxStatus.PENDING


def test_relays_claiming_at_once_never_share_a_message(uow_factory: Factory) -> None:
    ids = write(uow_factory, 60)
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(3)

    def relay(owner: str) -> None:
        start.wait()
        mine = taken.setdefault(owner, [])
        while got := claim(uow_factory, owner, limit=5):
            mine.extend(got)

    threads = [threading.Thread(target=relay, args=(f"r{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for mine in taken.values() for i in mine]
    assert sorted(every) == sorted(ids)
