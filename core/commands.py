"""Command-line jobs that need torch (train, predict) or score results (evaluate).

Kept apart from cli.py so that the data commands start without importing torch.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict

import numpy as np

from .errors import Mpm3dError
from .selection import SELECTION_RULES


def finite(text: str) -> float:
    """A number that is neither NaN nor infinite: a NaN learning rate trains a NaN model without a word."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number; give an ordinary number")
    return value


def add_model_commands(commands) -> None:
    train = commands.add_parser("train", help="train a prospectivity model (DANN-CTA or a baseline)")
    train.add_argument("--source", required=True, help="labelled source cube (.nc)")
    train.add_argument("--target", required=True, help="unlabelled target cube (.nc); its labels are never read")
    train.add_argument("--out", required=True, help="model file (.safetensors)")
    train.add_argument("--report", help="HTML training report")
    train.add_argument("--method", default="dann_cta", help="dann_cta, dann, cta, cnn or rf")
    train.add_argument("--patch-size", type=int, default=9)
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--learning-rate", type=finite, default=1e-3)
    train.add_argument("--negative-ratio", type=finite, default=1.0)
    train.add_argument("--lambda-max", type=finite, default=1.0)
    train.add_argument("--val-fraction", type=finite, default=0.25,
                       help="share of the source's x-y blocks held out to choose the epoch; 0: keep the last epoch")
    train.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--members", type=int, default=0,
                       help="ensemble members, each trained from its own seed (0: 5 on CUDA, 3 on the CPU); "
                            "the random forest's members are its trees")
    train.add_argument("--selection", default="source_val", choices=SELECTION_RULES,
                       help="how a network's epoch is chosen without target labels (average: of the last quarter "
                            "of the epochs' weights)")

    predict = commands.add_parser("predict", help="dense prospectivity of a cube: cube file and level rasters")
    predict.add_argument("--model", required=True)
    predict.add_argument("--cube", required=True)
    predict.add_argument("--out-cube", required=True, help="prospectivity cube (.nc)")
    predict.add_argument("--out-folder", required=True, help="folder for one GeoTIFF per level")
    predict.add_argument("--prefix", default="prospectivity")
    predict.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    predict.add_argument("--chunk-voxels", type=int, default=0,
                         help="output voxels per forward pass, bounds memory (0: 1 million on CPU, 8 on CUDA)")

    evaluate = commands.add_parser("evaluate", help="score a prospectivity cube against known labels")
    evaluate.add_argument("--prospectivity", required=True)
    evaluate.add_argument("--labels", help="cube file with a label variable (default: the prospectivity cube)")
    evaluate.add_argument("--report", help="HTML report")
    evaluate.add_argument("--json", dest="json_path", help="metrics as JSON")


def run_model_command(args: argparse.Namespace, progress, reporter) -> dict:
    if args.command == "train":
        return train_job(args, progress)
    if args.command == "predict":
        return predict_job(args.model, args.cube, args.out_cube, args.out_folder, args.prefix, args.device,
                           args.chunk_voxels, progress)
    if args.command == "evaluate":
        return evaluate_job(args.prospectivity, args.labels, args.report, args.json_path, progress)
    raise Mpm3dError(f"unknown command {args.command}")


def model_command_paths(args: argparse.Namespace) -> tuple[dict, dict]:
    """(inputs, outputs) of train, predict and evaluate, for the check that no output overwrites an input."""
    from .slices import level_files

    if args.command == "train":
        return ({"--source": [args.source], "--target": [args.target]},
                {"--out": [args.out], "--report": [args.report] if args.report else []})
    if args.command == "predict":
        return ({"--model": [args.model], "--cube": [args.cube]},
                {"--out-cube": [args.out_cube], "--out-folder": [level_files(args.out_folder, args.prefix)]})
    return ({"--prospectivity": [args.prospectivity], "--labels": [args.labels] if args.labels else []},
            {"--report": [args.report] if args.report else [], "--json": [args.json_path] if args.json_path else []})


def _versions() -> dict:
    import numpy
    import torch

    from . import __version__

    return {"mpm3d": __version__, "torch": torch.__version__, "numpy": numpy.__version__}


