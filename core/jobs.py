"""Whole jobs on files, shared by the command line and the QGIS algorithms: every job lives here.

Each job takes paths and plain values, reports through ``on_progress(fraction, message)``
and returns a dict of what it made, so the CLI, the worker and the algorithms stay thin.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_group
from .data.blockcsv import CsvColumns, read_block_csv, write_block_csv
from .data.blockformats import FORMATS, read_block_file, write_block_file
from .data.blockmodel import BlockOptions
from .data.cubefile import CHANGE_MAP, DOMINANT_MAP, CubeReader, save_cube, variable_name, write_cube
from .data.grid import LABEL_ORE, LABEL_UNKNOWN
from .data.slices import check_level_names_fit, level_files, level_spacing, read_slices, write_cube_slices, write_slices
from .errors import Mpm3dError
from .learning.selection import HOLE_RULE
from .paths import check_prefix
from .progress import TimeLeft
from .settings import TRAINING, TrainConfig

DEFAULT_HOLE_BUFFER = 8  # voxels: p - 1 for the default 9-voxel patch (a scored patch and a hole's patch overlap)

if TYPE_CHECKING:  # the model module imports torch, which the data jobs do without (the model jobs import it
    import argparse  # when they run)

    from .learning.model import TrainedModel

Progress = Callable[..., None]


def _quiet(*_args, **_kwargs) -> None:
    return None


def generate_pair(folder: str, shape: tuple[int, int, int], voxel_size: tuple[float, float, float],
                  seed: int = 0, on_progress: Progress = _quiet, holes: int = 0, hole_placement: str = "grid",
                  hole_dip: float = 90.0, profile: str = "as_designed") -> dict:
    """The synthetic source and target deposits as evidence and label slices, one folder each; with ``holes``,
    that many drill holes on the target, their samples in ``target_drill_holes.csv`` beside the folders.
    ``profile`` is the pair's (core.data.synthetic.PAIR_PROFILES): what differs between the two deposits."""
    from .data.slices import MIN_LEVELS
    from .data.synthetic import GRADE_CUTOFF, PAIR_PROFILES, drill_holes, synthetic_pair

    if int(shape[0]) < MIN_LEVELS:  # slices of fewer levels could never be stacked into a cube
        raise Mpm3dError(f"LEVELS {shape[0]}: a cube needs at least {MIN_LEVELS} levels (the smallest patch is "
                         f"{MIN_LEVELS} voxels deep), so the slices could not be stacked; give {MIN_LEVELS} or more.")
    on_progress(0.0, f"Generating the synthetic deposit pair, profile {profile}: {PAIR_PROFILES.get(profile, '?')}")
    source, target = synthetic_pair(shape=shape, voxel_size=voxel_size, seed=seed, profile=profile)
    drilled = drill_holes(target, holes, seed, hole_placement, hole_dip) if holes else None
    outputs: dict = {"OUTPUT_FOLDER": folder}
    with atomic_group():
        for index, (key, cube) in enumerate((("SOURCE", source), ("TARGET", target))):
            deposit_folder = os.path.join(folder, key.lower())
            written = write_cube_slices(deposit_folder, cube, "evidence", "label")
            outputs[f"{key}_EVIDENCE"] = written["evidence"]
            outputs[f"{key}_LABELS"] = written["labels"]
            outputs[f"{key}_ORE_FRACTION"] = float(np.mean(cube.label[cube.label >= 0] == LABEL_ORE))
            on_progress((index + 1) / 2, f"Wrote {len(cube.grid.z)} levels of the {key.lower()} deposit")
        if drilled is not None:
            outputs["TARGET_HOLES_CSV"] = drilled.write_csv(os.path.join(folder, "target_drill_holes.csv"))
            outputs["TARGET_HOLES"] = drilled.n_holes
            outputs["TARGET_HOLES_ORE_SAMPLES"] = int(drilled.samples["ore"].sum())
            on_progress(1.0, f"{drilled.n_holes} drill holes on the target, {len(drilled.samples['ore'])} samples, "
                             f"{outputs['TARGET_HOLES_ORE_SAMPLES']} of them ore (grade >= {GRADE_CUTOFF:g})")
    outputs["FEATURES"] = list(source.feature_names)
    outputs["PAIR_PROFILE"] = profile
    return outputs


