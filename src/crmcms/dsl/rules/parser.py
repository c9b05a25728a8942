"""Text to syntax tree: the LALR parser, the tree builder and friendly syntax errors."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError
from lark.load_grammar import FromPackageLoader
from lark.visitors import merge_transformers

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.schema import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    EMPTY,
    INTEGER,
    STRING,
    parse_duration_literal,
)
from crmcms.dsl.syntax_errors import EXPRESSION_EXAMPLES, SyntaxErrors, expression_examples
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
    """Builds :mod:`crmcms.dsl.rules.ast` nodes from the rules of ``expressions.lark``.

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
                    return ast.Literal(parse_duration_literal(text), span=span, type=DURATION)
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
    package: str,
    name: str,
    transformer: Transformer[Any, Any] | None = None,
    *,
    propagate_positions: bool = True,
    **options: Any,
) -> Lark:
    """Load grammar ``name`` shipped in ``package`` (LALR; parse trees carry positions).

    The grammar may ``%import expressions (...)`` wherever it lives: the expression grammar is
    looked up in this package as well as the grammar's own.
    """
    return Lark.open_from_package(
        package,
        name,
        import_paths=[FromPackageLoader("crmcms.dsl.rules")],
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
    return open_grammar("crmcms.dsl.rules", "rules.lark", builder, propagate_positions=False)


# --- Friendly syntax errors ----------------------------------------------------------------

SYNTAX_EXAMPLES = EXPRESSION_EXAMPLES
"""Kept under its old name: the expression examples of :mod:`crmcms.dsl.syntax_errors`."""

TERMINAL_NAMES: Mapping[str, str] = {
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
}
"""How the expression language's terminals are shown in a hint, in every grammar using it."""

_ERRORS = SyntaxErrors(
    rule_parser,
    expression_examples(),
    end="end of the rule",
    terminals={**TERMINAL_NAMES, "$END": "the end of the rule"},
)


def _syntax_error(text: str, err: UnexpectedInput) -> DslError:
    return _ERRORS.error(text, err, _file.get())


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
