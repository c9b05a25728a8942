"""The prospects part of ``crmcms demo``: a caller who is not yet a client becomes one, billing
making the client through the outbox, and their contact follows."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

from rich.console import Console
from rich.table import Table

from crmcms.engine import AppealDraft, Engine, UnitOfWorkFactory
from crmcms.errors import ConfigurationError
from crmcms.model import SYSTEM, Catalog
from crmcms.plugins import make_plugin_manager

__all__ = ["billing_example", "run_prospects_demo"]


def billing_example() -> ModuleType:
    """``examples/plugins/billing.py``, shipped beside the example configuration."""
    from crmcms.entrypoints.demo import examples_dir

    path = examples_dir().parent / "plugins" / "billing.py"
    spec = importlib.util.spec_from_file_location("crmcms_example_billing", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ConfigurationError(f"the example billing plugin ({path}) is not installed")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_prospects_demo(
    catalog: Catalog, out: Console, uow_factory: UnitOfWorkFactory, ledger: Path | None
) -> int:
    """Register a prospect and a call of theirs, convert them through the example billing
    plugin (its clients kept in ``ledger``) by running the outbox relay; the client's id."""
    billing = billing_example().Ledger(ledger)
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(catalog, uow_factory, plugins=plugins)
    olga = engine.trusted("olga")
    out.print("[bold]Prospects[/bold]: a caller who is not a client yet signs up")
    prospect = engine.register_prospect(
        olga, name="Пётр Смирнов", phone="+7 921 555-01-02", region="Санкт-Петербург"
    )
    call = engine.register_contact(
        olga,
        place="CC",
        channel="PHONE",
        prospect_id=prospect.id,
        comment="переезжает, спрашивает о переносе номера",
        drafts=[AppealDraft("TERMINATION", {"166": "Переезд", "168": date(2026, 4, 1)})],
    )
    engine.convert_prospect(prospect.id, olga)
    report = engine.deliver_outbox()  # what crmcms worker does: billing is asked here
    done = engine.prospect(prospect.id, operator=olga)
    contact = engine.contact(call.contact.id, operator=olga)
    table = Table("prospect", "status", "client", "contact", "contact's client")
    table.add_row(
        f"{prospect.id} {prospect.name}",
        done.status.value,
        str(done.client_id),
        str(contact.id),
        str(contact.client_id),
    )
    out.print(table)
    last = engine.history(call.appeals[0].id, operator=SYSTEM)[-1]
    out.print(
        f"The outbox relay (what crmcms worker runs) delivered {len(report.delivered)} "
        f"message(s), the conversion among them; appeal {last.appeal_id} recorded "
        f"{last.kind.value}: {last.comment}"
    )
    assert done.client_id is not None
    return done.client_id
