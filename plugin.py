"""Registers the Processing provider; no GUI of its own, so it also works in qgis_process."""

from qgis.core import QgsApplication

from .provider.provider import Mpm3dProvider
from .runtime.i18n import load_translator, unload_translator


class Mpm3dPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        # QGIS's interface language (Settings > Options > General, or locale/userLocale), before any algorithm is
        # made: the desktop, the Model Designer and qgis_process all create the plugin through here.
        load_translator()

    def initProcessing(self):  # noqa: N802 - called by QGIS (also headless)
        if self.provider is None:
            self.provider = Mpm3dProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        unload_translator()
