"""Definition text to syntax tree: the LALR parser over definitions.lark, friendly errors."""

from __future__ import annotations

import contextvars
import functools
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import attrs
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError
from lark.visitors import merge_transformers

from crmcms.dsl.definitions.ast import Decl, Item, Ref, SourceFile
from crmcms.dsl.keywords import DECLARATION_KEYWORDS
from crmcms.dsl.rules import ast
from crmcms.dsl.rules.parser import (
    TERMINAL_NAMES,
    AstBuilder,
    current_file,
    open_grammar,
    parsing_file,
    token_span,
    unquote,
)
from crmcms.dsl.rules.schema import parse_duration_literal
from crmcms.dsl.syntax_errors import SyntaxErrors, condition_examples
from crmcms.errors import DslError, SourceSpan, ValidationError
from crmcms.model.calendars import WEEKDAY_NAMES, WorkingInterval
from crmcms.model.files import parse_size

__all__ = ["definitions_parser", "parse_definitions", "text_block"]

_comments: contextvars.ContextVar[list[tuple[int, int, str]]] = contextvars.ContextVar(
    "definition_comments"
)


def _span_unknown() -> SourceSpan:
    # a bare keyword leaves no token behind; errors about it point at its declaration
    return SourceSpan(current_file(), 1, 1)


class _Body:
    """A braced block while the tree is built: its statements and the closing brace's line."""

    __slots__ = ("end_line", "items")

    def __init__(self, items: list[Any], end_line: int) -> None:
        self.items = items
        self.end_line = end_line


def _body(items: list[Any]) -> _Body:
    close = items[-1]
    return _Body([i for i in items[1:-1] if isinstance(i, Decl | Item)], close.line or 1)


def _decl(kind: str, items: list[Any]) -> Decl:
    code: Ref = items[0]
    rest = items[1:]
    name = None
    if rest and isinstance(rest[0], Token) and rest[0].type == "STRING":
        name = unquote(str(rest[0]))
        rest = rest[1:]
    body = next((i for i in rest if isinstance(i, _Body)), None)
    return Decl(
        kind,
        code,
        name,
        code.span,
        tuple(i for i in rest if isinstance(i, Item)),
        None if body is None else tuple(body.items),
        None if body is None else body.end_line,
    )


def _refs_item(key: str) -> Any:
    def build(self: Any, items: list[Any]) -> Item:
        refs: tuple[Ref, ...] = items[-1]
        return Item(key, refs[0].span, refs)

    return build


def _ref_item(key: str) -> Any:
    def build(self: Any, items: list[Any]) -> Item:
        return Item(key, items[0].span, (items[0],))

    return build


def _flag_item(key: str) -> Any:
    def build(self: Any, items: list[Token]) -> Item:
        return Item(key, token_span(items[0]))

    return build


def _string_item(key: str) -> Any:
    def build(self: Any, items: list[Token]) -> Item:
        return Item(key, token_span(items[-1]), (unquote(str(items[-1])),))

    return build


def _decl_of(kind: str) -> Any:
    def build(self: Any, items: list[Any]) -> Decl:
        return _decl(kind, items)

    return build


_BLOCK = '"""'


def text_block(token: str) -> str:
    """The value of a ``\"\"\"block\"\"\"``: a line break right after the opening quotes and the
    indentation common to its lines are dropped, as is the indentation before the closing
    quotes when they stand on a line of their own (the text then ends with a line break)."""
    body = token[len(_BLOCK) : -len(_BLOCK)]
    if body.startswith("\n"):
        body = body[1:]
    head, newline, last = body.rpartition("\n")
    if newline and not last.strip():
        body = head + "\n"
    return textwrap.dedent(body)


def _text_item(key: str, tok: Token) -> Item:
    # the span keeps the whole token: template errors point into it, line by line
    text, line = str(tok), tok.line or 1
    if tok.type != "TEXT_BLOCK":
        return Item(key, token_span(tok), (unquote(text), line))
    # the second value: the line of the file where the text's first line stands
    return Item(key, token_span(tok), (text_block(text), line + text.startswith(_BLOCK + "\n")))


def _pass(self: Any, items: list[Any]) -> Any:
    return items[0]


