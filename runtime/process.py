"""Child processes started from inside QGIS: their command line, their environment, and how they are watched.

Pure Python (no qgis import), so that what is built for Linux, macOS and Windows is tested anywhere with the
platform passed in.
"""

from __future__ import annotations

import ntpath
import posixpath
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..core.package import child_code, child_environment

# Windows: start a console program (python.exe) without opening a console window over QGIS.
CREATE_NO_WINDOW = 0x08000000
CANCEL_GRACE_S = 3.0


@dataclass(frozen=True)
class ChildProcess:
    """What ``subprocess.Popen`` needs to start one child: its arguments, environment and creation flags."""

    command: list[str]
    env: dict[str, str]
    creationflags: int = 0

    def run(self, timeout: float) -> subprocess.CompletedProcess:
        """Run to the end with its output captured as text (a short probe, not a job to watch)."""
        return subprocess.run(self.command, env=self.env, capture_output=True, encoding="utf-8", errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL, creationflags=self.creationflags)


def child_process(command: Sequence[object], environ: Mapping[str, str] | None = None,
                  platform: str = sys.platform, extra_env: Mapping[str, str] | None = None) -> ChildProcess:
    """``command`` as a list (no shell, so spaces and any characters pass intact), in a clean environment
    and, on Windows, without a console window."""
    return ChildProcess([str(a) for a in command], child_environment(environ, extra_env),
                        CREATE_NO_WINDOW if platform == "win32" else 0)


def worker_process(python: str, arguments: Sequence[object], plugin_dir: str,
                   environ: Mapping[str, str] | None = None, platform: str = sys.platform,
                   extra_env: Mapping[str, str] | None = None) -> ChildProcess:
    """The core's command line in ``python``, the plugin in ``plugin_dir`` loaded as ``mpm3d`` as QGIS loads it
    (core/package.py), whatever the working directory holds (a folder named ``core`` there must not shadow it)."""
    bootstrap = child_code(plugin_dir, "import sys\nfrom mpm3d.core.cli import main\nsys.exit(main())", platform)
    return child_process([python, "-c", bootstrap, *arguments], environ, platform, extra_env)


def venv_python(folder: str, platform: str = sys.platform) -> str:
    """The interpreter of the virtual environment in ``folder``."""
    if platform == "win32":
        return ntpath.join(folder, "Scripts", "python.exe")
    return posixpath.join(folder, "bin", "python")


@dataclass(frozen=True)
class Finished:
    """How a watched child ended."""

    returncode: int
    cancelled: bool
    stderr_tail: str


def watch(child: ChildProcess, on_line: Callable[[str], None], cancelled: Callable[[], bool],
          cwd: str | None = None, merge_stderr: bool = False, on_cancel: Callable[[], None] | None = None,
          grace_s: float = CANCEL_GRACE_S) -> Finished:
    """Run ``child``, hand each output line to ``on_line`` as it comes, and stop the child when ``cancelled()``
    turns true (terminate, then kill after ``grace_s``), so that a Cancel in QGIS takes effect at once."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as stderr:
        process = subprocess.Popen(child.command, cwd=cwd, env=child.env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge_stderr else stderr,
                                   encoding="utf-8", errors="replace", bufsize=1, creationflags=child.creationflags)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
        stopping, deadline = False, 0.0
        while True:
            if not stopping and cancelled():
                stopping = True
                process.terminate()
                deadline = time.monotonic() + grace_s
                if on_cancel is not None:
                    on_cancel()
            if stopping and process.poll() is None and time.monotonic() > deadline:
                process.kill()
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            on_line(line)
        process.wait()
        process.stdout.close()
        stderr.seek(0)
        tail = stderr.read()[-2000:]
    return Finished(process.returncode, stopping, tail)


def _pump(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)
