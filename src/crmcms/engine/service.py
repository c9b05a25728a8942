"""The engine's front door: every operator action, each in its own unit of work."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timedelta
from typing import TypeVar

import pluggy

from crmcms.engine import prospects as prospecting
from crmcms.engine import sla
from crmcms.engine.action_runner import Acting, utc_now
from crmcms.engine.attachment_desk import AttachmentDesk
from crmcms.engine.audit import AuditLog
from crmcms.engine.bulk_desk import BulkDesk
from crmcms.engine.clock_store import clocks_now, recompute_appeal
from crmcms.engine.file_store import FileStore
from crmcms.engine.history import QueueExplanation, explain_queue, replay
from crmcms.engine.limits import Limits
from crmcms.engine.note_desk import NoteDesk
from crmcms.engine.obstacles import may_read, read_scope
from crmcms.engine.ports import DictionaryQueries, UnitOfWorkFactory
from crmcms.engine.problem_desk import SystemProblems
from crmcms.engine.prospect_desk import ProspectDesk
from crmcms.engine.registration_desk import ContactRegistration, RegistrationDesk
from crmcms.engine.relay import DeliveryReport, RelaySettings
from crmcms.engine.report_queries import ReportQueries
from crmcms.engine.reports import ReportRunner, report_period
from crmcms.engine.rules import RuleBook, engine_schema
from crmcms.engine.runtime import Runtime
from crmcms.engine.sla import SlaRetry, SlaScan
from crmcms.engine.sla_view import sla_view
from crmcms.engine.transaction import Tx
from crmcms.engine.webhook_desk import WebhookDesk
from crmcms.engine.webhook_store import WebhookStore
from crmcms.errors import (
    ConcurrencyError,
    NotFoundError,
)
from crmcms.export import ReportTable
from crmcms.model import (
    PROSPECT_CONVERSION,
    Appeal,
    Catalog,
    Contact,
    HistoryEvent,
    Permission,
    ReportDefinition,
    SlaAttempt,
    SlaClock,
    SlaView,
)

__all__ = ["Acting", "ContactRegistration", "Engine"]

T = TypeVar("T")

log = logging.getLogger("crmcms.sla")


class Engine(RegistrationDesk, BulkDesk, NoteDesk, ProspectDesk, WebhookDesk, AttachmentDesk):
    """Registers contacts and appeals and moves them along their routes.

    Every method is one transaction: it commits when it returns and changes nothing when
    it raises. ``operator`` arguments are principals (see :data:`Acting`): each action is
    checked against the permissions of the principal's roles, and reads return only what
    the principal may see. The catalog's rules are compiled once.
    """

    def __init__(
        self,
        catalog: Catalog,
        uow_factory: UnitOfWorkFactory,
        *,
        plugins: pluggy.PluginManager | None = None,
        clock: Callable[[], datetime] = utc_now,
        relay: RelaySettings | None = None,
        deliver_after_commit: bool = False,
        delivery_domain: str | None = None,
        sla_retry: SlaRetry | None = None,
        trust_logins: bool = False,
        limits: Limits | None = None,
        audit: AuditLog | None = None,
        dictionary_queries: DictionaryQueries | None = None,
        file_store: FileStore | None = None,
        publish_events_to: Collection[str] = (),
        webhook_store: WebhookStore | None = None,
        reports: ReportQueries | None = None,
    ) -> None:
        """``relay`` says how the outbox is delivered and retried; with
        ``deliver_after_commit`` an action delivers the notifications it wrote as soon as it
        has committed (for hosts that run no worker; what fails stays in the outbox).
        ``delivery_domain`` ends every delivery id (``<outbox-42.crmcms@domain>``): this
        host's name unless given. ``sla_retry`` says how the SLA monitor tries a failing
        escalation level again and when it gives it up. ``dictionary_queries`` runs the
        queries of query dictionaries (``SqlStore.dictionary_queries()``).

        With ``trust_logins`` the host vouches for whoever calls: a bare login acts as that
        operator with its catalog roles, and leaving ``operator`` out acts as the system (for
        scripts, tests and single-user tools). Without it, every action needs a principal,
        and acting as the system needs :data:`~crmcms.model.SYSTEM`. ``limits`` bounds what
        one request may carry (:class:`~crmcms.engine.limits.Limits`). ``file_store`` keeps
        attached files (a plugin's ``crmcms_file_store`` if not given).

        Every history event an action records goes through the outbox to the catalog's
        webhooks that want its kind and to each target in ``publish_events_to`` (``amqp``:
        the publisher ``crmcms worker --exchange`` registers), and to the subscriptions kept
        in ``webhook_store`` (:meth:`subscribe_webhook`).

        ``reports`` computes reports (``store.reports()``, or one on a read-only replica)."""
        self.limits = limits or Limits()
        self.audit = audit
        """Where refused actions are recorded (``refused`` audit events), if anywhere."""
        self.sla_retry = sla_retry or SlaRetry()
        self.trust_logins = trust_logins
        if plugins is None:
            from crmcms.plugins import make_plugin_manager

            plugins = make_plugin_manager()
        self.file_store = file_store or plugins.hook.crmcms_file_store()
        """Where attached files' bytes live (``None``: attaching is refused)."""
        rules = RuleBook(catalog, engine_schema(plugins, catalog))
        rules.compile_all()
        self.runtime = Runtime(
            catalog,
            uow_factory,
            plugins,
            rules,
            clock,
            relay=relay,
            deliver_after_commit=deliver_after_commit,
            delivery_domain=delivery_domain,
            dictionary_queries=dictionary_queries,
            publish_events_to=publish_events_to,
            webhook_store=webhook_store,
        )
        self.runtime.relay.deliverers[PROSPECT_CONVERSION] = prospecting.ConversionDeliverer(
            self.runtime, self.run
        )
        self.reporting = ReportRunner(self.runtime, reports)
        """Finds, checks and runs reports (see :meth:`report`)."""

    @functools.cached_property
    def problems(self) -> SystemProblems:
        """System problems (mass incidents): register, link appeals, resolve in bulk."""
        return SystemProblems(self)

    def sla_clocks(
        self, appeal_id: int, *, now: datetime | None = None, operator: Acting | None = None
    ) -> tuple[SlaClock, ...]:
        """The appeal's SLA clocks as of ``now`` (first response, resolution, processes),
        worked out from its history: elapsed and remaining are those of this moment."""
        return self.run(
            lambda tx: clocks_now(tx.uow, tx.catalog, tx.visible(appeal_id), tx.now),
            now=now,
            principal=self.principal(operator),
        )

    def recompute_deadlines(
        self,
        *,
        batch: int = 500,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Work out every open appeal's clocks again from its history and store them, ``batch``
        appeals per transaction; returns how many appeals' clocks changed.

        Call it after loading definitions that change deadlines, priorities' limits or
        calendars: stored due times (what the monitor searches) follow at once. ``progress``
        is told how many appeals each committed batch worked out.
        """
        changed, after = 0, 0

        def step(tx: Tx, after: int) -> tuple[int, list[int]]:
            ids = tx.uow.clocks.open_appeal_ids(after, batch)
            count = 0
            for appeal_id in ids:
                appeal = tx.appeal(appeal_id)
                found = recompute_appeal(tx.uow, tx.catalog, appeal, tx.now)
                if found.moved:
                    tx.reschedule(appeal, found.moved)
                count += found.changed or bool(found.moved)
            return count, ids

        while True:
            count, ids = self._retried(functools.partial(step, after=after), now)
            changed += count
            if not ids:
                return changed
            if progress is not None:
                progress(len(ids))
            after = ids[-1]

    def _retried(self, action: Callable[[Tx], T], now: datetime | None, tries: int = 3) -> T:
        """Run ``action``, again when an operator's action saved one of its appeals first."""
        for _ in range(tries - 1):
            try:
                return self.run(action, now=now)
            except ConcurrencyError:
                continue
        return self.run(action, now=now)

    def sla_view(
        self,
        *,
        within: timedelta = timedelta(hours=2),
        queue: str | None = None,
        limit: int = 50,
        now: datetime | None = None,
        operator: Acting | None = None,
    ) -> SlaView:
        """Open appeals overdue and at risk (a running clock due within ``within``), by queue,
        operator and topic, and the ``limit`` due first; counted by the storage query.
        Operators need the ``report`` and ``read_all`` permissions."""
        who = self.principal(operator)
        self._require(who, Permission.REPORT, "see the SLA view")
        self._require(who, Permission.READ_ALL, "see the SLA view of every queue")
        return self.run(lambda tx: sla_view(tx.uow, tx.now, within, queue, limit), now=now)

    # --- Reports ----------------------------------------------------------------------------

    def report_definitions(self, *, operator: Acting | None = None) -> list[ReportDefinition]:
        """Every report that may be run: the built-in ones, the definition files' and the
        plugins'. Operators need the ``report`` permission."""
        self._require(self.principal(operator), Permission.REPORT, "list reports")
        return list(self.reporting.definitions().values())

    def report(
        self,
        code: str,
        *,
        start: date | datetime,
        end: date | datetime,
        timezone: str = "UTC",
        operator: Acting | None = None,
        filter: str | None = None,
        by: Sequence[str] | None = None,
        bucket: str | None = None,
        archived: bool = False,
        repeat_days: int | None = None,
    ) -> ReportTable:
        """Report ``code`` over ``start`` to ``end`` (dates: whole days in ``timezone``, the
        end day included; datetimes: the end excluded), computed by the database.

        ``filter`` is a rule narrowing the appeals, ``by`` dimensions replacing the report's
        rows (``topic``, ``queue``, ``attribute:166``, ...), ``bucket`` the period's cut
        (hour, day, week, month), ``archived`` adds the archive, ``repeat_days`` the repeat
        window. Operators need the ``report`` permission, and the report counts only the
        appeals they may read. Its rows stream from the database as the table is written.
        """
        who = self.principal(operator)
        self._require(who, Permission.REPORT, f"run report {code}")
        query, texts = self.reporting.query(
            code,
            report_period(start, end, timezone),
            scope=read_scope(who, self.runtime.queues),
            filter=filter,
            by=by,
            bucket=bucket,
            archived=archived,
            repeat_days=repeat_days,
        )
        return self.reporting.run(query, texts)

    def scan_deadlines(self, now: datetime | None = None, *, batch: int = 200) -> SlaScan:
        """The SLA monitor: fire every escalation level due now, each level of each clock
        cycle once, one appeal per transaction; what ``crmcms worker`` calls.

        Due clocks are found through the stored clocks' next escalation time (an index);
        several monitors may run at once: a level another one fired meanwhile is skipped.
        A level that fails is rolled back, logged, recorded and tried again later
        (:attr:`sla_retry`) while the scan goes on with the other appeals; the scan
        returns what fired, with the failures in ``failures``.
        """
        found = SlaScan()
        while True:
            due = self.run(functools.partial(sla.due_clocks, limit=batch), now=now)
            done = 0
            for appeal_id in due:
                try:
                    fired = self.run(functools.partial(sla.fire_due, appeal_id=appeal_id), now=now)
                except ConcurrencyError:
                    continue  # another monitor fired it first
                except sla.LevelFailed as exc:
                    failure = self._record_failure(exc, now)
                    if failure is not None:
                        found.failures.append(failure)
                        done += 1
                    continue
                except Exception as exc:
                    # Not a level's own failure (the appeal's route, say): the appeal as a
                    # whole backs off and is given up like a level.
                    appeal_failure = self._record_appeal_failure(appeal_id, exc, now)
                    if appeal_failure is not None:
                        found.failures.append(appeal_failure)
                        done += 1
                    continue
                found += fired
                done += 1
            if len(due) < batch or done == 0:
                return found

    def _record_failure(
        self, failed: sla.LevelFailed, now: datetime | None
    ) -> sla.SlaFailure | None:
        record = functools.partial(sla.record_failure, failed=failed, retry=self.sla_retry)
        try:
            failure = self.run(record, now=now)
        except ConcurrencyError:
            return None  # another monitor recorded or fired it meanwhile
        log.warning(
            "SLA monitor: appeal %s, %s level %s (cycle %s) failed, attempt %s, %s: %s",
            failed.appeal_id,
            failed.clock,
            failed.level + 1,
            failed.cycle,
            failure.attempts,
            "given up" if failure.gave_up else f"retry at {failure.retry_at}",
            failed.error,
            exc_info=failed.__cause__,
        )
        return failure

    def _record_appeal_failure(
        self, appeal_id: int, exc: Exception, now: datetime | None
    ) -> sla.SlaFailure | None:
        error = f"{type(exc).__name__}: {exc}"
        record = functools.partial(
            sla.record_appeal_failure, appeal_id=appeal_id, error=error, retry=self.sla_retry
        )
        try:
            failure = self.run(record, now=now)
        except ConcurrencyError:
            return None  # another monitor recorded it meanwhile
        log.error(
            "SLA monitor: appeal %s failed before any level, attempt %s, %s: %s",
            appeal_id,
            failure.attempts,
            "given up" if failure.gave_up else f"retry at {failure.retry_at}",
            error,
            exc_info=exc,
        )
        return failure

    def escalation_attempts(
        self, appeal_id: int, *, operator: Acting | None = None
    ) -> list[SlaAttempt]:
        """The appeal's escalation levels that failed while firing: attempts, last error,
        next retry (``None`` once given up)."""

        def act(tx: Tx) -> list[SlaAttempt]:
            tx.visible(appeal_id)
            return tx.uow.clocks.attempts(appeal_id)

        return self.run(act, principal=self.principal(operator))

    # --- Outbox ----------------------------------------------------------------------------

    def deliver_outbox(
        self,
        *,
        limit: int | None = None,
        now: datetime | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DeliveryReport:
        """Deliver due outbox messages: claim up to ``limit`` (the relay's batch if
        ``None``), hand each to its plugins, retry or give up the failures. What
        ``crmcms worker`` runs, for hosts with a scheduler of their own. ``stop`` is asked
        before each message; once it says yes, the rest go back for another run."""
        return self.runtime.relay.run(limit=limit, now=now, stop=stop)

    # --- Reading ---------------------------------------------------------------------------

    # Reads take the reader as ``operator``: what it may not see is as missing as what does
    # not exist, so an id tells nothing about other queues.

    def appeal(self, appeal_id: int, *, operator: Acting | None = None) -> Appeal:
        return self.run(lambda tx: tx.visible(appeal_id), principal=self.principal(operator))

    def contact(self, contact_id: int, *, operator: Acting | None = None) -> Contact:
        """The contact, for a reader who may see one of its appeals (or registered it)."""
        who = self.principal(operator)

        def act(tx: Tx) -> Contact:
            contact = tx.contact(contact_id)
            if who is None or who.may(Permission.READ_ALL) or contact.operator == who.login:
                return contact
            queues = tx.rt.queues
            if any(may_read(who, a, queues) for a in tx.uow.appeals.of_contact(contact_id)):
                return contact
            raise NotFoundError("contact", contact_id)

        return self.run(act, principal=who)

    def queue_appeals(self, queue: str, *, operator: Acting | None = None) -> list[Appeal]:
        """Open appeals waiting in ``queue`` that the reader may see, earliest deadline
        first."""
        self.catalog.queue(queue)
        who = self.principal(operator)
        if who is not None:
            self._require(who, Permission.READ, f"read queue {queue}")

        def act(tx: Tx) -> list[Appeal]:
            found = tx.uow.appeals.in_queue(queue)
            if who is None or who.may(Permission.READ_ALL):
                return found
            queues = tx.rt.queues
            return [a for a in found if may_read(who, a, queues)]

        return self.run(act, principal=who)

    def children(self, appeal_id: int, *, operator: Acting | None = None) -> list[Appeal]:
        """The appeal's children that the reader may see."""
        who = self.principal(operator)

        def act(tx: Tx) -> list[Appeal]:
            tx.visible(appeal_id)
            queues = tx.rt.queues
            return [a for a in tx.uow.appeals.children(appeal_id) if may_read(who, a, queues)]

        return self.run(act, principal=who)

    def history(self, appeal_id: int, *, operator: Acting | None = None) -> list[HistoryEvent]:
        """The appeal's history; readers need the ``read_history`` permission."""
        who = self.principal(operator)
        self._require(who, Permission.READ_HISTORY, f"read the history of appeal {appeal_id}")

        def act(tx: Tx) -> list[HistoryEvent]:
            tx.visible(appeal_id)
            return tx.uow.history.for_appeal(appeal_id)

        return self.run(act, principal=who)

    def state_at(
        self, appeal_id: int, moment: datetime, *, operator: Acting | None = None
    ) -> Appeal:
        """The appeal as it was at ``moment``, rebuilt from its history (``read_history``)."""
        who = self.principal(operator)
        self._require(who, Permission.READ_HISTORY, f"read the history of appeal {appeal_id}")
        return self.run(
            lambda tx: replay(tx.visible(appeal_id), tx.uow.history.for_appeal(appeal_id), moment),
            principal=who,
        )

    def why_in_queue(self, appeal_id: int, *, operator: Acting | None = None) -> QueueExplanation:
        """The event that put the appeal in its queue, and the reason recorded with it."""
        return self.run(
            lambda tx: explain_queue(tx.visible(appeal_id), tx.uow.history.for_appeal(appeal_id)),
            principal=self.principal(operator),
        )
