"""Query dictionaries: one read-only SELECT, parameters always bound, bounded in time and rows,
and the values of attributes choosing from them checked against what the query gives."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crmcms import Client
from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.engine import AppealDraft, Engine
from crmcms.entrypoints.cli import cli
from crmcms.errors import DefinitionError, DictionaryQueryError, ValidationError
from crmcms.model import Catalog, Dictionary, DictionaryKind
from crmcms.model.queries import read_query
from crmcms.plugins import make_plugin_manager
from crmcms.storage import SqlStore
from crmcms.storage.sql import SqlDictionaryQueries
from crmcms.testing.engine import FakeBilling, ManualClock

CITIES = "SELECT code, name FROM qd_city WHERE region = :region ORDER BY code"

DEFINITIONS = """
dictionary CITIES "Cities of the region" query "QUERY"
priority NORMAL "Normal"
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
role AGENT "Agent"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
operator ann "Ann" {
    roles: AGENT
    template: T
}
topic MOVE "Moving" {
    attribute region "Region": string
    attribute city "City": CITIES
}
queue LINE "First line" {
    members: ann
}
route R "Moving" {
    topics: MOVE
    process new "New" initial
    process done "Done" final
    transition finish new -> done "Finish"
}
"""


def catalog(query: str = CITIES) -> Catalog:
    return load_catalog_text(DEFINITIONS.replace("QUERY", query))


def dsl_string(text: str) -> str:
    """``text`` as the inside of a string of a definition file."""
    for plain, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(plain, escaped)
    return text


def query_dictionary(query: str) -> Dictionary:
    return Dictionary("CITIES", "Cities", DictionaryKind.QUERY, query=query)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(database_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE qd_city (code TEXT, name TEXT, region TEXT)"))
        conn.execute(
            sa.text("INSERT INTO qd_city VALUES (:c, :n, :r)"),
            [
                {"c": "MSK1", "n": "Moscow", "r": "MSK"},
                {"c": "MSK2", "n": "Zelenograd", "r": "MSK"},
                {"c": "SPB1", "n": "Saint Petersburg", "r": "SPB"},
            ],
        )
    yield store
    store.dispose()


def untouched(store: SqlStore) -> bool:
    """The tables are all there and the cities unchanged."""
    with store.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM qd_city")).scalar()
    inspector = sa.inspect(store.engine)
    return count == 3 and inspector.has_table("crm_appeal") and inspector.has_table("qd_city")


def world(store: SqlStore, query: str = CITIES) -> Engine:
    billing = FakeBilling([Client(1, "Romashka", category="BIS", region="Moscow")])
    return Engine(
        catalog(query),
        store.unit_of_work,
        plugins=make_plugin_manager([billing], load_entry_points=False),
        clock=ManualClock(),
        trust_logins=True,
        dictionary_queries=store.dictionary_queries(),
    )


def register(engine: Engine, values: dict[str, object]) -> int:
    made = engine.register_contact(
        "ann",
        place="CC",
        channel="PHONE",
        client_id=1,
        drafts=[AppealDraft("MOVE", values=values)],
    )
    return made.appeals[0].id


# --- Running the query -------------------------------------------------------------------


def test_the_query_lists_its_items(store: SqlStore) -> None:
    runner = store.dictionary_queries()
    items = runner.items(query_dictionary(CITIES), {"region": "MSK"})
    assert items == [("MSK1", "Moscow"), ("MSK2", "Zelenograd")]
    assert runner.items(query_dictionary(CITIES), {}) == []  # a missing parameter is NULL


def test_codes_are_text_and_a_missing_name_is_empty(store: SqlStore) -> None:
    runner = store.dictionary_queries()
    found = runner.items(query_dictionary("SELECT 7, NULL"), {})
    assert found == [("7", "")]


def test_colons_in_literals_are_not_parameters(store: SqlStore) -> None:
    query = "SELECT 'a:b', ':x' /* :y */ WHERE :p = 'on' -- :z"
    assert read_query(query).parameters == ("p",)
    assert store.dictionary_queries().items(query_dictionary(query), {"p": "on"}) == [("a:b", ":x")]


@pytest.mark.parametrize(
    "value",
    ["x' OR '1'='1", "1; DROP TABLE crm_appeal", "MSK'; DELETE FROM qd_city; --", "MSK' --"],
)
def test_parameters_are_bound_never_written_into_the_query(store: SqlStore, value: str) -> None:
    assert store.dictionary_queries().items(query_dictionary(CITIES), {"region": value}) == []
    assert untouched(store)


def test_a_list_is_not_a_parameter_value(store: SqlStore) -> None:
    with pytest.raises(DictionaryQueryError, match=r"CITIES: parameter 'region' is a tuple"):
        store.dictionary_queries().items(query_dictionary(CITIES), {"region": ("MSK", "SPB")})


def test_text_no_database_can_hold_is_refused(store: SqlStore) -> None:
    with pytest.raises(DictionaryQueryError, match=r"CITIES: parameter 'region' is not text"):
        store.dictionary_queries().items(query_dictionary(CITIES), {"region": "MSK\ud800"})


def test_a_slow_query_is_cut_off(store: SqlStore) -> None:
    if store.engine.dialect.name == "postgresql":
        slow = "SELECT pg_sleep(5)::text, 'slow'"
    else:
        slow = (
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000000)"
            " SELECT max(x), 'slow' FROM n"
        )
    runner = store.dictionary_queries(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(DictionaryQueryError, match=r"CITIES: the query took longer than 0.2 s"):
        runner.items(query_dictionary(slow), {})
    assert time.monotonic() - started < 3
    # The connection is fit for the next query: no time limit or read-only setting stays.
    assert runner.items(query_dictionary(CITIES), {"region": "SPB"}) == [
        ("SPB1", "Saint Petersburg")
    ]
    assert untouched(store)


def test_too_many_rows_is_an_error_not_a_cut(store: SqlStore) -> None:
    query = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20)"
        " SELECT x, 'n' FROM n"
    )
    assert len(store.dictionary_queries(max_rows=20).items(query_dictionary(query), {})) == 20
    with pytest.raises(DictionaryQueryError, match=r"CITIES: the query gives more than 10 rows"):
        store.dictionary_queries(max_rows=10).items(query_dictionary(query), {})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT code FROM qd_city", r"CITIES: the query gives 1 column: it needs two"),
        ("SELECT code, name FROM no_such_table", r"CITIES: the query failed: .*no_such_table"),
        ("SELECT NULL, name FROM qd_city", r"CITIES: row 1 has no code"),
    ],
)
def test_failing_queries_name_the_dictionary(store: SqlStore, query: str, message: str) -> None:
    with pytest.raises(DictionaryQueryError, match=message):
        store.dictionary_queries().items(query_dictionary(query), {})


@pytest.mark.postgres
def test_a_write_the_text_check_cannot_see_fails_read_only(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.text("CREATE SEQUENCE qd_seq"))
        query = "SELECT nextval('qd_seq')::text, 'next'"
        assert not read_query(query).problems  # a function call: the text looks harmless
        with pytest.raises(DictionaryQueryError, match=r"CITIES: the query tried to write"):
            store.dictionary_queries().items(query_dictionary(query), {})
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT nextval('qd_seq')")).scalar() == 1
    finally:
        store.dispose()


@pytest.mark.postgres
def test_session_locks_taken_by_a_query_do_not_stay(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    try:
        runner = store.dictionary_queries()
        runner.items(query_dictionary("SELECT pg_advisory_lock(4242)::text, 'lock'"), {})
        with store.engine.connect() as conn:
            held = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242"
                )
            ).scalar()
        assert held == 0
    finally:
        store.dispose()


def test_sqlite_queries_run_on_a_read_only_connection(tmp_path: object) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/ro.sqlite")
    try:
        runner = store.dictionary_queries()
        found = runner.items(query_dictionary("SELECT 'only', 'x' FROM pragma_query_only"), {})
        assert found == [("only", "x")]
        query = "SELECT query_only, 'x' FROM pragma_query_only"
        assert runner.items(query_dictionary(query), {}) == [("1", "x")]
        # The store's own connections are not switched: they still write.
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT query_only FROM pragma_query_only")).scalar() == 0
    finally:
        store.dispose()


def test_an_in_memory_sqlite_database_is_read_with_query_only() -> None:
    engine = sa.create_engine("sqlite://", poolclass=sa.StaticPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (code TEXT, name TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('a', 'A')"))
    runner = SqlDictionaryQueries(engine)
    assert runner.items(query_dictionary("SELECT code, name FROM t"), {}) == [("a", "A")]
    query = "SELECT query_only, 'x' FROM pragma_query_only"
    assert runner.items(query_dictionary(query), {}) == [("1", "x")]
    with engine.begin() as conn:  # switched back afterwards
        conn.execute(sa.text("INSERT INTO t VALUES ('b', 'B')"))
    engine.dispose()


# --- Refused when loaded ---------------------------------------------------------------------

WRITES = [
    "INSERT INTO qd_city VALUES ('x', 'y', 'z')",
    "UPDATE qd_city SET name = 'x'",
    "DELETE FROM qd_city",
    "SELECT 1; DROP TABLE x",
    "SELECT code, name FROM qd_city; DELETE FROM qd_city",
    "WITH x AS (DELETE FROM qd_city RETURNING code, name) SELECT code, name FROM x",
    "SELECT code, name FROM qd_city --\n; DROP TABLE x",
    "SELECT code, name /* the comment ends here */ FROM qd_city; DROP TABLE x",
    "SELECT code, name INTO copy FROM qd_city",
    "SELECT code, name FROM qd_city FOR UPDATE",
    "PRAGMA writable_schema = ON",
    "ATTACH DATABASE 'x.db' AS x",
    # Read differently by SQLite and PostgreSQL: either would find the DELETE outside a string.
    "SELECT $$'$$, 'x'; DELETE FROM qd_city; --'",
    "SELECT E'\\'', 'x'; DELETE FROM qd_city; --'",
    "SELECT 1 /* /* */ ' */ ; DELETE FROM qd_city; --'",
    "SELECT [']; DELETE FROM qd_city; --']",
    "SELECT `'`; DELETE FROM qd_city; --'",
    "SELECT 1 -- \r' \n; DELETE FROM qd_city; --'",
]


@pytest.mark.parametrize("query", WRITES)
def test_a_query_that_is_not_one_select_is_refused_at_load(query: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        catalog(dsl_string(query))
    text = str(caught.value)
    assert "<definitions>:2:12: dictionary CITIES: query refused:" in text
    with pytest.raises(ValidationError, match=r"dictionary CITIES") as refused:
        query_dictionary(query)
    assert refused.value.codes()[0] == "query"


@pytest.mark.parametrize(
    "query",
    [
        CITIES,
        "select code, name from qd_city",
        "WITH r AS (SELECT 'MSK' AS region)"
        " SELECT c.code, c.name FROM qd_city c JOIN r USING (region)",
        "(SELECT 'a', 'A') UNION (SELECT 'b', 'B');",
        "SELECT code, name FROM qd_city -- the cities\n",
        "SELECT \"update\", 'it''s ; DROP' FROM qd_city /* ; DELETE */",
    ],
)
def test_single_selects_are_accepted(query: str) -> None:
    assert read_query(query).problems == ()


def test_a_parameter_cast_is_refused_with_the_way_to_write_it() -> None:
    problems = read_query("SELECT code, name FROM t WHERE region = :region::text").problems
    assert problems == (
        "a parameter cast as :name::type is not taken for a parameter: write CAST(:name AS type)",
    )


def test_check_reports_a_parameter_the_topic_has_no_attribute_for() -> None:
    query = "SELECT code, name FROM qd_city WHERE region = :regoin AND :topic = 'MOVE'"
    with pytest.raises(DefinitionError) as caught:
        catalog(query)
    text = str(caught.value)
    assert "names parameter :regoin, but topic MOVE has no such attribute" in text
    assert "hint: did you mean 'region'?" in text
    assert ":topic" not in text


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (
            "SELECT code, name FROM cities WHERE region = :regoin",
            "{file}:4:15: attribute city chooses from query dictionary CITIES, whose query names"
            " parameter :regoin, but topic MOVE has no such attribute",
        ),
        (
            "SELECT code, name FROM cities; DELETE FROM cities",
            "{file}:1:12: dictionary CITIES: query refused: more than one statement",
        ),
    ],
)
def test_crmcms_check_reports_the_query_where_it_is_declared(
    tmp_path: pathlib.Path, query: str, problem: str
) -> None:
    path = tmp_path / "dictionaries.crm"
    path.write_text(
        f'dictionary CITIES "Cities" query "{query}"\n'
        'topic MOVE "Moving" {\n'
        '    attribute region "Region": string\n'
        '    attribute city "City": CITIES\n'
        "}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert problem.format(file=path) in result.output


# --- The engine checks values against the items ------------------------------------------


def test_a_value_among_the_items_is_accepted_and_others_refused(store: SqlStore) -> None:
    engine = world(store)
    appeal_id = register(engine, {"region": "MSK", "city": "MSK2"})
    assert engine.appeal(appeal_id).values["city"] == "MSK2"
    with pytest.raises(ValidationError) as caught:
        register(engine, {"region": "MSK", "city": "SPB1"})  # a city, but of another region
    assert caught.value.codes() == ("city",)
    assert "'SPB1' is not an item of CITIES" in str(caught.value)
    # An edit binds the appeal's own region when it changes only the city.
    engine.update_values(appeal_id, "ann", {"city": "MSK1"})
    with pytest.raises(ValidationError) as edited:
        engine.update_values(appeal_id, "ann", {"city": "SPB1"})
    assert edited.value.codes() == ("city",)
    engine.update_values(appeal_id, "ann", {"region": "SPB", "city": "SPB1"})
    assert untouched(store)


def test_a_failing_query_fails_the_action_naming_the_dictionary(store: SqlStore) -> None:
    engine = world(store, "SELECT code FROM qd_city")
    with pytest.raises(DictionaryQueryError, match="query dictionary CITIES"):
        register(engine, {"region": "MSK", "city": "MSK1"})


def test_without_a_query_runner_the_value_is_refused(store: SqlStore) -> None:
    billing = FakeBilling([Client(1, "Romashka", category="BIS", region="Moscow")])
    engine = Engine(
        catalog(),
        store.unit_of_work,
        plugins=make_plugin_manager([billing], load_entry_points=False),
        clock=ManualClock(),
        trust_logins=True,
    )
    with pytest.raises(ValidationError, match="no plugin or query runner provides"):
        register(engine, {"region": "MSK", "city": "MSK1"})


def test_a_plugin_answering_for_the_dictionary_comes_first(store: SqlStore) -> None:
    billing = FakeBilling(
        [Client(1, "Romashka", category="BIS", region="Moscow")],
        dictionaries={"CITIES": [("ELSEWHERE", "Elsewhere")]},
    )
    engine = Engine(
        catalog(),
        store.unit_of_work,
        plugins=make_plugin_manager([billing], load_entry_points=False),
        clock=ManualClock(),
        trust_logins=True,
        dictionary_queries=store.dictionary_queries(),
    )
    assert register(engine, {"region": "MSK", "city": "ELSEWHERE"})


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    region=st.text(
        # Text as databases hold it: no NUL (the model refuses it), no lone surrogates.
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=40,
    )
)
def test_any_text_parameter_gives_only_no_such_item(store: SqlStore, region: str) -> None:
    assume(region.strip() not in ("", "MSK"))
    engine = world(store)
    with pytest.raises(ValidationError) as caught:
        register(engine, {"region": region, "city": "MSK1"})
    assert caught.value.codes() == ("city",)
    assert "'MSK1' is not an item of CITIES" in str(caught.value)
    assert untouched(store)
