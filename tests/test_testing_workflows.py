"""The shipped property test of workflow definitions: runs on a catalog, reports what breaks."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest
from click.testing import CliRunner

from crmcms import Catalog, Client, load_catalog
from crmcms.entrypoints.cli import cli
from crmcms.testing import workflows
from crmcms.testing.engine import FakeBilling
from crmcms.testing.workflows import explore, sample_clients

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

    explore(catalog, runs=15, steps=15, billing=billing)
    assert made
    assert all(list(clients) == sample_clients(catalog) for clients in made)


def test_a_broken_invariant_is_reported(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the engine put appeals in queues their process does not hand appeals to.
    monkeypatch.setattr(workflows, "candidate_queues", lambda *args: ())
    with pytest.raises(AssertionError, match="which process registration does not hand"):
        explore(catalog, runs=10, steps=5, shrink=False)
    args = ["explore", EXAMPLES, "--runs", "10", "--steps", "5", "--no-shrink"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "invariant broken: appeal 1 is in queue REGISTRATION" in result.output


def test_explore_command(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["explore", EXAMPLES, "--runs", "5", "--steps", "10"])
    assert result.exit_code == 0, result.output
    assert "5 runs of up to 10 actions on 2 route versions with 12 clients" in result.output
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
