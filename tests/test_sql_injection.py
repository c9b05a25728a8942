"""Nothing a user types becomes SQL text: hostile strings in every text field, attribute
value, filter literal, saved filter, and scope are stored and matched as values, on every
SQL backend, and leave the schema and the other rows alone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcms import AppealDraft, Client, CrmcmsError, Engine
from crmcms.dsl import load_catalog_text
from crmcms.dsl.rules.unparse import quote
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import AppealFilters, FilterTab, SavedFilter, SqlStore
from crmcms.testing.engine import FakeBilling

DEFINITIONS = """
topic NOTE "Note" {
    attribute TEXT "Text": string
    attribute TAGS "Tags": string multiple
}
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
operator ann "Ann" { roles: QUEUE_ADMINISTRATOR }
queue LINE "Line" { members: ann }
route R "Notes" {
    topics: NOTE
    process new "New" initial
    process done "Done" final
    transition finish new -> done "Finish"
}
"""

HOSTILE = [
    "'; DROP TABLE crm_appeal; --",
    '" OR 1=1 --',
    "x' OR '1'='1",
    "1); DELETE FROM crm_history; --",
    "Robert'); DROP TABLE crm_contact;--",
    "%' UNION SELECT * FROM crm_credential --",
    "\\'; SELECT pg_sleep(5); --",
    "$$; DROP SCHEMA public CASCADE; $$",
    "Ольга' OR 'а'='а",
]

texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=60),
)


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Engine, SqlStore]]:
    store = SqlStore(database_url)
    plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
    engine = Engine(
        load_catalog_text(DEFINITIONS), store.unit_of_work, plugins=plugins, trust_logins=True
    )
    yield engine, store
    store.dispose()


def tables(store: SqlStore) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=texts, tags=st.lists(texts, max_size=3), comment=texts, description=texts)
def test_hostile_text_is_stored_and_found_as_a_value(
    world: tuple[Engine, SqlStore], text: str, tags: list[str], comment: str, description: str
) -> None:
    engine, store = world
    before = tables(store)
    made = engine.register_contact(
        "ann",
        place="CC",
        channel="PHONE",
        client_id=1,
        comment=comment,
        drafts=[AppealDraft("NOTE", {"TEXT": text, "TAGS": tags}, description=description)],
    )
    appeal = engine.appeal(made.appeals[0].id)
    if text:
        assert appeal.values["TEXT"] == text
    assert appeal.description == description
    with contextlib.suppress(CrmcmsError):
        engine.transition(appeal.id, "ann", "finish", comment=comment)
    filters = AppealFilters(store.engine)
    literal = quote(text)
    matched = filters.page(f"Appeal.Attribute[TEXT] = {literal}", limit=1000).items
    if text:
        assert appeal.id in {a.id for a in matched}
    assert all(a.values.get("TEXT") == text for a in matched)
    saved = SavedFilter(
        "f" + str(abs(hash(text)) % 10_000),
        name=text or "name",
        rule=f"Appeal.Attribute[TEXT] = {literal}",
        tabs=(FilterTab("t", comment or "tab", "true"),),
        owner=text or None,
    )
    filters.save(saved)
    assert filters.load(saved.code) == saved
    assert tables(store) == before
    assert filters.count("true") >= 1


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_hostile_filter_is_a_rule_error_not_sql(world: tuple[Engine, SqlStore], bad: str) -> None:
    _, store = world
    filters = AppealFilters(store.engine)
    with pytest.raises(CrmcmsError):
        filters.count(bad)
    assert "crm_appeal" in tables(store)


@pytest.mark.parametrize("key", ["id; DROP TABLE crm_appeal", "deadline desc", "", "NEWEST"])
def test_a_sort_key_is_one_of_the_orders_or_refused(
    world: tuple[Engine, SqlStore], key: str
) -> None:
    from crmcms import ValidationError

    _, store = world
    filters = AppealFilters(store.engine)
    with pytest.raises(ValidationError, match="is not an order: newest, deadline"):
        filters.page("true", order=key)
    assert filters.page("true", order="deadline").items == ()
    assert "crm_appeal" in tables(store)
