"""Notes on clients, subscribers and contact persons: visibility, pins, edits kept, deletion."""

from __future__ import annotations

import pathlib

import pytest
from tests.test_engine_permissions import DEFINITIONS, MONDAY

from crmcms import AppealDraft, Client, Engine, Principal, Subscriber
from crmcms.dsl import load_catalog_text
from crmcms.errors import (
    ConcurrencyError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from crmcms.model import NoteSubject, NoteVisibility
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

CLIENT, SUBSCRIBER = NoteSubject.CLIENT, NoteSubject.SUBSCRIBER


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> tuple[Engine, ManualClock, dict[str, Principal]]:
    clock = ManualClock(MONDAY)
    billing = FakeBilling(
        [Client(1, "ООО Ромашка", category="BIS"), Client(2, "ИП Лютик")],
        subscribers=[Subscriber(7, 1, "+79161234567")],
    )
    plugins = make_plugin_manager([billing], load_entry_points=False)
    if request.param == "memory":
        factory = MemoryStore().unit_of_work
    elif request.param == "sqlite":
        factory = SqlStore(f"sqlite:///{tmp_path / 'crm.sqlite'}").unit_of_work
    else:
        factory = SqlStore(str(request.getfixturevalue("postgres_url"))).unit_of_work
    engine = Engine(load_catalog_text(DEFINITIONS), factory, plugins=plugins, clock=clock)
    logins = ("ann", "bob", "lead", "mia", "desk")
    return engine, clock, {login: engine.trusted(login) for login in logins}


def test_visibility_decides_who_reads_a_note(world: tuple) -> None:
    engine, _, who = world
    # ann and lead work in LINE (mia too, as a member); bob and desk in BACK.
    mine = engine.add_note(who["ann"], CLIENT, 1, "private", visibility=NoteVisibility.PRIVATE)
    team = engine.add_note(who["ann"], CLIENT, 1, "team", visibility=NoteVisibility.TEAM)
    everyone = engine.add_note(who["ann"], CLIENT, 1, "all", visibility=NoteVisibility.ALL)

    def read(login: str) -> list[int]:
        return [n.id for n in engine.notes(CLIENT, 1, operator=who[login])]

    assert read("ann") == [everyone.id, team.id, mine.id]  # newest first (same time: by id)
    assert read("lead") == [everyone.id, team.id]
    assert read("bob") == [everyone.id]
    with pytest.raises(NotFoundError):
        engine.note_history(mine.id, operator=who["lead"])
    assert engine.notes(CLIENT, 2, operator=who["ann"]) == []


def test_a_pinned_note_comes_back_with_every_contact_for_its_subject(world: tuple) -> None:
    engine, clock, who = world
    pinned = engine.add_note(
        who["ann"], CLIENT, 1, "Only e-mail, never call", pinned=True, visibility=NoteVisibility.ALL
    )
    engine.add_note(who["ann"], CLIENT, 1, "not pinned", visibility=NoteVisibility.ALL)
    on_subscriber = engine.add_note(who["lead"], SUBSCRIBER, 7, "SIM swapped twice", pinned=True)
    clock.advance(hours=1)
    made = engine.register_contact(
        who["lead"],
        place="CC",
        channel="PHONE",
        client_id=1,
        subscriber_id=7,
        drafts=[AppealDraft("REPAIR")],
    )
    assert [n.id for n in made.pinned_notes] == [on_subscriber.id, pinned.id]  # newest first
    other = engine.register_contact(who["bob"], place="CC", channel="PHONE", client_id=1)
    assert [n.id for n in other.pinned_notes] == [pinned.id]  # lead's team note is not bob's
    assert (
        engine.register_contact(who["ann"], place="CC", channel="PHONE", client_id=2).pinned_notes
        == ()
    )


def test_edits_and_deletion_keep_every_version(world: tuple) -> None:
    engine, clock, who = world
    note = engine.add_note(who["ann"], CLIENT, 1, "Звонит по понедельникам")
    clock.advance(minutes=5)
    edited = engine.edit_note(note.id, who["ann"], text="Звонит по вторникам", pinned=True)
    assert (edited.version, edited.text, edited.pinned, edited.updated_by) == (
        2,
        "Звонит по вторникам",
        True,
        "ann",
    )
    assert engine.edit_note(note.id, who["ann"], pinned=True) == edited  # no change, no version
    with pytest.raises(ConcurrencyError):
        engine.edit_note(note.id, who["ann"], text="stale", expected_version=1)
    clock.advance(minutes=5)
    gone = engine.delete_note(note.id, who["ann"])
    assert gone.deleted
    assert engine.notes(CLIENT, 1, operator=who["ann"]) == []
    history = engine.note_history(note.id, operator=who["ann"])
    assert [(r.version, r.text, r.pinned, r.deleted) for r in history] == [
        (1, "Звонит по понедельникам", False, False),
        (2, "Звонит по вторникам", True, False),
        (3, "Звонит по вторникам", True, True),
    ]
    assert [r.at for r in history] == [MONDAY, edited.updated_at, gone.updated_at]
    with pytest.raises(NotFoundError):
        engine.edit_note(note.id, who["ann"], text="again")
    with pytest.raises(NotFoundError):
        engine.delete_note(note.id, who["ann"])


def test_only_its_author_edits_or_deletes_a_note(world: tuple) -> None:
    engine, _, who = world
    note = engine.add_note(who["ann"], CLIENT, 1, "shared", visibility=NoteVisibility.ALL)
    with pytest.raises(PermissionDeniedError, match="only its author ann"):
        engine.edit_note(note.id, who["lead"], text="mine now")
    with pytest.raises(PermissionDeniedError):
        engine.delete_note(note.id, who["bob"])
    hidden = engine.add_note(who["ann"], CLIENT, 1, "private", visibility=NoteVisibility.PRIVATE)
    with pytest.raises(NotFoundError):  # one it may not read is not found, not forbidden
        engine.edit_note(hidden.id, who["lead"], text="x")
    assert len(engine.note_history(note.id, operator=who["ann"])) == 1


def test_bad_notes_are_refused_and_store_nothing(world: tuple) -> None:
    engine, _, who = world
    with pytest.raises(NotFoundError, match="client"):
        engine.add_note(who["ann"], CLIENT, 99, "who?")
    with pytest.raises(NotFoundError, match="subscriber"):
        engine.add_note(who["ann"], SUBSCRIBER, 99, "who?")
    with pytest.raises(ValidationError, match="needs some text") as empty:
        engine.add_note(who["ann"], CLIENT, 1, "   ")
    assert [p.code for p in empty.value.problems] == ["text"]
    with pytest.raises(ValidationError, match="more than 4000") as long:
        engine.add_note(who["ann"], CLIENT, 1, "x" * 4001)
    assert [p.code for p in long.value.problems] == ["text"]
    with pytest.raises(PermissionDeniedError, match="handle"):
        engine.add_note(who["mia"], CLIENT, 1, "a manager reads, does not write")
    with pytest.raises(NotFoundError, match="note"):
        engine.note_history(12345, operator=who["ann"])
    assert engine.notes(CLIENT, 1, operator=who["ann"]) == []
