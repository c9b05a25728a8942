"""Reports over the memory store: the same groups and figures as the SQL adapter, worked out
in Python, so that the storage contract holds reports to one meaning on every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crmcms.engine.context import appeal_data as appeal_rule_data
from crmcms.engine.context import assemble, client_data, contact_data
from crmcms.engine.obstacles import ReadScope
from crmcms.engine.report_queries import ReportQuery
from crmcms.export import ReportCell
from crmcms.model import (
    Appeal,
    AppealState,
    Catalog,
    ClockKind,
    Contact,
    DimensionKind,
    HistoryKind,
    Measure,
    ReportDimension,
    SlaClock,
    TimeBucket,
)
from crmcms.storage.memory import MemoryStore

__all__ = ["MemoryReports", "percentile_cont"]

_K = DimensionKind
_M = Measure
_US = timedelta(microseconds=1)


def percentile_cont(values: list[int], share: float) -> float | None:
    """The ``share`` percentile of ``values``, interpolated between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    fraction = position - low
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] * (1 - fraction) + ordered[high] * fraction


def _bucket(at: datetime, bucket: TimeBucket, tz: ZoneInfo) -> date | datetime:
    local = at.astimezone(tz)
    if bucket is TimeBucket.HOUR:
        return local.replace(minute=0, second=0, microsecond=0, fold=0)
    day = local.date()
    if bucket is TimeBucket.WEEK:
        return day - timedelta(days=day.weekday())
    if bucket is TimeBucket.MONTH:
        return day.replace(day=1)
    return day


def _visible(scope: ReadScope | None, appeal: Appeal) -> bool:
    if scope is None:
        return True
    if scope.nothing:
        return False
    if appeal.responsible == scope.login:
        return True
    if appeal.queue is None:
        return appeal.operator == scope.login
    return appeal.queue in scope.queues


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, v) for v in row)


