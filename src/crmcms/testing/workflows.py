"""Random operators at work on a catalog's routes, the engine's invariants checked after every
step: a property test of workflow definitions — yours — built on hypothesis.

:func:`explore` runs it on a catalog; :func:`workflow_machine` gives the hypothesis state
machine, to run under your own test runner or to extend with rules of your own. Operators,
places, channels and topics come from the catalog (each operator through their template);
attribute values are valid ones drawn for the topic, sometimes left out; clients are made
with the categories and regions the catalog's rules compare with, so that rules take each of
their branches. After every step:

- every appeal is in one process of its route version, open exactly when that process is not
  final, and in a queue the process may hand it to;
- replaying its history gives the appeal as it is;
- a closed appeal has no open children, unless its route lets it close with open ones;
- an action the engine refused changed nothing (neither the appeal nor its history);
- an appeal that left a process had its required attributes filled.

A run also counts the actions the engine carried out and refused, by kind
(:class:`ActionTally`), and fails when (nearly) every action was refused: invariants checked
only on refusals prove nothing, so an engine, or a catalog, that refuses everything must not
pass.
"""

from __future__ import annotations

import itertools
import unittest
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from crmcms.dsl.rules.coverage import cases
from crmcms.engine import AppealDraft, Engine, candidate_queues
from crmcms.errors import ConfigurationError, CrmcmsError
from crmcms.model import Appeal, Catalog, Client, QueuePolicy
from crmcms.testing._records import appeal_values
from crmcms.testing.engine import FakeBilling, ManualClock, make_engine

__all__ = [
    "MIN_DONE_SHARE",
    "ActionTally",
    "NothingTestedError",
    "WorkflowMachine",
    "explore",
    "run_workflow_machine",
    "sample_clients",
    "workflow_machine",
]

MAX_CLIENTS = 12
"""Clients made for a run at most (one per combination of category and region), unless the
categories or regions alone are more."""


def sample_clients(catalog: Catalog, engine: Engine | None = None) -> list[Client]:
    """Clients whose category and region take the catalog's rules down each branch: every
    category defined or compared with, every region compared with, empty, and one other.

    ``engine`` compiles the rules (one is made if not given)."""
    engine = engine or make_engine(catalog)[0]
    rules = [engine.runtime.rules.rule(r.code) for r in catalog.rules]
    found = cases(rules)
    categories: list[Any] = list(found.get(("Client", "Category"), [None, "other"]))
    categories += [c.code for c in catalog.client_categories if c.code not in categories]
    regions = found.get(("Client", "Region"), [None])
    pairs = list(itertools.product(categories, regions))
    if len(pairs) > MAX_CLIENTS:
        # Every category and every region at least once, then other pairs while there is room.
        count = max(len(categories), len(regions))
        first = [(categories[i % len(categories)], regions[i % len(regions)]) for i in range(count)]
        pairs = first + [p for p in pairs if p not in first][: max(0, MAX_CLIENTS - count)]
    return [
        Client(number, f"Client {number}", category=category, region=region)
        for number, (category, region) in enumerate(pairs, 1)
    ]


MIN_DONE_SHARE = 0.1
"""The share of the actions tried on appeals that a run must see carried out, at least, to
count as a test."""

MIN_TRIED_FOR_SHARE = 10
"""Below this many actions tried on appeals a share says nothing (hypothesis makes many short
runs, and a few actions may all be refused by chance), so a run that small is not held to it."""

REGISTER, CHILD = "register", "child"
MAKING = frozenset({REGISTER, CHILD})
"""Kinds of action that make appeals rather than act on one."""


class NothingTestedError(CrmcmsError, AssertionError):
    """A run that tested (nearly) nothing: no appeal was made, or the engine refused nearly
    every action. An ``AssertionError`` too, so that test runners count it as a failure."""


