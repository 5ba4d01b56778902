"""The adversary benchmark (bench/adversary.py): DANN-CTA with and without its reversed gradient, paired by seed."""

import json
import subprocess
import sys

import bench_scripts


def test_smoke_run_trains_both_and_pairs_them(tmp_path):
    subprocess.run([sys.executable, bench_scripts.BENCH + "/adversary.py", "--profile", "smoke", "--out-dir",
                    str(tmp_path)], check=True, capture_output=True, timeout=600)
    (run,) = json.loads((tmp_path / "results.json").read_text())["runs"]
    for name in ("adversary", "no adversary"):
        assert 0.5 < run[name]["target_auc"] <= 1 and run[name]["training_mode"] == "block"
    gain = run["adversary"]["target_auc"] - run["no adversary"]["target_auc"]
    assert f"paired: {gain:+.3f}" in (tmp_path / "results.md").read_text()
