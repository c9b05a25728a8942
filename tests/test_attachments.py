"""Attaching files to appeals: streamed, limited, checked, permitted, kept once, cleaned up."""

from __future__ import annotations

import hashlib
import io
import pathlib
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.test_engine_permissions import DEFINITIONS, MONDAY, register

from crmcms import Client, Engine, Principal
from crmcms.dsl import load_catalog_text
from crmcms.engine.file_store import FileTooLarge
from crmcms.errors import (
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    WorkflowError,
)
from crmcms.model import SYSTEM, HistoryKind
from crmcms.model.files import format_size, parse_size, safe_file_name
from crmcms.plugins import make_plugin_manager
from crmcms.storage.files import DirectoryFileStore
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

LIMITED = (
    DEFINITIONS.replace(
        'topic BILL "Billing question"', 'topic BILL "Billing question" {\n    attachments: 64KB\n}'
    )
    + 'queue DONE "Done" {\n    members: ann\n    processes: done\n}\n'
)
PDF = b"%PDF-1.7\n" + b"x" * 1000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def make_engine(url: str | None, files: pathlib.Path) -> tuple[Engine, ManualClock]:
    clock = ManualClock(MONDAY)
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    factory = MemoryStore().unit_of_work if url is None else SqlStore(url).unit_of_work
    engine = Engine(
        load_catalog_text(LIMITED),
        factory,
        plugins=plugins,
        clock=clock,
        file_store=DirectoryFileStore(files),
    )
    return engine, clock


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> tuple[Engine, ManualClock, dict[str, Principal]]:
    url: str | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crmcms.sqlite'}"
    elif request.param == "postgresql":
        url = str(request.getfixturevalue("postgres_url"))
    engine, clock = make_engine(url, tmp_path / "files")
    logins = ("ann", "bob", "lead", "mia", "desk")
    return engine, clock, {login: engine.trusted(login) for login in logins}


def test_a_file_is_attached_listed_read_back_and_recorded(world: tuple) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])
    made = engine.attach(appeal.id, who["ann"], "Скан договора.pdf", io.BytesIO(PDF))
    assert (made.file_name, made.media_type, made.size) == (
        "Скан договора.pdf",
        "application/pdf",
        len(PDF),
    )
    assert made.sha256 == hashlib.sha256(PDF).hexdigest()
    assert made.added_by == "ann"
    assert engine.attachments(appeal.id, operator=who["ann"]) == [made]
    found, stream = engine.open_attachment(made.id, operator=who["ann"])
    with stream:
        assert (found, stream.read()) == (made, PDF)
    last = engine.history(appeal.id, operator=who["ann"])[-1]
    assert last.kind is HistoryKind.ATTACHED
    assert [(c.field, c.new) for c in last.changes] == [("attachment", "Скан договора.pdf")]


def test_the_same_content_attached_twice_is_stored_once(
    world: tuple, tmp_path: pathlib.Path
) -> None:
    engine, _, who = world
    first, second = register(engine, who["ann"]), register(engine, who["ann"])
    a = engine.attach(first.id, who["ann"], "a.pdf", io.BytesIO(PDF))
    b = engine.attach(second.id, who["ann"], "b.pdf", [PDF[:10], PDF[10:]])
    assert a.sha256 == b.sha256
    assert len(list((tmp_path / "files" / "objects").glob("??/*"))) == 1


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("..", "file"),
        ("report\x00.pdf", "report_.pdf"),
        ("CON.txt", "_CON.txt"),
        ("  .hidden ", "hidden"),
    ],
)
def test_a_name_is_made_safe(world: tuple, name: str, kept: str) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])
    made = engine.attach(appeal.id, who["ann"], name, [b"plain text"], media_type="text/plain")
    assert made.file_name == kept


@pytest.mark.parametrize(
    ("name", "content", "declared", "message"),
    [
        ("photo.png", PDF, None, "the content is application/pdf, not image/png"),
        ("scan.pdf", b"just text", None, "does not begin as application/pdf does"),
        ("notes.txt", b"MZ\x90\x00" + b"\x00" * 60, None, "is a program"),
        ("x.bin", PNG, "no-slash", "is not a media type"),
    ],
)
def test_a_declared_type_the_content_contradicts_is_refused_and_nothing_is_kept(
    world: tuple,
    tmp_path: pathlib.Path,
    name: str,
    content: bytes,
    declared: str | None,
    message: str,
) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])
    with pytest.raises(ValidationError, match=message) as refused:
        engine.attach(appeal.id, who["ann"], name, io.BytesIO(content), media_type=declared)
    assert [p.code for p in refused.value.problems] == ["media_type"]
    assert engine.attachments(appeal.id, operator=who["ann"]) == []
    assert not list((tmp_path / "files").glob("objects/??/*"))