def stack(evidence: Sequence[str], output: str, labels: Sequence[str] | None = None,
          elevations: Sequence[float] | None = None, on_progress: Progress = _quiet,
          units: dict[str, str] | None = None) -> dict:
    """Depth slices -> cube file; returns the cube path, level count, features, their units and any warnings.

    ``units`` (band name -> unit) overrides what the bands' metadata says.
    """
    warnings: list[str] = []
    cube = read_slices(evidence, elevations, labels, on_progress=lambda f: on_progress(0.8 * f, "Reading slices"),
                       on_warning=warnings.append, units=units)
    attrs, note = level_spacing(cube.grid.z)
    if note:
        warnings.append(note)
    on_progress(0.85, "Writing the cube")
    save_cube(output, cube, attrs={"sources": [os.path.basename(p) for p in evidence], **attrs})
    on_progress(1.0, "Done")
    return {"OUTPUT": output, "LEVELS": len(cube.grid.z), "FEATURES": cube.feature_names, "UNITS": cube.units,
            "ELEVATIONS": cube.grid.z.tolist(), "HAS_LABELS": cube.label is not None, "WARNINGS": warnings}


def export(cube_path: str, folder: str, prefix: str = "", variables: Sequence[str] | None = None,
           on_progress: Progress = _quiet) -> dict:
    """Cube file -> one raster per level (all features as bands, or the named variables)."""
    reader = CubeReader(cube_path, "CUBE")
    prefix = export_prefix(cube_path, prefix)
    outputs: dict = {"OUTPUT_FOLDER": folder}
    with_evidence = not variables and bool(reader.feature_names)
    variables = list(variables) if variables else [v for v in ("label", "prospectivity") if reader.has(v)]
    check_level_names_fit([prefix] * with_evidence + [f"{prefix}_{name}" for name in variables], reader.grid.z, prefix)
    with atomic_group():
        if with_evidence:
            paths = write_slices(folder, reader.grid, reader.read_features(), reader.feature_names, prefix,
                                 on_progress=lambda f: on_progress(0.9 * f, "Writing evidence slices"),
                                 units=reader.units)
            outputs["EVIDENCE"] = paths
        for name in variables:
            data = reader.read_variable(name)
            nodata = -1 if name == "label" else -9999.0
            data = data.astype(np.int16) if name == "label" else data.astype(np.float32)
            outputs[name.upper()] = write_slices(folder, reader.grid, data[None], [name], f"{prefix}_{name}", nodata)
    on_progress(1.0, "Done")
    layers = [p for key in ("EVIDENCE", *(v.upper() for v in variables)) for p in outputs.get(key, [])]
    outputs["OUTPUT_LAYERS"] = layers
    outputs["WARNINGS"] = stale_files_warning(export_pattern(cube_path, folder, prefix), layers, "OUTPUT_FOLDER")
    return outputs


BLOCK_CSV = (".csv", ".txt", ".dat")
BLOCK_VARIABLES = ("label", "prospectivity", "uncertainty", "novelty")


def _block_format(path: str, parameter: str) -> str:
    extension = os.path.splitext(path)[1].lower()
    if extension not in BLOCK_CSV + FORMATS:
        raise Mpm3dError(f"{parameter}: {os.path.basename(path)} is not a block-model file mpm3d knows; give a CSV "
                         f"({', '.join(BLOCK_CSV)}), VTK (.vti, .vtr), OMF (.omf) or geoh5 (.geoh5) file")
    return extension


def import_blocks(path: str, output: str, options: BlockOptions, columns: CsvColumns | None = None,
                  on_progress: Progress = _quiet) -> dict:
    """Block model (CSV, VTK, OMF, geoh5) -> the cube file Stack slices writes; with what was read and merged."""
    warnings: list[str] = []
    if _block_format(path, "INPUT") in BLOCK_CSV:
        cube, report = read_block_csv(path, options, columns, on_progress, warnings.append)
    else:
        on_progress(0.0, "Reading the block model")
        cube, report = read_block_file(path, options)
    attrs, note = level_spacing(cube.grid.z)
    if note:
        warnings.append(note)
    on_progress(0.9, "Writing the cube")
    save_cube(output, cube, attrs={"sources": [os.path.basename(path)], **attrs,
                                   "block_model": {"blocks": report["BLOCKS"],
                                                   "merged_sub_blocks": report.get("MERGED", 0)}})
    on_progress(1.0, "Done")
    return {"OUTPUT": output, "LEVELS": len(cube.grid.z), "FEATURES": cube.feature_names,
            "SHAPE": list(cube.grid.shape), "BLOCKS": report["BLOCKS"], "MERGED": report.get("MERGED", 0),
            "SIZE_RATIO": report.get("SIZE_RATIO", 1.0), "HAS_LABELS": cube.label is not None,
            "WARNINGS": warnings}


