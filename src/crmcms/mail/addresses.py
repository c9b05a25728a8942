"""Who a notification's recipients are as e-mail addresses: operators, lists, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from crmcms.errors import NotFoundError
from crmcms.model import Catalog, Notification

__all__ = ["CLIENT_PREFIX", "ClientLookup", "MailAddress", "Resolution", "resolve_recipients"]

CLIENT_PREFIX = "client:"
"""How a notification names a client: ``client:<id>``, looked up in the client directory."""

ClientLookup = Callable[[str], Mapping[str, object] | None]
"""The client directory: a client's fields by id, or ``None`` for an unknown client."""


@attrs.frozen
class MailAddress:
    """One address to send to, the display name beside it, and the recipient it came from."""

    address: str
    name: str = ""
    recipient: str = ""


@attrs.frozen
class Resolution:
    """The addresses found for a notification, and each recipient that has none."""

    addresses: tuple[MailAddress, ...]
    missing: tuple[str, ...]


def resolve_recipients(
    notification: Notification,
    catalog: Catalog,
    clients: ClientLookup | None = None,
    *,
    email_field: str = "Email",
    name_field: str = "Name",
) -> Resolution:
    """The e-mail addresses of ``notification``'s recipients (``to`` when none were expanded).

    An address (anything with ``@``) is taken as it is; an operator's login gives the
    operator's ``email``; a mailing list gives its addresses and its operators'; ``client:<id>``
    gives the ``email_field`` of what ``clients`` returns. A recipient with no address, or
    one nobody knows, is listed in ``missing``. Each address comes once.
    """
    found: dict[str, MailAddress] = {}
    missing: dict[str, None] = {}

    def add(address: str | None, name: str, recipient: str) -> None:
        if address:
            found.setdefault(address.strip().lower(), MailAddress(address.strip(), name, recipient))
        else:
            missing[recipient] = None

    for target in notification.recipients or notification.to:
        if "@" in target:
            add(target, "", target)
        elif target.startswith(CLIENT_PREFIX):
            client = None if clients is None else clients(target.removeprefix(CLIENT_PREFIX))
            client = client or {}
            add(_text(client.get(email_field)), _text(client.get(name_field)) or "", target)
        else:
            for address, name, recipient in _from_catalog(catalog, target):
                add(address, name, recipient)
    return Resolution(tuple(found.values()), tuple(missing))


def _from_catalog(catalog: Catalog, target: str) -> Iterable[tuple[str | None, str, str]]:
    operator = _operator(catalog, target)
    if operator is not None:
        return [operator]
    try:
        mailing = catalog.mailing_list(target)
    except NotFoundError:
        return [(None, "", target)]
    out: list[tuple[str | None, str, str]] = [(a, "", a) for a in mailing.addresses]
    for login in mailing.operators:
        out.append(_operator(catalog, login) or (None, "", login))
    return out


def _operator(catalog: Catalog, login: str) -> tuple[str | None, str, str] | None:
    try:
        operator = catalog.operator(login)
    except NotFoundError:
        return None
    return (operator.email, operator.name, login)


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
