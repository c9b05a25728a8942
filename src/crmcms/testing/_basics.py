"""Building blocks for the model strategies: codes, names, values, flags, masks."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from crmcms.model.dictionaries import Dictionary
from crmcms.model.masks import ANY, DIGIT, ESCAPE, LETTER, InputMask
from crmcms.model.values import AttributeValue, Flag, Scalar, ValueType

__all__ = [
    "attribute_values",
    "codes",
    "conditions",
    "dates",
    "decimals",
    "durations",
    "flags",
    "masked_texts",
    "masks",
    "names",
    "optional_flags",
    "regexes",
    "scalars",
    "timestamps",
]

CODE_ALPHABET = string.ascii_letters + string.digits + "_"

# Real rule expressions in both spellings; the model keeps them as text only.
CONDITIONS = (
    'Клиент.Категория = "BIS"',
    'Client.Region != "Pskov"',
    "Appeal.Priority = 1",
    "Обращение.ВремяЗакрытия is empty",
)

# Patterns whose full matches hypothesis can generate quickly.
REGEXES = (r"[0-9]{4}", r"[A-Z][a-z]{1,8}", r"\d{2}-\d{2}-\d{2}", r"[а-я]{2,6}")

SEED_MASKS = ("+7 (999) 999-99-99", "AA-9999", "***-999", "99.99.9999", r"\9\A-99")


def codes() -> st.SearchStrategy[str]:
    """Definition codes such as ``SSOL_GT_ALL`` or ``167``."""
    return st.text(CODE_ALPHABET, min_size=1, max_size=12)


def names() -> st.SearchStrategy[str]:
    """Display names and free text, Cyrillic included, with no surrogates or controls."""
    return st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=24
    )


def conditions() -> st.SearchStrategy[str]:
    return st.sampled_from(CONDITIONS)


def flags() -> st.SearchStrategy[Flag]:
    """Unset, set, or set while a rule holds."""
    return st.one_of(
        st.just(Flag()),
        st.builds(Flag, st.just(True), st.none() | conditions()),
    )


def optional_flags() -> st.SearchStrategy[Flag | None]:
    """A route override: ``None`` inherits the topic's flag."""
    return st.none() | flags()


def dates() -> st.SearchStrategy[date]:
    return st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


def timestamps() -> st.SearchStrategy[datetime]:
    """Time-zone aware instants in UTC, as records store them."""
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )


def durations(*, min_seconds: int = 1) -> st.SearchStrategy[timedelta]:
    return st.timedeltas(min_value=timedelta(seconds=min_seconds), max_value=timedelta(days=400))


def decimals() -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False
    )


@st.composite
def _mask_patterns(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from((DIGIT, LETTER, ANY)),
                st.sampled_from("-() .+/:#").map(str),
                st.sampled_from((DIGIT, LETTER, ANY, ESCAPE)).map(lambda c: ESCAPE + c),
            ),
            min_size=1,
            max_size=12,
        )
    )
    if not any(p in (DIGIT, LETTER, ANY) for p in parts):
        parts.append(DIGIT)
    return "".join(parts)


def masks() -> st.SearchStrategy[str]:
    """Input mask patterns: the seed-like ones and random valid ones."""
    return st.sampled_from(SEED_MASKS) | _mask_patterns()


@st.composite
def masked_texts(draw: st.DrawFn, pattern: str) -> str:
    """A text that fills in ``pattern`` correctly."""
    mask = InputMask.compile(pattern)
    chars = []
    for slot in mask.slots:
        if slot.kind == DIGIT:
            chars.append(draw(st.sampled_from(string.digits)))
        elif slot.kind == LETTER:
            chars.append(draw(st.sampled_from("abcXYZабвЁЖЯ")))
        elif slot.kind == ANY:
            # Any character a value may hold: NUL is refused (crmcms.model.values.check_scalar).
            any_char = st.characters(
                codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"
            )
            chars.append(draw(any_char))
        else:
            chars.append(slot.literal)
    return "".join(chars)


def regexes() -> st.SearchStrategy[str]:
    return st.sampled_from(REGEXES)


def scalars(
    value_type: ValueType,
    *,
    mask: str | None = None,
    regex: str | None = None,
    dictionary: Dictionary | None = None,
) -> st.SearchStrategy[Scalar]:
    """Valid single values of ``value_type`` under the given mask, regex or dictionary."""
    if value_type is ValueType.DATE:
        return dates()
    if value_type is ValueType.DECIMAL:
        return decimals()
    if value_type is ValueType.BOOLEAN:
        return st.booleans()
    if value_type is ValueType.REFERENCE:
        if dictionary is not None and dictionary.stores_items:
            active = sorted(dictionary.active_codes())
            if not active:
                raise ValueError(f"dictionary {dictionary.code} has no active item to choose")
            return st.sampled_from(active)
        return codes()
    if mask is not None:
        return masked_texts(mask)
    if regex is not None:
        return st.from_regex(regex, fullmatch=True)
    return names()


def attribute_values() -> st.SearchStrategy[AttributeValue]:
    """Any attribute value, for records whose catalog is not at hand."""
    scalar: st.SearchStrategy[Scalar] = st.one_of(dates(), decimals(), st.booleans(), names())
    return st.one_of(scalar, st.lists(scalar, min_size=1, max_size=3).map(tuple))
