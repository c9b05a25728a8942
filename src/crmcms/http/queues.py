"""Queue views and saved filters, a page at a time behind an opaque cursor.

A page holds at most :data:`~crmcms.http.cursor.MAX_PAGE` appeals; the total is counted only
when ``total=true`` asks for it (a count reads every match, a page only its rows). Every
list is bounded by what the reader may see.
"""

from __future__ import annotations

from typing import Annotated, Literal

import sqlalchemy as sa
from litestar import Controller, get
from litestar.params import FromQuery, Parameter

from crmcms.engine.obstacles import require
from crmcms.errors import NotFoundError
from crmcms.http.cursor import MAX_PAGE, page_size
from crmcms.http.replies import PROBLEMS, SESSION
from crmcms.http.schemas import AppealPage, FilterTabView, FilterView, QueueView
from crmcms.http.services import Acting, Needs
from crmcms.http.views import summary_view
from crmcms.model import Permission
from crmcms.storage.schema import OPEN, appeal
from crmcms.storage.sql import SavedFilter
from crmcms.storage.sql.scope import visible

__all__ = ["FiltersController", "QueuesController"]

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Appeals per page")]
Cursor = Annotated[
    str | None,
    Parameter(max_length=1000, description="next_cursor of the page before; none: the first"),
]
Total = Annotated[bool, Parameter(description="Count every match as well (slower)")]
Code = Annotated[str, Parameter(min_length=1, max_length=200)]


def _filter_view(flt: SavedFilter) -> FilterView:
    tabs = [FilterTabView(t.code, t.name, t.rule) for t in flt.tabs]
    return FilterView(flt.code, flt.name, flt.rule, tabs, flt.owner)


class QueuesController(Controller):
    path = "/queues"
    tags = ["queues"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @get("/", responses=PROBLEMS, sync_to_thread=True, summary="The queues of the definitions")
    def queues(self, principal: Acting, services: Needs) -> list[QueueView]:
        return [QueueView(q.code, q.name) for q in services.engine.catalog.queues]

    @get(
        "/{code:str}/appeals",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Open appeals waiting in the queue, earliest deadline first",
    )
    def page(
        self,
        code: Code,
        principal: Acting,
        services: Needs,
        limit: Limit = 50,
        cursor: Cursor = None,
        total: Total = False,
    ) -> AppealPage:
        engine = services.engine
        engine.catalog.queue(code)
        require(principal, Permission.READ, f"read queue {code}")
        context = f"queue {code}"
        after = None if cursor is None else services.cursors.decode(cursor, context)
        scope = engine.read_scope(principal)
        found = services.reads.queue_page(code, after=after, limit=page_size(limit), scope=scope)
        count = None
        if total:
            t = appeal.c
            query = sa.select(sa.func.count()).where(
                t.queue == code, t.state == OPEN, *visible(scope)
            )
            with services.store.engine.connect() as conn:
                count = int(conn.execute(query).scalar_one())
        following = None if found.next is None else services.cursors.encode(found.next, context)
        return AppealPage([summary_view(a) for a in found.items], following, count)


class FiltersController(Controller):
    path = "/filters"
    tags = ["filters"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    def _load(self, services: Needs, principal: Acting, code: str) -> SavedFilter:
        flt = services.filters.load(code)
        if flt.owner is not None and flt.owner != principal.login:
            raise NotFoundError("saved filter", code)
        return flt

    @get("/", responses=PROBLEMS, sync_to_thread=True, summary="The operator's and shared filters")
    def filters(self, principal: Acting, services: Needs) -> list[FilterView]:
        return [_filter_view(f) for f in services.filters.saved(principal.login)]

    @get("/{code:str}", responses=PROBLEMS, sync_to_thread=True, summary="A saved filter")
    def read(self, code: Code, principal: Acting, services: Needs) -> FilterView:
        return _filter_view(self._load(services, principal, code))

    @get(
        "/{code:str}/appeals",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="The appeals a saved filter (and tab) matches, a page at a time",
    )
    def page(
        self,
        code: Code,
        principal: Acting,
        services: Needs,
        tab: Annotated[str | None, Parameter(max_length=200)] = None,
        order: FromQuery[Literal["newest", "deadline"]] = "newest",
        limit: Limit = 50,
        cursor: Cursor = None,
        total: Total = False,
    ) -> AppealPage:
        flt = self._load(services, principal, code)
        if tab is not None:
            flt.tab(tab)
        require(principal, Permission.READ, f"run filter {code}")
        context = f"filter {code} {tab or ''} {order}"
        after = None if cursor is None else services.cursors.decode(cursor, context)
        scope = services.engine.read_scope(principal)
        filters = services.filters
        found = filters.page(
            flt, tab=tab, after=after, limit=page_size(limit), order=order, scope=scope
        )
        count = filters.count(flt, tab=tab, scope=scope) if total else None
        following = None if found.next is None else services.cursors.encode(found.next, context)
        return AppealPage([summary_view(a) for a in found.items], following, count)
