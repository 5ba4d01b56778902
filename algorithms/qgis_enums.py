"""The QGIS and Qt enum values the algorithms use, under the names of the QGIS that runs them.

QGIS moved its enums into ``Qgis`` (3.30: geometry types, 3.36: Processing parameter types and flags, 3.38:
field types as QMetaType instead of QVariant); the old names are deprecated there and gone in QGIS 4 (Qt6),
where only the new ones exist, while QGIS 3.22 has only the old ones. Each value is looked up here once, new
name first, so no other module names an old or unscoped enum (tests/test_qt6_ready.py keeps it so).
"""

from qgis.core import (
    Qgis,
    QgsColorRampShader,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QMetaType, QVariant


def first_value(*candidates):
    """The value of the first (owner, "Dotted.name") that this QGIS has (styles.py looks up the optional 3D
    library's enums with it)."""
    for owner, dotted in candidates:
        value = owner
        try:
            for part in dotted.split("."):
                value = getattr(value, part)
        except AttributeError:
            continue
        return value
    raise AttributeError(f"none of {[name for _, name in candidates]} exists in this QGIS")


def _source(new: str, old: str):
    return first_value((Qgis, f"ProcessingSourceType.{new}"), (QgsProcessing, old))


SOURCE_RASTER = _source("Raster", "TypeRaster")
SOURCE_FILE = _source("File", "TypeFile")
SOURCE_VECTOR = _source("Vector", "TypeVector")
SOURCE_POINTS = _source("VectorPoint", "TypeVectorPoint")
SOURCE_POLYGONS = _source("VectorPolygon", "TypeVectorPolygon")

NUMBER_INTEGER = first_value((Qgis, "ProcessingNumberParameterType.Integer"), (QgsProcessingParameterNumber, "Integer"))
NUMBER_DOUBLE = first_value((Qgis, "ProcessingNumberParameterType.Double"), (QgsProcessingParameterNumber, "Double"))
FLAG_OPTIONAL = first_value((Qgis, "ProcessingParameterFlag.Optional"),
                            (QgsProcessingParameterDefinition, "FlagOptional"))
FLAG_ADVANCED = first_value((Qgis, "ProcessingParameterFlag.Advanced"),
                            (QgsProcessingParameterDefinition, "FlagAdvanced"))
FIELD_NUMERIC = first_value((Qgis, "ProcessingFieldParameterDataType.Numeric"),
                            (QgsProcessingParameterField, "Numeric"))
FILE_FOLDER = first_value((Qgis, "ProcessingFileParameterBehavior.Folder"), (QgsProcessingParameterFile, "Folder"))

WKB_POINT_Z = first_value((Qgis, "WkbType.PointZ"), (QgsWkbTypes, "PointZ"))
WKB_MULTI_POLYGON = first_value((Qgis, "WkbType.MultiPolygon"), (QgsWkbTypes, "MultiPolygon"))
GEOMETRY_NULL = first_value((Qgis, "GeometryType.Null"), (QgsWkbTypes, "NullGeometry"))
GEOMETRY_POINT = first_value((Qgis, "GeometryType.Point"), (QgsWkbTypes, "PointGeometry"))
GEOMETRY_POLYGON = first_value((Qgis, "GeometryType.Polygon"), (QgsWkbTypes, "PolygonGeometry"))

FAST_INSERT = first_value((QgsFeatureSink, "Flag.FastInsert"), (QgsFeatureSink, "FastInsert"))
NO_GEOMETRY = first_value((Qgis, "FeatureRequestFlag.NoGeometry"), (QgsFeatureRequest, "NoGeometry"))
RAMP_LINEAR = first_value((Qgis, "ShaderInterpolationMethod.Linear"), (QgsColorRampShader, "Interpolated"))

# QgsField takes a QMetaType.Type from 3.38 on (QVariant.Type is deprecated there, absent in Qt6).
_METATYPE_FIELDS = Qgis.versionInt() >= 33800
FIELD_TYPES = {kind: getattr(QMetaType.Type, metatype) if _METATYPE_FIELDS else getattr(QVariant, kind)
               for kind, metatype in (("Int", "Int"), ("Double", "Double"), ("Bool", "Bool"), ("String", "QString"))}
