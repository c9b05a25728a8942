"""One route explored by random operators: a hypothesis state machine that checks the route can
always be walked to its end, and tells a counterexample as the operators' actions.

:meth:`RouteMachine.for_route` builds the machine for a route of a catalog. Operators register
appeals on the route's topics for clients of every category and region its rules compare
with, take its transitions, edit values and let time pass (the plumbing of
:class:`~crmcms.testing.workflows.WorkflowMachine`, whose invariants hold here too). After every
step, for every appeal on the route:

- a process that is not final has a way out: a transition whose rule can hold for the appeal's
  client, whatever values the operators enter, or an operator who may close the appeal there
  (holding the ``close`` permission and working in its queue);
- from where the appeal is, a final process can be reached along such transitions, or the
  appeal closed where it is;
- a required attribute of its process is one the operator can fill (neither hidden nor read-only);
- a queue is always chosen: no registration or transition finds every queue refusing it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as seeded
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from crmcms.dsl import CompiledRule
from crmcms.dsl.rules.coverage import MAX_COMBINATIONS, cases
from crmcms.engine import AppealDraft
from crmcms.engine.context import party_data
from crmcms.errors import ConfigurationError, CrmcmsError, WorkflowError
from crmcms.model import Appeal, Catalog, Client, Permission, Route
from crmcms.testing._records import appeal_values
from crmcms.testing.engine import FakeBilling
from crmcms.testing.route_tests import Exercised, consulted_rules
from crmcms.testing.workflows import (
    CHILD,
    REGISTER,
    ActionTally,
    NothingTestedError,
    WorkflowMachine,
    sample_clients,
)

__all__ = ["MachineReport", "RouteMachine", "RouteProblem", "explore_route"]


class RouteProblem(AssertionError):
    """A route that cannot always be walked to its end; the message tells the actions."""


def describe_client(client: Client) -> str:
    """``a BIS client in Moscow``, as the steps of a counterexample say it."""
    category = f"a {client.category} client" if client.category else "a client of no category"
    return f"{category} in {client.region}" if client.region else f"{category} of no region"


def _nest(pairs: Sequence[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, value in pairs:
        where = data
        for part in path[:-1]:
            where = where.setdefault(part, {})
        where[path[-1]] = value
    return data


class RouteMachine(WorkflowMachine):
    """The state machine of one route; :meth:`for_route` makes it."""

    route_code: ClassVar[str]
    exercised: ClassVar[Exercised] = Exercised()
    """What the machine's walks made the route do (for the coverage report)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[int | None, str]] = []
        """What happened, in words, with the appeal it happened to (``None``: to all)."""
        self.client_of: dict[int, Client] = {}
        self._can_hold: dict[tuple[str, int], bool] = {}

    @classmethod
    def for_route(
        cls,
        catalog: Catalog,
        code: str,
        *,
        clients: Sequence[Client] | None = None,
        billing: Callable[[Sequence[Client]], FakeBilling] = FakeBilling,
    ) -> type[RouteMachine]:
        """A machine exploring the current version of route ``code`` of ``catalog``."""
        route = catalog.route(code)
        if not any(o.active for o in catalog.operators):
            raise ConfigurationError("the catalog has no active operator: nobody can walk a route")
        chosen = tuple(clients) if clients is not None else tuple(sample_clients(catalog))
        namespace = {
            "catalog": catalog,
            "clients": chosen,
            "billing": staticmethod(billing),
            "route_code": route.code,
            "exercised": Exercised(),
        }
        return type(f"RouteMachine_{route.code}", (cls,), namespace)

    @property
    def route(self) -> Route:
        return self.catalog.route(self.route_code)

    def _topics(self, login: str) -> list[str]:
        route = self.route
        return [t for t in super()._topics(login) if t in route.topics]

    def say(self, text: str, appeal_id: int | None = None) -> None:
        self.steps.append((appeal_id, text))

    def problem(self, message: str, appeal_id: int | None = None) -> RouteProblem:
        """The failure, told as the actions that led to it: those on ``appeal_id`` (and time
        passing) when given, repeats of one action said once."""
        told: list[str] = []
        started = appeal_id is None
        for about, text in self.steps:
            started = started or about == appeal_id
            if not started or (appeal_id is not None and about not in (None, appeal_id)):
                continue
            if told and told[-1] == text:
                continue
            told.append(text)
        return RouteProblem(f"{message}\n  steps: {'; '.join(told) or 'nothing yet'}")

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
        client = next(c for c in self.clients if c.id == contact["client_id"])
        said = f"{login} registers an appeal on {topic} for {describe_client(client)}"
        try:
            registered = self.engine.register_contact(
                login, drafts=[AppealDraft(topic, values)], **contact
            )
        except WorkflowError as exc:
            if "no queue accepts" in str(exc):
                self.say(said)
                raise self.problem(f"no queue takes the new appeal: {exc}") from None
            self.record(REGISTER, False)
            return
        except CrmcmsError:
            self.record(REGISTER, False)
            return
        self.record(REGISTER, True)
        appeal = registered.appeals[0]
        if appeal.route != self.route_code:
            return
        self.say(f"{said} (appeal {appeal.id})", appeal.id)
        self.ids.append(appeal.id)
        self.client_of[appeal.id] = client
        self._seen(appeal)

    @rule(data=st.data())
    def transition(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        appeal_id, login = picked
        options = self.engine.available_transitions(appeal_id, login)
        available = [o.code for o in options if o.available]
        if not available:
            return
        code = data.draw(st.sampled_from(available), label="transition")
        before = self.engine.appeal(appeal_id)
        said = f"{login} performs {code} on appeal {appeal_id}"
        try:
            after = self.engine.transition(appeal_id, login, code)
        except WorkflowError as exc:
            if "no queue accepts" in str(exc):
                self.say(said, appeal_id)
                raise self.problem(
                    f"no queue takes appeal {appeal_id} along {code} from {before.process}: {exc}",
                    appeal_id,
                ) from None
            self.record("transition", False)
            return
        except CrmcmsError:
            self.record("transition", False)
            return
        self.record("transition", True)
        self.say(said, appeal_id)
        route = self.catalog.route(after.route, after.route_version)
        type(self).exercised.performed.add((route.code, route.version, code))
        self._seen(after)

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        appeal_id, login = picked
        topic = self.engine.appeal(appeal_id).topic
        values = data.draw(appeal_values(self.catalog, topic), label="values")
        try:
            self.engine.update_values(appeal_id, login, values)
        except CrmcmsError:
            self.record("edit", False)
            return
        self.record("edit", True)
        self.say(
            f"{login} sets {', '.join(sorted(values)) or 'no value'} of appeal {appeal_id}",
            appeal_id,
        )
        self._seen(self.engine.appeal(appeal_id))

    @rule(hours=st.integers(1, 72))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.engine.scan_deadlines()
        self.say(f"{hours}h pass")

    # Closing, rejecting and child appeals are the catalog-wide machine's; here they would
    # end walks without the route.
    def administer(self, data: st.DataObject, act: str) -> None:
        """Not a rule of this machine."""

    def child(self, data: st.DataObject) -> None:
        """Not a rule of this machine."""

    def _seen(self, appeal: Appeal) -> None:
        """Note, as route tests do, the appeal's queue and the outcomes of the rules its
        route consults where it is."""
        seen = type(self).exercised
        route = self.catalog.route(appeal.route, appeal.route_version)
        if appeal.queue is not None:
            seen.queues.add((route.code, route.version, appeal.process, appeal.queue))
        rules = consulted_rules(self.catalog, route, appeal.process)
        if rules:
            book = self.engine.runtime.rules
            outcomes = self.engine.run(
                lambda tx: {code: bool(book.rule(code).evaluate(tx.data(appeal))) for code in rules}
            )
            seen.rules |= set(outcomes.items())

    # --- What the route must allow -----------------------------------------------------------

    def may_hold(self, code: str | None, client: Client) -> bool:
        """Whether the rule ``code`` (``None``: no rule) can hold for ``client`` with some
        values of the other fields it reads; undecided cases count as "may"."""
        if code is None:
            return True
        key = (code, client.id)
        found = self._can_hold.get(key)
        if found is None:
            compiled: CompiledRule = self.engine.runtime.rules.rule(code)
            found = _may_hold(compiled, party_data("Client", client))
            self._can_hold[key] = found
        return found

    def _ways_out(self, route: Route, process: str, client: Client) -> list[str]:
        return [t.code for t in route.transitions_from(process) if self.may_hold(t.rule, client)]

    @invariant()
    def route_can_be_walked(self) -> None:
        for appeal_id in self.ids:
            appeal = self.engine.appeal(appeal_id)
            if not appeal.is_open:
                continue
            route = self.catalog.route(appeal.route, appeal.route_version)
            client = self.client_of[appeal_id]
            if self._may_close(appeal):
                continue
            if not self._ways_out(route, appeal.process, client):
                blocked = [
                    f"{t.code}: rule {t.rule} ({self.catalog.rule(t.rule).expression}) never "
                    "holds for such a client"
                    for t in route.transitions_from(appeal.process)
                    if t.rule is not None
                ]
                detail = "; ".join(blocked) or "no transition leaves it"
                detail += f", and nobody working in queue {appeal.queue} may close it"
                raise self.problem(
                    f"appeal {appeal_id} of {describe_client(client)} is stuck in process "
                    f"{appeal.process} of route {route.code} v{route.version}: {detail}",
                    appeal_id,
                )
            if not self._reaches_final(route, appeal.process, client):
                raise self.problem(
                    f"appeal {appeal_id} of {describe_client(client)} in process "
                    f"{appeal.process} of route {route.code} v{route.version} can never reach "
                    "a final process, and nobody working in queue "
                    f"{appeal.queue} may close it",
                    appeal_id,
                )

    def _may_close(self, appeal: Appeal) -> bool:
        """Whether an active operator holding ``close`` works in the appeal's queue."""
        workers = self.engine.runtime.queues.workers
        logins = workers[appeal.queue] if appeal.queue is not None else None
        return any(
            Permission.CLOSE in self.catalog.principal(o.login).permissions
            and (logins is None or o.login in logins)
            for o in self.catalog.operators
            if o.active
        )

    def _reaches_final(self, route: Route, start: str, client: Client) -> bool:
        seen, todo = {start}, [start]
        while todo:
            process = route.process(todo.pop())
            if process.final:
                return True
            for t in route.transitions_from(process.code):
                if t.target not in seen and self.may_hold(t.rule, client):
                    seen.add(t.target)
                    todo.append(t.target)
        return False

    @invariant()
    def required_attributes_can_be_filled(self) -> None:
        for appeal_id in self.ids:
            appeal = self.engine.appeal(appeal_id)
            if not appeal.is_open:
                continue

            def states(tx: Any, appeal: Appeal = appeal) -> Any:
                return tx.rt.policy.states(appeal, tx.data(appeal))

            for state in self.engine.run(states):
                if state.required and state.value is None and (state.hidden or state.read_only):
                    why = "hidden" if state.hidden else "read-only"
                    raise self.problem(
                        f"appeal {appeal_id} needs attribute {state.code} in process "
                        f"{appeal.process}, which is {why} there: nobody can fill it",
                        appeal_id,
                    )


def _may_hold(compiled: CompiledRule, client: Mapping[str, Any]) -> bool:
    by_field = cases([compiled])
    fixed = [(f, client.get(f[1])) for f in by_field if len(f) == 2 and f[0] == "Client"]
    free = [f for f in by_field if not (len(f) == 2 and f[0] == "Client")]
    choices = [by_field[f] for f in free]
    for combination in itertools.islice(itertools.product(*choices), MAX_COMBINATIONS):
        data = _nest([*fixed, *zip(free, combination, strict=True)])
        try:
            if compiled(data):
                return True
        except Exception:  # fields the search cannot give: undecided, so it may hold
            return True
    return False


@attrs.frozen
class MachineReport:
    """How exploring one route went."""

    route: str
    runs: int
    seconds: float
    tally: ActionTally
    exercised: Exercised
    problem: str | None = None
    """The counterexample's message, when the route can get stuck."""

    @property
    def passed(self) -> bool:
        return self.problem is None


def explore_route(
    catalog: Catalog,
    code: str,
    *,
    budget: float = 5.0,
    steps: int = 20,
    batch: int = 10,
    clients: Sequence[Client] | None = None,
    billing: Callable[[Sequence[Client]], FakeBilling] = FakeBilling,
    derandomize: bool = False,
    shrink: bool = True,
    seed: int | None = None,
) -> MachineReport:
    """Run :class:`RouteMachine` for route ``code`` in batches of ``batch`` walks of up to
    ``steps`` actions until ``budget`` seconds are spent (one batch at least) or a walk breaks
    the route; the report tells the failing walk's actions on the appeal concerned (with
    ``shrink``, of the shortest failing walk hypothesis finds, which takes longer).

    With ``seed`` the walks are the same on every run: one batch, drawn from that
    seed, whatever the budget (``derandomize`` gives one fixed batch too)."""
    machine = RouteMachine.for_route(catalog, code, clients=clients, billing=billing)
    if seed is not None:
        machine = seeded(seed)(machine)
    started = time.perf_counter()
    runs = 0
    total = ActionTally()
    problem = None
    while True:
        run_settings = settings(
            max_examples=batch,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=derandomize,
            phases=tuple(
                p for p in Phase if p is not Phase.explain and (shrink or p is not Phase.shrink)
            ),
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            report_multiple_bugs=False,
            # The counterexample is told by the problem's own steps, not hypothesis' calls.
            verbosity=Verbosity.quiet,
        )
        machine.tally = ActionTally()
        try:
            run_state_machine_as_test(machine, settings=run_settings)
        except AssertionError as exc:  # a RouteProblem, or a broken engine invariant
            problem = str(exc)
        runs += batch
        total.done.update(machine.tally.done)
        total.refused.update(machine.tally.refused)
        fixed = derandomize or seed is not None
        if problem is not None or fixed or time.perf_counter() - started >= budget:
            break
    if problem is None:
        try:
            total.check(0.0)
        except NothingTestedError as exc:
            problem = f"nothing tested: {exc}"
    total.done.pop(CHILD, None)
    return MachineReport(
        code, runs, time.perf_counter() - started, total, machine.exercised, problem
    )
