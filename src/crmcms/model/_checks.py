"""Construction-time checks shared by the definition classes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from crmcms.errors import Problem, ValidationError

__all__ = ["control_characters", "duplicates", "require_code", "unique_codes"]

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (NUL among them, which no PostgreSQL
    text can hold): never part of a code or a login."""
    return _CONTROLS.search(text) is not None


def duplicates(codes: Iterable[object]) -> list[object]:
    """The codes that occur more than once, in first-seen order."""
    counts = Counter(codes)
    return [code for code, n in counts.items() if n > 1]


def unique_codes(subject: str, field: str, codes: Iterable[object]) -> list[Problem]:
    """One problem per code repeated in ``field`` of ``subject``."""
    return [
        Problem(f"{field}", f"{subject}: code {code!r} is used more than once")
        for code in duplicates(codes)
    ]


def require_code(kind: str, code: str) -> None:
    """Codes identify definitions everywhere, so a blank one is refused at once."""
    if not code or code != code.strip():
        raise ValidationError(
            [Problem("code", f"{kind} code {code!r} must be non-blank without outer spaces")],
            subject=kind,
        )
    if control_characters(code):
        raise ValidationError(
            [Problem("code", f"{kind} code {code!r} holds a control character")], subject=kind
        )
