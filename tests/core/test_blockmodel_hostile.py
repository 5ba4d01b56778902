"""Block models as a hostile user gives them: a local grid, options that contradict each other, a file exported by
mpm3d read back, and export choices that could not be read back. Each ends in the right cube or in a message that
names the parameters, and nothing is written."""

import itertools
import json
import os

import pytest
from mpm3d.core import cli, jobs
from mpm3d.core.data.blockmodel import BlockOptions
from mpm3d.core.data.cubefile import CubeReader
from mpm3d.core.errors import Mpm3dError


@pytest.fixture
def model_csv(tmp_path):
    """4 x 3 x 3 blocks of 10 m: a grade, a density and a rock class."""
    rows = ["x,y,z,au,dens,cls"] + [f"{1005 + 10 * i},{2005 + 10 * j},{-95 + 10 * k},{(i + j) / 3:.3f},"
                                     f"{2.5 + 0.1 * k},{i % 2}"
                                     for i, j, k in itertools.product(range(4), range(3), range(3))]
    path = tmp_path / "model.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_local_grid_model_is_written_and_read_back(model_csv, tmp_path):
    """LOCAL_GRID once ended in 'Unexpected failure: RuntimeError: PROJ: proj_get_ellipsoid': GDAL's netCDF driver
    cannot make a CF grid mapping of a local CRS, though it keeps its WKT."""
    out = tmp_path / "local.nc"
    result = jobs.import_blocks(str(model_csv), str(out), BlockOptions(local_grid=True, label="au", cutoff=0.5))
    reader = CubeReader(result["OUTPUT"], "CUBE")
    assert reader.grid.crs.startswith('LOCAL_CS["local grid"') and reader.grid.shape == (3, 3, 4)
    assert reader.feature_names == ["dens", "cls"] and reader.has("label")
    exported = jobs.export(str(out), str(tmp_path / "levels"))
    assert len(exported["OUTPUT_LAYERS"]) == 6  # the features' and the label's three levels


@pytest.mark.parametrize("options, message", [
    (dict(crs="EPSG:4528", local_grid=True), r"^CRS EPSG:4528 and LOCAL_GRID were both given: give the CRS the "
                                             r"coordinates are in, or choose LOCAL_GRID .*, not both\.$"),
    (dict(local_grid=True, cutoff=1.0), r"^CUTOFF 1 was given without LABEL: a cut-off turns the LABEL column's grade "
                                        r"into ore and barren\. Name the grade column in LABEL, or leave CUTOFF empty"),
    (dict(local_grid=True, label="au", cutoff=0.5, evidence=["au", "dens"]),
     r"^EVIDENCE: 'au' is also the LABEL column; a model given the labels as evidence reads the answer"),
], ids=["crs-and-local-grid", "cutoff-without-label", "label-as-evidence"])
def test_import_options_that_contradict_each_other_are_refused_before_reading(model_csv, tmp_path, options, message):
    """Each was taken silently: LOCAL_GRID won over CRS, CUTOFF was dropped, the label became a feature too."""
    with pytest.raises(Mpm3dError, match=message):
        jobs.import_blocks(str(model_csv), str(tmp_path / "out.nc"), BlockOptions(**options))
    assert sorted(os.listdir(tmp_path)) == ["model.csv"]


def test_a_block_model_mpm3d_exported_names_its_label_on_import(model_csv, tmp_path):
    cube = tmp_path / "cube.nc"
    jobs.import_blocks(str(model_csv), str(cube), BlockOptions(local_grid=True, label="au", cutoff=0.5))
    exported = tmp_path / "exported.csv"
    jobs.export_blocks(str(cube), str(exported))
    with pytest.raises(Mpm3dError, match=r"^EVIDENCE: the column name\(s\) label are names the cube keeps for its own "
                                         r"variables .*: give LABEL label to read it as the labels, or leave them out "
                                         r"with EXCLUDE, or rename them\.$"):
        jobs.import_blocks(str(exported), str(tmp_path / "again.nc"), BlockOptions(local_grid=True))
    again = jobs.import_blocks(str(exported), str(tmp_path / "again.nc"), BlockOptions(local_grid=True, label="label"))
    assert again["FEATURES"] == ["dens", "cls"] and again["HAS_LABELS"]


@pytest.mark.parametrize("arguments, message", [
    (dict(variables=["label", "label"]), r"^VARIABLES names label twice: a block model with two columns of one name "
                                         r"cannot be read back\. Give each variable once\.$"),
    (dict(nodata="n/a"), r"^NODATA 'n/a' is not a number: it is written where a block has no value, and a column "
                         r"holding text is not read back as numbers"),
], ids=["variable-twice", "text-nodata"])
def test_an_export_that_could_not_be_read_back_is_refused(model_csv, tmp_path, arguments, message):
    cube = tmp_path / "cube.nc"
    jobs.import_blocks(str(model_csv), str(cube), BlockOptions(local_grid=True, label="au", cutoff=0.5))
    with pytest.raises(Mpm3dError, match=message):
        jobs.export_blocks(str(cube), str(tmp_path / "blocks.csv"), **arguments)
    assert not (tmp_path / "blocks.csv").exists()


def test_the_command_lines_evidence_of_a_block_model_names_columns_not_files(model_csv, tmp_path, capsys):
    """--evidence au was made an absolute path, as stack's --evidence files are: 'no numeric column /home/.../au'."""
    status = cli.main(["--json-lines", "import-blocks", "--input", str(model_csv), "--out", str(tmp_path / "o.nc"),
                       "--local-grid", "--evidence", "nope"])
    errors = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines() if '"error"' in line]
    assert status == 2 and errors[0].startswith("EVIDENCE: model.csv has no numeric column 'nope' (numeric columns")
    assert cli.main(["import-blocks", "--input", str(model_csv), "--out", str(tmp_path / "o.nc"), "--local-grid",
                     "--evidence", "dens"]) == 0
    assert CubeReader(str(tmp_path / "o.nc"), "CUBE").feature_names == ["dens"]


def test_a_synthetic_pair_of_fewer_levels_than_a_cube_needs_is_refused(tmp_path):
    """2 levels were generated, and then could not be stacked."""
    with pytest.raises(Mpm3dError, match=r"^LEVELS 2: a cube needs at least 3 levels .* give 3 or more\.$"):
        jobs.generate_pair(str(tmp_path / "pair"), (2, 8, 8), (25.0, 25.0, 25.0), profile="fault_geometry")
    assert os.listdir(tmp_path) == []