class MemoryReports:
    """The report port over a :class:`~crmcms.storage.memory.MemoryStore`: what a test's
    in-memory engine reports with. Clients live outside the store, so client dimensions are
    empty, and there is no archive."""

    def __init__(self, store: MemoryStore, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog

    # --- per appeal ---------------------------------------------------------------------

    def _clock(self, appeal_id: int, kind: ClockKind) -> SlaClock | None:
        for clock in self.store.clocks.get(appeal_id, ()):
            if clock.kind is kind:
                return clock
        return None

    def _dimension(
        self, query: ReportQuery, dim: ReportDimension, a: Appeal, c: Contact | None, at: datetime
    ) -> ReportCell:
        kind = dim.kind
        if kind is _K.PERIOD:
            tz = ZoneInfo(query.period.timezone)
            return _bucket(at, query.definition.bucket, tz)
        plain: dict[DimensionKind, Callable[[], Any]] = {
            _K.TOPIC: lambda: a.topic,
            _K.TOPIC_GROUP: lambda: query.topic_groups.get(a.topic),
            _K.OPERATOR: lambda: a.operator,
            _K.RESPONSIBLE: lambda: a.responsible,
            _K.QUEUE: lambda: a.queue,
            _K.PROCESS: lambda: a.process,
            _K.PRIORITY: lambda: a.priority,
            _K.STATE: lambda: a.state.value,
            _K.CHANNEL: lambda: None if c is None else c.channel,
            _K.PLACE: lambda: None if c is None else c.place,
            _K.CLIENT_CATEGORY: lambda: None,
            _K.REGION: lambda: None,
        }
        if kind in plain:
            value = plain[kind]()
            return None if value is None else str(value)
        assert dim.attribute is not None
        found = a.values.get(dim.attribute)
        value = getattr(found, "value", found)
        return None if value is None else str(value)

    def _selected(self, query: ReportQuery) -> list[tuple[Appeal, Contact | None]]:
        out = []
        for a in self.store.appeals.values():
            if not _visible(query.scope, a):
                continue
            c = self.store.contacts.get(a.contact_id)
            if query.filters:
                data = assemble(
                    client_data(None),
                    contact_data(c),
                    appeal_rule_data(self.catalog, a),
                    None,
                )
                if not all(rule(data) for rule in query.filters):
                    continue
            out.append((a, c))
        return out

    def _repeated(self, query: ReportQuery, mine: Appeal, c: Contact | None) -> bool:
        window = timedelta(days=query.definition.repeat_days)
        keys: list[tuple[str, int]] = []
        if c is not None and c.client_id is not None:
            keys.append(("client", c.client_id))
        if c is not None and c.subscriber_id is not None:
            keys.append(("subscriber", c.subscriber_id))
        for part, ident in keys:
            before = None
            for other in self.store.appeals.values():
                oc = self.store.contacts.get(other.contact_id)
                if oc is None or getattr(oc, f"{part}_id") != ident or other.topic != mine.topic:
                    continue
                earlier = (other.registered_at, other.id) < (mine.registered_at, mine.id)
                if earlier and (before is None or other.registered_at > before):
                    before = other.registered_at
            if before is not None and mine.registered_at - before <= window:
                return True
        return False

    # --- groups -------------------------------------------------------------------------

    def rows(self, query: ReportQuery) -> Iterator[tuple[ReportCell, ...]]:
        rows = self._flow(query) if query.definition.flow else self._grouped(query)
        return iter(sorted(rows, key=_sort_key))

    def _grouped(self, query: ReportQuery) -> list[tuple[ReportCell, ...]]:
        start, end = query.period.start, query.period.end
        groups: dict[tuple[ReportCell, ...], list[tuple[Appeal, Contact | None]]] = {}
        for a, c in self._selected(query):
            if not start <= a.registered_at < end:
                continue
            key = tuple(self._dimension(query, d, a, c, a.registered_at) for d in query.dimensions)
            groups.setdefault(key, []).append((a, c))
        out = []
        for key, members in groups.items():
            out.append(
                (*key, *(self._measure(query, m, members) for m in query.definition.measures))
            )
        return out

    def _measure(
        self, query: ReportQuery, m: Measure, members: list[tuple[Appeal, Contact | None]]
    ) -> ReportCell:
        count = len(members)
        closed = [a for a, _ in members if a.state is not AppealState.OPEN]

        def resolution(a: Appeal) -> SlaClock | None:
            return self._clock(a.id, ClockKind.RESOLUTION)

        def handling() -> list[int]:
            found = []
            for a in closed:
                clock = resolution(a)
                if clock is not None and clock.stopped_at is not None:
                    found.append(clock.elapsed // _US)
            return found

        def first() -> list[int]:
            found = []
            for a, _ in members:
                clock = self._clock(a.id, ClockKind.FIRST_RESPONSE)
                if clock is not None and clock.stopped_at is not None:
                    found.append(clock.elapsed // _US)
            return found

        def met() -> int:
            return sum(
                1
                for a in closed
                if (r := resolution(a)) is not None
                and r.stopped_at is not None
                and r.limit is not None
                and r.breached_at is None
            )

        def breached() -> int:
            return sum(
                1
                for a, _ in members
                if (r := resolution(a)) is not None and r.breached_at is not None
            )

        def reopened() -> int:
            return sum(
                1
                for a, _ in members
                if any(e.kind is HistoryKind.REOPENED for e in self.store.history.get(a.id, ()))
            )

        def repeated() -> int:
            return sum(1 for a, c in members if self._repeated(query, a, c))

        def duration(values: list[int], share: float) -> timedelta | None:
            found = percentile_cont(values, share)
            return None if found is None else timedelta(microseconds=round(found))

        if m is _M.COUNT:
            return count
        if m is _M.OPEN:
            return count - len(closed)
        if m is _M.CLOSED:
            return len(closed)
        if m is _M.REOPENED:
            return reopened()
        if m is _M.REOPENED_SHARE:
            return reopened() / count
        if m is _M.REPEATED:
            return repeated()
        if m is _M.REPEATED_SHARE:
            return repeated() / count
        if m is _M.SLA_MET:
            return met()
        if m is _M.SLA_BREACHED:
            return breached()
        if m is _M.SLA_COMPLIANCE:
            decided = met() + breached()
            return met() / decided if decided else None
        shares = {
            _M.HANDLING_MEDIAN: (handling, 0.5),
            _M.HANDLING_P90: (handling, 0.9),
            _M.FIRST_RESPONSE_MEDIAN: (first, 0.5),
            _M.FIRST_RESPONSE_P90: (first, 0.9),
        }
        values, share = shares[m]
        return duration(values(), share)

    def _flow(self, query: ReportQuery) -> list[tuple[ReportCell, ...]]:
        start, end = query.period.start, query.period.end
        dims = query.dimensions
        sums: dict[tuple[ReportCell, ...], list[int]] = {}

        def add(a: Appeal, c: Contact | None, at: datetime, which: int) -> None:
            key = tuple(self._dimension(query, d, a, c, at) for d in dims)
            sums.setdefault(key, [0, 0, 0])[which] += 1

        for a, c in self._selected(query):
            closed = a.state is not AppealState.OPEN and a.closed_at is not None
            if start <= a.registered_at < end:
                add(a, c, a.registered_at, 0)
            if closed and a.closed_at is not None and start <= a.closed_at < end:
                add(a, c, a.closed_at, 1)
            if a.registered_at < start and (not closed or (a.closed_at or start) >= start):
                add(a, c, start, 2)
        period = [i for i, d in enumerate(dims) if d.kind is _K.PERIOD]
        running: dict[tuple[ReportCell, ...], int] = {}
        out = []
        for key in sorted(sums, key=_sort_key):
            opened, resolved, initial = sums[key]
            others = tuple(v for i, v in enumerate(key) if i not in period)
            net = initial + opened - resolved
            backlog = running.get(others, 0) + net if period else net
            running[others] = backlog
            values = {_M.OPENED: opened, _M.RESOLVED: resolved, _M.BACKLOG: backlog}
            out.append((*key, *(values[m] for m in query.definition.measures)))
        return out
