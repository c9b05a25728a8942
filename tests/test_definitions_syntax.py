"""Malformed definition files: each row a test, with the message and position it must report."""

from __future__ import annotations

import pytest

from crmcms.dsl.definitions.loader import check_sources, load_catalog_text
from crmcms.dsl.definitions.parser import SYNTAX_EXAMPLES, parse_definitions
from crmcms.dsl.rules.parser import parse_rule
from crmcms.dsl.syntax_errors import CONDITION_CONTEXTS, expression_examples
from crmcms.errors import DefinitionError, DslError

SYNTAX_ROWS = [
    (label, snippet) for label, snippets in SYNTAX_EXAMPLES.items() for snippet in snippets
]


@pytest.mark.parametrize(("label", "snippet"), SYNTAX_ROWS)
def test_syntax_error_table(label: str, snippet: str) -> None:
    with pytest.raises(DslError) as caught:
        parse_definitions(snippet, file="bad.crm")
    assert caught.value.message.startswith(label)
    assert str(caught.value.span).startswith("bad.crm:1:")


def test_syntax_errors_point_at_line_and_column_and_show_the_line() -> None:
    text = 'topic T "t" {\n    attribute 1 "a" string\n}\n'
    with pytest.raises(DslError) as caught:
        parse_definitions(text, file="t.crm")
    rendered = caught.value.render()
    assert rendered.splitlines()[0].startswith("t.crm:2:21: an attribute needs ':'")
    assert '        attribute 1 "a" string' in rendered
    assert "^" in rendered


# (definitions, expected message, line, column, hint or None)
LOAD_ROWS = [
    (
        'operator bob "Bob" { password: "secret" }',
        "passwords do not belong in definition files",
        1,
        32,
        "operators authenticate outside crmcms",
    ),
    ('topic T "a"\ntopic T "b"', "topic 'T' is defined twice (first at x.crm:1:7)", 2, 7, None),
    (
        'dictionary CITY "c"\ntopic T "t" { attribute 1 "a": CITI }',
        "unknown dictionary 'CITI' in type of attribute 1",
        2,
        32,
        "did you mean 'CITY'?",
    ),
    (
        'topic T "t" { attribute 1 "a": string visible when Client.Region = "x" }',
        "'visible' takes no condition",
        1,
        39,
        None,
    ),
    ('topic T "t" { attribute 1 }', "attribute 1 needs a name and a type", 1, 25, None),
    ('topic T "t" { attribute 1 "a": date default "31.01.2024" }', "bad default", 1, 25, None),
    (
        'topic T "t"\nroute R "r" { topics: T  process a "A" initial { on handoff: notify() }'
        '  process z "Z" final  transition a -> z }',
        "unknown workflow event 'handoff'",
        2,
        53,
        None,
    ),
    (
        'topic T "t"\nroute R "r" { topics: T  process a "A"  process z "Z" final }',
        "route R v1 has no initial process",
        2,
        7,
        None,
    ),
    (
        'topic T "t"\nroute R "r" { topics: T  process a "A" initial  process closed "Z" final'
        "  transition a -> clsed }",
        "unknown process 'clsed' of route R v1",
        2,
        91,
        "did you mean 'closed'?",
    ),
    (
        'route R "r" { process a "A" initial  process z "Z" final }',
        "route R v1 serves no topic",
        1,
        7,
        None,
    ),
    (
        'topic T "t"\nroute R "r" { topics: T  process a "A" initial  process b "B" initial'
        '  process z "Z" final }',
        "second initial process 'b'",
        2,
        57,
        None,
    ),
    (
        'place HEAD "Head"\ntemplate X "x" { places: "Head/VIP" }',
        "no contact place has the path 'Head/VIP'",
        2,
        26,
        None,
    ),
    (
        'topic T "t"\nroute R "r" { topics: T  process a "A" initial  process z "Z" final'
        "  transition z -> a }",
        "transition z->a leaves final process 'z'",
        2,
        81,
        None,
    ),
    ('rule R "r": Client.Region = 1', "cannot compare string with integer", 1, 13, None),
    (
        'queue Q "q" { when ONLY_BS }\nrule ONLY_BIS "b": Client.Category = "BIS"',
        "unknown rule 'ONLY_BS' in queue Q",
        1,
        20,
        "did you mean 'ONLY_BIS'?",
    ),
    ('route R "r" { deadline: 0s }', "deadline: must be positive", 1, 25, None),
]


