"""The deadlines part of ``crmcms demo``: an appeal's clocks run out, its ladder escalates,
and the mail goes through the outbox to an SMTP server the demo starts on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from rich.console import Console
from rich.table import Table

from crmcms.engine import AppealDraft, Engine, UnitOfWorkFactory
from crmcms.engine.sla import SlaFinding
from crmcms.entrypoints.demo_workflow import CLIENTS
from crmcms.mail import MailPlugin, MailSettings, client_directory
from crmcms.model import Appeal, Catalog, ClockKind, SlaClock, timeline
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.testing.engine import ManualClock

__all__ = ["SlaDemoResult", "run_sla_demo"]

MOSCOW = ZoneInfo("Europe/Moscow")
START = datetime(2026, 3, 2, 10, 0, tzinfo=MOSCOW)
"""Monday 10:00 in Moscow: the appeal is registered at the start of a working week."""


class _Directory:
    """The client directory of billing: the demo's clients, with their e-mail addresses."""

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return CLIENTS.get(client_id)


def _local(moment: datetime | None, *, year: bool = False) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(MOSCOW).strftime("%a %d.%m.%Y %H:%M" if year else "%a %d.%m %H:%M")


def _span(amount: timedelta | None) -> str:
    if amount is None:
        return "-"
    sign = "-" if amount < timedelta(0) else ""
    minutes = abs(amount) // timedelta(minutes=1)
    days, rest = divmod(minutes, 24 * 60)
    return (
        f"{sign}{days}d {rest // 60:02d}:{rest % 60:02d}"
        if days
        else f"{sign}{rest // 60}:{rest % 60:02d}"
    )


def _state(clock: SlaClock) -> str:
    if clock.stopped_at is not None:
        return "stopped"
    if clock.paused:
        return "paused"
    if clock.breached_at is not None:
        return "[red]breached[/red]"
    return "running"


def _clocks_table(clocks: tuple[SlaClock, ...], title: str) -> Table:
    table = Table("clock", "started", "due (Moscow)", "elapsed", "remaining", "state", title=title)
    for clock in clocks:
        table.add_row(
            clock.key,
            _local(clock.start),
            _local(clock.due),
            _span(clock.elapsed),
            _span(clock.remaining),
            _state(clock),
        )
    return table


def _server() -> Any:
    """A local SMTP server, when the ``demo`` extra (aiosmtpd) is installed."""
    try:
        from crmcms.testing.smtp import SmtpTestServer

        return SmtpTestServer().start()
    except ImportError:
        return None


@attrs.frozen
class SlaDemoResult:
    """What the deadlines part showed: the levels that fired on its appeal, the appeal as the
    ladder left it, and the e-mail the SMTP server received (empty without the demo extra)."""

    appeal: Appeal
    findings: tuple[tuple[datetime, SlaFinding], ...]
    mails: tuple[Any, ...]


CALENDAR_EXAMPLES = (
    (datetime(2026, 3, 2, 10, 0, tzinfo=MOSCOW), "5 working days", 5, None),
    (datetime(2026, 3, 6, 17, 0, tzinfo=MOSCOW), "4 working hours", 0, timedelta(hours=4)),
    (datetime(2026, 12, 30, 16, 0, tzinfo=MOSCOW), "1 working day", 1, None),
    (datetime(2027, 2, 19, 17, 30, tzinfo=MOSCOW), "2 working hours", 0, timedelta(hours=2)),
)
"""Deadlines across a weekend and a holiday, the New Year holidays and a moved working day."""


def show_calendar(catalog: Catalog, out: Console, code: str = "MOSCOW") -> list[datetime]:
    """Deadlines counted in business calendar ``code`` beside the same ones on the wall clock;
    returns the business due times."""
    calendar = catalog.calendar(code)
    line = timeline(calendar)
    table = Table(
        "from (Moscow)",
        "allowed",
        "due in business time",
        "on the wall clock",
        title=f"Deadlines in calendar {code} ({calendar.name}, {calendar.timezone})",
    )
    dues = []
    for start, words, days, hours in CALENDAR_EXAMPLES:
        if hours is None:
            due, plain = line.add_days(start, days), start + timedelta(days=days)
        else:
            due, plain = line.add(start, hours), start + hours
        dues.append(due)
        table.add_row(
            _local(start, year=True), words, _local(due, year=True), _local(plain, year=True)
        )
    out.print(table)
    return dues


