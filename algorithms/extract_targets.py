"""Extract exploration targets: distinct high-prospectivity bodies as ranked 3D points and plan footprints."""

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPoint,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)

from ..core.errors import Mpm3dError
from ..core.jobs import label_cube_on_grid
from ..core.results.targets import (
    COMPANIONS,
    DEFAULT_MIN_DROP,
    TOP_EVIDENCE,
    extract_targets,
    tied_cut_warning,
    why_here_maps,
)
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm, cube_crs, read_prospectivity_cube
from .qgis_enums import (
    FAST_INSERT,
    FIELD_TYPES,
    NUMBER_DOUBLE,
    NUMBER_INTEGER,
    SOURCE_POINTS,
    SOURCE_POLYGONS,
    WKB_MULTI_POLYGON,
    WKB_POINT_Z,
)
from .styles import footprint_styler, target_styler

# The two ways to cut, each with its own parameter, so a number can only mean one thing.
CUT_BY = ["Top percentage of the volume (TOP_PERCENT)", "Probability at or above MIN_PROBABILITY"]
CUT_PARAMETERS = ("TOP_PERCENT", "MIN_PROBABILITY")
DEFAULTS = {"TOP_PERCENT": 5.0, "MIN_PROBABILITY": 0.5}

FIELDS = [(name, FIELD_TYPES[kind]) for name, kind in (("rank", "Int"), ("centroid_x", "Double"),
                                                    ("centroid_y", "Double"), ("centroid_z", "Double"),
                                                    ("top_z", "Double"), ("bottom_z", "Double"),
                                                    ("depth_m", "Double"), ("volume_m3", "Double"),
                                                    ("n_voxels", "Int"), ("mean_prob", "Double"),
                                                    ("max_prob", "Double"), ("mass_above_cut", "Double"),
                                                    ("footprint_m2", "Double"), ("open_at_depth", "Bool"),
                                                    ("at_edge", "Bool"), ("ore_share", "Double"),
                                                    ("known_ore", "Int"), ("mean_uncertainty", "Double"),
                                                    ("mean_novelty", "Double"))]
FIELDS += [(name, FIELD_TYPES[kind]) for place in range(1, TOP_EVIDENCE + 1)
           for name, kind in ((f"evidence_{place}", "String"), (f"evidence_{place}_share", "Double"))]
# The core's name of each field's value where it differs.
VALUES = {"centroid_x": "x", "centroid_y": "y", "centroid_z": "z", "known_ore": "known_ore_voxels"}


