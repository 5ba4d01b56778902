"""mpm3d core: 3D mineral prospectivity with domain adaptation, without QGIS.

Everything here runs from plain Python (``python -m core ...`` in the plugin folder);
no module in this package may import qgis or PyQt.
"""

__version__ = "0.1.0"
