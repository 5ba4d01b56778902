"""Bad input, failure and Cancel through the algorithms.

Every mistake ends in a message that names the parameter (or layer) and what to do, never a traceback;
no partial output is left behind, and an earlier good output survives a failed or cancelled run.
Training here is tiny (patch 3, one epoch), so the whole file runs in a few minutes on two cores.
"""

import os
import pickle

import numpy as np
import pytest
from algorithm_calls import fails as _fails
from algorithm_calls import run as _run
from file_state import checksums, tree
from osgeo import gdal
from pickle_payload import CreatesMarker
from qgis.core import QgsProcessingFeedback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CANCELLED = r"^Cancelled; no output was written, earlier files are as they were\.$"
TINY = {"METHOD": 0, "EPOCHS": 1, "PATCH_SIZE": 3, "BATCH_SIZE": 16, "DEVICE": 2, "SEED": 1,
        "ENSEMBLE_MEMBERS": 1}


class Recorder(QgsProcessingFeedback):
    """Keeps the warnings and messages; with ``cancel`` set, presses Cancel at the first progress message."""

    def __init__(self, cancel=False):
        super().__init__()
        self.cancel_at_first_message = cancel
        self.warnings, self.infos = [], []

    def reportError(self, error, fatalError=False):  # noqa: N803 - QGIS API
        self.warnings.append(error)
        super().reportError(error, fatalError)

    def pushInfo(self, info):
        self.infos.append(info)
        super().pushInfo(info)

    def setProgressText(self, text):
        super().setProgressText(text)
        if self.cancel_at_first_message:
            self.cancel()


def _copy(src, dst, change=None, nodata="keep", after=None, **translate):
    """A copy of a raster (gdal.Translate options), band arrays passed through ``change(index, array)``."""
    os.makedirs(os.path.dirname(str(dst)), exist_ok=True)
    gdal.Translate(str(dst), src, **translate)
    ds = gdal.Open(str(dst), gdal.GA_Update)
    for index in range(ds.RasterCount):
        band = ds.GetRasterBand(index + 1)
        if change is not None:
            band.WriteArray(change(index, band.ReadAsArray()))
        if nodata is None:
            band.DeleteNoDataValue()
        elif nodata != "keep":
            band.SetNoDataValue(nodata)
    if after is not None:
        after(ds)
    ds = None
    return str(dst)


def _band_name(path, number):
    ds = gdal.Open(path)  # kept alive while its band is used
    return ds.GetRasterBand(number).GetDescription()


def _copies(paths, folder, **options):
    return [_copy(p, os.path.join(folder, os.path.basename(p)), **options) for p in paths]


def _stack(evidence, output, labels=None, feedback=None, **extra):
    parameters = {"EVIDENCE": evidence, "OUTPUT": output, **extra}
    if labels:
        parameters["LABELS"] = labels
    return _run("mpm3d:stack_slices", parameters, feedback)


def _derived_cube(path, cube_path, change):
    from mpm3d.core.cubefile import read_cube, save_cube

    cube = read_cube(cube_path)
    change(cube)
    return save_cube(str(path), cube)


@pytest.fixture(scope="module")
def slices(synthetic_slices):
    return {key: list(value) if isinstance(value, list) else value for key, value in synthetic_slices.items()}


