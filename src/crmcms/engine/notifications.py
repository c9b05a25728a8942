"""Who a notification goes to: mailing lists expanded into their members."""

from __future__ import annotations

from collections.abc import Iterable

from crmcms.errors import NotFoundError
from crmcms.model import Catalog, Notification, NotificationKind

__all__ = ["Notification", "NotificationKind", "recipients"]


def recipients(catalog: Catalog, targets: Iterable[str]) -> tuple[str, ...]:
    """Mailing lists expanded into their operators and addresses; other names kept as given."""
    out: dict[str, None] = {}
    for target in targets:
        try:
            mailing = catalog.mailing_list(target)
        except NotFoundError:
            out[target] = None
            continue
        for who in (*mailing.operators, *mailing.addresses):
            out[who] = None
    return tuple(out)
