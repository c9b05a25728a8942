"""The notes and attachments part of ``crmcms demo``: a pinned note meets the next call, a
scan is attached and read back, and a file that is not what it claims is refused."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crmcms.engine import AppealDraft, Engine, UnitOfWorkFactory
from crmcms.entrypoints.demo_workflow import CLIENTS
from crmcms.errors import CrmcmsError
from crmcms.model import Catalog, NoteSubject, NoteVisibility
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.files import DirectoryFileStore

__all__ = ["run_records_demo"]

SCAN = b"%PDF-1.7\n% a scanned contract\n" + bytes(range(256)) * 40


class _Directory:
    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return CLIENTS.get(client_id)


def run_records_demo(
    catalog: Catalog, out: Console, uow_factory: UnitOfWorkFactory, files: Path
) -> None:
    """Notes on client 1 and files on one of its appeals, kept under ``files``."""
    plugins = make_plugin_manager([_Directory()], load_entry_points=False)
    engine = Engine(catalog, uow_factory, plugins=plugins, file_store=DirectoryFileStore(files))
    olga, bis = engine.trusted("olga"), engine.trusted("bis")
    out.print("[bold]Notes and attachments[/bold]: what the next operator sees, what a file is")
    engine.add_note(
        bis,
        NoteSubject.CLIENT,
        1,
        "Директор отвечает только по почте, не звонить",
        pinned=True,
        visibility=NoteVisibility.ALL,
    )
    call = engine.register_contact(
        olga,
        place="CC",
        channel="PHONE",
        client_id=1,
        drafts=[AppealDraft("TERMINATION", {"166": "Переезд", "168": date(2026, 4, 1)})],
    )
    pinned = ", ".join(f"“{n.text}” ({n.author})" for n in call.pinned_notes)
    out.print(f"olga registers a call of client 1 and sees its pinned notes: {pinned}")
    appeal = call.appeals[0]
    made = engine.attach(appeal.id, olga, "../../Договор.pdf", io.BytesIO(SCAN))
    table = Table("attachment", "name kept", "type", "bytes", "stored as")
    table.add_row(str(made.id), made.file_name, made.media_type, f"{made.size:,}", made.sha256[:16])
    out.print(table)
    try:
        engine.attach(appeal.id, bis, "photo.png", io.BytesIO(SCAN))
    except CrmcmsError as refused:
        out.print(
            f"A PDF sent as photo.png: [red]refused[/red] ({type(refused).__name__}): {refused}"
        )
    _, stream = engine.open_attachment(made.id, operator=bis)
    with stream:
        same = stream.read() == SCAN
    out.print(f"Read back from {files}: {'the same bytes' if same else 'DIFFERENT bytes'}")
