"""A QGIS project of prospectivity level rasters, grouped per method and styled; and a PNG of it."""

from __future__ import annotations

import glob
import os
import runpy
import sys

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _qgis():
    """A headless QgsApplication (once) and the plugin importable as ``mpm3d``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    if QgsApplication.instance() is None:
        _qgis.app = QgsApplication([], False)
        _qgis.app.initQgis()
    try:  # 3D renderers are read back from styles only once QGIS's 3D library has registered them
        from qgis._3d import Qgs3D

        Qgs3D.initialize()
    except ImportError:
        pass
    bundled_plugins = os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")  # QGIS's `processing`
    if bundled_plugins not in sys.path:
        sys.path.append(bundled_plugins)
    runpy.run_path(os.path.join(PLUGIN_DIR, "core", "package.py"))["load_plugin_package"](PLUGIN_DIR)


def level_layers(folder: str, group_name: str, prefix: str, kind: str = "prospectivity"):
    """Styled raster layers of one map's level rasters (``prefix`` as given to prediction), top level first."""
    _qgis()
    from mpm3d.algorithms.styles import map_styler
    from mpm3d.core.data.slices import elevation_from_name, level_files
    from mpm3d.core.jobs import map_prefix
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


def vector_layers(targets_path: str, footprints_path: str, voxels_path: str):
    """The targets' footprints and points and the 3D voxels, opened as any user would open the GeoPackages:
    they carry the styles the algorithms stored in them (2D, labels and 3D)."""
    _qgis()
    from qgis.core import QgsVectorLayer

    layers = []
    for path, name in ((footprints_path, "Target footprints"), (targets_path, "Exploration targets"),
                       (voxels_path, "Prospectivity voxels (3D)")):
        layer = QgsVectorLayer(path, name, "ogr")
        if not layer.isValid():
            raise RuntimeError(f"QGIS cannot open {path}")
        layers.append(layer)
    return layers


def drill_hole_layer(csv_path: str, crs: str, radius: float):
    """The drill-hole samples as a point layer with Z, read from their CSV table (x, y, z, ore) as a user adds a
    delimited-text layer, styled ore/barren in plan and as beads along the holes in the 3D view."""
    _qgis()
    from mpm3d.algorithms.styles import drill_hole_styler
    from qgis.core import QgsVectorLayer
    from qgis.PyQt.QtCore import QUrl

    uri = (f"{QUrl.fromLocalFile(os.path.abspath(csv_path)).toString()}?type=csv&delimiter=,&xField=x&yField=y"
           f"&zField=z&crs={crs}&spatialIndex=no&subsetIndex=no&watchFile=no")
    layer = QgsVectorLayer(uri, "Target drill holes", "delimitedtext")
    if not layer.isValid():
        raise RuntimeError(f"QGIS cannot open {csv_path} as points")
    drill_hole_styler(radius)(layer)
    return layer


def build_project(path: str, level_folders: dict[str, tuple[str, str]], shown: str, vectors=(),
                  scene_layers=(), off_in_2d=()) -> str:
    """A project that reads at a glance as opened.

    The targets on top (footprints labelled by rank and depth, the points); the voxels listed but off in
    2D (they draw every depth at once) and on in the saved 3D view. Below, one group per method in a
    mutually exclusive group, ``shown`` checked; in each, a group per map (prospectivity, uncertainty,
    novelty), one shown at a time, and in each map its levels, one shown at a time, the top level first.
    ``level_folders`` maps a method to (folder, prefix). ``scene_layers`` are the layers of the 3D view
    saved with the project; ``off_in_2d`` those of ``vectors`` left unchecked in the 2D map.
    """
    _qgis()
    from mpm3d.algorithms.styles import title_legend
    from mpm3d.core.jobs import MAP_OUTPUTS
    from qgis.core import QgsProject

    project = QgsProject()
    root = project.layerTreeRoot()
    targets = root.addGroup("Targets")
    for layer in vectors:
        project.addMapLayer(layer, False)
        node = targets.addLayer(layer)
        node.setItemVisibilityChecked(layer.id() not in {hidden.id() for hidden in off_in_2d})
    maps = root.addGroup("Prospectivity maps")
    first_layer = None
    for method, (folder, prefix) in level_folders.items():
        group = maps.addGroup(method)
        for kind in MAP_OUTPUTS:
            layers = level_layers(folder, method, prefix, kind)
            if not layers:
                continue
            subgroup = group.addGroup(f"{method} {kind}")
            for layer in layers:
                project.addMapLayer(layer, False)
                subgroup.addLayer(layer)
                title_legend(layer, project, kind)
            subgroup.setIsMutuallyExclusive(True, 0)  # the top level shown
            subgroup.setExpanded(method == shown and kind == "prospectivity")
            first_layer = first_layer or (layers[0] if method == shown else None)
        group.setIsMutuallyExclusive(True, 0)  # prospectivity shown
        group.setExpanded(method == shown)
    maps.setIsMutuallyExclusive(True, list(level_folders).index(shown))
    project.setCrs(first_layer.crs())
    if scene_layers:
        add_scene_view(project, list(scene_layers), first_layer.extent(), _elevation_range(level_folders))
    if not project.write(path):
        raise RuntimeError(f"Could not write the project {path}")
    return path


