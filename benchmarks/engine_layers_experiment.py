"""What each layer of the engine adds to a guarded transition.

The bench's transition (`bench_engine.py`) is taken four ways in one run, each timed in turns
with the `transitions` library's guarded transition, and reported as ratios to it:

- ``inline``: the same work written out against the in-memory store's dictionaries: the
  appeal copied, the client directory asked through its hook, the three rules, the required
  check, the move's history event with its changes, the appeal saved (a read-only copy kept)
  under the store's lock;
- ``unit_of_work``: the same through the storage ports (a unit of work and its repositories);
- ``transaction``: also through the action's transaction (``Tx``: caches, events, commit);
- ``routing``: through ``routing.perform`` with a transaction, as ``Engine.transition`` does;
- ``engine``: ``Engine.transition`` itself.

    python benchmarks/engine_layers_experiment.py [--rounds 9]

The findings are written down in docs/engine.md ("How an action stays cheap").
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench_engine import VALUES, engine_setup, our_moves, their_moves

from crmcms.engine import routing
from crmcms.engine.context import RuleData
from crmcms.engine.history import change
from crmcms.engine.records import make_change, make_event
from crmcms.engine.transaction import Tx
from crmcms.errors import WorkflowError
from crmcms.model import AppealState, HistoryKind, StoredAppeal, copy_appeal

Moves = tuple[Callable[[slice], None], Callable[[], None]]
MOVED, OPEN = HistoryKind.MOVED, AppealState.OPEN


def _ready(n: int) -> tuple[Any, list[int]]:
    engine, contact = engine_setup()
    ids = [engine.register_appeal(contact, "olga", "T", VALUES).id for _ in range(n)]
    return engine, ids


def _check(engine: Any, ids: list[int]) -> Callable[[], None]:
    def check() -> None:
        assert engine.appeal(ids[-1]).queue == "CP"

    return check


def _refuse() -> None:
    raise WorkflowError("the bench's transition was refused")


def _written_out(n: int, layer: str) -> Moves:
    """The transition written out in one function, down to ``layer``: ``inline`` (the
    store's dictionaries), ``unit_of_work`` (the storage ports) or ``transaction`` (``Tx``).
    Each step is spelled out in each function on purpose: a helper would be a layer."""
    engine, ids = _ready(n)
    rt = engine.runtime
    store = rt.uow_factory.__self__
    plan = rt.plans["R", 1]
    hook = rt.find_client_hook
    workers = rt.queues.workers
    missing = rt.policy.missing_required

    def inline(i: int, login: str, code: str) -> None:
        now = rt.clock()
        stored = store.appeals[i]
        appeal = copy_appeal(stored)
        contact = store.contacts[appeal.contact_id]
        operator = rt.operators[login]
        client = hook(str(contact.client_id))
        data = RuleData(rt.appeal_data, appeal, client, contact, operator, True, None)
        step = plan.transitions[code]
        logins = workers.get(appeal.queue)
        if appeal.state is not OPEN or (logins is not None and login not in logins):
            _refuse()
        if not step.rule.evaluate(data) or missing(appeal, data):
            _refuse()
        target = step.target
        appeal.process = target.code
        data.refresh(appeal)
        for candidate in plan.queues(target.code):
            if candidate.rule is None or candidate.rule.evaluate(data):
                queue, reason = candidate.code, candidate.chosen
                break
        deadline = now + target.clock_limit
        changes = (
            *step.moved,
            change("queue", appeal.queue, queue),
            make_change("process_entered_at", appeal.process_entered_at, now),
            make_change("process_deadline", appeal.process_deadline, deadline),
        )
        appeal.queue, appeal.process_entered_at, appeal.process_deadline = queue, now, deadline
        moved = make_event(
            next(store.event_ids), i, MOVED, now, login, target.code, queue, code, changes,
            step.transition.name, reason,
        )  # fmt: skip
        appeal.version += 1
        saved = StoredAppeal.of(appeal)
        with store.lock:
            if store.appeals[i].version != appeal.version - 1:
                _refuse()
            store.appeals[i] = saved
            store.history.setdefault(i, []).append(moved)

    def unit_of_work(i: int, login: str, code: str) -> None:
        with store.unit_of_work() as uow:
            now = rt.clock()
            appeal = uow.appeals.get(i)
            contact = uow.contacts.get(appeal.contact_id)
            operator = rt.operators[login]
            client = hook(str(contact.client_id))
            data = RuleData(rt.appeal_data, appeal, client, contact, operator, True, None)
            step = plan.transitions[code]
            logins = workers.get(appeal.queue)
            if appeal.state is not OPEN or (logins is not None and login not in logins):
                _refuse()
            if not step.rule.evaluate(data) or missing(appeal, data):
                _refuse()
            target = step.target
            appeal.process = target.code
            data.refresh(appeal)
            for candidate in plan.queues(target.code):
                if candidate.rule is None or candidate.rule.evaluate(data):
                    queue, reason = candidate.code, candidate.chosen
                    break
            deadline = now + target.clock_limit
            changes = (
                *step.moved,
                change("queue", appeal.queue, queue),
                make_change("process_entered_at", appeal.process_entered_at, now),
                make_change("process_deadline", appeal.process_deadline, deadline),
            )
            appeal.queue, appeal.process_entered_at, appeal.process_deadline = queue, now, deadline
            history = uow.history
            history.add(
                make_event(
                    history.next_id(), i, MOVED, now, login, target.code, queue, code, changes,
                    step.transition.name, reason,
                )
            )  # fmt: skip
            uow.appeals.update(appeal)
            uow.commit()

    def transaction(i: int, login: str, code: str) -> None:
        with store.unit_of_work() as uow:
            tx = Tx(rt, uow)
            now = tx.now
            appeal = tx.appeal(i)
            operator = tx.operator(login)
            data = tx.data(appeal, operator, True)
            step = plan.transitions[code]
            logins = workers.get(appeal.queue)
            if appeal.state is not OPEN or (logins is not None and login not in logins):
                _refuse()
            if not step.rule.evaluate(data) or missing(appeal, data):
                _refuse()
            target = step.target
            appeal.process = target.code
            data.refresh(appeal)
            for candidate in plan.queues(target.code):
                if candidate.rule is None or candidate.rule.evaluate(data):
                    queue, reason = candidate.code, candidate.chosen
                    break
            deadline = now + target.clock_limit
            changes = (
                *step.moved,
                change("queue", appeal.queue, queue),
                make_change("process_entered_at", appeal.process_entered_at, now),
                make_change("process_deadline", appeal.process_deadline, deadline),
            )
            appeal.queue, appeal.process_entered_at, appeal.process_deadline = queue, now, deadline
            tx.event(appeal, MOVED, changes, login, code, step.transition.name, reason)
            uow.appeals.update(appeal)
            tx.commit()

    one = {"inline": inline, "unit_of_work": unit_of_work, "transaction": transaction}[layer]

    def move(part: slice) -> None:
        for i in ids[part]:
            one(i, "olga", "to_sd")

    return move, _check(engine, ids)


def _routed(n: int) -> Moves:
    engine, ids = _ready(n)
    rt = engine.runtime

    def move(part: slice) -> None:
        for i in ids[part]:
            with rt.uow_factory() as uow:
                tx = Tx(rt, uow)
                routing.perform(tx, tx.appeal(i), "to_sd", tx.operator("olga"), "")
                tx.commit()

    return move, _check(engine, ids)


def one_round(n: int, batch: int = 25) -> dict[str, float]:
    sides: dict[str, Moves] = {
        "inline": _written_out(n, "inline"),
        "unit_of_work": _written_out(n, "unit_of_work"),
        "transaction": _written_out(n, "transaction"),
        "routing": _routed(n),
        "engine": our_moves(engine_setup, n),
        "lib": their_moves(n),
    }
    spent = dict.fromkeys(sides, 0.0)
    gc.collect()
    gc.disable()
    try:
        for start in range(0, n, batch):
            part = slice(start, start + batch)
            for name, (move, _) in sides.items():
                began = time.perf_counter()
                move(part)
                spent[name] += time.perf_counter() - began
    finally:
        gc.enable()
    for _, check in sides.values():
        check()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--appeals", type=int, default=400)
    args = parser.parse_args()
    rounds = [one_round(args.appeals) for _ in range(args.rounds)]
    for name in ("inline", "unit_of_work", "transaction", "routing", "engine"):
        ratio = statistics.median(r[name] / r["lib"] for r in rounds)
        print(f"{name:>13}: {ratio:.3f} of the transitions library's time")


if __name__ == "__main__":
    main()
