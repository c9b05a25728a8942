"""Workflow event handlers: built-in actions, plugin actions and business functions, in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from crmcms.engine.notifications import recipients
from crmcms.engine.scope import ActionScope
from crmcms.errors import CrmcmsError, PluginError, WorkflowError
from crmcms.model import (
    Appeal,
    Handler,
    HandlerEvent,
    Notification,
    NotificationKind,
    Route,
    copy_appeal,
)
from crmcms.model.handler_calls import HandlerCall

__all__ = ["BUILTIN_ACTIONS", "HandlerCall", "handlers_for", "run_handlers"]


Action = Callable[[HandlerCall], Any]

_KINDS = {
    HandlerEvent.HAND_OVER: NotificationKind.HAND_OVER,
    HandlerEvent.REJECTION: NotificationKind.REJECTION,
    HandlerEvent.DEADLINE_WARNING: NotificationKind.DEADLINE_WARNING,
    HandlerEvent.DEADLINE_BROKEN: NotificationKind.ESCALATION,
}


def _targets(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _send(
    call: HandlerCall, kind: NotificationKind, catalog_recipients: Callable[..., Any]
) -> None:
    to = _targets(call.arguments.get("to"))
    subject = call.handler.name or f"{call.event.value} of appeal {call.appeal.id}"
    text = str(call.arguments.get("text") or "")
    call.notify(Notification(kind, call.appeal.id, to, catalog_recipients(to), subject, text))


def _builtin(tx: ActionScope) -> dict[str, Action]:
    def expand(to: Iterable[str]) -> tuple[str, ...]:
        return recipients(tx.catalog, to)

    def notify(call: HandlerCall) -> None:
        _send(call, _KINDS.get(call.event, NotificationKind.MESSAGE), expand)

    def escalate(call: HandlerCall) -> None:
        _send(call, NotificationKind.ESCALATION, expand)

    def call_function(call: HandlerCall) -> Any:
        name = call.arguments.get("function")
        return _business_function(tx, str(name))(call)

    return {"notify": notify, "escalate": escalate, "call": call_function}


BUILTIN_ACTIONS = ("call", "escalate", "notify")
"""``notify`` (arguments ``to``, ``text``), ``escalate`` (``to``, ``text``) and ``call``
(``function``: the name of a business function)."""


def _business_function(tx: ActionScope, name: str) -> Action:
    for found in tx.hook("crmcms_business_functions"):
        if found and name in found:
            function: Action = found[name]
            return function
    raise WorkflowError(f"no plugin provides business function {name!r}")


def _action(tx: ActionScope, name: str) -> Action:
    builtin = _builtin(tx)
    if name in builtin:
        return builtin[name]
    for found in tx.hook("crmcms_handler_actions"):
        if found and name in found:
            action: Action = found[name]
            return action
    # A handler may name a business function directly as its action.
    return _business_function(tx, name)


def handlers_for(event: HandlerEvent, own: Sequence[Handler], route: Route) -> tuple[Handler, ...]:
    """The handlers of ``event`` in the order they run: the process's or transition's own,
    in definition order, then the route's global handlers."""
    return tuple(h for h in own if h.event is event) + tuple(
        h for h in route.handlers if h.event is event
    )


def run_handlers(
    tx: ActionScope,
    appeal: Appeal,
    event: HandlerEvent,
    handlers: Sequence[Handler],
    data: Mapping[str, Any],
    *,
    operator: str | None,
    transition: str | None = None,
) -> None:
    """Run ``handlers`` one after another; the first failure aborts the whole action."""
    for handler in handlers:
        arguments = {k: tx.rules.expression(v)(data) for k, v in handler.arguments.items()}
        call = HandlerCall(
            handler,
            event,
            copy_appeal(appeal),
            operator,
            transition,
            arguments,
            tx.now,
            tx.notify,
        )
        action = _action(tx, handler.action)
        try:
            action(call)
        except CrmcmsError:
            raise
        except Exception as exc:
            raise PluginError(handler.action, event.value, f"{type(exc).__name__}: {exc}") from exc
