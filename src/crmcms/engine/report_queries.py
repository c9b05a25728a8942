"""The port reports run through: one aggregate query, computed where the appeals are kept."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

import attrs

from crmcms.dsl import CompiledRule, RuleType
from crmcms.engine.obstacles import ReadScope
from crmcms.export import ReportCell
from crmcms.model import ReportDefinition, ReportDimension, ReportPeriod

__all__ = ["ReportQueries", "ReportQuery"]


@attrs.frozen
class ReportQuery:
    """What a storage adapter computes: ``definition``'s groups and measures over the
    appeals registered in ``period`` (or, for a flow report, the events in it) that every
    rule of ``filters`` selects and ``scope``'s reader may see; the archive too when
    ``archived``.

    ``topic_groups`` maps each topic to its group, ``attributes`` types the attributes a
    dimension reads (both from the catalog).
    """

    definition: ReportDefinition
    period: ReportPeriod
    filters: tuple[CompiledRule, ...] = ()
    archived: bool = False
    scope: ReadScope | None = None
    topic_groups: Mapping[str, str] = attrs.field(factory=dict)
    attributes: Mapping[str, RuleType] = attrs.field(factory=dict)

    @property
    def dimensions(self) -> tuple[ReportDimension, ...]:
        """The rows' dimensions, then the columns': the order of a row's leading values."""
        return (*self.definition.rows, *self.definition.columns)


class ReportQueries(Protocol):
    """Runs report queries read-only (possibly on a replica of the database)."""

    def rows(self, query: ReportQuery) -> Iterator[tuple[ReportCell, ...]]:
        """One tuple per group, ordered by the dimensions: the value of each dimension
        (:attr:`ReportQuery.dimensions`; a period as a ``date``, or for hours an aware
        ``datetime`` in the period's time zone), then of each measure (counts as ``int``,
        shares as ``float`` fractions or ``None``, times as ``timedelta`` or ``None``).
        Rows are read as the caller iterates, from an open cursor."""
        ...