@pytest.fixture(scope="module")
def cubes(slices, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_input_cubes")
    return {"source": _stack(slices["SOURCE_EVIDENCE"], folder / "source.nc", slices["SOURCE_LABELS"])["OUTPUT"],
            "target": _stack(slices["TARGET_EVIDENCE"], folder / "target.nc")["OUTPUT"],
            "fewer": _derived_cube(folder / "fewer.nc", str(folder / "target.nc"), _drop_last_feature)}


def _drop_last_feature(cube):
    cube.features, cube.feature_names = cube.features[:-1], cube.feature_names[:-1]


def _train(cubes, folder, **extra):
    return {"SOURCE": cubes["source"], "TARGET": cubes["target"], **TINY,
            "OUTPUT_MODEL": os.path.join(folder, "model.safetensors"),
            "OUTPUT_REPORT": os.path.join(folder, "training.html"), **extra}


@pytest.fixture(scope="module")
def model(cubes, tmp_path_factory):
    """A tiny model, trained with DEVICE auto (which must fall back to the CPU where there is no CUDA)."""
    return _run("mpm3d:train_model", _train(cubes, str(tmp_path_factory.mktemp("bad_input_model")), DEVICE=0))


# --- Stacking: slices on different grids, elevations, levels -------------------------------------------------

def _shifted_bounds(path, dx):
    x0, px, _, y0, _, py = gdal.Open(path).GetGeoTransform()
    ds = gdal.Open(path)
    return [x0 + dx, y0, x0 + dx + px * ds.RasterXSize, y0 + py * ds.RasterYSize]


def _rename_first_band(ds):
    ds.GetRasterBand(1).SetDescription("renamed")


MISMATCHES = {
    "crs": ({"outputSRS": "EPSG:32650"}, r"CRS \("),
    "pixel size": ({"xRes": 50, "yRes": 50}, r"pixel size \("),
    "extent": ({"bounds_shift": 100}, r"extent/origin \("),
    "raster size": ({"srcWin": [0, 0, 20, 24]}, r"raster size \(20 x 24 vs 28 x 24\)"),
    "band count": ({"bandList": [1, 2, 3]}, r"band count \(3 vs \d+\)"),
    "band names": ({"after": _rename_first_band}, r"band names \("),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_a_slice_that_does_not_match_is_named_with_what_differs(slices, tmp_path, case):
    options, what = MISMATCHES[case]
    evidence = slices["SOURCE_EVIDENCE"]
    options = dict(options)
    if "bounds_shift" in options:
        options["outputBounds"] = _shifted_bounds(evidence[2], options.pop("bounds_shift"))
    odd = _copy(evidence[2], tmp_path / "odd_z-9999.tif", **options)
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence + [odd], "OUTPUT": tmp_path / "out" / "cube.nc"},
           rf"EVIDENCE slice odd_z-9999\.tif does not match evidence_z-\d+\.tif: .*{what}.*warp or rewrite it")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("elevations, match", [
    ("-100,-100,-200,-250,-300,-350,-400,-450", r"Duplicate elevation -100 m: EVIDENCE slices .*ELEVATIONS"),
    ("-100,-150,abc", r"ELEVATIONS must be numbers of metres separated by commas .* got '-100,-150,abc'"),
    ("-100,-150", r"ELEVATIONS gives 2 elevations for 8 EVIDENCE slices: give one per slice"),
    ("nan,-150,-200,-250,-300,-350,-400,-450", r"elevation of EVIDENCE slice .* is nan: give a finite number"),
])
def test_bad_elevations_are_refused(slices, tmp_path, elevations, match):
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"], "ELEVATIONS": elevations,
                                  "OUTPUT": tmp_path / "out" / "cube.nc"}, match)
    assert not (tmp_path / "out").exists()


def test_slices_with_one_elevation_twice_or_none_in_the_name(slices, tmp_path):
    evidence = slices["SOURCE_EVIDENCE"]
    again = _copy(evidence[0], tmp_path / ("again_" + os.path.basename(evidence[0])))
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence + [again], "OUTPUT": tmp_path / "a.nc"},
           r"Duplicate elevation -?\d+ m: EVIDENCE slices evidence_z.*again_evidence_z.*give each level its own")
    unnamed = _copy(evidence[0], tmp_path / "evidence_top.tif")
    _fails("mpm3d:stack_slices", {"EVIDENCE": evidence[1:] + [unnamed], "OUTPUT": tmp_path / "b.nc"},
           r"No elevation in the file name of evidence_top\.tif.*ELEVATIONS")
    assert tree(tmp_path) == sorted(["again_" + os.path.basename(evidence[0]), "evidence_top.tif"])


def test_a_single_level_is_not_a_cube(slices, tmp_path):
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"][:1], "OUTPUT": tmp_path / "cube.nc"},
           r"EVIDENCE holds 1 slice\(s\); a cube needs at least 3 levels.*give one raster per depth level")
    assert tree(tmp_path) == []


