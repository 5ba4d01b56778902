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
from .grid import LABEL_ORE
from .slices import level_files, level_spacing, read_slices, write_cube_slices, write_slices

if TYPE_CHECKING:  # the model module imports torch, which the data jobs do without
    from .model import TrainedModel

Progress = Callable[..., None]


def _quiet(*_args, **_kwargs) -> None:
    return None


def generate_pair(folder: str, shape: tuple[int, int, int], voxel_size: tuple[float, float, float],
                  seed: int = 0, on_progress: Progress = _quiet) -> dict:
    """The synthetic source and target deposits as evidence and label slices, one folder each."""
    from .synthetic import synthetic_pair

    on_progress(0.0, "Generating the synthetic deposit pair")
    source, target = synthetic_pair(shape=shape, voxel_size=voxel_size, seed=seed)
    outputs: dict = {"OUTPUT_FOLDER": folder}
    with atomic_group():
        for index, (key, cube) in enumerate((("SOURCE", source), ("TARGET", target))):
            deposit_folder = os.path.join(folder, key.lower())
            written = write_cube_slices(deposit_folder, cube, "evidence", "label")
            outputs[f"{key}_EVIDENCE"] = written["evidence"]
            outputs[f"{key}_LABELS"] = written["labels"]
            outputs[f"{key}_ORE_FRACTION"] = float(np.mean(cube.label[cube.label >= 0] == LABEL_ORE))
            on_progress((index + 1) / 2, f"Wrote {len(cube.grid.z)} levels of the {key.lower()} deposit")
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
