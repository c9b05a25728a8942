"""Report declarations to report definitions, each mistake reported where it stands."""

from __future__ import annotations

from crmcms.dsl.definitions.ast import Decl, Item, Ref
from crmcms.dsl.definitions.catalog_draft import CatalogDraft
from crmcms.dsl.definitions.parser import REPORT_ATTRIBUTE
from crmcms.errors import ValidationError
from crmcms.model import (
    DimensionKind,
    Measure,
    ReportDefinition,
    ReportDimension,
    TimeBucket,
)
from crmcms.model._lookup import did_you_mean

__all__ = ["BUILTIN_REPORT_CODES", "build_report"]

BUILTIN_REPORT_CODES = frozenset(
    {"by_topic", "by_operator", "repeat_appeals", "sla", "backlog", "reopened"}
)
"""The codes of the built-in reports (``crmcms.engine.reports``), which a file may not take."""

_DIMENSIONS = {k.value: k for k in DimensionKind if k is not DimensionKind.ATTRIBUTE}
_MEASURES = {m.value: m for m in Measure}
_BUCKETS = {b.value: b for b in TimeBucket}


class _Report:
    def __init__(self, draft: CatalogDraft, decl: Decl) -> None:
        self.draft = draft
        self.decl = decl
        self.what = f"report {decl.code.code}"
        self.failed = False

    def error(self, message: str, ref: Ref | Item, hint: str | None = None) -> None:
        self.failed = True
        self.draft.error(message, ref.span, hint)

    def dimensions(self, key: str) -> tuple[ReportDimension, ...]:
        item = self.draft.single(self.decl, key)
        found: list[ReportDimension] = []
        for ref in () if item is None else item.values:
            if ref.code.startswith(REPORT_ATTRIBUTE):
                found.append(
                    ReportDimension(
                        DimensionKind.ATTRIBUTE, ref.code.removeprefix(REPORT_ATTRIBUTE)
                    )
                )
                continue
            kind = _DIMENSIONS.get(ref.code)
            if kind is None:
                hint = did_you_mean(ref.code, _DIMENSIONS) or "one of " + ", ".join(_DIMENSIONS)
                self.error(f"unknown dimension {ref.code!r} in {self.what}", ref, hint)
            else:
                found.append(ReportDimension(kind))
        return tuple(found)

    def measures(self) -> tuple[Measure, ...]:
        item = self.draft.single(self.decl, "measures")
        if item is None:
            self.error(f"{self.what} needs 'measures: count, ...'", self.decl.code)
            return ()
        found: list[Measure] = []
        for ref in item.values:
            measure = _MEASURES.get(ref.code)
            if measure is None:
                hint = did_you_mean(ref.code, _MEASURES) or "one of " + ", ".join(_MEASURES)
                self.error(f"unknown measure {ref.code!r} in {self.what}", ref, hint)
            else:
                found.append(measure)
        return tuple(found)

    def bucket(self) -> TimeBucket:
        item = self.draft.single(self.decl, "bucket")
        if item is None:
            return TimeBucket.DAY
        ref = item.values[0]
        bucket = _BUCKETS.get(ref.code)
        if bucket is None:
            self.error(
                f"unknown bucket {ref.code!r} in {self.what}", ref, "one of " + ", ".join(_BUCKETS)
            )
            return TimeBucket.DAY
        return bucket

    def filter(self) -> str | None:
        item = self.draft.single(self.decl, "filter")
        if item is None:
            return None
        return self.draft.condition(item.values[0], ("catalog",), self.what)


def build_report(draft: CatalogDraft, decl: Decl) -> None:
    """Add the report ``decl`` declares; an unknown dimension, measure or bucket, and a code
    a built-in report has, are reported at the line they are on."""
    code = decl.code.code
    report = _Report(draft, decl)
    if code in BUILTIN_REPORT_CODES:
        report.error(f"report {code} is a built-in report: choose another code", decl.code)
    rows = report.dimensions("rows")
    if not rows and draft.single(decl, "rows") is None:
        report.error(f"report {code} needs 'rows: topic, ...'", decl.code)
    columns = report.dimensions("columns")
    measures = report.measures()
    bucket = report.bucket()
    rule = report.filter()
    repeat = draft.single(decl, "repeat")
    if report.failed:
        return

    def build() -> ReportDefinition:
        return ReportDefinition(
            code,
            decl.name or "",
            rows=rows,
            measures=measures,
            columns=columns,
            filter=rule,
            bucket=bucket,
            repeat_days=30 if repeat is None else int(repeat.values[0]),
            description=draft.description(decl),
        )

    try:
        build()
    except ValidationError as exc:
        for problem in exc.problems:
            draft.error(f"{report.what}: {problem.message}", decl.code.span)
        return
    draft.add("reports", decl, code, report.what, build)
