"""Topics, topic groups and attribute groups: what appeals are about and which fields they carry."""

from __future__ import annotations

import enum

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import duplicates, require_code, unique_codes
from crmcms.model._lookup import find
from crmcms.model.attributes import AttributeDef
from crmcms.model.values import NO, Flag

__all__ = ["AttributeGroup", "GroupDisplay", "Topic", "TopicGroup"]


class GroupDisplay(enum.Enum):
    """How an attribute group is shown when the appeal form opens."""

    COLLAPSED = "collapsed"
    EXPANDED = "expanded"


@attrs.frozen
class AttributeGroup:
    """A titled block of a topic's attributes with its own display mode and flags.

    ``attributes`` lists codes from the topic's effective set, so an inherited attribute
    can be placed in a block too. The block's flags apply to all its members.
    """

    code: str
    name: str
    attributes: tuple[str, ...] = ()
    display: GroupDisplay = GroupDisplay.COLLAPSED
    hidden: Flag = NO
    read_only: Flag = NO
    required: Flag = NO
    description: str = ""

    def __attrs_post_init__(self) -> None:
        require_code("attribute group", self.code)
        problems = unique_codes(f"attribute group {self.code}", "attributes", self.attributes)
        if problems:
            raise ValidationError(problems, subject=f"attribute group {self.code}")


def _check_attributes(
    kind: str,
    code: str,
    attributes: tuple[AttributeDef, ...],
    groups: tuple[AttributeGroup, ...] = (),
) -> None:
    subject = f"{kind} {code}"
    problems = unique_codes(subject, "attributes", (a.code for a in attributes))
    problems += unique_codes(subject, "attribute_groups", (g.code for g in groups))
    placed = [c for g in groups for c in g.attributes]
    problems += [
        Problem("attribute_groups", f"{subject}: attribute {c!r} is in more than one group")
        for c in duplicates(placed)
    ]
    if problems:
        raise ValidationError(problems, subject=subject)


@attrs.frozen
class TopicGroup:
    """A folder of topics and child groups; its attributes apply to every topic inside."""

    code: str
    name: str
    description: str = ""
    parent: str | None = None
    """Code of the enclosing group; ``None`` at the top of the tree."""
    attributes: tuple[AttributeDef, ...] = ()
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("topic group", self.code)
        if self.parent == self.code:
            raise ValidationError(
                [Problem("parent", f"topic group {self.code} cannot be its own parent")],
                subject=f"topic group {self.code}",
            )
        _check_attributes("topic group", self.code, self.attributes)

    def attribute(self, code: str) -> AttributeDef:
        """One of the group's own attributes."""
        return find(
            f"attribute of topic group {self.code}", {a.code: a for a in self.attributes}, code
        )


@attrs.frozen
class Topic:
    """What an appeal is about (consultation, request, claim, ...) and its own attributes."""

    code: str
    name: str
    description: str = ""
    group: str | None = None
    """Code of the topic group it sits in; the group chain's attributes are inherited."""
    attributes: tuple[AttributeDef, ...] = ()
    attribute_groups: tuple[AttributeGroup, ...] = ()
    active: bool = True
    attachment_limit: int | None = None
    """The largest file, in bytes, an appeal on the topic may have attached; ``None``: the
    engine's limit (:attr:`crmcms.Limits.attachment_size`), which also caps this one."""

    def __attrs_post_init__(self) -> None:
        require_code("topic", self.code)
        if self.attachment_limit is not None and self.attachment_limit < 1:
            raise ValidationError(
                [
                    Problem(
                        "attachment_limit", f"must be at least 1 byte, not {self.attachment_limit}"
                    )
                ],
                subject=f"topic {self.code}",
            )
        _check_attributes("topic", self.code, self.attributes, self.attribute_groups)

    def attribute(self, code: str) -> AttributeDef:
        """One of the topic's own attributes (inherited ones: ``Catalog.attribute``)."""
        return find(f"attribute of topic {self.code}", {a.code: a for a in self.attributes}, code)

    def attribute_group(self, code: str) -> AttributeGroup:
        return find(
            f"attribute group of topic {self.code}",
            {g.code: g for g in self.attribute_groups},
            code,
        )

    def group_of(self, attribute: str) -> AttributeGroup | None:
        """The attribute group that shows ``attribute``, if any."""
        return next((g for g in self.attribute_groups if attribute in g.attributes), None)
