"""System problems: linking by rule and by hand, bulk resolution resumed after a crash."""

from __future__ import annotations

import pathlib
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcms import AppealDraft, Client, Engine, Principal
from crmcms.dsl import load_catalog_text
from crmcms.engine import problems as problem_steps
from crmcms.errors import (
    DefinitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    WorkflowError,
)
from crmcms.model import HistoryKind, NotificationKind, ProblemState
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.storage.schema import client as client_table
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

DEFINITIONS = """
dictionary REGIONS "Regions" {
    MSK "Moscow"
    PSK "Pskov"
}
problem attribute REGION "Region": REGIONS required
problem attribute ETA "Expected repair": date
topic NO_NET "No connection"
topic BILL "Billing question"
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
operator ann "Ann" { template: T }
role DESK "Front desk" { permissions: register }
operator desk "Desk" {
    roles: DESK
    template: T
}
operator pm "Problem manager" {
    roles: SYSTEM_PROBLEM_MANAGER
    template: T
}
queue LINE "First line" {
    members: ann
    processes: new, done, open, closed
}
route R "Repair" {
    topics: NO_NET
    process new "New" initial
    process done "Done" final
    transition fixed new -> done "Fixed"
}
route B "Billing" {
    topics: BILL
    process open "Open" initial
    process closed "Closed" final
    transition settle open -> closed "Fixed"
}
"""

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
RULE = 'Client.Region = "Pskov" and Appeal.Topic.Code = "NO_NET"'
# Link matching runs in SQL, where Client.* reads the client table: a rule on the
# appeal's own fields means the same in every store.
SQL_RULE = 'Appeal.Topic.Code = "NO_NET"'

World = tuple[Engine, ManualClock, FakeBilling, dict[str, Principal]]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> World:
    clock = ManualClock(MONDAY)
    billing = FakeBilling(
        [
            Client(1, "ООО Ромашка", region="Pskov"),
            Client(2, "ИП Лютик", region="Moscow"),
        ]
    )
    plugins = make_plugin_manager([billing], load_entry_points=False)
    if request.param == "memory":
        factory = MemoryStore().unit_of_work
    elif request.param == "sqlite":
        factory = SqlStore(f"sqlite:///{tmp_path / 'crm.sqlite'}").unit_of_work
    else:
        factory = SqlStore(str(request.getfixturevalue("postgres_url"))).unit_of_work
    engine = Engine(
        load_catalog_text(DEFINITIONS), factory, plugins=plugins, clock=clock, trust_logins=True
    )
    return engine, clock, billing, {login: engine.trusted(login) for login in ("ann", "pm")}


def register(engine: Engine, who: Principal, client_id: int = 1, topic: str = "NO_NET") -> Any:
    return engine.register_contact(
        who, place="CC", channel="PHONE", client_id=client_id, drafts=[AppealDraft(topic)]
    )


def outage(engine: Engine, who: Principal, **given: Any) -> Any:
    return engine.problems.register(
        who["pm"], "No network in Pskov", values={"REGION": "PSK"}, **{"rule": RULE, **given}
    )


def test_matching_appeals_are_linked_as_they_are_registered(world: World) -> None:
    engine, clock, _, who = world
    problem = outage(engine, who)
    assert problem.state is ProblemState.REGISTERED
    hit = register(engine, who["ann"])
    assert hit.problems == (problem,)
    assert hit.appeals[0].system_problem_id == problem.id
    assert register(engine, who["ann"], client_id=2).problems == ()  # Moscow
    assert register(engine, who["ann"], topic="BILL").problems == ()
    events = engine.history(hit.appeals[0].id)
    linked = [e for e in events if e.kind is HistoryKind.PROBLEM_LINKED]
    assert len(linked) == 1
    assert linked[0].operator is None
    assert linked[0].changes[0].new == problem.id
    # The window closes: later appeals are not linked, nor are they once it is resolved.
    clock.advance(hours=1)
    later = engine.problems.register(
        who["pm"], "Short outage", values={"REGION": "PSK"}, rule=RULE, until=clock()
    )
    assert register(engine, who["ann"]).problems == (problem,)
    assert engine.problems.linked(later.id) == []  # its window closed before the call
    assert engine.problems.linked(problem.id) == [hit.appeals[0].id, hit.appeals[0].id + 3]


