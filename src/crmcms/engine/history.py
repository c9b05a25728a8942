"""History: snapshots and diffs of appeals, replay to any moment, and why an appeal is queued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from crmcms.errors import NotFoundError
from crmcms.model import Appeal, AppealState, Change, HistoryEvent, HistoryKind

__all__ = [
    "TRACKED_FIELDS",
    "QueueExplanation",
    "blank_snapshot",
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
}


def blank_snapshot() -> dict[str, Any]:
    """The fields before registration: what the first event's changes start from."""
    return dict(_BLANK)


def snapshot(appeal: Appeal) -> dict[str, Any]:
    """The recorded fields of ``appeal`` (the state as its ``value``) and a copy of its values."""
    out: dict[str, Any] = {f: getattr(appeal, f) for f in TRACKED_FIELDS}
    out["state"] = appeal.state.value
    out["values"] = dict(appeal.values)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    """The changes from ``before`` to ``after``: fields in a fixed order, then values by code."""
    changes = [Change(f, before[f], after[f]) for f in TRACKED_FIELDS if before[f] != after[f]]
    old: dict[str, Any] = before.get("values", {})
    new: dict[str, Any] = after["values"]
    if old != new:
        changes += [
            Change(VALUES + code, old.get(code), new.get(code))
            for code in sorted(old.keys() | new.keys())
            if old.get(code) != new.get(code)
        ]
    return tuple(changes)


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
            else:
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
                event.comment,
            )
    raise NotFoundError("queue event of appeal", appeal.id)
