"""History: snapshots and diffs of appeals, replay to any moment, and why an appeal is queued."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import attrs

from crmcms.engine.records import make_change
from crmcms.errors import NotFoundError
from crmcms.model import Appeal, AppealState, Change, HistoryEvent, HistoryKind

__all__ = [
    "ALL",
    "CLOSE",
    "MOVE",
    "TRACKED_FIELDS",
    "QueueExplanation",
    "Snapshot",
    "Watch",
    "again",
    "blank_snapshot",
    "change",
    "changes_since",
    "diff",
    "explain_queue",
    "replay",
    "snapshot",
]

TRACKED_FIELDS = (
    "process",
    "queue",
    "state",
    "responsible",
    "priority",
    "description",
    "process_entered_at",
    "deadline",
    "process_deadline",
    "closed_at",
)
"""Appeal fields whose every change is recorded; attribute values are ``values.<code>``."""

VALUES = "values."

_BLANK: dict[str, Any] = {
    "process": "",
    "queue": None,
    "state": AppealState.OPEN.value,
    "responsible": None,
    "priority": None,
    "description": "",
    "process_entered_at": None,
    "deadline": None,
    "process_deadline": None,
    "closed_at": None,
    # Not diffed like the fields above: linking to a system problem records its own change.
    "system_problem_id": None,
}


class Watch:
    """Some of the recorded fields, read together: what one step of an action may change.

    Routing knows which fields each of its steps changes (a move sets the process; entering
    a process sets its queue and times; closing sets the state), and diffing only those
    keeps a transition's history cheap. Everything else uses :data:`ALL`.
    """

    __slots__ = ("_read", "fields")

    def __init__(self, *fields: str) -> None:
        unknown = set(fields) - set(TRACKED_FIELDS)
        if unknown:
            raise ValueError(f"not recorded fields: {sorted(unknown)}")
        self.fields = fields
        read = operator.attrgetter(*fields)
        self._read: Callable[[Appeal], tuple[Any, ...]] = (
            read if len(fields) > 1 else lambda appeal: (read(appeal),)
        )

    def __call__(self, appeal: Appeal, *, values: bool = False) -> Snapshot:
        """The watched fields of ``appeal`` and, with ``values``, a copy of its values."""
        return self, self._read(appeal), dict(appeal.values) if values else None

    def read(self, appeal: Appeal) -> tuple[Any, ...]:
        """The watched fields of ``appeal``, in this watch's order."""
        return self._read(appeal)

    def changes(self, before: tuple[Any, ...], appeal: Appeal) -> list[Change]:
        """The changes of the watched fields since :meth:`read` gave ``before``."""
        return self.compare(before, self._read(appeal))

    def compare(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> list[Change]:
        if old == new:
            return []
        # A plain loop: a comprehension is a function call of its own, for one to three fields.
        out = []
        for f, a, b in zip(self.fields, old, new, strict=True):
            if a != b:
                out.append(change(f, a, b))
        return out


Snapshot = tuple[Watch, tuple[Any, ...], dict[str, Any] | None]
"""What a :class:`Watch` read, the fields' values in its order (the state as the enum), and a
copy of the appeal's values or ``None`` when the step cannot change values."""

ALL = Watch(*TRACKED_FIELDS)
MOVE = Watch("process")
CLOSE = Watch("state", "process_deadline", "closed_at")

_BLANK_FIELDS = tuple(AppealState(_BLANK[f]) if f == "state" else _BLANK[f] for f in TRACKED_FIELDS)


def blank_snapshot() -> Snapshot:
    """The fields before registration: what the first event's changes start from."""
    return ALL, _BLANK_FIELDS, {}


def snapshot(appeal: Appeal, *, values: bool = True) -> Snapshot:
    """Every recorded field of ``appeal`` and, with ``values``, a copy of its values."""
    return ALL(appeal, values=values)


def again(before: Snapshot, appeal: Appeal) -> Snapshot:
    """``appeal`` read the way ``before`` was: the same fields, values if it has them."""
    watch, _, values = before
    return watch(appeal, values=values is not None)


_CODES = frozenset({"process", "queue", "state"})
_shared: dict[tuple[str, Any, Any], Change] = {}


def change(field: str, old: Any, new: Any) -> Change:
    """``Change(field, old, new)``, with the state as its value.

    Changes of codes (process, queue, state) come from a small set — the catalog's codes —
    and repeat across appeals; being immutable, each is made once and shared.
    """
    if type(old) is AppealState:
        old = old.value
    if type(new) is AppealState:
        new = new.value
    if field not in _CODES:
        return make_change(field, old, new)
    key = (field, old, new)
    found = _shared.get(key)
    if found is None:
        found = _shared[key] = make_change(field, old, new)
    return found


def diff(before: Snapshot, after: Snapshot) -> tuple[Change, ...]:
    """The changes from ``before`` to ``after`` (read by the same watch): fields in a fixed
    order, then values by code when both snapshots have them."""
    watch, old_fields, old = before
    _, new_fields, new = after
    changes = watch.compare(old_fields, new_fields)
    if old is not None and new is not None and old != new:
        changes += [
            make_change(VALUES + code, old.get(code), new.get(code))
            for code in sorted(old.keys() | new.keys())
            if old.get(code) != new.get(code)
        ]
    return tuple(changes)


def changes_since(before: Snapshot, appeal: Appeal) -> tuple[Change, ...]:
    """What changed in ``appeal`` since ``before`` was read (see :func:`diff`)."""
    return diff(before, again(before, appeal))


def replay(current: Appeal, events: Sequence[HistoryEvent], moment: datetime) -> Appeal:
    """The appeal as it was at ``moment``, rebuilt from its history.

    Identity fields (contact, topic, route version, who registered it) never change and come
    from ``current``; ``version`` is the current one, since history does not count saves.
    """
    if moment < current.registered_at:
        raise NotFoundError(
            "appeal at", (current.id, moment.isoformat()), hint="not yet registered"
        )
    state = dict(_BLANK)
    values: dict[str, Any] = {}
    for event in events:
        if event.at > moment:
            break
        for change in event.changes:
            if change.field.startswith(VALUES):
                code = change.field[len(VALUES) :]
                if change.new is None:
                    values.pop(code, None)
                else:
                    values[code] = change.new
            elif change.field in state:  # not what the contact, a file or a client holds
                state[change.field] = change.new
    state["state"] = AppealState(state["state"])
    return attrs.evolve(current, values=values, **state)


@attrs.frozen
class QueueExplanation:
    """Why an appeal is where it is: the event that put it there and the reason recorded."""

    appeal_id: int
    queue: str | None
    process: str
    since: datetime
    by: str | None
    """Login of who moved it there; ``None`` for the system."""
    transition: str | None
    reason: str

    def __str__(self) -> str:
        who = self.by or "the system"
        via = f" via transition {self.transition}" if self.transition else ""
        return (
            f"appeal {self.appeal_id} is in queue {self.queue} (process {self.process}) since "
            f"{self.since.isoformat()}, put there by {who}{via}: {self.reason}"
        )


def explain_queue(appeal: Appeal, events: Sequence[HistoryEvent]) -> QueueExplanation:
    """Why ``appeal`` is in its current queue, from the last event that set the queue."""
    for event in reversed(events):
        if any(c.field == "queue" for c in event.changes) or event.kind is HistoryKind.CREATED:
            return QueueExplanation(
                appeal.id,
                appeal.queue,
                appeal.process,
                event.at,
                event.operator,
                event.transition,
                # Histories written before events had a reason keep it as the comment.
                event.reason or event.comment,
            )
    raise NotFoundError("queue event of appeal", appeal.id)
