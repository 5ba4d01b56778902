"""All-or-nothing outputs: stage beside the destination, then move the whole set into place.

Every file a run writes goes first into a staging folder next to its destination, named
``.mpm3d-staging-<run id>`` with a random run id, so no file of the user's can ever be taken for
one of ours. Outputs written inside one ``atomic_group`` (a prospectivity cube and its level
rasters, a model and its report) are committed as one set: a journal is written, each earlier
file is moved aside into the staging folder, each new one moved in; if any step fails, what was
there is put back. A failure or a cancel therefore never mixes old and new results and never
destroys an earlier good output.

A worker killed outright cannot clean up after itself: the process that started it gives it a
run id (environment variable ``MPM3D_RUN_ID``), asks it to keep the moved-aside files
(``MPM3D_KEEP_PREVIOUS``) and afterwards calls ``settle_run``, which rolls back every journal of a
failed run and removes the run's staging folders.
"""

from __future__ import annotations

import contextlib
import contextvars
import glob
import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator

from .errors import Mpm3dError
from .paths import check_not_in_plugin

RUN_ID_ENV = "MPM3D_RUN_ID"
KEEP_PREVIOUS_ENV = "MPM3D_KEEP_PREVIOUS"
STAGING_PREFIX = ".mpm3d-staging-"
JOURNAL = "journal-{}.json"

_group: contextvars.ContextVar[_Group | None] = contextvars.ContextVar("mpm3d_atomic_group", default=None)
_process_run_id = secrets.token_hex(8)
_journals = 0


def run_id() -> str:
    """The id that names this run's staging folders: given by the parent process, else random."""
    return os.environ.get(RUN_ID_ENV) or _process_run_id


def new_run_id() -> str:
    return secrets.token_hex(8)


def staging_folder(folder: str, run: str | None = None) -> str:
    return os.path.join(folder, STAGING_PREFIX + (run or run_id()))


class _Group:
    """Staged files waiting to be moved into place, and the folders made for them."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, str]] = []
        self.folders: list[str] = []
        self.stagings: list[str] = []
        self.committed = False  # every file moved in: a signal held during the commit may still surface after


def new_folders(path: str) -> list[str]:
    """The folders that writing the file ``path`` would create, deepest first."""
    missing = []
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def check_output_path(path: str, is_folder: bool = False) -> None:
    """A clear error where ``path`` cannot be written; creates nothing, so a failed run leaves no folder behind."""
    target = os.path.abspath(path)
    check_not_in_plugin(target)
    if is_folder and os.path.exists(target) and not os.path.isdir(target):
        raise Mpm3dError(f"cannot use {path} as the output folder: it is a file; choose another folder")
    if not is_folder and os.path.isdir(target):
        raise Mpm3dError(f"cannot write {path}: it is a folder; give a file name")
    missing = new_folders(os.path.join(target, "file") if is_folder else target)
    for folder in missing:
        if os.path.islink(folder):
            raise Mpm3dError(f"cannot write {path}: {folder} is a broken symbolic link (to {os.readlink(folder)}); "
                             "remove the link or choose another output path")
    existing = os.path.dirname(missing[-1]) if missing else (target if is_folder else os.path.dirname(target))
    if not os.path.isdir(existing):
        raise Mpm3dError(f"cannot write {path}: {existing} is a file, not a folder; choose another output path")
    if not os.access(existing, os.W_OK):
        raise Mpm3dError(f"cannot write {path}: the folder {existing} is not writable; choose another output path")


def _make_folder(path: str, group: _Group) -> str:
    """Create the folder of ``path`` (recorded, so a failed group removes it again)."""
    check_output_path(path)
    folder = os.path.dirname(os.path.abspath(path))
    created = new_folders(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise Mpm3dError(f"cannot create the output folder {folder}: {exc.strerror}; "
                         "choose another output path") from exc
    group.folders.extend(created)
    return folder


@contextlib.contextmanager
def atomic_group() -> Iterator[None]:
    """Outputs written inside appear together when the block succeeds; on failure none appears.

    Nested groups join the outermost one.
    """
    if _group.get() is not None:
        yield
        return
    group = _Group()
    token = _group.set(group)
    try:
        yield
        _commit(group)
    finally:
        _group.reset(token)
        if not group.committed or not os.environ.get(KEEP_PREVIOUS_ENV):
            for staging in group.stagings:
                shutil.rmtree(staging, ignore_errors=True)
        if not group.committed:
            _remove_empty(group.folders)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a staged path for ``path``; it replaces ``path`` only if the block (and its group) succeeds."""
    with atomic_group():
        group = _group.get()
        destination = os.path.abspath(path)
        if any(os.path.abspath(dest) == destination for _, dest in group.pending):
            raise Mpm3dError(f"{path} is given for two outputs of one run; give each output its own file")
        folder = _make_folder(path, group)
        staging = staging_folder(folder)
        if staging not in group.stagings:
            os.makedirs(staging, exist_ok=True)
            group.stagings.append(staging)
        # short staged names: a destination name near the file-system's limit must still fit with a suffix
        tmp = os.path.join(staging, f"{len(group.pending)}{os.path.splitext(path)[1][:16]}")
        group.pending.append((tmp, destination))
        try:
            yield tmp
        except OSError as exc:  # a full disk or a vanished folder: the user's to fix, and nothing was replaced
            raise Mpm3dError(f"cannot write {path}: {exc.strerror or exc}; nothing was replaced. Free some space "
                             "or choose another output path") from exc