def test_an_existing_cube_is_replaced_only_on_success(slices, tmp_path):
    from mpm3d.core.cubefile import CubeReader

    cube = tmp_path / "cube.nc"
    cube.write_bytes(b"earlier cube")
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"][:2], "OUTPUT": cube}, "at least 3 levels")
    assert cube.read_bytes() == b"earlier cube" and tree(tmp_path) == ["cube.nc"]
    _stack(slices["SOURCE_EVIDENCE"], cube)
    assert CubeReader(str(cube)).grid.shape[0] == 8 and tree(tmp_path) == ["cube.nc"]


def test_uneven_levels_are_stacked_with_a_warning_and_an_attribute(slices, tmp_path):
    from mpm3d.core.cubefile import CubeReader

    evidence = slices["SOURCE_EVIDENCE"]
    feedback = Recorder()
    uneven = _stack(evidence[:3] + evidence[4:], tmp_path / "uneven.nc", feedback=feedback)["OUTPUT"]
    assert any("not evenly spaced (gaps from 50 to 100 m)" in w for w in feedback.warnings), feedback.warnings
    attrs = CubeReader(uneven).attrs
    assert attrs["mpm3d_level_spacing"] == "uneven" and "100" in attrs["mpm3d_level_gaps_m"]
    even = _stack(evidence, tmp_path / "even.nc")["OUTPUT"]
    assert CubeReader(even).attrs["mpm3d_level_spacing"] == "even"


# --- Labels ------------------------------------------------------------------------------------------------

def test_labels_coded_0_1_255_without_nodata_are_refused(slices, tmp_path):
    coded = _copies(slices["SOURCE_LABELS"], tmp_path / "coded", nodata=None,
                    change=lambda _, a: np.where(a == -1, 255, a))
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"], "LABELS": coded,
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           r"LABELS slice label_z-\d+\.tif holds values other than 0/1/nodata \(255\); recode .*nodata = 255")
    assert not (tmp_path / "out").exists()


def test_labels_on_another_grid_or_too_few_are_refused(slices, tmp_path):
    labels = slices["SOURCE_LABELS"]
    shifted = _copy(labels[3], tmp_path / os.path.basename(labels[3]), outputBounds=_shifted_bounds(labels[3], 50))
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"], "LABELS": labels[:3] + [shifted] + labels[4:],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           rf"LABELS slice {os.path.basename(labels[3])} is not on the grid of evidence_z.*extent.*Warp it")
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"], "LABELS": labels[:3],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"},
           r"3 LABELS slices for 8 EVIDENCE slices: give one label slice per level")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("missing, recode", [("ore", {1: 0}), ("barren", {0: 1})])
def test_labels_without_ore_or_barren_warn_when_stacked_and_stop_training(slices, cubes, tmp_path, missing, recode):
    (old, new), = recode.items()
    labels = _copies(slices["SOURCE_LABELS"], tmp_path / "labels", change=lambda _, a: np.where(a == old, new, a))
    feedback = Recorder()
    source = _stack(slices["SOURCE_EVIDENCE"], tmp_path / "source.nc", labels, feedback)["OUTPUT"]
    assert any(f"LABELS slices mark no {missing}" in w for w in feedback.warnings), feedback.warnings
    _fails("mpm3d:train_model", _train(dict(cubes, source=source), tmp_path / "out"),
           rf"source cube \(SOURCE\) has no {missing} \(\d\) voxel with valid evidence.*LABELS")
    assert not (tmp_path / "out").exists()


# --- Evidence values ---------------------------------------------------------------------------------------

def test_nan_or_infinite_evidence_is_nodata_with_a_warning(slices, tmp_path):
    from mpm3d.core.cubefile import read_cube

    evidence = slices["SOURCE_EVIDENCE"]

    def poison(index, array):
        if index == 1:
            array = array.astype(np.float32)
            array[5, 5:8] = np.inf
            array[6, 5] = np.nan  # the band's nodata is -9999, so NaN is not expected either
        return array

    poisoned = _copy(evidence[0], tmp_path / os.path.basename(evidence[0]), change=poison)
    feedback = Recorder()
    cube = _stack([poisoned] + evidence[1:], tmp_path / "cube.nc", feedback=feedback)["OUTPUT"]
    band = _band_name(poisoned, 2)
    assert any(f"EVIDENCE slice {os.path.basename(poisoned)}, band '{band}': 4 NaN or infinite values" in w
               and "treated as nodata" in w for w in feedback.warnings), feedback.warnings
    valid = read_cube(cube).valid
    assert not valid[0, 5, 5:8].any() and not valid[0, 6, 5]


