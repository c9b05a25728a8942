"""Contact templates: per-operator defaults and allowed values for registration and search."""

from __future__ import annotations

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code, unique_codes
from crmcms.model.places import Direction

__all__ = ["ContactTemplate"]


@attrs.frozen
class ContactTemplate:
    """Prefills contact registration, appeal registration and client search for an operator.

    Empty allowed lists mean "anything"; a default must be among the allowed values.
    """

    code: str
    name: str
    description: str = ""
    place_kind: str | None = None
    places: tuple[str, ...] = ()
    """Codes of the allowed contact places."""
    default_place: str | None = None
    direction: Direction | None = None
    """The allowed direction; ``None`` allows any."""
    channel: str | None = None
    """Code of the communication channel the template presets."""
    topics: tuple[str, ...] = ()
    default_topic: str | None = None
    client_categories: tuple[str, ...] = ()
    default_client_category: str | None = None

    def __attrs_post_init__(self) -> None:
        require_code("contact template", self.code)
        subject = f"contact template {self.code}"
        problems = (
            unique_codes(subject, "places", self.places)
            + unique_codes(subject, "topics", self.topics)
            + unique_codes(subject, "client_categories", self.client_categories)
        )
        for field, default, allowed in (
            ("default_place", self.default_place, self.places),
            ("default_topic", self.default_topic, self.topics),
            ("default_client_category", self.default_client_category, self.client_categories),
        ):
            if default is not None and allowed and default not in allowed:
                problems.append(Problem(field, f"{default!r} is not among the allowed values"))
        if problems:
            raise ValidationError(problems, subject=subject)

    def allows_place(self, place: str) -> bool:
        return not self.places or place in self.places

    def allows_topic(self, topic: str) -> bool:
        return not self.topics or topic in self.topics

    def allows_direction(self, direction: Direction) -> bool:
        return self.direction is None or self.direction is direction

    def allows_client_category(self, category: str) -> bool:
        return not self.client_categories or category in self.client_categories
