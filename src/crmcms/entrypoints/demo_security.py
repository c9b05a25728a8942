"""The security part of ``crmcms demo``: an operator logs in with a password, works under the
session's principal, and what is not hers to see or do is refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from crmcms.engine import AppealDraft, Engine, KeyProfile, LoginGateway, UnitOfWorkFactory
from crmcms.entrypoints.demo_workflow import CLIENTS
from crmcms.errors import CrmcmsError
from crmcms.model import SYSTEM, Catalog, Principal
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.sql.logins import SqlLoginStore
from crmcms.testing.engine import ManualClock

__all__ = ["run_security_demo"]

PASSWORD = "кошка на окне 2026"
"""Olga's password in the demo (a passphrase: long beats clever)."""


class _Directory:
    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return CLIENTS.get(client_id)


def _outcome(attempt: Callable[[], object]) -> str:
    try:
        attempt()
    except CrmcmsError as refused:
        return f"[red]refused[/red] ({type(refused).__name__}): {refused}"
    return "[green]done[/green]"


def run_security_demo(
    catalog: Catalog, out: Console, uow_factory: UnitOfWorkFactory, database_url: str
) -> None:
    """Log olga in against the demo database and show her principal's bounds."""
    clock = ManualClock(datetime.now(UTC))
    logins = SqlLoginStore(database_url)
    # The production profile: a login costs a guess what it costs olga.
    gateway = LoginGateway(logins, catalog, profile=KeyProfile.RFC_9106_LOW_MEMORY, clock=clock)
    gateway.set_password(SYSTEM, "olga", PASSWORD)
    plugins = make_plugin_manager([_Directory()], load_entry_points=False)
    engine = Engine(catalog, uow_factory, plugins=plugins)

    out.print("[bold]Security[/bold]: a password login, a session, and what it may not do")
    steps = Table("who", "tries", "outcome")
    steps.add_row(
        "olga", "log in with a wrong password", _outcome(lambda: gateway.authenticate("olga", "x"))
    )
    steps.add_row(
        "olga",
        "the right one at once",
        _outcome(lambda: gateway.authenticate("olga", PASSWORD)),
    )
    clock.advance(seconds=2)
    session = gateway.authenticate("olga", PASSWORD, source="127.0.0.1")
    olga = gateway.resolve(session.token)
    steps.add_row(
        "olga",
        "the right one, a little later",
        f"[green]session[/green] {session.token[:6]}… (256 bits; the database keeps its "
        f"SHA-256), until {session.expires_at:%H:%M} UTC",
    )
    made = engine.register_contact(
        olga,
        place="CC",
        channel="PHONE",
        client_id=1,
        drafts=[AppealDraft("TERMINATION", {"166": "Переезд", "168": date(2026, 4, 1)})],
    )
    appeal = made.appeals[0]
    steps.add_row("olga", f"register appeal {appeal.id}", "[green]done[/green]")
    steps.add_row(
        "olga",
        f"read appeal {appeal.id}",
        _outcome(lambda: engine.appeal(appeal.id, operator=olga)),
    )
    moved = engine.transition(appeal.id, olga, "to_sd")
    steps.add_row("olga", "hand it to the SD queue", f"[green]done[/green]: queue {moved.queue}")
    later = moved.registered_at + timedelta(days=10)

    def change(who: Principal) -> Callable[[], object]:
        return lambda: engine.change_deadlines(appeal.id, who, deadline=later, reason="agreed")

    steps.add_row("olga", "change its deadline", _outcome(change(olga)))
    admin = engine.trusted("Администратор")
    steps.add_row(
        "Администратор (queue administrator)", "change its deadline", _outcome(change(admin))
    )
    steps.add_row("a bare login", "act as olga", _outcome(lambda: engine.take(appeal.id, "olga")))
    steps.add_row(
        "olga",
        "close with a 5,000-character comment",
        _outcome(lambda: engine.close(appeal.id, olga, comment="x" * 5000)),
    )
    gateway.logout(session.token)
    steps.add_row(
        "olga",
        "use the session after logging out",
        _outcome(lambda: gateway.resolve(session.token)),
    )
    out.print(steps)
    recent = gateway.audit(SYSTEM, login="olga", limit=5)
    out.print(
        "Audit of olga, newest first: " + ", ".join(f"{e.kind} ({e.outcome})" for e in recent)
    )
    logins.dispose()
