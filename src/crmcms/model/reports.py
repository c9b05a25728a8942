"""Report definitions: dimensions heading the rows (and columns) by measures, over a period."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code

__all__ = [
    "FLOW_MEASURES",
    "DimensionKind",
    "Measure",
    "ReportDefinition",
    "ReportDimension",
    "ReportPeriod",
    "TimeBucket",
]


class DimensionKind(enum.Enum):
    """What appeals are grouped by."""

    TOPIC = "topic"
    TOPIC_GROUP = "topic_group"
    """The group the appeal's topic sits in (its nearest one)."""
    OPERATOR = "operator"
    """The operator who registered the appeal."""
    RESPONSIBLE = "responsible"
    """The operator the appeal is assigned to."""
    QUEUE = "queue"
    PROCESS = "process"
    CHANNEL = "channel"
    PLACE = "place"
    CLIENT_CATEGORY = "client_category"
    REGION = "region"
    """The client's region."""
    PRIORITY = "priority"
    STATE = "state"
    PERIOD = "period"
    """The time bucket (hour, day, week or month) in the report's time zone."""
    ATTRIBUTE = "attribute"
    """A topic attribute shown as a list column, by its code."""


@attrs.frozen
class ReportDimension:
    """One grouping: ``ReportDimension(DimensionKind.TOPIC)`` or an attribute's,
    ``ReportDimension(DimensionKind.ATTRIBUTE, "166")``."""

    kind: DimensionKind
    attribute: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.kind is DimensionKind.ATTRIBUTE) != (self.attribute is not None):
            raise ValidationError(
                [Problem("attribute", "an attribute dimension, and only it, names an attribute")],
                subject="report dimension",
            )

    @property
    def code(self) -> str:
        """The dimension as written on a command line: ``topic``, ``attribute:166``."""
        if self.attribute is not None:
            return f"attribute:{self.attribute}"
        return self.kind.value

    @classmethod
    def parse(cls, text: str) -> ReportDimension:
        """The dimension ``text`` names (``topic``, ``attribute:166``); a ValidationError
        listing the known ones otherwise."""
        head, sep, code = text.strip().partition(":")
        if sep and head == "attribute" and code:
            return cls(DimensionKind.ATTRIBUTE, code)
        try:
            kind = DimensionKind(head)
        except ValueError:
            kind = None
        if kind is None or kind is DimensionKind.ATTRIBUTE or sep:
            known = ", ".join(k.value for k in DimensionKind if k is not DimensionKind.ATTRIBUTE)
            raise ValidationError(
                [Problem("by", f"no dimension {text!r}; known: {known}, attribute:CODE")]
            ) from None
        return cls(kind)


class Measure(enum.Enum):
    """What is computed for each group.

    Most measures are over the appeals *registered* in the period (or the bucket); the flow
    measures (:data:`FLOW_MEASURES`) count what happened in it.
    """

    COUNT = "count"
    """Appeals registered."""
    OPEN = "open"
    """Of them, open now."""
    CLOSED = "closed"
    """Of them, closed now."""
    REOPENED = "reopened"
    """Of them, reopened at least once."""
    REOPENED_SHARE = "reopened_share"
    REPEATED = "repeated"
    """Of them, repeats: the same client or subscriber on the same topic within the report's
    repeat window after the previous appeal."""
    REPEATED_SHARE = "repeated_share"
    HANDLING_MEDIAN = "handling_median"
    """Median business time from registration to closing (closed appeals)."""
    HANDLING_P90 = "handling_p90"
    FIRST_RESPONSE_MEDIAN = "first_response_median"
    """Median business time to the first response (appeals answered)."""
    FIRST_RESPONSE_P90 = "first_response_p90"
    SLA_MET = "sla_met"
    """Closed within the resolution limit."""
    SLA_BREACHED = "sla_breached"
    """Past the resolution limit, closed or not."""
    SLA_COMPLIANCE = "sla_compliance"
    """Met out of met and breached."""
    OPENED = "opened"
    """Flow: appeals registered in the bucket."""
    RESOLVED = "resolved"
    """Flow: appeals closed in the bucket."""
    BACKLOG = "backlog"
    """Flow: appeals open at the end of the bucket."""


FLOW_MEASURES = frozenset({Measure.OPENED, Measure.RESOLVED, Measure.BACKLOG})
"""Measures of events in the period rather than of the appeals registered in it; a report
has either kind, not both."""


FIRST_YEAR, LAST_YEAR = 1900, 2200
"""The years a report period may span: room for any appeal, and for repeat windows."""


class TimeBucket(enum.Enum):
    """How the period dimension cuts time, in the report's time zone."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    """Weeks start on Monday."""
    MONTH = "month"


@attrs.frozen
class ReportDefinition:
    """A report: appeals grouped by ``rows`` (and ``columns``, which spread one measure
    table per value across), with ``measures`` per group, over those ``filter`` (a rule)
    selects.

    ``repeat_days`` is the window of :attr:`Measure.REPEATED`; ``bucket`` cuts the period
    dimension. Built-in reports and those of definition files and plugins are all this.
    """

    code: str
    title: str
    rows: tuple[ReportDimension, ...]
    measures: tuple[Measure, ...]
    columns: tuple[ReportDimension, ...] = ()
    filter: str | None = None
    bucket: TimeBucket = TimeBucket.DAY
    repeat_days: int = 30
    description: str = ""

    def __attrs_post_init__(self) -> None:
        require_code("report", self.code)
        problems = []
        if not self.measures:
            problems.append(Problem("measures", "a report needs at least one measure"))
        if len(set(self.measures)) != len(self.measures):
            problems.append(Problem("measures", "a measure is listed twice"))
        dims = [*self.rows, *self.columns]
        if len(set(dims)) != len(dims):
            problems.append(Problem("rows", "a dimension is listed twice"))
        if len(self.columns) > 1:
            problems.append(Problem("columns", "at most one dimension spreads across columns"))
        flow = {m in FLOW_MEASURES for m in self.measures}
        if len(flow) > 1:
            problems.append(
                Problem(
                    "measures",
                    "opened, resolved and backlog count events in the period and cannot be "
                    "mixed with measures of the appeals registered in it",
                )
            )
        if self.repeat_days < 1:
            problems.append(Problem("repeat_days", "must be at least 1"))
        if problems:
            raise ValidationError(problems, subject=f"report {self.code}")

    @property
    def flow(self) -> bool:
        """Whether the report counts events in the period (opened, resolved, backlog)."""
        return bool(self.measures) and self.measures[0] in FLOW_MEASURES


@attrs.frozen
class ReportPeriod:
    """``[start, end)`` as aware datetimes; the report's buckets are cut in ``timezone``
    (an IANA name such as ``Europe/Moscow``)."""

    start: datetime
    end: datetime
    timezone: str = "UTC"

    def __attrs_post_init__(self) -> None:
        problems = []
        for name in ("start", "end"):
            if getattr(self, name).utcoffset() is None:
                problems.append(Problem(name, "must carry a time zone"))
        if not problems and self.end <= self.start:
            problems.append(Problem("end", "the period must end after it starts"))
        for name in ("start", "end"):
            year = getattr(self, name).year
            if not FIRST_YEAR <= year <= LAST_YEAR:
                problems.append(
                    Problem(name, f"{year} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
                )
        if problems:
            raise ValidationError(problems, subject="report period")

    @property
    def length(self) -> timedelta:
        return self.end - self.start
