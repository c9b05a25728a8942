"""The engine's storage ports over SQLAlchemy: one unit of work is one short write transaction."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import attrs
import sqlalchemy as sa

from crmcms.engine.ports import IdempotencyRecord
from crmcms.engine.records import replace_staged
from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import Appeal, Catalog, Contact, HistoryEvent, StoredAppeal, copy_appeal
from crmcms.storage.database import create_engine
from crmcms.storage.schema import OPEN, appeal, contact, history, idempotency, outbox
from crmcms.storage.sql.attachments import SqlAttachments
from crmcms.storage.sql.binding import (
    drop_attribute_indexes,
    index_attributes,
    indexed_attributes,
)
from crmcms.storage.sql.clocks import SqlClocks, release_claims
from crmcms.storage.sql.codec import (
    appeal_from_row,
    appeal_row,
    contact_from_row,
    contact_row,
    event_from_row,
    event_row,
    to_utc,
)
from crmcms.storage.sql.ids import IdAllocator
from crmcms.storage.sql.notes import SqlNotes
from crmcms.storage.sql.outbox import SqlOutbox, wake_statement
from crmcms.storage.sql.problems import SqlProblems
from crmcms.storage.sql.prospects import SqlProspects
from crmcms.storage.sql.query_dictionaries import (
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT,
    SqlDictionaryQueries,
)
from crmcms.storage.sql.reports import SqlReports

__all__ = ["SqlStore", "SqlUnitOfWork"]


_copy = copy_appeal
_store = StoredAppeal.of
"""The staged record of an appeal given to ``add`` or ``update``: a read-only copy (see
:class:`~crmcms.model.StoredAppeal`), which they return; commit writes it."""


def _deadline_key(a: Appeal) -> tuple[bool, datetime | None, int]:
    deadline = to_utc(a.deadline)
    return (deadline is None, deadline, a.id)


class SqlStore:
    """Appeals, contacts and history in SQL: SQLite (a file, WAL) or PostgreSQL.

    ``SqlStore("sqlite:///var/crm.sqlite")`` or ``SqlStore(engine)``; the schema is brought
    up to date unless ``upgrade=False``. Pass :meth:`unit_of_work` to the engine as its
    factory. Ids are reserved ``id_block`` at a time.
    """

    def __init__(
        self,
        url_or_engine: str | sa.Engine | None = None,
        *,
        upgrade: bool = True,
        id_block: int = 100,
    ) -> None:
        if isinstance(url_or_engine, sa.Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_engine(url_or_engine)
        if upgrade:
            from crmcms.storage.migrate import upgrade_schema

            upgrade_schema(self.engine)
        self.ids = IdAllocator(self.engine, id_block)
        self.writes = _Writes(self.engine)
        self._dictionary_queries: dict[tuple[float, int], SqlDictionaryQueries] = {}
        self._reports: dict[str | None, SqlReports] = {}

    def unit_of_work(self) -> SqlUnitOfWork:
        """A fresh unit of work; it holds no connection until it first reads or commits."""
        return SqlUnitOfWork(self)

    def ensure_indexes(
        self, catalog: Catalog, *, extra: Iterable[str] = (), concurrently: bool = False
    ) -> list[str]:
        """Create the attribute expression indexes ``catalog`` asks for; returns those made.

        Attributes shown as list columns are indexed, and the codes in ``extra`` (see
        :func:`~crmcms.storage.sql.binding.indexed_attributes`). Indexes that exist are left
        alone, so this is safe at every start and after every catalog change; indexes of
        attributes no longer asked for stay until :meth:`prune_indexes` drops them.
        ``concurrently`` builds them on PostgreSQL without blocking writes.
        """
        wanted = indexed_attributes(catalog, extra)
        return index_attributes(self.engine, wanted, concurrently=concurrently)

    def prune_indexes(
        self, catalog: Catalog, *, extra: Iterable[str] = (), concurrently: bool = False
    ) -> list[str]:
        """Drop the attribute expression indexes :meth:`ensure_indexes` would no longer make
        for ``catalog`` and ``extra`` (attributes no longer list columns, or retyped); returns
        those dropped. Other indexes are never touched."""
        wanted = indexed_attributes(catalog, extra)
        return drop_attribute_indexes(self.engine, wanted, concurrently=concurrently)

    def dictionary_queries(
        self, *, timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS
    ) -> SqlDictionaryQueries:
        """What runs the queries of query dictionaries on this store's database, read-only,
        each within ``timeout`` seconds and ``max_rows`` rows: pass it to the engine as
        ``Engine(..., dictionary_queries=store.dictionary_queries())``. The same limits give
        the same runner, which shares its connections."""
        runner = self._dictionary_queries.get((timeout, max_rows))
        if runner is None:
            runner = SqlDictionaryQueries(self.engine, timeout=timeout, max_rows=max_rows)
            self._dictionary_queries[timeout, max_rows] = runner
        return runner

    def reports(self, read_url: str | None = None) -> SqlReports:
        """What computes reports: on this store's database, or with ``read_url`` on another
        that holds the same tables, such as a read-only streaming replica (reports only
        read, so a role with SELECT alone will do). Pass it to the engine as
        ``Engine(..., reports=store.reports())``."""
        found = self._reports.get(read_url)
        if found is None:
            engine = self.engine if read_url is None else create_engine(read_url)
            found = self._reports[read_url] = SqlReports(engine)
        return found

    def dispose(self) -> None:
        """Close the pooled connections, and those of the dictionary query runners and
        the report replicas."""
        for runner in self._dictionary_queries.values():
            runner.dispose()
        for url, reports in self._reports.items():
            if url is not None:
                reports.dispose()
        self.engine.dispose()


class _Part:
    """What every repository shares: the unit's connection and its fresh ids."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def _rows(self, query: sa.Executable) -> list[Any]:
        return list(self._uow.connection().execute(query))


