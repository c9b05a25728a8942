"""The login gateway on every store: passwords, delays, lockouts, sessions, rehashing, audit."""

from __future__ import annotations

import hashlib
import secrets
import statistics
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import argon2
import attrs
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from crmcms import (
    AuthenticationError,
    CrmcmsError,
    KeyProfile,
    LoginGateway,
    LoginPolicy,
    LoginSession,
    LoginStore,
    MemoryLoginStore,
    NotFoundError,
    PermissionDeniedError,
    Principal,
    SqlLoginStore,
    ValidationError,
)
from crmcms.dsl import load_catalog_text
from crmcms.engine.authentication import INVALID_SESSION, WRONG_CREDENTIALS
from crmcms.engine.credentials import AuditKind
from crmcms.model import SYSTEM
from crmcms.storage import create_engine, upgrade_schema
from crmcms.storage.schema import metadata

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
CATALOG = load_catalog_text(
    """
operator ivan "Ivan"
operator olga "Olga"
operator nopass "Without a password"
operator retired "Left the company" inactive
operator sec "Security" { roles: SECURITY_ADMINISTRATOR }
"""
)
# Failures neither delay nor lock unless a test says so: most tests try many times.
LENIENT = LoginPolicy(first_delay=timedelta(0), max_failures=1_000_000)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[LoginStore]:
    """Each gateway test runs on the memory store, an SQLite file and PostgreSQL."""
    if request.param == "memory":
        yield MemoryLoginStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/logins.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    upgrade_schema(engine)
    yield SqlLoginStore(engine, upgrade=False)
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


Make = Callable[..., LoginGateway]


@pytest.fixture
def make(store: LoginStore, clock: Clock) -> Make:
    """A gateway on the test's store and clock; the cheap profile unless one is given."""

    def build(
        policy: LoginPolicy = LENIENT, profile: KeyProfile = KeyProfile.CHEAPEST
    ) -> LoginGateway:
        return LoginGateway(store, CATALOG, policy=policy, profile=profile, clock=clock)

    return build


@pytest.fixture
def gateway(make: Make) -> LoginGateway:
    g = make()
    for login in ("ivan", "olga", "retired", "sec"):
        g.set_password(SYSTEM, login, PASSWORD)
    return g


@pytest.fixture
def admin(gateway: LoginGateway) -> Principal:
    return gateway.authenticate("sec", PASSWORD, source="10.0.0.9").principal


def kinds(gateway: LoginGateway, login: str) -> list[str]:
    return [e.kind for e in reversed(gateway.audit(SYSTEM, login=login))]


# --- Passwords -----------------------------------------------------------------------------


def test_the_right_password_opens_a_session_for_the_operator(
    gateway: LoginGateway, clock: Clock
) -> None:
    session = gateway.authenticate("ivan", PASSWORD, source="10.0.0.1")
    assert session.principal.login == "ivan"
    assert session.principal.roles == {"OPERATOR"}
    assert session.principal.session is not None
    assert session.principal.source == "10.0.0.1"
    assert session.expires_at == clock.now + LoginPolicy().session_lifetime
    assert len(session.token) >= 43  # 32 random bytes, base64
    assert gateway.resolve(session.token) == session.principal


def test_a_wrong_password_is_refused(gateway: LoginGateway) -> None:
    with pytest.raises(AuthenticationError, match=f"^{WRONG_CREDENTIALS}$"):
        gateway.authenticate("ivan", "not the password")
    assert kinds(gateway, "ivan")[-1] == AuditKind.LOGIN_FAILED


@pytest.mark.parametrize("login", ["nobody", "nopass", "retired", "x" * 500])
def test_unknown_logins_and_those_who_may_not_log_in_get_the_same_answer(
    gateway: LoginGateway, login: str
) -> None:
    with pytest.raises(AuthenticationError) as refused:
        gateway.authenticate(login, PASSWORD)
    assert str(refused.value) == WRONG_CREDENTIALS
    failures = gateway.failures(SYSTEM, login[:200])
    assert failures is not None
    assert failures.count == 1


