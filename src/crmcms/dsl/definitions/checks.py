"""Static checks of a loaded catalog: references, rule types, routes, queues and availability."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from typing import Any

import attrs

from crmcms.dsl.definitions.ast import Ref
from crmcms.dsl.definitions.plugin_functions import PluginFunctions
from crmcms.dsl.rules import ast
from crmcms.dsl.rules.builtins import builtin_schema
from crmcms.dsl.rules.checker import Checker
from crmcms.dsl.rules.compiled_rule import compile_rule
from crmcms.dsl.rules.coverage import find_case, find_gap
from crmcms.dsl.rules.named_rules import NamedRule, named_rules
from crmcms.dsl.rules.schema import (
    ANY,
    BOOLEAN,
    DATE,
    DECIMAL,
    STRING,
    AttributeInfo,
    AttributeSet,
    RuleType,
    Schema,
    list_of,
)
from crmcms.dsl.rules.titles import is_condition_rule
from crmcms.errors import DefinitionError, DslError, NotFoundError, SourceSpan, ValidationError
from crmcms.model import (
    AttributeDef,
    Catalog,
    DictionaryItem,
    DictionaryKind,
    Process,
    Queue,
    Route,
    Transition,
    ValueType,
)
from crmcms.model._lookup import did_you_mean
from crmcms.model.catalog import BUILTIN_CALENDARS
from crmcms.model.security import BUILTIN_ROLES

__all__ = [
    "Condition",
    "LoadIndex",
    "attribute_schema",
    "catalog_schema",
    "run_checks",
    "value_rule_type",
]


@attrs.frozen
class Condition:
    """A rule expression met while loading and where it applies.

    ``scope`` says which attributes it may read: ``("topic", code)``, ``("group", code)``,
    ``("route", code, version)`` or ``("catalog",)`` for every attribute defined anywhere.
    """

    node: ast.Node
    scope: tuple[str, ...]
    owner: str
    boolean: bool = True
    expected: RuleType | None = None
    """For a computed default: the type of the attribute's values."""
    rule: str | None = None
    """For a named rule's own expression: the rule's code."""


@attrs.define
class LoadIndex:
    """What a load noted for the checks: file texts, positions, references and conditions."""

    sources: dict[str, str]
    spans: dict[tuple[str, ...], SourceSpan] = attrs.field(factory=dict)
    refs: list[tuple[str, Ref, str]] = attrs.field(factory=list)
    conditions: list[Condition] = attrs.field(factory=list)
    computed: dict[tuple[str, ...], ast.Node] = attrs.field(factory=dict)
    """Computed defaults by (scope kind, owner, attribute code)."""
    problems: list[DslError] = attrs.field(factory=list)

    def error(self, message: str, span: SourceSpan, hint: str | None = None) -> None:
        self.problems.append(DslError(message, span, source=self.sources.get(span.file), hint=hint))

    def span(self, *key: str) -> SourceSpan:
        return self.spans.get(key) or SourceSpan(next(iter(self.sources), "<definitions>"), 1, 1)


def run_checks(
    catalog: Catalog,
    index: LoadIndex,
    *,
    only_references: bool = False,
    schema: Schema | None = None,
    functions: PluginFunctions | None = None,
) -> None:
    """Add every problem of ``catalog`` to ``index.problems``; rules are checked against
    ``schema`` (the built-in one if not given) with the catalog's attributes and rules, and
    the functions handlers and escalation levels call against ``functions`` if given."""
    before = len(index.problems)
    _check_references(catalog, index, functions)
    _check_cycles(catalog, index)
    if only_references:
        return
    named = {
        c.rule: NamedRule(c.rule, c.node, index.sources.get(c.node.span.file, ""))
        for c in index.conditions
        if c.rule is not None
    }
    checker = _Scopes(catalog, schema, rules=named)
    _check_conditions(catalog, index, checker)
    if len(index.problems) > before:
        # Everything below follows references; with one dangling it would only guess.
        return
    _check_defaults(catalog, index)
    _check_query_parameters(catalog, index)
    for route in catalog.routes:
        _check_route_graph(route, index)
        _check_automatic_cycles(catalog, route, index, checker)
        _check_overrides(catalog, route, index, checker)
        _check_required_hidden(catalog, route, index)
        _check_queues(catalog, route, index, checker)
    _check_versions(catalog, index)


