"""Model objects to JSON-ready documents and back, through one configured cattrs converter.

A stored document is ``{"type": "Route", "schema_version": 1, "data": {...}}``. ``data``
holds the object's fields: dates and datetimes as ISO 8601 strings, decimals as strings,
durations as ISO 8601 durations (``P1DT4H30M``), enums as their values, tuples as lists.
Attribute values keep their type: strings and booleans stay as they are, a decimal is
``{"decimal": "12.50"}``, a date ``{"date": "2024-01-31"}``, multiple choice a list of these.

Documents written by an older crmcms are upgraded on load by :data:`UPGRADES`.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, get_args

import attrs
import cattrs
from cattrs.v import format_exception as _cattrs_format_exception

import crmcms.model
from crmcms.errors import InvalidValueError, Problem, ValidationError
from crmcms.model.values import AttributeValue, Scalar

__all__ = [
    "MODEL_TYPES",
    "SCHEMA_VERSION",
    "UPGRADES",
    "dump",
    "format_iso_duration",
    "load",
    "make_converter",
    "parse_iso_duration",
    "structure",
    "unstructure",
    "upgrade",
]

T = TypeVar("T")

SCHEMA_VERSION = 2
"""The version of the document format this crmcms writes."""

Document = dict[str, Any]


def _events_have_reasons(document: Document) -> Document:
    """Version 2: a history event has a ``reason`` (why the queue entered was chosen). A
    version-1 event has none, which reads as the empty one: nothing to change."""
    return document


UPGRADES: dict[int, Callable[[Document], Document]] = {1: _events_have_reasons}
"""``UPGRADES[n]`` turns a version-``n`` document into a version ``n + 1`` one.

Each function receives the whole document (``type``, ``schema_version``, ``data``) and
returns the upgraded document; :func:`load` applies them in order and then sets
``schema_version``. When the format changes, bump :data:`SCHEMA_VERSION` and add the
function for the previous version here, with a line saying what changed.
"""

_WRITTEN_AS: dict[type[Any], type[Any]] = {crmcms.model.StoredAppeal: crmcms.model.Appeal}
"""Classes written as another: an appeal as storage holds it is an appeal."""

MODEL_TYPES: dict[str, type[Any]] = {
    name: obj
    for name in crmcms.model.__all__
    if attrs.has(obj := getattr(crmcms.model, name))
    and isinstance(obj, type)
    and obj not in _WRITTEN_AS
}
"""Every model class by the name used as a document's ``type`` tag."""


# --- Durations ---------------------------------------------------------------------------

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,6})?)S)?)?"
)


def format_iso_duration(value: timedelta) -> str:
    """ISO 8601 duration with days, hours, minutes and seconds: ``P1DT4H30M``."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    out = f"{sign}P"
    if value.days:
        out += f"{value.days}D"
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or value.microseconds:
        secs = f"{seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".")
        clock += f"{secs}S"
    if clock:
        out += "T" + clock
    elif not value.days:
        out += "T0S"
    return out


def parse_iso_duration(text: str) -> timedelta:
    """Read what :func:`format_iso_duration` writes; weeks, months and years are refused."""
    match = _DURATION.fullmatch(text)
    if match is None or text.rstrip("-") in ("P", "PT"):
        raise InvalidValueError(f"{text!r} is not an ISO 8601 duration such as 'P1DT4H30M'")
    parts = match.groupdict()
    whole, _, fraction = (parts["seconds"] or "0").partition(".")
    value = timedelta(
        days=int(parts["days"] or 0),
        hours=int(parts["hours"] or 0),
        minutes=int(parts["minutes"] or 0),
        seconds=int(whole),
        microseconds=int(fraction.ljust(6, "0")),
    )
    return -value if parts["sign"] else value


# --- Attribute values --------------------------------------------------------------------

_VALUE_ARGS = frozenset(get_args(AttributeValue))


def _is_attribute_value(tp: Any) -> bool:
    args = frozenset(get_args(tp))
    return args == _VALUE_ARGS or args == _VALUE_ARGS | {type(None)}


def _unstructure_scalar(value: Scalar) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, date) and not isinstance(value, datetime):
        return {"date": value.isoformat()}
    if isinstance(value, datetime):
        # Not an attribute value, but what a history change of a deadline holds.
        return {"datetime": value.isoformat()}
    raise TypeError(f"{value!r} is not an attribute value")


def _unstructure_value(value: AttributeValue | None) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return [_unstructure_scalar(v) for v in value]
    return _unstructure_scalar(value)


def _structure_scalar(data: Any) -> Scalar:
    if isinstance(data, bool | str):
        return data
    if isinstance(data, dict) and len(data) == 1:
        ((tag, text),) = data.items()
        if tag == "decimal" and isinstance(text, str):
            return _structure_decimal(text, Decimal)
        if tag == "date" and isinstance(text, str):
            return date.fromisoformat(text)
        if tag == "datetime" and isinstance(text, str):
            return datetime.fromisoformat(text)
    raise InvalidValueError(
        f"{data!r} is not an attribute value "
        "(a string, a boolean, {'decimal': '...'} or {'date': 'YYYY-MM-DD'})"
    )


def _structure_value(data: Any, _: Any) -> AttributeValue | None:
    if data is None:
        return None
    if isinstance(data, list):
        return tuple(_structure_scalar(v) for v in data)
    return _structure_scalar(data)


# --- Strict scalars ----------------------------------------------------------------------
# cattrs' defaults call bool(), int() and str() on whatever arrives: bool("false") is True.


def _strict(tp: type[T], *, exclude: type | None = None) -> Callable[[Any, Any], T]:
    def hook(data: Any, _: Any) -> T:
        if not isinstance(data, tp) or (exclude is not None and isinstance(data, exclude)):
            raise InvalidValueError(f"expected {tp.__name__}, got {type(data).__name__} {data!r}")
        return data

    return hook


def _structure_decimal(data: Any, _: Any) -> Decimal:
    if isinstance(data, bool) or not isinstance(data, str | int):
        raise InvalidValueError(
            f"expected a decimal as a string, got {type(data).__name__} {data!r}"
        )
    try:
        value = Decimal(data)
    except InvalidOperation:
        raise InvalidValueError(f"{data!r} is not a decimal number") from None
    if not value.is_finite():
        raise InvalidValueError(f"{data!r} is not a finite decimal number")
    return value


def _from_iso(parse: Callable[[str], T]) -> Callable[[Any, Any], T]:
    def hook(data: Any, _: Any) -> T:
        if not isinstance(data, str):
            raise InvalidValueError(
                f"expected an ISO 8601 string, got {type(data).__name__} {data!r}"
            )
        return parse(data)

    return hook


def _structure_date(text: str) -> date:
    # date.fromisoformat would also take "20240131"; stored documents use the dashed form.
    if len(text) != 10:
        raise InvalidValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    return date.fromisoformat(text)


def _is_frozenset(cls: Any) -> bool:
    return cls is frozenset or typing.get_origin(cls) is frozenset


def make_converter() -> cattrs.Converter:
    """A new converter set up for crmcms model classes; the module's own is built this way."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(bool, _strict(bool))
    conv.register_structure_hook(int, _strict(int, exclude=bool))
    conv.register_structure_hook(str, _strict(str))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, _from_iso(datetime.fromisoformat))
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_structure_hook(date, _from_iso(_structure_date))
    conv.register_unstructure_hook(timedelta, format_iso_duration)
    conv.register_structure_hook(timedelta, _from_iso(parse_iso_duration))
    conv.register_unstructure_hook_func(_is_attribute_value, _unstructure_value)
    # Sets (a principal's roles and permissions) are written as sorted lists: JSON has no
    # set, and the same set must give the same document.
    conv.register_unstructure_hook_func(
        _is_frozenset, lambda s: sorted(conv.unstructure(i) for i in s)
    )
    conv.register_structure_hook_func(_is_attribute_value, _structure_value)
    return conv