def test_an_all_nodata_level_warns_and_an_all_nodata_band_is_refused(slices, tmp_path):
    evidence = slices["SOURCE_EVIDENCE"]
    empty_level = _copy(evidence[4], tmp_path / "level" / os.path.basename(evidence[4]), nodata=-9999.0,
                        change=lambda _, a: np.full_like(a, -9999.0))
    feedback = Recorder()
    _stack(evidence[:4] + [empty_level] + evidence[5:], tmp_path / "level.nc", feedback=feedback)
    assert any(f"EVIDENCE slice {os.path.basename(empty_level)} (level" in w and "no voxel with data" in w
               for w in feedback.warnings), feedback.warnings
    no_band = _copies(evidence, tmp_path / "band", nodata=-9999.0,
                      change=lambda i, a: np.full_like(a, -9999.0) if i == 2 else a)
    name = _band_name(evidence[0], 3)
    _fails("mpm3d:stack_slices", {"EVIDENCE": no_band, "OUTPUT": tmp_path / "out" / "cube.nc"},
           rf"EVIDENCE band '{name}' has no data in any slice: fix its nodata value, or remove the band")
    assert not (tmp_path / "out").exists()


def test_a_constant_feature_stops_training_naming_the_cube_and_the_feature(cubes, tmp_path):
    def constant_density(cube):
        index = cube.feature_names.index("density")
        cube.features[index][np.isfinite(cube.features[index])] = 2.7

    target = _derived_cube(tmp_path / "constant.nc", cubes["target"], constant_density)
    _fails("mpm3d:train_model", _train(dict(cubes, target=target), tmp_path / "out"),
           r"TARGET cube: feature 'density' has zero spread \(constant 2\.7\).*remove that band")
    assert not (tmp_path / "out").exists()


# --- Training parameters, features, device ------------------------------------------------------------------

@pytest.mark.parametrize("parameters, match", [
    ({"PATCH_SIZE": 4}, r"patch size \(PATCH_SIZE\) must be odd and at least 3, got 4"),
    ({"PATCH_SIZE": 9}, r"patch size 9 \(PATCH_SIZE\) is larger than the source cube \(SOURCE\)"),
])
def test_bad_patch_sizes_name_patch_size(cubes, tmp_path, parameters, match):
    _fails("mpm3d:train_model", _train(cubes, tmp_path / "out", **parameters), match)
    assert not (tmp_path / "out").exists()


def test_zero_epochs_is_refused_before_anything_runs(cubes, tmp_path):
    _fails("mpm3d:train_model", _train(cubes, tmp_path / "out", EPOCHS=0),
           r"EPOCHS \(Epochs\) must be a whole number from 1 to 10000; got 0")
    assert not (tmp_path / "out").exists()


def test_a_batch_larger_than_the_samples_keeps_the_earlier_model(cubes, tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"earlier model")
    (tmp_path / "training.html").write_text("earlier report")
    _fails("mpm3d:train_model", _train(cubes, tmp_path, BATCH_SIZE=100000),
           r"batch size 100000 is larger than the \d+ training samples per epoch.*lower the batch size \(BATCH_SIZE\)")
    assert (tmp_path / "model.safetensors").read_bytes() == b"earlier model"
    assert (tmp_path / "training.html").read_text() == "earlier report"
    assert tree(tmp_path) == ["model.safetensors", "training.html"]


def test_a_target_with_other_features_is_refused(cubes, tmp_path):
    _fails("mpm3d:train_model", _train(dict(cubes, target=cubes["fewer"]), tmp_path / "out"),
           r"SOURCE and TARGET cubes must have the same features in the same order")
    assert not (tmp_path / "out").exists()


def test_a_source_without_labels_or_not_a_cube_is_named(cubes, tmp_path):
    _fails("mpm3d:train_model", _train(dict(cubes, source=cubes["target"]), tmp_path / "out"),
           r"The SOURCE cube .*target\.nc has no labels: stack it again with its label slices \(LABELS\)")
    text = tmp_path / "notes.nc"
    text.write_text("not a cube")
    _fails("mpm3d:train_model", _train(dict(cubes, source=str(text)), tmp_path / "out"),
           r"SOURCE .*notes\.nc is not a readable cube file \(NetCDF\); give a cube made by 'Stack depth slices")
    assert not (tmp_path / "out").exists()