def test_an_unknown_login_costs_one_derivation_as_a_wrong_password_does(
    gateway: LoginGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    salts: list[bytes] = []
    derive = gateway._derive_raw

    def spy(secret: bytes, salt: bytes, parameters: Any) -> bytes:
        salts.append(salt)
        return derive(secret, salt, parameters)

    monkeypatch.setattr(gateway, "_derive_raw", spy)
    for login in ("ivan", "nobody", "nobody", "somebody"):
        with pytest.raises(AuthenticationError):
            gateway.authenticate(login, "wrong password")
    assert len(salts) == 4
    assert all(len(s) == 16 for s in salts)
    # A dummy salt is fixed per login, as a stored one would be, and differs between logins.
    assert salts[1] == salts[2] != salts[3]


def test_an_unknown_login_takes_about_as_long_as_a_wrong_password(gateway: LoginGateway) -> None:
    def timed(login: str) -> float:
        start = time.perf_counter()
        with pytest.raises(AuthenticationError):
            gateway.authenticate(login, "wrong password")
        return time.perf_counter() - start

    for login in ("ivan", "nobody"):  # warm caches and connections
        timed(login)
    known, unknown = [], []
    for _ in range(15):  # interleaved, so a slow moment of the machine hits both
        known.append(timed("ivan"))
        unknown.append(timed("nobody"))
    a, b = statistics.median(known), statistics.median(unknown)
    assert max(a, b) / min(a, b) < 3 or abs(a - b) < 0.002, (a, b)


@given(st.text(max_size=40))
def test_any_other_password_is_refused(password: str) -> None:
    g = LoginGateway(
        MemoryLoginStore(), CATALOG, policy=LENIENT, profile=KeyProfile.CHEAPEST, clock=Clock()
    )
    g.set_password(SYSTEM, "ivan", PASSWORD)
    if unicodedata.normalize("NFC", password) == PASSWORD:
        assert g.authenticate("ivan", password).principal.login == "ivan"
    else:
        with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
            g.authenticate("ivan", password)


def test_a_short_password_is_refused_saying_how_long_it_must_be(
    gateway: LoginGateway, admin: Principal
) -> None:
    with pytest.raises(ValidationError, match="at least 12 characters") as refused:
        gateway.set_password(admin, "ivan", "short")
    assert refused.value.codes() == ("password",)
    with pytest.raises(NotFoundError, match="nobody"):
        gateway.set_password(admin, "nobody", PASSWORD)


# --- Delays and lockouts -------------------------------------------------------------------


def test_after_a_failure_the_login_waits_then_may_try_again(make: Make, clock: Clock) -> None:
    policy = LoginPolicy(first_delay=timedelta(seconds=2), max_delay=timedelta(seconds=30))
    g = make(policy)
    g.set_password(SYSTEM, "ivan", PASSWORD)
    with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
        g.authenticate("ivan", "wrong password")
    with pytest.raises(AuthenticationError, match="wait"):
        g.authenticate("ivan", PASSWORD)  # the right one, but not checked yet
    clock.advance(timedelta(seconds=1))
    with pytest.raises(AuthenticationError, match="wait"):
        g.authenticate("ivan", PASSWORD)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
        g.authenticate("ivan", "wrong again")
    failures = g.failures(SYSTEM, "ivan")
    assert failures is not None
    assert failures.count == 2  # refused attempts are not counted
    assert failures.refused_until == clock.now + timedelta(seconds=4)  # doubled
    clock.advance(timedelta(seconds=4))
    assert g.authenticate("ivan", PASSWORD).principal.login == "ivan"
    assert g.failures(SYSTEM, "ivan") is None
    outcomes = [e.outcome for e in reversed(g.audit(SYSTEM, login="ivan"))]
    assert outcomes[-5:] == ["wrong_password", "delayed", "delayed", "wrong_password", "ok"]


def test_a_locked_login_stays_locked_until_a_security_administrator_unlocks_it(
    make: Make, clock: Clock
) -> None:
    policy = LoginPolicy(max_failures=3, lockout=None)
    g = make(policy)
    g.set_password(SYSTEM, "ivan", PASSWORD)
    g.set_password(SYSTEM, "sec", PASSWORD)
    admin = g.authenticate("sec", PASSWORD).principal
    for _ in range(3):
        with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
            g.authenticate("ivan", "wrong password")
        clock.advance(policy.max_delay)
    assert AuditKind.LOCKOUT in kinds(g, "ivan")
    clock.advance(timedelta(days=30))
    with pytest.raises(AuthenticationError, match="locked"):
        g.authenticate("ivan", PASSWORD)
    olga = Principal("olga", frozenset({"OPERATOR"}), frozenset())
    with pytest.raises(PermissionDeniedError, match="administer_security"):
        g.unlock(olga, "ivan")
    g.unlock(admin, "ivan")
    assert g.authenticate("ivan", PASSWORD).principal.login == "ivan"
    assert kinds(g, "ivan")[-3:] == [AuditKind.REFUSED, AuditKind.UNLOCK, AuditKind.LOGIN]


def test_a_lockout_ends_by_itself_and_the_count_starts_again(make: Make, clock: Clock) -> None:
    policy = LoginPolicy(max_failures=2, first_delay=timedelta(0), lockout=timedelta(minutes=10))
    g = make(policy)
    g.set_password(SYSTEM, "ivan", PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            g.authenticate("ivan", "wrong password")
    clock.advance(timedelta(minutes=9))
    with pytest.raises(AuthenticationError, match="locked"):
        g.authenticate("ivan", PASSWORD)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
        g.authenticate("ivan", "wrong password")
    failures = g.failures(SYSTEM, "ivan")
    assert failures is not None
    assert (failures.count, failures.locked_at) == (1, None)
    assert g.authenticate("ivan", PASSWORD).principal.login == "ivan"


def test_unknown_logins_are_locked_like_known_ones(make: Make) -> None:
    g = make(LoginPolicy(max_failures=2, first_delay=timedelta(0)))
    for _ in range(2):
        with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
            g.authenticate("nobody", "wrong password")
    with pytest.raises(AuthenticationError, match="locked"):
        g.authenticate("nobody", "wrong password")


def test_failures_at_the_same_time_are_all_counted(make: Make) -> None:
    g = make()
    g.set_password(SYSTEM, "ivan", PASSWORD)
    errors: list[BaseException] = []

    def fail_ten_times() -> None:
        for _ in range(10):
            try:
                g.authenticate("ivan", "wrong password")
            except AuthenticationError:
                pass
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

    threads = [threading.Thread(target=fail_ten_times) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    failures = g.failures(SYSTEM, "ivan")
    assert failures is not None
    assert failures.count == 20
    assert len(g.audit(SYSTEM, login="ivan", kind=AuditKind.LOGIN_FAILED)) == 20


def test_the_store_counts_failures_atomically(store: LoginStore) -> None:
    def fail_ten_times() -> None:
        for _ in range(10):
            with store.transaction() as tx:
                tx.record_failure("ivan", T0)

    threads = [threading.Thread(target=fail_ten_times) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.transaction(write=False) as tx:
        failures = tx.failures("ivan")
    assert failures is not None
    assert failures.count == 40


# --- Sessions ------------------------------------------------------------------------------


def test_a_session_ends_at_its_absolute_expiry_even_when_in_use(make: Make, clock: Clock) -> None:
    g = make(LoginPolicy(session_lifetime=timedelta(hours=2), idle_timeout=timedelta(hours=1)))
    g.set_password(SYSTEM, "ivan", PASSWORD)
    token = g.authenticate("ivan", PASSWORD).token
    for _ in range(3):
        clock.advance(timedelta(minutes=40))
        if clock.now < T0 + timedelta(hours=2):
            assert g.resolve(token).login == "ivan"
    with pytest.raises(AuthenticationError, match=f"^{INVALID_SESSION}$"):
        g.resolve(token)


def test_a_session_ends_when_left_idle_and_use_keeps_it_open(make: Make, clock: Clock) -> None:
    g = make(LoginPolicy(idle_timeout=timedelta(minutes=30), touch_every=timedelta(minutes=1)))
    g.set_password(SYSTEM, "ivan", PASSWORD)
    token = g.authenticate("ivan", PASSWORD).token
    clock.advance(timedelta(minutes=20))
    g.resolve(token)
    clock.advance(timedelta(minutes=25))  # 45 after the login, 25 after its last use
    g.resolve(token)
    clock.advance(timedelta(minutes=31))
    with pytest.raises(AuthenticationError, match=f"^{INVALID_SESSION}$"):
        g.resolve(token)


def test_a_session_is_not_written_on_every_use(make: Make, clock: Clock, store: LoginStore) -> None:
    g = make(LoginPolicy(touch_every=timedelta(minutes=1)))
    g.set_password(SYSTEM, "ivan", PASSWORD)
    token = g.authenticate("ivan", PASSWORD).token
    clock.advance(timedelta(seconds=30))
    g.resolve(token)
    with store.transaction(write=False) as tx:
        assert tx.sessions("ivan")[0].last_seen_at == T0
    clock.advance(timedelta(seconds=30))
    g.resolve(token)
    with store.transaction(write=False) as tx:
        assert tx.sessions("ivan")[0].last_seen_at == T0 + timedelta(minutes=1)


def test_tokens_logged_out_revoked_forged_or_cut_are_refused_alike(
    gateway: LoginGateway, admin: Principal
) -> None:
    first = gateway.authenticate("ivan", PASSWORD).token
    second = gateway.authenticate("ivan", PASSWORD).token
    third = gateway.authenticate("ivan", PASSWORD).token
    gateway.logout(first)
    assert gateway.revoke_sessions(admin, "ivan") == 2
    fourth = gateway.authenticate("ivan", PASSWORD).token
    bad = [
        first,
        second,
        third,
        secrets.token_urlsafe(32),
        fourth[:-1],
        fourth[:20],
        fourth + "A",
        "",
        "\udcff" * 10,
        "x" * 10_000,
    ]
    for token in bad:
        with pytest.raises(AuthenticationError) as refused:
            gateway.resolve(token)
        assert str(refused.value) == INVALID_SESSION
    assert gateway.resolve(fourth).login == "ivan"
    with pytest.raises(AuthenticationError, match=INVALID_SESSION):
        gateway.logout(first)
    assert [s.login for s in gateway.sessions(admin, "ivan")] == ["ivan"]


def test_a_session_of_an_operator_made_inactive_no_longer_opens(
    gateway: LoginGateway,
) -> None:
    token = gateway.authenticate("ivan", PASSWORD).token
    gateway.catalog = load_catalog_text('operator ivan "Ivan" inactive')
    with pytest.raises(AuthenticationError, match=INVALID_SESSION):
        gateway.resolve(token)
    gateway.catalog = CATALOG


def test_an_operator_sees_and_ends_its_own_sessions_but_not_others(
    gateway: LoginGateway,
) -> None:
    ivan = gateway.authenticate("ivan", PASSWORD).principal
    gateway.authenticate("olga", PASSWORD)
    assert len(gateway.sessions(ivan, "ivan")) == 1
    with pytest.raises(PermissionDeniedError, match="administer_security"):
        gateway.sessions(ivan, "olga")
    with pytest.raises(PermissionDeniedError, match="administer_security"):
        gateway.revoke_sessions(ivan, "olga")
    assert gateway.revoke_sessions(ivan, "ivan") == 1


def test_tokens_and_passwords_are_never_stored_in_clear(
    gateway: LoginGateway, store: LoginStore
) -> None:
    session = gateway.authenticate("ivan", PASSWORD, source="10.0.0.1")
    gateway.resolve(session.token)
    with pytest.raises(AuthenticationError):
        gateway.authenticate("ivan", "a wrong guess 123")
    token_hash = hashlib.sha256(session.token.encode()).digest()
    secrets_in_clear = [session.token, PASSWORD, "a wrong guess 123"]
    if isinstance(store, SqlLoginStore):
        with store.engine.connect() as conn:
            dump = [
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in conn.execute(sa.select(table))
            ]
            hashes = conn.execute(sa.text("SELECT token_hash FROM crm_session")).scalars().all()
        assert [bytes(h) for h in hashes] == [token_hash]
    else:
        with store.transaction(write=False) as tx:
            records: list[Any] = [*tx.sessions("ivan"), tx.credential("ivan"), *tx.audit()]
            dump = [repr(attrs.asdict(r, recurse=False)) for r in records if r is not None]
            assert [s.token_hash for s in tx.sessions("ivan")] == [token_hash]
    text = "\n".join(dump)
    for clear in secrets_in_clear:
        assert clear not in text
        assert clear.encode().hex() not in text
    assert session.token not in repr(session)


# --- Rehashing -----------------------------------------------------------------------------


def test_a_key_derived_with_an_old_profile_is_rehashed_at_login(
    make: Make, store: LoginStore
) -> None:
    old = make()
    old.set_password(SYSTEM, "ivan", PASSWORD)
    with store.transaction(write=False) as tx:
        before = tx.credential("ivan")
    assert before is not None
    assert before.parameters == KeyProfile.CHEAPEST.parameters
    stronger = KeyProfile(time_cost=2, memory_cost=64, parallelism=2)
    new = make(profile=stronger)
    new.authenticate("ivan", PASSWORD)
    with store.transaction(write=False) as tx:
        after = tx.credential("ivan")
    assert after is not None
    assert after.parameters == stronger.parameters
    assert after.salt != before.salt
    assert after.verifier != before.verifier
    assert new.authenticate("ivan", PASSWORD).principal.login == "ivan"
    with store.transaction(write=False) as tx:
        assert tx.credential("ivan") == after  # the same profile: nothing rewritten
    with pytest.raises(AuthenticationError):
        new.authenticate("ivan", "wrong password")
    assert "key rehashed" in new.audit(SYSTEM, login="ivan", kind=AuditKind.LOGIN)[-1].detail


def test_the_profiles_are_those_of_argon2_with_keys_and_salts_long_enough() -> None:
    profiles = argon2.profiles
    assert KeyProfile.from_argon2(profiles.RFC_9106_LOW_MEMORY) == KeyProfile.RFC_9106_LOW_MEMORY
    assert KeyProfile.from_argon2(profiles.CHEAPEST) == KeyProfile.CHEAPEST
    assert KeyProfile.CHEAPEST.hash_len == 32
    assert KeyProfile.CHEAPEST.salt_len == 16
    with pytest.raises(CrmcmsError, match="32 bytes"):
        KeyProfile(1, 8, 1, hash_len=16)


# --- Passwords changed and reset -----------------------------------------------------------


def test_only_a_security_administrator_resets_passwords_and_a_refusal_is_audited(
    gateway: LoginGateway, admin: Principal
) -> None:
    ivan = gateway.authenticate("ivan", PASSWORD).principal
    with pytest.raises(PermissionDeniedError) as refused:
        gateway.set_password(ivan, "olga", "a new password for olga")
    assert "administer_security" in str(refused.value)
    assert refused.value.operator == "ivan"
    event = gateway.audit(admin, kind=AuditKind.REFUSED)[0]
    assert (event.login, event.actor, event.outcome) == ("olga", "ivan", "denied")
    with pytest.raises(PermissionDeniedError, match="administer_security"):
        gateway.audit(ivan)
    gateway.set_password(admin, "olga", "a new password for olga")
    with pytest.raises(AuthenticationError):
        gateway.authenticate("olga", PASSWORD)
    assert gateway.authenticate("olga", "a new password for olga").principal.login == "olga"
    reset = gateway.audit(admin, login="olga", kind=AuditKind.PASSWORD_RESET)[0]
    assert (reset.actor, reset.source) == ("sec", "10.0.0.9")


def test_a_reset_ends_the_sessions_and_lifts_the_lock(make: Make) -> None:
    g = make(LoginPolicy(max_failures=2, first_delay=timedelta(0), lockout=None))
    g.set_password(SYSTEM, "ivan", PASSWORD)
    token = g.authenticate("ivan", PASSWORD).token
    for _ in range(2):
        with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
            g.authenticate("ivan", "wrong password")
    g.set_password(SYSTEM, "ivan", "another long password")
    with pytest.raises(AuthenticationError, match=INVALID_SESSION):
        g.resolve(token)
    assert g.authenticate("ivan", "another long password").principal.login == "ivan"


def test_an_operator_changes_its_own_password_knowing_the_old_one(
    gateway: LoginGateway,
) -> None:
    here = gateway.authenticate("ivan", PASSWORD)
    elsewhere = gateway.authenticate("ivan", PASSWORD)
    with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
        gateway.change_password(here.token, "not the old one", "a brand new password")
    with pytest.raises(ValidationError, match="at least 12"):
        gateway.change_password(here.token, PASSWORD, "short")
    gateway.change_password(here.token, PASSWORD, "a brand new password")
    assert gateway.resolve(here.token).login == "ivan"  # this session stays
    with pytest.raises(AuthenticationError, match=INVALID_SESSION):
        gateway.resolve(elsewhere.token)  # the others end
    with pytest.raises(AuthenticationError):
        gateway.authenticate("ivan", PASSWORD)
    gateway.change_password(here.principal, "a brand new password", "and yet another one")
    assert gateway.authenticate("ivan", "and yet another one").principal.login == "ivan"
    assert kinds(gateway, "ivan").count(AuditKind.PASSWORD_CHANGED) == 2


# --- Audit ---------------------------------------------------------------------------------


def test_the_audit_lists_what_happened_newest_first_and_filters(
    gateway: LoginGateway, admin: Principal, clock: Clock
) -> None:
    start = clock.now
    clock.advance(timedelta(minutes=1))
    with pytest.raises(AuthenticationError):
        gateway.authenticate("ivan", "wrong password", source="10.0.0.1")
    clock.advance(timedelta(minutes=1))
    session = gateway.authenticate("ivan", PASSWORD, source="10.0.0.1")
    clock.advance(timedelta(minutes=1))
    gateway.logout(session.token)
    events = gateway.audit(admin, login="ivan", since=start + timedelta(seconds=1))
    assert [e.kind for e in events] == [
        AuditKind.LOGOUT,
        AuditKind.LOGIN,
        AuditKind.LOGIN_FAILED,
    ]
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert all(e.source == "10.0.0.1" for e in events)
    assert events[2].outcome == "wrong_password"
    assert events[2].at == start + timedelta(minutes=1)
    assert [e.kind for e in gateway.audit(admin, kind=AuditKind.LOGIN, limit=1)] == ["login"]
    assert len(gateway.audit(admin, login="ivan", limit=2)) == 2
    assert gateway.audit(admin, login="nobody") == []


def test_a_login_session_does_not_show_its_token() -> None:
    principal = Principal("ivan")
    session = LoginSession("s3cr3t-token-value", principal, T0)
    assert "s3cr3t" not in repr(session)
    assert "ivan" in repr(session)


def test_a_login_too_long_for_the_table_is_not_taken_for_its_first_characters(
    store: LoginStore, clock: Clock
) -> None:
    long = "a" * 200
    catalog = load_catalog_text(f'operator {long} "Long"')
    g = LoginGateway(store, catalog, policy=LENIENT, profile=KeyProfile.CHEAPEST, clock=clock)
    g.set_password(SYSTEM, long, PASSWORD)
    with pytest.raises(AuthenticationError, match=WRONG_CREDENTIALS):
        g.authenticate(long + "b", PASSWORD)
    assert g.authenticate(long, PASSWORD).principal.login == long
