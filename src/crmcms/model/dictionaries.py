"""Dictionaries: the value lists that reference attributes choose from."""

from __future__ import annotations

import enum

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code, unique_codes
from crmcms.model._lookup import find
from crmcms.model.queries import read_query

__all__ = ["Dictionary", "DictionaryItem", "DictionaryKind"]


class DictionaryKind(enum.Enum):
    """Where a dictionary's items come from."""

    ANALYTIC = "analytic"
    """Maintained by administrators for analysis (e.g. termination reasons)."""
    INTERNAL = "internal"
    """Maintained by administrators, used by crmcms itself."""
    EXTERNAL = "external"
    """Owned by another system (billing); items are fetched, not stored here."""
    QUERY = "query"
    """Items are the rows of a read-only, parameterised database query."""


@attrs.frozen
class DictionaryItem:
    """One choice of a dictionary; attributes store its ``code``."""

    code: str
    name: str
    active: bool = True
    parent: str | None = None
    """Code of the parent item, for tree-shaped dictionaries."""


@attrs.frozen
class Dictionary:
    """A named list of items (analytic, internal), or a pointer to where items live."""

    code: str
    name: str
    kind: DictionaryKind = DictionaryKind.ANALYTIC
    items: tuple[DictionaryItem, ...] = ()
    description: str = ""
    source: str | None = None
    """External dictionaries: the system the items come from."""
    query: str | None = None
    """Query dictionaries: the read-only SQL text, with ``:name`` parameters."""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("dictionary", self.code)
        problems = unique_codes(f"dictionary {self.code}", "items", (i.code for i in self.items))
        if self.kind is DictionaryKind.QUERY and not (self.query and self.query.strip()):
            problems.append(Problem("query", f"query dictionary {self.code} needs its query"))
        if self.kind is DictionaryKind.QUERY and self.query and self.query.strip():
            problems += [
                Problem("query", f"query refused: {p}") for p in read_query(self.query).problems
            ]
        if self.kind is not DictionaryKind.QUERY and self.query is not None:
            problems.append(
                Problem("query", f"dictionary {self.code} is {self.kind.value}, not a query")
            )
        if self.kind in (DictionaryKind.EXTERNAL, DictionaryKind.QUERY) and self.items:
            problems.append(
                Problem("items", f"{self.kind.value} dictionary {self.code} cannot list items")
            )
        known = {i.code for i in self.items}
        problems += [
            Problem("items", f"item {i.code!r} has unknown parent {i.parent!r}")
            for i in self.items
            if i.parent is not None and i.parent not in known
        ]
        if problems:
            raise ValidationError(problems, subject=f"dictionary {self.code}")

    @property
    def stores_items(self) -> bool:
        """Whether membership can be checked here (analytic and internal dictionaries)."""
        return self.kind in (DictionaryKind.ANALYTIC, DictionaryKind.INTERNAL)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The ``:name`` parameters a query dictionary's query names (none for other kinds)."""
        return () if self.query is None else read_query(self.query).parameters

    def item(self, code: str) -> DictionaryItem:
        """The item with ``code``; :class:`~crmcms.errors.NotFoundError` with a hint otherwise."""
        return find(f"item of dictionary {self.code}", {i.code: i for i in self.items}, code)

    def active_codes(self) -> frozenset[str]:
        return frozenset(i.code for i in self.items if i.active)
