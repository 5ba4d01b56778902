"""The core's command line: every job without QGIS, and the worker protocol with --json-lines.

Exit status 0 on success, 2 for a problem with the data or parameters (an ``error`` event
says what), 3 for CUDA out of memory, 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys

from . import jobs
from .data.blockcsv import CsvColumns
from .data.blockmodel import BlockOptions
from .data.slices import parse_units
from .errors import Mpm3dError
from .jobs import DEFAULT_HOLE_BUFFER
from .paths import absolute, check_distinct
from .progress import Reporter
from .settings import PREDICTION, TRAINING, Setting, check


def finite(text: str) -> float:
    """A number that is neither NaN nor infinite: a NaN learning rate trains a NaN model without a word."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number; give an ordinary number")
    return value


def _floats(text: str) -> list[float]:
    return [finite(v) for v in text.replace(";", ",").split(",") if v.strip()]


def _shape(text: str) -> tuple[int, int, int]:
    values = [int(v) for v in text.lower().split("x")]
    if len(values) != 3:
        raise argparse.ArgumentTypeError("give levels x rows x columns, e.g. 16x40x40")
    return tuple(values)


def build_parser() -> argparse.ArgumentParser:
    from .data.synthetic import HOLE_PLACEMENTS, PAIR_PROFILES  # scipy's modules load with it: only here

    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__.splitlines()[0])
    parser.add_argument("--json-lines", action="store_true", help="progress as JSON lines (worker mode)")
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write the synthetic source/target deposit pair as depth slices")
    synth.add_argument("--out", required=True, help="output folder")
    synth.add_argument("--shape", type=_shape, default=(16, 40, 40), help="levels x rows x columns")
    synth.add_argument("--voxel-size", type=_floats, default=[25.0, 25.0, 25.0], help="dz,dy,dx in metres")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--profile", choices=PAIR_PROFILES, default="as_designed",
                       help="what differs between the deposits: " + "; ".join(
                           f"{name}: {what}" for name, what in PAIR_PROFILES.items()))
    synth.add_argument("--holes", type=int, default=0,
                       help="drill this many holes on the target and write their samples as target_drill_holes.csv")
    synth.add_argument("--hole-placement", choices=HOLE_PLACEMENTS, default="grid",
                       help="grid: a coarse square grid; anomaly: at the strongest alteration at the model's top")
    synth.add_argument("--hole-dip", type=finite, default=90.0, help="degrees below horizontal (90: vertical)")

    stack = commands.add_parser("stack", help="stack depth slices into a cube file")
    stack.add_argument("--evidence", nargs="+", required=True, help="evidence rasters, one per level")
    stack.add_argument("--labels", nargs="*", help="label rasters in the same order (optional)")
    stack.add_argument("--elevations", type=_floats, help="comma-separated elevations (default: file names)")
    stack.add_argument("--units", default="", help="band=unit pairs, e.g. 'fault_distance=m, density=g/cm3' "
                                                   "(default: the bands' own unit metadata, where given)")
    stack.add_argument("--out", required=True, help="cube file (.nc)")

    export = commands.add_parser("export", help="write a cube file back to depth slices")
    export.add_argument("--cube", required=True)
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--prefix", default="")
    export.add_argument("--variables", nargs="*", help="variables to write (default: all features, label)")

    _add_block_commands(commands)
    _add_model_commands(commands)

    compare = commands.add_parser("compare", help="score several methods' prospectivity cubes against the same "
                                                  "labels, side by side in one report")
    compare.add_argument("--prospectivity", nargs="+", required=True, help="prospectivity cubes, one per method")
    compare.add_argument("--labels", help="cube file with a label variable on the same grid")
    compare.add_argument("--report", help="HTML comparison report")
    compare.add_argument("--json", dest="json_path", help="every method's metrics as JSON")
    return parser


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _add_block_commands(commands) -> None:
    """import-blocks and export-blocks: block models (CSV, VTK, OMF, geoh5) in and out of cube files."""
    blocks = commands.add_parser("import-blocks", help="read a block model (CSV, .vti, .vtr, .omf, .geoh5) into a "
                                                       "cube file")
    blocks.add_argument("--input", required=True, help="block-model file")
    blocks.add_argument("--out", required=True, help="cube file (.nc)")
    blocks.add_argument("--crs", default="", help="CRS of the coordinates, e.g. EPSG:32650")
    blocks.add_argument("--local-grid", action="store_true", help="no CRS: keep the model's local coordinates")
    for axis, usual in (("x", "X, XC, EAST"), ("y", "Y, YC, NORTH"), ("z", "Z, ZC, RL, ELEVATION")):
        blocks.add_argument(f"--{axis}-field", default="", help=f"column of the block centres' {axis} "
                                                                f"(default: a usual name such as {usual})")
    blocks.add_argument("--size-fields", type=_names, default=[], help="dx,dy,dz columns of a sub-blocked model")
    blocks.add_argument("--block-size", type=_floats, help="dx,dy,dz in metres (default: inferred from the centres; "
                                                           "the parent block of a sub-blocked model)")
    blocks.add_argument("--evidence", type=_names, help="evidence columns (default: every numeric column but the "
                                                        "coordinates, sizes, label and --exclude)")
    blocks.add_argument("--exclude", type=_names, default=[], help="numeric columns that are not evidence")
    blocks.add_argument("--label", default="", help="column written as the cube's labels: a 0/1 ore flag, or a "
                                                    "grade with --cutoff")
    blocks.add_argument("--cutoff", type=finite, help="ore where the label column's value >= this")
    blocks.add_argument("--classes", type=_names, default=[], help="class attributes: majority, not mean, over "
                                                                   "sub-blocks")
    blocks.add_argument("--nodata", type=_floats, default=[], help="values that mean no data, e.g. -99,-999")
    blocks.add_argument("--z-depth", action="store_true", help="z is depth below --datum (positive down)")
    blocks.add_argument("--datum", type=finite, default=0.0, help="elevation of depth 0, metres")
    blocks.add_argument("--azimuth", type=finite, default=0.0, help="the model's rotation about the vertical, "
                                                                    "degrees (multiples of 90 only)")
    blocks.add_argument("--dip", type=finite, default=0.0, help="the model's dip, degrees (0 only)")
    blocks.add_argument("--plunge", type=finite, default=0.0, help="the model's plunge, degrees (0 only)")
    blocks.add_argument("--delimiter", default="", help="CSV delimiter (default: detected)")

    out = commands.add_parser("export-blocks", help="write a cube file as a block model (CSV, .vti, .vtr, .omf, "
                                                    ".geoh5)")
    out.add_argument("--cube", required=True)
    out.add_argument("--out", required=True, help="block-model file; its extension picks the format")
    out.add_argument("--variables", type=_names, help="variables to write (default: every feature, the label and "
                                                      "the maps)")
    out.add_argument("--keep-nodata", action="store_true", help="CSV: also write blocks without any value")
    out.add_argument("--nodata", default="", help="CSV: text written for a missing value (default: empty)")


