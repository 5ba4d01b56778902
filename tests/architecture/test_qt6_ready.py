"""The plugin stays ready for QGIS 4 (Qt6): Qt only through qgis.PyQt, every Qt and QGIS enum value reached
through its enum (``QColor.NameFormat.HexArgb``, ``Qgis.ProcessingSourceType.Raster``: PyQt6 has no unscoped
values, and QGIS 4 dropped the names that QGIS 3.30-3.38 moved into Qgis), no ``exec_``, no QVariant types (gone
in Qt6; algorithms/qgis_enums.py picks QMetaType or QVariant by version). Checked on every Python file of the
project (the plugin, its tests and scripts: the QGIS project's pyqt5_to_pyqt6 checker reads a whole folder too),
against the QGIS this suite runs on: each ``Class.NAME`` is looked up and refused when it is an enum value reached
through a class rather than through its enum."""

import ast
import enum
import importlib
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOT_PROJECT_CODE = {"build", "dist", ".venv", ".venv-peer", "demo_output"}
QT_MODULES = ("qgis.PyQt.", "qgis.core", "qgis.gui", "qgis._3d", "qgis.analysis")
FORBIDDEN_MODULES = ("PyQt4", "PyQt5", "PyQt6", "sip", "PySide2", "PySide6")
# Gone in Qt6, whatever the binding: QVariant's type values, QRegExp, qApp and compiled resources.
FORBIDDEN_NAMES = {"QRegExp": "QRegularExpression", "qApp": "QApplication.instance()", "resources_rc": "file paths"}


def project_files() -> list[str]:
    found = []
    for folder, subfolders, files in os.walk(REPO):
        if folder == REPO:
            subfolders[:] = [name for name in subfolders if name not in NOT_PROJECT_CODE and not name.startswith(".")]
        found += [os.path.join(folder, name) for name in files if name.endswith(".py")]
    return sorted(found)


def _is_enum_value(value) -> bool:
    kind = type(value)
    return isinstance(value, enum.Enum) or type(kind).__name__ in ("enumtype", "EnumType")


def problems(source: str, name: str = "<code>") -> list[str]:
    """What in ``source`` would not run on Qt6 / QGIS 4, as 'file:line: what (use instead)'."""
    tree = ast.parse(source)
    imported = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                if module.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{name}:{node.lineno}: import of {module} (import from qgis.PyQt)")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(QT_MODULES):
                for alias in node.names:
                    if alias.name in FORBIDDEN_NAMES:
                        found.append(f"{name}:{node.lineno}: {alias.name} (use {FORBIDDEN_NAMES[alias.name]})")
                    else:
                        imported[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Attribute):
            if node.attr == "exec_":
                found.append(f"{name}:{node.lineno}: exec_ (use exec)")
            if isinstance(node.value, ast.Name) and node.value.id in imported:
                module, class_name = imported[node.value.id]
                owner = getattr(importlib.import_module(module), class_name, None)
                if class_name == "QVariant" and node.attr != "Type":
                    found.append(f"{name}:{node.lineno}: QVariant.{node.attr} (QVariant's types are gone in Qt6: "
                                 "use algorithms/qgis_enums.py FIELD_TYPES, or NULL)")
                    continue
                value = getattr(owner, node.attr, None)
                if isinstance(owner, type) and _is_enum_value(value) and type(value).__name__ != node.attr:
                    found.append(f"{name}:{node.lineno}: {class_name}.{node.attr} is unscoped (use "
                                 f"{class_name}.{type(value).__name__}.{node.attr}, or a name in "
                                 "algorithms/qgis_enums.py)")
    return found


def test_the_check_finds_what_qt6_refuses():
    code = ("from PyQt5.QtCore import QSettings\nfrom qgis.PyQt.QtGui import QColor\n"
            "from qgis.PyQt.QtCore import QVariant, QLocale\nfrom qgis.core import QgsFeatureSink\n"
            "QColor('red').name(QColor.HexArgb)\nQVariant.Double\ndialog.exec_()\nQLocale.English\n"
            "QgsFeatureSink.FastInsert\n")
    found = "\n".join(problems(code))
    for expected in ("import of PyQt5.QtCore", "QColor.HexArgb is unscoped (use QColor.NameFormat.HexArgb",
                     "QVariant.Double", "exec_", "QLocale.English is unscoped (use QLocale.Language.English",
                     "QgsFeatureSink.FastInsert is unscoped"):
        assert expected in found
    scoped = ("from qgis.PyQt.QtGui import QColor\nfrom qgis.PyQt.QtCore import QLocale\n"
              "QColor('red').name(QColor.NameFormat.HexArgb)\nQLocale.Language.English\nQColor.fromRgb(1, 2, 3)\n")
    assert problems(scoped) == []


@pytest.mark.parametrize("path", project_files(), ids=lambda path: os.path.relpath(path, REPO))
def test_project_code_has_nothing_qt6_refuses(path):
    with open(path, encoding="utf-8") as handle:
        assert problems(handle.read(), os.path.relpath(path, REPO)) == []


def test_metadata_declares_qt6_support():
    with open(os.path.join(REPO, "metadata.txt"), encoding="utf-8") as handle:
        assert "supportsQt6=True" in handle.read().splitlines()
