"""The formatter: canonical, idempotent, comments kept, definitions unchanged (property-tested)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcms.dsl.definitions.formatter import format_source
from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.dsl.definitions.printer import dump_catalog
from crmcms.dsl.rules.parser import parse_rule
from crmcms.dsl.rules.unparse import chain, unparse
from crmcms.errors import DslError
from crmcms.model import Catalog, Deadline, Process, QueuePolicy, Route
from crmcms.testing import catalogs
from crmcms.testing.rules import render, rule_trees


def _whole_seconds(deadline: Deadline | None) -> Deadline | None:
    # Definition files write durations in whole seconds (4h, 1d12h).
    if deadline is None:
        return None
    limit = timedelta(seconds=int(deadline.limit.total_seconds()))
    warn = deadline.warn_before
    if warn is not None:
        warn = timedelta(seconds=int(warn.total_seconds())) or None
    return attrs.evolve(deadline, limit=limit, warn_before=warn)


@st.composite
def writable_catalogs(draw: st.DrawFn) -> Catalog:
    """Generated catalogs with the route fields the strategies leave alone drawn too."""
    catalog = draw(catalogs())
    queue_codes = [q.code for q in catalog.queues]
    routes = []
    for route in catalog.routes:
        processes = []
        for p in route.processes:
            policy = draw(st.sampled_from(QueuePolicy))
            queues: tuple[str, ...] = ()
            if policy is QueuePolicy.RULES and queue_codes:
                queues = tuple(
                    draw(st.lists(st.sampled_from(queue_codes), unique=True, max_size=2))
                )
            processes.append(
                attrs.evolve(
                    p, deadline=_whole_seconds(p.deadline), queue_policy=policy, queues=queues
                )
            )
        codes = [p.code for p in processes]
        moved = draw(
            st.dictionaries(st.sampled_from(["old_a", "old_b"]), st.sampled_from(codes), max_size=2)
        )
        transitions = tuple(
            attrs.evolve(t, automatic=draw(st.booleans())) for t in route.transitions
        )
        routes.append(
            attrs.evolve(
                route,
                processes=tuple(processes),
                transitions=transitions,
                deadline=_whole_seconds(route.deadline),
                moved_processes=moved,
            )
        )
    return attrs.evolve(catalog, routes=tuple(routes))


@given(writable_catalogs())
def test_a_printed_catalog_loads_back_equal(catalog: Catalog) -> None:
    text = dump_catalog(catalog)
    assert load_catalog_text(text, check=False) == catalog
    assert format_source(text) == text


@st.composite
def messy(draw: st.DrawFn, text: str) -> tuple[str, list[str]]:
    """``text`` re-spaced, with comments and blank lines sprinkled in; and the comments."""
    out: list[str] = []
    comments: list[str] = []
    for number, line in enumerate(text.splitlines()):
        action = draw(st.sampled_from(["keep", "indent", "trail", "before", "blank", "join"]))
        if action == "indent":
            line = " " * draw(st.integers(0, 9)) + line.strip() + " " * draw(st.integers(0, 3))
        elif action == "trail":
            comments.append(f"# trailing {number}")
            line = f"{line}   {comments[-1]}"
        elif action == "before":
            comments.append(f"# before {number}")
            out.append(comments[-1])
        elif action == "blank":
            out.append("")
        elif action == "join" and out and "#" not in out[-1]:
            out[-1] = out[-1] + "   " + line.strip()
            continue
        out.append(line)
    return "\n".join(out) + "\n", comments


@given(st.data(), writable_catalogs())
def test_formatting_is_idempotent_keeps_comments_and_definitions(
    data: st.DataObject, catalog: Catalog
) -> None:
    text, comments = data.draw(messy(dump_catalog(catalog)))
    formatted = format_source(text)
    assert format_source(formatted) == formatted
    assert load_catalog_text(formatted, check=False) == load_catalog_text(text, check=False)
    for comment in comments:
        assert comment in formatted


def test_layout_of_a_hand_written_file() -> None:
    text = """# Queues
queue   PSKOV "Pskov region" { processes: transfer_sd  when Client.Region == 'Pskov' }  # inline
queue REGISTRATION "Registration" system
route R "r" { topics: T process a "A" initial { queue: keep deadline: 1d12h }
  # before the end
  process z "Z" final transition a -> z "go" automatic }
"""
    assert (
        format_source(text)
        == """# Queues
queue PSKOV "Pskov region" {  # inline
    processes: transfer_sd
    when Client.Region = "Pskov"
}

queue REGISTRATION "Registration" system

route R "r" {
    topics: T
    process a "A" initial {
        queue: keep
        deadline: 1d12h
    }
    # before the end
    process z "Z" final
    transition a -> z "go" automatic
}
"""
    )


def test_a_condition_over_several_lines_keeps_its_breaks_and_comments() -> None:
    text = """rule ONLY_BIS "Only BIS": Client.Category == "BIS"
  # not in Pskov: that region has its own queue
     and Client.Region != 'Pskov'   # trailing note
  or Client.Category = "VIP"
queue CP "CP" { processes: p
    when Client.Region != "Pskov"  # outside Pskov
          or Client.Region is empty  # no region known
}
rule CENTRE "Centre": Client.Region = "Moscow" or
    Client.Region = "Tver"