def _commit(group: _Group) -> None:
    """Move every staged file into place, earlier files aside first; put them back if any step fails.

    A Cancel (SIGTERM) waits until the whole set is in place or rolled back.
    """
    global _journals
    mask = getattr(signal, "pthread_sigmask", None)
    block = mask is not None and threading.current_thread() is threading.main_thread()
    previous = mask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT}) if block else None
    try:
        entries = []
        for tmp, path in group.pending:
            if not os.path.exists(tmp):
                raise Mpm3dError(f"the writer of {path} finished without writing it")
            entries.append({"tmp": tmp, "path": path, "previous": tmp + ".previous",
                            "had_previous": os.path.lexists(path)})
        if not entries:
            return
        _journals += 1
        journal = os.path.join(group.stagings[0], JOURNAL.format(_journals))
        with open(journal, "w", encoding="utf-8") as handle:
            json.dump(entries, handle)
            handle.flush()
            os.fsync(handle.fileno())
        entry = entries[0]
        try:
            for entry in entries:
                if entry["had_previous"]:
                    os.replace(entry["path"], entry["previous"])
                os.replace(entry["tmp"], entry["path"])
            group.committed = True  # before the held SIGTERM is let through: its journal must outlive the exit
        except BaseException as exc:
            roll_back(entries)
            if isinstance(exc, OSError):
                raise Mpm3dError(f"cannot write {entry['path']}: {exc.strerror}; nothing was "
                                 "replaced. Close the file where another program holds it, or choose another output "
                                 "path") from exc
            raise
    finally:
        if block:
            mask(signal.SIG_SETMASK, previous)


def roll_back(entries: list[dict]) -> None:
    """Put back what was there before a (partial) commit: earlier files restored, new ones removed."""
    for entry in reversed(entries):
        if os.path.lexists(entry["previous"]):
            os.replace(entry["previous"], entry["path"])
        elif not entry["had_previous"] and not os.path.lexists(entry["tmp"]) and os.path.lexists(entry["path"]):
            os.unlink(entry["path"])


def settle_run(run: str, output_paths: Iterable[str], created_folders: Iterable[str], succeeded: bool) -> None:
    """After a worker has ended: on failure roll back its journals; then remove its staging folders.

    ``output_paths`` are the run's outputs (a ``*`` in a file name stands for a set of files); their
    folders are where its staging folders lie. ``created_folders`` were made for the run and are
    removed again where a failed run left them empty.
    """
    folders = {os.path.dirname(os.path.abspath(path)) for path in output_paths if path}
    stagings = [staging_folder(folder, run) for folder in sorted(folders)]
    stagings = [staging for staging in stagings if os.path.isdir(staging)]
    if not succeeded:
        journals = [path for staging in stagings for path in glob.glob(os.path.join(glob.escape(staging), "journal-*"))]
        for journal in sorted(journals, key=_journal_number, reverse=True):
            with contextlib.suppress(OSError, ValueError), open(journal, encoding="utf-8") as handle:
                roll_back(json.load(handle))
    for staging in stagings:
        shutil.rmtree(staging, ignore_errors=True)
    if not succeeded:
        _remove_empty(created_folders)


def _journal_number(path: str) -> int:
    return int(os.path.basename(path)[len("journal-"):-len(".json")])


def _remove_empty(folders: Iterable[str]) -> None:
    for folder in sorted(set(folders), key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)
