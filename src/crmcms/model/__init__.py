"""Domain model: immutable definitions and runtime records, free of storage and DSL code."""

from __future__ import annotations

from crmcms.model.attributes import AttributeDef
from crmcms.model.audit import AuditEvent, AuditKind
from crmcms.model.business_time import Timeline, timeline
from crmcms.model.calendars import (
    ALWAYS,
    WEEKDAYS,
    BusinessCalendar,
    CalendarDay,
    WorkingInterval,
)
from crmcms.model.catalog import Catalog, EffectiveAttribute
from crmcms.model.common import ClientCategory, MailingList, Priority, Rule
from crmcms.model.dictionaries import Dictionary, DictionaryItem, DictionaryKind
from crmcms.model.escalations import EscalationAction, EscalationLevel, LevelAction
from crmcms.model.history import Change, HistoryEvent, HistoryKind
from crmcms.model.masks import InputMask
from crmcms.model.messages import MessageTemplate
from crmcms.model.notifications import Notification, NotificationKind
from crmcms.model.outbox import AUDIT, EVENT, NOTIFICATION, OutboxMessage, OutboxStatus, delivery_id
from crmcms.model.people import Client, ContactPerson, Operator, Prospect, Role, Subscriber
from crmcms.model.places import Channel, ContactPlace, ContactPlaceKind, Direction
from crmcms.model.queues import MemberKind, Queue, QueueMember
from crmcms.model.records import (
    Appeal,
    AppealState,
    Attachment,
    Contact,
    Note,
    NoteRevision,
    NoteSubject,
    NoteVisibility,
    ProblemState,
    ReadOnlyValues,
    StoredAppeal,
    SystemProblem,
    copy_appeal,
)
from crmcms.model.reports import (
    FLOW_MEASURES,
    DimensionKind,
    Measure,
    ReportDefinition,
    ReportDimension,
    ReportPeriod,
    TimeBucket,
)
from crmcms.model.routes import (
    AttributeOverride,
    Deadline,
    Handler,
    HandlerEvent,
    Process,
    QueuePolicy,
    Route,
    Transition,
)
from crmcms.model.security import (
    BUILTIN_ROLES,
    DEFAULT_ROLE,
    QUEUE_ADMINISTRATOR,
    SYSTEM,
    Permission,
    Principal,
    permissions_of,
)
from crmcms.model.sla import ClockKind, SlaAttempt, SlaClock, SlaView, SlaViewItem, SlaViewRow
from crmcms.model.templates import ContactTemplate
from crmcms.model.topics import AttributeGroup, GroupDisplay, Topic, TopicGroup
from crmcms.model.values import (
    AttributeFlags,
    AttributeValue,
    Flag,
    Scalar,
    ValueType,
    format_value,
    parse_value,
)
from crmcms.model.webhooks import Webhook

__all__ = [
    "ALWAYS",
    "AUDIT",
    "BUILTIN_ROLES",
    "DEFAULT_ROLE",
    "EVENT",
    "FLOW_MEASURES",
    "NOTIFICATION",
    "QUEUE_ADMINISTRATOR",
    "SYSTEM",
    "WEEKDAYS",
    "Appeal",
    "AppealState",
    "Attachment",
    "AttributeDef",
    "AttributeFlags",
    "AttributeGroup",
    "AttributeOverride",
    "AttributeValue",
    "AuditEvent",
    "AuditKind",
    "BusinessCalendar",
    "CalendarDay",
    "Catalog",
    "Change",
    "Channel",
    "Client",
    "ClientCategory",
    "ClockKind",
    "Contact",
    "ContactPerson",
    "ContactPlace",
    "ContactPlaceKind",
    "ContactTemplate",
    "Deadline",
    "Dictionary",
    "DictionaryItem",
    "DictionaryKind",
    "DimensionKind",
    "Direction",
    "EffectiveAttribute",
    "EscalationAction",
    "EscalationLevel",
    "Flag",
    "GroupDisplay",
    "Handler",
    "HandlerEvent",
    "HistoryEvent",
    "HistoryKind",
    "InputMask",
    "LevelAction",
    "MailingList",
    "Measure",
    "MemberKind",
    "MessageTemplate",
    "Note",
    "NoteRevision",
    "NoteSubject",
    "NoteVisibility",
    "Notification",
    "NotificationKind",
    "Operator",
    "OutboxMessage",
    "OutboxStatus",
    "Permission",
    "Principal",
    "Priority",
    "ProblemState",
    "Process",
    "Prospect",
    "Queue",
    "QueueMember",
    "QueuePolicy",
    "ReadOnlyValues",
    "ReportDefinition",
    "ReportDimension",
    "ReportPeriod",
    "Role",
    "Route",
    "Rule",
    "Scalar",
    "SlaAttempt",
    "SlaClock",
    "SlaView",
    "SlaViewItem",
    "SlaViewRow",
    "StoredAppeal",
    "Subscriber",
    "SystemProblem",
    "TimeBucket",
    "Timeline",
    "Topic",
    "TopicGroup",
    "Transition",
    "ValueType",
    "Webhook",
    "WorkingInterval",
    "copy_appeal",
    "delivery_id",
    "format_value",
    "parse_value",
    "permissions_of",
    "timeline",
]
