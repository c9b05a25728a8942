"""The catalog being built from declarations: what is made so far and where each came from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

from crmcms.dsl.definitions.ast import Decl, Item, Ref
from crmcms.dsl.definitions.checks import Condition, LoadIndex
from crmcms.dsl.rules import ast
from crmcms.dsl.rules.titles import CONDITION_PREFIX, condition_rule
from crmcms.dsl.rules.unparse import unparse
from crmcms.errors import SourceSpan, ValidationError
from crmcms.model import Catalog, Flag

__all__ = ["CatalogDraft", "index_key"]

T = TypeVar("T")

_FLAG_WORDS = {
    "hidden": ("hidden", True),
    "visible": ("hidden", False),
    "readonly": ("read_only", True),
    "editable": ("read_only", False),
    "required": ("required", True),
    "optional": ("required", False),
}


class CatalogDraft:
    """The definitions made so far, by field of :class:`Catalog`, and the ways of reading a
    declaration into them: each made definition, reference and condition is noted in the
    index with its position, for the checks that run on the finished catalog.

    The builders of each part of the catalog share one draft, so a definition of any kind is
    claimed, refused and positioned the same way.
    """

    def __init__(self, index: LoadIndex) -> None:
        self.index = index
        self.fields: dict[str, list[Any]] = {f.name: [] for f in attrs.fields(Catalog) if f.init}
        self.seen: dict[tuple[str, object], SourceSpan] = {}

    # --- helpers ---------------------------------------------------------------------

    def error(self, message: str, span: SourceSpan, hint: str | None = None) -> None:
        self.index.error(message, span, hint)

    def claim(self, kind: str, key: object, span: SourceSpan, shown: str) -> bool:
        """Record a definition; a second one with the same key is reported and skipped."""
        first = self.seen.get((kind, key))
        if first is not None:
            self.error(f"{shown} is defined twice (first at {first})", span)
            return False
        self.seen[(kind, key)] = span
        return True

    def make(self, span: SourceSpan, build: Callable[[], T]) -> T | None:
        """``build()``, with the model's own refusals reported at ``span``."""
        try:
            return build()
        except ValidationError as exc:
            for p in exc.problems:
                text = p.message
                if exc.subject and not text.startswith(exc.subject):
                    text = f"{exc.subject}: {text}"
                self.error(text, span)
            return None

    def ref(self, kind: str, ref: Ref, context: str = "") -> str:
        self.index.refs.append((kind, ref, context))
        return ref.code

    def refs(self, kind: str, item: Item | None, context: str = "") -> tuple[str, ...]:
        if item is None:
            return ()
        return tuple(self.ref(kind, r, context) for r in item.values)

    def single(self, decl: Decl, key: str) -> Item | None:
        """The one item ``key`` of ``decl`` (options or body); repeats are reported."""
        found = [o for o in decl.options if o.key == key] + decl.items(key)
        for extra in found[1:]:
            self.error(f"{key!r} is given twice in {decl.kind} {decl.code.code}", extra.span)
        return found[0] if found else None

    def text(self, decl: Decl, key: str) -> str | None:
        item = self.single(decl, key)
        return None if item is None else str(item.values[0])

    def description(self, decl: Decl) -> str:
        return self.text(decl, "description") or ""

    def calendar(self, decl: Decl, what: str) -> str | None:
        """The code of the calendar ``decl`` names (``calendar: CODE``), if it names one."""
        item = self.single(decl, "calendar")
        return None if item is None else self.ref("calendar", item.values[0], what)

    def active(self, decl: Decl) -> bool:
        return self.single(decl, "inactive") is None

    def condition(
        self, node: ast.Node, scope: tuple[str, ...], owner: str, *, rule: str | None = None
    ) -> str:
        self.index.conditions.append(Condition(node, scope, owner, rule=rule))
        return unparse(node)

    def add(self, field: str, decl: Decl, key: object, shown: str, build: Callable[[], T]) -> None:
        if not self.claim(field, key, decl.code.span, shown):
            return
        made = self.make(decl.code.span, build)
        if made is not None:
            self.fields[field].append(made)
            self.index.spans[(field, *index_key(key))] = decl.code.span

    def flags(self, items: Iterable[Item], scope: tuple[str, ...], owner: str) -> dict[str, Flag]:
        found: dict[str, Flag] = {}
        for item in items:
            word, node = item.values
            field, value = _FLAG_WORDS[word]
            if field in found:
                self.error(f"{owner}: the {field.replace('_', '-')} flag is given twice", item.span)
                continue
            if node is not None and not value:
                self.error(
                    f"{word!r} takes no condition", item.span, "put the condition on the flag"
                )
                continue
            condition = None if node is None else self.condition(node, scope, owner)
            found[field] = Flag(value, condition)
        return found

    def when(self, decl: Decl, code: str, scope: tuple[str, ...], what: str) -> str | None:
        """The rule code of ``when``: a named rule, or one made for an inline condition
        (``code``, written after the prefix of such rules)."""
        named = self.single(decl, "when rule")
        inline = self.single(decl, "when")
        if named is not None and inline is not None:
            self.error(f"{what} has two conditions", inline.span)
        if named is not None:
            return self.ref("rule", named.values[0], what)
        if inline is None:
            return None
        text = self.condition(inline.values[0], scope, what)
        made = self.make(inline.span, lambda: condition_rule(code, what, text))
        if made is not None and self.claim("rules", made.code, inline.span, f"{what}'s condition"):
            self.fields["rules"].append(made)
        return CONDITION_PREFIX + code


def index_key(key: object) -> tuple[str, ...]:
    return tuple(str(k) for k in key) if isinstance(key, tuple) else (str(key),)