@attrs.define
class ActionTally:
    """Actions a run attempted on the engine, by kind: carried out and refused."""

    done: Counter[str] = attrs.field(factory=Counter)
    refused: Counter[str] = attrs.field(factory=Counter)

    def record(self, kind: str, done: bool) -> None:
        (self.done if done else self.refused)[kind] += 1

    @property
    def attempted(self) -> int:
        return self.done.total() + self.refused.total()

    @property
    def never_done(self) -> list[str]:
        """Kinds of action tried and always refused: what the run did not test."""
        return sorted(kind for kind in self.refused if not self.done[kind])

    def check(self, min_done_share: float = MIN_DONE_SHARE) -> None:
        """Raise :class:`NothingTestedError` when the run tested (nearly) nothing: no appeal
        was ever made, no action was tried on one, or fewer than ``min_done_share`` of the actions
        tried on appeals (transitions, edits, closing, ...) were carried out."""
        made = self.done[REGISTER] + self.done[CHILD]
        if not made and not self.refused[REGISTER]:
            raise NothingTestedError(
                "no appeal was made: the run tried no registration (give it more runs or steps)"
            )
        if not made:
            raise NothingTestedError(
                f"no appeal could be registered in {self.refused[REGISTER]} attempts: "
                f"nothing was tested ({self})"
            )
        done = sum(n for kind, n in self.done.items() if kind not in MAKING)
        tried = done + sum(n for kind, n in self.refused.items() if kind not in MAKING)
        if not tried:
            raise NothingTestedError(
                f"appeals were made but no action was tried on them ({self}): give the run "
                "more steps"
            )
        if tried >= MIN_TRIED_FOR_SHARE and done < min_done_share * tried:
            raise NothingTestedError(
                f"the engine refused nearly every action on an appeal, {done} of {tried} "
                f"carried out: {self}; at least {min_done_share:.0%} must be for the "
                "invariants to mean anything"
            )

    def __str__(self) -> str:
        kinds = sorted(set(self.done) | set(self.refused))
        parts = [
            f"{kind} {self.done[kind]}/{self.done[kind] + self.refused[kind]}" for kind in kinds
        ]
        return f"{self.done.total()} of {self.attempted} actions carried out" + (
            f" ({', '.join(parts)})" if parts else ""
        )


class _CheckedTestCase:
    """``Machine.TestCase`` as hypothesis makes it, except that the run's tally is checked at
    its end: a test whose actions were all refused fails (hypothesis' own cannot know)."""

    def __get__(
        self, obj: WorkflowMachine | None, owner: type[WorkflowMachine] | None = None
    ) -> type[unittest.TestCase]:
        found = type(obj) if obj is not None else owner
        assert found is not None
        machine: type[WorkflowMachine] = found
        made: type[unittest.TestCase] | None = machine.__dict__.get("_checked_test_case")
        if made is None:

            class CheckedTestCase(unittest.TestCase):
                settings = settings(deadline=None, suppress_health_check=list(HealthCheck))

                def runTest(self) -> None:
                    run_workflow_machine(machine, self.settings)

            CheckedTestCase.__name__ = f"{machine.__name__}.TestCase"
            CheckedTestCase.__qualname__ = f"{machine.__qualname__}.TestCase"
            # On the class itself, so that settings given to it stay with the machine.
            type.__setattr__(machine, "_checked_test_case", CheckedTestCase)
            made = CheckedTestCase
        return made


