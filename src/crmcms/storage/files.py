"""File stores for attachments: a directory (the default) and memory (tests and demos).

Contents are kept by the SHA-256 of their bytes. The directory store writes an upload into a
temporary file beside its objects, flushes it to disk and renames it into place, so a
content is either whole under its name or absent, and a crash leaves only a temporary file.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from crmcms.engine.file_store import Upload
from crmcms.errors import NotFoundError
from crmcms.model.files import StoredFile

__all__ = ["DirectoryFileStore", "MemoryFileStore"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _checked(sha256: str) -> str:
    """The content address, if it is one: a path is made of it, so nothing else may pass."""
    if not _SHA256.fullmatch(sha256):
        raise NotFoundError("stored file", sha256)
    return sha256


class DirectoryFileStore:
    """Contents as files under ``root``: ``objects/ab/abcdef…`` (the SHA-256 in hex), and
    ``tmp/`` for uploads under way. The directories are made when first needed."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"

    def __repr__(self) -> str:
        return f"DirectoryFileStore({str(self.root)!r})"

    def _path(self, sha256: str) -> Path:
        return self._objects / sha256[:2] / _checked(sha256)

    def put(self, upload: Upload) -> StoredFile:
        self._tmp.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in upload:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            stored = upload.stored
            target = self._path(stored.sha256)
            if target.exists():
                # The same content again: keep the one stored, and mark it as just used so
                # that a clean-up running now leaves it for the attachment being recorded.
                os.utime(target)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target)
            return stored
        finally:
            temporary.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError:
            raise NotFoundError("stored file", sha256) from None

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def contents(self, older_than: datetime) -> list[str]:
        cut = older_than.timestamp()
        if not self._objects.is_dir():
            return []
        return sorted(
            path.name
            for path in self._objects.glob("??/*")
            if _SHA256.fullmatch(path.name) and path.stat().st_mtime < cut
        )


class MemoryFileStore:
    """Contents in memory, for tests, demos and in-memory engines."""

    def __init__(self) -> None:
        self._contents: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def put(self, upload: Upload) -> StoredFile:
        data = b"".join(upload)
        stored = upload.stored
        with self._lock:
            self._contents[stored.sha256] = (data, datetime.now().timestamp())
        return stored

    def open(self, sha256: str) -> BinaryIO:
        with self._lock:
            found = self._contents.get(sha256)
        if found is None:
            raise NotFoundError("stored file", sha256)
        return io.BytesIO(found[0])

    def delete(self, sha256: str) -> None:
        with self._lock:
            self._contents.pop(sha256, None)

    def contents(self, older_than: datetime) -> list[str]:
        cut = older_than.timestamp()
        with self._lock:
            return sorted(k for k, (_, used) in self._contents.items() if used < cut)
