"""A real SMTP server for tests and the demo: aiosmtpd on 127.0.0.1, recording what it gets.

Needs ``aiosmtpd`` (the ``dev`` and ``demo`` extras). The server answers ``250`` unless told
otherwise (:meth:`SmtpTestServer.answer` queues replies such as ``451`` or ``550``), can be
stopped and started again on the same port, and can speak STARTTLS or TLS and ask for a login.
"""

from __future__ import annotations

import collections
import email
import email.policy
import socket
import ssl
import threading
import time
import warnings
from email.message import EmailMessage
from typing import Any

import attrs

__all__ = ["ReceivedMail", "SmtpTestServer", "free_port"]

HOST = "127.0.0.1"  # aiosmtpd's default, ::1, fails on machines without IPv6


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on now (the system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.frozen
class ReceivedMail:
    """One message as the server received it: envelope and the parsed message."""

    sender: str
    recipients: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed (each time: the server only keeps the bytes)."""
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        return self.server.record(envelope)


class SmtpTestServer:
    """An SMTP server on ``127.0.0.1:port`` (a free port unless given) in a thread.

    ``tls`` makes it speak TLS from the first byte (SMTPS); ``starttls`` offers STARTTLS and
    requires it; ``login`` is a ``(user, password)`` pair it requires. Use it as a context
    manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.tls = tls
        self.starttls = starttls
        self.login = login
        self.mails: list[ReceivedMail] = []
        self.answers: collections.deque[str] = collections.deque()
        self.attempts = 0
        """DATA commands seen, answered with 250 or not."""
        self._lock = threading.Condition()
        self._controller: Any = None

    @property
    def url(self) -> str:
        """The ``smtp://`` / ``smtps://`` URL of this server for :class:`MailSettings`."""
        scheme = "smtps" if self.tls is not None else "smtp"
        auth = f"{self.login[0]}:{self.login[1]}@" if self.login else ""
        query = "?starttls=true" if self.starttls is not None else ""
        return f"{scheme}://{auth}{self.host}:{self.port}{query}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def answer(self, *replies: str) -> None:
        """Answer the next messages with ``replies`` in order (``"451 4.3.0 busy"``), then 250."""
        with self._lock:
            self.answers.extend(replies)

    def start(self) -> SmtpTestServer:
        """Listen on the port (again, after :meth:`stop`: a new aiosmtpd controller)."""
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        if self._controller is not None:
            return self
        options: dict[str, Any] = {}
        if self.starttls is not None:
            options.update(tls_context=self.starttls, require_starttls=True)
        if self.login is not None:
            expected = self.login

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> Any:
                given = (_text(data.login), _text(data.password))
                # not handled: aiosmtpd answers a refusal with 535 itself
                return AuthResult(success=given == expected, handled=False)

            options.update(
                authenticator=authenticate,
                auth_required=True,
                # aiosmtpd cannot tell a TLS-from-the-start connection from a plain one
                auth_require_tls=self.tls is None,
            )

        class _Controller(Controller):
            def factory(self) -> Any:
                with warnings.catch_warnings():
                    # the warning that AUTH is allowed without TLS, wrong under SMTPS
                    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                    return super().factory()  # type: ignore[no-untyped-call]

        controller = _Controller(
            _Handler(self), hostname=self.host, port=self.port, ssl_context=self.tls, **options
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """The messages received once there are at least ``count`` (or when time is up)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.mails) < count and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return list(self.mails)

    def message_ids(self) -> collections.Counter[str]:
        """How many times each ``Message-ID`` arrived."""
        with self._lock:
            return collections.Counter(m.message_id for m in self.mails)

    def record(self, envelope: Any) -> str:
        """Keep one message (or answer it with the next queued reply)."""
        with self._lock:
            self.attempts += 1
            if self.answers:
                reply = self.answers.popleft()
                if not reply.startswith("2"):
                    return reply
            content = bytes(envelope.original_content or envelope.content)
            self.mails.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), content))
            self._lock.notify_all()
            return "250 OK"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
