"""What handlers and rules read while an appeal moves: the appeal as it was at each step."""

from __future__ import annotations

from typing import Any

from crmcms import Client
from crmcms.model import (
    AttributeDef,
    Catalog,
    Channel,
    ContactPlace,
    Handler,
    HandlerEvent,
    Operator,
    Process,
    Queue,
    Route,
    Rule,
    Topic,
    Transition,
    ValueType,
)
from crmcms.testing.engine import FakeBilling, make_engine

SEEN = {"process": "Appeal.Process", "queue": "Appeal.Queue", "category": "Client.Category"}


def catalog() -> Catalog:
    def seen(event: HandlerEvent) -> Handler:
        return Handler(event, "seen", SEEN, name=event.value)

    route = Route(
        "R",
        "Route",
        initial="a",
        topics=("T",),
        processes=(
            Process("a", "A", handlers=(seen(HandlerEvent.PROCESS_LEFT),)),
            Process("b", "B", handlers=(seen(HandlerEvent.PROCESS_ENTERED),)),
            Process("c", "C", final=True),
        ),
        transitions=(
            Transition("go", "Go", "a", "b", rule="BIS", handlers=(seen(HandlerEvent.HAND_OVER),)),
            Transition("on", "On", "b", "c", automatic=True, rule="IN_B"),
        ),
    )
    return Catalog(
        places=(ContactPlace("CC", "Call centre"),),
        channels=(Channel("PHONE", "Phone"),),
        topics=(Topic("T", "Topic", attributes=(AttributeDef("A", "A", ValueType.STRING),)),),
        rules=(
            Rule("BIS", "BIS", 'Client.Category = "BIS"'),
            Rule("IN_B", "In B", 'Appeal.Queue = "QB" and Appeal.Process = "b"'),
            Rule("TO_QB", "To QB", 'Appeal.Process = "b"'),
        ),
        routes=(route,),
        queues=(
            Queue("QA", "QA", processes=("a",)),
            Queue("QB", "QB", processes=("b",), rule="TO_QB"),
            Queue("QC", "QC", processes=("c",)),
        ),
        operators=(Operator("olga", "Olga"),),
    )


def test_handlers_and_rules_read_the_appeal_as_it_was_at_their_step() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def seen(call: Any) -> None:
        calls.append((call.handler.name, dict(call.arguments)))

    billing = FakeBilling([Client(1, "C", category="BIS")], actions={"seen": seen})
    engine, _, _ = make_engine(catalog(), billing)
    contact = engine.register_contact("olga", place="CC", channel="PHONE", client_id=1).contact
    appeal = engine.register_appeal(contact.id, "olga", "T", {"A": "x"})
    assert appeal.queue == "QA"

    moved = engine.transition(appeal.id, "olga", "go")

    # Leaving and handing over see the appeal before the move; entering sees it in its new
    # process, before its queue is chosen. The queue rule saw the new process (it chose QB),
    # and the automatic transition saw the appeal in QB, and took it on.
    assert calls == [
        ("process_left", {"process": "a", "queue": "QA", "category": "BIS"}),
        ("hand_over", {"process": "a", "queue": "QA", "category": "BIS"}),
        ("process_entered", {"process": "b", "queue": "QA", "category": "BIS"}),
    ]
    assert (moved.process, moved.queue) == ("c", "QC")
    kinds = [(e.kind.value, e.process, e.queue) for e in engine.history(appeal.id)]
    # One event a move (with the queue it entered), and the closing.
    assert kinds[1:] == [
        ("moved", "b", "QB"),
        ("moved", "c", "QC"),
        ("closed", "c", "QC"),
    ]
