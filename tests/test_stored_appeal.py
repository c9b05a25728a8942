"""Stored appeals: what storage takes is read-only, equal to the appeal it was, and copies of
it are plain appeals again."""

from __future__ import annotations

import copy
import pickle
from datetime import date, timedelta

import attrs
import pytest
from examples.telecom.seed_catalog import build_catalog
from hypothesis import given

from crmcms import Client
from crmcms.engine import AppealDraft
from crmcms.errors import CrmcmsError, ReadOnlyRecordError
from crmcms.model import Appeal, StoredAppeal, copy_appeal
from crmcms.testing import strategy_for
from crmcms.testing.engine import FakeBilling, make_engine


def _stored(appeal: Appeal) -> StoredAppeal:
    return StoredAppeal.of(appeal)


@given(strategy_for(Appeal))
def test_a_stored_appeal_equals_the_appeal_it_was(appeal: Appeal) -> None:
    stored = _stored(appeal)
    assert isinstance(stored, Appeal)
    assert stored == appeal
    assert appeal == stored
    assert (stored != appeal) is False
    # Its values are a real dict (a copy), so whatever takes a dict takes them.
    assert isinstance(stored.values, dict)
    assert stored.values == appeal.values
    assert attrs.asdict(stored) == attrs.asdict(appeal)


@given(strategy_for(Appeal))
def test_nothing_of_a_stored_appeal_can_be_changed(appeal: Appeal) -> None:
    stored = _stored(appeal)
    with pytest.raises(ReadOnlyRecordError, match=f"appeal {appeal.id} .*process"):
        stored.process = "elsewhere"
    with pytest.raises(ReadOnlyRecordError):
        del stored.queue
    values = stored.values
    assert values == appeal.values
    for change in (
        lambda: values.__setitem__("X", "changed"),
        lambda: values.pop("X", None),
        lambda: values.update(X="changed"),
        lambda: values.setdefault("X", "changed"),
        values.clear,
        values.popitem,
    ):
        with pytest.raises(ReadOnlyRecordError, match=r"values\."):
            change()
    with pytest.raises(ReadOnlyRecordError, match=r"values\.X"):
        del values["X"]
    for plain in (copy.copy(values), copy.deepcopy(values), pickle.loads(pickle.dumps(values))):
        assert type(plain) is dict
        assert plain == appeal.values
    # The model's own methods change nothing either.
    step = stored.close if stored.is_open else stored.reopen
    with pytest.raises(ReadOnlyRecordError):
        step(appeal.registered_at + timedelta(days=1))
    assert stored == appeal


@given(strategy_for(Appeal))
def test_copies_of_a_stored_appeal_are_plain_and_changeable(appeal: Appeal) -> None:
    stored = _stored(appeal)
    made = [
        copy.copy(stored),
        copy.deepcopy(stored),
        pickle.loads(pickle.dumps(stored)),
        copy_appeal(stored),
        attrs.evolve(stored),
    ]
    for plain in made:
        assert type(plain) is Appeal
        assert type(plain.values) is dict
        assert plain == stored
        plain.values["X"] = "changed"
        plain.process = "elsewhere"
    assert stored == appeal
    assert attrs.evolve(stored, process="elsewhere").process == "elsewhere"


def test_an_action_returns_the_appeal_as_stored() -> None:
    engine, _, _ = make_engine(build_catalog(), FakeBilling([Client(1, "Client", "BIS")]))
    draft = AppealDraft("TERMINATION", {"166": "Moving", "168": date(2026, 4, 1)})
    registration = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[draft]
    )
    [appeal] = registration.appeals
    moved = engine.transition(appeal.id, "olga", "to_sd")
    for result in (appeal, moved):
        assert isinstance(result, StoredAppeal)
        with pytest.raises(CrmcmsError, match="read-only"):
            result.queue = "SOMEWHERE"
    # Reading gives a plain copy: changing it changes nothing stored.
    got = engine.appeal(appeal.id)
    assert type(got) is Appeal
    assert got == moved
    got.queue = "SOMEWHERE"
    assert engine.appeal(appeal.id).queue == moved.queue
