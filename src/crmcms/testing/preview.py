"""A preview of new definitions against a database, before anything is published: where the
appeals waiting there would continue, which would be stuck and which deadlines would change.

The database counts the waiting appeals (by route, version, topic, process and queue); the
preview decides per group, so 100,000 appeals cost a few queries. Appeals are listed one by
one only when stuck, and only up to a limit; every stuck one is counted.
"""

from __future__ import annotations

import attrs

from crmcms.engine.queues import candidate_queues
from crmcms.errors import NotFoundError
from crmcms.model import Catalog, Deadline, QueuePolicy, Route
from crmcms.storage import SqlStore
from crmcms.storage.sql.preview import AppealGroup, WaitingAppeals

__all__ = [
    "DeadlineChange",
    "Preview",
    "PreviewGroup",
    "StuckAppeal",
    "preview_route_version",
]


@attrs.frozen
class PreviewGroup:
    """Waiting appeals alike, and where they would continue."""

    route: str
    version: int
    topic: str
    process: str
    queue: str | None
    count: int
    new_version: int | None
    new_process: str | None
    """The process they continue in; ``None`` when they cannot."""
    stuck: str = ""
    """Why every one of them would be stuck; empty when they can continue."""
    lacking: int = 0
    """How many lack a required attribute of the process they continue in (stuck too)."""
    required: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        """Already on the new version, in the same process: nothing changes for them."""
        return self.new_version == self.version and self.new_process == self.process

    @property
    def stuck_count(self) -> int:
        return self.count if self.stuck else self.lacking


@attrs.frozen
class DeadlineChange:
    """A process deadline that would change for waiting appeals."""

    route: str
    version: int
    process: str
    new_process: str
    before: str
    after: str
    count: int


@attrs.frozen
class StuckAppeal:
    appeal_id: int
    route: str
    version: int
    process: str
    reason: str


