import numpy as np
import pytest
from mpm3d.core.data.grid import Grid
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.results.targets import extract_targets, footprint_wkt, separate_bodies, voxel_points
from osgeo import ogr


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
    """A big 2x3x4 body of 0.8 and a small 2x2x2 body of 0.9, both inside the model (no floor, no side)."""
    p = np.full(grid.shape, 0.1)
    p[1:3, 2:5, 1:5] = 0.8  # 24 voxels, mass above a 0.5 cut 7.2
    p[3:5, 6:8, 8:10] = 0.9  # 8 voxels, mass above a 0.5 cut 3.2
    p[0, 0, 0] = np.nan
    return p


def bridged(grid: Grid, bridge: float) -> np.ndarray:
    """Two 3x3x3 blocks of 0.9 on one level band, joined by a one-voxel bridge of probability ``bridge``."""
    p = np.full(grid.shape, 0.1)
    p[1:4, 2:5, 1:4] = 0.9
    p[1:4, 2:5, 7:10] = 0.9
    p[2, 3, 4:7] = bridge
    return p


def area_and_validity(wkt: str) -> tuple[float, bool]:
    geometry = ogr.CreateGeometryFromWkt(wkt)
    return geometry.GetArea(), geometry.IsValid()


def test_two_planted_bodies_are_ranked_with_volume_centroid_depth_and_footprint():
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
    assert big["top_z"] == -20.0 and big["bottom_z"] == -40.0 and big["depth_m"] == 20.0
    assert small["depth_m"] == 60.0
    assert small["mean_prob"] == pytest.approx(0.9) and small["max_prob"] == pytest.approx(0.9)
    assert big["mass_above_cut"] == pytest.approx(24 * 0.3) and small["mass_above_cut"] == pytest.approx(8 * 0.4)
    assert big["ore_share"] is None and big["known_ore_voxels"] is None
    assert not any(t["open_at_depth"] or t["at_edge"] for t in targets)
    # The footprint is the 3 x 4 columns of the big body: 12 cells of 10 x 10 m.
    assert big["footprint_m2"] == 1200.0 and area_and_validity(big["footprint_wkt"]) == (1200.0, True)
    footprint = ogr.CreateGeometryFromWkt(big["footprint_wkt"])
    assert footprint.GetEnvelope() == (1010.0, 1050.0, 2050.0, 2080.0)  # (min x, max x, min y, max y)


def test_two_bodies_joined_by_a_thin_bridge_are_two_targets():
    grid = make_grid()
    p = bridged(grid, bridge=0.6)
    split = extract_targets(p, grid, threshold=0.5)
    assert len(split) == 2 and sum(t["n_voxels"] for t in split) == 2 * 27 + 3
    left, right = sorted(split, key=lambda t: t["x"])
    assert left["x"] < grid.x[4] < grid.x[6] < right["x"]
    assert [t["max_prob"] for t in split] == pytest.approx([0.9, 0.9])
    # Connected bodies (no splitting) see one body through the bridge.
    (joined,) = extract_targets(p, grid, threshold=0.5, min_drop=1.0)
    assert joined["n_voxels"] == 2 * 27 + 3


def test_a_dip_smaller_than_the_minimum_drop_keeps_one_body():
    grid = make_grid()
    assert len(extract_targets(bridged(grid, bridge=0.88), grid, threshold=0.5, min_drop=0.05)) == 1
    assert len(extract_targets(bridged(grid, bridge=0.88), grid, threshold=0.5, min_drop=0.01)) == 2


def test_a_small_bump_on_a_flank_is_part_of_its_body_not_a_target_or_lost():
    grid = make_grid()
    p = np.full(grid.shape, 0.1)
    p[1:4, 2:5, 1:5] = 0.7  # 36 voxels
    p[2, 3, 5] = 0.6  # a saddle
    p[2, 3, 6] = 0.95  # a single bright voxel beyond it
    (body,) = extract_targets(p, grid, threshold=0.5, min_voxels=5)
    assert body["n_voxels"] == 38 and body["max_prob"] == pytest.approx(0.95)
    assert len(extract_targets(p, grid, threshold=0.5, min_voxels=1)) == 2


def test_separate_bodies_numbers_them_in_cube_order_and_leaves_the_rest_zero():
    grid = make_grid()
    p = bridged(grid, bridge=0.6)
    bodies, n = separate_bodies(p, p >= 0.5, min_drop=0.05)
    assert n == 2 and bodies[1, 2, 1] == 1 and bodies[1, 2, 7] == 2
    assert np.all(bodies[p < 0.5] == 0) and np.all(bodies[p >= 0.5] > 0)


