"""Message templates: declared in definition files, checked where they are written, chosen by
event and topic, rendered in a sandbox when the engine makes a notification."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import attrs
import pytest
from examples.telecom.seed_catalog import build_catalog
from hypothesis import given

from crmcms import Client, DefinitionError, MessageTemplate, NotificationKind, load_catalog
from crmcms.dsl import format_source
from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.dsl.messages import compile_message
from crmcms.engine import AppealDraft, Engine, Notification
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.testing import message_templates
from crmcms.testing.engine import FakeBilling

ESCALATION = NotificationKind.ESCALATION
HAND_OVER = NotificationKind.HAND_OVER

SOURCE = '''\
topic INTERNET "Интернет"

# what managers get when a deadline is broken
message ESCALATED "Эскалация" {
    event: escalation
    topic: INTERNET  # only this topic
    subject: "Обращение {{ appeal.id }}: срок нарушен"
    text: """
        Здравствуйте!

        Обращение {{ appeal.id }} ({{ topic.name }}) ждёт с {{ appeal.registered_at }}.
        """
    html: "<p>Обращение <b>{{ appeal.id }}</b></p>"
}

message ANY_ESCALATION {
    event: escalation
    subject: "Срок нарушен"
}
'''


def test_a_message_declaration_loads_as_a_template() -> None:
    catalog = load_catalog_text(SOURCE)
    escalated = catalog.message_template("ESCALATED")
    assert escalated.event is ESCALATION
    assert escalated.topic == "INTERNET"
    assert escalated.name == "Эскалация"
    assert escalated.text == (
        "Здравствуйте!\n\nОбращение {{ appeal.id }} ({{ topic.name }}) ждёт с "
        "{{ appeal.registered_at }}.\n"
    )
    assert catalog.message_template("ANY_ESCALATION").topic is None


def test_the_formatter_keeps_blocks_and_comments_and_is_idempotent() -> None:
    formatted = format_source(SOURCE)
    assert formatted == SOURCE
    squeezed = SOURCE.replace(
        '    text: """\n        Здравствуйте!', '    text: """\n Здравствуйте!'
    )
    squeezed = squeezed.replace("\n        Обращение {{", "\n Обращение {{").replace(
        '\n        """', '\n """'
    )
    assert format_source(squeezed) == SOURCE
    assert load_catalog_text(squeezed) == load_catalog_text(SOURCE)


@given(message_templates())
def test_a_template_written_out_reads_back_the_same(template: MessageTemplate) -> None:
    from crmcms.dsl.definitions.printer import dump_catalog
    from crmcms.model import Catalog

    catalog = Catalog(message_templates=(attrs.evolve(template, topic=None),))
    text = dump_catalog(catalog)
    assert load_catalog_text(text, check=False) == catalog
    assert format_source(text) == text
    compile_message(template)  # what the strategy makes compiles


def test_the_nearest_template_is_chosen_along_the_topic_s_groups() -> None:
    catalog = attrs.evolve(
        build_catalog(),
        message_templates=(
            MessageTemplate("ALL", ESCALATION, None, "all"),
            MessageTemplate("GROUP", ESCALATION, "SSOL_GT_ALL", "group"),
            MessageTemplate("OWN", ESCALATION, "TERMINATION", "own"),
            MessageTemplate("HAND", HAND_OVER, "SSOL_GT_ALL", "hand"),
        ),
    )

    def chosen(kind: NotificationKind, topic: str | None) -> str | None:
        found = catalog.message_template_for(kind, topic)
        return None if found is None else found.code

    assert chosen(ESCALATION, "TERMINATION") == "OWN"
    assert chosen(ESCALATION, "CLAIM") == "GROUP"
    assert chosen(ESCALATION, "COMPLAINTS") == "ALL"
    assert chosen(ESCALATION, None) == "ALL"
    assert chosen(HAND_OVER, "COMPLAINTS") is None
    assert chosen(HAND_OVER, "TERMINATION") == "HAND"


def _check(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "messages.crm"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_catalog([path])
    return [str(p).split("\n")[0].replace(str(path), "f") for p in info.value.problems]


def test_template_mistakes_are_reported_where_they_are_written(tmp_path: Path) -> None:
    problems = _check(
        tmp_path,
        'topic INTERNET "Интернет"\n'
        "message M {\n"
        "    event: escalation\n"
        '    subject: "Обращение {{ appeal.id }"\n'
        '    text: """\n'
        "        Здравствуйте!\n"
        "        {% for x in appeal.values %}\n"
        '        """\n'
        "}\n"
        'message N { event: escalate  subject: "x" }\n'
        'message O { subject: "x" }\n',
    )
    assert problems == [
        "f:4:14: message subject: template syntax: unexpected '}'",
        "f:7:9: message text: template syntax: Unexpected end of template. Jinja was looking "
        "for the following tags: 'endfor' or 'else'. The innermost block that needs to be "
        "closed is 'for'.",
        "f:10:20: unknown event 'escalate' of message N",
        "f:11:9: message O needs an event",
    ]


