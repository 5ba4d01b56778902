"""Hostile input at the core: non-finite numbers, a diverging training, relative paths and Ctrl-C on the
command line, and a command whose output is one of its inputs."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from mpm3d.core.data.synthetic import synthetic_pair
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.training import train
from mpm3d.core.package import child_code
from mpm3d.core.settings import TrainConfig

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = child_code(PLUGIN_DIR, "import sys\nfrom mpm3d.core.cli import main\nsys.exit(main())")  # the core's command line
TINY = dict(method="cnn", patch_size=3, epochs=2, batch_size=16, device="cpu", seed=0, members=1)


@pytest.fixture(scope="module")
def pair():
    return synthetic_pair(shape=(6, 16, 16), voxel_size=(50.0, 70.0, 70.0), seed=2)


@pytest.mark.parametrize("field, parameter", [("learning_rate", "LEARNING_RATE"), ("lambda_max", "LAMBDA_MAX"),
                                              ("val_fraction", "VALIDATION_FRACTION"),
                                              ("negative_ratio", "NEGATIVE_RATIO")])
def test_training_refuses_non_finite_numbers_by_name(pair, field, parameter):
    with pytest.raises(Mpm3dError, match=rf"^{parameter} must be a finite number, got nan$"):
        train(*pair, TrainConfig(**{**TINY, field: float("nan")}))


def test_a_diverging_training_stops_with_a_message_instead_of_a_nan_model(pair):
    with pytest.raises(Mpm3dError, match=r"^training diverged in epoch 1: the loss became nan .*no model was "
                                         r"written\. Lower LEARNING_RATE or LAMBDA_MAX"):
        train(*pair, TrainConfig(**{**TINY, "learning_rate": 1e30}))


def _cli(arguments, cwd, **kwargs):
    return subprocess.run([sys.executable, "-c", CLI, "--json-lines", *arguments],
                          cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)


def _errors(run):
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{"event": "error"')]


@pytest.fixture(scope="module")
def cubes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    assert _cli(["synth", "--out", "syn", "--shape", "6x16x16", "--seed", "2"], folder).returncode == 0
    names = sorted(os.listdir(folder / "syn" / "source"))
    evidence = [f"syn/source/{n}" for n in names if n.startswith("evidence")]
    labels = [f"syn/source/{n}" for n in names if n.startswith("label")]
    assert _cli(["stack", "--evidence", *evidence, "--labels", *labels, "--out", "source.nc"], folder).returncode == 0
    target = [f"syn/target/{n}" for n in sorted(os.listdir(folder / "syn" / "target")) if n.startswith("evidence")]
    assert _cli(["stack", "--evidence", *target, "--out", "target.nc"], folder).returncode == 0
    return folder


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_the_command_line_reads_relative_paths_against_its_working_directory(cubes):
    run = _cli(["train", "--source", "source.nc", "--target", "target.nc", "--out", "out/m.safetensors",
                "--report", "report.html", "--method", "rf", "--epochs", "1", "--patch-size", "3",
                "--batch-size", "16"], cubes)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(run.stdout.splitlines()[-1])["outputs"]
    assert result["OUTPUT_MODEL"] == str(cubes / "out" / "m.safetensors") and (cubes / "report.html").is_file()


@pytest.mark.parametrize("arguments, message", [
    (["train", "--source", "source.nc", "--target", "target.nc", "--out", "x.safetensors", "--report", "source.nc"],
     "--report would overwrite the input --source"),
    (["predict", "--model", "x.safetensors", "--cube", "target.nc", "--out-cube", "./target.nc", "--out-folder", "l"],
     "--out-cube would overwrite the input --cube"),
    (["evaluate", "--prospectivity", "target.nc", "--report", "r.json", "--json", "r.json"],
     "--report and --json are the same file"),
])
def test_the_command_line_refuses_an_output_over_an_input(cubes, arguments, message):
    before = {name: _sha(cubes / name) for name in ("source.nc", "target.nc")}
    run = _cli(arguments, cubes)
    assert run.returncode == 2 and message in _errors(run)[0]["message"]
    assert {name: _sha(cubes / name) for name in before} == before


@pytest.mark.parametrize("option", ["--learning-rate", "--lambda-max", "--val-fraction", "--negative-ratio"])
def test_the_command_line_refuses_non_finite_numbers(cubes, option):
    run = _cli(["train", "--source", "source.nc", "--target", "target.nc", "--out", "n.safetensors", option, "nan"],
               cubes)
    assert run.returncode == 2 and f"argument {option}: 'nan' is not a finite number" in run.stderr
    assert not (cubes / "n.safetensors").exists()


def _ctrl_c_as_in_a_terminal() -> None:
    """A suite started in the background (``make test &``) ignores SIGINT, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_the_command_line_is_a_cancel(cubes):
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "--json-lines", "train", "--source", "source.nc", "--target", "target.nc",
         "--out", "c.safetensors", "--method", "cnn", "--epochs", "10000", "--patch-size", "3", "--batch-size", "16",
         "--members", "1"],
        cwd=cubes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_ctrl_c_as_in_a_terminal)
    for line in process.stdout:  # the first epoch's progress; the worker says it whether or not it ends later
        if "poch 1/10000" in line or '"error"' in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and time.monotonic() - started < 30
    error = [json.loads(line) for line in out.splitlines() if '"error"' in line][0]
    assert error["kind"] == "cancelled" and error["message"].startswith("Cancelled (interrupted)")
    assert "Traceback" not in err and "BATCH_SIZE" not in out
    assert not (cubes / "c.safetensors").exists()