# --- References ------------------------------------------------------------------------------


def _known(catalog: Catalog) -> dict[str, set[str]]:
    processes = {p.code for r in catalog.routes for p in r.processes}
    logins = {o.login for o in catalog.operators}
    return {
        "dictionary": {d.code for d in catalog.dictionaries},
        "place": {p.code for p in catalog.places},
        "place kind": {k.code for k in catalog.place_kinds},
        "channel": {c.code for c in catalog.channels},
        "client category": {c.code for c in catalog.client_categories},
        "topic group": {g.code for g in catalog.topic_groups},
        "topic": {t.code for t in catalog.topics},
        "topic or topic group": {t.code for t in catalog.topics}
        | {g.code for g in catalog.topic_groups},
        "rule": {r.code for r in catalog.rules if not is_condition_rule(r.code)},
        "queue": {q.code for q in catalog.queues},
        "role": {r.code for r in catalog.roles} | set(BUILTIN_ROLES),
        "operator": logins,
        "template": {t.code for t in catalog.templates},
        "process": processes,
        "calendar": {c.code for c in catalog.calendars} | set(BUILTIN_CALENDARS),
        "recipient": logins | {m.code for m in catalog.mailing_lists},
        "priority": {p.code for p in catalog.priorities},
    }


def _check_references(
    catalog: Catalog, index: LoadIndex, functions: PluginFunctions | None = None
) -> None:
    known = _known(catalog)
    if functions is not None:
        known["business function"] = set(functions.business)
        known["handler action"] = set(functions.handler_actions())
    for kind, ref, context in index.refs:
        if kind in _PLUGIN_KINDS and functions is None:
            continue  # named by plugins the check was not given: known only when called
        if kind in _PLUGIN_KINDS:
            pool = known[kind]
            shown = f"no installed plugin provides {kind} {ref.code!r}" + (
                f" (in {context})" if context else ""
            )
        elif kind.startswith("attribute of "):
            topic = kind.removeprefix("attribute of ")
            try:
                pool = {e.code for e in catalog.effective_attributes(topic)}
            except (NotFoundError, ValidationError):  # a broken group chain is reported apart
                continue
            shown = f"topic {topic} has no attribute {ref.code!r}"
        else:
            pool = known[kind]
            what = "mailing list or operator" if kind == "recipient" else kind
            shown = f"unknown {what} {ref.code!r}" + (f" in {context}" if context else "")
        if ref.code not in pool:
            index.error(shown, ref.span, did_you_mean(ref.code, pool))


_PLUGIN_KINDS = frozenset({"business function", "handler action"})


def _check_cycles(catalog: Catalog, index: LoadIndex) -> None:
    for field, items in (("topic_groups", catalog.topic_groups), ("places", catalog.places)):
        parents = {i.code: i.parent for i in items}
        for start in parents:
            seen = [start]
            current = parents.get(start)
            while current is not None and current in parents and current not in seen:
                seen.append(current)
                current = parents[current]
            if current == start:
                shown = " -> ".join([*seen, start])
                kind = "topic groups" if field == "topic_groups" else "contact places"
                index.error(f"{kind} form a cycle: {shown}", index.span(field, start))


# --- Rule expressions ------------------------------------------------------------------------


def value_rule_type(value_type: ValueType) -> RuleType:
    """The rule type of one value of an attribute of ``value_type``."""
    return {
        ValueType.DATE: DATE,
        ValueType.DECIMAL: DECIMAL,
        ValueType.BOOLEAN: BOOLEAN,
        ValueType.STRING: STRING,
        ValueType.REFERENCE: STRING,
    }[value_type]


def _rule_type(a: AttributeDef) -> RuleType:
    base = value_rule_type(a.value_type)
    return list_of(base) if a.multiple else base


