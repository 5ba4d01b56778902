"""Synthetic deposit pair: what the demo, the tests and the benchmark rely on."""

import re

import numpy as np
import pytest
from mpm3d.core.data.grid import LABEL_ORE, LABEL_UNKNOWN, Cube
from mpm3d.core.data.synthetic import FEATURE_NAMES, PROFILES, synthetic_deposit, synthetic_pair
from mpm3d.core.errors import Mpm3dError
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

TEST_SHAPE = PROFILES["test"]["shape"]
TEST_VOXEL = PROFILES["test"]["voxel_size"]


@pytest.fixture(scope="module")
def pair() -> tuple[Cube, Cube]:
    return synthetic_pair(**PROFILES["test"], seed=0)


def feature(cube: Cube, name: str) -> np.ndarray:
    return cube.features[cube.feature_names.index(name)]


def ore_fraction(cube: Cube) -> float:
    return float((cube.label == LABEL_ORE).sum() / (cube.label != LABEL_UNKNOWN).sum())


def test_profiles_name_sizes_from_quick_to_a_million_voxels():
    assert set(PROFILES) >= {"test", "demo", "bench"}
    assert np.prod(PROFILES["test"]["shape"]) < np.prod(PROFILES["demo"]["shape"])
    assert np.prod(PROFILES["bench"]["shape"]) >= 1_000_000


def test_shapes_dtypes_and_feature_names(pair):
    for cube in pair:
        assert cube.grid.shape == TEST_SHAPE
        assert cube.features.shape == (len(FEATURE_NAMES), *TEST_SHAPE)
        assert cube.features.dtype == np.float32 and cube.label.dtype == np.int8
        assert set(np.unique(cube.label)) == {-1, 0, 1}
        assert cube.feature_names == FEATURE_NAMES
    assert len(FEATURE_NAMES) >= 8 and len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in FEATURE_NAMES)


def test_provenance_in_attrs(pair):
    source, target = pair
    assert source.attrs["kind"] == "source" and target.attrs["kind"] == "target"
    assert source.attrs["seed"] == 0 and source.attrs["generator"] == target.attrs["generator"]
    assert set(source.attrs["feature_units"]) == set(FEATURE_NAMES)


def test_grid_is_georeferenced_on_round_numbers(pair):
    dz, dy, dx = TEST_VOXEL
    for cube in pair:
        grid = cube.grid
        assert grid.crs == "EPSG:4528"
        assert np.all(np.diff(grid.x) == dx) and np.all(np.diff(grid.y) == -dy)
        assert np.all(np.diff(grid.z) == -dz)
        assert grid.pixel_size == (dx, dy)
        assert np.all(grid.x % dx == 0) and np.all(grid.y % dy == 0)
        assert grid.x.min() > 40_500_000 and grid.x.max() < 40_600_000  # zone 40 eastings
        assert grid.y.min() >= 4_130_000 and grid.y.max() < 4_140_000
        assert grid.z[0] < 0  # elevations, positive up: the model starts below sea level
    source, target = (cube.grid for cube in pair)
    assert np.hypot(target.x[0] - source.x[0], target.y[0] - source.y[0]) > 2_000
    assert target.z[0] < source.z[0]  # the target model reaches deeper


def test_ore_is_a_few_per_cent_and_rarer_in_the_target(pair):
    source, target = pair
    assert 0.02 <= ore_fraction(source) <= 0.04
    assert 0.01 <= ore_fraction(target) <= 0.02


def test_same_seed_same_arrays_other_seed_other_arrays(pair):
    again_source, again_target = synthetic_pair(**PROFILES["test"], seed=0)
    for cube, again in ((pair[0], again_source), (pair[1], again_target)):
        assert np.array_equal(cube.features, again.features, equal_nan=True)
        assert np.array_equal(cube.label, again.label)
    alone = synthetic_deposit("target", TEST_SHAPE, TEST_VOXEL, seed=0)
    assert np.array_equal(alone.features, pair[1].features, equal_nan=True)
    other = synthetic_deposit("source", TEST_SHAPE, TEST_VOXEL, seed=1)
    assert not np.array_equal(other.label, pair[0].label)
    assert not np.allclose(np.nan_to_num(other.features), np.nan_to_num(pair[0].features))


def test_nodata_is_consistent_and_small(pair):
    for cube in pair:
        missing = np.isnan(cube.features)
        assert np.array_equal(missing.any(axis=0), missing.all(axis=0))  # a voxel lacks all evidence or none
        assert np.array_equal(missing[0], cube.label == LABEL_UNKNOWN)
        assert 0 < missing[0].mean() < 0.05


