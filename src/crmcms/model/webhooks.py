"""Webhook subscriptions: which history events another system hears of, and where."""

from __future__ import annotations

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model.history import HistoryKind

__all__ = ["Webhook"]


@attrs.frozen
class Webhook:
    """A subscription: every committed history event of one of ``events`` (every kind when
    empty) is POSTed to ``url``, signed with the secret in environment variable
    ``secret_env``. The secret itself is never part of the definitions."""

    code: str
    name: str
    url: str
    secret_env: str
    events: tuple[HistoryKind, ...] = ()
    description: str = ""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        problems = []
        if not self.url.startswith(("http://", "https://")):
            problems.append(Problem("url", f"{self.url!r} is not an http:// or https:// URL"))
        if not self.secret_env.isidentifier():
            problems.append(
                Problem("secret", f"{self.secret_env!r} is not an environment variable name")
            )
        if len(set(self.events)) != len(self.events):
            problems.append(Problem("events", "an event kind is listed twice"))
        if problems:
            raise ValidationError(problems, subject=f"webhook {self.code}")

    def wants(self, kind: HistoryKind) -> bool:
        """Whether events of ``kind`` go to this webhook."""
        return self.active and (not self.events or kind in self.events)
