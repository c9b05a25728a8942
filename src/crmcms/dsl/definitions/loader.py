"""Definition files to one immutable Catalog: every problem of every file reported at once."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from crmcms.dsl.definitions._loader_routes import EVENT_NAMES, RouteBuilder
from crmcms.dsl.definitions.ast import Decl, Item, Ref, SourceFile
from crmcms.dsl.definitions.checks import Condition, LoadIndex, run_checks, value_rule_type
from crmcms.dsl.definitions.parser import parse_definitions
from crmcms.dsl.keywords import DECLARATION_STARTS
from crmcms.dsl.rules.schema import Schema
from crmcms.dsl.rules.unparse import unparse
from crmcms.errors import DefinitionError, DslError, SourceSpan
from crmcms.model import (
    AttributeDef,
    AttributeGroup,
    Catalog,
    Channel,
    ClientCategory,
    ContactPlace,
    ContactPlaceKind,
    ContactTemplate,
    Dictionary,
    DictionaryItem,
    DictionaryKind,
    Direction,
    GroupDisplay,
    MailingList,
    Operator,
    Priority,
    Queue,
    QueueMember,
    Role,
    Rule,
    Topic,
    TopicGroup,
    ValueType,
)
from crmcms.model._lookup import did_you_mean

__all__ = [
    "DEFINITION_SUFFIX",
    "EVENT_NAMES",
    "check_paths",
    "check_sources",
    "definition_files",
    "load_catalog",
    "load_catalog_text",
]

DEFINITION_SUFFIX = ".crm"

_VALUE_TYPES = {t.value: t for t in ValueType if t is not ValueType.REFERENCE}
_DIRECTIONS = {"incoming": Direction.INCOMING, "outgoing": Direction.OUTGOING, "any": None}


def definition_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files named, with directories searched recursively for ``*.crm``, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{DEFINITION_SUFFIX}")))
        else:
            found.append(path)
    return found


def _read(paths: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    sources: dict[str, str] = {}
    for path in definition_files(paths):
        sources[str(path)] = path.read_text(encoding="utf-8")
    return sources


def check_sources(
    sources: Mapping[str, str], *, schema: Schema | None = None
) -> tuple[Catalog | None, list[DslError]]:
    """Parse, build and check texts keyed by file name: the catalog (if it could be built)
    and every problem found, sorted by position. Rules are checked against ``schema`` (the
    built-in one if not given; pass :func:`crmcms.plugins.rule_schema` for plugins')."""
    return _load(sources, check=True, schema=schema)


def check_paths(
    paths: Iterable[str | os.PathLike[str]], *, schema: Schema | None = None
) -> list[DslError]:
    """Every problem in the definition files (directories searched for ``*.crm``)."""
    return check_sources(_read(paths), schema=schema)[1]


def load_catalog_text(
    sources: Mapping[str, str] | str,
    *,
    file: str = "<definitions>",
    check: bool = True,
    schema: Schema | None = None,
) -> Catalog:
    """One catalog from definition texts (a mapping of file name to text, or one text).

    Raises :class:`~crmcms.errors.DefinitionError` with every problem; ``check=False``
    skips the static checks (references, rule types, routes, queues, availability), so
    only syntax and the model's own construction rules apply. Rules are checked against
    ``schema``: the built-in one if not given, so a catalog whose rules call a plugin's
    function needs the plugins' (:func:`crmcms.plugins.rule_schema`).
    """
    texts = {file: sources} if isinstance(sources, str) else dict(sources)
    catalog, problems = _load(texts, check=check, schema=schema)
    if problems:
        raise DefinitionError(problems)
    assert catalog is not None
    return catalog


def load_catalog(
    paths: Iterable[str | os.PathLike[str]],
    *,
    check: bool = True,
    schema: Schema | None = None,
) -> Catalog:
    """One catalog from definition files; directories are searched for ``*.crm`` files.

    References between files are by code. Nothing is returned unless everything loads:
    :class:`~crmcms.errors.DefinitionError` lists every problem with file, line and column.
    """
    return load_catalog_text(_read(paths), check=check, schema=schema)


def _load(
    sources: Mapping[str, str], *, check: bool, schema: Schema | None = None
) -> tuple[Catalog | None, list[DslError]]:
    files: list[SourceFile] = []
    problems: list[DslError] = []
    for name, text in sources.items():
        try:
            files.append(parse_definitions(text, file=name))
        except DslError as err:
            problems += _syntax_errors(text, name, err)
    index = LoadIndex(dict(sources))
    catalog = _Builder(index).build(files)
    if catalog is not None and check:
        if problems:
            _check_without_broken_files(catalog, index, schema)
        else:
            run_checks(catalog, index, schema=schema)
    problems += index.problems
    return (catalog if not problems else None), _sorted(problems)


def _check_without_broken_files(catalog: Catalog, index: LoadIndex, schema: Schema | None) -> None:
    """The checks of the files that parsed, while another file has a syntax error.

    A reference into the broken file would look unknown, and every check after the
    references follows them: so the checks run only if the files that parsed are complete
    without the broken one; otherwise only what the builder found in them is reported.
    """
    trial = attrs.evolve(index, problems=[])
    run_checks(catalog, trial, only_references=True)
    if not trial.problems:
        run_checks(catalog, index, schema=schema)


# A declaration that starts a line (as `crmcms fmt` lays them out) is where parsing can resume.
_DECLARATION_START = re.compile(r"(?:" + "|".join(sorted(DECLARATION_STARTS)) + r")\b")


def _syntax_errors(text: str, file: str, first: DslError) -> list[DslError]:
    """``first`` and the syntax errors of the declarations after it, one per declaration.

    After an error, parsing resumes at the next line that starts a declaration, with the
    lines before it blanked so positions stay true. A broken declaration can hide errors in
    the ones it swallows, but never invents one.
    """
    found = [first]
    lines = text.splitlines(keepends=True)
    after = first.span.line  # 1-based line of the last error = 0-based index of the next line
    while True:
        start = next(
            (i for i in range(after, len(lines)) if _DECLARATION_START.match(lines[i])), None
        )
        if start is None:
            return found
        try:
            parse_definitions("\n" * start + "".join(lines[start:]), file=file)
        except DslError as err:
            found.append(DslError(err.message, err.span, source=text, hint=err.hint))
            after = max(err.span.line, start + 1)
        else:
            return found


def _sorted(problems: list[DslError]) -> list[DslError]:
    return sorted(problems, key=lambda p: (p.span.file, p.span.line, p.span.column, p.message))


class _Builder(RouteBuilder):
    """Turns declarations into model definitions, noting where each came from."""

    # --- the whole load --------------------------------------------------------------

    def build(self, files: list[SourceFile]) -> Catalog | None:
        handlers: dict[str, Callable[[Decl], None]] = {
            "dictionary": self.dictionary,
            "place kind": self.simple("place_kinds", "contact place kind", ContactPlaceKind),
            "place": lambda d: self.place(d, None),
            "channel": self.simple("channels", "channel", Channel),
            "client category": self.simple("client_categories", "client category", ClientCategory),
            "priority": self.priority,
            "mailing list": self.mailing_list,
            "role": self.role,
            "operator": self.operator,
            "template": self.template,
            "group": lambda d: self.group(d, None),
            "topic": lambda d: self.topic(d, None),
            "rule": self.rule,
            "queue": self.queue,
            "route": self.route,
        }
        # Places first: templates may name a place by its path of names.
        ordered = sorted(
            (d for f in files for d in f.decls), key=lambda d: 0 if d.kind == "place" else 1
        )
        for decl in ordered:
            handlers[decl.kind](decl)
        if self.index.problems:
            return None
        return self.make(
            SourceSpan(next(iter(self.index.sources), "<definitions>"), 1, 1),
            lambda: Catalog(**{k: tuple(v) for k, v in self.fields.items()}),
        )

    # --- declarations ----------------------------------------------------------------

    def simple(self, field: str, shown: str, cls: Callable[..., Any]) -> Callable[[Decl], None]:
        def build(decl: Decl) -> None:
            self.add(
                field,
                decl,
                decl.code.code,
                f"{shown} {decl.code.code!r}",
                lambda: cls(
                    decl.code.code,
                    decl.name or "",
                    description=self.description(decl),
                    active=self.active(decl),
                ),
            )

        return build

    def dictionary(self, decl: Decl) -> None:
        kind = DictionaryKind.ANALYTIC
        source = query = None
        for key in ("analytic", "internal", "external", "query"):
            item = self.single(decl, key)
            if item is not None:
                kind = DictionaryKind(key)
                if key == "external" and item.values:
                    source = str(item.values[0])
                elif key == "query":
                    query = str(item.values[0])
        items = []
        item_codes: set[str] = set()
        for it in decl.decls("item"):
            if it.code.code in item_codes:
                self.error(f"item {it.code.code!r} is listed twice", it.code.span)
                continue
            item_codes.add(it.code.code)
            parent = self.single(it, "parent")
            items.append(
                DictionaryItem(
                    it.code.code,
                    it.name or "",
                    active=self.active(it),
                    parent=None if parent is None else parent.values[0].code,
                )
            )
        self.add(
            "dictionaries",
            decl,
            decl.code.code,
            f"dictionary {decl.code.code!r}",
            lambda: Dictionary(
                decl.code.code,
                decl.name or "",
                kind,
                items=tuple(items),
                description=self.description(decl),
                source=source,
                query=query,
                active=self.active(decl),
            ),
        )

    def place(self, decl: Decl, parent: str | None) -> None:
        own_parent = self.single(decl, "parent")
        if own_parent is not None and parent is not None:
            self.error("a nested place takes its parent from the enclosing one", own_parent.span)
        elif own_parent is not None:
            parent = self.ref("place", own_parent.values[0])
        kind = self.single(decl, "kind")
        self.add(
            "places",
            decl,
            decl.code.code,
            f"contact place {decl.code.code!r}",
            lambda: ContactPlace(
                decl.code.code,
                decl.name or "",
                parent=parent,
                kind=None if kind is None else self.ref("place kind", kind.values[0]),
                description=self.description(decl),
                active=self.active(decl),
            ),
        )
        for child in decl.decls("place"):
            self.place(child, decl.code.code)

    def priority(self, decl: Decl) -> None:
        rank = self.single(decl, "rank")
        self.add(
            "priorities",
            decl,
            decl.code.code,
            f"priority {decl.code.code!r}",
            lambda: Priority(
                decl.code.code,
                decl.name or "",
                rank=0 if rank is None else int(rank.values[0]),
                active=self.active(decl),
            ),
        )

    def mailing_list(self, decl: Decl) -> None:
        addresses = self.single(decl, "addresses")
        self.add(
            "mailing_lists",
            decl,
            decl.code.code,
            f"mailing list {decl.code.code!r}",
            lambda: MailingList(
                decl.code.code,
                decl.name or "",
                operators=self.refs("operator", self.single(decl, "operators")),
                addresses=() if addresses is None else tuple(addresses.values),
                description=self.description(decl),
                active=self.active(decl),
            ),
        )

    def role(self, decl: Decl) -> None:
        permissions = self.single(decl, "permissions")
        self.add(
            "roles",
            decl,
            decl.code.code,
            f"role {decl.code.code!r}",
            lambda: Role(
                decl.code.code,
                decl.name or "",
                description=self.description(decl),
                permissions=()
                if permissions is None
                else tuple(r.code for r in permissions.values),
            ),
        )

    def operator(self, decl: Decl) -> None:
        for item in decl.items("password"):
            self.error(
                "passwords do not belong in definition files",
                item.span,
                "operators authenticate outside crmcms; remove the line",
            )
        template = self.single(decl, "template")
        self.add(
            "operators",
            decl,
            decl.code.code,
            f"operator {decl.code.code!r}",
            lambda: Operator(
                decl.code.code,
                decl.name or "",
                roles=self.refs("role", self.single(decl, "roles")),
                template=None if template is None else self.ref("template", template.values[0]),
                active=self.active(decl),
                email=self.text(decl, "email"),
            ),
        )

    def template(self, decl: Decl) -> None:
        def one(key: str, kind: str) -> str | None:
            item = self.single(decl, key)
            return None if item is None else self.place_or_ref(kind, item.values[0])

        def many(key: str, kind: str) -> tuple[str, ...]:
            item = self.single(decl, key)
            return () if item is None else tuple(self.place_or_ref(kind, r) for r in item.values)

        direction = self.text(decl, "direction")
        self.add(
            "templates",
            decl,
            decl.code.code,
            f"contact template {decl.code.code!r}",
            lambda: ContactTemplate(
                decl.code.code,
                decl.name or "",
                description=self.description(decl),
                place_kind=one("place kind", "place kind"),
                places=many("places", "place"),
                default_place=one("default place", "place"),
                direction=None if direction is None else _DIRECTIONS[direction],
                channel=one("channel", "channel"),
                topics=many("topics", "topic"),
                default_topic=one("default topic", "topic"),
                client_categories=many("client categories", "client category"),
                default_client_category=one("default client category", "client category"),
            ),
        )

    def place_or_ref(self, kind: str, ref: Ref) -> str:
        """A reference; a quoted place with ``/`` or ``\\`` in it is a path of place names."""
        if kind != "place" or not ref.quoted or not ("/" in ref.code or "\\" in ref.code):
            return self.ref(kind, ref)
        names = {p.code: p for p in self.fields["places"]}
        paths: dict[tuple[str, ...], str] = {}
        for place in names.values():
            chain, current, seen = [], place, set()
            while current is not None and current.code not in seen:
                seen.add(current.code)
                chain.append(current.name)
                current = names.get(current.parent) if current.parent else None
            paths[tuple(reversed(chain))] = place.code
        wanted = tuple(n.strip() for n in ref.code.replace("\\", "/").split("/"))
        if wanted in paths:
            return paths[wanted]
        shown = {"/".join(k): v for k, v in paths.items()}
        self.error(
            f"no contact place has the path {ref.code!r}",
            ref.span,
            did_you_mean("/".join(wanted), shown),
        )
        return ref.code

    # --- topics and attributes -------------------------------------------------------

    def parent_of(self, decl: Decl, enclosing: str | None) -> str | None:
        own = self.single(decl, "parent")
        if own is not None and enclosing is not None:
            self.error(
                f"{decl.kind} {decl.code.code} is inside group {enclosing} already", own.span
            )
        if own is not None:
            return self.ref("topic group", own.values[0])
        return enclosing

    def group(self, decl: Decl, enclosing: str | None) -> None:
        parent = self.parent_of(decl, enclosing)
        scope = ("group", decl.code.code)
        attributes = [self.attribute(a, scope) for a in decl.decls("attribute")]
        self.add(
            "topic_groups",
            decl,
            decl.code.code,
            f"topic group {decl.code.code!r}",
            lambda: TopicGroup(
                decl.code.code,
                decl.name or "",
                description=self.description(decl),
                parent=parent,
                attributes=tuple(a for a in attributes if a is not None),
                active=self.active(decl),
            ),
        )
        for child in decl.decls("group", "topic"):
            (self.group if child.kind == "group" else self.topic)(child, decl.code.code)

    def topic(self, decl: Decl, enclosing: str | None) -> None:
        parent = self.parent_of(decl, enclosing)
        scope = ("topic", decl.code.code)
        attributes: list[AttributeDef] = []
        blocks: list[AttributeGroup] = []
        for member in decl.decls("attribute", "attributes"):
            if member.kind == "attribute":
                made = self.attribute(member, scope)
                if made is not None:
                    attributes.append(made)
                continue
            codes = []
            for inner in member.decls("attribute"):
                codes.append(inner.code.code)
                if inner.name is not None:
                    made = self.attribute(inner, scope)
                    if made is not None:
                        attributes.append(made)
                else:
                    self.index.refs.append(("attribute of " + decl.code.code, inner.code, ""))
            blocks.append(self.attribute_group(member, tuple(codes), scope))
        self.add(
            "topics",
            decl,
            decl.code.code,
            f"topic {decl.code.code!r}",
            lambda: Topic(
                decl.code.code,
                decl.name or "",
                description=self.description(decl),
                group=parent,
                attributes=tuple(attributes),
                attribute_groups=tuple(blocks),
                active=self.active(decl),
            ),
        )

    def attribute_group(
        self, decl: Decl, codes: tuple[str, ...], scope: tuple[str, ...]
    ) -> AttributeGroup:
        display = self.text(decl, "display")
        owner = f"attribute group {decl.code.code}"
        flags = self.flags((o for o in decl.options if o.key == "flag"), scope, owner)
        return AttributeGroup(
            decl.code.code,
            decl.name or "",
            attributes=codes,
            display=GroupDisplay(display) if display else GroupDisplay.COLLAPSED,
            description=self.description(decl),
            **flags,
        )

    def computed(
        self, item: Item, scope: tuple[str, ...], owner: str, value_type: ValueType
    ) -> str:
        """A computed default: an expression of the attribute's own type (one value)."""
        node = item.values[0]
        what = f"the computed default of {owner}"
        expected = value_rule_type(value_type)
        self.index.conditions.append(Condition(node, scope, what, False, expected))
        self.index.computed[(*scope, owner.removeprefix("attribute "))] = node
        return unparse(node)

    def attribute(self, decl: Decl, scope: tuple[str, ...]) -> AttributeDef | None:
        if decl.name is None:
            self.error(
                f"attribute {decl.code.code} needs a name and a type",
                decl.code.span,
                "only an attribute group lists an attribute by code alone; "
                'elsewhere write: attribute 1 "Name": string',
            )
            return None
        owner = f"attribute {decl.code.code}"
        type_item = self.single(decl, "type")
        assert type_item is not None
        value = type_item.values[0]
        dictionary = None
        if isinstance(value, Ref):
            value_type = ValueType.REFERENCE
            dictionary = self.ref("dictionary", value, f"type of {owner}")
        else:
            value_type = _VALUE_TYPES[value]
        flags = self.flags((o for o in decl.options if o.key == "flag"), scope, owner)
        computed = self.single(decl, "computed")
        metadata: dict[str, str] = {}
        for item in (o for o in decl.options if o.key == "meta"):
            metadata[item.values[0].code] = item.values[1]
        self.index.spans[("attribute", *scope, decl.code.code)] = decl.code.span
        fixed = self.single(decl, "default")
        if fixed is not None:
            self.index.spans[("default", *scope, decl.code.code)] = fixed.span
        return self.make(
            decl.code.span,
            lambda: AttributeDef(
                decl.code.code,
                decl.name or "",
                value_type,
                description=self.description(decl),
                active=self.active(decl),
                multiple=self.single(decl, "multiple") is not None,
                dictionary=dictionary,
                default=self.text(decl, "default"),
                computed_default=None
                if computed is None
                else self.computed(computed, scope, owner, value_type),
                show_in_column=self.single(decl, "column") is not None,
                metadata=metadata,
                mask=self.text(decl, "mask"),
                regex=self.text(decl, "regex"),
                **flags,
            ),
        )

    # --- rules and queues ------------------------------------------------------------

    def rule(self, decl: Decl) -> None:
        node = decl.options[-1].values[0]
        self.add(
            "rules",
            decl,
            decl.code.code,
            f"rule {decl.code.code!r}",
            lambda: Rule(
                decl.code.code,
                decl.name or "",
                self.condition(node, ("catalog",), f"rule {decl.code.code}", rule=decl.code.code),
                description=self.description(decl),
            ),
        )

    def queue(self, decl: Decl) -> None:
        code = decl.code.code
        members = self.single(decl, "members")
        built_members = []
        for kind, ref in () if members is None else members.values:
            if kind == "role":
                built_members.append(QueueMember.role(self.ref("role", ref)))
            else:
                built_members.append(QueueMember.operator(self.ref("operator", ref)))
        processes = self.single(decl, "processes")
        for ref in () if processes is None else processes.values:
            self.index.refs.append(("process", ref, f"queue {code}"))
        rule = self.when(decl, f"queue.{code}", ("catalog",), f"queue {code}")
        self.add(
            "queues",
            decl,
            code,
            f"queue {code!r}",
            lambda: Queue(
                code,
                decl.name or "",
                description=self.description(decl),
                members=tuple(built_members),
                administrators=self.refs("operator", self.single(decl, "admins")),
                processes=() if processes is None else tuple(r.code for r in processes.values),
                rule=rule,
                system=self.single(decl, "system") is not None,
                active=self.active(decl),
            ),
        )
