"""A billing system's side of prospect conversion: clients kept in a JSON ledger, made once per
idempotency key. ``crmcms worker --plugin examples.plugins.billing:Ledger`` converts prospects
into clients of the ledger named by ``$CRMCMS_BILLING_LEDGER`` (in memory when unset)."""

from __future__ import annotations

import json
import os
import pathlib
import threading
from collections.abc import Mapping
from typing import Any

from crmcms import DeliveryError, Prospect
from crmcms.plugins import hookimpl

HOOK = "crmcms_export_prospect"


class Ledger:
    """Billing's clients, with the idempotency key each was made under.

    A key seen before gives its client again, so a conversion retried after the ledger
    answered (the worker died before crmcms recorded it) makes no second client. A prospect
    without a phone or e-mail is refused for good: billing cannot bill whom it cannot reach.
    The file, if any, is written whole after every change (a stand-in, not a database).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, first_id: int = 1000):
        found = path if path is not None else os.environ.get("CRMCMS_BILLING_LEDGER")
        self.path = pathlib.Path(found) if found else None
        self.first_id = first_id
        self.lock = threading.Lock()
        self.clients: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, int] = {}
        if self.path is not None and self.path.exists():
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            self.clients, self.keys = stored["clients"], stored["keys"]

    @hookimpl
    def crmcms_export_prospect(self, prospect: Prospect, idempotency_key: str) -> int:
        with self.lock:
            known = self.keys.get(idempotency_key)
            if known is not None:
                return known
            if not (prospect.phone or prospect.email):
                raise DeliveryError(
                    "billing", "a client needs a phone or an e-mail", permanent=True, hook=HOOK
                )
            client_id = max((int(k) for k in self.clients), default=self.first_id - 1) + 1
            self.clients[str(client_id)] = {
                "Id": client_id,
                "Name": prospect.name,
                "Category": prospect.category,
                "Region": prospect.region,
                "Status": "active",
            }
            self.keys[idempotency_key] = client_id
            self._save()
            return client_id

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        """The clients the ledger made, for contacts registered for them afterwards."""
        return self.clients.get(client_id)

    def _save(self) -> None:
        if self.path is None:
            return
        fresh = self.path.with_suffix(".tmp")
        document = {"clients": self.clients, "keys": self.keys}
        fresh.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        fresh.replace(self.path)  # whole or not at all
