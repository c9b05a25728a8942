"""Whether some appeal fails every one of a set of rules: the check that a process's queues
leave no gap.

Rules that compare fields with literal values (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
``in (...)``, ``is empty``, boolean fields, ``and``, ``or``, ``not``) cannot tell apart two
values that lie in the same range between the literals they name. So trying one value of each
range, for every field in every combination, tries every case: when none makes all the rules
false, none exists. Rules that read fields any other way (patterns, function calls,
arithmetic, two fields compared) are tried on the same values and some samples, which may
miss a gap; :attr:`Coverage.exhaustive` says which it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.compiled_rule import CompiledRule
from crmcms.dsl.rules.schema import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    STRING,
    RuleType,
)
from crmcms.dsl.rules.unparse import unparse
from crmcms.errors import SourceSpan

__all__ = ["MAX_COMBINATIONS", "Coverage", "cases", "find_case", "find_gap"]

MAX_COMBINATIONS = 4096
"""Combinations of values tried at most; past it the search is not exhaustive."""

Field = tuple[str, ...]

_STEP: dict[RuleType, Any] = {
    INTEGER: 1,
    DATE: timedelta(days=1),
}
"""Types whose values are whole steps apart: no value lies between a literal and its
neighbour, so the literal and its neighbours stand for every range."""

_SPAN: dict[RuleType, Any] = {
    DECIMAL: Decimal(1),
    DATETIME: timedelta(days=1),
    DURATION: timedelta(days=1),
}
"""Types with a value between any two: a range between literals is stood for by its middle;
below the smallest and above the largest, by a literal moved by this much."""


_KNOWN = frozenset({BOOLEAN, STRING, *_STEP, *_SPAN})
"""Field types whose ranges :func:`_values` works out."""


@attrs.frozen
class Coverage:
    """What the search found."""

    gap: str | None
    """The values found (``Client.Region is empty and ...``): for :func:`find_gap` values for
    which every rule is false, for :func:`find_case` values for which every rule is true;
    ``None`` when the search found none."""
    exhaustive: bool
    """Every case the rules can tell apart was tried: ``gap is None`` means there is none."""


def cases(rules: Iterable[CompiledRule]) -> dict[Field, list[Any]]:
    """For each field ``rules`` read (a path such as ``("Client", "Region")``), one value of
    each range their literals cut its values into, empty (``None``) first: values that take
    every rule down each of its branches, for tests as for :func:`find_gap`."""
    return _cases(rules)[0]


def _cases(rules: Iterable[CompiledRule]) -> tuple[dict[Field, list[Any]], bool]:
    literals: dict[Field, tuple[RuleType, set[Any]]] = {}
    exact = True
    for rule in rules:
        exact = _collect(rule.tree, literals) and exact
    return {field: _values(type_, found) for field, (type_, found) in literals.items()}, exact


def find_gap(rules: Sequence[CompiledRule]) -> Coverage:
    """Look for values of the fields ``rules`` read for which every one of them is false."""
    return _search(rules, holds=False)


def find_case(rules: Sequence[CompiledRule]) -> Coverage:
    """Look for values of the fields ``rules`` read for which every one of them is true
    (:attr:`Coverage.gap` then describes them; ``""`` when the rules read no field)."""
    return _search(rules, holds=True)


def _search(rules: Sequence[CompiledRule], *, holds: bool) -> Coverage:
    by_field, exact = _cases(rules)
    fields = list(by_field)
    choices = list(by_field.values())
    count = 1
    for values in choices:
        count *= len(values)
    for combination in itertools.islice(itertools.product(*choices), MAX_COMBINATIONS):
        data = _nest(zip(fields, combination, strict=True))
        try:
            if any(bool(rule(data)) is not holds for rule in rules):
                continue
        except Exception:  # a value the rule cannot take: this case was not decided
            exact = False
            continue
        described = " and ".join(_describe(f, v) for f, v in zip(fields, combination, strict=True))
        return Coverage(described, exact)
    return Coverage(None, exact and count <= MAX_COMBINATIONS)


def _collect(node: ast.Node, literals: dict[Field, tuple[RuleType, set[Any]]]) -> bool:
    """Note every field ``node`` reads, with the literals it is compared with; whether the
    rule reads fields only in ways :func:`_values` covers exactly."""
    exact = True
    for n in ast.walk(node):
        if isinstance(n, ast.Path) and n.resolved:
            literals.setdefault(n.resolved, (n.type, set()))
            # Lists, and values of no known type, are only sampled.
            exact = exact and n.type in _KNOWN
    for n in ast.walk(node):
        match n:
            case (
                ast.Logical()
                | ast.Not()
                | ast.Literal()
                | ast.Path()
                | ast.ListExpr()
                | ast.RuleRef()
            ):
                pass
            case ast.Negate(operand=ast.Literal()):
                pass
            case ast.Emptiness(operand=ast.Path()):
                pass
            case ast.Compare(left=left, right=right) if _one_field(left, right):
                for field, value in ((left, right), (right, left)):
                    if isinstance(field, ast.Path):
                        _note(literals, field, _literal(value))
            case ast.Membership(item=ast.Path() as field, container=ast.ListExpr() as listed):
                for item in listed.items:
                    if _is_literal(item):
                        _note(literals, field, _literal(item))
                    else:
                        exact = False
            case ast.Pattern(kind="like", operand=ast.Path() as field, pattern=pattern):
                # One value the pattern matches; whether others do is not worked out.
                _note(literals, field, pattern.replace("%", "").replace("_", "x"))
                exact = False
            case _:
                exact = False
    return exact


def _one_field(left: ast.Node, right: ast.Node) -> bool:
    """A field compared with a literal (or two literals): what ranges decide."""
    sides = (left, right)
    return all(isinstance(side, ast.Path) or _is_literal(side) for side in sides) and not all(
        isinstance(side, ast.Path) for side in sides
    )


def _is_literal(node: ast.Node) -> bool:
    return isinstance(node, ast.Literal) or (
        isinstance(node, ast.Negate) and isinstance(node.operand, ast.Literal)
    )


def _literal(node: ast.Node) -> Any:
    """The value of a literal (``-5`` is a negated one)."""
    if isinstance(node, ast.Negate) and isinstance(node.operand, ast.Literal):
        return -node.operand.value
    return node.value if isinstance(node, ast.Literal) else None


def _note(literals: dict[Field, tuple[RuleType, set[Any]]], field: ast.Path, value: Any) -> None:
    if field.resolved and value is not None:
        literals[field.resolved][1].add(value)


def _values(type_: RuleType, found: set[Any]) -> list[Any]:
    """A value of each range the literals ``found`` cut the field's values into, empty first."""
    if type_ == BOOLEAN:
        return [None, True, False]
    literals = [v for v in found if not isinstance(v, bool)]
    if type_ == DECIMAL:  # whole numbers compared with a decimal field count as decimals
        literals = [Decimal(v) if isinstance(v, int) else v for v in literals]
    step, span = _STEP.get(type_), _SPAN.get(type_)
    if step is not None or span is not None:
        try:
            ordered = sorted(set(literals))
        except TypeError:  # literals of types that do not compare: samples, as they are
            return [None, *literals]
        if not ordered:
            return [None, _plain(type_)]
        if step is not None:
            # The whole values at and next to each literal (a literal between two whole
            # values, 2.5 compared with an integer field, stands between its floor and ceiling).
            near = set()
            for value in ordered:
                low, high = _floor(value, type_), _ceil(value, type_)
                near |= {low - step, low, high, high + step}
            return [None, *sorted(near)]
        middles = [a + (b - a) / 2 for a, b in itertools.pairwise(ordered)]
        return [None, ordered[0] - span, *sorted([*ordered, *middles]), ordered[-1] + span]
    # Strings (and fields of no known type): each literal, and one value equal to none.
    other = "other"
    while other in found:
        other += "~"
    return [None, *sorted(found, key=repr), other]


