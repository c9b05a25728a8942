"""The example plugins (examples/plugins): SMS through an HTTP gateway and signed webhooks,
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from examples.plugins.sms import SmsGateway
from examples.plugins.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    WebhookSignatureError,
    sign,
    verify_request,
    verify_signature,
)
from hypothesis import given
from hypothesis import strategies as st

from crmcms import DeliveryError, Notification, NotificationKind, serialization
from crmcms.testing.smtp import free_port


class Receiver:
    """An HTTP server recording every POST; ``answers`` are the statuses of the next ones."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: deque[tuple[int, dict[str, str]]] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers = receiver.answers.popleft() if receiver.answers else (200, {})
                if status < 300:
                    receiver.requests.append((dict(self.headers), body))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


SECRET = b"s3cret"
NOTE = Notification(
    NotificationKind.RESULT,
    7,
    ("client:5",),
    ("client:5",),
    "Ваше обращение 7 решено",
    "Спасибо",
    delivery_id="<outbox-3.crmcms@crm.example>",
)


# --- webhooks ------------------------------------------------------------------------------


def test_a_webhook_carries_the_notification_signed_and_the_receiver_verifies_it(
    receiver: Receiver,
) -> None:
    WebhookSender(receiver.url, SECRET).crmcms_notify(notification=NOTE)
    [(headers, body)] = receiver.requests
    assert verify_request(SECRET, headers, body) == "<outbox-3.crmcms@crm.example>"
    assert serialization.load(json.loads(body), Notification) == NOTE
    assert headers[SIGNATURE_HEADER].startswith("sha256=")


def test_every_retry_carries_the_same_delivery_id(receiver: Receiver) -> None:
    receiver.answers.extend([(503, {}), (503, {})])
    sender = WebhookSender(receiver.url, SECRET)
    for _ in range(2):
        with pytest.raises(DeliveryError):
            sender.crmcms_notify(notification=NOTE)
    sender.crmcms_notify(notification=NOTE)
    sender.crmcms_notify(notification=NOTE)
    ids = [h[DELIVERY_HEADER] for h, _ in receiver.requests]
    assert ids == [NOTE.delivery_id, NOTE.delivery_id]  # a receiver keeps one


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, True),
        (404, True),
        (410, True),
        (408, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
    ],
)
def test_http_failures_are_classified(receiver: Receiver, status: int, permanent: bool) -> None:
    receiver.answers.append((status, {"Retry-After": "30"} if status == 429 else {}))
    with pytest.raises(DeliveryError) as info:
        WebhookSender(receiver.url, SECRET).crmcms_notify(notification=NOTE)
    assert info.value.permanent is permanent
    assert str(status) in str(info.value)
    assert info.value.retry_after == (30.0 if status == 429 else None)


def test_an_unreachable_receiver_is_a_transient_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(DeliveryError) as info:
        WebhookSender(url, SECRET, timeout=2).crmcms_notify(notification=NOTE)
    assert not info.value.permanent


def test_a_forged_changed_or_old_request_is_refused() -> None:
    body = b'{"kind": "result"}'
    good = sign(SECRET, "d1", 1000, body)
    verify_signature(SECRET, "d1", "1000", good, body, now=1100)
    for args, message in [
        (("d1", "1000", good, b'{"kind": "other"}'), "does not match"),
        (("d2", "1000", good, body), "does not match"),
        (("d1", "1001", good, body), "does not match"),
        (("d1", "1000", sign(b"wrong", "d1", 1000, body), body), "does not match"),
        (("d1", "soon", good, body), "not a number"),
    ]:
        with pytest.raises(WebhookSignatureError, match=message):
            verify_signature(SECRET, *args, now=1100)
    with pytest.raises(WebhookSignatureError, match="signed 400 s away"):
        verify_signature(SECRET, "d1", "1000", good, body, now=1400)
    with pytest.raises(WebhookSignatureError, match="missing header"):
        verify_request(SECRET, {DELIVERY_HEADER: "d1", TIMESTAMP_HEADER: "1000"}, body)


@given(delivery=st.text(max_size=30), at=st.integers(0, 2**40), body=st.binary(max_size=200))
def test_what_is_signed_verifies(delivery: str, at: int, body: bytes) -> None:
    verify_signature(SECRET, delivery, str(at), sign(SECRET, delivery, at, body), body, now=at)


# --- SMS -----------------------------------------------------------------------------------


def directory(client_id: str) -> dict[str, object] | None:
    return {"5": {"Name": "Ольга", "Phone": "+79161234567"}, "6": {"Name": "Без телефона"}}.get(
        client_id
    )


def test_an_sms_goes_to_the_client_s_phone_once_per_delivery(receiver: Receiver) -> None:
    gateway = SmsGateway(receiver.url, directory, token="t0k")
    gateway.crmcms_notify(notification=NOTE)
    [(headers, body)] = receiver.requests
    assert json.loads(body) == {
        "to": "+79161234567",
        "text": "Ваше обращение 7 решено",
        "id": NOTE.delivery_id,
    }
    assert headers["Idempotency-Key"] == NOTE.delivery_id
    assert headers["Authorization"] == "Bearer t0k"


def test_sms_skips_other_kinds_operators_and_clients_without_a_phone(receiver: Receiver) -> None:
    gateway = SmsGateway(receiver.url, directory)
    gateway.crmcms_notify(
        notification=Notification(NotificationKind.ESCALATION, 7, ("client:5",), ("client:5",), "x")
    )
    gateway.crmcms_notify(
        notification=Notification(
            NotificationKind.RESULT, 7, (), ("olga", "client:6", "client:404"), "x"
        )
    )
    assert receiver.requests == []


def test_a_refused_sms_is_permanent_and_a_busy_gateway_transient(receiver: Receiver) -> None:
    receiver.answers.extend([(422, {}), (503, {})])
    gateway = SmsGateway(receiver.url, directory)
    with pytest.raises(DeliveryError) as refused:
        gateway.crmcms_notify(notification=NOTE)
    with pytest.raises(DeliveryError) as busy:
        gateway.crmcms_notify(notification=NOTE)
    assert refused.value.permanent
    assert not busy.value.permanent
