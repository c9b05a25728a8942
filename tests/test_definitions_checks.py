"""Each static check of definition files: one text it refuses, one it accepts."""

from __future__ import annotations

import pytest

from crmcms.dsl.definitions.loader import check_sources

BASE = """
dictionary CITY "Cities" {
    MSK "Moscow"
}

topic T "Termination" {
    attribute 166 "Reason": string required
    attribute 168 "Date": date
    attribute 170 "City": CITY
    attribute 171 "Card": string inactive
}

rule ONLY_BIS "BIS only": Client.Category = "BIS"

queue ANY "Any" {
    processes: registration, work
}

route R "Route" version 1 {
    topics: T
    process registration "Registration" initial
    process work "Work"
    process closed "Closed" final
    transition registration -> work "Hand over" when ONLY_BIS
    transition work -> closed "Close"
}
"""


def problems(text: str) -> list[str]:
    return [f"{p.span.line}: {p.message}" for p in check_sources({"x.crm": text})[1]]


def test_the_base_text_is_clean() -> None:
    assert problems(BASE) == []


# (name, change to BASE as (old, new), expected message fragment; new text must pass with
# the fix applied)
CASES = [
    (
        "unknown reference with a hint",
        ("topics: T\n", "topics: TT\n"),
        "unknown topic 'TT'",
    ),
    (
        "duplicate codes",
        ('queue ANY "Any" {', 'queue ANY "Any"\nqueue ANY "Any" {'),
        "queue 'ANY' is defined twice",
    ),
    (
        "rule type errors",
        ('Client.Category = "BIS"', "Client.Category = 1"),
        "cannot compare string with integer",
    ),
    (
        "rule type errors in conditions know topic attributes",
        ("when ONLY_BIS", 'when Appeal.Attribute[168] = "tomorrow"'),
        "cannot compare date with string",
    ),
    (
        "unreachable process",
        (
            '    process closed "Closed" final',
            '    process lost "Lost"\n    process closed "Closed" final',
        ),
        "process lost of route R v1 cannot be reached from the initial process registration",
    ),
    (
        "no final process reachable",
        (
            '    transition work -> closed "Close"',
            '    transition work -> closed "Close"\n    process loop "Loop"\n'
            '    transition registration -> loop "Loop"',
        ),
        "no final process can be reached from process loop",
    ),
    (
        "transition out of a final process",
        (
            '    transition work -> closed "Close"',
            '    transition work -> closed "Close"\n    transition closed -> work "Reopen"',
        ),
        "leaves final process 'closed'",
    ),
    (
        "a process no queue allows",
        ("processes: registration, work", "processes: registration"),
        "no queue can take appeals in process work",
    ),
    (
        "queue rules that leave a gap, with the values",
        (
            'queue ANY "Any" {\n    processes: registration, work\n}',
            'queue ANY "Any" {\n    processes: registration\n}\n'
            'queue P "Pskov" {\n    processes: work\n    when Client.Region = "Pskov"\n}\n'
            'queue NP "Not Pskov" {\n    processes: work\n    when Client.Region != "Pskov"\n}',
        ),
        "no queue takes appeals in process work of route R v1 when Client.Region is empty",
    ),
    (
        "required attribute hidden in a process without a default",
        (
            '    process work "Work"',
            '    process work "Work" {\n        attribute 166: hidden\n    }',
        ),
        "attribute 166 is required but hidden in process work",
    ),
    (
        "required attribute read-only on the topic itself",
        (
            'attribute 166 "Reason": string required',
            'attribute 166 "Reason": string required readonly',
        ),
        "attribute 166 is required but read-only in process registration",
    ),
    (
        "override of an attribute the route's topics lack",
        (
            '    process work "Work"',
            '    process work "Work" {\n        attribute 196: hidden\n    }',
        ),
        "process work overrides attribute 196, which topic(s) T of route R do not have",
    ),
    (
        "rules reading inactive attributes",
        ("when ONLY_BIS", 'when Appeal.Attribute[171] = "x"'),
        "reads attribute 171, which is inactive",
    ),
    (
        "a fixed default that is not an item of the attribute's dictionary",
        ('attribute 170 "City": CITY', 'attribute 170 "City": CITY default "MKS"'),
        "the default of attribute 170 is 'MKS', which is not an item of dictionary CITY",
    ),
    (
        "a computed default that is not an item of the attribute's dictionary",
        ('attribute 170 "City": CITY', 'attribute 170 "City": CITY computed "SPB"'),
        "the computed default of attribute 170 is 'SPB', which is not an item of dictionary CITY",
    ),
    (
        "a computed default of another type than the attribute's",
        ('attribute 168 "Date": date', 'attribute 168 "Date": date computed now()'),
        "the computed default of attribute 168 computes datetime, but the attribute holds date",
    ),
    (
        "new route version dropping a process silently",
        (
            '    transition work -> closed "Close"\n}',
            '    transition work -> closed "Close"\n}\n'
            'route R "Route" version 2 {\n    topics: T\n'
            '    process registration "Registration" initial\n'
            '    process closed "Closed" final\n    transition registration -> closed "Close"\n}',
        ),
        "route R v2 drops process work of v1 without saying where appeals waiting in it go",
    ),
]

