"""Tiny stand-in wheels, so that making the worker's environment is tested without downloading PyTorch."""

import os
import zipfile


def write_wheel(folder: str, name: str, version: str, body: str = "") -> str:
    """A pure-Python wheel of package ``name`` whose ``__init__`` holds ``body``; returns its path."""
    dist = f"{name}-{version}.dist-info"
    path = os.path.join(folder, f"{name}-{version}-py3-none-any.whl")
    files = {
        f"{name}/__init__.py": f"__version__ = {version!r}\n{body}",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: mpm3d-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{file},,\n" for file in [*files, f"{dist}/RECORD"])
    with zipfile.ZipFile(path, "w") as wheel:
        for file, text in files.items():
            wheel.writestr(file, text)
    return path


def fake_worker_wheels(folder: str, torch_version: str = "2.13.0+cpu", formats: bool = True) -> str:
    """A wheel folder with stand-ins for torch and safetensors at the pinned versions, and with ``formats`` for
    the block-model formats' libraries this Python gets (runtime.environment.FORMAT_PACKAGES)."""
    import sys

    from mpm3d.runtime.environment import format_requirements

    os.makedirs(folder, exist_ok=True)
    write_wheel(folder, "torch", torch_version)
    write_wheel(folder, "safetensors", "0.4.5")
    if formats:
        for requirement in (r for group in format_requirements(sys.version_info) for r in group):
            write_wheel(folder, *requirement.split("=="))
    return folder


def offline_pip(environ=None) -> dict:
    """The environment without any pip configuration, so that only the test's wheel folder is used."""
    env = {k: v for k, v in (environ or os.environ).items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env