SCENE_VIEW = "Prospectivity in 3D"


def add_scene_view(project, layers, extent, z_range: tuple[float, float], pitch: float = 55.0,
                   yaw: float = 20.0) -> None:
    """Save a 3D map view with the project, as QGIS 3.22 desktop writes one (``mapViewDocks3D``): its layers,
    a flat terrain over ``extent`` and the camera on the middle of the volume, far enough to see it whole.

    QGIS 3.22 has no Python API that writes a 3D view (Qgs3DMapSettings.writeXml crashes without a terrain
    generator, and QgsProject.viewsManager() came in 3.24), so the element is written when the project is.
    """
    from qgis.PyQt.QtXml import QDomDocument

    centre = extent.center()
    low, high = z_range
    span = max(extent.width(), extent.height(), high - low)

    def write(document: QDomDocument) -> None:
        docks = document.createElement("mapViewDocks3D")
        view = document.createElement("view")
        view.setAttribute("name", SCENE_VIEW)
        view.setAttribute("isOpen", "1")
        settings = document.createElement("qgis3d")
        for tag, attributes in (
                ("origin", {"x": centre.x(), "y": centre.y(), "z": 0}),
                ("camera", {"field-of-view": 45, "projection-type": 1, "camera-navigation-mode": "basic-navigation",
                            "camera-movement-speed": 5}),
                ("color", {"background": "255,255,255,255", "selection": "255,255,0,255"})):
            element = document.createElement(tag)
            for key, value in attributes.items():
                element.setAttribute(key, str(value))
            settings.appendChild(element)
        crs = document.createElement("crs")
        project.crs().writeXml(crs, document)
        settings.appendChild(crs)
        terrain = document.createElement("terrain")
        for key, value in {"exaggeration": 1, "texture-size": 1024, "max-terrain-error": 3, "max-ground-error": 1,
                           "shading-enabled": 0, "elevation-offset": 0, "show-labels": 1}.items():
            terrain.setAttribute(key, str(value))
        listed = document.createElement("layers")
        for layer in layers:
            entry = document.createElement("layer")
            entry.setAttribute("id", layer.id())
            listed.appendChild(entry)
        terrain.appendChild(listed)
        generator = document.createElement("generator")
        generator.setAttribute("type", "flat")
        bounds = document.createElement("extent")
        for key, value in (("xmin", extent.xMinimum()), ("ymin", extent.yMinimum()), ("xmax", extent.xMaximum()),
                           ("ymax", extent.yMaximum())):
            bounds.setAttribute(key, repr(value))
        generator.appendChild(bounds)
        terrain.appendChild(generator)
        settings.appendChild(terrain)
        view.appendChild(settings)
        camera = document.createElement("camera")  # the pose: world x, world y (= -north), elevation
        for key, value in {"x": 0.0, "y": 0.0, "elev": (low + high) / 2, "dist": 1.6 * span, "pitch": pitch,
                           "yaw": yaw}.items():
            camera.setAttribute(key, repr(float(value)))
        view.appendChild(camera)
        docks.appendChild(view)
        document.documentElement().appendChild(docks)

    project.writeProject.connect(write)


