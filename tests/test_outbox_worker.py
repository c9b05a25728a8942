"""`crmcms worker` and `crmcms outbox`: workers share the outbox, stop cleanly, lose nothing."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from crmcms.dsl import load_catalog_text
from crmcms.engine import Engine
from crmcms.engine.outbox import enqueue_notification
from crmcms.entrypoints.cli import cli
from crmcms.entrypoints.worker import Worker
from crmcms.model import Notification, NotificationKind, OutboxStatus
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore
from outbox_receiver import create_table, received

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent


def queue(store: SqlStore, count: int) -> list[int]:
    """``count`` notifications for one recipient each, committed; their message ids."""
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        ids = []
        for n in range(count):
            note = Notification(NotificationKind.MESSAGE, None, ("t",), (f"u{n}@example.com",), "s")
            ids += enqueue_notification(uow.outbox, note, now=now, domain="test")
        uow.commit()
    return ids


def statuses(store: SqlStore) -> Counter[OutboxStatus]:
    with store.unit_of_work() as uow:
        return Counter(m.status for m in uow.outbox.find(limit=100_000))


class _Log:
    """A worker's stderr, read as it comes by a thread of its own: a pipe nobody drains
    would block a worker that logs much, and a read waiting for a line that never comes
    would block the test."""

    def __init__(self, worker: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(worker,), daemon=True)
        self.thread.start()

    def _read(self, worker: subprocess.Popen[str]) -> None:
        assert worker.stderr is not None
        for line in worker.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def text(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def wait_for(self, line: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: any(line in got for got in self.lines) or not self.thread.is_alive(),
                timeout,
            ) and any(line in got for got in self.lines)


_LOGS: dict[int, _Log] = {}


def start_worker(
    url: str, *args: str, delay: float = 0.0, start_delay: float = 0.0
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "RECEIVER_URL": url,
        "RECEIVER_DELAY": str(delay),
        "RECEIVER_START_DELAY": str(start_delay),
    }
    command = [
        sys.executable,
        "-c",
        # SIGUSR1 prints every thread's stack: what a worker that does not stop is doing.
        "import faulthandler, signal; faulthandler.register(signal.SIGUSR1, all_threads=True); "
        "from crmcms.entrypoints.cli import main; main()",
        "worker",
        "--db",
        url,
        "--plugin",
        "outbox_receiver:Receiver",
        "--no-deadlines",
        *args,
    ]
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _LOGS[worker.pid] = _Log(worker)
    return worker


def wait_started(
    worker: subprocess.Popen[str], line: str = "started on", timeout: float = 90.0
) -> str:
    """Wait until the worker's stderr holds ``line``; what it wrote so far. A worker
    signalled before that may be still loading plugins or connecting."""
    log = _LOGS[worker.pid]
    if log.wait_for(line, timeout):
        return log.text()
    if worker.poll() is None:
        worker.send_signal(signal.SIGUSR1)  # what it is stuck on, into the log
        time.sleep(1.0)
        worker.kill()
    worker.wait(timeout=30)
    log.thread.join(timeout=10)
    pytest.fail(f"the worker ({worker.returncode}) wrote no {line!r}:\n{log.text()}")


def stop_worker(worker: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """SIGTERM, then the worker's whole stderr once it has exited; a worker still running
    after ``timeout`` seconds fails the test with the stacks of its threads."""
    log = _LOGS[worker.pid]
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        worker.kill()
        worker.wait(timeout=30)
        log.thread.join(timeout=10)
        pytest.fail(f"the worker did not stop within {timeout} s of SIGTERM:\n{log.text()}")
    log.thread.join(timeout=10)
    return log.text()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        log = _LOGS.pop(process.pid, None)
        if log is not None:
            log.thread.join(timeout=10)


def leased_by(store: SqlStore, pid: int) -> int:
    with store.unit_of_work() as uow:
        return sum(
            1
            for m in uow.outbox.find(status=OutboxStatus.PENDING, limit=100_000)
            if m.lease_owner is not None and f":{pid}:" in m.lease_owner
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_share_the_outbox_and_a_killed_one_loses_nothing(
    postgres_url: str, workers: list[subprocess.Popen[str]]
) -> None:
    store = SqlStore(postgres_url)
    db = store.engine
    create_table(db)
    total = 300
    ids = queue(store, total)
    args = ("--batch", "20", "--lease", "3", "--poll", "0.2")
    doomed = start_worker(postgres_url, *args, delay=0.01)
    survivor = start_worker(postgres_url, *args, delay=0.01)
    workers += [doomed, survivor]
    wait_started(survivor)

    def doomed_mid_batch() -> bool:
        mine = [w for _, w in received(db) if w == doomed.pid]
        return len(mine) >= 10 and leased_by(store, doomed.pid) > 0

    wait_for(doomed_mid_batch, 60, "the first worker to be in the middle of a batch")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    orphaned = leased_by(store, doomed.pid)
    assert orphaned > 0  # its batch was left leased, to be taken over when the lease expires

    wait_for(lambda: statuses(store)[OutboxStatus.DELIVERED] == total, 90, "every delivery")
    err = stop_worker(survivor)
    assert survivor.returncode == 0, err

    seen = Counter(d for d, _ in received(db))
    assert set(seen) == {f"<outbox-{i}.crmcms@test>" for i in ids}  # every message arrived
    # At least once: only the message in flight at the kill (sent, not yet marked) may
    # arrive twice, and a receiver drops the repeat by its delivery id.
    twice = {d: n for d, n in seen.items() if n > 1}
    assert len(twice) <= 1
    assert all(n == 2 for n in twice.values())
    for delivery_id in twice:
        by = [w for d, w in received(db) if d == delivery_id]
        assert doomed.pid in by
    workers_seen = {w for _, w in received(db)}
    assert workers_seen == {doomed.pid, survivor.pid}
    store.dispose()


@pytest.mark.postgres
def test_a_commit_wakes_a_listening_worker_long_before_its_poll(
    postgres_url: str, workers: list[subprocess.Popen[str]]
) -> None:
    store = SqlStore(postgres_url)
    create_table(store.engine)
    worker = start_worker(postgres_url, "--poll", "600")
    workers.append(worker)
    # Started and past its first pass, listening: it logs that before its first wait.
    wait_started(worker)
    time.sleep(1.0)
    [message_id] = queue(store, 1)
    wait_for(lambda: len(received(store.engine)) == 1, 30, "the NOTIFY to wake the worker")
    assert received(store.engine)[0][0] == f"<outbox-{message_id}.crmcms@test>"
    stop_worker(worker)
    assert worker.returncode == 0
    store.dispose()


def test_two_workers_on_sqlite_never_deliver_a_message_twice(
    tmp_path: pathlib.Path, workers: list[subprocess.Popen[str]]
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlStore(url)
    create_table(store.engine)
    ids = queue(store, 100)
    pair = [start_worker(url, "--batch", "5", "--poll", "0.1") for _ in range(2)]
    workers += pair
    # Both running before the first may deliver everything alone.
    for worker in pair:
        wait_started(worker)
    wait_for(lambda: statuses(store)[OutboxStatus.DELIVERED] == 100, 90, "every delivery")
    for worker in pair:
        err = stop_worker(worker)
        assert worker.returncode == 0, err
    seen = Counter(d for d, _ in received(store.engine))
    assert seen == Counter({f"<outbox-{i}.crmcms@test>": 1 for i in ids})
    store.dispose()


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_sigterm_stops_a_worker_cleanly_and_hands_its_batch_back(
    database: str,
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    workers: list[subprocess.Popen[str]],
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'crm.sqlite'}"
        if database == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    store = SqlStore(url)
    create_table(store.engine)
    queue(store, 40)
    worker = start_worker(url, "--batch", "40", "--poll", "0.2", delay=0.05)
    workers.append(worker)
    wait_started(worker)
    wait_for(lambda: len(received(store.engine)) >= 3, 60, "the worker to be delivering")
    err = stop_worker(worker)
    assert worker.returncode == 0, err
    assert "worker stopped" in err
    seen = received(store.engine)
    counts = statuses(store)
    assert counts[OutboxStatus.DELIVERED] == len(seen) < 40  # it stopped in the middle
    assert len({d for d, _ in seen}) == len(seen)
    with store.unit_of_work() as uow:
        left = uow.outbox.find(status=OutboxStatus.PENDING, limit=100)
    assert len(left) == 40 - len(seen)
    assert all(m.lease_owner is None and m.attempts == 0 for m in left)  # handed back untried
    store.dispose()


@pytest.mark.parametrize("once", [False, True])
def test_sigterm_during_start_up_stops_a_worker_cleanly_having_claimed_nothing(
    once: bool, tmp_path: pathlib.Path, workers: list[subprocess.Popen[str]]
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlStore(url)
    create_table(store.engine)
    queue(store, 5)
    worker = start_worker(url, *(["--once"] if once else []), start_delay=120)
    workers.append(worker)
    wait_started(worker, "receiver loading")  # its plugins are loading
    began = time.monotonic()
    err = stop_worker(worker)
    assert worker.returncode == 0, err
    assert time.monotonic() - began < 60  # it did not sit out the plugin's start-up
    assert "SIGTERM during start-up: stopped" in err
    with store.unit_of_work() as uow:
        left = uow.outbox.find(limit=100)
    assert [m.status for m in left] == [OutboxStatus.PENDING] * 5
    assert all(m.lease_owner is None and m.attempts == 0 for m in left)
    store.dispose()


def test_worker_once_delivers_what_is_due_and_exits(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlStore(url)
    create_table(store.engine)
    ids = queue(store, 5)
    monkeypatch.setenv("RECEIVER_URL", url)
    result = CliRunner().invoke(
        cli,
        ["worker", "--db", url, "--once", "--batch", "2", "--plugin", "outbox_receiver:Receiver"],
    )
    assert result.exit_code == 0, result.output
    assert sorted(d for d, _ in received(store.engine)) == sorted(
        f"<outbox-{i}.crmcms@test>" for i in ids
    )
    assert statuses(store) == Counter({OutboxStatus.DELIVERED: 5})
    store.dispose()


def test_an_unknown_plugin_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    result = CliRunner().invoke(cli, ["worker", "--db", url, "--once", "--plugin", "nowhere:X"])
    assert result.exit_code != 0
    assert "cannot load plugin 'nowhere:X'" in str(result.exception)


# --- crmcms outbox ---------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: pathlib.Path) -> Iterator[tuple[str, SqlStore]]:
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlStore(url)
    yield url, store
    store.dispose()


def mark(store: SqlStore, message_id: int, status: OutboxStatus, at: datetime) -> None:
    with store.unit_of_work() as uow:
        [_claimed] = uow.outbox.claim(
            "cli", now=datetime.now(UTC), lease=timedelta(minutes=1), limit=1, ids=[message_id]
        )
        if status is OutboxStatus.DEAD:
            uow.outbox.dead(message_id, "cli", error="550 no such user")
        else:
            uow.outbox.delivered(message_id, at=at)
        uow.commit()


def test_outbox_list_shows_messages_by_status(sqlite_store: tuple[str, SqlStore]) -> None:
    url, store = sqlite_store
    first, _second, _third = queue(store, 3)
    mark(store, first, OutboxStatus.DEAD, datetime.now(UTC))
    everything = CliRunner().invoke(cli, ["outbox", "list", "--db", url])
    assert everything.exit_code == 0, everything.output
    assert "3 message(s)" in everything.output
    assert "u1@example.com" in everything.output
    dead = CliRunner().invoke(cli, ["outbox", "list", "--db", url, "--status", "dead"])
    assert "1 message(s)" in dead.output
    assert "550 no such user" in dead.output


def test_outbox_retry_revives_dead_messages(sqlite_store: tuple[str, SqlStore]) -> None:
    url, store = sqlite_store
    first, second, _third = queue(store, 3)
    mark(store, first, OutboxStatus.DEAD, datetime.now(UTC))
    mark(store, second, OutboxStatus.DEAD, datetime.now(UTC))
    one = CliRunner().invoke(cli, ["outbox", "retry", "--db", url, str(first)])
    assert one.exit_code == 0, one.output
    assert statuses(store)[OutboxStatus.DEAD] == 1
    every = CliRunner().invoke(cli, ["outbox", "retry", "--db", url, "--dead"])
    assert "1 message(s)" in every.output
    assert statuses(store) == Counter({OutboxStatus.PENDING: 3})


def test_outbox_retry_of_an_unknown_id_changes_nothing(sqlite_store: tuple[str, SqlStore]) -> None:
    url, store = sqlite_store
    [first] = queue(store, 1)
    mark(store, first, OutboxStatus.DEAD, datetime.now(UTC))
    result = CliRunner().invoke(cli, ["outbox", "retry", "--db", url, str(first), "424242"])
    assert result.exit_code != 0
    assert "424242" in str(result.exception)
    assert statuses(store) == Counter({OutboxStatus.DEAD: 1})
    nothing = CliRunner().invoke(cli, ["outbox", "retry", "--db", url])
    assert nothing.exit_code == 2
    assert "--dead" in nothing.output


def test_outbox_purge_deletes_old_deliveries_only(sqlite_store: tuple[str, SqlStore]) -> None:
    url, store = sqlite_store
    old, recent, _waiting = queue(store, 3)
    now = datetime.now(UTC)
    mark(store, old, OutboxStatus.DELIVERED, now - timedelta(days=10))
    mark(store, recent, OutboxStatus.DELIVERED, now - timedelta(days=1))
    by_age = CliRunner().invoke(cli, ["outbox", "purge", "--db", url, "--older-than", "7d"])
    assert by_age.exit_code == 0, by_age.output
    assert "1 delivered message(s) purged" in by_age.output
    assert statuses(store) == Counter({OutboxStatus.DELIVERED: 1, OutboxStatus.PENDING: 1})
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    by_date = CliRunner().invoke(
        cli, ["outbox", "purge", "--db", url, "--delivered-before", tomorrow]
    )
    assert "1 delivered message(s) purged" in by_date.output
    assert statuses(store) == Counter({OutboxStatus.PENDING: 1})
    bad = CliRunner().invoke(cli, ["outbox", "purge", "--db", url, "--older-than", "soon"])
    assert bad.exit_code == 2
    assert "not an age" in bad.output
    neither = CliRunner().invoke(cli, ["outbox", "purge", "--db", url])
    assert neither.exit_code == 2


# --- The loop, in process ----------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.sent: list[str | None] = []

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.sent.append(notification.delivery_id)


def memory_worker(**kw: object) -> tuple[Worker, Inbox]:
    inbox = Inbox()
    store = MemoryStore()
    pm = make_plugin_manager([inbox], load_entry_points=False)
    engine = Engine(
        load_catalog_text('operator olga "Olga"'), store.unit_of_work, plugins=pm, trust_logins=True
    )
    return Worker(engine, **kw), inbox  # type: ignore[arg-type]


def test_a_failing_deadline_monitor_does_not_stop_deliveries(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    worker, inbox = memory_worker(batch=2)
    note = Notification(NotificationKind.MESSAGE, None, ("t",), ("a", "b", "c"), "s")
    worker.engine.run(lambda tx: tx.notify(note))

    def broken() -> list[object]:
        raise RuntimeError("a definition the monitor cannot read")

    monkeypatch.setattr(worker.engine, "scan_deadlines", broken)
    worker.run_once()
    assert len(inbox.sent) == 3  # two batches, drained in one pass
    assert "the deadline monitor failed" in caplog.text


def test_a_running_worker_delivers_what_commits_meanwhile_and_stops_when_told() -> None:
    worker, inbox = memory_worker(poll=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    note = Notification(NotificationKind.MESSAGE, None, ("t",), ("a",), "s")
    worker.engine.run(lambda tx: tx.notify(note))
    wait_for(lambda: len(inbox.sent) == 1, 10, "the delivery")
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert worker.totals.delivered == 1
