"""Atomic outputs: write beside the destination, rename into place only on success.

A failure or a cancel therefore never leaves a half-written file where a finished one was
expected, and never destroys an earlier good output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

from .errors import Mpm3dError


def ensure_writable_folder(path: str) -> str:
    """Create the folder of ``path`` if needed; a clear error where that is impossible."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise Mpm3dError(f"Cannot create the output folder {folder}: {exc.strerror}") from exc
    if not os.access(folder, os.W_OK):
        raise Mpm3dError(f"The output folder {folder} is not writable; choose another output path.")
    return folder


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds."""
    folder = ensure_writable_folder(path)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".partial{ext}", dir=folder)
    os.close(fd)
    os.unlink(tmp)  # writers (GDAL among them) want to create the file themselves
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
