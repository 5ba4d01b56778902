import json

import numpy as np
import pytest
from mpm3d.core.data.grid import Cube
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.transfer import HIST_BINS, embedding_pad, feature_shift, transfer_verdict

AGREE = "After per-deposit standardisation the feature distributions agree"
BLIND_SPOT = "no label-free method can see"


@pytest.fixture(scope="module")
def pair():
    return synthetic_pair(shape=(8, 24, 24), voxel_size=(50.0, 70.0, 70.0), seed=1)


def like(cube: Cube, features: np.ndarray) -> Cube:
    """The same grid and feature names with other evidence."""
    return Cube(cube.grid, features, list(cube.feature_names))


def test_identical_deposits_show_no_shift_and_no_warning(pair):
    source, _ = pair
    shift = feature_shift(source, like(source, source.features.copy()))
    assert list(shift["features"]) == source.feature_names
    assert shift["n_source"] == shift["n_target"] == int(source.valid.sum())
    for comparison in shift["features"].values():
        for kind in ("raw", "standardised"):
            assert comparison[kind]["smd"] == pytest.approx(0.0, abs=1e-12)
            assert comparison[kind]["ks"] == 0.0
            # the source's 0.5-99.5 % range leaves at most 1 % of its own values outside (less where values tie)
            assert comparison[kind]["share_outside"] <= 0.01 + 2 / shift["n_target"]
            assert comparison[kind]["source_hist"] == comparison[kind]["target_hist"]
            assert len(comparison[kind]["edges"]) == HIST_BINS + 1
            assert sum(comparison[kind]["source_hist"]) == pytest.approx(1.0, abs=0.003)
    assert shift["pad"]["raw"] < 0.1 and shift["pad"]["standardised"] < 0.1
    verdict = transfer_verdict(shift, {})
    assert len(verdict) == 1
    assert verdict[0].startswith(AGREE) and "largest KS 0.00" in verdict[0] and BLIND_SPOT in verdict[0]
    assert not any(name in verdict[0] for name in source.feature_names)
    json.dumps(shift, allow_nan=False)  # goes into reports and model provenance as it is


def test_a_shift_of_five_sds_is_seen_raw_and_gone_after_standardisation(pair):
    source, _ = pair
    k = source.feature_names.index("susceptibility")
    features = source.features.copy()
    features[k] += 5.0 * source.features[k][source.valid].std()
    shift = feature_shift(source, like(source, features))
    raw, standardised = shift["features"]["susceptibility"]["raw"], shift["features"]["susceptibility"]["standardised"]
    assert raw["smd"] == pytest.approx(5.0, abs=0.01)
    assert raw["ks"] > 0.95 and raw["share_outside"] > 0.95 and raw["share_above"] == raw["share_outside"]
    assert abs(standardised["smd"]) < 1e-9 and standardised["ks"] < 0.01
    assert standardised["share_outside"] == pytest.approx(0.01, abs=0.003)
    untouched = shift["features"]["density"]["raw"]
    assert untouched["smd"] == pytest.approx(0.0, abs=1e-12) and untouched["ks"] == 0.0
    assert shift["pad"]["raw"] > 1.5 and shift["pad"]["standardised"] < 0.1

    verdict = transfer_verdict(shift, {})
    named = [sentence for sentence in verdict if "susceptibility" in sentence]
    assert len(named) == 1 and named[0].startswith("In raw values the target's susceptibility (KS 1.00, SMD +5.0")
    assert "calibration or units" in named[0]
    assert verdict[-1].startswith(AGREE)  # what the model sees agrees
    assert not any(name in " ".join(verdict) for name in source.feature_names if name != "susceptibility")


def test_half_of_the_target_beyond_the_source_range_is_measured_and_named(pair):
    source, _ = pair
    k = source.feature_names.index("density")
    values = source.features[k][source.valid]
    features = source.features.copy()
    features[k][:, :12, :] += 1.5 * (values.max() - values.min())  # the northern half: above every source value
    half = source.valid[:, :12, :].sum() / source.valid.sum()
    shift = feature_shift(source, like(source, features))
    raw = shift["features"]["density"]["raw"]
    # the moved half, plus the 0.5 % of the other half above the source's 99.5 % quantile
    assert raw["share_outside"] == pytest.approx(half + 0.005 * (1 - half), abs=0.005)
    assert raw["share_above"] == raw["share_outside"] and raw["share_below"] == 0.0
    assert raw["ks"] == pytest.approx(half, abs=0.01)
    standardised = shift["features"]["density"]["standardised"]
    assert standardised["ks"] > 0.1  # one mode became two: standardisation cannot undo that

    verdict = transfer_verdict(shift, {})
    raw_sentence = next(s for s in verdict if s.startswith("In raw values"))
    assert f"density (KS 0.50, SMD +1.6, {100 * raw['share_outside']:.0f} % outside the source's range)" in raw_sentence
    assert any(s.startswith("Even after per-deposit standardisation") and "density (KS 0.19)" in s for s in verdict)
    assert verdict[-1].startswith("Even where the evidence agrees") and BLIND_SPOT in verdict[-1]
    assert not any(name in " ".join(verdict) for name in source.feature_names if name != "density")


