"""Plugin hooks on the engine's hot paths: called as pluggy calls them, whatever is registered."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from typing import Any

import pytest
from examples.telecom.seed_catalog import build_catalog

from crmcms import Client, PluginError
from crmcms.engine import AppealDraft, Engine
from crmcms.engine.hooks import FastHook
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.testing.engine import FakeBilling, ManualClock, in_memory_engine

CLIENT = Client(1, "ООО Ромашка", category="BIS", region="Moscow")
GOOD = {"166": "Переезд", "168": date(2026, 4, 1)}


def engine_with(*plugins: Any) -> Engine:
    pm = make_plugin_manager([FakeBilling([CLIENT]), *plugins], load_entry_points=False)
    return in_memory_engine(build_catalog(), plugins=pm, clock=ManualClock())


def register(engine: Engine) -> int:
    reg = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("TERMINATION", GOOD)]
    )
    return reg.appeals[0].id


class Observer:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def crmcms_event(self, event: Any) -> None:
        self.seen.append(event)


def test_every_stored_event_reaches_every_observer_in_order() -> None:
    first, second = Observer(), Observer()
    engine = engine_with(first, second)
    appeal = register(engine)
    engine.transition(appeal, "olga", "to_sd")
    history = engine.history(appeal)
    assert [e.kind.value for e in history] == ["created", "moved"]
    assert first.seen == history
    assert second.seen == history


def test_observers_registered_later_are_called_and_unregistered_ones_are_not() -> None:
    engine = engine_with()
    appeal = register(engine)
    late = Observer()
    engine.runtime.plugins.register(late)
    engine.transition(appeal, "olga", "to_sd")
    assert late.seen
    assert all(e.appeal_id == appeal for e in late.seen)
    engine.runtime.plugins.unregister(late)
    count = len(late.seen)
    engine.take(appeal, "bis")
    assert len(late.seen) == count


class Directory:
    @hookimpl
    def crmcms_find_client(self, client_id: str) -> dict[str, Any]:
        return {"Id": client_id, "Category": "BIS", "Region": "Moscow"}


def test_an_observer_registered_on_an_engine_nobody_observed_is_called() -> None:
    pm = make_plugin_manager([Directory()], load_entry_points=False)
    engine = in_memory_engine(build_catalog(), plugins=pm, clock=ManualClock())
    appeal = register(engine)
    engine.transition(appeal, "olga", "to_sd")  # nobody observes: nothing to publish
    late = Observer()
    pm.register(late)
    engine.take(appeal, "bis")
    assert [e.kind.value for e in late.seen] == ["assigned"]


class Wrapper:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(wrapper=True)
    def crmcms_find_client(self, client_id: str) -> Generator[None, Any, Any]:
        self.calls += 1
        answer = yield
        return answer


class NoArguments:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def crmcms_event(self) -> None:
        self.calls += 1


def test_wrappers_and_implementations_taking_fewer_arguments_go_through_pluggy() -> None:
    wrapper, bare = Wrapper(), NoArguments()
    engine = engine_with(wrapper, bare)
    appeal = register(engine)
    engine.transition(appeal, "olga", "to_sd")
    assert wrapper.calls >= 2
    assert bare.calls == len(engine.history(appeal))


def test_traced_hook_calls_are_seen_by_the_monitor() -> None:
    engine = engine_with()
    appeal = register(engine)
    called: list[str] = []
    undo = engine.runtime.plugins.add_hookcall_monitoring(
        lambda name, impls, kwargs: called.append(name), lambda *args: None
    )
    engine.transition(appeal, "olga", "to_sd")
    undo()
    assert "crmcms_find_client" in called
    assert called.count("crmcms_event") == 1  # the transition's one event


def test_first_result_stops_at_the_first_answer_last_registered_first() -> None:
    class Directory:
        def __init__(self, category: str | None) -> None:
            self.category = category

        @hookimpl
        def crmcms_find_client(self, client_id: str) -> dict[str, Any] | None:
            return None if self.category is None else {"Category": self.category}

    pm = make_plugin_manager(
        [Directory("FIRST"), Directory("LAST"), Directory(None)], load_entry_points=False
    )
    assert FastHook(pm, "crmcms_find_client")("1") == pm.hook.crmcms_find_client(client_id="1")
    assert FastHook(pm, "crmcms_find_client")("1") == {"Category": "LAST"}


def test_a_failing_directory_is_a_plugin_error() -> None:
    class Broken:
        @hookimpl
        def crmcms_find_client(self, client_id: str) -> None:
            raise RuntimeError("billing is down")

    engine = engine_with()
    appeal = register(engine)
    engine.runtime.plugins.register(Broken())
    with pytest.raises(PluginError, match="billing is down"):
        engine.transition(appeal, "olga", "to_sd")
    assert engine.appeal(appeal).process == "registration"
