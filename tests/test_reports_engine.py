"""Reports computed by the database, every figure checked against a count made in Python over
the generated records, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from crmcms.dsl import load_catalog
from crmcms.engine import Engine
from crmcms.errors import NotFoundError, PermissionDeniedError, ValidationError
from crmcms.model import AppealState, Permission, Principal
from crmcms.storage.sql import SqlStore
from report_world import (
    START,
    Generated,
    generate,
    handling_us,
    in_period,
    local_day,
    percentile,
    repeated,
)

END = datetime(2026, 4, 1, tzinfo=UTC)
CATALOG = load_catalog(["examples/telecom"])


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Engine, list[Generated]]]:
    store = SqlStore(database_url)
    made = generate(store.unit_of_work, 300)
    engine = Engine(CATALOG, store.unit_of_work, reports=store.reports(), trust_logins=True)
    yield engine, made
    store.dispose()


def table(engine: Engine, code: str, **options: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    options.setdefault("start", START)
    options.setdefault("end", END)
    result = engine.report(code, **options)
    return [c.code for c in result.columns], list(result.rows)


def keyed(columns: list[str], rows: list[tuple[Any, ...]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[columns.index(key)]: dict(zip(columns, row, strict=True)) for row in rows}


def test_appeals_by_topic_match_a_python_count(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "by_topic")
    assert columns == [
        "topic",
        "count",
        "open",
        "closed",
        "handling_median",
        "handling_p90",
        "sla_breached",
    ]
    got = keyed(columns, rows, "topic")
    period = [g for g in made if in_period(g, START, END)]
    assert sum(r["count"] for r in got.values()) == len(period)
    for topic in {g.appeal.topic for g in period}:
        mine = [g for g in period if g.appeal.topic == topic]
        row = got[topic]
        assert row["count"] == len(mine)
        assert row["open"] == sum(g.appeal.state is AppealState.OPEN for g in mine)
        assert row["closed"] == sum(g.appeal.state is AppealState.CLOSED for g in mine)
        assert row["sla_breached"] == sum(
            g.resolution is not None and g.resolution.breached_at is not None for g in mine
        )
        times = [float(v) for g in mine if (v := handling_us(g)) is not None]
        for measure, share in (("handling_median", 0.5), ("handling_p90", 0.9)):
            expected = percentile(times, share)
            assert expected is not None
            assert abs(row[measure] / timedelta(microseconds=1) - expected) <= 1


def test_appeals_by_operator_count_first_responses(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "by_operator")
    got = keyed(columns, rows, "operator")
    period = [g for g in made if in_period(g, START, END)]
    for operator, n in Counter(g.appeal.operator for g in period).items():
        mine = [g for g in period if g.appeal.operator == operator]
        assert got[operator]["count"] == n
        answered = [
            float(g.first_response.elapsed / timedelta(microseconds=1))
            for g in mine
            if g.first_response is not None and g.first_response.stopped_at is not None
        ]
        expected = percentile(answered, 0.5)
        assert expected is not None
        median = got[operator]["first_response_median"]
        assert abs(median / timedelta(microseconds=1) - expected) <= 1


@pytest.mark.parametrize("days", [1, 7, 30])
def test_repeat_appeals_match_python_for_each_window(world, days: int) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "repeat_appeals", repeat_days=days)
    got = keyed(columns, rows, "topic")
    period = [g for g in made if in_period(g, START, END)]
    for topic in {g.appeal.topic for g in period}:
        mine = [g for g in period if g.appeal.topic == topic]
        repeats = sum(repeated(g, made, days) for g in mine)
        assert got[topic]["repeated"] == repeats, (topic, days)
        assert got[topic]["repeated_share"] == pytest.approx(repeats / len(mine))


def test_sla_compliance_by_queue_and_topic(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "sla")
    period = [g for g in made if in_period(g, START, END)]
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        mine = [
            g
            for g in period
            if g.appeal.queue == values["queue"] and g.appeal.topic == values["topic"]
        ]
        met = sum(
            g.resolution is not None
            and g.resolution.stopped_at is not None
            and g.appeal.state is AppealState.CLOSED
            and g.resolution.breached_at is None
            for g in mine
        )
        breached = sum(
            g.resolution is not None and g.resolution.breached_at is not None for g in mine
        )
        assert (values["count"], values["sla_met"], values["sla_breached"]) == (
            len(mine),
            met,
            breached,
        )
        if met + breached:
            assert values["sla_compliance"] == pytest.approx(met / (met + breached))
        else:
            assert values["sla_compliance"] is None
    assert sum(dict(zip(columns, r, strict=True))["count"] for r in rows) == len(period)


def test_reopened_appeals_come_from_history(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "reopened")
    got = keyed(columns, rows, "topic")
    period = [g for g in made if in_period(g, START, END)]
    for topic, row in got.items():
        assert row["reopened"] == sum(g.reopened for g in period if g.appeal.topic == topic)


def test_backlog_by_day_follows_openings_and_closings(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "backlog", end=date(2026, 3, 10), bucket="day")
    assert columns == ["period", "opened", "resolved", "backlog"]
    end = datetime(2026, 3, 11, tzinfo=UTC)
    for day, opened, resolved, backlog in rows:
        assert isinstance(day, date)
        day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        day_end = day_start + timedelta(days=1)
        assert opened == sum(day_start <= g.appeal.registered_at < day_end for g in made)
        assert resolved == sum(
            g.appeal.closed_at is not None and day_start <= g.appeal.closed_at < day_end
            for g in made
        )
        bound = min(day_end, end)
        assert backlog == sum(
            g.appeal.registered_at < bound
            and (g.appeal.closed_at is None or g.appeal.closed_at >= bound)
            for g in made
        ), day


def test_a_filter_in_the_rule_language_narrows_the_appeals(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "by_topic", filter='Contact.Channel = "EMAIL"')
    got = keyed(columns, rows, "topic")
    period = [g for g in made if in_period(g, START, END) and g.contact.channel == "EMAIL"]
    assert {t: r["count"] for t, r in got.items()} == dict(Counter(g.appeal.topic for g in period))


def test_rows_by_other_dimensions_and_a_column_dimension(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    columns, rows = table(engine, "by_topic", by=["channel", "queue"])
    period = [g for g in made if in_period(g, START, END)]
    expected = Counter((g.contact.channel, g.appeal.queue) for g in period)
    assert {(r[0], r[1]): r[columns.index("count")] for r in rows} == dict(expected)


def test_a_day_falls_differently_in_utc_and_moscow_time(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        engine = Engine(CATALOG, store.unit_of_work, reports=store.reports(), trust_logins=True)
        made = generate(store.unit_of_work, 120, seed=3)
        for zone in ("UTC", "Europe/Moscow", "America/Sao_Paulo"):
            result = engine.report(
                "by_topic",
                start=date(2026, 3, 2),
                end=date(2026, 3, 20),
                timezone=zone,
                by=["period"],
            )
            got = {row[0]: row[1] for row in result.rows}
            first = datetime(2026, 3, 2)
            expected = Counter(
                local_day(g.appeal.registered_at, zone)
                for g in made
                if date(2026, 3, 2) <= local_day(g.appeal.registered_at, zone) <= date(2026, 3, 20)  # type: ignore[operator]
            )
            assert got == dict(expected), zone
            assert first  # the period's days are the zone's
        # One appeal late on a UTC evening: the next day in Moscow.
        with store.unit_of_work() as uow:
            from crmcms.testing.stored import add_appeal, add_contact

            c = add_contact(uow)
            add_appeal(uow, c.id, registered_at=datetime(2026, 5, 4, 22, 30, tzinfo=UTC))
            uow.commit()
        for zone, day in (("UTC", date(2026, 5, 4)), ("Europe/Moscow", date(2026, 5, 5))):
            result = engine.report(
                "by_topic",
                start=date(2026, 5, 1),
                end=date(2026, 5, 31),
                timezone=zone,
                by=["period"],
            )
            assert [row[0] for row in result.rows] == [day]
        hours = engine.report(
            "by_topic",
            start=date(2026, 5, 4),
            end=date(2026, 5, 5),
            timezone="Europe/Moscow",
            by=["period"],
            bucket="hour",
        )
        (row,) = list(hours.rows)
        assert row[0].isoformat() == "2026-05-05T01:00:00+03:00"
    finally:
        store.dispose()


def test_a_reader_sees_only_the_appeals_it_may_read(world) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    reader = Principal("olga", permissions=frozenset({Permission.READ, Permission.REPORT}))
    columns, rows = table(engine, "by_topic", operator=reader)
    scope = engine.read_scope(reader)
    assert scope is not None

    def visible(g: Generated) -> bool:
        a = g.appeal
        return (
            a.responsible == "olga"
            or (a.queue is None and a.operator == "olga")
            or (a.queue is not None and a.queue in scope.queues)
        )

    period = [g for g in made if in_period(g, START, END) and visible(g)]
    assert sum(r[columns.index("count")] for r in rows) == len(period)
    nobody = Principal("nobody", permissions=frozenset({Permission.READ}))
    with pytest.raises(PermissionDeniedError):
        engine.report("by_topic", start=START, end=END, operator=nobody)


def test_bad_parameters_are_refused_naming_what_is_wrong(world) -> None:  # type: ignore[no-untyped-def]
    engine, _ = world
    with pytest.raises(NotFoundError, match="by_topik"):
        engine.report("by_topik", start=START, end=END)
    with pytest.raises(ValidationError, match="no dimension 'colour'"):
        engine.report("by_topic", start=START, end=END, by=["colour"])
    with pytest.raises(ValidationError, match="not a time zone"):
        engine.report("by_topic", start=START, end=END, timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="not a bucket"):
        engine.report("by_topic", start=START, end=END, bucket="fortnight")
    with pytest.raises(ValidationError, match="must end after"):
        engine.report("by_topic", start=END, end=START)
    with pytest.raises(ValidationError, match="filter:1:21"):
        engine.report("by_topic", start=START, end=END, filter="Appeal.Topic.Code = ")
    with pytest.raises(ValidationError, match="not shown as a list column"):
        engine.report("by_topic", start=START, end=END, by=["attribute:nope"])


def test_archived_appeals_count_only_when_asked_for(world, database_url: str) -> None:  # type: ignore[no-untyped-def]
    engine, made = world
    from crmcms.storage.sql import Archiver

    store = SqlStore(database_url)
    try:
        cutoff = datetime(2026, 3, 15, tzinfo=UTC)
        moved = Archiver(store.engine).archive(timedelta(0), now=cutoff).archived
    finally:
        store.dispose()
    assert moved > 0
    period = [g for g in made if in_period(g, START, END)]
    away = {
        g.appeal.id
        for g in made
        if g.appeal.state is AppealState.CLOSED
        and g.appeal.closed_at is not None
        and g.appeal.closed_at < cutoff
    }
    for code in ("by_topic", "reopened", "repeat_appeals", "sla"):
        working = table(engine, code)
        both = table(engine, code, archived=True)
        count = working[0].index("count")
        assert sum(r[count] for r in working[1]) == sum(g.appeal.id not in away for g in period)
        assert sum(r[working[0].index("count")] for r in both[1]) == len(period), code
    # Reopenings and repeats read the archive's history and appeals as well.
    columns, rows = table(engine, "reopened", archived=True)
    got = keyed(columns, rows, "topic")
    for topic, row in got.items():
        assert row["reopened"] == sum(g.reopened for g in period if g.appeal.topic == topic)
    columns, rows = table(engine, "repeat_appeals", archived=True, repeat_days=7)
    got = keyed(columns, rows, "topic")
    for topic, row in got.items():
        mine = [g for g in period if g.appeal.topic == topic]
        assert row["repeated"] == sum(repeated(g, made, 7) for g in mine)
    columns, rows = table(engine, "backlog", archived=True, by=["topic"])
    got = keyed(columns, rows, "topic")
    for topic, row in got.items():
        mine = [g for g in made if g.appeal.topic == topic]
        assert row["opened"] == sum(in_period(g, START, END) for g in mine)