@attrs.frozen
class Preview:
    """What publishing the new definitions would do to the waiting appeals."""

    groups: tuple[PreviewGroup, ...]
    deadlines: tuple[DeadlineChange, ...]
    stuck: tuple[StuckAppeal, ...]
    """Stuck appeals one by one, up to the limit asked for."""
    stuck_count: int
    """Every stuck appeal, listed or not."""

    @property
    def waiting(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def moved(self) -> int:
        """Waiting appeals that would continue (on the new version or where they are)."""
        return self.waiting - self.stuck_count


def _deadline(deadline: Deadline | None) -> str:
    if deadline is None:
        return "none"
    hours = deadline.limit.total_seconds() / 3600
    text = f"{hours / 24:g}d" if hours % 24 == 0 else f"{hours:g}h"
    return text + (" business" if deadline.business_time else "")


def _target(new_catalog: Catalog, group: AppealGroup) -> tuple[Route | None, str | None, str]:
    """The route version and process ``group`` continues in, or why it cannot."""
    try:
        route = new_catalog.current_route(group.route)
    except NotFoundError:
        return None, None, f"route {group.route} is gone from the new definitions"
    if route.version == group.version:
        return route, group.process, ""
    if route.version < group.version:
        return (
            route,
            None,
            f"the appeals are on v{group.version} of route {route.code}, newer than the "
            f"new definitions' v{route.version}",
        )
    process = group.process
    # Follow `moved` through every version between theirs and the new one.
    versions = [v for v in new_catalog.route_versions(route.code) if v > group.version]
    for version in versions:
        step = new_catalog.route(route.code, version)
        if process in {p.code for p in step.processes}:
            continue
        moved = step.moved_processes.get(process)
        if moved is None:
            return (
                route,
                None,
                f"process {process} is gone from v{version} of route {route.code} and no "
                f"moved says where its appeals go",
            )
        process = moved
    return route, process, ""


def _queue_problem(new_catalog: Catalog, route: Route, process: str, queue: str | None) -> str:
    step = route.process(process)
    if step.queue_policy is QueuePolicy.KEEP:
        if queue is not None and queue not in {q.code for q in new_catalog.queues if q.active}:
            return f"queue {queue} is gone from the new definitions"
        return ""
    codes = [q.code for q in candidate_queues(new_catalog, route, process)]
    if queue in codes or (queue is None and not codes):
        return ""
    if not codes:
        return f"no queue takes appeals in process {process} of route {route.code} v{route.version}"
    return (
        f"queue {queue} no longer takes appeals in process {process} of route {route.code} "
        f"v{route.version} (it takes them in {', '.join(codes)})"
    )


def _required(new_catalog: Catalog, route: Route, process: str, topic: str) -> tuple[str, ...]:
    try:
        attributes = new_catalog.effective_attributes(topic)
    except NotFoundError:
        return ()
    found = []
    for a in attributes:
        flags = new_catalog.attribute_flags(topic, a.definition.code, route=route, process=process)
        if flags.required.always and not flags.hidden.always and a.definition.active:
            found.append(a.definition.code)
    return tuple(found)


def preview_route_version(
    store: SqlStore, new_catalog: Catalog, *, stuck_limit: int = 20
) -> Preview:
    """Where the appeals waiting in ``store`` would continue if ``new_catalog`` were published.

    An appeal on an older version of a route continues on the route's current version of
    ``new_catalog``, in the same process or where ``moved`` sends it. It is stuck when its
    process is gone without a ``moved``, when the queue it waits in no longer takes appeals
    in that process, or when it lacks a value of an attribute required there. Appeals already
    on the current version stay as they are. Nothing is written."""
    waiting = WaitingAppeals(store.engine)
    groups: list[PreviewGroup] = []
    deadlines: dict[tuple[str, int, str, str], DeadlineChange] = {}
    stuck: list[StuckAppeal] = []
    stuck_count = 0
    for group in waiting.groups():
        route, process, why = _target(new_catalog, group)
        new_version = route.version if route is not None else None
        lacking = 0
        required: tuple[str, ...] = ()
        if route is not None and process is not None and route.version != group.version:
            why = _queue_problem(new_catalog, route, process, group.queue)
            if not why:
                required = _required(new_catalog, route, process, group.topic)
                lacking = waiting.count_lacking(group, required)
            _note_deadline(new_catalog, group, route, process, deadlines)
        made = PreviewGroup(
            group.route,
            group.version,
            group.topic,
            group.process,
            group.queue,
            group.count,
            new_version,
            process if not why else None,
            why,
            lacking,
            required,
        )
        groups.append(made)
        stuck_count += made.stuck_count
        room = stuck_limit - len(stuck)
        reason = why
        lacking_codes: tuple[str, ...] = ()
        if not why and lacking:
            reason = (
                f"lacks a value of {', '.join(required)}, required in process {process} of "
                f"route {group.route} v{new_version}"
            )
            lacking_codes = required
        if reason:
            ids = waiting.ids(group, lacking=lacking_codes, limit=room)
            stuck += [
                StuckAppeal(i, group.route, group.version, group.process, reason) for i in ids
            ]
    return Preview(tuple(groups), tuple(deadlines.values()), tuple(stuck), stuck_count)


def _note_deadline(
    new_catalog: Catalog,
    group: AppealGroup,
    route: Route,
    process: str,
    found: dict[tuple[str, int, str, str], DeadlineChange],
) -> None:
    try:
        old = new_catalog.route(group.route, group.version).process(group.process).deadline
    except NotFoundError:
        return  # the old version is not among the new definitions: nothing to compare with
    new = route.process(process).deadline
    before, after = _deadline(old), _deadline(new)
    if before == after:
        return
    key = (group.route, group.version, group.process, process)
    seen = found.get(key)
    count = group.count + (seen.count if seen else 0)
    found[key] = DeadlineChange(
        group.route, group.version, group.process, process, before, after, count
    )
