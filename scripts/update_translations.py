"""Bring the translation catalogues i18n/mpm3d_<locale>.ts up to date with the plugin's English strings.

The strings are what the user sees through ``tr()`` (runtime/i18n.py): every algorithm's display name,
group, summary, parameter descriptions, help texts, enum options and output descriptions, read from the
algorithms themselves, and every ``tr("...")`` call with a literal text in algorithms/ and provider/
(messages, the provider's name, the settings' labels) and in scripts/build_help.py (the help pages'
headings). A string new to a catalogue is added as unfinished (translate it, e.g. in Qt Linguist:
``linguist i18n/mpm3d_zh_CN.ts``); one no longer used is dropped; the rest keep their translations.
``make translations`` then compiles the .qm files QGIS loads.

    python scripts/update_translations.py            # update every i18n/*.ts
    python scripts/update_translations.py --check    # exit 1 when a catalogue is stale or unfinished
"""

from __future__ import annotations

import ast
import glob
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import project  # noqa: E402 - the headless QGIS and the `mpm3d` import live there

PLUGIN_DIR = project.PLUGIN_DIR
I18N_DIR = os.path.join(PLUGIN_DIR, "i18n")
CONTEXT = "mpm3d"
SCANNED = ("algorithms", "provider", "runtime", os.path.join("scripts", "build_help.py"))  # folders and files


def tr_calls(scanned=SCANNED) -> list[str]:
    """The literal texts of the ``tr(...)`` calls in the QGIS layer's modules and the help pages' maker, in
    file order."""
    found = []
    for name in scanned:
        where = os.path.join(PLUGIN_DIR, name)
        for path in sorted(glob.glob(os.path.join(where, "*.py"))) if os.path.isdir(where) else [where]:
            with open(path, encoding="utf-8") as source:
                tree = ast.parse(source.read(), path)
            calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                     and isinstance(node.func, ast.Name) and node.func.id == "tr" and node.args]
            for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    found.append(argument.value)
    return found


def algorithm_strings(algorithms) -> list[str]:
    """What each algorithm shows through ``tr()``, in English (no translator may be installed)."""
    from qgis.core import QgsProcessingParameterEnum

    found = []
    for algorithm in algorithms:
        found += [algorithm.DISPLAY, algorithm.GROUP, algorithm.SUMMARY]
        for definition in algorithm.parameterDefinitions():
            found += [definition.description(), definition.help()]
            if isinstance(definition, QgsProcessingParameterEnum):
                found += list(definition.options())
        found += [output.description() for output in algorithm.outputDefinitions()]
    return found


def english_algorithms():
    project._qgis()
    from mpm3d.algorithms import ALGORITHMS
    from mpm3d.runtime.i18n import unload_translator

    unload_translator()
    algorithms = []
    for kind in ALGORITHMS:
        algorithm = kind()
        algorithm.initAlgorithm()
        algorithms.append(algorithm)
    return algorithms


def source_strings(algorithms=None) -> list[str]:
    """Every English string of the catalogue, once each, in a stable order."""
    strings = algorithm_strings(english_algorithms() if algorithms is None else algorithms) + tr_calls()
    return list(dict.fromkeys(text for text in strings if text and text.strip()))


def read_catalogue(path: str) -> dict[str, tuple[str, bool]]:
    """source -> (translation, finished) of a .ts file."""
    entries = {}
    for message in ET.parse(path).getroot().iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        text = (translation.text or "") if translation is not None else ""
        finished = translation is not None and translation.get("type") not in ("unfinished", "obsolete", "vanished")
        entries[source] = (text, finished)
    return entries


def catalogue_text(language: str, strings: list[str], known: dict[str, tuple[str, bool]]) -> str:
    root = ET.Element("TS", version="2.1", language=language)
    context = ET.SubElement(root, "context")
    ET.SubElement(context, "name").text = CONTEXT
    for source in strings:
        message = ET.SubElement(context, "message")
        ET.SubElement(message, "source").text = source
        text, finished = known.get(source, ("", False))
        translation = ET.SubElement(message, "translation")
        translation.text = text
        if not (finished and text):
            translation.set("type", "unfinished")
    ET.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    strings = source_strings()
    stale = []
    for path in sorted(glob.glob(os.path.join(I18N_DIR, "mpm3d_*.ts"))):
        language = os.path.basename(path)[len("mpm3d_"):-len(".ts")]
        known = read_catalogue(path)
        text = catalogue_text(language, strings, known)
        with open(path, encoding="utf-8") as current:
            changed = current.read() != text
        missing = [s for s in strings if not (known.get(s, ("", False))[1] and known[s][0])]
        dropped = sorted(set(known) - set(strings))
        print(f"{os.path.relpath(path, PLUGIN_DIR)}: {len(strings)} strings, {len(missing)} to translate, "
              f"{len(dropped)} no longer used")
        if check:
            stale += [path] if changed or missing else []
        elif changed:
            with open(path, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