def _floor(value: Any, type_: RuleType) -> Any:
    """The whole value at or below ``value`` (a decimal literal compared with an integer)."""
    if type_ == INTEGER and isinstance(value, Decimal):
        return int(value.to_integral_value(rounding="ROUND_FLOOR"))
    if type_ == DATE and isinstance(value, datetime):
        return value.date()
    return value


def _ceil(value: Any, type_: RuleType) -> Any:
    if type_ == INTEGER and isinstance(value, Decimal):
        return int(value.to_integral_value(rounding="ROUND_CEILING"))
    if type_ == DATE and isinstance(value, datetime):
        return value.date() + timedelta(days=1)
    return value


def _plain(type_: RuleType) -> Any:
    """Some value of a field no literal is compared with."""
    return {
        INTEGER: 0,
        DECIMAL: Decimal(0),
        DATE: date(2000, 1, 1),
        DATETIME: datetime(2000, 1, 1, tzinfo=UTC),
        DURATION: timedelta(0),
    }.get(type_, "x")


def _nest(assignment: Iterable[tuple[Field, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, value in assignment:
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return data


def _describe(path: Field, value: Any) -> str:
    if path[:2] == ("Appeal", "Attribute") and len(path) == 3:
        shown = f"Appeal.Attribute[{path[2]}]"
    else:
        shown = ".".join(path)
    if value is None:
        return f"{shown} is empty"
    return f"{shown} = {unparse(ast.Literal(value, span=SourceSpan('', 1, 1)))}"
