"""Escalation ladders: what happens, and when, as a deadline's time runs out."""

from __future__ import annotations

import enum
from datetime import timedelta

import attrs

from crmcms.errors import Problem, ValidationError

__all__ = ["EscalationAction", "EscalationLevel", "LevelAction"]


class LevelAction(enum.Enum):
    NOTIFY = "notify"
    """Tell ``targets``: operators, mailing lists, ``role CODE`` or ``responsible``."""
    RAISE_PRIORITY = "raise_priority"
    MOVE_TO_QUEUE = "move_to_queue"
    CALL = "call"
    """Call a business function (``crmcms_business_functions``) named by ``value``."""


@attrs.frozen
class EscalationAction:
    kind: LevelAction
    targets: tuple[str, ...] = ()
    """Who a notification goes to: logins, mailing lists, ``role CODE``, ``responsible``."""
    value: str = ""
    """The priority, queue or business function of the other kinds."""


@attrs.frozen
class EscalationLevel:
    """One rung of a ladder: at a share of the allowed time, or an offset from the due time.

    ``share`` is a percentage of the limit (``at 75%``); ``offset`` is business time
    before (negative) or after the due time (``at -1h``, ``at +2h``). A level
    ``in_working_time`` waits for the calendar's next working minute when it falls outside.
    """

    actions: tuple[EscalationAction, ...]
    share: int | None = None
    offset: timedelta | None = None
    in_working_time: bool = False

    def __attrs_post_init__(self) -> None:
        problems = []
        if (self.share is None) == (self.offset is None):
            problems.append(Problem("at", "a level is at a share or at an offset, one of them"))
        if self.share is not None and not 0 <= self.share <= 100:
            problems.append(Problem("share", f"must be within 0-100%, got {self.share}%"))
        if problems:
            raise ValidationError(problems, subject="escalation level")

    @property
    def breaks_deadline(self) -> bool:
        """Whether it fires once the deadline has passed (at 100% or later)."""
        if self.share is not None:
            return self.share >= 100
        assert self.offset is not None
        return self.offset >= timedelta(0)

    def position(self, limit: timedelta) -> timedelta:
        """Where it sits on a clock allowing ``limit``: working time since the start."""
        if self.share is not None:
            return limit * self.share / 100
        assert self.offset is not None
        return max(limit + self.offset, timedelta(0))
