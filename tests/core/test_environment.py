"""The worker's environment: the PyTorch build chosen from nvidia-smi, the base Python, pip's progress, and a
real environment made from local stand-in wheels (built, cancelled, failed), without downloading PyTorch."""

import json
import os
import subprocess
import sys

import pytest
from fake_wheels import fake_worker_wheels, offline_pip
from mpm3d.core.package import child_code
from mpm3d.runtime.environment import (
    SetupCancelled,
    SetupError,
    base_python_candidates,
    create_environment,
    driver_version,
    find_base_python,
    format_install_commands,
    format_requirements,
    pip_install_command,
    pip_progress,
    pip_supports_raw_progress,
    torch_build,
)
from mpm3d.runtime.process import venv_python

SMI_TABLE = """Mon Nov 30 11:45:15 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.86.10              Driver Version: 570.86.10      CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
"""
SMI_FAILED = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
              "latest NVIDIA driver is installed and running.\n")


@pytest.mark.parametrize("output, expected", [
    (SMI_TABLE, (570, 86)),
    ("580.95.05\n580.95.05\n", (580, 95)),  # --query-gpu=driver_version --format=csv,noheader, two GPUs
    ("561.09\n", (561, 9)),  # Windows
    (SMI_FAILED, None),
    ("", None),
    (None, None),
])
def test_driver_version_from_nvidia_smi(output, expected):
    assert driver_version(output) == expected


@pytest.mark.parametrize("output, platform, name", [
    ("580.95.05", "linux", "cu130"),
    ("580.76.05", "win32", "cu128"),  # 580.88 is the Windows minimum for CUDA 13.0
    (SMI_TABLE, "linux", "cu128"),
    ("560.35.03", "linux", "cu126"),
    ("535.183.01", "linux", "cpu"),  # too old for every CUDA build
    (SMI_FAILED, "linux", "cpu"),
    (None, "win32", "cpu"),
    ("580.95.05", "darwin", "pypi"),
])
def test_auto_build_follows_the_driver(output, platform, name):
    build = torch_build("auto", output, platform)
    assert build.name == name
    if name.startswith("cu"):
        assert build.requirement == f"torch==2.13.0+{name}"
        assert build.index_url == f"https://download.pytorch.org/whl/{name}"
    elif name == "cpu":
        assert (build.requirement, build.index_url) == ("torch==2.13.0+cpu", "https://download.pytorch.org/whl/cpu")
        assert "CPU build" in build.reason
    else:
        assert (build.requirement, build.index_url) == ("torch==2.13.0", None)


def test_cpu_and_cuda_choices():
    assert torch_build("cpu", "580.95.05", "linux").name == "cpu"
    assert torch_build("cuda", "570.86.10", "linux").name == "cu128"
    with pytest.raises(SetupError, match="no NVIDIA driver answered"):
        torch_build("cuda", SMI_FAILED, "linux")
    with pytest.raises(SetupError, match=r"535\.183 is older than the 560\.28"):
        torch_build("cuda", "535.183.01", "linux")
    with pytest.raises(SetupError, match="no CUDA build for macOS"):
        torch_build("cuda", None, "darwin")


def test_base_python_is_the_installations_never_qgis_itself():
    linux = base_python_candidates("/usr", "/usr/bin/qgis", (3, 11), "linux")
    assert linux[:2] == ["/usr/bin/python3.11", "/usr/bin/python3"]
    mac = base_python_candidates("/Applications/QGIS.app/Contents/Frameworks",
                                 "/Applications/QGIS.app/Contents/MacOS/QGIS", (3, 12), "darwin")
    assert "/Applications/QGIS.app/Contents/MacOS/bin/python3.12" in mac
    windows = base_python_candidates(r"C:\OSGeo4W\apps\Python312", r"C:\OSGeo4W\bin\qgis-bin.exe", (3, 12), "win32")
    assert windows[:2] == [r"C:\OSGeo4W\bin\python3.exe", r"C:\OSGeo4W\apps\Python312\python.exe"]
    for candidates in (linux, mac, windows):
        assert not any("qgis" in os.path.basename(c).lower() for c in candidates)


