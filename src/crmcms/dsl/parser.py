"""Text to syntax tree: the LALR parser, the tree builder and friendly syntax errors."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError
from lark.visitors import merge_transformers

from crmcms.dsl import ast
from crmcms.dsl.schema import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    EMPTY,
    INTEGER,
    STRING,
    parse_duration,
)
from crmcms.errors import DslError, SourceSpan

__all__ = [
    "AstBuilder",
    "current_file",
    "open_grammar",
    "parse_rule",
    "parsing_file",
    "rule_parser",
    "token_span",
]

# Transformers build nodes bottom-up without knowing which file they are in; the parse entry
# points set it here so that every span names its file.
_file: contextvars.ContextVar[str] = contextvars.ContextVar("rule_file", default="<rule>")


@contextlib.contextmanager
def parsing_file(file: str) -> Iterator[None]:
    """Within this block, spans made by :class:`AstBuilder` and :func:`token_span` name ``file``."""
    reset = _file.set(file)
    try:
        yield
    finally:
        _file.reset(reset)


def current_file() -> str:
    """The file being parsed, as set by :func:`parsing_file`."""
    return _file.get()


def token_span(tok: Token) -> SourceSpan:
    """Where ``tok`` stands in the file being parsed."""
    return SourceSpan(_file.get(), tok.line or 1, tok.column or 1, tok.end_line, tok.end_column)


def _join(first: SourceSpan, last: SourceSpan) -> SourceSpan:
    return SourceSpan(first.file, first.line, first.column, last.end_line, last.end_column)


def _span_of(item: ast.Node | Token) -> SourceSpan:
    return item.span if isinstance(item, ast.Node) else token_span(item)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 5:  # \uXXXX
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, match.group(0))


def unquote(token: str) -> str:
    """The value of a string literal: quotes removed, ``\\n \\r \\t \\\\ \\" \\'`` and
    ``\\uXXXX`` unescaped."""
    return _ESCAPE.sub(_unescape, token[1:-1])


class AstBuilder(Transformer[Token, ast.Node]):
    """Builds :mod:`crmcms.dsl.ast` nodes from the rules of ``expressions.lark``.

    A grammar importing those rules reuses it through
    ``lark.visitors.merge_transformers(YourBuilder(), expressions=AstBuilder())``.
    """

    def literal(self, items: list[Token]) -> ast.Node:
        (tok,) = items
        span = token_span(tok)
        kind, text = tok.type.rsplit("__", 1)[-1], str(tok)
        try:
            match kind:
                case "STRING":
                    return ast.Literal(unquote(text), span=span, type=STRING)
                case "INT":
                    return ast.Literal(int(text), span=span, type=INTEGER)
                case "DECIMAL":
                    return ast.Literal(Decimal(text), span=span, type=DECIMAL)
                case "DATE":
                    return ast.Literal(date.fromisoformat(text), span=span, type=DATE)
                case "DATETIME":
                    value = datetime.fromisoformat(text)
                    if value.tzinfo is None:  # rules work in UTC; see docs/rules.md
                        from datetime import UTC

                        value = value.replace(tzinfo=UTC)
                    return ast.Literal(value, span=span, type=DATETIME)
                case "DURATION":
                    return ast.Literal(parse_duration(text), span=span, type=DURATION)
                case "TRUE" | "FALSE":
                    return ast.Literal(kind == "TRUE", span=span, type=BOOLEAN)
        except ValueError as exc:
            raise DslError(f"invalid {kind.lower()} {text}: {exc}", span) from None
        return ast.Literal(None, span=span, type=EMPTY)

    def key(self, items: list[Token]) -> tuple[ast.PathPart, Token]:
        tok, close = items
        text = unquote(str(tok)) if tok.type.endswith("STRING") else str(tok)
        return ast.PathPart(text, token_span(tok), key=True), close

    def path(self, items: list[Any]) -> ast.Node:
        parts, end = [], None
        for item in items:
            if isinstance(item, tuple):
                parts.append(item[0])
                end = token_span(item[1])
            else:
                parts.append(ast.PathPart(str(item), token_span(item)))
                end = parts[-1].span
        assert end is not None
        return ast.Path(tuple(parts), span=_join(parts[0].span, end))

    def call(self, items: list[Any]) -> ast.Node:
        name, *args, close = items
        real = tuple(a for a in args if a is not None)
        return ast.Call(str(name), real, span=_join(token_span(name), token_span(close)))

    def list_(self, items: list[Any]) -> ast.Node:
        opener, *values, close = items
        real = tuple(v for v in values if v is not None)
        return ast.ListExpr(real, span=_join(token_span(opener), token_span(close)))

    def neg(self, items: list[Any]) -> ast.Node:
        minus, operand = items
        return ast.Negate(operand, span=_join(token_span(minus), operand.span))

    def arith(self, items: list[Any]) -> ast.Node:
        left, op, right = items
        return ast.Arith(str(op), left, right, span=_join(left.span, right.span))

    def compare(self, items: list[Any]) -> ast.Node:
        left, op, right = items
        text = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return ast.Compare(text, left, right, span=_join(left.span, right.span))

    def membership(self, items: list[Any]) -> ast.Node:
        item, *rest = items
        container = rest[-1]
        negated = len(rest) == 2
        return ast.Membership(item, container, negated, span=_join(item.span, container.span))

    def _pattern(self, kind: str, items: list[Any]) -> ast.Node:
        operand, *rest = items
        pattern = rest[-1]
        negated = any(t.type.endswith("NOT") for t in rest[:-1])
        span = token_span(pattern)
        return ast.Pattern(
            kind, operand, unquote(str(pattern)), span, negated, span=_join(operand.span, span)
        )

    def like(self, items: list[Any]) -> ast.Node:
        return self._pattern("like", items)

    def matches(self, items: list[Any]) -> ast.Node:
        return self._pattern("matches", items)

    def emptiness(self, items: list[Any]) -> ast.Node:
        operand, *rest = items
        negated = any(t.type.endswith("NOT") for t in rest)
        return ast.Emptiness(operand, negated, span=_join(operand.span, token_span(rest[-1])))

    def group(self, items: list[Any]) -> ast.Node:
        # The parentheses belong to the expression's text, so explain and carets show them.
        opener, inner, close = items
        widened: ast.Node = attrs.evolve(inner, span=_join(token_span(opener), token_span(close)))
        return widened

    def not_(self, items: list[Any]) -> ast.Node:
        tok, operand = items
        return ast.Not(operand, span=_join(token_span(tok), operand.span))

    def _logical(self, op: str, items: list[ast.Node]) -> ast.Node:
        flat: list[ast.Node] = []
        for it in items:
            # (a and b) and c reads as one conjunction: explain shows it flat
            flat.extend(it.operands if isinstance(it, ast.Logical) and it.op == op else (it,))
        return ast.Logical(op, tuple(flat), span=_join(items[0].span, items[-1].span))

    def and_expr(self, items: list[ast.Node]) -> ast.Node:
        return self._logical("and", items)

    def or_expr(self, items: list[ast.Node]) -> ast.Node:
        return self._logical("or", items)

    def expr(self, items: list[ast.Node]) -> ast.Node:
        """``expr`` only forwards and is inlined; kept for importers that name it."""
        return items[0] if len(items) == 1 else self._logical("or", items)


class _RuleBuilder(Transformer[Token, ast.Node]):
    def start(self, items: list[ast.Node]) -> ast.Node:
        return items[0]


def open_grammar(
    name: str,
    transformer: Transformer[Any, Any] | None = None,
    *,
    propagate_positions: bool = True,
    **options: Any,
) -> Lark:
    """Load a grammar shipped in ``crmcms.dsl`` (LALR; parse trees carry positions)."""
    return Lark.open_from_package(
        "crmcms.dsl",
        name,
        parser="lalr",
        propagate_positions=propagate_positions,
        maybe_placeholders=True,
        transformer=transformer,
        **options,
    )


@functools.cache
def rule_parser() -> Lark:
    """The rule parser, built once; it returns AST nodes directly (no parse tree).

    Nodes take their spans from tokens, so lark's position propagation (which only
    annotates trees) is off: it would cost a tenth of the parse for nothing.
    """
    builder = merge_transformers(_RuleBuilder(), expressions=AstBuilder())  # type: ignore[no-untyped-call]
    return open_grammar("rules.lark", builder, propagate_positions=False)


# --- Friendly syntax errors ----------------------------------------------------------------

# Each message comes with the snippets that provoke it; lark matches an error against them by
# parser state. Every snippet is also a row of the test table.
SYNTAX_EXAMPLES: dict[str, Sequence[str]] = {
    "the rule is empty": ["", "   "],
    "a value is missing after the operator": [
        "a =",
        "a <",
        "a and",
        "a or",
        "a +",
        "a *",
        "not",
        "a = 1 and not",
    ],
    "two operators in a row": ["a and and b", "a or or b", "a = = b", "a and or b", "a + * b"],
    "an operator is missing between two values": [
        "a b",
        "a = 1 b = 2",
        'a "x"',
        "a = 1 2",
        "f(a) b",
        "(a) b",
    ],
    "a parenthesis is not closed": ["(a = 1", "f(a", "a in (1, 2", "((a)"],
    "a bracket is not closed": ["a in [1, 2", "Appeal.Attribute[168"],
    "a closing parenthesis has no opening one": ["a = 1)", "a)"],
    "comparisons cannot be chained; join them with and": ["a = b = c", "a < b < c", "a = b in (1)"],
    "a path cannot end with a dot": ["a.", "a.b.", "a. = 1"],
    "a list item is missing": ["a in (1,,2)", "a in (1,)", "a in (,1)", "f(1,)"],
    "like and matches take a string literal pattern": ["a like b", "a matches 1", "a not like b"],
    "is must be followed by empty or not empty": ["a is 1", "a is b", "a is not 1"],
    "in must be followed by a list, such as (1, 2)": ["a in 1", 'a in "x"', "a not in 1"],
    "a string is not closed": ['a = "abc', "a = 'abc"],
    "use and, or, not instead of &&, ||, !": ["a && b", "a || b", "!a", "a & b"],
    "an attribute code goes in brackets: Appeal.Attribute[168]": ["Appeal.Attribute.168", "a.1"],
}

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "INT": "a number",
    "DECIMAL": "a number",
    "DATE": "a date",
    "DATETIME": "a date-time",
    "DURATION": "a duration",
    "COMPARE": "a comparison",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "MINUS": "-",
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "COMMA": ",",
    "DOT": ".",
    "$END": "the end of the rule",
}


def _describe_terminal(name: str) -> str:
    base = name.rsplit("__", 1)[-1].lstrip("_")
    return _TERMINAL_NAMES.get(base, base.lower())


def _expected(err: UnexpectedInput) -> str:
    state = getattr(err, "state", None)
    names: set[str] = set()
    try:
        names = set(state.parse_conf.parse_table.states[state.position])  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError):
        names = set(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())
    # Rule names (lower case) are parser internals; only terminals mean something to a user.
    shown = {_describe_terminal(n) for n in names if n.rsplit("__", 1)[-1].lstrip("_").isupper()}
    shown.discard("not")  # "not" is always possible somewhere; listing it only confuses
    return ", ".join(sorted(shown))


def _error_key(err: UnexpectedInput) -> tuple[Any, str, str]:
    """Where the parser stood (LALR state and depth) and what it met there."""
    state = getattr(err, "state", None)
    where = (getattr(state, "position", None), len(getattr(state, "state_stack", ()) or ()))
    if isinstance(err, UnexpectedCharacters):
        return where, "<char>", err.char
    token = getattr(err, "token", None)
    return where, getattr(token, "type", "$END"), str(token or "")


@functools.cache
def _example_index() -> tuple[tuple[tuple[Any, str, str], str], ...]:
    # Like lark's match_examples, but indexed once instead of re-parsing every example on
    # every error.
    index = []
    for label, snippets in SYNTAX_EXAMPLES.items():
        for snippet in snippets:
            try:
                rule_parser().parse(snippet)
            except UnexpectedInput as err:
                index.append((_error_key(err), label))
            except DslError:
                pass
    return tuple(index)


def _friendly(err: UnexpectedInput, text: str) -> str | None:
    where, kind, value = _error_key(err)
    best: tuple[int, str] | None = None
    for (w, k, v), label in _example_index():
        if kind == "<char>" or k == "<char>":
            # a stray character means the same wherever it stands, and only that character
            if (k, v) != (kind, value):
                continue
            score = 2 if w == where else 1
        elif w[0] == where[0]:
            # same LALR state; the same depth too makes it the same situation
            score = (4 if (k, v) == (kind, value) else 3 if k == kind else 2) * 2 + (w == where)
        else:
            continue
        if best is None or score > best[0]:
            best = (score, label)
    if best is None:
        return None
    if best[1].endswith("is not closed") and "string" not in best[1]:
        return _unclosed(text)
    return best[1]


def _unclosed(text: str) -> str:
    """Which opener is left open (list items and arguments share parser states)."""
    stack: list[str] = []
    for ch in re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', "", text):
        if ch in "([":
            stack.append(ch)
        elif ch in ")]" and stack:
            stack.pop()
    return "a bracket is not closed" if stack[-1:] == ["["] else "a parenthesis is not closed"


def _syntax_error(text: str, err: UnexpectedInput) -> DslError:
    file = _file.get()
    line, column = err.line, err.column
    token = getattr(err, "token", None)
    if (
        isinstance(err, UnexpectedEOF)
        or (token is not None and token.type == "$END")
        or line is None
        or line < 1
    ):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    friendly = _friendly(err, text)
    if isinstance(err, UnexpectedCharacters):
        found = f"character {err.char!r}"
    elif token is not None and token.type != "$END":
        found = repr(str(token))
    else:
        found = "end of the rule"
    expected = _expected(err)
    message = friendly or f"unexpected {found}"
    if friendly and found != "end of the rule":
        message += f" (at {found})"
    # After a value nearly everything may follow; such a list helps nobody.
    useful = expected and (not friendly or expected.count(",") < 4)
    hint = f"expected {expected}" if useful else None
    return DslError(message, SourceSpan(file, line, column), source=text, hint=hint)


def parse_rule(text: str, *, file: str = "<rule>") -> ast.Node:
    """Parse rule text into an (unchecked) syntax tree; raises :class:`DslError`."""
    with parsing_file(file):
        return _parse_rule(text, file)


def _parse_rule(text: str, file: str) -> ast.Node:
    try:
        if not text.strip():
            raise DslError("the rule is empty", SourceSpan(file, 1, 1), source=text)
        node: ast.Node = rule_parser().parse(text)  # type: ignore[assignment]
        return node
    except UnexpectedInput as err:
        raise _syntax_error(text, err) from None
    except VisitError as err:
        if isinstance(err.orig_exc, DslError):
            orig = err.orig_exc
            raise DslError(orig.message, orig.span, source=text, hint=orig.hint) from None
        raise
    except DslError as err:
        if err.source is None:
            raise DslError(err.message, err.span, source=text, hint=err.hint) from None
        raise
