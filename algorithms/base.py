"""What every mpm3d algorithm shares: help text per parameter, error mapping, progress, styling."""

import math
import os
import tempfile
import traceback

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsRasterFileWriter,
    QgsRasterLayer,
    QgsRasterPipe,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QIcon

from ..core.atomic import check_output_path
from ..core.data.cubefile import CubeReader, use_probe_python
from ..core.data.grid import Grid
from ..core.data.slices import check_slices_exist
from ..core.errors import Mpm3dError
from ..core.paths import absolute, check_distinct, check_not_in_plugin
from ..core.settings import Setting
from ..runtime.i18n import installed_language, tr
from ..runtime.settings import PLUGIN_DIR, check_worker_python, default_device, worker_python
from .qgis_enums import FLAG_ADVANCED, NUMBER_DOUBLE, NUMBER_INTEGER, SOURCE_FILE, SOURCE_RASTER
from .styles import store_default_style, style_when_loaded


class Cancelled(Exception):
    """Raised from a progress callback when the user pressed Cancel."""


class Mpm3dAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set NAME, DISPLAY, GROUP, SUMMARY and define parameters with ``add``.

    DISPLAY, GROUP, SUMMARY, and each parameter's description, help and enum options and each output's
    description, are written in English and shown through ``tr()`` (runtime/i18n.py); NAME, the group's id and
    the parameters' names are never translated.
    """

    NAME = ""
    DISPLAY = ""
    GROUP = ""
    SUMMARY = ""

    def __init__(self):
        super().__init__()
        self._help: list[tuple[str, str]] = []

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802 - QGIS API
        return tr(self.DISPLAY)

    def group(self):
        return tr(self.GROUP)

    def groupId(self):  # noqa: N802
        return self.GROUP.lower().replace(" ", "_")

    def icon(self):
        return QIcon(os.path.join(PLUGIN_DIR, "icon.svg"))

    def createInstance(self):  # noqa: N802
        return type(self)()

    def add(self, parameter, help_text: str, advanced: bool = False):
        """Add a parameter with its help text (shown in the dialog and in the help panel).

        A whole number gets at most 2^31 - 1: beyond it QGIS's parameterAsInt silently wraps to 0.
        """
        if isinstance(parameter, QgsProcessingParameterNumber) and \
                parameter.dataType() == NUMBER_INTEGER and parameter.maximum() > 2**31 - 1:
            parameter.setMaximum(2**31 - 1)
        parameter.setDescription(tr(parameter.description()))
        if isinstance(parameter, QgsProcessingParameterEnum):
            parameter.setOptions([tr(option) for option in parameter.options()])
        help_text = tr(help_text)
        parameter.setHelp(help_text)
        if advanced:
            parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
        self._help.append((parameter.description(), help_text))
        self.addParameter(parameter)
        return parameter

    def addOutput(self, output):  # noqa: N802 - QGIS API
        output.setDescription(tr(output.description()))
        return super().addOutput(output)

    def shortHelpString(self):  # noqa: N802
        items = "".join(f"<dt><b>{name}</b></dt><dd>{text}</dd>" for name, text in self._help)
        return f"<p>{tr(self.SUMMARY)}</p><dl>{items}</dl>"

    def shortDescription(self):  # noqa: N802 - QGIS API: the toolbox's tooltip
        summary = tr(self.SUMMARY)
        if "。" in summary:  # a Chinese full stop ends the first sentence
            return summary.split("。")[0] + "。"
        return summary.split(". ")[0].rstrip(".") + "."

    def helpUrl(self):  # noqa: N802 - QGIS API: the dialog's Help button
        """The algorithm's page among the plugin's files, so that help works offline (scripts/build_help.py); in
        the interface's language where there is a page in it (help/<name>.<locale>.html)."""
        page = os.path.join(PLUGIN_DIR, "help", f"{self.NAME}.html")
        translated = os.path.join(PLUGIN_DIR, "help", f"{self.NAME}.{installed_language()}.html")
        return QUrl.fromLocalFile(translated if installed_language() and os.path.isfile(translated)
                                  else page).toString()

    def progress(self, feedback, start: float = 0.0, end: float = 100.0):
        """A core progress callback (fraction 0..1) mapped onto [start, end] %, raising on Cancel."""
        def report(fraction, message: str = ""):
            if feedback.isCanceled():
                raise Cancelled()
            if fraction is not None:
                feedback.setProgress(start + (end - start) * float(fraction))
            if message:
                feedback.setProgressText(message)
        return report

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """QGIS's own check, then what it lets through: NaN or infinite numbers (QGIS accepts ``nan``).

        Where QGIS refuses a value, say what the parameter accepts (QGIS only names it).
        """
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            for definition in self.parameterDefinitions():
                value = parameters.get(definition.name())
                if isinstance(definition, QgsProcessingParameterMultipleLayers) and isinstance(value, (list, tuple)):
                    files = [v.split("|")[0] for v in value
                             if isinstance(v, str) and os.path.splitext(v.split("|")[0])[1]]
                    try:
                        check_slices_exist(definition.name(), files)
                    except Mpm3dError as exc:
                        return False, str(exc)
                if not definition.checkValueIsAcceptable(value, context):
                    return False, tr("{accepted}; got {value}.").format(accepted=accepted_values(definition),
                                                                        value=repr(value))
            return ok, message
        for definition in self.parameterDefinitions():
            if isinstance(definition, QgsProcessingParameterNumber) and parameters.get(definition.name()) is not None:
                value = self.parameterAsDouble(parameters, definition.name(), context)
                if not math.isfinite(value):
                    return False, tr("{accepted}, not {value}.").format(accepted=accepted_values(definition),
                                                                        value=value)
        return ok, message

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        use_probe_python(worker_python())  # cube files read here are first opened in that Python (HDF5 crashes)
        try:
            self.check_paths(parameters, context)
            return self.execute(parameters, context, feedback)
        except Cancelled:
            raise QgsProcessingException(tr("Cancelled; no output was written, earlier files are as they were.")) \
                from None
        except Mpm3dError as exc:
            raise QgsProcessingException(str(exc)) from exc
        except QgsProcessingException:
            raise
        except Exception as exc:  # a clear message for the user, the traceback for a bug report
            feedback.pushDebugInfo(traceback.format_exc())
            raise QgsProcessingException(tr(
                "Unexpected failure in '{algorithm}': {error}. No output was written; please report this with the "
                "log.").format(algorithm=self.displayName(), error=f"{type(exc).__name__}: {exc}")) from exc

    def execute(self, parameters, context, feedback):
        raise NotImplementedError

    def style_output(self, context, dest_id: str, style) -> None:
        """Style an output layer when QGIS loads it and, when it is a GeoPackage, store the style in it as the
        default (after the run, once the file is closed), so that it opens styled anywhere."""
        style_when_loaded(context, dest_id, style)
        self._stored_styles = [*getattr(self, "_stored_styles", []), (dest_id, style)]

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API
        for dest_id, style in getattr(self, "_stored_styles", []):
            if store_default_style(dest_id, style) is False:
                feedback.pushWarning(tr("Could not store the layer style in {layer}; it opens unstyled "
                                        "elsewhere.").format(layer=dest_id))
        return {}

    # Paths: every one made absolute here, against the project's folder or else the working directory,
    # before anything is read or written (the worker runs elsewhere; a relative path once wrote into
    # the plugin's own folder).

    @staticmethod
    def base_folder(context) -> str:
        project = context.project()
        home = project.homePath() if project is not None else ""
        return home if home and os.path.isdir(home) else os.getcwd()

    def parameterAsFile(self, parameters, name, context):  # noqa: N802 - QGIS API
        path = super().parameterAsFile(parameters, name, context)
        return absolute(path, self.base_folder(context)) if path else path

    def parameterAsFileOutput(self, parameters, name, context):  # noqa: N802 - QGIS API
        path = super().parameterAsFileOutput(parameters, name, context)
        return absolute(path, self.base_folder(context)) if path else path

    def file_list(self, parameters, name, context) -> list[str]:
        """The files of a multiple-file parameter made absolute, never opened as layers (QGIS would open a
        cube file in its own process as a mesh)."""
        folder = self.base_folder(context)
        return [absolute(path, folder) for path in self.parameterAsFileList(parameters, name, context)]

    def folder_value(self, parameters, name, context) -> str | None:
        """An output folder made absolute; None for a temporary one (made only when used)."""
        folder = self.parameterAsString(parameters, name, context)
        if not folder or folder == QgsProcessing.TEMPORARY_OUTPUT:
            return None
        return absolute(folder, self.base_folder(context))

    def folder_outputs(self, parameters, context) -> dict[str, list[str]]:
        """The files a run writes into its output folders, as globs by parameter; overridden where it writes any."""
        return {}

    def check_paths(self, parameters, context) -> None:
        """Before any work: no output may be one of the inputs (by path or link), nor two outputs one file,
        nor an output among the plugin's own files."""
        inputs, outputs = {}, dict(self.folder_outputs(parameters, context))
        for definition in self.parameterDefinitions():
            name = definition.name()
            if isinstance(definition, QgsProcessingParameterFileDestination):
                outputs[name] = [self.parameterAsFileOutput(parameters, name, context)]
            elif isinstance(definition, QgsProcessingParameterFeatureSink):
                path = self._sink_path(parameters, name, context)
                if path:
                    check_not_in_plugin(path)
                    outputs[name] = [path]
            elif isinstance(definition, QgsProcessingParameterFile):
                inputs[name] = [self.parameterAsFile(parameters, name, context)]
            elif isinstance(definition, QgsProcessingParameterMultipleLayers) and \
                    definition.layerType() == SOURCE_FILE:
                inputs[name] = self.file_list(parameters, name, context)
            elif isinstance(definition, QgsProcessingParameterMultipleLayers):
                inputs[name] = [_layer_path(layer) for layer in self.parameterAsLayerList(parameters, name, context)]
            elif isinstance(definition, (QgsProcessingParameterRasterLayer, QgsProcessingParameterVectorLayer,
                                         QgsProcessingParameterMapLayer, QgsProcessingParameterFeatureSource)):
                layer = self.parameterAsLayer(parameters, name, context)
                inputs[name] = [_layer_path(layer)] if layer is not None else []
        check_distinct(inputs, outputs)

    def _sink_path(self, parameters, name, context) -> str:
        value = parameters.get(name)
        if value is None or value == QgsProcessing.TEMPORARY_OUTPUT:
            return ""
        path = self.parameterAsOutputLayer(parameters, name, context).split("|")[0]
        if not path or path.startswith(("memory:", "ogr:", "postgres:")) or path == QgsProcessing.TEMPORARY_OUTPUT:
            return ""
        return absolute(path, self.base_folder(context))

    @staticmethod
    def layer_file(layer, feedback, parameter: str = "") -> str:
        """A file GDAL can read for a raster layer; a layer that is not file-backed is written to a temp GeoTIFF."""
        if not isinstance(layer, QgsRasterLayer) or not layer.isValid():
            source = layer.source().split("|")[0]
            what = tr("a cube file") if source.lower().endswith(".nc") else tr("not a raster layer")
            raise Mpm3dError(tr("{parameter}: {source} is {what}; give depth-slice rasters (e.g. GeoTIFF, one per "
                                "level). A cube file (.nc) goes into a cube parameter, or back to slices with "
                                "'Export cube to depth slices'.").format(parameter=parameter, source=source, what=what))
        path = layer.source().split("|")[0]
        if layer.providerType() == "gdal" and os.path.isfile(path):
            return os.path.abspath(path)
        target = os.path.join(tempfile.mkdtemp(prefix="mpm3d_"), f"{layer.name()}.tif")
        feedback.pushInfo(tr("Layer {layer} is not a file; writing it to {target}").format(layer=layer.name(),
                                                                                            target=target))
        writer = QgsRasterFileWriter(target)
        pipe = QgsRasterPipe()
        pipe.set(layer.dataProvider().clone())
        if writer.writeRaster(pipe, layer.width(), layer.height(), layer.extent(), layer.crs()) != 0:
            raise QgsProcessingException(tr("Could not write layer {layer} to a temporary GeoTIFF.").format(
                layer=layer.name()))
        return target

    def layer_files(self, parameters, name, context, feedback) -> list[str]:
        layers = self.parameterAsLayerList(parameters, name, context)
        return [self.layer_file(layer, feedback, name) for layer in layers]

    def add_label_parameters(self) -> None:
        """LABEL_CUBE or LABEL_SLICES: the known labels that score predictions, the same wherever predictions are
        scored."""
        self.add(QgsProcessingParameterFile("LABEL_CUBE", "Cube with labels (optional)", extension="nc",
                                            optional=True),
                 "A cube on the same grid with a label variable, e.g. the target cube stacked with its labels.")
        self.add(QgsProcessingParameterMultipleLayers("LABEL_SLICES", "Label slices (optional)",
                                                      SOURCE_RASTER, optional=True),
                 "Alternatively, label rasters (1 ore, 0 barren, nodata unknown) named by elevation.")

    def labels_given(self, parameters, context, feedback) -> tuple[str | None, list[str]]:
        """(label cube or None, label slice files) as the core's scoring jobs take them."""
        label_cube = self.parameterAsFile(parameters, "LABEL_CUBE", context) or None
        return label_cube, self.layer_files(parameters, "LABEL_SLICES", context, feedback)

    def output_file(self, parameters, name, context) -> str:
        """A file destination, checked before any work so that an unwritable path is named at once."""
        path = self.parameterAsFileOutput(parameters, name, context)
        if path:
            checked_output(name, path)
        return path


