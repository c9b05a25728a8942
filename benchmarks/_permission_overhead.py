"""What permission checks cost a transition, and what a password login costs.

A transition with the checks is timed against the same transition on the last commit
without them (:data:`BEFORE`, unpacked from git into a temporary folder), in separate
processes taking turns, so that the machine's changes of speed fall on both; the overhead is
the median of the pairs' ratios. Without git history (a copy of the sources), it is not
measured and says so.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

BEFORE = "74a911b"
"""The last commit before every action was checked against a principal's permissions."""

OVERLAID = ("crmcms/model/business_time.py",)
"""Files the baseline takes from the current sources: what changed since :data:`BEFORE` for
other reasons (the business-time calculator got faster), so that the pair differs in the
permission checks only."""

ROOT = pathlib.Path(__file__).resolve().parent.parent

TIMING = """
import gc, sys, time
from bench_engine import engine_setup, our_moves
n = int(sys.argv[1])
move, check = our_moves(engine_setup, n + 200)
move(slice(0, 200))  # warm up
gc.collect(); gc.disable()
start = time.perf_counter()
move(slice(200, None))
spent = time.perf_counter() - start
check()
print(spent / n)
"""


@contextmanager
def sources_before() -> Iterator[pathlib.Path | None]:
    """The ``src`` folder of :data:`BEFORE`, or ``None`` when git cannot give it."""
    with tempfile.TemporaryDirectory(prefix="crmcms-before-") as folder:
        archive = pathlib.Path(folder) / "src.tar"
        try:
            subprocess.run(
                ["git", "-C", str(ROOT), "archive", "-o", str(archive), BEFORE, "src"],
                check=True,
                capture_output=True,
            )
        except (OSError, subprocess.CalledProcessError):
            yield None
            return
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        src = pathlib.Path(folder) / "src"
        for name in OVERLAID:
            (src / name).write_bytes((ROOT / "src" / name).read_bytes())
        yield src


def _time(src: pathlib.Path, n: int) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT / "benchmarks")])}
    done = subprocess.run(
        [sys.executable, "-c", TIMING, str(n)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return float(done.stdout.strip().splitlines()[-1])


def permission_overhead(n: int, pairs: int) -> dict[str, float | int | str | None]:
    """Seconds per transition with and without the checks, and their ratio (median of
    ``pairs`` pairs, each side in a fresh process)."""
    with sources_before() as before:
        if before is None:
            return {
                "permission_overhead": None,
                "checked_transition_us": None,
                "unchecked_transition_us": None,
                "permission_baseline": "no git history",
                "permission_pairs": 0,
            }
        ratios, now, then = [], [], []
        for i in range(pairs):
            # Alternate which side goes first, so neither always meets a warmer machine.
            sides = [(ROOT / "src", now), (before, then)]
            for src, kept in sides if i % 2 == 0 else reversed(sides):
                kept.append(_time(src, n))
            ratios.append(now[-1] / then[-1])
    med = statistics.median
    return {
        "permission_overhead": round(med(ratios), 3),
        "checked_transition_us": round(med(now) * 1e6, 1),
        "unchecked_transition_us": round(med(then) * 1e6, 1),
        "permission_baseline": BEFORE,
        "permission_pairs": pairs,
    }


def login_cost(tries: int) -> dict[str, float | int | str]:
    """Median milliseconds of a password login with the production key profile."""
    from bench_engine import bench_catalog

    from crmcms.engine import KeyProfile, LoginGateway
    from crmcms.model import SYSTEM
    from crmcms.storage.memory_logins import MemoryLoginStore

    profile = KeyProfile.RFC_9106_LOW_MEMORY
    gateway = LoginGateway(MemoryLoginStore(), bench_catalog(), profile=profile)
    gateway.set_password(SYSTEM, "olga", "a long enough password")
    spent = []
    for _ in range(tries):
        start = time.perf_counter()
        gateway.authenticate("olga", "a long enough password")
        spent.append(time.perf_counter() - start)
    return {
        "login_ms": round(statistics.median(spent) * 1e3, 1),
        "login_profile": (
            f"argon2id t={profile.time_cost} m={profile.memory_cost // 1024} MiB "
            f"p={profile.parallelism}"
        ),
        "login_tries": tries,
    }
