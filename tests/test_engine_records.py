"""The engine's record makers give exactly what the model classes' own constructors give."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given

from crmcms.engine.records import make_change, make_event
from crmcms.model import Appeal, Change, HistoryEvent, copy_appeal
from crmcms.testing import strategy_for


def _fields(record: object) -> list[object]:
    return [getattr(record, f.name) for f in attrs.fields(type(record))]


@given(strategy_for(HistoryEvent))
def test_a_made_event_is_the_event_its_constructor_makes(event: HistoryEvent) -> None:
    made = make_event(*_fields(event))
    assert type(made) is HistoryEvent
    assert made == event
    assert hash(made) == hash(event)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.comment = "edited"  # type: ignore[misc]


@given(strategy_for(Change))
def test_a_made_change_is_the_change_its_constructor_makes(change: Change) -> None:
    made = make_change(change.field, change.old, change.new)
    assert type(made) is Change
    assert (made, hash(made)) == (change, hash(change))


@given(strategy_for(Appeal))
def test_a_copied_appeal_is_equal_and_shares_nothing_mutable(appeal: Appeal) -> None:
    copy = copy_appeal(appeal)
    assert copy == appeal
    assert copy is not appeal
    assert copy.values is not appeal.values
    copy.values["new"] = "value"
    copy.process = "elsewhere"
    assert "new" not in appeal.values
    assert appeal.process != "elsewhere"
