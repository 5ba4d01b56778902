"""What the benchmark scripts share: their command line and how they save their results."""

from __future__ import annotations

import argparse
import json
import os
import runpy

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
# The settings the committed results were measured with where a default changed after them: INPUT_ALIGNMENT
# (auto: quantile for the forest) and TRAINING_MODE (auto: block on the CPU). Their numbers stay comparable.
AS_MEASURED = {"input_alignment": "none", "training_mode": "patch"}


def load_plugin() -> None:
    """The checkout as the package ``mpm3d`` (core/package.py), as QGIS and the worker import it: call before a
    script imports ``mpm3d.core``."""
    runpy.run_path(os.path.join(REPO, "core", "package.py"))["load_plugin_package"](REPO)


def parse_arguments(description: str, profiles, methods, out_name: str, default_seeds=None,
                    method_choices=None, extra=()) -> argparse.Namespace:
    """--profile, --methods, --seeds, --device and --out-dir (default bench/<out_name>), and ``extra``:
    (flag, add_argument keywords) pairs of a script's own."""
    parser = argparse.ArgumentParser(description=description)
    for flag, options in extra:
        parser.add_argument(flag, **options)
    parser.add_argument("--profile", choices=sorted(profiles), default="quick")
    parser.add_argument("--methods", nargs="+", default=list(methods), choices=method_choices)
    parser.add_argument("--seeds", nargs="+", type=int, default=default_seeds)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out-dir", default=os.path.join(BENCH_DIR, out_name))
    return parser.parse_args()


def save_results(results: dict, out_dir: str, write_markdown) -> None:
    """results.json (every run) and results.md (the table a reader wants) in ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    write_markdown(results, os.path.join(out_dir, "results.md"))
