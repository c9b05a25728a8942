"""Prospects, and contacts given to a prospect or a client: what every backend must do alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import attrs
import pytest

from crmcms.engine.ports import UnitOfWork
from crmcms.errors import ConcurrencyError, NotFoundError
from crmcms.model import Contact, Direction, Prospect, ProspectStatus

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def registered(uow: UnitOfWork, name: str = "Иван Петров", **fields: object) -> Prospect:
    made = Prospect(uow.prospects.next_id(), name, registered_at=T0, **fields)  # type: ignore[arg-type]
    uow.prospects.add(made)
    return made


def contact(uow: UnitOfWork, prospect_id: int | None = None) -> Contact:
    made = Contact(
        id=uow.contacts.next_id(),
        place="CC",
        direction=Direction.INCOMING,
        channel="PHONE",
        operator="olga",
        registered_at=T0,
        prospect_id=prospect_id,
    )
    uow.contacts.add(made)
    return made


def test_a_prospect_is_stored_with_the_commit_and_found_by_status(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        registered(uow)
    with uow_factory() as uow:
        assert uow.prospects.find() == []  # left without commit
        plain = registered(uow, phone="+7 912 345-67-89", region="Псков", registered_by="olga")
        converting = registered(uow, "ООО Ромашка", conversion_id="<outbox-1.crmcms@x>")
        converted = registered(uow, "ИП Сидоров", client_id=77, exported_at=T0)
        assert uow.prospects.find() == [converted, converting, plain]
        uow.commit()
    with uow_factory() as uow:
        assert uow.prospects.get(plain.id) == plain
        assert uow.prospects.find() == [converted, converting, plain]
        assert uow.prospects.find(limit=1) == [converted]
        assert uow.prospects.find(status=ProspectStatus.PROSPECT) == [plain]
        assert uow.prospects.find(status=ProspectStatus.CONVERTING) == [converting]
        assert uow.prospects.find(status=ProspectStatus.CONVERTED) == [converted]


def test_an_update_needs_the_next_version_and_two_of_one_version_conflict(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        prospect = registered(uow)
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConcurrencyError):
        uow.prospects.update(prospect)  # the same version, not the next
    with uow_factory() as one, uow_factory() as other:
        one.prospects.update(attrs.evolve(prospect, version=2, conversion_id="<a>"))
        other.prospects.update(attrs.evolve(prospect, version=2, conversion_id="<b>"))
        one.commit()
        with pytest.raises(ConcurrencyError):
            other.commit()
    with uow_factory() as uow:
        stored = uow.prospects.get(prospect.id)
        assert (stored.version, stored.conversion_id) == (2, "<a>")
        assert stored.status is ProspectStatus.CONVERTING


def test_contacts_of_a_prospect_and_their_client_once_converted(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        prospect = registered(uow)
        first = contact(uow, prospect.id)
        loose = contact(uow)
        contact(uow, prospect.id + 1000)
        assert uow.contacts.of_prospect(prospect.id) == [first]
        uow.commit()
    with uow_factory() as uow:
        attached = attrs.evolve(loose, prospect_id=prospect.id)
        uow.contacts.update(attached)
        assert uow.contacts.get(loose.id) == attached
        assert uow.contacts.of_prospect(prospect.id) == [first, attached]
    with uow_factory() as uow:
        assert uow.contacts.of_prospect(prospect.id) == [first]  # left without commit
        uow.contacts.update(attached)
        uow.commit()
    with uow_factory() as uow:
        for one in uow.contacts.of_prospect(prospect.id):
            uow.contacts.update(attrs.evolve(one, client_id=77))
        uow.commit()
    with uow_factory() as uow:
        moved = uow.contacts.of_prospect(prospect.id)
        assert [(c.id, c.client_id) for c in moved] == [(first.id, 77), (loose.id, 77)]
        assert uow.contacts.get(first.id).client_id == 77


def test_unknown_prospects_and_contacts_are_not_found(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        with pytest.raises(NotFoundError, match="prospect"):
            uow.prospects.get(4242)
        ghost = Contact(
            id=4242,
            place="CC",
            direction=Direction.INCOMING,
            channel="PHONE",
            operator="olga",
            registered_at=T0,
        )
        with pytest.raises(NotFoundError, match="contact"):
            uow.contacts.update(ghost)