@pytest.mark.parametrize(("text", "message", "line", "column", "hint"), LOAD_ROWS)
def test_malformed_definition_table(
    text: str, message: str, line: int, column: int, hint: str | None
) -> None:
    _, problems = check_sources({"x.crm": text})
    found = [p for p in problems if message in p.message]
    assert found, [p.render() for p in problems]
    assert (found[0].span.line, found[0].span.column) == (line, column)
    if hint is not None:
        assert found[0].hint is not None
        assert hint in found[0].hint


def test_every_problem_of_every_file_at_once_and_nothing_loaded() -> None:
    sources = {
        "a.crm": 'topic T "t" { attribute 1 "a": CITI }\nrule R "r": Client.Region = 1',
        "b.crm": 'queue Q "q" { members: nobody }',
    }
    with pytest.raises(DefinitionError) as caught:
        load_catalog_text(sources)
    where = [str(p.span) for p in caught.value.problems]
    assert where == ["a.crm:1:32", "a.crm:2:13", "b.crm:1:24"]
    assert str(caught.value).startswith("3 problems found")


def test_syntax_errors_of_several_files_are_all_reported() -> None:
    _, problems = check_sources({"a.crm": "topic T {", "b.crm": 'queue "Q"'})
    assert [p.span.file for p in problems] == ["a.crm", "b.crm"]


def test_syntax_errors_of_several_declarations_in_one_file_are_all_reported() -> None:
    source = (
        'queue A "A" {\n'
        "    members:\n"
        "}\n"
        'channel PHONE "Phone"\n'
        'route X "x" {\n'
        '    process a "A" initial\n'
        "    transition a ->\n"
        "}\n"
        'channel SMS "SMS" {\n'
        "}}\n"
    )
    _, problems = check_sources({"bad.crm": source})
    assert [(p.span.line, p.span.column) for p in problems] == [(3, 1), (8, 1), (10, 2)]
    assert all(p.source == source for p in problems)
    assert "    }}\n     ^" in problems[2].render()


def test_a_file_with_one_syntax_error_reports_only_that_one() -> None:
    source = 'channel PHONE "Phone"\nchannel SMS "SMS" {\n'
    _, problems = check_sources({"one.crm": source})
    assert len(problems) == 1


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("2 business days", "2d business"),
        ("1 business day warn 4h", "1d business warn 4h"),
        ("3 hours", "3h"),
        ("1 week", "1w"),
        ("90 minutes", "90m"),
    ],
)
def test_deadlines_spelled_in_words_mean_the_same_as_durations(
    spelled: str, canonical: str
) -> None:
    def route(deadline: str) -> str:
        return (
            'queue Q "Q"\n'
            'topic T "T"\n'
            'route R "r" {\n'
            "    topics: T\n"
            f'    process a "A" initial {{ deadline: {deadline} }}\n'
            '    process b "B" final\n'
            "    transition a -> b\n"
            "}\n"
        )

    words = load_catalog_text(route(spelled), check=False).route("R").process("a").deadline
    short = load_catalog_text(route(canonical), check=False).route("R").process("a").deadline
    assert words == short
    assert words is not None


SHORT_ACTIONS = """
mailing list MANAGERS "Managers"
topic T "T"
queue Q "Q" {
    processes: a, b
}
operator olga "Olga"
route R "R" {
    topics: T
    process a "A" initial
    process b "B" final
    transition a -> b "Hand over" {
        on handover: HANDOVER
        on reject: REJECT
    }
}
"""


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("notify MANAGERS", 'notify(to: "MANAGERS")'),
        ("notify MANAGERS, olga", 'notify(to: ["MANAGERS", "olga"])'),
        ("escalate MANAGERS", 'escalate(to: "MANAGERS")'),
        ("call log_rejection", 'call(function: "log_rejection")'),
        ("call billing.log_rejection", 'call(function: "billing.log_rejection")'),
    ],
)
def test_built_in_actions_have_short_forms(short: str, long: str) -> None:
    # As the definition sketch writes them: "on handover: notify MANAGERS".
    def handlers(action: str) -> object:
        text = SHORT_ACTIONS.replace("HANDOVER", action).replace("REJECT", "notify olga")
        return load_catalog_text(text).route("R").transitions[0].handlers

    assert handlers(short) == handlers(long)


