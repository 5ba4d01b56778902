"""Voxelise drill-hole samples to labels: 3D points or an x, y, z table onto a cube's grid as its label."""

import math
import os

import numpy as np
from qgis.core import (
    NULL,
    QgsCoordinateTransform,
    QgsCsException,
    QgsFeatureRequest,
    QgsPointXY,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProviderRegistry,
    QgsWkbTypes,
)

from ..core.data.cubefile import CubeReader, write_cube
from ..core.data.voxelise import RULES, repeated_columns, voxelise_samples
from ..core.errors import Mpm3dError
from ..runtime.i18n import tr
from .base import Mpm3dAlgorithm, cube_crs
from .qgis_enums import (
    FIELD_NUMERIC,
    GEOMETRY_NULL,
    GEOMETRY_POINT,
    NO_GEOMETRY,
    NUMBER_DOUBLE,
    SOURCE_POINTS,
    SOURCE_VECTOR,
)

RULE_NAMES = ["Any ore sample makes the voxel ore", "Majority of the samples (a tie counts as ore)",
              "Mean grade at or above the cut-off"]

# numeric outputs: (output name, key in the core's counts, description)
COUNTS = [("SAMPLES", "n_samples", "Samples read"),
          ("USED", "n_used", "Samples used"),
          ("OUTSIDE", "n_outside", "Samples outside the grid"),
          ("MISSING_Z", "n_missing_z", "Samples without Z"),
          ("MISSING_XY", "n_missing_xy", "Samples without x, y (or not reprojectable)"),
          ("MISSING_VALUE", "n_missing_value", "Samples without ore flag or grade"),
          ("ORE_VOXELS", "n_ore_voxels", "Ore voxels"),
          ("BARREN_VOXELS", "n_barren_voxels", "Barren voxels")]


def number(value, parameter: str, field: str, feature_id: int) -> float:
    """A field value as a float; NULL and empty text are NaN (a missing value), other text is an error that
    names the parameter, the field and the feature."""
    try:
        return float(value)
    except (TypeError, ValueError):
        if value is None or value == NULL or (isinstance(value, str) and not value.strip()):
            return math.nan
        raise Mpm3dError(tr("{parameter} {field}: the feature with id {feature} holds {value}, which is not a number; "
                            "correct it, or leave it empty where the value is unknown.").format(
            parameter=parameter, field=field, feature=feature_id, value=repr(value))) from None


