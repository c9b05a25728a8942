"""Route test files run on an in-memory engine: each expectation checked where it stands, each
failure told as expected versus actual with the engine's own explanation of the rule involved.

A test registers one appeal for its client with its values by its operator, then performs
its actions in order (transitions, values set, time passing) and checks its expectations
on the appeal as it is at that point. What the tests exercised — transitions taken or seen,
queues chosen, rule outcomes — is collected in :class:`Exercised` for the coverage report.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from crmcms.dsl.route_tests import (
    Expect,
    ExpectKind,
    Fields,
    Perform,
    Ref,
    RouteTest,
    RouteTestFile,
    Setting,
    Wait,
    read_route_tests,
)
from crmcms.dsl.rules import ast as rules_ast
from crmcms.dsl.rules.compiled_rule import check_rule
from crmcms.dsl.rules.unparse import unparse
from crmcms.engine import AppealDraft, TransitionOption
from crmcms.engine.deadlines import add_business_time
from crmcms.engine.queues import candidate_queues
from crmcms.errors import CrmcmsError, DslError, NotFoundError, SourceSpan
from crmcms.model import Appeal, Catalog, Client, QueuePolicy, Route
from crmcms.testing.engine import FakeBilling, ManualClock, make_engine

__all__ = [
    "Exercised",
    "RouteTestFailure",
    "RouteTestResult",
    "consulted_rules",
    "contact_defaults",
    "load_route_tests",
    "run_route_test",
    "run_route_tests",
]

CLIENT_ID = 1
_CLIENT_FIELDS = ("name", "category", "region", "status")
_GIVENS = frozenset({"route", "topic", "place", "channel", "at"})


@attrs.define
class Exercised:
    """What route tests (or machines) made the routes do, by route version."""

    performed: set[tuple[str, int, str]] = attrs.field(factory=set)
    """Transitions taken: (route, version, transition)."""
    available: set[tuple[str, int, str]] = attrs.field(factory=set)
    """Transitions seen available to an operator."""
    unavailable: set[tuple[str, int, str]] = attrs.field(factory=set)
    """Transitions seen refused."""
    queues: set[tuple[str, int, str, str]] = attrs.field(factory=set)
    """Queue choices: (route, version, process, queue) an appeal entered."""
    rules: set[tuple[str, bool]] = attrs.field(factory=set)
    """Rule outcomes seen where a route consulted the rule: (rule, value)."""

    def update(self, other: Exercised) -> None:
        self.performed |= other.performed
        self.available |= other.available
        self.unavailable |= other.unavailable
        self.queues |= other.queues
        self.rules |= other.rules


def consulted_rules(catalog: Catalog, route: Route, process: str) -> set[str]:
    """The rules a route consults for an appeal in ``process``: those guarding the transitions
    out of it and, where rules choose its queue, those of the candidate queues."""
    rules = {t.rule for t in route.transitions_from(process) if t.rule}
    if route.process(process).queue_policy is QueuePolicy.RULES:
        rules |= {q.rule for q in candidate_queues(catalog, route, process) if q.rule}
    return rules


@attrs.frozen
class RouteTestFailure:
    """One expectation that did not hold: what the test expected, what happened, and why."""

    span: SourceSpan
    expected: str
    actual: str
    explanation: tuple[str, ...] = ()
    source: str | None = attrs.field(default=None, repr=False, eq=False)

    def render(self) -> str:
        message = f"expected {self.expected}, but {self.actual}"
        text = DslError(message, self.span, source=self.source).render()
        return text + "".join(f"\n    why: {line}" for line in self.explanation)

    def __str__(self) -> str:
        return self.render()


@attrs.frozen
class RouteTestResult:
    """How one test went: its failures (empty when it passed) and what it exercised."""

    test: RouteTest
    file: str
    failures: tuple[RouteTestFailure, ...]
    exercised: Exercised = attrs.field(eq=False)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        return self.test.name


def load_route_tests(paths: Iterable[str | Path]) -> list[RouteTestFile]:
    """The route test files in ``paths`` (directories: every ``*.crmtest`` inside), parsed;
    :class:`~crmcms.errors.DefinitionError` names each syntax error as file:line:column."""
    return read_route_tests([Path(p) for p in paths])


def contact_defaults(catalog: Catalog, login: str) -> dict[str, str | None]:
    """A place and a channel the operator's template lets them register a contact with."""
    template = catalog.template_for(login)
    active = [p for p in catalog.places if p.active]
    places: list[str | None] = [p.code for p in active]
    channels: list[str | None] = [c.code for c in catalog.channels if c.active]
    if template is not None:
        if template.default_place:
            places = [None]
        elif template.places:
            places = [code for code in template.places if code in places]
        elif template.place_kind:
            places = [p.code for p in active if p.kind == template.place_kind]
        if template.channel:
            channels = [None]
    return {"place": places[0] if places else None, "channel": channels[0] if channels else None}