def export_blocks(cube_path: str, output: str, variables: Sequence[str] | None = None, keep_nodata: bool = False,
                  nodata: str = "", on_progress: Progress = _quiet) -> dict:
    """Cube file -> block model: CSV (block centres and sizes), VTK (.vti, .vtr), OMF or geoh5; every feature
    and the label and maps it holds, or the named variables."""
    extension = _block_format(output, "OUTPUT")
    reader = CubeReader(cube_path, "CUBE")
    present = list(reader.feature_names) + [v for v in BLOCK_VARIABLES if reader.has(v)]
    chosen = list(variables) if variables else present
    twice = sorted({v for v in chosen if chosen.count(v) > 1})
    if twice:
        raise Mpm3dError(f"VARIABLES names {', '.join(twice)} twice: a block model with two columns of one name "
                         "cannot be read back. Give each variable once.")
    if nodata.strip():
        try:
            float(nodata)
        except ValueError:
            raise Mpm3dError(f"NODATA '{nodata}' is not a number: it is written where a block has no value, and "
                             "a column holding text is not read back as numbers. Give a number such as -99, or "
                             "leave NODATA empty for an empty field.") from None
    unknown = [v for v in chosen if v not in present]
    if unknown:
        raise Mpm3dError(f"VARIABLES: {cube_path} has no variable {', '.join(unknown)} (it has: {', '.join(present)})")
    if extension in BLOCK_CSV:
        blocks = write_block_csv(output, reader, chosen, keep_nodata, nodata, on_progress)
    else:
        blocks = write_block_file(output, reader, chosen, on_progress)
    return {"OUTPUT": output, "BLOCKS": blocks, "VARIABLES": chosen}


def export_prefix(cube_path: str, prefix: str = "") -> str:
    """PREFIX, checked, or else the cube's own file name."""
    if prefix:
        check_prefix(prefix)
    return prefix or os.path.splitext(os.path.basename(cube_path))[0]


def export_pattern(cube_path: str, folder: str, prefix: str = "") -> str:
    """Glob of every raster ``export`` may write into ``folder``."""
    return os.path.join(folder, f"{glob.escape(export_prefix(cube_path, prefix))}_*z*.tif")


def stale_files_warning(pattern: str, written: Sequence[str], parameter: str) -> list[str]:
    """A word on files named like this run's level rasters that it did not write (an earlier run's levels).

    They are left as they are: they might be the user's own, and deleting is not ours to do.
    """
    written_set = {os.path.abspath(p) for p in written}
    stale = sorted(p for p in glob.glob(pattern) if os.path.abspath(p) not in written_set)
    if not stale:
        return []
    shown = ", ".join(os.path.basename(p) for p in stale[:5]) + (", ..." if len(stale) > 5 else "")
    return [f"{parameter} also holds {len(stale)} raster(s) named like this run's levels that this run did not write "
            f"({shown}), probably from an earlier run with other levels. They were left as they are; delete them, or "
            "choose another folder or prefix, so that the folder holds only this run's levels."]


def write_prospectivity(cube_path: str, grid, maps: dict[str, np.ndarray], folder: str, prefix: str,
                        attrs: dict | None = None, cube_only: dict[str, np.ndarray] | None = None) -> dict:
    """A prospectivity cube plus one single-band GeoTIFF per level and map, top level first: all appear, or none.

    ``maps`` holds "prospectivity" and optionally the other MAP_OUTPUTS (Z, Y, X); the prospectivity levels are
    named ``<prefix>_z-0450.tif``, the others ``<prefix>_<map>_z-0450.tif``. The dominant evidence is a class
    raster (whole numbers). ``cube_only`` maps go into the cube alone (the gate weights: one per layer).
    """
    outputs: dict = {"OUTPUT_CUBE": cube_path, "ELEVATIONS": grid.z.tolist(), "WARNINGS": []}
    with atomic_group():
        write_cube(cube_path, grid, extra={**maps, **(cube_only or {})}, attrs=attrs)
        for name, values in maps.items():
            level_prefix = map_prefix(prefix, name)
            classes = None
            if name == DOMINANT_MAP:  # whole numbers, each class named by its layer in the file
                values = np.where(np.isfinite(values), values, -1).astype(np.int16)
                classes = dominant_classes((attrs or {}).get("model_features", []))
            rasters = write_slices(folder, grid, values[None], [name], level_prefix,
                                   nodata=-1 if classes else -9999.0, categories=classes)
            outputs[MAP_OUTPUTS[name]] = rasters
            outputs["WARNINGS"] += stale_files_warning(level_files(folder, level_prefix), rasters, "OUTPUT_FOLDER")
    return outputs