def checked_output(name: str, path: str, is_folder: bool = False) -> None:
    """core's check of an output path, its message led by the parameter the user must change."""
    try:
        check_output_path(path, is_folder)
    except Mpm3dError as exc:
        raise Mpm3dError(f"{name}: {exc}") from exc


def accepted_values(definition) -> str:
    """What a parameter accepts, in words, for the message of a rejected value."""
    named = {"name": definition.name(), "description": definition.description()}
    if isinstance(definition, QgsProcessingParameterNumber):
        kind = tr("a whole number") if definition.dataType() == NUMBER_INTEGER else tr("a number")
        low, high = definition.minimum(), definition.maximum()
        if high < 1e300:
            return tr("{name} ({description}) must be {kind} from {low} to {high}").format(
                kind=kind, low=f"{low:g}", high=f"{high:g}", **named)
        if low > -1e300:
            return tr("{name} ({description}) must be {kind} of at least {low}").format(kind=kind, low=f"{low:g}",
                                                                                      **named)
        return tr("{name} ({description}) must be {kind}").format(kind=kind, **named)
    if isinstance(definition, QgsProcessingParameterFile) and definition.extension():
        return tr("{name} ({description}) must be a .{extension} file").format(extension=definition.extension(),
                                                                               **named)
    if isinstance(definition, QgsProcessingParameterEnum):
        options = ", ".join(f"{i} = {option}" for i, option in enumerate(definition.options()))
        return tr("{name} ({description}) must be one of {options}").format(options=options, **named)
    return tr("{name} ({description}): {help}").format(help=definition.help() or tr("see the help"), **named)


