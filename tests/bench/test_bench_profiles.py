"""The adaptation benchmark (bench/profiles.py) on its smoke profile: every row and oracle is scored on the same
held-out target blocks, the oracle never trains on them, and the default rule decides as it is written."""

import json
import subprocess
import sys

import bench_scripts
import numpy as np
import pytest


@pytest.fixture(scope="module")
def profiles():
    return bench_scripts.load("profiles")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("profiles")
    subprocess.run([sys.executable, bench_scripts.BENCH + "/profiles.py", "--profile", "smoke", "--pair-profiles",
                    "measurement", "--out-dir", str(out)], check=True, capture_output=True, timeout=600)
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


def test_every_row_and_oracle_is_scored_with_its_diagnostics(smoke, profiles):
    results, table = smoke
    (run,) = results["runs"]
    assert set(run["auc"]) == set(profiles.ROWS) | set(profiles.ORACLES.values())
    assert all(0.5 < auc <= 1 for auc in run["auc"].values())
    for row in ("cnn", "dann_cta", "dann_cta + quantile"):
        assert {"before", "after"} == set(run["pad"][row])
        assert len(run["history"][row]) == 1 and 0 <= run["history"][row][0]["disc_acc"] <= 1
    assert "| rf oracle |" in table and "headroom" in table
    assert "not decided: no shift profile has seeds 0-9 run" in table


def test_scored_blocks_and_the_oracles_training_ground_are_apart(profiles):
    scored, trainable = profiles.held_out_blocks((8, 40, 40), seed=3, buffer=2)
    assert scored.mean() == pytest.approx(4 / 16, abs=0.02)
    assert not (scored & trainable).any()
    rows, cols = np.nonzero(trainable)
    held_rows, held_cols = np.nonzero(scored)
    gap = np.min(np.maximum(np.abs(rows[:, None] - held_rows[None]), np.abs(cols[:, None] - held_cols[None])))
    assert gap > 2  # at least the buffer between a scored column and one the oracle learns on


def _runs(candidates, gains: dict[str, list[float]]) -> list[dict]:
    """Fake runs: plain dann_cta at 0.9, every candidate at 0.9 + gain per seed, per profile."""
    return [{"profile": profile, "seed": seed, "auc": {"dann_cta": 0.9, **{c: 0.9 + gain for c in candidates}}}
            for profile, per_seed in gains.items() for seed, gain in enumerate(per_seed)]


def test_the_rule_needs_both_halves_and_no_loss_on_the_controls(profiles):
    def _runs_of(gains):
        return _runs(profiles.CANDIDATES, gains)

    wins = [0.01] * 10
    controls = {"concept_only": [0.0, 0.001, -0.001] * 3 + [0.0], "as_designed": [0.002, -0.002] * 5}
    verdict = profiles.verdicts(_runs_of({"measurement": wins, **controls}))["dann_cta + quantile"]
    assert verdict == "becomes the default (passes on measurement)"
    unconfirmed = wins[:5] + [0.01, 0.01, 0.01, -0.01, -0.01]  # better on only 3 of seeds 5-9
    verdict = profiles.verdicts(_runs_of({"measurement": unconfirmed, **controls}))["dann_cta + quantile"]
    assert verdict.startswith("stays an option: measurement seeds 5-9") and "better on 3 of 5" in verdict
    losing = {"concept_only": [-0.02, -0.021, -0.019, -0.02, -0.022] * 2, "as_designed": controls["as_designed"]}
    verdict = profiles.verdicts(_runs_of({"measurement": wins, **losing}))["dann_cta + quantile"]
    assert verdict.startswith("stays an option: concept_only loses")
    # either shift profile may carry it; the other one then counts as a control
    verdict = profiles.verdicts(_runs_of({"measurement": [0.0] * 10, "fault_geometry": wins, **controls}))
    assert verdict["dann_cta + quantile"] == "becomes the default (passes on fault_geometry)"
    losing_shift = {"measurement": [-0.02, -0.021, -0.019, -0.02, -0.022] * 2, "fault_geometry": wins, **controls}
    assert profiles.verdicts(_runs_of(losing_shift))["dann_cta + quantile"].startswith(
        "stays an option: measurement loses")


def test_the_forests_rule_decides_on_fresh_seeds_alone(profiles):
    def runs(gains: dict[str, list[float]], seeds=profiles.FOREST_SEEDS) -> list[dict]:
        return [{"profile": profile, "seed": seed, "auc": {"rf": 0.9, "rf + quantile": 0.9 + gain}}
                for profile, per_seed in gains.items() for seed, gain in zip(seeds, per_seed, strict=True)]

    neutral = [0.001, -0.001] * 5
    controls = {"as_designed": neutral, "concept_only": neutral, "measurement": neutral}
    wins = [0.01] * 8 + [-0.001, -0.002]  # better on 8 of 10
    assert profiles.forest_verdicts(runs({"fault_geometry": wins, **controls}))["rf + quantile"] == (
        "becomes the forest's default (passes on fault_geometry)")
    seven = [0.01] * 7 + [-0.001] * 3
    verdict = profiles.forest_verdicts(runs({"fault_geometry": seven, **controls}))["rf + quantile"]
    assert verdict.startswith("stays an option for the forest") and "better on 7 of 10" in verdict
    losing = {**controls, "concept_only": [-0.02, -0.021] * 5}
    verdict = profiles.forest_verdicts(runs({"fault_geometry": wins, **losing}))["rf + quantile"]
    assert "concept_only seeds 10-19 loses" in verdict
    # the seen seeds 0-9 count for nothing: wins there and no fresh seeds leave it undecided
    seen = runs({"fault_geometry": [0.01] * 10, **controls}, seeds=range(10))
    assert profiles.forest_verdicts(seen)["rf + quantile"].startswith("not decided")
