"""Run qgis_process with mpm3d enabled, in the user's profile or an isolated one.

Debian's /usr/bin/qgis_process wrapper passes --noversioncheck, which QGIS 3.22 rejects,
so the real binary (qgis_process.bin) is preferred where it exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def qgis_process_command() -> str:
    for name in ("qgis_process.bin", "qgis_process"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("qgis_process was not found: install QGIS (make setup).")


def environment(profile_root: str | None = None) -> dict:
    """QGIS headless, the plugin's venv importable, and an isolated profile when given."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if profile_root:
        env["QGIS_CUSTOM_CONFIG_PATH"] = profile_root
    venv = os.path.join(PLUGIN_DIR, ".venv")
    if os.path.isdir(venv):
        site = [os.path.join(venv, "lib", d, "site-packages") for d in os.listdir(os.path.join(venv, "lib"))]
        env["PYTHONPATH"] = os.pathsep.join(site + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def isolated_profile(profile_root: str) -> str:
    """A QGIS profile under ``profile_root`` with this checkout linked in as plugin mpm3d, enabled."""
    plugins = os.path.join(profile_root, "profiles", "default", "python", "plugins")
    os.makedirs(plugins, exist_ok=True)
    link = os.path.join(plugins, "mpm3d")
    if not os.path.islink(link):
        os.symlink(PLUGIN_DIR, link)
    enabled = run(["plugins", "enable", "mpm3d"], profile_root)
    if enabled.returncode != 0 and "already enabled" not in enabled.stdout + enabled.stderr:  # a rerun: fine
        raise RuntimeError(f"qgis_process plugins enable mpm3d failed ({enabled.returncode}):\n"
                           f"{enabled.stdout[-3000:]}\n{enabled.stderr[-3000:]}")
    return profile_root


def run(arguments: list[str], profile_root: str | None = None, check: bool = False,
        timeout: float | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([qgis_process_command(), *arguments], env=environment(profile_root),
                            capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise RuntimeError(f"qgis_process {' '.join(arguments)} failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def parameter_arguments(parameters: dict) -> list[str]:
    """NAME=value pairs; a list becomes the repeated NAME=item form qgis_process accepts."""
    out = []
    for name, value in parameters.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            out.append(f"{name}={item}")
    return out


def run_algorithm(algorithm: str, parameters: dict, profile_root: str | None = None,
                  timeout: float | None = None, cwd: str | None = None
                  ) -> tuple[subprocess.CompletedProcess, dict | None]:
    """``qgis_process --json run`` (in ``cwd``); returns the process and its parsed JSON (None if it failed)."""
    result = run(["--json", "run", algorithm, "--", *parameter_arguments(parameters)], profile_root,
                 timeout=timeout, cwd=cwd)
    try:
        parsed = json.loads(result.stdout[result.stdout.index("{"):])
    except ValueError:
        parsed = None
    return result, parsed


if __name__ == "__main__":
    completed = run(sys.argv[1:])
    sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)
    sys.exit(completed.returncode)