def run_route_tests(catalog: Catalog, files: Sequence[RouteTestFile]) -> list[RouteTestResult]:
    """Every test of ``files``, each on a fresh engine."""
    return [run_route_test(catalog, test, file) for file in files for test in file.tests]


def run_route_test(catalog: Catalog, test: RouteTest, file: RouteTestFile) -> RouteTestResult:
    """Run one test on a fresh in-memory engine for ``catalog``.

    A test that names what the catalog lacks (a route, an operator, a transition, an
    attribute, a client field) raises :class:`~crmcms.errors.DslError` at the place it is
    named: such a test is wrong, not failing."""
    started = time.perf_counter()
    run = _Run(catalog, test, file)
    run.go()
    return RouteTestResult(
        test, file.file, tuple(run.failures), run.exercised, time.perf_counter() - started
    )


class _Stop(Exception):
    """An action failed: what follows it in the test cannot be checked."""


class _Run:
    def __init__(self, catalog: Catalog, test: RouteTest, file: RouteTestFile) -> None:
        self.catalog = catalog
        self.test = test
        self.source = file.source
        self.failures: list[RouteTestFailure] = []
        self.exercised = Exercised()
        self.sent_from = 0

    # --- Problems in the test itself --------------------------------------------------------

    def wrong(self, message: str, span: SourceSpan, hint: str | None = None) -> DslError:
        return DslError(message, span, source=self.source, hint=hint)

    def fail(
        self, span: SourceSpan, expected: str, actual: str, explanation: Iterable[str] = ()
    ) -> None:
        self.failures.append(
            RouteTestFailure(span, expected, actual, tuple(explanation), self.source)
        )

    # --- Setting up -------------------------------------------------------------------------

    def go(self) -> None:
        givens, steps = self._split()
        client = self._client(givens)
        route, topic = self._route_and_topic(givens)
        login = self._operator(givens)
        self._check_references(route or self.catalog.routes_for_topic(topic)[0], topic, steps)
        moment = givens["at"].moment if "at" in givens else None
        self.engine, self.billing, self.clock = make_engine(
            self.catalog, FakeBilling([client]), ManualClock(moment)
        )
        self.login = login
        values = self._values(givens.get("values"), topic)
        contact = contact_defaults(self.catalog, login)
        for key in ("place", "channel"):
            if key in givens:
                contact[key] = givens[key].value.code
        try:
            registered = self.engine.register_contact(
                login,
                client_id=CLIENT_ID,
                drafts=[AppealDraft(topic, values)],
                place=contact["place"],
                channel=contact["channel"],
            )
        except CrmcmsError as exc:
            self.fail(self.test.span, f"{login} to register an appeal on {topic}", f"{exc}")
            return
        self.appeal_id = registered.appeals[0].id
        appeal = self.appeal()
        if route is not None and appeal.route != route.code:
            self.fail(
                givens["route"].span,
                f"the appeal on route {route.code}",
                f"topic {topic} starts appeals on route {appeal.route}",
            )
            return
        wanted = givens["route"].version if "route" in givens else None
        if wanted is not None and appeal.route_version != wanted:
            self.fail(
                givens["route"].span,
                f"the appeal on version {wanted} of route {appeal.route}",
                f"new appeals start on version {appeal.route_version}",
            )
            return
        self.route = self.catalog.route(appeal.route, appeal.route_version)
        self.observe()
        try:
            for step in steps:
                self.step(step)
        except _Stop:
            pass

    def _split(self) -> tuple[dict[str, Any], list[Any]]:
        givens: dict[str, Any] = {}
        steps: list[Any] = []
        for statement in self.test.statements:
            given = (isinstance(statement, Setting) and statement.key != "operator") or (
                isinstance(statement, Fields) and statement.kind != "set"
            )
            key = (
                statement.key if isinstance(statement, Setting) else getattr(statement, "kind", "")
            )
            if isinstance(statement, Setting) and statement.key == "operator" and not steps:
                given = True
            if given:
                if steps:
                    raise self.wrong(
                        f"{key} is a given: write it before the first action or expectation",
                        statement.span,
                    )
                if key in givens:
                    raise self.wrong(f"{key} is given twice", statement.span)
                givens[key] = statement
            else:
                steps.append(statement)
        return givens, steps

    def _check_references(self, route: Route, topic: str, steps: Sequence[Any]) -> None:
        """Refuse, at its place, a reference to what the catalog lacks, before anything runs:
        a wrong test should not pass for a failing one."""
        self.route = route
        attributes = {a.definition.code for a in self.catalog.effective_attributes(topic)}
        for step in steps:
            if isinstance(step, Setting):
                self._login(step.value)
            elif isinstance(step, Perform):
                self._transition_code(step.transition)
                if step.by is not None:
                    self._login(step.by)
            elif isinstance(step, Fields):
                self._values(step, topic)
            elif isinstance(step, Expect):
                self._check_expect(step, route, attributes)

    def _check_expect(self, e: Expect, route: Route, attributes: set[str]) -> None:
        match e.kind:
            case ExpectKind.PROCESS:
                codes = {p.code for p in route.processes}
                for ref in e.codes:
                    if ref.code not in codes:
                        raise self.wrong(
                            f"route {route.code} v{route.version} has no process {ref.code}",
                            ref.span,
                            f"its processes: {', '.join(sorted(codes))}",
                        )
            case ExpectKind.AVAILABLE | ExpectKind.UNAVAILABLE:
                for ref in e.codes:
                    self._transition_code(ref)
            case ExpectKind.QUEUE:
                for ref in e.codes:
                    try:
                        self.catalog.queue(ref.code)
                    except NotFoundError as exc:
                        raise self.wrong(str(exc), ref.span) from None
            case ExpectKind.FLAG:
                for ref in e.codes:
                    if ref.code not in attributes:
                        raise self.wrong(
                            f"its topic has no attribute {ref.code}",
                            ref.span,
                            f"its attributes: {', '.join(sorted(attributes))}",
                        )
            case ExpectKind.DEADLINE | ExpectKind.APPEAL_DEADLINE if e.calendar is not None:
                try:
                    self.catalog.calendar(e.calendar.code)
                except NotFoundError as exc:
                    raise self.wrong(str(exc), e.calendar.span) from None
            case _:
                pass

    def _client(self, givens: Mapping[str, Any]) -> Client:
        fields: dict[str, Any] = {"name": "Client"}
        block: Fields | None = givens.get("client")
        for field in block.fields if block else ():
            if field.code not in _CLIENT_FIELDS:
                raise self.wrong(
                    f"a client has no field {field.code}",
                    field.span,
                    f"client fields: {', '.join(_CLIENT_FIELDS)}",
                )
            fields[field.code] = None if field.value is None else str(field.value)
        return Client(CLIENT_ID, **fields)

    def _route_and_topic(self, givens: Mapping[str, Any]) -> tuple[Route | None, str]:
        catalog = self.catalog
        route: Route | None = None
        if "route" in givens:
            setting: Setting = givens["route"]
            try:
                route = catalog.route(setting.value.code, setting.version)
            except NotFoundError as exc:
                raise self.wrong(str(exc), setting.span) from None
        if "topic" in givens:
            topic: Setting = givens["topic"]
            try:
                catalog.topic(topic.value.code)
            except NotFoundError as exc:
                raise self.wrong(str(exc), topic.span) from None
            return route, topic.value.code
        if route is None:
            raise self.wrong(
                "a test needs the route or the topic it registers an appeal on",
                self.test.span,
                "add: route CODE, or topic CODE",
            )
        return route, route.topics[0]

    def _operator(self, givens: Mapping[str, Any]) -> str:
        setting: Setting | None = givens.get("operator")
        if setting is None:
            raise self.wrong(
                "a test needs the operator who registers the appeal",
                self.test.span,
                "add: operator LOGIN",
            )
        return self._login(setting.value)

    def _login(self, ref: Ref) -> str:
        try:
            self.catalog.operator(ref.code)
        except NotFoundError as exc:
            raise self.wrong(str(exc), ref.span) from None
        return ref.code

    def _values(self, block: Fields | None, topic: str) -> dict[str, Any]:
        if block is None:
            return {}
        known = {a.definition.code for a in self.catalog.effective_attributes(topic)}
        values = {}
        for field in block.fields:
            if field.code not in known:
                raise self.wrong(
                    f"topic {topic} has no attribute {field.code}",
                    field.span,
                    f"its attributes: {', '.join(sorted(known))}",
                )
            values[field.code] = field.value
        return values

    # --- Acting -----------------------------------------------------------------------------

    def appeal(self) -> Appeal:
        return self.engine.appeal(self.appeal_id)

    def options(self, login: str | None = None) -> list[TransitionOption]:
        return self.engine.available_transitions(self.appeal_id, login or self.login)

    def observe(self) -> None:
        """Note what the appeal shows now: its queue, its options, the rules consulted."""
        appeal, route, seen = self.appeal(), self.route, self.exercised
        key = (route.code, route.version)
        if appeal.queue is not None:
            seen.queues.add((*key, appeal.process, appeal.queue))
        try:
            options = self.options()
        except CrmcmsError:  # the operator no longer sees the appeal: nothing to offer
            options = []
        for option in options:
            (seen.available if option.available else seen.unavailable).add((*key, option.code))
        rules = consulted_rules(self.catalog, route, appeal.process)
        if rules:
            book = self.engine.runtime.rules
            outcomes = self.engine.run(
                lambda tx: {code: bool(book.rule(code).evaluate(tx.data(appeal))) for code in rules}
            )
            seen.rules |= set(outcomes.items())

    def step(self, step: Any) -> None:
        if isinstance(step, Setting):  # the acting operator changes
            self.login = self._login(step.value)
        elif isinstance(step, Perform):
            self.perform(step)
        elif isinstance(step, Fields):
            self.set_values(step)
        elif isinstance(step, Wait):
            self.clock.advance(seconds=step.duration.total_seconds())
            self.sent_from = len(self.billing.notifications)
            self.engine.scan_deadlines()
            self.observe()
        else:
            self.expect(step)

    def _transition_code(self, ref: Ref) -> str:
        codes = {t.code for t in self.route.transitions}
        if ref.code not in codes:
            raise self.wrong(
                f"route {self.route.code} v{self.route.version} has no transition {ref.code}",
                ref.span,
                f"its transitions: {', '.join(sorted(codes))}",
            )
        return ref.code

    def perform(self, step: Perform) -> None:
        code = self._transition_code(step.transition)
        login = self._login(step.by) if step.by else self.login
        before = self.appeal()
        self.sent_from = len(self.billing.notifications)
        try:
            self.engine.transition(self.appeal_id, login, code)
        except CrmcmsError as exc:
            option = next((o for o in self.options(login) if o.code == code), None)
            why = option.reasons if option is not None and option.obstacles else (str(exc),)
            self.fail(
                step.span,
                f"{login} to perform {code} in process {before.process}",
                "the engine refused it",
                why,
            )
            raise _Stop from None
        self.exercised.performed.add((self.route.code, self.route.version, code))
        self.observe()

    def set_values(self, step: Fields) -> None:
        values = self._values(step, self.appeal().topic)
        self.sent_from = len(self.billing.notifications)
        try:
            self.engine.update_values(self.appeal_id, self.login, values)
        except CrmcmsError as exc:
            codes = ", ".join(values)
            self.fail(
                step.span, f"{self.login} to set {codes}", "the engine refused it", (str(exc),)
            )
            raise _Stop from None
        self.observe()

    # --- Checking ---------------------------------------------------------------------------

    def expect(self, e: Expect) -> None:
        match e.kind:
            case ExpectKind.PROCESS:
                self.expect_process(e)
            case ExpectKind.AVAILABLE:
                self.expect_available(e)
            case ExpectKind.UNAVAILABLE:
                self.expect_unavailable(e)
            case ExpectKind.QUEUE:
                self.expect_queue(e)
            case ExpectKind.FLAG:
                self.expect_flag(e)
            case ExpectKind.DEADLINE | ExpectKind.APPEAL_DEADLINE:
                self.expect_deadline(e)
            case ExpectKind.NOTIFICATION | ExpectKind.NO_NOTIFICATION:
                self.expect_notification(e)

    def expect_process(self, e: Expect) -> None:
        (ref,) = e.codes
        codes = {p.code for p in self.route.processes}
        if ref.code not in codes:
            raise self.wrong(
                f"route {self.route.code} v{self.route.version} has no process {ref.code}",
                ref.span,
                f"its processes: {', '.join(sorted(codes))}",
            )
        appeal = self.appeal()
        if appeal.process != ref.code:
            self.fail(ref.span, f"the appeal in process {ref.code}", f"it is in {appeal.process}")

    def _option(self, ref: Ref) -> tuple[str, TransitionOption | None]:
        code = self._transition_code(ref)
        return code, next((o for o in self.options() if o.code == code), None)

    def expect_available(self, e: Expect) -> None:
        process = self.appeal().process
        for ref in e.codes:
            code, option = self._option(ref)
            if option is None:
                out = ", ".join(o.code for o in self.options()) or "none"
                self.fail(
                    ref.span,
                    f"transition {code} available to {self.login}",
                    f"it does not leave process {process} (transitions out of it: {out})",
                )
            elif not option.available:
                self.fail(
                    ref.span,
                    f"transition {code} available to {self.login}",
                    f"it is unavailable in process {process}",
                    option.reasons,
                )

    def expect_unavailable(self, e: Expect) -> None:
        process = self.appeal().process
        for ref in e.codes:
            code, option = self._option(ref)
            if option is None:
                reasons: tuple[str, ...] = (f"it does not leave process {process}",)
                rule = None
            elif option.available:
                self.fail(
                    ref.span,
                    f"transition {code} unavailable to {self.login}",
                    f"it is available in process {process}",
                    self._rule_holds(option),
                )
                continue
            else:
                reasons, rule = option.reasons, option.transition.rule
            if e.because is not None and not self._blocked_by(e.because, rule, reasons):
                self.fail(
                    ref.span,
                    f"transition {code} unavailable because {e.because}",
                    "something else stands in its way",
                    reasons,
                )

    def _rule_holds(self, option: TransitionOption) -> tuple[str, ...]:
        code = option.transition.rule
        if code is None:
            return ("it has no rule, and nothing else stands in its way",)
        rule = self.catalog.rule(code)
        return (f"rule {code} ({rule.name}) holds: {rule.expression}",)

    def _blocked_by(self, because: str, rule: str | None, reasons: Sequence[str]) -> bool:
        if rule is not None and because == rule:
            return True
        if rule is not None and _same_rule(self.catalog.rule(rule).expression, because):
            return True
        return any(_plain(because) in _plain(r) for r in reasons)

    def expect_queue(self, e: Expect) -> None:
        (ref,) = e.codes
        try:
            self.catalog.queue(ref.code)
        except NotFoundError as exc:
            raise self.wrong(str(exc), ref.span) from None
        appeal = self.appeal()
        if appeal.queue != ref.code:
            why = str(self.engine.why_in_queue(self.appeal_id))
            self.fail(
                ref.span, f"the appeal in queue {ref.code}", f"it is in {appeal.queue}", [why]
            )

    def expect_flag(self, e: Expect) -> None:
        appeal = self.appeal()
        login = self.login

        def states(tx: Any) -> Any:
            return tx.rt.policy.states(appeal, tx.data(appeal, tx.operator(login)))

        found = {s.code: s for s in self.engine.run(states)}
        flag = e.flag or ""
        for ref in e.codes:
            state = found.get(ref.code)
            if state is None:
                raise self.wrong(
                    f"topic {appeal.topic} has no attribute {ref.code}",
                    ref.span,
                    f"its attributes: {', '.join(sorted(found))}",
                )
            holds = {
                "hidden": state.hidden,
                "visible": not state.hidden,
                "readonly": state.read_only,
                "editable": state.editable,
                "required": state.required,
                "optional": not state.required,
            }[flag]
            if not holds:
                now = [
                    name
                    for name, on in (
                        ("hidden", state.hidden),
                        ("read-only", state.read_only),
                        ("required", state.required),
                    )
                    if on
                ]
                self.fail(
                    ref.span,
                    f"attribute {ref.code} {flag} in process {appeal.process}",
                    f"it is {', '.join(now) or 'visible, editable and optional'} there",
                    _flag_source(self.route, appeal.process, ref.code),
                )

    def expect_deadline(self, e: Expect) -> None:
        appeal = self.appeal()
        assert e.duration is not None
        if e.kind is ExpectKind.DEADLINE:
            start, due, what = appeal.process_entered_at, appeal.process_deadline, "process"
        else:
            start, due, what = appeal.registered_at, appeal.deadline, "appeal"
        assert start is not None
        if e.calendar is not None:
            try:
                calendar = self.catalog.calendar(e.calendar.code)
            except NotFoundError as exc:
                raise self.wrong(str(exc), e.calendar.span) from None
            wanted = add_business_time(start, e.duration, calendar)
            where = f" in calendar {e.calendar.code}"
        else:
            wanted, where = start + e.duration, ""
        if due != wanted:
            actual = "it has no deadline" if due is None else f"it is due at {_when(due)}"
            if due is not None:
                actual += f", {_duration(due - start)} after {_when(start)}"
            self.fail(
                e.span,
                f"the {what} deadline {_duration(e.duration)}{where}: due at {_when(wanted)}",
                actual,
            )

    def expect_notification(self, e: Expect) -> None:
        sent = self.billing.notifications[self.sent_from :]
        if e.kind is ExpectKind.NO_NOTIFICATION:
            if sent:
                self.fail(
                    e.span, "no notification", f"{len(sent)} were sent", map(_notification, sent)
                )
            return
        kind = e.notification_kind.code if e.notification_kind else None
        to = e.codes[0].code if e.codes else None
        text = e.text

        def matches(n: Any) -> bool:
            return (
                (kind is None or n.kind.value == kind)
                and (to is None or _addressed(n, to))
                and (text is None or text in n.subject or text in n.text)
            )

        if not any(matches(n) for n in sent):
            what = " ".join(
                part
                for part in ("notification", kind, f'"{text}"' if text else None, to and f"to {to}")
                if part
            )
            self.fail(
                e.span,
                f"a {what} after the last action",
                f"{len(sent)} notification{'s' if len(sent) != 1 else ''} were sent"
                if sent
                else "none was sent",
                map(_notification, sent),
            )


