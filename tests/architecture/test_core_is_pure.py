"""core/ must run where there is no QGIS (the GPU box, the worker): no qgis or PyQt imports."""

import ast
import os
import subprocess
import sys

CORE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "core")
FORBIDDEN = ("qgis", "PyQt5", "PyQt6", "processing")


def imported_modules(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_no_core_module_imports_qgis_or_pyqt():
    offenders = []
    for name in sorted(os.listdir(CORE)):
        if name.endswith(".py"):
            for module in imported_modules(os.path.join(CORE, name)):
                if module.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{name}: {module}")
    assert offenders == []


def test_importing_all_of_core_loads_no_qgis():
    modules = [n[:-3] for n in os.listdir(CORE) if n.endswith(".py") and n != "__main__.py"]
    code = ("import sys\n" + "".join(f"import core.{m}\n" for m in modules)
            + "bad = [m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'processing')]\n"
            + "assert not bad, bad\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(CORE), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
