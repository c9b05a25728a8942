"""The engine reads rules as the definition checks do, at the time of the action."""

from __future__ import annotations

import pytest

from crmcms import AppealDraft, DefinitionError
from crmcms.dsl import load_catalog_text
from crmcms.model import Catalog
from crmcms.testing.engine import in_memory_engine

ROUTE = """
topic T "T" {
    attribute 168 "Termination date": date
}
queue Q "Q"
operator olga "Olga"
place kind CALL_CENTRE "Call centre"
place CC "Contact centre" kind CALL_CENTRE
channel PHONE "Phone"
rule RULE
route R "R" {
    topics: T
    process a "A" initial { queue: Q }
    process b "B" final { queue: Q }
    transition go a -> b "Go" when GUARD
}
"""


def _catalog(rule: str, *, check: bool) -> Catalog:
    return load_catalog_text(ROUTE.replace("RULE", rule), check=check)


def test_a_rule_reading_who_registered_the_appeal_loads_and_runs() -> None:
    catalog = _catalog('GUARD "g": Обращение.Оператор = "olga"', check=True)
    engine = in_memory_engine(catalog)
    assert engine.catalog.rule("GUARD").expression.startswith("Обращение.Оператор")


def test_the_engine_refuses_a_rule_that_misreads_an_attribute_type_at_start() -> None:
    catalog = _catalog('GUARD "g": Appeal.Attribute[168] = "tomorrow"', check=False)
    with pytest.raises(DefinitionError, match="cannot compare date with string"):
        in_memory_engine(catalog)


def test_the_engine_refuses_an_attribute_no_topic_defines() -> None:
    catalog = _catalog('GUARD "g": Appeal.Attribute[999] is empty', check=False)
    with pytest.raises(DefinitionError, match="unknown attribute code '999'"):
        in_memory_engine(catalog)


def test_now_and_today_in_rules_are_the_engines_clock() -> None:
    from crmcms.testing.engine import ManualClock

    clock = ManualClock()  # 2026-03-02 09:00 UTC
    catalog = _catalog(
        'GUARD "g": today() = 2026-03-02 and now() < 2026-03-02T12:00:00Z', check=True
    )
    engine = in_memory_engine(catalog, clock=clock)
    contact = engine.register_contact(
        "olga", place="CC", channel="PHONE", drafts=[AppealDraft("T", {})]
    )
    appeal = contact.appeals[0]
    assert [o.available for o in engine.available_transitions(appeal.id, "olga")] == [True]
    clock.advance(hours=4)
    assert [o.available for o in engine.available_transitions(appeal.id, "olga")] == [False]


@pytest.mark.parametrize(
    "guard", ["now() < 2026-03-02T12:00:00Z", "сейчас() < 2026-03-02T12:00:00Z"]
)
def test_a_transition_reads_the_engines_clock(guard: str) -> None:
    from crmcms.errors import WorkflowError
    from crmcms.testing.engine import ManualClock

    clock = ManualClock()  # 2026-03-02 09:00 UTC
    engine = in_memory_engine(_catalog(f'GUARD "g": {guard}', check=True), clock=clock)
    assert engine.runtime.rules.reads_clock

    def register() -> int:
        drafts = [AppealDraft("T", {})]
        made = engine.register_contact("olga", place="CC", channel="PHONE", drafts=drafts)
        return made.appeals[0].id

    assert engine.transition(register(), "olga", "go").process == "b"
    clock.advance(hours=4)  # past noon by the engine's clock, whatever the wall clock says
    with pytest.raises(WorkflowError, match="rule GUARD"):
        engine.transition(register(), "olga", "go")


def test_only_catalogs_whose_rules_may_call_the_clock_need_it() -> None:
    from crmcms.engine.rules import may_read_clock

    assert not may_read_clock(_catalog('GUARD "g": Client.Category = "BIS"', check=True))
    assert may_read_clock(_catalog('GUARD "g": today() > 2026-01-01', check=True))
    assert may_read_clock(_catalog('GUARD "g": Сегодня () > 2026-01-01', check=False))
    # A description that looks like a call is a harmless yes.
    assert may_read_clock(_catalog('GUARD "g" description "now()": 1 = 1', check=True))
    assert not may_read_clock(_catalog('GUARD "g" description "nowhere": 1 = 1', check=True))


def test_rules_read_the_subscriber_and_contact_person_from_their_directories() -> None:
    from crmcms.model import Client, ContactPerson, Subscriber
    from crmcms.plugins import make_plugin_manager
    from crmcms.testing.engine import FakeBilling

    guard = (
        'GUARD "g": Абонент.Тариф = "Corporate" and ContactPerson.Name = "Анна"'
        ' and Subscriber.Msisdn like "+7%"'
    )
    billing = FakeBilling(
        [Client(1, "ООО Ромашка", category="BIS")],
        subscribers=[Subscriber(10, 1, "+79110000000", tariff="Corporate")],
        contact_persons=[ContactPerson(20, "Анна"), ContactPerson(21, "Борис")],
    )
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = in_memory_engine(_catalog(guard, check=True), plugins=plugins)

    def available(**people: int) -> bool:
        registered = engine.register_contact(
            "olga",
            place="CC",
            channel="PHONE",
            client_id=1,
            drafts=[AppealDraft("T", {})],
            **people,
        )
        (option,) = engine.available_transitions(registered.appeals[0].id, "olga")
        return option.available

    assert available(subscriber_id=10, contact_person_id=20)
    assert not available(subscriber_id=10, contact_person_id=21)
    assert not available(subscriber_id=99, contact_person_id=20)  # unknown: reads as empty
    assert not available(contact_person_id=20)
