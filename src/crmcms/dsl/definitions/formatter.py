"""The canonical layout of definition files: one statement a line, comments kept in place."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import partial
from typing import Any

from crmcms.dsl.definitions.ast import Decl, Item, Ref, SourceFile
from crmcms.dsl.definitions.parser import REPORT_ATTRIBUTE, parse_definitions, text_block
from crmcms.dsl.keywords import DEFINITION_WORDS, RULE_WORDS
from crmcms.dsl.rules import ast
from crmcms.dsl.rules.unparse import chain, format_duration_literal, quote, unparse
from crmcms.model.calendars import WEEKDAY_NAMES
from crmcms.model.files import format_size

__all__ = ["INDENT", "format_code", "format_source", "print_definitions"]

INDENT = "    "


def format_code(code: str) -> str:
    """A code as written in a file: bare when it reads back as a name or number, else quoted."""
    plain = code.isdigit() or (
        code.isidentifier() and code not in DEFINITION_WORDS and code.lower() not in RULE_WORDS
    )
    return code if plain else quote(code)


def _ref(ref: Ref) -> str:
    # a quoted path of place names stays quoted; anything else is written the simplest way
    return (
        quote(ref.code)
        if ref.quoted and format_code(ref.code) != ref.code
        else format_code(ref.code)
    )


def _dimension(ref: Ref) -> str:
    """A report dimension: a bare word, or ``attribute CODE``."""
    if ref.code.startswith(REPORT_ATTRIBUTE):
        return "attribute " + format_code(ref.code.removeprefix(REPORT_ATTRIBUTE))
    return ref.code if ref.code.isidentifier() else quote(ref.code)


def _refs(values: tuple[Any, ...]) -> str:
    return ", ".join(_ref(r) for r in values)


Condition = Callable[[ast.Node], str]
"""How a statement writes its conditions: :func:`unparse` (one line), or broken into lines
(see :meth:`_Printer.text`)."""


def _flag(item: Item, cond: Condition = unparse) -> str:
    word, node = item.values
    return word if node is None else f"{word} when {cond(node)}"


def _when_rule(ref: Ref) -> str:
    text = format_code(ref.code)
    return f"when {text}" if text == ref.code and not ref.code.isdigit() else f"when rule {text}"


def _option(item: Item, cond: Condition = unparse) -> str:
    key, values = item.key, item.values
    match key:
        case "external" | "query" | "default" | "mask" | "regex" | "description" if values:
            return f"{key} {quote(values[0])}"
        case "parent" | "kind":
            return f"{key} {_ref(values[0])}"
        case "rank" | "version":
            return f"{key} {values[0]}"
        case "display":
            return str(values[0])
        case "flag":
            return _flag(item, cond)
        case "computed":
            return f"computed {cond(values[0])}"
        case "meta":
            return f"meta {_ref(values[0])} {quote(values[1])}"
        case "when":
            return f"when {cond(values[0])}"
        case "when rule":
            return _when_rule(values[0])
    return key


def _level(item: Item) -> str:
    at, waits, actions = item.values
    if at.key == "share":
        where = f"{at.values[0]}%"
    else:
        offset = at.values[0]
        sign = "-" if offset < timedelta(0) else "+"
        where = sign + (format_duration_literal(abs(offset)) if offset else "0")
    wait = " in working time" if waits else ""
    return f"at {where}{wait}: " + " and ".join(_level_action(a) for a in actions)


def _level_action(item: Item) -> str:
    match item.key:
        case "notify":
            return "notify " + ", ".join(
                ("role " if t.key == "role" else "") + _ref(t.values[0]) for t in item.values
            )
        case "raise_priority":
            return f"raise priority {_ref(item.values[0])}"
        case "move_to_queue":
            return f"move to queue {_ref(item.values[0])}"
    return f"call {item.values[0]}"


def _deadline(item: Item) -> str:
    limit, options = item.values
    head = "first response" if item.key == "first_response" else "deadline"
    parts = [f"{head}: {format_duration_literal(limit)}"]
    for o in options:
        if o.key == "business":
            parts.append("business")
        elif o.key == "ladder" and len(o.values) == 1:
            parts.append("{ " + _level(o.values[0]) + " }")
        elif o.key == "ladder":
            # A level a line, as a block: the closing brace back at the statement's indent.
            levels = "".join(f"\n{_level(level)}" for level in o.values)
            parts.append("{" + levels + "\n" + _CLOSING + "}")
        elif o.key == "priority_limit":
            parts.append(f"priority {_ref(o.values[0])} {format_duration_literal(o.values[1])}")
        elif o.key == "warn":
            parts.append(f"warn {format_duration_literal(o.values[0])}")
        else:
            parts.append(f"{o.key} {_refs(o.values)}")
    return " ".join(parts)


def _handler(item: Item) -> str:
    event, name, written = item.values
    label = f" {quote(name)}" if name is not None else ""
    if isinstance(written, Item):  # a short form, kept as written: notify A, B / call f
        # A function's name is dotted names, never quoted; recipients are codes.
        what = written.values[0].code if written.key == "call" else _refs(written.values)
        return f"on {_ref(event)}{label}: {written.key} {what}"
    action, arguments = written
    args = ", ".join(f"{_ref(k)}: {unparse(v)}" for k, v in arguments)
    return f"on {_ref(event)}{label}: {action.code}({args})"


def _text(value: str) -> str:
    """A message template's part: a ``\"\"\"block\"\"\"`` when it has several lines and
    reads back the same from one, else a string (the printer indents the block's lines)."""
    if "\n" not in value:
        return quote(value)
    block = '"""\n' + value + '"""'
    # indented as the printer does, the block must read back as the value itself
    lexes = '"""' not in value and not value.endswith('"')  # no quotes run into the close
    if lexes and text_block(block.replace("\n", "\n" + INDENT)) == value:
        return block
    return quote(value)


def _statement(item: Item, cond: Condition = unparse) -> str:
    key, values = item.key, item.values
    match key:
        case "description" | "email" | "password":
            return f"{key}: {quote(values[0])}"
        case "subject" | "text" | "html":
            return f"{key}: {_text(values[0])}"
        case "addresses":
            return "addresses: " + ", ".join(quote(v) for v in values)
        case "timezone" | "url":
            return f"{key}: {quote(values[0])}"
        case "secret":
            return f"secret: env {values[0]}"
        case "events":
            # Event kinds are never codes of definitions: ``moved`` stays a bare word.
            return "events: " + ", ".join(
                r.code if r.code.isidentifier() else quote(r.code) for r in values
            )
        case "attachments":
            return f"attachments: {format_size(values[0])}"
        case "rows" | "columns":
            return f"{key}: " + ", ".join(_dimension(r) for r in values)
        case "measures" | "bucket" | "permissions":
            # Measure, bucket and permission names are words of their own, never codes of
            # definitions: ``report`` stays a bare word though it starts a declaration.
            return f"{key}: " + ", ".join(
                r.code if r.code.isidentifier() else quote(r.code) for r in values
            )
        case "filter":
            return f"filter: {cond(values[0])}"
        case "repeat":
            return f"repeat: {values[0]} days"
        case "hours":
            first, last, intervals = values
            days = WEEKDAY_NAMES[first] + ("" if first == last else f"..{WEEKDAY_NAMES[last]}")
            return f"{days}: {_intervals(intervals)}"
        case "holidays":
            return "holidays: " + ", ".join(_date_range(a, b) for a, b, _ in values)
        case "working":
            first, last, _, intervals = values
            return f"working: {_date_range(first, last)} {_intervals(intervals)}"
        case "direction":
            return f"direction: {values[0]}"
        case "members":
            return "members: " + ", ".join(
                ("role " if kind == "role" else "") + _ref(ref) for kind, ref in values
            )
        case "when" | "when rule":
            return _option(item, cond)
        case "merge":
            return "merge common attributes"
        case "close_open":
            return "close with open children"
        case "deadline" | "first_response":
            return _deadline(item)
        case "on":
            return _handler(item)
        case "moved":
            return f"moved {_ref(values[0])} -> {_ref(values[1])}"
        case "queue" if values == ("keep",):
            return "queue: keep"
        case "attribute":
            ref, options = values
            flags = " ".join("inherit" if o.key == "inherit" else _flag(o, cond) for o in options)
            return f"attribute {_ref(ref)}: {flags}"
    return f"{key}: {_refs(values)}"


_CLOSING = "\x00"
"""Starts a line of a statement's text that closes its block: written at the statement's
indent, not as a continuation (no text of a definition holds a NUL)."""


def _continued(pad: str, line: str) -> str:
    """A statement's later line, indented under ``pad``."""
    if line.startswith(_CLOSING):
        return pad + line.removeprefix(_CLOSING)
    return pad + INDENT + line if line else ""


def _intervals(intervals: tuple[Any, ...]) -> str:
    return ", ".join(str(i) for i in intervals) or "none"


def _date_range(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _header(decl: Decl, cond: Condition = unparse) -> str:
    name = "" if decl.name is None else f" {quote(decl.name)}"
    code = _ref(decl.code)
    opts = [o for o in decl.options if o.key not in ("type", "path", "anonymous", "expr")]
    tail = "".join(
        " " + _option(o, cond) for o in opts if not (decl.kind == "rule" and o.key == "description")
    )
    if decl.kind == "item":
        return f"{code}{name}{tail}"
    if decl.kind in ("attribute", "problem attribute"):
        type_item = decl.option("type")
        if type_item is None:
            return f"attribute {code}"
        value = type_item.values[0]
        shown = _ref(value) if isinstance(value, Ref) else str(value)
        return f"{decl.kind} {code}{name}: {shown}{tail}"
    if decl.kind == "rule":
        described = decl.option("description")
        extra = f" description {quote(described.values[0])}" if described else ""
        expr = decl.option("expr")
        assert expr is not None
        return f"rule {code}{name}{extra}: {cond(expr.values[0])}"
    if decl.kind == "transition":
        path = decl.option("path")
        assert path is not None
        source, target = path.values
        own = "" if decl.option("anonymous") else f"{code} "
        return f"transition {own}{_ref(source)} -> {_ref(target)}{name}{tail}"
    return f"{decl.kind} {code}{name}{tail}"


def _ladder_lines(values: tuple[Any, ...]) -> list[int]:
    """The source lines of a deadline's ladder written a level a line (each level's, then
    the closing brace's), or none."""
    for value in values:
        if not isinstance(value, tuple):
            continue
        for option in value:
            if isinstance(option, Item) and option.key == "ladder" and len(option.values) > 1:
                close = option.span.end_line or option.span.line
                return [level.span.line for level in option.values] + [close]
    return []


def _conditions(values: tuple[Any, ...]) -> Iterator[ast.Node]:
    """The rule syntax trees among a statement's values (flags nest them in items)."""
    for value in values:
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, Item):
            yield from _conditions(value.values)
        elif isinstance(value, tuple):
            yield from _conditions(value)


class _Printer:
    def __init__(self, source: SourceFile | None) -> None:
        self.out: list[str] = []
        self.comments: deque[tuple[int, int, str]] = deque(
            sorted(source.comments if source else ())
        )
        lines = source.text.split("\n") if source else []
        self.blank = {i for i, text in enumerate(lines, 1) if not text.strip()}
        self.alone = {
            line for line, column, _ in self.comments if not lines[line - 1][: column - 1].strip()
        }
        """Lines holding a comment and nothing else (the others trail some text)."""
        self.last = 0
        self.previous: tuple[str, bool] | None = None

    def _blank_between(self, line: int) -> bool:
        return any(self.last < b < line for b in self.blank)

    def _separate(self, line: int, force: bool) -> None:
        if not self.out or self.out[-1] == "" or self.out[-1].endswith("{"):
            return
        if force or self._blank_between(line):
            self.out.append("")

    def text(
        self,
        build: Callable[[Condition], str],
        parts: tuple[Any, ...],
        line: int | None,
        end_line: int | None = None,
    ) -> tuple[str, list[int], int]:
        """What ``build`` writes of a statement or header starting at source ``line``, the
        source line each of its later lines starts at, and its conditions' last line.

        A condition written over several lines keeps its line breaks where canonical text
        may break (before an ``and`` / ``or`` needing no parentheses, see :func:`chain`):
        operands that started on one source line share an output line. Anything else is
        one line.
        """
        if line is None:
            return build(unparse), [], 0
        ladder = _ladder_lines(parts)
        if ladder:
            # a level a line: each stands on its source line, the closing brace on its own
            return build(unparse), ladder, ladder[-1]
        end = max((n.span.end_line or n.span.line for n in _conditions(parts)), default=line)
        if end <= line:
            written = build(unparse)
            if "\n" not in written:
                return written, [], line
            # a text block: its lines stand on the source lines it spans, to ``end_line``
            stop = max(line, end_line or line)
            return written, [min(line + k, stop) for k in range(1, written.count("\n") + 1)], stop
        starts: list[int] = []

        def broken(node: ast.Node) -> str:
            out, last = "", node.span.line
            for piece, operand in chain(node):
                at = operand.span.line
                if not out:
                    out = piece
                elif at > last:
                    starts.append(at)
                    out, last = f"{out}\n{piece}", at
                else:
                    out += " " + piece
            return out

        return build(broken), starts, end

    def emit(
        self,
        text: str,
        depth: int,
        line: int | None,
        *,
        top: bool = False,
        starts: list[int] | None = None,
        end: int = 0,
    ) -> None:
        """Write ``text`` (lines after the first start at source lines ``starts``, and the
        last ends at ``end``) with the comments that stand before and among its lines."""
        pad = INDENT * depth
        first = True
        if line is None:
            if top:
                self._separate(0, True)
            first_line, *rest = text.split("\n")
            self.out.extend([pad + first_line, *(_continued(pad, r) for r in rest)])
            return
        comments = self.comments
        while comments and comments[0][0] < line:
            c_line, _, c_text = comments.popleft()
            self._separate(c_line, top and first)
            first = False
            self.out.append(pad + c_text)
            self.last = c_line
        self._separate(line, top and first)
        bounds = [line, *(starts or ())]
        pieces = text.split("\n")
        above: list[str] = []
        for k, piece in enumerate(pieces):
            indent = pad if k == 0 or piece.startswith(_CLOSING) else pad + INDENT
            piece = piece.removeprefix(_CLOSING)
            stop = bounds[k + 1] if k + 1 < len(pieces) else max(end, line) + 1
            # In the piece's lines: a comment trailing its text stays there (one; others go
            # above it); a comment on a line of its own goes above the next piece, or above
            # this one if it is the last (so that formatting again keeps every comment put).
            trailing: list[str] = []
            after: list[str] = []
            while comments and comments[0][0] < stop:
                c_line, _, c_text = comments.popleft()
                (after if c_line in self.alone and c_line > bounds[k] else trailing).append(c_text)
            if k + 1 == len(pieces):
                above += after
                after = []
            above += trailing[:-1]
            self.out.extend(indent + c for c in above)
            written = indent + piece if piece or k == 0 else ""  # no blanks ending a line
            self.out.append(written + (f"  {trailing[-1]}" if trailing else ""))
            above = after
        self.last = max(end, line)

    def decl(self, decl: Decl, depth: int, *, top: bool = False) -> None:
        line = decl.span.line if decl.span.file else None
        header, starts, end = self.text(partial(_header, decl), decl.options, line)
        body = decl.body
        if top:
            # Blocks stand apart; a run of one-line declarations of one kind keeps its spacing.
            shape = (decl.kind, bool(body) or decl.kind == "route")
            top = self.previous is not None and (shape != self.previous or shape[1])
            self.previous = shape
        if not body and decl.kind in ("route", "attributes"):
            # the grammar wants braces here even when nothing is inside
            self.emit(header + " {}", depth, line, top=top, starts=starts, end=end)
            self.close(depth, decl.end_line, bare=True)
            return
        if not body:
            self.emit(header, depth, line, top=top, starts=starts, end=end)
            if body is not None and decl.end_line is not None:
                self.close(depth, decl.end_line, bare=True)
            return
        self.emit(header + " {", depth, line, top=top, starts=starts, end=end)
        for child in body:
            if isinstance(child, Decl):
                self.decl(child, depth + 1)
            else:
                at = child.span.line if child.span.file else None
                text, starts, end = self.text(
                    partial(_statement, child), child.values, at, child.span.end_line
                )
                self.emit(text, depth + 1, at, starts=starts, end=end)
        self.close(depth, decl.end_line, bare=False)

    def close(self, depth: int, end_line: int | None, *, bare: bool) -> None:
        if end_line is None:
            if not bare:
                self.out.append(INDENT * depth + "}")
            return
        while self.comments and self.comments[0][0] < end_line:
            c_line, _, c_text = self.comments.popleft()
            self._separate(c_line, False)
            self.out.append(INDENT * (depth + 1) + c_text)
            self.last = c_line
        trailing = ""
        if self.comments and self.comments[0][0] == end_line:
            trailing = "  " + self.comments.popleft()[2]
        if bare:
            if trailing:
                self.out[-1] += trailing
        else:
            self.out.append(INDENT * depth + "}" + trailing)
        self.last = end_line

    def finish(self) -> str:
        while self.comments:
            c_line, _, c_text = self.comments.popleft()
            self._separate(c_line, False)
            self.out.append(c_text)
            self.last = c_line
        return "\n".join(self.out).rstrip("\n") + "\n" if self.out else ""


def print_definitions(decls: tuple[Decl, ...], source: SourceFile | None = None) -> str:
    """Declarations in the canonical layout (with the comments of ``source``, if given)."""
    printer = _Printer(source)
    for decl in decls:
        printer.decl(decl, 0, top=True)
    return printer.finish()


def format_source(text: str, *, file: str = "<definitions>") -> str:
    """``text`` in the canonical layout; raises :class:`~crmcms.errors.DslError` if it does
    not parse. Formatting twice gives the same text, and the definitions do not change."""
    source = parse_definitions(text, file=file)
    return print_definitions(source.decls, source)
