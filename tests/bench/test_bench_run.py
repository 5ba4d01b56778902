"""The benchmark script on its smoke profile: every row, the diagnostics and the files it promises."""

import json
import os

import bench_scripts
import numpy as np
import pytest

# Regression guards: target AUC of every smoke run (synthetic "test" pair, 1 epoch, patch 5, CPU) as this suite
# measured it, by (method, seed); a run may lose 0.05, so a drop of 0.1 fails.
MEASURED_TARGET_AUC = {("rf", 0): 0.884, ("cnn", 0): 0.915, ("dann_cta", 0): 0.918,
                       ("rf", 1): 0.870, ("cnn", 1): 0.904, ("dann_cta", 1): 0.897}
AUC_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def bench():
    return bench_scripts.load("run")


@pytest.fixture(scope="module")
def smoke(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    results = bench.run("smoke", ["rf", "cnn", "dann_cta", bench.PEER], "cpu", str(out), seeds=[0, 1])
    return results, out


def test_writes_table_json_and_figure_for_every_seed(smoke):
    results, out = smoke
    assert {(r["method"], r["seed"]) for r in results["runs"]} == {
        (m, s) for m in ("rf", "cnn", "dann_cta") for s in (0, 1)}  # no --peer-python: no peer row
    with open(out / "results.json") as handle:
        assert json.load(handle)["seeds_done"] == 2
    table = (out / "results.md").read_text()
    for method in ("rf", "cnn", "dann_cta"):
        row = next(line for line in table.splitlines() if line.startswith(f"| {method} |"))
        aucs = [r["target_auc"] for r in results["runs"] if r["method"] == method]  # recomputed, not read back
        assert f"{np.mean(aucs):.3f} ± {np.std(aucs, ddof=1):.3f}" in row
    assert "paired by seed" in table and "## Diagnostics" in table
    # a subset of the methods is not what `make bench` runs: the table names the command that made it
    command = ".venv/bin/python bench/run.py --profile smoke --variant as_designed --epochs 1 --methods rf cnn dann_cta"
    assert f"Regenerate: `{command} --out-dir bench/{out.name}`." in table
    assert (out / "results.png").stat().st_size > 10_000


def test_epoch_trace_scores_what_the_dense_prediction_scores(smoke):
    """With one epoch the chosen and the last epoch are the same model: both AUCs must agree."""
    results, _ = smoke
    for run in results["runs"]:
        assert MEASURED_TARGET_AUC[run["method"], run["seed"]] - AUC_TOLERANCE < run["target_auc"] <= 1.0
        assert 0.0 <= run["pad_after"] <= 2.0
        if run["method"] == "rf":
            assert "target_auc_by_epoch" not in run
        else:
            assert run["target_auc_by_epoch"] == [run["target_auc_last_epoch"]]
            assert run["target_auc_last_epoch"] == pytest.approx(run["target_auc"], abs=1e-6)


def test_source_statistics_ablation_for_methods_trained_without_the_target(smoke):
    results, _ = smoke
    for run in results["runs"]:
        assert ("target_auc_source_stats" in run) == (run["method"] in ("rf", "cnn"))
    rf = [r for r in results["runs"] if r["method"] == "rf"]
    # the target's other calibrations make the source's statistics a poor fit on this pair
    assert np.mean([r["target_auc"] - r["target_auc_source_stats"] for r in rf]) > 0.02


def test_append_keeps_other_seeds(bench, smoke, tmp_path):
    results, _ = smoke
    kept = [r for r in results["runs"] if r["seed"] == 0]
    merged = bench.run("smoke", ["rf"], "cpu", str(tmp_path), seeds=[1], keep_runs=kept)
    assert sorted({(r["method"], r["seed"]) for r in merged["runs"]}) == sorted(
        {(r["method"], 0) for r in kept} | {("rf", 1)})
    assert merged["summary"]["rf"]["n"] == 2


def test_source_statistics_variant_scores_like_the_diagnostic(bench, smoke, tmp_path):
    """Two routes to the same ablation for a forest: the variant's training and the diagnostic column."""
    results, _ = smoke
    variant = bench.run("smoke", ["rf"], "cpu", str(tmp_path), seeds=[0], variant="source_statistics")
    diagnostic = next(r for r in results["runs"] if r["method"] == "rf" and r["seed"] == 0)
    assert variant["runs"][0]["target_auc"] == pytest.approx(diagnostic["target_auc_source_stats"], abs=1e-9)
    assert "source's statistics" in (tmp_path / "results.md").read_text()


def test_samples_per_epoch_budget_reaches_every_training_run(bench, smoke, tmp_path, monkeypatch):
    """--samples-per-epoch: every method trains on the budget's share of an epoch, and the results say so."""
    results, out = smoke
    assert results["settings"]["samples_per_epoch"] == 65_536  # the default, which the smoke deposits never reach
    assert "at most 65,536 labelled samples per epoch" in (out / "results.md").read_text()
    seen, train = [], bench.train

    def spy(source, target, config, on_epoch_end=None):  # train() as the script calls it, seen from outside
        events = []
        result = train(source, target, config, on_progress=events.append, on_epoch_end=on_epoch_end)
        seen.append((config, result.model.provenance, max((e.get("steps", 0) for e in events), default=None)))
        return result

    monkeypatch.setattr(bench, "train", spy)
    budgeted = bench.run("smoke", ["rf", "cnn", "dann_cta"], "cpu", str(tmp_path), seeds=[0], samples_per_epoch=200)
    assert budgeted["settings"]["samples_per_epoch"] == 200
    assert [c.samples_per_epoch for c, _, _ in seen] == [200, 200, 200]
    assert all(p["train_config"]["samples_per_epoch"] == 200 for _, p, _ in seen)
    natural = {r["method"]: r["epoch_samples"] for r in results["runs"] if r["seed"] == 0}
    for run, (config, provenance, steps) in zip(budgeted["runs"], seen, strict=True):
        assert run["epoch_samples"] == 200 < natural[run["method"]]  # 100 ore voxels + 100 barren, of 367 + 367
        if run["method"] == "rf":  # the forest's one epoch: its samples over its time
            forest = provenance["history"][0]
            assert forest["patches_per_s"] * forest["seconds"] == pytest.approx(200)
        else:  # the steps train() reported are the whole batches of the budget
            assert steps == run["steps_per_epoch"] == 200 // config.batch_size
    table = (tmp_path / "results.md").read_text()
    assert "at most 200 labelled samples per epoch" in table
    assert "--samples-per-epoch 200 --out-dir" in table
    # a results folder inside bench/ is named by its path there, as --out-dir takes it
    nested = os.path.join(bench_scripts.BENCH, "budget", "samples_200")
    assert bench._command(budgeted, bench._folder(nested)).endswith(
        "--samples-per-epoch 200 --out-dir bench/budget/samples_200")
    assert bench._command(budgeted, bench._folder(bench_scripts.BENCH)).endswith("--samples-per-epoch 200")