# --- The team's own hostile round (see the closing note of the bad-input issue) -------------------------------

def _write_tif(path, data, geotransform=(40500000, 25, 0, 4130000, 0, -25), crs="EPSG:4528", dtype=None,
               alpha=False):
    from osgeo import gdal

    gdal.UseExceptions()
    data = np.asarray(data)
    bands = data if data.ndim == 3 else data[None]
    kind = dtype or (gdal.GDT_Float32 if data.dtype.kind == "f" else gdal.GDT_Int16)
    ds = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1], len(bands), kind)
    if alpha:
        ds.GetRasterBand(len(bands)).SetColorInterpretation(gdal.GCI_AlphaBand)
    if geotransform:
        ds.SetGeoTransform(geotransform)
    if crs:
        ds.SetProjection(crs if crs.startswith(("GEOG", "PROJ")) else _wkt(crs))
    for index, band in enumerate(bands):
        ds.GetRasterBand(index + 1).SetDescription(f"f{index}")
        ds.GetRasterBand(index + 1).WriteArray(band)
    ds = None
    return str(path)


def _wkt(code):
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.SetFromUserInput(code)
    return srs.ExportToWkt()


def _levels(folder, name="evidence", n=3, **options):
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    return [_write_tif(folder / f"{name}_z-{100 + 25 * i:04d}.tif", rng.random((2, 6, 7)).astype(np.float32),
                       **options) for i in range(n)]


@pytest.mark.parametrize("prefix", ["../escaped", "/tmp/elsewhere/evidence", "sub/dir"])
def test_a_prefix_with_a_folder_part_is_refused(cubes, prefix):
    before = sorted(os.listdir(cubes))
    run = _cli(["export", "--cube", "target.nc", "--out", "exported", "--prefix", prefix], cubes)
    assert run.returncode == 2 and f"PREFIX '{prefix}' must be a plain file-name start" in _errors(run)[0]["message"]
    assert sorted(os.listdir(cubes)) == before


@pytest.mark.parametrize("prefix, shown", [("evidence\nz", "\\n"), ("evi\tdence", "\\t")])
def test_a_prefix_with_a_control_character_is_refused_by_name(cubes, prefix, shown):
    before = sorted(os.listdir(cubes))
    run = _cli(["export", "--cube", "target.nc", "--out", "exported", "--prefix", prefix], cubes)
    message = _errors(run)[0]["message"]
    assert run.returncode == 2 and message.startswith(f"PREFIX {prefix!r} holds a control character ({shown})")
    assert sorted(os.listdir(cubes)) == before


@pytest.mark.parametrize("out, match", [
    ("new\nline.nc", r"^--out: the output path .* holds a control character \(\\n\)"),
    ("x" * 300 + ".nc", r"^--out: the name x{40}\.\.\. is 303 bytes long, and a file or folder name may have at "
                        r"most 255; choose a shorter name"),
    ("深" * 90 + "/cube.nc", r"^--out: the name 深{40}\.\.\. is 270 bytes long"),
], ids=["newline", "overlong-name", "overlong-folder-in-utf8"])
def test_an_output_name_that_cannot_be_written_is_refused_before_any_work(cubes, out, match):
    import re

    before = sorted(os.listdir(cubes))
    names = sorted(n for n in os.listdir(cubes / "syn" / "target"))
    run = _cli(["stack", "--evidence", *(f"syn/target/{n}" for n in names if n.startswith("evidence")),
                "--out", out], cubes)
    assert run.returncode == 2 and re.search(match, _errors(run)[0]["message"]), _errors(run)
    assert sorted(os.listdir(cubes)) == before


