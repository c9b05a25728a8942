"""Generated rules: compiled Python agrees with a reference interpreter, and SQL with Python."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcms.dsl import compile_rule, type_named
from crmcms.dsl.rules.schema import RuleType, Schema
from crmcms.plugins import make_plugin_manager, rule_schema
from crmcms.storage.sql import TableBinding, rule_to_sql
from crmcms.testing.rules import ATTRIBUTE_TYPES, records, render, rule_trees

# --- A reference interpreter: the documented semantics, written as plainly as possible ------


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def ref_value(tree: tuple[Any, ...], data: Mapping[str, Any]) -> Any:
    kind = tree[0]
    if kind == "lit":
        return tree[1]
    if kind == "path":
        return _lookup(data, tree[1])
    if kind == "call":
        arg = ref_value(tree[2], data)
        return None if arg is None else getattr(str, tree[1])(arg)
    if kind == "arith":
        a, b = ref_value(tree[2], data), ref_value(tree[3], data)
        if a is None or b is None:
            return None
        if tree[1] == "+":
            return a + b
        return a - b if tree[1] == "-" else a * b
    return ref_condition(tree, data)


def ref_condition(tree: tuple[Any, ...], data: Mapping[str, Any]) -> bool:
    kind = tree[0]
    if kind == "cmp":
        a, b = ref_value(tree[2], data), ref_value(tree[3], data)
        if a is None or b is None:
            return False  # a comparison with empty is false
        op = tree[1]
        if op in ("=", "!="):
            return (a == b) == (op == "=")
        return bool(
            a < b if op == "<" else a <= b if op == "<=" else a > b if op == ">" else a >= b
        )
    if kind == "in":
        item = ref_value(tree[2], data)
        if item is None:
            return False
        found = item in [ref_value(i, data) for i in tree[3]]
        return not found if tree[1] else found
    if kind == "like":
        value = ref_value(tree[2], data)
        if value is None:
            return False
        return _like(value, tree[3]) != tree[1]
    if kind == "empty":
        return (ref_value(tree[2], data) is None) != tree[1]
    if kind == "not":
        return not ref_condition(tree[1], data)
    if kind == "and":
        return all(ref_condition(t, data) for t in tree[1])
    if kind == "or":
        return any(ref_condition(t, data) for t in tree[1])
    return ref_value(tree, data) is True  # a boolean value: empty counts as false


@pytest.fixture(scope="module")
def schema() -> Schema:
    pm = make_plugin_manager(load_entry_points=False)
    types = {code: type_named(name) for code, name in ATTRIBUTE_TYPES.items()}
    return rule_schema(pm, attributes=types)


@given(tree=rule_trees(), data=st.lists(records(), min_size=1, max_size=4))
def test_compiled_rule_agrees_with_the_reference_interpreter(
    schema: Schema, tree: tuple[Any, ...], data: list[dict[str, Any]]
) -> None:
    text = render(tree)
    rule = compile_rule(text, schema=schema)
    for record in data:
        expected = ref_condition(tree, record)
        assert rule.evaluate(record) is expected, (text, record, rule.python_source)
        assert rule.explain(record).value is expected


# --- SQL agrees with Python -------------------------------------------------------------------

_metadata = sa.MetaData()
_appeals = sa.Table(
    "rule_test_appeals",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("client_category", sa.String(20)),
    sa.Column("client_region", sa.String(20)),
    sa.Column("priority", sa.Integer),
    sa.Column("deadline", sa.DateTime(timezone=True)),
)
_attributes = sa.Table(
    "rule_test_attributes",
    _metadata,
    sa.Column("appeal_id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(20), primary_key=True),
    sa.Column("value_num", sa.Numeric(12, 2)),
    sa.Column("value_date", sa.Date),
    sa.Column("value_bool", sa.Boolean),
)
_VALUE_COLUMNS = {"decimal": "value_num", "date": "value_date", "boolean": "value_bool"}


def _attribute(code: str, type_: RuleType) -> Any:
    column = _attributes.c[_VALUE_COLUMNS[type_.name]]
    return (
        sa.select(column)
        .where(_attributes.c.appeal_id == _appeals.c.id, _attributes.c.code == code)
        .scalar_subquery()
    )


BINDING = TableBinding(
    {
        "Client.Category": _appeals.c.client_category,
        "Client.Region": _appeals.c.client_region,
        "Appeal.Priority": _appeals.c.priority,
        "Appeal.Deadline": _appeals.c.deadline,
    },
    attributes=_attribute,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    _metadata.create_all(engine)
    yield engine
    engine.dispose()


def _store(conn: sa.Connection, data: list[dict[str, Any]]) -> None:
    conn.execute(_attributes.delete())
    conn.execute(_appeals.delete())
    for i, record in enumerate(data):
        client, appeal = record.get("Client", {}), record.get("Appeal", {})
        conn.execute(
            _appeals.insert().values(
                id=i,
                client_category=client.get("Category"),
                client_region=client.get("Region"),
                priority=appeal.get("Priority"),
                deadline=appeal.get("Deadline"),
            )
        )
        for code, value in appeal.get("Attribute", {}).items():
            column = _VALUE_COLUMNS[ATTRIBUTE_TYPES[code]]
            conn.execute(_attributes.insert().values(appeal_id=i, code=code, **{column: value}))


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=40,
)
@given(tree=rule_trees(sql=True), data=st.lists(records(), min_size=1, max_size=6))
def test_sql_selects_the_rows_python_accepts(
    engine: sa.Engine, schema: Schema, tree: tuple[Any, ...], data: list[dict[str, Any]]
) -> None:
    rule = compile_rule(render(tree), schema=schema)
    expected = {i for i, record in enumerate(data) if rule.evaluate(record)}
    with engine.begin() as conn:
        _store(conn, data)
        query = sa.select(_appeals.c.id).where(rule_to_sql(rule, BINDING))
        got = set(conn.execute(query).scalars())
    assert got == expected, (rule.text, str(query))