def run_sla_demo(catalog: Catalog, out: Console, uow_factory: UnitOfWorkFactory) -> SlaDemoResult:
    """One termination appeal waits too long: its clocks, the ladder's levels as they fire,
    and the e-mail the outbox delivers once each scan has committed."""
    show_calendar(catalog, out)
    server = _server()
    out.print("[bold]Deadlines[/bold]: one appeal left waiting in the service desk")
    if server is None:
        out.print("(install the demo extra, pip install 'crmcms[demo]', to see the e-mail)")
    clock = ManualClock(START.astimezone(UTC))
    pm = make_plugin_manager([_Directory()], load_entry_points=False)
    if server is not None:
        settings = MailSettings(host=server.host, port=server.port, sender="crm@operator.example")
        pm.register(MailPlugin(settings, catalog, clients=client_directory(pm)))
    engine = Engine(catalog, uow_factory, plugins=pm, clock=clock, trust_logins=True)
    try:
        return _walk(engine, clock, out, server)
    finally:
        if server is not None:
            server.stop()


def _walk(engine: Engine, clock: ManualClock, out: Console, server: Any) -> SlaDemoResult:
    values = {"166": "Переезд", "168": date(2026, 4, 1)}
    registration = engine.register_contact(
        "olga",
        place="CC",
        channel="PHONE",
        client_id=1,
        drafts=[AppealDraft("TERMINATION", values)],
    )
    appeal_id = registration.appeals[0].id
    engine.take(appeal_id, "olga")
    moved = engine.transition(appeal_id, "olga", "to_sd")
    out.print(
        f"Appeal {appeal_id} registered {_local(START)} (Moscow), taken by olga, handed to "
        f"{moved.process} in queue {moved.queue}"
    )
    clocks = engine.sla_clocks(appeal_id)
    out.print(_clocks_table(clocks, "SLA clocks after hand-over"))
    engine.deliver_outbox()
    first_mail = len(server.mails) if server is not None else 0

    process_clock = next(c for c in clocks if c.kind is ClockKind.PROCESS)
    resolution = next(c for c in clocks if c.kind is ClockKind.RESOLUTION)
    assert process_clock.due is not None
    assert resolution.due is not None
    minute = timedelta(minutes=1)
    half = resolution.start + (resolution.due - resolution.start) / 2
    moments = sorted(
        {
            process_clock.due - timedelta(hours=3),  # inside the process's warning period
            process_clock.due + minute,  # the process deadline is broken
            half + minute,  # half the appeal's time is gone
            resolution.due - timedelta(days=1) + minute,  # a day before the appeal's end
            resolution.due + minute,  # the appeal's deadline is broken
        }
    )
    out.print(
        "The monitor (what crmcms worker runs) scans at five moments; the outbox delivers "
        "after each scan has committed. It scans every open appeal: those of the workflow "
        "part escalate too."
    )
    fired = Table("scan at (Moscow)", "clock", "level", "kind", "told somebody")
    findings: list[tuple[datetime, SlaFinding]] = []
    for moment in moments:
        clock.now = moment
        for finding in engine.scan_deadlines():
            if finding.appeal_id != appeal_id:
                continue  # the workflow part's appeals, and those of earlier runs
            findings.append((moment, finding))
            fired.add_row(
                _local(moment),
                finding.clock or finding.scope,
                str(finding.step + 1),
                finding.level.value.replace("_", " "),
                "yes" if finding.notified else "",
            )
        engine.deliver_outbox()
    out.print(fired)
    appeal = engine.appeal(appeal_id)
    out.print(
        f"After the ladder: priority {appeal.priority or '-'}, queue {appeal.queue}, "
        f"process {appeal.process}"
    )
    out.print(_clocks_table(engine.sla_clocks(appeal_id), "SLA clocks at the end"))
    if server is None:
        return SlaDemoResult(appeal, tuple(findings), ())
    mails = tuple(m for m in server.mails[first_mail:] if f" {appeal_id} " in _subject(m))
    received = Table(
        "Message-ID",
        "to",
        "subject",
        title=f"E-mail about appeal {appeal_id} received on {server.url}",
    )
    for mail in mails:
        received.add_row(mail.message_id, ", ".join(mail.recipients), _subject(mail))
    out.print(received)
    return SlaDemoResult(appeal, tuple(findings), mails)


def _subject(mail: Any) -> str:
    return str(mail.message["Subject"])
