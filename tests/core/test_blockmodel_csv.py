"""Block-model CSV in and out: the cube Stack slices writes, the exact round trip, sub-blocks regularised as
documented, and every bad input refused by line and column with nothing written; each of these with both CSV
readers (pyarrow's, where it is installed, and numpy's), and the two readers giving the same cube."""

import csv
import os

import numpy as np
import pytest
from mpm3d.core import cli, jobs
from mpm3d.core.data import blockcsv
from mpm3d.core.data.blockcsv import CsvColumns, read_block_csv
from mpm3d.core.data.blockmodel import BlockOptions
from mpm3d.core.data.cubefile import read_cube, save_cube
from mpm3d.core.data.grid import LABEL_UNKNOWN
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.errors import Mpm3dError

CRS = "EPSG:32650"


@pytest.fixture(autouse=True, params=["pyarrow", "numpy"])
def engine(request, monkeypatch):
    """Every test once with each CSV reader (the pyarrow half skipped where pyarrow is not installed)."""
    if request.param == "pyarrow":
        pytest.importorskip("pyarrow.csv", reason="pyarrow is not installed: the numpy reader alone is tested")
    monkeypatch.setattr(blockcsv, "csv_engine", lambda: request.param)
    return request.param


def _f32(value: float) -> str:
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def block_rows(missing=((0, 1, 2), (2, 3, 0))):
    """A 3-level, 4-row, 5-column model of 10 x 20 x 5 m blocks, a few missing; values float32 exactly."""
    rng = np.random.default_rng(0)
    rows = []
    for k in range(3):
        for j in range(4):
            for i in range(5):
                if (k, j, i) in missing:
                    continue
                rows.append([500005.0 + 10 * i, 4000010.0 + 20 * j, -102.5 + 5 * k,
                             float(np.float32(rng.normal(100, 10))), float(np.float32(rng.random())),
                             float(rng.random() < 0.3)])
    return rows


def write_csv(path, rows, header=("X", "Y", "Z", "density", "alteration", "ore"), delimiter=",", comments=()):
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(f"{c}\n" for c in comments)
        if header:
            handle.write(delimiter.join(header) + "\n")
        for row in rows:
            handle.write(delimiter.join(v if isinstance(v, str) else repr(float(v)) if i < 3 else _f32(v)
                                        for i, v in enumerate(row)) + "\n")
    return str(path)


