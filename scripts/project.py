"""A QGIS project of prospectivity level rasters, grouped per method and styled; and a PNG of it."""

from __future__ import annotations

import glob
import os
import sys
import tempfile

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _qgis():
    """A headless QgsApplication (once) and the plugin importable as ``mpm3d``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    if QgsApplication.instance() is None:
        _qgis.app = QgsApplication([], False)
        _qgis.app.initQgis()
    bundled_plugins = os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")  # QGIS's `processing`
    if bundled_plugins not in sys.path:
        sys.path.append(bundled_plugins)
    try:
        import mpm3d  # noqa: F401
    except ImportError:
        holder = tempfile.mkdtemp(prefix="mpm3d_pkg_")
        os.symlink(PLUGIN_DIR, os.path.join(holder, "mpm3d"))
        sys.path.insert(0, holder)


def level_layers(folder: str, group_name: str, prefix: str, kind: str = "prospectivity"):
    """Styled raster layers of one map's level rasters (``prefix`` as given to prediction), top level first."""
    _qgis()
    from mpm3d.algorithms.base import map_styler
    from mpm3d.core.jobs import map_prefix
    from mpm3d.core.slices import elevation_from_name, level_files
    from qgis.core import QgsRasterLayer

    style = map_styler(kind)
    label = group_name if kind == "prospectivity" else f"{group_name} {kind}"
    layers = []
    for path in sorted(glob.glob(level_files(folder, map_prefix(prefix, kind))), key=elevation_from_name,
                       reverse=True):
        layer = QgsRasterLayer(path, f"{label} z {elevation_from_name(path):g} m")
        if not layer.isValid():
            raise RuntimeError(f"QGIS cannot open {path}")
        style(layer)
        layers.append(layer)
    return layers


def styled_vector_layers(targets_path: str, voxels_path: str, voxel_size: float):
    """The exploration targets (styled by rank) and the 3D voxels (0-1 ramp, 3D renderer) of the demo."""
    _qgis()
    from mpm3d.algorithms.extract_targets import rank_renderer
    from mpm3d.algorithms.voxels_3d import style_prospectivity_points
    from qgis.core import QgsVectorLayer

    targets = QgsVectorLayer(targets_path, "Exploration targets", "ogr")
    voxels = QgsVectorLayer(voxels_path, "Prospectivity voxels (3D)", "ogr")
    for layer in (targets, voxels):
        if not layer.isValid():
            raise RuntimeError(f"QGIS cannot open {layer.source()}")
    targets.setRenderer(rank_renderer(targets.featureCount()))
    style_prospectivity_points(voxel_size)(voxels)
    return [targets, voxels]


def build_project(path: str, level_folders: dict[str, tuple[str, str]], extra_layers=()) -> str:
    """One group per method (the first visible), holding a subgroup per map (prospectivity, uncertainty,
    novelty), top level first inside each; ``level_folders`` maps a method to (folder, prefix)."""
    _qgis()
    from mpm3d.core.jobs import MAP_OUTPUTS
    from qgis.core import QgsProject

    project = QgsProject()
    root = project.layerTreeRoot()
    for index, (method, (folder, prefix)) in enumerate(level_folders.items()):
        group = root.addGroup(f"{method}")
        for kind in MAP_OUTPUTS:
            layers = level_layers(folder, method, prefix, kind)
            if not layers:
                continue
            subgroup = group.addGroup(f"{method} {kind}")
            for position, layer in enumerate(layers):
                project.addMapLayer(layer, False)
                node = subgroup.addLayer(layer)
                node.setItemVisibilityChecked(index == 0 and kind == "prospectivity" and position == 0)
            subgroup.setExpanded(index == 0 and kind == "prospectivity")
            if index == 0 and kind == "prospectivity":
                project.setCrs(layers[0].crs())
        group.setExpanded(index == 0)
    for position, layer in enumerate(extra_layers):
        project.addMapLayer(layer, False)
        root.insertLayer(position, layer)
    if not project.write(path):
        raise RuntimeError(f"Could not write the project {path}")
    return path


def render_png(layers, path: str, size: int = 512) -> str:
    """Render layers to a PNG headlessly (what a user would see in the map canvas)."""
    _qgis()
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(list(layers))
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(layers[0].extent())
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    if not job.renderedImage().save(path, "PNG"):
        raise RuntimeError(f"Could not save {path}")
    return path
