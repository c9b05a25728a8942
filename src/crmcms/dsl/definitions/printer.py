"""A Catalog written out as definition text, e.g. to move a stored configuration into files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import attrs

from crmcms.dsl.definitions.ast import Decl, Item, Ref
from crmcms.dsl.definitions.formatter import print_definitions
from crmcms.dsl.definitions.parser import REPORT_ATTRIBUTE
from crmcms.dsl.rules import ast
from crmcms.dsl.rules.parser import parse_rule
from crmcms.dsl.rules.titles import is_condition_rule
from crmcms.errors import SourceSpan
from crmcms.model import (
    AttributeDef,
    BusinessCalendar,
    Catalog,
    Deadline,
    DictionaryKind,
    EscalationAction,
    EscalationLevel,
    Flag,
    Handler,
    LevelAction,
    Process,
    QueuePolicy,
    ReportDefinition,
    ReportDimension,
    Route,
    TimeBucket,
    Transition,
    Webhook,
)

__all__ = ["dump_catalog"]

_NOWHERE = SourceSpan("", 0, 0)
_FLAGS = (
    ("hidden", "hidden", "visible"),
    ("read_only", "readonly", "editable"),
    ("required", "required", "optional"),
)


def _r(code: str) -> Ref:
    return Ref(code, _NOWHERE, quoted=not (code.isdigit() or code.isidentifier()))


def _i(key: str, *values: Any) -> Item:
    return Item(key, _NOWHERE, values)


def _d(
    kind: str, code: str, name: str | None, options: Iterable[Item] = (), body: Any = None
) -> Decl:
    items = None if body is None else tuple(body)
    return Decl(kind, _r(code), name, _NOWHERE, tuple(options), items or None)


def _expr(text: str) -> ast.Node:
    return parse_rule(text)


def _desc(description: str) -> list[Item]:
    return [_i("description", description)] if description else []


def _inactive(active: bool) -> list[Item]:
    return [] if active else [_i("inactive")]


def _flag_items(flags: Iterable[tuple[str, Flag | None]], *, explicit: bool) -> list[Item]:
    out = []
    words = {f: (yes, no) for f, yes, no in _FLAGS}
    for field, flag in flags:
        if flag is None:
            continue
        yes, no = words[field]
        if flag.value:
            out.append(_i("flag", yes, None if flag.condition is None else _expr(flag.condition)))
        elif explicit:
            out.append(_i("flag", no, None))
    return out


def _attribute(a: AttributeDef) -> Decl:
    type_value: Any = _r(a.dictionary) if a.dictionary is not None else a.value_type.value
    options = [_i("type", type_value)]
    options += [_i("multiple")] if a.multiple else []
    options += _inactive(a.active)
    options += _flag_items(
        (("hidden", a.hidden), ("read_only", a.read_only), ("required", a.required)),
        explicit=False,
    )
    options += [_i("column")] if a.show_in_column else []
    options += [_i("default", a.default)] if a.default is not None else []
    if a.computed_default is not None:
        options.append(_i("computed", _expr(a.computed_default)))
    options += [_i("mask", a.mask)] if a.mask is not None else []
    options += [_i("regex", a.regex)] if a.regex is not None else []
    options += _desc(a.description)
    options += [_i("meta", _r(k), v) for k, v in a.metadata.items()]
    return _d("attribute", a.code, a.name, options)


def _when(catalog: Catalog, rule: str | None) -> list[Item]:
    if rule is None:
        return []
    if is_condition_rule(rule):
        return [_i("when", _expr(catalog.rule(rule).expression))]
    return [_i("when rule", _r(rule))]


def _handlers(handlers: tuple[Handler, ...]) -> list[Item]:
    return [
        _i(
            "on",
            _r(h.event.value),
            h.name or None,
            (_r(h.action), tuple((_r(k), _expr(v)) for k, v in h.arguments.items())),
        )
        for h in handlers
    ]


def _deadline(deadline: Deadline | None, key: str = "deadline") -> list[Item]:
    if deadline is None:
        return []
    options = [_i("business")] if deadline.business_time else []
    options += [_i("priority_limit", _r(p), t) for p, t in deadline.priority_limits]
    if deadline.warn_before is not None:
        options.append(_i("warn", deadline.warn_before))
    if deadline.notify:
        options.append(_i("notify", *map(_r, deadline.notify)))
    if deadline.escalate_to:
        options.append(_i("escalate", *map(_r, deadline.escalate_to)))
    if deadline.ladder:
        options.append(_i("ladder", *map(_level, deadline.ladder)))
    return [_i(key, deadline.limit, tuple(options))]


def _level(level: EscalationLevel) -> Item:
    at = _i("share", level.share) if level.share is not None else _i("offset", level.offset)
    return _i("level", at, level.in_working_time, tuple(map(_level_action, level.actions)))


def _level_action(action: EscalationAction) -> Item:
    if action.kind is LevelAction.NOTIFY:
        targets = [
            _i("role", _r(t.removeprefix("role "))) if t.startswith("role ") else _i("code", _r(t))
            for t in action.targets
        ]
        return _i("notify", *targets)
    if action.kind is LevelAction.CALL:
        return _i("call", action.value)
    return _i(action.kind.value, _r(action.value))


def _process(p: Process, initial: bool) -> Decl:
    body = _desc(p.description) + _deadline(p.deadline) + _ref_item("calendar", p.calendar)
    if p.queue_policy is QueuePolicy.KEEP:
        body.append(_i("queue", "keep"))
    elif p.queues:
        body.append(_i("queue", *map(_r, p.queues)))
    for o in p.overrides:
        flags = _flag_items(
            (("hidden", o.hidden), ("read_only", o.read_only), ("required", o.required)),
            explicit=True,
        )
        body.append(_i("attribute", _r(o.attribute), tuple(flags) or (_i("inherit"),)))
    body += _handlers(p.handlers)
    options = ([_i("initial")] if initial else []) + ([_i("final")] if p.final else [])
    options += [_i("pauses")] if p.pauses else []
    return _d("process", p.code, p.name, options, body)


def _transition(catalog: Catalog, t: Transition) -> Decl:
    options = [_i("path", _r(t.source), _r(t.target))]
    options += [_i("automatic")] if t.automatic else []
    options += _when(catalog, t.rule)
    return _d("transition", t.code, t.name, options, _desc(t.description) + _handlers(t.handlers))


def _route(catalog: Catalog, r: Route) -> Decl:
    body: list[Decl | Item] = [*_desc(r.description), _i("topics", *map(_r, r.topics))]
    body += _ref_item("calendar", r.calendar)
    body += [_i("merge")] if r.merge_common_attributes else []
    body += [_i("close_open")] if r.close_with_open_children else []
    body += _deadline(r.deadline) + _deadline(r.first_response, "first_response")
    body += _handlers(r.handlers)
    body += [_i("moved", _r(old), _r(new)) for old, new in r.moved_processes.items()]
    body += [_process(p, p.code == r.initial) for p in r.processes]
    body += [_transition(catalog, t) for t in r.transitions]
    options = [_i("version", r.version), *_inactive(r.active)]
    decl = _d("route", r.code, r.name, options, body)
    return decl


def _calendar(c: BusinessCalendar) -> Decl:
    body = [*_desc(c.description), _i("timezone", c.timezone)]
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and c.week[last + 1] == c.week[day]:
            last += 1
        if c.week[day]:
            body.append(_i("hours", day, last, c.week[day]))
        day = last + 1
    holidays: list[tuple[date, date, SourceSpan]] = []
    for d in c.holidays:
        if holidays and holidays[-1][1] + timedelta(days=1) == d:
            holidays[-1] = (holidays[-1][0], d, _NOWHERE)
        else:
            holidays.append((d, d, _NOWHERE))
    if holidays:
        body.append(_i("holidays", *holidays))
    body += [
        _i("working", e.day, e.day, _NOWHERE, e.intervals) for e in c.exceptions if e.intervals
    ]
    return _d("calendar", c.code, c.name, (), body)


def _webhook(w: Webhook) -> Decl:
    body = [*_desc(w.description), _i("url", w.url)]
    body += _refs_item("events", tuple(k.value for k in w.events))
    body.append(_i("secret", w.secret_env))
    return _d("webhook", w.code, w.name, _inactive(w.active), body)


def _report(r: ReportDefinition) -> Decl:
    def dims(key: str, values: tuple[ReportDimension, ...]) -> list[Item]:
        refs = [
            Ref(
                REPORT_ATTRIBUTE + d.attribute if d.attribute is not None else d.kind.value,
                _NOWHERE,
            )
            for d in values
        ]
        return [_i(key, *refs)] if refs else []

    body = [*_desc(r.description), *dims("rows", r.rows), *dims("columns", r.columns)]
    body += _refs_item("measures", tuple(m.value for m in r.measures))
    if r.filter is not None:
        body.append(_i("filter", _expr(r.filter)))
    if r.bucket is not TimeBucket.DAY:
        body.append(_i("bucket", _r(r.bucket.value)))
    if r.repeat_days != 30:
        body.append(_i("repeat", r.repeat_days))
    return _d("report", r.code, r.title, (), body)


def _refs_item(key: str, codes: tuple[str, ...]) -> list[Item]:
    return [_i(key, *map(_r, codes))] if codes else []


def _ref_item(key: str, code: str | None) -> list[Item]:
    return [] if code is None else [_i(key, _r(code))]


def _decls(catalog: Catalog) -> Iterable[Decl]:
    c = catalog
    body: list[Any]
    for d in c.dictionaries:
        kind = {
            DictionaryKind.ANALYTIC: [],
            DictionaryKind.INTERNAL: [_i("internal")],
            DictionaryKind.EXTERNAL: [_i("external", *([] if d.source is None else [d.source]))],
            DictionaryKind.QUERY: [_i("query", d.query or "")],
        }[d.kind]
        items = [
            _d("item", i.code, i.name, _inactive(i.active) + _ref_item("parent", i.parent))
            for i in d.items
        ]
        yield _d(
            "dictionary", d.code, d.name, kind + _inactive(d.active), _desc(d.description) + items
        )
    for k in c.place_kinds:
        yield _d("place kind", k.code, k.name, _inactive(k.active), _desc(k.description))
    for p in c.places:
        options = _inactive(p.active) + _ref_item("kind", p.kind) + _ref_item("parent", p.parent)
        yield _d("place", p.code, p.name, options, _desc(p.description))
    for ch in c.channels:
        yield _d("channel", ch.code, ch.name, _inactive(ch.active), _desc(ch.description))
    for cat in c.client_categories:
        yield _d(
            "client category", cat.code, cat.name, _inactive(cat.active), _desc(cat.description)
        )
    for g in c.topic_groups:
        body = _desc(g.description) + [_attribute(a) for a in g.attributes]
        yield _d("group", g.code, g.name, _inactive(g.active) + _ref_item("parent", g.parent), body)
    for t in c.topics:
        topic_body: list[Decl | Item] = [*_desc(t.description)]
        if t.attachment_limit is not None:
            topic_body.append(_i("attachments", t.attachment_limit))
        topic_body += [_attribute(a) for a in t.attributes]
        for block in t.attribute_groups:
            options = [_i("display", block.display.value)]
            options += _flag_items(
                (
                    ("hidden", block.hidden),
                    ("read_only", block.read_only),
                    ("required", block.required),
                ),
                explicit=False,
            )
            members = [_d("attribute", code, None) for code in block.attributes]
            topic_body.append(
                _d(
                    "attributes",
                    block.code,
                    block.name,
                    options,
                    _desc(block.description) + members,
                )
            )
        yield _d(
            "topic", t.code, t.name, _inactive(t.active) + _ref_item("parent", t.group), topic_body
        )
    for rule in c.rules:
        if not is_condition_rule(rule.code):
            options = [*_desc(rule.description), _i("expr", _expr(rule.expression))]
            yield _d("rule", rule.code, rule.name, options)
    for pr in c.priorities:
        yield _d("priority", pr.code, pr.name, [_i("rank", pr.rank), *_inactive(pr.active)])
    for m in c.mailing_lists:
        body = _desc(m.description) + _refs_item("operators", m.operators)
        body += [_i("addresses", *m.addresses)] if m.addresses else []
        yield _d("mailing list", m.code, m.name, _inactive(m.active), body)
    for role in c.roles:
        yield _d(
            "role",
            role.code,
            role.name,
            (),
            _desc(role.description) + _refs_item("permissions", role.permissions),
        )
    for o in c.operators:
        body = _refs_item("roles", o.roles) + _ref_item("template", o.template)
        body += [_i("email", o.email)] if o.email is not None else []
        yield _d("operator", o.login, o.name, _inactive(o.active), body)
    for tp in c.templates:
        body = _desc(tp.description) + _ref_item("place kind", tp.place_kind)
        body += _refs_item("places", tp.places) + _ref_item("default place", tp.default_place)
        body += [_i("direction", tp.direction.value)] if tp.direction is not None else []
        body += _ref_item("channel", tp.channel) + _refs_item("topics", tp.topics)
        body += _ref_item("default topic", tp.default_topic)
        body += _refs_item("client categories", tp.client_categories)
        body += _ref_item("default client category", tp.default_client_category)
        yield _d("template", tp.code, tp.name, (), body)
    for calendar in c.calendars:
        yield _calendar(calendar)
    for q in c.queues:
        body = _desc(q.description)
        if q.members:
            body.append(_i("members", *((m.kind.value, _r(m.code)) for m in q.members)))
        body += _refs_item("admins", q.administrators) + _refs_item("processes", q.processes)
        body += _when(c, q.rule) + _ref_item("calendar", q.calendar)
        options = _inactive(q.active) + ([_i("system")] if q.system else [])
        yield _d("queue", q.code, q.name, options, body)
    for r in c.routes:
        yield _route(c, r)
    for msg in c.message_templates:
        body = [*_desc(msg.description), _i("event", _r(msg.event.value))]
        body += _ref_item("topic", msg.topic)
        body += [
            _i(part, text, None)
            for part in ("subject", "text", "html")
            if (text := getattr(msg, part))
        ]
        yield _d("message", msg.code, msg.name or None, (), body)
    for webhook in c.webhooks:
        yield _webhook(webhook)
    for attribute in c.problem_attributes:
        yield attrs.evolve(_attribute(attribute), kind="problem attribute")
    for report in c.reports:
        yield _report(report)


def dump_catalog(catalog: Catalog) -> str:
    """``catalog`` as one definition file in the canonical layout; loading it gives it back.

    Trees come out flat (``parent`` names the enclosing group or place); rule conditions
    are written in canonical rule text.
    """
    return print_definitions(tuple(_decls(catalog)))
