"""Least privilege on PostgreSQL: `crmcms db roles` on the real server, checked as the login
role itself and through the catalog."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crmcms import AuthenticationError, KeyProfile, LoginGateway, LoginPolicy, SqlLoginStore
from crmcms.dsl import load_catalog_text
from crmcms.entrypoints.cli import cli
from crmcms.errors import ConfigurationError, StorageError
from crmcms.model import SYSTEM, Appeal, AppealState
from crmcms.storage import create_engine, upgrade_schema
from crmcms.storage.sql import SqlStore
from crmcms.storage.sql.dataset import generate
from crmcms.storage.sql.login_functions import FunctionLoginStore
from crmcms.storage.sql.roles import RoleNames, check_roles, session_setting, set_up_roles
from crmcms.testing.stored import T0, add_contact

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery"
CATALOG = load_catalog_text(
    """
operator ivan "Ivan"
operator retired "Left the company" inactive
"""
)
LENIENT = LoginPolicy(first_delay=timedelta(0), max_failures=1_000_000)
INSUFFICIENT_PRIVILEGE = "42501"


@attrs.frozen
class Setup:
    """A test's schema of crm_* tables and the names of its own roles (roles are
    cluster-wide: each test names them after its schema, and drops them afterwards)."""

    url: str
    schema: str
    names: RoleNames
    engine: sa.Engine
    connect_as: Callable[[str], sa.Engine]

    def set_up(self, **options: Any) -> list[str]:
        options.setdefault("profile", KeyProfile.CHEAPEST)
        return set_up_roles(self.engine, self.names, **options)

    def check(self, **options: Any) -> list[str]:
        return [str(p) for p in check_roles(self.engine, self.names, **options)]

    def admin(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []


@pytest.fixture
def pg(postgres_url: str, postgres_admin: sa.Engine) -> Iterator[Setup]:
    schema = postgres_url.rsplit("search_path%3D", 1)[1]
    names = RoleNames(f"{schema}_login", f"{schema}_app", f"{schema}_owner", f"{schema}_auth")
    engine = create_engine(postgres_url)
    upgrade_schema(engine)
    opened: list[sa.Engine] = []

    def connect_as(role: str) -> sa.Engine:
        # A real connection as the role: the test server trusts 127.0.0.1.
        url = sa.make_url(postgres_url).set(username=role, password=None)
        made = create_engine(url.render_as_string(hide_password=False), poolclass=sa.NullPool)
        opened.append(made)
        return made

    try:
        yield Setup(postgres_url, schema, names, engine, connect_as)
    finally:
        for made in opened:
            made.dispose()
        engine.dispose()
        quote = postgres_admin.dialect.identifier_preparer.quote
        with postgres_admin.connect() as conn:
            existing = {
                r[0]
                for r in conn.execute(
                    sa.text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
                    {"names": list(names.roles)},
                )
            }
            for role in names.roles:
                if role in existing:
                    conn.execute(sa.text(f"DROP OWNED BY {quote(role)} CASCADE"))
            for role in names.roles:
                if role in existing:
                    conn.execute(sa.text(f"DROP ROLE {quote(role)}"))


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None)


def _gateway_with_password(pg: Setup, login: str = "ivan") -> SqlLoginStore:
    """A password for ``login``, set as the application would (the admin connection here)."""
    store = SqlLoginStore(pg.engine, upgrade=False)
    gateway = LoginGateway(store, CATALOG, profile=KeyProfile.CHEAPEST, policy=LENIENT)
    gateway.set_password(SYSTEM, login, PASSWORD)
    return store


# --- Setting up ----------------------------------------------------------------------------


def test_set_up_twice_gives_the_same_roles_and_no_problem(pg: Setup) -> None:
    first = pg.set_up(login_password="a password for the login role")
    assert f"role {pg.names.login}: created" in first
    assert "a password for the login role" not in "\n".join(first)
    assert pg.check(rls=False) == []
    second = pg.set_up()
    assert f"role {pg.names.login}: exists" in second
    assert [line for line in second if "created" in line] == []
    assert pg.check(rls=False) == []
    # The password went to the server as a SCRAM verifier, and the second run kept it.
    stored = pg.admin("SELECT rolpassword FROM pg_authid WHERE rolname = :r", r=pg.names.login)
    assert stored[0][0].startswith("SCRAM-SHA-256$")
    events = pg.admin("SELECT actor, detail FROM crm_audit WHERE kind = 'roles_set_up'")
    assert len(events) == 2
    assert events[0].actor == "postgres"
    assert pg.names.login in events[0].detail


def test_names_are_identifiers_and_the_backend_postgresql(tmp_path: Any) -> None:
    for bad in ("Crm", "crm-login", "x; DROP TABLE crm_appeal", "pg_login", "", "a" * 64):
        with pytest.raises(ConfigurationError):
            RoleNames(login=bad)
    with pytest.raises(ConfigurationError):
        RoleNames(login="same", app="same")
    engine = create_engine(f"sqlite:///{tmp_path}/x.sqlite")
    with pytest.raises(ConfigurationError):
        set_up_roles(engine)


def test_set_up_needs_the_tables(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with pytest.raises(StorageError, match="db upgrade"):
            set_up_roles(engine, RoleNames("never_login", "never_app", "never_owner", "never_x"))
    finally:
        engine.dispose()


# --- The login role, connected as itself ---------------------------------------------------


def test_the_login_role_selects_from_no_table(pg: Setup) -> None:
    pg.set_up()
    tables = [
        r[0]
        for r in pg.admin(
            "SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1", s=pg.schema
        )
    ]
    assert "crm_credential" in tables
    assert "crm_appeal" in tables
    assert len(tables) > 20
    login = pg.connect_as(pg.names.login)
    for table in tables:
        with login.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as refused:
            conn.execute(sa.text(f'SELECT 1 FROM "{pg.schema}"."{table}" LIMIT 1'))
        assert _sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE, table


def test_the_login_role_cannot_become_the_application(pg: Setup) -> None:
    pg.set_up()
    login = pg.connect_as(pg.names.login)
    for role in (pg.names.app, pg.names.owner, "postgres"):
        with login.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as refused:
            conn.execute(sa.text(f'SET ROLE "{role}"'))
        assert _sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE, role


def test_the_catalog_knows_no_privilege_and_no_membership_of_the_login_role(pg: Setup) -> None:
    pg.set_up()
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE")
    held = pg.admin(
        "SELECT n.nspname, c.relname, p FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace,"
        " unnest(CAST(:privileges AS text[])) AS p"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN"
        " ('pg_catalog', 'information_schema') AND has_table_privilege(:login, c.oid, p)",
        privileges=list(privileges),
        login=pg.names.login,
    )
    assert held == []
    swept = pg.admin(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = :s AND c.relkind = 'r'",
        s=pg.schema,
    )
    assert swept[0][0] > 20
    memberships = pg.admin(
        "SELECT rolname FROM pg_roles WHERE rolname <> :login"
        " AND (pg_has_role(:login, oid, 'MEMBER') OR pg_has_role(:login, oid, 'USAGE'))",
        login=pg.names.login,
    )
    assert memberships == []
    # What it has: USAGE on the functions' schema and EXECUTE on the login functions.
    assert pg.admin(
        "SELECT has_schema_privilege(:login, :auth, 'USAGE'),"
        " has_schema_privilege(:login, :auth, 'CREATE'),"
        " has_schema_privilege(:login, :tables, 'USAGE')",
        login=pg.names.login,
        auth=pg.names.schema,
        tables=pg.schema,
    ) == [(True, False, False)]


def test_the_application_role_has_dml_but_no_ddl_and_cannot_rewrite_the_audit(pg: Setup) -> None:
    pg.set_up(app_login=True)
    app = pg.connect_as(pg.names.app)
    with app.begin() as conn:
        conn.execute(sa.text("SELECT count(*) FROM crm_appeal")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO crm_audit (at, kind, login, outcome, detail)"
                " VALUES (now(), 'login', 'ivan', 'ok', 'by the app')"
            )
        )
    for statement in (
        "UPDATE crm_audit SET detail = 'rewritten'",
        "DELETE FROM crm_audit",
        "TRUNCATE crm_appeal",
        "CREATE TABLE crm_mine (id integer)",
        "DROP TABLE crm_note",
        "UPDATE crm_auth_secret SET secret = ''::bytea",
    ):
        # The connection's search path is the test's schema, as for every connection here.
        with app.begin() as conn, pytest.raises(sa.exc.ProgrammingError) as refused:
            conn.execute(sa.text(statement))
        assert _sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE, statement


def test_the_application_role_does_the_library_work(pg: Setup) -> None:
    pg.set_up(app_login=True)
    app = pg.connect_as(pg.names.app)
    store = SqlStore(app)  # the schema is at head: upgrading reads the version, writes nothing
    with store.unit_of_work() as uow:
        contact = add_contact(uow)
        made = Appeal(
            id=uow.appeals.next_id(),
            contact_id=contact.id,
            topic="CLAIM",
            route="R",
            route_version=1,
            process="work",
            queue="67",
            operator="olga",
            registered_at=T0,
            deadline=None,
            state=AppealState.OPEN,
            values={},
        )
        uow.appeals.add(made)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.appeals.get(made.id) == made
    logins = SqlLoginStore(app)
    gateway = LoginGateway(logins, CATALOG, profile=KeyProfile.CHEAPEST, policy=LENIENT)
    gateway.set_password(SYSTEM, "ivan", PASSWORD)
    session = gateway.authenticate("ivan", PASSWORD)
    assert gateway.resolve(session.token).login == "ivan"
    gateway.logout(session.token)


# --- The login functions -------------------------------------------------------------------


def _function_gateway(pg: Setup, policy: LoginPolicy = LENIENT) -> LoginGateway:
    store = FunctionLoginStore(pg.connect_as(pg.names.login), schema=pg.names.schema)
    return LoginGateway(store, CATALOG, profile=KeyProfile.CHEAPEST, policy=policy)


def _failures(pg: Setup, login: str) -> int | None:
    rows = pg.admin('SELECT "count" FROM crm_login_failure WHERE login = :l', l=login)
    return rows[0][0] if rows else None


def test_a_login_through_the_functions_opens_a_session(pg: Setup) -> None:
    pg.set_up(policy=LENIENT)
    _gateway_with_password(pg)
    gateway = _function_gateway(pg)
    session = gateway.authenticate("ivan", PASSWORD, source="10.1.2.3")
    assert session.principal.login == "ivan"
    assert session.principal.session is not None
    stored = pg.admin("SELECT id, login, token_hash, source FROM crm_session")
    assert [(r.id, r.login, bytes(r.token_hash), r.source) for r in stored] == [
        (
            session.principal.session,
            "ivan",
            hashlib.sha256(session.token.encode()).digest(),
            "10.1.2.3",
        )
    ]
    assert gateway.resolve(session.token).login == "ivan"
    # An application gateway on the tables resolves the same token.
    app_gateway = LoginGateway(SqlLoginStore(pg.engine, upgrade=False), CATALOG)
    assert app_gateway.resolve(session.token).session == session.principal.session
    kinds = pg.admin("SELECT kind, login, outcome FROM crm_audit WHERE kind LIKE 'login%'")
    assert [tuple(r) for r in kinds] == [("login", "ivan", "ok")]


def test_wrong_unknown_and_inactive_get_the_same_answer_and_are_counted(pg: Setup) -> None:
    pg.set_up(policy=LENIENT)
    _gateway_with_password(pg)
    _gateway_with_password(pg, "retired")
    gateway = _function_gateway(pg)
    answers = []
    for login, password in (
        ("ivan", "not the password"),
        ("nobody", PASSWORD),
        ("retired", PASSWORD),
    ):
        with pytest.raises(AuthenticationError) as refused:
            gateway.authenticate(login, password)
        answers.append(str(refused.value))
        assert _failures(pg, login) == 1
    assert len(set(answers)) == 1
    outcomes = pg.admin("SELECT login, outcome, detail FROM crm_audit ORDER BY id")
    assert [tuple(r) for r in outcomes if r.login != "ivan" or r.outcome != "ok"][-3:] == [
        ("ivan", "wrong_password", "failure 1"),
        ("nobody", "unknown_login", "failure 1"),
        ("retired", "wrong_password", "failure 1"),
    ]
    assert pg.admin("SELECT count(*) FROM crm_session") == [(0,)]
    # A success forgets the failures.
    gateway.authenticate("ivan", PASSWORD)
    assert _failures(pg, "ivan") is None


def test_an_unknown_login_gets_a_salt_of_its_own_and_the_default_parameters(pg: Setup) -> None:
    pg.set_up()
    store = FunctionLoginStore(pg.connect_as(pg.names.login), schema=pg.names.schema)
    secret = bytes(pg.admin("SELECT secret FROM crm_auth_secret")[0][0])
    for login in ("nobody", "Никто", "x" * 300, ""):
        salt, parameters = store.login_parameters(login)
        expected = hmac.new(secret, login.encode(), hashlib.sha256).digest()[:16]
        assert salt == expected, login
        assert parameters == KeyProfile.CHEAPEST.parameters
        assert store.login_parameters(login) == (salt, parameters)
    _gateway_with_password(pg)
    stored = pg.admin("SELECT salt FROM crm_credential WHERE login = 'ivan'")
    assert store.login_parameters("ivan")[0] == bytes(stored[0][0])


def test_the_hand_made_hmac_is_hmac_sha256(pg: Setup) -> None:
    pg.set_up()
    for key_len in (0, 1, 32, 63, 64, 65, 200):
        key, message = secrets.token_bytes(key_len), secrets.token_bytes(key_len % 50)
        found = pg.admin(f'SELECT "{pg.names.schema}".hmac_sha256(:k, :m)', k=key, m=message)[0][0]
        assert bytes(found) == hmac.new(key, message, hashlib.sha256).digest(), key_len


def test_failures_delay_then_lock_in_the_database(pg: Setup) -> None:
    policy = LoginPolicy(max_failures=3, first_delay=timedelta(0), lockout=timedelta(minutes=30))
    pg.set_up(policy=policy)
    _gateway_with_password(pg)
    gateway = _function_gateway(pg, policy)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            gateway.authenticate("ivan", "wrong guess")
    assert _failures(pg, "ivan") == 3
    with pytest.raises(AuthenticationError):
        gateway.authenticate("ivan", PASSWORD)  # locked: the right password opens nothing
    assert _failures(pg, "ivan") == 3
    outcomes = [
        tuple(r)
        for r in pg.admin("SELECT kind, outcome FROM crm_audit WHERE login = 'ivan' ORDER BY id")
    ]
    assert ("lockout", "ok") in outcomes
    assert outcomes[-1] == ("login_failed", "locked")
    assert pg.admin("SELECT count(*) FROM crm_session") == [(0,)]


def test_a_failure_delays_the_next_attempt(pg: Setup) -> None:
    policy = LoginPolicy(first_delay=timedelta(minutes=1))
    pg.set_up(policy=policy)
    _gateway_with_password(pg)
    gateway = _function_gateway(pg, policy)
    with pytest.raises(AuthenticationError):
        gateway.authenticate("ivan", "wrong guess")
    with pytest.raises(AuthenticationError):
        gateway.authenticate("ivan", PASSWORD)
    last = pg.admin("SELECT outcome FROM crm_audit ORDER BY id DESC LIMIT 1")
    assert last == [("delayed",)]


def test_the_functions_cap_the_session_lifetime_and_check_the_token_hash(pg: Setup) -> None:
    pg.set_up(policy=LoginPolicy(session_lifetime=timedelta(hours=1)))
    _gateway_with_password(pg)
    store = FunctionLoginStore(pg.connect_as(pg.names.login), schema=pg.names.schema)
    salt, parameters = store.login_parameters("ivan")
    gateway = _function_gateway(pg)
    key = gateway._derive(PASSWORD, salt, parameters)
    session = store.login(
        "ivan",
        key,
        secrets.token_bytes(32),
        source=None,
        lifetime=timedelta(days=365),
        idle_timeout=timedelta(minutes=5),
    )
    assert session is not None
    span = pg.admin("SELECT expires_at - created_at, idle_seconds FROM crm_session")
    assert span == [(timedelta(hours=1), 300)]
    with pytest.raises(StorageError):
        store.login(
            "ivan",
            key,
            b"short",
            source=None,
            lifetime=timedelta(hours=1),
            idle_timeout=timedelta(minutes=5),
        )
    with pytest.raises(StorageError, match="reads no table"):
        store.transaction()


# --- Checking ------------------------------------------------------------------------------


def test_check_reports_what_was_broken_and_set_up_repairs_it(pg: Setup) -> None:
    pg.set_up()
    n, s = pg.names, pg.schema
    breakage = [
        (f'GRANT SELECT ON "{s}".crm_credential TO "{n.login}"', "may SELECT on"),
        (f'GRANT "{n.app}" TO "{n.login}"', f"can SET ROLE {n.app}"),
        (
            f'ALTER FUNCTION "{n.schema}".login_parameters(text) SECURITY INVOKER',
            "SECURITY DEFINER",
        ),
        (f'ALTER FUNCTION "{n.schema}".session_login(bytea) RESET search_path', "search_path"),
        (
            f'GRANT EXECUTE ON FUNCTION "{n.schema}".login(text, bytea, bytea, text, interval,'
            " interval) TO PUBLIC",
            "executable by PUBLIC",
        ),
        (f'ALTER ROLE "{n.owner}" LOGIN', "can log in"),
        (f'GRANT TRUNCATE ON "{s}".crm_audit TO "{n.app}"', "may TRUNCATE"),
        (f'REVOKE INSERT ON "{s}".crm_history FROM "{n.app}"', "lacks INSERT"),
        (f'GRANT CREATE ON SCHEMA "{n.schema}" TO "{n.login}"', "may create objects"),
    ]
    for statement, _ in breakage:
        pg.admin(statement)
    found = pg.check()
    for statement, expected in breakage:
        assert any(expected in line for line in found), (statement, found)
    pg.set_up()
    assert pg.check() == []


def test_the_cli_sets_up_checks_and_fails_on_a_problem(pg: Setup) -> None:
    n = pg.names
    names = [
        "--login-role",
        n.login,
        "--app-role",
        n.app,
        "--owner-role",
        n.owner,
        "--auth-schema",
        n.schema,
    ]
    runner = CliRunner()
    check = runner.invoke(cli, ["db", "roles", "--url", pg.url, *names, "--check"])
    assert check.exit_code == 1
    assert "does not exist" in check.output
    done = runner.invoke(
        cli,
        ["db", "roles", "--url", pg.url, *names, "--key-profile", "cheapest"],
        env={"CRMCMS_LOGIN_ROLE_PASSWORD": "the login role's password"},
    )
    assert done.exit_code == 0, done.output
    assert "password set" in done.output
    assert "the login role's password" not in done.output
    assert "no problem found" in done.output
    again = runner.invoke(cli, ["db", "roles", "--url", pg.url, *names, "--check"])
    assert again.exit_code == 0, again.output
    pg.admin(f'GRANT SELECT ON "{pg.schema}".crm_session TO "{n.login}"')
    broken = runner.invoke(cli, ["db", "roles", "--url", pg.url, *names, "--check"])
    assert broken.exit_code == 1
    assert f"problem: role {n.login}: may SELECT on {pg.schema}.crm_session" in broken.output
    bad = runner.invoke(cli, ["db", "roles", "--url", pg.url, "--login-role", "Bad-Name"])
    assert bad.exit_code != 0
    assert "lower-case identifier" in bad.output


# --- Row level security --------------------------------------------------------------------


def test_row_level_security_lets_appeals_through_only_for_a_valid_session(pg: Setup) -> None:
    pg.set_up(app_login=True, rls=True, policy=LENIENT)
    assert pg.check(rls=True) == []
    assert any("row level security" in line for line in pg.check(rls=False))
    generate(pg.engine, 5)  # as the superuser, whom the policy does not bind
    _gateway_with_password(pg)
    session = _function_gateway(pg).authenticate("ivan", PASSWORD)
    app = pg.connect_as(pg.names.app)

    def visible(setting: str | None) -> int:
        with app.begin() as conn:
            if setting is not None:
                conn.execute(
                    sa.text("SELECT set_config('crmcms.session', :v, true)"), {"v": setting}
                )
            return int(conn.execute(sa.text("SELECT count(*) FROM crm_appeal")).scalar_one())

    assert visible(None) == 0
    assert visible("not a hash") == 0
    assert visible(session_setting("a forged token")) == 0
    assert visible(session_setting(session.token)) == 5
    with app.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crm_history")).scalar_one() == 0
    # The setting is the transaction's: the next one sees nothing again.
    assert visible(None) == 0
    LoginGateway(SqlLoginStore(pg.engine, upgrade=False), CATALOG).logout(session.token)
    assert visible(session_setting(session.token)) == 0
    # Without the policy, as before.
    pg.set_up(app_login=True, rls=False)
    assert visible(None) == 5
    assert pg.check(rls=False) == []
