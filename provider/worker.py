"""Runs core's command line in a worker process and relays its JSON-lines progress to QGIS.

A crash or an out-of-memory in the worker never takes QGIS down, GPU memory is released
when the job ends, and the torch environment may differ from QGIS's own Python.
"""

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

from qgis.core import QgsProcessingException

from ..core.atomic import KEEP_PREVIOUS_ENV, RUN_ID_ENV, new_folders, new_run_id, settle_run
from .settings import PLUGIN_DIR, check_worker_python, worker_python

CANCEL_GRACE_S = 3.0


def _pump(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def run_core(arguments, feedback, outputs=(), memory_hint="", python=None) -> dict:
    """Run the core's command line with ``arguments``; returns the worker's result dict.

    A Cancel, or a worker interrupted from outside, ends in a QgsProcessingException that says so,
    so that a model chain stops there and ``qgis_process`` exits with a failure status.

    ``outputs`` are the files the job writes (a ``*`` in a name stands for a set of files): a worker
    that dies cannot clean up, so its staged files are removed, any commit it had begun is rolled
    back, and any folder made for the outputs is removed here (see core.atomic). ``memory_hint`` says
    which parameter to lower when the worker is killed, usually for want of memory. Every path in
    ``arguments`` must be absolute: the worker runs in an empty folder of its own.
    """
    python = python or worker_python()
    problem = check_worker_python(python)
    if problem:
        raise QgsProcessingException(problem)
    outputs = [path for path in outputs if path]
    folders = [folder for path in outputs for folder in new_folders(path)]
    run = new_run_id()
    env = dict(os.environ, PYTHONUNBUFFERED="1", **{RUN_ID_ENV: run, KEEP_PREVIOUS_ENV: "1"})
    env.pop("PYTHONHOME", None)
    command = worker_command(python, arguments)
    feedback.pushDebugInfo("Worker: " + " ".join(command))
    workdir = tempfile.mkdtemp(prefix="mpm3d_worker_")
    try:
        returncode, result, error, cancelled, stderr_tail = _supervise(command, env, workdir, feedback)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finished = returncode == 0 and result is not None
    settle_run(run, outputs, folders, finished)
    if not finished and (error or {}).get("kind") == "cancelled":  # interrupted from outside (Ctrl-C)
        raise QgsProcessingException(error["message"])
    if not finished and cancelled:
        raise QgsProcessingException("Cancelled; no output was written, earlier files are as they were.")
    if cancelled:
        feedback.pushInfo("The worker had finished before Cancel took effect; its outputs are complete and kept.")
    if error is not None:
        raise QgsProcessingException(error.get("message", "The worker failed."))
    if not finished:
        if returncode == 0:  # ended "well" without a word: not the worker we started
            raise QgsProcessingException(
                f"The mpm3d worker ended without a result; is '{python}' a Python with mpm3d's requirements? Set it in "
                "Processing > Options > Providers > mpm3d, or with the environment variable MPM3D_PYTHON.")
        how = "was killed (for example by the out-of-memory killer)" if returncode in (-9, 137) else \
            f"stopped with exit code {returncode}"
        hint = f"{memory_hint} " if memory_hint else ""
        raise QgsProcessingException(
            f"The mpm3d worker process {how}; no output was written. {hint}"
            f"Worker messages: {stderr_tail.strip()[-800:] or 'none'}")
    return result


def worker_command(python: str, arguments) -> list[str]:
    """The core's command line in ``python``, importing the core from the plugin folder whatever the
    working directory holds (a folder named ``core`` there must not shadow it)."""
    bootstrap = f"import sys; sys.path.insert(0, {PLUGIN_DIR!r}); from core.cli import main; sys.exit(main())"
    return [python, "-c", bootstrap, *[str(a) for a in arguments]]


def _supervise(command, env, workdir, feedback):
    """Run the worker, relay its events, stop it on Cancel; returns what it said and how it ended."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr,
                                   text=True, bufsize=1)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
        result, error = None, None
        cancelled = False
        while True:
            if feedback.isCanceled() and not cancelled:
                cancelled = True
                process.terminate()
                feedback.pushInfo("Cancelling: stopping the worker process.")
                deadline = time.monotonic() + CANCEL_GRACE_S
            if cancelled and process.poll() is None and time.monotonic() > deadline:
                process.kill()
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            event = _parse(line)
            if event is None:
                feedback.pushConsoleInfo(line.rstrip())
            elif event.get("event") == "progress":
                if event.get("fraction") is not None:
                    feedback.setProgress(100.0 * float(event["fraction"]))
                if event.get("message"):
                    feedback.setProgressText(event["message"])
            elif event.get("event") == "log":
                feedback.pushInfo(event.get("message", ""))
            elif event.get("event") == "warning":
                feedback.reportError(event.get("message", ""), False)
            elif event.get("event") == "result":
                result = event.get("outputs", {})
            elif event.get("event") == "error":
                error = event
        process.wait()
        process.stdout.close()
        stderr.seek(0)
        stderr_tail = stderr.read()[-2000:]
    return process.returncode, result, error, cancelled, stderr_tail


def _parse(line: str):
    if not line.startswith("{"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None