class WorkflowMachine(RuleBasedStateMachine):
    """The state machine :func:`workflow_machine` makes for a catalog.

    Rules of your own record what they attempt with :meth:`record` (or act through
    :meth:`attempt`, which also checks that a refusal changed nothing)."""

    catalog: ClassVar[Catalog]
    clients: ClassVar[tuple[Client, ...]]
    billing: ClassVar[Callable[[Sequence[Client]], FakeBilling]]
    tally: ClassVar[ActionTally] = ActionTally()
    """What the current run attempted; :func:`run_workflow_machine` starts a new one."""

    TestCase = _CheckedTestCase()  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        billing = type(self).billing(self.clients)
        self.engine, self.inbox, self.clock = make_engine(self.catalog, billing, ManualClock())
        self.ids: list[int] = []
        self.operators = [o.login for o in self.catalog.operators if o.active]

    # --- Acting, and what a refusal must leave -------------------------------------------------

    def record(self, kind: str, done: bool) -> None:
        """Count an action of ``kind`` the engine carried out (``done``) or refused."""
        type(self).tally.record(kind, done)

    def attempt(
        self, appeal_id: int, action: Callable[[], Appeal], *, leaving: bool, kind: str = "other"
    ) -> None:
        """Run ``action`` on the appeal; if the engine refuses it, check it changed nothing."""
        engine = self.engine
        before = engine.appeal(appeal_id)
        history = engine.history(appeal_id)
        missing = engine.run(lambda tx: tx.rt.policy.missing_required(before, tx.data(before)))
        try:
            after = action()
        except CrmcmsError:
            self.record(kind, False)
            assert engine.appeal(appeal_id) == before, "a refused action changed the appeal"
            assert engine.history(appeal_id) == history, "a refused action wrote history"
            return
        self.record(kind, True)
        if leaving and after.process != before.process:
            codes = ", ".join(p.code for p in missing)
            assert not missing, f"appeal {appeal_id} left {before.process} without {codes}"

    def _topics(self, login: str) -> list[str]:
        """Topics the operator may register appeals on that some route serves."""
        template = self.catalog.template_for(login)
        served = {t for route in self.catalog.routes for t in route.topics}
        allowed = template.topics if template and template.topics else sorted(served)
        return [t for t in allowed if t in served]

    def _contact(self, data: st.DataObject, login: str) -> dict[str, Any]:
        """Where, how and with whom: what the operator's template allows (the engine's own
        tests refuse the rest; here the routes are under test)."""
        catalog, template = self.catalog, self.catalog.template_for(login)
        active = [p for p in catalog.places if p.active]
        places: list[str | None] = [p.code for p in active]
        channels: list[str | None] = [c.code for c in catalog.channels if c.active]
        clients = [c.id for c in self.clients]
        if template is not None:
            if template.places:
                places = [code for code in template.places if code in places]
            elif template.place_kind:
                places = [p.code for p in active if p.kind == template.place_kind]
            if template.default_place:
                places.append(None)
            if template.channel:
                channels = [None, template.channel]
            if template.client_categories:
                clients = [
                    c.id for c in self.clients if c.category in template.client_categories
                ] or clients
        return {
            "place": data.draw(st.sampled_from(places), label="place") if places else None,
            "channel": data.draw(st.sampled_from(channels), label="channel") if channels else None,
            "client_id": data.draw(st.sampled_from(clients), label="client"),
        }

    # --- Rules -------------------------------------------------------------------------------

    @rule(data=st.data())
    def register(self, data: st.DataObject) -> None:
        login = data.draw(st.sampled_from(self.operators), label="operator")
        topics = self._topics(login)
        if not topics:
            return
        contact = self._contact(data, login)
        topic = data.draw(st.sampled_from(topics), label="topic")
        values = data.draw(appeal_values(self.catalog, topic), label="values")
        try:
            registered = self.engine.register_contact(
                login, drafts=[AppealDraft(topic, values)], **contact
            )
        except CrmcmsError:
            self.record(REGISTER, False)
            return
        self.record(REGISTER, True)
        self.ids.extend(a.id for a in registered.appeals)

    def _pick(self, data: st.DataObject) -> tuple[int, str] | None:
        """An appeal made so far and an operator to act on it (``None`` before any appeal)."""
        if not self.ids:
            return None
        appeal_id = data.draw(st.sampled_from(self.ids), label="appeal")
        return appeal_id, data.draw(st.sampled_from(self.operators), label="operator")

    @rule(data=st.data())
    def transition(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        appeal_id, login = picked
        options = self.engine.available_transitions(appeal_id, login)
        if not options:
            return
        # Mostly one the operator may take, so that appeals get deep into their routes; now
        # and then any, to see the engine refuse it and change nothing.
        available = [o.code for o in options if o.available]
        mostly = bool(available) and data.draw(st.integers(0, 3), label="take one") > 0
        pool = available if mostly else [o.code for o in options]
        code = data.draw(st.sampled_from(pool), label="transition")
        self.attempt(
            appeal_id,
            lambda: self.engine.transition(appeal_id, login, code),
            leaving=True,
            kind="transition",
        )

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        appeal_id, login = picked
        topic = self.engine.appeal(appeal_id).topic
        values = data.draw(appeal_values(self.catalog, topic), label="values")
        self.attempt(
            appeal_id,
            lambda: self.engine.update_values(appeal_id, login, values),
            leaving=True,
            kind="edit",
        )

    @rule(data=st.data(), act=st.sampled_from(["close", "take", "reject", "assign", "reopen"]))
    def administer(self, data: st.DataObject, act: str) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        appeal_id, login = picked
        engine = self.engine
        actions: dict[str, Callable[[], Appeal]] = {
            "close": lambda: engine.close(appeal_id, login),
            "take": lambda: engine.take(appeal_id, login),
            "reject": lambda: engine.reject(appeal_id, login, "not ours"),
            "reopen": lambda: engine.reopen(appeal_id, login, "the client called back"),
        }
        if act == "assign":
            assignee = data.draw(st.sampled_from(self.operators), label="assignee")
            actions["assign"] = lambda: engine.assign(appeal_id, login, assignee)
        self.attempt(appeal_id, actions[act], leaving=act in ("close", "reject"), kind=act)

    @rule(data=st.data())
    def child(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        parent, login = picked
        topics = self._topics(login)
        if not topics:
            return
        topic = data.draw(st.sampled_from(topics), label="topic")
        values = data.draw(appeal_values(self.catalog, topic), label="values")
        try:
            kid = self.engine.create_child(parent, login, topic, values)
        except CrmcmsError:
            self.record(CHILD, False)
            return
        self.record(CHILD, True)
        self.ids.append(kid.id)

    @rule(hours=st.integers(1, 72))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.engine.scan_deadlines()

    # --- Invariants --------------------------------------------------------------------------

    @invariant()
    def appeals_are_consistent(self) -> None:
        catalog, engine = self.catalog, self.engine
        queues = {q.code for q in catalog.queues}
        for appeal_id in self.ids:
            appeal = engine.appeal(appeal_id)
            route = catalog.route(appeal.route, appeal.route_version)
            processes = {p.code: p for p in route.processes}
            assert appeal.process in processes, f"appeal {appeal_id} is in no process of its route"
            process = processes[appeal.process]
            if process.queue_policy is QueuePolicy.KEEP:
                assert appeal.queue in queues, f"appeal {appeal_id} is in no queue"
            else:
                allowed = {q.code for q in candidate_queues(catalog, route, appeal.process)}
                assert appeal.queue in allowed, (
                    f"appeal {appeal_id} is in queue {appeal.queue}, which process "
                    f"{appeal.process} does not hand appeals to"
                )
            assert appeal.is_open != process.final, (
                f"appeal {appeal_id} is {'open' if appeal.is_open else 'closed'} in process "
                f"{appeal.process}"
            )
            assert engine.state_at(appeal_id, self.clock.now) == appeal, (
                f"replaying the history of appeal {appeal_id} does not give it"
            )
            if not appeal.is_open and not route.close_with_open_children:
                open_children = [c.id for c in engine.children(appeal_id) if c.is_open]
                assert not open_children, f"closed appeal {appeal_id} has open {open_children}"


def workflow_machine(
    catalog: Catalog,
    *,
    clients: Sequence[Client] | None = None,
    billing: Callable[[Sequence[Client]], FakeBilling] = FakeBilling,
) -> type[WorkflowMachine]:
    """A :class:`WorkflowMachine` for ``catalog``; refused (:class:`ConfigurationError`)
    when the catalog has no active operator.

    ``clients`` default to :func:`sample_clients`; ``billing`` makes the client directory and
    the other plugins from them (give one that also answers your external dictionaries or
    business functions: ``lambda clients: FakeBilling(clients, functions={...})``).
    """
    if not any(o.active for o in catalog.operators):
        raise ConfigurationError("the catalog has no active operator: nobody can act on its routes")
    chosen = tuple(clients) if clients is not None else tuple(sample_clients(catalog))
    namespace = {"catalog": catalog, "clients": chosen, "billing": staticmethod(billing)}
    return type("CatalogWorkflows", (WorkflowMachine,), namespace)


def run_workflow_machine(
    machine: type[WorkflowMachine],
    run_settings: settings | None = None,
    *,
    min_done_share: float = MIN_DONE_SHARE,
) -> ActionTally:
    """Run ``machine`` as hypothesis would (``run_state_machine_as_test``), then fail the run
    if (nearly) every action it attempted was refused (:meth:`ActionTally.check`); returns
    what it attempted."""
    machine.tally = ActionTally()
    run_state_machine_as_test(machine, settings=run_settings)
    machine.tally.check(min_done_share)
    return machine.tally


def explore(
    catalog: Catalog,
    *,
    runs: int = 50,
    steps: int = 30,
    clients: Sequence[Client] | None = None,
    billing: Callable[[Sequence[Client]], FakeBilling] = FakeBilling,
    shrink: bool = True,
    derandomize: bool = False,
    min_done_share: float = MIN_DONE_SHARE,
) -> ActionTally:
    """Drive ``runs`` random sequences of up to ``steps`` actions through ``catalog``'s routes;
    returns what was attempted, by kind.

    Raises ``AssertionError`` naming the broken invariant, after hypothesis has printed the
    shortest sequence of steps it found that breaks it (``shrink=False``: the first one
    found, at once); and when fewer than ``min_done_share`` of the attempted actions were
    carried out, or no appeal could be registered: then the routes were not tested.
    ``derandomize`` makes the sequences the same on every call."""
    machine = workflow_machine(catalog, clients=clients, billing=billing)
    phases = tuple(Phase) if shrink else tuple(p for p in Phase if p is not Phase.shrink)
    return run_workflow_machine(
        machine,
        settings(
            max_examples=runs,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=derandomize,
            phases=phases,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
        min_done_share=min_done_share,
    )