class WorkerAlgorithm(Mpm3dAlgorithm):
    """An algorithm whose compute runs in the torch worker: it needs the worker Python and a device choice."""

    def canExecute(self):  # noqa: N802 - QGIS API
        problem = check_worker_python()
        return (not problem, problem)

    def add_setting(self, entry: Setting) -> None:
        """The QGIS parameter of one core setting (core/settings.py); DEVICE defaults to the provider's device."""
        default = default_device() if entry.name == "DEVICE" else None
        self.add(settings_parameter(entry, default), entry.help, entry.advanced)

    def setting_arguments(self, table: tuple[Setting, ...], parameters, context) -> list:
        """The core command line's options for the table's settings, from the dialog's values."""
        arguments = []
        for entry in (entry for entry in table if entry.in_qgis):
            if entry.kind == "bool":
                arguments += [entry.option] if self.parameterAsBoolean(parameters, entry.name, context) else []
                continue
            if entry.kind == "choice":
                value = entry.choices[self.parameterAsEnum(parameters, entry.name, context)]
            elif entry.kind == "int":  # read as a number: parameterAsInt would round 2.5 to another count unseen
                value = self.parameterAsDouble(parameters, entry.name, context)
                problem = entry.problem(value)
                if problem:
                    raise Mpm3dError(problem)
                value = int(value)
            elif entry.kind == "float":
                value = self.parameterAsDouble(parameters, entry.name, context)
            else:  # an empty text is the default
                value = self.parameterAsString(parameters, entry.name, context) or entry.default
            arguments += [entry.option, value]
        return arguments


