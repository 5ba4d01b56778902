"""Where a run may write: never over one of its own inputs, never inside the plugin's own folder.

Both checks run before any work, so a mistaken output path costs the user a message, not a file.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping, Sequence

from .errors import Mpm3dError

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The plugin's own parts: files at the top of its folder and these folders are never written to.
PLUGIN_FOLDERS = ("core", "algorithms", "provider", "runtime", "models", "docs", "i18n", "help", "scripts", "tests",
                  "bench", ".git", ".venv", ".ci")
# The longest name one folder entry may have (ext4, XFS, APFS: bytes; NTFS: UTF-16 units).
NAME_MAX = 255
MAX_TAG_DIGITS = 24  # longer positional elevations are written with an exponent (file names have a length limit)
# An escaped glob character ('[*]') of a level-raster glob, which stands for itself.
_ESCAPED = re.compile(r"\[[\[*?]\]")


def absolute(path: str, base: str | None = None) -> str:
    """``path`` made absolute against ``base`` (default: the working directory), ``~`` expanded."""
    path = os.path.expanduser(path)
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base or os.getcwd(), path))


def check_not_in_plugin(path: str) -> None:
    """Refuse a destination among the plugin's own files (a relative path once landed there)."""
    real = os.path.realpath(path)
    plugin = os.path.realpath(PLUGIN_DIR)
    if os.path.commonpath([real, plugin]) != plugin:
        return
    parts = os.path.relpath(real, plugin).split(os.sep)
    if parts == ["."] or len(parts) == 1 or parts[0] in PLUGIN_FOLDERS:
        raise Mpm3dError(f"will not write {path}: it is inside the mpm3d plugin's own folder ({PLUGIN_DIR}); "
                         "choose an output path in your project or data folder")


def same_file(a: str, b: str) -> bool:
    """The same file by path, through symbolic links, or as hard links of one file."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def same_content(a: str, b: str) -> bool:
    """The same file, or a byte-for-byte copy of it (read in chunks, stopping at the first difference)."""
    if same_file(a, b):
        return True
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as first, open(b, "rb") as second:
            while True:
                chunk = first.read(1 << 20)
                if chunk != second.read(1 << 20):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def check_distinct(inputs: Mapping[str, Sequence[str]], outputs: Mapping[str, Sequence[str]]) -> None:
    """Refuse a run whose output would overwrite one of its inputs, or whose two outputs are one file.

    ``inputs`` and ``outputs`` map a parameter name to its files; an output may be a glob
    (``folder/prefix_z*.tif``) standing for a set of files the run writes.
    """
    named_inputs = [(name, path) for name, paths in inputs.items() for path in paths if path]
    named_outputs = [(name, path) for name, paths in outputs.items() for path in paths if path]
    for name, path in named_outputs:
        check_output_name(path, name)
    for out_name, out_path in named_outputs:
        for in_name, in_path in named_inputs:
            if _covers(out_path, in_path):
                raise Mpm3dError(
                    f"{out_name} would overwrite the input {in_name} ({in_path}): the run would destroy its own "
                    f"input. Choose another file name{' or folder' if _is_glob(out_path) else ''} for {out_name}.")
    for index, (name_a, path_a) in enumerate(named_outputs):
        for name_b, path_b in named_outputs[index + 1:]:
            if not _is_glob(path_a) and not _is_glob(path_b) and same_file(path_a, path_b):
                raise Mpm3dError(f"{name_a} and {name_b} are the same file ({path_a}): give each output its own "
                                 "file name.")


def _is_glob(path: str) -> bool:
    return any(c in os.path.basename(path) for c in "*?[")


def _covers(output: str, path: str) -> bool:
    """Whether writing ``output`` (a file, or a glob of files) would replace the file ``path``."""
    if not _is_glob(output):
        return same_file(output, path)
    folder, pattern = os.path.split(output)
    real = os.path.realpath(path)
    return (os.path.dirname(real) == os.path.realpath(folder)
            and fnmatch.fnmatch(os.path.basename(real), pattern)) or (
        os.path.dirname(os.path.abspath(path)) == os.path.abspath(folder)
        and fnmatch.fnmatch(os.path.basename(path), pattern))


def check_output_name(path: str, parameter: str) -> None:
    """Before any work: an output path without control characters (a pasted newline or tab would make a file
    nobody can type) and with no name longer than the file system allows, which would fail only after the
    work. The names of a level-raster glob are not checked here: which maps a run writes and their elevation tags
    are known only once its cube and model are read, where ``check_level_names`` checks the real names."""
    control = _control_characters(path)
    if control:
        raise Mpm3dError(f"{parameter}: the output path {path!r} holds a control character ({control}); remove it "
                         "(a newline or tab pasted with the name).")
    for part in path.replace("\\", "/").split("/"):
        if "*" in _ESCAPED.sub("", part):  # a glob's names: checked exactly where they are known
            continue
        length = len(part) if os.name == "nt" else len(os.fsencode(part))
        if length > NAME_MAX:
            raise Mpm3dError(f"{parameter}: the name {part[:40]}... is {length} bytes long, and a file or folder "
                             f"name may have at most {NAME_MAX}; choose a shorter name.")


def check_level_names(names: Sequence[str], prefix: str, parameter: str = "OUTPUT_FOLDER",
                      prefix_parameter: str = "PREFIX") -> None:
    """Before any work: the level rasters' real file names, each ``prefix`` + its map and elevation tag, fit the
    file system's limit. Refused, the message names the longest file and how long PREFIX may be for these levels."""
    lengths = {name: len(name) if os.name == "nt" else len(os.fsencode(name)) for name in names}
    longest = max(lengths, key=lengths.get, default="")
    if not longest or lengths[longest] <= NAME_MAX:
        return
    allowed = NAME_MAX - (lengths[longest] - (len(prefix) if os.name == "nt" else len(os.fsencode(prefix))))
    advice = (f"choose a {prefix_parameter} of at most {allowed} bytes for these levels" if allowed > 0
              else f"choose a shorter {prefix_parameter}")
    raise Mpm3dError(f"{parameter}: the level raster {longest[:40]}...{longest[-24:]} would be {lengths[longest]} "
                     f"bytes long, and a file name may have at most {NAME_MAX}; {advice} (the level rasters add "
                     "their map and elevation to it).")


def _control_characters(text: str) -> str:
    """The control characters in ``text`` as Python writes them ('\\n, \\t'); empty when there are none."""
    return ", ".join(dict.fromkeys(repr(c)[1:-1] for c in text if ord(c) < 32 or ord(c) == 127))


def check_prefix(prefix: str, parameter: str = "PREFIX") -> None:
    """A file-name prefix stays a name: no folder part, so the files land in the folder the user chose, and no
    control character."""
    separators = {"/", os.sep, os.altsep or "/"}
    if not prefix.strip():
        raise Mpm3dError(f"{parameter} is empty: the level rasters are named by it and their elevation; give a "
                         "file-name start such as 'prospectivity'.")
    if any(sep in prefix for sep in separators) or os.path.isabs(prefix):
        raise Mpm3dError(f"{parameter} '{prefix}' must be a plain file-name start without a folder part ('/' or "
                         "'\\'); choose the folder with OUTPUT_FOLDER.")
    control = _control_characters(prefix)
    if control:
        raise Mpm3dError(f"{parameter} {prefix!r} holds a control character ({control}); remove it (a newline or "
                         "tab pasted with the name).")
