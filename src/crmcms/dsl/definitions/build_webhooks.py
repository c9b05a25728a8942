"""Webhook declarations to Webhook subscriptions, each mistake reported where it stands."""

from __future__ import annotations

from crmcms.dsl.definitions.ast import Decl
from crmcms.dsl.definitions.catalog_draft import CatalogDraft
from crmcms.model import HistoryKind, Webhook
from crmcms.model._lookup import did_you_mean

__all__ = ["build_webhook"]

_KINDS = {k.value: k for k in HistoryKind}


def build_webhook(draft: CatalogDraft, decl: Decl) -> None:
    """Add the webhook ``decl`` declares; an unknown event kind, or a missing URL or
    secret, is reported at the line it is on (or the declaration's)."""
    code = decl.code.code
    what = f"webhook {code}"
    url = draft.text(decl, "url")
    secret = draft.text(decl, "secret")
    failed = False
    for key, value in (("url", url), ("secret", secret)):
        if value is None:
            failed = True
            example = '"https://..."' if key == "url" else "env NAME"
            draft.error(f"{what} needs '{key}: {example}'", decl.code.span)
    events: list[HistoryKind] = []
    listed = draft.single(decl, "events")
    for ref in () if listed is None else listed.values:
        kind = _KINDS.get(ref.code)
        if kind is None:
            failed = True
            draft.error(
                f"unknown event kind {ref.code!r} in {what}",
                ref.span,
                did_you_mean(ref.code, _KINDS) or "one of " + ", ".join(_KINDS),
            )
        elif kind in events:
            failed = True
            draft.error(f"event kind {ref.code!r} is listed twice in {what}", ref.span)
        else:
            events.append(kind)
    if failed or url is None or secret is None:
        return
    draft.add(
        "webhooks",
        decl,
        code,
        what,
        lambda: Webhook(
            code,
            decl.name or "",
            url,
            secret,
            tuple(events),
            description=draft.description(decl),
            active=draft.active(decl),
        ),
    )
