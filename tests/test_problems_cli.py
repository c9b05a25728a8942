"""`crmcms problems`: the system problem manager registers, links, resolves and closes."""

from __future__ import annotations

import pathlib

from click.testing import CliRunner, Result
from tests.test_attachments_cli import run
from tests.test_problems import DEFINITIONS

from crmcms import AppealDraft, Engine
from crmcms.entrypoints.cli import cli
from crmcms.errors import NotFoundError, ValidationError, WorkflowError
from crmcms.plugins import make_plugin_manager
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["problems", *args], env={"COLUMNS": "200"})


def wide(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_problem_from_registration_to_closing_at_the_console(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.sqlite"
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "all.crm").write_text(DEFINITIONS, encoding="utf-8")
    run("db", "publish", "--url", url, "--definitions", str(defs))
    store = SqlStore(url)
    plugins = make_plugin_manager([FakeBilling()], load_entry_points=False)
    engine = Engine(DefinitionStore(store.engine).load(), store.unit_of_work, plugins=plugins)
    ann = engine.trusted("ann")
    made = [
        engine.register_contact(
            ann, place="CC", channel="PHONE", drafts=[AppealDraft(topic)]
        ).appeals[0]
        for topic in ("NO_NET", "NO_NET", "BILL")
    ]
    store.dispose()

    rule = 'Appeal.Topic.Code = "NO_NET"'
    out = wide(
        "register",
        "--db",
        url,
        "--as",
        "pm",
        "No network",
        "--value",
        "REGION=PSK",
        "--value",
        "ETA=2026-03-03",
        "--rule",
        rule,
        "--link-matching",
    )
    assert "system problem 1: No network (registered)" in out
    assert "linked 2 open appeals" in out
    bad = invoke("register", "--db", url, "Bad", "--value", "REGION=XX")
    assert isinstance(bad.exception, ValidationError)
    assert "is not an item of REGIONS" in str(bad.exception)
    refused = invoke("register", "--db", url, "--as", "ann", "Mine", "--value", "REGION=PSK")
    assert refused.exit_code != 0
    listed = wide("list", "--db", url)
    assert "No network" in listed
    assert rule in listed
    assert "Bad" not in listed
    missing = invoke("link", "--db", url, "1", "999")
    assert isinstance(missing.exception, NotFoundError)
    assert "linked 1 appeal to system problem 1" in wide("link", "--db", url, "1", str(made[2].id))
    assert "unlinked 1 appeal" in wide("unlink", "--db", url, "1", str(made[2].id))
    assert "system problem 1 confirmed" in wide("confirm", "--db", url, "--as", "pm", "1")
    out = wide(
        "resolve",
        "--db",
        url,
        "--as",
        "pm",
        "1",
        "--transition",
        "fixed",
        "--resolution",
        "Repaired",
    )
    assert "2 appeals moved, 0 refused" in out
    again = invoke("resolve", "--db", url, "1", "--transition", "fixed")
    assert isinstance(again.exception, WorkflowError)
    shown = wide("show", "--db", url, "1")
    assert "Repaired" in shown
    assert shown.count("moved") == 2
    assert "PSK" in shown
    assert "2026-03-03" in shown
    assert "system problem 1 closed" in wide("close", "--db", url, "1")
    assert "closed" in wide("list", "--db", url, "--state", "closed")
