"""``crmcms rule check`` and ``crmcms rule eval``."""

from __future__ import annotations

import json
import pathlib

from click.testing import CliRunner, Result

from crmcms.entrypoints.cli import cli


def test_check_accepts_the_seed_rule_and_lists_what_it_reads() -> None:
    result = CliRunner().invoke(cli, ["rule", "check", 'Клиент.Категория = "BIS"'])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["ok", "  reads Client.Category"]


def test_check_reports_every_problem_with_location_and_fails() -> None:
    result = CliRunner().invoke(
        cli, ["rule", "check", 'Client.Categry = "x" and Appeal.Priority = "3"']
    )
    assert result.exit_code == 1
    assert "2 problems found" in result.output
    assert "<expression>:1:8: Client has no field 'Categry'" in result.output
    assert "hint: did you mean 'Category'?" in result.output


def test_check_with_declared_attribute_types() -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["rule", "check", "Appeal.Attribute[168] < today()", "--attribute", "168=date"]
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        cli, ["rule", "check", "Appeal.Attribute[168] < 1", "--attribute", "168=date"]
    )
    assert bad.exit_code == 1
    assert "cannot compare date with integer" in bad.output
    wrong = runner.invoke(cli, ["rule", "check", "true", "--attribute", "168=colour"])
    assert wrong.exit_code == 2


def test_eval_prints_the_result(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "appeal.json"
    data.write_text(
        json.dumps({"Client": {"Category": "BIS"}, "Appeal": {"Deadline": "2026-01-01T10:00"}}),
        encoding="utf-8",
    )
    runner = CliRunner()
    rule = 'Client.Category = "BIS" and Appeal.Deadline < 2026-02-01T00:00'
    result = runner.invoke(cli, ["rule", "eval", rule, "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert result.output == "true\n"
    result = runner.invoke(cli, ["rule", "eval", 'Client.Region = "Pskov"', "--data", str(data)])
    assert result.output == "false\n"


def test_eval_explain_reads_standard_input() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "rule",
            "eval",
            "Appeal.Priority >= 3 or Client.Category is empty",
            "--data",
            "-",
            "--explain",
        ],
        input='{"Appeal": {"Priority": 2}}',
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Appeal.Priority >= 3 or Client.Category is empty  =>  true",
        "  Appeal.Priority >= 3  =>  false",
        "    Appeal.Priority  =>  2",
        "    3  =>  3",
        "  Client.Category is empty  =>  true",
        "    Client.Category  =>  empty",
    ]


def test_eval_rejects_data_that_is_not_a_json_object() -> None:
    result = CliRunner().invoke(cli, ["rule", "eval", "true", "--data", "-"], input="[1]")
    assert result.exit_code == 2
    assert "must be an object" in result.output


EXAMPLES = str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "telecom")


def test_check_with_definition_files_knows_attribute_codes_and_types() -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        ["rule", "check", "Обращение.Атрибут[168] > today()", "--definitions", EXAMPLES],
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        cli,
        [
            "rule",
            "check",
            'Appeal.Attribute[999] = 1 or Appeal.Attribute[168] = "soon"',
            "--definitions",
            EXAMPLES,
        ],
    )
    assert bad.exit_code == 1
    assert "unknown attribute code '999'" in bad.output
    assert "cannot compare date with string" in bad.output


def test_topic_narrows_the_attributes_to_that_topics_own_and_inherited() -> None:
    def check(expression: str, topic: str) -> Result:
        return CliRunner().invoke(
            cli, ["rule", "check", expression, "--definitions", EXAMPLES, "--topic", topic]
        )

    assert check("Appeal.Attribute[203] = true", "TERMINATION").exit_code == 0  # inherited
    other_topics = check("Appeal.Attribute[185] = 1", "TERMINATION")
    assert other_topics.exit_code == 1
    assert "unknown attribute code '185'" in other_topics.output
    typo = check("Appeal.Attribute[203] = true", "TERMINATON")
    assert typo.exit_code == 1
    assert "did you mean 'TERMINATION'" in str(typo.exception)