def dominant_classes(feature_names: Sequence[str]) -> list[str]:
    """The names of the dominant evidence's classes 0, 1, ..., F: none, then the layers in the model's order."""
    return ["none", *feature_names]


def prediction_attributes(model: TrainedModel, model_path: str, cube_path: str) -> dict:
    """What a prospectivity cube records of its making, so that it can be traced without the run's log: the
    model (method, absolute file, features, ensemble members), its training as the model file records it, and
    the cube predicted. What a model file of an earlier version does not record is left out, not guessed."""
    attrs = {"model": os.path.abspath(model_path), "method": model.method, "members": model.n_members,
             "model_features": list(model.feature_names), "cube": os.path.abspath(cube_path)}
    recorded = {"trained": "training_date", "seed": "training_seed", "source": "training_source",
                "target": "training_target"}
    if model.networks:  # a forest's provenance holds epochs too, but it trains none
        recorded["epochs"] = "training_epochs"
    attrs.update({name: model.provenance[key] for key, name in recorded.items() if key in model.provenance})
    return attrs


MAP_OUTPUTS = {"prospectivity": "OUTPUT_LAYERS", "uncertainty": "UNCERTAINTY_LAYERS", "novelty": "NOVELTY_LAYERS",
               DOMINANT_MAP: "DOMINANT_LAYERS", CHANGE_MAP: "DOMINANT_CHANGE_LAYERS"}


def map_prefix(prefix: str, name: str) -> str:
    """File-name prefix of one map's level rasters: the prospectivity keeps the plain prefix."""
    return prefix if name == "prospectivity" else f"{prefix}_{name}"


def prediction_level_patterns(folder: str, prefix: str) -> list[str]:
    """Globs of every level raster a prediction may write into ``folder``: each map's, why-here's included, so
    that the output checks (the command line's and QGIS's alike) cover them all."""
    return [level_files(folder, map_prefix(prefix, name)) for name in MAP_OUTPUTS]


