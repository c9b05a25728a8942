"""Hypothesis strategies for the rule language: well-typed rule trees, their text, data records."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

__all__ = ["ATTRIBUTE_TYPES", "FIELDS", "records", "render", "rule_trees"]

# A small world: (canonical path, type name, English text, Russian text, sample values).
FIELDS: tuple[tuple[str, str, str, str, tuple[Any, ...]], ...] = (
    ("Client.Category", "string", "Client.Category", "Клиент.Категория", ("BIS", "VIP", "bis")),
    ("Client.Region", "string", "Client.Region", "Клиент.Регион", ("Pskov", "Moscow", "")),
    ("Appeal.Priority", "integer", "Appeal.Priority", "Обращение.Приоритет", (0, 1, 3, 5)),
    (
        "Appeal.Deadline",
        "datetime",
        "Appeal.Deadline",
        "Обращение.Срок",
        (datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 6, 1, 0, 30, tzinfo=UTC)),
    ),
    (
        "Appeal.Attribute.AMOUNT",
        "decimal",
        "Appeal.Attribute[AMOUNT]",
        "Обращение.Атрибут[AMOUNT]",
        (Decimal("0.50"), Decimal("12.34"), Decimal("100")),
    ),
    (
        "Appeal.Attribute.168",
        "date",
        "Appeal.Attribute[168]",
        "Обращение.Атрибут[168]",
        (date(2026, 1, 1), date(2026, 11, 26)),
    ),
    (
        "Appeal.Attribute.FLAG",
        "boolean",
        "Appeal.Attribute[FLAG]",
        "Обращение.Атрибут[FLAG]",
        (True, False),
    ),
)
ATTRIBUTE_TYPES = {"AMOUNT": "decimal", "168": "date", "FLAG": "boolean"}

_BY_TYPE: dict[str, list[tuple[str, str, str, str, tuple[Any, ...]]]] = {}
for _f in FIELDS:
    _BY_TYPE.setdefault(_f[1], []).append(_f)

Tree = tuple[Any, ...]


def _literal(type_: str) -> st.SearchStrategy[Tree]:
    samples = [v for f in _BY_TYPE[type_] for v in f[4]]
    return st.sampled_from(samples).map(lambda v: ("lit", v, type_))


def _path(type_: str) -> st.SearchStrategy[Tree]:
    return st.sampled_from(_BY_TYPE[type_]).flatmap(
        lambda f: st.sampled_from((f[2], f[3])).map(lambda text: ("path", f[0], type_, text))
    )


def _value(type_: str, *, sql: bool) -> st.SearchStrategy[Tree]:
    base = st.one_of(_path(type_), _literal(type_))
    if type_ == "integer":
        small = st.integers(-3, 3).map(lambda v: ("lit", v, "integer"))
        return st.one_of(
            base,
            st.tuples(st.just("arith"), st.sampled_from("+-*"), _path(type_), small),
        )
    if type_ == "string":
        calls = st.tuples(st.just("call"), st.sampled_from(("lower", "upper")), _path(type_))
        return st.one_of(base, calls)
    if type_ == "date" and not sql:
        days = st.integers(0, 400).map(lambda n: ("lit", timedelta(days=n), "duration"))
        return st.one_of(
            base, st.tuples(st.just("arith"), st.sampled_from("+-"), _path(type_), days)
        )
    return base


_ORDERED = ("integer", "decimal", "date", "datetime", "string")
_PATTERNS = ("B%", "%s", "_I_", "%o%", "VIP", "b%")


@st.composite
def _comparison(draw: st.DrawFn, sql: bool) -> Tree:
    type_ = draw(st.sampled_from(sorted(_BY_TYPE)))
    kind = draw(
        st.sampled_from(("cmp", "cmp", "in", "empty", "like" if type_ == "string" else "cmp"))
    )
    left = draw(_value(type_, sql=sql))
    if kind == "empty":
        return ("empty", draw(st.booleans()), left)
    if kind == "like":
        return ("like", draw(st.booleans()), left, draw(st.sampled_from(_PATTERNS)))
    if kind == "in":
        items = draw(st.lists(_literal(type_), min_size=1, max_size=3))
        return ("in", draw(st.booleans()), left, tuple(items))
    ops = ["=", "!="] + (["<", "<=", ">", ">="] if type_ in _ORDERED and type_ != "string" else [])
    if type_ == "boolean":
        return ("cmp", draw(st.sampled_from(ops)), left, draw(_literal(type_)))
    return ("cmp", draw(st.sampled_from(ops)), left, draw(_value(type_, sql=sql)))


def rule_trees(*, sql: bool = False) -> st.SearchStrategy[Tree]:
    """Well-typed boolean rule trees over :data:`FIELDS`; ``sql`` keeps to what SQL runs."""
    leaves = st.one_of(
        _comparison(sql),
        _path("boolean"),
        st.booleans().map(lambda b: ("lit", b, "boolean")),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(lambda x: ("not", x)),
            st.tuples(st.sampled_from(("and", "or")), st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=6,
    )


def _render_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.days}d"
    if isinstance(value, Decimal):
        text = str(value)
        return text if "." in text else text + ".0"
    return str(value)


def render(tree: Tree) -> str:
    """Rule text for a tree (fully parenthesised, English or Russian names at random)."""
    kind = tree[0]
    if kind == "lit":
        text = _render_literal(tree[1])
        return f"({text})" if text.startswith("-") else text
    if kind == "path":
        return str(tree[3])
    if kind == "call":
        return f"{tree[1]}({render(tree[2])})"
    if kind == "arith":
        return f"({render(tree[2])} {tree[1]} {render(tree[3])})"
    if kind == "cmp":
        return f"({render(tree[2])} {tree[1]} {render(tree[3])})"
    if kind == "in":
        items = ", ".join(render(i) for i in tree[3])
        return f"({render(tree[2])} {'not in' if tree[1] else 'in'} ({items}))"
    if kind == "like":
        return f"({render(tree[2])} {'not like' if tree[1] else 'like'} {json.dumps(tree[3])})"
    if kind == "empty":
        return f"({render(tree[2])} is {'not ' if tree[1] else ''}empty)"
    if kind == "not":
        return f"(not {render(tree[1])})"
    return "(" + f" {kind} ".join(render(t) for t in tree[1]) + ")"


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A data mapping over :data:`FIELDS`; any value may be missing or empty (None)."""
    out: dict[str, Any] = {}
    for path, _type, _en, _ru, samples in FIELDS:
        choice = draw(st.integers(0, len(samples) + 1))
        if choice == len(samples) + 1:
            continue  # missing altogether
        value = samples[choice] if choice < len(samples) else None
        node = out
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return out
