"""System problems and their resolution outcomes in SQL; linked appeals found by rule in SQL."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from crmcms.dsl import CompiledRule
from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import Appeal, ProblemOutcome, ProblemState, SystemProblem
from crmcms.storage.schema import OPEN, appeal, problem_outcome, system_problem
from crmcms.storage.sql.binding import AppealBinding
from crmcms.storage.sql.codec import decode_values, encode_values, to_utc
from crmcms.storage.sql.rules_to_sql import rule_to_sql

if TYPE_CHECKING:
    from crmcms.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlProblems"]

_TIMES = ("opened_at", "since", "until", "confirmed_at", "resolved_at", "closed_at")


def _problem(row: Any) -> SystemProblem:
    m = dict(row._mapping)
    for key in _TIMES:
        m[key] = to_utc(m[key])
    values = decode_values(m.pop("attribute_values"))
    return SystemProblem(**{**m, "state": ProblemState(m["state"]), "values": values})


def _problem_row(item: SystemProblem) -> dict[str, Any]:
    row = attrs.asdict(item, recurse=False)
    for key in _TIMES:
        row[key] = to_utc(row[key])
    row["state"] = item.state.value
    row["attribute_values"] = encode_values(row.pop("values"))
    return row


def _outcome(row: Any) -> ProblemOutcome:
    m = dict(row._mapping)
    return ProblemOutcome(**{**m, "at": to_utc(m["at"])})


class SqlProblems:
    """The system problems repository of one :class:`SqlUnitOfWork`."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[int, SystemProblem] = {}
        self.base: dict[int, int] = {}
        """The stored version each problem changed here had (0: a new one)."""
        self.new_outcomes: dict[tuple[int, int], ProblemOutcome] = {}

    def __bool__(self) -> bool:
        return bool(self.staged or self.new_outcomes)

    def _rows(self, query: sa.Executable) -> list[Any]:
        return list(self._uow.connection().execute(query))

    def next_id(self) -> int:
        return self._uow.store.ids.next_id("system_problem")

    def add(self, item: SystemProblem) -> None:
        if item.id in self.staged:
            raise StorageError(f"system problem {item.id} is already stored")
        self.staged[item.id] = attrs.evolve(item, values=dict(item.values))
        self.base[item.id] = 0

    def get(self, problem_id: int) -> SystemProblem:
        if problem_id in self.staged:
            found = self.staged[problem_id]
            return attrs.evolve(found, values=dict(found.values))
        rows = self._rows(sa.select(system_problem).where(system_problem.c.id == problem_id))
        if not rows:
            raise NotFoundError("system problem", problem_id)
        return _problem(rows[0])

    def update(self, item: SystemProblem) -> None:
        current = self.get(item.id).version
        if current != item.version - 1:
            raise ConcurrencyError("system problem", item.id, item.version - 1, current)
        self.base.setdefault(item.id, current)
        self.staged[item.id] = attrs.evolve(item, values=dict(item.values))

    def find(self, states: Collection[ProblemState] = ()) -> list[SystemProblem]:
        query = sa.select(system_problem)
        if states:
            query = query.where(system_problem.c.state.in_([s.value for s in states]))
        found = {p.id: p for p in map(_problem, self._rows(query))}
        for staged in self.staged.values():
            if not states or staged.state in states:
                found[staged.id] = attrs.evolve(staged, values=dict(staged.values))
            else:
                found.pop(staged.id, None)
        return [found[k] for k in sorted(found)]

    def _staged_appeals(self) -> list[Appeal]:
        appeals = self._uow.appeals
        return [*appeals.changed.values(), *appeals.new.values()]

    def linked(self, problem_id: int, *, after: int = 0, limit: int | None = None) -> list[int]:
        t = appeal.c
        query = sa.select(t.id).where(t.system_problem_id == problem_id, t.id > after)
        found = {int(r[0]) for r in self._rows(query.order_by(t.id))}
        for staged in self._staged_appeals():
            if staged.system_problem_id == problem_id and staged.id > after:
                found.add(staged.id)
            else:
                found.discard(staged.id)
        ordered = sorted(found)
        return ordered if limit is None else ordered[:limit]

    def unresolved(self, problem_id: int, limit: int) -> list[int]:
        t, o = appeal.c, problem_outcome.c
        done = sa.exists().where(o.problem_id == problem_id, o.appeal_id == t.id)
        query = (
            sa.select(t.id)
            .where(t.system_problem_id == problem_id, ~done)
            .order_by(t.id)
            .limit(limit + len(self.new_outcomes))
        )
        staged = {a for p, a in self.new_outcomes if p == problem_id}
        return [int(r[0]) for r in self._rows(query) if int(r[0]) not in staged][:limit]

    def matching(
        self,
        rule: CompiledRule | None,
        since: datetime | None,
        until: datetime | None,
        check: Callable[[Appeal], bool],
        limit: int,
    ) -> list[int]:
        t = appeal.c
        binding = AppealBinding(self._uow.connection().dialect.name)
        where: list[sa.ColumnElement[bool]] = [t.state == OPEN, t.system_problem_id.is_(None)]
        if since is not None:
            where.append(t.registered_at >= to_utc(since))
        if until is not None:
            where.append(t.registered_at < to_utc(until))
        source: sa.FromClause = appeal
        if rule is not None:
            where.append(rule_to_sql(rule, binding))
            source = binding.joins(rule.paths)
        query = sa.select(t.id).select_from(source).where(*where).order_by(t.id).limit(limit)
        return [int(r[0]) for r in self._rows(query)]

    def record(self, outcome: ProblemOutcome) -> None:
        key = (outcome.problem_id, outcome.appeal_id)
        if key in self.new_outcomes:
            raise ConcurrencyError("problem outcome", key, 0, 1)
        # One committed before is refused by the key at commit: a resolution records
        # thousands, and asking first would cost a query each.
        self.new_outcomes[key] = outcome

    def outcomes(self, problem_id: int) -> list[ProblemOutcome]:
        o = problem_outcome.c
        query = sa.select(problem_outcome).where(o.problem_id == problem_id)
        found = {(p.problem_id, p.appeal_id): p for p in map(_outcome, self._rows(query))}
        found.update((k, v) for k, v in self.new_outcomes.items() if k[0] == problem_id)
        return [found[k] for k in sorted(found)]

    def write(self, conn: sa.Connection) -> None:
        """Inside the commit: a problem changed meanwhile by another unit of work, or an
        outcome recorded meanwhile, refuses it."""
        new = [p for k, p in self.staged.items() if self.base[k] == 0]
        if new:
            conn.execute(sa.insert(system_problem), [_problem_row(p) for p in new])
        for key, item in self.staged.items():
            base = self.base[key]
            if base == 0:
                continue
            c = system_problem.c
            changed = conn.execute(
                sa.update(system_problem)
                .where(c.id == key, c.version == base)
                .values(**_problem_row(item))
            )
            if changed.rowcount != 1:
                raise ConcurrencyError("system problem", key, base, None)
        if self.new_outcomes:
            rows = [attrs.asdict(o) for o in self.new_outcomes.values()]
            for row in rows:
                row["at"] = to_utc(row["at"])
            try:
                conn.execute(sa.insert(problem_outcome), rows)
            except sa.exc.IntegrityError as exc:
                first = next(iter(self.new_outcomes))
                raise ConcurrencyError("problem outcome", first, 0, 1) from exc
        self.staged, self.base, self.new_outcomes = {}, {}, {}
