"""Attribute definitions: the typed, configurable fields of topics and topic groups."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import attrs

from crmcms.errors import InvalidValueError, Problem, ValidationError
from crmcms.model._checks import require_code
from crmcms.model.dictionaries import Dictionary
from crmcms.model.masks import InputMask
from crmcms.model.values import (
    NO,
    AttributeValue,
    Flag,
    ValueType,
    check_scalar,
    freeze_mapping,
    parse_value,
)

__all__ = ["AttributeDef", "compile_regex"]


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern, cached because every value check needs it again."""
    return re.compile(pattern)


@attrs.frozen
class AttributeDef:
    """One additional attribute of a topic or topic group, as the console's property sheet.

    Definition problems (a bad regular expression, a default that is not of the
    attribute's type, a reference without its dictionary) are refused at construction
    with a :class:`~crmcms.errors.ValidationError` naming the attribute code.
    """

    code: str
    name: str
    value_type: ValueType
    description: str = ""
    active: bool = True
    """Inactive attributes are not offered when an appeal is registered or edited."""
    multiple: bool = False
    """Multiple choice: the value is a tuple of scalars."""
    dictionary: str | None = None
    """Code of the dictionary a ``REFERENCE`` attribute chooses from."""
    default: str | None = None
    """Fixed default in canonical text (``2024-01-31``, ``12.50``, ``true``, an item code)."""
    computed_default: str | None = None
    """Computed default: rule-language expression source text, evaluated at registration."""
    hidden: Flag = NO
    read_only: Flag = NO
    required: Flag = NO
    show_in_column: bool = False
    """Shown as a column of appeal lists."""
    metadata: Mapping[str, str] = attrs.field(factory=dict, converter=freeze_mapping, hash=False)
    mask: str | None = None
    """Input mask, see :mod:`crmcms.model.masks` (``+7 (999) 999-99-99``)."""
    regex: str | None = None
    """A regular expression the whole string value must match."""

    def __attrs_post_init__(self) -> None:
        require_code("attribute", self.code)
        problems: list[Problem] = []

        def bad(message: str) -> None:
            problems.append(Problem(self.code, message))

        is_ref = self.value_type is ValueType.REFERENCE
        if is_ref and not self.dictionary:
            bad("a reference attribute needs the code of its dictionary")
        if not is_ref and self.dictionary is not None:
            bad(f"only reference attributes name a dictionary, this one is {self.value_type.value}")
        if self.mask is not None:
            if self.value_type is not ValueType.STRING:
                bad(f"an input mask applies to strings, this attribute is {self.value_type.value}")
            try:
                InputMask.compile(self.mask)
            except ValueError as exc:
                bad(f"bad input mask: {exc}")
        if self.regex is not None:
            if self.value_type is not ValueType.STRING:
                bad(f"a regular expression applies to strings, not {self.value_type.value}")
            try:
                compile_regex(self.regex)
            except re.error as exc:
                bad(f"bad regular expression {self.regex!r}: {exc}")
        if self.default is not None and self.computed_default is not None:
            bad("give either a fixed or a computed default, not both")
        if self.computed_default is not None and not self.computed_default.strip():
            bad("a computed default must be a rule expression, not blank text")
        if self.default is not None and not problems:
            try:
                value = parse_value(self.value_type, self.default)
            except ValueError as exc:
                bad(f"bad default: {exc}")
            else:
                for p in self.validate((value,) if self.multiple else value, required=False):
                    bad(f"bad default: {p.message}")
        if problems:
            raise ValidationError(problems, subject=f"attribute {self.code}")

    @property
    def availability(self) -> str | None:
        """The console's summary column: ``hidden``, ``read-only`` or ``required`` if always set."""
        for label, flag in (
            ("hidden", self.hidden),
            ("read-only", self.read_only),
            ("required", self.required),
        ):
            if flag.always:
                return label
        return None

    def default_value(self) -> AttributeValue | None:
        """The fixed default as a typed value (a one-item tuple for multiple choice)."""
        if self.default is None:
            return None
        value = parse_value(self.value_type, self.default)
        return (value,) if self.multiple else value

    def validate(
        self,
        value: object,
        *,
        dictionary: Dictionary | None = None,
        required: bool | None = None,
    ) -> list[Problem]:
        """Every problem with ``value`` for this attribute; an empty list means it is valid.

        Checks type, multiplicity, mask, regular expression and, given the ``dictionary``
        of an analytic or internal reference, that each code is an active item. ``required``
        says whether an empty value is a problem; by default only an unconditionally
        required attribute refuses one, since conditions need the rule engine.
        """
        needed = self.required.always if required is None else required
        if value is None or value == ():
            return [Problem(self.code, "is required")] if needed else []
        if self.multiple:
            if not isinstance(value, tuple | list):
                return [Problem(self.code, f"is multiple choice: expected a tuple, got {value!r}")]
            scalars: list[object] = list(value)
        else:
            if isinstance(value, tuple | list):
                return [Problem(self.code, f"takes one value, got {len(value)}: {value!r}")]
            scalars = [value]
        problems: list[Problem] = []
        for item in scalars:
            problems += self._check_scalar(item, dictionary)
        return problems

    def _check_scalar(self, value: object, dictionary: Dictionary | None) -> list[Problem]:
        why = check_scalar(self.value_type, value)
        if why is not None:
            return [Problem(self.code, why)]
        problems: list[Problem] = []
        if (
            self.mask is not None
            and isinstance(value, str)
            and not InputMask.compile(self.mask).matches(value)
        ):
            problems.append(
                Problem(self.code, f"{value!r} does not match the input mask {self.mask!r}")
            )
        if (
            self.regex is not None
            and isinstance(value, str)
            and compile_regex(self.regex).fullmatch(value) is None
        ):
            problems.append(
                Problem(self.code, f"{value!r} does not match the pattern {self.regex!r}")
            )
        if self.value_type is ValueType.REFERENCE and dictionary is not None:
            problems += self._check_membership(value, dictionary)
        return problems

    def _check_membership(self, value: object, dictionary: Dictionary) -> list[Problem]:
        if dictionary.code != self.dictionary:
            raise InvalidValueError(
                f"attribute {self.code} refers to dictionary {self.dictionary!r}, "
                f"not {dictionary.code!r}"
            )
        if not dictionary.stores_items:
            # External and query dictionaries are checked by whoever can reach their source.
            return []
        if value in dictionary.active_codes():
            return []
        if any(i.code == value for i in dictionary.items):
            return [Problem(self.code, f"{value!r} is an inactive item of {dictionary.code}")]
        return [Problem(self.code, f"{value!r} is not an item of {dictionary.code}")]