def test_unwritable_training_outputs_are_named_before_the_worker_starts(cubes, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    _fails("mpm3d:train_model", _train(cubes, tmp_path / "file.txt"),
           r"OUTPUT_MODEL: cannot write .*file\.txt/model\.safetensors: .*is a file, not a folder; choose another")
    _fails("mpm3d:train_model", _train(cubes, tmp_path, OUTPUT_REPORT=str(tmp_path)),
           r"OUTPUT_REPORT: cannot write .*: it is a folder; give a file name")
    assert tree(tmp_path) == ["file.txt"]


def test_auto_device_falls_back_to_the_cpu(model):
    import torch

    assert model["DEVICE_USED"] == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_without_a_gpu_is_a_clear_error(cubes, tmp_path, worker_hook):
    worker_hook("no_cuda")  # the worker's torch sees no GPU, on a machine with CUDA as on one without
    _fails("mpm3d:train_model", _train(cubes, tmp_path / "out", DEVICE=1),
           r"CUDA was requested \(DEVICE set to cuda.*no CUDA device; set DEVICE to auto .* or cpu")
    assert not (tmp_path / "out").exists()


# --- Model files and prediction ----------------------------------------------------------------------------

def _predict(model_path, cube, folder, **extra):
    return {"MODEL": model_path, "CUBE": cube, "PREFIX": "p", "DEVICE": 2,
            "OUTPUT_CUBE": os.path.join(folder, "p.nc"), "OUTPUT_FOLDER": os.path.join(folder, "levels"), **extra}


def test_a_model_applied_to_a_cube_with_other_features_is_refused(model, cubes, tmp_path):
    _fails("mpm3d:predict_prospectivity", _predict(model["OUTPUT_MODEL"], cubes["fewer"], tmp_path / "out"),
           r"CUBE's features differ from the MODEL's \(names and order must match\)")
    assert not (tmp_path / "out").exists()


def _bad_model(kind, good, folder):
    path = os.path.join(folder, f"{kind}.safetensors")
    data = open(good, "rb").read()
    if kind == "truncated":
        open(path, "wb").write(data[:len(data) // 2])
    elif kind == "not_a_model":
        open(path, "w").write("weights, honestly\n")
    elif kind == "pickle":
        open(path, "wb").write(pickle.dumps({"weights": CreatesMarker(os.path.join(folder, "payload-ran"))}))
    elif kind == "version":
        import json

        import safetensors.numpy

        length = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + length])["__metadata__"]
        safetensors.numpy.save_file(safetensors.numpy.load_file(good), path,
                                    metadata={**metadata, "format_version": "99"})
    return path


@pytest.mark.parametrize("kind, match", [
    ("truncated", r"MODEL file .*truncated\.safetensors is truncated .*copy the complete file again"),
    ("not_a_model", r"MODEL .*not_a_model\.safetensors is not an mpm3d model file"),
    ("pickle", r"MODEL .*pickle\.safetensors is not an mpm3d model file .*nothing in it ran"),
    ("version", r"MODEL file .*version\.safetensors has format version 99, this mpm3d reads version 1"),
])
def test_model_files_that_are_not_good_models_are_refused_unrun(model, cubes, tmp_path, kind, match):
    path = _bad_model(kind, model["OUTPUT_MODEL"], str(tmp_path))
    _fails("mpm3d:predict_prospectivity", _predict(path, cubes["target"], tmp_path / "out"), match)
    assert tree(tmp_path) == [os.path.basename(path)]  # no payload ran, no output


def test_prediction_outputs_that_cannot_be_written_are_named(model, cubes, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    _fails("mpm3d:predict_prospectivity",
           _predict(model["OUTPUT_MODEL"], cubes["target"], tmp_path, OUTPUT_FOLDER=str(tmp_path / "file.txt")),
           r"OUTPUT_FOLDER: cannot use .*file\.txt as the output folder: it is a file; choose another folder")
    _fails("mpm3d:predict_prospectivity",
           _predict(model["OUTPUT_MODEL"], cubes["target"], tmp_path,
                    OUTPUT_CUBE=str(tmp_path / "file.txt" / "p.nc")),
           r"OUTPUT_CUBE: cannot write .*is a file, not a folder")
    assert tree(tmp_path) == ["file.txt"]


# --- A worker that dies, and Cancel at every stage ----------------------------------------------------------

def test_a_training_worker_killed_mid_run_is_a_clear_error(cubes, tmp_path, worker_hook):
    worker_hook("kill_after_progress")
    (tmp_path / "model.safetensors").write_bytes(b"earlier model")
    _fails("mpm3d:train_model", _train(cubes, tmp_path),
           r"worker process was killed \(for example by the out-of-memory killer\); no output was written\. "
           r"Lower BATCH_SIZE or PATCH_SIZE\.")
    assert tree(tmp_path) == ["model.safetensors"]
    assert (tmp_path / "model.safetensors").read_bytes() == b"earlier model"


def test_a_prediction_worker_killed_while_writing_leaves_neither_cube_nor_rasters(
        model, cubes, tmp_path, worker_hook):
    """SIGKILL while the second level raster is written, over an earlier run: no new file, no half-written raster,
    and the earlier cube and rasters byte for byte; into a new folder: not even the folder."""
    _run("mpm3d:predict_prospectivity", _predict(model["OUTPUT_MODEL"], cubes["target"], tmp_path / "earlier"))
    before = checksums(tmp_path), tree(tmp_path)
    worker_hook("kill_in_rasters")
    for folder in ("earlier", "new"):
        _fails("mpm3d:predict_prospectivity", _predict(model["OUTPUT_MODEL"], cubes["target"], tmp_path / folder),
               r"worker process was killed .*no output was written\. Lower CHUNK_VOXELS\.")
    assert (checksums(tmp_path), tree(tmp_path)) == before  # "new" was never made


def test_cancel_while_stacking_leaves_no_cube(slices, tmp_path):
    feedback = Recorder(cancel=True)
    _fails("mpm3d:stack_slices", {"EVIDENCE": slices["SOURCE_EVIDENCE"], "LABELS": slices["SOURCE_LABELS"],
                                  "OUTPUT": tmp_path / "out" / "cube.nc"}, CANCELLED, feedback)
    assert feedback.isCanceled()
    assert not (tmp_path / "out").exists()


def test_cancel_while_training_leaves_no_model(cubes, tmp_path, worker_hook):
    worker_hook("slow")
    (tmp_path / "model.safetensors").write_bytes(b"earlier model")
    feedback = Recorder(cancel=True)
    _fails("mpm3d:train_model", _train(cubes, tmp_path), CANCELLED, feedback)
    assert feedback.isCanceled()
    assert tree(tmp_path) == ["model.safetensors"]
    assert (tmp_path / "model.safetensors").read_bytes() == b"earlier model"


def test_cancel_while_predicting_leaves_no_cube_and_no_rasters(model, cubes, tmp_path, worker_hook):
    worker_hook("slow")
    feedback = Recorder(cancel=True)
    _fails("mpm3d:predict_prospectivity", _predict(model["OUTPUT_MODEL"], cubes["target"], tmp_path / "out"),
           CANCELLED, feedback)
    assert feedback.isCanceled()
    assert not (tmp_path / "out").exists()


# --- Evaluation --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prospectivity(cubes, tmp_path_factory):
    """A prospectivity cube on the target grid, without running a model."""
    from mpm3d.core.cubefile import CubeReader, write_cube

    grid = CubeReader(cubes["target"]).grid
    values = np.random.default_rng(0).random(grid.shape).astype(np.float32)
    return write_cube(str(tmp_path_factory.mktemp("bad_input_p") / "p.nc"), grid, extra={"prospectivity": values})


def _evaluate(prospectivity, folder, **extra):
    return {"PROSPECTIVITY": prospectivity, "OUTPUT_REPORT": os.path.join(folder, "evaluation.html"),
            "OUTPUT_JSON": os.path.join(folder, "metrics.json"), **extra}


def test_evaluation_labels_on_another_grid_are_refused_and_earlier_reports_kept(
        prospectivity, cubes, slices, tmp_path):
    (tmp_path / "evaluation.html").write_text("earlier report")
    (tmp_path / "metrics.json").write_text("{}")
    _fails("mpm3d:evaluate_prospectivity", _evaluate(prospectivity, tmp_path, LABEL_CUBE=cubes["source"]),
           r"LABEL_CUBE .*source\.nc is not on the grid of the PROSPECTIVITY cube: .*extent")
    labels = slices["TARGET_LABELS"]
    shifted = _copy(labels[2], tmp_path / "shifted" / os.path.basename(labels[2]),
                    outputBounds=_shifted_bounds(labels[2], 25))
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(prospectivity, tmp_path, LABEL_SLICES=labels[:2] + [shifted] + labels[3:]),
           rf"LABEL_SLICES slice {os.path.basename(labels[2])} is not on the grid of the PROSPECTIVITY cube: extent")
    _fails("mpm3d:evaluate_prospectivity", _evaluate(prospectivity, tmp_path, LABEL_SLICES=labels[:5]),
           r"The LABEL_SLICES slices \(levels .*\) do not match the levels of the PROSPECTIVITY cube")
    assert (tmp_path / "evaluation.html").read_text() == "earlier report"
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_evaluation_without_labels_or_with_an_unwritable_report_is_named(prospectivity, slices, tmp_path):
    _fails("mpm3d:evaluate_prospectivity", _evaluate(prospectivity, tmp_path / "out"),
           r"PROSPECTIVITY cube .*p\.nc has no label variable: give a cube stacked with label slices \(LABEL_CUBE\)")
    (tmp_path / "file.txt").write_text("x")
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(prospectivity, tmp_path / "file.txt", LABEL_SLICES=slices["TARGET_LABELS"]),
           r"OUTPUT_REPORT: cannot write .*is a file, not a folder")
    assert tree(tmp_path) == ["file.txt"]