def test_linking_by_hand_is_all_or_nothing(world: World) -> None:
    engine, _, _, who = world
    problem = engine.problems.register(who["pm"], "Billing run", values={"REGION": "MSK"})
    first = register(engine, who["ann"], client_id=2).appeals[0]
    second = register(engine, who["ann"], client_id=2).appeals[0]
    with pytest.raises(NotFoundError):
        engine.problems.link(problem.id, [first.id, 999], who["pm"])
    assert engine.problems.linked(problem.id) == []
    linked = engine.problems.link(problem.id, [first.id, second.id], who["pm"])
    assert [a.id for a in linked] == [first.id, second.id]
    assert engine.problems.link(problem.id, [first.id], who["pm"]) == []  # once only
    other = engine.problems.register(who["pm"], "Another", values={"REGION": "MSK"})
    with pytest.raises(WorkflowError, match="unlink it first"):
        engine.problems.link(other.id, [first.id], who["pm"])
    engine.problems.unlink(problem.id, [first.id], who["pm"])
    with pytest.raises(WorkflowError, match="not linked"):
        engine.problems.unlink(problem.id, [first.id], who["pm"])
    assert engine.problems.linked(problem.id) == [second.id]
    kinds = [e.kind for e in engine.history(first.id)]
    assert kinds.count(HistoryKind.PROBLEM_LINKED) == 1
    assert kinds.count(HistoryKind.PROBLEM_UNLINKED) == 1
    with pytest.raises(NotFoundError):
        engine.problems.link(999, [first.id], who["pm"])
    with pytest.raises(PermissionDeniedError):
        engine.problems.link(problem.id, [first.id], who["ann"])
    # ann reads the problem, and sees only the linked appeals she may read.
    assert engine.problems.get(problem.id, operator=who["ann"]).title == "Billing run"
    assert engine.problems.linked(problem.id, operator=who["ann"]) == [second.id]
    with pytest.raises(PermissionDeniedError):
        engine.problems.find(operator=engine.trusted("desk"))


def test_bad_input_is_refused_with_its_place_and_changes_nothing(world: World) -> None:
    engine, _, _, who = world
    with pytest.raises(ValidationError) as refused:
        engine.problems.register(who["pm"], "x", values={"REGION": "XX", "SPEED": "1"})
    assert {p.code for p in refused.value.problems} == {"REGION", "SPEED"}
    with pytest.raises(ValidationError, match="ETA"):
        engine.problems.register(who["pm"], "x", values={"REGION": "PSK", "ETA": "soon"})
    with pytest.raises(ValidationError, match="REGION"):
        engine.problems.register(who["pm"], "x")  # required
    with pytest.raises(DefinitionError, match="<system problem rule>:1:"):
        engine.problems.register(who["pm"], "x", values={"REGION": "PSK"}, rule="Client.Nope = 1")
    with pytest.raises(ValidationError, match="title"):
        engine.problems.register(who["pm"], "  ", values={"REGION": "PSK"})
    with pytest.raises(PermissionDeniedError):
        engine.problems.register(who["ann"], "x", values={"REGION": "PSK"})
    assert engine.problems.find(operator=who["pm"]) == []


