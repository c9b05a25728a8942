"""`crmcms attachments`: add, list, get, remove and gc from the console."""

from __future__ import annotations

import pathlib

from click.testing import CliRunner
from tests.test_attachments import LIMITED, PDF

from crmcms import AppealDraft, Client, Engine
from crmcms.entrypoints.cli import cli
from crmcms.errors import NotFoundError
from crmcms.plugins import make_plugin_manager
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_an_administrator_attaches_lists_gets_removes_and_cleans_up(
    tmp_path: pathlib.Path,
) -> None:
    url = f"sqlite:///{tmp_path}/crm.sqlite"
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "all.crm").write_text(LIMITED, encoding="utf-8")
    run("db", "publish", "--url", url, "--definitions", str(defs))
    store = SqlStore(url)
    plugins = make_plugin_manager([FakeBilling([Client(1, "Ромашка")])], load_entry_points=False)
    engine = Engine(DefinitionStore(store.engine).load(), store.unit_of_work, plugins=plugins)
    ann = engine.trusted("ann")
    made = engine.register_contact(
        ann, place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("REPAIR")]
    )
    appeal_id = made.appeals[0].id
    store.dispose()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)
    files = str(tmp_path / "files")
    common = ("--db", url, "--files", files)

    added = run("attachments", "add", *common, "--as", "ann", str(appeal_id), str(scan))
    assert f"scan.pdf ({len(PDF):,} bytes, application/pdf)" in added
    listed = run("attachments", "list", *common, str(appeal_id))
    assert "scan.pdf" in listed
    assert "ann" in listed
    out = tmp_path / "back.pdf"
    run("attachments", "get", *common, "1", "-o", str(out))
    assert out.read_bytes() == PDF

    refused = CliRunner().invoke(
        cli, ["attachments", "add", *common, "--as", "bob", str(appeal_id), str(scan)]
    )
    assert isinstance(refused.exception, NotFoundError)  # bob works in another queue

    assert "removed attachment 1 (scan.pdf)" in run(
        "attachments", "remove", *common, "--as", "ann", "1"
    )
    assert "deleted 0 unattached files" in run("attachments", "gc", *common)
    assert "deleted 1 unattached file" in run("attachments", "gc", *common, "--older-than", "0s")
    assert not list((tmp_path / "files").glob("objects/??/*"))
