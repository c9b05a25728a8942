"""Webhook subscriptions in definition files: the syntax, the checks and the layout."""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import given, settings

from crmcms.dsl import format_source, load_catalog_text
from crmcms.dsl.definitions.loader import check_sources
from crmcms.dsl.definitions.printer import dump_catalog
from crmcms.entrypoints.cli import cli
from crmcms.model import Catalog, HistoryKind
from crmcms.testing import webhooks

WEBHOOK = """
webhook BILLING "Billing system" {
    url: "https://billing.example/crm-events"
    events: created, moved, closed
    secret: env BILLING_WEBHOOK_SECRET
}
"""


def problems(text: str) -> list[str]:
    return [
        f"{p.span.line}:{p.span.column}: {p.message}" for p in check_sources({"x.crm": text})[1]
    ]


def test_a_webhook_subscribes_to_event_kinds_with_a_secret_from_the_environment() -> None:
    hook = load_catalog_text(WEBHOOK).webhook("BILLING")
    assert hook.name == "Billing system"
    assert hook.url == "https://billing.example/crm-events"
    assert hook.events == (HistoryKind.CREATED, HistoryKind.MOVED, HistoryKind.CLOSED)
    assert hook.secret_env == "BILLING_WEBHOOK_SECRET"
    assert hook.wants(HistoryKind.MOVED)
    assert not hook.wants(HistoryKind.ASSIGNED)


def test_a_webhook_without_events_hears_every_kind() -> None:
    text = 'webhook ALL "All" { url: "http://x.example/" secret: env S }'
    hook = load_catalog_text(text).webhook("ALL")
    assert all(hook.wants(kind) for kind in HistoryKind)


def test_an_unknown_event_kind_is_reported_at_its_line_and_column() -> None:
    text = WEBHOOK.replace("moved", "moveed")
    found = problems(text)
    assert found == ["4:22: unknown event kind 'moveed' in webhook BILLING"]
    detail = check_sources({"x.crm": text})[1][0]
    assert detail.hint is not None
    assert "moved" in detail.hint


def test_a_missing_url_or_secret_and_a_bad_url_are_reported() -> None:
    assert set(problems('webhook W "w" { events: closed }')) == {
        "1:9: webhook W needs 'url: \"https://...\"'",
        "1:9: webhook W needs 'secret: env NAME'",
    }
    found = problems('webhook W "w" { url: "ftp://x" secret: env S }')
    assert found == ["1:9: webhook W: 'ftp://x' is not an http:// or https:// URL"]
    assert problems(WEBHOOK + WEBHOOK)[0].startswith("8:9: webhook BILLING is defined twice")


def test_crmcms_check_names_the_file_line_and_column(tmp_path) -> None:
    path = tmp_path / "hooks.crm"
    path.write_text(WEBHOOK.replace("closed", "shut"), encoding="utf-8")
    done = CliRunner().invoke(cli, ["check", str(path)])
    assert done.exit_code != 0
    assert f"{path}:4:29" in done.output
    assert "unknown event kind 'shut'" in done.output


def test_fmt_lays_a_webhook_out_one_statement_a_line() -> None:
    squeezed = (
        'webhook BILLING "Billing system" inactive { secret: env  K url:"http://h/"'
        " events: closed,created }"
    )
    assert format_source(squeezed) == (
        'webhook BILLING "Billing system" inactive {\n'
        "    secret: env K\n"
        '    url: "http://h/"\n'
        "    events: closed, created\n"
        "}\n"
    )
    assert format_source(WEBHOOK) == WEBHOOK.lstrip("\n")


@settings(max_examples=60, deadline=None)
@given(webhooks())
def test_a_webhook_printed_and_loaded_again_is_the_same(hook) -> None:  # type: ignore[no-untyped-def]
    catalog = Catalog(webhooks=(hook,))
    text = dump_catalog(catalog)
    assert load_catalog_text(text).webhooks == (hook,)
    assert format_source(text) == text