FIXES = {
    "a fixed default that is not an item of the attribute's dictionary": ('"MKS"', '"MSK"'),
    "a computed default that is not an item of the attribute's dictionary": ('"SPB"', '"MSK"'),
    "a computed default of another type than the attribute's": ("now()", "today()"),
    "unknown reference with a hint": ("topics: TT\n", "topics: T\n"),
    "a process no queue allows": (
        'queue ANY "Any" {',
        'queue W "W" { processes: work }\nqueue ANY "Any" {',
    ),
    "queue rules that leave a gap, with the values": (
        'when Client.Region != "Pskov"',
        'when Client.Region != "Pskov" or Client.Region is empty',
    ),
    "required attribute hidden in a process without a default": (
        "attribute 166: hidden",
        "attribute 166: hidden optional",
    ),
    "new route version dropping a process silently": (
        "version 2 {\n    topics: T\n",
        "version 2 {\n    topics: T\n    moved work -> registration\n",
    ),
}


@pytest.mark.parametrize(("name", "change", "message"), CASES, ids=[c[0] for c in CASES])
def test_static_check_refuses_then_accepts(
    name: str, change: tuple[str, str], message: str
) -> None:
    assert change[0] in BASE
    broken = BASE.replace(change[0], change[1], 1)
    found = problems(broken)
    assert any(message in p for p in found), found
    if name.startswith(("a fixed default", "a computed default")):  # on the attribute's line
        line = next(i for i, t in enumerate(broken.splitlines(), 1) if change[1] in t)
        assert any(p.startswith(f"{line}: ") and message in p for p in found), found
    fix = FIXES.get(name)
    fixed = broken.replace(*fix, 1) if fix else BASE
    assert problems(fixed) == []


def test_did_you_mean_hint_on_unknown_reference() -> None:
    _, found = check_sources({"x.crm": BASE.replace("topics: T\n", "topics: TT\n")})
    assert found[0].hint == "did you mean 'T'?"
    assert found[0].render().startswith("x.crm:")


def test_moved_process_that_still_exists_is_refused() -> None:
    text = BASE + (
        'route R "Route" version 2 {\n    topics: T\n    moved work -> registration\n'
        '    process registration "Registration" initial\n    process work "Work"\n'
        '    process closed "Closed" final\n    transition registration -> work "Go"\n'
        '    transition work -> closed "Close"\n}\n'
    )
    assert any("process work still exists in v2" in p for p in problems(text))


LOOP = """
topic T "T"
queue Q "Q" {
    processes: a, b
}
route L "Loop" {
    topics: T
    process a "A" initial
    process b "B"
    process c "C" final
    transition a -> b "There" automatic {first}
    transition b -> a "Back" automatic {second}
    transition b -> c "Close"
}
"""


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("", "", "can all hold at once (none has a condition)"),
        (
            'when Client.Region = "Pskov"',
            'when Client.Category = "BIS"',
            'can all hold at once (when Client.Region = "Pskov" and Client.Category = "BIS")',
        ),
        (
            'when Client.Region = "Pskov"',
            'when Client.Region != "Pskov"',
            "their conditions cannot all hold at once, so an appeal stops on the way",
        ),
    ],
)
def test_a_cycle_of_automatic_transitions_is_reported(
    first: str, second: str, message: str
) -> None:
    text = LOOP.replace("{first}", first).replace("{second}", second)
    found = problems(text)
    assert len(found) == 1, found
    assert "form a cycle a -> b -> a" in found[0]
    assert message in found[0]
    assert found[0].startswith("11: ")
    assert problems(text.replace('"Back" automatic', '"Back"')) == []
