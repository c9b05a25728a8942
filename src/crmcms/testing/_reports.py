"""Strategies for report definitions and periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from crmcms.model.reports import (
    FLOW_MEASURES,
    DimensionKind,
    Measure,
    ReportDefinition,
    ReportDimension,
    ReportPeriod,
    TimeBucket,
)
from crmcms.testing._basics import codes, names

__all__ = ["report_definitions", "report_dimensions", "report_periods"]

_PLAIN_KINDS = [k for k in DimensionKind if k is not DimensionKind.ATTRIBUTE]


def report_dimensions() -> st.SearchStrategy[ReportDimension]:
    plain = st.sampled_from(_PLAIN_KINDS).map(ReportDimension)
    attribute = codes().map(lambda c: ReportDimension(DimensionKind.ATTRIBUTE, c))
    return st.one_of(plain, attribute)


@st.composite
def report_definitions(draw: st.DrawFn, *, code: str | None = None) -> ReportDefinition:
    dims = draw(st.lists(report_dimensions(), min_size=1, max_size=3, unique=True))
    split = draw(st.integers(0, min(1, len(dims) - 1)))
    flow = draw(st.booleans())
    pool = (
        sorted(FLOW_MEASURES, key=lambda m: m.value)
        if flow
        else [m for m in Measure if m not in FLOW_MEASURES]
    )
    measures = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
    return ReportDefinition(
        code=code if code is not None else draw(codes()),
        title=draw(names()),
        rows=tuple(dims[split:]),
        columns=tuple(dims[:split]),
        measures=tuple(measures),
        filter=draw(
            st.sampled_from([None, 'Appeal.Topic.Code = "CLAIM"', "Appeal.Queue is empty"])
        ),
        bucket=draw(st.sampled_from(TimeBucket)),
        repeat_days=draw(st.integers(1, 90)),
        description=draw(names()),
    )


@st.composite
def report_periods(draw: st.DrawFn) -> ReportPeriod:
    start = draw(st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)))
    length = draw(st.timedeltas(timedelta(hours=1), timedelta(days=400)))
    zone = draw(st.sampled_from(["UTC", "Europe/Moscow", "Europe/Berlin", "America/Sao_Paulo"]))
    return ReportPeriod(start, start + length, zone)
