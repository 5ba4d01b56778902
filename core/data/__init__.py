"""Data in and out: the grid and cube contract, cube files, slice rasters, drill-hole voxels and the synthetic pair."""