class VoxeliseSamples(Mpm3dAlgorithm):
    NAME = "voxelise_samples"
    DISPLAY = "Voxelise drill-hole samples to labels"
    GROUP = "Data"
    SUMMARY = (
        "Turns drill-hole samples (a 3D point layer, or a table with x, y, z fields) into the ore label of a "
        "cube: 1 where an ore sample falls in a voxel, 0 where only barren samples do, unknown (-1) where none. "
        "Samples are ore by an ore flag (1/0) or by a grade at or above a cut-off. Points in another CRS are "
        "reprojected to the cube's CRS (Z is kept: elevations in metres, positive up). Writes a copy of the cube "
        "with the new label and reports how many samples fell outside the grid or had no Z."
    )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS API
        self.add(QgsProcessingParameterFeatureSource("INPUT", "Samples",
                                                     [SOURCE_POINTS, SOURCE_VECTOR]),
                 "A point layer, best with Z values (PointZ), or a table without geometry with x, y, z fields; "
                 "one feature per sample (e.g. the centre of an assay interval).")
        for name, axis in (("X_FIELD", "x"), ("Y_FIELD", "y")):
            self.add(QgsProcessingParameterField(name, f"{axis.upper()} field (tables only)",
                                                 parentLayerParameterName="INPUT",
                                                 type=FIELD_NUMERIC, optional=True),
                     f"The {axis} coordinate of a table without geometry; a point layer uses its geometry.")
        self.add(QgsProcessingParameterField("Z_FIELD", "Z field (elevation, m)", parentLayerParameterName="INPUT",
                                             type=FIELD_NUMERIC, optional=True),
                 "Sample elevation in metres, positive up, for a layer without Z geometry; a PointZ layer uses its "
                 "Z. Without Z, samples are counted as missing Z and not used.")
        self.add(QgsProcessingParameterCrs("SAMPLE_CRS", "CRS of the samples (only if the layer has none)",
                                           optional=True),
                 "The CRS of the coordinates of a table without geometry (a table has no CRS of its own). Ignored "
                 "for a layer with a CRS.")
        self.add(QgsProcessingParameterField("ORE_FIELD", "Ore flag field", parentLayerParameterName="INPUT",
                                             optional=True),
                 "1 for an ore sample, 0 for a barren one, empty if unknown. Give this or a grade field.")
        self.add(QgsProcessingParameterField("GRADE_FIELD", "Grade field", parentLayerParameterName="INPUT",
                                             type=FIELD_NUMERIC, optional=True),
                 "Assay grade; a sample at or above the cut-off is ore. Give this or an ore flag field.")
        self.add(QgsProcessingParameterNumber("CUTOFF", "Cut-off grade", NUMBER_DOUBLE,
                                              optional=True),
                 "Grade at which a sample counts as ore, in the units of the grade field (e.g. 1 g/t Au).")
        self.add(QgsProcessingParameterEnum("RULE", "Voxel with ore and barren samples", RULE_NAMES, defaultValue=0),
                 "Any: one ore sample makes the voxel ore (a hole that cut ore). Majority: more ore than barren "
                 "samples. Mean grade: the mean grade of the voxel's samples at or above the cut-off (grades only).")
        self.add(QgsProcessingParameterFile("CUBE", "Cube (grid of the labels)", extension="nc"),
                 "The cube whose grid the labels go on, e.g. a cube from 'Stack depth slices into cube'.")
        self.add(QgsProcessingParameterFileDestination("OUTPUT", "Cube with labels", "NetCDF cube (*.nc)"),
                 "A copy of the cube (features and any prospectivity) with the new label variable.")
        for name, _, description in COUNTS:
            self.addOutput(QgsProcessingOutputNumber(name, description))
        self.addOutput(QgsProcessingOutputString("CRS", "CRS the samples were read in"))

    def execute(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, "INPUT", context)
        if source is None:
            raise Mpm3dError(tr("INPUT: {layer} is not a readable layer.").format(layer=parameters.get("INPUT")))
        has_geometry = QgsWkbTypes.geometryType(source.wkbType()) != GEOMETRY_NULL
        if has_geometry and QgsWkbTypes.geometryType(source.wkbType()) != GEOMETRY_POINT:
            raise Mpm3dError(tr("INPUT: {layer} holds lines or polygons; give points or a table.").format(
                layer=source.sourceName()))
        fields = {name: self.parameterAsString(parameters, name, context)
                  for name in ("X_FIELD", "Y_FIELD", "Z_FIELD", "ORE_FIELD", "GRADE_FIELD")}
        rule = RULES[self.parameterAsEnum(parameters, "RULE", context)]
        cutoff = None if parameters.get("CUTOFF") is None else self.parameterAsDouble(parameters, "CUTOFF", context)
        value_field = self._value_field(fields, cutoff, rule)
        self._check_fields(source, fields, self.parameterAsVectorLayer(parameters, "INPUT", context))
        if not has_geometry and not (fields["X_FIELD"] and fields["Y_FIELD"]):
            raise Mpm3dError(tr("INPUT: {layer} has no geometry; give X_FIELD and Y_FIELD.").format(
                layer=source.sourceName()))
        z_from_geometry = QgsWkbTypes.hasZ(source.wkbType())
        if z_from_geometry and fields["Z_FIELD"]:
            feedback.pushInfo(tr("Z comes from the PointZ geometry; Z_FIELD {field} is not used.").format(
                field=fields["Z_FIELD"]))
            fields["Z_FIELD"] = ""
        if not z_from_geometry and not fields["Z_FIELD"]:
            feedback.pushWarning(tr("The samples have no Z geometry and no Z_FIELD was given: every sample counts "
                                    "as missing Z."))

        reader = CubeReader(self.parameterAsFile(parameters, "CUBE", context), "CUBE")
        target_crs = cube_crs(reader.grid, "CUBE")
        source_crs = source.sourceCrs()
        if not source_crs.isValid():
            source_crs = self.parameterAsCrs(parameters, "SAMPLE_CRS", context)
        if not source_crs.isValid():
            raise Mpm3dError(tr("INPUT: {layer} has no CRS; set the layer's CRS, or give SAMPLE_CRS for the "
                                "coordinates of a table.").format(layer=source.sourceName()))
        transform = None
        if source_crs != target_crs:
            transform = QgsCoordinateTransform(source_crs, target_crs, context.transformContext())
        read_in = source_crs.authid() or source_crs.description()
        feedback.pushInfo(
            tr("Reading the samples in {crs}, reprojected to the cube's CRS {cube_crs} (Z unchanged).").format(
                crs=read_in, cube_crs=target_crs.authid() or target_crs.description()) if transform
            else tr("Reading the samples in {crs}, the cube's CRS.").format(crs=read_in))

        x, y, z, value, not_projected = self._read_samples(source, fields, value_field, has_geometry,
                                                           z_from_geometry, transform, feedback)
        grade_rule = fields["GRADE_FIELD"] == value_field
        label, counts = voxelise_samples(x, y, z, reader.grid, ore=None if grade_rule else value,
                                         grade=value if grade_rule else None, cutoff=cutoff, rule=rule)
        if counts["n_used"] == 0:
            raise Mpm3dError(tr(
                "INPUT: none of the {samples} samples labels a voxel of the CUBE ({outside} outside its grid, "
                "{missing_z} without Z, {not_projected} not reprojected, {missing_value} without {field}), so no "
                "label cube was written. Check the samples' CRS (or SAMPLE_CRS), that Z is an elevation in metres, "
                "positive up (depths are negative), and Z_FIELD.").format(
                samples=counts["n_samples"], outside=counts["n_outside"], missing_z=counts["n_missing_z"],
                not_projected=not_projected, missing_value=counts["n_missing_value"], field=value_field))
        feedback.setProgressText(tr("Writing the cube"))
        cube = reader.read_cube()
        extra = {"prospectivity": reader.read_variable("prospectivity")} if reader.has("prospectivity") else None
        attrs = {**cube.attrs, "label_source": source.sourceName(), "label_rule": rule}
        output = self.output_file(parameters, "OUTPUT", context)
        write_cube(output, cube.grid, cube.features, cube.feature_names, label, extra, attrs)
        feedback.setProgress(100)

        if not_projected:
            feedback.pushWarning(tr("{count} samples could not be reprojected to the cube's CRS; they count as "
                                    "samples without x, y.").format(count=not_projected))
        feedback.pushInfo(tr(
            "{used} of {samples} samples used: {outside} outside the grid, {missing_z} without Z, {missing_xy} "
            "without x, y, {missing_value} without {field}. Labels: {ore} ore and {barren} barren voxels.").format(
            used=counts["n_used"], samples=counts["n_samples"], outside=counts["n_outside"],
            missing_z=counts["n_missing_z"], missing_xy=counts["n_missing_xy"],
            missing_value=counts["n_missing_value"], field=value_field, ore=counts["n_ore_voxels"],
            barren=counts["n_barren_voxels"]))
        return {"OUTPUT": output, "CRS": read_in, **{name: counts[key] for name, key, _ in COUNTS}}

    @staticmethod
    def _value_field(fields: dict, cutoff: float | None, rule: str) -> str:
        """The field that says ore or barren, checked against the cut-off and rule before reading anything."""
        if bool(fields["ORE_FIELD"]) == bool(fields["GRADE_FIELD"]):
            raise Mpm3dError(tr("Give either ORE_FIELD (1 ore, 0 barren) or GRADE_FIELD with CUTOFF, not both "
                                "and not neither."))
        if fields["ORE_FIELD"] and cutoff is not None:  # a cut-off means grades: which did the user mean?
            raise Mpm3dError(tr("CUTOFF {cutoff} was given with ORE_FIELD {field}: ore flags (1 ore, 0 barren) take no "
                                "cut-off, and a cut-off would read the field as grades, which labels other samples "
                                "ore. For grades, give {field} as GRADE_FIELD with CUTOFF; for ore flags, leave "
                                "CUTOFF empty.").format(cutoff=f"{cutoff:g}", field=fields["ORE_FIELD"]))
        if fields["GRADE_FIELD"] and cutoff is None:
            raise Mpm3dError(tr("GRADE_FIELD {field} needs a CUTOFF grade.").format(field=fields["GRADE_FIELD"]))
        if fields["ORE_FIELD"] and rule == "mean_grade":
            raise Mpm3dError(tr("RULE 'Mean grade' needs GRADE_FIELD and CUTOFF, not ORE_FIELD."))
        return fields["ORE_FIELD"] or fields["GRADE_FIELD"]

    @staticmethod
    def _check_fields(source, fields: dict, layer) -> None:
        """Every chosen field is one of the layer's, and names one column of a delimited text file only."""
        for parameter, field in fields.items():
            if field and source.fields().lookupField(field) < 0:
                raise Mpm3dError(tr("{parameter} {field} is not a field of INPUT {layer}; its fields are: "
                                    "{fields}.").format(parameter=parameter, field=field, layer=source.sourceName(),
                                                        fields=", ".join(source.fields().names())))
        if layer is None or layer.providerType() not in ("ogr", "delimitedtext"):
            return
        path = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source()).get("path") or ""
        if not (path.lower().endswith((".csv", ".tsv", ".txt")) and os.path.isfile(path)):
            return
        ignore_case = layer.providerType() == "delimitedtext"
        repeated = repeated_columns(path, ignore_case)
        for parameter, field in fields.items():
            if field and (field.casefold() if ignore_case else field) in repeated:
                why = tr(" (QGIS's delimited-text reader takes names that differ only in case for one: it renames the "
                         "second to {field}_1 and finds the first under either spelling)") if ignore_case else ""
                raise Mpm3dError(tr("{parameter} {field}: the table {path} has more than one column named {field}"
                                    "{why}, and QGIS reads only the first as {field}; rename the columns in the file "
                                    "so that each name is used once.").format(parameter=parameter, field=field,
                                                                              path=path, why=why.format(field=field)))

    def _read_samples(self, source, fields, value_field, has_geometry, z_from_geometry, transform, feedback):
        """Sample x, y (in the cube's CRS), z and ore flag or grade as arrays (NaN where missing).

        A multipoint feature gives one sample per point, with the feature's attributes.
        """
        names = [fields[name] for name in ("X_FIELD", "Y_FIELD", "Z_FIELD") if fields[name]] + [value_field]
        request = QgsFeatureRequest().setSubsetOfAttributes(names, source.fields())
        if not has_geometry:
            request.setFlags(NO_GEOMETRY)
        progress = self.progress(feedback, 0.0, 80.0)
        total = max(source.featureCount(), 1)
        samples, not_projected = [], 0
        for index, feature in enumerate(source.getFeatures(request)):
            if index % 1000 == 0:
                progress(min(index / total, 1.0), "Reading the samples")
            value_parameter = "ORE_FIELD" if value_field == fields["ORE_FIELD"] else "GRADE_FIELD"
            value = number(feature[value_field], value_parameter, value_field, feature.id())
            z_attribute = (number(feature[fields["Z_FIELD"]], "Z_FIELD", fields["Z_FIELD"], feature.id())
                           if fields["Z_FIELD"] else math.nan)
            if has_geometry:
                points = [(v.x(), v.y(), v.z() if z_from_geometry else z_attribute)
                          for v in feature.geometry().vertices()] or [(math.nan, math.nan, z_attribute)]
            else:
                points = [(number(feature[fields["X_FIELD"]], "X_FIELD", fields["X_FIELD"], feature.id()),
                           number(feature[fields["Y_FIELD"]], "Y_FIELD", fields["Y_FIELD"], feature.id()),
                           z_attribute)]
            for x, y, z in points:
                if transform is not None and math.isfinite(x) and math.isfinite(y):
                    try:
                        projected = transform.transform(QgsPointXY(x, y))
                        x, y = projected.x(), projected.y()
                    except QgsCsException:
                        x = y = math.nan
                        not_projected += 1
                samples.append((x, y, z, value))
        progress(1.0)
        columns = np.array(samples, dtype=np.float64).reshape(-1, 4).T
        return (*columns, not_projected)
