"""Limits on what one request may carry, checked at the engine's front door before any work.

A back office faces clients' text pasted into forms, scripts and other systems: an
oversized value is refused with the field it came in, before a unit of work opens, so it
costs nothing and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

import attrs

from crmcms.errors import Problem, ValidationError

__all__ = ["Limits"]


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, not {value}")


@attrs.frozen
class Limits:
    """How much one request may carry; each limit refused with a ``ValidationError`` naming
    the field (``values.<code>`` for an attribute)."""

    text_length: int = attrs.field(default=4000, validator=_positive)
    """Characters of one text: a string value, a description, a comment, a reason."""
    values_per_attribute: int = attrs.field(default=100, validator=_positive)
    """Values of one multiple attribute."""
    values_per_request: int = attrs.field(default=500, validator=_positive)
    """Attribute values one request sets, over all its appeals."""
    drafts: int = attrs.field(default=50, validator=_positive)
    """Appeals one registration creates."""
    bulk: int = attrs.field(default=1000, validator=_positive)
    """Appeals one bulk call acts on."""
    request_size: int = attrs.field(default=1_000_000, validator=_positive)
    """Characters of all the texts of one request together."""
    attachment_size: int = attrs.field(default=25_000_000, validator=_positive)
    """Bytes of one attached file (a topic's ``attachments:`` limit may lower it)."""

    def check(
        self,
        subject: str,
        *,
        texts: Mapping[str, str] | None = None,
        values: Sequence[Mapping[str, object]] = (),
        drafts: int = 0,
        bulk: int = 0,
    ) -> None:
        """Refuse the request ``subject`` if anything in it is over a limit; every problem
        at once. ``values`` are the attribute values of each appeal it carries."""
        problems: list[Problem] = []
        total = 0
        for field, text in (texts or {}).items():
            total += len(text)
            problems += self._text(field, text)
        count = 0
        for i, given in enumerate(values):
            prefix = f"appeals[{i}].values." if len(values) > 1 else "values."
            for code, value in given.items():
                items = _items(value)
                count += len(items)
                if len(items) > self.values_per_attribute and not isinstance(value, str):
                    problems.append(
                        Problem(
                            prefix + code,
                            f"{len(items)} values, more than {self.values_per_attribute}",
                        )
                    )
                for item in items:
                    if isinstance(item, str):
                        total += len(item)
                        problems += self._text(prefix + code, item)
        if count > self.values_per_request:
            problems.append(
                Problem(
                    "values", f"{count} values in one request, more than {self.values_per_request}"
                )
            )
        if drafts > self.drafts:
            problems.append(Problem("drafts", f"{drafts} appeals, more than {self.drafts}"))
        if bulk > self.bulk:
            problems.append(Problem("appeal_ids", f"{bulk} appeals, more than {self.bulk}"))
        if total > self.request_size:
            problems.append(
                Problem("request", f"{total} characters of text, more than {self.request_size}")
            )
        if problems:
            raise ValidationError(problems, subject=subject)

    def _text(self, field: str, text: str) -> list[Problem]:
        if len(text) <= self.text_length:
            return []
        return [Problem(field, f"{len(text)} characters, more than {self.text_length}")]


def _items(value: object) -> Sequence[object]:
    """The values one attribute value holds: several for a multiple attribute."""
    if isinstance(value, (str, bytes, int, float, date, datetime)) or value is None:
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    return (value,)
