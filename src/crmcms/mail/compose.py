"""A notification as an e-mail: headers, the plain-text part and the HTML alternative."""

from __future__ import annotations

import email.policy
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from crmcms.errors import ConfigurationError
from crmcms.mail.addresses import MailAddress
from crmcms.model import Notification

__all__ = ["POLICY", "compose_message", "message_id"]

POLICY = email.policy.SMTP.clone(cte_type="7bit")
"""Headers folded and encoded for SMTP (RFC 2047 for Cyrillic); bodies in 7-bit
transfer encodings (quoted-printable or base64), so any server relays them as they are."""


def message_id(delivery_id: str | None, sender: str) -> str:
    """The ``Message-ID`` of a delivery: the same for every retry of one outbox message."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "crmcms.localhost"
    if delivery_id is None:  # not handed over by the outbox: nothing to deduplicate by
        return make_msgid(domain=domain)
    if delivery_id.startswith("<") and delivery_id.endswith(">") and "@" in delivery_id:
        return delivery_id  # the outbox's ids have the shape of a Message-ID already
    local = "".join(c if c.isalnum() or c in "-._+=" else "-" for c in delivery_id)
    return f"<{local}@{domain}>"


def compose_message(
    notification: Notification,
    sender: str,
    to: Sequence[MailAddress],
    *,
    now: datetime | None = None,
) -> EmailMessage:
    """``notification`` as a message from ``sender`` to ``to``: its ``text`` as the plain
    part and, when it has one, its ``html`` as the alternative a mail reader prefers."""
    message = EmailMessage(policy=POLICY)
    # A reader drops the blanks that begin a header, and some keep the ones that end it:
    # the subject goes out without either, so every reader shows the same one.
    message["Subject"] = notification.subject.strip()
    message["From"] = _address(sender)
    message["To"] = [_address(a.address, a.name) for a in to]
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(notification.delivery_id, sender)
    message["X-Crmcms-Kind"] = notification.kind.value
    if notification.appeal_id is not None:
        message["X-Crmcms-Appeal"] = str(notification.appeal_id)
    message.set_content(notification.text or notification.subject)
    if notification.html:
        message.add_alternative(notification.html, subtype="html")
    return message


def _address(text: str, name: str = "") -> Address:
    display, addr = parseaddr(text)
    if "@" not in addr:
        raise ConfigurationError(f"{text!r} is not an e-mail address")
    username, _, domain = addr.rpartition("@")
    return Address(display_name=name or display, username=username, domain=domain)
