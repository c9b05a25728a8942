"""Rule syntax tree: frozen nodes, each with its source span and (once checked) result type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from crmcms.dsl.rules.schema import ANY, RuleType
from crmcms.errors import SourceSpan

if TYPE_CHECKING:
    from crmcms.dsl.rules.functions import RuleFunction

__all__ = [
    "Arith",
    "Call",
    "Compare",
    "Emptiness",
    "ListExpr",
    "Literal",
    "Logical",
    "Membership",
    "Negate",
    "Node",
    "Not",
    "Path",
    "PathPart",
    "Pattern",
    "RuleRef",
    "children",
    "inline_rules",
    "walk",
]


@attrs.frozen
class Node:
    """Base of every node. ``type`` is ``ANY`` until the checker has typed the tree."""

    span: SourceSpan = attrs.field(kw_only=True)
    type: RuleType = attrs.field(default=ANY, kw_only=True)


@attrs.frozen
class Literal(Node):
    """A constant: string, integer, decimal, boolean, date, date-time, duration or empty."""

    value: Any


@attrs.frozen
class PathPart:
    """One step of a path as written: a name (``Category``) or an attribute key (``[168]``)."""

    name: str
    span: SourceSpan
    key: bool = False


@attrs.frozen
class Path(Node):
    """``Client.Category`` or ``Appeal.Attribute[168]``; ``resolved`` holds canonical names."""

    parts: tuple[PathPart, ...]
    resolved: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        out = ""
        for p in self.parts:
            out += f"[{p.name}]" if p.key else (f".{p.name}" if out else p.name)
        return out

    @property
    def canonical(self) -> str:
        """The resolved path in canonical English names: ``Appeal.Attribute[168]``."""
        out = ""
        for name, part in zip(self.resolved, self.parts, strict=False):
            out += f"[{name}]" if part.key else (f".{name}" if out else name)
        return out


@attrs.frozen
class Call(Node):
    """A function call; ``function`` is filled in by the checker."""

    name: str
    args: tuple[Node, ...]
    function: RuleFunction | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class ListExpr(Node):
    """``(a, b)`` after ``in``, or ``[a, b]``."""

    items: tuple[Node, ...]


@attrs.frozen
class Negate(Node):
    """Unary minus."""

    operand: Node


@attrs.frozen
class Arith(Node):
    """``+ - * /`` on numbers, dates, date-times and durations."""

    op: str
    left: Node
    right: Node


@attrs.frozen
class Compare(Node):
    """``= != < <= > >=`` (``<>`` and ``==`` are read as ``!=`` and ``=``)."""

    op: str
    left: Node
    right: Node


@attrs.frozen
class Membership(Node):
    """``item in container`` or ``item not in container``."""

    item: Node
    container: Node
    negated: bool = False


@attrs.frozen
class Pattern(Node):
    """``like`` (SQL pattern, whole string) or ``matches`` (regular expression, anywhere)."""

    kind: str
    operand: Node
    pattern: str
    pattern_span: SourceSpan
    negated: bool = False


@attrs.frozen
class Emptiness(Node):
    """``x is empty`` / ``x is not empty``."""

    operand: Node
    negated: bool = False


@attrs.frozen
class Not(Node):
    """``not x``."""

    operand: Node


@attrs.frozen
class Logical(Node):
    """``a and b and ...`` or ``a or b or ...``, flattened."""

    op: str
    operands: tuple[Node, ...]


@attrs.frozen
class RuleRef(Node):
    """A named rule used by its code inside a condition (``not ONLY_BIS``), made by the
    checker from the path naming it: ``rule`` is the named rule's typed tree, whose spans are
    in ``source`` (the text it was written in), not in the text of the condition using it."""

    code: str
    rule: Node
    source: str = attrs.field(repr=False, eq=False)


def inline_rules(node: Node) -> Node:
    """``node`` with every :class:`RuleRef` replaced by the named rule's own tree: for
    compilers that need nothing of where each part was written (SQL)."""
    if isinstance(node, RuleRef):
        return inline_rules(node.rule)
    changes: dict[str, Any] = {}
    for field in attrs.fields(type(node)):
        value = getattr(node, field.name)
        if isinstance(value, Node):
            new = inline_rules(value)
            if new is not value:
                changes[field.name] = new
        elif isinstance(value, tuple) and value and isinstance(value[0], Node):
            items = tuple(inline_rules(v) for v in value)
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[field.name] = items
    return attrs.evolve(node, **changes) if changes else node


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, left to right."""
    match node:
        case Call(args=args):
            return args
        case ListExpr(items=items):
            return items
        case Negate(operand=o) | Not(operand=o) | Emptiness(operand=o) | Pattern(operand=o):
            return (o,)
        case Arith(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case Membership(item=a, container=b):
            return (a, b)
        case Logical(operands=ops):
            return ops
        case RuleRef(rule=rule):
            return (rule,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node under it, parents first."""
    yield node
    for child in children(node):
        yield from walk(child)
