"""Predict prospectivity: dense prediction in the worker, level rasters loaded and styled in the project."""

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
)

from ..core.data.slices import elevation_from_name
from ..core.jobs import MAP_OUTPUTS, prediction_level_patterns
from ..core.settings import PREDICTION, setting
from ..runtime.i18n import tr
from ..runtime.worker import run_core
from .base import WorkerAlgorithm, folder_parameter_value
from .styles import map_styler, map_title, style_on_load, title_legend, write_raster_styles


def load_level_rasters(paths, group: str, context, output_name: str, kind: str = "prospectivity",
                       sort_offset: int = 0) -> None:
    """Queue the level rasters of one map for loading, top level on top, styled with the map's fixed ramp.

    Where QGIS has LayerDetails.groupName (3.32+) they go into one group per run; elsewhere they load
    ungrouped, added bottom level first so the top level ends on top of the layer tree.
    """
    ordered = sorted(paths, key=elevation_from_name)  # deepest first
    grouped = hasattr(QgsProcessingContext.LayerDetails, "groupName")
    label = group if kind == "prospectivity" else f"{group} {map_title(kind)}"
    for sort_key, path in enumerate(reversed(ordered) if grouped else ordered):
        details = QgsProcessingContext.LayerDetails(f"{label} z {elevation_from_name(path):g} m", context.project(),
                                                    output_name)
        if grouped:
            details.groupName = group
            details.layerSortKey = sort_offset + sort_key
        details.setPostProcessor(style_on_load(_styled_and_titled(kind, context.project())))
        context.addLayerToLoadOnCompletion(path, details)


def _styled_and_titled(kind: str, project):
    style = map_styler(kind)

    def apply(layer) -> None:
        style(layer)
        title_legend(layer, project, map_title(kind))
    return apply


class PredictProspectivity(WorkerAlgorithm):
    NAME = "predict_prospectivity"
    DISPLAY = "Predict prospectivity"
    GROUP = "Modelling"
    SUMMARY = (
        "Applies a trained model to every voxel of a cube (dense, chunked prediction in the worker process) and "
        "writes a cube with three maps, each also as one single-band GeoTIFF per level named by elevation: "
        "'prospectivity' (0-1, the ensemble members' mean), 'uncertainty' (the members' standard deviation: how "
        "much models trained from other seeds disagree; for the random forest, its trees; not written for a model "
        "of one network, which has no spread) and, where the model "
        "file carries a sample of the source's evidence, 'novelty' (0-1: how unlike anything in the source the "
        "evidence at a voxel is; above 0.5 the model extrapolates). Drill where prospectivity is high and both "
        "uncertainty and novelty are low. The level rasters load into the project top level first, each map with "
        "its own fixed colour ramp; nodata voxels stay nodata. A cube whose features differ from the model's is "
        "refused. On request (WHY_HERE) it also says why here: per level, the evidence layer each voxel's "
        "prospectivity rests on most, one colour per layer, and how much the prospectivity changes without it."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("MODEL", "Model file",
                                            fileFilter="mpm3d model (*.safetensors);;All files (*)"),
                 "A model written by 'Train prospectivity model' (recognised by its content, whatever its name).")
        self.add(QgsProcessingParameterFile("CUBE", "Cube to predict", extension="nc"),
                 "Usually the target cube; it must hold the model's features in the same order.")
        for entry in PREDICTION:
            self.add_setting(entry)
        self.add(QgsProcessingParameterFileDestination("OUTPUT_CUBE", "Prospectivity cube", "NetCDF cube (*.nc)"),
                 "The prospectivity cube file.")
        self.add(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Folder for level rasters"),
                 "Receives one GeoTIFF per level and map, e.g. prospectivity_z-0450.tif, "
                 "prospectivity_uncertainty_z-0450.tif and prospectivity_novelty_z-0450.tif (each where the model has "
                 "that map; with WHY_HERE also prospectivity_dominant_evidence_z-0450.tif and "
                 "prospectivity_dominant_change_z-0450.tif), each with a .qml style beside it, so the rasters open "
                 "styled in any project.")
        self.addOutput(QgsProcessingOutputMultipleLayers("OUTPUT_LAYERS", "Prospectivity levels"))
        self.addOutput(QgsProcessingOutputMultipleLayers("UNCERTAINTY_LAYERS", "Uncertainty levels"))
        self.addOutput(QgsProcessingOutputMultipleLayers("NOVELTY_LAYERS", "Novelty levels"))
        self.addOutput(QgsProcessingOutputMultipleLayers("DOMINANT_LAYERS", "Dominant evidence levels"))
        self.addOutput(QgsProcessingOutputMultipleLayers("DOMINANT_CHANGE_LAYERS",
                                                         "Change without the dominant evidence levels"))

    def folder_outputs(self, parameters, context):
        folder = self.folder_value(parameters, "OUTPUT_FOLDER", context)
        return {"OUTPUT_FOLDER": self._level_patterns(folder, self._prefix(parameters, context)) if folder else []}

    @staticmethod
    def _level_patterns(folder: str, prefix: str) -> list[str]:
        return prediction_level_patterns(folder, prefix)

    def _prefix(self, parameters, context) -> str:
        return self.parameterAsString(parameters, "PREFIX", context) or setting("PREFIX", PREDICTION).default

    def execute(self, parameters, context, feedback):
        out_cube = self.output_file(parameters, "OUTPUT_CUBE", context)
        folder = folder_parameter_value(self, parameters, "OUTPUT_FOLDER", context)
        prefix = self._prefix(parameters, context)
        result = run_core([
            "--json-lines", "predict",
            "--model", self.parameterAsFile(parameters, "MODEL", context),
            "--cube", self.parameterAsFile(parameters, "CUBE", context),
            "--out-cube", out_cube, "--out-folder", folder,
            *self.setting_arguments(PREDICTION, parameters, context),
        ], feedback, outputs=[out_cube, *self._level_patterns(folder, prefix)], memory_hint=tr("Lower CHUNK_VOXELS."))
        outputs = {"OUTPUT_CUBE": out_cube, "OUTPUT_FOLDER": folder}
        for offset, (kind, key) in enumerate(MAP_OUTPUTS.items()):
            outputs[key] = result.get(key, [])
            unstyled = write_raster_styles(outputs[key], kind)
            if unstyled:
                feedback.pushWarning(tr("Could not write the .qml style beside {count} {kind} rasters (e.g. {path}); "
                                        "the rasters are complete and open unstyled.").format(
                    count=len(unstyled), kind=kind, path=unstyled[0]))
            if context.project() is not None and outputs[key]:
                load_level_rasters(outputs[key], prefix, context, key, kind, sort_offset=1000 * offset)
        feedback.pushInfo(tr("Wrote {count} level rasters ({kinds}) to {folder}").format(
            count=sum(len(outputs[key]) for key in MAP_OUTPUTS.values()),
            kinds=", ".join(kind for kind, key in MAP_OUTPUTS.items() if outputs[key]), folder=folder))
        return outputs
