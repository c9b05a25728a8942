"""Route fields the definition language needs: queue policy, automatic moves, dropped processes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmcms.errors import ValidationError
from crmcms.model import Deadline, Process, QueuePolicy, Route, Transition
from crmcms.serialization import dump, load


def _route(**changes: object) -> Route:
    fields: dict[str, object] = {
        "code": "R",
        "name": "R",
        "initial": "a",
        "topics": ("T",),
        "processes": (
            Process("a", "A", queues=("Q1", "Q2")),
            Process("b", "B", queue_policy=QueuePolicy.KEEP),
            Process("z", "Z", final=True),
        ),
        "transitions": (Transition("t", "T", "a", "z", automatic=True),),
        "moved_processes": {"old": "b"},
    }
    fields.update(changes)
    return Route(**fields)  # type: ignore[arg-type]


def test_new_route_fields_round_trip_as_documents() -> None:
    route = _route()
    assert route.moved_processes == {"old": "b"}
    assert route.transition("t").automatic
    assert route.process("b").queue_policy is QueuePolicy.KEEP
    assert load(dump(route), Route) == route


def test_moved_processes_must_land_in_a_defined_process() -> None:
    with pytest.raises(ValidationError, match="move to undefined 'nowhere'"):
        _route(moved_processes={"old": "nowhere"})


def test_a_process_that_keeps_its_queue_lists_none() -> None:
    with pytest.raises(ValidationError, match="keeps the queue"):
        Process("p", "P", queue_policy=QueuePolicy.KEEP, queues=("Q",))


def test_business_time_deadline() -> None:
    deadline = Deadline(timedelta(days=2), business_time=True)
    assert load(dump(deadline), Deadline) == deadline
