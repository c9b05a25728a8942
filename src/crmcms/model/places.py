"""Where and how contacts happen: place kinds, the place tree, channels and directions."""

from __future__ import annotations

import enum

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code

__all__ = ["Channel", "ContactPlace", "ContactPlaceKind", "Direction"]


class Direction(enum.Enum):
    """Who started the contact."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


@attrs.frozen
class ContactPlaceKind:
    """A kind of contact place, e.g. call centre or customer service office."""

    code: str
    name: str
    description: str = ""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("contact place kind", self.code)


@attrs.frozen
class ContactPlace:
    """A node of the contact place tree, e.g. ``Головной офис\\...\\VIP отдел``."""

    code: str
    name: str
    parent: str | None = None
    kind: str | None = None
    """Code of its :class:`ContactPlaceKind`."""
    description: str = ""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("contact place", self.code)
        if self.parent == self.code:
            raise ValidationError(
                [Problem("parent", f"contact place {self.code} cannot be its own parent")],
                subject=f"contact place {self.code}",
            )


@attrs.frozen
class Channel:
    """A communication channel: phone, visit, e-mail, SMS, web, ..."""

    code: str
    name: str
    description: str = ""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("channel", self.code)
