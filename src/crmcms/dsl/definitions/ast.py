"""Syntax tree of definition files: declarations and items in source order, with positions."""

from __future__ import annotations

from typing import Any

import attrs

from crmcms.errors import SourceSpan

__all__ = ["Decl", "Item", "Ref", "SourceFile"]


@attrs.frozen
class Ref:
    """A code as written: a name, a number, or a quoted string (``"CMS CUSTOMER"``)."""

    code: str
    span: SourceSpan
    quoted: bool = False


@attrs.frozen
class Item:
    """One modifier or statement: ``inactive``, ``parent G``, ``topics: A, B``, ``when ...``.

    ``key`` is canonical (``default place``, ``when rule``, ``on``); what ``values`` hold
    depends on it (references, strings, rule syntax trees, nested items).
    """

    key: str
    span: SourceSpan
    values: tuple[Any, ...] = ()


@attrs.frozen
class Decl:
    """A declaration: ``topic CODE "name" options { body }``.

    ``body`` is ``None`` without braces; ``end_line`` is the line of the closing brace.
    """

    kind: str
    code: Ref
    name: str | None
    span: SourceSpan
    options: tuple[Item, ...] = ()
    body: tuple[Decl | Item, ...] | None = None
    end_line: int | None = None

    def option(self, key: str) -> Item | None:
        return next((o for o in self.options if o.key == key), None)

    def items(self, key: str) -> list[Item]:
        """Body statements with ``key``, in order."""
        return [i for i in self.body or () if isinstance(i, Item) and i.key == key]

    def decls(self, *kinds: str) -> list[Decl]:
        """Nested declarations of the given kinds, in order."""
        return [d for d in self.body or () if isinstance(d, Decl) and d.kind in kinds]


@attrs.frozen
class SourceFile:
    """One parsed file: its declarations, its comments ``(line, column, text)`` and its text."""

    path: str
    text: str
    decls: tuple[Decl, ...]
    comments: tuple[tuple[int, int, str], ...] = ()
