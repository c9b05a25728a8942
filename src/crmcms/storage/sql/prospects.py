"""Prospects in SQL: staged in the unit of work, written with its commit, versions checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import Prospect, ProspectStatus
from crmcms.storage.schema import prospect
from crmcms.storage.sql.codec import to_utc

if TYPE_CHECKING:
    from crmcms.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlProspects"]

_PLAIN = (
    "id",
    "name",
    "phone",
    "email",
    "region",
    "category",
    "client_id",
    "registered_by",
    "conversion_id",
    "conversion_error",
    "version",
)


def _prospect(row: Any) -> Prospect:
    m = row._mapping
    return Prospect(
        registered_at=to_utc(m["registered_at"]),
        exported_at=to_utc(m["exported_at"]),
        **{name: m[name] for name in _PLAIN},
    )


def _row(item: Prospect) -> dict[str, Any]:
    row = {name: getattr(item, name) for name in _PLAIN}
    row["registered_at"] = to_utc(item.registered_at)
    row["exported_at"] = to_utc(item.exported_at)
    return row


def _status(status: ProspectStatus) -> sa.ColumnElement[bool]:
    if status is ProspectStatus.CONVERTED:
        return prospect.c.client_id.is_not(None)
    converting = prospect.c.conversion_id.is_not(None)
    if status is ProspectStatus.CONVERTING:
        return sa.and_(prospect.c.client_id.is_(None), converting)
    return sa.and_(prospect.c.client_id.is_(None), sa.not_(converting))


class SqlProspects:
    """The prospects repository of one :class:`SqlUnitOfWork`."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[int, Prospect] = {}
        self.base: dict[int, int] = {}
        """The stored version each prospect changed here had (0: a new one)."""

    def __bool__(self) -> bool:
        return bool(self.staged)

    def next_id(self) -> int:
        return self._uow.store.ids.next_id("prospect")

    def add(self, item: Prospect) -> None:
        if item.id in self.staged:
            raise StorageError(f"prospect {item.id} is already stored")
        self.staged[item.id] = attrs.evolve(item)
        self.base[item.id] = 0

    def get(self, prospect_id: int) -> Prospect:
        if prospect_id in self.staged:
            return attrs.evolve(self.staged[prospect_id])
        query = sa.select(prospect).where(prospect.c.id == prospect_id)
        rows = list(self._uow.connection().execute(query))
        if not rows:
            raise NotFoundError("prospect", prospect_id)
        return _prospect(rows[0])

    def update(self, item: Prospect) -> None:
        current = self.get(item.id).version
        if current != item.version - 1:
            raise ConcurrencyError("prospect", item.id, item.version - 1, current)
        self.base.setdefault(item.id, current)
        self.staged[item.id] = attrs.evolve(item)

    def find(self, *, status: ProspectStatus | None = None, limit: int = 100) -> list[Prospect]:
        query = sa.select(prospect).order_by(prospect.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(_status(status))
        found = {p.id: p for p in map(_prospect, self._uow.connection().execute(query))}
        for staged in self.staged.values():
            if status is None or staged.status is status:
                found[staged.id] = attrs.evolve(staged)
            else:
                found.pop(staged.id, None)
        return sorted(found.values(), key=lambda p: -p.id)[:limit]

    def write(self, conn: sa.Connection) -> None:
        """Inside the commit: a prospect changed meanwhile by another unit refuses it."""
        new = [p for k, p in self.staged.items() if self.base[k] == 0]
        if new:
            conn.execute(sa.insert(prospect), [_row(p) for p in new])
        for key, item in self.staged.items():
            base = self.base[key]
            if base == 0:
                continue
            changed = conn.execute(
                sa.update(prospect)
                .where(prospect.c.id == key, prospect.c.version == base)
                .values(**_row(item))
            )
            if changed.rowcount != 1:
                raise ConcurrencyError("prospect", key, base, None)
        self.staged, self.base = {}, {}
