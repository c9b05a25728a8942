"""The mail plugin against a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, how
failures are classified, TLS, login, settings and recipients."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Mapping
from email.message import EmailMessage

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from crmcms import ConfigurationError, DeliveryError, make_plugin_manager
from crmcms.mail import (
    MailPlugin,
    MailSecurity,
    MailSettings,
    client_directory,
    compose_message,
    resolve_recipients,
)
from crmcms.mail.addresses import MailAddress
from crmcms.model import Catalog, MailingList, Notification, NotificationKind, Operator
from crmcms.plugins import hookimpl
from crmcms.testing.smtp import SmtpTestServer, free_port

CATALOG = Catalog(
    operators=(
        Operator("olga", "Ольга Петрова", email="olga@example.ru"),
        Operator("ivan", "Иван", email="ivan@example.ru"),
        Operator("nomail", "Без почты"),
    ),
    mailing_lists=(
        MailingList(
            "MANAGERS", "Руководители", operators=("ivan", "nomail"), addresses=("boss@example.ru",)
        ),
    ),
)


def note(*to: str, subject: str = "Обращение 7: срок нарушен", **kw: object) -> Notification:
    return Notification(
        NotificationKind.ESCALATION,
        7,
        to,
        to,
        subject,
        kw.pop("text", "Срок обработки обращения истёк.\nПримите меры."),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as running:
        yield running


def plugin_for(server: SmtpTestServer, **kw: object) -> MailPlugin:
    settings = MailSettings.from_url(server.url, sender="CRM <crm@operator.ru>")
    return MailPlugin(settings, CATALOG, **kw)  # type: ignore[arg-type]


def content(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body((subtype,))
    assert part is not None
    text: str = part.get_content()
    return text


def test_a_notification_arrives_with_cyrillic_both_parts_and_its_delivery_id(
    server: SmtpTestServer,
) -> None:
    with plugin_for(server) as mail:
        mail.crmcms_notify(note("olga", html="<p>Срок <b>истёк</b></p>", delivery_id="outbox-42"))
    [got] = server.wait_for(1)
    msg = got.message
    assert msg["Subject"] == "Обращение 7: срок нарушен"
    assert msg["Message-ID"] == "<outbox-42@operator.ru>"
    assert str(msg["To"]) == "Ольга Петрова <olga@example.ru>"
    assert got.recipients == ("olga@example.ru",)
    assert got.sender == "crm@operator.ru"
    # text travels in canonical form, lines ending in CRLF
    assert content(msg, "plain") == "Срок обработки обращения истёк.\r\nПримите меры.\r\n"
    assert content(msg, "html") == "<p>Срок <b>истёк</b></p>\r\n"
    assert got.content.isascii()  # 7-bit on the wire: any relay passes it on unchanged
    assert msg["X-Crmcms-Appeal"] == "7"


def test_the_same_delivery_id_gives_the_same_message_id_on_every_retry(
    server: SmtpTestServer,
) -> None:
    with plugin_for(server) as mail:
        for _ in range(3):
            mail.send(note("olga", delivery_id="17"))
    assert server.wait_for(3)
    assert server.message_ids() == {"<17@operator.ru>": 3}


def test_an_outbox_delivery_id_is_the_message_id_as_it_is(server: SmtpTestServer) -> None:
    with plugin_for(server) as mail:
        mail.send(note("olga", delivery_id="<outbox-9.crmcms@crm.example>"))
    assert server.wait_for(1)[0].message_id == "<outbox-9.crmcms@crm.example>"


def test_a_text_only_notification_is_one_plain_part(server: SmtpTestServer) -> None:
    with plugin_for(server) as mail:
        mail.send(note("ivan@example.ru", text="Только текст"))
    [got] = server.wait_for(1)
    assert not got.message.is_multipart()
    assert got.message.get_content() == "Только текст\r\n"


def test_mailing_lists_operators_and_clients_become_addresses(server: SmtpTestServer) -> None:
    class Billing:
        @hookimpl
        def crmcms_find_client(self, client_id: str) -> Mapping[str, object] | None:
            return (
                {"Name": "ООО Ромашка", "Email": "office@romashka.ru"} if client_id == "5" else None
            )

    pm = make_plugin_manager([Billing()], load_entry_points=False)
    with plugin_for(server, clients=client_directory(pm)) as mail:
        mail.send(note("MANAGERS", "olga", "client:5", "boss@example.ru"))
    [got] = server.wait_for(1)
    assert set(got.recipients) == {
        "boss@example.ru",
        "ivan@example.ru",
        "olga@example.ru",
        "office@romashka.ru",
    }
    assert "ООО Ромашка <office@romashka.ru>" in str(got.message["To"])


def test_a_recipient_without_an_address_is_reported_not_dropped(
    server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "crmcms.mail"), plugin_for(server) as mail:
        mail.send(note("MANAGERS", "client:9", "stranger"))
    assert server.wait_for(1)[0].recipients == ("boss@example.ru", "ivan@example.ru")
    [record] = caplog.records
    assert "no e-mail address for nomail, client:9, stranger" in record.getMessage()


def test_nobody_with_an_address_fails_for_good(server: SmtpTestServer) -> None:
    with plugin_for(server) as mail, pytest.raises(DeliveryError) as info:
        mail.send(note("nomail"))
    assert info.value.permanent
    assert "no e-mail address for nomail" in str(info.value)
    assert server.attempts == 0


def test_a_451_is_transient_and_a_550_permanent(server: SmtpTestServer) -> None:
    server.answer("451 4.3.0 Mailbox busy", "550 5.1.1 No such user")
    with plugin_for(server) as mail:
        with pytest.raises(DeliveryError) as busy:
            mail.send(note("olga"))
        with pytest.raises(DeliveryError) as gone:
            mail.send(note("olga"))
        mail.send(note("olga"))
    assert not busy.value.permanent
    assert "451" in str(busy.value)
    assert gone.value.permanent
    assert "550" in str(gone.value)
    assert len(server.wait_for(1)) == 1
    assert server.attempts == 3


def test_a_refused_connection_is_transient_and_the_next_one_gets_through() -> None:
    port = free_port()
    mail = MailPlugin(MailSettings("127.0.0.1", port, timeout=5), CATALOG)
    with pytest.raises(DeliveryError) as info:
        mail.send(note("olga"))
    assert not info.value.permanent
    with SmtpTestServer(port=port) as server:
        mail.send(note("olga"))
        assert len(server.wait_for(1)) == 1
    mail.close()


def test_a_server_that_never_answers_is_a_transient_timeout() -> None:
    import socket

    with socket.socket() as silent:  # listens, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        mail = MailPlugin(MailSettings("127.0.0.1", port, timeout=0.3), CATALOG)
        with pytest.raises(DeliveryError) as info:
            mail.send(note("olga"))
    assert not info.value.permanent
    assert "did not answer in time" in str(info.value)


def test_one_connection_carries_many_messages_and_survives_a_server_restart() -> None:
    server = SmtpTestServer().start()
    mail = plugin_for(server)
    try:
        mail.send(note("olga"))
        first = mail.connection._smtp
        mail.send(note("olga"))
        assert mail.connection._smtp is first
        server.stop()
        with pytest.raises(DeliveryError) as down:
            mail.send(note("olga"))
        assert not down.value.permanent
        server.start()  # a new controller on the same port
        mail.send(note("olga"))
        assert len(server.wait_for(3)) == 3
    finally:
        mail.close()
        server.stop()


@pytest.fixture(scope="module")
def certificates() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


@pytest.mark.parametrize("security", [MailSecurity.STARTTLS, MailSecurity.SSL])
def test_tls_and_login(
    security: MailSecurity, certificates: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, client_ctx = certificates
    tls = {"tls": server_ctx} if security is MailSecurity.SSL else {"starttls": server_ctx}
    with SmtpTestServer(login=("crm", "s3cret"), **tls) as server:  # type: ignore[arg-type]
        settings = MailSettings.from_url(server.url, ssl_context=client_ctx)
        assert settings.security is security
        assert settings.login == "crm"
        with MailPlugin(settings, CATALOG) as mail:
            mail.send(note("olga"))
        assert server.wait_for(1)[0].message["Subject"] == "Обращение 7: срок нарушен"
        wrong = MailSettings.from_url(server.url.replace("s3cret", "wrong"), ssl_context=client_ctx)
        with MailPlugin(wrong, CATALOG) as mail, pytest.raises(DeliveryError) as info:
            mail.send(note("olga"))
        assert info.value.permanent
        assert "535" in str(info.value)


def test_an_untrusted_certificate_is_refused(
    certificates: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    with SmtpTestServer(tls=certificates[0]) as server:
        with (
            MailPlugin(MailSettings.from_url(server.url), CATALOG) as mail,
            pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            mail.send(note("olga"))
        assert server.mails == []


# --- settings ----------------------------------------------------------------------------


def test_settings_from_a_url() -> None:
    s = MailSettings.from_url("smtp://user%40corp:p%3Ass@mail.corp:2525?starttls=true&timeout=3")
    assert (s.host, s.port, s.security, s.login, s.password, s.timeout) == (
        "mail.corp",
        2525,
        MailSecurity.STARTTLS,
        "user@corp",
        "p:ss",
        3.0,
    )
    assert MailSettings.from_url("smtps://mail.corp").effective_port == 465
    assert MailSettings.from_url("smtp://mail.corp").effective_port == 25
    assert "p:ss" not in repr(s)


def test_settings_from_the_environment() -> None:
    env = {
        "CRMCMS_SMTP_HOST": "mail.corp",
        "CRMCMS_SMTP_SECURITY": "STARTTLS",
        "CRMCMS_SMTP_LOGIN": "crm",
        "CRMCMS_SMTP_PASSWORD": "secret",
        "CRMCMS_SMTP_SENDER": "crm@corp",
    }
    s = MailSettings.from_env(env)
    assert (s.host, s.effective_port, s.security, s.sender) == (
        "mail.corp",
        587,
        MailSecurity.STARTTLS,
        "crm@corp",
    )
    url = MailSettings.from_env({"CRMCMS_SMTP_URL": "smtps://a:b@h", "CRMCMS_SMTP_TIMEOUT": "2"})
    assert (url.security, url.timeout) == (MailSecurity.SSL, 2.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MailSettings.from_url("http://mail.corp"), "smtp:// or smtps://"),
        (lambda: MailSettings.from_url("smtp://h?tls=1"), "unknown mail URL parameter(s): tls"),
        (lambda: MailSettings.from_url("smtp://h?starttls=maybe"), "true or false"),
        (lambda: MailSettings.from_url("smtps://h?starttls=true"), "TLS already"),
        (lambda: MailSettings.from_url("smtp://u:hunter2@h:port"), "***"),
        (lambda: MailSettings.from_env({}), "CRMCMS_SMTP_URL or CRMCMS_SMTP_HOST"),
        (lambda: MailSettings.from_env({"CRMCMS_SMTP_HOST": "h", "CRMCMS_SMTP_PORT": "x"}), "PORT"),
        (lambda: MailSettings(security="tls"), "none, starttls, ssl"),
        (lambda: MailSettings(login="crm"), "go together"),
        (lambda: MailSettings(timeout=0), "positive"),
        (lambda: MailSettings(login="crm", password="пароль"), "ASCII"),
    ],
)
def test_bad_settings_are_refused_clearly(build: object, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        build()  # type: ignore[operator]
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


# --- composing and resolving ---------------------------------------------------------------

printable = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x85"), max_size=200
)


@given(
    subject=printable,
    text=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r"), max_size=300),
    name=printable,
)
def test_composed_messages_read_back_as_written(subject: str, text: str, name: str) -> None:
    import email
    import email.policy

    n = Notification(NotificationKind.MESSAGE, 1, (), (), subject, text, delivery_id="x")
    msg = compose_message(n, "crm@corp", [MailAddress("a@corp", name)])
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert back["Subject"] == subject.strip()
    body = back.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
    written = text or subject
    assert body == written if written.endswith("\n") else body == written + "\n"
    assert back["To"].addresses[0].display_name == name.strip() or name


def test_resolution_lists_every_address_once_and_every_recipient_without_one() -> None:
    n = Notification(
        NotificationKind.MESSAGE, 1, ("MANAGERS",), ("ivan", "nomail", "IVAN@example.ru"), "s"
    )
    got = resolve_recipients(n, CATALOG)
    assert [a.address for a in got.addresses] == ["ivan@example.ru"]
    assert got.missing == ("nomail",)
    unexpanded = Notification(NotificationKind.MESSAGE, 1, ("MANAGERS",), (), "s")
    assert [a.address for a in resolve_recipients(unexpanded, CATALOG).addresses] == [
        "boss@example.ru",
        "ivan@example.ru",
    ]
