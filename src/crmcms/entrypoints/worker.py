"""The worker: delivers the outbox and watches deadlines until it is told to stop."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable
from typing import Any, Protocol

import attrs
import sqlalchemy as sa

from crmcms.engine import DeliveryReport, Engine, SlaScan
from crmcms.errors import ConfigurationError

__all__ = [
    "ListenWakeup",
    "PollWakeup",
    "Wakeup",
    "Worker",
    "WorkerTotals",
    "load_plugin",
    "monitor_deadlines",
    "wakeup_for",
]

log = logging.getLogger("crmcms.worker")

_SLICE = 0.5
"""Seconds: the longest a wait goes without looking whether the worker was told to stop."""


def monitor_deadlines(engine: Engine) -> SlaScan:
    """One pass of the deadline monitor: what the worker runs between deliveries."""
    return engine.scan_deadlines()


class Wakeup(Protocol):
    """Waits until there may be new work, or ``timeout`` seconds have passed."""

    def wait(self, timeout: float, stopping: threading.Event) -> bool:
        """Whether something woke it before the timeout (it returns early on ``stopping``)."""

    def close(self) -> None: ...


class PollWakeup:
    """No signal from the database: the worker looks again every poll interval."""

    def wait(self, timeout: float, stopping: threading.Event) -> bool:
        stopping.wait(timeout)
        return False

    def close(self) -> None:
        pass


class ListenWakeup:
    """PostgreSQL ``LISTEN crmcms_outbox``: a commit that writes outbox messages wakes the
    worker at once. Behind a pooler in transaction mode ``LISTEN`` hears nothing, and the
    worker still finds its work at each poll."""

    def __init__(self, engine: sa.Engine, channel: str) -> None:
        self._engine = engine
        self._channel = channel
        self._conn: Any = None
        self._listen()

    def _listen(self) -> None:
        fairy = self._engine.raw_connection()
        conn: Any = fairy.driver_connection
        fairy.detach()  # ours alone: it never goes back to the pool in LISTEN mode
        conn.autocommit = True
        # The channel is our own constant, never user input.
        conn.execute(f"LISTEN {self._channel}")
        self._conn = conn

    def wait(self, timeout: float, stopping: threading.Event) -> bool:
        try:
            if self._conn is None:
                self._listen()
            return self._wait(timeout, stopping)
        except Exception as exc:
            # The database went away: poll until it is back, then listen again.
            log.warning("LISTEN connection lost (%s); polling meanwhile", exc)
            self.close()
            stopping.wait(timeout)
            return False

    def _wait(self, timeout: float, stopping: threading.Event) -> bool:
        remaining = timeout
        while remaining > 0 and not stopping.is_set():
            step = min(_SLICE, remaining)
            # Each generator is run to its end: while one is open it holds the
            # connection's lock, and a second would wait for it for ever.
            if list(self._conn.notifies(timeout=step, stop_after=1)):
                # Several commits may have signalled: one pass serves them all.
                list(self._conn.notifies(timeout=0.01))
                return True
            remaining -= step
        return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the LISTEN connection failed", exc_info=True)


def wakeup_for(engine: sa.Engine) -> Wakeup:
    """``LISTEN`` on PostgreSQL, polling elsewhere."""
    if engine.dialect.name == "postgresql":
        from crmcms.storage.sql.outbox import OUTBOX_CHANNEL

        return ListenWakeup(engine, OUTBOX_CHANNEL)
    return PollWakeup()


@attrs.define
class WorkerTotals:
    """What a worker did since it started."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    findings: int = 0
    escalation_failures: int = 0
    """Escalation levels that failed while firing (each tried again later or given up)."""

    def add(self, report: DeliveryReport) -> None:
        self.delivered += len(report.delivered)
        self.retried += len(report.retried)
        self.dead += len(report.dead)


class Worker:
    """Delivers due outbox messages and runs the deadline monitor, over and over.

    :meth:`stop` (from a signal handler, say) lets the message being delivered finish,
    hands the rest of the batch back and ends :meth:`run`.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        wakeup: Wakeup | None = None,
        poll: float = 5.0,
        batch: int | None = None,
        scan_deadlines: bool = True,
    ) -> None:
        self.engine = engine
        self.wakeup = wakeup or PollWakeup()
        self.poll = poll
        self.batch = batch
        self.scan_deadlines = scan_deadlines
        self.stopping = threading.Event()
        self.totals = WorkerTotals()

    def stop(self) -> None:
        self.stopping.set()

    def deliver(self) -> None:
        """Deliver until nothing due is left (or the worker is told to stop)."""
        limit = self.batch or self.engine.runtime.relay.settings.batch
        while not self.stopping.is_set():
            report = self.engine.deliver_outbox(limit=limit, stop=self.stopping.is_set)
            self.totals.add(report)
            if report.claimed:
                log.info(
                    "delivered %s, retried %s, given up %s, handed back %s",
                    len(report.delivered),
                    len(report.retried),
                    len(report.dead),
                    len(report.released),
                )
            if report.claimed < limit:
                return

    def monitor(self) -> None:
        if not self.scan_deadlines or self.stopping.is_set():
            return
        try:
            findings = monitor_deadlines(self.engine)
        except Exception:
            # The relay must go on even if a definition breaks the monitor.
            log.exception("the deadline monitor failed")
            return
        self.totals.findings += len(findings)
        failures = getattr(findings, "failures", ())
        self.totals.escalation_failures += len(failures)
        if findings:
            log.info("deadline monitor: %s deadline(s) warned or escalated", len(findings))
        if failures:
            log.warning("deadline monitor: %s escalation level(s) failed", len(failures))

    def run_once(self) -> None:
        self.deliver()
        self.monitor()

    def run(self) -> None:
        """Work until :meth:`stop`. A failing database does not end it: it logs the error
        and tries again at the next poll."""
        try:
            while not self.stopping.is_set():
                try:
                    self.run_once()
                except Exception:
                    log.exception("worker pass failed; trying again in %s s", self.poll)
                self.wakeup.wait(self.poll, self.stopping)
        finally:
            self.wakeup.close()
        log.info(
            "worker stopped: %s delivered, %s retried, %s given up",
            self.totals.delivered,
            self.totals.retried,
            self.totals.dead,
        )


def load_plugin(spec: str) -> object:
    """``module`` or ``module:name``: the module itself, or the object it names (a class is
    instantiated with no arguments)."""
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
        found: object = getattr(module, name) if name else module
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load plugin {spec!r}: {exc}") from exc
    return found() if isinstance(found, type) else found


def load_plugins(specs: Iterable[str]) -> list[object]:
    return [load_plugin(spec) for spec in specs]
