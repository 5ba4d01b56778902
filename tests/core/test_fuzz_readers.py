"""A few hundred hostile files for each reader, made by bench/fuzz_readers.py's generators: every one is read
or refused with an Mpm3dError naming the file, within its time budget, without a memory blow-up."""

import itertools
import resource
from datetime import timedelta

import bench_scripts
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from mpm3d.core.data import cubefile

MAX_GROWTH_MIB = 1024


@pytest.fixture(scope="module")
def fuzz():
    return bench_scripts.load("fuzz_readers")


@pytest.fixture(scope="module")
def bases(fuzz, tmp_path_factory):
    return fuzz.base_files(str(tmp_path_factory.mktemp("bases")))


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check_every_case(fuzz, reader, strategy, examples, folder, deadline_s):
    budget = fuzz.CUBE_BUDGET_S if reader == "cube" else fuzz.MODEL_BUDGET_S
    numbers = itertools.count()
    outcomes = set()
    before = _peak_mib()

    @settings(max_examples=examples, deadline=timedelta(seconds=deadline_s), derandomize=True, database=None,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])
    @given(strategy)
    def case(case):
        kind, data = case
        outcome, seconds = fuzz.run_case(reader, data, str(folder / f"{reader}-{next(numbers)}"))
        assert outcome in fuzz.OK_OUTCOMES, f"{kind}: {outcome}"
        assert seconds < budget, f"{kind}: {seconds:.1f} s"
        outcomes.add(outcome.split(":")[0])

    case()
    assert outcomes == {"read", "refused"}  # the generators reach both ends, or they test nothing
    assert _peak_mib() - before < MAX_GROWTH_MIB


def test_every_hostile_model_file_is_loaded_or_refused_by_name(fuzz, bases, tmp_path):
    _check_every_case(fuzz, "model", fuzz.model_cases(bases), 250, tmp_path, deadline_s=10)


def test_every_hostile_cube_file_is_read_or_refused_by_name(fuzz, bases, tmp_path, monkeypatch):
    monkeypatch.setattr(cubefile, "PROBE_TIMEOUT_S", fuzz.PROBE_TIMEOUT_S)
    _check_every_case(fuzz, "cube", fuzz.cube_cases(bases), 80, tmp_path, deadline_s=20)
