"""The synthetic pair's profiles do what the benchmark of adaptation relies on: the measurement profile shifts
only the evidence, the concept-only control only where ore sits."""

import numpy as np
import pytest
from mpm3d.core.data.grid import LABEL_ORE, Cube
from mpm3d.core.data.synthetic import (
    FAULT_GEOMETRY_PARTS,
    MEASUREMENT_PARTS,
    PAIR_PROFILES,
    PROFILES,
    synthetic_deposit,
    synthetic_pair,
)
from mpm3d.core.errors import Mpm3dError

QUANTILES = np.linspace(0.05, 0.95, 19)


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[Cube, Cube]]:
    return {profile: synthetic_pair(**PROFILES["test"], seed=0, profile=profile) for profile in PAIR_PROFILES}


def values(cube: Cube, name: str) -> np.ndarray:
    return cube.features[cube.feature_names.index(name)][cube.valid]


def z_quantile_gap(source: Cube, target: Cube, name: str) -> float:
    """The largest gap between the two deposits' z-scored quantiles of one feature: what per-deposit
    standardisation leaves of its shift."""
    def z_quantiles(cube):
        v = values(cube, name)
        return np.quantile((v - v.mean()) / v.std(), QUANTILES)

    return float(np.abs(z_quantiles(source) - z_quantiles(target)).max())


def ore_depth(cube: Cube) -> float:
    """How far into the footwall the ore sits: the median modelled fault distance of ore voxels (m)."""
    distance = cube.features[cube.feature_names.index("fault_distance")]
    return float(-np.median(distance[cube.label == LABEL_ORE]))


def test_every_profile_has_the_same_source(pairs):
    sources = [source for source, _ in pairs.values()]
    for other in sources[1:]:
        np.testing.assert_array_equal(other.features, sources[0].features)
        np.testing.assert_array_equal(other.label, sources[0].label)


def test_measurement_target_is_not_a_z_scored_copy_of_the_source(pairs):
    source, target = pairs["measurement"]
    assert target.attrs["profile"] == "measurement"
    assert target.attrs["measurement_parts"] == list(MEASUREMENT_PARTS)
    # alteration in six classes at uneven cuts, susceptibility in log units
    assert set(np.unique(values(target, "alteration"))) <= {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
    assert values(target, "susceptibility").max() < 5 < values(source, "susceptibility").max()
    assert target.attrs["feature_units"]["susceptibility"].startswith("log10")
    _, concept = pairs["concept_only"]
    for name in ("alteration", "susceptibility", "density"):
        assert z_quantile_gap(source, target, name) > 0.3
        assert z_quantile_gap(source, target, name) > 1.5 * z_quantile_gap(source, concept, name)
    # density leaks susceptibility: the two correlate far more than on the source
    def correlation(cube):
        return abs(np.corrcoef(values(cube, "density"), values(cube, "susceptibility"))[0, 1])
    assert correlation(target) > correlation(source) + 0.2


def test_measurement_target_keeps_the_source_geology(pairs):
    """Same deposit parameters, new stream: ore as far into the footwall and as frequent as on the source."""
    source, target = pairs["measurement"]
    assert abs(ore_depth(target) - ore_depth(source)) < 20
    assert abs((target.label == LABEL_ORE).mean() - (source.label == LABEL_ORE).mean()) < 0.005
    assert not np.array_equal(values(target, "fault_distance")[:100], values(source, "fault_distance")[:100])


def test_concept_only_measures_alike_and_moves_only_the_ore(pairs):
    source, target = pairs["concept_only"]
    for name in source.feature_names:
        assert z_quantile_gap(source, target, name) < 0.25, name
    measured = pairs["measurement"][1]
    for name in ("fault_distance", "fault_dip", "fault_dip_change", "contact_distance"):  # the same geometry
        np.testing.assert_array_equal(values(target, name), values(measured, name))
    assert ore_depth(target) > ore_depth(source) + 40


def test_each_measurement_part_switches_alone():
    source = synthetic_deposit("source", **PROFILES["test"], seed=0)
    plain = synthetic_deposit("target", **PROFILES["test"], seed=0, profile="measurement", measurement_parts=())
    log_only = synthetic_deposit("target", **PROFILES["test"], seed=0, profile="measurement",
                                 measurement_parts=("log_susceptibility",))
    np.testing.assert_allclose(values(log_only, "susceptibility"), np.log10(1 + values(plain, "susceptibility")),
                               rtol=1e-5)
    for name in ("density", "alteration", "fracture_density"):
        np.testing.assert_array_equal(values(log_only, name), values(plain, name))
    assert z_quantile_gap(source, plain, "susceptibility") < 0.25
    with pytest.raises(Mpm3dError, match="unknown measurement part.*colour"):
        synthetic_pair(**PROFILES["test"], profile="measurement", measurement_parts=("colour",))
    with pytest.raises(Mpm3dError, match="unknown synthetic pair profile 'easy'"):
        synthetic_pair(**PROFILES["test"], profile="easy")


def test_fault_geometry_target_exports_the_ore_controls_otherwise(pairs):
    """Only the fault model's distance and dip change differ from a plain twin, in ways z-scoring leaves and an
    order-keeping map of each layer undoes: the distance is a monotone transform of the twin's."""
    source, target = pairs["fault_geometry"]
    assert target.attrs["measurement_parts"] == list(FAULT_GEOMETRY_PARTS)
    twin = synthetic_deposit("target", **PROFILES["test"], seed=0, profile="fault_geometry", measurement_parts=())
    distance, plain = values(target, "fault_distance"), values(twin, "fault_distance")
    np.testing.assert_allclose(distance, np.sign(plain) * np.log10(1 + np.abs(plain) / 10.0), rtol=1e-5, atol=1e-6)
    assert target.attrs["feature_units"]["fault_distance"].startswith("log10")
    assert z_quantile_gap(source, target, "fault_distance") > 0.3 > z_quantile_gap(source, twin, "fault_distance")
    assert not np.allclose(values(target, "fault_dip_change"), values(twin, "fault_dip_change"))
    for name in ("fault_dip", "contact_distance", "density", "susceptibility", "alteration", "fracture_density"):
        np.testing.assert_array_equal(values(target, name), values(twin, name))
    np.testing.assert_array_equal(target.label, twin.label)
    assert abs(ore_depth(twin) - ore_depth(source)) < 20
