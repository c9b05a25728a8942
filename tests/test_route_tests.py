"""Route test files: the format, its errors at file:line:column, and every expectation passing
and failing on the example catalog."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crmcms.dsl.definitions.loader import load_catalog, load_catalog_text
from crmcms.dsl.route_tests import ExpectKind, parse_route_tests
from crmcms.errors import DefinitionError, DslError
from crmcms.model import Catalog
from crmcms.testing.route_tests import load_route_tests, run_route_test, run_route_tests

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog([EXAMPLES / "telecom"])


def test_a_file_reads_like_definitions_and_keeps_places() -> None:
    parsed = parse_route_tests(
        """
        # a comment
        test "BIS client" {
            route TERMINATION version 2
            client { category: "BIS"  region: "Moscow" }
            operator olga
            values { 166: "Переезд"; 168: 2026-04-01; Тариф: -3 }
            expect unavailable close, to_sd because "Client.Category = \\"BIS\\""
            perform to_sd by olga
            expect deadline 2d in calendar MOSCOW
            expect notification hand_over "Передача" to SD_TEAM
            expect no notification
        }
        """,
        file="t.crmtest",
    )
    (test,) = parsed.tests
    assert test.name == "BIS client"
    route = test.setting("route")
    assert route is not None
    assert route.version == 2
    assert (route.span.line, route.span.column) == (4, 19)
    values = test.statements[3]
    assert [(f.code, f.value) for f in values.fields] == [  # type: ignore[union-attr]
        ("166", "Переезд"),
        ("168", date(2026, 4, 1)),
        ("Тариф", -3),
    ]
    unavailable = test.statements[4]
    assert unavailable.kind is ExpectKind.UNAVAILABLE  # type: ignore[union-attr]
    assert unavailable.because == 'Client.Category = "BIS"'  # type: ignore[union-attr]
    kinds = [getattr(s, "kind", None) for s in test.statements[-3:]]
    assert kinds == [ExpectKind.DEADLINE, ExpectKind.NOTIFICATION, ExpectKind.NO_NOTIFICATION]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("test x {", "1:6", "a test needs a name in quotes"),
        ('test "x" {\n  expect foo }', "2:10", "expect what?"),
        ('test "x" { client { category "BIS" } }', "1:30", "a field is written code: value"),
        ('test "x" { wait 4 }', "1:17", "a duration is written like 4h"),
        ('test "x" {\n expect process a', "2:18", "a block is not closed"),
        ("expect process a", "1:1", "statements go inside a test"),
    ],
)
def test_syntax_errors_are_placed(text: str, where: str, message: str) -> None:
    with pytest.raises(DslError) as err:
        parse_route_tests(text, file="t.crmtest")
    assert str(err.value).startswith(f"t.crmtest:{where}: {message}")


def test_every_file_with_an_error_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.crmtest").write_text("test x {", encoding="utf-8")
    (tmp_path / "b.crmtest").write_text('test "y" { wait 4 }', encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        load_route_tests([tmp_path])
    assert "a.crmtest:1:6" in str(err.value)
    assert "b.crmtest:1:17" in str(err.value)


HEAD = """test "t" {{
    route TERMINATION
    client {{ category: "{category}"  region: "{region}" }}
    operator olga
    values {{ 166: "Переезд"  168: 2026-04-01 }}
{body}
}}
"""


def _run(catalog: Catalog, body: str, category: str = "BIS", region: str = "Moscow") -> list[str]:
    text = HEAD.format(body=body, category=category, region=region)
    parsed = parse_route_tests(text, file="t.crmtest")
    result = run_route_test(catalog, parsed.tests[0], parsed)
    return [f.render() for f in result.failures]


# Each expectation: a body that passes, and one that fails with (part of) its explanation.
CASES = [
    ("expect process registration", "expect process transfer_sd", "but it is in registration"),
    ("expect queue REGISTRATION", "expect queue 67", "first queue for process registration"),
    ("perform to_sd\nexpect queue 67", "perform to_sd\nexpect queue 79", "rule NOT_PSKOV"),
    ("expect available to_sd", "expect available close", "does not leave process"),
    ("expect unavailable close", "expect unavailable to_sd", "it is available"),
    ("expect required 166, 168", "expect optional 166", "it is required there"),
    ("expect visible 203", "expect hidden 203", "it is visible, editable and optional"),
    ("expect editable 166", "expect readonly 166", "keeps the topic's flags"),
    ("expect optional 167", "expect required 203", "it is visible, editable and optional"),
    ("expect editable 171", "perform to_sd\nexpect editable 169", "it is hidden there"),
    ("perform to_sd\nexpect hidden 169", "perform to_sd\nexpect visible 169", "overrides"),
    ("expect appeal deadline 5d", "expect appeal deadline 4d", "5d after"),
    ("perform to_sd\nexpect deadline 2d", "perform to_sd\nexpect deadline 1d", "2d after"),
    (
        "perform to_sd\nexpect deadline 2d",
        "perform to_sd\nexpect deadline 2d in calendar MOSCOW",
        "due at 2026-03-04T09:00",
    ),
    (
        "perform to_sd\nexpect notification hand_over to SD_TEAM",
        "perform to_sd\nexpect notification rejection",
        "hand_over 'Передача на обработку' to SD_TEAM",
    ),
    (
        'perform to_sd\nexpect notification "Передача" to "sd@example.com"',
        "perform to_sd\nperform ask_client\nexpect notification",
        "none was sent",
    ),
    (
        "perform to_sd\nperform ask_client\nexpect no notification",
        "perform to_sd\nexpect no notification",
        "2 were sent",
    ),
    ("perform to_sd\nperform close\nexpect process closed", "perform close", "refused"),
    (
        "perform to_sd\nperform close\nexpect notification result to client",
        "perform to_sd\nexpect notification result to client",
        "hand_over",
    ),
    (
        'set { 171: "x" }\nexpect process registration',
        'perform to_sd\nset { 169: "VIP" }',
        "refused",
    ),
    ("wait 1h\nexpect process registration", "wait 6d\nexpect no notification", "were sent"),
]


@pytest.mark.parametrize(("passing", "failing", "why"), CASES)
def test_every_expectation_passes_and_fails(
    catalog: Catalog, passing: str, failing: str, why: str
) -> None:
    assert _run(catalog, passing) == []
    failures = _run(catalog, failing)
    assert failures, failing
    assert why in "\n".join(failures)


def test_readonly_passes_and_fails() -> None:
    catalog = load_catalog_text(
        """
        role OPERATOR "Operator" { permissions: register, handle, read }
        operator anna "Anna" { roles: OPERATOR }
        place CC "Contact centre"
        channel PHONE "Phone"
        topic T "Topic" { attribute A "A": string readonly
                          attribute B "B": string }
        queue Q "Everyone"
        route R "R" {
            topics: T
            process start "Start" initial
            process done "Done" final
            transition finish start -> done "Finish"
        }
        """
    )
    text = 'test "t" {{ route R  operator anna  {} }}'
    for body, failures in (("expect readonly A", 0), ("expect readonly B", 1)):
        parsed = parse_route_tests(text.format(body), file="t.crmtest")
        result = run_route_test(catalog, parsed.tests[0], parsed)
        assert len(result.failures) == failures, result.failures


def test_unavailable_because_names_the_rule_its_text_or_the_reason(catalog: Catalog) -> None:
    for because in (
        "ONLY_BIS",
        '"Клиент.Категория = \\"BIS\\""',
        '"Client.Category = \\"BIS\\""',  # the same rule in English
        '"is \\"VIP\\""',
    ):
        assert _run(catalog, f"expect unavailable to_sd because {because}", "VIP") == []
    (failure,) = _run(catalog, "expect unavailable to_sd because NOT_PSKOV", "VIP")
    assert "something else stands in its way" in failure
    assert 'why: rule ONLY_BIS (Только для клиентов BIS) is false: Клиент.Категория = "BIS"' in (
        failure
    )


def test_a_failure_is_placed_and_shows_the_line(catalog: Catalog) -> None:
    (failure,) = _run(catalog, "    expect process transfer_sd")
    assert failure.splitlines()[:3] == [
        "t.crmtest:6:20: expected the appeal in process transfer_sd, but it is in registration",
        "        expect process transfer_sd",
        "                       ^~~~~~~~~~~",
    ]


def test_a_failed_action_stops_the_test(catalog: Catalog) -> None:
    failures = _run(catalog, "perform close\nexpect process closed", "VIP")
    assert len(failures) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("perform nowhere", "has no transition nowhere"),
        ("expect process nowhere", "has no process nowhere"),
        ("expect queue nowhere", "nowhere"),
        ("expect hidden 999", "has no attribute 999"),
        ("expect available nowhere", "has no transition nowhere"),
        ("operator nobody\nperform to_sd", "nobody"),
        ("expect deadline 1d in calendar NOWHERE", "NOWHERE"),
        ("expect process registration\ntopic TERMINATION", "before the first action"),
    ],
)
def test_a_wrong_reference_is_an_error_at_its_place(
    catalog: Catalog, body: str, message: str
) -> None:
    with pytest.raises(DslError) as err:
        _run(catalog, body)
    assert str(err.value).startswith("t.crmtest:")
    assert message in str(err.value)


def test_a_test_needs_an_operator_and_a_route(catalog: Catalog) -> None:
    parsed = parse_route_tests('test "t" { route TERMINATION }', file="t.crmtest")
    with pytest.raises(DslError, match=r"t\.crmtest:1:6: a test needs the operator"):
        run_route_test(catalog, parsed.tests[0], parsed)
    parsed = parse_route_tests('test "t" { operator olga }', file="t.crmtest")
    with pytest.raises(DslError, match="needs the route or the topic"):
        run_route_test(catalog, parsed.tests[0], parsed)
    parsed = parse_route_tests('test "t" { operator olga\n client { tariff: "x" } }', file="t")
    with pytest.raises(DslError, match="t:2:11: a client has no field tariff"):
        run_route_test(catalog, parsed.tests[0], parsed)


def test_the_example_tests_pass_and_exercise_the_route(catalog: Catalog) -> None:
    results = run_route_tests(catalog, load_route_tests([EXAMPLES / "telecom"]))
    assert results
    assert all(r.passed for r in results), [f.render() for r in results for f in r.failures]
    performed = set().union(*(r.exercised.performed for r in results))
    assert ("TERMINATION", 2, "to_sd") in performed
