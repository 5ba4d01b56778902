import numpy as np
import pytest

from core.errors import Mpm3dError
from core.grid import Grid
from core.targets import extract_targets, voxel_points


def make_grid(shape=(6, 10, 12)) -> Grid:
    """10 m columns and rows, 20 m levels from 0 m down; x from 1005, y from 2095 (centres)."""
    nz, ny, nx = shape
    return Grid(
        crs="EPSG:32650",
        x=1005.0 + 10.0 * np.arange(nx),
        y=2095.0 - 10.0 * np.arange(ny),
        z=-20.0 * np.arange(nz),
    )


def two_bodies(grid: Grid) -> np.ndarray:
    """A big 2x3x4 body of 0.8 and a small 2x2x2 body of 0.9; the big one has more mass."""
    p = np.full(grid.shape, 0.1)
    p[1:3, 2:5, 1:5] = 0.8  # 24 voxels, mass 19.2
    p[3:5, 6:8, 8:10] = 0.9  # 8 voxels, mass 7.2
    p[0, 0, 0] = np.nan
    return p


def test_two_planted_bodies_are_ranked_with_volume_and_centroid():
    grid = make_grid()
    targets = extract_targets(two_bodies(grid), grid, threshold=0.5)
    assert [t["rank"] for t in targets] == [1, 2]
    big, small = targets
    assert big["n_voxels"] == 24 and small["n_voxels"] == 8
    assert big["volume_m3"] == pytest.approx(24 * 10 * 10 * 20)
    assert (big["x"], big["y"], big["z"]) == pytest.approx((grid.x[1:5].mean(), grid.y[2:5].mean(), -30.0))
    assert (small["x"], small["y"], small["z"]) == pytest.approx(
        (grid.x[8:10].mean(), grid.y[6:8].mean(), -70.0)
    )
    assert big["top_z"] == -20.0 and big["bottom_z"] == -40.0
    assert small["mean_prob"] == pytest.approx(0.9) and small["max_prob"] == pytest.approx(0.9)
    assert big["ore_share"] is None and big["known_ore_voxels"] is None


def test_centroid_is_probability_weighted():
    grid = make_grid()
    p = np.zeros(grid.shape)
    p[2, 4, 3] = 0.9
    p[2, 4, 4] = 0.3
    (target,) = extract_targets(p, grid, threshold=0.2)
    assert target["x"] == pytest.approx((0.9 * grid.x[3] + 0.3 * grid.x[4]) / 1.2)
    assert target["mean_prob"] == pytest.approx(0.6)


def test_top_percent_selects_the_best_voxels():
    grid = make_grid()
    p = two_bodies(grid)
    n_finite = np.isfinite(p).sum()
    targets = extract_targets(p, grid, top_percent=100 * 8 / n_finite)
    assert len(targets) == 1 and targets[0]["n_voxels"] == 8 and targets[0]["max_prob"] == pytest.approx(0.9)
    assert len(extract_targets(p, grid, top_percent=100 * 32 / n_finite)) == 2


def test_min_voxels_drops_small_bodies():
    grid = make_grid()
    targets = extract_targets(two_bodies(grid), grid, threshold=0.5, min_voxels=10)
    assert len(targets) == 1 and targets[0]["n_voxels"] == 24 and targets[0]["rank"] == 1


def test_diagonal_neighbours_form_one_body():
    grid = make_grid()
    p = np.zeros(grid.shape)
    p[1, 1, 1] = p[2, 2, 2] = p[3, 3, 3] = 1.0  # touching only at corners
    p[1, 8, 8] = 1.0  # on its own
    targets = extract_targets(p, grid, threshold=0.5)
    assert [t["n_voxels"] for t in targets] == [3, 1]
    assert targets[0]["top_z"] == -20.0 and targets[0]["bottom_z"] == -60.0