def block_options(args: argparse.Namespace) -> tuple[BlockOptions, CsvColumns]:
    """The import options of the command line as the core takes them."""
    if args.block_size is not None and (len(args.block_size) != 3 or min(args.block_size) <= 0):
        raise Mpm3dError(f"BLOCK_SIZE: give three positive sizes dx,dy,dz in metres, got {args.block_size}")
    options = BlockOptions(crs=args.crs, local_grid=args.local_grid, evidence=args.evidence or None,
                           exclude=args.exclude, label=args.label, cutoff=args.cutoff, classes=args.classes,
                           nodata=args.nodata, z_is_depth=args.z_depth, datum=args.datum,
                           block_size=tuple(args.block_size) if args.block_size else None, azimuth=args.azimuth,
                           dip=args.dip, plunge=args.plunge)
    delimiter = {"tab": "\t", "\\t": "\t", "space": " "}.get(args.delimiter, args.delimiter)
    return options, CsvColumns(args.x_field, args.y_field, args.z_field, args.size_fields, delimiter)


def _add_model_commands(commands) -> None:
    """train, predict and evaluate."""
    train = commands.add_parser("train", help="train a prospectivity model (DANN-CTA or a baseline)")
    train.add_argument("--source", required=True, help="labelled source cube (.nc)")
    train.add_argument("--target", required=True, help="unlabelled target cube (.nc); its labels are never read")
    train.add_argument("--target-holes", help="label cube of the target's voxelised drill holes, on its grid")
    train.add_argument("--out", required=True, help="model file (.safetensors)")
    train.add_argument("--report", help="HTML training report")
    add_settings(train, TRAINING)

    predict = commands.add_parser("predict", help="dense prospectivity of a cube: cube file and level rasters")
    predict.add_argument("--model", required=True)
    predict.add_argument("--cube", required=True)
    predict.add_argument("--out-cube", required=True, help="prospectivity cube (.nc)")
    predict.add_argument("--out-folder", required=True, help="folder for one GeoTIFF per level")
    add_settings(predict, PREDICTION)

    evaluate = commands.add_parser("evaluate", help="score a prospectivity cube against known labels")
    evaluate.add_argument("--prospectivity", required=True)
    evaluate.add_argument("--labels", help="cube file with a label variable (default: the prospectivity cube)")
    evaluate.add_argument("--report", help="HTML report")
    evaluate.add_argument("--json", dest="json_path", help="metrics as JSON")
    evaluate.add_argument("--holes", help="label cube of the drill holes used in training or validation: voxels "
                                          "near them are not scored")
    evaluate.add_argument("--hole-buffer", type=int, default=DEFAULT_HOLE_BUFFER,
                          help="voxels around each hole left out of the scores; at least the patch size - 1")
    evaluate.add_argument("--evidence", help="cube file whose evidence layers the weights of evidence read (default: "
                                             "the labels' cube, or the prospectivity cube, where it has them)")


