"""Fuzzing the cube reader and the model reader with hostile files made from small real ones.

Every case must end either in a usable object (a cube read whole, a model that predicts) or in an
Mpm3dError whose message names the file; never in another exception, never past a time budget, never
in a memory blow-up. The generators here are hypothesis strategies, shared with
tests/core/test_fuzz_readers.py (a few hundred cases); this script runs thousands and writes the counts:
    .venv/bin/python bench/fuzz_readers.py [--cases 3000]   ->  bench/fuzz_results.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import struct
import sys
import tempfile
import time
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from common import load_plugin  # noqa: E402

load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it

from mpm3d.core.data import cubefile  # noqa: E402
from mpm3d.core.data.cubefile import (  # noqa: E402
    CLASSIC_SIGNATURES,
    HDF5_SIGNATURE,
    CubeReader,
    gdal_modules,
    write_cube,
)
from mpm3d.core.data.grid import Cube, Grid  # noqa: E402
from mpm3d.core.errors import Mpm3dError  # noqa: E402
from mpm3d.core.learning.model import ForestArrays, ProspectivityNet, TrainedModel, config_for_method  # noqa: E402
from mpm3d.core.learning.modelfile import SAFETENSORS_DTYPE_BYTES, load_model, save_model  # noqa: E402
from mpm3d.core.learning.novelty import SourceSample  # noqa: E402
from mpm3d.core.learning.predict import predict_cube  # noqa: E402

PROBE_TIMEOUT_S = 3.0  # a damaged file that hangs HDF5 costs this much per case here (60 s in real use)
MODEL_BUDGET_S = 5.0
CUBE_BUDGET_S = PROBE_TIMEOUT_S + 5.0
RESULTS = os.path.join(PLUGIN_DIR, "bench", "fuzz_results.md")
NAMES = ["density", "dist fault"]
GRID = Grid.from_geotransform("EPSG:4528", (40500000, 25, 0, 4130000, 0, -25), 6, 5, [-100.0, -150.0, -200.0, -250.0])
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# refusals that only the probe (a child process opening the file first) could give
PROBE_REFUSALS = {"crashed reading its structure": "refused: HDF5 crashed in the probe",
                  "did not finish reading its structure": "refused: HDF5 hung in the probe"}
OK_OUTCOMES = ("read", "refused", *PROBE_REFUSALS.values())
BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "0", "-1", "2", "3", "4", "1e308", "9" * 5000, "true", "null"]


def base_files(folder: str) -> dict[str, bytes]:
    """The small real files the cases are made from: a 4 x 5 x 6 cube with 2 features as mpm3d writes it
    (NetCDF-4), the same cube as classic NetCDF, one with 8 features (more than 8 variables: HDF5 keeps
    their links in a heap it does not checksum, where the crashes are), an ensemble of two networks and
    a random forest."""
    import torch
    from sklearn.ensemble import RandomForestClassifier

    gdal, _ = gdal_modules()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, *GRID.shape)).astype(np.float32)
    features[1, 0, 0, :2] = np.nan
    nc4 = write_cube(os.path.join(folder, "cube.nc"), GRID, features, NAMES, rng.integers(-1, 2, GRID.shape),
                     extra={"prospectivity": rng.random(GRID.shape)})
    many = rng.normal(size=(8, *GRID.shape)).astype(np.float32)
    write_cube(os.path.join(folder, "cube_8_features.nc"), GRID, many, [f"f{i}" for i in range(8)],
               rng.integers(-1, 2, GRID.shape), extra={"prospectivity": rng.random(GRID.shape)})
    classic = os.path.join(folder, "cube_classic.nc")
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # "dimension y lacks an indexing variable", which it has
    gdal.MultiDimTranslate(classic, nc4, format="netCDF", creationOptions=["FORMAT=NC"],  # classic has no uint8:
                           arraySpecs=["density", "dist_fault", "label", "prospectivity"])  # 'valid' stays out
    gdal.PopErrorHandler()
    stats = {"mean": [0.0, 1.0], "std": [1.0, 2.0]}
    normalisation = {"source": stats, "target": stats}
    torch.manual_seed(0)
    networks = [ProspectivityNet(config_for_method("dann_cta", 2, 3)) for _ in range(2)]
    save_model(os.path.join(folder, "network.safetensors"),
               TrainedModel("dann_cta", NAMES, 3, normalisation, networks=networks,
                            source_sample=SourceSample(rng.normal(size=(16, 2)).astype(np.float32),
                                                       rng.integers(0, 16, 16).astype(np.int16))))
    forest = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0)
    forest.fit(rng.normal(size=(60, 2)), rng.integers(0, 2, 60))
    save_model(os.path.join(folder, "forest.safetensors"),
               TrainedModel("rf", NAMES, 3, normalisation, forest=ForestArrays.from_sklearn(forest)))
    names = ("cube.nc", "cube_8_features.nc", "cube_classic.nc", "network.safetensors", "forest.safetensors")
    return {name: open(os.path.join(folder, name), "rb").read() for name in names}


# --- Generators ----------------------------------------------------------------------------------------------

def _flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for offset, bit in flips:
        out[offset] ^= 1 << bit
    return bytes(out)


def damaged(base: bytes, name: str):
    """What storage and copies do to a file: cut short anywhere, bits flipped, a run of bytes overwritten."""
    n = len(base)
    return st.one_of(
        st.integers(0, n - 1).map(lambda k: (f"{name}: truncated", base[:k])),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 7)), min_size=1, max_size=8).map(
            lambda flips: (f"{name}: bit flips", _flipped(base, flips))),
        st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=64)).map(
            lambda c: (f"{name}: bytes overwritten", base[:c[0]] + c[1] + base[c[0] + len(c[1]):])),
    )


def random_bytes(prefixes: list[bytes], name: str):
    """Garbage, some of it behind a real signature so that the format's own parser has to look at it."""
    return st.tuples(st.sampled_from(prefixes), st.binary(max_size=4096)).map(
        lambda c: (f"{name}: random bytes", c[0] + c[1]))


