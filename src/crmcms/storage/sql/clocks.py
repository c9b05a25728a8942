"""SLA clocks in SQL: one row per clock of an appeal, replaced whenever it is worked out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from crmcms.errors import ConcurrencyError
from crmcms.model import ClockKind, SlaAttempt, SlaClock, SlaViewItem, SlaViewRow
from crmcms.storage.schema import OPEN, appeal, sla_attempt, sla_clock, sla_fired
from crmcms.storage.sql.codec import to_utc

if TYPE_CHECKING:
    from crmcms.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlClocks", "clock_from_row", "clock_row", "release_claims"]

_US = timedelta(microseconds=1)


def _us(value: timedelta | None) -> int | None:
    return None if value is None else value // _US


def _span(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(microseconds=value)


def clock_row(clock: SlaClock, next_escalation_at: datetime | None = None) -> dict[str, Any]:
    """The row that stores ``clock``."""
    return {
        "appeal_id": clock.appeal_id,
        "clock": clock.key,
        "kind": clock.kind.value,
        "process": clock.process,
        "cycle": clock.cycle,
        "start": to_utc(clock.start),
        "limit_us": _us(clock.limit),
        "due": to_utc(clock.due),
        "elapsed_us": _us(clock.elapsed),
        "remaining_us": _us(clock.remaining),
        "paused_since": to_utc(clock.paused_since),
        "breached_at": to_utc(clock.breached_at),
        "stopped_at": to_utc(clock.stopped_at),
        "overridden": clock.overridden,
        "at": to_utc(clock.at),
        "next_escalation_at": to_utc(next_escalation_at),
    }


def clock_from_row(row: Any) -> SlaClock:
    m = row._mapping
    elapsed = _span(m["elapsed_us"])
    assert elapsed is not None
    start, at = to_utc(m["start"]), to_utc(m["at"])
    assert start is not None
    assert at is not None
    return SlaClock(
        appeal_id=int(m["appeal_id"]),
        kind=ClockKind(m["kind"]),
        process=m["process"],
        cycle=int(m["cycle"]),
        start=start,
        limit=_span(m["limit_us"]),
        due=to_utc(m["due"]),
        elapsed=elapsed,
        remaining=_span(m["remaining_us"]),
        paused_since=to_utc(m["paused_since"]),
        breached_at=to_utc(m["breached_at"]),
        stopped_at=to_utc(m["stopped_at"]),
        overridden=bool(m["overridden"]),
        at=at,
    )


_LOCKS = 0x534C41
"""The advisory lock namespace of the SLA monitor's claims (PostgreSQL)."""
_INT4 = 2**31


