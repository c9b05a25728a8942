"""What a refused transition says and leaves alone, and the corners of a plain transition."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crmcms import (
    AppealDraft,
    Client,
    ConcurrencyError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    WorkflowError,
)
from crmcms.dsl import load_catalog_text
from crmcms.engine import Engine, add_business_time
from crmcms.model import HistoryKind
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.testing.engine import FakeBilling, ManualClock, in_memory_engine, make_engine

DEFINITIONS = """
topic T "T" { attribute A "A": string }
rule BIS "BIS": Client.Category = "BIS"
rule PSKOV "Pskov": Client.Region = "Pskov"
queue OPEN "Open" {
    processes: a, busy, c
}
queue TEAM "Team" {
    members: olga
    processes: b
}
queue PSKOV_ONLY "Pskov only" {
    processes: nowhere
    when PSKOV
}
place kind CALL_CENTRE "Call centre"
place CC "Contact centre" kind CALL_CENTRE
channel PHONE "Phone"
operator olga "Olga"
operator pavel "Pavel"
operator gone "Gone" inactive
route R "R" {
    topics: T
    process a "A" initial
    process b "B" { deadline: 2d business }
    process busy "Busy"
    process c "C" final
    process nowhere "Nowhere"
    transition go a -> b "Go" when BIS
    transition stay a -> busy "Stay in the open queue"
    transition lost a -> nowhere "Lost"
    transition done b -> c "Done"
    transition auto busy -> c "Auto" automatic when Client.Category = "VIP"
}
"""

CLIENT = Client(1, "Client", category="BIS", region="Moscow")


def catalog() -> Any:
    # Process "nowhere" is a dead end no queue takes from Moscow: the definition checks say
    # so, and the engine must refuse moving an appeal there without changing anything.
    return load_catalog_text(DEFINITIONS, check=False)


@pytest.fixture
def world() -> tuple[Engine, FakeBilling, ManualClock]:
    return make_engine(catalog(), FakeBilling([CLIENT]))


def register(engine: Engine, client_id: int = 1) -> int:
    made = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=client_id, drafts=[AppealDraft("T", {})]
    )
    return made.appeals[0].id


def unchanged(engine: Engine, appeal_id: int, before: tuple[Any, int]) -> bool:
    return (engine.appeal(appeal_id), len(engine.history(appeal_id))) == before


def state(engine: Engine, appeal_id: int) -> tuple[Any, int]:
    return engine.appeal(appeal_id), len(engine.history(appeal_id))


def test_a_closed_appeal_moves_nowhere(world: Any) -> None:
    engine, _, _ = world
    appeal = register(engine)
    engine.close(appeal, "olga")
    before = state(engine, appeal)
    assert engine.appeal(appeal).process == "c"  # closing ends in the final process
    with pytest.raises(WorkflowError, match=f"appeal {appeal} is in c"):
        engine.transition(appeal, "olga", "go")
    assert unchanged(engine, appeal, before)


def test_an_operator_does_not_take_an_automatic_transition(world: Any) -> None:
    engine, _, _ = world
    appeal = register(engine)
    engine.transition(appeal, "olga", "stay")
    before = state(engine, appeal)
    with pytest.raises(WorkflowError, match="automatic: the system takes it"):
        engine.transition(appeal, "olga", "auto")
    assert unchanged(engine, appeal, before)


def test_only_members_of_the_queue_move_the_appeal(world: Any) -> None:
    engine, _, _ = world
    appeal = register(engine)
    engine.transition(appeal, "olga", "go")
    before = state(engine, appeal)
    # Outside the queue the appeal is as missing as one that does not exist.
    with pytest.raises(NotFoundError, match=f"appeal {appeal} not found"):
        engine.transition(appeal, "pavel", "done")
    assert unchanged(engine, appeal, before)
    assert engine.transition(appeal, "olga", "done").process == "c"


def test_a_stale_version_is_refused(world: Any) -> None:
    engine, _, _ = world
    appeal = register(engine)
    version = engine.appeal(appeal).version
    engine.transition(appeal, "olga", "go", expected_version=version)
    with pytest.raises(ConcurrencyError):
        engine.transition(appeal, "olga", "done", expected_version=version)


def test_inactive_and_unknown_operators_are_refused(world: Any) -> None:
    engine, _, _ = world
    appeal = register(engine)
    before = state(engine, appeal)
    with pytest.raises(PermissionDeniedError, match="inactive"):
        engine.transition(appeal, "gone", "go")
    with pytest.raises(NotFoundError, match=r"did you mean 'olga'\?"):
        engine.transition(appeal, "olgа", "go")  # with a Cyrillic "а"
    assert unchanged(engine, appeal, before)


class Failing:
    def __init__(self) -> None:
        self.fail = False

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> dict[str, Any] | None:
        if self.fail:
            raise ConnectionError("billing is down")
        return {"Category": "BIS"} if client_id == "1" else None


def test_a_failing_client_directory_refuses_the_move_and_changes_nothing() -> None:
    directory = Failing()
    plugins = make_plugin_manager([directory], load_entry_points=False)
    engine = in_memory_engine(catalog(), plugins=plugins)
    appeal = register(engine)
    before = state(engine, appeal)
    directory.fail = True
    with pytest.raises(PluginError, match="ConnectionError: billing is down"):
        engine.transition(appeal, "olga", "go")
    assert unchanged(engine, appeal, before)
    directory.fail = False  # back up: the same move goes through
    assert engine.transition(appeal, "olga", "go").process == "b"


def test_a_client_nobody_knows_is_not_found(world: Any) -> None:
    engine, billing, _ = world
    appeal = register(engine)
    billing.clients.clear()  # the client left billing since the contact was registered
    with pytest.raises(NotFoundError, match="no client directory knows it"):
        engine.transition(appeal, "olga", "go")


def test_no_queue_for_the_process_entered_leaves_the_appeal_where_it_was(world: Any) -> None:
    engine, _, _ = world
    appeal = register(engine)
    before = state(engine, appeal)
    with pytest.raises(WorkflowError, match="nowhere"):
        engine.transition(appeal, "olga", "lost")
    assert unchanged(engine, appeal, before)


def test_a_business_deadline_on_a_plain_transition(world: Any) -> None:
    engine, _, clock = world
    appeal = register(engine)
    clock.advance(days=4)  # Friday 2026-03-06, 09:00
    moved = engine.transition(appeal, "olga", "go")
    assert moved.process_deadline == add_business_time(clock.now, timedelta(days=2))
    assert moved.process_deadline is not None
    assert moved.process_deadline.weekday() == 1  # Tuesday


def test_staying_in_the_same_queue_records_only_what_changed(world: Any) -> None:
    engine, _, clock = world
    appeal = register(engine)
    clock.advance(hours=1)
    moved = engine.transition(appeal, "olga", "stay")
    assert moved.queue == "OPEN"
    moved = engine.history(appeal)[-1]
    assert moved.kind is HistoryKind.MOVED
    # The process changed; the queue is the same; the entry time changed; neither process
    # has a deadline.
    assert [c.field for c in moved.changes] == ["process", "process_entered_at"]


def test_a_text_compiled_later_that_reads_the_clock_turns_the_clock_on(world: Any) -> None:
    engine, _, _ = world
    rules = engine.runtime.rules
    assert not rules.reads_clock
    rules.condition("now() > 2026-01-01T00:00:00Z")
    assert rules.reads_clock
