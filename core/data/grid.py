"""In-memory voxel cube: a regular 3D grid, evidence features and optional labels.

Axis order everywhere is (z, y, x): z = elevation levels top down, y = raster rows
(north to south), x = raster columns (west to east), so a depth slice is ``features[:, k]``.
Nodata evidence is NaN; labels are int8 with 1 = ore, 0 = barren, -1 = unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LABEL_ORE = 1
LABEL_BARREN = 0
LABEL_UNKNOWN = -1


@dataclass
class Grid:
    """Voxel centres of a north-up grid; ``crs`` is anything GDAL's SetFromUserInput reads."""

    crs: str
    x: np.ndarray  # (X,) column centres, increasing
    y: np.ndarray  # (Y,) row centres, decreasing (north-up)
    z: np.ndarray  # (Z,) level elevations in metres, decreasing (top level first)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.z), len(self.y), len(self.x))

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(dx, dy) with dy positive; a single row or column counts as 1 m."""
        dx = float(self.x[1] - self.x[0]) if len(self.x) > 1 else 1.0
        dy = float(self.y[0] - self.y[1]) if len(self.y) > 1 else 1.0
        return dx, dy

    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL geotransform of one depth slice (upper-left corner, north-up)."""
        dx, dy = self.pixel_size
        return (float(self.x[0]) - dx / 2, dx, 0.0, float(self.y[0]) + dy / 2, 0.0, -dy)

    @classmethod
    def from_geotransform(
        cls, crs: str, geotransform, width: int, height: int, z
    ) -> Grid:
        x0, dx, _, y0, _, dy = geotransform
        x = x0 + dx * (np.arange(width) + 0.5)
        y = y0 + dy * (np.arange(height) + 0.5)
        return cls(crs=crs, x=np.asarray(x, float), y=np.asarray(y, float), z=np.asarray(z, float))

    @property
    def level_spacing(self) -> float:
        """Metres between levels: the median gap (1 m for a single level)."""
        return float(np.median(np.abs(np.diff(self.z)))) if len(self.z) > 1 else 1.0

    def voxel_volume(self) -> float:
        """Cubic metres of one voxel."""
        dx, dy = self.pixel_size
        return dx * dy * self.level_spacing


@dataclass
class Cube:
    """Evidence features (F, Z, Y, X) float32 on a grid, with optional labels (Z, Y, X) int8."""

    grid: Grid
    features: np.ndarray
    feature_names: list[str]
    label: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # feature name -> units (UDUNITS), where known

    def __post_init__(self) -> None:
        self.features = np.asarray(self.features, dtype=np.float32)
        if self.features.shape[1:] != self.grid.shape:
            raise ValueError(f"features {self.features.shape[1:]} do not match grid {self.grid.shape}")
        if len(self.feature_names) != self.features.shape[0]:
            raise ValueError("one name per feature is needed")
        if self.label is not None:
            self.label = np.asarray(self.label, dtype=np.int8)
            if self.label.shape != self.grid.shape:
                raise ValueError(f"labels {self.label.shape} do not match grid {self.grid.shape}")

    @property
    def valid(self) -> np.ndarray:
        """Voxels where every feature is finite: the ones a model may be applied to."""
        return np.all(np.isfinite(self.features), axis=0)
