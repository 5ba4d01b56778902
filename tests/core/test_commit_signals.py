"""A Cancel (SIGTERM) that arrives while a set of outputs is being moved into place.

The commit holds the signal until the whole set is in place; the worker then stops with status 143, and
its parent settles the failed run: every earlier file must come back, as the Cancel message promises.
"""

import os
import subprocess
import sys

import pytest
from mpm3d.core.atomic import KEEP_PREVIOUS_ENV, RUN_ID_ENV, settle_run
from mpm3d.core.package import child_code

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a worker that writes a.txt and b.txt as one set, with the command line's SIGTERM handler, and sends its main
# thread SIGTERM right after the Nth rename of its commit (4 in all: each earlier file aside, then the new one
# in). Sent to the thread, not the process: a process-directed signal may land on one of numpy's threads and
# reach Python only after the script has ended, which made the last-rename case flaky under load.
WORKER = child_code(REPO, """import os, signal, sys, threading
from mpm3d.core import atomic, cli
signal.signal(signal.SIGTERM, cli._terminate)
replace, renames = os.replace, []
def signalling_replace(*args):
    replace(*args)
    renames.append(args)
    if len(renames) == int(sys.argv[2]):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
atomic.os.replace = signalling_replace
with atomic.atomic_group():
    for name in ("a.txt", "b.txt"):
        with atomic.atomic_path(os.path.join(sys.argv[1], name)) as staged:
            with open(staged, "w") as handle:
                handle.write("new " + name)
""")


@pytest.mark.parametrize("after_rename", [1, 2, 4])
def test_sigterm_during_a_commit_leaves_the_earlier_files_once_the_run_is_settled(tmp_path, after_rename):
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text("earlier " + name)
    env = dict(os.environ, **{RUN_ID_ENV: "run1", KEEP_PREVIOUS_ENV: "1"})
    worker = subprocess.run([sys.executable, "-c", WORKER, str(folder), str(after_rename)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert worker.returncode == 128 + 15, worker.stderr  # stopped by SIGTERM, through the command line's handler
    settle_run("run1", [str(folder / "a.txt"), str(folder / "b.txt")], [], succeeded=False)
    assert {p.name: p.read_text() for p in folder.iterdir()} == {"a.txt": "earlier a.txt", "b.txt": "earlier b.txt"}