class _Contacts(_Part):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self.new: dict[int, Contact] = {}
        self.changed: dict[int, Contact] = {}
        """Stored contacts given another prospect or client here."""
        self.fresh: set[int] = set()

    def next_id(self) -> int:
        new_id = self._uow.store.ids.next_id("contact")
        self.fresh.add(new_id)
        return new_id

    def add(self, item: Contact) -> None:
        if item.id in self.new or (item.id not in self.fresh and self._stored(item.id)):
            raise StorageError(f"contact {item.id} is already stored")
        self.new[item.id] = attrs.evolve(item)

    def _stored(self, contact_id: int) -> bool:
        return bool(self._rows(sa.select(contact.c.id).where(contact.c.id == contact_id)))

    def get(self, contact_id: int) -> Contact:
        if contact_id in self.new:
            return attrs.evolve(self.new[contact_id])
        if contact_id in self.changed:
            return self.changed[contact_id]
        rows = self._rows(sa.select(contact).where(contact.c.id == contact_id))
        if not rows:
            raise NotFoundError("contact", contact_id)
        return contact_from_row(rows[0])

    def update(self, item: Contact) -> None:
        if item.id in self.new:
            self.new[item.id] = item
            return
        if not self._stored(item.id):
            raise NotFoundError("contact", item.id)
        self.changed[item.id] = item

    def of_prospect(self, prospect_id: int) -> list[Contact]:
        query = sa.select(contact).where(contact.c.prospect_id == prospect_id)
        found = {c.id: c for c in map(contact_from_row, self._rows(query))}
        for staged in (*self.changed.values(), *self.new.values()):
            if staged.prospect_id == prospect_id:
                found[staged.id] = staged
            else:
                found.pop(staged.id, None)
        return [found[k] for k in sorted(found)]

    def write_changes(self, conn: sa.Connection) -> None:
        """Inside the commit: the prospect and client of each contact changed here, and
        the client its appeals copy."""
        for item in self.changed.values():
            conn.execute(
                sa.update(contact)
                .where(contact.c.id == item.id)
                .values(prospect_id=item.prospect_id, client_id=item.client_id)
            )
            # Appeals keep their contact's client for client history.
            conn.execute(
                sa.update(appeal)
                .where(appeal.c.contact_id == item.id)
                .values(client_id=item.client_id)
            )

    def client_of(self, contact_id: int) -> int | None:
        if contact_id in self.new:
            return self.new[contact_id].client_id
        if contact_id in self.changed:
            return self.changed[contact_id].client_id
        rows = self._rows(sa.select(contact.c.client_id).where(contact.c.id == contact_id))
        return rows[0][0] if rows else None


