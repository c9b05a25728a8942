"""Deadlines and their messages: the SLA monitor's search beside raw SQL, escalations fired
per second by one and two monitors, outbox mail delivered per second beside plain smtplib,
one business-time deadline beside a day-by-day walk.

    python benchmarks/bench_sla.py --quick      # under a minute (100,000 stored clocks)
    python benchmarks/bench_sla.py              # 1,000,000 stored clocks per backend

Needs PostgreSQL at $CRMCMS_BENCH_POSTGRES_URL (default the test server).
"""

from __future__ import annotations

import sys
from typing import Any

import _business_time
import _outbox_mail
import _sla_monitor
from _report import run


def measure(quick: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"quick": quick}
    result.update(_outbox_mail.measure(quick))  # outbox_per_s, outbox_vs_smtplib
    # scan_vs_raw (and per backend), escalations_per_s, workers_2_vs_1
    result.update(_sla_monitor.measure(quick))
    result.update(_business_time.measure(quick))  # business_add_us, business_add_vs_walk
    return result


def section(result: dict[str, Any]) -> str:
    parts = [_outbox_mail.section(result), _sla_monitor.section(result)]
    return "\n\n".join([*parts, _business_time.section(result)])


def main(argv: list[str] | None = None) -> int:
    return run("bench_sla", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
