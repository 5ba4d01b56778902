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

from .choices import DEVICES, METHODS, TRAINING_DEFAULTS
from .errors import Mpm3dError
from .jobs import DEFAULT_HOLE_BUFFER, evaluate_job, label_cube_on_grid
from .progress import TimeLeft
from .selection import HOLE_RULE, SELECTION_RULES, TARGET_LABEL_MODES


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
    train.add_argument("--target-labels", default="ignore", choices=TARGET_LABEL_MODES,
                       help="what training does with the target's drill holes (--target-holes): ignore them, let "
                            "them choose the epoch and score the model (validate), or also train on some (train)")
    train.add_argument("--target-holes", help="label cube of the target's voxelised drill holes, on its grid")
    train.add_argument("--target-label-weight", type=finite, default=TRAINING_DEFAULTS["target_label_weight"],
                       help="train mode: weight of the holes' label loss beside the source's")
    train.add_argument("--hole-folds", type=int, default=3,
                       help="train mode: folds the holes are dealt into; one validates, the others train")
    train.add_argument("--hole-cv", action="store_true",
                       help="train mode: train once per fold for a leave-holes-out AUC (costs folds x one training)")
    train.add_argument("--out", required=True, help="model file (.safetensors)")
    train.add_argument("--report", help="HTML training report")
    train.add_argument("--method", default=TRAINING_DEFAULTS["method"], help=", ".join(METHODS))
    train.add_argument("--patch-size", type=int, default=TRAINING_DEFAULTS["patch_size"])
    train.add_argument("--epochs", type=int, default=TRAINING_DEFAULTS["epochs"])
    train.add_argument("--batch-size", type=int, default=TRAINING_DEFAULTS["batch_size"])
    train.add_argument("--learning-rate", type=finite, default=TRAINING_DEFAULTS["learning_rate"])
    train.add_argument("--negative-ratio", type=finite, default=TRAINING_DEFAULTS["negative_ratio"])
    train.add_argument("--lambda-max", type=finite, default=TRAINING_DEFAULTS["lambda_max"])
    train.add_argument("--samples-per-epoch", type=int, default=TRAINING_DEFAULTS["samples_per_epoch"],
                       help="labelled samples (ore + barren) per epoch at most; where the deposit has more, each "
                            "epoch takes the next share of its ore voxels, so all are seen over the epochs. Bounds "
                            "an epoch's time on a large deposit; 0: every ore voxel each epoch")
    train.add_argument("--val-fraction", type=finite, default=TRAINING_DEFAULTS["val_fraction"],
                       help="share of the source's x-y blocks held out to choose the epoch; 0: keep the last epoch")
    train.add_argument("--device", choices=DEVICES, default="auto")
    train.add_argument("--memory-limit", type=finite, default=0.0,
                       help="GB of memory training may use; a run estimated to need more is refused before it "
                            "starts (0: 80 %% of the memory available when it starts)")
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
    predict.add_argument("--device", choices=DEVICES, default="auto")
    predict.add_argument("--chunk-voxels", type=int, default=0,
                         help="output voxels per forward pass, bounds memory (0: 1 million on CPU, 8 on CUDA)")

    evaluate = commands.add_parser("evaluate", help="score a prospectivity cube against known labels")
    evaluate.add_argument("--prospectivity", required=True)
    evaluate.add_argument("--labels", help="cube file with a label variable (default: the prospectivity cube)")
    evaluate.add_argument("--report", help="HTML report")
    evaluate.add_argument("--json", dest="json_path", help="metrics as JSON")
    evaluate.add_argument("--holes", help="label cube of the drill holes used in training or validation: voxels "
                                          "near them are not scored")
    evaluate.add_argument("--hole-buffer", type=int, default=DEFAULT_HOLE_BUFFER,
                          help="voxels around each hole left out of the scores; at least the patch size - 1")


def add_synth_options(synth) -> None:
    """Drill holes on the synthetic target, for the few-holes case."""
    from .synthetic import HOLE_PLACEMENTS

    synth.add_argument("--holes", type=int, default=0,
                       help="drill this many holes on the target and write their samples as target_drill_holes.csv")
    synth.add_argument("--hole-placement", choices=HOLE_PLACEMENTS, default="grid",
                       help="grid: a coarse square grid; anomaly: at the strongest alteration at the model's top")
    synth.add_argument("--hole-dip", type=finite, default=90.0, help="degrees below horizontal (90: vertical)")


