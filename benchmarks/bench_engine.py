"""Engine speed: a guarded transition against the transitions library; appeal registration."""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from _report import run

from crmcms.engine import Engine
from crmcms.model import (
    AttributeDef,
    Catalog,
    Channel,
    Client,
    ContactPlace,
    Deadline,
    Flag,
    Operator,
    Process,
    Queue,
    QueueMember,
    Route,
    Rule,
    Topic,
    Transition,
    ValueType,
)
from crmcms.testing.engine import FakeBilling, make_engine

ATTRIBUTES = 10


def bench_catalog() -> Catalog:
    attributes = tuple(
        AttributeDef(f"A{i}", f"Attribute {i}", ValueType.STRING, required=Flag(i < 3))
        for i in range(ATTRIBUTES)
    )
    route = Route(
        "R",
        "Termination",
        initial="registration",
        topics=("T",),
        processes=(
            Process("registration", "Registration"),
            Process("transfer_sd", "Transfer to SD", deadline=Deadline(timedelta(days=2))),
            Process("closed", "Closed", final=True),
        ),
        transitions=(
            Transition(
                "to_sd", "Only for BIS clients", "registration", "transfer_sd", rule="ONLY_BIS"
            ),
            Transition("close", "Close", "transfer_sd", "closed"),
        ),
        deadline=Deadline(timedelta(days=5)),
    )
    return Catalog(
        places=(ContactPlace("CC", "Call centre"),),
        channels=(Channel("PHONE", "Phone"),),
        topics=(Topic("T", "Termination", attributes=attributes),),
        rules=(
            Rule("ONLY_BIS", "Only BIS", 'Client.Category = "BIS"'),
            Rule("NOT_PSKOV", "Not Pskov", 'Client.Region != "Pskov"'),
            Rule("PSKOV", "Pskov", 'Client.Region = "Pskov"'),
        ),
        routes=(route,),
        queues=(
            Queue("REGISTRATION", "Registration", processes=("registration",), system=True),
            Queue(
                "PSKOV",
                "Pskov",
                members=(QueueMember.role("OP"),),
                processes=("transfer_sd",),
                rule="PSKOV",
            ),
            Queue(
                "CP",
                "CP",
                members=(QueueMember.role("OP"),),
                processes=("transfer_sd",),
                rule="NOT_PSKOV",
            ),
            Queue("ARCHIVE", "Archive", processes=("closed",)),
        ),
        operators=(Operator("olga", "Olga", roles=("OP",)),),
    )


VALUES = {f"A{i}": f"value {i}" for i in range(ATTRIBUTES)}


def engine_setup() -> tuple[Engine, int]:
    billing = FakeBilling([Client(1, "Client", category="BIS", region="Moscow")])
    engine, _, _ = make_engine(bench_catalog(), billing)
    contact = engine.register_contact("olga", place="CC", channel="PHONE", client_id=1).contact
    return engine, contact.id


def time_ours(n: int) -> float:
    engine, contact = engine_setup()
    ids = [engine.register_appeal(contact, "olga", "T", VALUES).id for _ in range(n)]
    gc.disable()
    try:
        start = time.perf_counter()
        for i in ids:
            engine.transition(i, "olga", "to_sd")
        return (time.perf_counter() - start) / n
    finally:
        gc.enable()
        assert engine.appeal(ids[-1]).queue == "CP"


def time_transitions_lib(n: int) -> float:
    from transitions import Machine

    class Ticket:
        def __init__(self) -> None:
            self.client = {"Category": "BIS", "Region": "Moscow"}

        def is_bis(self) -> bool:
            return self.client["Category"] == "BIS"

    models = [Ticket() for _ in range(n)]
    machine = Machine(
        model=models,
        states=["registration", "transfer_sd", "closed"],
        transitions=[
            {
                "trigger": "to_sd",
                "source": "registration",
                "dest": "transfer_sd",
                "conditions": "is_bis",
            },
        ],
        initial="registration",
        auto_transitions=False,
    )
    gc.disable()
    try:
        start = time.perf_counter()
        for m in models:
            m.to_sd()  # type: ignore[attr-defined]
        return (time.perf_counter() - start) / n
    finally:
        gc.enable()
        assert models[-1].state == "transfer_sd"  # type: ignore[attr-defined]
        del machine


def time_register(n: int) -> float:
    engine, contact = engine_setup()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            engine.register_appeal(contact, "olga", "T", VALUES)
        return (time.perf_counter() - start) / n
    finally:
        gc.enable()


def time_dict_baseline(n: int) -> float:
    """Registration by hand: check required keys, copy into a dict, append to a list."""
    store: list[dict[str, Any]] = []
    required = ("A0", "A1", "A2")
    gc.disable()
    try:
        start = time.perf_counter()
        for i in range(n):
            if any(not VALUES.get(k) for k in required):
                raise ValueError
            if not all(isinstance(v, str) for v in VALUES.values()):
                raise ValueError
            store.append({"id": i, "process": "registration", "values": dict(VALUES)})
        return (time.perf_counter() - start) / n
    finally:
        gc.enable()


def measure(quick: bool) -> dict[str, Any]:
    n, repeats = (400, 5) if quick else (3_000, 9)
    ratios, ours, theirs, reg, base = [], [], [], [], []
    for _ in range(repeats):
        # Paired in one round so drift in the machine's speed cancels out of the ratio.
        mine = time_ours(n)
        lib = time_transitions_lib(n)
        ratios.append(mine / lib)
        ours.append(mine)
        theirs.append(lib)
        reg.append(time_register(n))
        base.append(time_dict_baseline(n))
    med = statistics.median
    return {
        "appeals": n,
        "repeats": repeats,
        "transition_us": round(med(ours) * 1e6, 1),
        "transitions_lib_us": round(med(theirs) * 1e6, 1),
        "transition_vs_transitions_lib": round(med(ratios), 3),
        "register_us": round(med(reg) * 1e6, 1),
        "register_per_s": round(1 / med(reg)),
        "dict_baseline_per_s": round(1 / med(base)),
        "python": platform.python_version(),
    }


def section(r: dict[str, Any]) -> str:
    return f"""
## Engine (`benchmarks/bench_engine.py`)

{r["appeals"]} appeals per round, {r["repeats"]} rounds, in-memory storage, Python {r["python"]}.

| measure | value | goal |
|---|---|---|
| guarded transition (rule, policy, queue, history) | {r["transition_us"]} µs | |
| `transitions` library, guarded transition | {r["transitions_lib_us"]} µs | |
| ours / `transitions` | **{r["transition_vs_transitions_lib"]}x** | at most 1x |
| register, {ATTRIBUTES} attributes | {r["register_us"]} µs, **{r["register_per_s"]}/s** | |
| plain-dict baseline | {r["dict_baseline_per_s"]}/s | |

Our transition is a whole engine action: a unit of work, the client directory asked through its
hook, the transition's rule, the required attributes of the process left, the queue rules of the
process entered, the process deadline, two history events, the commit and both events handed to
the observing plugin. What keeps it small is in `docs/engine.md` ("How an action stays cheap").
"""


def main(argv: list[str] | None = None) -> int:
    return run("bench_engine", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
