"""Saved appeal filters in the rule language, run in SQL with keyset pages, counts and tabs."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from crmcms.dsl import CompiledRule, RuleType, Schema, builtin_schema, compile_rule
from crmcms.engine.obstacles import ReadScope
from crmcms.errors import NotFoundError, Problem, ValidationError
from crmcms.model import Appeal
from crmcms.storage.schema import appeal, saved_filter
from crmcms.storage.sql.binding import AppealBinding
from crmcms.storage.sql.codec import appeal_from_row, to_utc
from crmcms.storage.sql.rules_to_sql import rule_to_sql
from crmcms.storage.sql.scope import visible

__all__ = ["AppealFilters", "FilterTab", "Order", "Page", "PageKey", "SavedFilter"]

T = TypeVar("T")

FEW = 10_000
"""Below this many expected matches an attribute filter's page is sorted, not walked."""


@attrs.frozen
class FilterTab:
    """A named group of conditions within a filter, shown as a tab with its count."""

    code: str
    name: str
    rule: str


@attrs.frozen
class SavedFilter:
    """A filter over appeals: ``rule`` selects, each tab narrows it further.

    ``SavedFilter("mine", "My claims", 'Appeal.Topic.Code = "CLAIM"',
    tabs=(FilterTab("late", "Late", "Appeal.Deadline < now()"),))``
    """

    code: str
    name: str
    rule: str = "true"
    tabs: tuple[FilterTab, ...] = ()
    owner: str | None = None

    def tab(self, code: str) -> FilterTab:
        for tab in self.tabs:
            if tab.code == code:
                return tab
        raise NotFoundError("filter tab", code, hint=f"filter {self.code!r}")


class Order(enum.Enum):
    """The order of a filter's pages."""

    NEWEST = "newest"
    """Latest registered first (by id, descending)."""
    DEADLINE = "deadline"
    """Earliest deadline first, appeals without a deadline last, then by id."""


@attrs.frozen
class PageKey:
    """Where the next page starts: the last row's sort key (keyset, not offset)."""

    id: int
    deadline: datetime | None = None


@attrs.frozen
class Page(Generic[T]):
    """One page of items and the key of the next page (``None`` on the last page)."""

    items: tuple[T, ...]
    next: PageKey | None


def _order(order: Order | str) -> Order:
    """The order a page is asked in; a sort key is one of :class:`Order`'s, never text for
    the query."""
    if isinstance(order, Order):
        return order
    try:
        return Order(order)
    except ValueError:
        known = ", ".join(o.value for o in Order)
        raise ValidationError([Problem("order", f"{order!r} is not an order: {known}")]) from None