def test_the_setup_logic_imports_no_qgis():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = child_code(repo, "import sys, mpm3d.runtime.environment, mpm3d.runtime.process\n"
                      "assert not [m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'processing')]\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_pip_lines_become_progress_and_messages():
    assert pip_progress("Progress 50 of 200\n") == (0.85 * 0.25, None)
    assert pip_progress("Installing collected packages: torch\n") == (0.9, "Installing collected packages: torch")
    assert pip_progress("Collecting torch==2.13.0+cpu\n") == (None, "Collecting torch==2.13.0+cpu")
    assert pip_progress("  Downloading https://download.pytorch.org/whl/cpu/torch-2.13.0.whl (190.2 MB)\n")[1] \
        .startswith("Downloading https://download.pytorch.org")
    assert pip_progress("Successfully installed safetensors-0.4.5 torch-2.13.0+cpu\n")[0] == 1.0
    assert pip_progress("   ━━━━━━━━━━━━━━━━━━━━ 190.2/190.2 MB 11.0 MB/s eta 0:00:00\n") == (None, None)
    assert pip_supports_raw_progress("pip 26.2.1 from /x/pip (python 3.11)")
    assert not pip_supports_raw_progress("pip 23.0.1 from /usr/lib/python3/dist-packages/pip (python 3.11)")


def test_pip_command_offline_or_with_the_pytorch_index():
    build = torch_build("cpu", None, "linux")
    online = pip_install_command("py", ["torch==2.13.0+cpu"], build, None, True)
    assert online[:4] == ["py", "-m", "pip", "install"]
    assert online[online.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert online[online.index("--progress-bar") + 1] == "raw"
    offline = pip_install_command("py", ["torch==2.13.0+cpu"], build, "/w x", False)
    assert "--extra-index-url" not in offline and offline[offline.index("--find-links") + 1] == "/w x"
    assert "--no-index" in offline and offline[-1] == "torch==2.13.0+cpu"


@pytest.mark.parametrize("version, wanted, absent", [
    ((3, 11), ["pyarrow==25.0.1", "omf==1.0.1", "vtk==9.3.1", "h5py==3.12.1", "pydantic==2.11.7"], []),
    ((3, 13), ["pyarrow==25.0.1", "vtk==9.4.2", "h5py==3.12.1", "pydantic==2.11.7"], ["omf==1.0.1"]),
])
def test_the_block_model_formats_are_installed_as_make_setup_pins_them(version, wanted, absent):
    """Two pip commands: the formats' libraries beside QGIS's numpy (pinned, so that none replaces it), then
    geoh5py without its dependencies (its numpy pin would); offline from the wheel folder alike."""
    first, second = format_install_commands("py", version, "1.24.2", None, True)
    assert first[:4] == ["py", "-m", "pip", "install"] and "--no-deps" not in first
    assert first[first.index("--progress-bar") + 2:] == [*wanted, "numpy==1.24.2"]
    assert not set(absent) & set(first) and "--extra-index-url" not in first
    geoh5py = "geoh5py==0.12.2" if version < (3, 12) else "geoh5py==0.13.1"
    assert second[second.index("--progress-bar") + 2:] == ["--no-deps", geoh5py]
    offline = format_install_commands("py", version, "2.2.4", "/w x", False)
    assert all(c[c.index("--find-links") + 1] == "/w x" and "--no-index" in c for c in offline)


@pytest.mark.parametrize("version", [(3, 11), (3, 13)])
def test_the_formats_pins_are_those_of_the_requirements_files(version):
    """The setup algorithm installs what `make setup` installs for that Python (the plugin ZIP holds no
    requirements files, so the pins live in runtime/environment.py too)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def pins(name):
        with open(os.path.join(repo, name), encoding="utf-8") as handle:
            lines = [line.split("#")[0].strip() for line in handle]
        return {line for line in lines if "==" in line}

    tag = f"{version[0]}{version[1]}"
    with_deps, without = format_requirements(version)
    assert set(with_deps) <= pins(f"requirements-py{tag}.txt")
    assert set(without) == pins(f"requirements-py{tag}-nodeps.txt")
    others = pins(f"requirements-py{tag}.txt") - set(with_deps) - {"torch==2.13.0"}
    assert not others, f"pinned for make setup but not installed by the setup algorithm: {others}"


# A real environment, from the Python these tests run on, with stand-in wheels and no network.

@pytest.fixture(scope="module")
def base():
    return find_base_python(base_python_candidates(sys.prefix, sys.executable, sys.version_info), sys.version_info)


@pytest.fixture(scope="module")
def made(base, tmp_path_factory):
    root = tmp_path_factory.mktemp("env")
    wheels = fake_worker_wheels(str(root / "wheels"))
    target = str(root / "worker env 证据")
    reports = []
    python = create_environment(target, base, torch_build("cpu", None), lambda f, m: reports.append((f, m)),
                                lambda: False, wheels, environ=offline_pip())
    return root, wheels, target, python, reports


def _siblings(target):
    return sorted(os.listdir(os.path.dirname(target)))


def test_the_environment_imports_what_the_worker_needs(made):
    root, wheels, target, python, reports = made
    assert python == venv_python(target) and os.path.isfile(python)
    probe = subprocess.run([python, "-c", "import torch, safetensors, numpy; from osgeo import gdal; "
                            "print(torch.__version__, numpy.__version__)"], capture_output=True, text=True)
    assert probe.stdout.split()[0] == "2.13.0+cpu", probe.stderr
    import numpy
    assert probe.stdout.split()[1] == numpy.__version__  # QGIS's own numpy, not one that breaks its GDAL
    record = json.load(open(os.path.join(target, "mpm3d-environment.json"), encoding="utf-8"))
    assert record["torch_build"] == "cpu" and record["wheel_folder"] == wheels
    assert _siblings(target) == ["wheels", "worker env 证据"]  # no staging folder left
    assert os.stat(target).st_mode & 0o755 == 0o755
    fractions = [f for f, _ in reports if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("Successfully installed") for _, m in reports)
    assert record["block_model_formats"] == "installed"
    wanted = [r for group in format_requirements(sys.version_info) for r in group]
    names = ", ".join(r.split("==")[0] for r in wanted)
    formats = subprocess.run([python, "-c", f"import {names}; print(' '.join(m.__version__ for m in ({names})))"],
                             capture_output=True, text=True)
    assert formats.stdout.split() == [r.split("==")[1] for r in wanted], formats.stderr
    pip_script = open(os.path.join(target, "bin", "pip"), encoding="utf-8").read(400)
    assert f"{target}/bin/python" in pip_script and ".building-" not in pip_script  # the final folder, not staging


def test_formats_that_do_not_install_leave_a_working_environment_and_say_so(base, tmp_path):
    """A wheel folder without the formats' libraries: the worker's environment is made all the same (slices and
    CSV need none of them), the report names the packages and the record says they failed."""
    wheels = fake_worker_wheels(str(tmp_path / "wheels"), formats=False)
    reports = []
    python = create_environment(str(tmp_path / "env"), base, torch_build("cpu", None),
                                lambda f, m: reports.append(m), lambda: False, wheels, environ=offline_pip())
    assert os.path.isfile(python)
    record = json.load(open(tmp_path / "env" / "mpm3d-environment.json", encoding="utf-8"))
    assert record["block_model_formats"] == "failed"
    said = [m for m in reports if "did not install" in m]
    assert len(said) == 1 and "vtk==" in said[0] and "geoh5py==" in said[0]


def test_cancel_mid_install_leaves_nothing_and_keeps_the_earlier_environment(made, base):
    root, wheels, target, python, _ = made
    state = {"installing": False}

    def report(fraction, message):
        state["installing"] = state["installing"] or message.startswith("Installing")

    with pytest.raises(SetupCancelled, match="^Cancelled; no environment was made"):
        create_environment(target, base, torch_build("cpu", None), report, lambda: state["installing"], wheels,
                           environ=offline_pip())
    assert _siblings(target) == ["wheels", "worker env 证据"]
    assert os.path.isfile(python)


def test_a_failed_install_leaves_nothing(made, base, tmp_path):
    root, wheels, target, python, _ = made
    with pytest.raises(SetupError, match=r"(?s)^Installing the packages failed.*torch==2.13.0\+cu128"):
        create_environment(target, base, torch_build("cuda", "570.86.10", "linux"), lambda f, m: None,
                           lambda: False, wheels, environ=offline_pip())
    assert _siblings(target) == ["wheels", "worker env 证据"]
    assert os.path.isfile(python)


def test_a_folder_of_other_files_is_refused(base, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SetupError, match="holds files and is not a Python environment"):
        create_environment(str(tmp_path), base, torch_build("cpu", None), lambda f, m: None, lambda: False)
    assert os.listdir(tmp_path) == ["mine.txt"]


def test_a_folder_under_a_file_is_refused_by_name_before_any_work(base, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    target = tmp_path / "notes.txt" / "deeper" / "env"
    with pytest.raises(SetupError, match=r"^FOLDER .*env lies under .*notes\.txt, which is a file"):
        create_environment(str(target), base, torch_build("cpu", None), lambda f, m: None, lambda: False)
    assert os.listdir(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("wheels", ["missing", "empty"])
def test_a_wheel_folder_that_is_missing_or_holds_no_wheel_is_refused_before_any_work(base, tmp_path, wheels):
    folder = tmp_path / wheels
    if wheels == "empty":
        folder.mkdir()
        (folder / "readme.txt").write_text("no wheels here")
    expected = "is not a folder" if wheels == "missing" else r"holds no wheels \(\.whl files\)"
    with pytest.raises(SetupError, match=f"^WHEEL_FOLDER .*{expected}"):
        create_environment(str(tmp_path / "new" / "env"), base, torch_build("cpu", None), lambda f, m: None,
                           lambda: False, str(folder))
    assert not (tmp_path / "new").exists()


def test_a_failed_run_leaves_no_parent_folder_it_made(made, base, tmp_path):
    root, wheels, target, python, _ = made
    with pytest.raises(SetupError, match="^Installing the packages failed"):
        create_environment(str(tmp_path / "a" / "b" / "env"), base, torch_build("cuda", "570.86.10", "linux"),
                           lambda f, m: None, lambda: False, wheels, environ=offline_pip())
    assert os.listdir(tmp_path) == []


def test_a_folder_that_cannot_be_made_is_a_setup_error_naming_folder(base, tmp_path, monkeypatch):
    def refused(**_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("mpm3d.runtime.environment.tempfile.mkdtemp", refused)
    with pytest.raises(SetupError, match=r"^FOLDER .*env cannot be made \(Permission denied\)"):
        create_environment(str(tmp_path / "sub" / "env"), base, torch_build("cpu", None), lambda f, m: None,
                           lambda: False)
    assert os.listdir(tmp_path) == []