def train_job(args: argparse.Namespace, progress) -> dict:
    from .atomic import atomic_group
    from .cubefile import CubeReader
    from .model import resolve_device
    from .modelfile import save_model
    from .paths import same_file
    from .reports import write_training_report
    from .train import TrainConfig, default_members, train

    progress(0.0, "Reading cubes")
    source = CubeReader(args.source, "SOURCE").read_cube()
    target = CubeReader(args.target, "TARGET").read_cube()
    target.label = None  # target labels are for scoring only: training never sees them
    if source.label is None:
        raise Mpm3dError(f"The SOURCE cube {args.source} has no labels: stack it again with its label slices "
                         "(LABELS).")
    members = args.members or default_members(resolve_device(args.device))
    config = TrainConfig(method=args.method, patch_size=args.patch_size, epochs=args.epochs,
                         batch_size=args.batch_size, learning_rate=args.learning_rate,
                         negative_ratio=args.negative_ratio, lambda_max=args.lambda_max, device=args.device,
                         seed=args.seed, val_fraction=args.val_fraction, members=members, selection=args.selection)

    def on_progress(event: dict) -> None:
        epoch_fraction = ((event.get("epoch", 1) - 1) + event.get("step", 0) / max(event.get("steps", 1), 1)) / max(
            event.get("epochs", 1), 1)
        fraction = (event.get("member", 1) - 1 + epoch_fraction) / event.get("members", 1)
        message = f"Epoch {event.get('epoch')}/{event.get('epochs')}"
        if event.get("members", 1) > 1:
            message = f"Member {event['member']}/{event['members']}, " + message[0].lower() + message[1:]
        if "val_auc" in event:
            message += "".join(f", {k} {event[k]:.4g}" for k in ("loss_label", "loss_domain", "lambda", "val_auc",
                                                                  "disc_acc") if event.get(k) is not None)
        progress(0.02 + 0.93 * fraction, message, **{k: v for k, v in event.items() if k != "stage"})

    started = time.time()
    result = train(source, target, config, on_progress)
    result.model.provenance.update({"source": os.path.basename(args.source),
                                    "target": os.path.basename(args.target), "versions": _versions(),
                                    "seconds": time.time() - started})
    progress(0.95, "Comparing the deposits for the transfer report")
    transfer = transfer_section(source, target, result) if args.report else {}
    progress(0.97, "Writing the model file")
    outputs = {"OUTPUT_MODEL": args.out, "VAL_AUC": result.val_auc, "BEST_EPOCH": result.best_epoch,
               "DEVICE": result.device, "MEMBERS": result.model.n_members, "WARNINGS": []}
    if same_file(args.source, args.target):
        outputs["WARNINGS"].append("SOURCE and TARGET are the same cube: the model learns nothing about another "
                                   "deposit, and the domain adaptation has nothing to adapt to. Give the "
                                   "under-explored deposit's cube as TARGET.")
    with atomic_group():  # the model and its report appear together
        save_model(args.out, result.model)
        if args.report:
            write_training_report(args.report, result.history, {
                "method": config.method, "feature_names": source.feature_names,
                "config": {**vars(args), "members": members}, "source": args.source, "target": args.target,
                "device": result.device, "best_epoch": result.best_epoch, "selection": config.selection,
                "ensemble": [asdict(member) for member in result.members], **transfer})
            outputs["OUTPUT_REPORT"] = args.report
    best = ", ".join(str(member.best_epoch) for member in result.members)
    progress(1.0, f"Best epoch {best}, source spatial-block validation AUC {result.val_auc}")
    return outputs


def transfer_section(source, target, result) -> dict:
    """What the training report says about the transfer: the deposits' evidence compared feature by feature,
    the target's novelty against the source, and how much the members disagree on the target."""
    from .novelty import novelty_map
    from .predict import predict_ensemble
    from .sampling import FeatureStats
    from .transfer import embedding_pad, feature_shift

    model = result.model
    target_stats = FeatureStats.from_dict(model.normalisation["target"])  # computed by training already
    _, novelty = novelty_map(model.source_sample, target, target_stats, seed=model.provenance["seed"])
    section = {"transfer": feature_shift(source, target, seed=model.provenance["seed"]), "novelty": novelty,
               "embedding_pad": embedding_pad(model, source, target, seed=model.provenance["seed"],
                                              device=result.device)}
    if model.n_members > 1:
        spread = predict_ensemble(model, target, device=result.device)[1]
        section["ensemble_spread"] = float(np.nanmean(spread))
    return section


