"""`make demo`: the whole chain headless through qgis_process on the bundled synthetic deposits.

generate -> stack source (with labels) and target (without) -> train each method (an ensemble of 3
networks, or the forest) -> predict the target (prospectivity, uncertainty, novelty) -> evaluate each against
the target labels (scoring only) and compare the methods in one report -> the few-holes case: 5 drill holes on
the target, voxelised, DANN-CTA trained with them (TARGET_LABELS train) and every map scored away from them ->
the pair written as block-model CSVs, the target's imported back and predicted with the DANN-CTA model, the map
written as a block-model CSV (bring your block model) -> a QGIS project with the results and the holes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import qgis_process  # noqa: E402

DEMO_METHODS = ("dann_cta", "cnn", "rf")
# Uncertainty and novelty of each prediction, and whether they mean something: the target AUC in the half of the
# volume each calls trustworthy against the other half (target labels score there, nothing else).
TRUST_KEYS = ("mean_uncertainty", "uncertainty_halves", "novel_share", "novelty_halves", "target_uncertainty_halves")


def step(algorithm: str, parameters: dict, profile: str) -> dict:
    started = time.time()
    run, parsed = qgis_process.run_algorithm(f"mpm3d:{algorithm}", parameters, profile)
    if run.returncode != 0 or parsed is None:
        sys.exit(f"{algorithm} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    print(f"  {algorithm:<24} {time.time() - started:6.1f} s", flush=True)
    return parsed["results"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_output")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=7, help="7 keeps the demo quick on a laptop CPU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--members", type=int, default=3, help="ensemble members per network method")
    parser.add_argument("--holes", type=int, default=5, help="drill holes on the target for the few-holes case (0: "
                        "skip it)")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    profile = qgis_process.isolated_profile(os.path.join(out, "qgis-profile"))
    print(f"mpm3d demo in {out}")
    data = step("generate_synthetic_pair", {"LEVELS": 24, "ROWS": 64, "COLUMNS": 64, "CELL_SIZE": 25,
                                            "LEVEL_SPACING": 40, "SEED": args.seed,
                                            "TARGET_DRILL_HOLES": args.holes, "HOLE_PLACEMENT": 1,  # at anomalies
                                            "OUTPUT_FOLDER": os.path.join(out, "slices")}, profile)
    print("Pair profile: as_designed. The target differs in geology (its ore sits deeper in the footwall, which no "
          "method without target labels can undo) and in measurement; docs/benchmarks.md, 'When does adaptation "
          "help?', says what adaptation wins on each profile")
    source = step("stack_slices", {"EVIDENCE": data["SOURCE_EVIDENCE"], "LABELS": data["SOURCE_LABELS"],
                                   "OUTPUT": os.path.join(out, "source.nc")}, profile)["OUTPUT"]
    target = step("stack_slices", {"EVIDENCE": data["TARGET_EVIDENCE"],
                                   "OUTPUT": os.path.join(out, "target.nc")}, profile)["OUTPUT"]
    labelled_target = step("stack_slices", {"EVIDENCE": data["TARGET_EVIDENCE"], "LABELS": data["TARGET_LABELS"],
                                            "OUTPUT": os.path.join(out, "target_with_labels.nc")}, profile)["OUTPUT"]
    scores = {}
    from project import _qgis

    _qgis()  # the plugin importable as mpm3d, for its list of methods (the METHOD enum's order)
    for method in DEMO_METHODS:
        folder = os.path.join(out, method)
        model, predicted = train_and_predict(args, source, target, method, folder, f"{method}_prospectivity",
                                             profile)
        scored = step("evaluate_prospectivity", {
            "PROSPECTIVITY": predicted["OUTPUT_CUBE"], "LABEL_SLICES": data["TARGET_LABELS"],
            "OUTPUT_REPORT": os.path.join(folder, "evaluation_report.html"),
            "OUTPUT_JSON": os.path.join(folder, "metrics.json")}, profile)
        scores[method] = {"target_auc": scored["AUC"], "capture_top10": scored["CAPTURE_TOP10"],
                          "source_val_auc": model["VAL_AUC"], "members": model["MEMBERS"],
                          "prediction": predicted["OUTPUT_CUBE"], "levels": predicted["OUTPUT_FOLDER"],
                          "prefix": f"{method}_prospectivity", "report": scored["OUTPUT_REPORT"],
                          "training_report": model["OUTPUT_REPORT"]}
    compared = step("compare_methods", {
        "PROSPECTIVITY": [s["prediction"] for s in scores.values()], "LABEL_SLICES": data["TARGET_LABELS"],
        "OUTPUT_REPORT": os.path.join(out, "comparison_report.html"),
        "OUTPUT_JSON": os.path.join(out, "comparison.json")}, profile)
    with open(compared["OUTPUT_JSON"], encoding="utf-8") as handle:
        comparison = json.load(handle)
    for method, s in scores.items():  # how far to trust each map, as the comparison measured it
        s.update({key: comparison[method][key] for key in TRUST_KEYS})
    few = few_holes_case(args, data, target, out, profile, scores) if args.holes else None
    blocks = block_model_chain(source, labelled_target, os.path.join(out, "dann_cta"), out, profile)
    best = os.path.join(out, "dann_cta", "prospectivity.nc")
    targets = step("extract_targets", {"PROSPECTIVITY": best, "CUT_BY": 0, "TOP_PERCENT": 5, "MIN_VOXELS": 5,
                                       "LABEL_CUBE": labelled_target,
                                       "OUTPUT": os.path.join(out, "exploration_targets.gpkg"),
                                       "OUTPUT_FOOTPRINTS": os.path.join(out, "exploration_target_footprints.gpkg")},
                   profile)
    voxels = step("voxels_3d", {"PROSPECTIVITY": best, "THRESHOLD": 0.5,
                                "OUTPUT": os.path.join(out, "prospectivity_voxels_3d.gpkg")}, profile)
    project = os.path.join(out, "mpm3d_demo.qgz")
    from project import build_project, render_project, render_scene_png, vector_layers

    footprints, points, voxel_layer = vector_layers(targets["OUTPUT"], targets["OUTPUT_FOOTPRINTS"],
                                                    voxels["OUTPUT"])
    vectors = [footprints, points, voxel_layer]
    level_folders = {m: (s["levels"], s["prefix"]) for m, s in scores.items()}
    if few:
        from mpm3d.core.data.synthetic import CRS
        from project import drill_hole_layer

        vectors.insert(2, drill_hole_layer(data["TARGET_HOLES_CSV"], CRS, radius=10.0))
        level_folders[HOLES_RUN] = (few["levels"], few["prefix"])
    build_project(project, level_folders, "dann_cta", vectors, scene_layers=vectors, off_in_2d=[voxel_layer])
    map_png = os.path.join(out, "project_as_opened.png")
    shown = render_project(project, map_png)
    scene_png = render_scene_png(voxels["OUTPUT"], targets["OUTPUT"], os.path.join(out, "scene_3d.png"),
                                 data.get("TARGET_HOLES_CSV"))
    with open(os.path.join(out, "summary.json"), "w") as handle:
        json.dump({**scores, **({HOLES_RUN: few} if few else {}), "block_model": blocks}, handle, indent=2)
    print("\nTarget deposit, scored against its labels (never used in training):")
    print(f"  {'method':<10} {'members':>7} {'target AUC':>10} {'top-10% capture':>16} {'source val AUC':>15}")
    for method, s in scores.items():
        print(f"  {method:<10} {s['members']:>7} {s['target_auc']:>10.3f} {s['capture_top10']:>16.1%} "
              f"{s['source_val_auc']:>15.3f}")
    print("\nHow far to trust each map (target AUC in the half of the volume where the map says trust it, and in")
    print("the other half; novelty above 0.5 is where the model extrapolates; the share of ore among the labelled")
    print("voxels of the top 5 %, what Extract targets keeps, in the half where the members agree most / least):")
    print(f"  {'method':<10} {'mean uncertainty':>16} {'AUC certain/uncertain half':>27} {'novel > 0.5':>12} "
          f"{'AUC familiar/novel half':>24}  {'ore in top 5 %':>14}")
    for method, s in scores.items():
        print(f"  {method:<10} {s['mean_uncertainty']:>16.3f} {_pair(s['uncertainty_halves']):>27} "
              f"{s['novel_share']:>12.1%} {_pair(s['novelty_halves']):>24}  "
              f"{_pair(s['target_uncertainty_halves'], 'ore_share', '.1%'):>14}")
    if few:
        print_few_holes(few)
    print_block_model_chain(blocks)
    print(f"\nComparison report:   {compared['OUTPUT_REPORT']} (every method's curves on one plot, scores side by "
          "side)")
    print(f"Level rasters:       {scores['dann_cta']['levels']}")
    print(f"Evaluation report:   {scores['dann_cta']['report']}")
    print(f"Exploration targets: {targets['OUTPUT']} ({targets['TARGETS']} bodies, top 5 % of the volume)")
    print(f"  footprints:        {targets['OUTPUT_FOOTPRINTS']}")
    print(target_table(targets["OUTPUT"]))
    print(f"3D voxels:           {voxels['OUTPUT']} ({voxels['VOXELS']} voxels with p >= 0.5)")
    print(f"QGIS project:        {project}")
    print(f"  as opened:         {map_png} ({', '.join(shown)})")
    print(f"  3D view's layers:  {scene_png}")
    print(f"Open it with `qgis {project}`; View > 3D Map View shows the voxels and targets in depth.")


HOLES_RUN = "dann_cta_holes"


def train_and_predict(args, source: str, target: str, method: str, folder: str, prefix: str, profile: str,
                      **training) -> tuple[dict, dict]:
    """Train ``method`` with the demo's settings (and ``training``'s extra parameters) into ``folder``, and
    predict the target with it: (training outputs, prediction outputs)."""
    from mpm3d.core.settings import METHODS

    model = step("train_model", {"SOURCE": source, "TARGET": target, "METHOD": METHODS.index(method),
                                 "EPOCHS": args.epochs, "PATCH_SIZE": args.patch_size, "SEED": args.seed,
                                 "DEVICE": 0, "ENSEMBLE_MEMBERS": args.members, **training,
                                 "OUTPUT_MODEL": os.path.join(folder, "model.safetensors"),
                                 "OUTPUT_REPORT": os.path.join(folder, "training_report.html")}, profile)
    predicted = step("predict_prospectivity", {
        "MODEL": model["OUTPUT_MODEL"], "CUBE": target, "PREFIX": prefix,
        "OUTPUT_CUBE": os.path.join(folder, "prospectivity.nc"), "OUTPUT_FOLDER": os.path.join(folder, "levels")},
        profile)
    return model, predicted


def few_holes_case(args, data: dict, target: str, out: str, profile: str, scores: dict) -> dict:
    """The under-explored deposit with a few drill holes, as a geologist would run it: the holes' samples
    voxelised onto the target's grid, DANN-CTA trained with them in its label loss (TARGET_LABELS train), and
    this map and the label-free ones all scored on the same voxels, away from the holes (Evaluate's HOLES)."""
    from mpm3d.core.data.synthetic import CRS
    from mpm3d.core.learning.selection import TARGET_LABEL_MODES

    folder = os.path.join(out, HOLES_RUN)
    holes = step("voxelise_samples", {"INPUT": data["TARGET_HOLES_CSV"], "X_FIELD": "x", "Y_FIELD": "y",
                                      "Z_FIELD": "z", "SAMPLE_CRS": CRS, "ORE_FIELD": "ore", "CUBE": target,
                                      "OUTPUT": os.path.join(out, "target_holes.nc")}, profile)["OUTPUT"]
    prefix = f"{HOLES_RUN}_prospectivity"
    model, predicted = train_and_predict(args, os.path.join(out, "source.nc"), target, "dann_cta", folder, prefix,
                                         profile, TARGET_HOLES=holes,
                                         TARGET_LABELS=TARGET_LABEL_MODES.index("train"))
    away = {}
    for name, prediction, report_folder in [(f"dann_cta + {args.holes} holes", predicted["OUTPUT_CUBE"], folder),
                                            *((m, s["prediction"], os.path.join(out, m)) for m, s in scores.items())]:
        scored = step("evaluate_prospectivity", {
            "PROSPECTIVITY": prediction, "LABEL_SLICES": data["TARGET_LABELS"], "HOLES": holes,
            "HOLE_BUFFER": args.patch_size - 1,
            "OUTPUT_REPORT": os.path.join(report_folder, "evaluation_away_from_holes.html"),
            "OUTPUT_JSON": os.path.join(report_folder, "metrics_away_from_holes.json")}, profile)
        away[name] = {"target_auc": scored["AUC"], "capture_top10": scored["CAPTURE_TOP10"],
                      "scored_voxels": scored["SCORED_VOXELS"], "excluded_voxels": scored["EXCLUDED_VOXELS"]}
    return {"holes": data["TARGET_HOLES"], "holes_csv": data["TARGET_HOLES_CSV"], "label_cube": holes,
            "validation": {key: model.get(key) for key in ("TARGET_AUC", "TARGET_AUC_LOW", "TARGET_AUC_HIGH",
                                                           "HOLES_VALIDATING", "HOLES_TRAINING")},
            "away_from_holes": away, "prediction": predicted["OUTPUT_CUBE"], "levels": predicted["OUTPUT_FOLDER"],
            "prefix": prefix, "report": model["OUTPUT_REPORT"]}


def block_model_chain(source: str, labelled_target: str, dann_folder: str, out: str, profile: str) -> dict:
    """Bring your block model: the pair as the block-model CSVs a modelling package exports, the target's CSV
    imported into a cube, predicted with the DANN-CTA model already trained (no training here) and the map
    written back as a block-model CSV; the map compared with the one predicted from the stacked rasters."""
    from mpm3d.core.data.cubefile import CubeReader
    from mpm3d.core.data.synthetic import CRS

    folder = os.path.join(out, "block_model")
    written = {name: step("export_block_model", {"CUBE": cube, "OUTPUT": os.path.join(folder, f"{name}_blocks.csv")},
                          profile)
               for name, cube in (("source", source), ("target", labelled_target))}
    imported = step("import_block_model", {"INPUT": written["target"]["OUTPUT"], "CRS": CRS, "LABEL": "label",
                                           "OUTPUT": os.path.join(folder, "target_from_blocks.nc")}, profile)
    predicted = step("predict_prospectivity", {
        "MODEL": os.path.join(dann_folder, "model.safetensors"), "CUBE": imported["OUTPUT"],
        "PREFIX": "blocks_prospectivity", "OUTPUT_CUBE": os.path.join(folder, "prospectivity.nc"),
        "OUTPUT_FOLDER": os.path.join(folder, "levels")}, profile)
    exported = step("export_block_model", {"CUBE": predicted["OUTPUT_CUBE"],
                                           "VARIABLES": "prospectivity,uncertainty,novelty",
                                           "OUTPUT": os.path.join(folder, "prospectivity_blocks.csv")}, profile)
    maps = [CubeReader(path).read_variable("prospectivity")
            for path in (predicted["OUTPUT_CUBE"], os.path.join(dann_folder, "prospectivity.nc"))]
    same = bool(np.array_equal(maps[0], maps[1], equal_nan=True))
    difference = float(np.nanmax(np.abs(maps[0] - maps[1])))
    return {"csv": {name: w["OUTPUT"] for name, w in written.items()},
            "csv_blocks": {name: w["BLOCKS"] for name, w in written.items()}, "cube": imported["OUTPUT"],
            "blocks_read": imported["BLOCKS"], "features": imported["FEATURES"], "prediction": exported["OUTPUT"],
            "blocks_written": exported["BLOCKS"], "same_as_rasters": same, "largest_difference": difference}


def print_block_model_chain(blocks: dict) -> None:
    print("\nBring your block model: the pair as block-model CSVs (x, y, z, dx, dy, dz, one column per evidence "
          "layer and the label):")
    for name, path in blocks["csv"].items():
        print(f"  {name + ':':<18} {path} ({blocks['csv_blocks'][name]} blocks)")
    print(f"  Import block model: {blocks['blocks_read']} blocks of the target -> {blocks['cube']} "
          f"(features {blocks['features']})")
    same = ("the same map as from the stacked rasters, block for block" if blocks["same_as_rasters"] else
            f"differs from the map of the stacked rasters by up to {blocks['largest_difference']:.2g}")
    print(f"  Predicted with the DANN-CTA model: {same}")
    print(f"  Export block model: {blocks['prediction']} ({blocks['blocks_written']} blocks: prospectivity, "
          "uncertainty, novelty)")


def print_few_holes(few: dict) -> None:
    scored = next(iter(few["away_from_holes"].values()))
    v = few["validation"]
    print(f"\nFew drill holes: {few['holes']} holes on the target; DANN-CTA trained with {v['HOLES_TRAINING']} of "
          f"them, {v['HOLES_VALIDATING']} validating. Every map scored on the same {scored['scored_voxels']} voxels "
          f"away from the holes ({scored['excluded_voxels']} near them left out):")
    print(f"  {'map':<22} {'target AUC':>10} {'top-10% capture':>16}")
    for name, s in few["away_from_holes"].items():
        print(f"  {name:<22} {s['target_auc']:>10.3f} {s['capture_top10']:>16.1%}")
    if v["TARGET_AUC"] is not None:
        print(f"  The validating holes' own estimate: AUC {v['TARGET_AUC']:.3f}, 95 % interval over holes "
              f"[{v['TARGET_AUC_LOW']:.3f}, {v['TARGET_AUC_HIGH']:.3f}] ({v['HOLES_VALIDATING']} holes: few, read it "
              "as a rough check)")
    print(f"  Training report:   {few['report']}")


def target_table(path: str, shown: int = 5) -> str:
    """The best targets as a geologist would scan them, and how many may continue outside the model."""
    from osgeo import ogr

    source = ogr.Open(path)
    rows = sorted(source.GetLayer(0), key=lambda f: f.GetField("rank"))
    lines = [f"  {'rank':>4} {'voxels':>6} {'mean p':>6} {'max p':>6} {'top z':>7} {'bottom z':>8} {'depth':>6}  flags"]
    for f in rows[:shown]:
        flags = ", ".join(flag for flag in ("open_at_depth", "at_edge") if f.GetField(flag)) or "-"
        lines.append(f"  {f.GetField('rank'):>4} {f.GetField('n_voxels'):>6} {f.GetField('mean_prob'):>6.3f} "
                     f"{f.GetField('max_prob'):>6.3f} {f.GetField('top_z'):>7g} {f.GetField('bottom_z'):>8g} "
                     f"{f.GetField('depth_m'):>6g}  {flags}")
    open_below = sum(bool(f.GetField("open_at_depth")) for f in rows)
    at_edge = sum(bool(f.GetField("at_edge")) for f in rows)
    lines.append(f"  ({len(rows)} targets; {open_below} open at depth, {at_edge} at the edge of the model)")
    return "\n".join(lines)


def _pair(halves: dict, score: str = "auc", style: str = ".3f") -> str:
    return " / ".join("-" if halves[key] is None else format(halves[key], style)
                      for key in (f"{score}_low", f"{score}_high"))


if __name__ == "__main__":
    main()
