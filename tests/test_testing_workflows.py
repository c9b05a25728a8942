"""The shipped property test of workflow definitions: runs on a catalog, reports what breaks."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import NoReturn

import pytest
from click.testing import CliRunner
from hypothesis import settings

from crmcms import Catalog, Client, Engine, WorkflowError, load_catalog
from crmcms.entrypoints.cli import cli
from crmcms.testing import workflows
from crmcms.testing.engine import FakeBilling
from crmcms.testing.workflows import (
    MIN_DONE_SHARE,
    ActionTally,
    NothingTestedError,
    explore,
    sample_clients,
    workflow_machine,
)

EXAMPLES = "examples/telecom"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog([EXAMPLES])


def test_sample_clients_take_the_rules_down_each_branch(catalog: Catalog) -> None:
    clients = sample_clients(catalog)
    categories = {c.category for c in clients}
    regions = {c.region for c in clients}
    # Compared with by rules (ONLY_BIS; the Pskov queues), defined in the catalog, empty,
    # and one that is none of them.
    assert {"BIS", None, "other"} | {c.code for c in catalog.client_categories} <= categories
    assert {"Pskov", None, "other"} <= regions
    assert len({c.id for c in clients}) == len(clients) <= workflows.MAX_CLIENTS


def test_the_example_routes_hold_every_invariant(catalog: Catalog) -> None:
    made: list[Sequence[Client]] = []

    def billing(clients: Sequence[Client]) -> FakeBilling:
        made.append(clients)
        return FakeBilling(clients)

    explore(catalog, runs=15, steps=15, billing=billing, derandomize=True)
    assert made
    assert all(list(clients) == sample_clients(catalog) for clients in made)


def test_a_broken_invariant_is_reported(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the engine put appeals in queues their process does not hand appeals to.
    monkeypatch.setattr(workflows, "candidate_queues", lambda *args: ())
    with pytest.raises(AssertionError, match="which process registration does not hand"):
        explore(catalog, runs=20, steps=10, shrink=False, derandomize=True)
    args = ["explore", EXAMPLES, "--runs", "20", "--steps", "10", "--no-shrink", "--derandomize"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "invariant broken: appeal 1 is in queue REGISTRATION" in result.output


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise WorkflowError("refused by the test")


ACTIONS = ("transition", "update_values", "close", "take", "reject", "assign", "reopen")


def test_a_run_that_registers_nothing_fails(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An engine that refuses everything keeps every invariant: the run must still fail.
    # Derandomized: a random draw of twenty short runs may try no registration at all (the
    # other failure, "the run tried no registration", tested in test_the_tally_check).
    for name in ("register_contact", "create_child", *ACTIONS):
        monkeypatch.setattr(Engine, name, _refuse)
    with pytest.raises(AssertionError, match=r"no appeal could be registered in \d+ attempts"):
        explore(catalog, runs=20, steps=10, shrink=False, derandomize=True)
    args = ["explore", EXAMPLES, "--runs", "20", "--no-shrink", "--derandomize"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "nothing tested: no appeal could be registered in" in result.output


def test_a_run_whose_actions_are_all_refused_fails(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("create_child", *ACTIONS):
        monkeypatch.setattr(Engine, name, _refuse)
    with pytest.raises(AssertionError, match="the engine refused nearly every action") as failed:
        explore(catalog, runs=30, steps=20, shrink=False, derandomize=True)
    assert re.search(r"on an appeal, 0 of [1-9]\d* carried out: ", str(failed.value))
    # The same for the machine run as a test case under a test runner of one's own.
    case = workflow_machine(catalog).TestCase()
    case.settings = settings(case.settings, max_examples=30, database=None)
    with pytest.raises(AssertionError, match="the engine refused nearly every action"):
        case.runTest()


def test_a_run_counts_what_it_did(catalog: Catalog) -> None:
    # Hypothesis draws the first of a list most often: with a BIS client first, the routes'
    # BIS-only transitions are tried with clients they allow, whatever else ran before.
    clients = sorted(sample_clients(catalog), key=lambda c: c.category != "BIS")
    tally = explore(catalog, runs=30, steps=20, derandomize=True, clients=clients)
    assert tally.done["register"] > 0
    making = ("register", "child")
    acted = sum(n for kind, n in tally.done.items() if kind not in making)
    tried = acted + sum(n for kind, n in tally.refused.items() if kind not in making)
    assert tried > 0
    assert acted >= MIN_DONE_SHARE * tried
    assert tally.done["transition"] > 0
    assert tally.attempted == tally.done.total() + tally.refused.total()
    assert str(tally).startswith(f"{tally.done.total()} of {tally.attempted} actions carried out (")
    # Settings given to a machine's TestCase stay with it, as they do with hypothesis' own.
    machine = workflow_machine(catalog)
    machine.TestCase.settings = settings(max_examples=3)
    assert machine.TestCase.settings.max_examples == 3
    assert workflow_machine(catalog).TestCase.settings.max_examples != 3


def test_the_tally_check() -> None:
    tally = ActionTally()
    with pytest.raises(NothingTestedError, match="the run tried no registration"):
        tally.check()
    tally.record("register", False)
    with pytest.raises(AssertionError, match="in 1 attempts"):
        tally.check()
    tally.record("register", True)
    for _ in range(10):
        tally.record("transition", False)
    with pytest.raises(
        AssertionError, match=r"0 of 10 carried out: 1 of 12 actions carried out \(register 1/2, "
    ):
        tally.check()
    assert tally.never_done == ["transition"]
    tally.record("transition", True)
    tally.record("edit", True)
    assert tally.never_done == []
    tally.check()
    tally.check(min_done_share=0.0)
    with pytest.raises(AssertionError, match="at least 50%"):
        tally.check(min_done_share=0.5)
    made_only = ActionTally()
    made_only.record("child", True)
    with pytest.raises(AssertionError, match="no action was tried on them"):
        made_only.check()


def test_explore_command(monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["explore", EXAMPLES, "--runs", "20", "--steps", "10", "--derandomize"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "20 runs of up to 10 actions on 3 route versions with 12 clients" in result.output
    assert re.search(r"│ register +│ +[1-9]\d* │ +\d+ │", result.output), result.output
    monkeypatch.setitem(sys.modules, "crmcms.testing.workflows", None)
    missing = CliRunner().invoke(cli, ["explore", EXAMPLES])
    assert missing.exit_code == 1
    assert "pip install 'crmcms[testing]'" in missing.output


def test_the_sample_conditions_of_the_strategies_compile() -> None:
    # Catalogs from crmcms.testing use them as rules: an engine compiles every one.
    from crmcms.dsl import compile_rule
    from crmcms.testing._basics import CONDITIONS

    for text in CONDITIONS:
        assert compile_rule(text).evaluate({}) in (True, False)