def evaluate_job(prospectivity_path: str, labels_path: str | None, report: str | None, json_path: str | None,
                 progress, label_slices: list[str] | None = None, holes_path: str | None = None,
                 hole_buffer: int = DEFAULT_HOLE_BUFFER, evidence_path: str | None = None) -> dict:
    """Scores; labels come from label slices, a label cube, or the prospectivity cube itself.

    The weights of evidence of each layer are scored on the same labelled voxels, from the evidence of
    ``evidence_path``, or else of the label cube or the prospectivity cube where it holds evidence; without any,
    they are left out.

    With ``holes_path`` (the label cube of the drill holes that trained or chose the model) only voxels more
    than ``hole_buffer`` voxels from every hole are scored: a patch there shares no evidence with a hole's.
    """
    from .results.metrics import away_from_holes
    from .results.reports import write_evaluation_report

    reader = CubeReader(prospectivity_path, "PROSPECTIVITY")
    probability = reader.read_variable("prospectivity")
    label_array = _labels_on_grid(reader, labels_path, label_slices)
    away = None
    if holes_path:
        holes = label_cube_on_grid(holes_path, "HOLES", reader.grid, "the PROSPECTIVITY cube",
                                   "give the drill holes voxelised onto the cube that was predicted")
        if not np.any(holes != LABEL_UNKNOWN):
            raise Mpm3dError(f"The HOLES cube {holes_path} has no labelled voxel at all (every voxel is unknown), so "
                             "no voxel would be kept away from a drill hole: give the label cube of the holes that "
                             "trained or chose the model (voxelise their samples onto the predicted cube again and "
                             "check their coordinates, CRS and ore field), or leave HOLES empty to score every voxel.")
        away = away_from_holes(probability, label_array, holes, hole_buffer)
        probability, label_array = away.pop("probability"), away.pop("label")
        progress(0.2, f"Scoring {away['scored_voxels']} voxels more than {hole_buffer} voxels from the "
                      f"{away['holes']} drill holes ({away['excluded_voxels']} voxels near them left out)")
    progress(0.3, "Scoring")
    if away is not None and not (np.any(label_array[np.isfinite(probability)] == 1)
                                 and np.any(label_array[np.isfinite(probability)] == 0)):
        raise Mpm3dError(f"Away from the {away['holes']} drill holes (HOLES, a buffer of {hole_buffer} voxels) no "
                         "ore or no barren voxel with a prediction is left to score: the known labels lie near the "
                         "holes. Score on labels elsewhere in the deposit; a smaller HOLE_BUFFER than the patch size "
                         "- 1 would score voxels whose patches the holes trained or chose.")
    metrics = _scores(reader, probability, label_array)
    evidence = _evidence_on_grid(reader, labels_path, evidence_path)
    if evidence is not None:
        from .results.woe import weights_of_evidence

        progress(0.8, "Weights of evidence of each layer")
        scored = np.where(np.isfinite(probability), label_array, -1)
        metrics["weights_of_evidence"] = weights_of_evidence(evidence.read_features(), evidence.feature_names, scored)
    outputs = {"AUC": metrics["auc"], "CAPTURE_TOP5": metrics["capture_top5"],
               "CAPTURE_TOP10": metrics["capture_top10"], "CAPTURE_TOP20": metrics["capture_top20"]}
    if away is not None:
        metrics["away_from_holes"] = away
        outputs.update({"N_HOLES": away["holes"], "SCORED_VOXELS": away["scored_voxels"],
                        "EXCLUDED_VOXELS": away["excluded_voxels"]})
    meta = {"prospectivity": prospectivity_path, "labels": labels_path or "label slices"}
    progress(0.9, "Writing the report")
    _write_scores(outputs, report, lambda path: write_evaluation_report(path, metrics, meta), json_path, metrics)
    progress(1.0, f"AUC {metrics['auc']:.4f}")
    return outputs


def _evidence_on_grid(reader: CubeReader, labels_path: str | None, evidence_path: str | None) -> CubeReader | None:
    """The cube whose evidence the weights of evidence read: EVIDENCE, else the label cube or the prospectivity
    cube where it holds evidence layers; None where none does."""
    if evidence_path:
        evidence = CubeReader(evidence_path, "EVIDENCE")
        _check_grid(evidence, evidence_path, "EVIDENCE", reader.grid, "the PROSPECTIVITY cube",
                    "give the evidence cube that was predicted")
        if not evidence.feature_names:
            raise Mpm3dError(f"The EVIDENCE cube {evidence_path} holds no evidence layers.")
        return evidence
    for candidate in ((CubeReader(labels_path, "LABEL_CUBE"),) if labels_path else ()) + (reader,):
        if candidate.feature_names:
            return candidate
    return None


def _scores(reader: CubeReader, probability: np.ndarray, label: np.ndarray) -> dict:
    """``evaluate``'s scores of a prediction and those of its own uncertainty and novelty maps where the cube
    has them (``trust_summary``)."""
    from .results.metrics import evaluate, trust_summary

    maps = {kind: reader.read_variable(kind) for kind in ("uncertainty", "novelty") if reader.has(kind)}
    return {**evaluate(probability, label, reader.grid.z), **trust_summary(probability, label, **maps)}


def _write_scores(outputs: dict, report: str | None, write_report, json_path: str | None, metrics: dict) -> None:
    """The report (``write_report(report)``) and the metrics as JSON, each where asked; both appear, or neither."""
    from .results.reports import write_metrics_json

    with atomic_group():
        if report:
            write_report(report)
            outputs["OUTPUT_REPORT"] = report
        if json_path:
            write_metrics_json(json_path, metrics)
            outputs["OUTPUT_JSON"] = json_path


def label_cube_on_grid(path: str, parameter: str, grid, grid_name: str, advice: str) -> np.ndarray:
    """The label variable of the cube file ``path`` (named ``parameter`` in messages), refused unless on ``grid``."""

    label_reader = CubeReader(path, parameter)
    if not label_reader.has("label"):
        raise Mpm3dError(f"The {parameter} {path} has no label variable: give a cube stacked with label slices, "
                         "or drill-hole samples voxelised with 'Voxelise drill-hole samples to labels'.")
    _check_grid(label_reader, path, parameter, grid, grid_name, advice)
    return label_reader.read_label()


