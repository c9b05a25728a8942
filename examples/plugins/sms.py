"""SMS through an HTTP gateway: clients named by a notification get its subject as a text.

Register it like any plugin::

    pm.register(SmsGateway("https://sms.example/api/send", client_directory(pm), token="..."))

The gateway receives ``{"to": "+79161234567", "text": "...", "id": "<delivery id>"}`` as JSON,
with the delivery id in ``Idempotency-Key`` too, so a retried message is sent once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from crmcms import Notification, NotificationKind, hookimpl
from examples.plugins.http_post import post

__all__ = ["SmsGateway"]

ClientLookup = Callable[[str], Mapping[str, object] | None]


class SmsGateway:
    """Sends an SMS to each client (``client:<id>``) among a notification's recipients.

    The phone comes from the client directory's ``phone_field``; operators and mailing
    lists are left to mail. ``kinds`` limits which notifications go out as SMS (the
    result of an appeal, by default); the text is the subject, cut at ``max_length``.
    """

    def __init__(
        self,
        url: str,
        clients: ClientLookup,
        *,
        token: str | None = None,
        phone_field: str = "Phone",
        kinds: Iterable[NotificationKind] = (NotificationKind.RESULT,),
        max_length: int = 480,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.clients = clients
        self.token = token
        self.phone_field = phone_field
        self.kinds = frozenset(kinds)
        self.max_length = max_length
        self.timeout = timeout

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        if notification.kind not in self.kinds:
            return
        for phone in self.phones(notification):
            self.send(phone, notification.subject[: self.max_length], notification.delivery_id)

    def phones(self, notification: Notification) -> list[str]:
        """The phones of the clients the notification goes to (those with one)."""
        found = []
        for recipient in notification.recipients or notification.to:
            if not recipient.startswith("client:"):
                continue
            client = self.clients(recipient.removeprefix("client:")) or {}
            phone = client.get(self.phone_field)
            if phone:
                found.append(str(phone))
        return found

    def send(self, phone: str, text: str, delivery_id: str | None) -> None:
        body = json.dumps({"to": phone, "text": text, "id": delivery_id}, ensure_ascii=False)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if delivery_id is not None:
            headers["Idempotency-Key"] = delivery_id
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        post("sms", self.url, body.encode("utf-8"), headers, timeout=self.timeout)
