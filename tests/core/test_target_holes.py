"""Target drill holes: drilled on the synthetic target, voxelised, read by training in the mode chosen and
kept away from the voxels that score."""

import csv
import dataclasses

import numpy as np
import pytest
import torch
from mpm3d.core.cli import main
from mpm3d.core.data.cubefile import write_cube
from mpm3d.core.data.grid import LABEL_BARREN, LABEL_ORE, LABEL_UNKNOWN
from mpm3d.core.data.synthetic import GRADE_CUTOFF, drill_holes
from mpm3d.core.data.voxelise import cell_indices, hole_folds, hole_groups, near_labels, voxelise_samples
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.jobs import evaluate_job, label_cube_on_grid
from mpm3d.core.learning.holes import target_hole_split
from mpm3d.core.learning.training import train
from mpm3d.core.results.metrics import away_from_holes, hole_auc, roc_auc
from mpm3d.core.settings import TrainConfig

CONFIG = TrainConfig(method="dann", patch_size=5, epochs=2, batch_size=32, device="cpu", seed=3, members=1)


@pytest.fixture(scope="module")
def pair(small_pair):
    """The coarse synthetic pair of the training tests."""
    return small_pair


@pytest.fixture(scope="module")
def holes(pair):
    """10 holes drilled at the target's surface anomalies, voxelised as the chain does: (table, label cube)."""
    table = drill_holes(pair[1], 10, seed=0, placement="anomaly")
    s = table.samples
    label, _ = voxelise_samples(s["x"], s["y"], s["z"], pair[1].grid, ore=s["ore"])
    return table, label


def _unlabelled(target):
    return dataclasses.replace(target, label=None)


def _epoch_weights(source, target, config, **kwargs):
    seen = {}

    def keep(epoch, net):
        seen[epoch] = {k: v.detach().clone() for k, v in net.state_dict().items()}

    result = train(source, _unlabelled(target), config, on_epoch_end=keep, **kwargs)
    return seen, result


def _same(first, second):
    return all(torch.equal(first[e][k], second[e][k]) for e in first for k in first[e])


@pytest.mark.parametrize("placement,dip", [("grid", 90.0), ("anomaly", 60.0)])
def test_drilled_holes_log_the_true_labels_and_voxelise_to_them_alone(pair, placement, dip):
    target = pair[1]
    table = drill_holes(target, 6, seed=2, placement=placement, dip_deg=dip)
    again = drill_holes(target, 6, seed=2, placement=placement, dip_deg=dip)
    s = table.samples
    assert table.n_holes == 6 and len(np.unique(s["hole_id"])) == 6
    np.testing.assert_array_equal(s["x"], again.samples["x"])  # seeded
    col, row, level = cell_indices(s["x"], s["y"], s["z"], target.grid)
    assert np.all(col >= 0) and np.all(target.valid[level, row, col])
    np.testing.assert_array_equal(s["ore"], target.label[level, row, col])
    np.testing.assert_array_equal(s["grade"] >= GRADE_CUTOFF, s["ore"] == LABEL_ORE)
    first = s["hole_id"] == "DH01"
    moved = np.ptp(s["x"][first]) + np.ptp(s["y"][first])
    assert (moved == 0) == (dip == 90.0)  # vertical holes stay in their column, inclined ones leave it
    label, counts = voxelise_samples(s["x"], s["y"], s["z"], target.grid, ore=s["ore"])
    known = label != LABEL_UNKNOWN
    np.testing.assert_array_equal(label[known], target.label[known])  # every other voxel stays unknown
    assert counts["n_used"] == len(s["x"]) and known.sum() == counts["n_ore_voxels"] + counts["n_barren_voxels"]