class _Appeals(_Part):
    def __init__(self, uow: SqlUnitOfWork, contacts: _Contacts) -> None:
        super().__init__(uow)
        self._contacts = contacts
        self.new: dict[int, Appeal] = {}
        self.changed: dict[int, Appeal] = {}
        self.base_versions: dict[int, int] = {}
        """The stored version each changed appeal was read at; the commit checks it again."""
        self.read_versions: dict[int, int] = {}
        """The version each appeal had when this unit read it: an update checks against it
        at once, and the commit's conditional write checks the row again."""
        self.fresh: set[int] = set()

    def next_id(self) -> int:
        new_id = self._uow.store.ids.next_id("appeal")
        self.fresh.add(new_id)
        return new_id

    def _stored_version(self, appeal_id: int) -> int | None:
        rows = self._rows(sa.select(appeal.c.version).where(appeal.c.id == appeal_id))
        return int(rows[0][0]) if rows else None

    def add(self, item: Appeal) -> StoredAppeal:
        if item.id in self.new or (
            item.id not in self.fresh and self._stored_version(item.id) is not None
        ):
            raise StorageError(f"appeal {item.id} is already stored")
        stored = self.new[item.id] = _store(item)
        return stored

    def get(self, appeal_id: int) -> Appeal:
        staged = self.new.get(appeal_id) or self.changed.get(appeal_id)
        if staged is not None:
            return _copy(staged)
        rows = self._rows(sa.select(appeal).where(appeal.c.id == appeal_id))
        if not rows:
            raise NotFoundError("appeal", appeal_id)
        found = appeal_from_row(rows[0])
        self.read_versions[appeal_id] = found.version
        return found

    def update(self, item: Appeal) -> StoredAppeal:
        staged = self.new.get(item.id) or self.changed.get(item.id)
        if staged is not None:
            current: int | None = staged.version
        elif item.id in self.read_versions:
            current = self.read_versions[item.id]
        else:
            current = self._stored_version(item.id)
        if current is None or current != item.version:
            raise ConcurrencyError("appeal", item.id, item.version, current)
        item.version += 1
        if item.id in self.new:
            stored = self.new[item.id] = _store(item)
            return stored
        self.base_versions.setdefault(item.id, current)
        stored = self.changed[item.id] = _store(item)
        return stored

    def _query(self, where: sa.ColumnElement[bool], keep: Callable[[Appeal], bool]) -> list[Appeal]:
        """Stored appeals matching ``where``, overlaid with this unit's staged ones."""
        found = {a.id: a for a in map(appeal_from_row, self._rows(sa.select(appeal).where(where)))}
        for staged in (*self.changed.values(), *self.new.values()):
            if keep(staged):
                found[staged.id] = _copy(staged)
            else:
                found.pop(staged.id, None)
        return list(found.values())

    def in_queue(self, queue: str, *, open_only: bool = True) -> list[Appeal]:
        where = appeal.c.queue == queue
        if open_only:
            where = sa.and_(where, appeal.c.state == OPEN)
        found = self._query(where, lambda a: a.queue == queue and (a.is_open or not open_only))
        return sorted(found, key=_deadline_key)

    def children(self, parent_id: int) -> list[Appeal]:
        found = self._query(appeal.c.parent_id == parent_id, lambda a: a.parent_id == parent_id)
        return sorted(found, key=lambda a: a.id)

    def of_contact(self, contact_id: int) -> list[Appeal]:
        found = self._query(appeal.c.contact_id == contact_id, lambda a: a.contact_id == contact_id)
        return sorted(found, key=lambda a: a.id)

    def of_client(self, client_id: int) -> list[Appeal]:
        def mine(a: Appeal) -> bool:
            return self._contacts.client_of(a.contact_id) == client_id

        found = self._query(appeal.c.client_id == client_id, mine)
        return sorted(found, key=lambda a: (to_utc(a.registered_at), a.id))

    def due_before(self, moment: datetime) -> list[Appeal]:
        at = to_utc(moment)
        assert at is not None

        def due(a: Appeal) -> bool:
            return a.is_open and any(
                d is not None and to_utc(d) <= at  # type: ignore[operator]
                for d in (a.deadline, a.process_deadline)
            )

        # Two range conditions OR-ed: each side can use its own index (the partial index on
        # the deadline of open appeals serves the first).
        where = sa.and_(
            appeal.c.state == OPEN,
            sa.or_(appeal.c.deadline <= at, appeal.c.process_deadline <= at),
        )
        return sorted(self._query(where, due), key=lambda a: a.id)

    def rows_to_write(self) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
        inserts = [appeal_row(a, self._contacts.client_of(a.contact_id)) for a in self.new.values()]
        updates = []
        for appeal_id, changed in self.changed.items():
            row = appeal_row(changed, None)
            del row["client_id"]  # fixed by the contact, written at registration
            updates.append((self.base_versions[appeal_id], row))
        return inserts, updates


