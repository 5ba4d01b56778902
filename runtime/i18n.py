"""The plugin's translations: ``tr()`` for every user-visible string of the QGIS layer, and the translator
loaded from QGIS's locale setting before the provider and its algorithms are made.

One Qt context, ``mpm3d``, holds every string. The catalogue is i18n/mpm3d_<locale>.ts (kept with
scripts/update_translations.py, which collects the strings from the algorithms and from the ``tr()`` calls
in algorithms/ and provider/), compiled to .qm by ``make translations`` (lrelease). Algorithm ids and
parameter names are never translated: models and qgis_process calls rely on them.
"""

from __future__ import annotations

import glob
import os

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

from ..core import i18n as core_i18n
from ..core.paths import PLUGIN_DIR

CONTEXT = "mpm3d"
I18N_DIR = os.path.join(PLUGIN_DIR, "i18n")

_installed: QTranslator | None = None
_installed_language = ""


def tr(text: str) -> str:
    """``text`` in the user's language where the catalogue has it, else unchanged (English)."""
    return QCoreApplication.translate(CONTEXT, text)


def qgis_locale(settings=None) -> str:
    """The locale QGIS shows its interface in: ``locale/userLocale`` when ``locale/overrideFlag`` is set, else
    Qt's default locale, which QGIS sets to the system's (QGIS's own rule, QgsApplication.locale())."""
    settings = settings if settings is not None else QgsSettings()
    if str(settings.value("locale/overrideFlag", False)).lower() in ("true", "1"):
        user = settings.value("locale/userLocale", "") or ""
        if user:
            return str(user)
    return QLocale().name()


def catalogue(locale: str, folder: str = I18N_DIR) -> str | None:
    """The compiled catalogue for ``locale`` (zh_CN, zh, zh-Hans-CN ...): the exact one, else one of the same
    language; None for English or a language without one."""
    locale = (locale or "").replace("-", "_")
    language = locale.split("_")[0].lower()
    if not language or language == "en":
        return None
    for name in (f"mpm3d_{locale}.qm", f"mpm3d_{language}.qm"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    same_language = sorted(glob.glob(os.path.join(folder, f"mpm3d_{language}_*.qm")))
    return same_language[0] if same_language else None


def load_translator(locale: str | None = None) -> str | None:
    """Install the catalogue for ``locale`` (default: QGIS's setting), replacing one installed before; returns
    the file loaded, or None (English). Call it before the algorithms are made: they translate when created."""
    global _installed
    unload_translator()
    locale = qgis_locale() if locale is None else locale
    core_i18n.set_language(locale)  # core's own texts (report headings), here and in the worker (run_core)
    path = catalogue(locale)
    if path is None:
        return None
    translator = QTranslator()
    if not translator.load(path):
        return None
    QCoreApplication.installTranslator(translator)
    global _installed_language
    _installed, _installed_language = translator, language_of(path)  # kept referenced: Qt does not own it
    return path


def language_of(path: str) -> str:
    """The locale a catalogue file is for: i18n/mpm3d_zh_CN.qm -> zh_CN."""
    return os.path.splitext(os.path.basename(path))[0][len("mpm3d_"):]


def installed_language() -> str:
    """The locale of the catalogue in use, e.g. zh_CN; '' for English."""
    return _installed_language


def unload_translator() -> None:
    global _installed, _installed_language
    _installed_language = ""
    if _installed is not None:
        QCoreApplication.removeTranslator(_installed)
        _installed = None
    core_i18n.set_language(None)