def test_holes_are_connected_runs_of_labelled_voxels_and_folds_keep_them_whole():
    label = np.full((6, 8, 8), LABEL_UNKNOWN, np.int8)
    label[:, 1, 1] = LABEL_BARREN
    label[2, 1, 1] = LABEL_ORE
    label[:, 1, 2] = LABEL_BARREN  # touches the first: one hole, never split
    label[:, 6, 6] = LABEL_BARREN
    label[4, 6, 6] = LABEL_ORE
    label[[0, 1, 2], [4, 4, 4], [3, 4, 5]] = LABEL_BARREN  # an inclined hole, diagonal steps
    groups, n = hole_groups(label)
    assert n == 3 and len(np.unique(groups[:, 1, 1:3])) == 1
    fold = hole_folds(groups, n, label, 2, seed=0)
    ore_holes = np.unique(groups[label == LABEL_ORE])
    assert fold[ore_holes[0]] != fold[ore_holes[1]]  # ore spread over the folds
    one = np.full((5, 9, 9), LABEL_UNKNOWN, np.int8)
    one[:, 4, 4] = LABEL_BARREN
    near = near_labels(one, 2)
    assert near[:, 2:7, 2:7].all() and near.sum() == 5 * 25  # 2 voxels out along y and x (and z), no further


