"""What a rule may see: value types, the object tree with aliases, topic attributes, functions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from crmcms.errors import ConfigurationError, InvalidValueError

if TYPE_CHECKING:
    from crmcms.dsl.rules.functions import RuleFunction
    from crmcms.dsl.rules.named_rules import NamedRule

__all__ = [
    "ANY",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "DURATION",
    "EMPTY",
    "INTEGER",
    "STRING",
    "AttributeInfo",
    "AttributeSet",
    "Field",
    "ObjectBuilder",
    "RuleType",
    "Schema",
    "SchemaBuilder",
    "list_of",
    "parse_duration_literal",
    "type_named",
]


# --- Value types ---------------------------------------------------------------------------


@attrs.frozen
class RuleType:
    """The type of a value in a rule; ``item`` is set for lists only."""

    name: str
    item: RuleType | None = None

    def __str__(self) -> str:
        return f"list of {self.item}" if self.item is not None else self.name

    @property
    def is_list(self) -> bool:
        return self.item is not None

    @property
    def is_numeric(self) -> bool:
        return self.name in ("integer", "decimal")


ANY = RuleType("any")
"""Not known until run time (a topic attribute without a loaded definition)."""
BOOLEAN = RuleType("boolean")
DATE = RuleType("date")
DATETIME = RuleType("datetime")
DECIMAL = RuleType("decimal")
DURATION = RuleType("duration")
EMPTY = RuleType("empty")
"""The type of the literal ``empty``."""
INTEGER = RuleType("integer")
STRING = RuleType("string")

_SCALARS = {t.name: t for t in (ANY, BOOLEAN, DATE, DATETIME, DECIMAL, DURATION, INTEGER, STRING)}
# The attribute value types of topic definitions map onto rule types.
_SCALARS["reference"] = STRING
_SCALARS["number"] = DECIMAL


def list_of(item: RuleType) -> RuleType:
    """The type of a list whose items have type ``item``."""
    return RuleType("list", item)


def type_named(name: str) -> RuleType:
    """A type from its name: ``date``, ``decimal``, ``list of string``, ``reference``, ..."""
    text = name.strip().lower()
    if text.startswith("list of "):
        return list_of(type_named(text[len("list of ") :]))
    try:
        return _SCALARS[text]
    except KeyError:
        known = ", ".join(sorted(_SCALARS))
        raise ConfigurationError(f"unknown rule type {name!r}; known: {known}") from None


_DURATION_PART = re.compile(r"(\d+)([wdhms])")
_DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration_literal(text: str) -> timedelta:
    """``2h`` -> 2 hours; units are w, d, h, m (minutes), s and may be combined: ``1d12h``."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidValueError(f"{text!r} is not a duration such as 2h, 3d or 1d12h")
    return sum((timedelta(**{_DURATION_UNITS[u]: int(n)}) for n, u in parts), timedelta())


def _aware(value: datetime) -> datetime:
    # Rules compare datetimes in UTC; a naive datetime is taken to be UTC already.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _convert_value(value: Any, type_: RuleType) -> Any:
    """A JSON-shaped value (ISO strings, numbers) as the Python value of ``type_``."""
    if value is None or type_ is ANY:
        return value
    if type_.item is not None:
        return tuple(_convert_value(v, type_.item) for v in value)
    if type_ is DECIMAL or type_ is INTEGER:
        if isinstance(value, bool):
            raise InvalidValueError(f"{value!r} is not a number")
        if type_ is INTEGER and isinstance(value, int):
            return value
        try:
            # str() first: a JSON float such as 0.1 must become Decimal('0.1'), not its binary
            number = Decimal(str(value))
        except InvalidOperation:
            raise InvalidValueError(f"{value!r} is not a number") from None
        if type_ is INTEGER:
            if number != number.to_integral_value():
                raise InvalidValueError(f"{value!r} is not a whole number")
            return int(number)
        return number
    if type_ is DATETIME:
        if isinstance(value, datetime):
            return _aware(value)
        return _aware(datetime.fromisoformat(str(value)))
    if type_ is DATE:
        if isinstance(value, datetime):
            raise InvalidValueError(f"{value!r} is a date-time, not a date")
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if type_ is DURATION:
        return value if isinstance(value, timedelta) else parse_duration_literal(str(value))
    if type_ is BOOLEAN and not isinstance(value, bool):
        raise InvalidValueError(f"{value!r} is not true or false")
    if type_ is STRING and not isinstance(value, str):
        raise InvalidValueError(f"{value!r} is not a string")
    return value


