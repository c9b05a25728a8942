"""Functions rules may call: the :class:`RuleFunction` contract and the built-in set."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import attrs

from crmcms.dsl.rules.schema import (
    ANY,
    DATE,
    DATETIME,
    DECIMAL,
    EMPTY,
    INTEGER,
    STRING,
    RuleType,
    list_of,
)

__all__ = [
    "BUILTIN_FUNCTIONS",
    "CLOCK_FUNCTIONS",
    "ParamType",
    "RuleFunction",
    "rule_clock",
    "rule_now",
    "rule_today",
]

ParamType = RuleType | tuple[RuleType, ...]
"""What one parameter accepts: a type, or any of several (``ANY`` accepts everything)."""


@attrs.frozen
class RuleFunction:
    """A function rules may call, with its signature for the checker.

    ``returns`` is a type or a callable from the argument types to the result type (for
    functions such as ``abs`` whose result has the type of their argument). With
    ``propagates_empty`` the function is not called when an argument is empty: the result is
    empty. ``sql`` builds the SQLAlchemy expression from the arguments' expressions (the
    SQL adapter knows the built-ins' own); a function without one runs only in Python, and
    a rule calling it cannot become SQL.
    ``never_empty`` lets compiled code skip empty checks on the result (``now()``).
    """

    name: str
    func: Callable[..., Any]
    params: tuple[ParamType, ...] = ()
    returns: RuleType | Callable[[Sequence[RuleType]], RuleType] = ANY
    aliases: tuple[str, ...] = ()
    variadic: bool = False
    propagates_empty: bool = True
    never_empty: bool = False
    sql: Callable[..., Any] | None = attrs.field(default=None, eq=False)
    doc: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def result_type(self, args: Sequence[RuleType]) -> RuleType:
        if isinstance(self.returns, RuleType):
            return self.returns
        return self.returns(args)

    def signature(self) -> str:
        """``name(string | list, ...)`` for messages."""
        shown = [" | ".join(map(str, p)) if isinstance(p, tuple) else str(p) for p in self.params]
        if self.variadic and shown:
            shown[-1] += ", ..."
        return f"{self.name}({', '.join(shown)})"


def _utc_now() -> datetime:
    return datetime.now(UTC)


# A host with its own notion of "now" (the engine's clock, a replay, a test) sets it here, so
# that now() and today() agree with the time of the action the rule is evaluated for.
_clock: contextvars.ContextVar[Callable[[], datetime]] = contextvars.ContextVar(
    "rule_clock", default=_utc_now
)


@contextlib.contextmanager
def rule_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Within this block, ``now()`` and ``today()`` in rules read ``clock`` (an aware datetime)."""
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


# The same as rule_clock() for hot paths, where a generator-based context manager costs more
# than the action it wraps: set_rule_clock(clock) returns a token for reset_rule_clock(token).
set_rule_clock = _clock.set
reset_rule_clock = _clock.reset


def rule_now() -> datetime:
    """What ``now()`` in a rule is at this moment: the rule clock's time."""
    return _clock.get()()


def rule_today() -> date:
    """What ``today()`` in a rule is at this moment: the UTC date of the rule clock's time."""
    return _clock.get()().astimezone(UTC).date()


def _first_known(args: Sequence[RuleType]) -> RuleType:
    return next((a for a in args if a is not EMPTY), ANY)


def _coalesce(*args: Any) -> Any:
    return next((a for a in args if a is not None), None)


def _to_date(value: datetime) -> date:
    return value.date()


_TEXT_OR_LIST = (STRING, list_of(ANY))
_NUMBER = (INTEGER, DECIMAL)

BUILTIN_FUNCTIONS: tuple[RuleFunction, ...] = (
    RuleFunction(
        "now", rule_now, (), DATETIME, ("сейчас",), never_empty=True,
        doc="the current date and time (UTC)",
    ),
    RuleFunction(
        "today", rule_today, (), DATE, ("сегодня",), never_empty=True,
        doc="today's date (UTC)",
    ),
    RuleFunction(
        "len", len, (_TEXT_OR_LIST,), INTEGER, ("длина",),
        doc="characters in a string, items in a list",
    ),
    RuleFunction(
        "lower", str.lower, (STRING,), STRING, ("строчные",),
        doc="the string in lower case",
    ),
    RuleFunction(
        "upper", str.upper, (STRING,), STRING, ("прописные",),
        doc="the string in upper case",
    ),
    RuleFunction(
        "trim", str.strip, (STRING,), STRING, ("обрезать",),
        doc="the string without leading and trailing spaces",
    ),
    RuleFunction(
        "abs", abs, (_NUMBER,), _first_known, ("модуль",),
        doc="the absolute value of a number",
    ),
    RuleFunction(
        "date", _to_date, (DATETIME,), DATE, ("дата",),
        doc="the date part of a date-time",
    ),
    RuleFunction(
        "coalesce", _coalesce, (ANY,), _first_known, ("первое_непустое",), variadic=True,
        propagates_empty=False,
        doc="the first argument that is not empty",
    ),
)  # fmt: skip


CLOCK_FUNCTIONS: frozenset[str] = frozenset(
    name for f in BUILTIN_FUNCTIONS if f.func in (rule_now, rule_today) for name in f.names
)
"""Every name of the built-in functions that read the rule clock (``now``, ``today``, and
their aliases): a host that knows no rule calls one need not set the clock."""
