"""`crmcms notes`: an administrator reads the notes on a client and a note's history."""

from __future__ import annotations

import pathlib

from click.testing import CliRunner
from tests.test_attachments_cli import run
from tests.test_engine_permissions import DEFINITIONS

from crmcms import Client, Engine
from crmcms.entrypoints.cli import cli
from crmcms.model import NoteSubject, NoteVisibility
from crmcms.plugins import make_plugin_manager
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling


def test_notes_and_their_history_at_the_console(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.sqlite"
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "all.crm").write_text(DEFINITIONS, encoding="utf-8")
    run("db", "publish", "--url", url, "--definitions", str(defs))
    store = SqlStore(url)
    plugins = make_plugin_manager([FakeBilling([Client(1, "Ромашка")])], load_entry_points=False)
    engine = Engine(DefinitionStore(store.engine).load(), store.unit_of_work, plugins=plugins)
    ann = engine.trusted("ann")
    note = engine.add_note(ann, NoteSubject.CLIENT, 1, "Только почтой", pinned=True)
    engine.add_note(ann, NoteSubject.CLIENT, 1, "Личное", visibility=NoteVisibility.PRIVATE)
    engine.edit_note(note.id, ann, text="Только почтой, не звонить")
    store.dispose()

    def wide(*args: str) -> str:  # a terminal wide enough for the tables' rows
        result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    listed = wide("notes", "list", "--db", url, "client", "1")
    assert "Только почтой, не звонить" in listed
    assert "Личное" in listed  # the system reads every note
    shown = wide("notes", "history", "--db", url, str(note.id))
    assert "Только почтой" in shown
    assert "не звонить" in shown
