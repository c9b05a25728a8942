"""Rule syntax: what parses, and the friendly message each malformed snippet gets."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcms.dsl import compile_rule, parse_rule
from crmcms.dsl.rules import ast
from crmcms.dsl.rules.parser import SYNTAX_EXAMPLES
from crmcms.errors import DefinitionError, DslError

# Every example lark matches errors against is also a row here: its own message comes back.
TABLE = [
    (snippet, message) for message, snippets in SYNTAX_EXAMPLES.items() for snippet in snippets
]


@pytest.mark.parametrize(("snippet", "message"), TABLE)
def test_malformed_snippet_gets_its_friendly_message(snippet: str, message: str) -> None:
    with pytest.raises(DslError) as info:
        parse_rule(snippet)
    assert info.value.message.startswith(message)


# Snippets that are not examples themselves still get a matching message.
MORE = [
    ('Client.Category = "BIS" and and Appeal.Priority > 1', "two operators in a row", 29),
    ('Client.Category = "BIS" or', "a value is missing after the operator", 27),
    ("Appeal.Priority > (1 + 2", "a parenthesis is not closed", 25),
    ('Client.Category in ("a", "b"', "a parenthesis is not closed", 29),
    ("Client.Category = 'x' || true", "use and, or, not instead of &&, ||, !", 23),
    ("Appeal.Priority = 1 = 2", "comparisons cannot be chained", 21),
    ('Клиент.Категория = "BIS" и и true', "two operators in a row", 28),
    ("Appeal.Deadline < 2026-13-01", "invalid date 2026-13-01", 19),
]


@pytest.mark.parametrize(("snippet", "message", "column"), MORE)
def test_message_and_column_for_other_snippets(snippet: str, message: str, column: int) -> None:
    with pytest.raises(DslError) as info:
        parse_rule(snippet)
    assert info.value.message.startswith(message)
    assert info.value.span.column == column


def test_keyword_is_not_an_identifier_so_the_error_is_not_late() -> None:
    with pytest.raises(DslError) as info:
        parse_rule("a and and b")
    assert info.value.span.column == 7


def test_error_renders_file_line_column_source_and_caret() -> None:
    with pytest.raises(DslError) as info:
        parse_rule("Client.Category =\n  and true", file="queues.crm")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("queues.crm:2:3: ")
    assert lines[1].strip() == "and true"
    assert lines[2].index("^") == lines[1].index("and")


def test_compile_rule_wraps_a_syntax_error_in_definition_error() -> None:
    with pytest.raises(DefinitionError) as info:
        compile_rule("a =")
    assert len(info.value.problems) == 1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"BIS"', "BIS"),
        ("'с \\'кавычкой\\''", "с 'кавычкой'"),
        ("168", 168),
        ("12.50", Decimal("12.50")),
        ("true", True),
        ("ИСТИНА", True),
        ("ложь", False),
        ("2026-11-26", date(2026, 11, 26)),
        ("2026-11-26T10:30", datetime(2026, 11, 26, 10, 30, tzinfo=UTC)),
        ("2h", timedelta(hours=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w", timedelta(weeks=1)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_literals(text: str, value: object) -> None:
    node = parse_rule(f"x = {text}")
    assert isinstance(node, ast.Compare)
    assert isinstance(node.right, ast.Literal)
    assert node.right.value == value


def test_russian_and_english_keywords_build_the_same_tree() -> None:
    en = parse_rule('not a = 1 and b in ("x") or c is not empty or d like "A%"')
    ru = parse_rule('не a = 1 и b в ("x") или c не пусто или d подобно "A%"')

    def shape(node: ast.Node) -> list[str]:
        return [type(n).__name__ for n in ast.walk(node)]

    assert shape(en) == shape(ru)


def test_precedence_and_binds_tighter_than_or_and_times_than_plus() -> None:
    node = parse_rule("a or b and c")
    assert isinstance(node, ast.Logical)
    assert node.op == "or"
    node = parse_rule("1 + 2 * 3 = 7")
    assert isinstance(node, ast.Compare)
    assert isinstance(node.left, ast.Arith)
    assert node.left.op == "+"


def test_attribute_codes_numeric_identifier_or_quoted() -> None:
    for text, code in [("[168]", "168"), ("[SMS_RULE]", "SMS_RULE"), ('["a b"]', "a b")]:
        node = parse_rule(f"Appeal.Attribute{text} is empty")
        assert isinstance(node, ast.Emptiness)
        assert isinstance(node.operand, ast.Path)
        assert node.operand.parts[-1].name == code
        assert node.operand.parts[-1].key


@given(st.text(max_size=40))
def test_random_text_raises_only_our_errors(text: str) -> None:
    with contextlib.suppress(DefinitionError):
        compile_rule(text)


_PIECES = st.sampled_from(
    ["Client.Category", "Appeal.Priority", "=", "and", "or", "not", "(", ")", '"x"', "1",
     "in", "is", "empty", ",", "[", "]", "like", "+", "-", "2026-01-01", "now()", "Атрибут",
     "Appeal.Attribute[168]", ".", "<", "matches", '"("', "и", "в"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=10).map(" ".join))
def test_random_token_soup_raises_only_our_errors(text: str) -> None:
    try:
        compile_rule(text)
    except DefinitionError as exc:
        spans = [p.span for p in exc.problems]
    else:
        spans = []
    assert all(s.line >= 1 and s.column >= 1 for s in spans)


@given(st.text(max_size=30))
def test_any_string_is_written_as_a_literal_that_reads_back(value: str) -> None:
    # Control and line-breaking characters are escaped, so a formatted file holds the
    # string on one line and reads back the same value.
    from crmcms.dsl.rules.unparse import quote

    literal = quote(value)
    assert len(literal.splitlines()) == 1
    node = parse_rule(literal)
    assert isinstance(node, ast.Literal)
    assert node.value == value


def test_string_escapes() -> None:
    node = parse_rule(r'"a\rb\u00e9\\u"')
    assert isinstance(node, ast.Literal)
    assert node.value == "a\rbé\\u"
