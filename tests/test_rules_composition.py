"""Named rules used inside other conditions: checked, compiled, explained, translated, printed."""

from __future__ import annotations

import sqlalchemy as sa

from crmcms.dsl import catalog_schema, compile_rule, format_source
from crmcms.dsl.definitions.loader import check_sources, load_catalog_text
from crmcms.storage.sql import TableBinding, rule_to_sql

TEXT = """topic T "T"

rule ONLY_BIS "BIS only": Client.Category = "BIS"
rule BIS_PSKOV "BIS in Pskov": ONLY_BIS and Client.Region = "Pskov"
rule NOT_BIS "Not BIS": not ONLY_BIS

queue Q "Q" {
    processes: a
    when NOT_BIS or BIS_PSKOV
}

queue OTHERS "Others" {
    processes: a
}

route R "R" {
    topics: T
    process a "A" initial
    process c "C" final
    transition a -> c "Close" when not ONLY_BIS
}
"""


def _rule(code: str):  # type: ignore[no-untyped-def]
    catalog = load_catalog_text({"x.crm": TEXT})
    return compile_rule(catalog.rule(code).expression, schema=catalog_schema(catalog))


def test_rules_compose_and_evaluate_as_written_out() -> None:
    assert check_sources({"x.crm": TEXT})[1] == []
    rule = _rule("@queue.Q")
    assert rule({"Client": {"Category": "VIP"}})
    assert rule({"Client": {"Category": "BIS", "Region": "Pskov"}})
    assert not rule({"Client": {"Category": "BIS", "Region": "Moscow"}})
    assert rule.paths == ("Client.Category", "Client.Region")


def test_explain_shows_the_inner_rules_parts() -> None:
    shown = str(_rule("BIS_PSKOV").explain({"Client": {"Category": "BIS", "Region": "Tver"}}))
    assert shown.splitlines() == [
        'ONLY_BIS and Client.Region = "Pskov"  =>  false',
        "  ONLY_BIS  =>  true",
        '    Client.Category = "BIS"  =>  true',
        '      Client.Category  =>  "BIS"',
        '      "BIS"  =>  "BIS"',
        '  Client.Region = "Pskov"  =>  false',
        '    Client.Region  =>  "Tver"',
        '    "Pskov"  =>  "Pskov"',
    ]


def test_a_cycle_of_rules_is_an_error_at_the_reference() -> None:
    text = TEXT.replace('Client.Category = "BIS"\n', 'Client.Category = "BIS" and NOT_BIS\n', 1)
    problems = check_sources({"x.crm": text})[1]
    shown = [f"{p.span}: {p.message}" for p in problems]
    assert "x.crm:3:55: rules form a cycle: NOT_BIS -> ONLY_BIS -> NOT_BIS" in shown
    assert "x.crm:5:29: rules form a cycle: ONLY_BIS -> NOT_BIS -> ONLY_BIS" in shown


def test_a_named_rule_is_typed_boolean() -> None:
    text = TEXT.replace("when not ONLY_BIS", "when Client.Region = ONLY_BIS")
    problems = check_sources({"x.crm": text})[1]
    assert [p.message for p in problems] == ["cannot compare string with boolean"]


def test_a_misspelt_rule_gets_a_hint() -> None:
    problems = check_sources({"x.crm": TEXT.replace("when not ONLY_BIS", "when not ONLY_BIZ")})[1]
    assert [(p.message, p.hint) for p in problems] == [
        ("unknown name 'ONLY_BIZ'", "did you mean rule ONLY_BIS?")
    ]


def test_fmt_keeps_a_composed_rule_as_written() -> None:
    assert format_source(TEXT, file="x.crm") == TEXT


def test_sql_gets_the_inner_rule_inlined() -> None:
    table = sa.Table("c", sa.MetaData(), sa.Column("category", sa.String))
    binding = TableBinding({"Client.Category": table.c.category})
    engine = sa.create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"category": "BIS"}, {"category": "VIP"}])
        where = rule_to_sql(_rule("NOT_BIS"), binding)
        assert conn.execute(sa.select(table.c.category).where(where)).scalars().all() == ["VIP"]
