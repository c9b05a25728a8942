"""Strategies for runtime records: clients, contacts, appeals, history, ..."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from crmcms.model.catalog import Catalog
from crmcms.model.history import Change, HistoryEvent, HistoryKind
from crmcms.model.people import Client, ContactPerson, Prospect, Subscriber
from crmcms.model.places import Direction
from crmcms.model.records import (
    Appeal,
    AppealState,
    Attachment,
    Contact,
    Note,
    NoteRevision,
    NoteSubject,
    NoteVisibility,
    ProblemOutcome,
    ProblemState,
    SystemProblem,
)
from crmcms.model.values import AttributeValue
from crmcms.testing._basics import attribute_values, codes, names, scalars, timestamps

__all__ = [
    "appeal_values",
    "appeals",
    "attachments",
    "changes",
    "clients",
    "contact_persons",
    "contacts",
    "history_events",
    "notes",
    "problem_outcomes",
    "prospects",
    "subscribers",
    "system_problems",
]


def ids() -> st.SearchStrategy[int]:
    return st.integers(1, 2**53)


def _optional_ids() -> st.SearchStrategy[int | None]:
    return st.none() | ids()


def _msisdns() -> st.SearchStrategy[str]:
    return st.from_regex(r"7[0-9]{10}", fullmatch=True)


def clients() -> st.SearchStrategy[Client]:
    return st.builds(
        Client,
        id=ids(),
        name=names(),
        category=st.none() | st.sampled_from(("BIS", "CMS CUSTOMER", "VIP")),
        region=st.none() | st.sampled_from(("Pskov", "Moscow", "Псков")),
        status=st.sampled_from(("active", "suspended", "closed")),
    )


def subscribers() -> st.SearchStrategy[Subscriber]:
    return st.builds(
        Subscriber,
        id=ids(),
        client_id=ids(),
        msisdn=_msisdns(),
        region=st.none() | names(),
        tariff=st.none() | names(),
        status=st.sampled_from(("active", "blocked")),
    )


def contact_persons() -> st.SearchStrategy[ContactPerson]:
    return st.builds(
        ContactPerson,
        id=ids(),
        name=names(),
        phone=st.none() | _msisdns(),
        email=st.none() | st.emails(),
        client_id=_optional_ids(),
    )


def prospects() -> st.SearchStrategy[Prospect]:
    return st.builds(
        Prospect,
        id=ids(),
        name=names(),
        phone=st.none() | _msisdns(),
        email=st.none() | st.emails(),
        region=st.none() | names(),
        category=st.none() | codes(),
        registered_at=st.none() | timestamps(),
        exported_at=st.none() | timestamps(),
        client_id=_optional_ids(),
        registered_by=st.none() | codes(),
        conversion_id=st.none() | st.builds("<outbox-{}.crmcms@test>".format, ids()),
        conversion_error=st.text(max_size=40),
        version=st.integers(1, 10),
    )


def contacts() -> st.SearchStrategy[Contact]:
    return st.builds(
        Contact,
        id=ids(),
        place=codes(),
        direction=st.sampled_from(Direction),
        channel=codes(),
        operator=codes(),
        registered_at=timestamps(),
        template=st.none() | codes(),
        client_id=_optional_ids(),
        subscriber_id=_optional_ids(),
        contact_person_id=_optional_ids(),
        prospect_id=_optional_ids(),
        comment=names(),
    )


@st.composite
def appeal_values(
    draw: st.DrawFn, catalog: Catalog | None = None, topic: str | None = None
) -> dict[str, AttributeValue]:
    """Attribute values: valid for ``topic``'s effective attributes given a catalog, else any."""
    if catalog is None or topic is None:
        return draw(st.dictionaries(codes(), attribute_values(), max_size=4))
    values: dict[str, AttributeValue] = {}
    for effective in catalog.effective_attributes(topic):
        definition = effective.definition
        if not definition.required.always and draw(st.booleans()):
            continue
        dictionary = None
        if definition.dictionary is not None:
            dictionary = catalog.dictionary(definition.dictionary)
        one = scalars(
            definition.value_type,
            mask=definition.mask,
            regex=definition.regex,
            dictionary=dictionary,
        )
        if definition.required.always:
            # An empty text is no value: a required attribute given one is missing.
            one = one.filter(lambda v: v != "")
        if definition.multiple:
            values[definition.code] = tuple(draw(st.lists(one, min_size=1, max_size=3)))
        else:
            values[definition.code] = draw(one)
    return values


