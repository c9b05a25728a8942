"""Oversized input is refused at the engine's front door with the field it came in, and
changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcms import AppealDraft, Client, Engine, ValidationError
from crmcms.dsl import load_catalog_text
from crmcms.engine import Limits
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.testing.engine import FakeBilling

DEFINITIONS = """
topic REPAIR "Repair" {
    attribute NOTE "Note": string
    attribute TAGS "Tags": string multiple
}
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
operator ann "Ann" { roles: QUEUE_ADMINISTRATOR }
queue LINE "Line" { members: ann }
route R "Repair" {
    topics: REPAIR
    process new "New" initial
    process work "Work"
    process done "Done" final
    transition start new -> work "Start"
    transition finish work -> done "Finish"
}
"""

LIMITS = Limits(
    text_length=20, values_per_attribute=3, values_per_request=6, drafts=2, bulk=3, request_size=60
)


@pytest.fixture
def engine() -> Engine:
    plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
    return Engine(
        load_catalog_text(DEFINITIONS),
        MemoryStore().unit_of_work,
        plugins=plugins,
        trust_logins=True,
        limits=LIMITS,
    )


def register(engine: Engine, *drafts: AppealDraft, comment: str = "") -> Any:
    return engine.register_contact(
        "ann", place="CC", channel="PHONE", client_id=1, comment=comment, drafts=list(drafts)
    )


def codes(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.code for p in error.value.problems]


def test_each_limit_names_the_field_over_it(engine: Engine) -> None:
    with pytest.raises(ValidationError) as error:
        register(engine, AppealDraft("REPAIR", {"NOTE": "x" * 21}))
    assert codes(error) == ["values.NOTE"]
    assert "21 characters, more than 20" in str(error.value)
    with pytest.raises(ValidationError) as error:
        register(engine, AppealDraft("REPAIR", {"TAGS": ["a", "b", "c", "d"]}))
    assert codes(error) == ["values.TAGS"]
    with pytest.raises(ValidationError) as error:
        register(engine, *[AppealDraft("REPAIR")] * 3)
    assert codes(error) == ["drafts"]
    with pytest.raises(ValidationError) as error:
        register(engine, AppealDraft("REPAIR"), comment="c" * 30)
    assert codes(error) == ["comment"]
    with pytest.raises(ValidationError) as error:
        register(
            engine,
            AppealDraft("REPAIR", {"NOTE": "n" * 20, "TAGS": ["t" * 20]}),
            AppealDraft("REPAIR", {"NOTE": "n" * 20}, description="d" * 5),
        )
    assert codes(error) == ["request"]


def test_a_refused_request_changes_nothing(engine: Engine) -> None:
    appeal = register(engine, AppealDraft("REPAIR", {"NOTE": "short"})).appeals[0]
    history = engine.history(appeal.id)
    for attempt in (
        lambda: engine.update_values(appeal.id, "ann", {"NOTE": "y" * 100}),
        lambda: engine.update_values(appeal.id, "ann", {"TAGS": list("abcdefg")}),
        lambda: engine.transition(appeal.id, "ann", "start", comment="c" * 21),
        lambda: engine.close(appeal.id, "ann", comment="c" * 21),
        lambda: engine.bulk_transition([appeal.id] * 4, "ann", "start"),
    ):
        with pytest.raises(ValidationError):
            attempt()
        assert engine.appeal(appeal.id) == appeal
        assert engine.history(appeal.id) == history
    with pytest.raises(ValidationError) as error:
        engine.bulk_close([1, 2, 3, 4], "ann")
    assert codes(error) == ["appeal_ids"]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="text_length must be at least 1"):
        Limits(text_length=0)


@settings(max_examples=60, deadline=None)
@given(
    note=st.text(max_size=40),
    tags=st.lists(st.text(max_size=25), max_size=5),
)
def test_within_the_limits_is_accepted_and_over_them_refused(note: str, tags: list[str]) -> None:
    over = (
        len(note) > 20
        or any(len(t) > 20 for t in tags)
        or len(tags) > 3
        or len(note) + sum(map(len, tags)) > 60
    )
    try:
        LIMITS.check("appeal", values=[{"NOTE": note, "TAGS": tags}])
    except ValidationError:
        assert over
    else:
        assert not over
