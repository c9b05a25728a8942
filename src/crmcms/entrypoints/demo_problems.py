"""The system problems part of ``crmcms demo``: an outage in Pskov links the appeals of its
region as they are registered, and resolving it moves them all and tells every client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from crmcms.engine import AppealDraft, Engine, Notification, NotificationKind, UnitOfWorkFactory
from crmcms.entrypoints.demo_workflow import CLIENTS
from crmcms.model import Catalog
from crmcms.plugins import hookimpl, make_plugin_manager

__all__ = ["run_problems_demo"]

RULE = 'Client.Region = "Pskov" and Appeal.Topic.Code = "NO_SERVICE"'


class _Billing:
    """The client directory, and where the clients' notifications arrive."""

    def __init__(self) -> None:
        self.told: list[Notification] = []

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return CLIENTS.get(client_id)

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.told.append(notification)


def run_problems_demo(catalog: Catalog, out: Console, uow_factory: UnitOfWorkFactory) -> None:
    """Register an outage, let calls come in, resolve it at once."""
    billing = _Billing()
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(catalog, uow_factory, plugins=plugins)
    olga, bis = engine.trusted("olga"), engine.trusted("bis")
    out.print("[bold]System problems[/bold]: an outage links its region's calls, then closes them")
    problem = engine.problems.register(
        olga,
        "Авария на узле связи в Пскове",
        values={"REGION": "Pskov", "SERVICE": "Интернет"},
        rule=RULE,
        since=engine.runtime.clock(),
    )
    out.print(f"olga registers system problem {problem.id} “{problem.title}” with the rule {RULE}")
    calls = Table("client", "region", "appeal", "operator is told")
    for client_id in ("2", "1", "3", "2"):
        made = engine.register_contact(
            olga,
            place="CC",
            channel="PHONE",
            client_id=int(client_id),
            drafts=[AppealDraft("NO_SERVICE")],
        )
        shown = ", ".join(f"system problem {p.id}: {p.title}" for p in made.problems)
        client = CLIENTS[client_id]
        calls.add_row(client["Name"], client["Region"], str(made.appeals[0].id), shown or "—")
    out.print(calls)
    engine.problems.confirm(problem.id, olga)
    resolved = engine.problems.resolve(
        problem.id, olga, transition="service_restored", resolution="Узел восстановлен в 14:20"
    )
    engine.deliver_outbox()
    told = [n for n in billing.told if n.kind is NotificationKind.PROBLEM_RESOLVED]
    moved = Table("appeal", "now in", "client told")
    for item in resolved.result.items:
        appeal = engine.appeal(item.appeal_id, operator=bis)
        names = [
            CLIENTS[n.to[0].removeprefix("client:")]["Name"]
            for n in told
            if n.appeal_id == item.appeal_id
        ]
        moved.add_row(str(item.appeal_id), appeal.process, ", ".join(names))
    out.print(
        f"Resolved along service_restored in one bulk operation: {len(resolved.result.succeeded)}"
        f" appeals moved, {len(resolved.result.failed)} refused"
    )
    out.print(moved)
    engine.problems.close(problem.id, olga)
