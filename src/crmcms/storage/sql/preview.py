"""The queries behind a route version preview: waiting appeals counted in the database by route,
version, topic, process and queue, and those lacking attributes, never loaded one by one."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import sqlalchemy as sa

from crmcms.dsl.rules.schema import STRING
from crmcms.storage.schema import OPEN, appeal
from crmcms.storage.sql.binding import attribute_expression

__all__ = ["AppealGroup", "WaitingAppeals"]


@attrs.frozen
class AppealGroup:
    """Open appeals alike in where they wait."""

    route: str
    version: int
    topic: str
    process: str
    queue: str | None
    count: int


@attrs.frozen
class WaitingAppeals:
    """Read-only queries over the open appeals of one database."""

    engine: sa.Engine

    def groups(self) -> list[AppealGroup]:
        """Open appeals counted by route, version, topic, process and queue (one GROUP BY)."""
        c = appeal.c
        keys = (c.route, c.route_version, c.topic, c.process, c.queue)
        query = (
            sa.select(*keys, sa.func.count()).where(c.state == OPEN).group_by(*keys).order_by(*keys)
        )
        with self.engine.connect() as conn:
            return [AppealGroup(*row) for row in conn.execute(query)]

    def _where(self, group: AppealGroup, lacking: Sequence[str]) -> list[sa.ColumnElement[bool]]:
        c = appeal.c
        where = [
            c.state == OPEN,
            c.route == group.route,
            c.route_version == group.version,
            c.topic == group.topic,
            c.process == group.process,
            c.queue.is_(None) if group.queue is None else c.queue == group.queue,
        ]
        if lacking:
            dialect = self.engine.dialect.name
            missing = []
            for code in lacking:
                value = attribute_expression(appeal, code, STRING, dialect)
                missing.append(sa.or_(value.is_(None), value == ""))
            where.append(sa.or_(*missing))
        return where

    def count_lacking(self, group: AppealGroup, codes: Sequence[str]) -> int:
        """How many appeals of ``group`` lack a value of any of ``codes``."""
        if not codes:
            return 0
        query = sa.select(sa.func.count()).select_from(appeal).where(*self._where(group, codes))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def ids(self, group: AppealGroup, *, lacking: Sequence[str] = (), limit: int) -> list[int]:
        """Ids of at most ``limit`` appeals of ``group`` (lacking any of ``lacking``, if given),
        oldest first."""
        if limit <= 0:
            return []
        query = (
            sa.select(appeal.c.id)
            .where(*self._where(group, lacking))
            .order_by(appeal.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [int(i) for i in conn.execute(query).scalars()]
