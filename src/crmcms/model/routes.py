"""Routes: versioned workflows of processes and transitions, with deadlines and handlers."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code, unique_codes
from crmcms.model._lookup import find
from crmcms.model.escalations import EscalationAction, EscalationLevel, LevelAction
from crmcms.model.values import Flag, freeze_mapping

__all__ = [
    "AttributeOverride",
    "Deadline",
    "Handler",
    "HandlerEvent",
    "Process",
    "QueuePolicy",
    "Route",
    "Transition",
]


class HandlerEvent(enum.Enum):
    """Workflow events a handler can run on."""

    HAND_OVER = "hand_over"
    """An appeal is handed over along a transition ("Передача на обработку")."""
    REJECTION = "rejection"
    """A hand-over along a transition is rejected ("Отклонение")."""
    APPEAL_CREATED = "appeal_created"
    PROCESS_ENTERED = "process_entered"
    PROCESS_LEFT = "process_left"
    APPEAL_CLOSED = "appeal_closed"
    APPEAL_REOPENED = "appeal_reopened"
    DEADLINE_WARNING = "deadline_warning"
    DEADLINE_BROKEN = "deadline_broken"


@attrs.frozen
class Handler:
    """An action run on a workflow event: a built-in action or a user business function.

    ``arguments`` map parameter names to rule-language expressions (source text).
    """

    event: HandlerEvent
    action: str
    arguments: Mapping[str, str] = attrs.field(factory=dict, converter=freeze_mapping, hash=False)
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.action.strip():
            raise ValidationError(
                [Problem("action", f"handler for {self.event.value} names no action")],
                subject="handler",
            )


@attrs.frozen
class Deadline:
    """The time allowed (SLA): a warning ``warn_before`` the end, escalation once it passes.

    ``notify`` and ``escalate_to`` hold mailing list codes or operator logins.
    """

    limit: timedelta
    warn_before: timedelta | None = None
    notify: tuple[str, ...] = ()
    escalate_to: tuple[str, ...] = ()
    business_time: bool = False
    """Count only working hours of the operator's calendar, not every hour of the clock."""
    priority_limits: tuple[tuple[str, timedelta], ...] = ()
    """The time allowed for appeals of a priority, by priority code, instead of ``limit``."""
    ladder: tuple[EscalationLevel, ...] = ()
    """Escalation levels in the order they fire; without one, ``warn_before``, ``notify``
    and ``escalate_to`` make two (see :meth:`levels`)."""

    def levels(self) -> tuple[EscalationLevel, ...]:
        """The ladder, or the two levels the shorthand stands for: a warning ``warn_before``
        the end to ``notify``, and at the end to ``notify`` and ``escalate_to``."""
        if self.ladder:
            return self.ladder
        made = []
        if self.warn_before is not None:
            warn = EscalationAction(LevelAction.NOTIFY, self.notify)
            made.append(EscalationLevel((warn,), offset=-self.warn_before))
        broken = EscalationAction(LevelAction.NOTIFY, self.notify + self.escalate_to)
        made.append(EscalationLevel((broken,), offset=timedelta(0)))
        return tuple(made)

    def limit_for(self, priority: str | None) -> timedelta:
        """The time allowed for an appeal of ``priority``."""
        return next((t for p, t in self.priority_limits if p == priority), self.limit)

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.limit <= timedelta(0):
            problems.append(Problem("limit", f"must be positive, got {self.limit}"))
        if self.warn_before is not None and not timedelta(0) < self.warn_before < self.limit:
            problems.append(
                Problem("warn_before", f"must be positive and under the limit {self.limit}")
            )
        for priority, limit in self.priority_limits:
            if limit <= timedelta(0):
                problems.append(
                    Problem(f"priority_limits.{priority}", f"must be positive, got {limit}")
                )
        if len({p for p, _ in self.priority_limits}) != len(self.priority_limits):
            problems.append(Problem("priority_limits", "a priority is given twice"))
        if problems:
            raise ValidationError(problems, subject="deadline")


@attrs.frozen
class AttributeOverride:
    """A process's own hidden / read-only / required flags for one attribute.

    ``None`` is the console's "not defined": the flag is inherited from the topic.
    """

    attribute: str
    hidden: Flag | None = None
    read_only: Flag | None = None
    required: Flag | None = None

    @property
    def inherits_all(self) -> bool:
        return self.hidden is None and self.read_only is None and self.required is None


class QueuePolicy(enum.Enum):
    """How an appeal entering a process finds its queue."""

    RULES = "rules"
    """The first of the candidate queues whose selection rule holds (a queue without one
    always does); candidates are the process's ``queues``, or else every active queue
    that allows the process."""
    KEEP = "keep"
    """The appeal stays in the queue it was in."""


