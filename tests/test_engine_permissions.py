"""Every action runs for a principal and is checked against its roles' permissions; reads
return only what the principal may see, and another queue's appeal is as missing as one that
does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from crmcms import (
    AppealDraft,
    AuthenticationError,
    Client,
    CrmcmsError,
    Engine,
    NotFoundError,
    Permission,
    PermissionDeniedError,
    Principal,
)
from crmcms.dsl import load_catalog_text
from crmcms.model import SYSTEM, Appeal
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.testing.engine import FakeBilling, ManualClock

DEFINITIONS = """
topic REPAIR "Repair"
topic BILL "Billing question"
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
role DESK "Front desk" { permissions: register, read }
operator ann "Ann" { template: T }
operator bob "Bob" { template: T }
operator lead "Lead" { template: T }
operator mia "Mia" {
    roles: MANAGER
    template: T
}
operator sec "Sec" {
    roles: SECURITY_ADMINISTRATOR
    template: T
}
operator desk "Desk" {
    roles: DESK
    template: T
}
queue LINE "First line" {
    members: ann, lead, mia
    admins: lead
    processes: new, work
}
queue BACK "Back office" {
    members: bob, desk
    processes: back, back_work
}
route R "Repair" {
    topics: REPAIR
    deadline: 2d
    process new "New" initial
    process work "Work"
    process done "Done" final
    transition start new -> work "Start"
    transition finish work -> done "Finish"
}
route B "Billing" {
    topics: BILL
    process back "Back" initial
    process back_work "Back work"
    process back_done "Done" final
    transition start back -> back_work "Start"
    transition finish back_work -> back_done "Finish"
}
"""

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
LOGINS = ("ann", "bob", "lead", "mia", "sec", "desk")


def secure_engine() -> tuple[Engine, ManualClock]:
    clock = ManualClock(MONDAY)
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    catalog = load_catalog_text(DEFINITIONS)
    return Engine(catalog, MemoryStore().unit_of_work, plugins=plugins, clock=clock), clock


def register(engine: Engine, who: Principal, topic: str = "REPAIR") -> Appeal:
    made = engine.register_contact(
        who, place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft(topic)]
    )
    return made.appeals[0]


@pytest.fixture
def world() -> tuple[Engine, dict[str, Principal]]:
    engine, _ = secure_engine()
    return engine, {login: engine.trusted(login) for login in LOGINS}


def test_a_bare_login_or_no_operator_is_refused_unless_logins_are_trusted(world: Any) -> None:
    engine, who = world
    with pytest.raises(AuthenticationError, match="bare login"):
        register(engine, "ann")  # type: ignore[arg-type]
    appeal = register(engine, who["ann"])
    with pytest.raises(AuthenticationError, match="SYSTEM"):
        engine.appeal(appeal.id)
    with pytest.raises(AuthenticationError, match="SYSTEM"):
        engine.transition(appeal.id, None, "start")
    assert engine.appeal(appeal.id, operator=SYSTEM) == appeal
    assert engine.transition(appeal.id, SYSTEM, "start").process == "work"


def test_an_expired_principal_is_refused() -> None:
    engine, clock = secure_engine()
    ann = attrs.evolve(engine.trusted("ann"), expires_at=MONDAY + timedelta(hours=1))
    appeal = register(engine, ann)
    clock.advance(hours=2)
    with pytest.raises(AuthenticationError, match="expired"):
        engine.appeal(appeal.id, operator=ann)


def test_a_refusal_names_the_missing_permission(world: Any) -> None:
    engine, who = world
    appeal = register(engine, who["ann"])
    with pytest.raises(PermissionDeniedError) as refused:
        engine.transition(appeal.id, who["mia"], "start")
    assert refused.value.permission == "handle"
    assert "mia lacks permission handle" in str(refused.value)
    with pytest.raises(PermissionDeniedError) as refused:
        register(engine, who["sec"])
    assert refused.value.permission == "register"
    with pytest.raises(PermissionDeniedError) as refused:
        engine.take(appeal.id, who["mia"])
    assert refused.value.permission == "take"
    assert register(engine, who["desk"]).id > appeal.id


def test_a_manager_reads_everything_and_handles_nothing(world: Any) -> None:
    engine, who = world
    line, back = register(engine, who["ann"]), register(engine, who["bob"], "BILL")
    mia = who["mia"]
    assert engine.appeal(line.id, operator=mia) == line
    assert engine.appeal(back.id, operator=mia) == back
    assert [a.id for a in engine.queue_appeals("BACK", operator=mia)] == [back.id]
    assert engine.history(back.id, operator=mia)
    with pytest.raises(PermissionDeniedError, match="lacks permission take"):
        engine.take(back.id, mia)


def test_another_queues_appeal_is_as_missing_as_one_that_does_not_exist(world: Any) -> None:
    engine, who = world
    back = register(engine, who["bob"], "BILL")
    ann = who["ann"]
    with pytest.raises(NotFoundError) as other:
        engine.appeal(back.id, operator=ann)
    with pytest.raises(NotFoundError) as missing:
        engine.appeal(999_999, operator=ann)
    assert str(other.value) == str(missing.value).replace("999999", str(back.id))
    for attempt in (
        lambda: engine.history(back.id, operator=ann),
        lambda: engine.state_at(back.id, MONDAY, operator=ann),
        lambda: engine.why_in_queue(back.id, operator=ann),
        lambda: engine.sla_clocks(back.id, operator=ann),
        lambda: engine.take(back.id, ann),
        lambda: engine.transition(back.id, ann, "start"),
        lambda: engine.close(back.id, ann),
        lambda: engine.update_values(back.id, ann, {}),
        lambda: engine.available_transitions(back.id, ann),
        lambda: engine.contact(back.contact_id, operator=ann),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    assert engine.queue_appeals("BACK", operator=ann) == []
    assert engine.appeal(back.id, operator=who["bob"]) == back


def test_the_responsible_operator_sees_its_appeal_wherever_it_is(world: Any) -> None:
    engine, who = world
    back = register(engine, who["bob"], "BILL")
    engine.take(back.id, who["bob"])
    assert engine.appeal(back.id, operator=who["bob"]).responsible == "bob"
    # The desk registered it into no queue of its own: it sees what it registered only
    # while no queue has it.
    mine = register(engine, who["desk"])
    with pytest.raises(NotFoundError):
        engine.appeal(mine.id, operator=who["desk"])


def test_a_queue_administrator_administers_its_own_queue_only(world: Any) -> None:
    engine, who = world
    line, back = register(engine, who["ann"]), register(engine, who["bob"], "BILL")
    lead = who["lead"]
    moved = engine.change_deadlines(line.id, lead, deadline=MONDAY + timedelta(days=9), reason="ok")
    assert moved.deadline == MONDAY + timedelta(days=9)
    with pytest.raises(NotFoundError):
        engine.change_deadlines(back.id, lead, deadline=None, reason="not mine")
    with pytest.raises(PermissionDeniedError) as refused:
        engine.change_deadlines(line.id, who["ann"], deadline=None, reason="not an admin")
    assert refused.value.permission == "change_deadlines"
    assert engine.assign(line.id, lead, "ann").responsible == "ann"


def test_bulk_work_needs_its_permission_and_stays_inside_the_queues(world: Any) -> None:
    engine, who = world
    line, back = register(engine, who["ann"]), register(engine, who["bob"], "BILL")
    with pytest.raises(PermissionDeniedError, match="lacks permission bulk"):
        engine.bulk_transition([line.id], who["ann"], "start")
    result = engine.bulk_transition([line.id, back.id], who["lead"], "start")
    assert result.succeeded == (line.id,)
    assert [f.error_type for f in result.failed] == ["NotFoundError"]


# --- Random operations under random principals --------------------------------------------

ACTIONS = ("take", "start", "finish", "close", "deadline", "assign", "read", "history")

NEEDED = {
    "take": Permission.TAKE,
    "start": Permission.HANDLE,
    "finish": Permission.CLOSE,
    "close": Permission.CLOSE,
    "deadline": Permission.CHANGE_DEADLINES,
    "assign": Permission.ASSIGN,
    "read": Permission.READ,
    "history": Permission.READ_HISTORY,
}


class RandomPrincipals(RuleBasedStateMachine):
    """Whatever anyone tries, nothing outside its permissions succeeds and no read returns
    an appeal outside its queues; and enough succeeds for that to mean something."""

    def __init__(self) -> None:
        super().__init__()
        self.engine, _ = secure_engine()
        self.who = {login: self.engine.trusted(login) for login in LOGINS}
        self.ids: list[int] = []
        self.succeeded = 0
        self.refused = 0

    def visible_to(self, principal: Principal, appeal: Appeal) -> bool:
        if principal.may(Permission.READ_ALL):
            return True
        if not principal.may(Permission.READ):
            return False
        login = principal.login
        queue = self.engine.catalog.queue(appeal.queue) if appeal.queue else None
        operator = self.engine.catalog.operator(login)
        return (
            appeal.responsible == login
            or (queue is None and appeal.operator == login)
            or (
                queue is not None
                and (queue.has_member(login, operator.roles) or login in queue.administrators)
            )
        )

    @rule(login=st.sampled_from(["ann", "bob", "lead"]), topic=st.sampled_from(["REPAIR", "BILL"]))
    def register(self, login: str, topic: str) -> None:
        self.ids.append(register(self.engine, self.engine.trusted(login), topic).id)

    @rule(
        login=st.sampled_from(LOGINS),
        permissions=st.frozensets(st.sampled_from(sorted(Permission))),
    )
    def grant(self, login: str, permissions: frozenset[Permission]) -> None:
        """A host's directory may hand the engine principals with roles of its own."""
        self.who[login] = Principal(login, frozenset({"RANDOM"}), permissions)

    @precondition(lambda self: bool(self.ids))
    @rule(
        login=st.sampled_from(LOGINS),
        action=st.sampled_from(ACTIONS),
        pick=st.integers(min_value=0, max_value=50),
    )
    def act(self, login: str, action: str, pick: int) -> None:
        appeal_id = self.ids[pick % len(self.ids)]
        principal = self.who[login]
        before = self.engine.appeal(appeal_id, operator=SYSTEM)
        engine = self.engine
        try:
            if action == "take":
                engine.take(appeal_id, principal)
            elif action in ("start", "finish"):
                engine.transition(appeal_id, principal, action)
            elif action == "close":
                engine.close(appeal_id, principal)
            elif action == "deadline":
                engine.change_deadlines(appeal_id, principal, deadline=None, reason="random")
            elif action == "assign":
                engine.assign(appeal_id, principal, login)
            elif action == "read":
                engine.appeal(appeal_id, operator=principal)
            else:
                engine.history(appeal_id, operator=principal)
        except PermissionDeniedError:
            self.refused += 1
            assert engine.appeal(appeal_id, operator=SYSTEM) == before
            return
        except NotFoundError:
            self.refused += 1
            assert not self.visible_to(principal, before)
            assert engine.appeal(appeal_id, operator=SYSTEM) == before
            return
        except CrmcmsError:  # the workflow's own refusals (closed, already taken, ...)
            assert engine.appeal(appeal_id, operator=SYSTEM) == before
            return
        self.succeeded += 1
        # read_all is read everywhere.
        granted = principal.may(NEEDED[action]) or (
            action == "read" and principal.may(Permission.READ_ALL)
        )
        assert granted, (login, action)
        assert self.visible_to(principal, before), (login, action)

    @invariant()
    def reads_stay_inside_the_queues(self) -> None:
        for login, principal in self.who.items():
            if not principal.may(Permission.READ):
                continue
            for queue in ("LINE", "BACK"):
                for appeal in self.engine.queue_appeals(queue, operator=principal):
                    assert self.visible_to(principal, appeal), (login, appeal.id)

    def teardown(self) -> None:
        TOTALS["succeeded"] += self.succeeded
        TOTALS["refused"] += self.refused