def test_unknown_names_topics_and_a_second_template_for_one_event_are_reported(
    tmp_path: Path,
) -> None:
    problems = _check(
        tmp_path,
        'topic INTERNET "Интернет"\n'
        "message M {\n"
        "    event: escalation\n"
        "    topic: INTERNT\n"
        '    text: """\n'
        "        Hello\n"
        "        {{ clent.Name }}\n"
        '        """\n'
        "}\n"
        'message N { event: escalation  topic: INTERNT  subject: "x" }\n',
    )
    assert problems == [
        "f:7:9: message text: unknown name(s) clent",
        "f:10:9: a message for escalation on INTERNT is defined twice (first at f:2:9)",
    ]
    problems = _check(
        tmp_path,
        'topic INTERNET "И"\nmessage M { event: escalation  topic: INTERNT  subject: "x" }\n',
    )
    assert problems == ["f:2:39: unknown topic or topic group 'INTERNT' in message M"]


# --- rendering, in the engine -------------------------------------------------------------

GOOD = {"166": "Переезд", "168": date(2026, 4, 1)}


class Collect:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.sent.append(notification)


def _engine(*templates: MessageTemplate) -> tuple[Engine, Collect]:
    collect = Collect()
    client = Client(1, "ООО <Ромашка> & Co", category="BIS", region="Moscow")
    pm = make_plugin_manager([FakeBilling([client]), collect], load_entry_points=False)
    catalog = attrs.evolve(build_catalog(), message_templates=templates)
    engine = Engine(
        catalog,
        MemoryStore().unit_of_work,
        plugins=pm,
        deliver_after_commit=True,
        trust_logins=True,
    )
    return engine, collect


def _hand_over(engine: Engine) -> int:
    reg = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("TERMINATION", GOOD)]
    )
    appeal_id = reg.appeals[0].id
    engine.transition(appeal_id, "olga", "to_sd")
    return appeal_id


def test_a_notification_is_written_from_its_template_with_the_appeal_and_client() -> None:
    engine, collect = _engine(
        MessageTemplate(
            "HANDED",
            HAND_OVER,
            "TERMINATION",
            subject="Обращение {{ appeal.id }} ({{ topic.name }})\n передано",
            text="{{ client.Name }}: {{ process.name }} / {{ route.code }} v{{ route.version }}"
            " / {{ appeal.values['166'] }} / {{ notification.subject }}",
            html="<p>{{ client.Name }}</p>",
        )
    )
    appeal_id = _hand_over(engine)
    [first, *_] = collect.sent
    assert first.kind is HAND_OVER
    assert first.subject == f"Обращение {appeal_id} (Расторжение договора) передано"
    # the text is not escaped, the HTML part is
    assert first.text == (
        "ООО <Ромашка> & Co: Передать в SD / TERMINATION v2 / Переезд / Передача на обработку"
    )
    assert first.html == "<p>ООО &lt;Ромашка&gt; &amp; Co</p>"


def test_without_a_template_the_engine_s_own_text_goes_out() -> None:
    engine, collect = _engine(MessageTemplate("OTHER", HAND_OVER, "COMPLAINTS", "other"))
    _hand_over(engine)
    assert collect.sent[0].subject == "Передача на обработку"
    assert collect.sent[0].html == ""


def test_a_template_refused_by_the_sandbox_leaves_the_engine_s_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, collect = _engine(
        MessageTemplate("EVIL", HAND_OVER, None, subject="{{ appeal.__class__.__mro__ }}")
    )
    with caplog.at_level(logging.WARNING, "crmcms.messages"):
        _hand_over(engine)
    assert collect.sent[0].subject == "Передача на обработку"
    assert "message EVIL could not be rendered" in caplog.text