def test_a_prefix_too_long_for_the_level_names_is_refused_before_any_work(cubes):
    """The real names count: 'p' * 245 + '_z-0300.tif' is 256 bytes, so 244 is the longest PREFIX these levels
    allow, and the message says so."""
    before = sorted(os.listdir(cubes))
    run = _cli(["export", "--cube", "target.nc", "--out", "levels", "--prefix", "p" * 245], cubes)
    message = _errors(run)[0]["message"]
    assert run.returncode == 2 and message.startswith("OUTPUT_FOLDER: the level raster p"), message
    assert "_z-0300.tif would be 256 bytes long, and a file name may have at most 255; choose a PREFIX of at most " \
           "244 bytes for these levels (the level rasters add their map and elevation to it)" in message
    assert sorted(os.listdir(cubes)) == before


def test_a_long_prefix_whose_level_names_fit_is_written(cubes, tmp_path):
    """A '*' of the level glob once counted as the longest possible elevation tag (25 characters), so a PREFIX over
    about 224 bytes was refused though every real name fits; 244 bytes make names of exactly 255."""
    run = _cli(["export", "--cube", str(cubes / "target.nc"), "--out", str(tmp_path), "--prefix", "p" * 244], cubes)
    assert run.returncode == 0, _errors(run)
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 6 and {len(name) for name in names} == {255} and names[0].endswith("_z-0300.tif")


def test_a_prefix_with_glob_characters_is_taken_literally(tmp_path):
    from mpm3d.core.data.slices import level_files

    pattern = level_files(str(tmp_path), "[a]")
    (tmp_path / "[a]_z-0100.tif").write_text("x")
    (tmp_path / "a_z-0100.tif").write_text("y")
    import glob

    assert glob.glob(pattern) == [str(tmp_path / "[a]_z-0100.tif")]


def test_levels_never_replace_a_file_mpm3d_did_not_write(cubes):
    """OUTPUT_FOLDER = the evidence folder and PREFIX = evidence would replace the user's slices."""
    folder = cubes / "syn" / "target"
    before = {name: _sha(folder / name) for name in os.listdir(folder)}
    train = _cli(["train", "--source", "source.nc", "--target", "target.nc", "--out", "r.safetensors",
                  "--method", "rf", "--patch-size", "3", "--batch-size", "16"], cubes)
    assert train.returncode == 0
    run = _cli(["predict", "--model", "r.safetensors", "--cube", "target.nc", "--out-cube", "p_r.nc",
                "--out-folder", "syn/target", "--prefix", "evidence", "--device", "cpu"], cubes)
    assert run.returncode == 2
    assert "exists and was not written by mpm3d" in _errors(run)[0]["message"]
    assert {name: _sha(folder / name) for name in os.listdir(folder)} == before
    assert not (cubes / "p_r.nc").exists()
    again = _cli(["predict", "--model", "r.safetensors", "--cube", "target.nc", "--out-cube", "p_r.nc",
                  "--out-folder", "levels_r", "--prefix", "p", "--device", "cpu"], cubes)
    twice = _cli(["predict", "--model", "r.safetensors", "--cube", "target.nc", "--out-cube", "p_r.nc",
                  "--out-folder", "levels_r", "--prefix", "p", "--device", "cpu"], cubes)
    assert again.returncode == 0 and twice.returncode == 0, twice.stdout[-1000:]  # its own levels it replaces


@pytest.mark.parametrize("kind", ["uncertainty", "novelty", "dominant_evidence", "dominant_change"])
def test_predict_on_the_command_line_refuses_any_level_raster_over_an_input_before_any_work(cubes, tmp_path, kind):
    """The command line once checked only the prospectivity's level names (p_z*.tif): a model file that happens to
    be named like another map's level raster was found only after the prediction."""
    train = _cli(["train", "--source", "source.nc", "--target", "target.nc", "--out", str(tmp_path / "m.safetensors"),
                  "--method", "rf", "--patch-size", "3", "--batch-size", "16"], cubes)
    assert train.returncode == 0
    model = tmp_path / "levels" / f"p_{kind}_z-0300.tif"  # a model is known by its content, whatever its name
    model.parent.mkdir()
    os.rename(tmp_path / "m.safetensors", model)
    run = _cli(["predict", "--model", str(model), "--cube", "target.nc", "--out-cube", str(tmp_path / "p.nc"),
                "--out-folder", str(tmp_path / "levels"), "--prefix", "p", "--why-here", "--device", "cpu"], cubes)
    assert run.returncode == 2 and _errors(run)[0]["message"].startswith(
        f"--out-folder would overwrite the input --model ({model})"), _errors(run)
    assert sorted(os.listdir(tmp_path)) == ["levels"] and os.listdir(tmp_path / "levels") == [model.name]