@st.composite
def appeals(draw: st.DrawFn, catalog: Catalog | None = None) -> Appeal:
    """An appeal; given a catalog, on one of its routes with values valid for the topic."""
    registered = draw(timestamps())
    if catalog is not None and catalog.routes:
        route = draw(st.sampled_from(catalog.routes))
        topic = draw(st.sampled_from(route.topics))
        process = draw(st.sampled_from([p.code for p in route.processes]))
        queues = [q.code for q in catalog.queues_for_process(process)]
        queue = draw(st.none() | st.sampled_from(queues)) if queues else None
        route_code, version = route.key
        values = draw(appeal_values(catalog, topic))
    else:
        route_code, version = draw(codes()), draw(st.integers(1, 9))
        topic, process, queue = draw(codes()), draw(codes()), draw(st.none() | codes())
        values = draw(appeal_values())
    state = draw(st.sampled_from(AppealState))
    return Appeal(
        id=draw(ids()),
        contact_id=draw(ids()),
        topic=topic,
        route=route_code,
        route_version=version,
        process=process,
        operator=draw(codes()),
        registered_at=registered,
        queue=queue,
        state=state,
        priority=draw(st.none() | codes()),
        responsible=draw(st.none() | codes()),
        parent_id=draw(_optional_ids()),
        system_problem_id=draw(_optional_ids()),
        process_entered_at=draw(st.none() | timestamps()),
        deadline=draw(st.none() | timestamps()),
        process_deadline=draw(st.none() | timestamps()),
        closed_at=draw(timestamps()) if state is AppealState.CLOSED else None,
        description=draw(names()),
        values=values,
        version=draw(st.integers(1, 1000)),
    )


def attachments() -> st.SearchStrategy[Attachment]:
    return st.builds(
        Attachment,
        id=ids(),
        appeal_id=ids(),
        file_name=names(),
        media_type=st.sampled_from(("application/pdf", "image/png", "text/plain")),
        size=st.integers(0, 10**8),
        sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
        added_by=codes(),
        added_at=timestamps(),
    )


def notes() -> st.SearchStrategy[Note]:
    return st.builds(
        Note,
        id=ids(),
        subject=st.sampled_from(NoteSubject),
        subject_id=ids(),
        text=names(),
        author=codes(),
        created_at=timestamps(),
        visibility=st.sampled_from(NoteVisibility),
        pinned=st.booleans(),
        version=st.integers(1, 100),
        updated_at=st.none() | timestamps(),
        updated_by=st.none() | codes(),
        deleted=st.booleans(),
    )


def note_revisions() -> st.SearchStrategy[NoteRevision]:
    return st.builds(
        NoteRevision,
        note_id=ids(),
        version=st.integers(1, 100),
        text=names(),
        visibility=st.sampled_from(NoteVisibility),
        pinned=st.booleans(),
        deleted=st.booleans(),
        by=codes(),
        at=timestamps(),
    )


@st.composite
def system_problems(draw: st.DrawFn) -> SystemProblem:
    state = draw(st.sampled_from(ProblemState))
    confirmed = state is not ProblemState.REGISTERED and draw(st.booleans())
    resolved = state in (ProblemState.RESOLVED, ProblemState.CLOSED)
    closed = state is ProblemState.CLOSED
    return SystemProblem(
        id=draw(ids()),
        title=draw(names()),
        registered_by=draw(codes()),
        opened_at=draw(timestamps()),
        description=draw(names()),
        state=state,
        rule=draw(st.sampled_from(["", 'Client.Region = "Pskov"', 'Appeal.Topic.Code = "NO_NET"'])),
        since=draw(st.none() | timestamps()),
        confirmed_at=draw(timestamps()) if confirmed else None,
        confirmed_by=draw(codes()) if confirmed else None,
        resolved_at=draw(timestamps()) if resolved else None,
        resolved_by=draw(codes()) if resolved else None,
        resolution=draw(names()) if resolved else "",
        transition=draw(codes()) if resolved else None,
        resolving=state is ProblemState.RESOLVED and draw(st.booleans()),
        closed_at=draw(timestamps()) if closed else None,
        closed_by=draw(codes()) if closed else None,
        values=draw(appeal_values()),
        version=draw(st.integers(1, 1000)),
    )


@st.composite
def problem_outcomes(draw: st.DrawFn) -> ProblemOutcome:
    ok = draw(st.booleans())
    return ProblemOutcome(
        problem_id=draw(ids()),
        appeal_id=draw(ids()),
        ok=ok,
        at=draw(timestamps()),
        version=draw(st.integers(2, 1000)) if ok else None,
        error=None if ok else draw(names()),
        error_type=None if ok else "WorkflowError",
    )


def changes() -> st.SearchStrategy[Change]:
    return st.builds(
        Change,
        field=codes(),
        old=st.none() | attribute_values(),
        new=st.none() | attribute_values(),
    )


def history_events(*, appeal_ids: Sequence[int] = ()) -> st.SearchStrategy[HistoryEvent]:
    return st.builds(
        HistoryEvent,
        id=ids(),
        appeal_id=st.sampled_from(appeal_ids) if appeal_ids else ids(),
        kind=st.sampled_from(HistoryKind),
        at=timestamps(),
        operator=st.none() | codes(),
        process=st.none() | codes(),
        queue=st.none() | codes(),
        transition=st.none() | codes(),
        changes=st.lists(changes(), max_size=3).map(tuple),
        comment=names(),
    )