def test_labels_give_ore_share():
    grid = make_grid()
    p = two_bodies(grid)
    label = np.full(grid.shape, -1, np.int8)
    label[1, 2:5, 1:5] = 1  # 12 ore voxels in the big body
    label[2, 2, 1:5] = 0  # 4 barren voxels in the big body
    big, small = extract_targets(p, grid, threshold=0.5, label=label)
    assert big["known_ore_voxels"] == 12 and big["ore_share"] == pytest.approx(12 / 16)
    assert small["known_ore_voxels"] == 0 and small["ore_share"] is None


def test_bad_arguments_are_clear_errors():
    grid = make_grid()
    p = two_bodies(grid)
    with pytest.raises(Mpm3dError, match="either"):
        extract_targets(p, grid)
    with pytest.raises(Mpm3dError, match="either"):
        extract_targets(p, grid, threshold=0.5, top_percent=10)
    with pytest.raises(Mpm3dError, match="percentage"):
        extract_targets(p, grid, top_percent=0)
    with pytest.raises(Mpm3dError, match="grid"):
        extract_targets(p[:, :, :-1], grid, threshold=0.5)
    with pytest.raises(Mpm3dError, match="label"):
        extract_targets(p, grid, threshold=0.5, label=np.zeros((2, 2, 2), np.int8))


def test_nothing_above_the_threshold_gives_no_targets():
    grid = make_grid()
    assert extract_targets(two_bodies(grid), grid, threshold=0.95) == []


def test_voxel_points_are_voxel_centres_above_the_threshold():
    grid = make_grid()
    x, y, z, p, values = voxel_points(two_bodies(grid), grid, threshold=0.85)
    assert len(x) == len(y) == len(z) == len(p) == 8 and values == {}
    assert set(np.round(x, 6)) == set(grid.x[8:10]) and set(z) == {-60.0, -80.0}
    assert np.all(p == 0.9)


def test_float32_cube_gives_the_same_targets():
    grid = make_grid()
    p = two_bodies(grid)
    as_32 = extract_targets(p.astype(np.float32), grid, threshold=0.5)
    as_64 = extract_targets(p, grid, threshold=0.5)
    assert [t["n_voxels"] for t in as_32] == [t["n_voxels"] for t in as_64]
    assert as_32[0]["x"] == pytest.approx(as_64[0]["x"])
    assert as_32[0]["mass"] == pytest.approx(as_64[0]["mass"])


def test_targets_carry_their_uncertainty_and_novelty_and_an_uncertainty_cut_splits_them():
    grid = make_grid()
    p = two_bodies(grid)
    uncertainty = np.where(p > 0.5, 0.02, 0.3)
    zi, yi, xi = np.argwhere(p >= 0.5)[0]
    uncertainty[zi, yi, xi] = 0.2  # one disputed voxel of the first body
    novelty = np.full(grid.shape, 0.1)
    plain = extract_targets(p, grid, threshold=0.5)
    carried = extract_targets(p, grid, threshold=0.5, companions={"uncertainty": uncertainty, "novelty": novelty})
    assert [t["n_voxels"] for t in carried] == [t["n_voxels"] for t in plain]
    first = next(t for t in carried if t["n_voxels"] == max(c["n_voxels"] for c in carried))
    assert first["mean_uncertainty"] == pytest.approx((0.02 * (first["n_voxels"] - 1) + 0.2) / first["n_voxels"])
    assert all(t["mean_novelty"] == pytest.approx(0.1) for t in carried)
    cut = extract_targets(p, grid, threshold=0.5, companions={"uncertainty": uncertainty}, max_uncertainty=0.1)
    assert sum(t["n_voxels"] for t in cut) == sum(t["n_voxels"] for t in plain) - 1
    assert all(t["mean_uncertainty"] == pytest.approx(0.02) for t in cut)
    with pytest.raises(Mpm3dError, match="An uncertainty cut-off needs a cube with an 'uncertainty' variable"):
        extract_targets(p, grid, threshold=0.5, max_uncertainty=0.1)
    *_, values = voxel_points(p, grid, 0.85, {"uncertainty": uncertainty})
    assert set(values) == {"uncertainty"} and np.all(values["uncertainty"] <= 0.2)
