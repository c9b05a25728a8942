"""The seed's console screens, expressed with the model, read back through the model API."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

from crmcms.model import (
    Catalog,
    DictionaryKind,
    Flag,
    GroupDisplay,
    HandlerEvent,
    MemberKind,
    ValueType,
)
from crmcms.serialization import dump, load

# The examples live beside src/, not in the installed package; pytest's own sys.path
# entries cover tests/ only.
ROOT = str(pathlib.Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from examples.telecom.seed_catalog import build_catalog  # noqa: E402

YES, NO = Flag(True), Flag(False)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog()


def test_topic_group_attribute_203_is_inherited_by_the_termination_topic(catalog: Catalog) -> None:
    group = catalog.topic_group("SSOL_GT_ALL")
    assert group.name == "Группа тем для типовых БП"
    assert group.attribute("203").name == "Логический на группу Тест"
    assert group.attribute("203").value_type is ValueType.BOOLEAN
    effective = {e.code: e for e in catalog.effective_attributes("TERMINATION")}
    assert set(effective) == {"203", "166", "167", "168", "169", "170", "171"}
    assert effective["203"].inherited
    assert effective["203"].owner == "SSOL_GT_ALL"
    assert not effective["166"].inherited


def test_termination_topic_attributes(catalog: Catalog) -> None:
    topic = catalog.topic("TERMINATION")
    assert topic.name == "Расторжение договора"
    reason = topic.attribute("166")
    assert (reason.value_type, reason.required) == (ValueType.STRING, YES)
    special = topic.attribute("167")
    assert special.value_type is ValueType.STRING
    assert special.multiple
    date = topic.attribute("168")
    assert (date.value_type, date.required) == (ValueType.DATE, YES)
    assert topic.attribute("169").name == "Категория клиента"
    city = topic.attribute("170")
    assert city.value_type is ValueType.REFERENCE
    assert city.dictionary == "CITY"
    assert catalog.dictionary("CITY").kind is DictionaryKind.ANALYTIC
    assert topic.attribute("171").name == "Фин.карта"


def test_sms_instruction_topic(catalog: Catalog) -> None:
    topic = catalog.topic("SMS_INSTRUCTION_FOR_MSISDN")
    assert topic.description == "Вставляется выбранный текст SMS инструкции для абонента"
    rule = topic.attribute("SMS_RULE")
    assert rule.name == "Нужно отправить SMS инструкцию"
    assert rule.value_type is ValueType.BOOLEAN
    assert rule.required == YES
    assert rule.availability == "required"
    assert topic.attribute("SMS_INSTR").required == NO


def test_expanded_attribute_group_4(catalog: Catalog) -> None:
    topic = catalog.topic("Vers_32")
    block = topic.attribute_group("4")
    assert block.name == "Развернута по умолчанию"
    assert block.display is GroupDisplay.EXPANDED
    assert (block.hidden, block.read_only, block.required) == (NO, NO, YES)
    assert set(block.attributes) == {"184", "185", "186", "190"}
    kinds = {c: catalog.attribute("Vers_32", c) for c in block.attributes}
    assert kinds["184"].value_type is ValueType.STRING
    assert kinds["184"].read_only == YES
    assert kinds["185"].value_type is ValueType.DECIMAL
    assert kinds["190"].value_type is ValueType.BOOLEAN
    assert kinds["186"].value_type is ValueType.REFERENCE
    assert kinds["186"].read_only == YES
    inherited = {e.code for e in catalog.effective_attributes("Vers_32") if e.inherited}
    assert inherited == {"203", "186"}
    assert [g.code for g in catalog.group_chain("Vers_32")] == ["SSOL_GT_ALL", "1"]


def test_termination_route_versions_and_processes(catalog: Catalog) -> None:
    assert catalog.route_versions("TERMINATION") == (1, 2)
    route = catalog.route("TERMINATION")
    assert route.version == 2
    assert catalog.route("TERMINATION", 1).version == 1
    assert route.topics == ("TERMINATION",)
    assert route.initial == "registration"
    assert route.process("transfer_sd").name == "Передать в SD"
    assert route.process("closed").final
    assert catalog.routes_for_topic("TERMINATION") == (route,)


# (attribute, hidden, read only, required) in "Передать в SD"; None is "Не определено".
AVAILABILITY = [
    ("170", None, None, None),
    ("168", NO, NO, YES),
    ("169", YES, None, None),
    ("167", None, None, None),
    ("166", NO, NO, YES),
    ("171", YES, None, None),
]


@pytest.mark.parametrize(("code", "hidden", "read_only", "required"), AVAILABILITY)
def test_transfer_sd_availability_table(
    catalog: Catalog, code: str, hidden: Flag | None, read_only: Flag | None, required: Flag | None
) -> None:
    override = catalog.route("TERMINATION", 2).process("transfer_sd").override(code)
    assert override is not None
    assert (override.hidden, override.read_only, override.required) == (
        hidden,
        read_only,
        required,
    )


def test_overrides_resolve_against_the_topic_flags(catalog: Catalog) -> None:
    route = catalog.route("TERMINATION", 2)
    in_sd = {
        code: catalog.attribute_flags("TERMINATION", code, route=route, process="transfer_sd")
        for code, *_ in AVAILABILITY
    }
    assert in_sd["169"].hidden == YES
    assert in_sd["171"].hidden == YES
    assert in_sd["168"].required == YES
    assert in_sd["167"].required == NO  # inherited from the topic
    # Outside the overriding process the topic's own flags hold.
    assert catalog.attribute_flags("TERMINATION", "169").hidden == NO
    registration = catalog.attribute_flags(
        "TERMINATION", "169", route=route, process="registration"
    )
    assert registration.hidden == NO


def test_bis_only_transition_with_its_handlers(catalog: Catalog) -> None:
    transition = catalog.route("TERMINATION").transition("to_sd")
    assert transition.name == "Только для клиентов BIS"
    assert (transition.source, transition.target) == ("registration", "transfer_sd")
    assert transition.rule is not None
    assert catalog.rule(transition.rule).expression == 'Клиент.Категория = "BIS"'
    events = [h.event for h in transition.handlers]
    assert events == [HandlerEvent.HAND_OVER, HandlerEvent.REJECTION]


def test_queues(catalog: Catalog) -> None:
    registration = catalog.queue("REGISTRATION")
    assert registration.system
    assert registration.description == "Регистрация, системная очередь"
    cp = catalog.queue("67")
    assert cp.name == "CP"
    assert cp.active
    assert [(m.kind, m.code) for m in cp.members] == [
        (MemberKind.OPERATOR, "bis"),
        (MemberKind.ROLE, "HAS_OPERATOR"),
        (MemberKind.OPERATOR, "Администратор"),
    ]
    assert cp.administrators == ("Администратор",)
    assert cp.processes == ("transfer_sd",)
    assert cp.rule is not None
    rule = catalog.rule(cp.rule)
    assert rule.name == "Выбор очереди для клиентов не из Пскова"
    assert rule.expression == 'Client.Region != "Pskov"'
    assert catalog.queue("79").name == "Псковский регион"
    assert {q.code for q in catalog.queues_for_process("transfer_sd")} == {"67", "79"}
    for member in cp.members:
        if member.kind is MemberKind.OPERATOR:
            catalog.operator(member.code)
        else:
            catalog.role(member.code)


def test_contact_template_30(catalog: Catalog) -> None:
    template = catalog.template("30")
    assert template.name == "пробный"
    expected_path = "Головной офис\\Отдел обслуживания корпоративных клиентов\\VIP отдел"
    assert [catalog.place_path(p) for p in template.places] == [expected_path]
    assert template.default_place is not None
    assert catalog.place_path(template.default_place) == expected_path
    assert catalog.place_by_path(expected_path).code == "VIP"
    assert template.direction is None  # "Любое"
    assert template.channel is not None
    assert catalog.channel(template.channel).name == "Визит"
    assert [catalog.topic(t).name for t in template.topics] == [
        "Действия в ИБС",
        "Жалобы абонентов",
        "Консультации",
        "Coffee Break",
    ]
    assert template.default_topic is not None
    assert catalog.topic(template.default_topic).name == "Coffee Break"
    assert template.client_categories == ("CMS CUSTOMER",)
    assert template.default_client_category == "CMS CUSTOMER"
    assert catalog.template_for("bis") == template


def test_operators_roles_channels_priorities_mailing_lists(catalog: Catalog) -> None:
    assert {o.login for o in catalog.operators_with_role("HAS_OPERATOR")} == {"bis", "olga"}
    assert catalog.role("SYSTEM_PROBLEM_MANAGER").name == "Менеджер системных проблем"
    assert {c.name for c in catalog.channels} >= {"Телефон", "Визит"}
    assert sorted(catalog.priorities, key=lambda p: p.rank)[0].code == "CRITICAL"
    assert catalog.mailing_list("SD_TEAM").operators == ("olga",)


def test_every_cross_reference_resolves(catalog: Catalog) -> None:
    for topic in catalog.topics:
        for effective in catalog.effective_attributes(topic.code):
            if effective.definition.dictionary:
                catalog.dictionary(effective.definition.dictionary)
        codes = {e.code for e in catalog.effective_attributes(topic.code)}
        for block in topic.attribute_groups:
            assert set(block.attributes) <= codes
    for route in catalog.routes:
        for t in route.transitions:
            if t.rule:
                catalog.rule(t.rule)
    for queue in catalog.queues:
        if queue.rule:
            catalog.rule(queue.rule)


def test_the_seed_catalog_round_trips_as_a_document(catalog: Catalog) -> None:
    text = json.dumps(dump(catalog), ensure_ascii=False)
    assert load(json.loads(text), Catalog) == catalog