class _DefinitionBuilder(Transformer[Token, Any]):
    """Builds :mod:`crmcms.dsl.definitions.ast` nodes; conditions become rule syntax trees."""

    def start(self, items: list[Decl]) -> list[Decl]:
        return items

    def expr(self, items: list[ast.Node]) -> ast.Node:
        # The imported top rule keeps its own name, so the merged builder misses it.
        return AstBuilder().expr(items)

    def code(self, items: list[Token]) -> Ref:
        (tok,) = items
        quoted = tok.type == "STRING"
        return Ref(unquote(str(tok)) if quoted else str(tok), token_span(tok), quoted)

    def codes(self, items: list[Ref]) -> tuple[Ref, ...]:
        return tuple(items)

    description = _string_item("description")
    inactive = _flag_item("inactive")

    def cond_expr(self, items: list[ast.Node]) -> Item:
        node = items[0]
        if isinstance(node, ast.Path) and len(node.parts) == 1 and not node.parts[0].key:
            # A bare name is a named rule: no rule can be a root object on its own.
            part = node.parts[0]
            return Item("when rule", part.span, (Ref(part.name, part.span),))
        return Item("when", node.span, (node,))

    def cond_rule(self, items: list[Ref]) -> Item:
        return Item("when rule", items[0].span, (items[0],))

    # --- simple declarations ---------------------------------------------------------

    dictionary = _decl_of("dictionary")
    dict_item = _decl_of("item")
    place_kind = _decl_of("place kind")
    channel = _decl_of("channel")
    client_category = _decl_of("client category")
    priority = _decl_of("priority")
    place = _decl_of("place")
    mailing_list = _decl_of("mailing list")
    role = _decl_of("role")
    operator = _decl_of("operator")
    template = _decl_of("template")
    group = _decl_of("group")
    topic = _decl_of("topic")
    attr_group = _decl_of("attributes")
    queue = _decl_of("queue")
    route = _decl_of("route")
    process = _decl_of("process")
    message = _decl_of("message")

    analytic = _flag_item("analytic")
    internal = _flag_item("internal")

    def external(self, items: list[Token]) -> Item:
        if not items:
            return Item("external", _span_unknown())
        return Item("external", token_span(items[0]), (unquote(str(items[0])),))

    query = _string_item("query")
    parent = _ref_item("parent")
    place_kind_ref = _ref_item("kind")
    dict_opt = item_opt = place_opt = topic_opt = queue_opt = route_opt = _pass
    attr_opt = trans_opt = deadline_opt = _pass

    dict_body = desc_body = place_body = ml_body = role_body = op_body = tpl_body = staticmethod(
        _body
    )
    group_body = topic_body = ag_body = queue_body = route_body = proc_body = trans_body = (
        staticmethod(_body)
    )
    msg_body = staticmethod(_body)

    def rank(self, items: list[Token]) -> Item:
        value = int(items[-1]) * (-1 if len(items) == 2 else 1)
        return Item("rank", token_span(items[0]), (value,))

    ml_operators = _refs_item("operators")

    def ml_addresses(self, items: list[Token]) -> Item:
        return Item("addresses", token_span(items[0]), tuple(unquote(str(t)) for t in items))

    permissions = _refs_item("permissions")
    op_roles = _refs_item("roles")
    op_template = _ref_item("template")
    op_email = _string_item("email")
    op_password = _string_item("password")

    tpl_place_kind = _ref_item("place kind")
    tpl_places = _refs_item("places")
    tpl_default_place = _ref_item("default place")
    tpl_channel = _ref_item("channel")
    tpl_topics = _refs_item("topics")
    tpl_default_topic = _ref_item("default topic")
    tpl_categories = _refs_item("client categories")
    tpl_default_category = _ref_item("default client category")

    def tpl_direction(self, items: list[Token]) -> Item:
        return Item("direction", token_span(items[0]), (str(items[0]),))

    # --- message templates -------------------------------------------------------------

    msg_event = _ref_item("event")
    msg_topic = _ref_item("topic")

    def text(self, items: list[Token]) -> Token:
        return items[0]

    def msg_subject(self, items: list[Token]) -> Item:
        return _text_item("subject", items[0])

    def msg_text(self, items: list[Token]) -> Item:
        return _text_item("text", items[0])

    def msg_html(self, items: list[Token]) -> Item:
        return _text_item("html", items[0])

    # --- attributes ------------------------------------------------------------------

    def attribute(self, items: list[Any]) -> Decl:
        decl = _decl("attribute", items)
        return decl

    problem_attribute = _decl_of("problem attribute")

    def value_type(self, items: list[Any]) -> Item:
        (value,) = items
        if isinstance(value, Token):
            return Item("type", token_span(value), (str(value),))
        return Item("type", value.span, (value,))

    def ag_opt(self, items: list[Any]) -> Item:
        (value,) = items
        if isinstance(value, Token):
            return Item("display", token_span(value), (str(value),))
        item: Item = value
        return item

    multiple = _flag_item("multiple")
    column = _flag_item("column")
    fixed_default = _string_item("default")
    mask = _string_item("mask")
    regex = _string_item("regex")
    attr_description = _string_item("description")

    def attachment_limit(self, items: list[Token]) -> Item:
        return Item("attachments", token_span(items[-1]), (parse_size(str(items[-1])),))

    def computed_default(self, items: list[ast.Node]) -> Item:
        return Item("computed", items[0].span, (items[0],))

    def meta(self, items: list[Any]) -> Item:
        key, value = items
        return Item("meta", key.span, (key, unquote(str(value))))

    def flag(self, items: list[Any]) -> Item:
        word = items[0]
        condition = items[1] if len(items) > 1 else None
        return Item("flag", token_span(word), (str(word), condition))

    # --- rules and queues ------------------------------------------------------------

    def rule(self, items: list[Any]) -> Decl:
        code, name, *rest = items
        node: ast.Node = rest[-1]
        options = [Item("expr", node.span, (node,))]
        if len(rest) == 2:
            options.insert(0, Item("description", token_span(rest[0]), (unquote(str(rest[0])),)))
        return Decl("rule", code, unquote(str(name)), code.span, tuple(options))

    system = _flag_item("system")

    def members(self, items: list[tuple[str, Ref]]) -> Item:
        return Item("members", items[0][1].span, tuple(items))

    def operator_member(self, items: list[Ref]) -> tuple[str, Ref]:
        return ("operator", items[0])

    def role_member(self, items: list[Ref]) -> tuple[str, Ref]:
        return ("role", items[0])

    admins = _refs_item("admins")
    processes = _refs_item("processes")

    # --- routes ----------------------------------------------------------------------

    def version(self, items: list[Token]) -> Item:
        return Item("version", token_span(items[0]), (int(items[0]),))

    route_topics = _refs_item("topics")
    merge = _flag_item("merge")
    close_open = _flag_item("close_open")

    def moved(self, items: list[Ref]) -> Item:
        return Item("moved", items[0].span, tuple(items))

    def proc_opt(self, items: list[Token]) -> Item:
        return Item(str(items[0]), token_span(items[0]))

    def queue_keep(self, items: list[Token]) -> Item:
        return Item("queue", token_span(items[0]), ("keep",))

    queue_list = _refs_item("queue")

    def override(self, items: list[Any]) -> Item:
        ref, *opts = items
        return Item("attribute", ref.span, (ref, tuple(opts)))

    def override_opt(self, items: list[Any]) -> Item:
        (value,) = items
        if isinstance(value, Token):
            return Item("inherit", token_span(value))
        item: Item = value
        return item

    def transition(self, items: list[Any]) -> Decl:
        refs = [i for i in items if isinstance(i, Ref)]
        rest = items[len(refs) :]
        source, target = refs[-2], refs[-1]
        options = [Item("path", source.span, (source, target))]
        if len(refs) == 3:
            code = refs[0]
        else:
            code = Ref(f"{source.code}->{target.code}", source.span)
            options.append(Item("anonymous", source.span))
        decl = _decl("transition", [code, *rest])
        return Decl(
            decl.kind,
            decl.code,
            decl.name,
            decl.span,
            (*options, *decl.options),
            decl.body,
            decl.end_line,
        )

    automatic = _flag_item("automatic")

    def deadline(self, items: list[Any]) -> Item:
        limit, *opts = items
        if isinstance(limit, Item):  # spelled out: "2 business days"
            duration, business = limit.values
            opts = [Item("business", limit.span), *opts] if business else opts
            return Item("deadline", limit.span, (duration, tuple(opts)))
        return Item("deadline", token_span(limit), (_duration(limit), tuple(opts)))

    def ladder(self, items: list[Any]) -> Item:
        levels = tuple(i for i in items if isinstance(i, Item))
        # From brace to brace: the layout puts the comments among the levels back there.
        opened, closed = token_span(items[0]), token_span(items[-1])
        return Item("ladder", attrs.evolve(opened, end_line=closed.line), levels)

    def level(self, items: list[Any]) -> Item:
        at: Item = items[0]
        waits = any(isinstance(i, Token) and i.type == "IN_WORKING_TIME" for i in items)
        actions = tuple(i for i in items[1:] if isinstance(i, Item))
        return Item("level", at.span, (at, waits, actions))

    def at_share(self, items: list[Token]) -> Item:
        return Item("share", token_span(items[0]), (int(items[0]),))

    def at_before(self, items: list[Token]) -> Item:
        return Item("offset", token_span(items[0]), (-_duration(items[1]),))

    def at_due(self, items: list[Token]) -> Item:
        if int(items[-1]) != 0:
            raise DslError("an offset is a duration such as +2h, or +0", token_span(items[-1]))
        return Item("offset", token_span(items[0]), (timedelta(0),))

    def at_after(self, items: list[Token]) -> Item:
        return Item("offset", token_span(items[0]), (_duration(items[-1]),))

    def level_notify(self, items: list[Any]) -> Item:
        targets = tuple(i for i in items if isinstance(i, Item))
        return Item("notify", token_span(items[0]), targets)

    def level_priority(self, items: list[Ref]) -> Item:
        return Item("raise_priority", items[-1].span, (items[-1],))

    def level_queue(self, items: list[Ref]) -> Item:
        return Item("move_to_queue", items[-1].span, (items[-1],))

    def level_call(self, items: list[Token]) -> Item:
        names = [str(t) for t in items[1:]]
        # Spanned at the function's name: a check of plugin functions points there.
        return Item("call", token_span(items[1]), (".".join(names),))

    def target_code(self, items: list[Ref]) -> Item:
        return Item("code", items[0].span, (items[0],))

    def target_role(self, items: list[Ref]) -> Item:
        return Item("role", items[-1].span, (items[-1],))

    def first_response(self, items: list[Any]) -> Item:
        made = self.deadline(items[1:])
        return Item("first_response", made.span, made.values)

    def priority_limit(self, items: list[Any]) -> Item:
        ref, limit = items
        return Item("priority_limit", ref.span, (ref, _duration(limit)))

    def spelled_duration(self, items: list[Token]) -> Item:
        amount, unit = items[0], items[-1]
        letter = str(unit)[0]  # weeks, days, hours, minutes: w, d, h, m
        business = any(t.type == "BUSINESS" for t in items)
        return Item(
            "spelled", token_span(amount), (_duration_text(f"{amount}{letter}", amount), business)
        )

    business = _flag_item("business")

    def warn(self, items: list[Token]) -> Item:
        return Item("warn", token_span(items[0]), (_duration(items[0]),))

    notify = _refs_item("notify")
    escalate = _refs_item("escalate")

    def handler(self, items: list[Any]) -> Item:
        event: Ref = items[0]
        name = unquote(str(items[1])) if len(items) == 3 else None
        return Item("on", event.span, (event, name, items[-1]))

    def action(self, items: list[Any]) -> tuple[Ref, tuple[tuple[Ref, ast.Node], ...]]:
        words = [t for t in items if isinstance(t, Token) and t.type in _ACTION_WORDS]
        args = tuple(a for a in items if isinstance(a, tuple))
        return Ref(".".join(map(str, words)), token_span(words[0])), args

    # Short forms of the built-in actions: an item keyed by the action, holding the codes
    # written (the loader makes the arguments; the formatter writes them back as written).

    def short_notify(self, items: list[Any]) -> Item:
        return Item("notify", token_span(items[0]), items[-1])

    def short_escalate(self, items: list[Any]) -> Item:
        return Item("escalate", token_span(items[0]), items[-1])

    def short_call(self, items: list[Token]) -> Item:
        name = ".".join(str(t) for t in items[1:])
        return Item("call", token_span(items[0]), (Ref(name, token_span(items[1])),))

    def argument(self, items: list[Any]) -> tuple[Ref, ast.Node]:
        return items[0], items[1]

    # --- calendars -------------------------------------------------------------------

    calendar = _decl_of("calendar")
    cal_body = staticmethod(_body)
    cal_timezone = _string_item("timezone")
    calendar_ref = _ref_item("calendar")

    def cal_week(self, items: list[Any]) -> Item:
        days, intervals = items
        first, _, last = str(days).partition("..")
        start, stop = WEEKDAY_NAMES.index(first), WEEKDAY_NAMES.index(last or first)
        if stop < start:
            raise DslError(
                f"a range of weekdays runs from Monday to Sunday: {last}..{first}, not {days}",
                token_span(days),
            )
        return Item("hours", token_span(days), (start, stop, intervals))

    def cal_hours(self, items: list[Any]) -> tuple[WorkingInterval, ...]:
        (value,) = items
        return () if isinstance(value, Token) else tuple(value)

    def cal_spans(self, items: list[Token]) -> tuple[WorkingInterval, ...]:
        return tuple(_interval(t) for t in items)

    def cal_holidays(self, items: list[Token]) -> Item:
        return Item("holidays", token_span(items[0]), tuple(_dates(t) for t in items))

    def cal_working(self, items: list[Any]) -> Item:
        dates, intervals = items
        first, last, span = _dates(dates)
        return Item("working", span, (first, last, span, intervals))

    # --- webhooks --------------------------------------------------------------------

    webhook = _decl_of("webhook")
    wh_body = staticmethod(_body)
    wh_url = _string_item("url")
    wh_events = _refs_item("events")

    def wh_secret(self, items: list[Token]) -> Item:
        return Item("secret", token_span(items[-1]), (str(items[-1]),))

    # --- reports ---------------------------------------------------------------------

    report = _decl_of("report")
    rpt_body = staticmethod(_body)
    rpt_measures = _refs_item("measures")
    rpt_bucket = _ref_item("bucket")

    def rpt_plain(self, items: list[Ref]) -> Ref:
        return items[0]

    def rpt_attribute(self, items: list[Ref]) -> Ref:
        # One reference for both kinds: the builder reads "attribute:CODE" as the dimension.
        return Ref(REPORT_ATTRIBUTE + items[0].code, items[0].span, quoted=True)

    def rpt_rows(self, items: list[Ref]) -> Item:
        return Item("rows", items[0].span, tuple(items))

    def rpt_columns(self, items: list[Ref]) -> Item:
        return Item("columns", items[0].span, tuple(items))

    def rpt_filter(self, items: list[ast.Node]) -> Item:
        return Item("filter", items[0].span, (items[0],))

    def rpt_repeat(self, items: list[Token]) -> Item:
        return Item("repeat", token_span(items[0]), (int(items[0]),))


