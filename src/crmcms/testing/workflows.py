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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from crmcms.dsl.coverage import cases
from crmcms.engine import AppealDraft, Engine, candidate_queues
from crmcms.errors import ConfigurationError, CrmcmsError
from crmcms.model import Appeal, Catalog, Client, QueuePolicy
from crmcms.testing._records import appeal_values
from crmcms.testing.engine import FakeBilling, ManualClock, make_engine

__all__ = ["WorkflowMachine", "explore", "sample_clients", "workflow_machine"]

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


class WorkflowMachine(RuleBasedStateMachine):
    """The state machine :func:`workflow_machine` makes for a catalog."""

    catalog: ClassVar[Catalog]
    clients: ClassVar[tuple[Client, ...]]
    billing: ClassVar[Callable[[Sequence[Client]], FakeBilling]]

    def __init__(self) -> None:
        super().__init__()
        billing = type(self).billing(self.clients)
        self.engine, self.inbox, self.clock = make_engine(self.catalog, billing, ManualClock())
        self.ids: list[int] = []
        self.operators = [o.login for o in self.catalog.operators if o.active]

    # --- Acting, and what a refusal must leave -------------------------------------------------

    def attempt(self, appeal_id: int, action: Callable[[], Appeal], *, leaving: bool) -> None:
        engine = self.engine
        before = engine.appeal(appeal_id)
        history = engine.history(appeal_id)
        missing = engine.run(lambda tx: tx.rt.policy.missing_required(before, tx.data(before)))
        try:
            after = action()
        except CrmcmsError:
            assert engine.appeal(appeal_id) == before, "a refused action changed the appeal"
            assert engine.history(appeal_id) == history, "a refused action wrote history"
            return
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
            return
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
            appeal_id, lambda: self.engine.transition(appeal_id, login, code), leaving=True
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
            appeal_id, lambda: self.engine.update_values(appeal_id, login, values), leaving=True
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
        self.attempt(appeal_id, actions[act], leaving=act in ("close", "reject"))

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
            return
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


def explore(
    catalog: Catalog,
    *,
    runs: int = 50,
    steps: int = 30,
    clients: Sequence[Client] | None = None,
    billing: Callable[[Sequence[Client]], FakeBilling] = FakeBilling,
    shrink: bool = True,
) -> None:
    """Drive ``runs`` random sequences of up to ``steps`` actions through ``catalog``'s routes;
    raises ``AssertionError`` naming the broken invariant, after hypothesis has printed the
    shortest sequence of steps it found that breaks it (``shrink=False``: the first one
    found, at once)."""
    machine = workflow_machine(catalog, clients=clients, billing=billing)
    phases = tuple(Phase) if shrink else tuple(p for p in Phase if p is not Phase.shrink)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=runs,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            phases=phases,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
