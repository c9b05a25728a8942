"""Random operators doing random things on the seed routes; the engine's invariants must hold."""

from __future__ import annotations

from datetime import date

from examples.telecom.seed_catalog import build_catalog
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from crmcms import Client, CrmcmsError
from crmcms.engine import AppealDraft, candidate_queues
from crmcms.testing.engine import FakeBilling, make_engine

CATALOG = build_catalog()
CLIENTS = (
    Client(1, "A", category="BIS", region="Moscow"),
    Client(2, "B", category="VIP", region="Pskov"),
    Client(3, "C", category="BIS", region="Pskov"),
)
OPERATORS = ("olga", "bis", "Администратор")
VALUES = st.sampled_from(
    [
        {"166": "moving", "168": date(2026, 4, 1)},
        {"166": "moving", "168": date(2026, 4, 1), "170": "PSKOV", "167": ("a", "b")},
        {"166": "", "168": date(2026, 4, 1)},
        {"170": "NOWHERE"},
        {"166": None},
        {"169": "VIP"},
        {"171": "card"},
    ]
)


class Operators(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine, _, self.clock = make_engine(CATALOG, FakeBilling(CLIENTS))
        self.ids: list[int] = []

    def attempt(self, appeal_id: int, action, *, leaving: bool = False) -> None:  # type: ignore[no-untyped-def]
        before = self.engine.appeal(appeal_id)
        history = self.engine.history(appeal_id)
        missing = self.engine.run(lambda tx: tx.rt.policy.missing_required(before, tx.data(before)))
        try:
            after = action()
        except CrmcmsError:
            # A refused action changes nothing.
            assert self.engine.appeal(appeal_id) == before
            assert self.engine.history(appeal_id) == history
            return
        if leaving and after.process != before.process:
            assert not missing, f"left {before.process} with {missing}"

    @rule(client=st.sampled_from([1, 2, 3]), values=VALUES, who=st.sampled_from(OPERATORS))
    def register(self, client: int, values: dict[str, object], who: str) -> None:
        try:
            reg = self.engine.register_contact(
                who,
                place="CC",
                channel="PHONE",
                client_id=client,
                drafts=[AppealDraft("TERMINATION", values)],
            )
        except CrmcmsError:
            return
        self.ids.extend(a.id for a in reg.appeals)

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), code=st.sampled_from(["to_sd", "close"]))
    def transition(self, data: st.DataObject, who: str, code: str) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            self.attempt(i, lambda: self.engine.transition(i, who, code), leaving=True)

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), values=VALUES)
    def edit(self, data: st.DataObject, who: str, values: dict[str, object]) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            self.attempt(i, lambda: self.engine.update_values(i, who, values), leaving=True)

    @rule(data=st.data(), who=st.sampled_from(OPERATORS))
    def close(self, data: st.DataObject, who: str) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            self.attempt(i, lambda: self.engine.close(i, who), leaving=True)

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), act=st.sampled_from(["take", "reject"]))
    def queue_work(self, data: st.DataObject, who: str, act: str) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            if act == "take":
                self.attempt(i, lambda: self.engine.take(i, who))
            else:
                self.attempt(i, lambda: self.engine.reject(i, who, "not ours"))

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), assignee=st.sampled_from(OPERATORS))
    def administer(self, data: st.DataObject, who: str, assignee: str) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            self.attempt(i, lambda: self.engine.assign(i, who, assignee))
            self.attempt(i, lambda: self.engine.reopen(i, who, "client called back"))

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), values=VALUES)
    def child(self, data: st.DataObject, who: str, values: dict[str, object]) -> None:
        if self.ids:
            parent = data.draw(st.sampled_from(self.ids))
            try:
                kid = self.engine.create_child(parent, who, "TERMINATION", values)
            except CrmcmsError:
                return
            self.ids.append(kid.id)

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.engine.scan_deadlines()

    @invariant()
    def appeals_are_consistent(self) -> None:
        for i in self.ids:
            appeal = self.engine.appeal(i)
            route = CATALOG.route(appeal.route, appeal.route_version)
            assert appeal.process in {p.code for p in route.processes}
            allowed = {q.code for q in candidate_queues(CATALOG, route, appeal.process)}
            assert appeal.queue in allowed
            assert appeal.is_open != route.process(appeal.process).final
            replayed = self.engine.state_at(i, self.clock.now)
            assert replayed == appeal
            if not appeal.is_open:
                assert all(not c.is_open for c in self.engine.children(i))


# Each example is 25 steps on an engine: two thirds of the profile's budget of examples.
Operators.TestCase.settings = settings(
    Operators.TestCase.settings,
    stateful_step_count=25,
    max_examples=settings.default.max_examples * 2 // 3,
)
TestOperators = Operators.TestCase
