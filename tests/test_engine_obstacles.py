"""Workflow rules and handlers, checked on inputs built directly (no unit of work)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcms import Client, NotFoundError, PermissionDeniedError, WorkflowError
from crmcms.dsl import load_catalog_text
from crmcms.engine.handlers import run_handlers
from crmcms.engine.notifications import Notification, NotificationKind
from crmcms.engine.obstacles import (
    ObstacleKind,
    Requirements,
    ensure_allowed,
    find_obstacles,
    refusal,
)
from crmcms.engine.plans import Plans
from crmcms.engine.policy import AttributePolicy
from crmcms.engine.queues import QueueIndex
from crmcms.engine.rules import RuleBook, engine_schema
from crmcms.model import (
    Appeal,
    AppealState,
    Catalog,
    Handler,
    HandlerEvent,
    Operator,
    Principal,
    Route,
)
from crmcms.plugins import make_plugin_manager
from crmcms.testing.engine import FakeBilling, make_engine

DEFINITIONS = """
topic T "T" { attribute A "A": string required }
rule BIS "BIS clients": Client.Category = "BIS"
queue OPEN "Open" {
    processes: a
}
queue TEAM "Team" {
    members: olga
    admins: boss
    processes: b, c
}
place kind CALL_CENTRE "Call centre"
place CC "Contact centre" kind CALL_CENTRE
channel PHONE "Phone"
operator olga "Olga"
operator pavel "Pavel"
operator boss "Boss"
route R "R" {
    topics: T
    process a "A" initial
    process b "B"
    process c "C" final
    transition go a -> b "Go" when BIS
    transition done b -> c "Done"
    transition auto b -> c "Auto" automatic when Client.Category = "VIP"
}
"""

CATALOG = load_catalog_text(DEFINITIONS)
RULES = RuleBook(CATALOG, engine_schema(make_plugin_manager(load_entry_points=False), CATALOG))
PLANS = Plans(CATALOG, RULES)
PLAN = PLANS["R", 1]
OLGA, PAVEL, BOSS = (CATALOG.principal(login) for login in ("olga", "pavel", "boss"))
BIS = {"Client": {"Category": "BIS"}}
VIP = {"Client": {"Category": "VIP"}}
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Definitions:
    """What the checks read of the definitions, made from the catalog alone."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.queues = QueueIndex(catalog)
        self.policy = AttributePolicy(catalog, RULES)

    def route(self, code: str, version: int) -> Route:
        return self.catalog.route(code, version)


class Appeals(dict[int, Appeal]):
    """Parents and children by id, as the appeal repository answers."""

    def get(self, appeal_id: int) -> Appeal:  # type: ignore[override]
        return self[appeal_id]

    def children(self, parent_id: int) -> list[Appeal]:
        return [a for a in self.values() if a.parent_id == parent_id]


DEFS = Definitions(CATALOG)


def appeal(
    process: str = "a", queue: str = "OPEN", *, filled: bool = True, **fields: Any
) -> Appeal:
    values: dict[str, Any] = {"A": "x"} if filled else {}
    known: dict[str, Any] = {"id": 1, "contact_id": 1, "topic": "T", "route": "R"}
    known.update(route_version=1, operator="olga", registered_at=AT, values=values)
    return Appeal(**{**known, "process": process, "queue": queue, **fields})


def kinds(
    needs: Requirements,
    subject: Appeal,
    operator: Principal | None,
    data: Any = BIS,
    related: Appeals | None = None,
) -> list[ObstacleKind]:
    found = find_obstacles(needs, subject, operator, data, DEFS, related or Appeals())
    return [o.kind for o in found]


def test_nothing_stands_in_the_way_of_an_allowed_transition() -> None:
    assert kinds(PLAN.transitions["go"].needs, appeal(), OLGA) == []
    assert kinds(PLAN.transitions["done"].needs, appeal("b", "TEAM"), OLGA) == []


def test_every_obstacle_of_a_transition_in_order_and_the_first_alone() -> None:
    needs = PLAN.transitions["auto"].needs
    subject = appeal("b", "TEAM", filled=False, state=AppealState.CLOSED)
    child = appeal("a", id=2, parent_id=1)
    related = Appeals({2: child})
    expected = [
        ObstacleKind.CLOSED,
        ObstacleKind.NOT_MEMBER,
        ObstacleKind.AUTOMATIC,
        ObstacleKind.REQUIRED_EMPTY,
        ObstacleKind.CHILDREN_OPEN,
    ]
    assert kinds(needs, subject, PAVEL, VIP, related) == expected
    first = find_obstacles(needs, subject, PAVEL, VIP, DEFS, related, True)
    assert [o.kind for o in first] == [ObstacleKind.CLOSED]


