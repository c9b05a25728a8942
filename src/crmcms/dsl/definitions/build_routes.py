"""Routes in definition files: processes, transitions, deadlines, handlers, moved processes."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from crmcms.dsl.definitions.ast import Decl, Item, Ref
from crmcms.dsl.definitions.catalog_draft import CatalogDraft
from crmcms.dsl.definitions.checks import Condition
from crmcms.dsl.definitions.plugin_functions import BUILTIN_HANDLER_ACTIONS
from crmcms.dsl.rules.unparse import quote, unparse
from crmcms.model import (
    AttributeOverride,
    Deadline,
    EscalationAction,
    EscalationLevel,
    Handler,
    HandlerEvent,
    LevelAction,
    Process,
    QueuePolicy,
    Route,
    Transition,
)
from crmcms.model._lookup import did_you_mean

__all__ = ["EVENT_NAMES", "RouteBuilder"]

EVENT_NAMES: Mapping[str, HandlerEvent] = {
    **{e.value: e for e in HandlerEvent},
    "handover": HandlerEvent.HAND_OVER,
    "reject": HandlerEvent.REJECTION,
}
"""Event words a handler may name: the event values plus the short ``handover``/``reject``."""


class RouteBuilder:
    """Builds routes, with their processes, transitions, deadlines and handlers, into a draft
    catalog (:mod:`crmcms.dsl.definitions.build_catalog` builds the rest)."""

    def __init__(self, draft: CatalogDraft) -> None:
        self.draft = draft

    def handlers(self, decl: Decl, scope: tuple[str, ...], what: str) -> tuple[Handler, ...]:
        built = []
        for item in decl.items("on"):
            event_ref, name, written = item.values
            event = EVENT_NAMES.get(event_ref.code)
            if event is None:
                self.draft.error(
                    f"unknown workflow event {event_ref.code!r}",
                    event_ref.span,
                    did_you_mean(event_ref.code, EVENT_NAMES),
                )
                continue
            if isinstance(written, Item):  # a short form: notify CODES, call NAME
                action, args = self.short_action(written, what)
            else:
                named, arguments = written
                action = named.code
                if action not in BUILTIN_HANDLER_ACTIONS:
                    self.draft.ref("handler action", named, what)
                args = {}
                for key, node in arguments:
                    self.draft.index.conditions.append(Condition(node, scope, what, boolean=False))
                    args[key.code] = unparse(node)
            made = self.draft.make(
                item.span, functools.partial(Handler, event, action, args, name=name or "")
            )
            if made is not None:
                built.append(made)
        return tuple(built)

    def short_action(self, written: Item, what: str) -> tuple[str, dict[str, str]]:
        """The action and arguments a short form stands for: ``notify A, B`` is
        ``notify(to: ["A", "B"])`` (one code: ``to: "A"``), ``escalate`` the same, and
        ``call NAME`` is ``call(function: "NAME")``. Recipients are checked as references."""
        if written.key == "call":
            function = self.draft.ref("business function", written.values[0], what)
            return "call", {"function": quote(function)}
        codes = [self.draft.ref("recipient", r, what) for r in written.values]
        if len(codes) == 1:
            return written.key, {"to": quote(codes[0])}
        return written.key, {"to": "[" + ", ".join(quote(c) for c in codes) + "]"}

    def deadline(self, decl: Decl, what: str, key: str = "deadline") -> Deadline | None:
        item = self.draft.single(decl, key)
        if item is None:
            return None
        limit, options = item.values
        opts: dict[str, Any] = {}
        by_priority: dict[str, Any] = {}
        for o in options:
            if o.key == "ladder":
                opts["ladder"] = self.ladder(o, limit, what)
            elif o.key == "priority_limit":
                ref, amount = o.values
                code = self.draft.ref("priority", ref, what)
                if code in by_priority:
                    self.draft.error(f"priority {code!r} is given twice in the deadline", o.span)
                by_priority[code] = amount
            elif o.key in opts:
                self.draft.error(f"{o.key!r} is given twice in the deadline", o.span)
            elif o.key == "business":
                opts["business_time"] = True
            elif o.key == "warn":
                opts["warn_before"] = o.values[0]
            else:
                key = "notify" if o.key == "notify" else "escalate_to"
                opts[key] = tuple(self.draft.ref("recipient", r, what) for r in o.values)
        if by_priority:
            opts["priority_limits"] = tuple(by_priority.items())
        return self.draft.make(item.span, lambda: Deadline(limit, **opts))

    def ladder(self, written: Item, limit: Any, what: str) -> tuple[EscalationLevel, ...]:
        """The levels of an escalation ladder, each checked where it is written: shares
        within 0-100%, levels in the order they fire."""
        levels: list[EscalationLevel] = []
        last = None
        for item in written.values:
            at, waits, actions = item.values
            made = [self.level_action(a, what) for a in actions]
            share = at.values[0] if at.key == "share" else None
            offset = at.values[0] if at.key == "offset" else None
            if share is not None and not 0 <= share <= 100:
                self.draft.error(f"a share of the time allowed is 0-100%, not {share}%", at.span)
                continue
            level = EscalationLevel(tuple(made), share, offset, in_working_time=waits)
            position = level.position(limit)
            if last is not None and position < last:
                self.draft.error(
                    "escalation levels are out of order: this one fires before the one above",
                    at.span,
                )
            last = position
            levels.append(level)
        return tuple(levels)

    def level_action(self, written: Item, what: str) -> EscalationAction:
        if written.key == "notify":
            targets = []
            for t in written.values:
                ref = t.values[0]
                if t.key == "role":
                    targets.append(f"role {self.draft.ref('role', ref, what)}")
                elif ref.code == "responsible":
                    targets.append("responsible")
                else:
                    targets.append(self.draft.ref("recipient", ref, what))
            return EscalationAction(LevelAction.NOTIFY, tuple(targets))
        if written.key == "raise_priority":
            code = self.draft.ref("priority", written.values[0], what)
            return EscalationAction(LevelAction.RAISE_PRIORITY, value=code)
        if written.key == "move_to_queue":
            code = self.draft.ref("queue", written.values[0], what)
            return EscalationAction(LevelAction.MOVE_TO_QUEUE, value=code)
        function = self.draft.ref(
            "business function", Ref(str(written.values[0]), written.span), what
        )
        return EscalationAction(LevelAction.CALL, value=function)

    def route(self, decl: Decl) -> None:
        code = decl.code.code
        version_item = self.draft.single(decl, "version")
        version = 1 if version_item is None else int(version_item.values[0])
        scope = ("route", code, str(version))
        what = f"route {code} v{version}"
        if not self.draft.claim(
            "routes", (code, version), decl.code.span, f"route {code} version {version}"
        ):
            return
        self.draft.index.spans[("routes", code, str(version))] = decl.code.span
        processes = [self.process(p, scope, what) for p in decl.decls("process")]
        known = {p.code for p in processes if p is not None}
        finals = {p.code for p in processes if p is not None and p.final}
        initial = [p for p in decl.decls("process") if p.option("initial") is not None]
        if not initial:
            self.draft.error(
                f"{what} has no initial process", decl.code.span, 'mark one: process a "A" initial'
            )
        for extra in initial[1:]:
            self.draft.error(
                f"{what} has a second initial process {extra.code.code!r}", extra.code.span
            )
        transitions = []
        for t in decl.decls("transition"):
            built = self.transition(t, scope, what, known, finals)
            if built is not None:
                transitions.append(built)
        moved = {}
        for item in decl.items("moved"):
            old, new = item.values
            moved[old.code] = new.code
            self.draft.index.spans[("moved", code, str(version), old.code)] = old.span
            if new.code not in known:
                self.unknown_process(new, known, what)
        deadline = self.deadline(decl, what)
        first_response = self.deadline(decl, what, "first_response")
        handlers = self.handlers(decl, scope, what)
        topics = self.draft.single(decl, "topics")
        if topics is None:
            self.draft.error(f"{what} serves no topic", decl.code.span, "add topics: CODE, ...")
            return
        if not initial or any(p is None for p in processes):
            return
        made = self.draft.make(
            decl.code.span,
            lambda: Route(
                code,
                decl.name or "",
                initial[0].code.code,
                tuple(p for p in processes if p is not None),
                tuple(transitions),
                version=version,
                topics=self.draft.refs("topic", topics, what),
                merge_common_attributes=self.draft.single(decl, "merge") is not None,
                close_with_open_children=self.draft.single(decl, "close_open") is not None,
                deadline=deadline,
                first_response=first_response,
                handlers=handlers,
                description=self.draft.description(decl),
                active=self.draft.active(decl),
                moved_processes={k: v for k, v in moved.items() if v in known},
                calendar=self.draft.calendar(decl, what),
            ),
        )
        if made is not None:
            self.draft.fields["routes"].append(made)

    def unknown_process(self, ref: Ref, known: set[str], what: str) -> None:
        self.draft.error(
            f"unknown process {ref.code!r} of {what}", ref.span, did_you_mean(ref.code, known)
        )

    def process(self, decl: Decl, scope: tuple[str, ...], what: str) -> Process | None:
        code = decl.code.code
        if not self.draft.claim(
            f"process {scope}", code, decl.code.span, f"process {code!r} of {what}"
        ):
            return None
        self.draft.index.spans[("process", *scope[1:], code)] = decl.code.span
        overrides = []
        for item in decl.items("attribute"):
            ref, options = item.values
            self.draft.index.spans[("override", *scope[1:], code, ref.code)] = ref.span
            if any(o.key == "inherit" for o in options):
                if len(options) > 1:
                    self.draft.error(
                        "'inherit' stands alone: it leaves every flag to the topic", ref.span
                    )
                overrides.append(AttributeOverride(ref.code))
                continue
            flags = self.draft.flags(options, scope, f"attribute {ref.code} in process {code}")
            overrides.append(AttributeOverride(ref.code, **flags))
        queue = self.draft.single(decl, "queue")
        policy, queues = QueuePolicy.RULES, tuple[str, ...]()
        if queue is not None and queue.values == ("keep",):
            policy = QueuePolicy.KEEP
        elif queue is not None:
            queues = tuple(self.draft.ref("queue", r, f"process {code}") for r in queue.values)
        return self.draft.make(
            decl.code.span,
            lambda: Process(
                code,
                decl.name or "",
                description=self.draft.description(decl),
                final=decl.option("final") is not None,
                pauses=decl.option("pauses") is not None,
                deadline=self.deadline(decl, f"process {code}"),
                overrides=tuple(overrides),
                handlers=self.handlers(decl, scope, f"process {code} of {what}"),
                queue_policy=policy,
                queues=queues,
                calendar=self.draft.calendar(decl, f"process {code} of {what}"),
            ),
        )

    def transition(
        self, decl: Decl, scope: tuple[str, ...], what: str, known: set[str], finals: set[str]
    ) -> Transition | None:
        path = decl.option("path")
        assert path is not None
        source, target = path.values
        code = decl.code.code
        if not self.draft.claim(
            f"transition {scope}", code, decl.code.span, f"transition {code!r} of {what}"
        ):
            return None
        self.draft.index.spans[("transition", *scope[1:], code)] = decl.code.span
        ok = True
        for end in (source, target):
            if end.code not in known:
                self.unknown_process(end, known, what)
                ok = False
        if source.code in finals:
            self.draft.error(
                f"transition {code} leaves final process {source.code!r}",
                source.span,
                "a final process closes the appeal; remove 'final' or the transition",
            )
            ok = False
        rule = self.draft.when(
            decl,
            f"transition.{scope[1]}.v{scope[2]}.{code}",
            scope,
            f"transition {code} of {what}",
        )
        handlers = self.handlers(decl, scope, f"transition {code} of {what}")
        if not ok:
            return None
        return self.draft.make(
            decl.code.span,
            lambda: Transition(
                code,
                decl.name or "",
                source.code,
                target.code,
                rule=rule,
                handlers=handlers,
                description=self.draft.description(decl),
                automatic=decl.option("automatic") is not None,
            ),
        )
