"""Evidence importance by permutation (core/learning/importance.py): a layer the model cannot read costs nothing,
the target's labels never enter, groups move as one, and the source baseline is training's own validation AUC."""

import copy

import numpy as np
import pytest
import torch
from mpm3d.core.data.grid import Cube
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.importance import evidence_importance, layer_units
from mpm3d.core.learning.training import TrainConfig, train

QUICK = {"epochs": 2, "patch_size": 5, "batch_size": 64, "members": 1, "device": "cpu"}


def _config(method: str, **changes) -> TrainConfig:
    return TrainConfig(method=method, **{**QUICK, **changes})


@pytest.fixture(scope="module")
def cnn(small_pair):
    source, target = small_pair
    config = _config("cnn")
    return train(source, target, config), config


def _numbers(importance: dict) -> list:
    return [(layer["layer"], layer["source_auc_drop"], layer["target_change"]) for layer in importance["layers"]]


def test_a_layer_the_network_cannot_read_costs_nothing(small_pair, cnn):
    source, target = small_pair
    result, config = cnn
    model = copy.deepcopy(result.model)
    unused = source.feature_names.index("density")
    with torch.no_grad():  # the first convolution no longer reads the layer: the model never uses it
        model.networks[0].convs[0].weight[:, unused] = 0.0
    importance = evidence_importance(model, source, target, config)
    by_name = {layer["layer"]: layer for layer in importance["layers"]}
    assert by_name["density"]["source_auc_drop"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert by_name["density"]["source_auc_drop"]["sd"] == pytest.approx(0.0, abs=1e-9)
    assert by_name["density"]["target_change"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert max(layer["target_change"]["mean"] for layer in importance["layers"]) > 1e-3  # the others do move it
    assert np.shape(by_name["alteration"]["source_auc_drop"]["values"]) == (1, 3)


def test_the_baseline_is_trainings_validation_auc(small_pair, cnn):
    source, target = small_pair
    result, config = cnn
    importance = evidence_importance(result.model, source, target, config, repeats=1)
    assert importance["baseline_auc"][0] == pytest.approx(result.val_auc, abs=1e-6)


def test_a_noise_layer_is_unimportant_to_the_forest(small_pair):
    source, target = small_pair
    rng = np.random.default_rng(5)
    noisy = source.features.copy()
    noise = source.feature_names.index("density")
    noisy[noise] = np.where(np.isfinite(noisy[noise]), rng.normal(size=noisy[noise].shape), np.nan)
    source = Cube(grid=source.grid, features=noisy, feature_names=list(source.feature_names), label=source.label)
    config = _config("rf")
    importance = evidence_importance(train(source, target, config).model, source, target, config)
    by_name = {layer["layer"]: layer["source_auc_drop"] for layer in importance["layers"]}
    assert abs(by_name["density"]["mean"]) <= max(3 * by_name["density"]["sd"], 0.005)
    assert by_name["alteration"]["mean"] > 10 * abs(by_name["density"]["mean"])


def test_target_labels_never_enter(small_pair):
    source, target = small_pair
    config = _config("rf")
    model = train(source, target, config).model
    rng = np.random.default_rng(3)
    results = []
    for label in (target.label, None, rng.permutation(target.label.ravel()).reshape(target.label.shape)):
        relabelled = Cube(grid=target.grid, features=target.features, feature_names=list(target.feature_names),
                          label=label)
        results.append(_numbers(evidence_importance(model, source, relabelled, config)))
    assert results[0] == results[1] == results[2]


def test_a_group_is_permuted_as_one(small_pair, cnn):
    source, target = small_pair
    result, config = cnn
    fault = ["fault_distance", "fault_dip", "fault_dip_change"]
    grouped = evidence_importance(result.model, source, target, config, groups={"fault geometry": fault}, repeats=1)
    names = [layer["layer"] for layer in grouped["layers"]]
    assert names[0] == "fault geometry" and not set(fault) & set(names) and len(names) == 6
    assert grouped["layers"][0]["features"] == [0, 1, 2]
    alone = evidence_importance(result.model, source, target, config, groups={"just alteration": ["alteration"]},
                                repeats=1)
    plain = evidence_importance(result.model, source, target, config, repeats=1)
    assert _numbers(alone)[6][1:] == _numbers(plain)[6][1:]


def test_groups_must_name_layers_once():
    names = ["a", "b", "c"]
    assert layer_units(names, None) == [("a", [0]), ("b", [1]), ("c", [2])]
    assert layer_units(names, {"bc": ["c", "b"]}) == [("a", [0]), ("bc", [2, 1])]
    with pytest.raises(Mpm3dError, match="not an evidence layer"):
        layer_units(names, {"x": ["d"]})
    with pytest.raises(Mpm3dError, match="two importance groups"):
        layer_units(names, {"x": ["a"], "y": ["a", "b"]})


def test_the_training_report_shows_the_table_for_the_forest_and_a_network(small_pair, cnn, tmp_path):
    from mpm3d.core.results.reports import write_training_report

    source, target = small_pair
    forest_config = _config("rf")
    forest = train(source, target, forest_config)
    for method, result, config in (("rf", forest, forest_config), ("cnn", *cnn)):
        importance = evidence_importance(result.model, source, target, config, repeats=2)
        path = tmp_path / f"{method}.html"
        write_training_report(str(path), result.history, {"method": method, "feature_names": source.feature_names,
                                                           "best_epoch": result.best_epoch, "importance": importance})
        text = path.read_text(encoding="utf-8")
        assert "<h2>Evidence importance</h2>" in text
        assert "<th>source AUC drop (mean \u00b1 SD)</th><th>target mean |change| (mean \u00b1 SD)</th>" in text
        assert all(f"<td>{name}</td>" in text for name in source.feature_names)
        assert 'alt="Evidence importance: source validation AUC drop and target change' in text
        top = max(importance["layers"], key=lambda layer: layer["source_auc_drop"]["mean"])
        first_row = text.split("(mean \u00b1 SD)</th></tr>")[1].split("</tr>")[0]
        assert f"<td>{top['layer']}</td>" in first_row  # largest source drop first


def _figures(source_drops, target_changes) -> dict:
    """An importance result (evidence_importance's shape) with the given means, SD 0."""
    return {"layers": [{"layer": name, "features": [k], "source_auc_drop": {"mean": drop, "sd": 0.0, "values": []},
                        "target_change": {"mean": change, "sd": 0.0, "values": []}}
                       for k, (name, drop, change) in enumerate(zip("abcd", source_drops, target_changes,
                                                                    strict=True))]}


def test_a_layer_whose_share_moves_is_named_in_the_report_and_one_that_stays_is_not(tmp_path):
    from mpm3d.core.learning.importance import SHARE_SHIFT, importance_shares, shifted_layers
    from mpm3d.core.results.reports import write_training_report

    # source drops 0.04, 0.04, 0.02, -0.01 share out 40 %, 40 %, 20 %, 0 %; target changes 0.05, 0.01, 0.03, 0.01
    # share out 50 %, 10 %, 30 %, 10 %: b falls 30 points, a, c and d move 10 points (the threshold, named)
    importance = _figures([0.04, 0.04, 0.02, -0.01], [0.05, 0.01, 0.03, 0.01])
    shares = {share["layer"]: share for share in importance_shares(importance)}
    assert shares["b"]["source_share"] == pytest.approx(0.4) and shares["b"]["target_share"] == pytest.approx(0.1)
    assert shares["d"]["source_share"] == 0.0
    assert SHARE_SHIFT == 0.10
    assert [share["layer"] for share in shifted_layers(importance)] == ["b", "a", "c", "d"]
    assert [share["layer"] for share in shifted_layers(importance, threshold=0.11)] == ["b"]
    quiet = _figures([0.04, 0.04, 0.02, 0.0], [0.042, 0.038, 0.021, 0.001])  # every share within 1 point
    assert shifted_layers(quiet) == []
    for name, figures in (("moved", importance), ("quiet", quiet)):
        write_training_report(str(tmp_path / f"{name}.html"), [], {"method": "rf", "feature_names": list("abcd"),
                                                                   "importance": figures})
    moved, still = ((tmp_path / f"{name}.html").read_text(encoding="utf-8") for name in ("moved", "quiet"))
    assert ("<p>b carries 40.0 % of the evidence importance on the source and 10.0 % on the target: the target map "
            "rests less on this layer") in moved
    assert "<p>a carries 40.0 % of the evidence importance on the source and 50.0 % on the target: the target map " \
           "rests more on this layer" in moved
    assert "differs by 10 percentage points or more" in moved
    assert "of the evidence importance on the source" not in still and "percentage points" not in still


def test_a_layer_held_constant_in_training_has_no_importance(small_pair):
    """A forest trained where a layer is constant over every labelled voxel never splits on it, so the model never
    uses it: shuffling it costs exactly nothing on the source and the target, even with noise put in the layer
    where it is measured, while the other layers do cost something. (A layer constant over the whole cube cannot
    be standardised and is refused, so a few unlabelled voxels carry another value; the network's counterpart is
    test_a_layer_the_network_cannot_read_costs_nothing.)"""
    from mpm3d.core.data.grid import LABEL_UNKNOWN

    source, target = small_pair
    constant = source.feature_names.index("susceptibility")

    def held(cube: Cube, values=None) -> Cube:
        features, label = cube.features.copy(), cube.label.copy()
        valid = np.isfinite(features[constant])
        if values is None:
            values = np.ones(valid.shape, np.float32)
            odd = np.flatnonzero(valid)[:20]  # unlabelled, so never a training sample
            values.flat[odd], label.flat[odd] = 2.0, LABEL_UNKNOWN
        features[constant] = np.where(valid, values, np.nan)
        return Cube(grid=cube.grid, features=features, feature_names=list(cube.feature_names), label=label)

    source, target = held(source), held(target)
    config = _config("rf")
    model = train(source, target, config).model
    splits = model.forest.feature[model.forest.children_left >= 0]
    assert len(splits) and constant not in splits
    rng = np.random.default_rng(4)
    for cubes in ((source, target), [held(cube, rng.normal(size=cube.features[constant].shape))
                                     for cube in (source, target)]):
        importance = evidence_importance(model, *cubes, config)
        by_name = {layer["layer"]: layer for layer in importance["layers"]}
        for side in ("source_auc_drop", "target_change"):
            figure = by_name["susceptibility"][side]
            assert figure["values"] == [[0.0, 0.0, 0.0]] and figure["sd"] == 0.0, (side, figure)
            assert max(layer[side]["mean"] for layer in importance["layers"]) > 1e-3, side
