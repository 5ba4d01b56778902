"""Stack depth slices into cube: evidence rasters (and labels) to one NetCDF cube file."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
)

from ..core import jobs
from ..core.data.slices import parse_units
from ..core.errors import Mpm3dError
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm
from .qgis_enums import SOURCE_RASTER


class StackSlices(Mpm3dAlgorithm):
    NAME = "stack_slices"
    DISPLAY = "Stack depth slices into cube"
    GROUP = "Data"
    SUMMARY = (
        "Stacks one multi-band evidence raster per elevation level into a 3D cube file (NetCDF-4/CF, "
        "readable by GDAL, xarray and ParaView). Every slice must share the CRS, geotransform, size and band "
        "names; a mismatch stops with a message naming the slice and what differs. Levels are sorted top down; "
        "nodata is kept as a mask. Each feature keeps its units (from the bands' metadata, or UNITS)."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterMultipleLayers("EVIDENCE", "Evidence slices (one raster per level)",
                                                      SOURCE_RASTER),
                 "Multi-band rasters, one per depth level; band descriptions name the evidence features.")
        self.add(QgsProcessingParameterMultipleLayers("LABELS", "Label slices (optional, same order)",
                                                      SOURCE_RASTER, optional=True),
                 "Single-band rasters on the same grid, one per level in the order of the evidence slices: "
                 "1 ore, 0 barren, nodata unknown.")
        self.add(QgsProcessingParameterString("ELEVATIONS", "Elevations (m, comma separated, optional)",
                                              optional=True),
                 "One elevation per evidence slice in the same order, metres, positive up. Empty: the last "
                 "signed number in each file name (evidence_z-0450.tif gives -450).")
        self.add(QgsProcessingParameterString("UNITS", "Units of the bands (optional)", optional=True),
                 "band=unit pairs separated by commas, in UDUNITS notation, e.g. fault_distance=m, density=g/cm3, "
                 "fault_dip=degree, alteration=1 (1: dimensionless). Written into the cube for every reader. "
                 "Empty: the units the bands' own metadata gives (GDAL unit type), where it gives any; a band "
                 "named here takes these units instead.")
        self.add(QgsProcessingParameterFileDestination("OUTPUT", "Cube file", "NetCDF cube (*.nc)"),
                 "The cube file to write.")
        self.addOutput(QgsProcessingOutputNumber("LEVELS", "Number of levels"))
        self.addOutput(QgsProcessingOutputString("FEATURES", "Feature names"))

    def execute(self, parameters, context, feedback):
        evidence = self.layer_files(parameters, "EVIDENCE", context, feedback)
        labels = self.layer_files(parameters, "LABELS", context, feedback) or None
        text = self.parameterAsString(parameters, "ELEVATIONS", context).strip()
        try:
            elevations = [float(v) for v in text.replace(";", ",").split(",") if v.strip()] if text else None
        except ValueError as exc:
            raise Mpm3dError(tr("ELEVATIONS must be numbers of metres separated by commas (one per EVIDENCE "
                                "slice), got '{text}'").format(text=text)) from exc
        units = parse_units(self.parameterAsString(parameters, "UNITS", context))
        output = self.output_file(parameters, "OUTPUT", context)
        result = jobs.stack(evidence, output, labels, elevations, self.progress(feedback), units)
        for warning in result["WARNINGS"]:
            feedback.pushWarning(warning)
        feedback.pushInfo(f"{result['LEVELS']} levels from {result['ELEVATIONS'][0]:g} to "
                          f"{result['ELEVATIONS'][-1]:g} m, features: "
                          + ", ".join(f"{name} ({result['UNITS'].get(name, 'units unknown')})"
                                      for name in result["FEATURES"]))
        return {"OUTPUT": output, "LEVELS": result["LEVELS"], "FEATURES": ",".join(result["FEATURES"])}
