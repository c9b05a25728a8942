"""Attachment records in SQL: staged in the unit of work, written with its commit."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import Attachment
from crmcms.storage.schema import attachment
from crmcms.storage.sql.codec import to_utc

if TYPE_CHECKING:
    from crmcms.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlAttachments"]


def _from_row(row: Any) -> Attachment:
    m = row._mapping
    added_at = to_utc(m["added_at"])
    assert added_at is not None
    return Attachment(
        id=int(m["id"]),
        appeal_id=int(m["appeal_id"]),
        file_name=str(m["file_name"]),
        media_type=str(m["media_type"]),
        size=int(m["size"]),
        sha256=str(m["sha256"]),
        added_by=str(m["added_by"]),
        added_at=added_at,
    )


def _row(item: Attachment) -> dict[str, Any]:
    return {
        "id": item.id,
        "appeal_id": item.appeal_id,
        "file_name": item.file_name,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "added_by": item.added_by,
        "added_at": to_utc(item.added_at),
    }


class SqlAttachments:
    """The attachments repository of one :class:`SqlUnitOfWork`."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.new: dict[int, Attachment] = {}
        self.removed: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self.new or self.removed)

    def next_id(self) -> int:
        return self._uow.store.ids.next_id("attachment")

    def add(self, item: Attachment) -> None:
        if item.id in self.new:
            raise StorageError(f"attachment {item.id} is already stored")
        self.new[item.id] = attrs.evolve(item)

    def _stored(self, where: sa.ColumnElement[bool]) -> list[Attachment]:
        query = sa.select(attachment).where(where).order_by(attachment.c.id)
        return [_from_row(r) for r in self._uow.connection().execute(query)]

    def get(self, attachment_id: int) -> Attachment:
        if attachment_id in self.new:
            return attrs.evolve(self.new[attachment_id])
        found = (
            [] if attachment_id in self.removed else self._stored(attachment.c.id == attachment_id)
        )
        if not found:
            raise NotFoundError("attachment", attachment_id)
        return found[0]

    def for_appeal(self, appeal_id: int) -> list[Attachment]:
        found = {a.id: a for a in self._stored(attachment.c.appeal_id == appeal_id)}
        found.update({k: attrs.evolve(a) for k, a in self.new.items() if a.appeal_id == appeal_id})
        return [found[k] for k in sorted(found) if k not in self.removed]

    def remove(self, attachment_id: int) -> None:
        self.get(attachment_id)
        if self.new.pop(attachment_id, None) is None:
            self.removed.add(attachment_id)

    def referenced(self, sha256s: Collection[str]) -> set[str]:
        wanted = sorted(set(sha256s))
        held: set[str] = set()
        conn = self._uow.connection()
        for start in range(0, len(wanted), 500):  # bound the parameters of one statement
            part = wanted[start : start + 500]
            query = sa.select(attachment.c.sha256).where(attachment.c.sha256.in_(part)).distinct()
            held.update(str(r[0]) for r in conn.execute(query))
        return held

    def write(self, conn: sa.Connection) -> None:
        """Inside the commit: a record removed here that is gone already (removed by
        another unit of work meanwhile) refuses the commit."""
        for gone in sorted(self.removed):
            deleted = conn.execute(sa.delete(attachment).where(attachment.c.id == gone))
            if deleted.rowcount != 1:
                raise ConcurrencyError("attachment", gone, 1, None)
        if self.new:
            conn.execute(sa.insert(attachment), [_row(a) for a in self.new.values()])
        self.new, self.removed = {}, set()
