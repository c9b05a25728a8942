"""The in-memory store's units of work: kept and handed out again, never shared."""

from __future__ import annotations

import pytest

from crmcms.errors import NotFoundError, StorageError
from crmcms.storage.memory import MemoryStore
from crmcms.testing.stored import add_appeal, add_contact


def test_a_unit_of_work_entered_again_starts_with_nothing_staged() -> None:
    store = MemoryStore()
    uow = store.unit_of_work()
    with uow:
        kept = add_contact(uow)
        uow.commit()
    with uow:
        dropped = add_contact(uow)  # left without commit: rolled back
    with uow:
        assert uow.contacts.get(kept.id) == kept
        with pytest.raises(NotFoundError):
            uow.contacts.get(dropped.id)


def test_a_unit_of_work_in_use_cannot_be_entered_again() -> None:
    uow = MemoryStore().unit_of_work()
    with uow, pytest.raises(StorageError, match="already in use"):
        uow.__enter__()


def test_units_of_work_left_are_handed_out_again() -> None:
    store = MemoryStore()
    with store.unit_of_work() as first:
        pass
    assert store.unit_of_work() is first


def test_one_entered_again_is_not_handed_out_while_in_use() -> None:
    store = MemoryStore()
    with store.unit_of_work() as held:
        pass
    # Entered again by whoever kept it, it is theirs: the store hands out another one.
    with held:
        contact = add_contact(held)
        with store.unit_of_work() as other:
            assert other is not held
            add_appeal(other, contact.id)
            assert not held.appeals.new  # nothing of the other's staging
        held.commit()
    with store.unit_of_work() as uow:
        assert uow.contacts.get(contact.id) == contact