def add_settings(parser: argparse.ArgumentParser, table: tuple[Setting, ...]) -> None:
    """One option per setting of ``table`` (core/settings.py), its value stored under the setting's field;
    ``check`` judges the values once parsed, as it judges a TrainConfig."""
    for entry in table:
        text = entry.help.replace("%", "%%")
        if entry.kind == "bool":
            parser.add_argument(entry.option, dest=entry.field, action="store_true", help=text)
            continue
        kinds = {"int": int, "float": finite, "str": str, "choice": str}
        parser.add_argument(entry.option, dest=entry.field, type=kinds[entry.kind], default=entry.default,
                            choices=entry.choices or None, help=text)


def run(args: argparse.Namespace, reporter: Reporter) -> dict:
    def progress(fraction, message="", **fields):
        reporter.progress(fraction, message, **fields)

    if args.command == "synth":
        return jobs.generate_pair(args.out, args.shape, tuple(args.voxel_size), args.seed, progress, args.holes,
                                  args.hole_placement, args.hole_dip, args.profile)
    if args.command == "stack":
        return jobs.stack(args.evidence, args.out, args.labels, args.elevations, progress, parse_units(args.units))
    if args.command == "export":
        return jobs.export(args.cube, args.out, args.prefix, args.variables, progress)
    if args.command == "import-blocks":
        return jobs.import_blocks(args.input, args.out, *block_options(args), progress)
    if args.command == "export-blocks":
        return jobs.export_blocks(args.cube, args.out, args.variables, args.keep_nodata, args.nodata, progress)
    if args.command == "compare":
        return jobs.compare_job(args.prospectivity, args.labels, args.report, args.json_path, progress)
    if args.command == "train":
        return jobs.train_job(args, progress)
    if args.command == "predict":
        check(args, PREDICTION)
        return jobs.predict_job(args.model, args.cube, args.out_cube, args.out_folder, args.prefix, args.device,
                                args.chunk_voxels, progress, why_here=args.why_here, gate_weights=args.gate_weights)
    if args.command == "evaluate":
        return jobs.evaluate_job(args.prospectivity, args.labels, args.report, args.json_path, progress,
                            holes_path=args.holes, hole_buffer=args.hole_buffer, evidence_path=args.evidence)
    raise Mpm3dError(f"unknown command {args.command}")