def test_an_output_name_near_the_file_system_limit_can_be_written_and_replaced(cubes):
    name = "c" * 250 + ".nc"
    evidence = sorted(f"syn/source/{n}" for n in os.listdir(cubes / "syn" / "source") if n.startswith("evidence"))
    for _ in range(2):
        run = _cli(["stack", "--evidence", *evidence, "--out", name], cubes)
        assert run.returncode == 0, run.stdout[-1000:] + run.stderr[-1000:]
    os.unlink(cubes / name)


def test_a_broken_link_as_output_folder_is_named(cubes, tmp_path):
    os.symlink(tmp_path / "gone", tmp_path / "link")
    run = _cli(["export", "--cube", "target.nc", "--out", str(tmp_path / "link")], cubes)
    assert run.returncode == 2 and "is a broken symbolic link" in _errors(run)[0]["message"]


@pytest.mark.parametrize("field, value, message", [
    ("negative_ratio", 999.0, r"^NEGATIVE_RATIO 999 asks for \d+ barren samples per epoch, but the source has only"),
    ("negative_ratio", 1e6, r"^the number of barren samples per ore sample \(NEGATIVE_RATIO\) must be a number from "
                            r"0\.01 to 1000, got 1e\+06$"),
    ("lambda_max", -5.0, r"^the domain adaptation weight \(LAMBDA_MAX\) must be a number of at least 0, got -5$"),
    ("seed", -1, r"^the random seed \(SEED\) must be a whole number from 0 to 4294967295, got -1$"),
])
def test_training_values_out_of_range_are_refused_by_name(pair, field, value, message):
    with pytest.raises(Mpm3dError, match=message):
        train(*pair, TrainConfig(**{**TINY, field: value}))


def test_a_cube_too_small_for_any_patch_is_named(pair):
    import dataclasses

    from mpm3d.core.data.grid import Grid

    source, target = pair
    tiny = Grid(target.grid.crs, target.grid.x[:2], target.grid.y[:2], target.grid.z)
    small = dataclasses.replace(target, grid=tiny, features=target.features[:, :, :2, :2], label=None)
    with pytest.raises(Mpm3dError, match=r"the target cube \(TARGET\) \(6, 2, 2\) \(z, y, x\) is too small: a 3D "
                                         r"patch needs at least 3 voxels along z, y and x"):
        train(source, small, TrainConfig(**TINY))


def test_labels_or_elevations_in_another_order_than_the_names_are_refused(tmp_path):
    from mpm3d.core.data.slices import read_slices

    evidence = _levels(tmp_path / "e")
    labels = [_write_tif(tmp_path / "e" / f"label_z-{100 + 25 * i:04d}.tif", np.zeros((6, 7), np.int16))
              for i in range(3)]
    with pytest.raises(Mpm3dError, match=r"LABELS slice label_z-0150\.tif is named for -150 m but would be stored "
                                         r"at -100 m: the order does not match .*Give the LABELS slices in the order"):
        read_slices(evidence, label_paths=labels[::-1])
    with pytest.raises(Mpm3dError, match=r"EVIDENCE slice evidence_z-0100\.tif is named for -100 m but would be "
                                         r"stored at -150 m.*Give ELEVATIONS in the order of the EVIDENCE slices"):
        read_slices(evidence, elevations=[-150.0, -125.0, -100.0])
    assert read_slices(evidence, elevations=[-1.0, -2.0, -3.0]).grid.z.tolist() == [-1.0, -2.0, -3.0]


@pytest.mark.parametrize("case, options, message", [
    ("no georeferencing", {"geotransform": None, "crs": None}, r"has no georeferencing \(no geotransform and no CRS"),
    ("complex", {"dtype": "complex"}, r"band 1: complex numbers are not evidence"),
    ("alpha", {"alpha": True}, r"band 3 is an alpha \(transparency\) band, not evidence"),
])
def test_slices_that_are_not_evidence_grids_are_refused(tmp_path, case, options, message):
    from mpm3d.core.data.slices import read_slices
    from osgeo import gdal

    if options.get("dtype") == "complex":
        options = {"dtype": gdal.GDT_CFloat32}
    if options.get("alpha"):
        paths = [_write_tif(tmp_path / f"rgba_z-{100 + 25 * i:04d}.tif", np.zeros((3, 6, 7), np.uint8),
                            dtype=gdal.GDT_Byte, alpha=True) for i in range(3)]
    else:
        paths = _levels(tmp_path / "s", **options)
    with pytest.raises(Mpm3dError, match=message):
        read_slices(paths)


