"""The queue-gap search: exact for rules comparing fields with literals, checked against brute
force; sampled (and said to be) for anything else."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcms.dsl import compile_rule, type_named
from crmcms.dsl.rules.compiled_rule import CompiledRule
from crmcms.dsl.rules.coverage import Coverage, find_gap
from crmcms.dsl.rules.schema import STRING, Schema, list_of
from crmcms.plugins import make_plugin_manager, rule_schema

ATTRIBUTES = {"AMOUNT": "decimal", "FLAG": "boolean", "DUE": "date"}


@pytest.fixture(scope="module")
def schema() -> Schema:
    types = {code: type_named(name) for code, name in ATTRIBUTES.items()}
    types["TAGS"] = list_of(STRING)
    return rule_schema(make_plugin_manager(load_entry_points=False), attributes=types)


def gap(schema: Schema, *texts: str) -> Coverage:
    return find_gap([compile_rule(t, schema=schema) for t in texts])


def test_a_range_between_two_decimal_literals_is_found(schema: Schema) -> None:
    # 1.25 lies in no rule: trying each literal and its neighbours one apart misses it.
    found = gap(
        schema,
        "Appeal.Attribute[AMOUNT] <= 1.0 or Appeal.Attribute[AMOUNT] is empty",
        "Appeal.Attribute[AMOUNT] >= 1.5",
    )
    assert found == Coverage("Appeal.Attribute[AMOUNT] = 1.25", exhaustive=True)


def test_an_instant_on_no_side_of_a_datetime_literal_is_found(schema: Schema) -> None:
    found = gap(
        schema,
        "Appeal.Deadline < 2026-01-01T10:00:00Z or Appeal.Deadline is empty",
        "Appeal.Deadline > 2026-01-01T10:00:00Z",
    )
    assert found.gap == "Appeal.Deadline = 2026-01-01T10:00:00+00:00"
    assert found.exhaustive


def test_whole_values_between_literals_are_tried(schema: Schema) -> None:
    assert gap(
        schema, "Appeal.Priority <= 2", "Appeal.Priority >= 3 or Appeal.Priority is empty"
    ) == (Coverage(None, exhaustive=True))
    found = gap(schema, "Appeal.Priority < 2 or Appeal.Priority is empty", "Appeal.Priority > 2.5")
    assert found.gap == "Appeal.Priority = 2"
    found = gap(
        schema,
        "Appeal.Attribute[DUE] <= 2026-01-01 or Appeal.Attribute[DUE] is empty",
        "Appeal.Attribute[DUE] >= 2026-01-03",
    )
    assert found.gap == "Appeal.Attribute[DUE] = 2026-01-02"


def test_rules_read_other_ways_are_sampled_and_say_so(schema: Schema) -> None:
    found = gap(schema, 'Client.Region like "Psk%"', 'not (Client.Region like "Psk%")')
    assert found == Coverage(None, exhaustive=False)
    # A gap found by sampling is a gap all the same.
    found = gap(schema, 'Client.Region like "Psk%"')
    assert found.gap == "Client.Region is empty"
    assert gap(schema, "Appeal.Priority + 1 > 2", "Appeal.Priority <= 1").exhaustive is False
    assert gap(schema, '"a" in Appeal.Attribute[TAGS]', "true").exhaustive is False


def test_more_cases_than_are_tried_is_not_exhaustive(schema: Schema) -> None:
    # Three fields cut into many ranges, and a rule true for all of them: no gap, but more
    # combinations than the search tries.
    many = " or ".join(
        f"{field} in ({', '.join(str(i) for i in range(12))})"
        for field in ("Appeal.Priority", "Appeal.Attribute[AMOUNT]")
    )
    regions = 'Client.Region in ("a", "b", "c", "d", "e", "f", "g")'
    always = "Appeal.Priority > 100 or Appeal.Priority <= 100 or Appeal.Priority is empty"
    assert gap(schema, f"{many} or {regions}", always) == Coverage(None, exhaustive=False)


# --- against brute force --------------------------------------------------------------------

FIELDS = {
    "Appeal.Priority": [None, *range(-1, 7)],
    "Client.Region": [None, "A", "B", "C", "other"],
    "Appeal.Attribute[FLAG]": [None, True, False],
}
"""Each field with every value that matters to rules whose literals are the ones below: the
brute force tries them all."""

_LITERALS: dict[str, list[Any]] = {
    "Appeal.Priority": list(range(6)),
    "Client.Region": ["A", "B", "C"],
}


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


@st.composite
def _leaf(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(sorted(FIELDS)))
    if field == "Appeal.Attribute[FLAG]":
        return draw(st.sampled_from([field, f"not {field}", f"{field} is empty"]))
    literals = _LITERALS[field]
    kind = draw(st.sampled_from(["compare", "in", "empty"]))
    if kind == "empty":
        return f"{field} is {draw(st.sampled_from(['', 'not ']))}empty"
    if kind == "in":
        items = draw(st.lists(st.sampled_from(literals), min_size=1, max_size=3))
        word = draw(st.sampled_from(["in", "not in"]))
        return f"{field} {word} ({', '.join(map(_quote, items))})"
    ops = ["=", "!="] + (["<", "<=", ">", ">="] if field == "Appeal.Priority" else [])
    return f"{field} {draw(st.sampled_from(ops))} {_quote(draw(st.sampled_from(literals)))}"


CONDITIONS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        inner.map(lambda c: f"not ({c})"),
        st.tuples(st.sampled_from([" and ", " or "]), st.lists(inner, min_size=2, max_size=3)).map(
            lambda t: t[0].join(f"({c})" for c in t[1])
        ),
    ),
    max_leaves=5,
)


def _data(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "Appeal": {
            "Priority": values["Appeal.Priority"],
            "Attribute": {"FLAG": values["Appeal.Attribute[FLAG]"]},
        },
        "Client": {"Region": values["Client.Region"]},
    }


def _brute_gap(rules: list[CompiledRule]) -> bool:
    names = sorted(FIELDS)
    for combination in itertools.product(*(FIELDS[n] for n in names)):
        data = _data(dict(zip(names, combination, strict=True)))
        if not any(rule(data) for rule in rules):
            return True
    return False


@given(st.lists(CONDITIONS, min_size=1, max_size=3))
def test_the_search_finds_a_gap_exactly_when_brute_force_does(
    schema: Schema, texts: list[str]
) -> None:
    rules = [compile_rule(t, schema=schema) for t in texts]
    found = find_gap(rules)
    assert found.exhaustive
    assert (found.gap is not None) == _brute_gap(rules), found.gap