def attribute_schema(attributes: Mapping[str, AttributeDef], base: Schema | None = None) -> Schema:
    """``base`` (the built-in schema) with ``Appeal.Attribute`` closed over ``attributes``."""
    infos = {c: AttributeInfo(c, _rule_type(a), a.name) for c, a in attributes.items()}
    return _closed_schema(base or builtin_schema(), infos)


def catalog_schema(
    catalog: Catalog, topic: str | None = None, *, base: Schema | None = None
) -> Schema:
    """What rules of ``catalog`` may see: ``base`` (the built-in schema) with attributes typed.

    With ``topic``, only that topic's attributes (its own and inherited) exist; without, every
    attribute defined anywhere in the catalog does. Unknown codes are then errors.
    """
    scope = ("topic", topic) if topic is not None else ("catalog",)
    if topic is not None:
        catalog.topic(topic)  # an unknown topic is a NotFoundError with a hint, not an empty set
    return _Scopes(catalog, base, rules=named_rules(catalog.rules)).schema(scope)


def _closed_schema(base: Schema, infos: Mapping[str, AttributeInfo]) -> Schema:
    root = base.root
    for obj in root.fields.values():
        for f in obj.fields.values():
            if f.attributes is not None:
                keyed = attrs.evolve(f, attributes=AttributeSet(infos, closed=True))
                holder = attrs.evolve(obj, fields={**obj.fields, f.name: keyed})
                return attrs.evolve(
                    base, root=attrs.evolve(root, fields={**root.fields, obj.name: holder})
                )
    return base


class _Scopes:
    """Attribute sets and schemas per scope, built once each."""

    def __init__(
        self,
        catalog: Catalog,
        base: Schema | None = None,
        *,
        rules: Mapping[str, NamedRule] | None = None,
    ) -> None:
        self.catalog = catalog
        base = base or builtin_schema()
        self.base = base if rules is None else attrs.evolve(base, rules=rules)

    @functools.cache  # noqa: B019 - one instance per check run
    def attributes(self, scope: tuple[str, ...]) -> Mapping[str, AttributeDef]:
        c = self.catalog
        if scope[0] == "topic":
            try:
                return {e.code: e.definition for e in c.effective_attributes(scope[1])}
            except (NotFoundError, ValidationError):  # reported by the reference checks
                own = [t for t in c.topics if t.code == scope[1]]
                return {a.code: a for t in own for a in t.attributes}
        if scope[0] == "group":
            found: dict[str, AttributeDef] = {}
            current: str | None = scope[1]
            chain: list[str] = []
            groups = {g.code: g for g in c.topic_groups}
            while current is not None and current in groups and current not in chain:
                chain.append(current)
                current = groups[current].parent
            for g in reversed(chain):
                found.update({a.code: a for a in c.topic_group(g).attributes})
            return found
        if scope[0] == "route":
            route = c.route(scope[1], int(scope[2]))
            merged: dict[str, AttributeDef] = {}
            for topic in route.topics:
                merged.update(self.attributes(("topic", topic)))
            return merged
        everything: dict[str, AttributeDef] = {}
        for t in c.topics:
            everything.update(self.attributes(("topic", t.code)))
        for group in c.topic_groups:
            everything.update({a.code: a for a in group.attributes})
        return everything

    @functools.cache  # noqa: B019 - one instance per check run
    def schema(self, scope: tuple[str, ...]) -> Schema:
        return attribute_schema(self.attributes(scope), self.base)


