"""Prospects: registration, contacts and appeals, and conversion into clients through the outbox."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from datetime import timedelta

import pytest

from crmcms import AppealDraft, Engine, RelaySettings
from crmcms.dsl import load_catalog_text
from crmcms.errors import ConversionError, DeliveryError, NotFoundError, ValidationError
from crmcms.model import HistoryKind, OutboxStatus, ProspectStatus
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

DEFINITIONS = """
topic Q "Question"
place CC "Call centre"
channel PHONE "Phone"
client category B2C "Private"
client category B2B "Business"
template T "Calls" { default place: CC  places: CC  channel: PHONE  client categories: B2C, B2B }
operator olga "Olga" { template: T }
queue LINE "First line" { members: olga  processes: new }
route R "Questions" {
    topics: Q
    process new "New" initial
    process done "Done" final
    transition new -> done "Answer"
}
"""


class Killed(BaseException):
    """The worker dying: not an exception any code here catches."""


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[tuple[Engine, FakeBilling, ManualClock]]:
    clock = ManualClock()
    billing = FakeBilling()
    plugins = make_plugin_manager([billing], load_entry_points=False)
    store: SqlStore | None = None
    if request.param == "memory":
        factory = MemoryStore().unit_of_work
    else:
        url = (
            f"sqlite:///{tmp_path / 'crm.sqlite'}"
            if request.param == "sqlite"
            else str(request.getfixturevalue("postgres_url"))
        )
        store = SqlStore(url)
        factory = store.unit_of_work
    engine = Engine(
        load_catalog_text(DEFINITIONS),
        factory,
        plugins=plugins,
        clock=clock,
        relay=RelaySettings(max_attempts=3, lease=timedelta(minutes=5)),
        delivery_domain="crm.test",
        trust_logins=True,
    )
    yield engine, billing, clock
    if store is not None:
        store.dispose()


def _with_contact(engine: Engine) -> tuple[int, int, int]:
    """A prospect, a contact registered for them and its appeal: their ids."""
    prospect = engine.register_prospect(
        "olga", name="Иван Петров", phone="+7 912 345-67-89", email="ivan@example.com"
    )
    call = engine.register_contact("olga", prospect_id=prospect.id, drafts=[AppealDraft("Q")])
    return prospect.id, call.contact.id, call.appeals[0].id


def test_a_prospect_is_registered_with_what_is_given(world: tuple) -> None:
    engine, _, clock = world
    made = engine.register_prospect(
        "olga", name="  Иван Петров ", phone="+7 912 345-67-89", region="Псков", category="B2C"
    )
    assert (made.name, made.region, made.category) == ("Иван Петров", "Псков", "B2C")
    assert (made.registered_at, made.registered_by) == (clock.now, "olga")
    assert made.status is ProspectStatus.PROSPECT
    assert engine.prospect(made.id) == made
    assert engine.prospects() == [made]


def test_bad_fields_are_refused_each_by_its_code_storing_nothing(world: tuple) -> None:
    engine, _, _ = world
    with pytest.raises(ValidationError) as refused:
        engine.register_prospect(
            "olga", name=" ", phone="call me", email="nobody", region="x" * 101, category="VIP"
        )
    assert refused.value.codes() == ("name", "phone", "email", "region", "category")
    assert "VIP is not allowed by template T: allowed B2C, B2B" in str(refused.value)
    assert engine.prospects() == []


def test_contacts_registered_or_attached_and_unknown_ones_refused(world: tuple) -> None:
    engine, _, _ = world
    prospect_id, contact_id, _ = _with_contact(engine)
    loose = engine.register_contact("olga", drafts=[AppealDraft("Q")]).contact
    attached = engine.attach_to_prospect(prospect_id, loose.id, "olga")
    assert attached.prospect_id == prospect_id
    assert engine.attach_to_prospect(prospect_id, loose.id, "olga") == attached  # once is enough
    contacts = engine.prospect_contacts(prospect_id)
    assert [c.id for c in contacts] == [contact_id, loose.id]
    with pytest.raises(NotFoundError, match="prospect 4242"):
        engine.attach_to_prospect(4242, loose.id, "olga")
    with pytest.raises(NotFoundError, match="contact 4242"):
        engine.attach_to_prospect(prospect_id, 4242, "olga")
    with pytest.raises(ValidationError, match="prospect_id: prospect 4242 not found"):
        engine.register_contact("olga", prospect_id=4242)
    with pytest.raises(NotFoundError):
        engine.prospect(4242)


def test_a_conversion_goes_through_the_outbox_and_moves_contacts_and_appeals(
    world: tuple,
) -> None:
    engine, billing, _ = world
    prospect_id, contact_id, appeal_id = _with_contact(engine)
    asked = engine.convert_prospect(prospect_id, "olga")
    assert asked.status is ProspectStatus.CONVERTING
    assert billing.exports == {}  # nothing leaves before the relay runs
    report = engine.deliver_outbox()
    assert len(report.delivered) == 1
    [(key, client_id)] = billing.exports.items()
    assert key == f"<outbox-{report.delivered[0]}.crmcms@crm.test>"
    done = engine.prospect(prospect_id)
    assert (done.status, done.client_id) == (ProspectStatus.CONVERTED, client_id)
    assert done.exported_at is not None
    assert engine.contact(contact_id).client_id == client_id
    last = engine.history(appeal_id)[-1]
    assert last.kind is HistoryKind.CLIENT_ASSIGNED
    assert [(c.field, c.old, c.new) for c in last.changes] == [("client_id", None, client_id)]
    assert f"prospect {prospect_id} became client {client_id}" in last.comment
    with pytest.raises(ConversionError, match=f"already is client {client_id}") as twice:
        engine.convert_prospect(prospect_id, "olga")
    assert twice.value.client_id == client_id
    with pytest.raises(ValidationError, match="prospect_id"):
        engine.register_contact("olga", prospect_id=prospect_id)


def test_a_conversion_under_way_is_not_asked_twice(world: tuple) -> None:
    engine, billing, _ = world
    prospect_id, _, _ = _with_contact(engine)
    engine.convert_prospect(prospect_id, "olga")
    with pytest.raises(ConversionError, match="under way"):
        engine.convert_prospect(prospect_id, "olga")
    engine.deliver_outbox()
    assert len(billing.exports) == 1


def test_billing_down_then_up_makes_one_client_and_moves_the_contacts_once(
    world: tuple,
) -> None:
    engine, billing, clock = world
    prospect_id, contact_id, appeal_id = _with_contact(engine)
    billing.export_failures.append(ConnectionError("billing unreachable"))
    engine.convert_prospect(prospect_id, "olga")
    first = engine.deliver_outbox()
    [busy] = first.retried
    assert "billing unreachable" in first.errors[busy]
    assert engine.prospect(prospect_id).status is ProspectStatus.CONVERTING
    assert engine.contact(contact_id).client_id is None
    clock.advance(hours=1)  # past the back-off
    second = engine.deliver_outbox()
    assert second.delivered == first.retried
    [client_id] = billing.exports.values()
    assert engine.contact(contact_id).client_id == client_id
    kinds = [e.kind for e in engine.history(appeal_id)]
    assert kinds.count(HistoryKind.CLIENT_ASSIGNED) == 1


def test_billing_refusing_leaves_a_prospect_and_reports_why(world: tuple) -> None:
    engine, billing, _ = world
    prospect_id, contact_id, _ = _with_contact(engine)
    billing.export_failures.append(
        DeliveryError("billing", "passport data missing", permanent=True, hook="export")
    )
    engine.convert_prospect(prospect_id, "olga")
    report = engine.deliver_outbox()
    assert len(report.dead) == 1
    assert "passport data missing" in report.errors[report.dead[0]]
    left = engine.prospect(prospect_id)
    assert left.status is ProspectStatus.PROSPECT
    assert "passport data missing" in left.conversion_error
    assert engine.contact(contact_id).client_id is None
    assert billing.exports == {}
    engine.convert_prospect(prospect_id, "olga")  # asked again, once billing has the data
    assert len(engine.deliver_outbox().delivered) == 1
    assert engine.prospect(prospect_id).status is ProspectStatus.CONVERTED


def test_a_worker_killed_after_billing_answered_makes_no_second_client(world: tuple) -> None:
    engine, billing, clock = world
    prospect_id, contact_id, _ = _with_contact(engine)
    answered: list[int] = []

    def die(_prospect: object, client_id: int) -> None:
        answered.append(client_id)
        billing.after_export = None
        raise Killed  # billing made the client; our commit never happens

    billing.after_export = die
    engine.convert_prospect(prospect_id, "olga")
    with pytest.raises(Killed):
        engine.deliver_outbox()
    assert engine.prospect(prospect_id).status is ProspectStatus.CONVERTING
    assert engine.deliver_outbox().claimed == 0  # still leased to the dead worker
    clock.advance(minutes=6)  # the lease has expired: another worker takes the message
    again = engine.deliver_outbox()
    assert len(again.delivered) == 1
    assert len(billing.exports) == 1  # the same key, so the same client
    assert engine.prospect(prospect_id).client_id == answered[0]
    assert engine.contact(contact_id).client_id == answered[0]


def test_tries_used_up_are_reported_and_the_message_revived_converts(world: tuple) -> None:
    engine, billing, clock = world
    engine.runtime.plugins.unregister(billing)
    prospect_id, contact_id, _ = _with_contact(engine)
    engine.convert_prospect(prospect_id, "olga")
    for _ in range(3):
        report = engine.deliver_outbox()
        clock.advance(hours=2)
    [dead] = report.dead
    left = engine.prospect(prospect_id)
    # Billing may have made the client before the last try failed: still converting, so
    # that reviving the message asks with the same key instead of making another client.
    assert left.status is ProspectStatus.CONVERTING
    assert "no plugin implements crmcms_export_prospect" in left.conversion_error
    with pytest.raises(ConversionError, match="under way"):
        engine.convert_prospect(prospect_id, "olga")
    engine.runtime.plugins.register(billing)
    with engine.runtime.uow_factory() as uow:
        uow.outbox.retry([dead], now=clock.now)
        uow.commit()
    assert engine.deliver_outbox().delivered == (dead,)
    [client_id] = billing.exports.values()
    assert engine.contact(contact_id).client_id == client_id


def test_a_conversion_delivered_after_commit_is_done_when_the_action_returns() -> None:
    billing = FakeBilling()
    store = MemoryStore()
    engine = Engine(
        load_catalog_text(DEFINITIONS),
        store.unit_of_work,
        plugins=make_plugin_manager([billing], load_entry_points=False),
        deliver_after_commit=True,
        trust_logins=True,
    )
    prospect_id, contact_id, _ = _with_contact(engine)
    engine.convert_prospect(prospect_id, "olga")
    assert engine.prospect(prospect_id).status is ProspectStatus.CONVERTED
    [client_id] = billing.exports.values()
    assert engine.contact(contact_id).client_id == client_id
    with store.unit_of_work() as uow:
        [message] = uow.outbox.find()
    assert message.status is OutboxStatus.DELIVERED
