"""A file store in a database: attachments for hosts without a shared file system.

Several application servers behind one load balancer each see their own disk; a database
they all reach holds the files instead. Contents are rows of 1 MB chunks, so neither an
upload nor a download is ever held whole. Register it like any plugin, and every engine
made without a file store uses it::

    pm.register(DatabaseFiles("postgresql+psycopg://crm@db/crm"))
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import sqlalchemy as sa

from crmcms import hookimpl
from crmcms.engine.file_store import Upload
from crmcms.errors import NotFoundError
from crmcms.model.files import StoredFile

__all__ = ["DatabaseFiles"]

_CHUNK = 1 << 20

metadata = sa.MetaData()
content = sa.Table(
    "example_file_content",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
)
chunk = sa.Table(
    "example_file_chunk",
    metadata,
    sa.Column("upload", sa.String(36), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)


class DatabaseFiles:
    """A ``FileStore`` (see ``crmcms.engine.file_store``) in two tables of its own."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        metadata.create_all(self.engine)

    @hookimpl
    def crmcms_file_store(self) -> DatabaseFiles:
        return self

    def put(self, upload: Upload) -> StoredFile:
        # Chunks go in under a temporary key as they come, each in its own short transaction;
        # once the hash is known they are renamed to it, or dropped if it is stored already.
        key = str(uuid.uuid4())
        try:
            buffer, part = bytearray(), 0
            for piece in upload:
                buffer += piece
                while len(buffer) >= _CHUNK:
                    self._write(key, part, bytes(buffer[:_CHUNK]))
                    del buffer[:_CHUNK]
                    part += 1
            if buffer:
                self._write(key, part, bytes(buffer))
            stored = upload.stored
            with self.engine.begin() as conn:
                known = conn.execute(
                    sa.update(content)
                    .where(content.c.sha256 == stored.sha256)
                    .values(used_at=datetime.now(UTC))
                ).rowcount
                if not known:
                    conn.execute(
                        sa.update(chunk).where(chunk.c.upload == key).values(upload=stored.sha256)
                    )
                    conn.execute(
                        sa.insert(content).values(
                            sha256=stored.sha256, size=stored.size, used_at=datetime.now(UTC)
                        )
                    )
            return stored
        finally:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(chunk).where(chunk.c.upload == key))

    def _write(self, key: str, part: int, data: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.insert(chunk).values(upload=key, part=part, data=data))

    def open(self, sha256: str) -> BinaryIO:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(content.c.size).where(content.c.sha256 == sha256))
            if found.first() is None:
                raise NotFoundError("stored file", sha256)
        return io.BufferedReader(_ChunkReader(self.engine, sha256))

    def delete(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(chunk).where(chunk.c.upload == sha256))
            conn.execute(sa.delete(content).where(content.c.sha256 == sha256))

    def contents(self, older_than: datetime) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(content.c.sha256)
                .where(content.c.used_at < older_than)
                .order_by(content.c.sha256)
            )
            return [str(r[0]) for r in rows]


class _ChunkReader(io.RawIOBase):
    """A content's chunks read one at a time, as a raw binary stream."""

    def __init__(self, engine: sa.Engine, sha256: str) -> None:
        self._parts = self._chunks(engine, sha256)
        self._pending = b""

    @staticmethod
    def _chunks(engine: sa.Engine, sha256: str) -> Iterator[bytes]:
        part = 0
        while True:
            with engine.connect() as conn:
                data = conn.execute(
                    sa.select(chunk.c.data).where(chunk.c.upload == sha256, chunk.c.part == part)
                ).scalar()
            if data is None:
                return
            yield bytes(data)
            part += 1

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = next(self._parts, b"")
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
