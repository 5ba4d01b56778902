"""A run's outputs are one set: committed together, rolled back together, even when the writer is killed."""

import json
import os
import signal
import subprocess
import sys

import pytest
from mpm3d.core import atomic
from mpm3d.core.atomic import atomic_group, atomic_path, settle_run
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.package import child_code

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tree(folder):
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, dirs, files in os.walk(folder) for name in files + dirs)


def _write(path, text):
    with atomic_path(str(path)) as tmp, open(tmp, "w") as handle:
        handle.write(text)


def _earlier(tmp_path):
    """Three earlier outputs in two folders, as a previous run left them."""
    files = [tmp_path / "cube.nc", tmp_path / "levels" / "p_z-0100.tif", tmp_path / "levels" / "p_z-0150.tif"]
    for index, path in enumerate(files):
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"earlier {index}")
    return files


def test_a_commit_that_fails_half_way_puts_back_every_earlier_file(tmp_path, monkeypatch):
    files = _earlier(tmp_path)
    new_level = tmp_path / "levels" / "p_z-0200.tif"
    real_replace, calls = os.replace, []

    def replace_failing_on_the_fifth_move(src, dst):
        calls.append(dst)
        if len(calls) == 5:  # cube and first level are already in place, the second level moved aside
            raise PermissionError(13, "Permission denied", src, None, dst)
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace_failing_on_the_fifth_move)
    with pytest.raises(Mpm3dError, match=r"cannot write .*p_z-0150\.tif: Permission denied; nothing was replaced"):
        with atomic_group():
            for path in [*files, new_level]:
                _write(path, "new")
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert [path.read_text() for path in files] == ["earlier 0", "earlier 1", "earlier 2"]
    assert _tree(tmp_path) == ["cube.nc", "levels", "levels/p_z-0100.tif", "levels/p_z-0150.tif"]


def test_one_file_given_for_two_outputs_is_refused(tmp_path):
    with pytest.raises(Mpm3dError, match=r"report\.html is given for two outputs of one run"), atomic_group():
        _write(tmp_path / "report.html", "a")
        _write(tmp_path / "report.html", "b")
    assert _tree(tmp_path) == []


def test_files_of_the_user_named_like_old_temporaries_are_never_touched(tmp_path):
    users = [tmp_path / ".cube.backup.partial.nc", tmp_path / ".p_z-0100.abc.partial.tif",
             tmp_path / ".mpm3d-staging-notes.txt"]
    for path in users:
        path.write_text("mine")
    with pytest.raises(RuntimeError), atomic_group():
        _write(tmp_path / "cube.nc", "new")
        raise RuntimeError("the job failed")
    _write(tmp_path / "cube.nc", "new")
    settle_run("0123456789abcdef", [str(tmp_path / "cube.nc")], [], succeeded=False)
    assert all(path.read_text() == "mine" for path in users)
    assert _tree(tmp_path) == sorted([path.name for path in users] + ["cube.nc"])


CHILD = """
import os, signal, sys
from mpm3d.core import atomic
real_replace, moves = os.replace, []
def replace_then_die(src, dst):
    real_replace(src, dst)
    moves.append(dst)
    if len(moves) == {kill_after}:
        os.kill(os.getpid(), signal.SIGKILL)
atomic.os.replace = replace_then_die
with atomic.atomic_group():
    for path in sys.argv[1:]:
        with atomic.atomic_path(path) as tmp, open(tmp, "w") as handle:
            handle.write("new")
"""


@pytest.mark.parametrize("kill_after", [1, 2, 3, 4, 5, 6])
def test_a_writer_killed_between_two_renames_is_rolled_back_by_its_parent(tmp_path, kill_after):
    """SIGKILL after each of the commit's renames (earlier file aside, new file in): settle_run restores the set."""
    files = _earlier(tmp_path)
    new_level = tmp_path / "levels" / "p_z-0200.tif"
    paths = [str(p) for p in [*files, new_level]]
    run = atomic.new_run_id()
    env = dict(os.environ, **{atomic.RUN_ID_ENV: run, atomic.KEEP_PREVIOUS_ENV: "1"})
    child = subprocess.run([sys.executable, "-c", child_code(PLUGIN_DIR, CHILD.format(kill_after=kill_after)), *paths],
                           env=env, capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    staging = tmp_path / f".mpm3d-staging-{run}"
    assert staging.is_dir() and json.loads(next(staging.glob("journal-*.json")).read_text())
    settle_run(run, [paths[0], str(tmp_path / "levels" / "p_z*.tif")], [], succeeded=False)
    assert [path.read_text() for path in files] == ["earlier 0", "earlier 1", "earlier 2"]
    assert _tree(tmp_path) == ["cube.nc", "levels", "levels/p_z-0100.tif", "levels/p_z-0150.tif"]


def test_a_worker_that_succeeded_keeps_its_new_files_and_leaves_no_staging(tmp_path):
    files = _earlier(tmp_path)
    run = atomic.new_run_id()
    env = dict(os.environ, **{atomic.RUN_ID_ENV: run, atomic.KEEP_PREVIOUS_ENV: "1"})
    child = subprocess.run([sys.executable, "-c", child_code(PLUGIN_DIR, CHILD.format(kill_after=99)),
                            *map(str, files)], env=env, capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert (tmp_path / f".mpm3d-staging-{run}").is_dir()  # earlier files kept until the parent settles
    settle_run(run, [str(files[0]), str(files[1])], [], succeeded=True)
    assert [path.read_text() for path in files] == ["new"] * 3
    assert _tree(tmp_path) == ["cube.nc", "levels", "levels/p_z-0100.tif", "levels/p_z-0150.tif"]


def test_outputs_over_inputs_are_found_by_path_link_and_pattern(tmp_path):
    from mpm3d.core.paths import check_distinct

    slice_ = tmp_path / "evidence_z-0100.tif"
    slice_.write_text("x")
    os.symlink(slice_, tmp_path / "link.tif")
    with pytest.raises(Mpm3dError, match=r"^OUT would overwrite the input EVIDENCE .*Choose another file name for"):
        check_distinct({"EVIDENCE": [str(slice_)]}, {"OUT": [str(tmp_path / "link.tif")]})
    with pytest.raises(Mpm3dError, match=r"^FOLDER would overwrite .*Choose another file name or folder for FOLDER"):
        check_distinct({"EVIDENCE": [str(slice_)]}, {"FOLDER": [str(tmp_path / "evidence_z*.tif")]})
    check_distinct({"EVIDENCE": [str(slice_)]}, {"FOLDER": [str(tmp_path / "p_z*.tif")], "OUT": [str(tmp_path / "a")]})
