"""The SQL text of query dictionaries: what it may hold, and the parameters it names.

A query dictionary's text must be one read-only ``SELECT`` (or ``WITH ... SELECT``). The text
is only read lexically: comments, string literals and quoted identifiers are set aside, and
what is left must start with ``SELECT`` or ``WITH``, hold no second statement and no word that
starts a writing or administrative statement. Storage runs the query in a read-only
transaction as well, so the lexical check is the first of two locks, not the only one.

The same text goes to SQLite and PostgreSQL, whose lexers differ in a few corners (dollar
quotes, nested comments, bracketed identifiers, backslash escapes). Rather than guess the
dialect, anything either of them would read differently is refused: then what is checked
here is what both databases read.
"""

from __future__ import annotations

import functools
import re

import attrs

__all__ = ["FORBIDDEN_WORDS", "QueryText", "read_query"]

FORBIDDEN_WORDS = frozenset(
    (
        "alter",
        "analyze",
        "attach",
        "begin",
        "call",
        "checkpoint",
        "cluster",
        "comment",
        "commit",
        "copy",
        "create",
        "deallocate",
        "delete",
        "detach",
        "discard",
        "do",
        "drop",
        "exec",
        "execute",
        "explain",
        "grant",
        "import",
        "insert",
        "into",
        "listen",
        "load",
        "lock",
        "merge",
        "notify",
        "pragma",
        "prepare",
        "refresh",
        "reindex",
        "release",
        "reset",
        "revoke",
        "rollback",
        "savepoint",
        "set",
        "truncate",
        "unlisten",
        "update",
        "upsert",
        "vacuum",
    )
)
"""Words that start or belong to a statement that writes, locks, changes settings or runs
code (``SELECT ... INTO`` makes a table, ``FOR UPDATE`` locks rows). A column named like one
of these words is written in double quotes."""

_WORD = re.compile(r"\w+")
_START = re.compile(r"[\s(]*(select|with)\b", re.IGNORECASE)
# SQLAlchemy's own notion of a bound parameter in text(): a colon not after a colon, a word
# character or a backslash, then a name not followed by a colon (``a::int`` is a cast).
_PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")
_CAST = re.compile(r"(?<![:\w\\]):\w+::")


@attrs.frozen
class QueryText:
    """What the lexical reading of a query found."""

    problems: tuple[str, ...]
    """Why the text is not one read-only SELECT; empty when it is."""
    parameters: tuple[str, ...]
    """The ``:name`` parameters outside literals and comments, each once, in order."""
    bindable: str
    """The text with every colon inside a literal or comment escaped (``\\:``), so that only
    the parameters above are taken for bound parameters."""


def _skip_quoted(sql: str, start: int, quote: str) -> int | None:
    """The index after the literal or quoted identifier opened at ``start``; a doubled quote
    is an escaped one. ``None`` when it is never closed."""
    i = start + 1
    while True:
        end = sql.find(quote, i)
        if end < 0:
            return None
        if sql.startswith(quote * 2, end):
            i = end + 2
            continue
        return end + 1


@functools.lru_cache(maxsize=256)  # a checked value reads its dictionary's query again
def read_query(sql: str) -> QueryText:
    """Read ``sql`` lexically; see the module's description for what is refused."""
    problems: list[str] = []
    code: list[str] = []  # the text outside literals and comments, those replaced by blanks
    bindable: list[str] = []
    statement_ended = False
    i, n = 0, len(sql)

    def refuse(message: str) -> None:
        if message not in problems:
            problems.append(message)

    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            if "\r" in sql[i:end]:
                # PostgreSQL ends a comment at a carriage return, SQLite only at a newline.
                refuse("a carriage return inside a -- comment")
            part, kind = sql[i:end], "comment"
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            if close < 0:
                refuse("a /* comment is never closed")
                close = n
            else:
                close += 2
            if "/*" in sql[i + 2 : close]:
                # PostgreSQL nests block comments, SQLite does not.
                refuse("a /* comment inside a /* comment")
            part, kind = sql[i:close], "comment"
            end = close
        elif ch in "'\"":
            closed = _skip_quoted(sql, i, ch)
            if closed is None:
                what = "string literal" if ch == "'" else "quoted identifier"
                refuse(f"a {what} is never closed")
                closed = n
            part, kind = sql[i:closed], "literal"
            end = closed
        else:
            part, kind, end = ch, "code", i + 1
        if kind == "code":
            if ch in "$`[]\\":
                refuse(
                    f"{ch!r} outside string literals is refused (the databases read it "
                    "differently); quote identifiers with double quotes"
                )
            elif ch == "\x00":
                refuse("a NUL character")
            elif ch == ";":
                statement_ended = True
            elif not ch.isspace() and statement_ended:
                refuse("more than one statement: only a single SELECT is allowed")
            code.append(ch)
            bindable.append(ch)
        else:
            if "\\" in part:
                # A backslash escapes a quote in PostgreSQL's E'' strings (and in every
                # string without standard_conforming_strings), never in SQLite.
                refuse("a backslash inside a literal or comment")
            if "\x00" in part:
                refuse("a NUL character")
            code.append(" " * len(part))
            bindable.append(part.replace(":", "\\:"))
        i = end
    plain = "".join(code)
    words = [w.lower() for w in _WORD.findall(plain)]
    if not _START.match(plain):
        refuse("the query must start with SELECT or WITH")
    found = sorted({w for w in words if w in FORBIDDEN_WORDS}, key=words.index)
    if found:
        shown = ", ".join(w.upper() for w in found)
        refuse(f"only a read-only SELECT is allowed, found {shown}")
    if _CAST.search(plain):
        refuse(
            "a parameter cast as :name::type is not taken for a parameter:"
            " write CAST(:name AS type)"
        )
    parameters = tuple(dict.fromkeys(_PARAMETER.findall(plain)))
    return QueryText(tuple(problems), parameters, "".join(bindable))