REPORT_ATTRIBUTE = "attribute:"
"""How a report's attribute dimension (``attribute 166``) is held among its dimensions."""

_ACTION_WORDS = frozenset({"NAME", "NOTIFY", "ESCALATE", "CALL"})
"""Tokens an action's name is made of: names, and the built-in actions' own words."""


def _interval(tok: Token) -> WorkingInterval:
    try:
        return WorkingInterval.parse(str(tok))
    except ValidationError as exc:
        raise DslError(exc.problems[0].message, token_span(tok)) from None


def _dates(tok: Token) -> tuple[date, date, SourceSpan]:
    first, _, last = str(tok).partition("..")
    try:
        return date.fromisoformat(first), date.fromisoformat(last or first), token_span(tok)
    except ValueError:
        raise DslError(
            f"{tok} is not a date YYYY-MM-DD (or a range of them)", token_span(tok)
        ) from None


def _duration(tok: Token) -> timedelta:
    return _duration_text(str(tok), tok)


def _duration_text(text: str, tok: Token) -> timedelta:
    try:
        return parse_duration_literal(text)
    except ValueError as exc:
        raise DslError(str(exc), token_span(tok)) from None


def _on_comment(tok: Token) -> Token:
    found = _comments.get(None)
    if found is not None:
        found.append((tok.line or 1, tok.column or 1, str(tok)))
    return tok