class ExtractTargets(Mpm3dAlgorithm):
    NAME = "extract_targets"
    DISPLAY = "Extract exploration targets"
    GROUP = "Targeting"
    SUMMARY = (
        "Cuts a prospectivity cube at the top N % of its volume (or at a probability), splits the voxels above the "
        "cut into distinct bodies around their probability peaks (a seeded watershed: a peak is a target of its own "
        "when the probability drops by at least MIN_DROP between it and any higher peak, so one connected cloud "
        "along a structure becomes the shoots you would drill one by one) and writes one 3D point per body at its "
        "probability-weighted centre, plus its outline in plan. Bodies are ranked by their probability mass above "
        "the cut (the sum of probability minus the cut over the body): high probability counts, a voxel just above "
        "the cut adds almost nothing; ties go to the higher maximum, then the shallower top. Each target says "
        "whether it is open at depth (reaches the model's floor) or at the edge (reaches a side), where it may "
        "continue outside the model. With a label cube, each target also gets the share of its known voxels that "
        "are ore: a target without known ore is a new one."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("PROSPECTIVITY", "Prospectivity cube", extension="nc"),
                 "A cube written by 'Predict prospectivity' (variable 'prospectivity').")
        self.add(QgsProcessingParameterEnum("CUT_BY", "Cut by", CUT_BY, defaultValue=0),
                 "Top percentage: the most prospective TOP_PERCENT % of the voxels with a prediction (ties at the "
                 "cut are all kept), whatever the probabilities' calibration. Probability: voxels at or above "
                 "MIN_PROBABILITY. Only the chosen rule's parameter is used.")
        self.add(QgsProcessingParameterNumber("TOP_PERCENT", "Top percentage of the volume (%)",
                                              NUMBER_DOUBLE, DEFAULTS["TOP_PERCENT"],
                                              minValue=0.0, maxValue=100.0),
                 "Used when cutting by the top percentage: a share of the predicted volume, above 0 and at most "
                 "100 (5 keeps the most prospective 5 %).")
        self.add(QgsProcessingParameterNumber("MIN_PROBABILITY", "Minimum probability",
                                              NUMBER_DOUBLE, DEFAULTS["MIN_PROBABILITY"],
                                              minValue=0.0, maxValue=1.0),
                 "Used when cutting by probability: voxels with a prospectivity at or above it (0 to 1).")
        self.add(QgsProcessingParameterNumber("MIN_DROP", "Minimum probability drop between targets",
                                              NUMBER_DOUBLE, DEFAULT_MIN_DROP, minValue=0.0,
                                              maxValue=1.0),
                 "Two probability highs are separate targets when the probability between them (the saddle) is at "
                 "least this much lower than the lower high; otherwise they are one body. Smaller: more, smaller "
                 "targets; 1: no splitting (connected bodies). On the demo's prediction 0.02-0.05 give the same "
                 "plunging shoots (18-14 bodies) and 0.1 merges them back into one body through the whole model.")
        self.add(QgsProcessingParameterNumber("MIN_VOXELS", "Minimum body size (voxels)",
                                              NUMBER_INTEGER, 5, minValue=1),
                 "A high with fewer voxels where it meets a larger body is merged into it; a body that stays "
                 "smaller is dropped as noise.")
        self.add(QgsProcessingParameterNumber("MAX_UNCERTAINTY", "Maximum uncertainty (optional)",
                                              NUMBER_DOUBLE, None, optional=True, minValue=0.0,
                                              maxValue=0.5),
                 "Voxels whose uncertainty (the ensemble members' standard deviation) is above this join no target, "
                 "so the targets are where the models agree. Empty: no cut. Needs a cube predicted with several "
                 "members or the random forest. 0.05 keeps voxels on which the members agree within about ±0.05. "
                 "To drill fewer voxels, a smaller TOP_PERCENT kept more ore than this cut on the project's "
                 "benchmark; with DANN-CTA this cut left out the better targets (README, Exploration targets).")
        self.add(QgsProcessingParameterFile("LABEL_CUBE", "Cube with labels (optional)", extension="nc",
                                            optional=True),
                 "A cube on the same grid with a label variable (1 ore, 0 barren, unknown elsewhere), e.g. from "
                 "'Voxelise drill-hole samples to labels'; fills ore_share and known_ore.")
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", "Targets", SOURCE_POINTS),
                 "One PointZ feature per target at its probability-weighted centre, in the cube's CRS, with: rank; "
                 "centroid_x/y/z; top_z and bottom_z (elevations of its highest and lowest level, m); depth_m (of its "
                 "top below the highest level with a prediction in its columns); volume_m3 and n_voxels; mean_prob "
                 "and max_prob; mass_above_cut (the ranking score); footprint_m2 (area in plan); open_at_depth (it "
                 "reaches the model's floor: it may continue deeper); at_edge (it reaches a side of the model); "
                 "ore_share (share of its known voxels that are ore; empty without labels or known voxels) and "
                 "known_ore (known ore voxels); mean_uncertainty and mean_novelty where the cube has them; "
                 "evidence_1 to evidence_3 with evidence_1_share to evidence_3_share where the cube was predicted "
                 "with WHY_HERE: the evidence layers the body's prospectivity rests on most, each with its share of "
                 "the body's summed change of prospectivity where it dominates.")
        self.add(QgsProcessingParameterFeatureSink("OUTPUT_FOOTPRINTS", "Target footprints",
                                                   SOURCE_POLYGONS, optional=True,
                                                   createByDefault=True),
                 "The outline in plan of each target (the union of its voxels' cells seen from above), as a "
                 "MultiPolygon with the same fields as the targets: where to site collars.")
        self.addOutput(QgsProcessingOutputNumber("TARGETS", "Number of targets"))

    def execute(self, parameters, context, feedback):
        reader = read_prospectivity_cube(self, parameters, context)
        grid = reader.grid
        mode = self.parameterAsEnum(parameters, "CUT_BY", context)
        used, unused = CUT_PARAMETERS[mode], CUT_PARAMETERS[1 - mode]
        value = self.parameterAsDouble(parameters, used, context)
        if parameters.get(unused) not in (None, "") and \
                self.parameterAsDouble(parameters, unused, context) != DEFAULTS[unused]:
            feedback.pushWarning(tr("{unused} is not used: CUT_BY is '{mode}'. To cut by {unused}, set CUT_BY to "
                                    "{other} ('{other_mode}').").format(
                unused=unused, mode=tr(CUT_BY[mode]), other=1 - mode, other_mode=tr(CUT_BY[1 - mode])))
        labels_path = self.parameterAsFile(parameters, "LABEL_CUBE", context)
        label = label_cube_on_grid(labels_path, "LABEL_CUBE", grid, "the PROSPECTIVITY cube",
                                   "predict on the cube that carries the labels, or stack the labels on the same "
                                   "slices") if labels_path else None
        max_uncertainty = (self.parameterAsDouble(parameters, "MAX_UNCERTAINTY", context)
                           if parameters.get("MAX_UNCERTAINTY") not in (None, "") else None)
        if max_uncertainty is not None and not reader.has("uncertainty"):
            raise Mpm3dError(tr("MAX_UNCERTAINTY: the PROSPECTIVITY cube {path} has no 'uncertainty' variable; "
                                "predict with a model of several members (ENSEMBLE_MEMBERS) or a random forest, or "
                                "leave MAX_UNCERTAINTY empty.").format(path=reader.path))
        feedback.setProgressText(tr("Separating bodies around their probability peaks"))
        prospectivity = reader.read_variable("prospectivity")
        targets = extract_targets(prospectivity, grid,
                                  threshold=value if used == "MIN_PROBABILITY" else None,
                                  top_percent=value if used == "TOP_PERCENT" else None,
                                  min_voxels=self.parameterAsInt(parameters, "MIN_VOXELS", context),
                                  min_drop=self.parameterAsDouble(parameters, "MIN_DROP", context), label=label,
                                  companions={name: reader.read_variable(name) for name in COMPANIONS
                                              if reader.has(name)},
                                  max_uncertainty=max_uncertainty, evidence=why_here_maps(reader))
        tied = tied_cut_warning(prospectivity, value) if used == "TOP_PERCENT" else None
        if tied:
            feedback.pushWarning(tied)

        fields = QgsFields()
        for name, kind in FIELDS:
            fields.append(QgsField(name, kind))
        crs = cube_crs(grid, "PROSPECTIVITY")
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, WKB_POINT_Z, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        footprints, footprints_id = self.parameterAsSink(parameters, "OUTPUT_FOOTPRINTS", context, fields,
                                                         WKB_MULTI_POLYGON, crs)
        progress = self.progress(feedback, 50.0, 100.0)
        for index, target in enumerate(targets):
            progress(index / len(targets))
            attributes = [target.get(VALUES.get(name, name)) for name, _ in FIELDS]
            outputs = [(sink, QgsGeometry(QgsPoint(target["x"], target["y"], target["z"])))]
            if footprints is not None:
                outputs.append((footprints, QgsGeometry.fromWkt(target["footprint_wkt"])))
            for layer, geometry in outputs:
                feature = QgsFeature(fields)
                feature.setGeometry(geometry)
                feature.setAttributes(attributes)
                if not layer.addFeature(feature, FAST_INSERT):
                    raise QgsProcessingException(tr("Could not write target {rank}: {error}").format(
                        rank=target["rank"], error=layer.lastError()))
        progress(1.0)

        cut = (tr("the top {value} % of the volume") if used == "TOP_PERCENT" else tr("probability {value}")).format(
            value=f"{value:g}")
        if targets:
            best = targets[0]
            feedback.pushInfo(tr(
                "{count} targets in {cut} (probability >= {threshold}); rank 1: {voxels} voxels ({volume} m3), mean "
                "probability {mean}, from {top} to {bottom} m. Open at depth: {open}; at the edge of the model: "
                "{edge}.").format(
                count=len(targets), cut=cut, threshold=f"{best['cut']:.3f}", voxels=best["n_voxels"],
                volume=f"{best['volume_m3']:.3g}", mean=f"{best['mean_prob']:.3f}", top=f"{best['top_z']:g}",
                bottom=f"{best['bottom_z']:g}", open=sum(t["open_at_depth"] for t in targets),
                edge=sum(t["at_edge"] for t in targets)))
        else:
            feedback.pushWarning(tr("No body in {cut} reaches the minimum size; the layer is empty.").format(cut=cut))
        n_targets = len(targets)
        self.style_output(context, dest_id, target_styler(n_targets, 1.5 * max(grid.pixel_size)))
        results = {"OUTPUT": dest_id, "TARGETS": n_targets}
        if footprints is not None:
            self.style_output(context, footprints_id, footprint_styler(n_targets))
            results["OUTPUT_FOOTPRINTS"] = footprints_id
        return results

