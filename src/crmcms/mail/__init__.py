"""Mail: notifications delivered as e-mail through SMTP (standard-library ``smtplib``).

A plugin like any other: build a :class:`MailPlugin` from :class:`MailSettings` and register
it with the plugin manager. See docs/mail.md.
"""

from __future__ import annotations

from crmcms.mail.addresses import (
    CLIENT_PREFIX,
    ClientLookup,
    MailAddress,
    Resolution,
    resolve_recipients,
)
from crmcms.mail.compose import compose_message, message_id
from crmcms.mail.plugin import MailPlugin, client_directory
from crmcms.mail.settings import ENV_PREFIX, MailSecurity, MailSettings
from crmcms.mail.smtp import SmtpConnection, classify

__all__ = [
    "CLIENT_PREFIX",
    "ENV_PREFIX",
    "ClientLookup",
    "MailAddress",
    "MailPlugin",
    "MailSecurity",
    "MailSettings",
    "Resolution",
    "SmtpConnection",
    "classify",
    "client_directory",
    "compose_message",
    "message_id",
    "resolve_recipients",
]