def _elevation_range(level_folders) -> tuple[float, float]:
    from mpm3d.core.data.slices import elevation_from_name, level_files

    elevations = [elevation_from_name(p) for folder, prefix in level_folders.values()
                  for p in glob.glob(level_files(folder, prefix))]
    return min(elevations), max(elevations)


def render_png(layers, path: str, size: int = 512, extent_layer=None) -> str:
    """Render layers (the first drawn on top) to a PNG headlessly, as the map canvas shows them, over the
    extent of ``extent_layer`` (else the first layer's)."""
    _qgis()
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(list(layers))
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent((extent_layer or layers[0]).extent())
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    if not job.renderedImage().save(path, "PNG"):
        raise RuntimeError(f"Could not save {path}")
    return path


def render_project(project_path: str, path: str, size: int = 640) -> list[str]:
    """The project's map as opened: every layer the layer tree shows, in its drawing order, over the extent
    of the bottom one (the shown level raster). Returns the names of the layers drawn."""
    _qgis()
    from qgis.core import QgsProject

    project = QgsProject()
    if not project.read(project_path):
        raise RuntimeError(f"QGIS cannot read the project {project_path}")
    shown = [node.layer() for node in project.layerTreeRoot().findLayers() if node.isVisible()]
    render_png(shown, path, size, extent_layer=shown[-1])
    return [layer.name() for layer in shown]


def render_scene_png(voxels_path: str, targets_path: str, path: str, holes_csv: str | None = None) -> str:
    """What the saved 3D view holds, drawn with matplotlib (QGIS 3.22 cannot render its 3D view without a
    GL context): voxels at their elevation in the level rasters' colours, targets as numbered spheres, and
    the drill-hole samples (ore red, barren grey) where given."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from osgeo import ogr

    def rows(file, fields):
        source = ogr.Open(file)  # kept while its layer is read: OGR frees the layer with its data source
        return [(*feature.GetGeometryRef().GetPoint(), *(feature.GetField(f) for f in fields))
                for feature in source.GetLayer(0)]

    voxels = rows(voxels_path, ["prospectivity"])
    targets = sorted(rows(targets_path, ["rank"]), key=lambda row: row[3])
    figure = plt.figure(figsize=(8, 6.5))
    axes = figure.add_subplot(projection="3d", computed_zorder=False)  # targets drawn over the voxel cloud
    x, y, z, p = (np.array(column) for column in zip(*voxels, strict=True))
    west, south = x.min(), y.min()  # metres from the model's south-west corner: readable ticks
    drawn = axes.scatter(x - west, y - south, z, c=p, cmap="viridis", vmin=0, vmax=1, marker="s", s=6, alpha=0.15,
                         depthshade=False, zorder=1)
    for tx, ty, tz, rank in targets[:10]:
        axes.scatter([tx - west], [ty - south], [tz], s=160 if rank == 1 else 80, zorder=5, depthshade=False,
                     color="#e41a1c" if rank == 1 else "#f768a1", edgecolor="black")
        axes.text(tx - west, ty - south, tz, f"  {rank}", fontsize=10, weight="bold", zorder=6)
    if holes_csv:
        samples = np.genfromtxt(holes_csv, delimiter=",", names=True, dtype=None, encoding="utf-8")
        for ore, colour, size in ((0, "#7f7f7f", 2), (1, "#d7191c", 14)):
            chosen = samples[samples["ore"] == ore]
            axes.scatter(chosen["x"] - west, chosen["y"] - south, chosen["z"], s=size, color=colour, zorder=4,
                         depthshade=False, label="drill-hole " + ("ore" if ore else "barren") + " samples")
        axes.legend(loc="upper left", fontsize=8)
    axes.set(xlabel="east of the model's west edge (m)", ylabel="north of its south edge (m)",
             zlabel="elevation (m)", title="Prospectivity voxels (p >= 0.5) and the ten best targets, in depth")
    axes.view_init(elev=25, azim=-60)
    figure.colorbar(drawn, ax=axes, shrink=0.6, label="prospectivity")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
