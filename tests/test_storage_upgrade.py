"""Upgrading a database of an earlier schema keeps its data and adds what is new."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crmcms.engine.history import explain_queue
from crmcms.model import Appeal, HistoryKind
from crmcms.storage.database import create_engine
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.migrate import current_revision, head_revision, upgrade_schema
from crmcms.storage.schema import history
from crmcms.storage.sql import SqlStore
from crmcms.testing.stored import add_appeal, add_contact

FIRST_RELEASE = "0001"


def _by_key(items: tuple[Any, ...]) -> list[Any]:
    return sorted(items, key=lambda i: repr(getattr(i, "key", None) or getattr(i, "code", "")))


def test_upgrade_from_the_first_release_keeps_definitions(database_url: str) -> None:
    from crmcms.entrypoints.demo import example_catalog

    engine = create_engine(database_url)
    assert upgrade_schema(engine, FIRST_RELEASE) == FIRST_RELEASE
    catalog = example_catalog()
    # The first release's DefinitionStore wrote the same table; save without upgrading.
    DefinitionStore(engine).save(catalog)

    assert upgrade_schema(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    loaded = DefinitionStore(engine).load()
    assert _by_key(loaded.routes) == _by_key(catalog.routes)
    assert _by_key(loaded.topics) == _by_key(catalog.topics)

    store = SqlStore(engine)
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with store.unit_of_work() as uow:
        c = add_contact(uow, registered_at=t0)
        route = loaded.routes[0]
        a = Appeal(
            id=uow.appeals.next_id(),
            contact_id=c.id,
            topic="TERMINATION",
            route=route.code,
            route_version=route.version,
            process=route.processes[0].code,
            operator="olga",
            registered_at=t0,
        )
        uow.appeals.add(a)
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.appeals.get(a.id)
    # The appeal finds the very route version it runs on, after a restart too.
    assert DefinitionStore(engine).load().route(got.route, got.route_version) == route
    store.dispose()


def test_events_written_before_reasons_keep_theirs_in_the_comment(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine, "0002")
    store = SqlStore(engine, upgrade=False)
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with store.unit_of_work() as uow:
        c = add_contact(uow, registered_at=t0)
        a = add_appeal(uow, c.id, process="transfer_sd", queue="67")
        uow.commit()
    # The two events a transition was recorded as before 0003, written as that schema had them.
    old_rows = [
        (1, "moved", "To SD", [{"field": "process", "old": "registration", "new": "transfer_sd"}]),
        (2, "queued", "rule NOT_PSKOV holds", [{"field": "queue", "old": "REG", "new": "67"}]),
    ]
    with engine.begin() as conn:
        for event_id, kind, comment, changes in old_rows:
            conn.execute(
                history.insert().values(
                    id=event_id,
                    appeal_id=a.id,
                    kind=kind,
                    at=t0,
                    operator="olga",
                    process="transfer_sd",
                    queue="67",
                    transition="to_sd",
                    changes=changes,
                    comment=comment,
                )
            )
    upgrade_schema(engine)
    with store.unit_of_work() as uow:
        events = uow.history.for_appeal(a.id)
        got = uow.appeals.get(a.id)
    assert [(e.kind, e.comment, e.reason) for e in events] == [
        (HistoryKind.MOVED, "To SD", ""),
        (HistoryKind.QUEUED, "rule NOT_PSKOV holds", ""),
    ]
    assert explain_queue(got, events).reason == "rule NOT_PSKOV holds"
    store.dispose()


def test_system_problems_stored_before_their_states_count_as_registered(
    database_url: str,
) -> None:
    import sqlalchemy as sa

    from crmcms.model import ProblemState

    engine = create_engine(database_url)
    upgrade_schema(engine, "0008")
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO crm_system_problem (id, title, registered_by, opened_at,"
                " description, state, resolved_at, resolution, attribute_values, version)"
                " VALUES (1, 'Outage', 'olga', :t, '', 'open', NULL, '', '{}', 1),"
                " (2, 'Fixed', 'olga', :t, '', 'resolved', :t, 'done', '{}', 2)"
            ),
            {"t": t0},
        )
    upgrade_schema(engine)
    store = SqlStore(engine, upgrade=False)
    with store.unit_of_work() as uow:
        old, fixed = uow.problems.find()
    assert (old.state, old.rule, old.resolving) == (ProblemState.REGISTERED, "", False)
    assert fixed.state is ProblemState.RESOLVED
    assert fixed.resolution == "done"
    store.dispose()
