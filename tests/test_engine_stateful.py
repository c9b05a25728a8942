"""Random operators doing random things on the seed routes; the engine's invariants must hold.

The shipped machine (:mod:`crmcms.testing.workflows`) drives them with valid values; the
seed's own rules here add values that are wrong in every way the seed's topic allows.
"""

from __future__ import annotations

from datetime import date

from examples.telecom.seed_catalog import build_catalog
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from crmcms import Client, CrmcmsError
from crmcms.engine import AppealDraft
from crmcms.testing.workflows import workflow_machine

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


class Operators(workflow_machine(CATALOG, clients=CLIENTS)):  # type: ignore[misc]
    @rule(client=st.sampled_from([1, 2, 3]), values=VALUES, who=st.sampled_from(OPERATORS))
    def register_seed_values(self, client: int, values: dict[str, object], who: str) -> None:
        try:
            reg = self.engine.register_contact(
                who,
                place="CC",
                channel="PHONE",
                client_id=client,
                drafts=[AppealDraft("TERMINATION", values)],
            )
        except CrmcmsError:
            self.record("register", False)
            return
        self.record("register", True)
        self.ids.extend(a.id for a in reg.appeals)

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), code=st.sampled_from(["to_sd", "close"]))
    def any_transition(self, data: st.DataObject, who: str, code: str) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            transition = lambda: self.engine.transition(i, who, code)  # noqa: E731
            self.attempt(i, transition, leaving=True, kind="transition")

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), values=VALUES)
    def edit_seed_values(self, data: st.DataObject, who: str, values: dict[str, object]) -> None:
        if self.ids:
            i = data.draw(st.sampled_from(self.ids))
            edit = lambda: self.engine.update_values(i, who, values)  # noqa: E731
            self.attempt(i, edit, leaving=True, kind="edit")

    @rule(data=st.data(), who=st.sampled_from(OPERATORS), values=VALUES)
    def child_seed_values(self, data: st.DataObject, who: str, values: dict[str, object]) -> None:
        if self.ids:
            parent = data.draw(st.sampled_from(self.ids))
            try:
                kid = self.engine.create_child(parent, who, "TERMINATION", values)
            except CrmcmsError:
                self.record("child", False)
                return
            self.record("child", True)
            self.ids.append(kid.id)


# Each example is 25 steps on an engine: two thirds of the profile's budget of examples. The
# machine's TestCase also fails the run if (nearly) every action was refused.
Operators.TestCase.settings = settings(
    Operators.TestCase.settings,
    stateful_step_count=25,
    max_examples=settings.default.max_examples * 2 // 3,
)
TestOperators = Operators.TestCase