def cube_cases(bases: dict[str, bytes]):
    return st.one_of(
        damaged(bases["cube.nc"], "NetCDF-4 cube"),
        damaged(bases["cube_8_features.nc"], "NetCDF-4 cube, 8 features"),
        damaged(bases["cube_classic.nc"], "classic cube"),
        random_bytes([b"", HDF5_SIGNATURE, bases["cube.nc"][:48], *CLASSIC_SIGNATURES], "cube"),
    )


def _split(base: bytes) -> tuple[dict, bytes]:
    length = int.from_bytes(base[:8], "little")
    return json.loads(base[8:8 + length]), base[8 + length:]


def _joined(header, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def _json_values():
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    return st.recursive(leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids,
                                                                                           max_size=4), max_leaves=16)


def _with_entry(header: dict, data: bytes, tensor: str, field: str, value) -> bytes:
    entry = {**header[tensor], field: value}
    return _joined({**header, tensor: entry}, data)


def _substituted(text: str, index: int, token: str) -> str:
    """``text`` (JSON) with one of its numbers replaced by ``token``."""
    spans = [m.span() for m in NUMBER.finditer(text)]
    if not spans:
        return token
    start, end = spans[index % len(spans)]
    return text[:start] + token + text[end:]


def lying_headers(base: bytes, name: str):
    """A safetensors header that lies: about its own length, a tensor's dtype, shape or offsets, or the
    whole header replaced by other JSON."""
    header, data = _split(base)
    tensors = sorted(k for k in header if k != "__metadata__")
    lies = {
        "dtype": st.sampled_from([*SAFETENSORS_DTYPE_BYTES, "F128", "", 7]),
        "shape": st.lists(st.integers(-1, 2 ** 40), max_size=6),
        "data_offsets": st.lists(st.integers(-1, 2 ** 64), max_size=3),
    }
    entry = st.tuples(st.sampled_from(tensors), st.sampled_from(sorted(lies))).flatmap(
        lambda c: lies[c[1]].map(lambda value: _with_entry(header, data, c[0], c[1], value)))
    length = st.integers(0, 2 ** 64 - 1).map(lambda n: struct.pack("<Q", n) + base[8:])
    whole = _json_values().map(lambda value: _joined(value, data))
    return st.one_of(entry, length, whole).map(lambda lie: (f"{name}: lying header", lie))


def lying_metadata(base: bytes, name: str):
    """The mpm3d metadata changed: a field missing, a number replaced (NaN, infinite, huge, off by one),
    JSON nested thousands deep, or any other JSON."""
    header, data = _split(base)
    metadata = header["__metadata__"]
    keys = sorted(metadata)
    substitution = st.tuples(st.sampled_from(keys), st.integers(0, 10 ** 6), st.sampled_from(BAD_NUMBERS)).map(
        lambda c: {**metadata, c[0]: _substituted(metadata[c[0]], c[1], c[2])})
    deep = st.tuples(st.sampled_from(keys), st.integers(10, 100_000)).map(
        lambda c: {**metadata, c[0]: "[" * c[1] + "]" * c[1]})
    other = st.tuples(st.sampled_from(keys), _json_values().map(json.dumps) | st.text(max_size=30)).map(
        lambda c: {**metadata, c[0]: c[1]})
    missing = st.sampled_from(keys).map(lambda key: {k: v for k, v in metadata.items() if k != key})
    return st.one_of(substitution, deep, other, missing).map(
        lambda new: (f"{name}: lying metadata", _joined({**header, "__metadata__": new}, data)))


def model_cases(bases: dict[str, bytes]):
    return st.one_of(
        damaged(bases["network.safetensors"], "network model"),
        damaged(bases["forest.safetensors"], "forest model"),
        lying_headers(bases["network.safetensors"], "network model"),
        lying_headers(bases["forest.safetensors"], "forest model"),
        lying_metadata(bases["network.safetensors"], "network model"),
        lying_metadata(bases["forest.safetensors"], "forest model"),
        random_bytes([b"", struct.pack("<Q", 64) + b"{", bases["network.safetensors"][:9]], "model"),
    )