@functools.cache
def definitions_parser() -> Lark:
    """The definition-file parser, built once; it returns declarations directly."""
    builder = merge_transformers(_DefinitionBuilder(), expressions=AstBuilder())  # type: ignore[no-untyped-call]
    return open_grammar(
        "crmcms.dsl.definitions",
        "definitions.lark",
        builder,
        propagate_positions=False,
        lexer_callbacks={"COMMENT": _on_comment},
    )


def parse_definitions(text: str, *, file: str = "<definitions>") -> SourceFile:
    """Parse one definition file; raises :class:`DslError` at the first syntax error."""
    with parsing_file(file):
        return _parse_definitions(text, file)


_BOM = "\ufeff"


def _parse_definitions(text: str, file: str) -> SourceFile:
    if text.startswith(_BOM):
        # Refused rather than skipped: a BOM shifts every column an editor shows by one on
        # some tools and not on others, and `crmcms fmt` would silently drop it.
        raise DslError(
            "the file starts with a UTF-8 byte-order mark (BOM)",
            SourceSpan(file, 1, 1),
            source=text[1:],
            hint="save the file as UTF-8 without BOM",
        )
    comments: list[tuple[int, int, str]] = []
    reset_comments = _comments.set(comments)
    try:
        decls: list[Decl] = definitions_parser().parse(text)  # type: ignore[assignment]
        return SourceFile(file, text, tuple(decls), tuple(comments))
    except UnexpectedInput as err:
        raise _syntax_error(text, err, file) from None
    except VisitError as err:
        if isinstance(err.orig_exc, DslError):
            raise _with_source(err.orig_exc, text) from None
        raise
    except DslError as err:
        raise _with_source(err, text) from None
    finally:
        _comments.reset(reset_comments)


