"""Attribute policy: which attributes of an appeal are hidden, read-only or required, and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crmcms.engine.rules import RuleBook
from crmcms.errors import Problem
from crmcms.model import Appeal, AttributeDef, AttributeGroup, Catalog, Flag, Route
from crmcms.model.values import AttributeFlags, AttributeValue

__all__ = ["AttributePolicy", "AttributeState", "is_empty"]


def is_empty(value: object) -> bool:
    """Empty values: ``None``, an empty string and an empty tuple or list."""
    return value is None or value == "" or (isinstance(value, tuple | list) and not value)


@attrs.frozen
class AttributeState:
    """One attribute of one appeal in its current process, with the flags in force now."""

    definition: AttributeDef
    owner: str
    inherited: bool
    group: AttributeGroup | None
    hidden: bool
    read_only: bool
    required: bool
    common: bool
    """Shared by every topic of a route that merges common attributes."""
    value: AttributeValue | None

    @property
    def code(self) -> str:
        return self.definition.code

    @property
    def active(self) -> bool:
        return self.definition.active

    @property
    def editable(self) -> bool:
        return self.active and not self.hidden and not self.read_only


@attrs.frozen
class _Entry:
    definition: AttributeDef
    owner: str
    inherited: bool
    group: AttributeGroup | None
    flags: AttributeFlags
    common: bool


def _stack(own: Flag, group: Flag | None, override: Flag | None) -> Flag:
    """One flag through the layers."""
    # Later layers win where they say something: a group only by setting its flag,
    # a route override unless it is "not defined" (None).
    flag = own
    if group is not None and group.value:
        flag = group
    return flag if override is None else override


class AttributePolicy:
    """The flags of every attribute of an appeal: topic-group chain -> topic -> attribute
    group -> the route's override in the current process -> the flag's condition.

    Layers are resolved once per (topic, route version, process) and kept; conditions are
    evaluated per appeal, on the same rule data the route's rules see.
    """

    def __init__(self, catalog: Catalog, rules: RuleBook) -> None:
        self.catalog = catalog
        self.rules = rules
        self._entries: dict[tuple[str, str, int, str], tuple[_Entry, ...]] = {}
        self._common: dict[tuple[str, int], frozenset[str]] = {}
        self._routes: dict[tuple[str, int], Route] = {}
        self._may_require: dict[
            tuple[str, str, int, str], tuple[tuple[str, ...], tuple[_Entry, ...]]
        ] = {}
        """By (topic, route, version, process): the attributes that may be required, and
        their codes."""

    def _route(self, appeal: Appeal) -> Route:
        key = (appeal.route, appeal.route_version)
        found = self._routes.get(key)
        if found is None:
            found = self._routes[key] = self.catalog.route(*key)
        return found

    def _appeal_entries(self, appeal: Appeal) -> tuple[_Entry, ...]:
        return self.entries(appeal.topic, self._route(appeal), appeal.process)

    def common_codes(self, route: Route) -> frozenset[str]:
        """Codes shared by all the route's topics when it merges common attributes."""
        found = self._common.get(route.key)
        if found is None:
            found = frozenset()
            if route.merge_common_attributes and len(route.topics) > 1:
                sets = [
                    {a.code for a in self.catalog.effective_attributes(t)} for t in route.topics
                ]
                found = frozenset(set.intersection(*sets))
            self._common[route.key] = found
        return found

    def entries(self, topic: str, route: Route, process: str) -> tuple[_Entry, ...]:
        key = (topic, route.code, route.version, process)
        found = self._entries.get(key)
        if found is None:
            step = route.process(process)
            own = self.catalog.topic(topic)
            common = self.common_codes(route)
            items = []
            for e in self.catalog.effective_attributes(topic):
                d = e.definition
                group = own.group_of(d.code)
                override = step.override(d.code)
                flags = AttributeFlags(
                    *(
                        _stack(
                            getattr(d, name),
                            None if group is None else getattr(group, name),
                            None if override is None else getattr(override, name),
                        )
                        for name in ("hidden", "read_only", "required")
                    )
                )
                items.append(_Entry(d, e.owner, e.inherited, group, flags, d.code in common))
            # Merged routes show the shared set first, each part in definition order.
            items.sort(key=lambda x: not x.common)
            found = self._entries[key] = tuple(items)
        return found

    def _holds(self, flag: Flag, data: Mapping[str, Any]) -> bool:
        if not flag.value:
            return False
        return flag.condition is None or self.rules.condition(flag.condition).evaluate(data)

    def states(self, appeal: Appeal, data: Mapping[str, Any]) -> list[AttributeState]:
        """Every attribute of the appeal in its current process, flags evaluated on ``data``."""
        out = []
        for e in self._appeal_entries(appeal):
            hidden = self._holds(e.flags.hidden, data)
            read_only = self._holds(e.flags.read_only, data)
            # Nobody can be asked for what they cannot see or set; inactive ones take nothing.
            required = e.definition.active and not hidden and self._holds(e.flags.required, data)
            out.append(
                AttributeState(
                    e.definition,
                    e.owner,
                    e.inherited,
                    e.group,
                    hidden,
                    read_only,
                    required,
                    e.common,
                    appeal.values.get(e.definition.code),
                )
            )
        return out

    def view(self, appeal: Appeal, data: Mapping[str, Any]) -> list[AttributeState]:
        """What an operator sees: hidden attributes left out; inactive ones shown read-only."""
        return [s for s in self.states(appeal, data) if not s.hidden]

    def missing_required(self, appeal: Appeal, data: Mapping[str, Any]) -> list[Problem]:
        """A problem for each required attribute without a value."""
        key = (appeal.topic, appeal.route, appeal.route_version, appeal.process)
        found = self._may_require.get(key)
        if found is None:
            # Only attributes that may be required need looking at, and only when empty.
            entries = tuple(
                e
                for e in self._appeal_entries(appeal)
                if e.flags.required.value and e.definition.active
            )
            found = self._may_require[key] = (tuple(e.definition.code for e in entries), entries)
        codes, entries = found
        values = appeal.values
        # A truthy value is filled: when every one is (the usual case), nothing is missing,
        # which one pass in C over the values tells.
        if all(map(values.get, codes)):
            return []
        problems = []
        for code, e in zip(codes, entries, strict=True):
            value = values.get(code)
            # Only falsy values (None, "", 0, ...) need a closer look.
            if value or not is_empty(value) or not self._holds(e.flags.required, data):
                continue
            if not self._holds(e.flags.hidden, data):
                problems.append(Problem(code, "is required"))
        return problems

    def edit_problems(
        self, appeal: Appeal, codes: Mapping[str, object], data: Mapping[str, Any]
    ) -> list[Problem]:
        """Why the operator may not set the attributes ``codes`` of the appeal, if they may not."""
        # The flags :meth:`states` works out (hidden, read-only: every condition evaluated, in
        # the same order), without making a state for each attribute.
        flags = {
            e.definition.code: (
                e.definition.active,
                self._holds(e.flags.hidden, data),
                self._holds(e.flags.read_only, data),
            )
            for e in self._appeal_entries(appeal)
        }
        problems = []
        for code in codes:
            found = flags.get(code)
            if found is None:
                problems.append(Problem(code, f"topic {appeal.topic} has no such attribute"))
                continue
            active, hidden, read_only = found
            if not active:
                problems.append(Problem(code, "is inactive and takes no new values"))
            elif hidden:
                problems.append(Problem(code, f"is hidden in process {appeal.process}"))
            elif read_only:
                problems.append(Problem(code, f"is read-only in process {appeal.process}"))
        return problems
