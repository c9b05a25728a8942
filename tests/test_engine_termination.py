"""The seed's contract termination route, end to end through the public API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from examples.telecom.seed_catalog import build_catalog

from crmcms import Client, PermissionDeniedError, ValidationError, WorkflowError
from crmcms.engine import AppealDraft, NotificationKind
from crmcms.model import AppealState, HistoryKind
from crmcms.testing.engine import FakeBilling, make_engine

CLIENTS = (
    Client(1, "ООО Ромашка", category="BIS", region="Moscow"),
    Client(2, "Иванов", category="VIP", region="Pskov"),
    Client(3, "Петров", category="BIS", region="Pskov"),
)
GOOD = {"166": "Переезд", "168": date(2026, 4, 1)}


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    return make_engine(build_catalog(), FakeBilling(CLIENTS))


def register(engine, client_id: int, values=GOOD):  # type: ignore[no-untyped-def]
    reg = engine.register_contact(
        "olga",
        place="CC",
        channel="PHONE",
        client_id=client_id,
        drafts=[AppealDraft("TERMINATION", values)],
    )
    return reg.appeals[0]


def test_termination_for_a_bis_client_runs_to_the_end(world) -> None:  # type: ignore[no-untyped-def]
    engine, billing, clock = world
    appeal = register(engine, 1)
    assert (appeal.route, appeal.route_version) == ("TERMINATION", 2)
    assert (appeal.process, appeal.queue) == ("registration", "REGISTRATION")
    assert appeal.deadline == clock.now + timedelta(days=5)

    [option] = engine.available_transitions(appeal.id, "olga")
    assert option.code == "to_sd"
    assert option.available

    clock.advance(hours=1)
    moved = engine.transition(appeal.id, "olga", "to_sd")
    assert (moved.process, moved.queue) == ("transfer_sd", "67")
    assert moved.process_deadline == clock.now + timedelta(days=2)
    why = engine.why_in_queue(appeal.id)
    assert why.queue == "67"
    assert "NOT_PSKOV" in why.reason
    assert why.transition == "to_sd"
    hand_over = [n for n in billing.notifications if n.kind is NotificationKind.HAND_OVER]
    # One message per recipient of the mailing list, each with its own delivery id.
    assert [n.to for n in hand_over] == [("SD_TEAM",), ("SD_TEAM",)]
    assert [n.recipients for n in hand_over] == [("olga",), ("sd@example.com",)]
    assert len({n.delivery_id for n in hand_over}) == 2

    # In transfer_sd the route hides 169 and 171 from the operator.
    seen = {s.code for s in engine.attributes(appeal.id, "bis")}
    assert "169" not in seen
    assert "171" not in seen
    assert {"166", "168", "170"} <= seen

    engine.take(appeal.id, "bis")
    clock.advance(hours=1)
    closed = engine.close(appeal.id, "bis", comment="Договор расторгнут")
    assert closed.state is AppealState.CLOSED
    assert closed.process == "closed"
    result = [n for n in billing.notifications if n.kind is NotificationKind.RESULT]
    assert result[0].to == ("client:1",)

    kinds = [e.kind for e in engine.history(appeal.id)]
    assert kinds[0] is HistoryKind.CREATED
    assert HistoryKind.MOVED in kinds
    assert kinds[-1] is HistoryKind.CLOSED
    assert [e.id for e in billing.events] == sorted(e.id for e in billing.events)

    # Any moment can be rebuilt from history.
    start = engine.state_at(appeal.id, appeal.registered_at)
    assert (start.process, start.queue, start.values) == ("registration", "REGISTRATION", GOOD)
    assert engine.state_at(appeal.id, clock.now).state is AppealState.CLOSED


def test_non_bis_clients_are_refused_with_the_reason(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    appeal = register(engine, 2)
    [option] = engine.available_transitions(appeal.id, "olga")
    assert not option.available
    assert any("ONLY_BIS" in r and "VIP" in r for r in option.reasons), option.reasons
    before = engine.history(appeal.id)
    with pytest.raises(WorkflowError, match="ONLY_BIS"):
        engine.transition(appeal.id, "olga", "to_sd")
    assert engine.appeal(appeal.id) == appeal
    assert engine.history(appeal.id) == before


def test_pskov_clients_go_to_the_pskov_queue(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    appeal = register(engine, 3)
    moved = engine.transition(appeal.id, "olga", "to_sd")
    assert moved.queue == "79"
    why = engine.why_in_queue(appeal.id)
    assert "PSKOV" in why.reason
    assert "67: rule NOT_PSKOV is false" in why.reason


def test_missing_required_values_are_all_reported(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    with pytest.raises(ValidationError) as info:
        register(engine, 1, {"168": "tomorrow", "170": "NOWHERE"})
    assert set(info.value.codes()) == {"166", "168", "170"}
    assert engine.queue_appeals("REGISTRATION") == []


def test_appeals_stay_on_the_version_they_started_on() -> None:
    from crmcms.engine import Engine
    from crmcms.model import Catalog

    catalog = build_catalog()
    v1 = catalog.route("TERMINATION", 1)
    # A catalog where only version 1 is published: its appeal runs without the BIS rule ...
    only_v1 = Catalog(
        **{
            **{f: getattr(catalog, f) for f in ("dictionaries", "place_kinds", "places")},
            **{f: getattr(catalog, f) for f in ("channels", "client_categories", "topic_groups")},
            **{f: getattr(catalog, f) for f in ("topics", "rules", "priorities", "mailing_lists")},
            **{f: getattr(catalog, f) for f in ("queues", "roles", "operators", "templates")},
            "routes": (v1,),
        }
    )
    old_engine, _, _ = make_engine(only_v1, FakeBilling(CLIENTS))
    old = register(old_engine, 2)
    assert old.route_version == 1
    # ... and when version 2 is published over the same store, the appeal keeps version 1.
    store_factory = old_engine.runtime.uow_factory
    new_engine = Engine(
        catalog, store_factory, plugins=old_engine.runtime.plugins, trust_logins=True
    )
    assert new_engine.appeal(old.id).route_version == 1
    moved = new_engine.transition(old.id, "olga", "to_sd")
    assert moved.process == "transfer_sd"
    assert register(new_engine, 2).route_version == 2


def test_queue_members_and_administrators(world) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = world
    appeal = engine.transition(register(engine, 1).id, "olga", "to_sd")
    with pytest.raises(PermissionDeniedError):
        engine.assign(appeal.id, "olga", "bis")  # olga is a member, not an administrator
    assigned = engine.assign(appeal.id, "Администратор", "bis")
    assert assigned.responsible == "bis"
    assert [a.id for a in engine.queue_appeals("67")] == [appeal.id]


def test_a_hand_over_can_be_rejected(world) -> None:  # type: ignore[no-untyped-def]
    engine, billing, _ = world
    appeal = engine.transition(register(engine, 1).id, "olga", "to_sd")
    engine.take(appeal.id, "bis")
    back = engine.reject(appeal.id, "bis", "не наш вопрос")
    assert (back.process, back.queue) == ("registration", "REGISTRATION")
    rejection = [n for n in billing.notifications if n.kind is NotificationKind.REJECTION]
    assert rejection[0].to == ("bis",)  # the seed notifies Appeal.Responsible


PLAIN = """
topic T "T" { attribute A "A": string required }
rule IN_PSKOV "Pskov": Client.Region = "Pskov"
queue REG "Registration" {
    processes: a
}
queue PSKOV "Pskov" {
    processes: b
    when IN_PSKOV
}
queue OTHER "Other" {
    processes: b, c
}
operator olga "Olga"
place kind CALL_CENTRE "Call centre"
place CC "Contact centre" kind CALL_CENTRE
channel PHONE "Phone"
rule BIS "BIS": Client.Category = "BIS"
route R "R" {
    topics: T
    process a "A" initial
    process b "B" { deadline: 2 days }
    process c "C" final
    transition go a -> b "Go" when BIS
    transition done b -> c "Done"
}
"""


def test_a_plain_transition_records_what_the_general_path_records() -> None:
    # Transitions without handlers into an ordinary process are taken in one step; the
    # appeal and its history must come out as the general path (_move, _enter) makes them.
    import attrs

    from crmcms.dsl import load_catalog_text

    def run(general: bool):  # type: ignore[no-untyped-def]
        engine, _, clock = make_engine(load_catalog_text(PLAIN), FakeBilling(CLIENTS))
        plan = engine.runtime.plans["R", 1]
        assert plan.transitions["go"].plain
        if general:
            for code, step in plan.transitions.items():
                plan.transitions[code] = attrs.evolve(step, plain=False)
        made = engine.register_contact(
            "olga", place="CC", channel="PHONE", client_id=3, drafts=[AppealDraft("T", {"A": "x"})]
        )
        appeal = made.appeals[0]
        clock.advance(hours=3)
        moved = engine.transition(appeal.id, "olga", "go", comment="on to B")
        return moved, engine.history(appeal.id)

    plain, general = run(False), run(True)
    assert plain == general
    moved, events = plain
    assert (moved.process, moved.queue) == ("b", "PSKOV")
    last = events[-1]
    assert last.kind is HistoryKind.MOVED
    fields = ["process", "queue", "process_entered_at", "process_deadline"]
    assert [c.field for c in last.changes] == fields
    assert last.comment == "on to B"
    assert last.reason.startswith("rule IN_PSKOV")


def test_a_queue_condition_written_in_place_is_named_by_its_queue_and_text() -> None:
    from pathlib import Path

    from crmcms.dsl import load_catalog_text

    texts = {str(p): p.read_text(encoding="utf-8") for p in Path("examples/telecom").glob("*.crm")}
    queues = next(k for k in texts if k.endswith("queues.crm"))
    texts[queues] = (
        texts[queues]
        .replace("when NOT_PSKOV", 'when Client.Region != "Pskov"')
        .replace("when PSKOV", 'when Client.Region = "Pskov"')
    )
    engine, _, _ = make_engine(load_catalog_text(texts), FakeBilling(CLIENTS))
    appeal = register(engine, 3)
    engine.transition(appeal.id, "olga", "to_sd")
    why = engine.why_in_queue(appeal.id).reason
    assert why.startswith('the condition of queue 79 (Client.Region = "Pskov") holds'), why
    assert '67: the condition of queue 67 (Client.Region != "Pskov") is false' in why
    assert "@" not in why