def _with_source(err: DslError, text: str) -> DslError:
    return DslError(err.message, err.span, source=text, hint=err.hint)


# --- Friendly syntax errors ----------------------------------------------------------------

SYNTAX_EXAMPLES: Mapping[str, Sequence[str]] = {
    "expected a declaration (" + ", ".join(DECLARATION_KEYWORDS) + ")": [
        'topik T "t"',
        "T",
        '"T"',
    ],
    "a declaration needs a name in double quotes after its code": [
        "topic T {}",
        "queue Q system",
        "route R version 1 {}",
        "rule R: a = 1",
    ],
    "an attribute needs ':' and a type after its name": [
        'topic T "t" { attribute 1 "a" string }',
        'group G "g" { attribute 1 "a" }',
    ],
    "a block is not closed: '}' is missing": [
        'topic T "t" {',
        'route R "r" { process a "A" {',
        'queue Q "q" { processes: a',
    ],
    "items of a list are separated by commas": [
        'route R "r" { topics: A B }',
        'queue Q "q" { admins: a b }',
    ],
    "'when' must be followed by a condition": [
        'queue Q "q" { when }',
        'route R "r" { transition a -> b "x" when }',
    ],
    "a rule needs ':' and a condition after its name": ['rule R "r" a = 1', 'rule R "r"'],
    "a deadline is a duration such as 4h, 2d or 1d12h, or words: 2 business days": [
        'route R "r" { deadline: 4 }',
        'route R "r" { deadline: 4 fortnights }',
        'route R "r" { deadline: }',
    ],
    "a transition goes from one process to another: a -> b": [
        'route R "r" { transition a b }',
        'route R "r" { transition a "x" }',
    ],
}
"""Mistakes of the definition language itself; a malformed condition gets the expression
language's message (:data:`crmcms.dsl.syntax_errors.EXPRESSION_EXAMPLES`)."""

_ERRORS = SyntaxErrors(
    definitions_parser,
    [(label, s) for label, snippets in SYNTAX_EXAMPLES.items() for s in snippets]
    + condition_examples(),
    end="the end of the file",
    terminals={**TERMINAL_NAMES, "$END": "the end of the file", "LBRACE": "{", "RBRACE": "}"},
)


def _syntax_error(text: str, err: UnexpectedInput, file: str) -> DslError:
    return _ERRORS.error(text, err, file)