PATH_ARGUMENTS = ("out", "input", "evidence", "labels", "cube", "source", "target", "report", "model", "out_cube",
                  "out_folder", "prospectivity", "json_path", "target_holes", "holes")
COLUMN_ARGUMENTS = {"import-blocks": {"evidence"}}  # options of these names that hold column names, not files


def absolute_paths(args: argparse.Namespace) -> None:
    """Every path made absolute once, against the directory the command was started in."""
    for name in PATH_ARGUMENTS:
        if name in COLUMN_ARGUMENTS.get(args.command, ()):
            continue
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            setattr(args, name, absolute(value))
        elif isinstance(value, list):
            setattr(args, name, [absolute(v) for v in value])


def command_paths(args: argparse.Namespace) -> tuple[dict, dict]:
    """(inputs, outputs) of a command by option name, outputs that are sets of files as globs."""
    if args.command == "stack":
        return {"--evidence": args.evidence, "--labels": args.labels or []}, {"--out": [args.out]}
    if args.command == "export":
        return {"--cube": [args.cube]}, {"--out": [jobs.export_pattern(args.cube, args.out, args.prefix)]}
    if args.command == "synth":
        return {}, {}
    if args.command == "import-blocks":
        return {"--input": [args.input]}, {"--out": [args.out]}
    if args.command == "export-blocks":
        return {"--cube": [args.cube]}, {"--out": [args.out]}
    if args.command == "compare":
        given = {"--labels": args.labels, "--report": args.report, "--json": args.json_path}
        listed = {option: [path] if path else [] for option, path in given.items()}
        return ({"--prospectivity": args.prospectivity, "--labels": listed.pop("--labels")}, listed)
    if args.command == "train":
        return ({"--source": [args.source], "--target": [args.target],
                 "--target-holes": [args.target_holes] if args.target_holes else []},
                {"--out": [args.out], "--report": [args.report] if args.report else []})
    if args.command == "predict":
        return ({"--model": [args.model], "--cube": [args.cube]},
                {"--out-cube": [args.out_cube], "--out-folder": jobs.prediction_level_patterns(args.out_folder,
                                                                                            args.prefix)})
    return ({"--prospectivity": [args.prospectivity], "--labels": [args.labels] if args.labels else [],
             "--holes": [args.holes] if args.holes else [], "--evidence": [args.evidence] if args.evidence else []},
            {"--report": [args.report] if args.report else [], "--json": [args.json_path] if args.json_path else []})



def check_paths(args: argparse.Namespace) -> None:
    absolute_paths(args)
    check_distinct(*command_paths(args))


def _terminate(_signum, _frame):
    """SIGTERM (Cancel in QGIS) unwinds normally, so temporary outputs are removed."""
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reporter = Reporter(json_lines=args.json_lines)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        check_paths(args)
        outputs = run(args, reporter)
    except Mpm3dError as exc:
        reporter.error(str(exc))
        return 2
    except KeyboardInterrupt:  # Ctrl-C: a cancel, not a failure to explain
        reporter.error("Cancelled (interrupted); no output was written, earlier files are as they were.",
                       kind="cancelled")
        return 130
    except Exception as exc:  # the worker must always say why it stopped
        if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower():
            reporter.error("The GPU ran out of memory. Lower the batch size (BATCH_SIZE) or the prediction "
                           "chunk size (CHUNK_VOXELS), or run on the CPU (DEVICE=cpu).", kind="oom")
            return 3
        reporter.error(f"Unexpected failure: {type(exc).__name__}: {exc}", kind="internal")
        if not args.json_lines:
            raise
        import traceback

        traceback.print_exc(file=sys.stderr)
        return 1
    for warning in outputs.pop("WARNINGS", []):
        reporter.warning(warning)
    reporter.result(outputs)
    return 0