@attrs.frozen
class Process:
    """One step of a route; ``final`` processes close the appeal and have no way out."""

    code: str
    name: str
    description: str = ""
    final: bool = False
    deadline: Deadline | None = None
    overrides: tuple[AttributeOverride, ...] = ()
    handlers: tuple[Handler, ...] = ()
    queue_policy: QueuePolicy = QueuePolicy.RULES
    queues: tuple[str, ...] = ()
    """Codes of the queues this process chooses among, in order; empty means any allowing it."""
    pauses: bool = False
    """While an appeal is in this process (waiting for the client, say) its first-response
    and resolution clocks stand still."""
    calendar: str | None = None
    """Code of the business calendar its deadline counts in; ``None`` defers to the queue's
    and then the route's."""

    def __attrs_post_init__(self) -> None:
        require_code("process", self.code)
        problems = unique_codes(
            f"process {self.code}", "overrides", (o.attribute for o in self.overrides)
        )
        problems += unique_codes(f"process {self.code}", "queues", self.queues)
        if self.queue_policy is QueuePolicy.KEEP and self.queues:
            problems.append(
                Problem("queues", f"process {self.code} keeps the queue, so it lists none")
            )
        if problems:
            raise ValidationError(problems, subject=f"process {self.code}")

    def override(self, attribute: str) -> AttributeOverride | None:
        """This process's override of ``attribute``, or ``None`` when it inherits every flag."""
        return next((o for o in self.overrides if o.attribute == attribute), None)


@attrs.frozen
class Transition:
    """A move from one process to another, allowed while its rule (by code) holds."""

    code: str
    name: str
    source: str
    target: str
    rule: str | None = None
    """Code of the :class:`~crmcms.model.common.Rule` guarding it; ``None`` means always."""
    handlers: tuple[Handler, ...] = ()
    description: str = ""
    automatic: bool = False
    """Taken without an operator as soon as the appeal is in ``source`` and the rule holds."""

    def __attrs_post_init__(self) -> None:
        require_code("transition", self.code)


@attrs.frozen
class Route:
    """A versioned workflow serving one or more topics; appeals keep the version they began on."""

    code: str
    name: str
    initial: str
    """Code of the process new appeals start in."""
    processes: tuple[Process, ...]
    transitions: tuple[Transition, ...] = ()
    version: int = 1
    topics: tuple[str, ...] = ()
    merge_common_attributes: bool = False
    """Show the attributes the route's topics share as one set."""
    deadline: Deadline | None = None
    """Time allowed for the whole appeal."""
    handlers: tuple[Handler, ...] = ()
    """Global workflow event handlers: run on every event of this route."""
    description: str = ""
    active: bool = True
    close_with_open_children: bool = False
    """Whether a parent appeal may close while child appeals are still open."""
    moved_processes: Mapping[str, str] = attrs.field(
        factory=dict, converter=freeze_mapping, hash=False
    )
    """Processes of the previous version that this one drops: old code -> the process of
    this version where appeals waiting in it continue."""
    first_response: Deadline | None = None
    """Time allowed from registration until an operator takes the appeal."""
    calendar: str | None = None
    """Code of the business calendar its business deadlines count in (``WEEKDAYS`` if none)."""

    @property
    def has_clocks(self) -> bool:
        """Whether anything on this route limits time: its appeals have SLA clocks."""
        return (
            self.deadline is not None
            or self.first_response is not None
            or any(p.deadline is not None for p in self.processes)
        )

    def __attrs_post_init__(self) -> None:
        require_code("route", self.code)
        subject = f"route {self.code} version {self.version}"
        problems = unique_codes(subject, "processes", (p.code for p in self.processes))
        problems += unique_codes(subject, "transitions", (t.code for t in self.transitions))
        problems += unique_codes(subject, "topics", self.topics)
        if self.version < 1:
            problems.append(Problem("version", f"{subject}: versions start at 1"))
        if not self.topics:
            problems.append(Problem("topics", f"{subject} serves no topic"))
        codes = {p.code: p for p in self.processes}
        if self.initial not in codes:
            problems.append(
                Problem("initial", f"{subject}: initial process {self.initial!r} is not defined")
            )
        if self.processes and not any(p.final for p in self.processes):
            problems.append(Problem("processes", f"{subject} has no final process"))
        for i, t in enumerate(self.transitions):
            for end in ("source", "target"):
                process = getattr(t, end)
                if process not in codes:
                    problems.append(
                        Problem(
                            f"transitions[{i}].{end}",
                            f"{subject}: transition {t.code} uses undefined process {process!r}",
                        )
                    )
            if t.source in codes and codes[t.source].final:
                problems.append(
                    Problem(
                        f"transitions[{i}].source",
                        f"{subject}: transition {t.code} leaves final process {t.source!r}",
                    )
                )
        problems += [
            Problem(
                "moved_processes",
                f"{subject}: appeals from dropped process {old!r} move to undefined {new!r}",
            )
            for old, new in self.moved_processes.items()
            if new not in codes
        ]
        if problems:
            raise ValidationError(problems, subject=subject)

    @property
    def key(self) -> tuple[str, int]:
        return (self.code, self.version)

    def process(self, code: str) -> Process:
        return find(
            f"process of route {self.code} v{self.version}",
            {p.code: p for p in self.processes},
            code,
        )

    def transition(self, code: str) -> Transition:
        return find(
            f"transition of route {self.code} v{self.version}",
            {t.code: t for t in self.transitions},
            code,
        )

    def transitions_from(self, process: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.source == process)