def read_rows(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_to_cube_to_csv_gives_back_every_block_exactly(tmp_path):
    rows = block_rows()
    source = write_csv(tmp_path / "model.csv", rows, comments=("# exported by a modelling package",))
    cube_path = str(tmp_path / "model.nc")
    result = jobs.import_blocks(source, cube_path, BlockOptions(crs=CRS, label="ore"))
    assert result["SHAPE"] == [3, 4, 5] and result["BLOCKS"] == len(rows)
    cube = read_cube(cube_path)
    assert cube.feature_names == ["density", "alteration"]
    assert cube.grid.z.tolist() == [-92.5, -97.5, -102.5] and cube.grid.y[0] == 4000070.0
    assert np.isnan(cube.features[:, 2, 2, 2]).all()  # the missing block (k=0, j=1, i=2) is nodata
    assert cube.label[2, 2, 2] == LABEL_UNKNOWN
    out = str(tmp_path / "back.csv")
    written = jobs.export_blocks(cube_path, out)
    assert written["BLOCKS"] == len(rows) and written["VARIABLES"] == ["density", "alteration", "label"]
    back = read_rows(out)
    key = lambda r: (float(r[0]), float(r[1]), float(r[2]))  # noqa: E731
    got = sorted(([float(r["x"]), float(r["y"]), float(r["z"]), np.float32(r["density"]),
                   np.float32(r["alteration"]), float(r["label"])] for r in back), key=key)
    assert got == sorted(rows, key=key)  # centres as float64, the attributes as the cube's float32, all equal
    assert {(r["dx"], r["dy"], r["dz"]) for r in back} == {("10.0", "20.0", "5.0")}
    again = str(tmp_path / "again.nc")
    jobs.import_blocks(out, again, BlockOptions(crs=CRS, label="label"))
    repeated = read_cube(again)
    np.testing.assert_array_equal(repeated.features, cube.features)
    np.testing.assert_array_equal(repeated.label, cube.label)
    assert repeated.grid.x.tolist() == cube.grid.x.tolist() and repeated.grid.z.tolist() == cube.grid.z.tolist()


def test_the_synthetic_pair_through_csv_is_the_cube_the_raster_path_stacks(tmp_path):
    """Same cubes, bit for bit: training, prediction and the target AUC from a CSV are those of the slices."""
    source, _ = synthetic_pair(shape=(4, 8, 9), voxel_size=(50.0, 25.0, 25.0), seed=2)
    original = save_cube(str(tmp_path / "source.nc"), source)
    jobs.export_blocks(original, str(tmp_path / "source.csv"))
    jobs.import_blocks(str(tmp_path / "source.csv"), str(tmp_path / "again.nc"),
                       BlockOptions(crs=source.grid.crs, label="label"))
    again = read_cube(str(tmp_path / "again.nc"))
    np.testing.assert_array_equal(again.features, source.features)
    np.testing.assert_array_equal(again.label, source.label)
    for axis in "xyz":
        np.testing.assert_array_equal(getattr(again.grid, axis), getattr(source.grid, axis))


def test_depth_grade_cutoff_sentinels_and_column_choice(tmp_path):
    rows = [[x, y, d, -99.0 if (x, d) == (5.0, 10.0) else x + d, 0.2 * x, 1e30]
            for d in (10.0, 20.0, 30.0) for y in (5.0, 15.0) for x in (5.0, 15.0)]
    path = write_csv(tmp_path / "depth.txt", rows, header=("East", "North", "Depth", "a", "grade", "junk"),
                     delimiter="\t")
    cube, _ = read_block_csv(path, BlockOptions(local_grid=True, label="grade", cutoff=2.0, nodata=[-99.0],
                                                     z_is_depth=True, datum=100.0, exclude=["junk"]),
                                  CsvColumns(z="Depth"))
    assert cube.grid.z.tolist() == [90.0, 80.0, 70.0] and cube.feature_names == ["a"]
    assert np.isnan(cube.features[0, 0, :, 0]).all() and np.isfinite(cube.features[0, 1]).all()
    assert cube.label[:, :, 0].tolist() == [[0, 0]] * 3 and cube.label[:, :, 1].tolist() == [[1, 1]] * 3
    assert "LOCAL_CS" in cube.grid.crs


def test_sub_blocks_are_regularised_by_volume_and_by_majority(tmp_path):
    """Parent blocks of 10 m; one holds a 10 x 10 x 5 block (value 10, class 2) under four 5 x 5 x 5 blocks
    (values 0, 0, 0, 4, class 1, 1, 1, 3), which fill half of it: mean (500 * 10 + 125 * 4) / 1000 = 5.5,
    the class with most volume is 2 (500 against 375)."""
    header = ("XC", "YC", "ZC", "XINC", "YINC", "ZINC", "grade", "rock")
    rows = [[x, y, z, 10.0, 10.0, 10.0, 1.0, 5.0] for z in (5.0, 15.0, 25.0) for y in (5.0, 15.0) for x in (5.0, 15.0)
            if (x, y, z) != (5.0, 5.0, 5.0)]
    rows.append([5.0, 5.0, 2.5, 10.0, 10.0, 5.0, 10.0, 2.0])
    for (x, y), value, rock in zip(((2.5, 2.5), (7.5, 2.5), (2.5, 7.5), (7.5, 7.5)), (0.0, 0.0, 0.0, 4.0),
                                   (1.0, 1.0, 1.0, 3.0), strict=True):
        rows.append([x, y, 7.5, 5.0, 5.0, 5.0, value, rock])
    path = write_csv(tmp_path / "sub.csv", rows, header=header)
    cube, report = read_block_csv(path, BlockOptions(crs=CRS, classes=["rock"]),
                                       CsvColumns(sizes=["XINC", "YINC", "ZINC"]))
    assert cube.grid.shape == (3, 2, 2) and cube.grid.pixel_size == (10.0, 10.0)
    grade, rock = cube.features
    assert grade[2, 1, 0] == pytest.approx(5.5) and rock[2, 1, 0] == 2.0  # bottom level, south row, west column
    assert np.all(np.delete(grade.reshape(-1), 2 * 4 + 1 * 2) == 1.0)
    assert report["MERGED"] == 5 and report["SIZE_RATIO"] == 8.0


@pytest.mark.parametrize("azimuth", [30.0, 45.5])
def test_a_rotated_model_is_refused_by_its_angle(tmp_path, azimuth):
    path = write_csv(tmp_path / "m.csv", block_rows())
    with pytest.raises(Mpm3dError, match=f"azimuth of {azimuth:g} degrees"):
        jobs.import_blocks(path, str(tmp_path / "m.nc"), BlockOptions(crs=CRS, azimuth=azimuth))
    with pytest.raises(Mpm3dError, match="dip 10 degrees"):
        jobs.import_blocks(path, str(tmp_path / "m.nc"), BlockOptions(crs=CRS, dip=10.0))
    assert not os.path.exists(tmp_path / "m.nc")


def test_a_quarter_turn_swaps_the_model_axes_sizes(tmp_path):
    """Turned 90 degrees, the model's u axis (its DX) points north: blocks 10 m along u are 10 m along y."""
    rows = [[x, y, z, 10.0, 20.0, 5.0, x] for z in (2.5, 7.5, 12.5) for y in (5.0, 15.0) for x in (10.0, 30.0)]
    path = write_csv(tmp_path / "turned.csv", rows, header=("X", "Y", "Z", "DX", "DY", "DZ", "v"))
    sizes = CsvColumns(sizes=["DX", "DY", "DZ"])
    cube, _ = read_block_csv(path, BlockOptions(crs=CRS, azimuth=90.0), sizes)
    assert cube.grid.pixel_size == (20.0, 10.0) and cube.grid.shape == (3, 2, 2)
    with pytest.raises(Mpm3dError, match="not on one lattice"):
        read_block_csv(path, BlockOptions(crs=CRS), sizes)


BAD = [
    ("empty", "", {}, "is empty"),
    ("header only", "X,Y,Z,a\n", {}, "no block"),
    ("no evidence", "X,Y,Z\n0,0,0\n1,0,0\n0,1,1\n", {}, "no evidence column"),
    ("text", "X,Y,Z,a\n0,0,0,1\n1,0,0,abc\n", {"evidence": ["a"]}, "line 3, column 'a'"),
    ("text after the sample", "X,Y,Z,a\n" + "".join(f"{i},0,0,1\n" for i in range(60)) + "60,0,0,1.2.3\n",
     {"block_size": (1, 1, 1)},
     "line 62, column 'a' .*'1.2.3' is not a number"),
    ("decimal comma", "X;Y;Z;a\n0;0;0;1,5\n1;0;0;2,5\n", {}, "decimal comma"),
    ("comma decimals split", "X,Y,Z,a\n0,0,0,1,5\n1,0,0,2,5\n", {}, "decimal comma"),
    ("other delimiter", "X;Y;Z;a\n0;0;0;1\n1;0;0;2\n", {"delimiter": ","}, "set DELIMITER to semicolon"),
    ("duplicate", "X,Y,Z,a\n0,0,0,1\n1,0,0,2\n0,0,0,3\n0,0,1,1\n0,0,2,1\n", {"block_size": (1, 1, 1)},
     "lines 4 of .* repeat"),
    ("off lattice", "X,Y,Z,a\n0,0,0,1\n10,0,0,2\n20,0,0,3\n27,0,0,3\n0,0,1,1\n0,0,2,1\n",
     {"block_size": (10, 1, 1)},
     "not on one lattice: lines 5"),
    ("mixed sizes", "X,Y,Z,a\n5,5,5,1\n15,5,5,1\n12.5,5,5,2\n5,5,15,1\n5,5,25,1\n", {"block_size": (10, 10, 10)},
     "SIZE_FIELDS"),
    ("flag", "X,Y,Z,a,ore\n0,0,0,1,1\n1,0,0,2,0.4\n0,0,1,1,0\n0,0,2,1,0\n", {"label": "ore", "block_size": (1, 1, 1)},
     r"lines 3 \(0.4\).*CUTOFF"),
    ("no crs", "X,Y,Z,a\n0,0,0,1\n", {"crs": ""}, "CRS: .* carries no coordinate"),
    ("unknown column", "X,Y,Z,a\n0,0,0,1\n", {"evidence": ["b"]}, "no numeric column 'b'"),
]


@pytest.mark.parametrize("name,text,changes,match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_by_line_or_column_and_nothing_is_written(tmp_path, name, text, changes, match):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    changes = dict(changes)  # the parameters are shared by both readers' runs
    delimiter = changes.pop("delimiter", "")
    options = BlockOptions(**{"crs": CRS, **changes})
    out = tmp_path / "out" / "cube.nc"
    with pytest.raises(Mpm3dError, match=match):
        jobs.import_blocks(str(path), str(out), options, CsvColumns(delimiter=delimiter))
    assert not (tmp_path / "out").exists()


def test_both_readers_give_the_same_cube_and_pyarrow_reads_alone(tmp_path, monkeypatch, engine):
    """One file with what exports hold (a comment and blank lines before the header, CRLF line ends, quoted
    numbers, empty fields, nan, a sentinel, a label column, several chunks): the same cube, value for value,
    from both readers; and pyarrow, where it is installed, reads it without numpy's reader."""
    if engine != "pyarrow":
        pytest.skip("compares the pyarrow reader with numpy's")
    rng = np.random.default_rng(4)
    lines = ["# exported by a modelling package", "", "X,Y,Z,density,alteration,ore"]
    for k in range(6):
        for j in range(30):
            for i in range(40):
                density = "" if (i + j + k) % 17 == 0 else "nan" if (i * j) % 29 == 1 else _f32(rng.normal(2.7, 0.1))
                alteration = "-99" if (i, j) == (3, 4) else f'"{_f32(rng.random())}"'
                lines.append(f"{500005.0 + 10 * i!r},{4000010.0 + 20 * j!r},{-102.5 + 5 * k!r},{density},"
                             f"{alteration},{float(rng.random() < 0.2)!r}")
    path = tmp_path / "model.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    monkeypatch.setattr(blockcsv, "ARROW_BLOCK_BYTES", 16 << 10)  # several blocks, as a large file is read
    monkeypatch.setattr(blockcsv, "CHUNK_BYTES", 16 << 10)
    options = BlockOptions(crs=CRS, label="ore", nodata=[-99.0])
    by_numpy, numpy_report = read_block_csv(str(path), options, engine="numpy")

    def no_numpy(*_args):
        raise AssertionError("the numpy reader was used")

    monkeypatch.setattr(blockcsv._Chunks, "__iter__", no_numpy)
    by_arrow, arrow_report = read_block_csv(str(path), options, engine="pyarrow")
    assert arrow_report == numpy_report and by_arrow.grid.shape == (6, 30, 40)
    assert np.isnan(by_arrow.features[0]).sum() > 100 and np.isnan(by_arrow.features[1]).sum() == 6
    np.testing.assert_array_equal(by_arrow.features, by_numpy.features)
    np.testing.assert_array_equal(by_arrow.label, by_numpy.label)
    for axis in "xyz":
        np.testing.assert_array_equal(getattr(by_arrow.grid, axis), getattr(by_numpy.grid, axis))


def test_the_command_line_imports_and_exports(tmp_path, capsys):
    source = write_csv(tmp_path / "model.csv", block_rows())
    cube = str(tmp_path / "model.nc")
    assert cli.main(["import-blocks", "--input", source, "--out", cube, "--crs", CRS, "--label", "ore",
                     "--nodata", "-99"]) == 0
    assert cli.main(["export-blocks", "--cube", cube, "--out", str(tmp_path / "out.csv"), "--variables",
                     "density,label", "--keep-nodata", "--nodata", "-99"]) == 0
    back = read_rows(tmp_path / "out.csv")
    assert len(back) == 60 and list(back[0]) == ["x", "y", "z", "dx", "dy", "dz", "density", "label"]
    assert sum(r["density"] == "-99" for r in back) == 2
    assert cli.main(["import-blocks", "--input", source, "--out", cube, "--crs", CRS, "--azimuth", "30"]) == 2
    assert "azimuth of 30 degrees" in capsys.readouterr().out
