"""What the bad-input tests share: tiny training settings, a feedback that records (and can press Cancel),
raster copies with one thing changed, and the calls of the stages they feed bad input to."""

import os

from algorithm_calls import run
from osgeo import gdal
from qgis.core import QgsProcessingFeedback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CANCELLED = r"^Cancelled; no output was written, earlier files are as they were\.$"
# Training here is tiny (patch 3, one epoch), so that each file runs in a minute or two on two cores.
TINY = {"METHOD": 0, "EPOCHS": 1, "PATCH_SIZE": 3, "BATCH_SIZE": 16, "DEVICE": 2, "SEED": 1,
        "ENSEMBLE_MEMBERS": 1}


class Recorder(QgsProcessingFeedback):
    """Keeps the warnings and messages; with ``cancel`` set, presses Cancel at the first progress message."""

    def __init__(self, cancel=False):
        super().__init__()
        self.cancel_at_first_message = cancel
        self.warnings, self.errors, self.infos = [], [], []

    def pushWarning(self, warning):  # noqa: N802 - QGIS API
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS API
        self.errors.append(error)
        super().reportError(error, fatalError)

    def pushInfo(self, info):  # noqa: N802 - QGIS API
        self.infos.append(info)
        super().pushInfo(info)

    def setProgressText(self, text):  # noqa: N802 - QGIS API
        super().setProgressText(text)
        if self.cancel_at_first_message:
            self.cancel()


def copy_raster(src, dst, change=None, nodata="keep", after=None, **translate):
    """A copy of a raster (gdal.Translate options), band arrays passed through ``change(index, array)``."""
    os.makedirs(os.path.dirname(str(dst)), exist_ok=True)
    gdal.Translate(str(dst), src, **translate)
    ds = gdal.Open(str(dst), gdal.GA_Update)
    for index in range(ds.RasterCount):
        band = ds.GetRasterBand(index + 1)
        if change is not None:
            band.WriteArray(change(index, band.ReadAsArray()))
        if nodata is None:
            band.DeleteNoDataValue()
        elif nodata != "keep":
            band.SetNoDataValue(nodata)
    if after is not None:
        after(ds)
    ds = None
    return str(dst)


def copy_rasters(paths, folder, **options):
    return [copy_raster(p, os.path.join(folder, os.path.basename(p)), **options) for p in paths]


def band_name(path, number):
    ds = gdal.Open(path)  # kept alive while its band is used
    return ds.GetRasterBand(number).GetDescription()


def shifted_bounds(path, dx):
    """The raster's bounds moved ``dx`` east: a copy on another grid."""
    ds = gdal.Open(path)
    x0, px, _, y0, _, py = ds.GetGeoTransform()
    return [x0 + dx, y0, x0 + dx + px * ds.RasterXSize, y0 + py * ds.RasterYSize]


def stack(evidence, output, labels=None, feedback=None, **extra):
    parameters = {"EVIDENCE": evidence, "OUTPUT": output, **extra}
    if labels:
        parameters["LABELS"] = labels
    return run("mpm3d:stack_slices", parameters, feedback)


def derived_cube(path, cube_path, change):
    """A copy of a cube file with ``change(cube)`` applied."""
    from mpm3d.core.data.cubefile import read_cube, save_cube

    cube = read_cube(cube_path)
    change(cube)
    return save_cube(str(path), cube)


def drop_last_feature(cube):
    cube.features, cube.feature_names = cube.features[:-1], cube.feature_names[:-1]


def train_parameters(cubes, folder, **extra):
    return {"SOURCE": cubes["source"], "TARGET": cubes["target"], **TINY,
            "OUTPUT_MODEL": os.path.join(folder, "model.safetensors"),
            "OUTPUT_REPORT": os.path.join(folder, "training.html"), **extra}


def predict_parameters(model_path, cube, folder, **extra):
    return {"MODEL": model_path, "CUBE": cube, "PREFIX": "p", "DEVICE": 2,
            "OUTPUT_CUBE": os.path.join(folder, "p.nc"), "OUTPUT_FOLDER": os.path.join(folder, "levels"), **extra}


def qgis_process_fails(algorithm, parameters, profile, *fragments):
    """Through ``qgis_process``: a non-zero exit status, each fragment in the output, and no traceback."""
    import qgis_process

    result, _ = qgis_process.run_algorithm(algorithm, {k: str(v) if isinstance(v, os.PathLike) else v
                                                       for k, v in parameters.items()}, profile, timeout=300)
    text = result.stdout + result.stderr
    assert result.returncode != 0, text[-3000:]
    for fragment in fragments:
        assert fragment in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
