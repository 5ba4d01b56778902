"""`make zip` gives a zip that passes the plugin repository's offline upload checks, and the checker finds
what the repository would refuse."""

import configparser
import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))

from check_plugin_zip import check_zip  # noqa: E402

MAINTAINER = {"PLUGIN_EMAIL": "maintainer@mpm3d-project.dev", "PLUGIN_TRACKER": "https://codeberg.org/mpm3d/mpm3d/issues",
              "PLUGIN_REPOSITORY": "https://codeberg.org/mpm3d/mpm3d"}


def make_zip(folder, **variables) -> str:
    run = subprocess.run(["make", "-s", "zip", f"DIST_DIR={folder}", *[f"{k}={v}" for k, v in variables.items()]],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return os.path.join(folder, "mpm3d.zip")


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory):
    return make_zip(str(tmp_path_factory.mktemp("dist")))


def test_the_zip_passes_the_offline_checks_but_for_the_maintainers_fields(plugin_zip):
    assert check_zip(plugin_zip) == ([], ["email", "tracker", "repository"])


def test_with_the_maintainers_fields_the_zip_is_ready_for_upload(tmp_path):
    path = make_zip(str(tmp_path), **MAINTAINER)
    assert check_zip(path) == ([], [])
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read_string(zipfile.ZipFile(path).read("mpm3d/metadata.txt").decode("utf-8"))
    assert metadata["general"]["repository"] == MAINTAINER["PLUGIN_REPOSITORY"]
    assert "email" not in open(os.path.join(REPO, "metadata.txt"), encoding="utf-8").read()  # only in the zip


def test_the_zip_holds_the_plugin_and_nothing_of_its_development(plugin_zip):
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert {n.split("/")[0] for n in names} == {"mpm3d"}
    for needed in ("__init__.py", "metadata.txt", "LICENSE", "CHANGELOG.md", "icon.svg", "runtime/environment.py",
                   "help/setup_worker.html", "help/index.html", "algorithms/setup_worker.py"):
        assert f"mpm3d/{needed}" in names, needed
    for name in names:
        assert not name.startswith(("mpm3d/tests/", "mpm3d/bench/", "mpm3d/scripts/", "mpm3d/.git", "mpm3d/.venv"))
        assert "__pycache__" not in name and not name.endswith((".pyc", ".pyo")), name
    licence = zipfile.ZipFile(plugin_zip).read("mpm3d/LICENSE").decode("utf-8")
    assert "or (at your option) any later version" in licence and "GNU GENERAL PUBLIC LICENSE" in licence


def test_metadata_has_license_tags_and_no_placeholder():
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(os.path.join(REPO, "metadata.txt"), encoding="utf-8")
    general = metadata["general"]
    assert general["license"] == "GPL-2.0-or-later"
    assert len(general["tags"].split(",")) >= 5
    text = open(os.path.join(REPO, "metadata.txt"), encoding="utf-8").read()
    assert "example." not in text and "@" not in text


def _zip(path, files: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as package:
        for name, text in files.items():
            package.writestr(name, text)
    return str(path)


GOOD_METADATA = ("[general]\nname=x\ndescription=d\nversion=1\nqgisMinimumVersion=3.22\nauthor=a\nabout=b\n"
                 "email=someone@mpm3d-project.dev\ntracker=https://codeberg.org/a/b/issues\n"
                 "repository=https://codeberg.org/a/b\nicon=icon.svg\n")
GOOD = {"mpm3d/__init__.py": "", "mpm3d/metadata.txt": GOOD_METADATA, "mpm3d/LICENSE": "GPL",
        "mpm3d/icon.svg": "<svg/>"}


@pytest.mark.parametrize("change, problem", [
    ({"mpm3d/core/__pycache__/a.cpython-311.pyc": "x"}, "compiled file"),
    ({"mpm3d/tests/test_a.py": "x"}, "development file mpm3d/tests/test_a.py"),
    ({"mpm3d/.git/config": "x"}, ".git folder"),
    ({"mpm3d/Makefile": "x"}, "development file mpm3d/Makefile"),
    ({"mpm3d/LICENSE": None}, "no mpm3d/LICENSE"),
    ({"mpm3d/metadata.txt": GOOD_METADATA.replace("email=someone@mpm3d-project.dev", "email=mpm3d@example.org")},
     "email is not a usable address"),
    ({"mpm3d/metadata.txt": GOOD_METADATA.replace("https://codeberg.org/a/b\n", "http://repo\n")},
     "repository is not a usable URL"),
    ({"mpm3d/metadata.txt": GOOD_METADATA.replace("version=1\n", "")}, "metadata.txt has no version"),
    ({"mpm3d/metadata.txt": GOOD_METADATA.replace("author=a", "author=a/b")}, "author contains '/'"),
    ({"other/x.py": "x"}, "one folder mpm3d/"),
])
def test_the_checker_finds_what_the_repository_refuses(tmp_path, change, problem):
    assert check_zip(_zip(tmp_path / "good.zip", GOOD)) == ([], [])
    files = {name: text for name, text in {**GOOD, **change}.items() if text is not None}
    problems, _ = check_zip(_zip(tmp_path / "bad.zip", files))
    assert any(problem in p for p in problems), problems
