"""Write help/<algorithm>.html for every mpm3d algorithm from its own summary and parameter help, and
help/<algorithm>.<locale>.html in every language of i18n/ (from the compiled catalogues: make translations).

The pages are committed and ship in the plugin zip, so the dialog's Help button works offline and on a
read-only installation; tests/qgis/test_help_pages.py fails when a page no longer matches its algorithm
(run ``make help`` then).
"""

from __future__ import annotations

import glob
import html
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import project  # noqa: E402 - the headless QGIS and the `mpm3d` import live there

HELP_DIR = os.path.join(project.PLUGIN_DIR, "help")
STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;"
         "text-align:left}code{background:#f4f4f4}")


def _default(definition) -> str:
    """A parameter's default in words; none for outputs (a destination's default names the user's folders)."""
    from qgis.core import QgsProcessingDestinationParameter, QgsProcessingParameterEnum

    value = definition.defaultValue()
    if isinstance(definition, QgsProcessingDestinationParameter) or value is None or value == "":
        return ""
    if isinstance(definition, QgsProcessingParameterEnum) and isinstance(value, int):
        return definition.options()[value]
    return str(value)


def help_page(algorithm, locale: str = "") -> str:
    """One algorithm's page: what it does, each parameter with its help, its outputs, a qgis_process call; in the
    language of the translator installed (``locale``), in English without one."""
    from mpm3d.algorithms.qgis_enums import FLAG_ADVANCED, FLAG_OPTIONAL
    from mpm3d.runtime.i18n import tr

    rows = []
    for definition in algorithm.parameterDefinitions():
        notes = [note for flag, note in ((FLAG_OPTIONAL, tr("optional")),
                                         (FLAG_ADVANCED, tr("advanced")))
                 if definition.flags() & flag]
        rows.append(f"<tr><td><b>{html.escape(definition.description())}</b><br><code>{definition.name()}"
                    f"</code>{' (' + ', '.join(notes) + ')' if notes else ''}</td>"
                    f"<td>{html.escape(_default(definition))}</td><td>{html.escape(definition.help())}</td></tr>")
    outputs = "".join(f"<li><code>{o.name()}</code>: {html.escape(o.description())}</li>"
                      for o in algorithm.outputDefinitions())
    call = " ".join(f"{d.name()}=..." for d in algorithm.parameterDefinitions()
                    if not d.flags() & FLAG_OPTIONAL and d.defaultValue() is None)
    return (f"<!DOCTYPE html>\n<html lang=\"{_html_language(locale)}\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(algorithm.displayName())} - mpm3d</title><style>{STYLE}</style></head><body>\n"
            f"<p><a href=\"{_page_name('index', locale)}\">{html.escape(tr('mpm3d help'))}</a> &gt; "
            f"{html.escape(algorithm.group())}</p>\n"
            f"<h1>{html.escape(algorithm.displayName())}</h1>\n<p>{html.escape(tr(algorithm.SUMMARY))}</p>\n"
            f"<h2>{html.escape(tr('Parameters'))}</h2>\n<table><tr><th>{html.escape(tr('Parameter'))}</th>"
            f"<th>{html.escape(tr('Default'))}</th><th>{html.escape(tr('What it means'))}</th></tr>\n"
            + "\n".join(rows) + "\n</table>\n"
            f"<h2>{html.escape(tr('Outputs'))}</h2>\n<ul>{outputs}</ul>\n"
            f"<h2>{html.escape(tr('Headless'))}</h2>\n<pre>qgis_process run mpm3d:{algorithm.name()} -- {call}</pre>\n"
            "</body></html>\n")


def _page_name(name: str, locale: str) -> str:
    return f"{name}.{locale}.html" if locale else f"{name}.html"


def _html_language(locale: str) -> str:
    return locale.replace("_", "-") if locale else "en"


def index_page(algorithms, locale: str = "") -> str:
    """The list of pages, by group."""
    from mpm3d.runtime.i18n import tr

    items = "\n".join(f"<li>{html.escape(a.group())}: <a href=\"{_page_name(a.name(), locale)}\">"
                      f"{html.escape(a.displayName())}</a> - {html.escape(a.shortDescription())}</li>"
                      for a in algorithms)
    return (f"<!DOCTYPE html>\n<html lang=\"{_html_language(locale)}\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(tr('mpm3d help'))}</title><style>{STYLE}</style></head><body>\n"
            f"<h1>{html.escape(tr('mpm3d algorithms'))}</h1>\n<ul>\n{items}\n</ul>\n</body></html>\n")


def pages() -> dict[str, str]:
    """File name -> page, for every algorithm mpm3d registers, in English and in every language of i18n/."""
    project._qgis()
    from mpm3d.algorithms import ALGORITHMS
    from mpm3d.runtime.i18n import I18N_DIR, catalogue, load_translator, unload_translator

    found = {}
    locales = sorted(os.path.basename(path)[len("mpm3d_"):-len(".ts")]
                     for path in glob.glob(os.path.join(I18N_DIR, "mpm3d_*.ts")))
    for locale in ["", *locales]:
        if locale and catalogue(locale) is None:
            raise SystemExit(f"i18n/mpm3d_{locale}.qm is missing: run make translations")
        load_translator(locale or "en")
        try:
            algorithms = []
            for kind in ALGORITHMS:
                algorithm = kind()
                algorithm.initAlgorithm()
                algorithms.append(algorithm)
            algorithms.sort(key=lambda a: (a.group(), a.displayName()))
            found.update({_page_name(a.name(), locale): help_page(a, locale) for a in algorithms})
            found[_page_name("index", locale)] = index_page(algorithms, locale)
        finally:
            unload_translator()
    return found


def main() -> int:
    os.makedirs(HELP_DIR, exist_ok=True)
    written = pages()
    for name in os.listdir(HELP_DIR):
        if name.endswith(".html") and name not in written:
            os.remove(os.path.join(HELP_DIR, name))
    for name, text in written.items():
        with open(os.path.join(HELP_DIR, name), "w", encoding="utf-8", newline="\n") as page:
            page.write(text)
    print(f"{len(written)} pages in {HELP_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