def big(total: int, chunk: int = 1 << 16) -> Iterator[bytes]:
    """``total`` bytes of a PDF-looking stream, made as it is read."""
    yield b"%PDF-1.7\n"
    block = b"\x00" * chunk
    sent = 9
    while sent < total:
        part = block[: min(chunk, total - sent)]
        sent += len(part)
        yield part


def test_a_file_over_the_topic_limit_is_refused_without_being_read_whole(
    world: tuple, tmp_path: pathlib.Path
) -> None:
    engine, _, who = world
    appeal = register(engine, who["bob"], "BILL")  # attachments: 64KB; in bob's queue
    read = 0

    def counted() -> Iterator[bytes]:
        nonlocal read
        for chunk in big(100 * 1000**2):
            read += len(chunk)
            yield chunk

    with pytest.raises(FileTooLarge, match="larger than the 64KB allowed"):
        engine.attach(appeal.id, who["bob"], "huge.pdf", counted())
    assert read < 64_000 + 2 * (1 << 16)  # it stopped at the limit, not at 100 MB
    assert engine.attachments(appeal.id, operator=who["bob"]) == []
    assert not list((tmp_path / "files").glob("objects/??/*"))
    assert not list((tmp_path / "files").glob("tmp/*"))


def test_a_large_upload_streams_in_flat_memory(world: tuple) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])  # the engine's limit: 25 MB
    tracemalloc.start()
    try:
        made = engine.attach(appeal.id, who["ann"], "big.pdf", big(20 * 1000**2))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert made.size == 20 * 1000**2
    assert peak < 5 * 1000**2, f"peak {peak} bytes for a 20 MB upload"
    with pytest.raises(FileTooLarge, match="25MB"):
        engine.attach(appeal.id, who["ann"], "bigger.pdf", big(26 * 1000**2))


def test_who_may_attach_read_and_remove(world: tuple) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])  # in LINE: ann, lead, mia; bob and desk elsewhere
    with pytest.raises(NotFoundError):  # another queue's appeal is as missing as none
        engine.attach(appeal.id, who["bob"], "a.pdf", [PDF])
    with pytest.raises(PermissionDeniedError, match="handle"):
        engine.attach(appeal.id, who["mia"], "a.pdf", [PDF])  # a manager reads, not handles
    made = engine.attach(appeal.id, who["ann"], "a.pdf", [PDF])
    assert engine.attachments(appeal.id, operator=who["mia"]) == [made]
    with pytest.raises(NotFoundError):
        engine.open_attachment(made.id, operator=who["bob"])
    with pytest.raises(NotFoundError):
        engine.attachments(appeal.id, operator=who["bob"])
    other = engine.attach(appeal.id, who["lead"], "b.pdf", [PDF + b"2"])
    with pytest.raises(PermissionDeniedError, match="manage_attachments"):
        engine.remove_attachment(other.id, who["ann"])  # not hers
    assert engine.remove_attachment(made.id, who["ann"]) == made  # her own
    assert engine.remove_attachment(other.id, who["lead"]) == other
    assert engine.attachments(appeal.id, operator=who["ann"]) == []
    kinds = [e.kind for e in engine.history(appeal.id, operator=who["ann"])]
    assert kinds[-4:] == [HistoryKind.ATTACHED] * 2 + [HistoryKind.DETACHED] * 2
    with pytest.raises(NotFoundError):
        engine.remove_attachment(made.id, who["lead"])


def test_a_queue_administrator_removes_anyones_attachment(world: tuple) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])
    made = engine.attach(appeal.id, who["ann"], "a.pdf", [PDF])
    assert engine.remove_attachment(made.id, who["lead"]) == made  # lead administers LINE


def test_a_closed_appeal_takes_no_attachments(world: tuple) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])
    engine.close(appeal.id, who["ann"])
    with pytest.raises(WorkflowError, match="closed"):
        engine.attach(appeal.id, who["ann"], "a.pdf", [PDF])


