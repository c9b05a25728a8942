"""The canonical layout of definition files: one statement a line, comments kept in place."""

from __future__ import annotations

from collections import deque
from typing import Any

from crmcms.dsl.definitions_ast import Decl, Item, Ref, SourceFile
from crmcms.dsl.definitions_parser import parse_definitions
from crmcms.dsl.unparse import format_duration, quote, unparse

__all__ = ["INDENT", "format_code", "format_source", "print_definitions"]

INDENT = "    "

# Words of this grammar (any code spelled so is quoted) and of the rule language (any case).
_KEYWORDS = frozenset(
    " ".join(
        (
            "dictionary analytic internal external query inactive parent description place kind",
            "channel client category priority rank mailing list operators addresses role",
            "permissions operator roles template email password places default direction topics",
            "categories topic group attributes attribute collapsed expanded date decimal boolean",
            "string multiple column computed mask regex meta hidden visible readonly editable",
            "required optional when rule queue system members admins processes route version",
            "merge common moved process initial final keep inherit transition automatic deadline",
            "business warn notify escalate on incoming outgoing any",
        )
    ).split()
)
_RULE_WORDS = frozenset(
    " ".join(
        (
            "and or not in like matches is empty true false",
            "и или не в подобно соответствует есть пусто истина ложь",
        )
    ).split()
)


def format_code(code: str) -> str:
    """A code as written in a file: bare when it reads back as a name or number, else quoted."""
    plain = code.isdigit() or (
        code.isidentifier() and code not in _KEYWORDS and code.lower() not in _RULE_WORDS
    )
    return code if plain else quote(code)


def _ref(ref: Ref) -> str:
    # a quoted path of place names stays quoted; anything else is written the simplest way
    return (
        quote(ref.code)
        if ref.quoted and format_code(ref.code) != ref.code
        else format_code(ref.code)
    )


def _refs(values: tuple[Any, ...]) -> str:
    return ", ".join(_ref(r) for r in values)


def _flag(item: Item) -> str:
    word, node = item.values
    return word if node is None else f"{word} when {unparse(node)}"


def _when_rule(ref: Ref) -> str:
    text = format_code(ref.code)
    return f"when {text}" if text == ref.code and not ref.code.isdigit() else f"when rule {text}"


def _option(item: Item) -> str:
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
            return _flag(item)
        case "computed":
            return f"computed {unparse(values[0])}"
        case "meta":
            return f"meta {_ref(values[0])} {quote(values[1])}"
        case "when":
            return f"when {unparse(values[0])}"
        case "when rule":
            return _when_rule(values[0])
    return key


def _deadline(item: Item) -> str:
    limit, options = item.values
    parts = [f"deadline: {format_duration(limit)}"]
    for o in options:
        if o.key == "business":
            parts.append("business")
        elif o.key == "warn":
            parts.append(f"warn {format_duration(o.values[0])}")
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
    return f"on {_ref(event)}{label}: {action}({args})"


def _statement(item: Item) -> str:
    key, values = item.key, item.values
    match key:
        case "description" | "email" | "password":
            return f"{key}: {quote(values[0])}"
        case "addresses":
            return "addresses: " + ", ".join(quote(v) for v in values)
        case "direction":
            return f"direction: {values[0]}"
        case "members":
            return "members: " + ", ".join(
                ("role " if kind == "role" else "") + _ref(ref) for kind, ref in values
            )
        case "when" | "when rule":
            return _option(item)
        case "merge":
            return "merge common attributes"
        case "close_open":
            return "close with open children"
        case "deadline":
            return _deadline(item)
        case "on":
            return _handler(item)
        case "moved":
            return f"moved {_ref(values[0])} -> {_ref(values[1])}"
        case "queue" if values == ("keep",):
            return "queue: keep"
        case "attribute":
            ref, options = values
            flags = " ".join("inherit" if o.key == "inherit" else _flag(o) for o in options)
            return f"attribute {_ref(ref)}: {flags}"
    return f"{key}: {_refs(values)}"


def _header(decl: Decl) -> str:
    name = "" if decl.name is None else f" {quote(decl.name)}"
    code = _ref(decl.code)
    opts = [o for o in decl.options if o.key not in ("type", "path", "anonymous", "expr")]
    tail = "".join(
        " " + _option(o) for o in opts if not (decl.kind == "rule" and o.key == "description")
    )
    if decl.kind == "item":
        return f"{code}{name}{tail}"
    if decl.kind == "attribute":
        type_item = decl.option("type")
        if type_item is None:
            return f"attribute {code}"
        value = type_item.values[0]
        shown = _ref(value) if isinstance(value, Ref) else str(value)
        return f"attribute {code}{name}: {shown}{tail}"
    if decl.kind == "rule":
        described = decl.option("description")
        extra = f" description {quote(described.values[0])}" if described else ""
        expr = decl.option("expr")
        assert expr is not None
        return f"rule {code}{name}{extra}: {unparse(expr.values[0])}"
    if decl.kind == "transition":
        path = decl.option("path")
        assert path is not None
        source, target = path.values
        own = "" if decl.option("anonymous") else f"{code} "
        return f"transition {own}{_ref(source)} -> {_ref(target)}{name}{tail}"
    return f"{decl.kind} {code}{name}{tail}"


class _Printer:
    def __init__(self, source: SourceFile | None) -> None:
        self.out: list[str] = []
        self.comments: deque[tuple[int, int, str]] = deque(
            sorted(source.comments if source else ())
        )
        lines = source.text.split("\n") if source else []
        self.blank = {i for i, text in enumerate(lines, 1) if not text.strip()}
        self.last = 0
        self.previous: tuple[str, bool] | None = None

    def _blank_between(self, line: int) -> bool:
        return any(self.last < b < line for b in self.blank)

    def _separate(self, line: int, force: bool) -> None:
        if not self.out or self.out[-1] == "" or self.out[-1].endswith("{"):
            return
        if force or self._blank_between(line):
            self.out.append("")

    def emit(self, text: str, depth: int, line: int | None, *, top: bool = False) -> None:
        pad = INDENT * depth
        first = True
        if line is not None:
            while self.comments and self.comments[0][0] < line:
                c_line, _, c_text = self.comments.popleft()
                self._separate(c_line, top and first)
                first = False
                self.out.append(pad + c_text)
                self.last = c_line
            self._separate(line, top and first)
            if self.comments and self.comments[0][0] == line:
                text += "  " + self.comments.popleft()[2]
            self.last = line
        elif top:
            self._separate(0, True)
        self.out.append(pad + text)

    def decl(self, decl: Decl, depth: int, *, top: bool = False) -> None:
        header = _header(decl)
        body = decl.body
        if top:
            # Blocks stand apart; a run of one-line declarations of one kind keeps its spacing.
            shape = (decl.kind, bool(body) or decl.kind == "route")
            top = self.previous is not None and (shape != self.previous or shape[1])
            self.previous = shape
        if not body and decl.kind in ("route", "attributes"):
            # the grammar wants braces here even when nothing is inside
            self.emit(header + " {}", depth, decl.span.line if decl.span.file else None, top=top)
            self.close(depth, decl.end_line, bare=True)
            return
        if not body:
            self.emit(header, depth, decl.span.line if decl.span.file else None, top=top)
            if body is not None and decl.end_line is not None:
                self.close(depth, decl.end_line, bare=True)
            return
        self.emit(header + " {", depth, decl.span.line if decl.span.file else None, top=top)
        for child in body:
            if isinstance(child, Decl):
                self.decl(child, depth + 1)
            else:
                self.emit(
                    _statement(child), depth + 1, child.span.line if child.span.file else None
                )
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
