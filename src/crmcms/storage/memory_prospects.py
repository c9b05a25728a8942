"""Prospects in memory: staged in the unit of work, written under the store's lock at commit."""

from __future__ import annotations

import itertools

import attrs

from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import Prospect, ProspectStatus

__all__ = ["MemoryProspects"]


class MemoryProspects:
    """The prospects repository of one memory unit of work, over the store's ``stored``."""

    __slots__ = ("_ids", "_stored", "base", "staged_prospects")

    def __init__(self, stored: dict[int, Prospect], ids: itertools.count[int]) -> None:
        self._stored = stored
        self._ids = ids
        self.staged_prospects: dict[int, Prospect] = {}
        self.base: dict[int, int] = {}
        """The stored version each prospect changed here had (0 for a new one)."""

    @property
    def staged(self) -> bool:
        return bool(self.staged_prospects)

    def reset(self) -> None:
        self.staged_prospects.clear()
        self.base.clear()

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, prospect: Prospect) -> None:
        if prospect.id in self.staged_prospects or prospect.id in self._stored:
            raise StorageError(f"prospect {prospect.id} is already stored")
        self.staged_prospects[prospect.id] = attrs.evolve(prospect)
        self.base[prospect.id] = 0

    def get(self, prospect_id: int) -> Prospect:
        found = self.staged_prospects.get(prospect_id) or self._stored.get(prospect_id)
        if found is None:
            raise NotFoundError("prospect", prospect_id)
        return attrs.evolve(found)

    def update(self, prospect: Prospect) -> None:
        current = self.get(prospect.id).version
        if current != prospect.version - 1:
            raise ConcurrencyError("prospect", prospect.id, prospect.version - 1, current)
        self.base.setdefault(prospect.id, current)
        self.staged_prospects[prospect.id] = attrs.evolve(prospect)

    def find(self, *, status: ProspectStatus | None = None, limit: int = 100) -> list[Prospect]:
        every = {**self._stored, **self.staged_prospects}
        found = [p for p in every.values() if status is None or p.status is status]
        found.sort(key=lambda p: -p.id)
        return [attrs.evolve(p) for p in found[:limit]]

    def conflict(self) -> tuple[int, int, int | None] | None:
        """A prospect changed here that another unit of work changed meanwhile."""
        for prospect_id, base in self.base.items():
            stored = self._stored.get(prospect_id)
            version = 0 if stored is None else stored.version
            if version != base:
                return prospect_id, base, version
        return None

    def write(self) -> None:
        """Inside the commit, under the store's lock."""
        self._stored.update(self.staged_prospects)
        self.reset()
