"""Atomic outputs: write beside the destination, rename into place only on success.

A failure or a cancel therefore never leaves a half-written file where a finished one was
expected, and never destroys an earlier good output. Outputs written inside one
``atomic_group`` (a prospectivity cube and its level rasters, a model and its report) appear
together or not at all. A writer killed outright (out of memory) cannot clean up after itself:
the process that started it removes what ``partial_pattern`` and ``new_folders`` describe.
"""

from __future__ import annotations

import contextlib
import contextvars
import glob
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator

from .errors import Mpm3dError

_group: contextvars.ContextVar[_Group | None] = contextvars.ContextVar("mpm3d_atomic_group", default=None)


class _Group:
    """Temporaries waiting to be renamed into place, and the folders made for them."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, str]] = []
        self.folders: list[str] = []


def partial_pattern(path: str) -> str:
    """Glob of the temporaries ``atomic_path`` makes for ``path``; a ``*`` in the file name matches anything."""
    folder, name = os.path.split(os.path.abspath(path))
    base, ext = os.path.splitext(name)
    return os.path.join(glob.escape(folder), f".{glob.escape(base).replace('[*]', '*')}.*.partial{glob.escape(ext)}")


def new_folders(path: str) -> list[str]:
    """The folders that writing the file ``path`` would create, deepest first."""
    missing = []
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def remove_leftovers(paths: Iterable[str], folders: Iterable[str] = ()) -> None:
    """Partial temporaries of ``paths`` and, where empty, ``folders`` (deepest first): what a killed writer left."""
    for path in paths:
        for leftover in glob.glob(partial_pattern(path)):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    for folder in sorted(set(folders), key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def check_output_path(path: str, is_folder: bool = False) -> None:
    """A clear error where ``path`` cannot be written; creates nothing, so a failed run leaves no folder behind."""
    target = os.path.abspath(path)
    if is_folder and os.path.exists(target) and not os.path.isdir(target):
        raise Mpm3dError(f"cannot use {path} as the output folder: it is a file; choose another folder")
    if not is_folder and os.path.isdir(target):
        raise Mpm3dError(f"cannot write {path}: it is a folder; give a file name")
    missing = new_folders(os.path.join(target, "file") if is_folder else target)
    existing = os.path.dirname(missing[-1]) if missing else (target if is_folder else os.path.dirname(target))
    if not os.path.isdir(existing):
        raise Mpm3dError(f"cannot write {path}: {existing} is a file, not a folder; choose another output path")
    if not os.access(existing, os.W_OK):
        raise Mpm3dError(f"cannot write {path}: the folder {existing} is not writable; choose another output path")


def ensure_writable_folder(path: str) -> str:
    """Create the folder of ``path`` if needed; a clear error where that is impossible."""
    check_output_path(path)
    folder = os.path.dirname(os.path.abspath(path))
    created = new_folders(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise Mpm3dError(f"cannot create the output folder {folder}: {exc.strerror}; "
                         "choose another output path") from exc
    group = _group.get()
    if group is not None:
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
        _commit(group.pending)
        group.pending.clear()
    finally:
        _group.reset(token)
        if group.pending:
            for tmp, _ in group.pending:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            remove_leftovers([], group.folders)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block (and its group) succeeds."""
    with atomic_group():
        group = _group.get()
        folder = ensure_writable_folder(path)
        base, ext = os.path.splitext(os.path.basename(path))
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".partial{ext}", dir=folder)
        os.close(fd)
        os.unlink(tmp)  # writers (GDAL among them) want to create the file themselves
        group.pending.append((tmp, path))
        yield tmp


def _commit(pending: list[tuple[str, str]]) -> None:
    """Rename every finished temporary into place; a Cancel (SIGTERM) waits until all are renamed."""
    mask = getattr(signal, "pthread_sigmask", None)
    block = mask is not None and threading.current_thread() is threading.main_thread()
    previous = mask(signal.SIG_BLOCK, {signal.SIGTERM}) if block else None
    try:
        for tmp, path in pending:
            if not os.path.exists(tmp):
                raise Mpm3dError(f"the writer of {path} finished without writing it")
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise Mpm3dError(f"cannot write {path}: {exc.strerror}; choose another output path") from exc
    finally:
        if block:
            mask(signal.SIG_SETMASK, previous)
