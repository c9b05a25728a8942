"""Attribute values: input masks, flags, canonical text and AttributeDef.validate."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmcms.errors import Problem, ValidationError
from crmcms.model import (
    AttributeDef,
    Dictionary,
    DictionaryItem,
    DictionaryKind,
    Flag,
    InputMask,
    ValueType,
    format_value,
    parse_value,
)
from crmcms.testing import attribute_defs, dictionaries, masked_texts, masks, scalars, values_for

PHONE = "+7 (999) 999-99-99"

# --- Input masks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "ok"),
    [
        (PHONE, "+7 (921) 123-45-67", True),
        (PHONE, "+7 (921) 123-45-6", False),
        (PHONE, "+7 (921) 123-45-6x", False),
        (PHONE, "+8 (921) 123-45-67", False),
        ("AA-9999", "Ёж-2024", True),
        ("AA-9999", "E1-2024", False),
        ("***", "a1?", True),
        (r"\9\A-99", "9A-12", True),
        (r"\9\A-99", "1A-12", False),
        ("99", "١٢", False),  # Arabic-Indic digits are not what a phone mask means
    ],
)
def test_mask_matching_table(pattern: str, text: str, ok: bool) -> None:
    assert InputMask(pattern).matches(text) is ok


@pytest.mark.parametrize("pattern", ["", "---", "\\", "+7 \\"])
def test_masks_without_placeholders_or_with_a_lone_escape_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="mask"):
        InputMask(pattern)


@given(st.data())
def test_every_filled_in_mask_matches(data: st.DataObject) -> None:
    pattern = data.draw(masks())
    text = data.draw(masked_texts(pattern))
    assert InputMask(pattern).matches(text)


@given(st.data())
def test_fill_and_entered_are_inverse(data: st.DataObject) -> None:
    mask = InputMask(data.draw(masks()))
    text = data.draw(masked_texts(mask.pattern))
    entered = mask.entered(text)
    assert len(entered) == sum(s.is_placeholder for s in mask.slots)
    assert mask.fill(entered) == text


@given(st.data())
def test_a_text_of_another_length_never_matches(data: st.DataObject) -> None:
    mask = InputMask(data.draw(masks()))
    text = data.draw(masked_texts(mask.pattern))
    extra = data.draw(st.text(min_size=1, max_size=3))
    assert not mask.matches(text + extra)
    assert not mask.matches(text[:-1])


@given(st.data())
def test_changing_a_literal_breaks_the_match(data: st.DataObject) -> None:
    mask = InputMask(data.draw(masks()))
    literals = [i for i, s in enumerate(mask.slots) if not s.is_placeholder]
    assume(literals)
    text = data.draw(masked_texts(mask.pattern))
    i = data.draw(st.sampled_from(literals))
    other = data.draw(st.characters(codec="utf-8").filter(lambda c: c != mask.slots[i].literal))
    assert not mask.matches(text[:i] + other + text[i + 1 :])


def test_fill_formats_what_the_user_typed() -> None:
    assert InputMask(PHONE).fill("9211234567") == "+7 (921) 123-45-67"
    with pytest.raises(ValueError, match="needs 10 characters, got 3"):
        InputMask(PHONE).fill("921")
    with pytest.raises(ValueError, match="does not fit"):
        InputMask(PHONE).fill("92112345xx")


# --- Flags and canonical text --------------------------------------------------------------


def test_flags_read_like_the_console() -> None:
    assert str(Flag()) == "no"
    assert str(Flag(True)) == "yes"
    conditional = Flag(True, 'Клиент.Категория = "BIS"')
    assert str(conditional) == 'yes when Клиент.Категория = "BIS"'
    assert conditional.conditional
    assert not conditional.always
    assert Flag(True).always


@pytest.mark.parametrize(("value", "condition"), [(False, "x = 1"), (True, "  ")])
def test_flag_conditions_need_a_set_flag_and_real_text(value: bool, condition: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        Flag(value, condition)


@pytest.mark.parametrize("value_type", list(ValueType))
@given(data=st.data())
def test_canonical_text_round_trips(value_type: ValueType, data: st.DataObject) -> None:
    value = data.draw(scalars(value_type))
    assert parse_value(value_type, format_value(value)) == value


@pytest.mark.parametrize(
    ("value_type", "text", "message"),
    [
        (ValueType.DATE, "31.01.2024", "not a date"),
        (ValueType.DECIMAL, "12,5", "not a decimal"),
        (ValueType.DECIMAL, "NaN", "not a finite"),
        (ValueType.BOOLEAN, "yes", "not a boolean"),
    ],
)
def test_bad_canonical_text_is_refused(value_type: ValueType, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_value(value_type, text)


# --- AttributeDef.validate ------------------------------------------------------------------

CITY = Dictionary(
    "CITY",
    "Город",
    DictionaryKind.ANALYTIC,
    items=(
        DictionaryItem("PSKOV", "Псков"),
        DictionaryItem("MOSCOW", "Москва"),
        DictionaryItem("LENINGRAD", "Ленинград", active=False),
    ),
)
city = AttributeDef("170", "Город расторжения", ValueType.REFERENCE, dictionary="CITY")
reasons = AttributeDef("167", "Особые причины", ValueType.STRING, multiple=True)
termination_date = AttributeDef("168", "Дата", ValueType.DATE, required=Flag(True))
amount = AttributeDef("185", "Число", ValueType.DECIMAL)
flag = AttributeDef("190", "Логический", ValueType.BOOLEAN)
phone = AttributeDef("PHONE", "Телефон", ValueType.STRING, mask=PHONE)
account = AttributeDef("ACC", "Лицевой счёт", ValueType.STRING, regex=r"\d{4}")


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        (termination_date, date(2024, 1, 31), None),
        (termination_date, None, "is required"),
        (termination_date, datetime(2024, 1, 31, 10), "expected a date, got datetime"),
        (termination_date, "2024-01-31", "expected a date, got str"),
        (amount, Decimal("12.50"), None),
        (amount, 12.5, "expected a decimal, got float"),
        (amount, Decimal("Infinity"), "finite"),
        (amount, None, None),
        (flag, False, None),
        (flag, 0, "expected a boolean, got int"),
        (reasons, ("price", "service"), None),
        (reasons, "price", "is multiple choice"),
        (reasons, ("price", 3), "expected a string, got int"),
        (flag, (True,), "takes one value"),
        (phone, "+7 (921) 123-45-67", None),
        (phone, "89211234567", "does not match the input mask"),
        (account, "1234", None),
        (account, "12345", "does not match the pattern"),
        (city, "PSKOV", None),
        (city, "LENINGRAD", "inactive item of CITY"),
        (city, "TVER", "'TVER' is not an item of CITY"),
    ],
)
def test_validation_table(attribute: AttributeDef, value: object, message: str | None) -> None:
    problems = attribute.validate(value, dictionary=CITY if attribute is city else None)
    if message is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].code == attribute.code
        assert message in problems[0].message


def test_required_can_be_decided_by_the_caller() -> None:
    conditional = AttributeDef("X", "x", ValueType.STRING, required=Flag(True, "a = 1"))
    assert conditional.validate(None) == []
    assert conditional.validate(None, required=True) == [Problem("X", "is required")]
    assert termination_date.validate(None, required=False) == []


def test_external_dictionaries_are_not_checked_here() -> None:
    external = Dictionary("BILL", "Billing", DictionaryKind.EXTERNAL, source="BIS")
    attribute = AttributeDef("T", "Тариф", ValueType.REFERENCE, dictionary="BILL")
    assert attribute.validate("ANY", dictionary=external) == []


def test_checking_against_the_wrong_dictionary_is_a_bug() -> None:
    other = Dictionary("OTHER", "o", items=(DictionaryItem("A", "a"),))
    with pytest.raises(ValueError, match="refers to dictionary 'CITY'"):
        city.validate("A", dictionary=other)


@given(st.data())
def test_generated_values_are_valid_for_their_attribute(data: st.DataObject) -> None:
    dictionary = data.draw(dictionaries(kinds=[DictionaryKind.ANALYTIC]))
    attribute = data.draw(attribute_defs(dictionaries=[dictionary]))
    value = data.draw(values_for(attribute, dictionary))
    used = dictionary if attribute.dictionary == dictionary.code else None
    assert attribute.validate(value, dictionary=used, required=True) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value_type": ValueType.STRING, "regex": "[a-"}, "bad regular expression '[a-'"),
        ({"value_type": ValueType.STRING, "mask": "---"}, "bad input mask"),
        ({"value_type": ValueType.DECIMAL, "mask": "999"}, "input mask applies to strings"),
        ({"value_type": ValueType.REFERENCE}, "needs the code of its dictionary"),
        ({"value_type": ValueType.STRING, "dictionary": "CITY"}, "only reference attributes"),
        ({"value_type": ValueType.DECIMAL, "default": "abc"}, "bad default"),
        ({"value_type": ValueType.STRING, "regex": r"\d+", "default": "x"}, "bad default"),
        ({"value_type": ValueType.STRING, "default": "a\x00b"}, "NUL character"),
        ({"value_type": ValueType.STRING, "mask": "***", "default": "a\x00b"}, "NUL character"),
        (
            {"value_type": ValueType.BOOLEAN, "default": "true", "computed_default": "1 = 1"},
            "either a fixed or a computed default",
        ),
    ],
)
def test_bad_definitions_are_refused_naming_the_attribute(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        AttributeDef("171", "Фин.карта", **kwargs)  # type: ignore[arg-type]
    assert caught.value.codes() == ("171",)
    assert message in str(caught.value)
    assert str(caught.value).startswith("attribute 171:")


def test_defaults_come_back_typed() -> None:
    assert AttributeDef("a", "a", ValueType.DECIMAL, default="1.50").default_value() == Decimal(
        "1.50"
    )
    many = AttributeDef("b", "b", ValueType.STRING, multiple=True, default="x")
    assert many.default_value() == ("x",)
    assert AttributeDef("c", "c", ValueType.DATE).default_value() is None


def test_availability_summarises_unconditional_flags() -> None:
    assert termination_date.availability == "required"
    hidden = AttributeDef("h", "h", ValueType.STRING, hidden=Flag(True), required=Flag(True))
    assert hidden.availability == "hidden"
    assert AttributeDef("n", "n", ValueType.STRING).availability is None


@given(text=st.text(max_size=8), where=st.integers(0, 8))
def test_a_value_holding_nul_is_refused_naming_the_attribute(text: str, where: int) -> None:
    # PostgreSQL text cannot hold NUL: every backend refuses it alike, before storing.
    attribute = AttributeDef("171", "Фин.карта", ValueType.STRING)
    problems = attribute.validate(text[:where] + "\x00" + text[where:])
    assert [p.code for p in problems] == ["171"]
    assert "NUL character" in problems[0].message
