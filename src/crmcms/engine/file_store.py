"""Where attached files' bytes live: the port, and reading an upload into one in chunks.

A file store keeps contents by the SHA-256 of their bytes, so the same file attached to a
thousand appeals is stored once. Uploads are read chunk by chunk, hashed as they come and
refused as soon as they pass the size allowed: a file over the limit is never read whole,
and nothing of it is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import BinaryIO, Protocol

from crmcms.errors import Problem, ValidationError
from crmcms.model.files import SIGNATURE_BYTES, StoredFile, format_size

__all__ = ["CHUNK", "FileStore", "FileTooLarge", "Upload", "chunks_of"]

CHUNK = 64 * 1024
"""Bytes read from an upload at a time."""


class FileTooLarge(ValidationError):
    """An upload passed the size allowed; it was not stored."""

    def __init__(self, limit: int, field: str = "file") -> None:
        self.limit = limit
        super().__init__(
            [Problem(field, f"is larger than the {format_size(limit)} allowed")],
            subject="attachment",
        )


class Upload:
    """The bytes of one upload as a store reads them: each chunk hashed and counted, the
    limit held to, and the first bytes shown to ``inspect`` (which may refuse the content
    by raising) before any byte is handed on.

    Iterate it for the chunks; once done, :attr:`stored` says what was read.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        limit: int,
        inspect: Callable[[bytes], None] | None = None,
    ) -> None:
        self._chunks = chunks
        self.limit = limit
        self._inspect = inspect
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        held: list[bytes] = []  # the first chunks, until the head was looked at
        looked = self._inspect is None
        for chunk in self._chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.limit:
                raise FileTooLarge(self.limit)
            self._hash.update(chunk)
            if looked:
                yield chunk
                continue
            self.head = (self.head + chunk)[:SIGNATURE_BYTES]
            held.append(chunk)
            if len(self.head) >= SIGNATURE_BYTES:
                looked = self._look()
                yield from held
                held = []
        if not looked:
            self._look()
            yield from held
        self.done = True

    def _look(self) -> bool:
        if self._inspect is not None:
            self._inspect(self.head)
        return True

    @property
    def stored(self) -> StoredFile:
        """The content's address and size, once every chunk was read."""
        if not self.done:
            raise RuntimeError("the upload was not read to its end")
        return StoredFile(self._hash.hexdigest(), self.size)


def chunks_of(stream: BinaryIO | Iterable[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """A binary file's bytes (or an iterable of byte strings) in chunks of at most ``size``."""
    read = getattr(stream, "read", None)
    if read is None:
        yield from stream
        return
    while chunk := read(size):
        yield chunk


class FileStore(Protocol):
    """Contents by SHA-256. Implementations: ``crmcms.storage.files.DirectoryFileStore``
    (the default), ``crmcms.storage.files.MemoryFileStore`` (tests), and plugins'."""

    def put(self, upload: Upload) -> StoredFile:
        """Read ``upload`` to its end and keep its bytes under their SHA-256 (once: the
        same content again is a no-op that marks it as just used). A
        :class:`FileTooLarge` raised while reading leaves nothing behind."""

    def open(self, sha256: str) -> BinaryIO:
        """The content, as a binary file to read and close; unknown raises NotFoundError."""

    def delete(self, sha256: str) -> None:
        """Forget the content (nothing if unknown)."""

    def contents(self, older_than: datetime) -> list[str]:
        """Contents stored or last used before ``older_than``: what a clean-up may look at
        (newer ones may belong to an attachment not yet committed)."""
