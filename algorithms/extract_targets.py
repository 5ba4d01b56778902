"""Extract exploration targets: connected high-prospectivity bodies as ranked 3D points."""

import numpy as np
from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsGraduatedSymbolRenderer,
    QgsMarkerSymbol,
    QgsPoint,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsRendererRange,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ..core.cubefile import CubeReader
from ..core.errors import Mpm3dError
from ..core.targets import COMPANIONS, extract_targets
from .base import PROSPECTIVITY_COLOURS, Mpm3dAlgorithm, cube_crs, read_prospectivity_cube, style_when_loaded

THRESHOLD_MODES = ["Probability at or above the threshold", "Top N % of the volume (threshold = N)"]

# (first rank, last rank, marker size in mm) of the legend bands: the best targets stand out in colour and size.
RANK_BANDS = [(1, 1, 6.0), (2, 3, 5.0), (4, 5, 4.2), (6, 10, 3.5), (11, None, 2.8)]

FIELDS = [("rank", QVariant.Int), ("volume_m3", QVariant.Double), ("n_voxels", QVariant.Int),
          ("mean_prob", QVariant.Double), ("max_prob", QVariant.Double), ("top_z", QVariant.Double),
          ("bottom_z", QVariant.Double), ("ore_share", QVariant.Double), ("known_ore", QVariant.Int),
          ("mean_uncertainty", QVariant.Double), ("mean_novelty", QVariant.Double)]


def rank_renderer(n_targets: int) -> QgsGraduatedSymbolRenderer:
    """Rank bands coloured with the shared ramp, rank 1 in its brightest colour."""
    ranges = []
    for (first, last, size), colour in zip(RANK_BANDS, reversed(PROSPECTIVITY_COLOURS), strict=True):
        if first > n_targets:
            break
        last = max(n_targets, first) if last is None else last
        symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": colour, "size": str(size),
                                               "outline_color": "black"})
        label = f"Rank {first}" if first == last else f"Ranks {first}-{last}"
        ranges.append(QgsRendererRange(first, last, symbol, label))
    return QgsGraduatedSymbolRenderer("rank", ranges)


