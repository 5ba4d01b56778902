"""Runs core's command line in a worker process and relays its JSON-lines progress to QGIS.

A crash or an out-of-memory in the worker never takes QGIS down, GPU memory is released
when the job ends, and the torch environment may differ from QGIS's own Python.
"""

import json
import shutil
import tempfile

from qgis.core import QgsProcessingException

from ..core.atomic import KEEP_PREVIOUS_ENV, RUN_ID_ENV, new_folders, new_run_id, settle_run
from ..core.i18n import LANGUAGE_ENV, language
from .i18n import tr
from .process import watch, worker_process
from .settings import PLUGIN_DIR, check_worker_python, worker_python


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
    child = worker_process(python, arguments, PLUGIN_DIR, extra_env={RUN_ID_ENV: run, KEEP_PREVIOUS_ENV: "1",
                                                                           LANGUAGE_ENV: language()})
    feedback.pushDebugInfo("Worker: " + " ".join(child.command))
    workdir = tempfile.mkdtemp(prefix="mpm3d_worker_")
    try:
        returncode, result, error, cancelled, stderr_tail = _supervise(child, workdir, feedback)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finished = returncode == 0 and result is not None
    settle_run(run, outputs, folders, finished)
    if not finished and (error or {}).get("kind") == "cancelled":  # interrupted from outside (Ctrl-C)
        raise QgsProcessingException(error["message"])
    if not finished and cancelled:
        raise QgsProcessingException(tr("Cancelled; no output was written, earlier files are as they were."))
    if cancelled:
        feedback.pushInfo(tr("The worker had finished before Cancel took effect; its outputs are complete and kept."))
    if error is not None:
        raise QgsProcessingException(error.get("message", tr("The worker failed.")))
    if not finished:
        if returncode == 0:  # ended "well" without a word: not the worker we started
            raise QgsProcessingException(tr(
                "The mpm3d worker ended without a result; is '{python}' a Python with mpm3d's requirements? Set it in "
                "Processing > Options > Providers > mpm3d, or with the environment variable MPM3D_PYTHON.").format(
                python=python))
        how = tr("was killed (for example by the out-of-memory killer)") if returncode in (-9, 137) else \
            tr("stopped with exit code {code}").format(code=returncode)
        hint = f"{memory_hint} " if memory_hint else ""
        raise QgsProcessingException(tr(
            "The mpm3d worker process {how}; no output was written. {hint}Worker messages: {messages}").format(
            how=how, hint=hint, messages=stderr_tail.strip()[-800:] or tr("none")))
    return result


def _supervise(child, workdir, feedback):
    """Run the worker, relay its events, stop it on Cancel; returns what it said and how it ended."""
    said = {"result": None, "error": None}

    def relay(line: str) -> None:
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
            feedback.pushWarning(event.get("message", ""))
        elif event.get("event") == "result":
            said["result"] = event.get("outputs", {})
        elif event.get("event") == "error":
            said["error"] = event

    finished = watch(child, relay, feedback.isCanceled, cwd=workdir,
                     on_cancel=lambda: feedback.pushInfo(tr("Cancelling: stopping the worker process.")))
    return finished.returncode, said["result"], said["error"], finished.cancelled, finished.stderr_tail


def _parse(line: str):
    if not line.startswith("{"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None
