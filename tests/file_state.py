"""What a folder holds, to show that a failed or cancelled run changed nothing: its names, and every file's hash."""

import hashlib
import os


def tree(folder):
    """Every file and folder under ``folder``, relative to it, sorted (a staging folder left behind shows)."""
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, dirs, files in os.walk(folder) for name in files + dirs)


def checksums(*folders):
    """SHA-256 of every file under the folders (a changed, added or removed file changes the dict)."""
    out = {}
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as handle:
                    out[path] = hashlib.sha256(handle.read()).hexdigest()
    return out
