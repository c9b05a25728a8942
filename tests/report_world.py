"""Random appeals with clocks and reopenings in a store, and the same figures counted in Python
over the generated records: what report tests compare the database's aggregates with."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from crmcms.engine.ports import UnitOfWork
from crmcms.model import (
    Appeal,
    AppealState,
    ClockKind,
    Contact,
    Direction,
    HistoryEvent,
    HistoryKind,
    SlaClock,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
TOPICS = ("CLAIM", "REQUEST", "CONSULTATION")
OPERATORS = ("olga", "ivan", "petr")
QUEUES = (None, "67", "79")
CHANNELS = ("PHONE", "EMAIL")


@attrs.frozen
class Generated:
    appeal: Appeal
    contact: Contact
    resolution: SlaClock | None
    first_response: SlaClock | None
    reopened: bool


def generate(uow_factory: Callable[[], UnitOfWork], count: int, seed: int = 7) -> list[Generated]:
    """``count`` appeals over March 2026 (a few in late February, for repeat windows)."""
    rnd = random.Random(seed)
    made: list[Generated] = []
    with uow_factory() as uow:
        for _ in range(count):
            at = START + timedelta(minutes=rnd.randrange(-5 * 24 * 60, 31 * 24 * 60))
            client = rnd.choice((1, 2, 3, 4, None))
            subscriber = rnd.choice((None, None, 10, 11))
            contact = Contact(
                id=uow.contacts.next_id(),
                place="CC",
                direction=Direction.INCOMING,
                channel=rnd.choice(CHANNELS),
                operator=rnd.choice(OPERATORS),
                registered_at=at,
                client_id=client,
                subscriber_id=subscriber,
            )
            uow.contacts.add(contact)
            closed = rnd.random() < 0.6
            closed_at = at + timedelta(minutes=rnd.randrange(10, 6000)) if closed else None
            item = Appeal(
                id=uow.appeals.next_id(),
                contact_id=contact.id,
                topic=rnd.choice(TOPICS),
                route="R",
                route_version=1,
                process="work",
                operator=contact.operator,
                registered_at=at,
                queue=rnd.choice(QUEUES),
                state=AppealState.CLOSED if closed else AppealState.OPEN,
                responsible=rnd.choice((None, "olga")),
                closed_at=closed_at,
            )
            uow.appeals.add(item)
            resolution = first = None
            clocks = []
            if rnd.random() < 0.8:
                limit = timedelta(hours=rnd.choice((4, 24)))
                elapsed = timedelta(seconds=rnd.randrange(60, 3 * 24 * 3600))
                resolution = SlaClock(
                    appeal_id=item.id,
                    kind=ClockKind.RESOLUTION,
                    start=at,
                    limit=limit,
                    due=at + limit,
                    elapsed=elapsed,
                    remaining=limit - elapsed,
                    breached_at=at + limit if elapsed > limit else None,
                    stopped_at=closed_at,
                    at=closed_at or at,
                )
                clocks.append(resolution)
            if rnd.random() < 0.7:
                answered = rnd.random() < 0.8
                first = SlaClock(
                    appeal_id=item.id,
                    kind=ClockKind.FIRST_RESPONSE,
                    start=at,
                    limit=timedelta(hours=1),
                    due=at + timedelta(hours=1),
                    elapsed=timedelta(seconds=rnd.randrange(1, 7200)),
                    remaining=None,
                    stopped_at=at + timedelta(minutes=5) if answered else None,
                    at=at,
                )
                clocks.append(first)
            if clocks:
                uow.clocks.put(item.id, clocks)
            reopened = rnd.random() < 0.15
            events = [HistoryKind.CREATED, *([HistoryKind.REOPENED] if reopened else [])]
            for n, kind in enumerate(events):
                uow.history.add(
                    HistoryEvent(
                        id=uow.history.next_id(),
                        appeal_id=item.id,
                        kind=kind,
                        at=at + timedelta(minutes=n),
                    )
                )
            made.append(Generated(item, contact, resolution, first, reopened))
        uow.commit()
    return made


def in_period(g: Generated, start: datetime, end: datetime) -> bool:
    return start <= g.appeal.registered_at < end


def percentile(values: list[float], share: float) -> float | None:
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    fraction = position - low
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] * (1 - fraction) + ordered[high] * fraction


def handling_us(g: Generated) -> int | None:
    c = g.resolution
    if c is None or c.stopped_at is None or g.appeal.state is AppealState.OPEN:
        return None
    return c.elapsed // timedelta(microseconds=1)


def repeated(g: Generated, every: list[Generated], days: int) -> bool:
    """A later appeal of the same client (or subscriber) on the same topic, within days."""
    a = g.appeal

    def previous(key: Callable[[Generated], object]) -> datetime | None:
        mine = key(g)
        if mine is None:
            return None
        earlier = [
            o.appeal.registered_at
            for o in every
            if key(o) == mine
            and o.appeal.topic == a.topic
            and (o.appeal.registered_at, o.appeal.id) < (a.registered_at, a.id)
        ]
        return max(earlier) if earlier else None

    window = timedelta(days=days)
    for key in (lambda o: o.contact.client_id, lambda o: o.contact.subscriber_id):
        before = previous(key)
        if before is not None and a.registered_at - before <= window:
            return True
    return False


def local_day(at: datetime, zone: str) -> object:
    return at.astimezone(ZoneInfo(zone)).date()
