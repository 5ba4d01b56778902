"""The ensemble benchmark on its smoke profile: every row, the halves of the trust maps, a table that says
what the runs say."""


import bench_scripts
import numpy as np
import pytest

# Regression guards: the ensemble's target AUC of every smoke run (synthetic "test" pair, 2 members of 1 epoch,
# patch 5, CPU; the forest's 200 trees) as this suite measured it, by (method, base seed); a run may lose 0.05,
# so a drop of 0.1 fails.
MEASURED_TARGET_AUC = {("dann_cta", 0): 0.904, ("rf", 0): 0.884, ("dann_cta", 1): 0.894, ("rf", 1): 0.870}
AUC_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def ensembles():
    return bench_scripts.load("ensembles")


@pytest.fixture(scope="module")
def smoke(ensembles, tmp_path_factory):
    results = ensembles.run("smoke", ["dann_cta", "rf"], "cpu", seeds=[0, 1])
    path = tmp_path_factory.mktemp("ensembles") / "results.md"
    ensembles.write_markdown(results, str(path))
    return results, path.read_text()


def test_every_method_and_seed_has_its_ensemble_its_members_and_the_halves(smoke):
    results, _ = smoke
    runs = results["runs"]
    assert [(r["method"], r["seed"]) for r in runs] == [("dann_cta", 0), ("rf", 0), ("dann_cta", 1), ("rf", 1)]
    for run in runs:
        assert run["members"] == (2 if run["method"] == "dann_cta" else 200)
        assert len(run["member_aucs"]) == (2 if run["method"] == "dann_cta" else 0)
        assert MEASURED_TARGET_AUC[run["method"], run["seed"]] - AUC_TOLERANCE < run["target_auc"] <= 1.0
        assert run["mean_uncertainty"] > 0
        for halves in (run["uncertainty_halves"], run["novelty_halves"]):
            assert halves["ore_low"] + halves["ore_high"] > 0 and 0 <= halves["auc_low"] <= 1


def test_the_table_is_the_mean_and_sd_of_the_runs(smoke):
    results, table = smoke
    for method in ("dann_cta", "rf"):
        aucs = [r["target_auc"] for r in results["runs"] if r["method"] == method]
        row = next(line for line in table.splitlines() if line.startswith(f"| {method} |"))
        assert f"{np.mean(aucs):.3f} ± {np.std(aucs, ddof=1):.3f}" == row.split(" | ")[1]
    members = [a for r in results["runs"] if r["method"] == "dann_cta" for a in r["member_aucs"]]
    assert f"{np.mean(members):.3f} ± {np.std(members, ddof=1):.3f}" in table
    assert "Regenerate: `make bench-ensembles BENCH_PROFILE=smoke`" in table


def test_the_targets_table_counts_the_seeds_where_the_trusted_half_holds_more_ore(smoke):
    results, table = smoke
    rows = [r for r in results["runs"] if r["method"] == "rf"]
    for run in rows:  # the forest's trees disagree, so its top 5 % splits into two labelled halves
        halves = run["targets_by_uncertainty"]
        assert halves["labelled_low"] > 0 and halves["labelled_high"] > 0 and 0 <= halves["ore_share_low"] <= 1
        by_prospectivity = run["targets_by_prospectivity"]  # the same top voxels, however they are split
        assert by_prospectivity["labelled_low"] + by_prospectivity["labelled_high"] == (
            halves["labelled_low"] + halves["labelled_high"])
    targets = table[table.index("## The targets"):]
    row = next(line for line in targets.splitlines() if line.startswith("| rf |")).split(" | ")
    certain = [r["targets_by_uncertainty"]["ore_share_low"] for r in rows]
    wins = sum(r["targets_by_uncertainty"]["ore_share_low"] > r["targets_by_uncertainty"]["ore_share_high"]
               for r in rows)
    assert row[1] == f"{np.mean(certain):.3f} ± {np.std(certain, ddof=1):.3f}" and row[3] == f"{wins} of 2"


def test_a_resumed_run_keeps_the_finished_runs_and_saves_after_each_new_one(ensembles):
    """A run cut short (a GPU session's time spent, say) leaves its finished runs; resumed, it does only the rest."""
    kept = {"method": "rf", "seed": 0, "target_auc": 0.5, "marker": "from the earlier call"}
    saved = []
    results = ensembles.run("smoke", ["rf"], "cpu", seeds=[0, 1], done=[kept], on_run=saved.append)
    assert results["runs"][0] is kept  # not run again
    assert [(r["method"], r["seed"]) for r in results["runs"]] == [("rf", 0), ("rf", 1)]
    assert len(saved) == 1 and saved[0]["runs"] == results["runs"]
