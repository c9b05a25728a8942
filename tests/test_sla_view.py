"""The SLA view: appeals overdue and at risk by queue, operator and topic, from the stored
clocks by one storage query, in the API and as ``crmcms sla``."""

from __future__ import annotations

import pathlib
from datetime import timedelta

import pytest
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli
from crmcms.model import SlaViewRow
from crmcms.storage.sql import SqlStore
from test_sla_monitor import World, definitions


def scenario(world: World) -> tuple[int, int, int]:
    """Three appeals due at 13:00 (4h business): one taken by ann, one moved to CHIEFS."""
    late, taken, moved = world.register(), world.register(), world.register()
    world.engine.take(taken, "ann")
    world.engine.change_deadlines(
        moved, "boss", deadline=world.clock.now + timedelta(days=2), reason="agreed"
    )
    return late, taken, moved


def test_the_view_counts_overdue_and_at_risk_appeals_by_queue_operator_and_topic() -> None:
    world = World(ladder="at +0: notify boss")
    late, taken, _ = scenario(world)
    world.clock.advance(hours=3)  # 12:00: two due at 13:00, within the next 2h
    view = world.engine.sla_view(within=timedelta(hours=2))
    assert set(view.rows) >= {
        SlaViewRow("queue", "LINE", 0, 2),
        SlaViewRow("operator", "ann", 0, 1),
        SlaViewRow("operator", None, 0, 1),
        SlaViewRow("topic", "REPAIR", 0, 2),
    }
    assert [a.appeal_id for a in view.appeals] == [late, taken]
    world.clock.advance(hours=2)  # 14:00: both overdue
    view = world.engine.sla_view(within=timedelta(hours=2))
    assert SlaViewRow("queue", "LINE", 2, 0) in view.rows
    assert all(a.overdue for a in view.appeals)
    assert world.engine.sla_view(within=timedelta(days=3)).rows[0] == SlaViewRow(
        "queue", "LINE", 2, 1
    )
    assert world.engine.sla_view(queue="CHIEFS").rows == ()


def test_the_view_is_the_same_on_sqlite(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/sla.sqlite"
    store = SqlStore(url)
    world = World(store.unit_of_work, ladder="at +0: notify boss")
    memory = World(ladder="at +0: notify boss")
    for w in (world, memory):
        scenario(w)
        w.clock.advance(hours=3)
    within = timedelta(hours=2)
    assert world.engine.sla_view(within=within) == memory.engine.sla_view(within=within)
    store.dispose()


def test_the_sla_command_prints_the_tables(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/sla.sqlite"
    store = SqlStore(url)
    world = World(store.unit_of_work, ladder="at +0: notify boss")
    scenario(world)
    store.dispose()
    result = CliRunner().invoke(cli, ["sla", "--db", url, "--at-risk-within", "3650d"])
    assert result.exit_code == 0, result.output
    for text in ("By queue", "By operator", "By topic", "LINE", "REPAIR", "overdue"):
        assert text in result.output
    result = CliRunner().invoke(cli, ["sla", "--db", url, "--at-risk-within", "soon"])
    assert result.exit_code != 0
    assert "not an age" in result.output


@pytest.mark.postgres
def test_the_view_is_the_same_on_postgresql(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    world = World(store.unit_of_work, ladder="at +0: notify boss")
    memory = World(ladder="at +0: notify boss")
    for w in (world, memory):
        scenario(w)
        w.clock.advance(hours=3)
    for within in (timedelta(hours=2), timedelta(days=3)):
        assert world.engine.sla_view(within=within) == memory.engine.sla_view(within=within)
    store.dispose()


def test_the_sla_command_recomputes_the_clocks_with_new_definitions(
    tmp_path: pathlib.Path,
) -> None:
    url = f"sqlite:///{tmp_path}/sla.sqlite"
    store = SqlStore(url)
    world = World(store.unit_of_work, ladder="at +0: notify boss")
    appeal_id = world.register()
    folder = tmp_path / "defs"
    folder.mkdir()
    text = definitions("at +0: notify boss").replace(
        "deadline: 4h business", "deadline: 8h business"
    )
    (folder / "routes.crm").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["sla", "--db", url, "--recompute", "--definitions", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output
    with store.unit_of_work() as uow:
        [clock] = uow.clocks.for_appeal(appeal_id)
    assert clock.limit == timedelta(hours=8)
    store.dispose()
