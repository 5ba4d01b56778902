"""Import and export block model through processing.run: a stacked cube out to a CSV and a VTK image and back in,
unchanged, a bad CSV refused by line with nothing written, and Cancel in the middle of either leaving no file
half written and an earlier one as it was."""

import numpy as np
from algorithm_calls import fails, run
from bad_input import CANCELLED, Recorder
from file_state import checksums, tree
from mpm3d.core import jobs
from mpm3d.core.data.cubefile import read_cube


def test_a_stacked_cube_goes_out_as_a_block_model_and_comes_back_unchanged(synthetic_slices, tmp_path):
    stacked = run("mpm3d:stack_slices", {"EVIDENCE": synthetic_slices["SOURCE_EVIDENCE"],
                                         "LABELS": synthetic_slices["SOURCE_LABELS"],
                                         "OUTPUT": tmp_path / "stacked.nc"})["OUTPUT"]
    original = read_cube(stacked)
    for name in ("blocks.csv", "blocks.vti"):
        exported = run("mpm3d:export_block_model", {"CUBE": stacked, "OUTPUT": tmp_path / name})
        assert exported["BLOCKS"] > 0
        imported = run("mpm3d:import_block_model", {"INPUT": tmp_path / name, "CRS": "EPSG:4528", "LABEL": "label",
                                                    "OUTPUT": tmp_path / f"{name}.nc"})
        assert imported["LEVELS"] == 8 and imported["FEATURES"] == ",".join(original.feature_names)
        again = read_cube(imported["OUTPUT"])
        np.testing.assert_array_equal(again.features, original.features)
        np.testing.assert_array_equal(again.label, original.label)
        np.testing.assert_allclose(again.grid.x, original.grid.x, rtol=0, atol=1e-6)


def test_a_bad_block_model_is_refused_by_line_and_nothing_is_written(provider, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("X,Y,Z,a\n0,0,0,1\n1,0,0,2\n0,0,0,3\n0,0,1,1\n0,0,2,1\n", encoding="utf-8")
    fails("mpm3d:import_block_model", {"INPUT": bad, "CRS": "EPSG:4528", "BLOCK_SIZE": "1,1,1",
                                       "OUTPUT": tmp_path / "out" / "cube.nc"}, "lines 4 of bad.csv repeat")
    fails("mpm3d:import_block_model", {"INPUT": bad, "OUTPUT": tmp_path / "out" / "cube.nc"},
          "carries no coordinate reference system")
    assert not (tmp_path / "out").exists()


def test_a_local_grid_block_model_imports_and_a_crs_beside_it_is_refused(tmp_path):
    """LOCAL_GRID once ended in 'Unexpected failure: RuntimeError: PROJ: proj_get_ellipsoid'; with a CRS as well,
    the CRS was silently dropped."""
    rows = ["x,y,z,au,dens"] + [f"{5 + 10 * i},{5 + 10 * j},{5 + 10 * k},{(i + j) / 4:.2f},{2.6 + k / 10:.1f}"
                                for i in range(4) for j in range(3) for k in range(3)]
    (tmp_path / "local.csv").write_text("\n".join(rows) + "\n")
    imported = run("mpm3d:import_block_model", {"INPUT": tmp_path / "local.csv", "LOCAL_GRID": True, "LABEL": "au",
                                                "CUTOFF": 0.5, "OUTPUT": tmp_path / "local.nc"})
    cube = read_cube(imported["OUTPUT"])
    assert cube.grid.crs.startswith('LOCAL_CS["local grid"') and imported["FEATURES"] == "dens"
    assert int((cube.label == 1).sum()) == 9 * 3  # au >= 0.5 where i + j >= 2: 9 columns of 3 levels
    fails("mpm3d:import_block_model", {"INPUT": tmp_path / "local.csv", "LOCAL_GRID": True, "CRS": "EPSG:4528",
                                       "OUTPUT": tmp_path / "out" / "cube.nc"},
          r"CRS EPSG:4528 and LOCAL_GRID were both given")
    assert not (tmp_path / "out").exists()

def test_cancel_while_importing_a_block_model_leaves_the_earlier_cube(tiny_cubes, tmp_path, worker_hook):
    """Cancel while the blocks are read (the worker paused after each progress line, so that it lands mid-run):
    the cube written before is byte for byte as it was, and no staging file is left beside it."""
    blocks = tmp_path / "model" / "blocks.csv"
    blocks.parent.mkdir()
    jobs.export_blocks(tiny_cubes["source"], str(blocks))
    out = tmp_path / "out"
    out.mkdir()
    (out / "cube.nc").write_bytes(b"earlier cube")
    worker_hook("slow")
    feedback = Recorder(cancel=True)
    fails("mpm3d:import_block_model", {"INPUT": blocks, "CRS": "EPSG:4528", "LABEL": "label",
                                       "OUTPUT": out / "cube.nc"}, CANCELLED, feedback)
    assert feedback.isCanceled()
    assert tree(out) == ["cube.nc"] and (out / "cube.nc").read_bytes() == b"earlier cube"


def test_cancel_while_exporting_a_block_model_leaves_no_half_written_file(tiny_cubes, tmp_path, worker_hook):
    """Cancel while the CSV is written level by level (its first levels already in the staging file): over an
    earlier CSV, that file as it was; into a new folder, not even the folder."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "blocks.csv").write_text("x,y,z,a\n", encoding="utf-8")
    before = checksums(tmp_path), tree(tmp_path)
    worker_hook("slow")
    for folder in ("earlier", "new"):
        feedback = Recorder(cancel=True)
        fails("mpm3d:export_block_model", {"CUBE": tiny_cubes["source"], "OUTPUT": tmp_path / folder / "blocks.csv"},
              CANCELLED, feedback)
        assert feedback.isCanceled()
    assert (checksums(tmp_path), tree(tmp_path)) == before
