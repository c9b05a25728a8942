"""Route test text to :mod:`crmcms.dsl.route_tests.ast`: the LALR parser over route_tests.lark."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError

from crmcms.dsl.route_tests.ast import (
    Expect,
    ExpectKind,
    Field,
    Fields,
    Perform,
    Ref,
    RouteTest,
    RouteTestFile,
    Setting,
    Statement,
    Wait,
)
from crmcms.dsl.rules.parser import (
    TERMINAL_NAMES,
    open_grammar,
    parsing_file,
    token_span,
    unquote,
)
from crmcms.dsl.rules.schema import parse_duration_literal
from crmcms.dsl.syntax_errors import SyntaxErrors
from crmcms.errors import DefinitionError, DslError

__all__ = ["SUFFIX", "parse_route_tests", "read_route_tests", "route_tests_parser"]

SUFFIX = ".crmtest"
"""The suffix of route test files."""


def _kind(tok: Token) -> str:
    return tok.type.rsplit("__", 1)[-1]


def _ref(tok: Token) -> Ref:
    text = unquote(str(tok)) if _kind(tok) == "STRING" else str(tok)
    return Ref(text, token_span(tok))


def _literal(tok: Token) -> Any:
    text = str(tok)
    match _kind(tok):
        case "STRING":
            return unquote(text)
        case "INT":
            return int(text)
        case "DECIMAL":
            return Decimal(text)
        case "DATE":
            return date.fromisoformat(text)
        case "DATETIME":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        case "TRUE":
            return True
        case "FALSE":
            return False
        case _:
            return None


def _duration(tok: Token) -> Any:
    try:
        return parse_duration_literal(str(tok))
    except ValueError as exc:
        raise DslError(str(exc), token_span(tok)) from None


class _Builder(Transformer[Token, Any]):
    def code(self, items: list[Token]) -> Ref:
        return _ref(items[0])

    def codes(self, items: list[Ref]) -> tuple[Ref, ...]:
        return tuple(items)

    def field(self, items: list[Any]) -> Field:
        code, value = items
        return Field(
            code.code, value if not isinstance(value, Token) else _literal(value), code.span
        )

    def negative(self, items: list[Token]) -> int:
        return -int(str(items[1]))

    def _fields(self, kind: str, items: list[Any]) -> Fields:
        return Fields(kind, tuple(i for i in items if isinstance(i, Field)), token_span(items[0]))

    def client(self, items: list[Any]) -> Fields:
        return self._fields("client", items)

    def values(self, items: list[Any]) -> Fields:
        return self._fields("values", items)

    def set_values(self, items: list[Any]) -> Fields:
        return self._fields("set", items)

    def _setting(self, key: str, items: list[Any]) -> Setting:
        ref: Ref = items[0]
        return Setting(key, ref, ref.span)

    def route(self, items: list[Any]) -> Setting:
        ref: Ref = items[0]
        version = int(str(items[1])) if len(items) > 1 else None
        return Setting("route", ref, ref.span, version=version)

    def topic(self, items: list[Any]) -> Setting:
        return self._setting("topic", items)

    def operator(self, items: list[Any]) -> Setting:
        return self._setting("operator", items)

    def place(self, items: list[Any]) -> Setting:
        return self._setting("place", items)

    def channel(self, items: list[Any]) -> Setting:
        return self._setting("channel", items)

    def start_at(self, items: list[Token]) -> Setting:
        tok = items[0]
        return Setting("at", _ref(tok), token_span(tok), moment=_literal(tok))

    def perform(self, items: list[Ref]) -> Perform:
        return Perform(items[0], items[0].span, items[1] if len(items) > 1 else None)

    def wait(self, items: list[Token]) -> Wait:
        return Wait(_duration(items[0]), token_span(items[0]))

    def because(self, items: list[Ref]) -> str:
        return items[0].code

    def in_calendar(self, items: list[Any]) -> Ref:
        ref: Ref = items[-1]
        return ref

    def expect_process(self, items: list[Ref]) -> Expect:
        return Expect(ExpectKind.PROCESS, items[0].span, (items[0],))

    def expect_available(self, items: list[tuple[Ref, ...]]) -> Expect:
        return Expect(ExpectKind.AVAILABLE, items[0][0].span, items[0])

    def expect_unavailable(self, items: list[Any]) -> Expect:
        codes: tuple[Ref, ...] = items[0]
        because = items[1] if len(items) > 1 else None
        return Expect(ExpectKind.UNAVAILABLE, codes[0].span, codes, because=because)

    def expect_queue(self, items: list[Ref]) -> Expect:
        return Expect(ExpectKind.QUEUE, items[0].span, (items[0],))

    def expect_flag(self, items: list[Any]) -> Expect:
        flag, codes = items
        return Expect(ExpectKind.FLAG, token_span(flag), codes, flag=str(flag))

    def _deadline(self, kind: ExpectKind, items: list[Any]) -> Expect:
        tok: Token = items[0]
        calendar = items[1] if len(items) > 1 else None
        return Expect(kind, token_span(tok), duration=_duration(tok), calendar=calendar)

    def expect_deadline(self, items: list[Any]) -> Expect:
        return self._deadline(ExpectKind.DEADLINE, items)

    def expect_appeal_deadline(self, items: list[Any]) -> Expect:
        return self._deadline(ExpectKind.APPEAL_DEADLINE, items)

    def expect_notification(self, items: list[Any]) -> Expect:
        keyword, *rest = items
        kind = text = to = None
        for item in rest:
            if isinstance(item, Ref):
                to = item
            elif _kind(item) == "NAME":
                kind = _ref(item)
            else:
                text = unquote(str(item))
        return Expect(
            ExpectKind.NOTIFICATION,
            token_span(keyword),
            (to,) if to else (),
            notification_kind=kind,
            text=text,
        )

    def expect_no_notification(self, items: list[Token]) -> Expect:
        return Expect(ExpectKind.NO_NOTIFICATION, token_span(items[0]))

    def test(self, items: list[Any]) -> RouteTest:
        name = items[0]
        statements: tuple[Statement, ...] = tuple(
            i for i in items[2:] if isinstance(i, Setting | Fields | Perform | Wait | Expect)
        )
        return RouteTest(unquote(str(name)), token_span(name), statements)

    def start(self, items: list[RouteTest]) -> list[RouteTest]:
        return items


@functools.cache
def route_tests_parser() -> Lark:
    """The route test parser, built once; it returns tests directly."""
    return open_grammar(
        "crmcms.dsl.route_tests", "route_tests.lark", _Builder(), propagate_positions=False
    )


_EXAMPLES = [
    ('a test needs a name in quotes: test "..." {', "test x {"),
    ('a test needs a name in quotes: test "..." {', "test {"),
    ("a block is not closed: add }", 'test "x" { expect process a'),
    (
        "expect what? process, available, unavailable, queue, hidden, visible, readonly, "
        "editable, required, optional, deadline, appeal deadline or notification",
        'test "x" { expect foo }',
    ),
    ("a field is written code: value", 'test "x" { client { category "BIS" } }'),
    ("a field is written code: value", 'test "x" { values { 166 = "a" } }'),
    ("a duration is written like 4h, 2d or 1d12h", 'test "x" { wait 4 }'),
    ("a duration is written like 4h, 2d or 1d12h", 'test "x" { expect deadline 4 }'),
    ('statements go inside a test "..." { } block', "expect process a"),
    ('statements go inside a test "..." { } block', "perform a"),
]

_ERRORS = SyntaxErrors(
    route_tests_parser,
    _EXAMPLES,
    end="the end of the file",
    terminals={**TERMINAL_NAMES, "$END": "the end of the file", "LBRACE": "{", "RBRACE": "}"},
)


def parse_route_tests(text: str, *, file: str = "<route tests>") -> RouteTestFile:
    """Parse one route test file; raises :class:`DslError` at the first syntax error."""
    with parsing_file(file):
        try:
            tests: list[RouteTest] = route_tests_parser().parse(text)  # type: ignore[assignment]
        except UnexpectedInput as err:
            raise _ERRORS.error(text, err, file) from None
        except VisitError as err:
            if isinstance(err.orig_exc, DslError):
                e = err.orig_exc
                raise DslError(e.message, e.span, source=text, hint=e.hint) from None
            raise
    return RouteTestFile(file, tuple(tests), text)


def read_route_tests(paths: list[Path]) -> list[RouteTestFile]:
    """Parse every route test file in ``paths`` (directories: every ``*.crmtest`` inside);
    raises :class:`DefinitionError` with the syntax error of each file that has one."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.rglob(f"*{SUFFIX}"))
        elif path.suffix == SUFFIX:
            files.append(path)
    parsed, problems = [], []
    for path in files:
        try:
            parsed.append(parse_route_tests(path.read_text(encoding="utf-8"), file=str(path)))
        except DslError as exc:
            problems.append(exc)
    if problems:
        raise DefinitionError(problems)
    return parsed
