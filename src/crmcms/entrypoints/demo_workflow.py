"""The workflow part of ``crmcms demo``: contacts and appeals of the example run their routes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from crmcms.engine import AppealDraft, Engine, Notification, UnitOfWorkFactory
from crmcms.errors import CrmcmsError
from crmcms.model import Catalog
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.memory import MemoryStore

__all__ = ["run_workflow_demo"]

CLIENTS = {
    "1": {
        "Id": "1",
        "Name": "ООО Ромашка",
        "Category": "BIS",
        "Region": "Moscow",
        "Email": "office@romashka.example",
    },
    "2": {
        "Id": "2",
        "Name": "Иванов И.И.",
        "Category": "VIP",
        "Region": "Pskov",
        "Email": "ivanov@mail.example",
    },
    "3": {
        "Id": "3",
        "Name": "Петров П.П.",
        "Category": "BIS",
        "Region": "Pskov",
        "Email": "petrov@mail.example",
    },
}


class _Billing:
    """Stands in for the billing system: clients, and an outbox for notifications."""

    def __init__(self) -> None:
        self.outbox: list[Notification] = []

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return CLIENTS.get(client_id)

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.outbox.append(notification)


def run_workflow_demo(
    catalog: Catalog, out: Console, uow_factory: UnitOfWorkFactory | None = None
) -> None:
    """Register the seed's termination appeals and take them through their route.

    ``uow_factory`` is where they are stored (default: in memory).
    """
    billing = _Billing()
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    if uow_factory is None:
        uow_factory = MemoryStore().unit_of_work
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(catalog, uow_factory, plugins=plugins, clock=lambda: now, trust_logins=True)
    values = {"166": "Переезд", "168": date(2026, 4, 1)}
    out.print("[bold]Workflow[/bold]: termination appeals of three clients")
    ids = {}
    for client in ("1", "2", "3"):
        reg = engine.register_contact(
            "olga",
            place="CC",
            channel="PHONE",
            client_id=int(client),
            drafts=[AppealDraft("TERMINATION", values)],
        )
        ids[client] = reg.appeals[0].id
    try:
        engine.register_contact(
            "olga",
            place="CC",
            channel="PHONE",
            client_id=1,
            drafts=[AppealDraft("TERMINATION", {"168": "tomorrow"})],
        )
    except CrmcmsError as err:
        out.print(f"Appeal with faulty values refused, nothing stored:\n{err}")

    moves = Table("client", "category / region", "transition", "result")
    for client, appeal_id in ids.items():
        info = CLIENTS[client]
        who = f"{info['Category']} / {info['Region']}"
        try:
            moved = engine.transition(appeal_id, "olga", "to_sd")
            result = f"now in {moved.process}, queue {moved.queue}"
        except CrmcmsError as err:
            result = f"refused: {err}"
        moves.add_row(info["Name"], who, "to_sd", result)
    out.print(moves)
    out.print(str(engine.why_in_queue(ids["3"])))

    child = engine.create_child(ids["1"], "olga", "TERMINATION", values, description="billing")
    try:
        engine.close(ids["1"], "bis")
    except CrmcmsError as err:
        out.print(f"Closing the parent first is refused: {err}")
    engine.close(child.id, "bis")
    engine.close(ids["1"], "bis", comment="Договор расторгнут")

    history = Table("event", "by", "changes", "comment", "queue chosen because")
    for event in engine.history(ids["1"]):
        changes = ", ".join(f"{c.field}: {c.old} -> {c.new}" for c in event.changes)
        by = event.operator or "system"
        history.add_row(event.kind.value, by, changes, event.comment, event.reason)
    out.print(f"[bold]History of appeal {ids['1']}[/bold]")
    out.print(history)
    # The actions wrote their notifications to the outbox; a worker would deliver them now.
    report = engine.deliver_outbox()
    out.print(f"Outbox: {len(report.delivered)} notification(s) delivered after commit")
    for n in billing.outbox:
        out.print(f"Notification {n.kind.value} to {', '.join(n.to) or '-'}: {n.subject}")