def test_unknown_appeals_and_attachments_are_not_found(world: tuple) -> None:
    engine, _, who = world
    with pytest.raises(NotFoundError, match="appeal"):
        engine.attach(999, who["ann"], "a.pdf", [PDF])
    with pytest.raises(NotFoundError, match="attachment"):
        engine.open_attachment(999, operator=who["ann"])


def test_collecting_files_keeps_what_is_attached_and_what_is_recent(
    world: tuple, tmp_path: pathlib.Path
) -> None:
    engine, _, who = world
    appeal = register(engine, who["ann"])
    kept = engine.attach(appeal.id, who["ann"], "a.pdf", [PDF])
    gone = engine.attach(appeal.id, who["ann"], "b.pdf", [PDF + b"b"])
    engine.remove_attachment(gone.id, who["ann"])
    assert engine.collect_files(operator=SYSTEM) == []  # both just stored: too recent
    with pytest.raises(PermissionDeniedError, match="administer"):
        engine.collect_files(grace=timedelta(0), operator=who["lead"])
    assert engine.collect_files(grace=timedelta(0), operator=SYSTEM) == [gone.sha256]
    names = {p.name for p in (tmp_path / "files").glob("objects/??/*")}
    assert names == {kept.sha256}
    with pytest.raises(NotFoundError):
        engine.open_attachment(gone.id, operator=who["ann"])


def test_an_engine_without_a_file_store_refuses_to_attach(tmp_path: pathlib.Path) -> None:
    engine, _ = make_engine(None, tmp_path)
    engine.file_store = None
    appeal = register(engine, engine.trusted("ann"))
    with pytest.raises(ConfigurationError, match="no file store"):
        engine.attach(appeal.id, engine.trusted("ann"), "a.pdf", [PDF])


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@given(names)
def test_a_safe_name_is_a_plain_name_and_a_fixed_point(name: str) -> None:
    safe = safe_file_name(name)
    assert safe
    assert safe not in (".", "..")
    assert not set(safe) & set('/\\\x00<>:"|?*')
    assert not any(ord(c) < 32 for c in safe)
    assert len(safe.encode("utf-8")) <= 255
    assert safe == safe.strip(" .")
    assert safe_file_name(safe) == safe


@given(st.integers(0, 10**12))
def test_a_size_reads_back_as_written(size: int) -> None:
    assert parse_size(format_size(size)) == size


def test_sizes_are_written_in_decimal_units() -> None:
    assert [parse_size(t) for t in ("500", "64KB", "10MB", "1GB", "3 mb")] == [
        500,
        64_000,
        10_000_000,
        1_000_000_000,
        3_000_000,
    ]
    with pytest.raises(ValueError, match="not a size"):
        parse_size("ten megabytes")


def test_a_plugin_s_file_store_serves_an_engine_made_without_one(tmp_path: pathlib.Path) -> None:
    from examples.plugins.database_files import DatabaseFiles

    files = DatabaseFiles(f"sqlite:///{tmp_path / 'files.sqlite'}")
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS")])
    plugins = make_plugin_manager([billing, files], load_entry_points=False)
    engine = Engine(
        load_catalog_text(LIMITED), MemoryStore().unit_of_work, plugins=plugins, trust_logins=True
    )
    assert engine.file_store is files
    appeal = register(engine, engine.trusted("ann"))
    content = b"%PDF-1.7\n" + bytes(range(256)) * 10_000  # three chunks of the store's
    made = engine.attach(appeal.id, "ann", "big.pdf", io.BytesIO(content))
    again = engine.attach(appeal.id, "ann", "same.pdf", [content[:5], content[5:]])
    assert made.sha256 == again.sha256 == hashlib.sha256(content).hexdigest()
    _, stream = engine.open_attachment(made.id, operator="ann")
    with stream:
        assert stream.read(10) + stream.read() == content
    with pytest.raises(FileTooLarge):
        engine.attach(register(engine, "bob", "BILL").id, "bob", "x.pdf", big(200_000))
    engine.remove_attachment(made.id, "ann")
    engine.remove_attachment(again.id, "ann")
    assert engine.collect_files(grace=timedelta(0)) == [made.sha256]
    with pytest.raises(NotFoundError):
        files.open(made.sha256)
