"""Route test files as data: tests, their givens, actions and expectations, each with its place."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

import attrs

from crmcms.errors import SourceSpan

__all__ = [
    "Expect",
    "ExpectKind",
    "Field",
    "Fields",
    "Perform",
    "Ref",
    "RouteTest",
    "RouteTestFile",
    "Setting",
    "Statement",
    "Wait",
]


@attrs.frozen
class Ref:
    """A code as written (a route, a transition, a queue, an attribute, a login)."""

    code: str
    span: SourceSpan


@attrs.frozen
class Setting:
    """A given of one value: ``route``, ``topic``, ``operator``, ``place``, ``channel``, ``at``."""

    key: str
    value: Ref
    span: SourceSpan
    version: int | None = None
    """For ``route``: the version asked for (the newest if ``None``)."""
    moment: datetime | None = None
    """For ``at``: when the test starts."""


@attrs.frozen
class Field:
    """``code: value`` inside a ``client``, ``values`` or ``set`` block."""

    code: str
    value: Any
    span: SourceSpan


@attrs.frozen
class Fields:
    """A block of fields: ``client`` (its category, region, ...), ``values`` given at
    registration, or ``set``: values an operator enters later."""

    kind: str
    fields: tuple[Field, ...]
    span: SourceSpan


@attrs.frozen
class Perform:
    """The operator (or ``by`` another) takes a transition."""

    transition: Ref
    span: SourceSpan
    by: Ref | None = None


@attrs.frozen
class Wait:
    """Time passes; deadlines due meanwhile fire."""

    duration: timedelta
    span: SourceSpan


class ExpectKind(enum.Enum):
    PROCESS = "process"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    QUEUE = "queue"
    FLAG = "flag"
    DEADLINE = "deadline"
    APPEAL_DEADLINE = "appeal deadline"
    NOTIFICATION = "notification"
    NO_NOTIFICATION = "no notification"


@attrs.frozen
class Expect:
    """One expectation, checked where it stands among the actions."""

    kind: ExpectKind
    span: SourceSpan
    codes: tuple[Ref, ...] = ()
    """What it names: the process, transitions, queue, attributes, or the recipient."""
    flag: str | None = None
    """For flags: ``hidden``, ``visible``, ``readonly``, ``editable``, ``required`` or
    ``optional``."""
    because: str | None = None
    """For ``unavailable``: the rule (its code, its text or part of the reason) that blocks it."""
    duration: timedelta | None = None
    calendar: Ref | None = None
    notification_kind: Ref | None = None
    text: str | None = None
    """For notifications: part of the subject or text."""


Statement = Setting | Fields | Perform | Wait | Expect


@attrs.frozen
class RouteTest:
    """One ``test "name" { ... }``: its statements in the order written."""

    name: str
    span: SourceSpan
    statements: tuple[Statement, ...]

    def setting(self, key: str) -> Setting | None:
        return next((s for s in self.statements if isinstance(s, Setting) and s.key == key), None)


@attrs.frozen
class RouteTestFile:
    file: str
    tests: tuple[RouteTest, ...]
    source: str = attrs.field(default="", repr=False)