_DUE = (
    sa.select(sla_clock.c.appeal_id, sla_clock.c.clock)
    .where(
        sla_clock.c.next_escalation_at.is_not(None),
        sla_clock.c.next_escalation_at <= sa.bindparam("moment", type_=sla_clock.c.due.type),
    )
    .order_by(sla_clock.c.next_escalation_at)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_DUE_COMPILED: dict[str, tuple[str, Callable[[datetime | None, int], Any]]] = {}


def _due_statement(
    dialect: sa.Dialect,
) -> tuple[str, Callable[[datetime | None, int], Any]]:
    """The due-escalations query as the driver takes it, and how to make its parameters."""
    found = _DUE_COMPILED.get(dialect.name)
    if found is None:
        compiled = _DUE.compile(dialect=dialect)
        convert = sla_clock.c.due.type.dialect_impl(dialect).bind_processor(dialect)
        order = compiled.positiontup

        def params(moment: datetime | None, limit: int) -> Any:
            given = {"moment": convert(moment) if convert else moment, "limit": limit}
            values = compiled.construct_params(given)  # SQLite adds an OFFSET of its own
            return tuple(values[k] for k in order) if order else values

        found = _DUE_COMPILED[dialect.name] = (compiled.string, params)
    return found


def release_claims(conn: sa.Connection, claims: list[int]) -> None:
    """Give up the appeals a unit of work claimed, once it is over."""
    for appeal_id in claims:
        conn.execute(sa.select(sa.func.pg_advisory_unlock(_LOCKS, appeal_id % _INT4)))
    claims.clear()
    if conn.in_transaction():
        conn.commit()


_ORDER = sa.case(
    {ClockKind.FIRST_RESPONSE.value: 0, ClockKind.RESOLUTION.value: 1},
    value=sla_clock.c.kind,
    else_=2,
)


class SqlClocks:
    """The unit of work's clock repository: writes wait for its commit."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.new: dict[int, tuple[SlaClock, ...]] = {}
        self.escalations: dict[int, tuple[datetime | None, ...]] = {}
        self.fired_new: list[dict[str, Any]] = []
        self.attempts_new: dict[tuple[int, str, int, int], SlaAttempt] = {}
        # What this unit of work read of each appeal's fired levels and failed attempts: the
        # monitor and the clocks' refresh both ask, once each per appeal, in one transaction.
        self._fired_read: dict[int, set[tuple[str, int, int]]] = {}
        self._attempts_read: dict[int, dict[tuple[int, str, int, int], SlaAttempt]] = {}

    def claim(self, appeal_id: int) -> bool:
        conn = self._uow.connection()
        if conn.dialect.name != "postgresql":
            return True  # SQLite has one writer at a time: one monitor
        # A session lock, not a transaction's: it must outlast the reads' transaction, which
        # ends before the writes begin, until the unit of work is left (see release).
        query = sa.select(sa.func.pg_try_advisory_lock(_LOCKS, appeal_id % _INT4))
        if not conn.execute(query).scalar():
            return False
        self._uow.claims.append(appeal_id)
        return True

    def due_escalations(self, moment: datetime, limit: int) -> list[tuple[int, str]]:
        conn = self._uow.connection()
        sql, params = _due_statement(conn.dialect)
        # The monitor's hot search: compiled once per dialect and run on the driver's
        # cursor, so a scan costs what the query costs (see benchmarks/bench_sla.py).
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, params(to_utc(moment), limit))
            return [(int(a), str(c)) for a, c in cursor.fetchall()]
        finally:
            cursor.close()

    def fired(self, appeal_id: int) -> set[tuple[str, int, int]]:
        stored = self._fired_read.get(appeal_id)
        if stored is None:
            stored = self._read_levels(appeal_id)[0]
        staged = {
            (f["clock"], f["cycle"], f["level"])
            for f in self.fired_new
            if f["appeal_id"] == appeal_id
        }
        return stored | staged

    def fire(self, appeal_id: int, clock: str, cycle: int, level: int, at: datetime) -> None:
        self.fired_new.append(
            {
                "appeal_id": appeal_id,
                "clock": clock,
                "cycle": cycle,
                "level": level,
                "fired_at": to_utc(at),
            }
        )

    def attempts(self, appeal_id: int) -> list[SlaAttempt]:
        found = self._attempts_read.get(appeal_id)
        if found is None:
            found = self._read_levels(appeal_id)[1]
        staged = {k: a for k, a in self.attempts_new.items() if k[0] == appeal_id}
        both = {**found, **staged}
        return [both[k] for k in sorted(both)]

    def _read_levels(
        self, appeal_id: int
    ) -> tuple[set[tuple[str, int, int]], dict[tuple[int, str, int, int], SlaAttempt]]:
        """The appeal's fired levels and failed attempts, in one round trip: whoever asks
        for one (the clocks' refresh after every action) asks for the other too."""
        f, t = sla_fired.c, sla_attempt.c
        fired = sa.select(
            sa.literal(0).label("failed"),
            f.clock,
            f.cycle,
            f.level,
            # typed as the attempts' columns: a union reads its rows by the first select
            sa.type_coerce(sa.null(), t.attempts.type).label("attempts"),
            sa.type_coerce(sa.null(), t.error.type).label("error"),
            f.fired_at.label("failed_at"),
            sa.type_coerce(sa.null(), t.retry_at.type).label("retry_at"),
        ).where(f.appeal_id == appeal_id)
        failed = sa.select(
            sa.literal(1), t.clock, t.cycle, t.level, t.attempts, t.error, t.failed_at, t.retry_at
        ).where(t.appeal_id == appeal_id)
        levels: set[tuple[str, int, int]] = set()
        attempts: dict[tuple[int, str, int, int], SlaAttempt] = {}
        for r in self._uow.connection().execute(sa.union_all(fired, failed)):
            key = (str(r[1]), int(r[2]), int(r[3]))
            if not r[0]:
                levels.add(key)
                continue
            failed_at = to_utc(r[6])
            assert failed_at is not None
            attempts[(appeal_id, *key)] = SlaAttempt(
                appeal_id, *key, int(r[4]), str(r[5]), failed_at, to_utc(r[7])
            )
        self._fired_read[appeal_id], self._attempts_read[appeal_id] = levels, attempts
        return levels, attempts

    def record_attempt(self, attempt: SlaAttempt) -> None:
        key = (attempt.appeal_id, attempt.clock, attempt.cycle, attempt.level)
        self.attempts_new[key] = attempt

    def sla_counts(
        self, now: datetime, horizon: datetime, queue: str | None = None
    ) -> list[SlaViewRow]:
        earliest, where = self._earliest(horizon, queue)
        a = appeal.c
        cut = to_utc(now)
        overdue = sa.func.sum(sa.case((earliest.c.due <= cut, 1), else_=0))
        at_risk = sa.func.sum(sa.case((earliest.c.due > cut, 1), else_=0))
        joined = earliest.join(appeal, a.id == earliest.c.appeal_id)
        rows = []
        conn = self._uow.connection()
        for dimension, column in (
            ("queue", a.queue),
            ("operator", a.responsible),
            ("topic", a.topic),
        ):
            query = (
                sa.select(column, overdue, at_risk)
                .select_from(joined)
                .where(*where)
                .group_by(column)
                .order_by(column)
            )
            found = [(r[0], int(r[1] or 0), int(r[2] or 0)) for r in conn.execute(query)]
            # Backends order NULL differently: the view puts "none" first everywhere.
            found.sort(key=lambda r: (r[0] is not None, r[0] or ""))
            rows += [SlaViewRow(dimension, *r) for r in found]
        return rows

    def sla_appeals(
        self, now: datetime, horizon: datetime, queue: str | None = None, limit: int = 50
    ) -> list[SlaViewItem]:
        t, a = sla_clock.c, appeal.c
        where = [
            t.stopped_at.is_(None),
            t.due.is_not(None),
            t.due <= to_utc(horizon),
            a.state == OPEN,
        ]
        if queue is not None:
            where.append(a.queue == queue)
        query = (
            sa.select(t.appeal_id, t.clock, t.due, a.queue, a.responsible, a.topic)
            .select_from(sla_clock.join(appeal, a.id == t.appeal_id))
            .where(*where)
            .order_by(t.due, t.appeal_id)
            .limit(limit * 3)
        )
        cut = to_utc(now)
        found: dict[int, SlaViewItem] = {}
        for r in self._uow.connection().execute(query):
            due = to_utc(r[2])
            assert due is not None
            assert cut is not None
            if r[0] not in found:
                found[r[0]] = SlaViewItem(int(r[0]), r[1], due, due <= cut, r[3], r[4], r[5])
        return list(found.values())[:limit]

    def _earliest(
        self, horizon: datetime, queue: str | None
    ) -> tuple[sa.Subquery, list[sa.ColumnElement[bool]]]:
        """Each appeal's earliest running clock due by ``horizon``, and the appeal filter."""
        t = sla_clock.c
        earliest = (
            sa.select(t.appeal_id, sa.func.min(t.due).label("due"))
            .where(t.stopped_at.is_(None), t.due.is_not(None), t.due <= to_utc(horizon))
            .group_by(t.appeal_id)
            .subquery()
        )
        where: list[sa.ColumnElement[bool]] = [appeal.c.state == OPEN]
        if queue is not None:
            where.append(appeal.c.queue == queue)
        return earliest, where

    def for_appeal(self, appeal_id: int) -> list[SlaClock]:
        staged = self.new.get(appeal_id)
        if staged is not None:
            return list(staged)
        query = (
            sa.select(sla_clock)
            .where(sla_clock.c.appeal_id == appeal_id)
            .order_by(_ORDER, sla_clock.c.start, sla_clock.c.process)
        )
        return [clock_from_row(r) for r in self._uow.connection().execute(query)]

    def put(
        self,
        appeal_id: int,
        clocks: Sequence[SlaClock],
        next_escalations: Sequence[datetime | None] = (),
    ) -> None:
        self.new[appeal_id] = tuple(clocks)
        self.escalations[appeal_id] = tuple(next_escalations)

    def open_appeal_ids(self, after: int, limit: int) -> list[int]:
        query = (
            sa.select(appeal.c.id)
            .where(appeal.c.state == OPEN, appeal.c.id > after)
            .order_by(appeal.c.id)
            .limit(limit)
        )
        return [int(r[0]) for r in self._uow.connection().execute(query)]

    def write(self, conn: sa.Connection) -> None:
        """Record the levels fired and replace the stored clocks of every appeal staged
        (inside the commit); a level fired meanwhile raises ConcurrencyError."""
        if self.fired_new:
            try:
                conn.execute(sa.insert(sla_fired), self.fired_new)
            except sa.exc.IntegrityError as exc:
                first = self.fired_new[0]
                key = (first["appeal_id"], first["clock"], first["cycle"], first["level"])
                raise ConcurrencyError("escalation level", key, 0, 1) from exc
        if self.attempts_new:
            t = sla_attempt.c
            for a in self.attempts_new.values():
                conn.execute(
                    sa.delete(sla_attempt).where(
                        t.appeal_id == a.appeal_id,
                        t.clock == a.clock,
                        t.cycle == a.cycle,
                        t.level == a.level,
                    )
                )
            rows = [
                {
                    "appeal_id": a.appeal_id,
                    "clock": a.clock,
                    "cycle": a.cycle,
                    "level": a.level,
                    "attempts": a.attempts,
                    "error": a.error,
                    "failed_at": to_utc(a.failed_at),
                    "retry_at": to_utc(a.retry_at),
                }
                for a in self.attempts_new.values()
            ]
            conn.execute(sa.insert(sla_attempt), rows)
        if not self.new:
            return
        ids = list(self.new)
        conn.execute(sa.delete(sla_clock).where(sla_clock.c.appeal_id.in_(ids)))
        rows = []
        for appeal_id, clocks in self.new.items():
            nexts = self.escalations.get(appeal_id, ())
            for i, c in enumerate(clocks):
                rows.append(clock_row(c, nexts[i] if i < len(nexts) else None))
        if rows:
            conn.execute(sa.insert(sla_clock), rows)