def _check_conditions(catalog: Catalog, index: LoadIndex, scopes: _Scopes) -> None:
    # A problem of a named rule is met again wherever the rule is used: reported once.
    reported = {(p.span, p.message) for p in index.problems}
    for cond in index.conditions:
        checker = Checker(
            scopes.schema(cond.scope),
            source=index.sources.get(cond.node.span.file),
            using=() if cond.rule is None else (cond.rule,),
        )
        typed = checker.check_rule(cond.node) if cond.boolean else checker.check(cond.node)
        for problem in checker.problems:
            if (problem.span, problem.message) not in reported:
                reported.add((problem.span, problem.message))
                index.problems.append(problem)
        if cond.expected is not None and not checker.problems:
            want, got = cond.expected, typed.type
            if got not in (ANY, want) and not (got.is_numeric and want.is_numeric):
                index.error(
                    f"{cond.owner} computes {got}, but the attribute holds {want}", typed.span
                )
        attributes = scopes.attributes(cond.scope)
        for node in ast.walk(typed):
            if isinstance(node, ast.Path) and len(node.resolved) == 3 and node.parts[-1].key:
                definition = attributes.get(node.resolved[-1])
                if definition is not None and not definition.active:
                    index.error(
                        f"{cond.owner} reads attribute {definition.code}, which is inactive",
                        node.span,
                        "inactive attributes are never filled in; activate it or drop the test",
                    )


def _check_defaults(catalog: Catalog, index: LoadIndex) -> None:
    """A default of a dictionary attribute is an active item of that dictionary."""
    owners = [("topic", t.code, t.attributes) for t in catalog.topics]
    owners += [("group", g.code, g.attributes) for g in catalog.topic_groups]
    for scope, owner, attributes in owners:
        for a in attributes:
            if a.dictionary is None:
                continue
            dictionary = catalog.dictionary(a.dictionary)
            if not dictionary.stores_items:
                continue  # external and query dictionaries are only known at run time
            if a.default is not None:
                span = index.span("default", scope, owner, a.code)
                _check_item(
                    a,
                    a.default,
                    dictionary.items,
                    f"the default of attribute {a.code}",
                    span,
                    index,
                )
            computed = index.computed.get((scope, owner, a.code))
            if computed is not None:
                for node in ast.walk(computed):
                    if isinstance(node, ast.Literal) and isinstance(node.value, str):
                        what = f"the computed default of attribute {a.code}"
                        _check_item(a, node.value, dictionary.items, what, node.span, index)


def _check_query_parameters(catalog: Catalog, index: LoadIndex) -> None:
    """The parameters of a query dictionary's query are ``topic`` and attribute codes of
    every topic with an attribute that chooses from the dictionary."""
    reported: set[tuple[str, str, str]] = set()
    for topic in catalog.topics:
        try:
            attributes = catalog.effective_attributes(topic.code)
        except (NotFoundError, ValidationError):  # a broken group chain is reported apart
            continue
        codes = {e.code for e in attributes} | {"topic"}
        for e in attributes:
            name = e.definition.dictionary
            if name is None:
                continue
            dictionary = catalog.dictionary(name)
            if dictionary.kind is not DictionaryKind.QUERY:
                continue
            for parameter in dictionary.parameters:
                key = (e.owner, e.code, parameter)
                if parameter in codes or key in reported:
                    continue
                reported.add(key)
                scope = "group" if e.inherited else "topic"
                index.error(
                    f"attribute {e.code} chooses from query dictionary {name}, whose query "
                    f"names parameter :{parameter}, but topic {topic.code} has no such "
                    "attribute",
                    index.span("attribute", scope, e.owner, e.code),
                    did_you_mean(parameter, codes)
                    or "a parameter is `topic` or an attribute code of the topic",
                )


def _check_item(
    attribute: AttributeDef,
    code: str,
    items: tuple[DictionaryItem, ...],
    what: str,
    span: SourceSpan,
    index: LoadIndex,
) -> None:
    found = next((i for i in items if i.code == code), None)
    if found is None:
        index.error(
            f"{what} is {code!r}, which is not an item of dictionary {attribute.dictionary}",
            span,
            did_you_mean(code, [i.code for i in items]),
        )
    elif not found.active:
        index.error(
            f"{what} is {code!r}, an inactive item of dictionary {attribute.dictionary}",
            span,
            "activate the item or choose another default",
        )


# --- Routes ----------------------------------------------------------------------------------


