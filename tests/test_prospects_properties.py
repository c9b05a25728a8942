"""Property: whatever registrations, attachments, conversions and billing failures happen,
every contact is its prospect's or the converted client's, and no client is made twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st
from tests.test_prospects import DEFINITIONS, Killed

from crmcms import AppealDraft, Engine, RelaySettings
from crmcms.dsl import load_catalog_text
from crmcms.errors import (
    ConversionError,
    DeliveryError,
    NotFoundError,
    ValidationError,
    WorkflowError,
)
from crmcms.model import OutboxStatus, ProspectStatus
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.testing.engine import FakeBilling, ManualClock

CATALOG = load_catalog_text(DEFINITIONS)
SETTINGS = RelaySettings(
    retry_base=timedelta(seconds=1),
    retry_cap=timedelta(minutes=1),
    max_attempts=3,
    lease=timedelta(minutes=5),
)

index = st.integers(0, 5)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("prospect")),
        st.tuples(st.just("contact"), index),
        st.tuples(st.just("loose")),
        st.tuples(st.just("attach"), index, index),
        st.tuples(st.just("convert"), index),
        st.tuples(st.just("fail"), st.sampled_from(["down", "refuse", "kill"])),
        st.tuples(st.just("relay")),
        st.tuples(st.just("revive")),
    ),
    max_size=30,
)


def _pick(ids: list[int], i: int) -> int:
    return ids[i % len(ids)] if ids else 4242


def _check(engine: Engine, billing: FakeBilling, contacts: list[int]) -> None:
    prospects = {p.id: p for p in engine.prospects(limit=1000)}
    for contact_id in contacts:
        contact = engine.contact(contact_id)
        prospect = prospects.get(contact.prospect_id) if contact.prospect_id else None
        if prospect is None:
            assert contact.client_id is None
        elif prospect.status is ProspectStatus.CONVERTED:
            assert contact.client_id == prospect.client_id
        else:
            assert contact.client_id is None
    made = Counter(prospect_id for prospect_id, _ in billing.created)
    assert all(n == 1 for n in made.values()), billing.created
    for prospect_id, client_id in billing.created:
        if prospects[prospect_id].client_id is not None:
            assert prospects[prospect_id].client_id == client_id


@settings(max_examples=60, deadline=None)
@given(steps)
def test_contacts_belong_to_their_prospect_or_its_client_and_clients_are_made_once(
    plan: list[tuple],
) -> None:
    store, clock, billing = MemoryStore(), ManualClock(), FakeBilling()
    engine = Engine(
        CATALOG,
        store.unit_of_work,
        plugins=make_plugin_manager([billing], load_entry_points=False),
        clock=clock,
        relay=SETTINGS,
        trust_logins=True,
    )
    prospects: list[int] = []
    contacts: list[int] = []
    kills = 0

    def die(_prospect: object, _client_id: int) -> None:
        nonlocal kills
        kills -= 1
        if kills <= 0:
            billing.after_export = None
        raise Killed

    for name in ("Иван", "Мария"):  # two to start with, so that most plans convert
        prospects.append(engine.register_prospect("olga", name=name).id)
        contacts.append(engine.register_contact("olga", prospect_id=prospects[-1]).contact.id)
    for step in plan:
        kind = step[0]
        try:
            if kind == "prospect":
                prospects.append(engine.register_prospect("olga", name="Иван").id)
            elif kind == "contact":
                call = engine.register_contact(
                    "olga", prospect_id=_pick(prospects, step[1]), drafts=[AppealDraft("Q")]
                )
                contacts.append(call.contact.id)
            elif kind == "loose":
                contacts.append(engine.register_contact("olga").contact.id)
            elif kind == "attach":
                engine.attach_to_prospect(
                    _pick(prospects, step[1]), _pick(contacts, step[2]), "olga"
                )
            elif kind == "convert":
                engine.convert_prospect(_pick(prospects, step[1]), "olga")
            elif kind == "fail":
                if step[1] == "down":
                    billing.export_failures.append(ConnectionError("billing down"))
                elif step[1] == "refuse":
                    billing.export_failures.append(
                        DeliveryError("billing", "refused", permanent=True)
                    )
                else:
                    kills += 1
                    billing.after_export = die
            elif kind == "relay":
                try:
                    engine.deliver_outbox()
                finally:
                    clock.advance(minutes=6)
            else:
                with store.unit_of_work() as uow:
                    uow.outbox.retry(uow.outbox.dead_ids(), now=clock.now)
                    uow.commit()
        except (Killed, ValidationError, NotFoundError, WorkflowError, ConversionError):
            pass
        _check(engine, billing, contacts)

    # Billing well again: what is under way ends, one way or the other, and still holds.
    billing.export_failures.clear()
    billing.after_export = None
    for _ in range(4):
        with store.unit_of_work() as uow:
            uow.outbox.retry(uow.outbox.dead_ids(), now=clock.now)
            uow.commit()
        engine.deliver_outbox()
        clock.advance(minutes=6)
    _check(engine, billing, contacts)
    with store.unit_of_work() as uow:
        assert uow.outbox.find(status=OutboxStatus.PENDING) == []
    assert all(p.status is not ProspectStatus.CONVERTING for p in engine.prospects(limit=1000))
    converted = sum(p.client_id is not None for p in engine.prospects(limit=1000))
    event(f"prospects converted: {min(converted, 3)}{'+' if converted > 3 else ''}")
