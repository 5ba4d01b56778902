"""The benchmark scripts, imported by path (bench/ is a folder of scripts, not a package) for their tests.

A script started as `python bench/x.py` finds its neighbours (common.py, run_report.py) because Python puts the
script's folder first on sys.path; imported here it needs the same folder there, added once.
"""

import importlib.util
import os
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)


def load(script: str):
    """``bench/<script>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"bench_{script}", os.path.join(BENCH, f"{script}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
