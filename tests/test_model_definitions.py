"""Definitions refuse local inconsistencies at construction, with readable messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given

from crmcms.errors import ValidationError, WorkflowError
from crmcms.model import (
    Appeal,
    AppealState,
    AttributeDef,
    AttributeGroup,
    AttributeOverride,
    ContactTemplate,
    Deadline,
    Dictionary,
    DictionaryItem,
    DictionaryKind,
    Flag,
    Handler,
    HandlerEvent,
    MailingList,
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
from crmcms.testing import appeals, routes, topics

S = ValueType.STRING


def _route(**changes: Any) -> Route:
    base = Route(
        code="TERM",
        name="Расторжение",
        initial="registration",
        processes=(
            Process("registration", "Регистрация"),
            Process("closed", "Закрыто", final=True),
        ),
        transitions=(Transition("close", "Закрыть", "registration", "closed"),),
        topics=("TERMINATION",),
    )
    return attrs.evolve(base, **changes)


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"initial": "start"}, "initial", "initial process 'start' is not defined"),
        ({"version": 0}, "version", "versions start at 1"),
        ({"topics": ()}, "topics", "serves no topic"),
        (
            {"processes": (Process("registration", "R"), Process("registration", "R2"))},
            "processes",
            "'registration' is used more than once",
        ),
        (
            {"transitions": (Transition("t", "T", "registration", "nowhere"),)},
            "transitions[0].target",
            "undefined process 'nowhere'",
        ),
        (
            {"transitions": (Transition("t", "T", "closed", "registration"),)},
            "transitions[0].source",
            "leaves final process 'closed'",
        ),
        ({"processes": (Process("registration", "R"),)}, "processes", "has no final process"),
    ],
)
def test_route_construction_checks(changes: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _route(**changes)
    assert code in caught.value.codes()
    assert message in str(caught.value)
    assert str(caught.value).startswith("route TERM version")


def test_route_lookups() -> None:
    route = _route()
    assert route.key == ("TERM", 1)
    assert route.process("closed").final
    assert [t.code for t in route.transitions_from("registration")] == ["close"]
    with pytest.raises(LookupError, match=r"did you mean 'registration'\?"):
        route.process("registraton")


def test_process_overrides_are_unique_and_default_to_inherit() -> None:
    override = AttributeOverride("170")
    assert override.inherits_all
    process = Process("p", "P", overrides=(override,))
    assert process.override("170") is override
    assert process.override("171") is None
    with pytest.raises(ValidationError, match="'170' is used more than once"):
        Process("p", "P", overrides=(override, AttributeOverride("170", hidden=Flag(True))))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": timedelta(0)}, "must be positive"),
        ({"limit": timedelta(hours=1), "warn_before": timedelta(hours=2)}, "under the limit"),
    ],
)
def test_deadline_checks(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Deadline(**kwargs)


def test_handler_needs_an_action() -> None:
    with pytest.raises(ValidationError, match="names no action"):
        Handler(HandlerEvent.HAND_OVER, " ")


def test_topic_refuses_duplicate_attributes_and_double_placement() -> None:
    a, b = AttributeDef("184", "Строка", S), AttributeDef("185", "Число", ValueType.DECIMAL)
    with pytest.raises(ValidationError, match="code '184' is used more than once"):
        Topic("T", "t", attributes=(a, a))
    with pytest.raises(ValidationError, match="'184' is in more than one group"):
        Topic(
            "T",
            "t",
            attributes=(a, b),
            attribute_groups=(
                AttributeGroup("1", "x", ("184",)),
                AttributeGroup("2", "y", ("184",)),
            ),
        )
    topic = Topic(
        "T", "t", attributes=(a, b), attribute_groups=(AttributeGroup("4", "g", ("185",)),)
    )
    assert topic.group_of("185") == topic.attribute_group("4")
    assert topic.group_of("184") is None
    with pytest.raises(LookupError, match="did you mean '184'"):
        topic.attribute("1844")


def test_groups_and_blank_codes() -> None:
    with pytest.raises(ValidationError, match="cannot be its own parent"):
        TopicGroup("G", "g", parent="G")
    with pytest.raises(ValidationError, match="must be non-blank"):
        Topic(" T", "t")
    with pytest.raises(ValidationError, match="must be non-blank"):
        Operator("", "nobody")


def test_dictionary_checks() -> None:
    with pytest.raises(ValidationError, match="needs its query"):
        Dictionary("Q", "q", DictionaryKind.QUERY)
    with pytest.raises(ValidationError, match="cannot list items"):
        Dictionary("E", "e", DictionaryKind.EXTERNAL, items=(DictionaryItem("a", "a"),))
    with pytest.raises(ValidationError, match="unknown parent 'x'"):
        Dictionary("D", "d", items=(DictionaryItem("a", "a", parent="x"),))
    with pytest.raises(ValidationError, match="'a' is used more than once"):
        Dictionary("D", "d", items=(DictionaryItem("a", "a"), DictionaryItem("a", "b")))
    d = Dictionary("D", "d", items=(DictionaryItem("PSKOV", "Псков"),))
    with pytest.raises(LookupError, match="did you mean 'PSKOV'"):
        d.item("PSKOF")


def test_template_defaults_must_be_allowed() -> None:
    with pytest.raises(ValidationError) as caught:
        ContactTemplate("30", "пробный", topics=("A",), default_topic="B")
    assert caught.value.codes() == ("default_topic",)
    open_template = ContactTemplate("31", "any", default_topic="B")
    assert open_template.allows_topic("whatever")


def test_queue_membership() -> None:
    queue = Queue(
        "67",
        "CP",
        members=(QueueMember.operator("bis"), QueueMember.role("HAS_OPERATOR")),
        processes=("transfer_sd",),
    )
    assert queue.has_member("bis")
    assert queue.has_member("someone", roles=("HAS_OPERATOR",))
    assert not queue.has_member("someone")
    assert queue.allows_process("transfer_sd")
    assert not queue.allows_process("registration")
    with pytest.raises(ValidationError, match="'operator bis' is used more than once"):
        Queue("67", "CP", members=(QueueMember.operator("bis"),) * 2)


def test_misc_definitions() -> None:
    with pytest.raises(ValidationError, match="empty expression"):
        Rule("R", "r", "  ")
    with pytest.raises(ValidationError, match="not an e-mail address"):
        MailingList("M", "m", addresses=("nobody",))
    with pytest.raises(ValidationError, match="'ADMIN' is used more than once"):
        Operator("bis", "Bis", roles=("ADMIN", "ADMIN"))


def test_definitions_are_immutable() -> None:
    topic = Topic("T", "t", attributes=(AttributeDef("a", "a", S, metadata={"k": "v"}),))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        topic.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        topic.attributes[0].metadata["k"] = "w"  # type: ignore[index]


@given(routes())
def test_generated_routes_are_well_formed(route: Route) -> None:
    assert route.process(route.initial)
    assert any(p.final for p in route.processes)
    for t in route.transitions:
        assert not route.process(t.source).final


@given(topics())
def test_generated_topics_place_each_attribute_at_most_once(topic: Topic) -> None:
    placed = [c for g in topic.attribute_groups for c in g.attributes]
    assert len(placed) == len(set(placed))
    assert set(placed) <= {a.code for a in topic.attributes}


NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


@given(appeals())
def test_appeal_lifecycle(appeal: Appeal) -> None:
    if appeal.state is AppealState.CLOSED:
        appeal.reopen(NOW)
    assert appeal.is_open
    appeal.close(NOW)
    assert appeal.state is AppealState.CLOSED
    assert appeal.closed_at == NOW
    with pytest.raises(WorkflowError, match="already closed"):
        appeal.close(NOW)
    appeal.reopen(NOW)
    assert appeal.closed_at is None
    assert appeal.process_entered_at == NOW
    with pytest.raises(WorkflowError, match="nothing to reopen"):
        appeal.reopen(NOW)
