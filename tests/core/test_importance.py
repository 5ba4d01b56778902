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
