"""The block-training benchmark (bench/blocks.py): both modes trained and scored on each seed, the operations per
labelled voxel counted, and the default rule deciding as written."""

import json
import subprocess
import sys

import bench_scripts
import pytest


@pytest.fixture(scope="module")
def blocks():
    return bench_scripts.load("blocks")


def test_smoke_run_scores_both_modes_and_counts_operations(tmp_path, blocks):
    subprocess.run([sys.executable, bench_scripts.BENCH + "/blocks.py", "--profile", "smoke", "--out-dir",
                    str(tmp_path)], check=True, capture_output=True, timeout=600)
    results = json.loads((tmp_path / "results.json").read_text())
    (run,) = results["runs"]
    for mode in blocks.MODES:
        assert 0.5 < run[mode]["target_auc"] <= 1 and run[mode]["seconds"] > 0
        flops = results["flops"][mode]
        assert flops["flops_per_step"] > 0 and flops["labelled_per_step"] > 0
    # a block step trains on hundreds of labelled voxels, a patch step on its batch
    assert results["flops"]["block"]["labelled_per_step"] > 4 * results["flops"]["patch"]["labelled_per_step"]
    assert "not decided" in results["decision"]
    assert "| measurement | block - patch, paired |" in (tmp_path / "results.md").read_text()


def _runs(differences):
    return [{"profile": "measurement", "seed": seed, "patch": {"target_auc": 0.9},
             "block": {"target_auc": 0.9 + diff}} for seed, diff in enumerate(differences)]


def test_the_rule_asks_for_a_tie_within_noise_on_both_halves(blocks):
    noise = [0.01, -0.01, 0.005, -0.004, 0.0]
    assert blocks.decision(_runs(noise + noise), ["measurement"]) == "block becomes the default on the CPU"
    worse = [-0.03, -0.031, -0.029, -0.03, -0.032]
    assert blocks.decision(_runs(noise + worse), ["measurement"]).startswith("patch stays the default: measurement "
                                                                            "seeds 5-9")
