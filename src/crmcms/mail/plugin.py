"""The mail plugin: delivers ``crmcms_notify`` notifications as e-mail over SMTP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from crmcms.errors import ConfigurationError, DeliveryError
from crmcms.mail.addresses import ClientLookup, resolve_recipients
from crmcms.mail.compose import compose_message
from crmcms.mail.settings import MailSettings
from crmcms.mail.smtp import PLUGIN, SmtpConnection
from crmcms.model import Catalog, Notification
from crmcms.plugins import hookimpl

__all__ = ["MailPlugin", "client_directory"]

log = logging.getLogger("crmcms.mail")


def client_directory(plugin_manager: Any) -> ClientLookup:
    """The client directory as the plugins answer it (``crmcms_find_client``)."""

    def find(client_id: str) -> Mapping[str, object] | None:
        found: Mapping[str, object] | None = plugin_manager.hook.crmcms_find_client(
            client_id=client_id
        )
        return found

    return find


class MailPlugin:
    """Sends every notification as an e-mail; register it with the plugin manager.

    ``catalog`` gives operators' and mailing lists' addresses (a callable returning the
    current catalog works too), ``clients`` the client directory for ``client:<id>``
    recipients (:func:`client_directory` makes one from a plugin manager). Recipients with
    no address are logged as warnings on ``crmcms.mail``; when no recipient has one the
    delivery fails for good. Messages share one SMTP connection while they come closer
    together than ``keep_open`` seconds.
    """

    def __init__(
        self,
        settings: MailSettings,
        catalog: Catalog | Callable[[], Catalog],
        *,
        clients: ClientLookup | None = None,
        client_email_field: str = "Email",
        keep_open: float = 60.0,
    ) -> None:
        self.settings = settings
        self._catalog = catalog
        self.clients = clients
        self.client_email_field = client_email_field
        self.connection = SmtpConnection(settings, keep_open=keep_open)

    @property
    def catalog(self) -> Catalog:
        return self._catalog if isinstance(self._catalog, Catalog) else self._catalog()

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.send(notification)

    def send(self, notification: Notification) -> None:
        """Deliver ``notification`` now; raises :class:`DeliveryError` if nobody got it."""
        resolution = resolve_recipients(
            notification, self.catalog, self.clients, email_field=self.client_email_field
        )
        what = _what(notification)
        if resolution.missing:
            log.warning("%s: no e-mail address for %s", what, ", ".join(resolution.missing))
        if not resolution.addresses:
            who = ", ".join(resolution.missing) or "nobody"
            raise DeliveryError(PLUGIN, f"{what}: no e-mail address for {who}", permanent=True)
        try:
            message = compose_message(notification, self.settings.sender, resolution.addresses)
        except (ConfigurationError, ValueError) as exc:
            raise DeliveryError(PLUGIN, f"{what}: {exc}", permanent=True) from exc
        refused = self.connection.send(message, [a.address for a in resolution.addresses])
        for address, (code, reply) in refused.items():
            log.warning(
                "%s: %s refused by the server: %s %s",
                what,
                address,
                code,
                reply.decode("utf-8", "replace"),
            )

    def close(self) -> None:
        """Close the SMTP connection (a later message opens a new one)."""
        self.connection.close()

    def __enter__(self) -> MailPlugin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _what(notification: Notification) -> str:
    appeal = "" if notification.appeal_id is None else f" of appeal {notification.appeal_id}"
    return f"{notification.kind.value} notification{appeal}"
