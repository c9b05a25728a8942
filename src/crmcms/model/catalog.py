"""The catalog: one immutable, indexed set of every definition, with lookups across them."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

import attrs

from crmcms.errors import InvalidValueError, NotFoundError, Problem, ValidationError
from crmcms.model._checks import duplicates
from crmcms.model._lookup import did_you_mean, find
from crmcms.model.attributes import AttributeDef
from crmcms.model.calendars import ALWAYS, WEEKDAYS, BusinessCalendar
from crmcms.model.common import ClientCategory, MailingList, Priority, Rule
from crmcms.model.dictionaries import Dictionary
from crmcms.model.messages import MessageTemplate
from crmcms.model.notifications import NotificationKind
from crmcms.model.people import Operator, Role
from crmcms.model.places import Channel, ContactPlace, ContactPlaceKind
from crmcms.model.queues import Queue
from crmcms.model.reports import ReportDefinition
from crmcms.model.routes import Route
from crmcms.model.security import BUILTIN_ROLES, Principal
from crmcms.model.templates import ContactTemplate
from crmcms.model.topics import Topic, TopicGroup
from crmcms.model.values import AttributeFlags, resolve_flag
from crmcms.model.webhooks import Webhook

__all__ = ["BUILTIN_CALENDARS", "Catalog", "EffectiveAttribute"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

PLACE_SEPARATOR = "\\"

BUILTIN_CALENDARS: Mapping[str, BusinessCalendar] = {c.code: c for c in (WEEKDAYS, ALWAYS)}
"""Calendars every catalog knows by code; a calendar of the same code defined in it wins."""


@attrs.frozen
class EffectiveAttribute:
    """An attribute as a topic sees it: the definition and who defines it."""

    definition: AttributeDef
    owner: str
    """Code of the topic or topic group that defines it."""
    inherited: bool
    """Defined by an enclosing topic group rather than the topic itself."""

    @property
    def code(self) -> str:
        return self.definition.code


def _index(items: Iterable[T], key: Callable[[T], K]) -> Mapping[K, T]:
    return {key(item): item for item in items}


def _code(item: Any) -> str:
    return str(item.code)


class _Nested(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def parent(self) -> str | None: ...


N = TypeVar("N", bound=_Nested)


def _ancestors(code: str | None, get: Callable[[str], N], field: str, what: str) -> tuple[N, ...]:
    """``code``'s definition and its parents up to the root, root first; a cycle is refused."""
    chain: list[N] = []
    while code is not None:
        item = get(code)
        if item in chain:
            names = " -> ".join(i.code for i in [*chain, item])
            raise ValidationError(
                [Problem(field, f"{what} form a cycle: {names}")], subject="catalog"
            )
        chain.append(item)
        code = item.parent
    return tuple(reversed(chain))


