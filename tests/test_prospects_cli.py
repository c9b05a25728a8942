"""`crmcms prospects`: register, attach, convert through billing and read it all at the console."""

from __future__ import annotations

import pathlib

from click.testing import CliRunner, Result
from tests.test_attachments_cli import run
from tests.test_prospects import DEFINITIONS

from crmcms import AppealDraft, Engine
from crmcms.entrypoints.cli import cli
from crmcms.errors import ConversionError, NotFoundError, ValidationError
from crmcms.plugins import make_plugin_manager
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.sql import SqlStore


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})})


def wide(*args: str, env: dict[str, str] | None = None) -> str:
    result = _invoke(*args, env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_a_prospect_from_registration_to_client_at_the_console(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.sqlite"
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "all.crm").write_text(DEFINITIONS, encoding="utf-8")
    run("db", "publish", "--url", url, "--definitions", str(defs))
    said = wide(
        "prospects", "register", "--db", url, "--as", "olga",
        "--name", "Иван Петров", "--phone", "+7 912 345-67-89", "--region", "Псков",
    )  # fmt: skip
    assert said.strip() == "prospect 1 registered: Иван Петров"
    store = SqlStore(url)
    engine = Engine(
        DefinitionStore(store.engine).load(),
        store.unit_of_work,
        plugins=make_plugin_manager([], load_entry_points=False),
        trust_logins=True,
    )
    call = engine.register_contact("olga", comment="первый звонок", drafts=[AppealDraft("Q")])
    store.dispose()
    wide("prospects", "attach", "--db", url, "--as", "olga", "1", str(call.contact.id))
    listed = wide("prospects", "list", "--db", url)
    assert "Иван Петров" in listed
    assert "prospect" in listed
    ledger = str(tmp_path / "ledger.json")
    converted = wide(
        "prospects", "convert", "--db", url, "1", "--deliver",
        "--plugin", "examples.plugins.billing:Ledger",
        env={"CRMCMS_BILLING_LEDGER": ledger},
    )  # fmt: skip
    assert "prospect 1 is client 1000 now" in converted
    shown = wide("prospects", "show", "--db", url, "1")
    assert "converted" in shown
    assert "первый звонок" in shown
    assert "1000" in shown
    assert "Иван Петров" in wide("prospects", "list", "--db", url, "--status", "converted")

    twice = _invoke("prospects", "convert", "--db", url, "1")
    assert isinstance(twice.exception, ConversionError)
    bad = _invoke("prospects", "register", "--db", url, "--name", "Мария", "--email", "nope")
    assert isinstance(bad.exception, ValidationError)
    assert bad.exception.codes() == ("email",)
    unknown = _invoke("prospects", "show", "--db", url, "42")
    assert isinstance(unknown.exception, NotFoundError)


def test_the_demo_converts_a_prospect_through_the_example_billing_plugin() -> None:
    from rich.console import Console

    from crmcms.entrypoints.demo import example_catalog
    from crmcms.entrypoints.demo_prospects import run_prospects_demo
    from crmcms.storage.memory import MemoryStore

    out = Console(record=True, width=200)
    store = MemoryStore()
    client_id = run_prospects_demo(example_catalog(), out, store.unit_of_work, None)
    shown = out.export_text()
    assert "converted" in shown
    assert f"became client {client_id}" in shown
    assert [c.client_id for c in store.contacts.values()] == [client_id]