def test_bodies_reaching_the_floor_or_a_side_are_flagged():
    grid = make_grid()
    p = np.full(grid.shape, 0.1)
    p[4:6, 2:4, 2:4] = 0.8  # reaches the bottom level
    p[1:3, 4:6, 10:12] = 0.8  # reaches the eastern side
    p[1:3, 7:9, 5:7] = 0.8  # inside
    p[3, 7:9, 5:7] = np.nan  # ... but nothing is predicted below it: the model ends there too
    p[1:3, 0:2, 6:8] = 0.8  # reaches the northern side
    targets = extract_targets(p, grid, threshold=0.5)
    # (open at depth, at the edge, bottom elevation, northing of the centre) of each
    assert sorted((t["open_at_depth"], t["at_edge"], t["bottom_z"], round(t["y"])) for t in targets) == [
        (False, True, -40.0, 2050), (False, True, -40.0, 2090), (True, False, -100.0, 2070), (True, False, -40.0, 2020)]
    inside = np.full(grid.shape, 0.1)
    inside[2:4, 3:5, 3:5] = 0.8
    (target,) = extract_targets(inside, grid, threshold=0.5)
    assert not target["open_at_depth"] and not target["at_edge"]


def test_depth_is_measured_from_the_top_of_the_model_in_the_targets_columns():
    grid = make_grid()
    p = np.full(grid.shape, 0.1)
    p[:2, :, :6] = np.nan  # the western half's model starts two levels lower (topography)
    p[3:5, 4:6, 2:4] = 0.8  # top at -60 m, model top there at -40 m
    p[3:5, 4:6, 8:10] = 0.8  # top at -60 m, model top there at 0 m
    west, east = sorted(extract_targets(p, grid, threshold=0.5), key=lambda t: t["x"])
    assert (west["depth_m"], east["depth_m"]) == (20.0, 60.0)


def test_ranking_by_mass_above_the_cut_puts_a_brighter_body_before_a_larger_lukewarm_one():
    grid = make_grid()
    p = np.full(grid.shape, 0.1)
    p[1:3, 1:4, 1:6] = 0.80  # 30 voxels of 0.80: 3.0 above a 0.7 cut, the largest
    p[1:3, 6:8, 6:11] = 0.86  # 20 voxels of 0.86: 3.2 above the cut
    first, second = extract_targets(p, grid, threshold=0.7)
    assert (first["n_voxels"], first["mean_prob"]) == (20, pytest.approx(0.86))
    assert (second["n_voxels"], second["mean_prob"]) == (30, pytest.approx(0.80))
    assert first["mass_above_cut"] > second["mass_above_cut"]


def test_ties_go_to_the_higher_maximum_then_the_shallower_top():
    grid = make_grid()
    p = np.full(grid.shape, 0.1)
    p[3:5, 1:3, 1:3] = 0.8  # 8 voxels, 2.4 above a 0.5 cut
    p[1:3, 6:8, 8:10] = 0.8  # the same, two levels shallower
    p[2:4, 1:3, 7:9] = [[[0.6, 0.8], [0.8, 0.8]], [[0.8, 0.8], [0.8, 1.0]]]  # the same mass, a higher maximum
    ranked = extract_targets(p, grid, threshold=0.5)
    assert [t["mass_above_cut"] for t in ranked] == pytest.approx([2.4] * 3)
    assert [(t["max_prob"], t["top_z"]) for t in ranked] == [(1.0, -40.0), (0.8, -20.0), (0.8, -60.0)]