@attrs.frozen
class Catalog:
    """Every definition crmcms works with, indexed by code (routes by code and version).

    Construction refuses duplicate codes; lookups raise :class:`~crmcms.errors.NotFoundError`
    with a did-you-mean hint. Cross-references are followed lazily, so a dangling one
    surfaces as ``NotFoundError`` when a helper needs it.
    """

    dictionaries: tuple[Dictionary, ...] = ()
    place_kinds: tuple[ContactPlaceKind, ...] = ()
    places: tuple[ContactPlace, ...] = ()
    channels: tuple[Channel, ...] = ()
    client_categories: tuple[ClientCategory, ...] = ()
    topic_groups: tuple[TopicGroup, ...] = ()
    topics: tuple[Topic, ...] = ()
    rules: tuple[Rule, ...] = ()
    priorities: tuple[Priority, ...] = ()
    mailing_lists: tuple[MailingList, ...] = ()
    routes: tuple[Route, ...] = ()
    queues: tuple[Queue, ...] = ()
    roles: tuple[Role, ...] = ()
    operators: tuple[Operator, ...] = ()
    templates: tuple[ContactTemplate, ...] = ()
    message_templates: tuple[MessageTemplate, ...] = ()
    calendars: tuple[BusinessCalendar, ...] = ()
    """Business calendars; ``WEEKDAYS`` and ``ALWAYS`` are known without being listed."""
    webhooks: tuple[Webhook, ...] = ()
    """Subscriptions of other systems to history events."""
    problem_attributes: tuple[AttributeDef, ...] = ()
    """The attributes every system problem carries (``problem attribute`` declarations)."""
    reports: tuple[ReportDefinition, ...] = ()
    """Custom reports of the definition files (the built-in ones are known without)."""

    _by_kind: Mapping[str, Mapping[Any, Any]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        indexes: dict[str, Mapping[Any, Any]] = {}
        for field in attrs.fields(Catalog):
            if not field.init:
                continue
            items = getattr(self, field.name)
            keyed = field.name in ("routes", "message_templates")
            key: Callable[[Any], Any] = (lambda r: r.key) if keyed else _code
            problems += [
                Problem(field.name, f"{k!r} is defined more than once")
                for k in duplicates(key(i) for i in items)
            ]
            indexes[field.name] = _index(items, key)
        if problems:
            raise ValidationError(problems, subject="catalog")
        indexes["all_roles"] = {**BUILTIN_ROLES, **indexes["roles"]}
        object.__setattr__(self, "_by_kind", indexes)

    # --- Lookups by code ------------------------------------------------------------------

    def _get(self, field: str, kind: str, key: Hashable, cls: type[T]) -> T:
        item = find(kind, self._by_kind[field], key)
        assert isinstance(item, cls)
        return item

    def dictionary(self, code: str) -> Dictionary:
        return self._get("dictionaries", "dictionary", code, Dictionary)

    def place_kind(self, code: str) -> ContactPlaceKind:
        return self._get("place_kinds", "contact place kind", code, ContactPlaceKind)

    def place(self, code: str) -> ContactPlace:
        return self._get("places", "contact place", code, ContactPlace)

    def channel(self, code: str) -> Channel:
        return self._get("channels", "channel", code, Channel)

    def client_category(self, code: str) -> ClientCategory:
        return self._get("client_categories", "client category", code, ClientCategory)

    def topic_group(self, code: str) -> TopicGroup:
        return self._get("topic_groups", "topic group", code, TopicGroup)

    def topic(self, code: str) -> Topic:
        return self._get("topics", "topic", code, Topic)

    def rule(self, code: str) -> Rule:
        return self._get("rules", "rule", code, Rule)

    def priority(self, code: str) -> Priority:
        return self._get("priorities", "priority", code, Priority)

    def mailing_list(self, code: str) -> MailingList:
        return self._get("mailing_lists", "mailing list", code, MailingList)

    def queue(self, code: str) -> Queue:
        return self._get("queues", "queue", code, Queue)

    def role(self, code: str) -> Role:
        """Role ``code``: one of ``roles``, else the built-in of that code."""
        return find("role", self.all_roles, code)

    @property
    def all_roles(self) -> Mapping[str, Role]:
        """Every role by code: the built-in ones and those of ``roles``."""
        return self._by_kind["all_roles"]

    def principal(
        self,
        login: str,
        *,
        session: int | None = None,
        expires_at: datetime | None = None,
        source: str | None = None,
    ) -> Principal:
        """The principal of operator ``login`` with the permissions of its roles (see
        :meth:`Principal.of`); whether the login was authenticated is the caller's business."""
        return Principal.of(
            self.operator(login),
            self.all_roles,
            administers=any(login in q.administrators for q in self.queues),
            session=session,
            expires_at=expires_at,
            source=source,
        )

    def operator(self, login: str) -> Operator:
        return self._get("operators", "operator", login, Operator)

    def template(self, code: str) -> ContactTemplate:
        return self._get("templates", "contact template", code, ContactTemplate)

    def calendar(self, code: str) -> BusinessCalendar:
        """Calendar ``code``: one of ``calendars``, else the built-in of that code."""
        index: dict[str, BusinessCalendar] = {**BUILTIN_CALENDARS, **self._by_kind["calendars"]}
        return find("business calendar", index, code)

    def webhook(self, code: str) -> Webhook:
        return self._get("webhooks", "webhook", code, Webhook)

    def problem_attribute(self, code: str) -> AttributeDef:
        return self._get("problem_attributes", "system problem attribute", code, AttributeDef)

    def report(self, code: str) -> ReportDefinition:
        return self._get("reports", "report", code, ReportDefinition)

    # --- Routes ---------------------------------------------------------------------------

    def route_versions(self, code: str) -> tuple[int, ...]:
        """Every stored version of route ``code``, oldest first."""
        versions = tuple(sorted(v for c, v in self._by_kind["routes"] if c == code))
        if not versions:
            codes = {c for c, _ in self._by_kind["routes"]}
            raise NotFoundError("route", code, hint=did_you_mean(code, codes))
        return versions

    def route(self, code: str, version: int | None = None) -> Route:
        """Route ``code`` at ``version``; without a version, the current one."""
        if version is None:
            return self.current_route(code)
        versions = self.route_versions(code)
        if version not in versions:
            raise NotFoundError(
                "route version", (code, version), hint=f"route {code} has versions {versions}"
            )
        return self._get("routes", "route", (code, version), Route)

    def current_route(self, code: str) -> Route:
        """The newest active version, which new appeals start on (newest of all if none is)."""
        routes = [self._get("routes", "route", (code, v), Route) for v in self.route_versions(code)]
        active = [r for r in routes if r.active]
        return (active or routes)[-1]

    def routes_for_topic(self, topic: str) -> tuple[Route, ...]:
        """The current version of every route that serves ``topic``."""
        self.topic(topic)
        codes = dict.fromkeys(c for c, _ in self._by_kind["routes"])
        current = (self.current_route(c) for c in codes)
        return tuple(r for r in current if topic in r.topics)

    # --- Topics and attributes ------------------------------------------------------------

    def group_chain(self, topic: str) -> tuple[TopicGroup, ...]:
        """The groups enclosing ``topic``, outermost first."""
        return _ancestors(self.topic(topic).group, self.topic_group, "topic_groups", "topic groups")

    def effective_attributes(self, topic: str) -> tuple[EffectiveAttribute, ...]:
        """The attributes an appeal on ``topic`` carries: inherited ones first, outermost group
        first, then the topic's own; a nearer definition of the same code replaces a farther one.
        """
        found: dict[str, EffectiveAttribute] = {}
        for group in self.group_chain(topic):
            for a in group.attributes:
                found.pop(a.code, None)
                found[a.code] = EffectiveAttribute(a, group.code, inherited=True)
        for a in self.topic(topic).attributes:
            found.pop(a.code, None)
            found[a.code] = EffectiveAttribute(a, topic, inherited=False)
        return tuple(found.values())

    def attribute(self, topic: str, code: str) -> AttributeDef:
        """One attribute of ``topic``, its own or inherited."""
        index = {e.code: e.definition for e in self.effective_attributes(topic)}
        return find(f"attribute of topic {topic}", index, code)

    def attribute_flags(
        self,
        topic: str,
        attribute: str,
        *,
        route: Route | None = None,
        process: str | None = None,
    ) -> AttributeFlags:
        """The flags in force for ``attribute`` of ``topic``, in ``process`` of ``route`` if given.

        A process override replaces the attribute's flag; "not defined" keeps it.
        """
        definition = self.attribute(topic, attribute)
        override = None
        if route is not None and process is not None:
            override = route.process(process).override(attribute)
        elif (route is None) != (process is None):
            raise InvalidValueError("give both route and process, or neither")
        if override is None:
            return AttributeFlags(definition.hidden, definition.read_only, definition.required)
        return AttributeFlags(
            resolve_flag(definition.hidden, override.hidden),
            resolve_flag(definition.read_only, override.read_only),
            resolve_flag(definition.required, override.required),
        )

    # --- Places, queues, operators --------------------------------------------------------

    def place_chain(self, code: str) -> tuple[ContactPlace, ...]:
        """The place and its ancestors, root first."""
        return _ancestors(code, self.place, "places", "contact places")

    def place_path(self, code: str) -> str:
        """The place's names from the root, joined with ``\\`` as the console shows them."""
        return PLACE_SEPARATOR.join(p.name for p in self.place_chain(code))

    def place_by_path(self, path: str) -> ContactPlace:
        """The place whose :meth:`place_path` is ``path``."""
        paths: dict[str, list[ContactPlace]] = {}
        for place in self.places:
            paths.setdefault(self.place_path(place.code), []).append(place)
        found = find("contact place", paths, path)
        if len(found) > 1:
            codes = ", ".join(p.code for p in found)
            raise ValidationError(
                [Problem("places", f"path {path!r} names more than one place: {codes}")],
                subject="catalog",
            )
        return found[0]

    def queues_for_process(self, process: str) -> tuple[Queue, ...]:
        """Active queues that name ``process`` among their allowed processes."""
        return tuple(q for q in self.queues if q.active and process in q.processes)

    def operators_with_role(self, role: str) -> tuple[Operator, ...]:
        self.role(role)
        return tuple(o for o in self.operators if role in o.roles)

    def message_template(self, code: str) -> MessageTemplate:
        for found in self.message_templates:
            if found.code == code:
                return found
        codes = [m.code for m in self.message_templates]
        raise NotFoundError("message template", code, hint=did_you_mean(code, codes))

    def message_template_for(
        self, event: NotificationKind, topic: str | None
    ) -> MessageTemplate | None:
        """The template for notifications of ``event`` on ``topic``: the topic's own, else
        the nearest of its groups', else the one for every topic; ``None`` if none is."""
        by_key = self._by_kind["message_templates"]
        if topic is not None and by_key:
            found = by_key.get((event, topic))
            if found is not None:
                return found  # type: ignore[no-any-return]
            try:
                chain = self.group_chain(topic)
            except NotFoundError:
                chain = ()
            for group in reversed(chain):  # the nearest group first
                found = by_key.get((event, group.code))
                if found is not None:
                    return found  # type: ignore[no-any-return]
        return by_key.get((event, None))

    def template_for(self, login: str) -> ContactTemplate | None:
        """The contact template assigned to the operator, if any."""
        code = self.operator(login).template
        return None if code is None else self.template(code)