def synth_job(args: argparse.Namespace, progress) -> dict:
    """The synthetic pair as slices, and with --holes the target's drill-hole samples beside them."""
    from . import jobs

    return jobs.generate_pair(args.out, args.shape, tuple(args.voxel_size), args.seed, progress, args.holes,
                              args.hole_placement, args.hole_dip)


def run_model_command(args: argparse.Namespace, progress, reporter) -> dict:
    if args.command == "train":
        return train_job(args, progress)
    if args.command == "predict":
        return predict_job(args.model, args.cube, args.out_cube, args.out_folder, args.prefix, args.device,
                           args.chunk_voxels, progress)
    if args.command == "evaluate":
        return evaluate_job(args.prospectivity, args.labels, args.report, args.json_path, progress,
                            holes_path=args.holes, hole_buffer=args.hole_buffer)
    raise Mpm3dError(f"unknown command {args.command}")


def model_command_paths(args: argparse.Namespace) -> tuple[dict, dict]:
    """(inputs, outputs) of train, predict and evaluate, for the check that no output overwrites an input."""
    from .slices import level_files

    if args.command == "train":
        return ({"--source": [args.source], "--target": [args.target],
                 "--target-holes": [args.target_holes] if args.target_holes else []},
                {"--out": [args.out], "--report": [args.report] if args.report else []})
    if args.command == "predict":
        return ({"--model": [args.model], "--cube": [args.cube]},
                {"--out-cube": [args.out_cube], "--out-folder": [level_files(args.out_folder, args.prefix)]})
    return ({"--prospectivity": [args.prospectivity], "--labels": [args.labels] if args.labels else [],
             "--holes": [args.holes] if args.holes else []},
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
    from .train import TrainConfig, check_memory, default_members, train, training_memory

    progress(0.0, "Reading cubes")
    source_reader, target_reader = CubeReader(args.source, "SOURCE"), CubeReader(args.target, "TARGET")
    members = args.members or default_members(resolve_device(args.device))
    config = TrainConfig(method=args.method, patch_size=args.patch_size, epochs=args.epochs,
                         batch_size=args.batch_size, learning_rate=args.learning_rate,
                         negative_ratio=args.negative_ratio, lambda_max=args.lambda_max, device=args.device,
                         samples_per_epoch=args.samples_per_epoch, memory_limit_gb=args.memory_limit,
                         seed=args.seed, val_fraction=args.val_fraction, members=members, selection=args.selection,
                         target_labels=args.target_labels, target_label_weight=args.target_label_weight,
                         hole_folds=args.hole_folds, hole_cv=args.hole_cv)
    memory = training_memory(source_reader.grid.shape, target_reader.grid.shape,
                             len(source_reader.feature_names), config, resolve_device(args.device).type,
                             report=bool(args.report))
    check_memory(memory, config)  # before reading: a cube too large for memory is refused, not swapped in
    progress(0.0, f"Reading cubes (training needs about {sum(memory.values()) / 2**30:.1f} GB of memory)")
    source = source_reader.read_cube()
    target = target_reader.read_cube()
    target.label = None  # target labels are for scoring only: training never sees them
    if source.label is None:
        raise Mpm3dError(f"The SOURCE cube {args.source} has no labels: stack it again with its label slices "
                         "(LABELS).")
    warnings = []
    holes = None
    if args.target_labels != "ignore" and args.target_holes:
        holes = label_cube_on_grid(args.target_holes, "TARGET_HOLES", target.grid, "the TARGET cube",
                                   "voxelise the drill holes onto the TARGET cube")
    elif args.target_holes:
        warnings.append("TARGET_HOLES was given but TARGET_LABELS is 'ignore': the drill holes were not read. Choose "
                        "'validate' or 'train' to use them.")

    time_left = TimeLeft()

    def on_progress(event: dict) -> None:
        epoch_fraction = ((event.get("epoch", 1) - 1) + event.get("step", 0) / max(event.get("steps", 1), 1)) / max(
            event.get("epochs", 1), 1)
        fraction = (event.get("member", 1) - 1 + epoch_fraction) / event.get("members", 1)
        fraction = (event.get("fold", 1) - 1 + fraction) / event.get("folds", 1)
        message = f"Epoch {event.get('epoch')}/{event.get('epochs')}"
        if event.get("members", 1) > 1:
            message = f"Member {event['member']}/{event['members']}, " + message[0].lower() + message[1:]
        if event.get("folds", 1) > 1:
            message = f"Holes fold {event['fold']}/{event['folds']}, " + message[0].lower() + message[1:]
        if "val_auc" in event:
            message += "".join(f", {k} {event[k]:.4g}" for k in ("loss_label", "loss_domain", "lambda", "val_auc",
                                                                  "disc_acc") if event.get(k) is not None)
        message += time_left.text(fraction)
        progress(0.02 + 0.93 * fraction, message, **{k: v for k, v in event.items() if k != "stage"})

    started = time.time()
    result = train(source, target, config, on_progress, target_holes=holes)
    result.model.provenance.update({"source": os.path.basename(args.source),
                                    "target": os.path.basename(args.target), "versions": _versions(),
                                    "seconds": time.time() - started})
    progress(0.95, "Comparing the deposits for the transfer report")
    transfer = transfer_section(source, target, result) if args.report else {}
    progress(0.97, "Writing the model file")
    outputs = {"OUTPUT_MODEL": args.out, "VAL_AUC": result.val_auc, "BEST_EPOCH": result.best_epoch,
               "DEVICE": result.device, "MEMBERS": result.model.n_members, "WARNINGS": warnings}
    hole_figures = hole_outputs(result.target_holes) if result.target_holes else {}
    hole_notes = hole_warnings(result.target_holes) if result.target_holes else []
    outputs.update(hole_figures)
    outputs["WARNINGS"] += hole_notes
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
                "device": result.device, "best_epoch": result.best_epoch,
                "selection": config.selection if holes is None else HOLE_RULE,
                "ensemble": [asdict(member) for member in result.members], **transfer,
                **({"target_holes": {**hole_figures, "warnings": hole_notes}} if hole_figures else {})})
            outputs["OUTPUT_REPORT"] = args.report
    best = ", ".join(str(member.best_epoch) for member in result.members)
    progress(1.0, f"Best epoch {best}, source spatial-block validation AUC {result.val_auc}")
    return outputs


