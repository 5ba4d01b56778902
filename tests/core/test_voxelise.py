import numpy as np
import pytest
from mpm3d.core.data.grid import Grid
from mpm3d.core.data.voxelise import voxelise_samples
from mpm3d.core.errors import Mpm3dError

# Columns 0-10-20-30 m (centres 5, 15, 25), rows 100-90-80 m (centres 95, 85), and unevenly
# spaced levels 0, -10, -40 m: level slabs [-5, 5), [-25, -5) and [-55, -25).
GRID = Grid(
    crs="EPSG:32650", x=np.array([5.0, 15.0, 25.0]), y=np.array([95.0, 85.0]), z=np.array([0.0, -10.0, -40.0])
)


def test_known_points_give_known_labels_and_counts():
    samples = [
        # x, y, z, ore
        (5.0, 95.0, 0.0, 1),  # (0, 0, 0) ore
        (14.0, 99.0, -5.0, 0),  # (0, 0, 1) barren: the 0 / -10 boundary belongs to the upper level
        (14.0, 99.0, -5.1, 1),  # (1, 0, 1) ore, just below that boundary
        (25.0, 81.0, -26.0, 0),  # (2, 1, 2) barren: -26 is nearer -40 than -10 when slabs are uneven
        (25.0, 81.0, -54.0, 0),  # (2, 1, 2) barren again
        (25.0, 81.0, -56.0, 1),  # below the lowest slab: outside
        (31.0, 95.0, 0.0, 1),  # east of the grid: outside
        (5.0, 100.5, 0.0, 1),  # north of the grid: outside
        (5.0, 95.0, 5.0, 1),  # top face of the top slab: outside
        (5.0, 95.0, np.nan, 1),  # missing z
        (np.nan, 95.0, 0.0, 1),  # missing x
    ]
    x, y, z, ore = (np.array(column, dtype=float) for column in zip(*samples, strict=True))
    label, stats = voxelise_samples(x, y, z, GRID, ore=ore)
    expected = np.full(GRID.shape, -1, np.int8)
    expected[0, 0, 0] = 1
    expected[0, 0, 1] = 0
    expected[1, 0, 1] = 1
    expected[2, 1, 2] = 0
    assert label.dtype == np.int8
    np.testing.assert_array_equal(label, expected)
    assert stats == {
        "n_samples": 11,
        "n_used": 5,
        "n_outside": 4,
        "n_missing_z": 1,
        "n_missing_xy": 1,
        "n_missing_value": 0,
        "n_ore_voxels": 2,
        "n_barren_voxels": 2,
    }


def in_one_voxel(n: int):
    return np.full(n, 15.0), np.full(n, 85.0), np.full(n, -10.0)


@pytest.mark.parametrize(
    "flags, rule, expected",
    [
        ([1, 0, 0], "any", 1),
        ([0, 0, 0], "any", 0),
        ([1, 0, 0], "majority", 0),
        ([1, 1, 0], "majority", 1),
        ([1, 1, 0, 0], "majority", 1),  # a tie counts as ore
    ],
)
def test_rules_with_ore_flags(flags, rule, expected):
    label, stats = voxelise_samples(*in_one_voxel(len(flags)), GRID, ore=np.array(flags), rule=rule)
    assert label[1, 1, 1] == expected
    assert (label != -1).sum() == 1 and stats["n_used"] == len(flags)


@pytest.mark.parametrize(
    "grades, rule, expected",
    [
        ([0.2, 0.2, 3.0], "any", 1),
        ([0.2, 0.2, 3.0], "majority", 0),
        ([0.2, 0.2, 3.0], "mean_grade", 1),  # mean 1.13 >= 1.0
        ([0.2, 0.2, 1.5], "mean_grade", 0),  # mean 0.63
        ([0.2, np.nan, 1.5], "mean_grade", 0),  # a missing grade is left out, not taken as 0
    ],
)
def test_rules_with_grades(grades, rule, expected):
    label, stats = voxelise_samples(
        *in_one_voxel(len(grades)), GRID, grade=np.array(grades), cutoff=1.0, rule=rule
    )
    assert label[1, 1, 1] == expected
    assert stats["n_missing_value"] == int(np.isnan(grades).sum())


def test_descending_or_ascending_levels_give_the_same_voxel():
    flipped = Grid(crs=GRID.crs, x=GRID.x, y=GRID.y, z=GRID.z[::-1].copy())
    label, _ = voxelise_samples([5.0], [95.0], [-30.0], flipped, ore=[1])
    assert label[0, 0, 0] == 1  # z = -40 is the first level of the flipped grid


def test_bad_arguments_are_clear_errors():
    x, y, z = in_one_voxel(2)
    with pytest.raises(Mpm3dError, match="either"):
        voxelise_samples(x, y, z, GRID)
    with pytest.raises(Mpm3dError, match="either"):
        voxelise_samples(x, y, z, GRID, ore=[1, 0], grade=[1.0, 2.0], cutoff=1.0)
    with pytest.raises(Mpm3dError, match="cutoff"):
        voxelise_samples(x, y, z, GRID, grade=[1.0, 2.0])
    with pytest.raises(Mpm3dError, match="mean_grade"):
        voxelise_samples(x, y, z, GRID, ore=[1, 0], rule="mean_grade")
    with pytest.raises(Mpm3dError, match="rule"):
        voxelise_samples(x, y, z, GRID, ore=[1, 0], rule="most")
    with pytest.raises(Mpm3dError, match=r"^ORE_FIELD: ore flags must be 1 \(ore\) or 0 \(barren\), but -1 was found "
                                         r"\(1 of 2 samples\)"):
        voxelise_samples(x, y, z, GRID, ore=[1, -1])
    with pytest.raises(Mpm3dError, match="one per sample"):
        voxelise_samples(x, y, z, GRID, ore=[1, 0, 1])
    with pytest.raises(Mpm3dError, match="one value per sample"):
        voxelise_samples(x, y[:1], z, GRID, ore=[1, 0])


@pytest.mark.parametrize("header, repeated", [("x,y,z,ore,grade,ore\n", ["ore"]), ("x;y;z;Au;au\n", ["au"]),
                                              ("x\ty\tz\tore\n", []), ("\ufeffhole,x,y,z\n", [])])
def test_repeated_columns_of_a_table_are_found_whatever_the_delimiter(tmp_path, header, repeated):
    from mpm3d.core.data.voxelise import repeated_columns

    path = tmp_path / "samples.csv"
    path.write_text(header + "1,2,3,4,5,6\n", encoding="utf-8")
    assert repeated_columns(str(path)) == repeated
    assert repeated_columns(str(path), ignore_case=False) == [name for name in repeated if name != "au"]