TOTALS = {"succeeded": 0, "refused": 0}


def test_random_principals_never_exceed_their_permissions() -> None:
    TOTALS.update(succeeded=0, refused=0)
    run_state_machine_as_test(
        RandomPrincipals,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # Runs that met only refusals, or only successes, would prove nothing.
    assert TOTALS["succeeded"] > 20, TOTALS
    assert TOTALS["refused"] > 20, TOTALS


# --- A host's own authentication ------------------------------------------------------------

SECRET = b"s" * 32


def sign_for(login: str) -> str:
    from examples.plugins.trusted_proxy import sign

    return sign(SECRET, login)


def sso_engine() -> Engine:
    from examples.plugins.trusted_proxy import TrustedProxy

    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS")])
    plugins = make_plugin_manager([billing, TrustedProxy(SECRET)], load_entry_points=False)
    catalog = load_catalog_text(DEFINITIONS + 'operator gone "Gone" inactive\n')
    return Engine(catalog, MemoryStore().unit_of_work, plugins=plugins)


def test_a_single_sign_on_plugin_hands_the_engine_its_principal() -> None:
    from examples.plugins.trusted_proxy import sign

    engine = sso_engine()
    ann = engine.authenticate_with(
        {"remote_user": "ann", "signature": sign(SECRET, "ann")}, source="10.0.0.7"
    )
    assert (ann.login, ann.source) == ("ann", "10.0.0.7")
    assert ann.may(Permission.HANDLE)
    appeal = register(engine, ann)
    assert engine.appeal(appeal.id, operator=ann) == appeal


@pytest.mark.parametrize(
    "credentials",
    [
        {"remote_user": "ann", "signature": "0" * 64},  # forged
        {"remote_user": "ann"},  # unsigned
        {"remote_user": "nobody", "signature": sign_for("nobody")},  # not an operator
        {"remote_user": "gone", "signature": sign_for("gone")},  # inactive
        {},
    ],
)
def test_credentials_no_plugin_places_are_refused(credentials: dict[str, object]) -> None:
    with pytest.raises(AuthenticationError, match="not accepted"):
        sso_engine().authenticate_with(credentials)


def test_refusals_are_audited_after_the_action_rolled_back() -> None:
    from crmcms import AuditLog, MemoryLoginStore
    from crmcms.engine import AuditKind

    store = MemoryStore()
    log = AuditLog(MemoryLoginStore(store=store))
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(load_catalog_text(DEFINITIONS), store.unit_of_work, plugins=plugins, audit=log)
    ann, mia = engine.trusted("ann"), attrs.evolve(engine.trusted("mia"), source="10.0.0.9")
    appeal = register(engine, ann)
    with pytest.raises(PermissionDeniedError):
        engine.transition(appeal.id, mia, "start")
    with pytest.raises(PermissionDeniedError):
        engine.bulk_close([appeal.id], ann)
    events = log.list(kind=AuditKind.REFUSED)
    assert [(e.login, e.outcome) for e in events] == [("ann", "bulk"), ("mia", "handle")]
    assert events[1].source == "10.0.0.9"
    assert "take transition start" in events[1].detail
    assert engine.appeal(appeal.id, operator=ann) == appeal