def predict_job(model_path: str, cube_path: str, out_cube: str, out_folder: str, prefix: str, device: str,
                chunk_voxels: int, progress) -> dict:
    from .cubefile import CubeReader
    from .jobs import prediction_attributes, write_prospectivity
    from .model import resolve_device
    from .modelfile import load_model
    from .predict import SlabSource, own_stats, predict_ensemble

    model = load_model(model_path)
    reader = CubeReader(cube_path, "CUBE")
    progress(0.02, f"Predicting {reader.grid.shape[0]} levels with a {model.method} model")
    stages = {"stats": (0.02, 0.1, "Feature statistics"), "predict": (0.1, 0.9, "Dense prediction")}

    def on_progress(event: dict) -> None:
        start, end, label = stages[event["stage"]]
        progress(start + (end - start) * event["done"] / event["total"],
                 f"{label}: level {event['done']} of {event['total']}")

    source = SlabSource(reader.read_features, reader.grid.shape, list(reader.feature_names))
    stats = own_stats(source, resolve_device(device), on_progress)  # one pass, for the prediction and the novelty
    probability, uncertainty = predict_ensemble(model, source, device=device, chunk_voxels=chunk_voxels or None,
                                                on_progress=on_progress, stats=stats)
    maps = {"prospectivity": probability, "uncertainty": uncertainty}
    warnings = []
    if model.source_sample is not None:
        from .novelty import novelty_map

        progress(0.8, "Novelty: how unlike the source the cube's evidence is")
        maps["novelty"], summary = novelty_map(model.source_sample, source, stats)
        if summary.get("note"):
            warnings.append(f"Novelty: {summary['note']}")
        else:
            progress(0.9, f"Novelty above 0.5 in {summary['share_above_half']:.1%} of the volume (the model "
                          f"extrapolates there); deposits told apart with AUC {summary['domain_auc']:.2f}")
    progress(0.92, "Writing the prospectivity cube and level rasters")
    outputs = write_prospectivity(out_cube, reader.grid, maps, out_folder, prefix,
                                  attrs=prediction_attributes(model, model_path, cube_path))
    outputs["WARNINGS"] += warnings
    progress(1.0, "Done")
    return outputs


def evaluate_job(prospectivity_path: str, labels_path: str | None, report: str | None, json_path: str | None,
                 progress, label_slices: list[str] | None = None) -> dict:
    """Scores; labels come from label slices, a label cube, or the prospectivity cube itself."""
    from .cubefile import CubeReader
    from .metrics import evaluate
    from .reports import write_evaluation_report

    reader = CubeReader(prospectivity_path, "PROSPECTIVITY")
    probability = reader.read_variable("prospectivity")
    label_array = _labels_on_grid(reader, labels_path, label_slices)
    progress(0.3, "Scoring")
    metrics = evaluate(probability, label_array, reader.grid.z)
    outputs = {"AUC": metrics["auc"], "CAPTURE_TOP5": metrics["capture_top5"],
               "CAPTURE_TOP10": metrics["capture_top10"], "CAPTURE_TOP20": metrics["capture_top20"]}
    meta = {"prospectivity": prospectivity_path, "labels": labels_path or "label slices"}
    progress(0.9, "Writing the report")
    _write_scores(outputs, report, lambda path: write_evaluation_report(path, metrics, meta), json_path, metrics)
    progress(1.0, f"AUC {metrics['auc']:.4f}")
    return outputs


def _write_scores(outputs: dict, report: str | None, write_report, json_path: str | None, metrics: dict) -> None:
    """The report (``write_report(report)``) and the metrics as JSON, each where asked; both appear, or neither."""
    from .atomic import atomic_group
    from .reports import write_metrics_json

    with atomic_group():
        if report:
            write_report(report)
            outputs["OUTPUT_REPORT"] = report
        if json_path:
            write_metrics_json(json_path, metrics)
            outputs["OUTPUT_JSON"] = json_path


