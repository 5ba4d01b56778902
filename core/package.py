"""One import identity: the plugin folder is the package ``mpm3d`` in every process that uses it.

QGIS imports the plugin by its folder name (``mpm3d`` once installed). The worker process, the cube probe, the
tests, the benchmark and the scripts load the same folder under the same name with ``load_plugin_package``,
whatever the folder is called (a checkout may be called anything), so ``mpm3d.core`` is the only name the core
ever has and no module is loaded twice under two names. The folder is loaded by path: neither it nor its parent
(QGIS's plugins folder) is put on ``sys.path``, where its sub-folders could shadow other modules.

This file imports nothing of the plugin, so it can be run by path before the package exists:
``runpy.run_path(<plugin>/core/package.py)["load_plugin_package"](<plugin>)``.
"""

from __future__ import annotations

import importlib.util
import ntpath
import os
import posixpath
import sys
from collections.abc import Mapping

PACKAGE = "mpm3d"
# The host's own Python must not reach another interpreter: QGIS sets PYTHONHOME and PYTHONPATH for its Python
# (on Windows a Python whose version need not be the worker's), and a macOS framework build passes
# __PYVENV_LAUNCHER__ and PYTHONEXECUTABLE, which make a child Python take itself for the host's executable.
HOST_PYTHON_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")


def load_plugin_package(plugin_dir: str):
    """The plugin folder as the package ``mpm3d`` (the one already imported, where there is one). Its
    ``__init__`` only defines QGIS's classFactory, so this loads no qgis."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    plugin_dir = os.path.abspath(plugin_dir)
    spec = importlib.util.spec_from_file_location(PACKAGE, os.path.join(plugin_dir, "__init__.py"),
                                                  submodule_search_locations=[plugin_dir])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def child_code(plugin_dir: str, then: str, platform: str = sys.platform) -> str:
    """Python source for ``python -c`` in a child process on ``platform``: load the plugin in ``plugin_dir`` (an
    absolute path, passed intact whatever its characters) as ``mpm3d``, then run ``then``."""
    loader = (ntpath if platform == "win32" else posixpath).join(plugin_dir, "core", "package.py")
    return f"import runpy\nrunpy.run_path({loader!r})['load_plugin_package']({plugin_dir!r})\n" + then


def child_environment(environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
                      ) -> dict[str, str]:
    """The host's environment without its Python's variables, for a child Python (the worker, the cube probe);
    the child speaks UTF-8 whatever the locale, so a path such as ``证据_z-100.tif`` survives its command line,
    its file names and its output lines."""
    environ = os.environ if environ is None else environ
    env = {key: value for key, value in environ.items() if key.upper() not in HOST_PYTHON_VARIABLES}
    env.update(PYTHONUTF8="1", PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env
