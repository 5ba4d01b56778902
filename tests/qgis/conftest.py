"""Headless QGIS: the plugin imported as package ``mpm3d`` and its provider registered once."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))


def _package_root(tmp_root: str) -> str:
    """A folder holding a link named ``mpm3d`` to this checkout, whatever the checkout is called."""
    link = os.path.join(tmp_root, "mpm3d")
    if not os.path.islink(link):
        os.symlink(REPO, link)
    return tmp_root


@pytest.fixture(scope="session")
def provider(qgis_processing, tmp_path_factory):
    from qgis.core import QgsApplication

    sys.path.insert(0, _package_root(str(tmp_path_factory.mktemp("pkg"))))
    from mpm3d.provider.provider import Mpm3dProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("mpm3d") is None:
        registry.addProvider(Mpm3dProvider())
    return registry.providerById("mpm3d")


@pytest.fixture(scope="session")
def qgis_profile(tmp_path_factory):
    """An isolated QGIS profile with the plugin enabled, for qgis_process runs."""
    import qgis_process

    return qgis_process.isolated_profile(str(tmp_path_factory.mktemp("profile")))


@pytest.fixture(scope="session")
def synthetic_slices(provider, tmp_path_factory):
    """The synthetic pair at test size, written once through the algorithm."""
    import processing

    folder = str(tmp_path_factory.mktemp("synthetic"))
    return processing.run("mpm3d:generate_synthetic_pair", {
        "LEVELS": 8, "ROWS": 24, "COLUMNS": 28, "CELL_SIZE": 25, "LEVEL_SPACING": 50, "SEED": 3,
        "OUTPUT_FOLDER": folder})
