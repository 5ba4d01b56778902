"""The benchmark scripts, imported by path (bench/ is a folder of scripts, not a package) for their tests."""

import importlib.util
import os

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


def load(script: str):
    """``bench/<script>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"bench_{script}", os.path.join(BENCH, f"{script}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
