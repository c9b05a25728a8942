"""Friendly syntax errors for every grammar of the DSL: malformed snippets mapped to messages."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from crmcms.errors import DslError, SourceSpan

__all__ = ["CONDITION_CONTEXTS", "EXPRESSION_EXAMPLES", "SyntaxErrors"]

# Each message comes with the snippets that provoke it; an error is matched against them by
# parser state and the token met there (as lark's UnexpectedInput.match_examples does, indexed
# once). Every snippet is also a row of the test tables.
EXPRESSION_EXAMPLES: Mapping[str, Sequence[str]] = {
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
    'in takes a list in parentheses, e.g. Client.Category in ("BIS", "VIP")': [
        "a in 1",
        'a in "x"',
        "a not in 1",
        'Client.Category in "BIS"',
    ],
    "a string is not closed": ['a = "abc', "a = 'abc"],
    "use and, or, not instead of &&, ||, !": ["a && b", "a || b", "!a", "a & b"],
    "an attribute code goes in brackets: Appeal.Attribute[168]": ["Appeal.Attribute.168", "a.1"],
}
"""The expression language's mistakes: the same messages in ``crmcms rule check`` and in a
definition file, where each snippet is also tried in each of :data:`CONDITION_CONTEXTS`."""

CONDITION_CONTEXTS: Sequence[str] = (
    'rule X "x": {}',
    'queue X "x" {{ when {} }}',
    'route X "x" {{ transition a -> b when {} }}',
    'topic X "x" {{ attribute 1 "a": string required when {} }}',
)
"""Where definition files hold conditions: an expression example is indexed in each, so a
malformed condition gets the expression's message wherever it is written."""

_UNNAMED_FOR_EXPRESSIONS = frozenset({"the rule is empty"})
"""Expression messages whose snippets mean something else inside a definition."""


def _strip(name: str) -> str:
    # Terminals a grammar imports are prefixed with the grammar's name (expressions__NAME).
    return name.rsplit("__", 1)[-1].lstrip("_")


def _error_key(err: UnexpectedInput) -> tuple[tuple[Any, int], str, str]:
    """Where the parser stood (LALR state and depth) and what it met there."""
    state = getattr(err, "state", None)
    where = (getattr(state, "position", None), len(getattr(state, "state_stack", ()) or ()))
    if isinstance(err, UnexpectedCharacters):
        return where, "<char>", err.char
    token = getattr(err, "token", None)
    return where, _strip(getattr(token, "type", "$END")), str(token or "")


def _unclosed(text: str) -> str:
    """Which opener is left open (list items and arguments share parser states)."""
    stack: list[str] = []
    for ch in re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', "", text):
        if ch in "([":
            stack.append(ch)
        elif ch in ")]" and stack:
            stack.pop()
    return "a bracket is not closed" if stack[-1:] == ["["] else "a parenthesis is not closed"


class SyntaxErrors:
    """Turns lark's syntax errors for one grammar into :class:`DslError` with a friendly
    message found through example snippets, and the expected tokens as a hint."""

    def __init__(
        self,
        parser: Callable[[], Lark],
        examples: Sequence[tuple[str, str]],
        *,
        end: str,
        terminals: Mapping[str, str],
    ) -> None:
        self._parser = parser
        self._examples = examples
        self._end = end
        self._terminals = terminals

    @functools.cached_property
    def _index(self) -> tuple[tuple[tuple[tuple[Any, int], str, str], str], ...]:
        index = []
        for label, snippet in self._examples:
            try:
                self._parser().parse(snippet)
            except UnexpectedInput as err:
                index.append((_error_key(err), label))
            except Exception:
                continue
        return tuple(index)

    def friendly(self, err: UnexpectedInput, text: str) -> str | None:
        """The message of the example closest to ``err``, if any is close."""
        where, kind, value = _error_key(err)
        best: tuple[int, str] | None = None
        for (w, k, v), label in self._index:
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

    def describe(self, name: str) -> str:
        """A terminal as a user reads it: ``a name``, ``'{'``, ``'hidden' or 'visible'``."""
        base = _strip(name)
        if base in self._terminals:
            return self._terminals[base]
        try:
            pattern = self._parser().get_terminal(name).pattern
        except KeyError:
            return base.lower()
        value = str(pattern.value)
        if pattern.type == "str":
            return repr(value)
        # keyword alternatives such as (?:hidden|visible|...)(?!\w), or (?i:and|и)(?!\w)
        inner = re.sub(r"^\(\?[:i]*:?", "", value).split(")", 1)[0]
        return " or ".join(repr(w) for w in inner.split("|"))

    def expected(self, err: UnexpectedInput) -> list[str]:
        state = getattr(err, "state", None)
        try:
            names = set(state.parse_conf.parse_table.states[state.position])  # type: ignore[union-attr]
        except (AttributeError, KeyError, TypeError):
            names = set(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())
        # Rule names (lower case) are parser internals; only terminals mean something to a user.
        shown = {self.describe(n) for n in names if _strip(n).isupper()}
        shown.discard("'not' or 'не'")  # "not" is always possible somewhere; listing it confuses
        return sorted(shown)

    def error(self, text: str, err: UnexpectedInput, file: str) -> DslError:
        """The :class:`DslError` for ``err``, met parsing ``text`` of ``file``."""
        line, column = err.line, err.column
        token = getattr(err, "token", None)
        at_end = isinstance(err, UnexpectedEOF) or (token is not None and token.type == "$END")
        if at_end or line is None or line < 1:
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        if isinstance(err, UnexpectedCharacters):
            found = f"character {err.char!r}"
        elif token is not None and not at_end:
            found = repr(str(token))
        else:
            found = self._end
        friendly = self.friendly(err, text)
        message = friendly or f"unexpected {found}"
        if friendly and found != self._end:
            message += f" (at {found})"
        expected = self.expected(err)
        # After a value nearly everything may follow; such a list helps nobody.
        useful = expected and len(expected) <= (4 if friendly else 12)
        hint = f"expected {', '.join(expected)}" if useful else None
        return DslError(message, SourceSpan(file, line, column), source=text, hint=hint)


def expression_examples() -> list[tuple[str, str]]:
    """:data:`EXPRESSION_EXAMPLES` as (message, snippet) rows."""
    return [(label, s) for label, snippets in EXPRESSION_EXAMPLES.items() for s in snippets]


def condition_examples() -> list[tuple[str, str]]:
    """The expression examples as written in definition files, in every condition context."""
    return [
        (label, context.format(snippet))
        for label, snippet in expression_examples()
        if label not in _UNNAMED_FOR_EXPRESSIONS
        for context in CONDITION_CONTEXTS
    ]
