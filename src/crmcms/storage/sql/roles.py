"""Least privilege on PostgreSQL: the roles and login functions ``crmcms db roles`` sets up.

Three roles:

* the **owner** (NOLOGIN) owns a schema of SECURITY DEFINER functions and holds exactly the
  table privileges they need;
* the **login** role (what a login endpoint connects as) holds no table privilege and no
  membership: it can only call the functions, which check a key derived outside the
  database and open a session;
* the **application** role holds the DML the library's work needs on the crm_* tables: no
  DDL, no ownership, and the login role cannot become it.

:func:`set_up_roles` is idempotent (it revokes what it does not grant, so running it again
repairs a setup); :func:`check_roles` reports what is wrong with one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import psycopg
import sqlalchemy as sa
from psycopg import Connection as PgConnection
from psycopg import sql

from crmcms.engine.authentication import KeyProfile
from crmcms.engine.credentials import AuditKind, LoginPolicy
from crmcms.errors import ConfigurationError, Problem, StorageError
from crmcms.storage.sql import _auth_functions as functions

__all__ = [
    "APP_PRIVILEGES",
    "OWNER_PRIVILEGES",
    "RLS_TABLES",
    "RoleNames",
    "check_roles",
    "session_setting",
    "set_up_roles",
]

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
"""Role and schema names: plain lower-case identifiers, nothing that needs quoting."""

_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_DML = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})

OWNER_PRIVILEGES: Mapping[str, frozenset[str]] = {
    "crm_credential": frozenset({"SELECT"}),
    "crm_auth_secret": frozenset({"SELECT"}),
    "crm_login_failure": _DML,
    # RETURNING id needs SELECT; session_login reads it too.
    "crm_session": frozenset({"SELECT", "INSERT"}),
    "crm_audit": frozenset({"INSERT"}),
}
"""What the login functions do to each table, and so all their owner may do."""

_OWNER_SEQUENCES = ("crm_session", "crm_audit")
"""The tables whose id sequences the functions draw from."""

APP_PRIVILEGES: Mapping[str, frozenset[str]] = {
    # The audit is only ever appended to and read: the application cannot rewrite it.
    "crm_audit": frozenset({"SELECT", "INSERT"}),
    # Written once by the migration; migrations are run by the schema's owner, not the app.
    "crm_auth_secret": frozenset({"SELECT"}),
    "crm_schema_version": frozenset({"SELECT"}),
}
"""The application role's privileges where they are less than SELECT, INSERT, UPDATE and
DELETE, which it has on every other crm_* table."""

RLS_TABLES = ("crm_appeal", "crm_history", "crm_attachment")
"""The tables ``rls=True`` guards: an appeal, its history and its attachments (the values of
an appeal's attributes are columns of crm_appeal)."""

_POLICY = "crmcms_session"
_LOCK = 0x63726D73  # "crms": one set-up at a time per database


@attrs.frozen
class RoleNames:
    """The names of the three roles and of the functions' schema.

    Roles are cluster-wide: two databases of one server need different names.
    """

    login: str = "crmcms_login"
    app: str = "crmcms_app"
    owner: str = "crmcms_owner"
    schema: str = "crmcms_auth"

    def __attrs_post_init__(self) -> None:
        for what, name in attrs.asdict(self).items():
            if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith("pg_"):
                raise ConfigurationError(
                    f"the {what} name {name!r} must be a lower-case identifier of at most 63 "
                    "letters, digits and underscores, not starting with a digit or pg_"
                )
        if len({self.login, self.app, self.owner}) != 3:
            raise ConfigurationError("the login, application and owner roles must differ")

    @property
    def roles(self) -> tuple[str, str, str]:
        return (self.login, self.app, self.owner)


def _ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


def _interval(value: timedelta | None) -> sql.Composable:
    if value is None:
        return sql.SQL("NULL::interval")
    return sql.SQL("make_interval(secs => {})").format(sql.Literal(value.total_seconds()))


class _Session:
    """The psycopg connection of one set-up or check transaction."""

    def __init__(self, conn: PgConnection[Any]) -> None:
        self.conn = conn

    def run(self, statement: sql.Composed | sql.SQL, params: Iterable[Any] | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(statement, None if params is None else tuple(params))

    def rows(self, query: str | sql.Composed | sql.SQL, params: Iterable[Any] = ()) -> list[Any]:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL(query) if isinstance(query, str) else query, tuple(params))
            return list(cur.fetchall())

    def value(self, query: str, params: Iterable[Any] = ()) -> Any:
        found = self.rows(query, params)
        return found[0][0] if found else None


@contextmanager
def _session(engine: sa.Engine, *, write: bool) -> Iterator[_Session]:
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        raise ConfigurationError(
            "database roles are a PostgreSQL feature: use a postgresql:// URL (psycopg)"
        )
    try:
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            assert isinstance(raw, PgConnection)
            session = _Session(raw)
            if write:
                session.rows("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            yield session
    except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
        # Statements go through the psycopg connection itself: its errors are not wrapped.
        raise StorageError(f"database roles: {exc}") from exc


def _tables_schema(db: _Session) -> str:
    """The schema the crm_* tables are in: where the connection's search path finds them."""
    schema = db.value(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass('crm_credential')"
    )
    if schema is None:
        raise StorageError("no crm_credential table: run 'crmcms db upgrade' first")
    return str(schema)


def _tables(db: _Session, schema: str) -> list[str]:
    found = db.rows(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname LIKE 'crm\\_%%'"
        " ORDER BY c.relname",
        (schema,),
    )
    return [str(r[0]) for r in found]


def _sequences(db: _Session, schema: str) -> dict[str, str]:
    """The sequences owned by the crm_* tables' columns, by table."""
    found = db.rows(
        "SELECT t.relname, s.relname FROM pg_depend d"
        " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
        " AND d.deptype IN ('a', 'i') AND n.nspname = %s AND t.relname LIKE 'crm\\_%%'"
        " ORDER BY t.relname",
        (schema,),
    )
    return {str(table): str(seq) for table, seq in found}


def app_privileges(table: str) -> frozenset[str]:
    """What the application role may do to ``table``."""
    return APP_PRIVILEGES.get(table, _DML)


def session_setting(token: str) -> str:
    """What the application sets ``crmcms.session`` to for a request of session ``token``
    (``SELECT set_config('crmcms.session', :value, true)`` at the start of each transaction)
    when row level security is on: the SHA-256 of the token in hex, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- Setting up --------------------------------------------------------------------------


def set_up_roles(
    engine: sa.Engine,
    names: RoleNames | None = None,
    *,
    login_password: str | None = None,
    app_login: bool = False,
    app_password: str | None = None,
    rls: bool = False,
    profile: KeyProfile = KeyProfile.RFC_9106_LOW_MEMORY,
    policy: LoginPolicy | None = None,
) -> list[str]:
    """Create or repair the roles, the functions' schema, the functions and the grants.

    Run it as a superuser (or a role that may create roles and owns the crm_* tables), after
    ``crmcms db upgrade`` and again after each upgrade, so new tables get their grants. It
    runs in one transaction and returns what it did, one line per step.

    A password given is sent to the server as a SCRAM verifier computed here, so it is in no
    statement and no server log; without one the role's password is left as it is (none for
    a new role: peer or certificate authentication). ``profile`` gives the parameters
    answered for unknown logins and ``policy`` the delays, lockout and longest sessions the
    functions enforce (the defaults are the gateway's).
    """
    names = names or RoleNames()
    policy = policy or LoginPolicy()
    if app_password is not None and not app_login:
        raise ConfigurationError("an application role's password needs app_login")
    done: list[str] = []
    with _session(engine, write=True) as db:
        tables_schema = _tables_schema(db)
        if tables_schema == names.schema:
            raise ConfigurationError(
                f"the functions' schema {names.schema!r} must not be the tables' schema"
            )
        tables = _tables(db, tables_schema)
        missing = sorted(set(OWNER_PRIVILEGES) - set(tables))
        if missing:
            raise StorageError(f"tables missing: {', '.join(missing)}: run 'crmcms db upgrade'")
        sequences = _sequences(db, tables_schema)

        done += _roles(db, names, login_password, app_login, app_password)
        done += _schemas(db, names, tables_schema)
        done += _table_grants(db, names, tables_schema, tables, sequences)
        done += _functions(db, names, tables_schema, profile, policy)
        done += _row_security(db, names, tables_schema, tables, rls)
        db.run(
            sql.SQL(
                "INSERT INTO {}.crm_audit (at, kind, login, actor, source, outcome, detail)"
                " VALUES (%s, %s, NULL, current_user, NULL, 'ok', %s)"
            ).format(_ident(tables_schema)),
            (
                datetime.now(UTC),
                AuditKind.ROLES_SET_UP.value,
                f"login {names.login}, app {names.app}, owner {names.owner}, "
                f"schema {names.schema}, rls {'on' if rls else 'off'}",
            ),
        )
    return done


def _role_exists(db: _Session, name: str) -> bool:
    return bool(db.value("SELECT count(*) FROM pg_roles WHERE rolname = %s", (name,)))


_SAFE_ATTRIBUTES = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def _roles(
    db: _Session,
    names: RoleNames,
    login_password: str | None,
    app_login: bool,
    app_password: str | None,
) -> list[str]:
    done: list[str] = []
    wanted = (
        (names.owner, False, "NOINHERIT", None),
        (names.login, True, "NOINHERIT", login_password),
        (names.app, app_login, "INHERIT", app_password),
    )
    for name, can_login, inherit, password in wanted:
        login = "LOGIN" if can_login else "NOLOGIN"
        if _role_exists(db, name):
            done.append(f"role {name}: exists")
        else:
            db.run(sql.SQL("CREATE ROLE {} " + login).format(_ident(name)))
            done.append(f"role {name}: created")
        db.run(
            sql.SQL(f"ALTER ROLE {{}} {login} {inherit} {_SAFE_ATTRIBUTES}").format(_ident(name))
        )
        if not can_login:
            # A role that cannot log in needs no password; one left over would work again
            # as soon as someone allowed it to log in.
            db.run(sql.SQL("ALTER ROLE {} PASSWORD NULL").format(_ident(name)))
        elif password is not None:
            verifier = db.conn.pgconn.encrypt_password(
                password.encode(), name.encode(), b"scram-sha-256"
            )
            db.run(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    _ident(name), sql.Literal(verifier.decode("ascii"))
                )
            )
            done.append(f"role {name}: password set")
    # No role may make the login or owner role act as another, nor the application become
    # the owner: their memberships are all revoked, whoever granted them.
    # Named with its grantor: from PostgreSQL 16 on, a membership granted by another role
    # survives a plain REVOKE.
    memberships = db.rows(
        "SELECT r.rolname, u.rolname, pg_get_userbyid(m.grantor) FROM pg_auth_members m"
        " JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member"
        " WHERE u.rolname = ANY(%s) OR (u.rolname = %s AND r.rolname = ANY(%s))"
        " ORDER BY 2, 1",
        ([names.login, names.owner], names.app, [names.login, names.owner]),
    )
    for role, member, grantor in memberships:
        db.run(
            sql.SQL("REVOKE {} FROM {} GRANTED BY {}").format(
                _ident(role), _ident(member), _ident(grantor)
            )
        )
        done.append(f"role {member}: membership in {role} revoked")
    return done


def _schemas(db: _Session, names: RoleNames, tables_schema: str) -> list[str]:
    auth, owner = _ident(names.schema), _ident(names.owner)
    exists = db.value("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (names.schema,))
    if exists:
        db.run(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(auth, owner))
    else:
        db.run(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(auth, owner))
    db.run(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(auth))
    for role in (names.login, names.app):
        db.run(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(auth, _ident(role)))
        db.run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(auth, _ident(role)))
    tables = _ident(tables_schema)
    db.run(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(tables, _ident(names.login)))
    for role in (names.owner, names.app):
        db.run(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(tables, _ident(role)))
        db.run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(tables, _ident(role)))
    return [
        f"schema {names.schema}: {'owned by' if exists else 'created for'} {names.owner}, "
        f"usage for {names.login} and {names.app}",
        f"schema {tables_schema}: usage for {names.owner} and {names.app}",
    ]


def _table_grants(
    db: _Session,
    names: RoleNames,
    schema: str,
    tables: list[str],
    sequences: Mapping[str, str],
) -> list[str]:
    everyone = sql.SQL(", ").join([sql.SQL("PUBLIC"), *(_ident(role) for role in names.roles)])
    for table in tables:
        # Revoked first, so what a role ends with is exactly what is granted below.
        db.run(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(_ident(schema, table), everyone))
        for role, privileges in (
            (names.app, app_privileges(table)),
            (names.owner, OWNER_PRIVILEGES.get(table, frozenset())),
        ):
            if privileges:
                db.run(
                    sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in sorted(privileges)),
                        _ident(schema, table),
                        _ident(role),
                    )
                )
    for table, sequence in sequences.items():
        target = _ident(schema, sequence)
        db.run(sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(target, everyone))
        if "INSERT" in app_privileges(table):
            db.run(
                sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(
                    target, _ident(names.app)
                )
            )
        if table in _OWNER_SEQUENCES:
            db.run(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(target, _ident(names.owner)))
    return [
        f"tables: {names.app} may use {len(tables)} crm_* tables, {names.owner} "
        f"{len(OWNER_PRIVILEGES)}, {names.login} none",
    ]


def _function_options(
    names: RoleNames, tables_schema: str, profile: KeyProfile, policy: LoginPolicy
) -> dict[str, sql.Composable]:
    from crmcms.engine.authentication import _LOGIN_WIDTH, _SOURCE_WIDTH

    p = profile
    return {
        "tables": _ident(tables_schema),
        "auth": _ident(names.schema),
        "salt_len": sql.Literal(p.salt_len),
        "time_cost": sql.Literal(p.time_cost),
        "memory_cost": sql.Literal(p.memory_cost),
        "parallelism": sql.Literal(p.parallelism),
        "hash_len": sql.Literal(p.hash_len),
        "version": sql.Literal(p.version),
        "login_width": sql.Literal(_LOGIN_WIDTH),
        "source_width": sql.Literal(_SOURCE_WIDTH),
        "max_lifetime": _interval(policy.session_lifetime),
        "max_idle": _interval(policy.idle_timeout),
        "lockout": _interval(policy.lockout),
        "max_failures": sql.Literal(policy.max_failures),
        "first_delay": sql.Literal(policy.first_delay.total_seconds()),
        "max_delay": sql.Literal(policy.max_delay.total_seconds()),
    }


def _signature(names: RoleNames, name: str, arguments: str) -> sql.Composed:
    return sql.SQL("{}({})").format(_ident(names.schema, name), sql.SQL(arguments))


def _functions(
    db: _Session,
    names: RoleNames,
    tables_schema: str,
    profile: KeyProfile,
    policy: LoginPolicy,
) -> list[str]:
    options = _function_options(names, tables_schema, profile, policy)
    done: list[str] = []
    for definer, group in ((False, functions.HELPERS), (True, functions.FUNCTIONS)):
        for name, arguments, returns, body in group:
            signature = _signature(names, name, arguments)
            text = body.format(**options).as_string(db.conn)
            db.run(
                sql.SQL(
                    "CREATE OR REPLACE FUNCTION {} RETURNS {} LANGUAGE plpgsql {}"
                    " SET search_path = {} AS {}"
                ).format(
                    signature,
                    sql.SQL(returns),
                    sql.SQL("SECURITY DEFINER" if definer else "SECURITY INVOKER"),
                    sql.SQL(functions.SEARCH_PATH),
                    sql.Literal(text),
                )
            )
            db.run(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(signature, _ident(names.owner)))
            db.run(
                sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC, {}, {}").format(
                    signature, _ident(names.login), _ident(names.app)
                )
            )
            grantees = _function_grantees(names, name)
            if grantees:
                db.run(
                    sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                        signature, sql.SQL(", ").join(_ident(g) for g in grantees)
                    )
                )
            done.append(
                f"function {names.schema}.{name}: "
                + (f"executable by {', '.join(grantees)}" if grantees else "internal")
            )
    return done


def _function_grantees(names: RoleNames, function: str) -> tuple[str, ...]:
    """Who may call each function: the login role its two phases; both roles the session
    checks (the application's row level security calls the last one)."""
    if function in ("login_parameters", "login"):
        return (names.login,)
    if function in ("session_login", "current_session_valid"):
        return (names.login, names.app)
    return ()


def _row_security(
    db: _Session, names: RoleNames, schema: str, tables: list[str], rls: bool
) -> list[str]:
    done: list[str] = []
    for table in RLS_TABLES:
        if table not in tables:
            continue
        target = _ident(schema, table)
        db.run(sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(_ident(_POLICY), target))
        if rls:
            # A sub-select, so the session is checked once per statement, not once per row.
            valid = sql.SQL("(SELECT {}())").format(_ident(names.schema, "current_session_valid"))
            db.run(
                sql.SQL("CREATE POLICY {} ON {} FOR ALL TO {} USING ({}) WITH CHECK ({})").format(
                    _ident(_POLICY), target, _ident(names.app), valid, valid
                )
            )
            db.run(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(target))
            db.run(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(target))
            done.append(f"table {table}: row level security by session")
        else:
            db.run(sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(target))
            db.run(sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(target))
    return done


# --- Checking ----------------------------------------------------------------------------


def check_roles(
    engine: sa.Engine, names: RoleNames | None = None, *, rls: bool | None = None
) -> list[Problem]:
    """What is wrong with the setup of ``names``: an empty list if nothing.

    Each problem's code names the role, function or table it concerns. ``rls`` says whether
    row level security is expected on (``True``), off (``False``) or either (``None``).
    """
    names = names or RoleNames()
    found: list[Problem] = []
    with _session(engine, write=False) as db:
        tables_schema = _tables_schema(db)
        roles = {
            str(r[0]): r
            for r in db.rows(
                "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb,"
                " rolreplication, rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)",
                (list(names.roles),),
            )
        }
        for name in names.roles:
            if name not in roles:
                found.append(Problem(f"role {name}", "does not exist"))
        if found:
            return found
        found += _check_attributes(names, roles)
        found += _check_memberships(db, names)
        found += _check_login_privileges(db, names, tables_schema)
        found += _check_table_grants(db, names, tables_schema)
        found += _check_functions(db, names)
        if rls is not None:
            found += _check_row_security(db, names, tables_schema, rls)
    return found


def _check_attributes(names: RoleNames, roles: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    for name in names.roles:
        _, can_login, *powers = roles[name]
        for power, flag in zip(
            ("SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"),
            powers,
            strict=True,
        ):
            if flag:
                found.append(Problem(f"role {name}", f"has {power}"))
        if name == names.owner and can_login:
            found.append(Problem(f"role {name}", "can log in: the owner must be NOLOGIN"))
        if name == names.login and not can_login:
            found.append(Problem(f"role {name}", "cannot log in"))
    return found


def _check_memberships(db: _Session, names: RoleNames) -> list[Problem]:
    found: list[Problem] = []
    for member in (names.login, names.owner):
        for (role,) in db.rows(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid"
            " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s ORDER BY 1",
            (member,),
        ):
            found.append(Problem(f"role {member}", f"is a member of {role}"))
    # Memberships through other roles too: whatever pg_has_role says the login role can
    # become, it can SET ROLE to.
    for (role,) in db.rows(
        "SELECT r.rolname FROM pg_roles r WHERE r.rolname <> %s"
        " AND pg_has_role(%s, r.oid, 'MEMBER') ORDER BY 1",
        (names.login, names.login),
    ):
        found.append(Problem(f"role {names.login}", f"can SET ROLE {role}"))
    if db.value("SELECT pg_has_role(%s, %s, 'MEMBER')", (names.app, names.owner)):
        found.append(Problem(f"role {names.app}", f"can SET ROLE {names.owner}"))
    return found


def _check_login_privileges(db: _Session, names: RoleNames, tables_schema: str) -> list[Problem]:
    """The login role's sweep: any privilege on any table, sequence or schema of the
    database (through PUBLIC too) but USAGE on the functions' schema is a problem."""
    found: list[Problem] = []
    login = names.login
    checks = sql.SQL(", ").join(
        sql.SQL("has_table_privilege(%s, c.oid, {})").format(sql.Literal(p))
        for p in _TABLE_PRIVILEGES
    )
    rows = db.rows(
        sql.SQL(
            "SELECT n.nspname, c.relname, {} FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg\\_toast%%' ORDER BY 1, 2"
        ).format(checks),
        [login] * len(_TABLE_PRIVILEGES),
    )
    for schema, table, *flags in rows:
        held = [p for p, flag in zip(_TABLE_PRIVILEGES, flags, strict=True) if flag]
        if held:
            found.append(Problem(f"role {login}", f"may {', '.join(held)} on {schema}.{table}"))
    for schema, sequence in db.rows(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'S' AND (has_sequence_privilege(%s, c.oid, 'USAGE')"
        " OR has_sequence_privilege(%s, c.oid, 'SELECT')"
        " OR has_sequence_privilege(%s, c.oid, 'UPDATE')) ORDER BY 1, 2",
        (login, login, login),
    ):
        found.append(Problem(f"role {login}", f"may use the sequence {schema}.{sequence}"))
    for schema, usage, create in db.rows(
        "SELECT nspname, has_schema_privilege(%s, oid, 'USAGE'),"
        " has_schema_privilege(%s, oid, 'CREATE') FROM pg_namespace WHERE nspname = ANY(%s)",
        (login, login, [tables_schema, names.schema]),
    ):
        if create:
            found.append(Problem(f"role {login}", f"may create objects in schema {schema}"))
        if schema == names.schema and not usage:
            found.append(Problem(f"role {login}", f"has no USAGE on schema {schema}"))
    for (what,) in db.rows(
        "SELECT pg_describe_object(classid, objid, objsubid) FROM pg_shdepend"
        " WHERE refobjid = (SELECT oid FROM pg_roles WHERE rolname = %s) AND deptype = 'o'"
        " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (login,),
    ):
        found.append(Problem(f"role {login}", f"owns {what}"))
    return found


def _check_table_grants(db: _Session, names: RoleNames, schema: str) -> list[Problem]:
    found: list[Problem] = []
    tables = _tables(db, schema)
    checks = sql.SQL(", ").join(
        sql.SQL("has_table_privilege(%s, c.oid, {})").format(sql.Literal(p))
        for p in _TABLE_PRIVILEGES
    )
    for role, wanted_of in (
        (names.app, app_privileges),
        (names.owner, lambda table: OWNER_PRIVILEGES.get(table, frozenset())),
    ):
        rows = db.rows(
            sql.SQL(
                "SELECT c.relname, pg_get_userbyid(c.relowner), {} FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = ANY(%s) ORDER BY 1"
            ).format(checks),
            [*([role] * len(_TABLE_PRIVILEGES)), schema, tables],
        )
        for table, owner, *flags in rows:
            held = {p for p, flag in zip(_TABLE_PRIVILEGES, flags, strict=True) if flag}
            wanted = wanted_of(table)
            if owner == role:
                found.append(Problem(f"role {role}", f"owns {schema}.{table}"))
            if wanted - held:
                lacking = ", ".join(sorted(wanted - held))
                found.append(Problem(f"role {role}", f"lacks {lacking} on {schema}.{table}"))
            if held - wanted:
                extra = ", ".join(sorted(held - wanted))
                found.append(Problem(f"role {role}", f"may {extra} on {schema}.{table}"))
    return found


def _check_functions(db: _Session, names: RoleNames) -> list[Problem]:
    found: list[Problem] = []
    rows = db.rows(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prosecdef,"
        " p.proconfig, pg_get_userbyid(p.proowner), p.proacl IS NULL,"
        " ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)"
        "  END FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
        "  WHERE a.privilege_type = 'EXECUTE' ORDER BY 1)"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = %s ORDER BY 1",
        (names.schema,),
    )
    by_name = {str(r[0]): r for r in rows}
    for name, _, _, _ in functions.FUNCTIONS + functions.HELPERS:
        if name not in by_name:
            found.append(Problem(f"function {names.schema}.{name}", "does not exist"))
    definers = {f[0] for f in functions.FUNCTIONS}
    fixed = f"search_path={functions.SEARCH_PATH}"
    for name, _args, secdef, config, owner, _default, executors in rows:
        code = f"function {names.schema}.{name}"
        if name in definers and not secdef:
            found.append(Problem(code, "is not SECURITY DEFINER"))
        if fixed not in (config or []):
            found.append(Problem(code, f"lacks SET search_path = {functions.SEARCH_PATH}"))
        if owner != names.owner:
            found.append(Problem(code, f"is owned by {owner}, not {names.owner}"))
        allowed = {owner, *_function_grantees(names, name)}
        if "PUBLIC" in executors:
            found.append(Problem(code, "is executable by PUBLIC"))
        for role in executors:
            if role != "PUBLIC" and role not in allowed:
                found.append(Problem(code, f"is executable by {role}"))
        for role in _function_grantees(names, name):
            if role not in executors:
                found.append(Problem(code, f"is not executable by {role}"))
    return found


def _check_row_security(db: _Session, names: RoleNames, schema: str, rls: bool) -> list[Problem]:
    found: list[Problem] = []
    for table, enabled, forced, policies in db.rows(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
        " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = ANY(%s) ORDER BY 1",
        (_POLICY, schema, list(RLS_TABLES)),
    ):
        code = f"table {schema}.{table}"
        if rls and not (enabled and forced and policies):
            found.append(Problem(code, "lacks the forced row level security by session"))
        if not rls and enabled:
            found.append(Problem(code, "has row level security on"))
    return found