def _canonical(node: Any) -> Any:
    """``node`` with every path spelled in canonical English names (``Клиент.Категория`` is
    ``Client.Category``)."""
    if isinstance(node, rules_ast.Path) and node.resolved:
        parts = tuple(
            attrs.evolve(part, name=name)
            for name, part in zip(node.resolved, node.parts, strict=False)
        )
        return attrs.evolve(node, parts=parts)
    if not attrs.has(type(node)):
        return node
    changes = {}
    for field in attrs.fields(type(node)):
        value = getattr(node, field.name)
        if isinstance(value, rules_ast.Node):
            changes[field.name] = _canonical(value)
        elif isinstance(value, tuple) and any(isinstance(v, rules_ast.Node) for v in value):
            changes[field.name] = tuple(_canonical(v) for v in value)
    return attrs.evolve(node, **changes) if changes else node


def _same_rule(expression: str, written: str) -> bool:
    """Whether two rule texts say the same, in whichever language their names are written."""
    if _plain(expression) == _plain(written):
        return True
    try:
        ours = unparse(_canonical(check_rule(expression)))
        theirs = unparse(_canonical(check_rule(written)))
    except CrmcmsError:  # not a rule the built-in schema knows: the texts alone decide
        return False
    return _plain(ours) == _plain(theirs)


def _addressed(n: Any, to: str) -> bool:
    """Whether ``n`` goes to ``to``: a mailing list, login or address named or reached, or
    ``client`` (``subscriber``, ...) for the party of the appeal's contact."""
    return to in n.to or to in n.recipients or any(t.split(":", 1)[0] == to for t in n.to)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def _duration(amount: timedelta) -> str:
    seconds = int(amount.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


def _notification(n: Any) -> str:
    return f"{n.kind.value} {n.subject!r} to {', '.join(n.to)} ({', '.join(n.recipients)})"


def _flag_source(route: Route, process: str, code: str) -> list[str]:
    override = route.process(process).override(code)
    if override is None or override.inherits_all:
        return [f"process {process} keeps the topic's flags for attribute {code}"]
    return [f"process {process} of route {route.code} v{route.version} overrides attribute {code}"]
