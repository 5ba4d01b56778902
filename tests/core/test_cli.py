"""The core's command line as a GPU server runs it: what training reads, and how an out-of-memory ends."""

import dataclasses
import itertools
import json
import time

import numpy as np
import pytest
import torch
from mpm3d.core import cli
from mpm3d.core.data.cubefile import save_cube
from mpm3d.core.data.grid import LABEL_ORE, LABEL_UNKNOWN
from mpm3d.core.data.synthetic import synthetic_pair


@pytest.fixture(scope="module")
def cubes(tmp_path_factory):
    """A labelled source cube, and the target twice: once without labels, once with every voxel labelled ore."""
    folder = tmp_path_factory.mktemp("cli_cubes")
    source, target = synthetic_pair(shape=(12, 24, 24), voxel_size=(50.0, 70.0, 70.0), seed=1)
    all_ore = np.where(target.valid, LABEL_ORE, LABEL_UNKNOWN)
    paths = {"source": save_cube(str(folder / "source.nc"), source)}
    for name, label in (("unlabelled", None), ("all_ore", all_ore)):
        (folder / name).mkdir()  # one file name for both: the model file records it
        paths[name] = save_cube(str(folder / name / "target.nc"), dataclasses.replace(target, label=label))
    return paths


def test_training_through_the_command_line_never_sees_target_labels(cubes, tmp_path, monkeypatch):
    """The job drops the target's labels before training: training is handed no labels at all, and labels all ore
    or none give the same model file: every weight bit for bit, every metadata field (the clock stopped, so the
    recorded durations agree) but the date it was trained."""
    from mpm3d.core.learning import training as train_module  # imported here: the job imports it only when it runs

    handed = []
    real_train = train_module.train

    def spy(source, target, *args, **kwargs):
        handed.append(target.label)
        return real_train(source, target, *args, **kwargs)

    monkeypatch.setattr(train_module, "train", spy)
    models = []
    for name in ("unlabelled", "all_ore"):
        ticks = itertools.count()
        monkeypatch.setattr(time, "time", lambda ticks=ticks: float(next(ticks)))
        monkeypatch.setattr(time, "perf_counter", lambda ticks=ticks: float(next(ticks)))
        out = tmp_path / name / "model.safetensors"
        status = cli.main(["train", "--source", cubes["source"], "--target", cubes[name], "--out", str(out),
                           "--report", str(tmp_path / name / "training.html"), "--method", "dann_cta",
                           "--patch-size", "3", "--epochs", "2", "--batch-size", "16", "--members", "2",
                           "--device", "cpu", "--seed", "5"])
        monkeypatch.undo()
        monkeypatch.setattr(train_module, "train", spy)
        assert status == 0
        models.append(_model_file(out))
    assert [label is None for label in handed] == [True, True]
    assert models[0][0].keys() == models[1][0].keys() and len(models[0][0]) > 10
    for name, weights in models[0][0].items():
        assert weights.dtype == models[1][0][name].dtype and weights.tobytes() == models[1][0][name].tobytes()
    assert models[0][1] == models[1][1]
    # the versions training recorded, the scikit-learn of the novelty sample and selection scores among them
    assert set(models[0][1]["provenance"]["versions"]) == {"mpm3d", "torch", "numpy", "scikit-learn"}


def _model_file(path):
    """(tensors, metadata) of a model file, the training date left out of the provenance."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with safe_open(str(path), "np") as handle:
        metadata = handle.metadata()
    provenance = json.loads(metadata.pop("provenance"))
    assert provenance.pop("trained")
    return load_file(str(path)), {**metadata, "provenance": provenance}


@pytest.mark.parametrize("command, job, error", [
    ("train", "train_job", torch.cuda.OutOfMemoryError("Tried to allocate 2.00 GiB")),
    ("predict", "predict_job", RuntimeError("CUDA error: out of memory")),
])
def test_out_of_memory_ends_with_status_3_and_says_what_to_lower(monkeypatch, capsys, tmp_path, command, job, error):
    """torch's own out-of-memory error (recognised by its type) and cuDNN's (by its words) alike."""
    from mpm3d import core

    def out_of_memory(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(core.jobs, job, out_of_memory)
    paths = {"train": ["--source", "s.nc", "--target", "t.nc", "--out", "m.safetensors"],
             "predict": ["--model", "m.safetensors", "--cube", "c.nc", "--out-cube", "p.nc", "--out-folder", "p"]}
    status = cli.main(["--json-lines", command, *[str(tmp_path / a) if "." in a or a == "p" else a
                                                  for a in paths[command]]])
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert status == 3 and event["event"] == "error" and event["kind"] == "oom"
    assert event["message"] == ("The GPU ran out of memory. Lower the batch size (BATCH_SIZE) or the prediction chunk "
                                "size (CHUNK_VOXELS), or run on the CPU (DEVICE=cpu).")


def test_a_training_report_with_input_alignment_reads_the_aligned_target_once(cubes, tmp_path, monkeypatch):
    """With INPUT_ALIGNMENT the report's analyses (the shift after alignment, the importance, the gate) read the
    target as the model sees it, aligned once for all of them beside training's own alignment."""
    from mpm3d.core.learning import alignment

    calls = []
    real = alignment.aligned_cube
    monkeypatch.setattr(alignment, "aligned_cube", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    counts = {}
    for report in (None, tmp_path / "training.html"):
        calls.clear()
        status = cli.main(["train", "--source", cubes["source"], "--target", cubes["unlabelled"],
                           "--out", str(tmp_path / "model.safetensors"), "--method", "rf",
                           "--input-alignment", "quantile", "--device", "cpu", "--seed", "2",
                           *(["--report", str(report)] if report else [])])
        assert status == 0
        counts[report is not None] = len(calls)
    html = (tmp_path / "training.html").read_text()
    assert "after the input alignment and standardisation" in html and "importance" in html.lower()
    assert counts[True] == counts[False] + 1


def test_the_forests_automatic_alignment_is_recorded_as_quantile(cubes, tmp_path):
    """INPUT_ALIGNMENT auto, the default, is quantile mapping for the forest: the model file and the training
    report say what training used, not 'auto'."""
    out, report = tmp_path / "forest.safetensors", tmp_path / "forest.html"
    status = cli.main(["train", "--source", cubes["source"], "--target", cubes["unlabelled"], "--out", str(out),
                       "--report", str(report), "--method", "rf", "--batch-size", "16", "--device", "cpu",
                       "--seed", "2"])
    assert status == 0
    metadata = _model_file(out)[1]
    assert metadata["provenance"]["train_config"]["input_alignment"] == "quantile"
    assert json.loads(metadata["alignment"])["method"] == "quantile"
    configuration = report.read_text().split("Configuration")[-1]
    assert '<th class="key">input_alignment</th><td class="key">quantile</td>' in configuration
