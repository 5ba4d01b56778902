"""Import block model: a block-model CSV, VTK grid, OMF or geoh5 file -> the cube file Stack slices writes."""

import os

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..runtime.i18n import tr
from ..runtime.worker import run_core
from .base import Mpm3dAlgorithm
from .qgis_enums import NUMBER_DOUBLE

DELIMITERS = ("", ",", ";", "tab", "space", "|")
TEXT_OPTIONS = (("X_FIELD", "--x-field"), ("Y_FIELD", "--y-field"), ("Z_FIELD", "--z-field"),
                ("SIZE_FIELDS", "--size-fields"), ("BLOCK_SIZE", "--block-size"), ("EVIDENCE", "--evidence"),
                ("EXCLUDE", "--exclude"), ("LABEL", "--label"), ("CLASS_FIELDS", "--classes"),
                ("NODATA", "--nodata"))


class ImportBlockModel(Mpm3dAlgorithm):
    NAME = "import_block_model"
    DISPLAY = "Import block model"
    GROUP = "Data"
    SUMMARY = (
        "Reads a block model from 3D geological modelling software into the cube file that 'Stack depth slices "
        "into cube' writes: a CSV of block centres with one column per attribute, a VTK image or rectilinear grid "
        "(.vti, .vtr), an OMF file or a geoh5 workspace. Every block becomes a voxel, missing blocks nodata; "
        "sub-blocks are regularised onto the parent grid (volume-weighted mean, majority by volume for class "
        "attributes). A model rotated by a multiple of 90 degrees is read exactly, any other rotation refused. "
        "Large CSV files are read in chunks, in bounded memory."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFile(
            "INPUT", "Block model", fileFilter="Block models (*.csv *.txt *.dat *.vti *.vtr *.omf *.geoh5)"),
            "CSV / TXT of block centres (delimiter, header and comment lines detected; numbers with a decimal "
            "point), VTK .vti / .vtr with the blocks as cell data, OMF (a volume element) or geoh5 (a block model).")
        self.add(QgsProcessingParameterCrs("CRS", "CRS of the coordinates", optional=True),
                 "The coordinate reference system the block centres are in: block models do not carry one.")
        self.add(QgsProcessingParameterBoolean("LOCAL_GRID", "No CRS: local grid coordinates", defaultValue=False),
                 "Keep the model's own local coordinates, with no CRS (the cube cannot then be placed on a map).")
        self.add(QgsProcessingParameterString("EVIDENCE", "Evidence columns (optional)", optional=True),
                 "Column names separated by commas. Empty: every numeric column but the coordinates, sizes, label "
                 "and the excluded ones.")
        self.add(QgsProcessingParameterString("EXCLUDE", "Columns that are not evidence (optional)", optional=True),
                 "Numeric columns to leave out when EVIDENCE is empty (block index, density used for tonnage...).")
        self.add(QgsProcessingParameterString("LABEL", "Label column (optional)", optional=True),
                 "Written as the cube's labels: a 0/1 ore flag, or a grade turned into one with CUTOFF. Empty or "
                 "nodata values are unknown.")
        self.add(QgsProcessingParameterNumber("CUTOFF", "Grade cut-off (optional)",
                                              NUMBER_DOUBLE, optional=True),
                 "With a grade in LABEL: ore where the grade >= CUTOFF, barren below.")
        self.add(QgsProcessingParameterString("NODATA", "Nodata values (optional)", optional=True),
                 "Values that mean no data, separated by commas (e.g. -99, -999). Empty fields, nan and values "
                 "beyond 1e30 are always nodata.")
        self.add(QgsProcessingParameterBoolean("Z_IS_DEPTH", "z is depth below a datum", defaultValue=False),
                 "The file's z is depth in metres below DATUM, positive down; the cube stores elevation, positive up.")
        self.add(QgsProcessingParameterNumber("DATUM", "Datum elevation (m)", NUMBER_DOUBLE,
                                              0.0),
                 "The elevation of depth 0 when z is depth.")
        for name, label, text in (
                ("X_FIELD", "x column (optional)", "Block centre x. Empty: a usual name (X, XC, XCENTRE, EAST ...)."),
                ("Y_FIELD", "y column (optional)", "Block centre y. Empty: a usual name (Y, YC, NORTH ...)."),
                ("Z_FIELD", "z column (optional)", "Block centre z. Empty: a usual name (Z, ZC, RL, ELEVATION ...)."),
                ("SIZE_FIELDS", "Size columns (optional)",
                 "dx,dy,dz columns of a sub-blocked model. Empty: DX/DY/DZ, XINC/YINC/ZINC ... where present."),
                ("BLOCK_SIZE", "Block size dx,dy,dz (optional)",
                 "Metres. Empty: inferred from the centres (the largest block of a sub-blocked model is the "
                 "parent block)."),
                ("CLASS_FIELDS", "Class columns (optional)",
                 "Columns of class codes (lithology, domain): sub-blocks are merged by the class with most volume, "
                 "not by the mean.")):
            self.add(QgsProcessingParameterString(name, label, optional=True), text, advanced=True)
        for name, label in (("AZIMUTH", "Model azimuth (degrees)"), ("DIP", "Model dip (degrees)"),
                            ("PLUNGE", "Model plunge (degrees)")):
            self.add(QgsProcessingParameterNumber(name, label, NUMBER_DOUBLE, 0.0),
                     "The block model's rotation, as the modelling software gives it. A multiple of 90 degrees "
                     "about the vertical is read exactly; any other rotation is refused with what to do.",
                     advanced=True)
        self.add(QgsProcessingParameterEnum("DELIMITER", "CSV delimiter",
                                            ["Detect", "Comma", "Semicolon", "Tab", "Space", "Pipe (|)"],
                                            defaultValue=0),
                 "The character between the fields of a CSV; Detect finds it from the first lines.", advanced=True)
        self.add(QgsProcessingParameterFileDestination("OUTPUT", "Cube file", "NetCDF cube (*.nc)"),
                 "The cube file to write.")
        self.addOutput(QgsProcessingOutputNumber("LEVELS", "Number of levels"))
        self.addOutput(QgsProcessingOutputNumber("BLOCKS", "Blocks read"))
        self.addOutput(QgsProcessingOutputNumber("MERGED", "Sub-blocks merged"))
        self.addOutput(QgsProcessingOutputString("FEATURES", "Feature names"))

    def execute(self, parameters, context, feedback):
        output = self.output_file(parameters, "OUTPUT", context)
        arguments = ["--json-lines", "import-blocks", "--input",
                     os.path.abspath(self.parameterAsFile(parameters, "INPUT", context)), "--out", output]
        crs = self.parameterAsCrs(parameters, "CRS", context)
        if crs.isValid():
            arguments += ["--crs", crs.authid() or crs.toWkt()]
        for name, option in TEXT_OPTIONS:
            text = self.parameterAsString(parameters, name, context).strip()
            if text:
                arguments += [option, text]
        for name, option in (("LOCAL_GRID", "--local-grid"), ("Z_IS_DEPTH", "--z-depth")):
            if self.parameterAsBoolean(parameters, name, context):
                arguments.append(option)
        if parameters.get("CUTOFF") not in (None, ""):
            arguments += ["--cutoff", self.parameterAsDouble(parameters, "CUTOFF", context)]
        for name in ("DATUM", "AZIMUTH", "DIP", "PLUNGE"):
            arguments += [f"--{name.lower()}", self.parameterAsDouble(parameters, name, context)]
        delimiter = DELIMITERS[self.parameterAsEnum(parameters, "DELIMITER", context)]
        if delimiter:
            arguments += ["--delimiter", delimiter]
        result = run_core(arguments, feedback, outputs=[output])
        feedback.pushInfo(tr("{blocks} blocks, {levels} levels of {rows} x {columns}; features: {features}").format(
            blocks=result["BLOCKS"], levels=result["SHAPE"][0], rows=result["SHAPE"][1], columns=result["SHAPE"][2],
            features=", ".join(result["FEATURES"])))
        if result["MERGED"]:
            feedback.pushInfo(tr("{merged} sub-blocks merged onto the parent grid; largest size ratio (parent block "
                                 "to the smallest sub-block, by volume) {ratio}").format(
                merged=result["MERGED"], ratio=f"{result['SIZE_RATIO']:g}"))
        return {"OUTPUT": output, "LEVELS": result["LEVELS"], "BLOCKS": result["BLOCKS"], "MERGED": result["MERGED"],
                "FEATURES": ",".join(result["FEATURES"])}
