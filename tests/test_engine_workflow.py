"""Engine behaviour beyond the seed route: templates, policy, handlers, children, bulk, SLA."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crmcms import (
    Client,
    ConcurrencyError,
    Integration,
    PermissionDeniedError,
    PluginError,
    ValidationError,
    WorkflowError,
)
from crmcms.engine import AppealDraft, NotificationKind, SlaLevel, add_business_time
from crmcms.model import (
    AttributeDef,
    AttributeGroup,
    AttributeOverride,
    Catalog,
    Channel,
    ContactPlace,
    ContactTemplate,
    Deadline,
    Dictionary,
    DictionaryKind,
    Flag,
    Handler,
    HandlerEvent,
    Operator,
    Process,
    Queue,
    QueueMember,
    Route,
    Rule,
    Topic,
    TopicGroup,
    Transition,
    ValueType,
)
from crmcms.testing.engine import FakeBilling, make_engine

YES = Flag(True)


def catalog(*, children_may_stay_open: bool = False, fail_on_enter: bool = False) -> Catalog:
    enter = (Handler(HandlerEvent.PROCESS_ENTERED, "explode"),) if fail_on_enter else ()
    route = Route(
        "R",
        "Repair",
        initial="new",
        topics=("REPAIR", "CHECK"),
        merge_common_attributes=True,
        processes=(
            Process("new", "New"),
            Process(
                "work",
                "Work",
                deadline=Deadline(
                    timedelta(hours=8),
                    warn_before=timedelta(hours=2),
                    notify=("lead",),
                    escalate_to=("boss",),
                ),
                overrides=(AttributeOverride("NOTE", read_only=YES),),
                handlers=enter,
            ),
            Process("auto", "Checked"),
            Process("done", "Done", final=True),
        ),
        transitions=(
            Transition(
                "start",
                "Start",
                "new",
                "work",
                handlers=(Handler(HandlerEvent.HAND_OVER, "call", {"function": '"audit"'}),),
            ),
            Transition("check", "Auto check", "work", "auto", rule="URGENT", automatic=True),
            Transition("finish", "Finish", "work", "done"),
            Transition("finish2", "Finish", "auto", "done"),
        ),
        deadline=Deadline(timedelta(days=3), business_time=True),
        close_with_open_children=children_may_stay_open,
    )
    group = TopicGroup("G", "Group", attributes=(AttributeDef("NOTE", "Note", ValueType.STRING),))
    topics = (
        Topic(
            "REPAIR",
            "Repair",
            group="G",
            attributes=(
                AttributeDef("PHONE", "Phone", ValueType.STRING, mask="+7 (999) 999-99-99"),
                AttributeDef("CODE", "Code", ValueType.STRING, regex="[A-Z]{3}"),
                AttributeDef("URGENT", "Urgent", ValueType.BOOLEAN, default="false"),
                AttributeDef(
                    "SUM", "Sum", ValueType.DECIMAL, required=Flag(True, 'Client.Category = "VIP"')
                ),
                AttributeDef("DAY", "Day", ValueType.DATE, computed_default="today() + 1d"),
                AttributeDef("TARIFF", "Tariff", ValueType.REFERENCE, dictionary="TARIFF"),
                AttributeDef("OLD", "Old", ValueType.STRING, active=False),
                AttributeDef("SECRET", "Secret", ValueType.STRING, hidden=YES),
            ),
            attribute_groups=(AttributeGroup("B", "Block", attributes=("CODE",), read_only=YES),),
        ),
        Topic("CHECK", "Check", group="G"),
        Topic("OTHER", "Other"),
    )
    return Catalog(
        dictionaries=(Dictionary("TARIFF", "Tariffs", DictionaryKind.EXTERNAL, source="BIS"),),
        places=(ContactPlace("CC", "Call centre"), ContactPlace("SHOP", "Shop")),
        channels=(Channel("PHONE", "Phone"), Channel("VISIT", "Visit")),
        topic_groups=(group,),
        topics=topics,
        rules=(Rule("URGENT", "Urgent", "Appeal.Attribute[URGENT] = true"),),
        routes=(route,),
        queues=(
            Queue("IN", "Incoming", processes=("new",)),
            Queue(
                "TEAM",
                "Team",
                members=(QueueMember.role("FIX"),),
                administrators=("boss",),
                processes=("work", "auto", "done"),
            ),
        ),
        operators=(
            Operator("ann", "Ann", roles=("FIX",), template="T"),
            Operator("joe", "Joe"),
            Operator("boss", "Boss", roles=("FIX",)),
        ),
        templates=(
            ContactTemplate(
                "T",
                "Shop",
                places=("SHOP",),
                default_place="SHOP",
                channel="VISIT",
                topics=("REPAIR", "CHECK"),
                default_topic="REPAIR",
            ),
        ),
    )


CLIENTS = (Client(1, "A", category="BIS"), Client(2, "B", category="VIP"))


def audit(call):  # type: ignore[no-untyped-def]
    AUDIT.append((call.event, call.appeal.id, call.transition))


AUDIT: list[object] = []


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    AUDIT.clear()
    billing = FakeBilling(
        CLIENTS, dictionaries={"TARIFF": [("T1", "Basic")]}, functions={"audit": audit}
    )
    return make_engine(catalog(), billing)


def new(engine, values=None, client_id=1, **kw):  # type: ignore[no-untyped-def]
    reg = engine.register_contact(
        "ann", client_id=client_id, drafts=[AppealDraft("REPAIR", values or {}, **kw)]
    )
    return reg.appeals[0]


def test_template_fills_defaults_and_bounds_values(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    reg = engine.register_contact("ann", client_id=1, drafts=[AppealDraft()])
    assert (reg.contact.place, reg.contact.channel) == ("SHOP", "VISIT")
    with pytest.raises(ValidationError) as info:
        engine.register_contact("ann", place="CC", channel="FAX", drafts=[AppealDraft("OTHER")])
    assert set(info.value.codes()) == {"place", "channel"}


def test_without_template_default_topic_is_required(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    with pytest.raises(ValidationError, match="topic"):
        engine.register_contact("joe", place="CC", channel="PHONE", drafts=[AppealDraft()])


def test_defaults_and_every_value_check(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, clock = world
    appeal = new(engine, {"PHONE": "+7 (912) 345-67-89", "TARIFF": "T1"})
    assert appeal.values["URGENT"] is False
    # today() in rules reads the engine's clock: the time of the action
    assert appeal.values["DAY"] == clock.now.date() + timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        new(
            engine,
            {"PHONE": "12", "TARIFF": "T9", "OLD": "x", "SUM": "1", "NOPE": 1, "SECRET": "s"},
        )
    assert set(info.value.codes()) == {"PHONE", "TARIFF", "OLD", "SUM", "NOPE", "SECRET"}


def test_conditional_required_and_group_read_only(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    with pytest.raises(ValidationError) as info:
        new(engine, {"CODE": "ABC"}, client_id=2)
    assert set(info.value.codes()) == {"SUM", "CODE"}
    appeal = new(engine, {"SUM": Decimal("10")}, client_id=2)
    assert appeal.values["SUM"] == Decimal("10")


def test_override_makes_an_attribute_read_only_in_a_process(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    appeal = new(engine, {"NOTE": "first"})
    engine.transition(appeal.id, "ann", "start")
    with pytest.raises(ValidationError, match="read-only"):
        engine.update_values(appeal.id, "ann", {"NOTE": "second"})
    view = {s.code: s for s in engine.attributes(appeal.id, "ann")}
    assert view["NOTE"].read_only
    assert view["NOTE"].common  # REPAIR and CHECK share it: the route merges them
    assert next(iter(view)) == "NOTE"
    assert "SECRET" not in view
    assert not view["OLD"].editable


def test_business_functions_run_and_automatic_transitions_fire(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    appeal = new(engine)
    engine.transition(appeal.id, "ann", "start")
    assert [(HandlerEvent.HAND_OVER, appeal.id, "start")] == AUDIT
    moved = engine.update_values(appeal.id, "ann", {"URGENT": True})
    assert moved.process == "auto"
    assert engine.history(appeal.id)[-1].operator is None  # the system took it


def test_a_failing_handler_rolls_the_transition_back() -> None:
    billing = FakeBilling(
        CLIENTS, actions={"explode": lambda call: 1 / 0}, functions={"audit": audit}
    )
    engine, _, _ = make_engine(catalog(fail_on_enter=True), billing)
    appeal = new(engine)
    with pytest.raises(PluginError):
        engine.transition(appeal.id, "ann", "start")
    assert engine.appeal(appeal.id) == appeal
    assert len(engine.history(appeal.id)) == 1


def test_children_block_closing_unless_the_route_allows(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    parent = new(engine)
    child = engine.create_child(parent.id, "ann", "CHECK")
    assert child.parent_id == parent.id
    with pytest.raises(WorkflowError, match="child"):
        engine.close(parent.id, "ann")
    engine.close(child.id, "ann")
    assert engine.close(parent.id, "ann").process == "done"
    relaxed, _, _ = make_engine(catalog(children_may_stay_open=True), FakeBilling(CLIENTS))
    p = new(relaxed)
    relaxed.create_child(p.id, "ann", "CHECK")
    assert not relaxed.close(p.id, "ann").is_open


def test_a_child_is_not_reopened_under_a_closed_parent(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    parent = new(engine)
    child = engine.create_child(parent.id, "ann", "CHECK")
    engine.close(child.id, "ann")
    engine.close(parent.id, "ann")
    before, history = engine.appeal(child.id), engine.history(child.id)
    with pytest.raises(WorkflowError, match=f"child of appeal {parent.id}, which is closed"):
        engine.reopen(child.id, "boss", "client called back")
    assert (engine.appeal(child.id), engine.history(child.id)) == (before, history)
    engine.reopen(parent.id, "boss", "client called back")
    assert engine.reopen(child.id, "boss", "client called back").is_open
    # Where the route lets a parent close with open children, a child may reopen under it.
    relaxed, _, _ = make_engine(catalog(children_may_stay_open=True), FakeBilling(CLIENTS))
    p = new(relaxed)
    c = relaxed.create_child(p.id, "ann", "CHECK")
    relaxed.close(c.id, "ann")
    relaxed.close(p.id, "ann")
    assert relaxed.reopen(c.id, "boss", "client called back").is_open


def test_reopen_and_deadlines_are_for_administrators(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, clock = world
    appeal = engine.transition(new(engine).id, "ann", "start")
    closed = engine.close(appeal.id, "ann")
    with pytest.raises(PermissionDeniedError):
        engine.reopen(closed.id, "ann", "client called back")
    with pytest.raises(ValidationError):
        engine.reopen(closed.id, "boss", " ")
    again = engine.reopen(closed.id, "boss", "client called back")
    assert (again.process, again.is_open) == ("work", True)
    later = clock.now + timedelta(days=10)
    changed = engine.change_deadlines(again.id, "boss", deadline=later, reason="agreed")
    assert changed.deadline == later
    with pytest.raises(PermissionDeniedError):
        engine.change_deadlines(again.id, "ann", deadline=None, reason="x")


def test_stale_versions_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    appeal = new(engine)
    engine.update_values(appeal.id, "ann", {"NOTE": "a"}, expected_version=appeal.version)
    with pytest.raises(ConcurrencyError):
        engine.update_values(appeal.id, "ann", {"NOTE": "b"}, expected_version=appeal.version)


def test_bulk_keeps_successes_and_reports_failures(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    ids = [new(engine).id for _ in range(3)]
    engine.transition(ids[1], "ann", "start")
    # Bulk work is for queue administrators: an operator's roles do not grant it.
    with pytest.raises(PermissionDeniedError) as refused:
        engine.bulk_transition(ids, "ann", "start")
    assert refused.value.permission == "bulk"
    result = engine.bulk_transition([*ids, 999], "boss", "start")
    assert result.succeeded == (ids[0], ids[2])
    assert [i.appeal_id for i in result.failed] == [ids[1], 999]
    assert result.failed[1].error_type == "NotFoundError"
    assert engine.bulk_assign(ids, "boss", "ann").succeeded == tuple(ids)
    assert engine.bulk_close(ids, "boss").succeeded == tuple(ids)


def test_sla_scan_warns_then_escalates_once(world) -> None:  # type: ignore[no-untyped-def]
    engine, billing, clock = world
    appeal = engine.transition(new(engine).id, "ann", "start")
    assert engine.scan_deadlines() == []
    clock.advance(hours=7)
    [warning] = engine.scan_deadlines()
    assert (warning.level, warning.scope, warning.notified) == (SlaLevel.AT_RISK, "process", True)
    assert engine.scan_deadlines() == []  # each level fires once
    clock.advance(hours=2)
    [broken] = engine.scan_deadlines()
    assert broken.level is SlaLevel.OVERDUE
    # Once each: one message per recipient, so a recipient seen twice was told twice.
    sent = [(n.kind, n.recipients) for n in billing.notifications if n.appeal_id == appeal.id]
    assert len(sent) == len(set(sent))
    warned = [r for kind, r in sent if kind is NotificationKind.DEADLINE_WARNING]
    escalated = [r for kind, r in sent if kind is NotificationKind.ESCALATION]
    assert len(warned) == 1
    assert ("boss",) in escalated


def test_business_days_skip_weekends() -> None:
    friday = datetime(2026, 3, 6, 16, tzinfo=UTC)
    assert add_business_time(friday, timedelta(days=2)) == datetime(2026, 3, 10, 16, tzinfo=UTC)
    saturday = datetime(2026, 3, 7, 10, tzinfo=UTC)
    assert add_business_time(saturday, timedelta(days=1)) == datetime(2026, 3, 10, tzinfo=UTC)
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert add_business_time(monday, timedelta(days=12)) == datetime(2026, 3, 18, tzinfo=UTC)


def test_route_deadline_in_business_days(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, clock = world
    clock.now = datetime(2026, 3, 6, 9, tzinfo=UTC)  # a Friday
    assert new(engine).deadline == datetime(2026, 3, 11, 9, tzinfo=UTC)


def test_integration_facade_is_idempotent(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    api = Integration(engine, "ann")
    params = {"topic": "REPAIR", "client_id": 1, "attributes": {"DAY": "2026-05-01"}}
    first = api.create_appeal(params, idempotency_key="k1")
    again = api.create_appeal(params, idempotency_key="k1")
    assert first == again
    assert len(engine.queue_appeals("IN")) == 1
    with pytest.raises(ValidationError, match="another request"):
        api.create_appeal({**params, "topic": "CHECK"}, idempotency_key="k1")
    with pytest.raises(ValidationError) as info:
        api.create_appeal({"topic": "REPAIR", "attributes": {"DAY": "soon", "SECRET": "x"}})
    assert set(info.value.codes()) == {"DAY"}
    edited = api.edit_appeal(first["appeal_id"], {"NOTE": "from CRM"}, idempotency_key="e1")
    assert edited["version"] == 2
    moved = api.external_event(first["appeal_id"], "start", idempotency_key="m1")
    assert moved["process"] == "work"
    assert api.external_event(first["appeal_id"], "start", idempotency_key="m1") == moved
    assert api.appeal(first["appeal_id"])["attributes"]["DAY"] == "2026-05-01"
    with pytest.raises(ValidationError, match="hidden"):
        api.edit_appeal(first["appeal_id"], {"SECRET": "x"})
    assert date(2026, 5, 1) == engine.appeal(first["appeal_id"]).values["DAY"]
