"""Preview of a new route version against a database: where waiting appeals would continue,
which would be stuck, which deadlines would change; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.engine import AppealDraft, Engine
from crmcms.entrypoints.cli import cli
from crmcms.model import Catalog
from crmcms.storage import SqlStore
from crmcms.testing.preview import preview_route_version

BASE = """
role OPERATOR "Operator" { permissions: register, handle, take, close, read }
operator anna "Anna" { roles: OPERATOR }
place CC "Contact centre"
channel PHONE "Phone"
topic T "Topic" {
    attribute A "A": string
    attribute B "B": string
}
queue Q "Everyone"
queue Q2 "Second line" { processes: review }
"""

V1 = """
route R "R" version 1 {
    topics: T
    process start "Start" initial
    process check "Check" { deadline: 1d }
    process done "Done" final
    transition to_check start -> check "Check"
    transition finish check -> done "Finish"
}
"""


def v2(body: str) -> str:
    return f"""
route R "R" version 2 {{
    topics: T
{body}
    process start "Start" initial
    process done "Done" final
    transition finish start -> done "Finish"
}}
"""


def _catalog(*texts: str) -> Catalog:
    # check=False: a version dropping a process without `moved` is what the preview must
    # catch, and the static checks would refuse it first.
    return load_catalog_text(BASE + "".join(texts), check=False)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """Five appeals waiting in check (two without B), three in start; on version 1."""
    store = SqlStore(database_url)
    engine = Engine(_catalog(V1), store.unit_of_work, trust_logins=True)
    for number in range(8):
        values = {"A": "a"} if number < 2 else {"A": "a", "B": "b"}
        registered = engine.register_contact(
            "anna", place="CC", channel="PHONE", drafts=[AppealDraft("T", values)]
        )
        if number < 5:
            engine.transition(registered.appeals[0].id, "anna", "to_check")
    yield store
    store.dispose()


def test_a_dropped_process_without_moved_leaves_its_appeals_stuck(store: SqlStore) -> None:
    preview = preview_route_version(store, _catalog(V1, v2("")), stuck_limit=3)
    groups = {g.process: g for g in preview.groups}
    assert groups["check"].count == 5
    assert "process check is gone from v2 of route R" in groups["check"].stuck
    assert groups["check"].new_process is None
    assert groups["start"].count == 3
    assert groups["start"].new_process == "start"
    assert not groups["start"].stuck
    assert preview.waiting == 8
    assert preview.stuck_count == 5
    assert preview.moved == 3
    # One by one only up to the limit; every one counted.
    assert len(preview.stuck) == 3
    assert all(s.process == "check" for s in preview.stuck)


def test_moved_appeals_continue_and_those_lacking_a_required_value_are_stuck(
    store: SqlStore,
) -> None:
    body = """
    moved check -> review
    process review "Review" {
        deadline: 2d
        attribute B: required
    }
    transition done_review review -> done "Done"
    """
    preview = preview_route_version(store, _catalog(V1, v2(body)))
    check = {g.process: g for g in preview.groups}["check"]
    assert check.new_process == "review"
    assert check.new_version == 2
    assert check.queue == "Q"
    # Q still takes appeals in review? It lists no processes, so it takes any.
    assert not check.stuck
    assert check.lacking == 2
    assert preview.stuck_count == 2
    assert {s.reason for s in preview.stuck} == {
        "lacks a value of B, required in process review of route R v2"
    }
    (change,) = preview.deadlines
    assert (change.process, change.new_process, change.before, change.after, change.count) == (
        "check",
        "review",
        "1d",
        "2d",
        5,
    )


def test_a_queue_no_longer_taking_them_leaves_them_stuck(store: SqlStore) -> None:
    body = """
    moved check -> review
    process review "Review" { queue: Q2 }
    transition done_review review -> done "Done"
    """
    preview = preview_route_version(store, _catalog(V1, v2(body)))
    check = {g.process: g for g in preview.groups}["check"]
    assert check.stuck.startswith("queue Q no longer takes appeals in process review")
    assert preview.stuck_count == 5


def test_appeals_on_a_newer_version_than_the_definitions_are_stuck(
    database_url: str,
) -> None:
    store = SqlStore(database_url)
    try:
        engine = Engine(_catalog(V1, v2("")), store.unit_of_work, trust_logins=True)
        engine.register_contact("anna", place="CC", channel="PHONE", drafts=[AppealDraft("T", {})])
        preview = preview_route_version(store, _catalog(V1))
        (group,) = preview.groups
        assert group.version == 2
        assert "newer than the new definitions' v1" in group.stuck
        assert preview.stuck_count == 1
    finally:
        store.dispose()


def test_nothing_is_written(store: SqlStore) -> None:
    import sqlalchemy as sa

    from crmcms.storage.schema import appeal

    query = sa.select(appeal.c.id, appeal.c.route_version, appeal.c.process).order_by(appeal.c.id)
    with store.engine.connect() as conn:
        before = conn.execute(query).all()
    preview_route_version(store, _catalog(V1, v2("")))
    with store.engine.connect() as conn:
        assert conn.execute(query).all() == before


def test_verify_against_prints_the_preview_and_exits_1_when_any_is_stuck(
    store: SqlStore, database_url: str, tmp_path: object
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "defs"
    folder.mkdir()
    body = """
    moved check -> review
    process review "Review" { attribute B: required }
    transition to_review start -> review "Review"
    transition done_review review -> done "Done"
    """
    (folder / "all.crm").write_text(BASE + V1 + v2(body), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["verify", str(folder), "--against", database_url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1, result.output
    assert "8 waiting appeals: 6 would continue, 2 would be stuck" in result.output
    assert "lacks a value of B" in result.output
