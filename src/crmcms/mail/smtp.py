"""One SMTP connection, kept open between messages, and its failures as delivery errors."""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr

from crmcms.errors import DeliveryError
from crmcms.mail.settings import MailSecurity, MailSettings

__all__ = ["SmtpConnection", "classify"]

PLUGIN = "mail"


def classify(exc: BaseException) -> DeliveryError:
    """An SMTP or network failure as a :class:`DeliveryError`: a 5xx reply is permanent
    (the outbox gives the message up), a 4xx reply or a network failure is not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refused = ", ".join(
            f"{to} ({code} {_reply(text)})" for to, (code, text) in exc.recipients.items()
        )
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryError(PLUGIN, f"every recipient refused: {refused}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(
            PLUGIN,
            f"the server answered {exc.smtp_code} {_reply(exc.smtp_error)}",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(PLUGIN, f"the server does not support it: {exc}", permanent=True)
    # smtplib reports a reply that never came as a disconnection caused by the timeout
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return DeliveryError(PLUGIN, f"the server did not answer in time: {exc}")
    return DeliveryError(PLUGIN, f"{type(exc).__name__}: {exc}")


def _reply(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


class SmtpConnection:
    """Sends messages over one connection, opened on first use and reused while it lasts.

    A connection idle for longer than ``keep_open`` seconds, or one the server dropped, is
    replaced by a new one (a dropped connection is found by the failure of the next
    command, and that message is sent again once on the new connection). Thread-safe.
    """

    def __init__(self, settings: MailSettings, *, keep_open: float = 60.0) -> None:
        self.settings = settings
        self.keep_open = keep_open
        self._smtp: smtplib.SMTP | None = None
        self._used = 0.0
        self._lock = threading.Lock()

    def send(self, message: EmailMessage, to: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """Send ``message`` to ``to``; return the recipients the server refused (others took
        it). Raises :class:`DeliveryError` when nobody received it."""
        with self._lock:
            try:
                return self._send(message, to)
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise classify(exc) from exc

    def _send(self, message: EmailMessage, to: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        reused = self._smtp is not None and time.monotonic() - self._used < self.keep_open
        if not reused:
            self._drop()
        # Flattened once, in the message's own SMTP policy; send_message would copy and
        # flatten it again on every try.
        try:
            data = message.as_bytes()
        except (ValueError, UnicodeError) as exc:  # e.g. an address no 7-bit header can hold
            raise DeliveryError(
                PLUGIN, f"the message cannot be written: {exc}", permanent=True
            ) from exc
        sender = parseaddr(self.settings.sender)[1] or self.settings.sender
        for attempt in (1, 2):
            smtp = self._smtp or self._open()
            try:
                refused = smtp.sendmail(sender, to, data)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                self._drop()
                if not reused or attempt == 2:
                    raise
                continue  # the server closed an idle connection: once more on a new one
            self._used = time.monotonic()
            return dict(refused)
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = s.ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.security is MailSecurity.SSL:
            smtp = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)
        try:
            if s.security is MailSecurity.STARTTLS:
                smtp.starttls(context=context)
            if s.login is not None and s.password is not None:
                smtp.login(s.login, s.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        """Say goodbye to the server (QUIT) and close the connection, if one is open."""
        with self._lock:
            smtp, self._smtp = self._smtp, None
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()
