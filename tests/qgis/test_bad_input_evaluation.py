"""Bad input at evaluation: labels on another grid, no labels, an unwritable report, Cancel.

Every mistake ends in a message that names the parameter (or layer) and what to do, never a traceback;
no partial output is left behind, and an earlier good output survives a failed or cancelled run."""

import os

from algorithm_calls import fails as _fails
from bad_input import CANCELLED, Recorder, copy_raster, shifted_bounds
from file_state import tree

# --- Evaluation --------------------------------------------------------------------------------------------

def _evaluate(random_prospectivity, folder, **extra):
    return {"PROSPECTIVITY": random_prospectivity, "OUTPUT_REPORT": os.path.join(folder, "evaluation.html"),
            "OUTPUT_JSON": os.path.join(folder, "metrics.json"), **extra}


def test_evaluation_labels_on_another_grid_are_refused_and_earlier_reports_kept(
        random_prospectivity, tiny_cubes, synthetic_slices, tmp_path):
    (tmp_path / "evaluation.html").write_text("earlier report")
    (tmp_path / "metrics.json").write_text("{}")
    _fails("mpm3d:evaluate_prospectivity", _evaluate(random_prospectivity, tmp_path, LABEL_CUBE=tiny_cubes["source"]),
           r"LABEL_CUBE .*source\.nc is not on the grid of the PROSPECTIVITY cube: .*extent")
    labels = synthetic_slices["TARGET_LABELS"]
    shifted = copy_raster(labels[2], tmp_path / "shifted" / os.path.basename(labels[2]),
                    outputBounds=shifted_bounds(labels[2], 25))
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(random_prospectivity, tmp_path, LABEL_SLICES=labels[:2] + [shifted] + labels[3:]),
           rf"LABEL_SLICES slice {os.path.basename(labels[2])} is not on the grid of the PROSPECTIVITY cube: extent")
    _fails("mpm3d:evaluate_prospectivity", _evaluate(random_prospectivity, tmp_path, LABEL_SLICES=labels[:5]),
           r"The LABEL_SLICES slices \(levels .*\) do not match the levels of the PROSPECTIVITY cube")
    assert (tmp_path / "evaluation.html").read_text() == "earlier report"
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_evaluation_without_labels_or_with_an_unwritable_report_is_named(random_prospectivity, synthetic_slices,
                                                                         tmp_path):
    _fails("mpm3d:evaluate_prospectivity", _evaluate(random_prospectivity, tmp_path / "out"),
           r"PROSPECTIVITY cube .*p\.nc has no label variable: give a cube stacked with label slices \(LABEL_CUBE\)")
    (tmp_path / "file.txt").write_text("x")
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(random_prospectivity, tmp_path / "file.txt", LABEL_SLICES=synthetic_slices["TARGET_LABELS"]),
           r"OUTPUT_REPORT: cannot write .*is a file, not a folder")
    assert tree(tmp_path) == ["file.txt"]


def test_cancel_while_evaluating_leaves_no_report(random_prospectivity, synthetic_slices, tmp_path):
    feedback = Recorder(cancel=True)
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(random_prospectivity, tmp_path / "out", LABEL_SLICES=synthetic_slices["TARGET_LABELS"]),
               CANCELLED, feedback)
    assert feedback.isCanceled()
    assert not (tmp_path / "out").exists()


def test_a_holes_cube_without_any_hole_is_refused_instead_of_scoring_zero_holes(random_prospectivity,
                                                                                 synthetic_slices, tmp_path):
    import numpy as np
    from mpm3d.core.data.cubefile import CubeReader, write_cube

    grid = CubeReader(random_prospectivity).grid
    empty = write_cube(str(tmp_path / "holes.nc"), grid, label=np.full(grid.shape, -1, np.int8))
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(random_prospectivity, tmp_path / "out", LABEL_SLICES=synthetic_slices["TARGET_LABELS"],
                     HOLES=empty),
           r"^The HOLES cube .*holes\.nc has no labelled voxel at all \(every voxel is unknown\), so no voxel would "
           r"be kept away from a drill hole: .*or leave HOLES empty to score every voxel\.$")
    assert tree(tmp_path) == ["holes.nc"]
