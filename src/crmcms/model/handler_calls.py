"""What a handler action or business function receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from crmcms.model.notifications import Notification
from crmcms.model.records import Appeal
from crmcms.model.routes import Handler, HandlerEvent

__all__ = ["HandlerCall"]


@attrs.frozen
class HandlerCall:
    """What a handler action or business function receives.

    ``arguments`` are the handler's argument expressions evaluated on the appeal;
    ``appeal`` is a copy: actions report, notify and call out, they do not edit appeals.
    """

    handler: Handler
    event: HandlerEvent
    appeal: Appeal
    operator: str | None
    transition: str | None
    arguments: Mapping[str, Any]
    at: datetime
    notify: Callable[[Notification], None] = attrs.field(repr=False)
