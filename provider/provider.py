"""The mpm3d Processing provider: algorithms, icon and settings."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..algorithms import ALGORITHMS
from .settings import PLUGIN_DIR, register_settings, unregister_settings


class Mpm3dProvider(QgsProcessingProvider):
    def load(self):
        register_settings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        unregister_settings()

    def loadAlgorithms(self):  # noqa: N802 - QGIS API
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())

    def id(self):
        return "mpm3d"

    def name(self):
        return "3D Prospectivity (DANN-CTA)"

    def longName(self):  # noqa: N802
        return "mpm3d - 3D mineral prospectivity with domain adaptation"

    def icon(self):
        return QIcon(os.path.join(PLUGIN_DIR, "icon.svg"))

    def svgIconPath(self):  # noqa: N802
        return os.path.join(PLUGIN_DIR, "icon.svg")