@pytest.mark.parametrize("mode", ["patch", "block"])
def test_validate_chooses_and_scores_but_every_epochs_weights_are_those_of_ignore(pair, holes, mode):
    """Validate may only choose: the weights of each epoch are bit-identical to ignore mode's, and to those of
    holes whose labels are scrambled; ignore mode never reads what it is given. In both training modes."""
    source, target = pair
    label = holes[1]
    config = dataclasses.replace(CONFIG, training_mode=mode)
    ignored, plain = _epoch_weights(source, target, config)
    garbage = np.random.default_rng(0).choice([LABEL_UNKNOWN, LABEL_ORE], size=label.shape).astype(np.int8)
    ignored_garbage, _ = _epoch_weights(source, target, config, target_holes=garbage)
    validated, result = _epoch_weights(source, target, dataclasses.replace(config, target_labels="validate"),
                                       target_holes=label)
    scrambled = label.copy()
    scrambled[label != LABEL_UNKNOWN] = np.random.default_rng(1).permutation(label[label != LABEL_UNKNOWN])
    validated_scrambled, _ = _epoch_weights(source, target, dataclasses.replace(config, target_labels="validate"),
                                            target_holes=scrambled)
    assert _same(ignored, ignored_garbage) and _same(ignored, validated) and _same(ignored, validated_scrambled)
    assert plain.target_holes is None and "target_holes_auc" not in plain.history[0]
    scores = [h["target_holes_auc"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmax(scores))  # the holes chose
    summary = result.target_holes
    assert summary["validating_holes"] == summary["holes"] == 10 and summary["training_holes"] == 0
    validation = summary["validation"]
    assert validation["auc"] == pytest.approx(scores[result.best_epoch - 1], abs=1e-3)
    assert validation["low"] <= validation["auc"] <= validation["high"] and validation["holes"] == 10
    assert result.model.provenance["target_holes"]["validation"] == validation
    assert result.model.provenance["train_config"]["training_mode"] == mode


def test_train_mode_learns_from_holes_that_stay_off_the_validating_ones(pair, holes):
    source, target = pair
    label = holes[1]
    config = dataclasses.replace(CONFIG, target_labels="train", hole_folds=2)
    ignored, _ = _epoch_weights(source, target, CONFIG)
    trained, result = _epoch_weights(source, target, config, target_holes=label)
    assert not _same(ignored, trained)
    assert all(h["loss_holes"] > 0 for h in result.history)
    split = target_hole_split(label, target.valid, config)
    groups, _ = hole_groups(label)
    flat = groups.ravel()
    assert not set(flat[split.train_voxels]) & set(flat[split.val_voxels])  # whole holes on one side
    shape = np.array(target.grid.shape)
    train_at = np.stack(np.unravel_index(split.train_voxels, shape), 1)
    val_at = np.stack(np.unravel_index(split.val_voxels, shape), 1)
    gap = np.abs(train_at[:, None] - val_at[None]).max(axis=2).min()
    assert gap > CONFIG.patch_size // 2  # no training patch reaches a validating voxel
    assert result.target_holes["validating_holes"] + result.target_holes["training_holes"] == 10


def test_training_holes_within_half_a_patch_of_a_validating_hole_are_left_out():
    """Two holes 2 columns apart do not touch, so they are two holes; with a 5-voxel patch the training one's
    voxels would reach into the validating one's, and are dropped."""
    label = np.full((8, 16, 16), LABEL_UNKNOWN, np.int8)
    for row, col in ((4, 4), (4, 6), (12, 12), (12, 2)):
        label[:, row, col] = LABEL_BARREN
        label[3, row, col] = LABEL_ORE
    groups, n = hole_groups(label)
    assert n == 4
    config = dataclasses.replace(CONFIG, target_labels="train", hole_folds=2)
    seed = next(s for s in range(50) if len(set(hole_folds(groups, n, label, 2, s)[groups[4, [4, 4], [4, 6]]])) == 2)
    split = target_hole_split(label, np.ones(label.shape, bool), dataclasses.replace(config, seed=seed))
    assert split.summary["training_voxels_near_validation"] == 8  # the whole neighbouring hole
    train_at = np.stack(np.unravel_index(split.train_voxels, label.shape), 1)
    val_at = np.stack(np.unravel_index(split.val_voxels, label.shape), 1)
    assert np.abs(train_at[:, None] - val_at[None]).max(axis=2).min() > config.patch_size // 2


def test_leave_holes_out_cross_validation_scores_every_hole_once(pair, holes):
    source, target = pair
    config = dataclasses.replace(CONFIG, method="rf", target_labels="train", hole_folds=2, hole_cv=True)
    result = train(source, _unlabelled(target), config, target_holes=holes[1])
    cross = result.target_holes["cross_validation"]
    assert cross["holes"] == 10 and cross["ore_voxels"] == result.target_holes["ore_voxels"]
    assert 0 <= cross["low"] <= cross["auc"] <= cross["high"] <= 1


def test_bootstrap_interval_is_over_holes_and_flags_few():
    holes = np.repeat([1, 2, 3], 10)
    labels = np.tile(np.r_[np.ones(2), np.zeros(8)], 3)
    scores = labels + np.random.default_rng(0).normal(0, 0.8, 30)
    summary = hole_auc(scores, labels, holes)
    assert summary["auc"] == pytest.approx(roc_auc(scores[labels == 1], scores[labels == 0]))
    assert summary["few_holes"] and summary["holes"] == 3 and summary["low"] < summary["auc"] < summary["high"]
    with pytest.raises(Mpm3dError, match="no ore voxel"):
        hole_auc(scores, np.zeros(30), holes)


def test_holes_that_cannot_validate_or_train_are_refused_with_the_reason(pair, holes):
    source, target = pair
    label = holes[1]
    validate = dataclasses.replace(CONFIG, target_labels="validate")
    cases = [
        (validate, None, "needs the target's drill holes as a label cube"),
        (validate, label[:, :, :5], "voxelise the holes onto the TARGET cube's grid"),
        (validate, np.where(target.valid, LABEL_UNKNOWN, LABEL_BARREN).astype(np.int8), "outside the target cube"),
        (validate, np.full(target.label.shape, LABEL_UNKNOWN, np.int8), "has no labelled voxel at all"),
        (validate, np.where(label == LABEL_ORE, LABEL_BARREN, label), r"hold no ore \(1\) voxel"),
        (validate, np.where(label == LABEL_BARREN, LABEL_ORE, label), r"hold no barren \(0\) voxel"),
        (dataclasses.replace(CONFIG, target_labels="train"),
         np.where(hole_groups(label)[0] == hole_groups(label)[0][label == LABEL_ORE][0], label,
                  np.where(label == LABEL_ORE, LABEL_BARREN, label)), "at least 2 drill holes that cut ore"),
        (dataclasses.replace(validate, hole_cv=True), label, "needs TARGET_LABELS 'train'"),
        (dataclasses.replace(CONFIG, target_labels="everything"), label, "unknown target label mode"),
        (dataclasses.replace(validate, hole_folds=1), label,
         r"drill-hole folds \(HOLE_FOLDS\) must be a whole number from 2"),
    ]
    for config, given, message in cases:
        with pytest.raises(Mpm3dError, match=message):
            train(source, _unlabelled(target), config, target_holes=given)


def test_a_hole_cube_on_another_grid_is_refused(pair, holes, tmp_path):
    target = pair[1]
    moved = dataclasses.replace(target.grid, x=target.grid.x + 1000.0)
    write_cube(str(tmp_path / "holes.nc"), moved, label=holes[1])
    with pytest.raises(Mpm3dError, match="TARGET_HOLES .* is not on the grid of the TARGET cube.*Voxelise"):
        label_cube_on_grid(str(tmp_path / "holes.nc"), "TARGET_HOLES", target.grid, "the TARGET cube",
                           "voxelise the drill holes onto the TARGET cube")


def test_no_voxel_near_a_hole_scores(pair, holes, tmp_path):
    """The buffer is enforced: a prediction that is perfect at and near the holes changes no score."""
    target = pair[1]
    label = holes[1]
    rng = np.random.default_rng(4)
    probability = np.where(target.valid, rng.uniform(0, 1, target.grid.shape), np.nan).astype(np.float32)
    buffer = 2
    away = away_from_holes(probability, target.label, label, buffer)
    near = np.isnan(away["probability"]) & np.isfinite(probability)
    groups, n = hole_groups(label)
    hole_at = np.argwhere(groups > 0)
    scored_at = np.argwhere(np.isfinite(away["probability"]))
    assert np.abs(scored_at[:, None] - hole_at[None]).max(axis=2).min() > buffer
    assert np.all(away["label"][near] == LABEL_UNKNOWN) and away["holes"] == n == 10
    assert away["excluded_voxels"] == near.sum() and away["scored_voxels"] == np.isfinite(away["probability"]).sum()
    flattering = np.where(near, (target.label == LABEL_ORE).astype(np.float32), probability)
    scores = []
    for name, cube in (("random", probability), ("flattering", flattering)):
        write_cube(str(tmp_path / f"{name}.nc"), target.grid, label=target.label, extra={"prospectivity": cube})
        scores.append(evaluate_job(str(tmp_path / f"{name}.nc"), None, None, None, lambda *a, **k: None,
                                   holes_path=_hole_cube(tmp_path, target, label), hole_buffer=buffer))
    assert scores[0] == scores[1] and scores[0]["N_HOLES"] == 10
    assert scores[0]["SCORED_VOXELS"] == away["scored_voxels"]
    plain = evaluate_job(str(tmp_path / "flattering.nc"), None, None, None, lambda *a, **k: None)
    assert plain["AUC"] > scores[1]["AUC"]  # without the holes' cube the flattering voxels count


def _hole_cube(tmp_path, target, label):
    path = str(tmp_path / "holes.nc")
    write_cube(path, target.grid, label=label)
    return path


def test_synth_writes_the_drill_hole_table_beside_the_slices(tmp_path):
    assert main(["synth", "--out", str(tmp_path), "--shape", "6x12x12", "--seed", "2", "--holes", "3",
                 "--hole-placement", "anomaly", "--hole-dip", "70"]) == 0
    with open(tmp_path / "target_drill_holes.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["x", "y", "z", "ore", "grade", "hole_id"]
    assert {row["hole_id"] for row in rows} == {"DH01", "DH02", "DH03"}
    assert all((float(row["grade"]) >= GRADE_CUTOFF) == (row["ore"] == "1") for row in rows)
    assert (tmp_path / "target").is_dir() and (tmp_path / "source").is_dir()
