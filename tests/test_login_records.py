"""Stored logins: the delay growing per failure, session validity, no secrets in reprs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import sqlalchemy as sa

from crmcms.engine.credentials import Credential, KeyParameters, LoginPolicy, SessionRecord
from crmcms.storage.migrate import upgrade_schema

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_the_delay_doubles_per_failure_up_to_its_cap() -> None:
    policy = LoginPolicy(first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=10))
    assert [policy.delay(n).total_seconds() for n in range(6)] == [0, 1, 2, 4, 8, 10]
    assert policy.delay(1000) == timedelta(seconds=10)


def test_a_session_is_valid_until_revoked_expired_or_idle() -> None:
    s = SessionRecord(
        1, "ivanov", b"h" * 32, T0, T0, T0 + timedelta(hours=8), timedelta(minutes=30)
    )
    assert s.valid_at(T0 + timedelta(minutes=29))
    assert not s.valid_at(T0 + timedelta(minutes=31))
    assert not s.valid_at(T0 + timedelta(hours=9))
    assert not attrs.evolve(s, revoked_at=T0).valid_at(T0)
    assert "hhhh" not in repr(s)


def test_a_credential_shows_neither_salt_nor_verifier() -> None:
    c = Credential("ivanov", b"saltsaltsaltsalt", KeyParameters(1, 8, 1, 32), b"v" * 32, T0)
    assert "saltsalt" not in repr(c)
    assert "vvvv" not in repr(c)


def test_the_schema_holds_the_authentication_tables(tmp_path: object) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/auth.sqlite")
    upgrade_schema(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {"crm_credential", "crm_login_failure", "crm_auth_secret", "crm_session"} <= names
    assert "crm_audit" in names
    with engine.connect() as conn:
        secret = conn.execute(sa.text("SELECT secret FROM crm_auth_secret")).scalar_one()
    assert len(secret) == 32
