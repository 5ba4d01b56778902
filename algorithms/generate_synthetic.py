"""Generate synthetic deposit pair: demo and test data with a realistic domain shift."""

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from ..core import jobs
from ..core.data.synthetic import HOLE_PLACEMENTS, PAIR_PROFILES
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm, folder_parameter_value
from .qgis_enums import NUMBER_DOUBLE, NUMBER_INTEGER


class GenerateSyntheticPair(Mpm3dAlgorithm):
    NAME = "generate_synthetic_pair"
    DISPLAY = "Generate synthetic deposit pair"
    GROUP = "Data"
    SUMMARY = (
        "Writes two synthetic Jiaodong-type gold deposits on a stepped (listric) main fault as depth slices: "
        "a well-drilled source deposit (Xiadian-like) and an under-explored target deposit (Dayingezhuang-like) "
        "whose fault is steeper and deeper, with other inversion calibrations, another alteration logging scale "
        "and more noise. Each deposit gets one multi-band evidence GeoTIFF and one label GeoTIFF per level "
        "(CGCS2000 / 3-degree Gauss-Kruger zone 40), elevation in the file name. Use it to try the workflow."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterNumber("LEVELS", "Depth levels", NUMBER_INTEGER,
                                              24, minValue=3, maxValue=512),
                 "Number of depth slices per deposit.")
        self.add(QgsProcessingParameterNumber("ROWS", "Rows", NUMBER_INTEGER, 64,
                                              minValue=8, maxValue=4096), "Raster rows (north-south) per slice.")
        self.add(QgsProcessingParameterNumber("COLUMNS", "Columns", NUMBER_INTEGER, 64,
                                              minValue=8, maxValue=4096), "Raster columns (east-west) per slice.")
        self.add(QgsProcessingParameterNumber("CELL_SIZE", "Cell size (m)", NUMBER_DOUBLE,
                                              25.0, minValue=0.1), "Horizontal pixel size in metres.")
        self.add(QgsProcessingParameterNumber("LEVEL_SPACING", "Level spacing (m)",
                                              NUMBER_DOUBLE, 40.0, minValue=0.1),
                 "Vertical distance between depth slices in metres.")
        self.add(QgsProcessingParameterNumber("SEED", "Random seed", NUMBER_INTEGER, 0,
                                              minValue=0), "Same seed, same deposits.", advanced=True)
        self.add(QgsProcessingParameterEnum("PAIR_PROFILE", "What differs between the deposits",
                                            [tr("As designed: geology (ore deeper in the footwall) and measurement"),
                                             tr("Measurement only: the same geology measured differently"),
                                             tr("Ore zone only: measured alike, the ore zone moved"),
                                             tr("Fault model only: the same geology, its fault layers exported "
                                                "otherwise")],
                                            defaultValue=0),
                 "As designed: the target differs as a real neighbour does, in where ore sits and in how its "
                 "evidence was measured. Measurement only: the source's geology at the target's place, measured "
                 "otherwise (alteration classes at other cut points, susceptibility in log units, density mixed "
                 "with susceptibility, a calibration drift with depth, a coarser model): the shift adaptation can "
                 "undo. Ore zone only: measured alike, only where ore sits moves: no method without target labels "
                 "can undo it. Fault model only: the source's geology, its fault model's layers (the ore's own "
                 "controls) exported otherwise: distance to the fault as a signed logarithm, the dip change of a "
                 "smoother dip. The project's benchmark of adaptation (bench/profiles) runs all four.",
                 advanced=True)
        self.add(QgsProcessingParameterNumber("TARGET_DRILL_HOLES", "Drill holes on the target",
                                              NUMBER_INTEGER, 0, minValue=0, maxValue=500),
                 "Drill this many holes on the target deposit and write their downhole samples (x, y, z, ore flag, "
                 "grade, hole) as target_drill_holes.csv in the output folder: the few-holes case of an "
                 "under-explored deposit. 'Voxelise drill-hole samples to labels' turns the table into the label "
                 "cube that training (TARGET_HOLES) and evaluation (HOLES) read. 0: no holes.")
        self.add(QgsProcessingParameterEnum("HOLE_PLACEMENT", "Where the holes are collared",
                                            ["On a coarse square grid", "At the strongest surface anomalies"],
                                            defaultValue=0),
                 "Grid: the nodes of a coarse grid over the deposit, a systematic programme. Anomalies: columns "
                 "where alteration at the top of the model is strongest, kept a grid spacing apart, as explorers "
                 "drill surface anomalies first.", advanced=True)
        self.add(QgsProcessingParameterNumber("HOLE_DIP", "Hole dip (degrees below horizontal)",
                                              NUMBER_DOUBLE, 90.0, minValue=1.0,
                                              maxValue=90.0),
                 "90: vertical holes. Inclined holes are drilled against the fault's dip, so that they cross it "
                 "steeply.", advanced=True)
        self.add(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder"),
                 "Folder that receives source/ and target/ subfolders of slices.")
        for key in ("SOURCE", "TARGET"):
            self.addOutput(QgsProcessingOutputMultipleLayers(f"{key}_EVIDENCE", f"{key.title()} evidence slices"))
            self.addOutput(QgsProcessingOutputMultipleLayers(f"{key}_LABELS", f"{key.title()} label slices"))
            self.addOutput(QgsProcessingOutputNumber(f"{key}_ORE_FRACTION", f"{key.title()} ore fraction"))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_FOLDER", "Output folder"))
        self.addOutput(QgsProcessingOutputFile("TARGET_HOLES_CSV", "Target drill-hole samples (CSV)"))
        self.addOutput(QgsProcessingOutputNumber("TARGET_HOLES", "Drill holes on the target"))

    def execute(self, parameters, context, feedback):
        shape = tuple(self.parameterAsInt(parameters, key, context) for key in ("LEVELS", "ROWS", "COLUMNS"))
        cell = self.parameterAsDouble(parameters, "CELL_SIZE", context)
        spacing = self.parameterAsDouble(parameters, "LEVEL_SPACING", context)
        folder = folder_parameter_value(self, parameters, "OUTPUT_FOLDER", context)
        outputs = jobs.generate_pair(folder, shape, (spacing, cell, cell),
                                     self.parameterAsInt(parameters, "SEED", context), self.progress(feedback),
                                     self.parameterAsInt(parameters, "TARGET_DRILL_HOLES", context),
                                     HOLE_PLACEMENTS[self.parameterAsEnum(parameters, "HOLE_PLACEMENT", context)],
                                     self.parameterAsDouble(parameters, "HOLE_DIP", context),
                                     list(PAIR_PROFILES)[self.parameterAsEnum(parameters, "PAIR_PROFILE", context)])
        for key, deposit in (("SOURCE", tr("Source")), ("TARGET", tr("Target"))):
            feedback.pushInfo(tr("{deposit}: {levels} levels, ore fraction {fraction}").format(
                deposit=deposit, levels=len(outputs[f"{key}_EVIDENCE"]),
                fraction=f"{outputs[f'{key}_ORE_FRACTION']:.2%}"))
        if "TARGET_HOLES_CSV" in outputs:
            feedback.pushInfo(tr("Target drill holes: {holes}, {ore} ore samples -> {path}").format(
                holes=outputs["TARGET_HOLES"], ore=outputs["TARGET_HOLES_ORE_SAMPLES"],
                path=outputs["TARGET_HOLES_CSV"]))
        feedback.pushInfo(tr("Pair profile: {profile}").format(profile=outputs.pop("PAIR_PROFILE")))
        outputs.pop("FEATURES")
        outputs.pop("TARGET_HOLES_ORE_SAMPLES", None)
        return outputs