def test_a_false_rule_says_which_condition_and_the_value_it_read() -> None:
    [obstacle] = find_obstacles(PLAN.transitions["go"].needs, appeal(), OLGA, VIP, DEFS, Appeals())
    assert obstacle.kind is ObstacleKind.RULE_FALSE
    assert obstacle.message.startswith("rule BIS (BIS clients) is false: ")
    assert "VIP" in obstacle.message


def test_queue_membership_the_responsible_open_queues_and_the_system() -> None:
    needs = PLAN.transitions["done"].needs
    assert kinds(needs, appeal("b", "TEAM"), PAVEL) == [ObstacleKind.NOT_MEMBER]
    assert kinds(needs, appeal("b", "TEAM"), BOSS) == []  # an administrator works in it
    assert kinds(needs, appeal("b", "TEAM", responsible="pavel"), PAVEL) == []
    assert kinds(needs, appeal("b", "OPEN"), PAVEL) == []
    assert kinds(needs, appeal("b", "TEAM"), None) == []
    [obstacle] = find_obstacles(needs, appeal("b", "TEAM"), PAVEL, BIS, DEFS, Appeals())
    assert obstacle.message == "pavel is not a member of queue TEAM (Team)"


def test_only_the_system_takes_an_automatic_transition() -> None:
    needs = PLAN.transitions["auto"].needs
    assert kinds(needs, appeal("b", "TEAM"), OLGA, VIP) == [ObstacleKind.AUTOMATIC]
    assert kinds(needs, appeal("b", "TEAM"), None, VIP) == []


def test_required_attributes_name_their_codes() -> None:
    [obstacle] = find_obstacles(
        PLAN.closing, appeal("b", "TEAM", filled=False), OLGA, BIS, DEFS, Appeals()
    )
    assert (obstacle.kind, obstacle.subjects) == (ObstacleKind.REQUIRED_EMPTY, ("A",))


def test_open_children_block_closing_unless_the_route_allows() -> None:
    related = Appeals({2: appeal(id=2, parent_id=1)})
    assert kinds(PLAN.closing, appeal("b", "TEAM"), OLGA, BIS, related) == [
        ObstacleKind.CHILDREN_OPEN
    ]
    relaxed = Requirements(work=True, closes=True, open_children_allowed=True)
    assert kinds(relaxed, appeal("b", "TEAM"), OLGA, BIS, related) == []
    closed_child = Appeals({2: appeal(id=2, parent_id=1, state=AppealState.CLOSED)})
    assert kinds(PLAN.closing, appeal("b", "TEAM"), OLGA, BIS, closed_child) == []


REOPENING = Requirements(state=AppealState.CLOSED, administer=True, under_parent=True)


def test_reopening_needs_a_closed_appeal_an_administrator_and_an_open_parent() -> None:
    closed = appeal("c", "TEAM", state=AppealState.CLOSED, parent_id=5)
    parent = appeal("c", "TEAM", id=5, state=AppealState.CLOSED)
    related = Appeals({5: parent})
    assert kinds(REOPENING, closed, BOSS, {}, related) == [ObstacleKind.PARENT_CLOSED]
    assert kinds(REOPENING, closed, BOSS, {}, Appeals({5: appeal(id=5)})) == []
    assert kinds(REOPENING, appeal("b", "TEAM"), OLGA, {}, related) == [
        ObstacleKind.OPEN,
        ObstacleKind.NOT_ADMINISTRATOR,
    ]


def test_one_fault_one_error_class() -> None:
    member = find_obstacles(PLAN.closing, appeal("b", "TEAM"), PAVEL, BIS, DEFS, Appeals())
    assert isinstance(refusal(member, PAVEL, "close appeal 1"), PermissionDeniedError)
    empty = find_obstacles(
        PLAN.closing, appeal("b", "TEAM", filled=False), OLGA, BIS, DEFS, Appeals()
    )
    error = refusal(empty, OLGA, "close appeal 1")
    assert type(error) is WorkflowError
    assert str(error) == "olga may not close appeal 1: required attributes are not filled: A"


