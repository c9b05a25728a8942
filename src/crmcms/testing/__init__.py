"""Hypothesis strategies for every crmcms model class, for your tests as for ours.

Definitions come out valid (they pass their own construction checks); :func:`catalogs`
gives small catalogs whose cross-references resolve; :func:`values_for` gives valid
values of one attribute. :func:`strategy_for` finds the strategy for a model class.
:func:`in_memory_engine` and :func:`make_engine` give an engine on an in-memory store.

Route testing (docs/testing.md): :func:`load_route_tests` and :func:`run_route_tests` run
route test files (``*.crmtest``), :class:`RouteMachine` walks one route with random operators,
:func:`crmcms.testing.verify.verify` does both with the static checks and coverage, and
:func:`preview_route_version` tells what new definitions would do to the appeals waiting in a
database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st

from crmcms import model, serialization
from crmcms.model.attributes import AttributeDef
from crmcms.model.dictionaries import Dictionary
from crmcms.model.values import AttributeFlags, AttributeValue
from crmcms.testing._basics import (
    attribute_values,
    codes,
    conditions,
    dates,
    decimals,
    durations,
    flags,
    masked_texts,
    masks,
    names,
    optional_flags,
    regexes,
    scalars,
    timestamps,
)
from crmcms.testing._calendars import business_calendars, calendar_days, working_intervals
from crmcms.testing._catalogs import catalogs
from crmcms.testing._definitions import (
    attribute_defs,
    attribute_groups,
    attribute_overrides,
    channels,
    client_categories,
    contact_place_kinds,
    contact_places,
    contact_templates,
    deadlines,
    dictionaries,
    dictionary_items,
    handlers,
    mailing_lists,
    message_templates,
    operators,
    priorities,
    processes,
    queue_members,
    queues,
    roles,
    routes,
    rules,
    topic_groups,
    topics,
    transitions,
)
from crmcms.testing._records import (
    appeal_values,
    appeals,
    attachments,
    changes,
    clients,
    contact_persons,
    contacts,
    history_events,
    note_revisions,
    notes,
    problem_outcomes,
    prospects,
    subscribers,
    system_problems,
)
from crmcms.testing._reports import report_definitions, report_dimensions, report_periods
from crmcms.testing._webhooks import webhooks
from crmcms.testing.engine import FakeBilling, ManualClock, in_memory_engine, make_engine
from crmcms.testing.preview import Preview, preview_route_version
from crmcms.testing.route_machine import RouteMachine, explore_route
from crmcms.testing.route_tests import load_route_tests, run_route_test, run_route_tests
from crmcms.testing.verify import Verification

__all__ = [
    "STRATEGIES",
    "FakeBilling",
    "ManualClock",
    "Preview",
    "RouteMachine",
    "Verification",
    "appeal_values",
    "appeals",
    "attachments",
    "attribute_defs",
    "attribute_groups",
    "attribute_overrides",
    "attribute_values",
    "business_calendars",
    "calendar_days",
    "catalogs",
    "changes",
    "channels",
    "client_categories",
    "clients",
    "codes",
    "conditions",
    "contact_persons",
    "contact_place_kinds",
    "contact_places",
    "contact_templates",
    "contacts",
    "dates",
    "deadlines",
    "decimals",
    "dictionaries",
    "dictionary_items",
    "durations",
    "explore_route",
    "flags",
    "handlers",
    "history_events",
    "in_memory_engine",
    "load_route_tests",
    "mailing_lists",
    "make_engine",
    "masked_texts",
    "masks",
    "message_templates",
    "model_objects",
    "names",
    "notes",
    "operators",
    "optional_flags",
    "preview_route_version",
    "priorities",
    "problem_outcomes",
    "processes",
    "prospects",
    "queue_members",
    "queues",
    "regexes",
    "report_definitions",
    "report_dimensions",
    "report_periods",
    "roles",
    "routes",
    "rules",
    "run_route_test",
    "run_route_tests",
    "scalars",
    "strategy_for",
    "subscribers",
    "system_problems",
    "timestamps",
    "topic_groups",
    "topics",
    "transitions",
    "values_for",
    "webhooks",
    "working_intervals",
]

T = TypeVar("T")


def values_for(
    attribute: AttributeDef, dictionary: Dictionary | None = None
) -> st.SearchStrategy[AttributeValue]:
    """Values that ``attribute.validate(value, dictionary=dictionary)`` accepts."""
    one = scalars(
        attribute.value_type, mask=attribute.mask, regex=attribute.regex, dictionary=dictionary
    )
    if attribute.multiple:
        return st.lists(one, min_size=1, max_size=3).map(tuple)
    return one


def _notifications() -> st.SearchStrategy[model.Notification]:
    targets = st.lists(codes(), max_size=3).map(tuple)
    return st.builds(
        model.Notification,
        st.sampled_from(model.NotificationKind),
        st.none() | st.integers(1, 10**9),
        targets,
        targets,
        names(),
        st.text(max_size=40),
        html=st.text(max_size=40),
    )


def _outbox_messages() -> st.SearchStrategy[model.OutboxMessage]:
    return st.builds(
        model.OutboxMessage,
        st.integers(1, 10**9),
        st.just(model.NOTIFICATION),
        _notifications().map(serialization.dump),
        timestamps(),
        timestamps(),
        attempts=st.integers(0, 20),
        status=st.sampled_from(model.OutboxStatus),
        last_error=st.text(max_size=40),
        lease_owner=st.none() | names(),
        lease_expires_at=st.none() | timestamps(),
        delivered_at=st.none() | timestamps(),
    )


def _effective_attributes() -> st.SearchStrategy[model.EffectiveAttribute]:
    return st.builds(model.EffectiveAttribute, attribute_defs(), codes(), inherited=st.booleans())


def _escalation_actions() -> st.SearchStrategy[model.EscalationAction]:
    return st.builds(
        model.EscalationAction,
        st.sampled_from(model.LevelAction),
        st.lists(codes(), max_size=2).map(tuple),
        codes(),
    )


def _escalation_levels() -> st.SearchStrategy[model.EscalationLevel]:
    actions = st.lists(_escalation_actions(), min_size=1, max_size=2).map(tuple)
    return st.one_of(
        st.builds(model.EscalationLevel, actions, share=st.integers(0, 100)),
        st.builds(
            model.EscalationLevel,
            actions,
            offset=st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)),
            in_working_time=st.booleans(),
        ),
    )


def _sla_clocks() -> st.SearchStrategy[model.SlaClock]:
    spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
    return st.builds(
        model.SlaClock,
        appeal_id=st.integers(1, 10**9),
        kind=st.sampled_from(model.ClockKind),
        process=codes(),
        cycle=st.integers(1, 5),
        start=timestamps(),
        limit=st.none() | spans,
        due=st.none() | timestamps(),
        elapsed=spans,
        remaining=st.none() | spans,
        paused_since=st.none() | timestamps(),
        breached_at=st.none() | timestamps(),
        stopped_at=st.none() | timestamps(),
        overridden=st.booleans(),
        at=timestamps(),
    )


def _sla_attempts() -> st.SearchStrategy[model.SlaAttempt]:
    return st.builds(
        model.SlaAttempt,
        st.integers(1, 10**9),
        st.sampled_from(["resolution", "first_response", "process:new"]),
        st.integers(1, 5),
        st.integers(0, 9),
        st.integers(1, 100),
        st.text(max_size=200),
        timestamps(),
        st.none() | timestamps(),
    )


def _sla_view_rows() -> st.SearchStrategy[model.SlaViewRow]:
    counts = st.integers(0, 10**6)
    dimension = st.sampled_from(["queue", "operator", "topic"])
    return st.builds(model.SlaViewRow, dimension, st.none() | codes(), counts, counts)


def _sla_view_items() -> st.SearchStrategy[model.SlaViewItem]:
    return st.builds(
        model.SlaViewItem,
        st.integers(1, 10**9),
        st.sampled_from(["resolution", "first_response", "process:new"]),
        timestamps(),
        st.booleans(),
        st.none() | codes(),
        st.none() | codes(),
        codes(),
    )


def _sla_views() -> st.SearchStrategy[model.SlaView]:
    return st.builds(
        model.SlaView,
        timestamps(),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
        st.lists(_sla_view_rows(), max_size=3).map(tuple),
        st.lists(_sla_view_items(), max_size=3).map(tuple),
    )


def _principals() -> st.SearchStrategy[model.Principal]:
    return st.builds(
        model.Principal,
        codes(),
        st.frozensets(codes(), max_size=3),
        st.frozensets(st.sampled_from(list(model.Permission)), max_size=5),
        st.none() | st.integers(1, 10**9),
        st.none() | timestamps(),
        st.none() | st.text(max_size=40),
        st.booleans(),
    )


def _audit_events() -> st.SearchStrategy[model.AuditEvent]:
    texts = st.none() | st.text(max_size=40)
    return st.builds(
        model.AuditEvent,
        st.integers(1, 10**9),
        timestamps(),
        st.sampled_from(model.AuditKind).map(str) | codes(),
        texts,
        actor=texts,
        source=texts,
        outcome=st.sampled_from(["ok", "wrong_password", "denied"]),
        detail=st.text(max_size=40),
    )


STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    model.Appeal: appeals(),
    model.Attachment: attachments(),
    model.AttributeDef: attribute_defs(),
    model.AuditEvent: _audit_events(),
    model.AttributeFlags: st.builds(AttributeFlags, flags(), flags(), flags()),
    model.AttributeGroup: attribute_groups(),
    model.AttributeOverride: attribute_overrides(),
    model.BusinessCalendar: business_calendars(),
    model.CalendarDay: calendar_days(),
    model.Catalog: catalogs(),
    model.Change: changes(),
    model.Channel: channels(),
    model.Client: clients(),
    model.ClientCategory: client_categories(),
    model.Contact: contacts(),
    model.ContactPerson: contact_persons(),
    model.ContactPlace: contact_places(),
    model.ContactPlaceKind: contact_place_kinds(),
    model.ContactTemplate: contact_templates(),
    model.Deadline: deadlines(),
    model.Dictionary: dictionaries(),
    model.DictionaryItem: dictionary_items(),
    model.EffectiveAttribute: _effective_attributes(),
    model.EscalationAction: _escalation_actions(),
    model.EscalationLevel: _escalation_levels(),
    model.Flag: flags(),
    model.Handler: handlers(),
    model.HistoryEvent: history_events(),
    model.InputMask: masks().map(model.InputMask),
    model.MailingList: mailing_lists(),
    model.MessageTemplate: message_templates(),
    model.Note: notes(),
    model.NoteRevision: note_revisions(),
    model.Notification: _notifications(),
    model.Operator: operators(),
    model.OutboxMessage: _outbox_messages(),
    model.Priority: priorities(),
    model.Process: processes(),
    model.Prospect: prospects(),
    model.Queue: queues(),
    model.QueueMember: queue_members(),
    model.Role: roles(),
    model.Route: routes(),
    model.Rule: rules(),
    model.SlaAttempt: _sla_attempts(),
    model.Principal: _principals(),
    model.SlaClock: _sla_clocks(),
    model.SlaView: _sla_views(),
    model.SlaViewItem: _sla_view_items(),
    model.SlaViewRow: _sla_view_rows(),
    model.Subscriber: subscribers(),
    model.SystemProblem: system_problems(),
    model.ProblemOutcome: problem_outcomes(),
    model.Topic: topics(),
    model.TopicGroup: topic_groups(),
    model.Transition: transitions(),
    model.Webhook: webhooks(),
    model.ReportDefinition: report_definitions(),
    model.ReportDimension: report_dimensions(),
    model.ReportPeriod: report_periods(),
    model.WorkingInterval: working_intervals(),
}
"""The strategy for each model class."""


def strategy_for(cls: type[T]) -> st.SearchStrategy[T]:
    """The strategy that builds valid instances of the model class ``cls``."""
    try:
        strategy: st.SearchStrategy[T] = STRATEGIES[cls]
    except KeyError:
        raise TypeError(f"{cls.__qualname__} is not a crmcms model class") from None
    return strategy


def model_objects() -> st.SearchStrategy[Any]:
    """Any model object at all."""
    return st.one_of(*STRATEGIES.values())