# --- The object tree -----------------------------------------------------------------------


def _frozen(items: Mapping[str, Any]) -> Mapping[str, Any]:
    # attrs converters cannot be generic for mypy; the field annotations keep the types
    return MappingProxyType(dict(items))


@attrs.frozen
class AttributeInfo:
    """One topic attribute rules may read by code: ``Appeal.Attribute[168]``."""

    code: str
    type: RuleType
    name: str = ""


@attrs.frozen
class AttributeSet:
    """Topic attributes by code; ``closed`` once definitions are loaded, so unknown codes fail."""

    known: Mapping[str, AttributeInfo] = attrs.field(factory=dict, converter=_frozen)
    closed: bool = False

    def type_of(self, code: str) -> RuleType | None:
        """The attribute's type; ``ANY`` for any code while open; ``None`` if unknown and closed."""
        info = self.known.get(code)
        if info is not None:
            return info.type
        return None if self.closed else ANY


@attrs.frozen
class Field:
    """A node of the schema: a leaf with a value type, an object with fields, or attributes."""

    name: str
    type: RuleType | None = None
    aliases: tuple[str, ...] = ()
    doc: str = ""
    fields: Mapping[str, Field] = attrs.field(factory=dict, converter=_frozen, repr=False)
    attributes: AttributeSet | None = attrs.field(default=None, repr=False)
    _by_name: Mapping[str, Field] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, Field] = {}
        for f in self.fields.values():
            for n in (f.name, *f.aliases):
                index[n] = f
        object.__setattr__(self, "_by_name", index)

    @property
    def is_object(self) -> bool:
        return self.type is None and self.attributes is None

    def child(self, name: str) -> Field | None:
        """The field called ``name``, by its canonical name or any alias."""
        return self._by_name.get(name)

    def suggest(self, name: str) -> str | None:
        """The closest known field name or alias, for a "did you mean" hint."""
        return closest_name(name, self._by_name)


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name``, if any is close enough to be a likely typo."""
    pool = list(candidates)
    folded = {c.casefold(): c for c in pool}
    if name.casefold() in folded:
        return folded[name.casefold()]
    found = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return found[0] if found else None


@attrs.frozen
class Schema:
    """Everything a rule may name: root objects (with their fields) and functions."""

    root: Field = attrs.field(repr=lambda root: f"<{len(root.fields)} objects>")
    functions: Mapping[str, RuleFunction] = attrs.field(factory=dict, converter=_frozen, repr=False)
    rules: Mapping[str, NamedRule] = attrs.field(factory=dict, converter=_frozen, repr=False)
    """Named rules a condition may use by code (``not ONLY_BIS``); a catalog's schema has them."""

    def function(self, name: str) -> RuleFunction | None:
        """A function by name or alias, in any letter case."""
        return self.functions.get(name.casefold())

    def resolve(self, path: str) -> Field:
        """The field at a dotted path (canonical names or aliases): ``Клиент.Категория``."""
        node = self.root
        for part in path.split("."):
            found = node.child(part)
            if found is None:
                raise KeyError(path)
            node = found
        return node

    def convert(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON-shaped data mapping with its values turned into the schema's types.

        Dates and date-times come as ISO strings, decimals as strings or numbers (never
        floats in arithmetic: they become :class:`~decimal.Decimal`). Keys may be aliases;
        the result uses canonical names. Unknown keys pass through unchanged.
        """
        return _convert_object(self.root, data, "")


def _convert_object(node: Field, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        f = node.child(key)
        if f is None:
            out[key] = value
            continue
        at = f"{where}.{f.name}" if where else f.name
        try:
            if value is None:
                out[f.name] = None
            elif f.type is not None:
                out[f.name] = _convert_value(value, f.type)
            elif f.attributes is not None:
                out[f.name] = {
                    str(code): _convert_value(v, f.attributes.type_of(str(code)) or ANY)
                    for code, v in value.items()
                }
            else:
                out[f.name] = _convert_object(f, value, at)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"data at {at}: {exc}") from None
    return out


# --- Building a schema ---------------------------------------------------------------------


class ObjectBuilder:
    """Fields of one object being assembled; methods chain."""

    def __init__(self, name: str, aliases: Iterable[str] = (), doc: str = "") -> None:
        self.name = name
        self.aliases: list[str] = list(aliases)
        self.doc = doc
        self._leaves: dict[str, Field] = {}
        self._objects: dict[str, ObjectBuilder] = {}
        self._attributes: dict[str, AttributeInfo] | None = None
        self._attr_meta: tuple[str, tuple[str, ...], str, bool] = ("", (), "", False)

    def field(
        self, name: str, type_: RuleType, *, aliases: Iterable[str] = (), doc: str = ""
    ) -> ObjectBuilder:
        """Add (or replace) a leaf field holding values of ``type_``."""
        self._objects.pop(name, None)
        self._leaves[name] = Field(name, type_, tuple(aliases), doc)
        return self

    def object(self, name: str, *, aliases: Iterable[str] = (), doc: str = "") -> ObjectBuilder:
        """The nested object ``name``, created on first use; returns its builder."""
        found = self._objects.get(name)
        if found is None:
            found = self._objects[name] = ObjectBuilder(name, aliases, doc)
        else:
            found.alias(*aliases)
        return found

    def alias(self, *aliases: str) -> ObjectBuilder:
        """More names for this object."""
        self.aliases.extend(a for a in aliases if a not in self.aliases)
        return self

    def field_alias(self, name: str, *aliases: str) -> ObjectBuilder:
        """More names for the leaf or nested object ``name`` of this object."""
        if name in self._objects:
            self._objects[name].alias(*aliases)
        elif name in self._leaves:
            leaf = self._leaves[name]
            extra = tuple(a for a in aliases if a not in leaf.aliases)
            self._leaves[name] = attrs.evolve(leaf, aliases=leaf.aliases + extra)
        else:
            raise ConfigurationError(f"{self.name} has no field {name!r} to alias")
        return self

    def attributes(
        self, name: str, *, aliases: Iterable[str] = (), doc: str = "", closed: bool = False
    ) -> ObjectBuilder:
        """Declare ``name`` as the keyed attribute field: ``Appeal.Attribute[code]``."""
        if self._attributes is None:
            self._attributes = {}
        self._attr_meta = (name, tuple(aliases), doc, closed)
        return self

    def attribute(self, code: str, type_: RuleType, *, name: str = "") -> ObjectBuilder:
        """Declare one attribute's type; once any is declared, unknown codes are errors."""
        if self._attributes is None:
            raise ConfigurationError(f"{self.name} has no attribute field")
        self._attributes[str(code)] = AttributeInfo(str(code), type_, name)
        meta = self._attr_meta
        self._attr_meta = (meta[0], meta[1], meta[2], True)
        return self

    def build(self) -> Field:
        fields: dict[str, Field] = dict(self._leaves)
        for name, sub in self._objects.items():
            fields[name] = sub.build()
        if self._attributes is not None:
            name, aliases, doc, closed = self._attr_meta
            fields[name] = Field(
                name, None, aliases, doc, attributes=AttributeSet(self._attributes, closed)
            )
        return Field(self.name, None, tuple(self.aliases), self.doc, fields)


class SchemaBuilder(ObjectBuilder):
    """The mutable schema plugins extend in ``crmcms_rule_schema(schema)``.

    Its top-level objects are what rules start a path from (``Client``, ``Appeal``, ...).
    """

    def __init__(self) -> None:
        super().__init__("")
        self._functions: dict[str, RuleFunction] = {}

    def function(self, fn: RuleFunction) -> SchemaBuilder:
        """Make ``fn`` callable from rules; a name (or alias) defined twice is an error."""
        for n in (fn.name, *fn.aliases):
            key = n.casefold()
            if key in self._functions and self._functions[key] is not fn:
                raise ConfigurationError(f"rule function {n!r} is defined twice")
            self._functions[key] = fn
        return self

    def declare_attributes(
        self, attributes: Mapping[str, RuleType], *, owner: str = "Appeal"
    ) -> SchemaBuilder:
        """Declare topic attribute types by code (``{"168": DATE}``) on ``owner``'s attribute
        field (``Attribute`` if it has none yet); unknown codes are then errors."""
        if attributes:
            holder = self.object(owner)
            if holder._attributes is None:
                holder.attributes("Attribute")
            for code, type_ in attributes.items():
                holder.attribute(code, type_)
        return self

    def build_schema(self) -> Schema:
        """The immutable schema."""
        return Schema(self.build(), self._functions)