def test_cancel_while_evaluating_leaves_no_report(prospectivity, slices, tmp_path):
    feedback = Recorder(cancel=True)
    _fails("mpm3d:evaluate_prospectivity",
           _evaluate(prospectivity, tmp_path / "out", LABEL_SLICES=slices["TARGET_LABELS"]), CANCELLED, feedback)
    assert feedback.isCanceled()
    assert not (tmp_path / "out").exists()


# --- Through qgis_process: exit status and message ---------------------------------------------------------

def _qgis_process_fails(algorithm, parameters, profile, *fragments):
    import qgis_process

    run, _ = qgis_process.run_algorithm(algorithm, {k: str(v) if isinstance(v, os.PathLike) else v
                                                    for k, v in parameters.items()}, profile, timeout=300)
    text = run.stdout + run.stderr
    assert run.returncode != 0, text[-3000:]
    for fragment in fragments:
        assert fragment in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


def test_qgis_process_stacking_a_mismatched_slice(slices, qgis_profile, tmp_path):
    evidence = slices["TARGET_EVIDENCE"]
    odd = _copy(evidence[2], tmp_path / "odd_z-9999.tif", xRes=50, yRes=50)
    _qgis_process_fails("mpm3d:stack_slices", {"EVIDENCE": evidence + [odd], "OUTPUT": tmp_path / "out" / "c.nc"},
                        qgis_profile, "EVIDENCE slice odd_z-9999.tif does not match", "pixel size")
    assert not (tmp_path / "out").exists()


def test_qgis_process_zero_epochs(cubes, qgis_profile, tmp_path):
    _qgis_process_fails("mpm3d:train_model", _train(cubes, str(tmp_path / "out"), EPOCHS=0), qgis_profile,
                        "EPOCHS (Epochs) must be a whole number from 1 to 10000")
    assert not (tmp_path / "out").exists()


def test_qgis_process_refuses_a_pickled_model_without_running_it(cubes, qgis_profile, tmp_path):
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"weights": CreatesMarker(str(tmp_path / "payload-ran"))}))
    _qgis_process_fails("mpm3d:predict_prospectivity", _predict(str(evil), cubes["target"], str(tmp_path / "out")),
                        qgis_profile, "is not an mpm3d model file", "MODEL")
    assert tree(tmp_path) == ["evil.safetensors"]