def _check_grid(label_reader, path: str, parameter: str, grid, grid_name: str, advice: str) -> None:
    from .data.slices import grid_differences

    problems = grid_differences(label_reader.grid, grid, grid_name)
    if problems:
        raise Mpm3dError(f"The {parameter} {path} is not on the grid of {grid_name}: " + "; ".join(problems)
                         + f". {advice[0].upper()}{advice[1:]}.")


def _labels_on_grid(reader, labels_path: str | None, label_slices: list[str] | None) -> np.ndarray:
    """The labels of LABEL_SLICES, of LABEL_CUBE or else of the prospectivity cube itself, refused unless on the
    grid of ``reader``'s cube."""
    from .data.slices import read_label_slices

    if label_slices:
        if labels_path:
            raise Mpm3dError("Give labels either as LABEL_CUBE or as LABEL_SLICES, not both.")
        return read_label_slices(label_slices, reader.grid, "LABEL_SLICES", "the PROSPECTIVITY cube")
    label_reader = CubeReader(labels_path, "LABEL_CUBE") if labels_path else reader
    if not label_reader.has("label"):
        where = f"The LABEL_CUBE {labels_path}" if labels_path else f"The PROSPECTIVITY cube {reader.path}"
        raise Mpm3dError(f"{where} has no label variable: give a cube stacked with label slices (LABEL_CUBE), "
                         "or the label slices themselves (LABEL_SLICES).")
    _check_grid(label_reader, labels_path, "LABEL_CUBE", reader.grid, "the PROSPECTIVITY cube",
                "predict on the cube that carries the labels, or stack the labels on the same slices")
    return label_reader.read_label()


def compare_job(prospectivity_paths: list[str], labels_path: str | None, report: str | None,
                json_path: str | None, progress, label_slices: list[str] | None = None) -> dict:
    """Several predictions of one deposit (one per method) scored against the same labels, side by side.

    Each cube is scored as ``evaluate_job`` scores one (``_scores``), so a method is compared on the numbers
    its own evaluation shows. Labels as for ``evaluate_job``, on the grid of the first cube (and so of all).
    """
    from .data.slices import grid_differences
    from .paths import same_file
    from .results.reports import write_comparison_report

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
        comparison[name] = {"prospectivity": reader.path, **_scores(reader, probability, label_array)}
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


def training_progress(event: dict) -> tuple[float, str]:
    """A training event (core.learning.training) as the share of the run done and a line for the progress bar."""
    within = event.get("done", event.get("step", 0) / max(event.get("steps", 1), 1))  # the epoch's share done
    epoch_fraction = (event.get("epoch", 1) - 1 + within) / max(event.get("epochs", 1), 1)
    member, members = event.get("member"), event.get("members", 1)  # no member named: all train side by side
    fraction = epoch_fraction if member is None else (member - 1 + epoch_fraction) / members
    fraction = (event.get("fold", 1) - 1 + fraction) / event.get("folds", 1)
    message = f"Epoch {event.get('epoch')}/{event.get('epochs')}"
    if members > 1:
        who = f"{members} members side by side" if member is None else f"Member {member}/{members}"
        message = f"{who}, " + message[0].lower() + message[1:]
    if event.get("folds", 1) > 1:
        message = f"Holes fold {event['fold']}/{event['folds']}, " + message[0].lower() + message[1:]
    if "val_auc" in event:
        message += "".join(f", {k} {event[k]:.4g}" for k in ("loss_label", "loss_domain", "lambda", "val_auc",
                                                              "disc_acc") if event.get(k) is not None)
    return fraction, message