class ExtractTargets(Mpm3dAlgorithm):
    NAME = "extract_targets"
    DISPLAY = "Extract exploration targets"
    GROUP = "Targeting"
    SUMMARY = (
        "Cuts a prospectivity cube at a probability or at the top N % of its volume, joins the voxels above the "
        "cut into 3D bodies (voxels touching by a face, an edge or a corner belong together, so a dipping ore "
        "shoot stays one body) and writes one 3D point per body at its probability-weighted centre. Bodies are "
        "ranked by probability mass (sum of probability over the body), so a large confident body comes before "
        "a single bright voxel. With a label cube, each target also gets the share of its known voxels that are "
        "ore: a target without known ore is a new one."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("PROSPECTIVITY", "Prospectivity cube", extension="nc"),
                 "A cube written by 'Predict prospectivity' (variable 'prospectivity').")
        self.add(QgsProcessingParameterEnum("THRESHOLD_MODE", "Cut by", THRESHOLD_MODES, defaultValue=0),
                 "Probability: voxels at or above the threshold probability. Top N %: the most prospective N % of "
                 "the voxels with a prediction (ties at the cut are all kept).")
        self.add(QgsProcessingParameterNumber("THRESHOLD", "Threshold (probability, or N %)",
                                              QgsProcessingParameterNumber.Double, 0.5, minValue=0.0, maxValue=100.0),
                 "A probability between 0 and 1 when cutting by probability; a percentage of the volume (above 0, "
                 "at most 100) when cutting by the top N %.")
        self.add(QgsProcessingParameterNumber("MIN_VOXELS", "Minimum body size (voxels)",
                                              QgsProcessingParameterNumber.Integer, 5, minValue=1),
                 "Bodies with fewer voxels are dropped as noise.")
        self.add(QgsProcessingParameterNumber("MAX_UNCERTAINTY", "Maximum uncertainty (optional)",
                                              QgsProcessingParameterNumber.Double, None, optional=True, minValue=0.0,
                                              maxValue=0.5),
                 "Voxels whose uncertainty (the ensemble members' standard deviation) is above this join no target, "
                 "so the targets are where the models agree. Empty: no cut. Needs a cube predicted with several "
                 "members or the random forest. 0.05 keeps voxels on which the members agree within about ±0.05.")
        self.add(QgsProcessingParameterFile("LABEL_CUBE", "Cube with labels (optional)", extension="nc",
                                            optional=True),
                 "A cube on the same grid with a label variable (1 ore, 0 barren, unknown elsewhere), e.g. from "
                 "'Voxelise drill-hole samples to labels'; fills ore_share and known_ore.")
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", "Targets", QgsProcessing.TypeVectorPoint),
                 "One PointZ feature per body, in the cube's CRS, with rank, volume_m3, n_voxels, mean_prob, "
                 "max_prob, top_z, bottom_z (elevations in metres), ore_share (share of the body's known voxels "
                 "that are ore; empty without labels or known voxels), known_ore (number of known ore voxels), and "
                 "mean_uncertainty and mean_novelty over the body where the cube has them.")
        self.addOutput(QgsProcessingOutputNumber("TARGETS", "Number of targets"))

    def execute(self, parameters, context, feedback):
        reader = read_prospectivity_cube(self, parameters, context)
        grid = reader.grid
        by_top_percent = self.parameterAsEnum(parameters, "THRESHOLD_MODE", context) == 1
        threshold = self.parameterAsDouble(parameters, "THRESHOLD", context)
        if not by_top_percent and threshold > 1:
            raise Mpm3dError(f"THRESHOLD {threshold:g} is not a probability (0-1); to keep the top {threshold:g} % "
                             "of the volume, set THRESHOLD_MODE to the top N %.")
        label = self._labels(self.parameterAsFile(parameters, "LABEL_CUBE", context), grid)
        max_uncertainty = (self.parameterAsDouble(parameters, "MAX_UNCERTAINTY", context)
                           if parameters.get("MAX_UNCERTAINTY") not in (None, "") else None)
        if max_uncertainty is not None and not reader.has("uncertainty"):
            raise Mpm3dError(f"MAX_UNCERTAINTY: the PROSPECTIVITY cube {reader.path} has no 'uncertainty' variable; "
                             "predict with a model of several members (ENSEMBLE_MEMBERS) or a random forest, or leave "
                             "MAX_UNCERTAINTY empty.")
        feedback.setProgressText("Finding connected bodies")
        targets = extract_targets(reader.read_variable("prospectivity"), grid,
                                  threshold=None if by_top_percent else threshold,
                                  top_percent=threshold if by_top_percent else None,
                                  min_voxels=self.parameterAsInt(parameters, "MIN_VOXELS", context), label=label,
                                  companions={name: reader.read_variable(name) for name in COMPANIONS
                                              if reader.has(name)},
                                  max_uncertainty=max_uncertainty)

        fields = QgsFields()
        for name, kind in FIELDS:
            fields.append(QgsField(name, kind))
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, QgsWkbTypes.PointZ,
                                             cube_crs(grid, "PROSPECTIVITY"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        progress = self.progress(feedback, 50.0, 100.0)
        for index, target in enumerate(targets):
            progress(index / len(targets))
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry(QgsPoint(target["x"], target["y"], target["z"])))
            feature.setAttributes([target["rank"], target["volume_m3"], target["n_voxels"], target["mean_prob"],
                                   target["max_prob"], target["top_z"], target["bottom_z"], target["ore_share"],
                                   target["known_ore_voxels"], target.get("mean_uncertainty"),
                                   target.get("mean_novelty")])
            if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
                raise QgsProcessingException(f"Could not write target {target['rank']}: {sink.lastError()}")
        progress(1.0)

        cut = f"the top {threshold:g} % of the volume" if by_top_percent else f"probability {threshold:g}"
        if targets:
            best = targets[0]
            feedback.pushInfo(f"{len(targets)} targets above {cut}; rank 1: {best['n_voxels']} voxels "
                              f"({best['volume_m3']:.3g} m3), mean probability {best['mean_prob']:.3f}, "
                              f"from {best['top_z']:g} to {best['bottom_z']:g} m.")
        else:
            feedback.reportError(f"No body above {cut} reaches the minimum size; the layer is empty.", False)
        n_targets = len(targets)
        style_when_loaded(context, dest_id, lambda layer: layer.setRenderer(rank_renderer(n_targets)))
        return {"OUTPUT": dest_id, "TARGETS": n_targets}

    @staticmethod
    def _labels(path: str, grid) -> np.ndarray | None:
        """The label variable of LABEL_CUBE, checked to lie on the prospectivity grid."""
        if not path:
            return None
        reader = CubeReader(path, "LABEL_CUBE")
        if not reader.has("label"):
            raise Mpm3dError(f"LABEL_CUBE: {path} has no label variable.")
        same_grid = reader.grid.shape == grid.shape and all(
            np.allclose(getattr(reader.grid, axis), getattr(grid, axis)) for axis in ("x", "y", "z"))
        if not same_grid:
            raise Mpm3dError(f"LABEL_CUBE: {path} (grid {reader.grid.shape}) is not on the grid of the "
                             f"prospectivity cube {grid.shape}: voxel centres or levels differ.")
        return reader.read_label()
