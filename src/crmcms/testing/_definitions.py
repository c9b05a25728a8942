"""Strategies for valid definitions: attributes, topics, dictionaries, routes, queues, ..."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import strategies as st

from crmcms.model.attributes import AttributeDef
from crmcms.model.common import ClientCategory, MailingList, Priority, Rule
from crmcms.model.dictionaries import Dictionary, DictionaryItem, DictionaryKind
from crmcms.model.escalations import EscalationAction, EscalationLevel, LevelAction
from crmcms.model.messages import MessageTemplate
from crmcms.model.notifications import NotificationKind
from crmcms.model.people import Operator, Role
from crmcms.model.places import Channel, ContactPlace, ContactPlaceKind, Direction
from crmcms.model.queues import Queue, QueueMember
from crmcms.model.routes import (
    AttributeOverride,
    Deadline,
    Handler,
    HandlerEvent,
    Process,
    Route,
    Transition,
)
from crmcms.model.security import Permission
from crmcms.model.templates import ContactTemplate
from crmcms.model.topics import AttributeGroup, GroupDisplay, Topic, TopicGroup
from crmcms.model.values import ValueType, format_value
from crmcms.testing._basics import (
    codes,
    conditions,
    durations,
    flags,
    masks,
    names,
    optional_flags,
    regexes,
    scalars,
)

__all__ = [
    "attribute_defs",
    "attribute_groups",
    "attribute_overrides",
    "channels",
    "client_categories",
    "contact_place_kinds",
    "contact_places",
    "contact_templates",
    "deadlines",
    "dictionaries",
    "dictionary_items",
    "handlers",
    "mailing_lists",
    "message_templates",
    "operators",
    "priorities",
    "processes",
    "queue_members",
    "queues",
    "roles",
    "routes",
    "rules",
    "topic_groups",
    "topics",
    "transitions",
]


def _unique_codes(min_size: int = 0, max_size: int = 5) -> st.SearchStrategy[list[str]]:
    return st.lists(codes(), min_size=min_size, max_size=max_size, unique=True)


def _subset(values: Sequence[str], max_size: int = 4) -> st.SearchStrategy[tuple[str, ...]]:
    if not values:
        return st.just(())
    return st.lists(st.sampled_from(values), max_size=max_size, unique=True).map(tuple)


Pool = Sequence[str] | None
"""Codes a definition may mention: ``None`` draws free codes, an empty pool mentions none."""


def _many(pool: Pool, max_size: int = 4) -> st.SearchStrategy[tuple[str, ...]]:
    if pool is None:
        return _unique_codes(0, max_size).map(tuple)
    return _subset(pool, max_size)


def _one(pool: Pool) -> st.SearchStrategy[str | None]:
    if pool is None:
        return st.none() | codes()
    if not pool:
        return st.none()
    return st.none() | st.sampled_from(pool)


def _metadata() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(codes(), names(), max_size=2)


def dictionary_items() -> st.SearchStrategy[DictionaryItem]:
    return st.builds(DictionaryItem, code=codes(), name=names(), active=st.booleans())


@st.composite
def dictionaries(
    draw: st.DrawFn, *, code: str | None = None, kinds: Sequence[DictionaryKind] | None = None
) -> Dictionary:
    """A dictionary; analytic and internal ones always have at least one active item."""
    kind = draw(st.sampled_from(kinds or list(DictionaryKind)))
    items: tuple[DictionaryItem, ...] = ()
    if kind in (DictionaryKind.ANALYTIC, DictionaryKind.INTERNAL):
        item_codes = draw(_unique_codes(1, 5))
        parents: list[str] = []
        built = []
        for i, item_code in enumerate(item_codes):
            built.append(
                DictionaryItem(
                    item_code,
                    draw(names()),
                    active=i == 0 or draw(st.booleans()),
                    parent=draw(st.none() | st.sampled_from(parents)) if parents else None,
                )
            )
            parents.append(item_code)
        items = tuple(built)
    return Dictionary(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        kind=kind,
        items=items,
        description=draw(names()),
        source=draw(st.none() | names()) if kind is DictionaryKind.EXTERNAL else None,
        query="select code, name from cities where region = :region"
        if kind is DictionaryKind.QUERY
        else None,
        active=draw(st.booleans()),
    )


@st.composite
def attribute_defs(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    value_types: Sequence[ValueType] | None = None,
    dictionaries: Sequence[Dictionary] | None = None,
) -> AttributeDef:
    """A valid attribute; reference attributes point at one of ``dictionaries``.

    With ``dictionaries=None`` a reference names a drawn dictionary code; with an empty
    sequence no reference attribute is drawn.
    """
    types = list(value_types or ValueType)
    if dictionaries is not None and not dictionaries:
        types = [t for t in types if t is not ValueType.REFERENCE]
    value_type = draw(st.sampled_from(types))
    dictionary = None
    if value_type is ValueType.REFERENCE:
        dictionary = draw(st.sampled_from(dictionaries)) if dictionaries else None
    mask = regex = None
    if value_type is ValueType.STRING:
        choice = draw(st.sampled_from(("plain", "mask", "regex")))
        mask = draw(masks()) if choice == "mask" else None
        regex = draw(regexes()) if choice == "regex" else None
    default = computed = None
    how = draw(st.sampled_from(("none", "fixed", "computed")))
    if how == "fixed":
        value = draw(scalars(value_type, mask=mask, regex=regex, dictionary=dictionary))
        default = format_value(value)
    elif how == "computed":
        computed = draw(conditions())
    return AttributeDef(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        value_type=value_type,
        description=draw(names()),
        active=draw(st.booleans()),
        multiple=draw(st.booleans()),
        dictionary=(dictionary.code if dictionary else draw(codes()))
        if value_type is ValueType.REFERENCE
        else None,
        default=default,
        computed_default=computed,
        hidden=draw(flags()),
        read_only=draw(flags()),
        required=draw(flags()),
        show_in_column=draw(st.booleans()),
        metadata=draw(_metadata()),
        mask=mask,
        regex=regex,
    )


@st.composite
def _attribute_sets(
    draw: st.DrawFn, dictionaries: Sequence[Dictionary] | None, max_size: int = 4
) -> tuple[AttributeDef, ...]:
    attr_codes = draw(_unique_codes(0, max_size))
    return tuple(draw(attribute_defs(code=c, dictionaries=dictionaries)) for c in attr_codes)


@st.composite
def attribute_groups(
    draw: st.DrawFn, *, members: Sequence[str] = (), code: str | None = None
) -> AttributeGroup:
    return AttributeGroup(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        attributes=tuple(members),
        display=draw(st.sampled_from(GroupDisplay)),
        hidden=draw(flags()),
        read_only=draw(flags()),
        required=draw(flags()),
        description=draw(names()),
    )


@st.composite
def topic_groups(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    parents: Sequence[str] = (),
    dictionaries: Sequence[Dictionary] | None = None,
) -> TopicGroup:
    own = code if code is not None else draw(codes())
    candidates = [p for p in parents if p != own]
    return TopicGroup(
        code=own,
        name=draw(names()),
        description=draw(names()),
        parent=draw(st.none() | st.sampled_from(candidates)) if candidates else None,
        attributes=draw(_attribute_sets(dictionaries)),
        active=draw(st.booleans()),
    )


@st.composite
def topics(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    groups: Sequence[str] = (),
    dictionaries: Sequence[Dictionary] | None = None,
) -> Topic:
    """A topic with its own attributes split into disjoint attribute groups."""
    attributes = draw(_attribute_sets(dictionaries))
    remaining = [a.code for a in attributes]
    blocks = []
    for block_code in draw(_unique_codes(0, 2)):
        members = draw(_subset(remaining))
        remaining = [c for c in remaining if c not in members]
        blocks.append(draw(attribute_groups(code=block_code, members=members)))
    return Topic(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        description=draw(names()),
        group=draw(st.none() | st.sampled_from(groups)) if groups else None,
        attributes=attributes,
        attribute_groups=tuple(blocks),
        active=draw(st.booleans()),
        attachment_limit=draw(
            st.none()
            | st.integers(1, 10**10)
            | st.integers(1, 999).map(lambda n: n * 1000 ** draw(st.integers(1, 3)))
        ),
    )


def contact_place_kinds() -> st.SearchStrategy[ContactPlaceKind]:
    return st.builds(
        ContactPlaceKind, code=codes(), name=names(), description=names(), active=st.booleans()
    )


@st.composite
def contact_places(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    parents: Sequence[str] = (),
    kinds: Pool = None,
) -> ContactPlace:
    own = code if code is not None else draw(codes())
    candidates = [p for p in parents if p != own]
    return ContactPlace(
        code=own,
        name=draw(names().filter(lambda n: "\\" not in n)),
        parent=draw(st.none() | st.sampled_from(candidates)) if candidates else None,
        kind=draw(_one(kinds)),
        description=draw(names()),
        active=draw(st.booleans()),
    )


def channels() -> st.SearchStrategy[Channel]:
    return st.builds(Channel, code=codes(), name=names(), description=names(), active=st.booleans())


def client_categories() -> st.SearchStrategy[ClientCategory]:
    return st.builds(
        ClientCategory, code=codes(), name=names(), description=names(), active=st.booleans()
    )


def rules() -> st.SearchStrategy[Rule]:
    return st.builds(Rule, code=codes(), name=names(), expression=conditions(), description=names())


def priorities() -> st.SearchStrategy[Priority]:
    return st.builds(
        Priority,
        code=codes(),
        name=names(),
        rank=st.integers(-5, 100),
        active=st.booleans(),
    )


def mailing_lists(*, logins: Pool = None) -> st.SearchStrategy[MailingList]:
    return st.builds(
        MailingList,
        code=codes(),
        name=names(),
        operators=_many(logins),
        addresses=st.lists(st.emails(), max_size=2).map(tuple),
        description=names(),
        active=st.booleans(),
    )


_TEMPLATE_PIECES = (
    "{{ appeal.id }}",
    "{{ topic.name }}",
    "{{ client.Name | default('клиент') }}",
    "{% if appeal.deadline %}до {{ appeal.deadline }}{% endif %}",
    "{# note #}",
)


def _template_lines() -> st.SearchStrategy[str]:
    # free text cannot hold jinja2's own delimiters; the pieces are templates that compile
    plain = st.text(
        st.characters(
            codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="{}%#\u2028\u2029"
        ),
        max_size=20,
    )
    return st.lists(st.one_of(plain, st.sampled_from(_TEMPLATE_PIECES)), max_size=3).map("".join)


def template_texts(*, lines: int = 4) -> st.SearchStrategy[str]:
    """jinja2 template source as integrators write it: text, a few tags, several lines."""
    return st.lists(_template_lines(), max_size=lines).map("\n".join)


def message_templates(
    *, code: str | None = None, topics: Pool = None
) -> st.SearchStrategy[MessageTemplate]:
    return st.builds(
        MessageTemplate,
        code=st.just(code) if code is not None else codes(),
        event=st.sampled_from(NotificationKind),
        topic=st.none() | (st.sampled_from(topics) if topics else st.none()),
        subject=template_texts(lines=1).filter(bool),
        text=template_texts(),
        html=template_texts(),
        name=names(),
        description=names(),
    )


def roles() -> st.SearchStrategy[Role]:
    return st.builds(
        Role,
        code=codes(),
        name=names(),
        description=names(),
        permissions=st.lists(
            st.sampled_from([str(p) for p in Permission]), max_size=3, unique=True
        ).map(tuple),
    )


@st.composite
def operators(
    draw: st.DrawFn,
    *,
    login: str | None = None,
    roles: Pool = None,
    templates: Pool = None,
) -> Operator:
    return Operator(
        login=login if login is not None else draw(codes()),
        name=draw(names()),
        roles=draw(_many(roles, 3)),
        template=draw(_one(templates)),
        active=draw(st.booleans()),
        email=draw(st.none() | st.emails()),
    )


@st.composite
def contact_templates(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    places: Pool = None,
    topics: Pool = None,
    channels: Pool = None,
    categories: Pool = None,
    place_kinds: Pool = None,
) -> ContactTemplate:
    def pick(pool: Pool) -> tuple[tuple[str, ...], str | None]:
        allowed = draw(_many(pool, 3))
        default = draw(st.none() | st.sampled_from(allowed)) if allowed else None
        return allowed, default

    allowed_places, default_place = pick(places)
    allowed_topics, default_topic = pick(topics)
    allowed_categories, default_category = pick(categories)
    return ContactTemplate(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        description=draw(names()),
        place_kind=draw(_one(place_kinds)),
        places=allowed_places,
        default_place=default_place,
        direction=draw(st.none() | st.sampled_from(Direction)),
        channel=draw(_one(channels)),
        topics=allowed_topics,
        default_topic=default_topic,
        client_categories=allowed_categories,
        default_client_category=default_category,
    )


def handlers() -> st.SearchStrategy[Handler]:
    return st.builds(
        Handler,
        event=st.sampled_from(HandlerEvent),
        action=st.sampled_from(("notify", "escalate", "set_priority", "ext.billing_export")),
        arguments=st.dictionaries(codes(), conditions(), max_size=2),
        name=names(),
    )


@st.composite
def deadlines(draw: st.DrawFn) -> Deadline:
    limit = draw(durations(min_seconds=2))
    warn = draw(st.none() | st.timedeltas(min_value=limit / 1000, max_value=limit / 2))
    return Deadline(
        limit=limit,
        warn_before=warn if warn and warn.total_seconds() > 0 else None,
        notify=draw(st.lists(codes(), max_size=2).map(tuple)),
        escalate_to=draw(st.lists(codes(), max_size=2).map(tuple)),
        ladder=draw(st.lists(st.integers(0, 100), max_size=3).map(sorted).flatmap(_ladder)),
    )


def _ladder(shares: list[int]) -> st.SearchStrategy[tuple[EscalationLevel, ...]]:
    """Levels at ``shares`` of the time allowed (so in the order they fire)."""
    action = st.one_of(
        st.builds(
            EscalationAction,
            st.just(LevelAction.NOTIFY),
            st.lists(codes(), min_size=1, max_size=2).map(tuple),
        ),
        st.builds(EscalationAction, st.just(LevelAction.RAISE_PRIORITY), value=codes()),
        st.builds(EscalationAction, st.just(LevelAction.MOVE_TO_QUEUE), value=codes()),
        st.builds(
            EscalationAction,
            st.just(LevelAction.CALL),
            value=st.sampled_from(("record_risk", "billing.export")),
        ),
    )
    levels = [
        st.builds(
            EscalationLevel,
            st.lists(action, min_size=1, max_size=2).map(tuple),
            share=st.just(share),
            in_working_time=st.booleans(),
        )
        for share in shares
    ]
    return st.tuples(*levels)


def attribute_overrides(*, attribute: str | None = None) -> st.SearchStrategy[AttributeOverride]:
    return st.builds(
        AttributeOverride,
        attribute=st.just(attribute) if attribute is not None else codes(),
        hidden=optional_flags(),
        read_only=optional_flags(),
        required=optional_flags(),
    )


@st.composite
def processes(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    final: bool | None = None,
    attributes: Pool = None,
) -> Process:
    overridden = draw(_many(attributes, 3))
    return Process(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        description=draw(names()),
        final=draw(st.booleans()) if final is None else final,
        deadline=draw(st.none() | deadlines()),
        overrides=tuple(draw(attribute_overrides(attribute=a)) for a in overridden),
        handlers=draw(st.lists(handlers(), max_size=2).map(tuple)),
    )


def transitions(*, processes: Pool = None, rules: Pool = None) -> st.SearchStrategy[Transition]:
    process_codes = st.sampled_from(processes) if processes else codes()
    return st.builds(
        Transition,
        code=codes(),
        name=names(),
        source=process_codes,
        target=process_codes,
        rule=_one(rules),
        handlers=st.lists(handlers(), max_size=2).map(tuple),
        description=names(),
    )


@st.composite
def routes(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    version: int | None = None,
    topics: Pool = None,
    attributes: Pool = None,
    rules: Pool = None,
) -> Route:
    """A valid route: an initial process, at least one final one, transitions between them."""
    process_codes = draw(_unique_codes(1, 5))
    final_count = draw(st.integers(1, len(process_codes)))
    built = [
        draw(processes(code=c, final=i >= len(process_codes) - final_count, attributes=attributes))
        for i, c in enumerate(process_codes)
    ]
    open_codes = [p.code for p in built if not p.final]
    built_transitions = []
    if open_codes:
        for t_code in draw(_unique_codes(0, 4)):
            transition = draw(transitions(processes=process_codes, rules=rules))
            source = draw(st.sampled_from(open_codes))
            built_transitions.append(attrs.evolve(transition, code=t_code, source=source))
    served = draw(_subset(topics)) if topics else ()
    if not served:
        served = (draw(st.sampled_from(topics)) if topics else draw(codes()),)
    return Route(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        initial=draw(st.sampled_from(open_codes or process_codes)),
        processes=tuple(built),
        transitions=tuple(built_transitions),
        version=version if version is not None else draw(st.integers(1, 9)),
        topics=served,
        merge_common_attributes=draw(st.booleans()),
        close_with_open_children=draw(st.booleans()),
        deadline=draw(st.none() | deadlines()),
        handlers=draw(st.lists(handlers(), max_size=2).map(tuple)),
        description=draw(names()),
        active=draw(st.booleans()),
    )


def queue_members(*, logins: Pool = None, roles: Pool = None) -> st.SearchStrategy[QueueMember]:
    """Operators from ``logins`` and roles from ``roles``; nothing if both pools are empty."""
    options = []
    if logins is None or logins:
        pool = st.sampled_from(logins) if logins else codes()
        options.append(pool.map(QueueMember.operator))
    if roles is None or roles:
        pool = st.sampled_from(roles) if roles else codes()
        options.append(pool.map(QueueMember.role))
    return st.one_of(*options) if options else st.nothing()


@st.composite
def queues(
    draw: st.DrawFn,
    *,
    code: str | None = None,
    logins: Pool = None,
    roles: Pool = None,
    processes: Pool = None,
    rules: Pool = None,
) -> Queue:
    member = queue_members(logins=logins, roles=roles)
    members = draw(st.lists(member, max_size=0 if member.is_empty else 4, unique_by=str))
    return Queue(
        code=code if code is not None else draw(codes()),
        name=draw(names()),
        description=draw(names()),
        members=tuple(members),
        administrators=draw(_many(logins, 2)),
        processes=draw(_many(processes, 2)),
        rule=draw(_one(rules)),
        system=draw(st.booleans()),
        active=draw(st.booleans()),
    )
