"""Plugin hooks on the engine's hot paths: called as pluggy calls them, whatever is registered."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from typing import Any

import pluggy
import pytest
from examples.telecom.seed_catalog import build_catalog
from hypothesis import given
from hypothesis import strategies as st

from crmcms import Client, PluginError, hookspec
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


# --- The fast path against pluggy's own call, over generated plugin sets -------------------

_ANSWERS = st.none() | st.integers(0, 3).map(lambda n: {"Category": f"C{n}"})


@st.composite
def _plugin(draw: st.DrawFn) -> object:
    """A plugin implementing both hooks one of the ways pluggy allows."""
    answer = draw(_ANSWERS)
    kind = draw(st.sampled_from(["plain", "plain", "tryfirst", "trylast", "wrapper", "bare"]))
    options: dict[str, bool] = {"tryfirst": kind == "tryfirst", "trylast": kind == "trylast"}

    if kind == "wrapper":

        class Plugin:
            @hookimpl(wrapper=True)
            def crmcms_find_client(self, client_id: str) -> Generator[None, Any, Any]:
                found = yield
                return found if found is not None else answer

            @hookimpl(wrapper=True)
            def crmcms_event(self, event: Any) -> Generator[None, Any, Any]:
                found = yield
                return [*found, ("wrapped", event)]

    elif kind == "bare":  # implementations taking none of the hook's arguments

        class Plugin:  # type: ignore[no-redef]
            @hookimpl
            def crmcms_find_client(self) -> Any:
                return answer

            @hookimpl
            def crmcms_event(self) -> Any:
                return answer

    else:

        class Plugin:  # type: ignore[no-redef]
            @hookimpl(**options)
            def crmcms_find_client(self, client_id: str) -> Any:
                return None if answer is None else {**answer, "Id": client_id}

            @hookimpl(**options)
            def crmcms_event(self, event: Any) -> Any:
                return None if answer is None else (event, answer["Category"])

    return Plugin()


_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("register"), _plugin()),
        st.tuples(st.just("unregister"), st.integers(0, 7)),
        st.tuples(st.just("monitor"), st.none()),
        st.tuples(st.just("unmonitor"), st.none()),
        st.tuples(st.just("call"), st.integers(0, 9)),
    ),
    max_size=25,
)


@given(steps=_STEPS, counted=st.booleans())
def test_the_fast_path_answers_as_pluggy_does_as_plugins_come_and_go(
    steps: list[tuple[str, Any]], counted: bool
) -> None:
    if counted:
        pm: pluggy.PluginManager = make_plugin_manager(load_entry_points=False, builtins=False)
    else:  # a plain pluggy manager: no change count, so pluggy makes every call
        pm = pluggy.PluginManager(hookspec.PROJECT)
        pm.add_hookspecs(hookspec)
    hooks = [FastHook(pm, "crmcms_find_client"), FastHook(pm, "crmcms_event")]
    registered: list[object] = []
    undo: list[Any] = []
    calls = 0
    for step, arg in steps:
        if step == "register":
            pm.register(arg)
            registered.append(arg)
        elif step == "unregister" and registered:
            pm.unregister(registered.pop(arg % len(registered)))
        elif step == "monitor":
            undo.append(pm.add_hookcall_monitoring(lambda *a: None, lambda *a: None))
        elif step == "unmonitor" and undo:
            undo.pop()()
        elif step == "call":
            calls += 1
            find, event = hooks
            assert find(str(arg)) == pm.hook.crmcms_find_client(client_id=str(arg))
            assert event.call(event=arg) == pm.hook.crmcms_event(event=arg)
            functions = event.plain()
            if functions is not None:  # what publishing calls directly
                assert [r for f in functions if (r := f(arg)) is not None] == (
                    pm.hook.crmcms_event(event=arg)
                )
            assert event.implemented() == bool(pm.hook.crmcms_event.get_hookimpls())
    if counted and not undo:
        # Nothing traced: the plan is made from pluggy's list and kept until it changes.
        assert hooks[0].plain() is not None or any(
            i.hookwrapper or i.wrapper or i.argnames != ("client_id",)
            for i in pm.hook.crmcms_find_client.get_hookimpls()
        )
