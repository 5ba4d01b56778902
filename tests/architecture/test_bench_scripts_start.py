"""Every benchmark script starts as `make bench-*` starts it: a fresh interpreter, the checkout loaded as mpm3d
by the script itself (bench/common.load_plugin) before its first mpm3d import. Inside pytest the package is
already loaded (tests/conftest.py), so only a separate process shows a script that imports too early."""

import glob
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# not started on their own: the shared parts, and the peer rows, which run in skada's environment (bench/run.py,
# bench/profiles.py)
NOT_SCRIPTS = ("common.py", "run_report.py", "peer_skada.py", "peer_skada_mapping.py")
SCRIPTS = sorted(os.path.relpath(path, REPO) for path in glob.glob(os.path.join(REPO, "bench", "*.py"))
                 if os.path.basename(path) not in NOT_SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_starts_on_its_own(script, tmp_path):
    result = subprocess.run([sys.executable, os.path.join(REPO, script), "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:")
