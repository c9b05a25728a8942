"""What rules mean: empty values, types at run time, functions, explain, SQL specifics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from crmcms.dsl import DATE, DECIMAL, STRING, compile_rule
from crmcms.dsl.rules.functions import RuleFunction
from crmcms.dsl.rules.schema import Schema
from crmcms.errors import RuleEvaluationError, SqlTranslationError
from crmcms.plugins import hookimpl, make_plugin_manager, rule_schema
from crmcms.storage.sql import TableBinding, rule_to_sql

JAN_1 = date(2026, 1, 1)
EMPTY_RECORD: dict[str, Any] = {"Client": {"Category": None}}

# The empty-value table of docs/rules.md: (rule, value of Client.Category or Appeal.Priority
# being empty). Every comparison with empty is false, `not` of it is true.
EMPTY_TABLE = [
    ('Client.Category = "BIS"', False),
    ('Client.Category != "BIS"', False),
    ('Client.Category < "BIS"', False),
    ('Client.Category in ("BIS", "VIP")', False),
    ('Client.Category not in ("BIS", "VIP")', False),
    ('Client.Category like "%"', False),
    ('Client.Category not like "B%"', False),
    ('Client.Category matches "."', False),
    ("Client.Category is empty", True),
    ("Client.Category is not empty", False),
    ('not Client.Category = "BIS"', True),
    ('not Client.Category != "BIS"', True),
    ('not (Client.Category in ("BIS"))', True),
    ("Appeal.Priority + 1 > 0", False),
    ("Appeal.Priority + 1 is empty", True),
    ("not Appeal.Priority + 1 > 0", True),
    ("len(Client.Category) is empty", True),
    ('lower(Client.Category) = "bis"', False),
    ('coalesce(Client.Category, "none") = "none"', True),
    ("Appeal.Attribute[SMS_RULE]", False),
    ("not Appeal.Attribute[SMS_RULE]", True),
    ("Appeal.Attribute[SMS_RULE] = false", False),
    ('Client.Category = "BIS" or true', True),
    ("Appeal.Priority / 0 is empty", True),
    ("Client.Category = Client.Category", False),
]


@pytest.mark.parametrize(("text", "expected"), EMPTY_TABLE)
def test_empty_value_semantics(text: str, expected: bool) -> None:
    rule = compile_rule(text)
    assert rule.evaluate(EMPTY_RECORD) is expected
    assert rule.evaluate({}) is expected  # missing at any level reads as empty
    assert rule.evaluate({"Client": None, "Appeal": None}) is expected
    assert rule.explain({}).value is expected


VALUE_TABLE = [
    ('Client.Category = "BIS"', {"Client": {"Category": "BIS"}}, True),
    ('Client.Category <> "BIS"', {"Client": {"Category": "VIP"}}, True),
    ('Client.Category like "B_S"', {"Client": {"Category": "BIS"}}, True),
    ('Client.Category like "b%"', {"Client": {"Category": "BIS"}}, False),
    ('Client.Category like "100\\%"', {"Client": {"Category": "100%"}}, True),
    ('Client.Category like "100\\%"', {"Client": {"Category": "1000"}}, False),
    ('Client.Category matches "^B"', {"Client": {"Category": "BIS"}}, True),
    ('Client.Category matches "S$"', {"Client": {"Category": "BIS "}}, False),
    ('"admin" in Operator.Roles', {"Operator": {"Roles": ["admin", "x"]}}, True),
    ('"admin" not in Operator.Roles', {"Operator": {"Roles": []}}, True),
    ("len(Operator.Roles) = 0", {"Operator": {"Roles": []}}, True),
    ("Appeal.Priority * 2 - 1 = 5", {"Appeal": {"Priority": 3}}, True),
    ("Appeal.Priority / 2 = 1.5", {"Appeal": {"Priority": 3}}, True),
    ("-Appeal.Priority < 0", {"Appeal": {"Priority": 3}}, True),
    ("Appeal.Attribute[SUM] = 0.3", {"Appeal": {"Attribute": {"SUM": Decimal("0.3")}}}, True),
    (
        "Appeal.Deadline - Appeal.RegisteredAt > 1d12h",
        {
            "Appeal": {
                "Deadline": datetime(2026, 1, 3, tzinfo=UTC),
                "RegisteredAt": datetime(2026, 1, 1),  # naive reads as UTC
            }
        },
        True,
    ),
    ("date(Appeal.Deadline) = 2026-01-03", {"Appeal": {"Deadline": datetime(2026, 1, 3, 23)}}, 1),
    ("Appeal.Deadline < now() + 2h", {"Appeal": {"Deadline": datetime.now(UTC)}}, True),
    ("Appeal.Attribute[168] + 1w = 2026-01-08", {"Appeal": {"Attribute": {"168": JAN_1}}}, 1),
    ("abs(Appeal.Priority - 5) = 2", {"Appeal": {"Priority": 3}}, True),
    ('upper(trim(Client.Name)) = "ООО РОГА"', {"Client": {"Name": " ооо рога "}}, True),
]  # fmt: skip


@pytest.mark.parametrize(("text", "data", "expected"), VALUE_TABLE)
def test_values(text: str, data: dict[str, Any], expected: bool) -> None:
    rule = compile_rule(text)
    assert rule.evaluate(data) is bool(expected)
    assert rule(data) is bool(expected)


def test_decimals_never_go_through_float() -> None:
    schema = rule_schema(
        make_plugin_manager(load_entry_points=False), attributes={"A": DECIMAL, "B": DECIMAL}
    )
    rule = compile_rule("Appeal.Attribute[A] + Appeal.Attribute[B] = 0.3", schema=schema)
    # JSON floats become decimals through their text, never through binary arithmetic
    assert rule.evaluate(schema.convert({"Appeal": {"Attribute": {"A": 0.1, "B": 0.2}}}))
    # an attribute of unknown type holding a numeric string is read as a decimal
    untyped = compile_rule("Appeal.Attribute[A] + 0.2 = 0.3")
    assert untyped.evaluate({"Appeal": {"Attribute": {"A": "0.1"}}})


def test_a_value_of_unknown_type_is_checked_when_the_rule_runs() -> None:
    rule = compile_rule("Appeal.Attribute[168] < 2026-01-01")
    assert rule.evaluate({"Appeal": {"Attribute": {"168": "2025-12-31"}}})
    assert rule.evaluate({"Appeal": {"Attribute": {"168": date(2025, 12, 31)}}})
    with pytest.raises(RuleEvaluationError, match=r"Appeal.Attribute\[168\] holds 'soon'"):
        rule.evaluate({"Appeal": {"Attribute": {"168": "soon"}}})


def test_schema_converts_json_shaped_data() -> None:
    schema = rule_schema(
        make_plugin_manager(load_entry_points=False), attributes={"168": DATE, "S": DECIMAL}
    )
    data = schema.convert(
        {
            "Клиент": {"Категория": "BIS"},
            "Appeal": {
                "Deadline": "2026-01-01T10:00",
                "Attribute": {"168": "2026-01-01", "S": 0.1},
            },
        }
    )
    assert data == {
        "Client": {"Category": "BIS"},
        "Appeal": {
            "Deadline": datetime(2026, 1, 1, 10, tzinfo=UTC),
            "Attribute": {"168": date(2026, 1, 1), "S": Decimal("0.1")},
        },
    }


def test_compiled_rule_is_generated_python_without_a_tree_walk() -> None:
    rule = compile_rule('Client.Category = "BIS"')
    assert rule.python_source.startswith("def _rule(d):")
    assert rule.evaluate.__wrapped__.__code__.co_name == "_rule"  # type: ignore[attr-defined]


def test_explain_shows_every_sub_expression_and_what_was_not_evaluated() -> None:
    rule = compile_rule('Client.Category = "BIS" and Appeal.Priority >= 3')
    text = rule.explain({"Client": {"Category": "VIP"}, "Appeal": {"Priority": 5}}).render()
    assert text.splitlines() == [
        'Client.Category = "BIS" and Appeal.Priority >= 3  =>  false',
        '  Client.Category = "BIS"  =>  false',
        '    Client.Category  =>  "VIP"',
        '    "BIS"  =>  "BIS"',
        "  Appeal.Priority >= 3  =>  (not evaluated)",
        "    Appeal.Priority  =>  (not evaluated)",
        "    3  =>  (not evaluated)",
    ]


def test_explain_shows_parenthesised_expressions_whole() -> None:
    rule = compile_rule('not (Client.Region in ("Pskov", "Moscow"))')
    lines = rule.explain({"Client": {"Region": "Pskov"}}).render().splitlines()
    assert lines[0] == 'not (Client.Region in ("Pskov", "Moscow"))  =>  false'
    assert lines[1] == '  (Client.Region in ("Pskov", "Moscow"))  =>  true'


# --- SQL specifics ----------------------------------------------------------------------------


def _python_only_schema() -> Schema:
    class Geo:
        @hookimpl
        def crmcms_rule_functions(self) -> list[RuleFunction]:
            return [RuleFunction("near_pskov", lambda r: r == "Pskov", (STRING,), DECIMAL)]

    return rule_schema(make_plugin_manager([Geo()], load_entry_points=False))


_t = sa.Table(
    "t",
    sa.MetaData(),
    sa.Column("category", sa.String),
    sa.Column("deadline", sa.DateTime(timezone=True)),
)
_binding = TableBinding({"Client.Category": _t.c.category, "Appeal.Deadline": _t.c.deadline})


def test_a_python_only_function_says_so_when_asked_for_sql() -> None:
    rule = compile_rule("near_pskov(Client.Category) = 1", schema=_python_only_schema())
    assert rule.evaluate({"Client": {"Category": "Pskov"}})
    with pytest.raises(SqlTranslationError) as info:
        rule_to_sql(rule, _binding)
    assert "near_pskov() runs only in Python" in str(info.value)
    assert str(info.value).startswith("<rule>:1:1:")


def test_a_path_the_binding_lacks_is_named() -> None:
    with pytest.raises(SqlTranslationError, match=r"Client\.Region is not available"):
        rule_to_sql(compile_rule('Client.Region = "x"'), _binding)


def test_date_arithmetic_on_columns_points_to_the_constant_side() -> None:
    with pytest.raises(SqlTranslationError) as info:
        rule_to_sql(compile_rule("Appeal.Deadline - now() < 2h"), _binding)
    assert info.value.hint is not None
    assert "now() + 2h" in info.value.hint
    # the constant side is computed in Python, so this form translates
    rule_to_sql(compile_rule("Appeal.Deadline < now() + 2h"), _binding)


def test_like_is_case_sensitive_on_sqlite_too() -> None:
    engine = sa.create_engine("sqlite://")
    _t.metadata.create_all(engine)
    rule = compile_rule('Client.Category like "b%" or Client.Category not like "%S"')
    with engine.begin() as conn:
        conn.execute(_t.insert(), [{"category": "BIS"}, {"category": "bis"}, {"category": None}])
        got = conn.execute(sa.select(_t.c.category).where(rule_to_sql(rule, _binding))).scalars()
        assert set(got) == {"bis"}


def test_now_is_taken_when_sql_is_built() -> None:
    engine = sa.create_engine("sqlite://")
    _t.metadata.create_all(engine)
    soon = datetime.now(UTC) + timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(_t.insert(), [{"category": "a", "deadline": soon}])
        query = sa.select(_t.c.category).where(
            rule_to_sql(compile_rule("Appeal.Deadline < now() + 2h"), _binding)
        )
        assert conn.execute(query).scalars().all() == ["a"]
