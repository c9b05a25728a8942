"""Files attached to appeals: checked, streamed to the file store, recorded with history.

Attaching is three steps: the appeal, the permission and the size allowed are checked in
one transaction; the bytes are streamed to the file store outside any transaction (an
upload may take minutes, and SQLite has one writer); the record and its history event are
written in a second transaction, which checks the appeal again. A content left in the store
by an upload whose record never committed is removed by :func:`collect_files`, which only
looks at contents untouched for a while, so it never races an upload under way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO

from crmcms.engine.file_store import FileStore, Upload, chunks_of
from crmcms.engine.obstacles import require
from crmcms.errors import ConfigurationError, Problem, ValidationError, WorkflowError
from crmcms.model import Appeal, Attachment, Change, HistoryKind, Permission, Principal
from crmcms.model.files import guess_media_type, media_type_problem, safe_file_name

if TYPE_CHECKING:
    from crmcms.engine.action_runner import ActionRunner
    from crmcms.engine.transaction import Tx

__all__ = ["attach", "collect_files", "list_attachments", "open_attachment", "remove_attachment"]

_NAME_LENGTH = 400
"""Characters of a name as the record keeps it (the name on disk is the content's hash)."""


def _store(engine: ActionRunner) -> FileStore:
    store = engine.file_store
    if store is None:
        raise ConfigurationError(
            "no file store for attachments: pass Engine(file_store=...) (for instance "
            "crmcms.storage.files.DirectoryFileStore) or install a plugin that provides one"
        )
    return store


def attach(
    engine: ActionRunner,
    who: Principal | None,
    appeal_id: int,
    name: str,
    content: BinaryIO | Iterable[bytes],
    media_type: str | None,
) -> Attachment:
    """Attach ``content`` to the appeal as ``name`` (made safe); see :meth:`Engine.attach`."""
    store = _store(engine)
    file_name = safe_file_name(name)[:_NAME_LENGTH]
    declared = (media_type or guess_media_type(file_name)).strip().lower()
    if not declared or len(declared) > 200 or "/" not in declared:
        raise ValidationError(
            [Problem("media_type", f"{declared!r} is not a media type (type/subtype)")],
            subject="attachment",
        )
    login = None if who is None else who.login

    def allowed(tx: Tx) -> int:
        appeal = _attachable(tx, appeal_id, login)
        topic = tx.catalog.topic(appeal.topic)
        limit = engine.limits.attachment_size
        if topic.attachment_limit is not None:
            limit = min(limit, topic.attachment_limit)
        return limit

    limit = engine.run(allowed, principal=who)

    def inspect(head: bytes) -> None:
        problem = media_type_problem(declared, head)
        if problem is not None:
            raise ValidationError([Problem("media_type", problem)], subject="attachment")

    stored = store.put(Upload(chunks_of(content), limit, inspect))

    def record(tx: Tx) -> Attachment:
        appeal = _attachable(tx, appeal_id, login)
        made = Attachment(
            id=tx.uow.attachments.next_id(),
            appeal_id=appeal_id,
            file_name=file_name,
            media_type=declared,
            size=stored.size,
            sha256=stored.sha256,
            added_by=login or "system",
            added_at=tx.now,
        )
        tx.uow.attachments.add(made)
        change = Change("attachment", None, file_name)
        tx.event(appeal, HistoryKind.ATTACHED, (change,), login, comment=f"{stored.size} bytes")
        return made

    return engine.run(record, principal=who)


def _attachable(tx: Tx, appeal_id: int, login: str | None) -> Appeal:
    appeal = tx.visible(appeal_id)
    require(tx.actor(login), Permission.HANDLE, f"attach a file to appeal {appeal_id}")
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal_id} is closed: reopen it to attach files")
    return appeal


def list_attachments(
    engine: ActionRunner, who: Principal | None, appeal_id: int
) -> list[Attachment]:
    """The appeal's attachments, oldest first, if ``who`` may read the appeal."""

    def act(tx: Tx) -> list[Attachment]:
        tx.visible(appeal_id)
        return tx.uow.attachments.for_appeal(appeal_id)

    return engine.run(act, principal=who)


def open_attachment(
    engine: ActionRunner, who: Principal | None, attachment_id: int
) -> tuple[Attachment, BinaryIO]:
    """The attachment and its content as a binary file (the caller closes it)."""
    store = _store(engine)

    def act(tx: Tx) -> Attachment:
        found = tx.uow.attachments.get(attachment_id)
        tx.visible(found.appeal_id)  # an appeal one may not read hides its files too
        return found

    found = engine.run(act, principal=who)
    return found, store.open(found.sha256)


def remove_attachment(
    engine: ActionRunner, who: Principal | None, attachment_id: int
) -> Attachment:
    """Remove the attachment's record (with a history event); its content goes from the
    file store at the next :func:`collect_files` if nothing else holds it."""
    login = None if who is None else who.login

    def act(tx: Tx) -> Attachment:
        found = tx.uow.attachments.get(attachment_id)
        appeal = tx.visible(found.appeal_id)
        actor = tx.actor(login)
        action = f"remove attachment {attachment_id} of appeal {found.appeal_id}"
        if actor is not None and found.added_by == actor.login:
            require(actor, Permission.HANDLE, action)
        else:
            require(actor, Permission.MANAGE_ATTACHMENTS, action)
        tx.uow.attachments.remove(attachment_id)
        change = Change("attachment", found.file_name, None)
        tx.event(appeal, HistoryKind.DETACHED, (change,), login)
        return found

    return engine.run(act, principal=who)


def collect_files(
    engine: ActionRunner, who: Principal | None, grace: timedelta, now: datetime
) -> list[str]:
    """Delete from the file store every content no attachment holds that was stored or
    last used more than ``grace`` before ``now``; the contents deleted."""
    store = _store(engine)

    def allowed(tx: Tx) -> None:
        require(tx.principal, Permission.ADMINISTER, "collect unattached files")

    engine.run(allowed, principal=who)
    candidates = store.contents(now - grace)
    if not candidates:
        return []
    held = engine.run(lambda tx: tx.uow.attachments.referenced(candidates), principal=who)
    gone = [sha for sha in candidates if sha not in held]
    for sha in gone:
        store.delete(sha)
    return gone
