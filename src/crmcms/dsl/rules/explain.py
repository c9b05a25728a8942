"""Why a rule is true or false: the value of every sub-expression for one data record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.compile_python import _ERRORS, _failure, compile_function, fill, generate
from crmcms.errors import SourceSpan

__all__ = ["Explanation", "explain", "format_rule_literal"]


def format_rule_literal(value: Any) -> str:
    """A value as rule text would write it: ``"BIS"``, ``2026-11-26``, ``2h``, ``empty``."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _format_duration(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        items = sorted(value, key=repr) if isinstance(value, frozenset | set) else value
        return "(" + ", ".join(format_rule_literal(v) for v in items) + ")"
    return repr(value)


def _format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return sign + (out or "0s")


@attrs.frozen
class Explanation:
    """One node of a rule with the value it had; ``evaluated`` is false where evaluation
    stopped early (``false and ...`` never looks at its right side)."""

    text: str
    value: Any
    evaluated: bool
    span: SourceSpan
    children: tuple[Explanation, ...] = ()

    @property
    def result(self) -> bool:
        return self.value is True

    def render(self, indent: str = "  ") -> str:
        """An indented tree, one sub-expression per line with its value."""
        lines: list[str] = []
        self._render(lines, 0, indent)
        return "\n".join(lines)

    def _render(self, lines: list[str], depth: int, indent: str) -> None:
        shown = format_rule_literal(self.value) if self.evaluated else "(not evaluated)"
        lines.append(f"{indent * depth}{self.text}  =>  {shown}")
        for child in self.children:
            child._render(lines, depth + 1, indent)

    def __str__(self) -> str:
        return self.render()


def _slice(source: str, span: SourceSpan) -> str:
    lines = source.splitlines()
    if not lines or span.end_line is None or span.end_column is None:
        return source.strip()
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    head = lines[span.line - 1][span.column - 1 :]
    middle = lines[span.line : span.end_line - 1]
    tail = lines[span.end_line - 1][: span.end_column - 1]
    return " ".join(part.strip() for part in (head, *middle, tail))


def explain(root: ast.Node, data: Mapping[str, Any], *, source: str) -> Explanation:
    """Run a typed tree over ``data`` recording every value it computes.

    The same generated code as for evaluation runs, with a recorder around each node, so an
    explanation cannot disagree with :meth:`CompiledRule.evaluate`.
    """
    generated = generate(root, text=source, record=True)
    fn = compile_function(generated)
    values: dict[int, Any] = {}

    def record(index: int, value: Any) -> Any:
        values[index] = value
        return value

    try:
        result = fn(fill(data, generated.paths), record)
    except _ERRORS as exc:
        raise _failure(source)(exc) from None
    index = {id(node): i for i, node in enumerate(generated.recorded)}

    def build(node: ast.Node, text: str) -> Explanation:
        i = index.get(id(node))
        evaluated = i is not None and i in values
        value = values.get(i) if i is not None else None
        if node is root:
            value, evaluated = result, True
        # A named rule's parts were written in its own text: slice them from there.
        inner = node.source if isinstance(node, ast.RuleRef) else text
        kids = (
            ()
            if isinstance(node, ast.Literal)
            else tuple(build(c, inner) for c in ast.children(node))
        )
        if isinstance(node, ast.ListExpr) and all(isinstance(c, ast.Literal) for c in node.items):
            kids = ()
        return Explanation(_slice(text, node.span), value, evaluated, node.span, kids)

    return build(root, source)
