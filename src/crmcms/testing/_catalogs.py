"""Small, consistent catalogs whose cross-references all resolve."""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from crmcms.model.catalog import Catalog
from crmcms.model.places import ContactPlace
from crmcms.model.routes import Route
from crmcms.model.topics import TopicGroup
from crmcms.model.values import Flag
from crmcms.testing._basics import codes
from crmcms.testing._calendars import business_calendars
from crmcms.testing._definitions import (
    _attribute_sets,
    channels,
    client_categories,
    contact_place_kinds,
    contact_places,
    contact_templates,
    dictionaries,
    mailing_lists,
    message_templates,
    operators,
    priorities,
    queues,
    roles,
    routes,
    rules,
    topic_groups,
    topics,
)
from crmcms.testing._webhooks import webhooks

__all__ = ["catalogs"]


def _codes(min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[list[str]]:
    return st.lists(codes(), min_size=min_size, max_size=max_size, unique=True)


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """A small catalog in which every code a definition mentions is defined.

    Trees (topic groups, contact places) only point at earlier nodes, so they have no
    cycles; every route serves existing topics and every queue allows existing processes.
    """
    dicts_built = tuple(draw(dictionaries(code=c)) for c in draw(_codes()))
    kinds = tuple(draw(st.lists(contact_place_kinds(), max_size=2, unique_by=lambda k: k.code)))
    places: list[ContactPlace] = []
    for code in draw(_codes(0, 4)):
        places.append(
            draw(
                contact_places(
                    code=code, parents=[p.code for p in places], kinds=[k.code for k in kinds]
                )
            )
        )
    chans = tuple(draw(st.lists(channels(), max_size=2, unique_by=lambda c: c.code)))
    cats = tuple(draw(st.lists(client_categories(), max_size=2, unique_by=lambda c: c.code)))
    groups: list[TopicGroup] = []
    for code in draw(_codes(0, 3)):
        groups.append(
            draw(
                topic_groups(code=code, parents=[g.code for g in groups], dictionaries=dicts_built)
            )
        )
    topic_list = tuple(
        draw(topics(code=c, groups=[g.code for g in groups], dictionaries=dicts_built))
        for c in draw(_codes(1, 3))
    )
    topic_codes = [t.code for t in topic_list]
    rule_list = tuple(draw(st.lists(rules(), max_size=2, unique_by=lambda r: r.code)))
    rule_codes = [r.code for r in rule_list]
    attribute_codes = sorted(
        {a.code for t in topic_list for a in t.attributes}
        | {a.code for g in groups for a in g.attributes}
    )
    route_list: list[Route] = []
    for code in draw(_codes(0, 2)):
        for version in range(1, draw(st.integers(1, 2)) + 1):
            route_list.append(
                draw(
                    routes(
                        code=code,
                        version=version,
                        topics=topic_codes,
                        attributes=attribute_codes,
                        rules=rule_codes,
                    )
                )
            )
    process_codes = sorted({p.code for r in route_list for p in r.processes})
    role_list = tuple(draw(st.lists(roles(), max_size=2, unique_by=lambda r: r.code)))
    role_codes = [r.code for r in role_list]
    template_list = tuple(
        draw(
            contact_templates(
                code=c,
                places=[p.code for p in places],
                topics=topic_codes,
                channels=[c.code for c in chans],
                categories=[c.code for c in cats],
                place_kinds=[k.code for k in kinds],
            )
        )
        for c in draw(_codes(0, 2))
    )
    operator_list = tuple(
        draw(operators(login=login, roles=role_codes, templates=[t.code for t in template_list]))
        for login in draw(_codes(0, 3))
    )
    logins = [o.login for o in operator_list]
    queue_list = tuple(
        draw(
            queues(
                code=c, logins=logins, roles=role_codes, processes=process_codes, rules=rule_codes
            )
        )
        for c in draw(_codes(0, 3))
    )
    messages = draw(
        st.lists(
            message_templates(topics=topic_codes + [g.code for g in groups]),
            max_size=2,
            unique_by=(lambda m: m.code, lambda m: m.key),
        )
    )
    calendar_list = tuple(
        draw(st.lists(business_calendars(), max_size=2, unique_by=lambda c: c.code))
    )
    calendar_codes = st.none() | st.sampled_from(
        sorted({c.code for c in calendar_list} | {"WEEKDAYS", "ALWAYS"})
    )
    route_list = [
        attrs.evolve(
            r,
            calendar=draw(calendar_codes),
            processes=tuple(attrs.evolve(p, calendar=draw(calendar_codes)) for p in r.processes),
        )
        for r in route_list
    ]
    queue_list = tuple(attrs.evolve(q, calendar=draw(calendar_codes)) for q in queue_list)
    webhook_list = tuple(draw(st.lists(webhooks(), max_size=2, unique_by=lambda w: w.code)))
    # No rule reads a system problem: its attributes' flags hold always, none is computed.
    problem_list = tuple(
        attrs.evolve(
            a,
            computed_default=None,
            hidden=Flag(a.hidden.value),
            read_only=Flag(a.read_only.value),
            required=Flag(a.required.value),
        )
        for a in draw(_attribute_sets(dicts_built, 3))
    )
    return Catalog(
        webhooks=webhook_list,
        problem_attributes=problem_list,
        message_templates=tuple(messages),
        dictionaries=dicts_built,
        place_kinds=kinds,
        places=tuple(places),
        channels=chans,
        client_categories=cats,
        topic_groups=tuple(groups),
        topics=topic_list,
        rules=rule_list,
        priorities=tuple(draw(st.lists(priorities(), max_size=2, unique_by=lambda p: p.code))),
        mailing_lists=tuple(
            draw(st.lists(mailing_lists(logins=logins), max_size=2, unique_by=lambda m: m.code))
        ),
        routes=tuple(route_list),
        queues=queue_list,
        roles=role_list,
        operators=operator_list,
        templates=template_list,
        calendars=calendar_list,
    )
