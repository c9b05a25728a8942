"""Documents: every model class survives dump, JSON and load; bad data is refused with paths."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcms import model, serialization
from crmcms.errors import CrmcmsError, ValidationError
from crmcms.serialization import (
    MODEL_TYPES,
    SCHEMA_VERSION,
    dump,
    format_iso_duration,
    load,
    make_converter,
    parse_iso_duration,
)
from crmcms.testing import STRATEGIES, strategy_for

ALL_CLASSES = sorted(STRATEGIES, key=lambda c: c.__name__)


def test_every_model_class_has_a_strategy_and_a_type_tag() -> None:
    exported = {getattr(model, n) for n in model.__all__ if isinstance(getattr(model, n), type)}
    attrs_classes = {c for c in exported if hasattr(c, "__attrs_attrs__")}
    # A stored appeal is an appeal (its read-only form), written as one.
    attrs_classes.discard(model.StoredAppeal)
    assert attrs_classes == set(STRATEGIES)
    assert set(MODEL_TYPES.values()) == attrs_classes


@given(strategy_for(model.Appeal))
def test_a_stored_appeal_is_written_and_read_as_the_appeal_it_is(appeal: model.Appeal) -> None:
    plain = dump(appeal)
    stored = model.StoredAppeal.of(appeal)
    assert dump(stored) == plain
    again = load(json.loads(json.dumps(dump(stored))))
    assert type(again) is model.Appeal
    assert again == stored == appeal


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_dump_then_load_is_identity_through_json(cls: type[Any], data: st.DataObject) -> None:
    obj = data.draw(strategy_for(cls))
    document = dump(obj)
    assert document["type"] == cls.__name__
    assert document["schema_version"] == SCHEMA_VERSION
    text = json.dumps(document, ensure_ascii=False)
    again = load(json.loads(text), cls)
    assert again == obj
    assert type(again) is cls
    assert load(json.loads(text)) == obj


@given(st.timedeltas(min_value=timedelta(days=-999), max_value=timedelta(days=999)))
def test_durations_round_trip_as_iso_8601(value: timedelta) -> None:
    text = format_iso_duration(value)
    assert text.lstrip("-").startswith("P")
    assert parse_iso_duration(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(hours=4), "PT4H"),
        (timedelta(days=1, hours=4, minutes=30), "P1DT4H30M"),
        (timedelta(seconds=1, microseconds=500000), "PT1.5S"),
        (timedelta(days=3), "P3D"),
    ],
)
def test_durations_are_written_readably(value: timedelta, text: str) -> None:
    assert format_iso_duration(value) == text


@pytest.mark.parametrize("text", ["P", "PT", "1H", "P1Y", "PT1.5H", "P1W", "PT-1S", ""])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_iso_duration(text)


def test_typed_attribute_values_keep_their_type() -> None:
    appeal = model.Appeal(
        id=1,
        contact_id=2,
        topic="TERMINATION",
        route="TERMINATION",
        route_version=2,
        process="registration",
        operator="bis",
        registered_at=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
        values={
            "166": "moving abroad",
            "168": date(2024, 4, 1),
            "185": Decimal("12.50"),
            "190": False,
            "167": ("price", "service"),
        },
    )
    data = dump(appeal)["data"]
    assert data["values"] == {
        "166": "moving abroad",
        "168": {"date": "2024-04-01"},
        "185": {"decimal": "12.50"},
        "190": False,
        "167": ["price", "service"],
    }
    assert data["registered_at"] == "2024-03-01T09:30:00+00:00"
    assert data["state"] == "open"
    back = load(dump(appeal), model.Appeal)
    assert back.values["185"] == Decimal("12.50")
    assert str(back.values["185"]) == "12.50"
    assert isinstance(back.values["168"], date)


def _route_document() -> dict[str, Any]:
    route = model.Route(
        code="R",
        name="r",
        initial="a",
        processes=(
            model.Process("a", "A", deadline=model.Deadline(timedelta(hours=8))),
            model.Process("z", "Z", final=True),
        ),
        transitions=(model.Transition("t", "T", "a", "z"),),
        topics=("T1",),
    )
    return dump(route)


def test_structuring_errors_name_their_paths() -> None:
    document = _route_document()
    document["data"]["processes"][0]["deadline"]["limit"] = 28800
    document["data"]["processes"][1]["final"] = "yes"
    with pytest.raises(ValidationError) as caught:
        load(document)
    assert set(caught.value.codes()) == {
        "$.processes[0].deadline.limit",
        "$.processes[1].final",
    }
    assert "expected bool, got str 'yes'" in str(caught.value)


def test_construction_checks_surface_with_the_path_of_the_object() -> None:
    document = dump(model.Catalog(routes=(load(_route_document(), model.Route),)))
    document["data"]["routes"][0]["initial"] = "nowhere"
    with pytest.raises(ValidationError) as caught:
        load(document, model.Catalog)
    assert caught.value.codes() == ("$.routes[0]",)
    assert "initial process 'nowhere' is not defined" in str(caught.value)


def test_unknown_keys_and_loose_scalars_are_refused() -> None:
    document = _route_document()
    document["data"]["colour"] = "red"
    with pytest.raises(ValidationError, match="colour"):
        load(document)
    document = _route_document()
    document["data"]["version"] = "2"
    with pytest.raises(ValidationError) as caught:
        load(document)
    assert caught.value.codes() == ("$.version",)


def test_bad_attribute_values_are_refused() -> None:
    document = dump(
        model.Change("185", old=Decimal("1"), new=Decimal("2")),
    )
    document["data"]["new"] = {"decimal": "lots"}
    with pytest.raises(ValidationError) as caught:
        load(document)
    assert caught.value.codes() == ("$.new",)
    document["data"]["new"] = 3.5
    with pytest.raises(ValidationError, match="not an attribute value"):
        load(document)


def test_a_newer_schema_version_is_a_clear_error() -> None:
    document = _route_document()
    document["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValidationError, match="newer crmcms") as caught:
        load(document)
    assert caught.value.codes() == ("$.schema_version",)


def test_older_documents_are_upgraded_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    def rename_code(document: dict[str, Any]) -> dict[str, Any]:
        data = dict(document["data"])
        data["code"] = data.pop("rule_code")
        return {**document, "data": data}

    def add_description(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "data": {**document["data"], "description": "upgraded"}}

    monkeypatch.setattr(serialization, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(serialization, "UPGRADES", {1: rename_code, 2: add_description})
    old = {
        "type": "Rule",
        "schema_version": 1,
        "data": {"rule_code": "BIS", "name": "n", "expression": "x = 1"},
    }
    assert load(old) == model.Rule("BIS", "n", "x = 1", description="upgraded")


def test_a_version_1_history_event_loads_without_a_reason() -> None:
    event = model.HistoryEvent(1, 7, model.HistoryKind.QUEUED, datetime(2026, 3, 2, tzinfo=UTC))
    document = dump(event)
    del document["data"]["reason"]
    document["schema_version"] = 1
    assert load(json.loads(json.dumps(document))) == event


def test_missing_upgrade_step_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    document = _route_document()
    monkeypatch.setattr(serialization, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(serialization, "UPGRADES", {2: lambda d: d})
    document["schema_version"] = 1
    with pytest.raises(ValidationError, match="no upgrade from version 1"):
        load(document)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ([], "$"),
        ({"type": "Route", "data": {}}, "$"),
        ({"type": "Nope", "schema_version": 1, "data": {}}, "$.type"),
        ({"type": "Rule", "schema_version": 0, "data": {}}, "$.schema_version"),
        ({"type": "Rule", "schema_version": True, "data": {}}, "$.schema_version"),
    ],
)
def test_malformed_envelopes_are_refused(document: Any, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load(document)
    assert caught.value.codes() == (code,)


def test_load_checks_the_expected_class() -> None:
    with pytest.raises(ValidationError, match="expected a Topic document, got Route"):
        load(_route_document(), model.Topic)


def test_dump_refuses_foreign_objects() -> None:
    with pytest.raises(TypeError, match="not a crmcms model class"):
        dump(object())


def test_make_converter_returns_independent_converters() -> None:
    first, second = make_converter(), make_converter()
    assert first is not second
    assert first.unstructure(Decimal("1.10")) == "1.10"
    assert first.structure("P1D", timedelta) == timedelta(days=1)


def test_load_errors_are_crmcms_errors() -> None:
    with pytest.raises(CrmcmsError):
        load({"type": "Rule", "schema_version": 1, "data": {"code": 1}})