@pytest.mark.parametrize("cells, area, parts", [
    ([(0, 0), (0, 1), (1, 0)], 3, 1),  # an L
    ([(0, 0), (1, 1)], 2, 2),  # touching at a corner only: two parts
    ([(r, c) for r in range(3) for c in range(3) if (r, c) != (1, 1)], 8, 1),  # a ring with a hole
    ([(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (2, 1), (1, 2), (2, 3)], 8, 2),  # a hole opening at a corner
])
def test_footprints_are_valid_polygons_of_the_cells_area(cells, area, parts):
    mask = np.zeros((4, 5), dtype=bool)
    for cell in cells:
        mask[cell] = True
    geometry = ogr.CreateGeometryFromWkt(footprint_wkt(mask, 500.0, 900.0, 25.0, 10.0))
    assert geometry.IsValid() and geometry.GetArea() == pytest.approx(area * 250.0)
    assert geometry.GetGeometryCount() == parts
    for r in range(4):
        for c in range(5):
            centre = ogr.CreateGeometryFromWkt(f"POINT ({500 + 25 * (c + 0.5)} {900 - 10 * (r + 0.5)})")
            assert geometry.Contains(centre) == mask[r, c], (r, c)


def test_a_footprint_joins_every_level_of_a_dipping_body():
    grid = make_grid()
    p = np.full(grid.shape, 0.1)
    for level in range(1, 5):
        p[level, 3:5, level:level + 3] = 0.8  # a body stepping east with depth, 6 columns per level
    (target,) = extract_targets(p, grid, threshold=0.5)
    assert target["n_voxels"] == 24 and target["footprint_m2"] == 2 * 6 * 100.0
    assert area_and_validity(target["footprint_wkt"]) == (1200.0, True)


def test_top_percent_selects_the_best_voxels():
    grid = make_grid()
    p = two_bodies(grid)
    n_finite = np.isfinite(p).sum()
    targets = extract_targets(p, grid, top_percent=100 * 8 / n_finite)
    assert len(targets) == 1 and targets[0]["n_voxels"] == 8 and targets[0]["max_prob"] == pytest.approx(0.9)
    assert targets[0]["cut"] == pytest.approx(0.9)
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
    with pytest.raises(Mpm3dError, match="TOP_PERCENT: the top percentage"):
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
    assert as_32[0]["mass_above_cut"] == pytest.approx(as_64[0]["mass_above_cut"])


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
    with pytest.raises(Mpm3dError, match=r"An uncertainty cut-off \(MAX_UNCERTAINTY\) needs a cube with an "
                                         "'uncertainty' variable"):
        extract_targets(p, grid, threshold=0.5, max_uncertainty=0.1)
    above = int(np.sum(p >= 0.5))
    with pytest.raises(Mpm3dError, match=rf"^MAX_UNCERTAINTY 0.01 removed all {above} voxels above the cut "
                                         r"\(probability >= 0.500\): the lowest uncertainty among them is 0.02\. "
                                         "Raise MAX_UNCERTAINTY"):
        extract_targets(p, grid, threshold=0.5, companions={"uncertainty": uncertainty}, max_uncertainty=0.01)
    *_, values = voxel_points(p, grid, 0.85, {"uncertainty": uncertainty})
    assert set(values) == {"uncertainty"} and np.all(values["uncertainty"] <= 0.2)


def test_each_target_names_its_top_three_evidence_layers_with_their_shares():
    """Hand example: the big body's 24 voxels are dominated by 'fault' (12 voxels, |change| 0.2), 'dip' (8, 0.1)
    and 'density' (4, 0.05): shares 2.4, 0.8 and 0.2 of 3.4; the small body by 'dip' alone."""
    grid = make_grid()
    p = two_bodies(grid)
    dominant, change = np.zeros(grid.shape), np.zeros(grid.shape)
    big = np.zeros(grid.shape, bool)
    big[1:3, 2:5, 1:5] = True
    cells = np.flatnonzero(big)
    for cls, size, value in ((1, 0.2, 12), (2, -0.1, 8), (4, 0.05, 4)):
        chosen, cells = cells[:value], cells[value:]
        dominant.flat[chosen], change.flat[chosen] = cls, size
    dominant[3:5, 6:8, 8:10], change[3:5, 6:8, 8:10] = 2, 0.3
    names = ["fault", "dip", "contact", "density"]
    first, second = extract_targets(p, grid, threshold=0.5, evidence=(dominant, change, names))
    assert [first[f"evidence_{k}"] for k in (1, 2, 3)] == ["fault", "dip", "density"]
    assert [first[f"evidence_{k}_share"] for k in (1, 2, 3)] == pytest.approx([2.4 / 3.4, 0.8 / 3.4, 0.2 / 3.4])
    assert second["evidence_1"] == "dip" and second["evidence_1_share"] == pytest.approx(1.0)
    assert second["evidence_2"] is None and second["evidence_2_share"] is None
    assert "evidence_1" not in extract_targets(p, grid, threshold=0.5)[0]


def test_a_constant_map_cut_by_top_percent_is_refused_naming_top_percent():
    """Every voxel tied at the cut is kept, so a map of one value made the whole volume one 'top 5 %' target."""
    grid = make_grid()
    constant = np.full(grid.shape, 0.37)
    constant[0, 0, 0] = np.nan
    with pytest.raises(Mpm3dError, match=r"^TOP_PERCENT 5: every voxel with a prediction has the same prospectivity "
                                         r"\(0\.37\), so no top 5 % can be told from the rest and the whole volume "
                                         r"would be one target\. The map ranks nothing"):
        extract_targets(constant, grid, top_percent=5)
    assert len(extract_targets(constant, grid, threshold=0.3)) == 1  # a probability cut is the user's own choice


def test_ties_that_keep_far_more_than_top_percent_are_named():
    from mpm3d.core.results.targets import tied_cut_warning

    grid = make_grid()
    saturated = np.full(grid.shape, 0.1)
    saturated[:3] = 1.0  # half the volume at 1.0: the top 5 % cut is 1.0, and all of that half is kept
    assert tied_cut_warning(saturated, 5) == (
        "TOP_PERCENT 5: 50.0 % of the volume has a prospectivity of at least 1, the cut for the top 5 %, because so "
        "many voxels share that value; all of them are kept, so the targets cover 50.0 %, not 5 %. Cut by "
        "MIN_PROBABILITY (CUT_BY 1) above 1 to keep less.")
    assert tied_cut_warning(np.random.default_rng(0).random(grid.shape), 5) is None  # no ties: 5 % as asked
    # two bodies of 32 voxels are 4.5 % of the volume: the 5 % cut falls on the background's 0.1, which keeps it all
    assert tied_cut_warning(two_bodies(grid), 5).startswith("TOP_PERCENT 5: 100.0 % of the volume has a prospectivity "
                                                            "of at least 0.1")