def test_a_slice_cut_short_is_named_not_a_traceback(tmp_path):
    from mpm3d.core.data.slices import read_slices

    paths = [_write_tif(tmp_path / f"e_z-{100 + 25 * i:04d}.tif",
                        np.random.default_rng(i).random((2, 300, 300)).astype(np.float32)) for i in range(3)]
    size = os.path.getsize(paths[1])
    with open(paths[1], "r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(Mpm3dError, match=r"EVIDENCE slice e_z-0125\.tif, band \d cannot be read \(the file is "
                                         r"damaged or cut short"):
        read_slices(paths)


def test_a_prospectivity_outside_0_1_is_refused():
    from mpm3d.core.data.grid import Grid
    from mpm3d.core.results.targets import extract_targets, voxel_points

    grid = Grid("EPSG:4528", np.arange(4.0), np.arange(4.0)[::-1], np.array([0.0, -1.0, -2.0]))
    values = np.full(grid.shape, 16.6)
    with pytest.raises(Mpm3dError, match=r"holds 48 values outside 0-1 \(e\.g\. 16\.6\): it is not a probability"):
        extract_targets(values, grid, threshold=0.5)
    with pytest.raises(Mpm3dError, match="it is not a probability map"):
        voxel_points(values, grid, 0.5)


@pytest.mark.parametrize("target, said", [("./source.nc", "SOURCE and TARGET are the same cube: "),
                                          ("copy_of_source.nc", "SOURCE and TARGET are the same cube (TARGET is a "
                                                                "byte-for-byte copy of SOURCE): ")],
                         ids=["same-file", "copy"])
def test_training_on_one_cube_as_source_and_target_says_no_transfer_happens(cubes, target, said):
    import shutil

    shutil.copyfile(cubes / "source.nc", cubes / "copy_of_source.nc")
    run = _cli(["train", "--source", "source.nc", "--target", target, "--out", "same.safetensors",
                "--method", "rf", "--patch-size", "3", "--batch-size", "16"], cubes)
    warnings = [json.loads(line)["message"] for line in run.stdout.splitlines() if '"warning"' in line]
    assert run.returncode == 0 and warnings[0] == said + (
        "no transfer happens. The model learns nothing about another deposit, and the domain adaptation has "
        "nothing to adapt to. Give the under-explored deposit's cube as TARGET."), warnings
    os.remove(cubes / "copy_of_source.nc")


def test_a_gpu_out_of_memory_ends_with_status_3_and_says_what_to_lower(monkeypatch, capsys, tmp_path):
    from mpm3d.core import cli, jobs

    def out_of_memory(*_args, **_kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(jobs, "stack", out_of_memory)
    status = cli.main(["--json-lines", "stack", "--evidence", str(tmp_path / "a_z-1.tif"), "--out",
                       str(tmp_path / "c.nc")])
    error = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert status == 3 and error["kind"] == "oom"
    assert "Lower the batch size (BATCH_SIZE) or the prediction chunk size (CHUNK_VOXELS)" in error["message"]


def test_a_forest_is_never_refused_for_a_batch_size_it_does_not_use(cubes, tmp_path):
    """The default BATCH_SIZE 128 refused a random forest on a small source ('lower the batch size'), though a forest
    is fitted on all samples at once; a network is still refused."""
    forest = _cli(["train", "--source", "source.nc", "--target", "target.nc", "--out", str(tmp_path / "f.safetensors"),
                   "--method", "rf", "--patch-size", "3"], cubes)
    assert forest.returncode == 0, _errors(forest)
    network = _cli(["train", "--source", "source.nc", "--target", "target.nc", "--out", str(tmp_path / "n.safetensors"),
                    "--method", "cnn", "--patch-size", "3", "--epochs", "1", "--device", "cpu"], cubes)
    assert network.returncode == 2 and "lower the batch size (BATCH_SIZE)" in _errors(network)[0]["message"]


@pytest.mark.parametrize("prefix", ["", "  "])
def test_an_empty_prefix_is_named_as_empty(prefix):
    """It was told to drop a folder part it did not have."""
    from mpm3d.core.paths import check_prefix

    with pytest.raises(Mpm3dError, match=r"^PREFIX is empty: the level rasters are named by it and their elevation; "
                                         r"give a file-name start such as 'prospectivity'\.$"):
        check_prefix(prefix)