def test_resolving_moves_every_linked_appeal_and_tells_each_client(world: World) -> None:
    engine, _, billing, who = world
    problem = outage(engine, who)
    made = [register(engine, who["ann"]).appeals[0].id for _ in range(5)]
    confirmed = engine.problems.confirm(problem.id, who["pm"])
    assert confirmed.state is ProblemState.CONFIRMED
    seen: list[tuple[int, int]] = []
    resolved = engine.problems.resolve(
        problem.id,
        who["pm"],
        transition="fixed",
        resolution="The cable is repaired",
        batch=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert resolved.problem.state is ProblemState.RESOLVED
    assert not resolved.problem.resolving
    assert resolved.result.succeeded == tuple(made)
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert all(not engine.appeal(i).is_open for i in made)
    engine.deliver_outbox()
    told = [n for n in billing.notifications if n.kind is NotificationKind.PROBLEM_RESOLVED]
    assert sorted(n.appeal_id for n in told if n.appeal_id) == made
    assert told[0].to == ("client:1",)
    assert told[0].text == "The cable is repaired"
    # One notice per client: closing the appeals adds no "result" one beside the problem's.
    results = [n for n in billing.notifications if n.kind is NotificationKind.RESULT]
    assert not [n for n in results if n.appeal_id in made]
    with pytest.raises(WorkflowError, match="already resolved"):
        engine.problems.resolve(problem.id, who["pm"], transition="fixed")
    # New appeals are no longer linked to a resolved problem.
    assert register(engine, who["ann"]).problems == ()
    closed = engine.problems.close(problem.id, who["pm"])
    assert closed.state is ProblemState.CLOSED
    with pytest.raises(WorkflowError):
        engine.problems.close(problem.id, who["pm"])


def test_an_appeal_that_cannot_move_keeps_its_failure_and_the_others_move(world: World) -> None:
    engine, _, _, who = world
    problem = outage(engine, who)
    made = [register(engine, who["ann"]).appeals[0].id for _ in range(3)]
    engine.transition(made[1], who["ann"], "fixed")  # closed before the resolution
    with pytest.raises(ValidationError, match="transition"):
        engine.problems.resolve(problem.id, who["pm"], transition="nope")
    resolved = engine.problems.resolve(problem.id, who["pm"], transition="fixed", batch=10)
    assert resolved.result.succeeded == (made[0], made[2])
    (failed,) = resolved.result.failed
    assert failed.appeal_id == made[1]
    assert failed.error_type == "WorkflowError"


def test_appeals_on_different_routes_move_by_the_transition_of_that_name(world: World) -> None:
    engine, _, _, who = world
    problem = engine.problems.register(who["pm"], "Billing run", values={"REGION": "MSK"})
    repair = register(engine, who["ann"]).appeals[0]
    bill = register(engine, who["ann"], topic="BILL").appeals[0]
    engine.problems.link(problem.id, [repair.id, bill.id], who["pm"])
    resolved = engine.problems.resolve(problem.id, who["pm"], transition="Fixed")
    assert resolved.result.succeeded == (repair.id, bill.id)
    assert engine.appeal(repair.id).process == "done"
    assert engine.appeal(bill.id).process == "closed"


def test_a_resolution_interrupted_goes_on_where_it_stopped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, billing, who = world
    problem = outage(engine, who)
    made = [register(engine, who["ann"]).appeals[0].id for _ in range(12)]
    real = problem_steps.resolve_appeal
    calls = 0

    def crashing(tx: Any, problem: Any, appeal_id: int) -> Any:
        nonlocal calls
        calls += 1
        if calls == 8:  # in the middle of the second batch of five
            raise RuntimeError("the process died")
        return real(tx, problem, appeal_id)

    monkeypatch.setattr(problem_steps, "resolve_appeal", crashing)
    with pytest.raises(RuntimeError):
        engine.problems.resolve(problem.id, who["pm"], transition="fixed", batch=5)
    assert engine.problems.get(problem.id).resolving
    assert [o.appeal_id for o in engine.problems.outcomes(problem.id)] == made[:5]
    assert [engine.appeal(i).is_open for i in made] == [False] * 5 + [True] * 7
    with pytest.raises(WorkflowError, match="without a transition"):
        engine.problems.resolve(problem.id, who["pm"], transition="other")
    monkeypatch.setattr(problem_steps, "resolve_appeal", real)
    resolved = engine.problems.resolve(problem.id, who["pm"])
    assert resolved.result.succeeded == tuple(made)
    assert not resolved.problem.resolving
    for appeal_id in made:
        moves = [e for e in engine.history(appeal_id) if e.kind is HistoryKind.MOVED]
        assert len(moves) == 1
    engine.deliver_outbox()
    told = [
        n.appeal_id for n in billing.notifications if n.kind is NotificationKind.PROBLEM_RESOLVED
    ]
    assert sorted(told) == made  # every client once
    with pytest.raises(WorkflowError, match="already resolved"):
        engine.problems.resolve(problem.id, who["pm"])


def test_link_matching_links_open_appeals_found_by_the_rule(world: World) -> None:
    engine, clock, _, who = world
    before = [register(engine, who["ann"], client_id=c).appeals[0].id for c in (1, 2, 1)]
    register(engine, who["ann"], topic="BILL")
    engine.transition(before[2], who["ann"], "fixed")  # closed: not linked
    problem = engine.problems.register(
        who["pm"], "Outage", values={"REGION": "PSK"}, rule=SQL_RULE, since=MONDAY
    )
    assert engine.problems.linked(problem.id) == []
    assert engine.problems.link_matching(problem.id, who["pm"], batch=1) == before[:2]
    assert engine.problems.link_matching(problem.id, who["pm"]) == []
    clock.advance(minutes=5)
    again = engine.problems.register(
        who["pm"], "Later", values={"REGION": "PSK"}, rule=SQL_RULE, since=clock() + timedelta(1)
    )
    assert engine.problems.confirm(again.id, who["pm"], link_matching=True).id == again.id
    assert engine.problems.linked(again.id) == []


_RULES = ('Appeal.Topic.Code = "NO_NET"', 'Client.Region = "Pskov"', RULE)
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("appeal"), st.sampled_from([1, 2]), st.sampled_from(["NO_NET", "BILL"])),
        st.tuples(st.just("problem"), st.sampled_from(_RULES), st.booleans()),
        st.tuples(st.just("match"), st.integers(0, 5), st.just(None)),
    ),
    max_size=14,
)