def _labels_on_grid(reader, labels_path: str | None, label_slices: list[str] | None) -> np.ndarray:
    """The labels of LABEL_SLICES, of LABEL_CUBE or else of the prospectivity cube itself, refused unless on the
    grid of ``reader``'s cube."""
    from .cubefile import CubeReader
    from .slices import grid_differences, read_label_slices

    if label_slices:
        if labels_path:
            raise Mpm3dError("Give labels either as LABEL_CUBE or as LABEL_SLICES, not both.")
        return read_label_slices(label_slices, reader.grid, "LABEL_SLICES", "the PROSPECTIVITY cube")
    label_reader = CubeReader(labels_path, "LABEL_CUBE") if labels_path else reader
    if not label_reader.has("label"):
        where = f"The LABEL_CUBE {labels_path}" if labels_path else f"The PROSPECTIVITY cube {reader.path}"
        raise Mpm3dError(f"{where} has no label variable: give a cube stacked with label slices (LABEL_CUBE), "
                         "or the label slices themselves (LABEL_SLICES).")
    problems = grid_differences(label_reader.grid, reader.grid, "the PROSPECTIVITY cube")
    if problems:
        raise Mpm3dError(f"The LABEL_CUBE {labels_path} is not on the grid of the PROSPECTIVITY cube: "
                         + "; ".join(problems) + ". Predict on the cube that carries the labels, or stack the "
                         "labels on the same slices.")
    return label_reader.read_label()


def compare_job(prospectivity_paths: list[str], labels_path: str | None, report: str | None,
                json_path: str | None, progress, label_slices: list[str] | None = None) -> dict:
    """Several predictions of one deposit (one per method) scored against the same labels, side by side.

    Each cube is scored as ``evaluate_job`` scores one, plus its own trust maps (``trust_summary``), so a
    method is compared on the numbers its own evaluation shows. Labels as for ``evaluate_job``, on the grid
    of the first cube (and so of all).
    """
    from .cubefile import CubeReader
    from .metrics import evaluate, trust_summary
    from .paths import same_file
    from .reports import write_comparison_report
    from .slices import grid_differences

    if len(prospectivity_paths) < 2:
        raise Mpm3dError(f"Comparing methods needs at least two prospectivity cubes (PROSPECTIVITY), got "
                         f"{len(prospectivity_paths)}; to score one cube, use 'Evaluate prospectivity'.")
    for i, path in enumerate(prospectivity_paths):
        for other in prospectivity_paths[:i]:
            if same_file(path, other):
                raise Mpm3dError(f"PROSPECTIVITY: {path} is given twice; give each method's prediction once.")
    readers = [CubeReader(path, "PROSPECTIVITY") for path in prospectivity_paths]
    first = readers[0]
    for reader in readers[1:]:
        problems = grid_differences(reader.grid, first.grid, f"the first PROSPECTIVITY cube {first.path}")
        if problems:
            raise Mpm3dError(f"PROSPECTIVITY: {reader.path} is not on the grid of {first.path}: "
                             + "; ".join(problems) + ". Compare predictions of the same cube, one per method.")
    label_array = _labels_on_grid(first, labels_path, label_slices)
    names = _method_names(readers)
    comparison = {}
    for k, (name, reader) in enumerate(zip(names, readers, strict=True)):
        progress(0.05 + 0.8 * k / len(readers), f"Scoring {name}")
        probability = reader.read_variable("prospectivity")
        maps = {kind: reader.read_variable(kind) for kind in ("uncertainty", "novelty") if reader.has(kind)}
        comparison[name] = {"prospectivity": reader.path, **evaluate(probability, label_array, first.grid.z),
                            **trust_summary(probability, label_array, **maps)}
    progress(0.9, "Writing the report")
    outputs = {"METHODS": len(names), "AUCS": ", ".join(f"{n} {m['auc']:.4f}" for n, m in comparison.items())}
    meta = {"labels": labels_path or "label slices"}
    _write_scores(outputs, report, lambda path: write_comparison_report(path, comparison, meta), json_path, comparison)
    progress(1.0, f"AUC: {outputs['AUCS']}")
    return outputs


def _method_names(readers: list) -> list[str]:
    """Each prediction by its model's method (the file's name when it does not say); predictions of one
    method are told apart by their folder and file name."""
    names = [reader.attrs.get("mpm3d_method") or os.path.splitext(os.path.basename(reader.path))[0]
             for reader in readers]
    return [f"{name} ({os.path.join(os.path.basename(os.path.dirname(reader.path)), os.path.basename(reader.path))})"
            if names.count(name) > 1 else name for name, reader in zip(names, readers, strict=True)]
