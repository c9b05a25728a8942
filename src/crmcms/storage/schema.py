"""Tables crmcms keeps in SQL; one MetaData for SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "OPEN",
    "appeal",
    "appeal_archive",
    "attachment",
    "audit",
    "auth_secret",
    "client",
    "contact",
    "contact_person",
    "credential",
    "definition",
    "history",
    "history_archive",
    "id_counter",
    "idempotency",
    "login_failure",
    "metadata",
    "note",
    "note_revision",
    "outbox",
    "problem_outcome",
    "prospect",
    "saved_filter",
    "session",
    "sla_attempt",
    "sla_clock",
    "sla_fired",
    "subscriber",
    "system_problem",
    "webhook",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSONB on PostgreSQL is indexable and compact; SQLite stores the same documents as JSON text.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

definition = sa.Table(
    "crm_definition",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True, doc="Catalog field, e.g. 'routes'."),
    sa.Column("code", sa.String(200), primary_key=True),
    # Routes are kept per version so that an appeal always finds the version it runs on;
    # every other definition has version 0 and is replaced when the catalog is saved again.
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("document", Json, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)


# --- Runtime records -----------------------------------------------------------------------

# SQLite only makes an INTEGER PRIMARY KEY the rowid (auto-assigned); PostgreSQL wants bigint.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

client = sa.Table(
    "crm_client",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("category", sa.String(100)),
    sa.Column("region", sa.String(100)),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Index(None, "category"),
)

subscriber = sa.Table(
    "crm_subscriber",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("client_id", Id, sa.ForeignKey("crm_client.id"), nullable=False),
    sa.Column("msisdn", sa.String(40), nullable=False),
    sa.Column("region", sa.String(100)),
    sa.Column("tariff", sa.String(100)),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Index(None, "client_id"),
    sa.Index(None, "msisdn"),
)

contact_person = sa.Table(
    "crm_contact_person",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("phone", sa.String(40)),
    sa.Column("email", sa.String(200)),
    sa.Column("client_id", Id, sa.ForeignKey("crm_client.id")),
    sa.Index(None, "client_id"),
)

prospect = sa.Table(
    "crm_prospect",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("phone", sa.String(40)),
    sa.Column("email", sa.String(200)),
    sa.Column("region", sa.String(100)),
    sa.Column("category", sa.String(100)),
    sa.Column("registered_at", Time),
    sa.Column("exported_at", Time),
    # The client billing made of them, which may live in billing only: no foreign key.
    sa.Column("client_id", Id),
    sa.Column("registered_by", sa.String(200)),
    sa.Column("conversion_id", sa.String(300)),
    sa.Column("conversion_error", sa.Text, nullable=False, server_default=""),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

webhook = sa.Table(
    "crm_webhook",
    metadata,
    sa.Column("code", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    # The name of the environment variable holding the secret, never the secret itself.
    sa.Column("secret_env", sa.String(200), nullable=False),
    sa.Column("events", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("created_by", sa.String(200)),
)

contact = sa.Table(
    "crm_contact",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("place", sa.String(200), nullable=False),
    sa.Column("direction", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("operator", sa.String(200), nullable=False),
    sa.Column("registered_at", Time, nullable=False),
    sa.Column("template", sa.String(200)),
    # Clients and subscribers may live in the billing system (the seed's BIS, same database
    # or over a link), so these ids are references without foreign keys.
    sa.Column("client_id", Id),
    sa.Column("subscriber_id", Id),
    sa.Column("contact_person_id", Id),
    sa.Column("prospect_id", Id),
    sa.Column("comment", sa.Text, nullable=False),
    # Client history: a client's contacts, newest first.
    sa.Index(None, "client_id", "registered_at"),
    # A prospect's contacts, moved to the client on conversion.
    sa.Index(None, "prospect_id"),
    # Reports by period (contacts per channel, per operator, ...).
    sa.Index(None, "registered_at"),
)

system_problem = sa.Table(
    "crm_system_problem",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("title", sa.String(400), nullable=False),
    sa.Column("registered_by", sa.String(200), nullable=False),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("resolved_at", Time),
    sa.Column("resolution", sa.Text, nullable=False),
    sa.Column("attribute_values", Json, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Which appeals it links automatically: a rule over appeals and a window of
    # registration times (either end open).
    sa.Column("rule", sa.Text, nullable=False, server_default=""),
    sa.Column("since", Time),
    sa.Column("until", Time),
    sa.Column("confirmed_at", Time),
    sa.Column("confirmed_by", sa.String(200)),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("transition", sa.String(200)),
    # A resolution started and not finished: the next call goes on with it.
    sa.Column("resolving", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("closed_at", Time),
    sa.Column("closed_by", sa.String(200)),
    # Every registration reads the problems still open.
    sa.Index(None, "state"),
)

problem_outcome = sa.Table(
    "crm_problem_outcome",
    metadata,
    # What resolving a problem did to each linked appeal, written with the appeal's move:
    # the key makes a second resolution of one appeal fail instead of moving it twice.
    sa.Column("problem_id", Id, primary_key=True),
    sa.Column("appeal_id", Id, primary_key=True),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("error_type", sa.String(100)),
)

OPEN = "open"


def _appeal_columns() -> list[sa.Column[Any]]:
    """The columns an appeal has, alike in the working and the archive table."""
    return [
        sa.Column("id", Id, primary_key=True),
        sa.Column("contact_id", Id, nullable=False),
        # Copied from the contact: client history and Client.* filters need no join.
        sa.Column("client_id", Id),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("route_version", sa.Integer, nullable=False),
        sa.Column("process", sa.String(200), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("registered_at", Time, nullable=False),
        sa.Column("queue", sa.String(200)),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(100)),
        sa.Column("responsible", sa.String(200)),
        sa.Column("parent_id", Id),
        sa.Column("system_problem_id", Id),
        sa.Column("process_entered_at", Time),
        sa.Column("deadline", Time),
        sa.Column("process_deadline", Time),
        sa.Column("closed_at", Time),
        sa.Column("description", sa.Text, nullable=False),
        # Topic attribute values, filtered through expression indexes (see docs/storage.md).
        sa.Column("attribute_values", Json, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ]


_open = sa.text("state = 'open'")
_closed = sa.text("state = 'closed'")

appeal = sa.Table(
    "crm_appeal",
    metadata,
    *_appeal_columns(),
    sa.ForeignKeyConstraint(["contact_id"], ["crm_contact.id"]),
    # Queue view: a queue's open appeals by deadline; the id makes the keyset unique.
    sa.Index(
        "ix_crm_appeal_queue_view",
        "queue",
        "deadline",
        "id",
        sqlite_where=_open,
        postgresql_where=_open,
    ),
    # Overdue scan: (state, deadline) cannot serve "open, ordered by deadline" without a
    # state range; a partial index over open appeals alone can, and stays small.
    sa.Index("ix_crm_appeal_overdue", "deadline", sqlite_where=_open, postgresql_where=_open),
    # An operator's own work list.
    sa.Index(
        "ix_crm_appeal_responsible",
        "responsible",
        "deadline",
        sqlite_where=_open,
        postgresql_where=_open,
    ),
    # Archiving picks closed appeals by closing time.
    sa.Index("ix_crm_appeal_closed", "closed_at", sqlite_where=_closed, postgresql_where=_closed),
    sa.Index(None, "client_id", "registered_at"),
    sa.Index(None, "registered_at"),
    sa.Index(None, "contact_id"),
    sa.Index(None, "parent_id"),
    sa.Index(None, "system_problem_id"),
)


def _history_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", Id, primary_key=True),
        sa.Column("appeal_id", Id, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("operator", sa.String(200)),
        sa.Column("process", sa.String(200)),
        sa.Column("queue", sa.String(200)),
        sa.Column("transition", sa.String(200)),
        sa.Column("changes", Json, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    ]


history = sa.Table(
    "crm_history",
    metadata,
    *_history_columns(),
    sa.ForeignKeyConstraint(["appeal_id"], ["crm_appeal.id"]),
    sa.Index(None, "appeal_id", "id"),
    # Reports by period over events (closed per day, reopened, ...).
    sa.Index(None, "at"),
)

attachment = sa.Table(
    "crm_attachment",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("appeal_id", Id, nullable=False),
    sa.Column("file_name", sa.String(400), nullable=False),
    sa.Column("media_type", sa.String(200), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False),
    sa.Column("added_at", Time, nullable=False),
    sa.Index(None, "appeal_id"),
)

note = sa.Table(
    "crm_note",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("subject", sa.String(40), nullable=False),
    sa.Column("subject_id", Id, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("visibility", sa.String(20), nullable=False, server_default="team"),
    sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_at", Time),
    sa.Column("updated_by", sa.String(200)),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "subject", "subject_id"),
)

note_revision = sa.Table(
    "crm_note_revision",
    metadata,
    # Every version of every note, the deletion included: notes are edited, never lost.
    sa.Column("note_id", Id, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("pinned", sa.Boolean, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("written_by", sa.String(200), nullable=False),
    sa.Column("written_at", Time, nullable=False),
)

# --- Archive: closed appeals moved out of the working set, readable and reportable ----------

appeal_archive = sa.Table(
    "crm_appeal_archive",
    metadata,
    *_appeal_columns(),
    sa.Column("archived_at", Time, nullable=False),
    sa.Index(None, "client_id", "registered_at"),
    sa.Index(None, "registered_at"),
    sa.Index(None, "closed_at"),
)

history_archive = sa.Table(
    "crm_history_archive",
    metadata,
    *_history_columns(),
    sa.Index(None, "appeal_id", "id"),
    sa.Index(None, "at"),
)

# --- Saved filters -------------------------------------------------------------------------

saved_filter = sa.Table(
    "crm_saved_filter",
    metadata,
    sa.Column("code", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("owner", sa.String(200)),
    # {"rule": "...", "tabs": [{"code": ..., "name": ..., "rule": ...}], "order": ...}
    sa.Column("document", Json, nullable=False),
    sa.Column("saved_at", Time, nullable=False),
)

# --- Engine bookkeeping ----------------------------------------------------------------------

id_counter = sa.Table(
    "crm_id_counter",
    metadata,
    # Ids are handed out in blocks from here, outside the unit of work's transaction, so that
    # a rolled-back unit never gives its ids to another one (like a database sequence).
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

idempotency = sa.Table(
    "crm_idempotency",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("operation", sa.String(200), nullable=False),
    sa.Column("fingerprint", sa.String(200), nullable=False),
    sa.Column("result", Json, nullable=False),
    sa.Column("at", Time, nullable=False),
)


# --- Outbox ----------------------------------------------------------------------------------

_pending = sa.text("status = 'pending'")
_delivered = sa.text("status = 'delivered'")

outbox = sa.Table(
    "crm_outbox",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("available_at", Time, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_expires_at", Time),
    sa.Column("delivered_at", Time),
    # What a relay claims: pending messages by due time; delivered ones leave the index.
    sa.Index(
        "ix_crm_outbox_due",
        "available_at",
        "id",
        sqlite_where=_pending,
        postgresql_where=_pending,
    ),
    # Purging picks delivered messages by delivery time.
    sa.Index(
        "ix_crm_outbox_delivered",
        "delivered_at",
        sqlite_where=_delivered,
        postgresql_where=_delivered,
    ),
    sa.Index(None, "status", "id"),
)


# --- SLA clocks ------------------------------------------------------------------------------

_escalating = sa.text("next_escalation_at IS NOT NULL")
_running = sa.text("stopped_at IS NULL")

sla_clock = sa.Table(
    "crm_sla_clock",
    metadata,
    # No foreign key: clocks are worked out again from history at any time, and archiving
    # an appeal need not wait for them.
    sa.Column("appeal_id", Id, primary_key=True),
    sa.Column(
        "clock", sa.String(220), primary_key=True, doc="resolution, first_response, process:X"
    ),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("process", sa.String(200), nullable=False),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("start", Time, nullable=False),
    # Durations in whole microseconds: exact on every backend.
    sa.Column("limit_us", sa.BigInteger),
    sa.Column("due", Time),
    sa.Column("elapsed_us", sa.BigInteger, nullable=False),
    sa.Column("remaining_us", sa.BigInteger),
    sa.Column("paused_since", Time),
    sa.Column("breached_at", Time),
    sa.Column("stopped_at", Time),
    sa.Column("overridden", sa.Boolean, nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("next_escalation_at", Time),
    # The monitor's search: clocks whose next escalation level is due.
    sa.Index(
        "ix_crm_sla_clock_escalation",
        "next_escalation_at",
        sqlite_where=_escalating,
        postgresql_where=_escalating,
    ),
    # The SLA view: running clocks by due time.
    sa.Index("ix_crm_sla_clock_due", "due", sqlite_where=_running, postgresql_where=_running),
)

sla_fired = sa.Table(
    "crm_sla_fired",
    metadata,
    # One row per escalation level fired: the key is what stops two monitors firing it twice.
    sa.Column("appeal_id", Id, primary_key=True),
    sa.Column("clock", sa.String(220), primary_key=True),
    sa.Column("cycle", sa.Integer, primary_key=True),
    sa.Column("level", sa.Integer, primary_key=True),
    sa.Column("fired_at", Time, nullable=False),
)

sla_attempt = sa.Table(
    "crm_sla_attempt",
    metadata,
    # One row per escalation level that failed while firing: what an operator reads, and
    # what spaces the retries out (the clock's next escalation waits for retry_at).
    sa.Column("appeal_id", Id, primary_key=True),
    sa.Column("clock", sa.String(220), primary_key=True),
    sa.Column("cycle", sa.Integer, primary_key=True),
    sa.Column("level", sa.Integer, primary_key=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("failed_at", Time, nullable=False),
    sa.Column("retry_at", Time, doc="None once given up."),
)


# --- Authentication and audit ----------------------------------------------------------------

credential = sa.Table(
    "crm_credential",
    metadata,
    # The argon2id key is derived by the gateway; only SHA-256 of it is kept, so reading this
    # table is not enough to log in.
    sa.Column("login", sa.String(200), primary_key=True),
    sa.Column("salt", sa.LargeBinary, nullable=False),
    sa.Column("time_cost", sa.Integer, nullable=False),
    sa.Column("memory_cost", sa.Integer, nullable=False),
    sa.Column("parallelism", sa.Integer, nullable=False),
    sa.Column("hash_len", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("verifier", sa.LargeBinary, nullable=False),
    sa.Column("changed_at", Time, nullable=False),
)

login_failure = sa.Table(
    "crm_login_failure",
    metadata,
    # By login text, known or not: a lockout must not tell which logins exist.
    sa.Column("login", sa.String(200), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("last_at", Time, nullable=False),
    sa.Column("refused_until", Time),
    sa.Column("locked_at", Time),
)

auth_secret = sa.Table(
    "crm_auth_secret",
    metadata,
    # One row: the key of the dummy salts answered for unknown logins.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("secret", sa.LargeBinary, nullable=False),
)

session = sa.Table(
    "crm_session",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("login", sa.String(200), nullable=False, index=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("last_seen_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("idle_seconds", sa.Integer, nullable=False),
    sa.Column("source", sa.String(400)),
    sa.Column("revoked_at", Time),
)

audit = sa.Table(
    "crm_audit",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("at", Time, nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("login", sa.String(200), index=True),
    sa.Column("actor", sa.String(200)),
    sa.Column("source", sa.String(400)),
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
