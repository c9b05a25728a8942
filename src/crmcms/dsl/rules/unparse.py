"""Rule syntax tree back to canonical rule text: the form definition files store and print."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from crmcms.dsl.rules import ast

__all__ = ["chain", "format_duration_literal", "quote", "unparse"]

# Binding strength, loosest first; a child looser than its slot needs parentheses.
_OR, _AND, _NOT, _PREDICATE, _SUM, _PRODUCT, _UNARY = range(7)


_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters written as escapes: the named ones, and every other control or line-breaking
# character (str.splitlines breaks at some of them, so a file would not read back the same).
_ESCAPED = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or f"\\u{ord(char):04x}"


def quote(text: str) -> str:
    """A double-quoted string literal that the parser reads back as ``text``."""
    return '"' + _ESCAPED.sub(_escape, text) + '"'


def format_duration_literal(value: timedelta) -> str:
    """``1d12h``, ``4h``, ``90s`` -> ``1m30s``: the duration literal for ``value``."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _literal(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration_literal(value)
    if isinstance(value, Decimal):
        text = str(value)
        return text if "." in text else f"{text}.0"
    return str(value)


def _level(node: ast.Node) -> int:
    match node:
        case ast.Logical(op="or"):
            return _OR
        case ast.Logical():
            return _AND
        case ast.Not():
            return _NOT
        case ast.Compare() | ast.Membership() | ast.Pattern() | ast.Emptiness():
            return _PREDICATE
        case ast.Arith(op="+" | "-"):
            return _SUM
        case ast.Arith():
            return _PRODUCT
    return _UNARY


def _wrap(node: ast.Node, at_least: int) -> str:
    text = unparse(node)
    return f"({text})" if _level(node) < at_least else text


def _path(parts: tuple[ast.PathPart, ...]) -> str:
    out = ""
    for part in parts:
        if part.key:
            plain = part.name.isdigit() or part.name.isidentifier()
            out += f"[{part.name if plain else quote(part.name)}]"
        else:
            out += f".{part.name}" if out else part.name
    return out


def _items(items: tuple[ast.Node, ...]) -> str:
    return ", ".join(_wrap(i, _SUM) for i in items)


def unparse(node: ast.Node) -> str:
    """Canonical text of ``node``; parsing it gives the same tree (positions aside)."""
    match node:
        case ast.Literal(value=value):
            return _literal(value)
        case ast.Path(parts=parts):
            return _path(parts)
        case ast.Call(name=name, args=args):
            return f"{name}({', '.join(unparse(a) for a in args)})"
        case ast.ListExpr(items=items):
            return f"[{_items(items)}]"
        case ast.Negate(operand=operand):
            return f"-{_wrap(operand, _UNARY)}"
        case ast.Arith(op=op, left=left, right=right):
            level = _level(node)
            return f"{_wrap(left, level)} {op} {_wrap(right, level + 1)}"
        case ast.Compare(op=op, left=left, right=right):
            return f"{_wrap(left, _SUM)} {op} {_wrap(right, _SUM)}"
        case ast.Membership(item=item, container=container, negated=negated):
            word = "not in" if negated else "in"
            if isinstance(container, ast.ListExpr):
                target = f"({_items(container.items)})"
            else:
                target = _wrap(container, _UNARY)
            return f"{_wrap(item, _SUM)} {word} {target}"
        case ast.Pattern(kind=kind, operand=operand, pattern=pattern, negated=negated):
            return f"{_wrap(operand, _SUM)} {'not ' if negated else ''}{kind} {quote(pattern)}"
        case ast.Emptiness(operand=operand, negated=negated):
            return f"{_wrap(operand, _SUM)} is {'not ' if negated else ''}empty"
        case ast.Not(operand=operand):
            return f"not {_wrap(operand, _NOT)}"
        case ast.Logical(op=op, operands=operands):
            level = _level(node)
            return f" {op} ".join(_wrap(o, level + 1) for o in operands)
        case ast.RuleRef(code=code):
            return code
    raise TypeError(f"cannot print {type(node).__name__}")


def chain(node: ast.Node) -> list[tuple[str, ast.Node]]:
    """The canonical text of ``node`` in pieces, cut before each ``and`` / ``or`` that needs
    no parentheses, each piece with the operand it starts with.

    The first piece is the first operand; each other starts with its operator. Joined with
    spaces, the pieces are :func:`unparse`'s text: where a condition may be broken across
    lines without changing what it means.
    """
    if not isinstance(node, ast.Logical):
        return [(unparse(node), node)]
    level = _level(node)
    pieces: list[tuple[str, ast.Node]] = []
    for i, operand in enumerate(node.operands):
        # An ``and`` inside an ``or`` binds tighter and is written bare: its operands are
        # pieces of the chain too. Anything written in parentheses stays one piece.
        if isinstance(operand, ast.Logical) and _level(operand) > level:
            inner = chain(operand)
        else:
            inner = [(_wrap(operand, level + 1), operand)]
        if i:
            text, first = inner[0]
            inner[0] = (f"{node.op} {text}", first)
        pieces.extend(inner)
    return pieces
