"""Whole jobs on files, shared by the command line and the QGIS algorithms.

Each job takes paths and plain values, reports through ``on_progress(fraction, message)``
and returns a dict of what it made, so the CLI, the worker and the algorithms stay thin.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_group
from .cubefile import CubeReader, save_cube, write_cube
from .errors import Mpm3dError
from .grid import LABEL_ORE
from .slices import level_files, level_spacing, read_slices, write_cube_slices, write_slices

DEFAULT_HOLE_BUFFER = 8  # voxels: p - 1 for the default 9-voxel patch (a scored patch and a hole's patch overlap)

if TYPE_CHECKING:  # the model module imports torch, which the data jobs do without
    from .model import TrainedModel

Progress = Callable[..., None]


def _quiet(*_args, **_kwargs) -> None:
    return None


def generate_pair(folder: str, shape: tuple[int, int, int], voxel_size: tuple[float, float, float],
                  seed: int = 0, on_progress: Progress = _quiet, holes: int = 0, hole_placement: str = "grid",
                  hole_dip: float = 90.0) -> dict:
    """The synthetic source and target deposits as evidence and label slices, one folder each; with ``holes``,
    that many drill holes on the target, their samples in ``target_drill_holes.csv`` beside the folders."""
    from .synthetic import GRADE_CUTOFF, drill_holes, synthetic_pair

    on_progress(0.0, "Generating the synthetic deposit pair")
    source, target = synthetic_pair(shape=shape, voxel_size=voxel_size, seed=seed)
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
    with atomic_group():
        if not variables:
            if reader.feature_names:
                paths = write_slices(folder, reader.grid, reader.read_features(), reader.feature_names, prefix,
                                     on_progress=lambda f: on_progress(0.9 * f, "Writing evidence slices"))
                outputs["EVIDENCE"] = paths
            variables = [v for v in ("label", "prospectivity") if reader.has(v)]
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


def export_prefix(cube_path: str, prefix: str = "") -> str:
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
                        attrs: dict | None = None) -> dict:
    """A prospectivity cube plus one single-band GeoTIFF per level and map, top level first: all appear, or none.

    ``maps`` holds "prospectivity" and optionally "uncertainty" and "novelty" (Z, Y, X); the prospectivity
    levels are named ``<prefix>_z-0450.tif``, the others ``<prefix>_<map>_z-0450.tif``.
    """
    outputs: dict = {"OUTPUT_CUBE": cube_path, "ELEVATIONS": grid.z.tolist(), "WARNINGS": []}
    with atomic_group():
        write_cube(cube_path, grid, extra=maps, attrs=attrs)
        for name, values in maps.items():
            level_prefix = map_prefix(prefix, name)
            rasters = write_slices(folder, grid, values[None], [name], level_prefix)
            outputs[MAP_OUTPUTS[name]] = rasters
            outputs["WARNINGS"] += stale_files_warning(level_files(folder, level_prefix), rasters, "OUTPUT_FOLDER")
    return outputs


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


MAP_OUTPUTS = {"prospectivity": "OUTPUT_LAYERS", "uncertainty": "UNCERTAINTY_LAYERS", "novelty": "NOVELTY_LAYERS"}


def map_prefix(prefix: str, name: str) -> str:
    """File-name prefix of one map's level rasters: the prospectivity keeps the plain prefix."""
    return prefix if name == "prospectivity" else f"{prefix}_{name}"


def evaluate_job(prospectivity_path: str, labels_path: str | None, report: str | None, json_path: str | None,
                 progress, label_slices: list[str] | None = None, holes_path: str | None = None,
                 hole_buffer: int = DEFAULT_HOLE_BUFFER) -> dict:
    """Scores; labels come from label slices, a label cube, or the prospectivity cube itself.

    With ``holes_path`` (the label cube of the drill holes that trained or chose the model) only voxels more
    than ``hole_buffer`` voxels from every hole are scored: a patch there shares no evidence with a hole's.
    """
    from .metrics import away_from_holes, evaluate
    from .reports import write_evaluation_report

    reader = CubeReader(prospectivity_path, "PROSPECTIVITY")
    probability = reader.read_variable("prospectivity")
    label_array = _labels_on_grid(reader, labels_path, label_slices)
    away = None
    if holes_path:
        holes = label_cube_on_grid(holes_path, "HOLES", reader.grid, "the PROSPECTIVITY cube",
                                   "give the drill holes voxelised onto the cube that was predicted")
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
    metrics = evaluate(probability, label_array, reader.grid.z)
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


def _write_scores(outputs: dict, report: str | None, write_report, json_path: str | None, metrics: dict) -> None:
    """The report (``write_report(report)``) and the metrics as JSON, each where asked; both appear, or neither."""
    from .reports import write_metrics_json

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
    from .slices import grid_differences

    problems = grid_differences(label_reader.grid, grid, grid_name)
    if problems:
        raise Mpm3dError(f"The {parameter} {path} is not on the grid of {grid_name}: " + "; ".join(problems)
                         + f". {advice[0].upper()}{advice[1:]}.")


def _labels_on_grid(reader, labels_path: str | None, label_slices: list[str] | None) -> np.ndarray:
    """The labels of LABEL_SLICES, of LABEL_CUBE or else of the prospectivity cube itself, refused unless on the
    grid of ``reader``'s cube."""
    from .slices import read_label_slices

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

    Each cube is scored as ``evaluate_job`` scores one, plus its own trust maps (``trust_summary``), so a
    method is compared on the numbers its own evaluation shows. Labels as for ``evaluate_job``, on the grid
    of the first cube (and so of all).
    """
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
