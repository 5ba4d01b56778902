"""Hostile input at the core: non-finite numbers, a diverging training, relative paths and Ctrl-C on the
command line, and a command whose output is one of its inputs."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.errors import Mpm3dError
from core.synthetic import synthetic_pair
from core.train import TrainConfig, train

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = dict(method="cnn", patch_size=3, epochs=2, batch_size=16, device="cpu", seed=0)


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
    return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {PLUGIN_DIR!r}); "
                           "from core.cli import main; sys.exit(main())", "--json-lines", *arguments],
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


def test_ctrl_c_on_the_command_line_is_a_cancel(cubes):
    process = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {PLUGIN_DIR!r}); from core.cli import main; "
         "sys.exit(main())", "--json-lines", "train", "--source", "source.nc", "--target", "target.nc",
         "--out", "c.safetensors", "--method", "cnn", "--epochs", "200", "--patch-size", "3", "--batch-size", "16"],
        cwd=cubes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in process.stdout:
        if '"Epoch' in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and time.monotonic() - started < 30
    error = [json.loads(line) for line in out.splitlines() if '"error"' in line][0]
    assert error["kind"] == "cancelled" and error["message"].startswith("Cancelled (interrupted)")
    assert "Traceback" not in err and "BATCH_SIZE" not in out
    assert not (cubes / "c.safetensors").exists()