def test_an_action_is_refused_with_its_obstacles_refusal_and_allowed_otherwise() -> None:
    needs = PLAN.closing
    ensure_allowed(needs, appeal("b", "TEAM"), OLGA, BIS, DEFS, Appeals(), "close appeal {}", 1)
    with pytest.raises(PermissionDeniedError, match="pavel is not a member of queue TEAM"):
        ensure_allowed(needs, appeal("b", "TEAM"), PAVEL, BIS, DEFS, Appeals(), "close {}", 1)
    subject = appeal("b", "TEAM", filled=False)
    found = find_obstacles(needs, subject, OLGA, BIS, DEFS, Appeals())
    with pytest.raises(WorkflowError) as info:
        ensure_allowed(needs, subject, OLGA, BIS, DEFS, Appeals(), "close appeal {}", 1)
    assert type(info.value) is WorkflowError
    assert str(info.value) == str(refusal(found, OLGA, "close appeal 1"))


@given(
    st.sampled_from(sorted(PLAN.transitions)),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["OPEN", "TEAM"]),
    st.sampled_from([None, OLGA, PAVEL, BOSS]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from([BIS, VIP]),
)
def test_the_first_obstacle_is_the_first_of_all(  # type: ignore[no-untyped-def]
    code, process, queue, operator, closed, filled, with_child, data
) -> None:
    state = AppealState.CLOSED if closed else AppealState.OPEN
    subject = appeal(process, queue, filled=filled, state=state)
    related = Appeals({2: appeal(id=2, parent_id=1)} if with_child else {})
    needs = PLAN.transitions[code].needs
    every = find_obstacles(needs, subject, operator, data, DEFS, related)
    assert find_obstacles(needs, subject, operator, data, DEFS, related, True) == every[:1]


def test_close_and_a_transition_refuse_the_same_fault_with_the_same_class() -> None:
    clients = [Client(1, "Client", category="BIS", region="Moscow")]
    engine, _, _ = make_engine(CATALOG, FakeBilling(clients))
    contact = engine.register_contact("olga", place="CC", channel="PHONE", client_id=1).contact
    subject = engine.register_appeal(contact.id, "olga", "T", {"A": "x"})
    subject = engine.transition(subject.id, "olga", "go")
    child = engine.create_child(subject.id, "olga", "T", {"A": "y"})
    [done, _] = engine.available_transitions(subject.id, "olga")
    assert [o.kind for o in done.obstacles] == [ObstacleKind.CHILDREN_OPEN]
    with pytest.raises(WorkflowError, match=f"child appeals are open: {child.id}"):
        engine.transition(subject.id, "olga", "done")
    with pytest.raises(WorkflowError, match=f"child appeals are open: {child.id}"):
        engine.close(subject.id, "olga")
    # Outside the queue the appeal is not there at all, whichever way one asks.
    with pytest.raises(NotFoundError, match=f"appeal {subject.id} not found"):
        engine.close(subject.id, "pavel")
    with pytest.raises(NotFoundError, match=f"appeal {subject.id} not found"):
        engine.transition(subject.id, "pavel", "done")


class Scope:
    """An action as handlers see it (:class:`~crmcms.engine.scope.ActionScope`), kept in lists."""

    now = AT
    catalog = CATALOG
    rules = RULES

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.hooks: list[str] = []

    def data(self, appeal: Appeal, operator: Operator | None = None, live: bool = False) -> Any:
        return BIS

    def event(self, *args: Any) -> Any:
        raise AssertionError("handlers record no events")

    def notify(self, notification: Notification) -> None:
        self.sent.append(notification)

    def hook(self, name: str, **kwargs: Any) -> Any:
        self.hooks.append(name)
        return [{"audit": lambda call: self.sent.append(call.arguments["what"])}]


def test_handlers_run_on_a_scope_without_a_unit_of_work() -> None:
    scope = Scope()
    handlers = (
        Handler(HandlerEvent.HAND_OVER, "notify", {"to": '"TEAM"', "text": "Client.Category"}),
        Handler(HandlerEvent.HAND_OVER, "audit", {"what": '"moved"'}),
    )
    run_handlers(scope, appeal(), HandlerEvent.HAND_OVER, handlers, BIS, operator="olga")
    [sent, audited] = scope.sent
    assert isinstance(sent, Notification)
    assert (sent.kind, sent.to, sent.text) == (NotificationKind.HAND_OVER, ("TEAM",), "BIS")
    assert audited == "moved"
    assert scope.hooks == ["crmcms_handler_actions"]