"""
    formatted = format_source(text)
    assert (
        formatted
        == """rule ONLY_BIS "Only BIS": Client.Category = "BIS"
    # not in Pskov: that region has its own queue
    and Client.Region != "Pskov"  # trailing note
    or Client.Category = "VIP"

queue CP "CP" {
    processes: p
    when Client.Region != "Pskov"  # outside Pskov
        or Client.Region is empty  # no region known
}

rule CENTRE "Centre": Client.Region = "Moscow"
    or Client.Region = "Tver"
"""
    )
    assert format_source(formatted) == formatted
    assert load_catalog_text(formatted, check=False) == load_catalog_text(text, check=False)


def test_comments_among_conditions_of_headers_and_flags_stay_on_their_lines() -> None:
    text = """route R "r" {
    topics: T
    process a "A" initial
    process z "Z" final
    transition a -> z "go" when Client.Category = "BIS"  # first
        # second, alone
        and (Client.Region = "Pskov"  # inside parentheses
            or Client.Region is empty) and Appeal.Priority = 1 {
        on handover: notify(to: "M")
    }
}
topic T "T" {
    attribute 171 "Card": string readonly when Client.Category = "VIP"
        # a line of its own
        or Client.Category = "BIS" required when Client.Region = "Pskov"
}
"""
    formatted = format_source(text)
    # Operands in parentheses are one piece: a comment inside them trails the piece.
    assert (
        formatted
        == """route R "r" {
    topics: T
    process a "A" initial
    process z "Z" final
    transition a -> z "go" when Client.Category = "BIS"  # first
        # second, alone
        and (Client.Region = "Pskov" or Client.Region is empty)  # inside parentheses
        and Appeal.Priority = 1 {
        on handover: notify(to: "M")
    }
}

topic T "T" {
    attribute 171 "Card": string readonly when Client.Category = "VIP"
        # a line of its own
        or Client.Category = "BIS" required when Client.Region = "Pskov"
}
"""
    )
    assert format_source(formatted) == formatted


@given(rule_trees(), st.data())
def test_a_condition_broken_where_its_canonical_text_may_break_formats_to_itself(
    tree: object, data: st.DataObject
) -> None:
    node = parse_rule(render(tree))  # type: ignore[arg-type]
    pieces = [piece for piece, _ in chain(node)]
    assert " ".join(pieces) == unparse(node)
    lines, comments = [f'rule R "r": {pieces[0]}'], []
    for number, piece in enumerate(pieces[1:], 1):
        commented = "#" in lines[-1]
        how = data.draw(st.sampled_from(["same line", "next line", "comment above", "trailing"]))
        if how == "same line" and not commented:
            lines[-1] += f" {piece}"
            continue
        if how == "comment above":
            comments.append(f"# above {number}")
            lines.append(f"    {comments[-1]}")
        elif how == "trailing" and not commented:
            comments.append(f"# after {number - 1}")
            lines[-1] += f"  {comments[-1]}"
        lines.append(f"    {piece}")
    text = "\n".join(lines) + "\n"
    assert format_source(text) == text
    assert load_catalog_text(text, check=False).rules[0].expression == unparse(node)


def test_short_actions_are_kept_as_written() -> None:
    text = """route R "r" { transition a -> b "go" {
  on handover:   notify MANAGERS,olga
  on reject: call   billing.log_rejection
  on rejection "Long": notify(to:"SD") } }
"""
    formatted = format_source(text)
    assert (
        formatted
        == """route R "r" {
    transition a -> b "go" {
        on handover: notify MANAGERS, olga
        on reject: call billing.log_rejection
        on rejection "Long": notify(to: "SD")
    }
}
"""
    )
    assert format_source(formatted) == formatted


def test_format_refuses_text_that_does_not_parse() -> None:
    with pytest.raises(DslError, match="a block is not closed"):
        format_source('topic T "t" {')


def test_the_process_field_defaults_keep_old_documents_valid() -> None:
    process = Process("a", "A")
    assert process.queue_policy is QueuePolicy.RULES
    assert (
        Route(
            "R", "R", "a", (process, Process("z", "Z", final=True)), topics=("T",)
        ).moved_processes
        == {}
    )


def test_a_ladder_is_written_a_level_a_line_with_its_comments_kept() -> None:
    text = (
        'route R "R" {\n'
        "    topics: T\n"
        "    first response: 1h {\n"
        "        # early\n"
        "        at 50%: notify olga  # half\n"
        "        at +0: notify olga\n"
        "    }\n"
        '    process a "A" initial {\n'
        "        deadline: 4h { at 50%: notify olga  at +0: notify olga }  # both\n"
        "    }\n"
        '    process b "B" final\n'
        "}\n"
    )
    formatted = format_source(text)
    assert formatted == (
        'route R "R" {\n'
        "    topics: T\n"
        "    first response: 1h {\n"
        "        # early\n"
        "        at 50%: notify olga  # half\n"
        "        at +0: notify olga\n"
        "    }\n"
        '    process a "A" initial {\n'
        "        deadline: 4h {\n"
        "            at 50%: notify olga\n"
        "            at +0: notify olga\n"
        "        }  # both\n"
        "    }\n"
        '    process b "B" final\n'
        "}\n"
    )
    assert format_source(formatted) == formatted
    one_level = "        deadline: 4h { at +0: notify olga }\n"
    assert one_level in format_source(text.replace(text.splitlines()[8] + "\n", one_level))
