"""System problems, linked appeals and resolution outcomes: what every backend does alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from crmcms.dsl import compile_rule
from crmcms.engine.ports import UnitOfWork
from crmcms.errors import ConcurrencyError, NotFoundError
from crmcms.model import (
    Appeal,
    Contact,
    Direction,
    ProblemOutcome,
    ProblemState,
    SystemProblem,
)

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def problem(uow: UnitOfWork, **fields: object) -> SystemProblem:
    given: dict[str, object] = {
        "title": "Нет связи в Пскове",
        "registered_by": "olga",
        "opened_at": T0,
        **fields,
    }
    made = SystemProblem(id=uow.problems.next_id(), **given)  # type: ignore[arg-type]
    uow.problems.add(made)
    return made


def appeals(uow: UnitOfWork, count: int, **fields: object) -> list[Appeal]:
    contact = Contact(
        id=uow.contacts.next_id(),
        place="CC",
        direction=Direction.INCOMING,
        channel="PHONE",
        operator="olga",
        registered_at=T0,
    )
    uow.contacts.add(contact)
    made = []
    for i in range(count):
        given: dict[str, object] = {
            "topic": "NO_NET",
            "route": "R",
            "route_version": 1,
            "process": "new",
            "operator": "olga",
            "registered_at": T0 + timedelta(minutes=i),
            **fields,
        }
        one = Appeal(id=uow.appeals.next_id(), contact_id=contact.id, **given)  # type: ignore[arg-type]
        uow.appeals.add(one)
        made.append(one)
    return made


def test_a_problem_is_stored_with_the_commit_and_found_by_state(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        first = problem(uow, values={"REGION": "PSK"}, rule='Appeal.Topic.Code = "NO_NET"')
        assert uow.problems.get(first.id) == first
    with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            uow.problems.get(first.id)  # left without commit
        first = problem(uow, values={"REGION": "PSK"}, since=T0, until=T0 + timedelta(hours=2))
        second = problem(uow, state=ProblemState.CONFIRMED)
        closed = problem(uow, state=ProblemState.CLOSED)
        uow.commit()
    with uow_factory() as uow:
        assert uow.problems.get(first.id) == first
        assert uow.problems.find() == [first, second, closed]
        open_states = (ProblemState.REGISTERED, ProblemState.CONFIRMED)
        assert uow.problems.find(open_states) == [first, second]
        with pytest.raises(NotFoundError):
            uow.problems.get(closed.id + 100)


def test_an_update_needs_the_version_read_and_loses_to_a_concurrent_one(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        made = problem(uow)
        uow.commit()
    confirmed = attrs.evolve(made, state=ProblemState.CONFIRMED, version=2, confirmed_by="ann")
    with uow_factory() as uow:
        with pytest.raises(ConcurrencyError):
            uow.problems.update(attrs.evolve(made, version=3))
        uow.problems.update(confirmed)
        assert uow.problems.find((ProblemState.CONFIRMED,)) == [confirmed]
        with uow_factory() as other:
            other.problems.update(attrs.evolve(made, title="raced", version=2))
            other.commit()
        with pytest.raises(ConcurrencyError):
            uow.commit()
    with uow_factory() as uow:
        assert uow.problems.get(made.id).title == "raced"


def test_linked_appeals_and_outcomes_tell_what_a_resolution_has_left(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        made = problem(uow)
        linked = appeals(uow, 4, system_problem_id=made.id)
        appeals(uow, 2)
        uow.commit()
    ids = [a.id for a in linked]
    with uow_factory() as uow:
        assert uow.problems.linked(made.id) == ids
        assert uow.problems.linked(made.id, after=ids[0], limit=2) == ids[1:3]
        done = ProblemOutcome(problem_id=made.id, appeal_id=ids[0], ok=True, at=T0, version=3)
        uow.problems.record(done)
        assert uow.problems.unresolved(made.id, 10) == ids[1:]
        with pytest.raises(ConcurrencyError):
            uow.problems.record(done)
        uow.commit()
    with uow_factory() as uow:
        failed = ProblemOutcome(
            problem_id=made.id,
            appeal_id=ids[1],
            ok=False,
            at=T0,
            error="no transition",
            error_type="WorkflowError",
        )
        uow.problems.record(failed)
        assert uow.problems.unresolved(made.id, 1) == [ids[2]]
        assert uow.problems.outcomes(made.id) == [done, failed]
        uow.commit()
    with uow_factory() as uow:
        # Committed before: never twice (refused at once, or by the commit).
        late = ProblemOutcome(problem_id=made.id, appeal_id=ids[2], ok=True, at=T0, version=2)
        with pytest.raises(ConcurrencyError):  # noqa: PT012 - here or at commit, alike
            uow.problems.record(late)
            uow.problems.record(done)
            uow.commit()
    with uow_factory() as uow:
        assert uow.problems.outcomes(made.id) == [done, failed]
        # A staged link counts before the commit.
        moved = uow.appeals.get(ids[3])
        moved.system_problem_id = None
        uow.appeals.update(moved)
        assert uow.problems.linked(made.id) == ids[:3]


def test_matching_finds_open_unlinked_appeals_in_the_window(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        made = problem(uow)
        free = appeals(uow, 5)
        appeals(uow, 2, topic="BILL")
        appeals(uow, 1, system_problem_id=made.id)
        done = appeals(uow, 1)[0]
        uow.commit()
    with uow_factory() as uow:
        closed = uow.appeals.get(done.id)
        closed.close(T0)
        uow.appeals.update(closed)
        uow.commit()
    rule = compile_rule('Appeal.Topic.Code = "NO_NET"')

    def check(a: Appeal) -> bool:
        return a.topic == "NO_NET"

    ids = [a.id for a in free]
    with uow_factory() as uow:
        assert uow.problems.matching(rule, None, None, check, 100) == ids
        assert uow.problems.matching(rule, None, None, check, 2) == ids[:2]
        window = (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
        assert uow.problems.matching(rule, *window, check, 100) == ids[1:3]
        assert len(uow.problems.matching(None, None, None, lambda a: True, 100)) == 7
