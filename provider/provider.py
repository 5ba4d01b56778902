"""The mpm3d Processing provider: algorithms, icon and settings."""

import glob
import os

from qgis.core import QgsApplication, QgsProcessingModelAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..algorithms import ALGORITHMS
from ..runtime.i18n import tr
from ..runtime.settings import PLUGIN_DIR, register_settings, unregister_settings


class Mpm3dProvider(QgsProcessingProvider):
    def load(self):
        register_settings()
        self.refreshAlgorithms()
        QgsApplication.processingRegistry().providerAdded.connect(self._reload_when_registered)
        return True

    def _reload_when_registered(self, provider_id):
        """Shipped models find their child algorithms (and so their outputs) only once this provider is in
        the registry, which is after load(): load them again then."""
        if provider_id == self.id():
            QgsApplication.processingRegistry().providerAdded.disconnect(self._reload_when_registered)
            self.refreshAlgorithms()

    def unload(self):
        unregister_settings()

    def loadAlgorithms(self):  # noqa: N802 - QGIS API
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
        for path in sorted(glob.glob(os.path.join(PLUGIN_DIR, "models", "*.model3"))):
            model = QgsProcessingModelAlgorithm()
            if model.fromFile(path):
                self.addAlgorithm(model)

    def id(self):
        return "mpm3d"

    def name(self):
        return tr("3D Prospectivity (DANN-CTA)")

    def longName(self):  # noqa: N802
        return tr("mpm3d - 3D mineral prospectivity with domain adaptation")

    def icon(self):
        return QIcon(os.path.join(PLUGIN_DIR, "icon.svg"))

    def svgIconPath(self):  # noqa: N802
        return os.path.join(PLUGIN_DIR, "icon.svg")
