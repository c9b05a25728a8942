"""One engine action in progress: its unit of work, clock reading, caches and history events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from crmcms.engine.clock_store import refresh_clocks
from crmcms.engine.context import RuleData, client_data
from crmcms.engine.event_outbox import stage_events
from crmcms.engine.history import Snapshot, blank_snapshot, changes_since
from crmcms.engine.messages import render_notification
from crmcms.engine.notifications import Notification
from crmcms.engine.obstacles import may_read
from crmcms.engine.outbox import enqueue_notification
from crmcms.engine.plans import RoutePlan
from crmcms.engine.ports import UnitOfWork
from crmcms.engine.records import make_change, make_event
from crmcms.engine.rules import RuleBook
from crmcms.engine.runtime import Runtime
from crmcms.errors import (
    ConcurrencyError,
    CrmcmsError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
)
from crmcms.model import (
    Appeal,
    Change,
    Contact,
    HistoryEvent,
    HistoryKind,
    Operator,
    Principal,
    StoredAppeal,
)

__all__ = ["Tx"]

T = TypeVar("T")


class Tx:
    """An action's transaction: read, change and record through it, then :meth:`commit`."""

    __slots__ = (
        "_clients",
        "_contacts",
        "_kept",
        "_resaved",
        "_unwritten",
        "_written",
        "catalog",
        "events",
        "now",
        "principal",
        "rt",
        "uow",
    )

    def __init__(
        self,
        runtime: Runtime,
        uow: UnitOfWork,
        now: datetime | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.rt = runtime
        self.principal = principal
        """Whom the action runs for (``None``: the system)."""
        self.catalog = runtime.catalog
        self.uow = uow
        self.now = now if now is not None else runtime.clock()
        self.events: list[HistoryEvent] = []
        self._kept: dict[int, StoredAppeal] = {}
        self._resaved: dict[int, StoredAppeal] | None = None
        """Appeals the commit saved again because their clocks moved their deadlines."""
        self._written: list[int] | None = None
        """Outbox messages this action wrote, to deliver after commit if the engine does."""
        self._unwritten: list[Notification] | None = None
        """Notifications waiting for their message template until the action commits."""
        """The record storage keeps of each appeal this action saved, by id."""
        # Made when first needed: most actions read one contact and one client, once.
        self._contacts: dict[int, tuple[Contact, dict[str, Any] | None]] | None = None
        """By contact id: the contact, and its client's part of the rule data once made."""
        self._clients: dict[int, Any] | None = None
        """Directory answers by client id, for actions that ask for a client (see
        :meth:`client`) before or besides reading rule data."""

    # --- Reading ----------------------------------------------------------------------------

    @property
    def rules(self) -> RuleBook:
        """The catalog's compiled rules and expressions."""
        return self.rt.rules

    def hook(self, name: str, **kwargs: Any) -> Any:
        """Call plugin hook ``name``; a plugin's exception becomes :class:`PluginError`."""
        return self.rt.hook(name, **kwargs)

    def clock(self) -> datetime:
        """The action's time: what ``now()`` in its rules reads."""
        return self.now

    def operator(self, login: str | None) -> Operator | None:
        """The acting operator (``None`` is the system); unknown or inactive ones are refused."""
        if login is None:
            return None
        operator = self.rt.operators.get(login) or self.catalog.operator(login)
        if not operator.active:
            raise PermissionDeniedError(login, "act", "the operator is inactive")
        return operator

    def actor(self, who: str | Operator | None) -> Principal | None:
        """The principal acting as ``who`` (a login or operator; ``None``: the system): the
        action's own, or, for another operator named in it (an assignee), the one its
        catalog roles make."""
        if who is None:
            return None
        login = who if isinstance(who, str) else who.login
        principal = self.principal
        if principal is not None and principal.login == login:
            return principal
        return self.rt.principal(login)

    def visible(self, appeal_id: int, expected_version: int | None = None) -> Appeal:
        """The appeal, if the action's principal may read it; one it may not read is as
        missing as one that does not exist, so an id tells nothing about other queues."""
        appeal = self.uow.appeals.get(appeal_id)
        # Visibility first: a stale version must not tell that the appeal exists.
        if not may_read(self.principal, appeal, self.rt.queues):
            raise NotFoundError("appeal", appeal_id)
        return _versioned(appeal, expected_version)

    def appeal(self, appeal_id: int, expected_version: int | None = None) -> Appeal:
        return _versioned(self.uow.appeals.get(appeal_id), expected_version)

    def contact(self, contact_id: int) -> Contact:
        contacts = self._contacts
        if contacts is None:
            contacts = self._contacts = {}
        found = contacts.get(contact_id)
        if found is None:
            found = contacts[contact_id] = (self.uow.contacts.get(contact_id), None)
        return found[0]

    def client(self, client_id: int | None) -> Any:
        """The client as the directory plugin (billing) describes it, or ``None``; asked
        once per action."""
        if client_id is None:
            return None
        clients = self._clients
        if clients is None:
            clients = self._clients = {}
        found = clients.get(client_id)
        if found is None:
            found = clients[client_id] = self._find_client(client_id)
        return found

    def _find_client(self, client_id: int) -> Any:
        """Ask the client directory; no answer is an error."""
        try:
            found = self.rt.find_client_hook(str(client_id))
        except CrmcmsError:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise PluginError("<plugin>", "crmcms_find_client", message) from exc
        if found is None:
            raise NotFoundError("client", client_id, hint="no client directory knows it")
        return found

    def plan(self, appeal: Appeal) -> RoutePlan:
        """The plan of the route version ``appeal`` runs on."""
        return self.rt.plans[appeal.route, appeal.route_version]

    def data(
        self, appeal: Appeal, operator: Operator | None = None, live: bool = False
    ) -> RuleData:
        """What rules see for ``appeal`` acted on by ``operator``, as it is now.

        The contact and client are looked up now, once per action, and the client's part
        made then; the other parts are made as rules read them (see
        :class:`~crmcms.engine.context.RuleData`, also for ``live``).
        """
        contact_id = appeal.contact_id
        contacts = self._contacts
        found = None if contacts is None else contacts.get(contact_id)
        part: dict[str, Any] | None = None if found is None else found[1]
        if found is not None and part is not None:
            contact = found[0]
        else:
            # Most actions read one appeal, so this runs once per action.
            contact = self.uow.contacts.get(contact_id) if found is None else found[0]
            client_id = contact.client_id
            if client_id is None:
                part = {}
            else:
                # An answer this action already has (see client()), or the directory's.
                clients = self._clients
                client = None if clients is None else clients.get(client_id)
                if client is None:
                    client = self._find_client(client_id)
                # Rules only read it: a plain dict (the usual directory answer) is used as
                # given.
                part = client if type(client) is dict else client_data(client)
            if contacts is None:
                contacts = self._contacts = {}
            contacts[contact_id] = (contact, part)
        return RuleData(self.rt.appeal_data, appeal, part, contact, operator, live, self)

    def party(self, part: str, ident: int | None) -> dict[str, Any]:
        """A subscriber's or contact person's part of the rule data, asked of its directory
        plugin when a rule first reads it; empty when there is none or nobody knows it."""
        if ident is None:
            return {}
        hook = self.rt.party_hooks[part]
        try:
            found = hook(str(ident))
        except CrmcmsError:
            raise
        except Exception as exc:
            raise PluginError("<plugin>", hook.name, f"{type(exc).__name__}: {exc}") from exc
        return {} if found is None else dict(found)

    # --- Writing ----------------------------------------------------------------------------

    def add_appeal(self, appeal: Appeal) -> StoredAppeal:
        """Store a new appeal; the record kept is what the action returns (:meth:`kept`)."""
        stored = self._kept[appeal.id] = self.uow.appeals.add(appeal)
        return stored

    def save(self, appeal: Appeal) -> StoredAppeal:
        """Save a changed appeal (its ``version`` goes up); the record kept is what the
        action returns (:meth:`kept`)."""
        stored = self._kept[appeal.id] = self.uow.appeals.update(appeal)
        return stored

    def kept(self, appeal: Appeal) -> Appeal:
        """The read-only record storage keeps of ``appeal``, if this action saved it, else
        ``appeal`` itself: what an action returns, so that setting a field of its result
        fails loudly instead of changing a copy nothing will save."""
        return self._kept.get(appeal.id, appeal)

    def record(
        self,
        appeal: Appeal,
        kind: HistoryKind,
        before: Snapshot | None,
        *,
        operator: str | None,
        transition: str | None = None,
        comment: str = "",
        reason: str = "",
    ) -> HistoryEvent:
        """Append a history event with the changes since ``before`` (everything if ``None``);
        values are compared when ``before`` has them."""
        if before is None:
            before = blank_snapshot()
        changes = changes_since(before, appeal)
        return self.event(appeal, kind, changes, operator, transition, comment, reason)

    def event(
        self,
        appeal: Appeal,
        kind: HistoryKind,
        changes: Sequence[Change],
        operator: str | None,
        transition: str | None = None,
        comment: str = "",
        reason: str = "",
    ) -> HistoryEvent:
        """Append a history event with ``changes``, worked out by the caller."""
        history = self.uow.history
        event = make_event(
            history.next_id(),
            appeal.id,
            kind,
            self.now,
            operator,
            appeal.process,
            appeal.queue,
            transition,
            changes if type(changes) is tuple else tuple(changes),
            comment,
            reason,
        )
        history.add(event)
        self.events.append(event)
        return event

    def reschedule(self, appeal: Appeal, moved: Mapping[str, datetime | None]) -> None:
        """Give ``appeal`` the deadlines its clocks moved (``moved``: field to new value),
        save it and record the move, so that replaying the history gives the appeal as
        stored.

        The move is part of this action's own event of the appeal (one event per action),
        or an event of its own when the action recorded none (a calendar changed) or
        recorded an administrator's deadline change, whose fields the clocks read as the
        administrator's."""
        changes = [make_change(f, getattr(appeal, f), due) for f, due in moved.items()]
        for field, due in moved.items():
            setattr(appeal, field, due)
        stored = self.save(appeal)
        if self._resaved is None:
            self._resaved = {}
        self._resaved[appeal.id] = stored
        events = self.events
        for i in range(len(events) - 1, -1, -1):
            mine = events[i]
            if mine.appeal_id != appeal.id:
                continue
            if mine.kind is not HistoryKind.DEADLINE_CHANGED:
                amended = attrs.evolve(mine, changes=_merged(mine.changes, changes))
                self.uow.history.amend(amended)
                events[i] = amended
                return
            break
        self.event(appeal, HistoryKind.RESCHEDULED, changes, None)

    def settled(self, result: T) -> T:
        """``result`` with the records of appeals the commit saved again in place of the
        ones the action made: what the action returns is what is stored."""
        resaved = self._resaved
        return result if not resaved else _settle(result, resaved)

    def notify(self, notification: Notification) -> None:
        """Put ``notification`` in the outbox, in this transaction: it is delivered after
        commit (by a relay, or by this action if the engine delivers after commit), and
        never if the action fails.

        With message templates in the catalog, the notification is written from its template
        at commit, with the appeal as the action leaves it, and the outbox keeps the finished
        subject, text and html."""
        if self.catalog.message_templates:
            if self._unwritten is None:
                self._unwritten = []
            self._unwritten.append(notification)
            return
        self._enqueue(notification)

    def deliver_after_commit(self, message_ids: Sequence[int]) -> None:
        """Outbox messages this action wrote itself, delivered right after its commit when
        the engine delivers after commit (else left to a relay)."""
        if self.rt.deliver_after_commit:
            if self._written is None:
                self._written = []
            self._written.extend(message_ids)

    def _enqueue(self, notification: Notification) -> None:
        ids = enqueue_notification(
            self.uow.outbox, notification, now=self.now, domain=self.rt.delivery_domain
        )
        if self.rt.deliver_after_commit:
            if self._written is None:
                self._written = []
            self._written.extend(ids)

    def commit(self) -> None:
        unwritten = self._unwritten
        if unwritten:
            self._unwritten = None
            for notification in unwritten:
                self._enqueue(render_notification(self, notification))
        events = self.events
        if events:
            # The clocks, and the deadlines they give, follow the history in the same
            # transaction: never stale. A rescheduling records nothing the clocks read.
            acted = [e for e in events if e.kind is not HistoryKind.RESCHEDULED]
            for appeal, moved in refresh_clocks(self.uow, self.catalog, self.now, acted):
                self.reschedule(appeal, moved)
            if self.rt.event_targets:  # other systems hear of exactly what is committed
                self._stage(events)
        self.uow.commit()
        written = self._written
        if written:
            self._written = None
            self.rt.deliver_written(written, max(self.rt.clock(), self.now))
        if events:
            if self.rt.event_hook.plain() != ():  # somebody observes, or pluggy must say
                self.rt.publish(events)
            events.clear()

    def _stage(self, events: list[HistoryEvent]) -> None:
        rt = self.rt
        ids = stage_events(
            self.uow.outbox, events, rt.event_targets, now=self.now, domain=rt.delivery_domain
        )
        if rt.deliver_after_commit:
            self._written = [*(self._written or ()), *ids]


def _versioned(appeal: Appeal, expected: int | None) -> Appeal:
    """``appeal``, if it is at the ``expected`` version (any when ``None``)."""
    if expected is not None and appeal.version != expected:
        raise ConcurrencyError("appeal", appeal.id, expected, appeal.version)
    return appeal


def _merged(changes: Sequence[Change], more: Sequence[Change]) -> tuple[Change, ...]:
    """``changes`` followed by ``more``, a field changed twice as one change (none if it
    ends as it began)."""
    merged = {c.field: c for c in changes}
    for change in more:
        first = merged.get(change.field)
        if first is not None:
            change = make_change(change.field, first.old, change.new)
        merged[change.field] = change
    return tuple(c for c in merged.values() if c.old != c.new or c.field not in _MOVABLE)


_MOVABLE = frozenset({"deadline", "process_deadline"})


def _settle(found: Any, resaved: Mapping[int, StoredAppeal]) -> Any:
    if isinstance(found, Appeal):
        return resaved.get(found.id, found)
    if isinstance(found, list):
        return [_settle(item, resaved) for item in found]
    if isinstance(found, tuple) and not hasattr(found, "_fields"):
        return tuple(_settle(item, resaved) for item in found)
    if attrs.has(type(found)):
        fields = {
            f.name: _settle(getattr(found, f.name), resaved)
            for f in attrs.fields(type(found))
            if f.init
        }
        if any(fields[name] is not getattr(found, name) for name in fields):
            return attrs.evolve(found, **fields)
    return found
