"""Attachment records and file stores: what every backend of each must do alike."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from crmcms.engine.file_store import FileStore, FileTooLarge, Upload
from crmcms.engine.ports import UnitOfWork
from crmcms.errors import ConcurrencyError, NotFoundError
from crmcms.model import Attachment
from crmcms.storage.files import DirectoryFileStore, MemoryFileStore
from crmcms.testing.stored import add_appeal, add_contact

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def attachment(uow: UnitOfWork, appeal_id: int, sha256: str = "a" * 64) -> Attachment:
    made = Attachment(
        id=uow.attachments.next_id(),
        appeal_id=appeal_id,
        file_name="scan.pdf",
        media_type="application/pdf",
        size=10,
        sha256=sha256,
        added_by="olga",
        added_at=T0,
    )
    uow.attachments.add(made)
    return made


def an_appeal(uow: UnitOfWork) -> int:
    return add_appeal(
        uow,
        add_contact(uow).id,
        topic="TERMINATION",
        route="TERMINATION",
        route_version=2,
        process="registration",
        queue="REGISTRATION",
    ).id


def test_an_attachment_is_stored_with_the_commit_only(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        appeal_id = an_appeal(uow)
        uow.commit()
    with uow_factory() as uow:
        made = attachment(uow, appeal_id)
        assert uow.attachments.for_appeal(appeal_id) == [made]  # its own staged record
    with uow_factory() as uow:
        assert uow.attachments.for_appeal(appeal_id) == []  # left without commit: gone
        made = attachment(uow, appeal_id)
        uow.commit()
    with uow_factory() as uow:
        assert uow.attachments.get(made.id) == made
        assert uow.attachments.for_appeal(appeal_id) == [made]
        assert uow.attachments.referenced(["a" * 64, "b" * 64]) == {"a" * 64}


def test_removal_is_staged_and_a_second_removal_meanwhile_conflicts(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        appeal_id = an_appeal(uow)
        first, second = attachment(uow, appeal_id), attachment(uow, appeal_id, "b" * 64)
        uow.commit()
    with uow_factory() as one, uow_factory() as other:
        one.attachments.remove(first.id)
        other.attachments.remove(first.id)
        with pytest.raises(NotFoundError):
            one.attachments.get(first.id)
        assert [a.id for a in other.attachments.for_appeal(appeal_id)] == [second.id]
        one.commit()
        with pytest.raises(ConcurrencyError):
            other.commit()
    with uow_factory() as uow:
        assert uow.attachments.for_appeal(appeal_id) == [second]
        assert uow.attachments.referenced(["a" * 64, "b" * 64]) == {"b" * 64}
        with pytest.raises(NotFoundError):
            uow.attachments.remove(first.id)


def test_an_unknown_attachment_is_not_found(uow_factory: Factory) -> None:
    with uow_factory() as uow, pytest.raises(NotFoundError, match="attachment"):
        uow.attachments.get(12345)


@pytest.fixture(params=["directory", "memory"])
def file_store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> FileStore:
    if request.param == "directory":
        return DirectoryFileStore(tmp_path / "files")
    return MemoryFileStore()


def chunks(total: int, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield bytes((start + i) % 251 for i in range(min(size, total - start)))


def test_a_content_is_kept_once_by_its_sha256_and_read_back(file_store: FileStore) -> None:
    data = b"".join(chunks(100_000))
    stored = file_store.put(Upload(chunks(100_000), limit=10**6))
    again = file_store.put(Upload(chunks(100_000), limit=10**6))
    assert stored == again
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    with file_store.open(stored.sha256) as read:
        assert read.read() == data
    assert file_store.contents(datetime.now(UTC) + timedelta(seconds=5)) == [stored.sha256]
    assert file_store.contents(datetime.now(UTC) - timedelta(hours=1)) == []
    file_store.delete(stored.sha256)
    with pytest.raises(NotFoundError):
        file_store.open(stored.sha256)


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    file_store: FileStore, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(FileTooLarge, match="larger than the 50KB allowed"):
        file_store.put(Upload(chunks(60_000), limit=50_000))
    assert file_store.contents(datetime.now(UTC) + timedelta(seconds=5)) == []
    if isinstance(file_store, DirectoryFileStore):
        assert list((tmp_path / "files" / "tmp").iterdir()) == []


@pytest.mark.parametrize("address", ["../../etc/passwd", "a" * 63, "A" * 64, ""])
def test_only_a_content_address_names_a_stored_file(file_store: FileStore, address: str) -> None:
    with pytest.raises(NotFoundError):
        file_store.open(address)
