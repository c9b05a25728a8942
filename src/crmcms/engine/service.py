"""The engine's front door: every operator action, each in its own unit of work.

:class:`Engine` is put together here; its actions come from one desk per group
(registration, one appeal's work, bulk actions, notes, prospects, webhook subscriptions,
attachments, SLA, reports, reads), each standing on
:class:`~crmcms.engine.action_runner.ActionRunner`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from datetime import datetime

import pluggy

from crmcms.engine import prospects as prospecting
from crmcms.engine.action_runner import Acting, utc_now
from crmcms.engine.attachment_desk import AttachmentDesk
from crmcms.engine.audit import AuditLog
from crmcms.engine.bulk_desk import BulkDesk
from crmcms.engine.file_store import FileStore
from crmcms.engine.limits import Limits
from crmcms.engine.note_desk import NoteDesk
from crmcms.engine.ports import DictionaryQueries, UnitOfWorkFactory
from crmcms.engine.problem_desk import SystemProblems
from crmcms.engine.prospect_desk import ProspectDesk
from crmcms.engine.record_reads import RecordReads
from crmcms.engine.registration_desk import ContactRegistration, RegistrationDesk
from crmcms.engine.relay import DeliveryReport, RelaySettings
from crmcms.engine.report_desk import ReportDesk
from crmcms.engine.report_queries import ReportQueries
from crmcms.engine.reports import ReportRunner
from crmcms.engine.rules import RuleBook, engine_schema
from crmcms.engine.runtime import Runtime
from crmcms.engine.sla import SlaRetry
from crmcms.engine.sla_desk import SlaDesk
from crmcms.engine.webhook_desk import WebhookDesk
from crmcms.engine.webhook_store import WebhookStore
from crmcms.model import PROSPECT_CONVERSION, Catalog

__all__ = ["Acting", "ContactRegistration", "Engine"]


class Engine(
    RegistrationDesk,
    BulkDesk,
    NoteDesk,
    ProspectDesk,
    WebhookDesk,
    AttachmentDesk,
    SlaDesk,
    ReportDesk,
    RecordReads,
):
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
