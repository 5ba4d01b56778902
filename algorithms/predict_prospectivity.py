"""Predict prospectivity: dense prediction in the worker, level rasters loaded and styled in the project."""

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..core.slices import elevation_from_name, level_files
from ..provider.worker import run_core
from .base import WorkerAlgorithm, folder_parameter_value, style_on_load, style_prospectivity_layer


def load_level_rasters(paths, group: str, context, output_name: str) -> None:
    """Queue the level rasters for loading, top level on top, styled with the shared 0-1 ramp.

    Where QGIS has LayerDetails.groupName (3.32+) they go into one group; elsewhere they load
    ungrouped, added bottom level first so the top level ends on top of the layer tree.
    """
    ordered = sorted(paths, key=elevation_from_name)  # deepest first
    grouped = hasattr(QgsProcessingContext.LayerDetails, "groupName")
    for sort_key, path in enumerate(reversed(ordered) if grouped else ordered):
        name = f"{group} z {elevation_from_name(path):g} m"
        details = QgsProcessingContext.LayerDetails(name, context.project(), output_name)
        if grouped:
            details.groupName = group
            details.layerSortKey = sort_key
        details.setPostProcessor(style_on_load(style_prospectivity_layer))
        context.addLayerToLoadOnCompletion(path, details)


class PredictProspectivity(WorkerAlgorithm):
    NAME = "predict_prospectivity"
    DISPLAY = "Predict prospectivity"
    GROUP = "Modelling"
    SUMMARY = (
        "Applies a trained model to every voxel of a cube (dense, chunked prediction in the worker process) and "
        "writes a prospectivity cube (variable 'prospectivity', 0-1) plus one single-band GeoTIFF per level named "
        "by elevation. The level rasters load into the project top level first, with one shared 0-1 colour ramp; "
        "nodata voxels stay nodata. A cube whose features differ from the model's is refused."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile("MODEL", "Model file",
                                            fileFilter="mpm3d model (*.safetensors);;All files (*)"),
                 "A model written by 'Train prospectivity model' (recognised by its content, whatever its name).")
        self.add(QgsProcessingParameterFile("CUBE", "Cube to predict", extension="nc"),
                 "Usually the target cube; it must hold the model's features in the same order.")
        self.add(QgsProcessingParameterString("PREFIX", "Layer and file name prefix", "prospectivity"),
                 "Start of the level raster names; also the name of the layer group.")
        self.add_device_parameter()
        self.add(QgsProcessingParameterNumber("CHUNK_VOXELS", "Voxels per chunk (0 = automatic)",
                                              QgsProcessingParameterNumber.Integer, 0, minValue=0),
                 "Output voxels computed in one pass; bounds memory. 0: 1 million on the CPU, 8 million on CUDA. "
                 "Lower it when memory runs out.", advanced=True)
        self.add(QgsProcessingParameterFileDestination("OUTPUT_CUBE", "Prospectivity cube", "NetCDF cube (*.nc)"),
                 "The prospectivity cube file.")
        self.add(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Folder for level rasters"),
                 "Receives one GeoTIFF per level, e.g. prospectivity_z-0450.tif.")
        self.addOutput(QgsProcessingOutputMultipleLayers("OUTPUT_LAYERS", "Prospectivity levels"))

    def folder_outputs(self, parameters, context):
        folder = self.folder_value(parameters, "OUTPUT_FOLDER", context)
        return {"OUTPUT_FOLDER": [level_files(folder, self._prefix(parameters, context))] if folder else []}

    def _prefix(self, parameters, context) -> str:
        return self.parameterAsString(parameters, "PREFIX", context) or "prospectivity"

    def execute(self, parameters, context, feedback):
        out_cube = self.output_file(parameters, "OUTPUT_CUBE", context)
        folder = folder_parameter_value(self, parameters, "OUTPUT_FOLDER", context)
        prefix = self._prefix(parameters, context)
        result = run_core([
            "--json-lines", "predict",
            "--model", self.parameterAsFile(parameters, "MODEL", context),
            "--cube", self.parameterAsFile(parameters, "CUBE", context),
            "--out-cube", out_cube, "--out-folder", folder, "--prefix", prefix,
            "--device", self.device_argument(parameters, context),
            "--chunk-voxels", self.parameterAsInt(parameters, "CHUNK_VOXELS", context),
        ], feedback, outputs=[out_cube, level_files(folder, prefix)], memory_hint="Lower CHUNK_VOXELS.")
        if not result:
            return {}
        layers = result["OUTPUT_LAYERS"]
        if context.project() is not None:
            load_level_rasters(layers, prefix, context, "OUTPUT_LAYERS")
        feedback.pushInfo(f"Wrote {len(layers)} level rasters to {folder}")
        return {"OUTPUT_CUBE": out_cube, "OUTPUT_FOLDER": folder, "OUTPUT_LAYERS": layers}