def _reach(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_route_graph(route: Route, index: LoadIndex) -> None:
    key = (route.code, str(route.version))
    forward: dict[str, set[str]] = {}
    backward: dict[str, set[str]] = {}
    for t in route.transitions:
        forward.setdefault(t.source, set()).add(t.target)
        backward.setdefault(t.target, set()).add(t.source)
    reachable = _reach({route.initial}, forward)
    closing = _reach({p.code for p in route.processes if p.final}, backward)
    for p in route.processes:
        span = index.span("process", *key, p.code)
        if p.code not in reachable:
            index.error(
                f"process {p.code} of route {route.code} v{route.version} cannot be reached "
                f"from the initial process {route.initial}",
                span,
            )
        elif p.code not in closing:
            index.error(
                f"no final process can be reached from process {p.code} of route "
                f"{route.code} v{route.version}: its appeals could never close",
                span,
            )


_MAX_CYCLES = 10
"""Cycles of automatic transitions reported per route at most: past a few, more of them say
nothing new."""


def _automatic_cycles(route: Route) -> list[list[Transition]]:
    """Each cycle of automatic transitions once, started at its earliest process."""
    out: dict[str, list[Transition]] = {}
    for t in route.transitions:
        if t.automatic:
            out.setdefault(t.source, []).append(t)
    order = {p.code: i for i, p in enumerate(route.processes)}
    cycles: list[list[Transition]] = []

    def walk(start: str, path: list[Transition], seen: set[str]) -> None:
        for t in out.get(path[-1].target if path else start, ()):
            if len(cycles) >= _MAX_CYCLES:
                return
            if t.target == start:
                cycles.append([*path, t])
            elif t.target not in seen and order[t.target] > order[start]:
                walk(start, [*path, t], seen | {t.target})

    for p in route.processes:
        walk(p.code, [], {p.code})
    return cycles


def _check_automatic_cycles(
    catalog: Catalog, route: Route, index: LoadIndex, scopes: _Scopes
) -> None:
    what = f"route {route.code} v{route.version}"
    schema = scopes.schema(("route", route.code, str(route.version)))
    for cycle in _automatic_cycles(route):
        shown = " -> ".join([cycle[0].source, *(t.target for t in cycle)])
        rules = [catalog.rule(t.rule) for t in cycle if t.rule is not None]
        try:
            compiled = [
                compile_rule(r.expression, schema=schema, file=f"rule {r.code}") for r in rules
            ]
        except DefinitionError:
            continue  # reported as a rule problem already
        found = find_case(compiled)
        head = f"automatic transitions of {what} form a cycle {shown}"
        if found.gap is not None:
            when = f" (when {found.gap})" if found.gap else " (none has a condition)"
            message = (
                f"{head}, and their conditions can all hold at once{when}: an appeal would "
                "go round it until the engine gives up"
            )
        elif found.exhaustive:
            message = (
                f"{head}; their conditions cannot all hold at once, so an appeal stops on the "
                "way unless a handler changes what they read"
            )
        else:
            message = (
                f"{head}; no case was found in which their conditions all hold at once, but "
                "the search was not exhaustive"
            )
        index.error(
            message,
            index.span("transition", route.code, str(route.version), cycle[0].code),
            "make one of the transitions manual (drop 'automatic')",
        )


def _check_overrides(catalog: Catalog, route: Route, index: LoadIndex, scopes: _Scopes) -> None:
    have = scopes.attributes(("route", route.code, str(route.version)))
    for p in route.processes:
        for o in p.overrides:
            if o.attribute not in have:
                topics = ", ".join(route.topics)
                index.error(
                    f"process {p.code} overrides attribute {o.attribute}, which topic(s) "
                    f"{topics} of route {route.code} do not have",
                    index.span("override", route.code, str(route.version), p.code, o.attribute),
                    did_you_mean(o.attribute, have),
                )


def _check_required_hidden(catalog: Catalog, route: Route, index: LoadIndex) -> None:
    reported: set[tuple[str, str]] = set()
    for topic in route.topics:
        for effective in catalog.effective_attributes(topic):
            a = effective.definition
            if a.default is not None or a.computed_default is not None or not a.active:
                continue
            for p in route.processes:
                if p.final:
                    continue
                flags = catalog.attribute_flags(topic, a.code, route=route, process=p.code)
                blocked = [
                    n
                    for n, f in (("hidden", flags.hidden), ("read-only", flags.read_only))
                    if f.value
                ]
                if not flags.required.value or not blocked:
                    continue
                override = p.override(a.code)
                own = override is not None and not override.inherits_all
                where = (p.code, a.code) if own else ("", a.code)
                if where in reported:
                    continue
                reported.add(where)
                span = (
                    index.span("override", route.code, str(route.version), p.code, a.code)
                    if own
                    else index.span(
                        "attribute",
                        "topic" if not effective.inherited else "group",
                        effective.owner,
                        a.code,
                    )
                )
                conditional = flags.required.conditional or any(
                    f.conditional for f in (flags.hidden, flags.read_only) if f.value
                )
                index.error(
                    f"attribute {a.code} is required but {' and '.join(blocked)} in process "
                    f"{p.code} of route {route.code} v{route.version}, and has no default"
                    + (" (when their conditions hold together)" if conditional else ""),
                    span,
                    "give it a default, or make it visible and editable there",
                )


def _check_versions(catalog: Catalog, index: LoadIndex) -> None:
    for code in dict.fromkeys(r.code for r in catalog.routes):
        versions = [catalog.route(code, v) for v in catalog.route_versions(code)]
        for old, new in itertools.pairwise(versions):
            span = index.span("routes", code, str(new.version))
            kept = {p.code for p in new.processes}
            for p in old.processes:
                if p.code not in kept and p.code not in new.moved_processes:
                    index.error(
                        f"route {code} v{new.version} drops process {p.code} of v{old.version} "
                        "without saying where appeals waiting in it go",
                        span,
                        f"add: moved {p.code} -> <process of v{new.version}>",
                    )
            for gone in new.moved_processes:
                where = index.span("moved", code, str(new.version), gone)
                if gone in kept:
                    index.error(f"process {gone} still exists in v{new.version}", where)
                elif gone not in {p.code for p in old.processes}:
                    index.error(f"v{old.version} of route {code} has no process {gone}", where)


# --- Queues ----------------------------------------------------------------------------------


def _candidates(catalog: Catalog, process: Process) -> list[Queue]:
    if process.queues:
        return [catalog.queue(c) for c in process.queues]
    return [q for q in catalog.queues if q.active and q.allows_process(process.code)]


def _check_queues(catalog: Catalog, route: Route, index: LoadIndex, scopes: _Scopes) -> None:
    key = (route.code, str(route.version))
    what = f"route {route.code} v{route.version}"
    for p in route.processes:
        if p.final or p.queue_policy.value == "keep":
            continue
        span = index.span("process", *key, p.code)
        for code in p.queues:
            if not catalog.queue(code).allows_process(p.code):
                index.error(f"queue {code} does not allow process {p.code} of {what}", span)
        queues = [q for q in _candidates(catalog, p) if q.allows_process(p.code) and q.active]
        if not queues:
            index.error(
                f"no queue can take appeals in process {p.code} of {what}",
                span,
                f"list {p.code} in the processes of a queue",
            )
            continue
        if any(q.rule is None for q in queues):
            continue
        rules = [catalog.rule(q.rule) for q in queues if q.rule is not None]
        gap = _uncovered(rules, scopes.schema(("catalog",)))
        if gap is not None:
            shown = ", ".join(q.code for q in queues)
            index.error(
                f"no queue takes appeals in process {p.code} of {what} when {gap}: the rules "
                f"of queues {shown} are all false then",
                span,
                "add a queue without a rule, or widen a rule",
            )


def _uncovered(rules: list[Any], schema: Schema) -> str | None:
    """Values for which every rule is false, described; ``None`` if there are none (or, for
    rules :mod:`~crmcms.dsl.rules.coverage` cannot decide exactly, none were found)."""
    compiled = []
    for rule in rules:
        try:
            compiled.append(compile_rule(rule.expression, schema=schema, file=f"rule {rule.code}"))
        except DefinitionError:
            return None  # reported as a rule problem already
    return find_gap(compiled).gap
