"""The system problem manager's desk: every action on system problems, each committed.

``engine.problems`` is one :class:`SystemProblems`. Its actions need
``manage_system_problems`` (the built-in role ``SYSTEM_PROBLEM_MANAGER`` grants it); reading
needs ``read``. Resolving works in batches, one transaction each, and keeps the outcome of
every appeal with its move: interrupted anywhere, the next call goes on where the last
committed batch stopped, so no appeal is moved, and no client told, twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from crmcms.engine import problems as desk
from crmcms.engine.bulk import BulkItem, BulkResult, run_batched
from crmcms.engine.obstacles import may_read, require
from crmcms.errors import ConcurrencyError, CrmcmsError, Problem, ValidationError, WorkflowError
from crmcms.model import (
    Appeal,
    AuditKind,
    Permission,
    Principal,
    ProblemOutcome,
    ProblemState,
    SystemProblem,
)

if TYPE_CHECKING:
    from crmcms.engine.service import Acting, Engine
    from crmcms.engine.transaction import Tx

__all__ = ["ProblemResolution", "SystemProblems"]

T = TypeVar("T")

log = logging.getLogger("crmcms.problems")

_RETRIES = 5
"""Searches for matching appeals tried again after a conflict, before it is raised."""

Progress = Callable[[int, int], None]
"""Told ``(done, total)`` after each batch of a resolution commits."""


@attrs.frozen
class ProblemResolution:
    """A resolved problem and what resolving did to each linked appeal (every call's
    outcomes, the earlier ones of an interrupted resolution included)."""

    problem: SystemProblem
    result: BulkResult


def _item(outcome: ProblemOutcome) -> BulkItem:
    return BulkItem(
        outcome.appeal_id,
        outcome.ok,
        version=outcome.version,
        error=outcome.error,
        error_type=outcome.error_type,
    )


class SystemProblems:
    """Registers system problems, links appeals to them and resolves them in bulk."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _manager(self, operator: Acting | None) -> Principal | None:
        return self.engine.principal(operator)

    def _audit(self, who: Principal | None, problem: SystemProblem) -> None:
        audit = self.engine.audit
        if audit is None:
            return
        login = None if who is None else who.login
        # After the commit: the change stands whatever the audit does, so a failing audit
        # is logged, not raised.
        try:
            audit.record(
                AuditKind.SYSTEM_PROBLEM,
                login,
                actor=login,
                outcome=problem.state.value,
                detail=f"system problem {problem.id}: {problem.title}",
            )
        except Exception:
            log.exception("recording system problem %s in the audit failed", problem.id)

    # --- Registering and confirming ---------------------------------------------------------

    def register(
        self,
        operator: Acting | None,
        title: str,
        *,
        description: str = "",
        values: Mapping[str, object] | None = None,
        rule: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        link_matching: bool = False,
    ) -> SystemProblem:
        """Register a problem. ``rule`` (a rule over appeals, such as
        ``Client.Region = "Pskov" and Appeal.Topic.Code = "NO_NET"``) and the window
        ``since``..``until`` choose the appeals linked as they are registered; with
        ``link_matching`` the open appeals that match already are linked too (see
        :meth:`link_matching`). ``values`` are the problem's attributes by code, checked as
        the catalog's ``problem attribute`` declarations say."""
        who = self._manager(operator)
        self.engine.limits.check("system problem", texts={"title": title, "text": description})
        problem = self.engine.run(
            lambda tx: desk.register_problem(
                tx,
                title,
                description=description,
                values=dict(values or {}),
                rule=rule,
                since=since,
                until=until,
            ),
            principal=who,
        )
        self._audit(who, problem)
        if link_matching:
            self.link_matching(problem.id, operator)
        return problem

    def confirm(
        self, problem_id: int, operator: Acting | None, *, link_matching: bool = False
    ) -> SystemProblem:
        """Confirm a registered problem (it goes on linking appeals)."""
        who = self._manager(operator)
        problem = self.engine.run(lambda tx: desk.confirm_problem(tx, problem_id), principal=who)
        self._audit(who, problem)
        if link_matching:
            self.link_matching(problem_id, operator)
        return problem

    # --- Linking ----------------------------------------------------------------------------

    def link(
        self, problem_id: int, appeal_ids: Iterable[int], operator: Acting | None
    ) -> list[Appeal]:
        """Link appeals by hand, all or none: an unknown or closed appeal, or one linked to
        another problem, refuses them all. Those linked already stay as they are; the
        appeals newly linked."""
        return self._links(problem_id, appeal_ids, operator, desk.link_appeal, "link")

    def unlink(
        self, problem_id: int, appeal_ids: Iterable[int], operator: Acting | None
    ) -> list[Appeal]:
        """Unlink appeals, all or none: one not linked to the problem refuses them all."""
        return self._links(problem_id, appeal_ids, operator, desk.unlink_appeal, "unlink")

    def _links(
        self,
        problem_id: int,
        appeal_ids: Iterable[int],
        operator: Acting | None,
        step: Callable[[Tx, SystemProblem, int], Appeal | None],
        verb: str,
    ) -> list[Appeal]:
        who = self._manager(operator)
        ids = list(dict.fromkeys(appeal_ids))
        if not ids:
            raise ValidationError([Problem("appeal_ids", f"name at least one appeal to {verb}")])
        self.engine.limits.check(f"{verb} appeals", bulk=len(ids))

        def act(tx: Tx) -> list[Appeal]:
            require(tx.principal, Permission.MANAGE_SYSTEM_PROBLEMS, f"{verb} appeals")
            problem = desk.open_problem(tx, problem_id)
            done = [step(tx, problem, i) for i in ids]
            return [a for a in done if a is not None]

        return self.engine.run(act, principal=who)

    def link_matching(
        self, problem_id: int, operator: Acting | None, *, batch: int = 500
    ) -> list[int]:
        """Link every open appeal linked to nothing that the problem's rule and window
        match; the ids linked. On SQL storage the rule runs in the database (it must
        translate to SQL: see :func:`~crmcms.storage.sql.rule_to_sql`), ``batch`` appeals
        a transaction."""
        who = self._manager(operator)
        linked: list[int] = []
        conflicts = 0
        while True:

            def act(tx: Tx) -> list[int]:
                require(
                    tx.principal,
                    Permission.MANAGE_SYSTEM_PROBLEMS,
                    f"link appeals to system problem {problem_id}",
                )
                return desk.link_matching(tx, desk.open_problem(tx, problem_id), batch)

            try:
                found = self.engine.run(act, principal=who)
            except ConcurrencyError:
                # An appeal of the batch changed meanwhile (linked by another problem's
                # search, moved by an operator): search again, it no longer matches or
                # matches as it is now.
                conflicts += 1
                if conflicts > _RETRIES:
                    raise
                continue
            linked += found
            if len(found) < batch:
                return linked

    # --- Resolving and closing --------------------------------------------------------------

    def resolve(
        self,
        problem_id: int,
        operator: Acting | None,
        *,
        transition: str | None = None,
        resolution: str = "",
        batch: int = 200,
        progress: Progress | None = None,
    ) -> ProblemResolution:
        """Resolve the problem: move every linked appeal along ``transition`` and tell
        each appeal's client through the outbox (one notification per appeal), ``batch``
        appeals a transaction, an outcome per appeal. ``transition`` is an external event:
        for each appeal, the transition out of its process of that code, or else of that
        name, so appeals in different processes or on different routes move each its own
        way. An appeal that cannot move (no such transition out of its process, or one not
        available to it) keeps its failure as its outcome; the others move on.

        Calling it again after an interruption goes on with the appeals left (the
        transition given first holds; ``transition`` may be left out). A problem resolved
        already is refused with :class:`~crmcms.errors.WorkflowError`."""
        if batch < 1:
            raise ValidationError([Problem("batch", f"must be at least 1, not {batch}")])
        who = self._manager(operator)
        self.engine.limits.check(f"system problem {problem_id}", texts={"text": resolution})
        problem, started = self.engine.run(
            lambda tx: self._start(tx, problem_id, transition, resolution), principal=who
        )
        if started:
            self._audit(who, problem)
        total = self.engine.run(lambda tx: len(tx.uow.problems.linked(problem_id)))
        done = len(self.engine.run(lambda tx: tx.uow.problems.outcomes(problem_id)))

        def pending() -> list[int]:
            return self.engine.run(lambda tx: tx.uow.problems.unresolved(problem_id, batch))

        def together(ids: list[int]) -> None:
            self.engine.run(lambda tx: [desk.resolve_appeal(tx, problem, i) for i in ids])

        def alone(appeal_id: int) -> None:
            self._resolve_alone(problem, appeal_id)

        def report(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, total)

        run_batched(pending, together, alone, report)
        finished = self.engine.run(lambda tx: self._finish(tx, problem_id))
        outcomes = self.engine.run(lambda tx: tx.uow.problems.outcomes(problem_id))
        return ProblemResolution(finished, BulkResult(tuple(map(_item, outcomes))))

    def _start(
        self, tx: Tx, problem_id: int, transition: str | None, resolution: str
    ) -> tuple[SystemProblem, bool]:
        require(tx.principal, Permission.MANAGE_SYSTEM_PROBLEMS, f"resolve problem {problem_id}")
        problem = tx.uow.problems.get(problem_id)
        if problem.resolving:
            if transition is not None and transition != problem.transition:
                raise WorkflowError(
                    f"system problem {problem_id} is being resolved along "
                    f"{problem.transition}, not {transition}: call again without a transition"
                )
            return problem, False
        if problem.state is ProblemState.RESOLVED:
            raise WorkflowError(f"system problem {problem_id} is already resolved")
        if not problem.is_open:
            raise WorkflowError(f"system problem {problem_id} is {problem.state.value}")
        if transition is None or not transition.strip():
            raise ValidationError(
                [Problem("transition", "resolving needs the transition the appeals take")]
            )
        known = {n for r in tx.catalog.routes for t in r.transitions for n in (t.code, t.name)}
        if transition not in known:
            raise ValidationError(
                [Problem("transition", f"no route has a transition {transition!r}")]
            )
        login = tx.principal.login if tx.principal is not None else "system"
        problem.resolve(tx.now, login, resolution, transition)
        problem.version += 1
        tx.uow.problems.update(problem)
        return problem, True

    def _resolve_alone(self, problem: SystemProblem, appeal_id: int) -> None:
        """One appeal in a transaction of its own; a refusal becomes its outcome."""
        try:
            self.engine.run(lambda tx: desk.resolve_appeal(tx, problem, appeal_id))
        except CrmcmsError as err:
            failed = ProblemOutcome(
                problem_id=problem.id,
                appeal_id=appeal_id,
                ok=False,
                at=self.engine.runtime.clock(),
                error=str(err),
                error_type=type(err).__name__,
            )
            # Another resolver may have recorded this appeal meanwhile: its outcome stands.
            with contextlib.suppress(ConcurrencyError):
                self.engine.run(lambda tx: tx.uow.problems.record(failed))

    def _finish(self, tx: Tx, problem_id: int) -> SystemProblem:
        problem = tx.uow.problems.get(problem_id)
        if problem.resolving and not tx.uow.problems.unresolved(problem_id, 1):
            problem.resolving = False
            problem.version += 1
            tx.uow.problems.update(problem)
        return problem

    def close(self, problem_id: int, operator: Acting | None) -> SystemProblem:
        """Close a resolved problem: nothing more happens to it."""
        who = self._manager(operator)

        def act(tx: Tx) -> SystemProblem:
            require(tx.principal, Permission.MANAGE_SYSTEM_PROBLEMS, f"close problem {problem_id}")
            problem = tx.uow.problems.get(problem_id)
            problem.close(tx.now, who.login if who is not None else "system")
            problem.version += 1
            tx.uow.problems.update(problem)
            return problem

        problem = self.engine.run(act, principal=who)
        self._audit(who, problem)
        return problem

    # --- Reading ----------------------------------------------------------------------------

    def get(self, problem_id: int, *, operator: Acting | None = None) -> SystemProblem:
        return self.engine.run(
            lambda tx: self._read(tx, lambda: tx.uow.problems.get(problem_id)),
            principal=self._manager(operator),
        )

    def find(
        self, states: Collection[ProblemState] = (), *, operator: Acting | None = None
    ) -> list[SystemProblem]:
        """The problems in any of ``states`` (all if none given), in id order."""
        return self.engine.run(
            lambda tx: self._read(tx, lambda: tx.uow.problems.find(states)),
            principal=self._manager(operator),
        )

    def linked(self, problem_id: int, *, operator: Acting | None = None) -> list[int]:
        """Ids of the appeals linked to the problem, ascending."""

        def act(tx: Tx) -> list[int]:
            require(tx.principal, Permission.READ, "read system problems")
            tx.uow.problems.get(problem_id)
            found = tx.uow.problems.linked(problem_id)
            who = tx.principal
            if who is None or Permission.READ_ALL in who.permissions:
                return found
            # An appeal the reader may not see is not named, not even by its id.
            queues = tx.rt.queues
            return [i for i in found if may_read(who, tx.uow.appeals.get(i), queues)]

        return self.engine.run(act, principal=self._manager(operator))

    def outcomes(self, problem_id: int, *, operator: Acting | None = None) -> list[ProblemOutcome]:
        """What resolving did to each linked appeal so far, by appeal id."""

        def act(tx: Tx) -> list[ProblemOutcome]:
            require(tx.principal, Permission.READ, "read system problems")
            tx.uow.problems.get(problem_id)
            return tx.uow.problems.outcomes(problem_id)

        return self.engine.run(act, principal=self._manager(operator))

    @staticmethod
    def _read(tx: Tx, read: Callable[[], T]) -> T:
        require(tx.principal, Permission.READ, "read system problems")
        return read()