# --- One case ------------------------------------------------------------------------------------------------

def _use_cube(path: str) -> None:
    reader = CubeReader(path, "CUBE")
    reader.read_cube()
    for name in ("prospectivity", "valid"):
        if reader.has(name):
            reader.read_variable(name)


def _use_model(path: str) -> None:
    """Loaded is not enough: the model must also predict, where a hidden inconsistency would show."""
    model = load_model(path)
    features = np.random.default_rng(0).normal(size=(len(model.feature_names), *GRID.shape)).astype(np.float32)
    predict_cube(model, Cube(GRID, features, list(model.feature_names)), device="cpu")


def run_case(reader: str, data: bytes, path: str) -> tuple[str, float]:
    """One of OK_OUTCOMES ('read', or 'refused' by an Mpm3dError naming the file) or what else happened, and
    the seconds it took. ``path`` must be a new file: the cube reader trusts a file version (inode, size,
    time) it probed before."""
    with open(path, "wb") as handle:
        handle.write(data)
    started = time.perf_counter()
    try:
        (_use_cube if reader == "cube" else _use_model)(path)
        outcome = "read"
    except Mpm3dError as exc:
        outcome = next((why for text, why in PROBE_REFUSALS.items() if text in str(exc)), "refused")
        if path not in str(exc):
            outcome = f"refused without naming the file: {exc}"
    except Exception as exc:  # the property: nothing else may come out of a reader
        outcome = f"{type(exc).__name__}: {exc}"
    return outcome, time.perf_counter() - started


def fuzz(reader: str, strategy, cases: int, folder: str) -> dict:
    """Run ``cases`` generated cases (reproducibly) and count what happened to them."""
    counts: Counter = Counter()
    slowest = [0.0, ""]

    @settings(max_examples=cases, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(case):
        kind, data = case
        outcome, seconds = run_case(reader, data, os.path.join(folder, f"{reader}-{sum(counts.values())}"))
        budget = CUBE_BUDGET_S if reader == "cube" else MODEL_BUDGET_S
        if outcome not in OK_OUTCOMES:
            outcome = f"VIOLATION {outcome[:200]}"
        elif seconds > budget:
            outcome = f"VIOLATION over the {budget:g} s budget"
        counts[(kind, outcome)] += 1
        if seconds > slowest[0]:
            slowest[:] = [seconds, kind]

    one()
    return {"counts": counts, "slowest_s": slowest[0], "slowest_kind": slowest[1]}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def write_results(results: dict, seconds: float, cases: int, baseline_mib: float) -> str:
    lines = ["# Fuzzing the readers", "",
             f"Regenerate: `.venv/bin/python bench/fuzz_readers.py --cases {cases}` (hypothesis, derandomized: the "
             "same cases every run). Each case is a new file; 'read' means the cube was read whole or the model "
             "loaded and predicted, 'refused' an Mpm3dError naming the file; anything else is a violation. "
             f"A probe of a damaged cube that hangs HDF5 is stopped after {PROBE_TIMEOUT_S:g} s here.", ""]
    for reader, result in results.items():
        counts = result["counts"]
        outcomes = Counter()
        for (_, outcome), n in counts.items():
            outcomes[outcome] += n
        lines += [f"## {reader} reader: {sum(counts.values())} cases", "",
                  "| outcome | cases |", "|---|---:|", *(f"| {o} | {n} |" for o, n in sorted(outcomes.items())), "",
                  "| kind of case | outcome | cases |", "|---|---|---:|",
                  *(f"| {k} | {o} | {n} |" for (k, o), n in sorted(counts.items())), "",
                  f"Slowest case: {result['slowest_s']:.2f} s ({result['slowest_kind']}).", ""]
    lines += [f"Peak memory (resident) of the fuzzing process: {baseline_mib:.0f} MiB once the base files were made, "
              f"{_peak_mib():.0f} MiB at the end. Wall time {seconds:.0f} s.", ""]
    with open(RESULTS, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return RESULTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases per reader")
    args = parser.parse_args()
    gdal, _ = gdal_modules()
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # GDAL's warnings about damaged files, thousands of them
    cubefile.PROBE_TIMEOUT_S = PROBE_TIMEOUT_S
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:  # every case file stays until the end: no inode is reused
        bases = base_files(folder)
        baseline_mib = _peak_mib()
        results = {"model": fuzz("model", model_cases(bases), args.cases, folder),
                   "cube": fuzz("cube", cube_cases(bases), args.cases, folder)}
    path = write_results(results, time.perf_counter() - started, args.cases, baseline_mib)
    violations = sum(n for r in results.values() for (_, o), n in r["counts"].items() if o.startswith("VIOLATION"))
    print(f"{path}: {violations} violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
