"""The example billing plugin: one client per idempotency key, kept across restarts."""

from __future__ import annotations

import pathlib

import pytest
from examples.plugins.billing import Ledger
from tests.test_prospects import DEFINITIONS

from crmcms import AppealDraft, DeliveryError, Engine, Prospect, ProspectStatus
from crmcms.dsl import load_catalog_text
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore


def test_a_key_seen_before_gives_the_same_client_even_after_a_restart(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "ledger.json"
    ivan = Prospect(1, "Иван Петров", phone="+79123456789", region="Псков")
    first = Ledger(path).crmcms_export_prospect(prospect=ivan, idempotency_key="<k1>")
    again = Ledger(path)  # billing restarted between the two tries
    assert again.crmcms_export_prospect(prospect=ivan, idempotency_key="<k1>") == first
    other = again.crmcms_export_prospect(prospect=ivan, idempotency_key="<k2>")
    assert other == first + 1
    assert again.crmcms_find_client(client_id=str(first))["Region"] == "Псков"  # type: ignore[index]


def test_a_prospect_billing_cannot_reach_is_refused_for_good() -> None:
    with pytest.raises(DeliveryError, match="phone or an e-mail") as refused:
        Ledger().crmcms_export_prospect(prospect=Prospect(1, "Аноним"), idempotency_key="<k>")
    assert refused.value.permanent


def test_an_engine_converts_through_the_ledger() -> None:
    ledger = Ledger()
    engine = Engine(
        load_catalog_text(DEFINITIONS),
        MemoryStore().unit_of_work,
        plugins=make_plugin_manager([ledger], load_entry_points=False),
        trust_logins=True,
    )
    prospect = engine.register_prospect("olga", name="Иван Петров", email="ivan@example.com")
    call = engine.register_contact("olga", prospect_id=prospect.id, drafts=[AppealDraft("Q")])
    engine.convert_prospect(prospect.id, "olga")
    engine.deliver_outbox()
    converted = engine.prospect(prospect.id)
    assert converted.status is ProspectStatus.CONVERTED
    assert converted.client_id == 1000
    assert engine.contact(call.contact.id).client_id == 1000
    # The client is billing's now: contacts registered for it find it there.
    later = engine.register_contact("olga", client_id=1000)
    assert later.contact.client_id == 1000
