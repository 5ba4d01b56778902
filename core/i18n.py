"""The message catalogue of texts made in core (the reports' titles and headings), free of Qt.

A catalogue is i18n/core_<locale>.json: English text -> translation. The language is the one the plugin
chose from QGIS's locale (``set_language``, called by the QGIS layer when it loads its own translation) or,
in the worker process, the environment variable MPM3D_LANGUAGE that the plugin passes to it; empty or
English: texts stay as written. A text without a translation stays English.
"""

from __future__ import annotations

import glob
import json
import os
from functools import lru_cache

from .paths import PLUGIN_DIR

LANGUAGE_ENV = "MPM3D_LANGUAGE"
I18N_DIR = os.path.join(PLUGIN_DIR, "i18n")

_language: str | None = None


def set_language(locale: str | None) -> None:
    """The language of core's texts in this process (None: back to MPM3D_LANGUAGE)."""
    global _language
    _language = locale


def language() -> str:
    """The locale core's texts are in, e.g. zh_CN; '' for English."""
    locale = _language if _language is not None else os.environ.get(LANGUAGE_ENV, "")
    return "" if (locale or "").lower().startswith("en") else (locale or "").replace("-", "_")


def html_language() -> str:
    """The language for an HTML page's ``lang`` attribute: en, or e.g. zh-CN when a catalogue translates."""
    locale = language()
    return locale.replace("_", "-") if locale and _catalogue(locale) else "en"


@lru_cache(maxsize=8)
def _catalogue(locale: str) -> dict[str, str]:
    if not locale:
        return {}
    lang = locale.split("_")[0].lower()
    candidates = [os.path.join(I18N_DIR, f"core_{locale}.json"), os.path.join(I18N_DIR, f"core_{lang}.json"),
                  *sorted(glob.glob(os.path.join(I18N_DIR, f"core_{lang}_*.json")))]
    for path in candidates:
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    entries = json.load(handle)
            except (OSError, ValueError):
                return {}
            return {str(k): str(v) for k, v in entries.items() if v}
    return {}


def tr(text: str) -> str:
    """``text`` in the chosen language where the catalogue has it, else unchanged."""
    return _catalogue(language()).get(text, text)
