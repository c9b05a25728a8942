"""Declarations to one Catalog: dictionaries, places, operators, topics, rules, queues, routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmcms.dsl.definitions.ast import Decl, Item, Ref, SourceFile
from crmcms.dsl.definitions.build_calendars import build_calendar
from crmcms.dsl.definitions.build_messages import build_message
from crmcms.dsl.definitions.build_reports import build_report
from crmcms.dsl.definitions.build_routes import RouteBuilder
from crmcms.dsl.definitions.build_webhooks import build_webhook
from crmcms.dsl.definitions.catalog_draft import CatalogDraft
from crmcms.dsl.definitions.checks import Condition, LoadIndex, value_rule_type
from crmcms.dsl.rules.unparse import unparse
from crmcms.errors import SourceSpan
from crmcms.model import (
    AttributeDef,
    AttributeGroup,
    Catalog,
    Channel,
    ClientCategory,
    ContactPlace,
    ContactPlaceKind,
    ContactTemplate,
    Dictionary,
    DictionaryItem,
    DictionaryKind,
    Direction,
    GroupDisplay,
    MailingList,
    Operator,
    Priority,
    Queue,
    QueueMember,
    Role,
    Rule,
    Topic,
    TopicGroup,
    ValueType,
)
from crmcms.model._lookup import did_you_mean
from crmcms.model.security import Permission

__all__ = ["CatalogBuilder"]

_VALUE_TYPES = {t.value: t for t in ValueType if t is not ValueType.REFERENCE}
_DIRECTIONS = {"incoming": Direction.INCOMING, "outgoing": Direction.OUTGOING, "any": None}


class CatalogBuilder:
    """Turns declarations into model definitions, noting where each came from; routes are
    built by a :class:`RouteBuilder` on the same draft."""

    def __init__(self, index: LoadIndex) -> None:
        self.draft = CatalogDraft(index)
        self.routes = RouteBuilder(self.draft)

    # --- the whole load --------------------------------------------------------------

    def build(self, files: list[SourceFile]) -> Catalog | None:
        handlers: dict[str, Callable[[Decl], None]] = {
            "dictionary": self.dictionary,
            "place kind": self.simple("place_kinds", "contact place kind", ContactPlaceKind),
            "place": lambda d: self.place(d, None),
            "channel": self.simple("channels", "channel", Channel),
            "client category": self.simple("client_categories", "client category", ClientCategory),
            "priority": self.priority,
            "mailing list": self.mailing_list,
            "role": self.role,
            "operator": self.operator,
            "template": self.template,
            "group": lambda d: self.group(d, None),
            "topic": lambda d: self.topic(d, None),
            "rule": self.rule,
            "queue": self.queue,
            "route": self.routes.route,
            "message": lambda d: build_message(self.draft, d),
            "calendar": lambda d: build_calendar(self.draft, d),
            "webhook": lambda d: build_webhook(self.draft, d),
            "problem attribute": self.problem_attribute,
            "report": lambda d: build_report(self.draft, d),
        }
        # Places first: templates may name a place by its path of names.
        ordered = sorted(
            (d for f in files for d in f.decls), key=lambda d: 0 if d.kind == "place" else 1
        )
        for decl in ordered:
            handlers[decl.kind](decl)
        if self.draft.index.problems:
            return None
        return self.draft.make(
            SourceSpan(next(iter(self.draft.index.sources), "<definitions>"), 1, 1),
            lambda: Catalog(**{k: tuple(v) for k, v in self.draft.fields.items()}),
        )

    # --- declarations ----------------------------------------------------------------

    def simple(self, field: str, shown: str, cls: Callable[..., Any]) -> Callable[[Decl], None]:
        def build(decl: Decl) -> None:
            self.draft.add(
                field,
                decl,
                decl.code.code,
                f"{shown} {decl.code.code!r}",
                lambda: cls(
                    decl.code.code,
                    decl.name or "",
                    description=self.draft.description(decl),
                    active=self.draft.active(decl),
                ),
            )

        return build

    def dictionary(self, decl: Decl) -> None:
        kind = DictionaryKind.ANALYTIC
        source = query = None
        for key in ("analytic", "internal", "external", "query"):
            item = self.draft.single(decl, key)
            if item is not None:
                kind = DictionaryKind(key)
                if key == "external" and item.values:
                    source = str(item.values[0])
                elif key == "query":
                    query = str(item.values[0])
        items = []
        item_codes: set[str] = set()
        for it in decl.decls("item"):
            if it.code.code in item_codes:
                self.draft.error(f"item {it.code.code!r} is listed twice", it.code.span)
                continue
            item_codes.add(it.code.code)
            parent = self.draft.single(it, "parent")
            items.append(
                DictionaryItem(
                    it.code.code,
                    it.name or "",
                    active=self.draft.active(it),
                    parent=None if parent is None else parent.values[0].code,
                )
            )
        self.draft.add(
            "dictionaries",
            decl,
            decl.code.code,
            f"dictionary {decl.code.code!r}",
            lambda: Dictionary(
                decl.code.code,
                decl.name or "",
                kind,
                items=tuple(items),
                description=self.draft.description(decl),
                source=source,
                query=query,
                active=self.draft.active(decl),
            ),
        )

    def place(self, decl: Decl, parent: str | None) -> None:
        own_parent = self.draft.single(decl, "parent")
        if own_parent is not None and parent is not None:
            self.draft.error(
                "a nested place takes its parent from the enclosing one", own_parent.span
            )
        elif own_parent is not None:
            parent = self.draft.ref("place", own_parent.values[0])
        kind = self.draft.single(decl, "kind")
        self.draft.add(
            "places",
            decl,
            decl.code.code,
            f"contact place {decl.code.code!r}",
            lambda: ContactPlace(
                decl.code.code,
                decl.name or "",
                parent=parent,
                kind=None if kind is None else self.draft.ref("place kind", kind.values[0]),
                description=self.draft.description(decl),
                active=self.draft.active(decl),
            ),
        )
        for child in decl.decls("place"):
            self.place(child, decl.code.code)

    def priority(self, decl: Decl) -> None:
        rank = self.draft.single(decl, "rank")
        self.draft.add(
            "priorities",
            decl,
            decl.code.code,
            f"priority {decl.code.code!r}",
            lambda: Priority(
                decl.code.code,
                decl.name or "",
                rank=0 if rank is None else int(rank.values[0]),
                active=self.draft.active(decl),
            ),
        )

    def mailing_list(self, decl: Decl) -> None:
        addresses = self.draft.single(decl, "addresses")
        self.draft.add(
            "mailing_lists",
            decl,
            decl.code.code,
            f"mailing list {decl.code.code!r}",
            lambda: MailingList(
                decl.code.code,
                decl.name or "",
                operators=self.draft.refs("operator", self.draft.single(decl, "operators")),
                addresses=() if addresses is None else tuple(addresses.values),
                description=self.draft.description(decl),
                active=self.draft.active(decl),
            ),
        )

    def role(self, decl: Decl) -> None:
        permissions = self.draft.single(decl, "permissions")
        known = [str(p) for p in Permission]
        for ref in () if permissions is None else permissions.values:
            if ref.code not in known:
                self.draft.error(
                    f"unknown permission {ref.code!r} of role {decl.code.code}",
                    ref.span,
                    did_you_mean(ref.code, known) or f"known: {', '.join(known)}",
                )
        self.draft.add(
            "roles",
            decl,
            decl.code.code,
            f"role {decl.code.code!r}",
            lambda: Role(
                decl.code.code,
                decl.name or "",
                description=self.draft.description(decl),
                permissions=()
                if permissions is None
                else tuple(r.code for r in permissions.values),
            ),
        )

    def operator(self, decl: Decl) -> None:
        for item in decl.items("password"):
            self.draft.error(
                "passwords do not belong in definition files",
                item.span,
                "operators authenticate outside crmcms; remove the line",
            )
        template = self.draft.single(decl, "template")
        self.draft.add(
            "operators",
            decl,
            decl.code.code,
            f"operator {decl.code.code!r}",
            lambda: Operator(
                decl.code.code,
                decl.name or "",
                roles=self.draft.refs("role", self.draft.single(decl, "roles")),
                template=None
                if template is None
                else self.draft.ref("template", template.values[0]),
                active=self.draft.active(decl),
                email=self.draft.text(decl, "email"),
            ),
        )

    def template(self, decl: Decl) -> None:
        def one(key: str, kind: str) -> str | None:
            item = self.draft.single(decl, key)
            return None if item is None else self.place_or_ref(kind, item.values[0])

        def many(key: str, kind: str) -> tuple[str, ...]:
            item = self.draft.single(decl, key)
            return () if item is None else tuple(self.place_or_ref(kind, r) for r in item.values)

        direction = self.draft.text(decl, "direction")
        self.draft.add(
            "templates",
            decl,
            decl.code.code,
            f"contact template {decl.code.code!r}",
            lambda: ContactTemplate(
                decl.code.code,
                decl.name or "",
                description=self.draft.description(decl),
                place_kind=one("place kind", "place kind"),
                places=many("places", "place"),
                default_place=one("default place", "place"),
                direction=None if direction is None else _DIRECTIONS[direction],
                channel=one("channel", "channel"),
                topics=many("topics", "topic"),
                default_topic=one("default topic", "topic"),
                client_categories=many("client categories", "client category"),
                default_client_category=one("default client category", "client category"),
            ),
        )

    def place_or_ref(self, kind: str, ref: Ref) -> str:
        """A reference; a quoted place with ``/`` or ``\\`` in it is a path of place names."""
        if kind != "place" or not ref.quoted or not ("/" in ref.code or "\\" in ref.code):
            return self.draft.ref(kind, ref)
        names = {p.code: p for p in self.draft.fields["places"]}
        paths: dict[tuple[str, ...], str] = {}
        for place in names.values():
            chain, current, seen = [], place, set()
            while current is not None and current.code not in seen:
                seen.add(current.code)
                chain.append(current.name)
                current = names.get(current.parent) if current.parent else None
            paths[tuple(reversed(chain))] = place.code
        wanted = tuple(n.strip() for n in ref.code.replace("\\", "/").split("/"))
        if wanted in paths:
            return paths[wanted]
        shown = {"/".join(k): v for k, v in paths.items()}
        self.draft.error(
            f"no contact place has the path {ref.code!r}",
            ref.span,
            did_you_mean("/".join(wanted), shown),
        )
        return ref.code

    # --- topics and attributes -------------------------------------------------------

    def parent_of(self, decl: Decl, enclosing: str | None) -> str | None:
        own = self.draft.single(decl, "parent")
        if own is not None and enclosing is not None:
            self.draft.error(
                f"{decl.kind} {decl.code.code} is inside group {enclosing} already", own.span
            )
        if own is not None:
            return self.draft.ref("topic group", own.values[0])
        return enclosing

    def group(self, decl: Decl, enclosing: str | None) -> None:
        parent = self.parent_of(decl, enclosing)
        scope = ("group", decl.code.code)
        attributes = [self.attribute(a, scope) for a in decl.decls("attribute")]
        self.draft.add(
            "topic_groups",
            decl,
            decl.code.code,
            f"topic group {decl.code.code!r}",
            lambda: TopicGroup(
                decl.code.code,
                decl.name or "",
                description=self.draft.description(decl),
                parent=parent,
                attributes=tuple(a for a in attributes if a is not None),
                active=self.draft.active(decl),
            ),
        )
        for child in decl.decls("group", "topic"):
            (self.group if child.kind == "group" else self.topic)(child, decl.code.code)

    def topic(self, decl: Decl, enclosing: str | None) -> None:
        parent = self.parent_of(decl, enclosing)
        scope = ("topic", decl.code.code)
        attributes: list[AttributeDef] = []
        blocks: list[AttributeGroup] = []
        for member in decl.decls("attribute", "attributes"):
            if member.kind == "attribute":
                made = self.attribute(member, scope)
                if made is not None:
                    attributes.append(made)
                continue
            codes = []
            for inner in member.decls("attribute"):
                codes.append(inner.code.code)
                if inner.name is not None:
                    made = self.attribute(inner, scope)
                    if made is not None:
                        attributes.append(made)
                else:
                    self.draft.index.refs.append(("attribute of " + decl.code.code, inner.code, ""))
            blocks.append(self.attribute_group(member, tuple(codes), scope))
        self.draft.add(
            "topics",
            decl,
            decl.code.code,
            f"topic {decl.code.code!r}",
            lambda: Topic(
                decl.code.code,
                decl.name or "",
                description=self.draft.description(decl),
                group=parent,
                attributes=tuple(attributes),
                attribute_groups=tuple(blocks),
                active=self.draft.active(decl),
                attachment_limit=self.attachment_limit(decl),
            ),
        )

    def attachment_limit(self, decl: Decl) -> int | None:
        item = self.draft.single(decl, "attachments")
        return None if item is None else int(item.values[0])

    def attribute_group(
        self, decl: Decl, codes: tuple[str, ...], scope: tuple[str, ...]
    ) -> AttributeGroup:
        display = self.draft.text(decl, "display")
        owner = f"attribute group {decl.code.code}"
        flags = self.draft.flags((o for o in decl.options if o.key == "flag"), scope, owner)
        return AttributeGroup(
            decl.code.code,
            decl.name or "",
            attributes=codes,
            display=GroupDisplay(display) if display else GroupDisplay.COLLAPSED,
            description=self.draft.description(decl),
            **flags,
        )

    def computed(
        self, item: Item, scope: tuple[str, ...], owner: str, value_type: ValueType
    ) -> str:
        """A computed default: an expression of the attribute's own type (one value)."""
        node = item.values[0]
        what = f"the computed default of {owner}"
        expected = value_rule_type(value_type)
        self.draft.index.conditions.append(Condition(node, scope, what, False, expected))
        self.draft.index.computed[(*scope, owner.removeprefix("attribute "))] = node
        return unparse(node)

    def attribute(self, decl: Decl, scope: tuple[str, ...]) -> AttributeDef | None:
        if decl.name is None:
            self.draft.error(
                f"attribute {decl.code.code} needs a name and a type",
                decl.code.span,
                "only an attribute group lists an attribute by code alone; "
                'elsewhere write: attribute 1 "Name": string',
            )
            return None
        owner = f"attribute {decl.code.code}"
        type_item = self.draft.single(decl, "type")
        assert type_item is not None
        value = type_item.values[0]
        dictionary = None
        if isinstance(value, Ref):
            value_type = ValueType.REFERENCE
            dictionary = self.draft.ref("dictionary", value, f"type of {owner}")
        else:
            value_type = _VALUE_TYPES[value]
        flags = self.draft.flags((o for o in decl.options if o.key == "flag"), scope, owner)
        computed = self.draft.single(decl, "computed")
        metadata: dict[str, str] = {}
        for item in (o for o in decl.options if o.key == "meta"):
            metadata[item.values[0].code] = item.values[1]
        self.draft.index.spans[("attribute", *scope, decl.code.code)] = decl.code.span
        fixed = self.draft.single(decl, "default")
        if fixed is not None:
            self.draft.index.spans[("default", *scope, decl.code.code)] = fixed.span
        return self.draft.make(
            decl.code.span,
            lambda: AttributeDef(
                decl.code.code,
                decl.name or "",
                value_type,
                description=self.draft.description(decl),
                active=self.draft.active(decl),
                multiple=self.draft.single(decl, "multiple") is not None,
                dictionary=dictionary,
                default=self.draft.text(decl, "default"),
                computed_default=None
                if computed is None
                else self.computed(computed, scope, owner, value_type),
                show_in_column=self.draft.single(decl, "column") is not None,
                metadata=metadata,
                mask=self.draft.text(decl, "mask"),
                regex=self.draft.text(decl, "regex"),
                **flags,
            ),
        )

    def problem_attribute(self, decl: Decl) -> None:
        """An attribute of every system problem; its flags hold always, since no rule
        reads a problem."""
        for item in (o for o in decl.options if o.key == "flag" and o.values[1] is not None):
            self.draft.error(
                f"system problem attribute {decl.code.code}: a flag here takes no condition",
                item.span,
                f"write '{item.values[0]}' alone",
            )
        computed = self.draft.single(decl, "computed")
        if computed is not None:
            self.draft.error(
                f"system problem attribute {decl.code.code} cannot be computed",
                computed.span,
                "no rule reads a problem: give a fixed default",
            )
            return
        made = self.attribute(decl, ("problem",))
        if made is None:
            return
        key = decl.code.code
        if self.draft.claim("problem_attributes", key, decl.code.span, f"problem attribute {key}"):
            self.draft.fields["problem_attributes"].append(made)

    # --- rules and queues ------------------------------------------------------------

    def rule(self, decl: Decl) -> None:
        node = decl.options[-1].values[0]
        self.draft.add(
            "rules",
            decl,
            decl.code.code,
            f"rule {decl.code.code!r}",
            lambda: Rule(
                decl.code.code,
                decl.name or "",
                self.draft.condition(
                    node, ("catalog",), f"rule {decl.code.code}", rule=decl.code.code
                ),
                description=self.draft.description(decl),
            ),
        )

    def queue(self, decl: Decl) -> None:
        code = decl.code.code
        members = self.draft.single(decl, "members")
        built_members = []
        for kind, ref in () if members is None else members.values:
            if kind == "role":
                built_members.append(QueueMember.role(self.draft.ref("role", ref)))
            else:
                built_members.append(QueueMember.operator(self.draft.ref("operator", ref)))
        processes = self.draft.single(decl, "processes")
        for ref in () if processes is None else processes.values:
            self.draft.index.refs.append(("process", ref, f"queue {code}"))
        rule = self.draft.when(decl, f"queue.{code}", ("catalog",), f"queue {code}")
        self.draft.add(
            "queues",
            decl,
            code,
            f"queue {code!r}",
            lambda: Queue(
                code,
                decl.name or "",
                description=self.draft.description(decl),
                members=tuple(built_members),
                administrators=self.draft.refs("operator", self.draft.single(decl, "admins")),
                processes=() if processes is None else tuple(r.code for r in processes.values),
                rule=rule,
                system=self.draft.single(decl, "system") is not None,
                active=self.draft.active(decl),
                calendar=self.draft.calendar(decl, f"queue {code}"),
            ),
        )
