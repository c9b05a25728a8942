"""A reader's bounds as a WHERE clause: what :func:`crmcms.engine.obstacles.may_read` says
of one appeal, said of a table."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from crmcms.engine.obstacles import ReadScope
from crmcms.storage.schema import appeal

__all__ = ["visible"]


def visible(scope: ReadScope | None, table: sa.Table = appeal) -> tuple[ColumnElement[bool], ...]:
    """The conditions bounding ``table``'s appeals to what ``scope``'s reader may see: none
    when it may see everything. Queue codes and the login are bound parameters."""
    if scope is None:
        return ()
    if scope.nothing:
        return (sa.false(),)
    t = table.c
    mine = sa.or_(
        t.responsible == scope.login,
        sa.and_(t.queue.is_(None), t.operator == scope.login),
    )
    if not scope.queues:
        return (mine,)
    return (sa.or_(t.queue.in_(sorted(scope.queues)), mine),)
