"""The worker's command and environment as built for Linux, macOS and Windows, and a real child that receives a
path with spaces and Chinese characters intact."""

import ast
import json
import os
import re
import shutil
import sys

import pytest
from mpm3d.runtime.process import (
    CREATE_NO_WINDOW,
    child_environment,
    child_process,
    venv_python,
    watch,
    worker_process,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = "证据 数据/证据_z-100.tif"
HOST = {"PATH": "/usr/bin", "PYTHONHOME": "/qgis/apps/Python39", "PYTHONPATH": "/qgis/python",
        "__PYVENV_LAUNCHER__": "/Applications/QGIS.app/Contents/MacOS/QGIS", "PYTHONEXECUTABLE": "/x/QGIS",
        "GDAL_DATA": "/qgis/share/gdal", "LANG": "C"}
PLATFORMS = {
    "linux": ("/home/geo/.venv/bin/python", "/home/geo/.local/share/QGIS/QGIS3/profiles/default/python/plugins/mpm3d",
              "/data/证据 数据"),
    "darwin": ("/Users/geo/mpm3d env/bin/python", "/Users/geo/Library/Application Support/QGIS/QGIS3/profiles/"
               "default/python/plugins/mpm3d", "/Users/geo/证据 数据"),
    "win32": (r"C:\Users\张三\mpm3d env\Scripts\python.exe", r"C:\Users\张三\AppData\Roaming\QGIS\QGIS3\profiles"
              r"\default\python\plugins\mpm3d", r"D:\证据 数据"),
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_worker_command_and_environment(platform):
    python, plugin, data = PLATFORMS[platform]
    path = data + ("\\" if platform == "win32" else "/") + "证据_z-100.tif"
    child = worker_process(python, ["train", "--source", path, 7], plugin, HOST, platform, {"MPM3D_RUN_ID": "r1"})
    assert child.command[0] == python and child.command[1] == "-c"
    assert child.command[3:] == ["train", "--source", path, "7"]  # one argument each, nothing quoted or split
    bootstrap = child.command[2]
    loader, loaded = re.search(r"run_path\((.+?)\)\['load_plugin_package'\]\((.+?)\)\n", bootstrap).groups()
    assert ast.literal_eval(loaded) == plugin  # the plugin folder reaches the worker intact, loaded as mpm3d
    assert ast.literal_eval(loader) == plugin + ("\\" if platform == "win32" else "/") + \
        ("core\\package.py" if platform == "win32" else "core/package.py")
    assert bootstrap.endswith("from mpm3d.core.cli import main\nsys.exit(main())")
    for leaked in ("PYTHONHOME", "PYTHONPATH", "__PYVENV_LAUNCHER__", "PYTHONEXECUTABLE"):
        assert leaked not in child.env
    assert child.env["GDAL_DATA"] == "/qgis/share/gdal" and child.env["PATH"] == "/usr/bin"
    assert child.env["PYTHONUTF8"] == "1" and child.env["PYTHONIOENCODING"] == "utf-8"
    assert child.env["MPM3D_RUN_ID"] == "r1"
    assert child.creationflags == (CREATE_NO_WINDOW if platform == "win32" else 0)


def test_windows_environment_names_are_matched_whatever_their_case():
    assert "PythonHome" not in child_environment({"PythonHome": "C:\\OSGeo4W\\apps\\Python312", "Path": "C:\\x"})


def test_venv_interpreter_per_platform():
    assert venv_python("/a b/env", "linux") == "/a b/env/bin/python"
    assert venv_python(r"C:\a b\env", "win32") == r"C:\a b\env\Scripts\python.exe"


def test_a_real_worker_receives_the_path_and_answers_in_utf8(tmp_path, monkeypatch):
    """The child is started the way the worker is; what it echoes as a JSON line comes back unchanged, even
    with a host locale that is not UTF-8 and QGIS's PYTHONHOME pointing elsewhere."""
    plugin = tmp_path / "插件 folder"
    (plugin / "core").mkdir(parents=True)
    (plugin / "__init__.py").write_text("")
    (plugin / "core" / "__init__.py").write_text("")
    shutil.copy(os.path.join(REPO, "core", "package.py"), plugin / "core" / "package.py")  # loads it as mpm3d
    (plugin / "core" / "cli.py").write_text(
        "import json, os, sys\n"
        "def main():\n"
        "    print(json.dumps({'argv': sys.argv[1:], 'exists': os.path.exists(sys.argv[1]),"
        " 'home': os.environ.get('PYTHONHOME')}, ensure_ascii=False))\n"
        "    return 0\n", encoding="utf-8")
    data = tmp_path / PATH
    data.parent.mkdir()
    data.write_bytes(b"")
    host = dict(os.environ, LANG="C", LC_ALL="C", PYTHONHOME="/nowhere/qgis/python")
    child = worker_process(sys.executable, [str(data)], str(plugin), host)
    lines = []
    finished = watch(child, lines.append, lambda: False, cwd=str(tmp_path))
    assert finished.returncode == 0, finished.stderr_tail
    answer = json.loads(lines[-1])
    assert answer == {"argv": [str(data)], "exists": True, "home": None}


def test_cancel_stops_a_watched_child_at_once():
    child = child_process([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"])
    seen = []
    finished = watch(child, seen.append, lambda: bool(seen), grace_s=1.0)
    assert finished.cancelled and finished.returncode != 0 and seen == ["started\n"]