def test_features_must_match(pair):
    source, target = pair
    renamed = Cube(target.grid, target.features, list(reversed(target.feature_names)))
    with pytest.raises(Mpm3dError, match="same features in the same order"):
        feature_shift(source, renamed)


def test_the_synthetic_target_differs_where_it_was_built_to(pair):
    """The target logs alteration in classes and its fault is steeper: both seen, also after standardisation."""
    shift = feature_shift(*pair)
    features = shift["features"]
    assert features["fault_dip"]["raw"]["smd"] > 1.5
    assert features["alteration"]["raw"]["ks"] > 0.5 and features["alteration"]["standardised"]["ks"] > 0.2
    assert features["contact_distance"]["standardised"]["ks"] < 0.05
    assert shift["pad"]["raw"] > 1.5 and shift["pad"]["standardised"] < 0.2
    verdict = transfer_verdict(shift)
    assert "alteration" in verdict[0] and "extrapolates" in verdict[0]


def quiet_shift() -> dict:
    """A shift with nothing to warn about, so only the extras speak."""
    comparison = {"smd": 0.0, "ks": 0.02, "share_outside": 0.01, "share_below": 0.005, "share_above": 0.005}
    return {"features": {"dip": {"raw": comparison, "standardised": comparison}},
            "pad": {"raw": 0.05, "standardised": 0.01}}


def member(best_auc: float, best_epoch: int, epochs: int = 4) -> dict:
    """One member as training reports it: its epochs and the validation AUC of the epoch it kept."""
    history = [{"epoch": e, "val_auc": best_auc if e == best_epoch else best_auc - 0.01} for e in range(1, epochs + 1)]
    return {"history": history, "best_epoch": best_epoch, "val_auc": best_auc}


def test_extras_each_add_their_sentence_above_their_threshold():
    extras = {
        "ensemble": [member(0.95, 2), member(0.88, 3), member(0.91, 4)],
        "ensemble_spread": 0.12,
        "novelty": {"share_above_half": 0.08, "mean": 0.21, "domain_auc": 0.83,
                    "importance": {"dip": 0.1, "density": 0.5, "alteration": 0.3}},
        "embedding_pad": {"before": 1.4, "after": 0.9},
    }
    verdict = transfer_verdict(quiet_shift(), extras)
    text = "\n".join(verdict)
    assert "Novelty is above 0.5 in 8.0 % of the target volume (mean novelty 0.21), driven most by density and " \
           "alteration" in text
    assert "domain AUC 0.83" in text
    assert "members disagree strongly on the target (mean spread 0.12" in text
    assert "validation AUC ranges from 0.88 to 0.95" in text
    assert "PAD 1.40 before training, 0.90 after" in text
    assert verdict[-1].startswith(AGREE) and len(verdict) == 6


def test_extras_below_their_thresholds_or_absent_say_nothing():
    calm = {
        "ensemble": [member(0.95, 2), member(0.93, 3)],
        "ensemble_spread": 0.05,
        "novelty": {"share_above_half": 0.02, "domain_auc": 0.6},
        "embedding_pad": {"before": 1.4, "after": 0.1},
    }
    expected = transfer_verdict(quiet_shift(), {})
    assert len(expected) == 1 and expected[0].startswith(AGREE)
    assert transfer_verdict(quiet_shift(), calm) == expected
    empty = {"novelty": {}, "embedding_pad": {"before": 0.3}, "ensemble": []}
    assert transfer_verdict(quiet_shift(), empty) == expected


def test_an_embedding_that_grew_apart_is_said_so():
    verdict = transfer_verdict(quiet_shift(), {"embedding_pad": {"before": 0.4, "after": 0.9}})
    assert "training made them more separable" in verdict[0]


def test_embedding_pad_before_and_after_training_and_none_for_the_forest(pair):
    """Identical deposits look alike to any network (PAD near 0); the 'before' network is rebuilt from the seed
    without touching the caller's random state, and the forest has no embedding to measure."""
    import torch
    from mpm3d.core.learning.training import train
    from mpm3d.core.settings import TrainConfig

    source, target = pair
    config = TrainConfig(method="dann", patch_size=5, epochs=2, batch_size=32, device="cpu", seed=3, members=1)
    model = train(source, target, config).model
    torch.manual_seed(11)
    expected_next = torch.rand(1)
    torch.manual_seed(11)
    pad = embedding_pad(model, source, target, seed=3)
    assert torch.equal(torch.rand(1), expected_next)
    assert set(pad) == {"before", "after"} and all(0.0 <= value <= 2.0 for value in pad.values())
    assert pad == embedding_pad(model, source, target, seed=3)
    twin = like(source, source.features.copy())
    same = embedding_pad(train(source, twin, config).model, source, twin, seed=3)
    assert same["before"] < 0.1 and same["after"] < 0.1
    forest = train(source, target, TrainConfig(members=1, method="rf", patch_size=5, batch_size=32, seed=3)).model
    assert embedding_pad(forest, source, target) is None
