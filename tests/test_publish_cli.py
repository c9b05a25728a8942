"""crmcms db publish saves definitions to the database and moves the stored clocks of open
appeals to the new calendars and deadlines."""

from __future__ import annotations

import pathlib
from datetime import UTC, datetime

from click.testing import CliRunner

from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.engine import AppealDraft, AuditKind, AuditLog, Engine
from crmcms.entrypoints.cli import cli
from crmcms.model import Client
from crmcms.plugins import make_plugin_manager
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.sql import SqlStore
from crmcms.storage.sql.logins import SqlLoginStore
from crmcms.testing.engine import FakeBilling, ManualClock
from test_sla_monitor import definitions

CALENDAR = """
calendar OFFICE "Office" {
    timezone: "UTC"
    mon..fri: 09:00-18:00
HOLIDAYS}
"""
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _text(holidays: str = "") -> str:
    route = definitions("at +0: notify boss").replace(
        "deadline: 4h business", "calendar: OFFICE\n    deadline: 4h business"
    )
    return route + CALENDAR.replace("HOLIDAYS", holidays)


def _publish(url: str, folder: pathlib.Path, text: str, *options: str) -> str:
    (folder / "all.crm").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["db", "publish", "--url", url, "--definitions", str(folder), *options]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _due(store: SqlStore, appeal_id: int) -> datetime | None:
    with store.unit_of_work() as uow:
        [clock] = uow.clocks.for_appeal(appeal_id)
    return clock.due


def test_publishing_a_new_holiday_moves_the_due_times_of_waiting_appeals(
    tmp_path: pathlib.Path,
) -> None:
    url = f"sqlite:///{tmp_path}/crm.sqlite"
    folder = tmp_path / "defs"
    folder.mkdir()
    assert "0 open appeal(s) changed" in _publish(url, folder, _text())
    store = SqlStore(url)
    billing = FakeBilling([Client(1, "Client")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(
        load_catalog_text(_text()),
        store.unit_of_work,
        plugins=plugins,
        clock=ManualClock(MONDAY),
        trust_logins=True,
    )
    made = engine.register_contact(
        "ann", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("REPAIR")]
    )
    appeal_id = made.appeals[0].id
    assert _due(store, appeal_id) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)

    holiday = "    holidays: 2026-03-02\n"
    # Skipping the recomputation publishes the calendar and leaves the clocks alone.
    output = _publish(url, folder, _text(holiday), "--no-recompute")
    assert output.strip() == "definitions published"
    assert DefinitionStore(store.engine).load().calendar("OFFICE").holidays
    assert _due(store, appeal_id) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)

    # Monday became a holiday: the four working hours start on Tuesday.
    output = _publish(url, folder, _text(holiday), "--batch", "1")
    assert "clocks of 1 open appeal(s) changed" in output
    assert _due(store, appeal_id) == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    # Each publish is in the audit, with who ran it and the definitions' folder.
    published = AuditLog(SqlLoginStore(store.engine)).list(kind=AuditKind.DEFINITIONS_PUBLISHED)
    assert len(published) == 3
    assert all(e.actor and str(folder) in e.detail for e in published)
    store.dispose()


def test_definitions_with_errors_are_not_published(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/crm.sqlite"
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "all.crm").write_text(_text().replace("OFFICE\n    deadline", "OFICE\n    deadline"))
    result = CliRunner().invoke(cli, ["db", "publish", "--url", url, "--definitions", str(folder)])
    assert result.exit_code != 0
    assert "OFICE" in result.output
    store = SqlStore(url)
    assert DefinitionStore(store.engine).load().routes == ()
    assert AuditLog(SqlLoginStore(store.engine)).list() == []