def settings_parameter(entry: Setting, default=None) -> QgsProcessingParameterDefinition:
    """The QGIS parameter of a core setting, with its name, label, bounds and default (``default`` instead, when
    given): the dialog, the command line and TrainConfig therefore agree."""
    value = entry.default if default is None else default
    if entry.kind == "choice":
        return QgsProcessingParameterEnum(entry.name, entry.description, [entry.labels[c] for c in entry.choices],
                                          defaultValue=entry.choices.index(value))
    if entry.kind == "bool":
        return QgsProcessingParameterBoolean(entry.name, entry.description, defaultValue=value)
    if entry.kind == "str":
        return QgsProcessingParameterString(entry.name, entry.description, value)
    kind = NUMBER_INTEGER if entry.kind == "int" else NUMBER_DOUBLE
    bounds = {key: bound for key, bound in (("minValue", entry.minimum), ("maxValue", entry.maximum))
              if bound is not None}
    return QgsProcessingParameterNumber(entry.name, entry.description, kind, value, **bounds)


def _layer_path(layer) -> str:
    return os.path.abspath(layer.source().split("|")[0])


def folder_parameter_value(algorithm, parameters, name, context) -> str:
    """A folder destination, checked but not made yet (QgsProcessing.TEMPORARY_OUTPUT gives a temp folder)."""
    folder = algorithm.folder_value(parameters, name, context)
    if folder is None:
        return tempfile.mkdtemp(prefix="mpm3d_")
    checked_output(name, folder, is_folder=True)  # the writers make it, so a failed run leaves none behind
    return folder


def cube_crs(grid: Grid, parameter: str) -> QgsCoordinateReferenceSystem:
    """The cube's CRS as QGIS sees it; one QGIS cannot read is reported against the parameter."""
    crs = QgsCoordinateReferenceSystem.fromWkt(grid.crs)
    if not crs.isValid():
        raise Mpm3dError(tr("{parameter}: QGIS does not understand the CRS of the cube ({crs}...).").format(
            parameter=parameter, crs=grid.crs[:80]))
    return crs


def read_prospectivity_cube(algorithm, parameters, context) -> CubeReader:
    """The PROSPECTIVITY cube, refused early when it holds no prospectivity."""
    reader = CubeReader(algorithm.parameterAsFile(parameters, "PROSPECTIVITY", context), "PROSPECTIVITY")
    if not reader.has("prospectivity"):
        raise Mpm3dError(tr("PROSPECTIVITY: {path} has no 'prospectivity' variable; give a cube written by "
                            "'Predict prospectivity'.").format(path=reader.path))
    return reader