class _History(_Part):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self.new: list[HistoryEvent] = []
        # Each appeal's stored history as this unit of work first read it: an action reads
        # it for its rules and again for the clocks it refreshes before commit.
        self._read: dict[int, list[HistoryEvent]] = {}

    def next_id(self) -> int:
        return self._uow.store.ids.next_id("event")

    def add(self, event: HistoryEvent) -> None:
        self.new.append(event)

    def amend(self, event: HistoryEvent) -> None:
        replace_staged(self.new, event)

    def for_appeal(self, appeal_id: int) -> list[HistoryEvent]:
        stored = self._read.get(appeal_id)
        if stored is None:
            query = sa.select(history).where(history.c.appeal_id == appeal_id)
            rows = self._rows(query.order_by(history.c.id))
            stored = self._read[appeal_id] = [event_from_row(r) for r in rows]
        events = [*stored, *(e for e in self.new if e.appeal_id == appeal_id)]
        return sorted(events, key=lambda e: (to_utc(e.at), e.id))


class _Idempotency(_Part):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self.new: dict[str, IdempotencyRecord] = {}

    def get(self, key: str) -> IdempotencyRecord | None:
        if key in self.new:
            return self.new[key]
        rows = self._rows(sa.select(idempotency).where(idempotency.c.key == key))
        if not rows:
            return None
        m = rows[0]._mapping
        return IdempotencyRecord(
            m["key"],
            m["operation"],
            m["fingerprint"],
            m["result"],
            to_utc(m["at"]),  # type: ignore[arg-type]
        )

    def add(self, record: IdempotencyRecord) -> None:
        if self.get(record.key) is not None:
            raise ConcurrencyError("idempotency key", record.key, 0, 1)
        self.new[record.key] = record