class AppealFilters:
    """Runs and stores saved filters over the appeals of one database.

    Rules are compiled against ``schema``, or the built-in one with ``attributes`` typed
    (give ``attributes=attribute_types(catalog)`` so that attribute filters use their
    indexes; a schema from :func:`crmcms.plugins.rule_schema` for what plugins add), and
    translated to SQL; every value a rule holds is a bound parameter.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        schema: Schema | None = None,
        attributes: Mapping[str, RuleType] | None = None,
    ) -> None:
        self.engine = engine
        self.schema = schema if schema is not None else builtin_schema(attributes=attributes)
        self.binding = AppealBinding(engine.dialect.name)
        self._compiled: dict[str, CompiledRule] = {}

    # --- Compiling --------------------------------------------------------------------------

    def _rule(self, text: str) -> CompiledRule:
        found = self._compiled.get(text)
        if found is None:
            found = self._compiled[text] = compile_rule(text, schema=self.schema, file="<filter>")
        return found

    def _where(
        self, flt: SavedFilter | str, tab: str | None, scope: ReadScope | None = None
    ) -> tuple[ColumnElement[bool], sa.FromClause]:
        texts = [flt] if isinstance(flt, str) else [flt.rule]
        if tab is not None:
            assert isinstance(flt, SavedFilter), "tabs belong to saved filters"
            texts.append(flt.tab(tab).rule)
        rules = [self._rule(t) for t in texts]
        where = sa.and_(*(rule_to_sql(r, self.binding) for r in rules), *visible(scope))
        source = self.binding.joins(p for r in rules for p in r.paths)
        return where, source

    def sql(
        self, flt: SavedFilter | str, *, tab: str | None = None, scope: ReadScope | None = None
    ) -> sa.Select[Any]:
        """The SELECT of the appeals the filter (and tab) matches, unordered; with ``scope``
        only those its reader may see (see :func:`crmcms.engine.obstacles.read_scope`)."""
        where, source = self._where(flt, tab, scope)
        return sa.select(appeal).select_from(source).where(where)

    # --- Running ----------------------------------------------------------------------------

    def page(
        self,
        flt: SavedFilter | str,
        *,
        tab: str | None = None,
        after: PageKey | None = None,
        limit: int = 50,
        order: Order | str = Order.NEWEST,
        scope: ReadScope | None = None,
    ) -> Page[Appeal]:
        """``limit`` appeals after ``after`` in ``order`` (an :class:`Order` or its value, as
        a request names it); pass ``page.next`` for the next. With ``scope``, only the
        appeals its reader may see."""
        order = _order(order)
        if limit < 1:
            raise ValidationError([Problem("limit", f"must be at least 1, not {limit}")])
        where, source = self._where(flt, tab, scope)
        query = sa.select(appeal).select_from(source).where(where)
        t = appeal.c
        if order is Order.NEWEST:
            if after is not None:
                query = query.where(t.id < after.id)
            newest: ColumnElement[Any] = t.id
            if self._few(flt, tab, where, source):
                # Few matches: read them through the attribute's index and sort them. Walking
                # the primary key backwards, which the planner prefers, passes over most of
                # the table when the matches are old (a date attribute follows the id order).
                newest = t.id + 0
            query = query.order_by(newest.desc())
        else:
            if after is not None:
                query = query.where(_after_deadline(after))
            query = query.order_by(t.deadline.is_(None), t.deadline, t.id)
        with self.engine.connect() as conn:
            items = tuple(map(appeal_from_row, conn.execute(query.limit(limit + 1))))
        more = len(items) > limit
        items = items[:limit]
        last = items[-1] if more and items else None
        following = None if last is None else PageKey(last.id, to_utc(last.deadline))
        return Page(items, following)

    def _few(
        self,
        flt: SavedFilter | str,
        tab: str | None,
        where: ColumnElement[bool],
        source: sa.FromClause,
    ) -> bool:
        """Whether the planner expects few matches of a filter on attributes (PostgreSQL)."""
        if self.engine.dialect.name != "postgresql":
            return False
        texts = [flt if isinstance(flt, str) else flt.rule]
        if tab is not None and isinstance(flt, SavedFilter):
            texts.append(flt.tab(tab).rule)
        if not any("Appeal.Attribute" in p for t in texts for p in self._rule(t).paths):
            return False
        probe: sa.Select[Any] = sa.select(sa.literal_column("1")).select_from(source).where(where)
        with self.engine.connect() as conn:
            compiled = probe.compile(dialect=conn.dialect)
            # The estimate comes from the expression index's statistics: no rows are read.
            plan = conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.construct_params()
            ).scalar_one()
        document = plan if isinstance(plan, list) else json.loads(plan)
        return float(document[0]["Plan"]["Plan Rows"]) < FEW

    def count(
        self, flt: SavedFilter | str, *, tab: str | None = None, scope: ReadScope | None = None
    ) -> int:
        where, source = self._where(flt, tab, scope)
        query = sa.select(sa.func.count()).select_from(source).where(where)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def counts(self, flt: SavedFilter, *, scope: ReadScope | None = None) -> dict[str, int]:
        """The count of every tab (and ``""`` for the whole filter), as the tab headers show."""
        out = {"": self.count(flt, scope=scope)}
        for tab in flt.tabs:
            out[tab.code] = self.count(flt, tab=tab.code, scope=scope)
        return out

    # --- Storing ----------------------------------------------------------------------------

    def save(self, flt: SavedFilter) -> None:
        """Store ``flt`` under its code (replacing one saved before); its rules are checked."""
        for text in (flt.rule, *(t.rule for t in flt.tabs)):
            self._rule(text)
        document = {
            "rule": flt.rule,
            "tabs": [{"code": t.code, "name": t.name, "rule": t.rule} for t in flt.tabs],
        }
        row = {
            "code": flt.code,
            "name": flt.name,
            "owner": flt.owner,
            "document": document,
            "saved_at": datetime.now(UTC),
        }
        with self.engine.begin() as conn:
            conn.execute(sa.delete(saved_filter).where(saved_filter.c.code == flt.code))
            conn.execute(sa.insert(saved_filter).values(row))

    def load(self, code: str) -> SavedFilter:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(saved_filter).where(saved_filter.c.code == code)).first()
        if row is None:
            raise NotFoundError("saved filter", code)
        return _from_row(row)

    def saved(self, owner: str | None = None) -> list[SavedFilter]:
        """Saved filters by code; only ``owner``'s and shared ones if ``owner`` is given."""
        query = sa.select(saved_filter).order_by(saved_filter.c.code)
        if owner is not None:
            query = query.where(
                sa.or_(saved_filter.c.owner == owner, saved_filter.c.owner.is_(None))
            )
        with self.engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(query)]

    def delete(self, code: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(saved_filter).where(saved_filter.c.code == code))


def _after_deadline(key: PageKey) -> ColumnElement[bool]:
    t = appeal.c
    if key.deadline is None:
        return sa.and_(t.deadline.is_(None), t.id > key.id)
    at = to_utc(key.deadline)
    return sa.or_(
        t.deadline > at,
        sa.and_(t.deadline == at, t.id > key.id),
        t.deadline.is_(None),
    )


def _from_row(row: Any) -> SavedFilter:
    m = row._mapping
    doc = m["document"]
    return SavedFilter(
        m["code"],
        m["name"],
        doc["rule"],
        tuple(FilterTab(t["code"], t["name"], t["rule"]) for t in doc["tabs"]),
        m["owner"],
    )
