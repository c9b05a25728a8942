"""Attribute value types, restriction flags and the text form of typed values."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

import attrs

from crmcms.errors import InvalidValueError

__all__ = [
    "NO",
    "YES",
    "AttributeFlags",
    "AttributeValue",
    "Flag",
    "Scalar",
    "ValueType",
    "check_scalar",
    "format_value",
    "freeze_mapping",
    "parse_value",
    "resolve_flag",
]


class ValueType(enum.Enum):
    """What an attribute holds; ``REFERENCE`` values are item codes of a dictionary."""

    DATE = "date"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    STRING = "string"
    REFERENCE = "reference"


Scalar = date | Decimal | bool | str
"""One attribute value: a date, a decimal, a boolean, a string or a dictionary item code."""

AttributeValue = Scalar | tuple[Scalar, ...]
"""A stored attribute value; a tuple of scalars for multiple-choice attributes."""


def _check_condition(
    instance: Flag, attribute: attrs.Attribute[str | None], cond: str | None
) -> None:
    if cond is not None and not cond.strip():
        raise InvalidValueError("a flag's condition must be a rule expression, not blank text")
    if cond is not None and not instance.value:
        raise InvalidValueError("only a set flag (value=True) can carry a condition")


@attrs.frozen
class Flag:
    """Hidden, read-only or required: set or not, and if set, optionally only while a rule holds.

    ``condition`` is rule-language source text; the restriction applies only while it
    evaluates to true, as the administrator console allows for each flag.
    """

    value: bool = False
    condition: str | None = attrs.field(default=None, validator=_check_condition)

    @property
    def conditional(self) -> bool:
        return self.condition is not None

    @property
    def always(self) -> bool:
        """Set without a condition: holds whatever the appeal's state."""
        return self.value and self.condition is None

    def __str__(self) -> str:
        if not self.value:
            return "no"
        return "yes" if self.condition is None else f"yes when {self.condition}"


NO = Flag()
YES = Flag(True)


def resolve_flag(own: Flag, override: Flag | None) -> Flag:
    """A route's per-process override wins; ``None`` ("not defined") inherits the topic's flag."""
    return own if override is None else override


def freeze_mapping(items: Mapping[str, str] | Iterable[tuple[str, str]]) -> Mapping[str, str]:
    """A read-only copy, so frozen definitions stay immutable all the way down."""
    return MappingProxyType(dict(items))


_NUL = "\x00"


def check_scalar(value_type: ValueType, value: object) -> str | None:
    """Why ``value`` cannot be a value of ``value_type``, or ``None`` if it can."""
    expected = {
        ValueType.DATE: "a date",
        ValueType.DECIMAL: "a decimal",
        ValueType.BOOLEAN: "a boolean",
        ValueType.STRING: "a string",
        ValueType.REFERENCE: "a dictionary item code",
    }[value_type]
    got = type(value).__name__
    if value_type is ValueType.DATE:
        # datetime is a date subclass; a timestamp in a date attribute is a caller bug.
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif value_type is ValueType.DECIMAL:
        if isinstance(value, Decimal) and not value.is_finite():
            return f"expected a finite decimal, got {value}"
        ok = isinstance(value, Decimal)
    elif value_type is ValueType.BOOLEAN:
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
        if ok and _NUL in str(value):
            # PostgreSQL text and JSONB cannot hold it: refused on every backend alike.
            return f"text may not contain the NUL character (\\x00), got {value!r}"
    return None if ok else f"expected {expected}, got {got} {value!r}"


def parse_value(value_type: ValueType, text: str) -> Scalar:
    """The value written as ``text`` in its canonical form (ISO date, ``12.50``, ``true``)."""
    if value_type is ValueType.DATE:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
    if value_type is ValueType.DECIMAL:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise InvalidValueError(f"{text!r} is not a decimal number") from None
        if not number.is_finite():
            raise InvalidValueError(f"{text!r} is not a finite decimal number")
        return number
    if value_type is ValueType.BOOLEAN:
        if text in ("true", "false"):
            return text == "true"
        raise InvalidValueError(f"{text!r} is not a boolean (expected 'true' or 'false')")
    return text


def format_value(value: Scalar) -> str:
    """The canonical text of a value; ``parse_value`` reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@attrs.frozen
class AttributeFlags:
    """The hidden / read-only / required flags in force for one attribute in one place."""

    hidden: Flag = NO
    read_only: Flag = NO
    required: Flag = NO