class _Writes:
    """The commit's statements, prepared once per store for its database.

    On SQLite an INSERT is compiled once and its rows go to the driver's ``executemany`` as
    tuples, converted by the very bind processors SQLAlchemy would use: SQLAlchemy's own
    executemany builds and processes a parameter dict per row, which costs more than SQLite's
    insert itself. PostgreSQL keeps SQLAlchemy's path, which hands psycopg the batch anyway.
    """

    def __init__(self, engine: sa.Engine) -> None:
        dialect = engine.dialect
        self.direct = dialect.name == "sqlite"
        self._prepared: dict[str, tuple[str, Any, list[tuple[int, Any]]]] = {}
        for table in (contact, appeal, history, idempotency, outbox):
            keys = [c.key for c in table.c]
            compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
            order = compiled.positiontup or keys
            processors = [
                (i, table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
                for i, key in enumerate(order)
            ]
            self._prepared[table.name] = (
                compiled.string,
                operator.itemgetter(*order),
                [(i, process) for i, process in processors if process is not None],
            )
        t = appeal.c
        # One statement for every changed appeal: executemany with the version check per row.
        self.update = (
            sa.update(appeal)
            .where(
                t.id == sa.bindparam("b_id", type_=t.id.type),
                t.version == sa.bindparam("b_version", type_=t.version.type),
            )
            .values({c.key: sa.bindparam(c.key, type_=c.type) for c in t if c.key != "client_id"})
        )
        self.counted_batches = dialect.supports_sane_multi_rowcount
        self.wake = wake_statement(dialect)

    def insert(self, conn: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
        batch = list(rows)
        if not batch:
            return
        if not self.direct:
            conn.execute(sa.insert(table), batch)
            return
        sql, values_of, processors = self._prepared[table.name]
        params = []
        for row in batch:
            values = list(values_of(row))
            for i, process in processors:
                values[i] = process(values[i])
            params.append(tuple(values))
        conn.exec_driver_sql(sql, params)


class SqlUnitOfWork:
    """One unit of work: reads go to the database, writes wait for :meth:`commit`.

    Commit writes everything in one short transaction and checks, per changed appeal,
    that the stored version is still the one read (``UPDATE ... WHERE version = ...``); a
    conflict raises :class:`~crmcms.errors.ConcurrencyError` and writes nothing. Keeping
    writes until commit holds SQLite's single write lock for milliseconds only.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._conn: sa.Connection | None = None
        self.claims: list[int] = []
        """Appeals the SLA monitor claimed in this unit of work, released when it is left."""
        self._begin()

    def _begin(self) -> None:
        self.contacts = _Contacts(self)
        self.appeals = _Appeals(self, self.contacts)
        self.history = _History(self)
        self.idempotency = _Idempotency(self)
        self.outbox = SqlOutbox(self)
        self.clocks = SqlClocks(self)
        self.attachments = SqlAttachments(self)
        self.notes = SqlNotes(self)
        self.prospects = SqlProspects(self)
        self.problems = SqlProblems(self)

    def connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.store.engine.connect()
        return self._conn

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        if self._conn is not None:
            if self.claims:
                release_claims(self._conn, self.claims)
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        inserts, updates = self.appeals.rows_to_write()
        keys = list(self.idempotency.new)
        writes = self.store.writes
        conn = self.connection()
        if conn.in_transaction():
            conn.rollback()  # end the reads' transaction: the writes start from fresh data
        try:
            writes.insert(conn, contact, map(contact_row, self.contacts.new.values()))
            if self.contacts.changed:
                self.contacts.write_changes(conn)
            writes.insert(conn, appeal, inserts)
            self._write_updates(conn, updates)
            writes.insert(conn, history, map(event_row, self.history.new))
            writes.insert(
                conn,
                idempotency,
                (
                    {
                        "key": r.key,
                        "operation": r.operation,
                        "fingerprint": r.fingerprint,
                        "result": dict(r.result),
                        "at": to_utc(r.at),
                    }
                    for r in self.idempotency.new.values()
                ),
            )
            messages = self.outbox
            if messages:
                writes.insert(conn, outbox, messages.rows())
                for change in messages.changes:
                    conn.execute(change)
                if messages.new and writes.wake is not None:
                    conn.execute(writes.wake)
            self.clocks.write(conn)
            if self.attachments:
                self.attachments.write(conn)
            if self.notes:
                self.notes.write(conn)
            if self.prospects:
                self.prospects.write(conn)
            if self.problems:
                self.problems.write(conn)
            conn.commit()
        except ConcurrencyError:
            conn.rollback()
            self._begin()
            raise
        except sa.exc.IntegrityError as exc:
            conn.rollback()
            self._begin()
            if keys and "idempotency" in str(exc.orig):
                raise ConcurrencyError("idempotency key", ", ".join(keys), 0, 1) from exc
            raise StorageError(f"commit refused by the database: {exc.orig}") from exc
        except sa.exc.SQLAlchemyError as exc:
            conn.rollback()
            self._begin()
            raise StorageError(f"commit failed: {exc}") from exc
        self._begin()

    def _write_updates(
        self, conn: sa.Connection, updates: list[tuple[int, dict[str, Any]]]
    ) -> None:
        """Write changed appeals, each only if its stored version is still the one read."""
        if not updates:
            return
        writes = self.store.writes
        params = [{**row, "b_id": row["id"], "b_version": base} for base, row in updates]
        if len(params) > 1 and writes.counted_batches:
            if conn.execute(writes.update, params).rowcount == len(params):
                return
            # Some appeal changed meanwhile: nothing of this commit stays, find which to say so.
            conn.rollback()
            for base, row in updates:
                stored = self.appeals._stored_version(row["id"])
                if stored != base:
                    raise ConcurrencyError("appeal", row["id"], base, stored)
            raise ConcurrencyError("appeal", params[0]["id"], updates[0][0], None)
        for (base, row), one in zip(updates, params, strict=True):
            if conn.execute(writes.update, one).rowcount != 1:
                raise ConcurrencyError(
                    "appeal", row["id"], base, self.appeals._stored_version(row["id"])
                )

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()
        self._begin()
