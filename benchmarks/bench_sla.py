"""Deadlines and their messages: outbox mail delivered per second, beside plain smtplib."""

from __future__ import annotations

import sys
from typing import Any

import _outbox_mail
from _report import run


def measure(quick: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"quick": quick}
    result.update(_outbox_mail.measure(quick))  # outbox_per_s, outbox_vs_smtplib
    return result


def section(result: dict[str, Any]) -> str:
    return _outbox_mail.section(result)


def main(argv: list[str] | None = None) -> int:
    return run("bench_sla", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