_CONVERTER = make_converter()


# --- Errors ------------------------------------------------------------------------------


def _format_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(p) for p in exc.problems)
    if isinstance(exc, ValueError) and not isinstance(exc, KeyError) and str(exc):
        return str(exc)
    return _cattrs_format_exception(exc, type_)


def _problems(exc: cattrs.BaseValidationError) -> list[Problem]:
    problems = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format_exception):
        message, _, path = line.rpartition(" @ ")
        problems.append(Problem(path or "$", message or line))
    return problems


def structure(data: Any, cls: type[T]) -> T:
    """``data`` as an instance of ``cls``; problems come out as a ValidationError with paths."""
    try:
        return _CONVERTER.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        raise ValidationError(_problems(exc), subject=getattr(cls, "__name__", str(cls))) from exc


def unstructure(obj: Any) -> Any:
    """``obj`` as JSON-ready data, without the document envelope."""
    return _CONVERTER.unstructure(obj)


# --- Documents ---------------------------------------------------------------------------


def dump(obj: Any) -> Document:
    """A stored document for a model object: ``type``, ``schema_version`` and ``data``."""
    cls = type(obj)
    cls = _WRITTEN_AS.get(cls, cls)
    name = cls.__name__
    if MODEL_TYPES.get(name) is not cls:
        raise TypeError(f"{type(obj).__qualname__} is not a crmcms model class")
    return {"type": name, "schema_version": SCHEMA_VERSION, "data": unstructure(obj)}


def _envelope_problem(code: str, message: str) -> ValidationError:
    return ValidationError([Problem(code, message)], subject="document")


def upgrade(document: Document) -> Document:
    """The document brought to :data:`SCHEMA_VERSION` by the functions in :data:`UPGRADES`."""
    version = document.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _envelope_problem("$.schema_version", f"must be a positive integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise _envelope_problem(
            "$.schema_version",
            f"version {version} was written by a newer crmcms; this one reads up to "
            f"{SCHEMA_VERSION}, upgrade crmcms to load it",
        )
    while version < SCHEMA_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise _envelope_problem(
                "$.schema_version", f"no upgrade from version {version} is known"
            )
        document = step(dict(document))
        version += 1
        document["schema_version"] = version
    return document


def load(document: Any, cls: type[T] | None = None) -> T:
    """The model object stored in ``document``, upgraded first if it is older.

    With ``cls`` the document must hold that class; without it, its ``type`` tag decides.
    """
    if not isinstance(document, dict):
        raise _envelope_problem("$", f"a document is a JSON object, got {type(document).__name__}")
    missing = [k for k in ("type", "schema_version", "data") if k not in document]
    if missing:
        raise _envelope_problem("$", f"document lacks {', '.join(missing)}")
    document = upgrade(document)
    name = document["type"]
    target = MODEL_TYPES.get(name) if isinstance(name, str) else None
    if target is None:
        raise _envelope_problem("$.type", f"{name!r} is not a crmcms model class")
    if cls is not None and target is not cls:
        raise _envelope_problem("$.type", f"expected a {cls.__name__} document, got {name}")
    result: T = structure(document["data"], target)
    return result
