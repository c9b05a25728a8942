"""Message templates: the subject and text of one kind of notification, for a topic or all."""

from __future__ import annotations

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code
from crmcms.model.notifications import NotificationKind

__all__ = ["MessageTemplate"]


@attrs.frozen
class MessageTemplate:
    """How notifications of ``event`` about appeals on ``topic`` read.

    ``topic`` names a topic or a topic group (the template then serves every topic in it),
    or is ``None`` for every topic. ``subject``, ``text`` and ``html`` are jinja2 template
    source, kept as text here and compiled by :mod:`crmcms.dsl`; an empty one keeps what
    the engine writes (``html``: no HTML part).
    """

    code: str
    event: NotificationKind
    topic: str | None = None
    subject: str = ""
    text: str = ""
    html: str = ""
    name: str = ""
    description: str = ""

    def __attrs_post_init__(self) -> None:
        require_code("message template", self.code)
        if not (self.subject or self.text or self.html):
            raise ValidationError(
                [Problem("subject", "a message template needs a subject, a text or an html")],
                subject=f"message template {self.code}",
            )

    @property
    def key(self) -> tuple[NotificationKind, str | None]:
        """What the template is chosen by: one template per event and topic."""
        return (self.event, self.topic)