def test_evidence_has_its_units_and_ranges(pair):
    source, target = pair
    for cube in pair:
        distance = feature(cube, "fault_distance")
        assert np.nanmin(distance) < -500 and np.nanmax(distance) > 500
        assert np.nanmin(feature(cube, "fault_dip")) > 10 and np.nanmax(feature(cube, "fault_dip")) < 85
        assert np.nanmin(feature(cube, "contact_distance")) >= 0
        assert np.nanmin(feature(cube, "density")) > 2.4 and np.nanmax(feature(cube, "density")) < 3.0
        assert np.nanmin(feature(cube, "susceptibility")) >= 0
        assert np.nanmin(feature(cube, "fracture_density")) >= 0
        assert np.nanmin(feature(cube, "alteration")) >= 0
    assert np.nanmax(feature(source, "alteration")) > 50  # per cent altered
    assert np.nanmax(feature(target, "alteration")) <= 5  # classes 0-5


def test_ore_lies_in_the_footwall_close_to_the_fault(pair):
    for cube in pair:
        distance = feature(cube, "fault_distance")
        ore = distance[cube.label == LABEL_ORE]
        assert -150 < ore.mean() < 0
        assert np.mean(ore < 0) > 0.8
        assert np.abs(ore).mean() < 0.5 * np.nanmean(np.abs(distance[cube.label == 0]))


def test_same_ore_zone_moves_only_the_target_ore_towards_the_fault(pair):
    """The benchmark's ablation: target ore as close to the fault as the source's, the geometry unchanged."""
    source, target = pair
    source_again, moved = synthetic_pair(**PROFILES["test"], seed=0, same_ore_zone=True)
    np.testing.assert_array_equal(source_again.label, source.label)
    np.testing.assert_array_equal(source_again.features, source.features)

    def ore_depth(cube):
        return -np.median(feature(cube, "fault_distance")[cube.label == LABEL_ORE])

    assert ore_depth(moved) < ore_depth(target) - 30
    assert abs(ore_depth(moved) - ore_depth(source)) < abs(ore_depth(target) - ore_depth(source)) / 2
    for name in ("fault_distance", "fault_dip", "contact_distance"):  # the geometry; alteration follows ore
        np.testing.assert_array_equal(feature(moved, name), feature(target, name))
    assert moved.attrs["same_ore_zone"] and not target.attrs["same_ore_zone"]


def test_ore_favours_dip_changes_from_steep_to_gentle(pair):
    for cube in pair:
        dip_change = feature(cube, "fault_dip_change")
        assert dip_change[cube.label == LABEL_ORE].mean() < np.nanmean(dip_change) - 3


def test_target_fault_is_steeper(pair):
    source, target = pair
    assert np.nanmean(feature(target, "fault_dip")) > np.nanmean(feature(source, "fault_dip")) + 10


def labelled_voxels(cube: Cube, where: np.ndarray, rng: np.random.Generator, at_most: int):
    """Features and labels of a random subsample of the labelled voxels inside ``where``."""
    index = np.flatnonzero(where & (cube.label != LABEL_UNKNOWN))
    index = rng.choice(index, min(at_most, len(index)), replace=False)
    return cube.features.reshape(len(cube.feature_names), -1)[:, index].T, cube.label.ravel()[index]


def test_a_forest_trained_on_the_source_loses_accuracy_on_the_target(pair):
    """The domain shift: source-trained forest vs one trained on the other half of the target itself."""
    source, target = pair
    rng = np.random.default_rng(0)
    east_half = np.broadcast_to(target.grid.x >= np.median(target.grid.x), target.grid.shape)
    test_features, test_labels = labelled_voxels(target, east_half, rng, at_most=np.inf)

    def target_auc(training) -> float:
        forest = RandomForestClassifier(n_estimators=100, min_samples_leaf=10, n_jobs=2, random_state=0)
        return roc_auc_score(test_labels, forest.fit(*training).predict_proba(test_features)[:, 1])

    everywhere = np.ones(source.grid.shape, bool)
    transferred = target_auc(labelled_voxels(source, everywhere, rng, at_most=8000))
    in_domain = target_auc(labelled_voxels(target, ~east_half, rng, at_most=8000))
    assert in_domain > 0.85
    assert transferred < in_domain


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"kind": "neighbour"}, r"^unknown synthetic deposit kind 'neighbour': use one of \['source', 'target'\]$"),
        ({"kind": "source", "shape": (16, 40)}, r"^a synthetic deposit needs at least 2 voxels along z, y and x, "
                                                r"not \(16, 40\)$"),
        ({"kind": "source", "shape": (1, 40, 40)}, r"needs at least 2 voxels along z, y and x, not \(1, 40, 40\)$"),
        ({"kind": "source", "voxel_size": (50.0, 0.0, 40.0)}, r"^voxel sizes \(dz, dy, dx\) must be positive, "
                                                              r"not \(50\.0, 0\.0, 40\.0\)$"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(arguments, message):
    with pytest.raises(Mpm3dError, match=message):
        synthetic_deposit(**arguments)
