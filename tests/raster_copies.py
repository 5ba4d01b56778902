"""Copies of depth slices changed the way a hostile or careless user's data would be, for the tests."""

import os

from osgeo import gdal


def rewrite(src, dst, rows=False, columns=False, change=None, undeclare=False, after=None, **translate):
    """A copy of ``src``: values through ``change(index, array)``, then stored south-up (``rows``) and/or
    east-to-west (``columns``) with the geotransform that keeps every value where it was on the map;
    ``undeclare`` drops the bands' nodata value."""
    os.makedirs(os.path.dirname(str(dst)), exist_ok=True)
    gdal.Translate(str(dst), src, **translate)
    ds = gdal.Open(str(dst), gdal.GA_Update)
    x0, dx, rx, y0, ry, dy = ds.GetGeoTransform()
    for index in range(ds.RasterCount):
        band = ds.GetRasterBand(index + 1)
        array = band.ReadAsArray()
        if change is not None:
            array = change(index, array)
        band.WriteArray(array[::-1 if rows else 1, ::-1 if columns else 1])
        if undeclare:
            band.DeleteNoDataValue()
    if rows:
        y0, dy = y0 + dy * ds.RasterYSize, -dy
    if columns:
        x0, dx = x0 + dx * ds.RasterXSize, -dx
    ds.SetGeoTransform((x0, dx, rx, y0, ry, dy))
    if after is not None:
        after(ds)
    ds = None
    return str(dst)


def rewrite_all(paths, folder, **options):
    return [rewrite(p, os.path.join(str(folder), os.path.basename(p)), **options) for p in paths]