def test_a_short_notify_names_known_recipients() -> None:
    text = SHORT_ACTIONS.replace("HANDOVER", "notify MANGERS").replace("REJECT", "notify olga")
    with pytest.raises(DefinitionError) as err:
        load_catalog_text(text, file="route.crm")
    assert "route.crm:13:" in str(err.value)
    assert "MANGERS" in str(err.value)
    assert "MANAGERS" in str(err.value)  # did you mean


def test_a_file_saved_with_a_byte_order_mark_is_refused_at_its_start() -> None:
    _, problems = check_sources({"win.crm": '\ufefftopic T "t"\n'})
    assert [(str(p.span), p.message) for p in problems] == [
        ("win.crm:1:1", "the file starts with a UTF-8 byte-order mark (BOM)")
    ]
    assert problems[0].hint == "save the file as UTF-8 without BOM"


def test_a_syntax_error_in_one_file_does_not_hide_the_problems_of_the_others() -> None:
    sources = {
        "broken.crm": "topic T {",
        "rules.crm": 'rule R "r": Client.Region = 1',
    }
    catalog, problems = check_sources(sources)
    assert catalog is None
    assert [str(p.span) for p in problems] == ["broken.crm:1:9", "rules.crm:1:13"]
    assert problems[1].message == "cannot compare string with integer"


def test_with_a_broken_file_references_it_might_define_are_not_reported() -> None:
    sources = {
        "broken.crm": 'dictionary CITY "City" {',
        "topics.crm": 'topic T "t" { attribute 1 "a": CITY }\nchannel PHONE "P"\nchannel PHONE "P"',
    }
    _, problems = check_sources(sources)
    assert [p.span.file for p in problems] == ["broken.crm", "topics.crm"]
    assert "defined twice" in problems[1].message


def _friendly(err: DslError) -> str:
    return err.message.split(" (at ", 1)[0]


CONDITION_ROWS = [
    (label, snippet, context)
    for label, snippet in expression_examples()
    if label != "the rule is empty"
    for context in CONDITION_CONTEXTS
]


@pytest.mark.parametrize(("label", "snippet", "context"), CONDITION_ROWS)
def test_a_malformed_condition_gets_the_same_message_in_a_definition_file(
    label: str, snippet: str, context: str
) -> None:
    with pytest.raises(DslError) as alone:
        parse_rule(snippet)
    with pytest.raises(DslError) as in_file:
        parse_definitions(context.format(snippet), file="x.crm")
    assert _friendly(alone.value) == label
    assert _friendly(in_file.value) == label, in_file.value.render()


def test_the_keyword_table_lists_the_declarations_of_the_grammar() -> None:
    import re
    from importlib import resources

    from crmcms.dsl.keywords import DECLARATION_KEYWORDS

    grammar = (
        resources.files("crmcms.dsl.definitions").joinpath("definitions.lark").read_text("utf-8")
    )
    decl = re.search(r"^_decl:(.*?)\n\n", grammar, re.S | re.M)
    assert decl is not None
    names = re.findall(r"\w+", decl.group(1))
    # Declarations added by a part of the grammar of their own extend the list.
    for extended in re.findall(r"^%extend _decl:(.*)$", grammar, re.M):
        names += re.findall(r"\w+", extended)
    words = []
    for name in names:
        rule = re.search(rf"^{name}:((?:\s*\"\w+\")+)", grammar, re.M)
        assert rule is not None, name
        words.append(" ".join(re.findall(r"\"(\w+)\"", rule.group(1))))
    assert sorted(words) == sorted(DECLARATION_KEYWORDS)
