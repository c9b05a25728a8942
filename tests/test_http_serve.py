"""``crmcms serve`` as a real process on 127.0.0.1: the guide's curl examples run against it."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest
from tests.live_server import PASSWORD, ROOT, crmcms_serve, give_passwords


def test_crmcms_serve_answers_on_a_free_port_with_two_workers(postgres_url: str) -> None:
    give_passwords(postgres_url)
    with crmcms_serve(postgres_url, workers=2) as base, httpx.Client(base_url=base) as http:
        token = http.post("/sessions", json={"login": "olga", "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token['token']}"}
        body = {
            "topic": "TERMINATION",
            "client_id": 1,
            "place": "CC",
            "channel": "PHONE",
            "attributes": {"166": "Переезд", "168": "2026-04-01"},
        }
        # Every worker answers the same: the session, the appeals and the keys are the
        # database's, not a process's.
        made = [
            http.post("/appeals", json=body, headers={**auth, "Idempotency-Key": "one"})
            for _ in range(6)
        ]
        assert {r.status_code for r in made} == {201}
        assert len({r.json()["id"] for r in made}) == 1
        assert http.get("/schema/openapi.json").json()["openapi"].startswith("3.1")
        assert http.get("/appeals/1").status_code == 401


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("jq") is None, reason="curl, jq")
def test_the_guides_curl_examples_run_against_a_live_server(database_url: str) -> None:
    text = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 8
    give_passwords(database_url)
    with crmcms_serve(database_url) as base:
        script = "set -euo pipefail\n" + "\n".join(blocks)
        done = subprocess.run(
            ["bash", "-c", script],
            env={"CRM": base, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    # The outputs the guide shows after "# " are the ones printed, in order.
    shown = [line[2:] for b in blocks for line in b.splitlines() if line.startswith("# ")]
    printed = done.stdout.splitlines()
    for expected in shown:
        assert expected in printed