def train_job(args: argparse.Namespace, progress) -> dict:
    """Train a model from the train command's arguments (core/cli.py): the model file and its report, as one set."""
    from .learning.memory import check_memory, training_memory
    from .learning.model import resolve_device
    from .learning.modelfile import save_model
    from .learning.training import train
    from .paths import same_content, same_file
    from .results.reports import write_training_report

    progress(0.0, "Reading cubes")
    source_reader, target_reader = CubeReader(args.source, "SOURCE"), CubeReader(args.target, "TARGET")
    config = TrainConfig(**{entry.field: getattr(args, entry.field) for entry in TRAINING})
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
    if same_content(args.source, args.target):  # said first: it matters more than anything the run finds later
        copy = "" if same_file(args.source, args.target) else " (TARGET is a byte-for-byte copy of SOURCE)"
        warnings.append(f"SOURCE and TARGET are the same cube{copy}: no transfer happens. The model learns nothing "
                        "about another deposit, and the domain adaptation has nothing to adapt to. Give the "
                        "under-explored deposit's cube as TARGET.")
    holes = None
    if args.target_labels != "ignore" and args.target_holes:
        holes = label_cube_on_grid(args.target_holes, "TARGET_HOLES", target.grid, "the TARGET cube",
                                   "voxelise the drill holes onto the TARGET cube")
    elif args.target_holes:
        warnings.append("TARGET_HOLES was given but TARGET_LABELS is 'ignore': the drill holes were not read. Choose "
                        "'validate' or 'train' to use them.")

    time_left = TimeLeft()

    def on_progress(event: dict) -> None:
        fraction, message = training_progress(event)
        progress(0.02 + 0.93 * fraction, message + time_left.text(fraction),
                 **{k: v for k, v in event.items() if k != "stage"})

    started = time.time()
    result = train(source, target, config, on_progress, target_holes=holes)
    result.model.provenance.update({"source": os.path.basename(args.source),
                                    "target": os.path.basename(args.target), "seconds": time.time() - started})
    importance = attention = None
    transfer = {}
    if args.report:  # the report's analysis; the model file keeps the numbers too
        from .learning.alignment import aligned_cube
        from .learning.attention import gate_summary
        from .learning.importance import evidence_importance
        from .results.reports.kit import jsonable

        progress(0.95, "Comparing the deposits for the transfer report")
        seen = aligned_cube(result.model.alignment, target, config.seed)  # the target as the model sees it, once
        transfer = transfer_section(source, target, result, seen)
        progress(0.96, "Evidence importance: each layer shuffled on the source and the target")
        importance = jsonable(evidence_importance(result.model, source, seen, config, device=result.device))
        result.model.provenance["importance"] = importance
        attention = gate_summary(result.model, source, seen, device=result.device)
        if attention is not None:
            result.model.provenance["attention"] = attention
    progress(0.97, "Writing the model file")
    outputs = {"OUTPUT_MODEL": args.out, "VAL_AUC": result.val_auc, "BEST_EPOCH": result.best_epoch,
               "DEVICE": result.device, "MEMBERS": result.model.n_members, "WARNINGS": warnings}
    hole_figures = hole_outputs(result.target_holes) if result.target_holes else {}
    hole_notes = hole_warnings(result.target_holes) if result.target_holes else []
    outputs.update(hole_figures)
    outputs["WARNINGS"] += hole_notes
    with atomic_group():  # the model and its report appear together
        save_model(args.out, result.model)
        if args.report:
            write_training_report(args.report, result.history, {
                "method": config.method, "feature_names": source.feature_names,
                "config": {**vars(args), "members": len(result.members),  # as trained: automatic choices resolved
                           **{field: result.model.provenance["train_config"][field]
                                      for field in ("input_alignment", "training_mode")}},
                "source": args.source,
                "target": args.target,
                "device": result.device, "best_epoch": result.best_epoch,
                "selection": config.selection if holes is None else HOLE_RULE,
                "ensemble": [asdict(member) for member in result.members], **transfer,
                **({"importance": importance} if importance else {}),
                **({"attention": attention} if attention else {}),
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


def transfer_section(source, target, result, seen) -> dict:
    """What the training report says about the transfer: the deposits' evidence compared feature by feature,
    the target's novelty against the source, and how much the members disagree on the target. ``seen`` is the
    target through the model's input alignment (``target`` itself where it has none), as the network sees it."""
    from .learning.novelty import novelty_map
    from .learning.predict import predict_ensemble
    from .learning.sampling import FeatureStats
    from .learning.transfer import embedding_pad, feature_shift

    model = result.model
    seed = model.provenance["seed"]
    target_stats = FeatureStats.from_dict(model.normalisation["target"])  # computed by training already
    _, novelty = novelty_map(model.source_sample, target, target_stats, seed=seed)
    section = {"transfer": feature_shift(source, target, seed=seed), "novelty": novelty,
               "embedding_pad": embedding_pad(model, source, seen, seed=seed, device=result.device)}
    if model.alignment is not None:
        aligned = feature_shift(source, seen, seed=seed)
        section["aligned_shift"] = {"method": model.alignment["method"], "pad": aligned["pad"]["standardised"],
                                    "ks": {name: values["standardised"]["ks"]
                                           for name, values in aligned["features"].items()}}
    if model.n_members > 1:
        spread = predict_ensemble(model, target, device=result.device)[1]
        section["ensemble_spread"] = float(np.nanmean(spread))
    return section


def predict_job(model_path: str, cube_path: str, out_cube: str, out_folder: str, prefix: str, device: str,
                chunk_voxels: int, progress, why_here: bool = False, gate_weights: bool = False) -> dict:
    """Dense prediction of a cube: the maps as a cube and level rasters; with ``why_here`` the dominant evidence
    and its change too, with ``gate_weights`` the feature gate's weight of each layer in the cube."""
    from .learning.attention import gate_weights as gate_maps
    from .learning.attention import has_feature_gate
    from .learning.model import resolve_device
    from .learning.modelfile import load_model
    from .learning.predict import dominant_evidence, model_input, own_stats, predict_ensemble
    from .learning.sampling import SlabSource

    model = load_model(model_path)
    if gate_weights and not has_feature_gate(model):  # before any pass: a refusal costs nothing
        raise Mpm3dError(f"GATE_WEIGHTS: a {model.method} model has no feature gate (feature attention); only "
                         "DANN-CTA and CTA models weigh their evidence layers. Predict without GATE_WEIGHTS.")
    reader = CubeReader(cube_path, "CUBE")
    written = ["prospectivity", *["uncertainty"] * (not model.networks or len(model.networks) > 1),
               *[DOMINANT_MAP, CHANGE_MAP] * why_here, *["novelty"] * (model.source_sample is not None)]
    check_level_names_fit([map_prefix(prefix, name) for name in written], reader.grid.z, prefix)
    progress(0.02, f"Predicting {reader.grid.shape[0]} levels with a {model.method} model")
    stages = {"stats": (0.02, 0.1, "Feature statistics"),
              "predict": (0.1, 0.3 if why_here else 0.8, "Dense prediction"),
              "why": (0.3, 0.78, "Dominant evidence, one prediction per layer"),
              "gate": (0.78, 0.8, "Feature gate weights")}

    def on_progress(event: dict) -> None:
        start, end, label = stages[event["stage"]]
        progress(start + (end - start) * event["done"] / event["total"],
                 f"{label}: level {event['done']} of {event['total']}")

    # through the model's input alignment, if it has one: the prediction and the novelty read the evidence as the
    # model was trained to
    source = model_input(model, SlabSource(reader.read_features, reader.grid.shape, list(reader.feature_names)))
    stats = own_stats(source, resolve_device(device), on_progress)  # one pass, for the prediction and the novelty
    probability, uncertainty = predict_ensemble(model, source, device=device, chunk_voxels=chunk_voxels or None,
                                                on_progress=on_progress, stats=stats)
    maps = {"prospectivity": probability}
    if uncertainty is not None:  # a single network has no spread: no uncertainty map rather than one of zeros
        maps["uncertainty"] = uncertainty
    if why_here:
        maps[DOMINANT_MAP], maps[CHANGE_MAP] = dominant_evidence(
            model, source, probability, device=device, chunk_voxels=chunk_voxels or None, on_progress=on_progress,
            stats=stats)
    gates = {}
    if gate_weights:
        weights = gate_maps(model, source, stats, device=device, on_progress=on_progress)
        gates = {f"gate_{variable_name(name)}": layer for name, layer in zip(model.feature_names, weights,
                                                                            strict=True)}
    warnings = []
    if model.source_sample is not None:
        from .learning.novelty import novelty_map

        progress(0.8, "Novelty: how unlike the source the cube's evidence is")
        maps["novelty"], summary = novelty_map(model.source_sample, source, stats)
        if summary.get("note"):
            warnings.append(f"Novelty: {summary['note']}")
        else:
            progress(0.9, f"Novelty above 0.5 in {summary['share_above_half']:.1%} of the volume (the model "
                          f"extrapolates there); deposits told apart with AUC {summary['domain_auc']:.2f}")
    progress(0.92, "Writing the prospectivity cube and level rasters")
    outputs = write_prospectivity(out_cube, reader.grid, maps, out_folder, prefix,
                                  attrs=prediction_attributes(model, model_path, cube_path), cube_only=gates)
    outputs["WARNINGS"] += warnings
    progress(1.0, "Done")
    return outputs
