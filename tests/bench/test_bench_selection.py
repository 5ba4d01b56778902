"""The epoch-selection benchmark on its smoke profile: each rule's choice is read off the epochs, the table
is the runs' mean and sd, and the decision follows the rule written before the runs."""

import bench_scripts
import numpy as np
import pytest


@pytest.fixture(scope="module")
def selection():
    return bench_scripts.load("selection")


@pytest.fixture(scope="module")
def smoke(selection, tmp_path_factory):
    results = selection.run("smoke", ["dann_cta"], "cpu", seeds=[0, 5])
    path = tmp_path_factory.mktemp("selection") / "results.md"
    selection.write_markdown(results, str(path))
    return results, path.read_text()


def test_each_rule_gets_the_target_auc_of_the_epoch_it_chose(smoke, selection):
    results, _ = smoke
    for run in results["runs"]:
        by_epoch = run["target_auc_by_epoch"]
        assert len(by_epoch) == selection.PROFILES["smoke"]["epochs"]
        for rule, epoch in run["chosen_epochs"].items():
            assert run["choices"][rule] == by_epoch[epoch - 1]
        assert run["choices"]["oracle"] == max(by_epoch) and run["choices"]["last"] == by_epoch[-1]
        assert 0.5 < run["choices"]["average"] <= 1.0


def test_the_table_is_the_mean_and_sd_of_the_runs_and_the_decision_is_the_written_rule(smoke, selection):
    results, table = smoke
    for rule in ("source_val", "entropy", "average"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {rule} ("))
        pick = [r["choices"][rule] for r in results["runs"] if r["seed"] == 0]
        assert row.split(" | ")[1] == f"{np.mean(pick):.3f} ± 0.000"
    decision = results["decision"]
    pick_run = next(r for r in results["runs"] if r["seed"] == 0)
    candidates = [rule for rule in selection.SELECTION_RULES if rule != "source_val"]
    assert decision["candidate"] == max(candidates, key=lambda rule: pick_run["choices"][rule])
    confirm_run = next(r for r in results["runs"] if r["seed"] == 5)
    gain = confirm_run["choices"][decision["candidate"]] - confirm_run["choices"]["source_val"]
    assert decision["confirmed"] == (gain > 0)
    assert "Regenerate: `.venv/bin/python bench/selection.py --profile smoke --methods dann_cta`" in table
