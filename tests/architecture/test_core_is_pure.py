"""core/ must run where there is no QGIS (the GPU box, the worker): no qgis or PyQt imports."""

import ast
import os
import subprocess
import sys

from mpm3d.core.package import child_code

CORE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "core")
FORBIDDEN = ("qgis", "PyQt5", "PyQt6", "processing")


def imported_modules(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def core_modules() -> dict[str, str]:
    """Every module of core and its sub-packages, by dotted name below core ("learning.training"): path."""
    found = {}
    for root, _, names in os.walk(CORE):
        package = os.path.relpath(root, CORE).replace(os.sep, ".").removeprefix(".")
        for name in names:
            if name.endswith(".py") and name != "__init__.py":
                found[".".join(filter(None, (package, name[:-3])))] = os.path.join(root, name)
    return found


def test_no_core_module_imports_qgis_or_pyqt():
    offenders = []
    for name, path in sorted(core_modules().items()):
        for module in imported_modules(path):
            if module.split(".")[0] in FORBIDDEN:
                offenders.append(f"{name}: {module}")
    assert offenders == []


def test_importing_all_of_core_loads_no_qgis():
    modules = [name for name in core_modules() if name != "__main__"]
    code = child_code(os.path.dirname(CORE), "import sys\n"  # the core as the worker loads it
                      + "".join(f"import mpm3d.core.{m}\n" for m in modules)
                      + "bad = [m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'processing')]\n"
                      + "assert not bad, bad\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(CORE), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def _run_time_imports(path) -> list[ast.AST]:
    """The import statements of a module that run (an `if TYPE_CHECKING:` block never runs)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and getattr(block.test, "id", None) == "TYPE_CHECKING" for node in ast.walk(block)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
            and id(node) not in skipped]


def _core_imports(name: str, path: str) -> set[str]:
    """The core modules (dotted below core) a core module imports when it runs."""
    package = name.split(".")[:-1]
    imported = set()
    for node in _run_time_imports(path):
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module:
            base = package[:len(package) - (node.level - 1)] if node.level - 1 <= len(package) else None
            if base is not None:
                imported.add(".".join(base + [node.module]))
    return imported


def test_no_import_circle_inside_core():
    """A circle (model imports predict imports model) means neither module can be read, tested or moved alone."""
    graph = {name: _core_imports(name, path) for name, path in core_modules().items()}
    circles = []

    def visit(module, path):
        for imported in sorted(graph.get(module, ())):
            if imported in path:
                circles.append(" -> ".join(path[path.index(imported):] + [imported]))
            elif imported in graph:
                visit(imported, path + [imported])

    for module in sorted(graph):
        visit(module, [module])
    assert circles == []


def test_core_imports_resolve_to_core_modules():
    """The circle test sees every import inside core (a misread relative import would hide a circle)."""
    graph = {name: _core_imports(name, path) for name, path in core_modules().items()}
    assert graph["learning.training"] >= {"learning.model", "errors", "data.grid"}
    unknown = sorted(f"{name}: {imported}" for name, imports in graph.items() for imported in imports
                     if imported not in graph and imported.split(".")[0] not in ("data", "learning", "results"))
    assert unknown == []


def test_no_algorithm_imports_the_command_line_layer():
    """Algorithms call the core's jobs (core.jobs) directly or run the worker; the command line's argument
    parsing (core.cli) is for the worker and scripts, not something an algorithm reaches into."""
    algorithms = os.path.join(os.path.dirname(CORE), "algorithms")
    offenders = []
    for name in sorted(os.listdir(algorithms)):
        if name.endswith(".py"):
            tree = ast.parse(open(os.path.join(algorithms, name), encoding="utf-8").read(), name)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "core.cli":
                    offenders.append(f"{name}: {node.module}")
    assert offenders == []


def test_everything_imports_the_plugin_by_one_name():
    """The plugin has one import identity, ``mpm3d`` (core/package.py): no test, benchmark or script imports
    ``core`` or ``provider`` as top-level packages, which would load every module a second time under another
    name (two Mpm3dError classes, two copies of module state)."""
    repo = os.path.dirname(CORE)
    offenders = []
    for folder in ("tests", "bench", "scripts"):
        for root, _, names in os.walk(os.path.join(repo, folder)):
            for name in (n for n in names if n.endswith(".py")):
                path = os.path.join(root, name)
                for module in imported_modules(path):
                    if module.split(".")[0] in ("core", "provider", "runtime", "algorithms"):
                        offenders.append(f"{os.path.relpath(path, repo)}: {module}")
    assert offenders == []


def test_arguments_are_parsed_in_the_command_line_alone():
    """One home each: argument parsing in core/cli.py, whole jobs in core/jobs.py; no other core module parses."""
    parsing = sorted(name for name, path in core_modules().items() if name != "cli"
                     and any(alias.name == "argparse" for node in _run_time_imports(path)
                             if isinstance(node, ast.Import) for alias in node.names))
    assert parsing == []
