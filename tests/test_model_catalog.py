"""The catalog: indexes, lookups with did-you-mean hints, inheritance and tree helpers."""

from __future__ import annotations

import pytest
from hypothesis import given

from crmcms.errors import NotFoundError, ValidationError
from crmcms.model import (
    AttributeDef,
    Catalog,
    ContactPlace,
    MemberKind,
    Process,
    Route,
    Topic,
    TopicGroup,
    ValueType,
)
from crmcms.testing import catalogs

B = ValueType.BOOLEAN


def _route(version: int, *, active: bool = True) -> Route:
    return Route(
        "R",
        "r",
        initial="a",
        processes=(Process("a", "A"), Process("z", "Z", final=True)),
        version=version,
        topics=("T",),
        active=active,
    )


def test_duplicate_codes_are_refused_per_kind() -> None:
    with pytest.raises(ValidationError) as caught:
        Catalog(topics=(Topic("T", "a"), Topic("T", "b")), routes=(_route(1), _route(1)))
    assert caught.value.codes() == ("topics", "routes")
    assert "'T' is defined more than once" in str(caught.value)
    assert "('R', 1) is defined more than once" in str(caught.value)
    # The same code in different kinds is fine: a topic and a route may share it.
    Catalog(topics=(Topic("R", "t"),), routes=(_route(1),))


def test_lookups_hint_at_the_nearest_code() -> None:
    catalog = Catalog(topics=(Topic("CONSULTATION", "c"), Topic("CLAIM", "c")))
    with pytest.raises(NotFoundError) as caught:
        catalog.topic("CONSULTATON")
    assert caught.value.kind == "topic"
    assert caught.value.key == "CONSULTATON"
    assert caught.value.hint == "did you mean 'CONSULTATION'?"
    assert str(caught.value) == "topic 'CONSULTATON' not found (did you mean 'CONSULTATION'?)"
    with pytest.raises(NotFoundError, match="did you mean 'CLAIM'"):
        catalog.topic("claim")
    with pytest.raises(NotFoundError) as caught:
        catalog.topic("XYZ")
    assert caught.value.hint is None


def test_route_versions_and_the_current_one() -> None:
    catalog = Catalog(routes=(_route(2), _route(1), _route(3, active=False)))
    assert catalog.route_versions("R") == (1, 2, 3)
    assert catalog.route("R").version == 2  # newest active
    assert catalog.route("R", 3).version == 3
    with pytest.raises(NotFoundError, match=r"route R has versions \(1, 2, 3\)"):
        catalog.route("R", 4)
    with pytest.raises(NotFoundError, match="did you mean 'R'"):
        catalog.route("r")


def test_nearer_attribute_definitions_replace_inherited_ones() -> None:
    outer = TopicGroup("OUT", "o", attributes=(AttributeDef("a", "outer a", B),))
    inner = TopicGroup(
        "IN",
        "i",
        parent="OUT",
        attributes=(AttributeDef("a", "inner a", B), AttributeDef("b", "b", B)),
    )
    topic = Topic("T", "t", group="IN", attributes=(AttributeDef("b", "own b", B),))
    catalog = Catalog(topic_groups=(inner, outer), topics=(topic,))
    assert [g.code for g in catalog.group_chain("T")] == ["OUT", "IN"]
    effective = catalog.effective_attributes("T")
    assert [(e.code, e.definition.name, e.owner, e.inherited) for e in effective] == [
        ("a", "inner a", "IN", True),
        ("b", "own b", "T", False),
    ]
    with pytest.raises(NotFoundError, match="attribute of topic T 'c' not found"):
        catalog.attribute("T", "c")


def test_cycles_and_dangling_parents_are_reported_when_followed() -> None:
    catalog = Catalog(
        topic_groups=(TopicGroup("A", "a", parent="B"), TopicGroup("B", "b", parent="A")),
        topics=(Topic("T", "t", group="A"), Topic("U", "u", group="MISSING")),
        places=(ContactPlace("X", "x", parent="Y"), ContactPlace("Y", "y", parent="X")),
    )
    with pytest.raises(ValidationError, match="topic groups form a cycle: A -> B -> A"):
        catalog.group_chain("T")
    with pytest.raises(NotFoundError, match="topic group 'MISSING'"):
        catalog.effective_attributes("U")
    with pytest.raises(ValidationError, match="contact places form a cycle"):
        catalog.place_path("X")


def test_place_paths_follow_the_tree() -> None:
    catalog = Catalog(
        places=(
            ContactPlace("HQ", "Головной офис"),
            ContactPlace("VIP", "VIP отдел", parent="HQ"),
            ContactPlace("VIP2", "VIP отдел", parent="HQ"),
        )
    )
    assert [p.code for p in catalog.place_chain("VIP")] == ["HQ", "VIP"]
    assert catalog.place_path("VIP") == "Головной офис\\VIP отдел"
    assert catalog.place_by_path("Головной офис").code == "HQ"
    with pytest.raises(ValidationError, match="VIP, VIP2"):
        catalog.place_by_path("Головной офис\\VIP отдел")
    with pytest.raises(NotFoundError, match="did you mean"):
        catalog.place_by_path("Головной офис\\VIP отде")


def test_attribute_flags_need_both_route_and_process() -> None:
    catalog = Catalog(topics=(Topic("T", "t", attributes=(AttributeDef("a", "a", B),)),))
    with pytest.raises(ValueError, match="both route and process"):
        catalog.attribute_flags("T", "a", route=_route(1))


@given(catalogs())
def test_generated_catalogs_are_consistent(catalog: Catalog) -> None:
    for topic in catalog.topics:
        chain = catalog.group_chain(topic.code)
        effective = {e.code: e for e in catalog.effective_attributes(topic.code)}
        for attribute in topic.attributes:
            assert effective[attribute.code].definition is attribute
            assert not effective[attribute.code].inherited
        for group in chain:
            for attribute in group.attributes:
                assert attribute.code in effective
        for e in effective.values():
            if e.definition.dictionary is not None:
                catalog.dictionary(e.definition.dictionary)
    paths = [catalog.place_path(p.code) for p in catalog.places]
    for place, path in zip(catalog.places, paths, strict=True):
        if paths.count(path) == 1:
            assert catalog.place_by_path(path) == place
        else:
            with pytest.raises(ValidationError, match="names more than one place"):
                catalog.place_by_path(path)
    for route in catalog.routes:
        assert catalog.route(*route.key) is route
        for topic_code in route.topics:
            catalog.topic(topic_code)
        current = catalog.current_route(route.code)
        assert current.version >= max(
            (r.version for r in catalog.routes if r.code == route.code and r.active), default=0
        )
    for queue in catalog.queues:
        for login in queue.administrators:
            catalog.operator(login)
        for member in queue.members:
            if member.kind is MemberKind.OPERATOR:
                catalog.operator(member.code)
            else:
                catalog.role(member.code)
        if queue.rule is not None:
            catalog.rule(queue.rule)
    for template in catalog.templates:
        for place_code in template.places:
            catalog.place(place_code)
        for topic_code in template.topics:
            catalog.topic(topic_code)
        if template.channel is not None:
            catalog.channel(template.channel)
    for operator in catalog.operators:
        if operator.template is not None:
            catalog.template_for(operator.login)
