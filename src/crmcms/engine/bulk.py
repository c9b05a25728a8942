"""Bulk operations: one action over many appeals, each item all-or-nothing, a result per item."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs

from crmcms.errors import CrmcmsError
from crmcms.model import Appeal

__all__ = ["BulkItem", "BulkResult", "run_batched", "run_bulk"]


@attrs.frozen
class BulkItem:
    """What happened to one appeal: done (with its new version) or the error that refused it."""

    appeal_id: int
    ok: bool
    version: int | None = None
    error: str | None = None
    error_type: str | None = None


@attrs.frozen
class BulkResult:
    items: tuple[BulkItem, ...]

    @property
    def succeeded(self) -> tuple[int, ...]:
        return tuple(i.appeal_id for i in self.items if i.ok)

    @property
    def failed(self) -> tuple[BulkItem, ...]:
        return tuple(i for i in self.items if not i.ok)


def run_bulk(appeal_ids: Iterable[int], action: Callable[[int], Appeal]) -> BulkResult:
    """Call ``action`` per appeal; each call is its own transaction, so a failure keeps the
    others' successes and changes nothing of its own appeal."""
    items = []
    for appeal_id in appeal_ids:
        try:
            appeal = action(appeal_id)
        except CrmcmsError as err:
            items.append(BulkItem(appeal_id, False, error=str(err), error_type=type(err).__name__))
        else:
            items.append(BulkItem(appeal_id, True, version=appeal.version))
    return BulkResult(tuple(items))


def run_batched(
    pending: Callable[[], Sequence[int]],
    together: Callable[[list[int]], None],
    alone: Callable[[int], None],
    done: Callable[[int], None] | None = None,
) -> None:
    """Work through what ``pending`` hands out until it hands out nothing.

    Each batch goes to ``together``, one transaction for the lot; a batch one item of
    refuses (a :class:`~crmcms.errors.CrmcmsError`) is done again item by item with
    ``alone``, each its own transaction, which must leave the item done whatever happens
    to it (a failure recorded as its outcome). The callables keep the progress where
    ``pending`` reads it, with the work itself: after a crash, running again goes on with
    what no committed batch did. ``done`` is told how many each batch finished.
    """
    while True:
        batch = list(pending())
        if not batch:
            return
        try:
            together(batch)
        except CrmcmsError:
            for item in batch:
                alone(item)
        if done is not None:
            done(len(batch))