def _links_exactly_once(factory: Any, steps: list[Any]) -> None:
    clock = ManualClock(MONDAY)
    billing = FakeBilling([Client(1, "a", region="Pskov"), Client(2, "b", region="Moscow")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(
        load_catalog_text(DEFINITIONS), factory, plugins=plugins, clock=clock, trust_logins=True
    )
    pm, ann = engine.trusted("pm"), engine.trusted("ann")
    rules: dict[int, str] = {}
    appeals: dict[int, tuple[int, str]] = {}
    for kind, first, second in steps:
        clock.advance(minutes=1)
        if kind == "appeal":
            made = register(engine, ann, client_id=first, topic=second).appeals[0]
            appeals[made.id] = (first, second)
        elif kind == "problem":
            problem = engine.problems.register(
                pm, "p", values={"REGION": "PSK"}, rule=first, link_matching=second
            )
            rules[problem.id] = first
        elif rules:
            engine.problems.link_matching(sorted(rules)[first % len(rules)], pm)
    for problem_id in rules:
        engine.problems.link_matching(problem_id, pm)

    def matches(rule: str, client: int, topic: str) -> bool:
        region = "Pskov" if client == 1 else "Moscow"
        return {
            _RULES[0]: topic == "NO_NET",
            _RULES[1]: region == "Pskov",
            _RULES[2]: topic == "NO_NET" and region == "Pskov",
        }[rule]

    for appeal_id, (client, topic) in appeals.items():
        wanted = {p for p, rule in rules.items() if matches(rule, client, topic)}
        linked = engine.appeal(appeal_id).system_problem_id
        kinds = [e.kind for e in engine.history(appeal_id)]
        if wanted:
            assert linked in wanted
            assert kinds.count(HistoryKind.PROBLEM_LINKED) == 1
        else:
            assert linked is None
            assert HistoryKind.PROBLEM_LINKED not in kinds


@settings(max_examples=40, deadline=None)
@given(steps=_STEPS)
def test_every_appeal_matching_an_open_problem_is_linked_exactly_once(steps: list[Any]) -> None:
    _links_exactly_once(MemoryStore().unit_of_work, steps)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """An SQLite file at the current schema whose client table holds the directory's
    clients: where a rule run in SQL reads Client.Region."""
    path = tmp_path_factory.mktemp("problems") / "template.sqlite"
    store = SqlStore(f"sqlite:///{path}")
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(client_table),
            [
                {"id": 1, "name": "a", "category": None, "region": "Pskov", "status": "active"},
                {"id": 2, "name": "b", "category": None, "region": "Moscow", "status": "active"},
            ],
        )
    store.dispose()
    return path


@settings(max_examples=12, deadline=None)
@given(steps=_STEPS)
def test_the_same_holds_when_the_rule_runs_in_sql(
    steps: list[Any], migrated: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("example") / "crm.sqlite"
    shutil.copy(migrated, path)
    store = SqlStore(f"sqlite:///{path}", upgrade=False)
    try:
        _links_exactly_once(store.unit_of_work, steps)
    finally:
        store.dispose()


def test_each_state_of_a_problem_is_in_the_audit() -> None:
    from crmcms.engine import AuditLog
    from crmcms.model import AuditKind
    from crmcms.storage import MemoryLoginStore

    store = MemoryStore()
    audit = AuditLog(MemoryLoginStore(store=store))
    billing = FakeBilling([Client(1, "a", region="Pskov")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(
        load_catalog_text(DEFINITIONS), store.unit_of_work, plugins=plugins, audit=audit
    )
    pm = engine.trusted("pm")
    problem = outage(engine, {"pm": pm})
    engine.problems.confirm(problem.id, pm)
    engine.problems.resolve(problem.id, pm, transition="fixed")
    engine.problems.close(problem.id, pm)
    events = audit.list(kind=AuditKind.SYSTEM_PROBLEM)
    assert [e.outcome for e in reversed(events)] == [
        "registered",
        "confirmed",
        "resolved",
        "closed",
    ]
    assert {e.login for e in events} == {"pm"}


def test_two_managers_resolving_at_once_move_each_appeal_once(world: World) -> None:
    import threading

    from crmcms.errors import ConcurrencyError

    engine, _, billing, who = world
    problem = outage(engine, who)
    made = [register(engine, who["ann"]).appeals[0].id for _ in range(30)]
    errors: list[Exception] = []
    unexpected: list[Exception] = []

    def resolve() -> None:
        try:
            engine.problems.resolve(problem.id, who["pm"], transition="fixed", batch=4)
        except ConcurrencyError as clash:  # both started it at once: one start stands
            errors.append(clash)
        except WorkflowError as late:  # the other had finished it already
            if "already resolved" not in str(late):
                unexpected.append(late)
        except Exception as other:
            unexpected.append(other)

    threads = [threading.Thread(target=resolve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    if engine.problems.get(problem.id).resolving:  # a start refused: go on where it is
        assert errors
        engine.problems.resolve(problem.id, who["pm"])
    for appeal_id in made:
        moves = [e for e in engine.history(appeal_id) if e.kind is HistoryKind.MOVED]
        assert len(moves) == 1
    engine.deliver_outbox()
    resolved_kind = NotificationKind.PROBLEM_RESOLVED
    told = [n.appeal_id for n in billing.notifications if n.kind is resolved_kind]
    assert sorted(told) == made
    assert not engine.problems.get(problem.id).resolving
