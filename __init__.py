"""mpm3d QGIS plugin entry point."""


def classFactory(iface):  # noqa: N802 - name fixed by QGIS
    from .plugin import Mpm3dPlugin

    return Mpm3dPlugin(iface)
