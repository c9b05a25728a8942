"""Workflow engine: registers contacts and appeals and moves them along routes."""

from __future__ import annotations

from crmcms.engine.admin import UNCHANGED
from crmcms.engine.appeals import AppealDraft
from crmcms.engine.audit import AuditLog, audit_event_of, record_audit
from crmcms.engine.authentication import KeyProfile, LoginGateway, LoginSession
from crmcms.engine.bulk import BulkItem, BulkResult, run_batched
from crmcms.engine.credentials import (
    AuditEvent,
    AuditKind,
    Credential,
    KeyParameters,
    LoginFailures,
    LoginPolicy,
    SessionRecord,
)
from crmcms.engine.deadlines import add_business_time, calendar_for, due_at, is_business_day
from crmcms.engine.file_store import FileStore, FileTooLarge
from crmcms.engine.handlers import BUILTIN_ACTIONS, HandlerCall
from crmcms.engine.history import QueueExplanation
from crmcms.engine.limits import Limits
from crmcms.engine.login_store import DatabaseLogins, LoginRecords, LoginStore
from crmcms.engine.notifications import Notification, NotificationKind
from crmcms.engine.obstacles import (
    Obstacle,
    ObstacleKind,
    ReadScope,
    Requirements,
    find_obstacles,
    may_read,
    read_scope,
)
from crmcms.engine.policy import AttributePolicy, AttributeState, is_empty
from crmcms.engine.ports import (
    AppealRepository,
    AttachmentRepository,
    ContactRepository,
    DictionaryQueries,
    HistoryRepository,
    IdempotencyRecord,
    IdempotencyRepository,
    OutboxRepository,
    ProblemRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from crmcms.engine.problem_desk import ProblemResolution, SystemProblems
from crmcms.engine.queues import QueueChoice, candidate_queues
from crmcms.engine.relay import DeliveryReport, Relay, RelaySettings, retry_delay
from crmcms.engine.report_queries import ReportQueries, ReportQuery
from crmcms.engine.reports import BUILTIN_REPORTS, ReportRunner, report_period
from crmcms.engine.routing import MAX_AUTOMATIC_STEPS, TransitionOption
from crmcms.engine.rules import RuleBook, engine_schema
from crmcms.engine.service import ContactRegistration, Engine
from crmcms.engine.sla import SlaFailure, SlaFinding, SlaLevel, SlaRetry, SlaScan

__all__ = [
    "BUILTIN_ACTIONS",
    "BUILTIN_REPORTS",
    "MAX_AUTOMATIC_STEPS",
    "UNCHANGED",
    "AppealDraft",
    "AppealRepository",
    "AttachmentRepository",
    "AttributePolicy",
    "AttributeState",
    "AuditEvent",
    "AuditKind",
    "AuditLog",
    "BulkItem",
    "BulkResult",
    "ContactRegistration",
    "ContactRepository",
    "Credential",
    "DatabaseLogins",
    "DeliveryReport",
    "DictionaryQueries",
    "Engine",
    "FileStore",
    "FileTooLarge",
    "HandlerCall",
    "HistoryRepository",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "KeyParameters",
    "KeyProfile",
    "Limits",
    "LoginFailures",
    "LoginGateway",
    "LoginPolicy",
    "LoginRecords",
    "LoginSession",
    "LoginStore",
    "Notification",
    "NotificationKind",
    "Obstacle",
    "ObstacleKind",
    "OutboxRepository",
    "ProblemRepository",
    "ProblemResolution",
    "QueueChoice",
    "QueueExplanation",
    "ReadScope",
    "Relay",
    "RelaySettings",
    "ReportQueries",
    "ReportQuery",
    "ReportRunner",
    "Requirements",
    "RuleBook",
    "SessionRecord",
    "SlaFailure",
    "SlaFinding",
    "SlaLevel",
    "SlaRetry",
    "SlaScan",
    "SystemProblems",
    "TransitionOption",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "add_business_time",
    "audit_event_of",
    "calendar_for",
    "candidate_queues",
    "due_at",
    "engine_schema",
    "find_obstacles",
    "is_business_day",
    "is_empty",
    "may_read",
    "read_scope",
    "record_audit",
    "report_period",
    "retry_delay",
    "run_batched",
]
