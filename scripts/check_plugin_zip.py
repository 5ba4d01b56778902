"""The checks plugins.qgis.org runs on an uploaded zip that can be run offline, plus mpm3d's own.

After the repository's validator (qgis/QGIS-Django, qgis-app/plugins/validator.py): size, no path tricks, no
.pyc/__pycache__/.git/__MACOSX, one top folder named like a Python package, __init__.py and metadata.txt in
it, the required metadata, usable URLs (not its known placeholders), an author without '/', a LICENSE file.
mpm3d adds: the folder is ``mpm3d`` (the code imports itself under that name), no development files, and no
placeholder e-mail or URL. The repository's online check (that each URL answers) is left out.

Usage: check_plugin_zip.py ZIP -- prints each problem; exit status 1 on any, except that the maintainer's
fields (email, tracker, repository), which only the maintainer can give, only warn: such a zip installs from
ZIP but is not ready for upload (give them with ``make zip PLUGIN_EMAIL=... PLUGIN_TRACKER=...
PLUGIN_REPOSITORY=...``).
"""

from __future__ import annotations

import configparser
import os
import re
import sys
import zipfile
from urllib.parse import urlparse

MAX_BYTES = 25_000_000
REQUIRED = ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about", "tracker",
            "repository")
MAINTAINER_FIELDS = ("email", "tracker", "repository")
URL_FIELDS = {"tracker": "http://bugs", "repository": "http://repo", "homepage": "http://homepage"}
FORBIDDEN_FOLDERS = ("__MACOSX", ".git", "__pycache__")
PLUGIN_FOLDER = "mpm3d"
DEVELOPMENT_FOLDERS = ("tests", "bench", "scripts", ".venv", ".venv-peer", ".ci", ".github", "build", "dist",
                       "demo_output", ".pytest_cache", ".ruff_cache")
DEVELOPMENT_FILES = ("Makefile", "requirements.txt", "requirements-py311.txt", "requirements-py313.txt",
                     "requirements-py311-nodeps.txt", "requirements-py313-nodeps.txt",
                     "pyproject.toml", ".gitignore")
PLACEHOLDER = re.compile(r"(^|[@./])(example\.(org|com|net)|localhost|test\.invalid)($|[/:])|your[-_.]?(name|email)",
                         re.I)


def check_zip(path: str) -> tuple[list[str], list[str]]:
    """(problems, maintainer fields missing) of the plugin zip at ``path``."""
    problems: list[str] = []
    try:
        package = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"cannot open the zip: {exc}"], []
    with package:
        if os.path.getsize(path) > MAX_BYTES:
            problems.append(f"larger than {MAX_BYTES // 1_000_000} MB")
        names = package.namelist()
        for name in names:
            parts = name.split("/")
            if ".." in name or name.startswith("/"):
                problems.append(f"path information in {name}")
            if ".pyc" in name:
                problems.append(f"compiled file {name}")
            problems += [f"{folder} folder in {name}" for folder in FORBIDDEN_FOLDERS if folder in parts]
        if package.testzip() is not None:
            problems.append(f"damaged member {package.testzip()}")
        tops = sorted({name.split("/")[0] for name in names})
        if tops != [PLUGIN_FOLDER]:
            return problems + [f"the zip must hold one folder {PLUGIN_FOLDER}/, not {tops}"], []
        inside = {name[len(PLUGIN_FOLDER) + 1:] for name in names}
        problems += [f"development file {PLUGIN_FOLDER}/{name}" for name in sorted(inside)
                     if ("/" in name and name.split("/")[0] in DEVELOPMENT_FOLDERS) or name in DEVELOPMENT_FILES]
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if required not in inside:
                problems.append(f"no {PLUGIN_FOLDER}/{required}")
        if "metadata.txt" not in inside:
            return problems, []
        metadata = _metadata(package.read(f"{PLUGIN_FOLDER}/metadata.txt").decode("utf-8"), problems)
        missing = [field for field in REQUIRED if not metadata.get(field, "").strip()]
        problems += [f"metadata.txt has no {field}" for field in missing if field not in MAINTAINER_FIELDS]
        for field, forbidden in URL_FIELDS.items():
            url = metadata.get(field)
            if url is not None:
                parsed = urlparse(url)
                if url == forbidden or not (parsed.scheme and parsed.netloc) or PLACEHOLDER.search(url):
                    problems.append(f"metadata.txt {field} is not a usable URL: {url!r}")
        email = metadata.get("email")
        if email is not None and (not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or PLACEHOLDER.search(email)):
            problems.append(f"metadata.txt email is not a usable address: {email!r}")
        if "/" in metadata.get("author", ""):
            problems.append("metadata.txt author contains '/'")
        icon = metadata.get("icon", "").removeprefix("./")
        if icon and icon not in inside:
            problems.append(f"metadata.txt icon {icon} is not in the zip")
        return problems, [field for field in missing if field in MAINTAINER_FIELDS]


def _metadata(text: str, problems: list[str]) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        problems.append(f"metadata.txt does not parse: {exc}")
        return {}
    if not parser.has_section("general"):
        problems.append("metadata.txt has no [general] section")
        return {}
    return dict(parser.items("general"))


def main(argv: list[str] | None = None) -> int:
    path = (argv or sys.argv[1:] or ["dist/mpm3d.zip"])[0]
    problems, maintainer = check_zip(path)
    for problem in problems:
        print(f"{path}: {problem}")
    if maintainer:
        print(f"{path}: installs from ZIP; before uploading to plugins.qgis.org give the maintainer's "
              f"{', '.join(maintainer)} (make zip PLUGIN_EMAIL=... PLUGIN_TRACKER=... PLUGIN_REPOSITORY=...)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
