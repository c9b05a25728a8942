"""Where and how mail is sent: the SMTP server, its security, the login and the sender."""

from __future__ import annotations

import enum
import os
import ssl
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from crmcms.errors import ConfigurationError

__all__ = ["ENV_PREFIX", "MailSecurity", "MailSettings"]

ENV_PREFIX = "CRMCMS_SMTP_"
"""Environment variables read by :meth:`MailSettings.from_env`: ``CRMCMS_SMTP_URL``, or
``..._HOST``, ``..._PORT``, ``..._SECURITY``, ``..._LOGIN``, ``..._PASSWORD``; and
``..._SENDER``, ``..._TIMEOUT`` with either."""

DEFAULT_SENDER = "crmcms@localhost"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class MailSecurity(enum.Enum):
    NONE = "none"
    """Plain SMTP: only for a relay on the same host or a test server."""
    STARTTLS = "starttls"
    """Connect in plain text, then upgrade with STARTTLS before logging in (port 587)."""
    SSL = "ssl"
    """TLS from the first byte (SMTPS, port 465)."""


_DEFAULT_PORTS = {MailSecurity.NONE: 25, MailSecurity.STARTTLS: 587, MailSecurity.SSL: 465}


def _security(value: MailSecurity | str) -> MailSecurity:
    if isinstance(value, MailSecurity):
        return value
    try:
        return MailSecurity(value.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in MailSecurity)
        raise ConfigurationError(f"mail security {value!r} is not one of {known}") from None


@attrs.frozen
class MailSettings:
    """How :class:`crmcms.mail.MailPlugin` reaches the SMTP server.

    ``port`` defaults by ``security``: 25, 587 (STARTTLS) or 465 (SSL). ``login`` and
    ``password`` are sent only after TLS is up unless ``security`` is ``none``.
    ``ssl_context`` replaces the default (system certificates, host name checked).
    """

    host: str = "localhost"
    port: int | None = None
    security: MailSecurity = attrs.field(default=MailSecurity.NONE, converter=_security)
    login: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    sender: str = DEFAULT_SENDER
    timeout: float = 30.0
    """Seconds to wait for the server on connect and on each reply."""
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0:
            raise ConfigurationError(f"mail timeout must be positive, not {self.timeout}")
        if (self.login is None) != (self.password is None):
            raise ConfigurationError("mail login and password go together: give both or none")
        if not (self.login or "").isascii() or not (self.password or "").isascii():
            # smtplib's AUTH encodes them as ASCII; say so now, not at the first message
            raise ConfigurationError("a mail login and password must be ASCII for SMTP AUTH")

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS[self.security]

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        sender: str | None = None,
        timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> MailSettings:
        """Settings from ``smtp://user:password@host:port?starttls=true`` or ``smtps://...``.

        Query parameters: ``starttls``, ``sender``, ``timeout``; user and password are
        percent-decoded (write ``@`` in a password as ``%40``).
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise ConfigurationError(f"a mail URL starts with smtp:// or smtps://, not {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = set(query) - {"starttls", "sender", "timeout"}
        if unknown:
            raise ConfigurationError(f"unknown mail URL parameter(s): {', '.join(sorted(unknown))}")
        security = MailSecurity.SSL if scheme == "smtps" else MailSecurity.NONE
        if "starttls" in query:
            if scheme == "smtps":
                raise ConfigurationError("smtps:// is TLS already: starttls does not apply")
            if _flag(query["starttls"], "starttls"):
                security = MailSecurity.STARTTLS
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"mail URL {_hidden(url)}: {exc}") from None
        if not parts.hostname:
            raise ConfigurationError(f"mail URL {_hidden(url)} names no host")
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            login=None if parts.username is None else unquote(parts.username),
            password=None if parts.password is None else unquote(parts.password),
            sender=sender or query.get("sender") or DEFAULT_SENDER,
            timeout=timeout if timeout is not None else _seconds(query.get("timeout")),
            ssl_context=ssl_context,
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, prefix: str = ENV_PREFIX
    ) -> MailSettings:
        """Settings from ``CRMCMS_SMTP_URL`` or ``CRMCMS_SMTP_HOST`` and its siblings."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(prefix + name)
            return value if value else None

        sender = get("SENDER")
        timeout = _seconds(get("TIMEOUT"))
        url = get("URL")
        if url is not None:
            return cls.from_url(url, sender=sender, timeout=timeout)
        host = get("HOST")
        if host is None:
            raise ConfigurationError(f"set {prefix}URL or {prefix}HOST to send mail")
        port = get("PORT")
        try:
            number = None if port is None else int(port)
        except ValueError:
            raise ConfigurationError(f"{prefix}PORT must be a number, not {port!r}") from None
        return cls(
            host=host,
            port=number,
            security=get("SECURITY") or MailSecurity.NONE,
            login=get("LOGIN"),
            password=get("PASSWORD"),
            sender=sender or DEFAULT_SENDER,
            timeout=timeout,
        )


def _flag(value: str, name: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigurationError(f"mail URL parameter {name} is true or false, not {value!r}")


def _seconds(value: str | None) -> float:
    if value is None:
        return 30.0
    try:
        return float(value)
    except ValueError:
        raise ConfigurationError(f"mail timeout is a number of seconds, not {value!r}") from None


def _hidden(url: str) -> str:
    # a URL may carry a password: never repeat it in an error message
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    return repr(url.replace(f":{parts.password}@", ":***@", 1))