def hole_outputs(summary: dict) -> dict:
    """The target drill holes' figures as training's outputs: the AUC on the validating holes with its interval,
    how many holes validated and trained, and the leave-holes-out AUC where it was run."""
    validation = summary["validation"]
    outputs = {"TARGET_AUC": validation["auc"], "TARGET_AUC_LOW": validation["low"],
               "TARGET_AUC_HIGH": validation["high"], "HOLES_VALIDATING": summary["validating_holes"],
               "HOLES_TRAINING": summary["training_holes"]}
    cross = summary.get("cross_validation")
    if cross:
        outputs.update({"TARGET_CV_AUC": cross["auc"], "TARGET_CV_AUC_LOW": cross["low"],
                        "TARGET_CV_AUC_HIGH": cross["high"]})
    return outputs


def hole_warnings(summary: dict) -> list[str]:
    """What a user must know before trusting the holes' figures."""
    warnings = []
    validation = summary["validation"]
    if validation["few_holes"]:
        warnings.append(f"Only {validation['holes']} drill holes ({validation['holes_with_ore']} with ore) score the "
                        f"target: the AUC {validation['auc']:.3f} and its 95 % interval ({validation['low']:.3f}-"
                        f"{validation['high']:.3f}, resampling whole holes) rest on very few holes; read them as a "
                        "rough guide.")
    if summary["outside_evidence"]:
        warnings.append(f"{summary['outside_evidence']} drill-hole voxels lie where the target has no evidence "
                        "(nodata) and were not used.")
    warnings.append("The target AUC is measured on the holes that also chose the epoch, so it is slightly "
                    "optimistic" + ("; the leave-holes-out AUC is not." if summary.get("cross_validation") else "."))
    return warnings


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
