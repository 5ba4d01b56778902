"""VTK, OMF and geoh5 block models written from a cube and read back by their own libraries, block by block, with
the georeferencing; read into the cube again unchanged; files of another kind refused by name."""

import numpy as np
import pytest
from mpm3d.core import jobs
from mpm3d.core.data import blockformats
from mpm3d.core.data.blockformats import read_block_file
from mpm3d.core.data.blockmodel import BlockOptions
from mpm3d.core.data.cubefile import read_cube, save_cube
from mpm3d.core.data.grid import Cube, Grid
from mpm3d.core.errors import Mpm3dError

CRS = "EPSG:32650"


@pytest.fixture(scope="module")
def cube_file(tmp_path_factory):
    """4 levels of 3 x 5 blocks of 10 x 20 x 5 m, one feature with a hole, labels, a prospectivity map."""
    folder = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(1)
    grid = Grid(CRS, x=500005.0 + 10 * np.arange(5), y=4000050.0 - 20 * np.arange(3), z=-2.5 - 5 * np.arange(4))
    features = rng.normal(size=(2, 4, 3, 5)).astype(np.float32)
    features[:, 1, 2, 3] = np.nan
    label = rng.integers(-1, 2, size=(4, 3, 5)).astype(np.int8)
    cube = Cube(grid, features, ["density", "alteration"], label)
    path = save_cube(str(folder / "cube.nc"), cube)
    return path, cube


def _ascending(values):
    """(Z, Y, X) in cube order -> x fastest, then y, then z, each ascending (VTK's and OMF's cell order)."""
    return np.asarray(values, float)[::-1, ::-1].reshape(-1)


def _label_values(cube):
    return _ascending(np.where(cube.label < 0, np.nan, cube.label))


@pytest.mark.parametrize("extension", [".vti", ".vtr"])
def test_vtk_grids_read_back_by_vtk(cube_file, tmp_path, extension):
    vtk = pytest.importorskip("vtk")
    from vtk.util.numpy_support import vtk_to_numpy

    path, cube = cube_file
    out = str(tmp_path / f"blocks{extension}")
    assert jobs.export_blocks(path, out)["BLOCKS"] == 60
    reader = vtk.vtkXMLImageDataReader() if extension == ".vti" else vtk.vtkXMLRectilinearGridReader()
    reader.SetFileName(out)
    reader.Update()
    data = reader.GetOutput()
    assert data.GetDimensions() == (6, 4, 5)
    if extension == ".vti":
        assert data.GetOrigin() == (500000.0, 4000000.0, -20.0) and data.GetSpacing() == (10.0, 20.0, 5.0)
    else:
        assert vtk_to_numpy(data.GetZCoordinates()).tolist() == [-20.0, -15.0, -10.0, -5.0, 0.0]
    cells = data.GetCellData()
    for index, name in enumerate(cube.feature_names):
        np.testing.assert_array_equal(vtk_to_numpy(cells.GetArray(name)), _ascending(cube.features[index]))
    np.testing.assert_array_equal(vtk_to_numpy(cells.GetArray("label")), _label_values(cube))
    assert data.GetFieldData().GetAbstractArray("mpm3d_crs").GetValue(0) == read_cube(path).grid.crs
    _same_cube_again(out, cube, tmp_path)


def _same_cube_again(path, cube, tmp_path, crs=""):
    again = str(tmp_path / "again.nc")
    jobs.import_blocks(path, again, BlockOptions(crs=crs, label="label", evidence=cube.feature_names))
    back = read_cube(again)
    assert back.feature_names == cube.feature_names
    np.testing.assert_array_equal(back.features, cube.features)
    np.testing.assert_array_equal(back.label, cube.label)
    for axis in "xyz":
        np.testing.assert_allclose(getattr(back.grid, axis), getattr(cube.grid, axis), rtol=0, atol=1e-9)


def test_omf_read_back_by_omf(cube_file, tmp_path):
    omf = pytest.importorskip("omf")
    path, cube = cube_file
    out = str(tmp_path / "blocks.omf")
    jobs.export_blocks(path, out)
    project = omf.OMFReader(out).get_project()
    volume = project.elements[0]
    geometry = volume.geometry
    assert list(geometry.origin) == [500000.0, 4000000.0, -20.0]
    assert list(geometry.tensor_u) == [10.0] * 5 and list(geometry.tensor_v) == [20.0] * 3
    assert list(geometry.tensor_w) == [5.0] * 4
    arrays = {d.name: np.asarray(d.array) for d in volume.data}
    for index, name in enumerate(cube.feature_names):
        np.testing.assert_array_equal(arrays[name], _ascending(cube.features[index]))
    np.testing.assert_array_equal(arrays["label"], _label_values(cube))
    _same_cube_again(out, cube, tmp_path, CRS)


def test_geoh5_read_back_by_geoh5py(cube_file, tmp_path):
    pytest.importorskip("geoh5py")
    from geoh5py.workspace import Workspace

    path, cube = cube_file
    out = str(tmp_path / "blocks.geoh5")
    jobs.export_blocks(path, out)
    workspace = Workspace(out, mode="r")
    model = workspace.objects[0]
    assert [model.origin[a] for a in "xyz"] == [500000.0, 4000000.0, -20.0]
    centroids = model.centroids
    ix = ((centroids[:, 0] - 500005.0) / 10).round().astype(int)
    iy = ((4000050.0 - centroids[:, 1]) / 20).round().astype(int)
    iz = ((-2.5 - centroids[:, 2]) / 5).round().astype(int)
    for index, name in enumerate(cube.feature_names):
        values = model.get_data(name)[0].values
        np.testing.assert_array_equal(values, cube.features[index][iz, iy, ix])
    workspace.close()
    _same_cube_again(out, cube, tmp_path, CRS)


def test_a_turned_omf_model_is_read_exactly_and_a_rotated_one_refused(tmp_path):
    omf = pytest.importorskip("omf")

    def write(axis_u, axis_v, name):
        geometry = omf.VolumeGridGeometry(tensor_u=[10.0, 10.0], tensor_v=[20.0, 20.0, 20.0], tensor_w=[5.0] * 3,
                                          origin=[100.0, 200.0, 0.0], axis_u=axis_u, axis_v=axis_v)
        values = np.arange(18, dtype=float)  # u fastest
        element = omf.VolumeElement(name="m", geometry=geometry,
                                    data=[omf.ScalarData(name="v", location="cells", array=values)])
        omf.OMFWriter(omf.Project(name="p", elements=[element]), str(tmp_path / name))
        return str(tmp_path / name)

    turned = write([0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], "turned.omf")  # u points north, v west
    cube, _ = read_block_file(turned, BlockOptions(crs=CRS))
    assert cube.grid.pixel_size == (20.0, 10.0)
    assert cube.grid.x.tolist() == [50.0, 70.0, 90.0] and cube.grid.y.tolist() == [215.0, 205.0]
    # the block at u 0, v 0 (value 0) lies at x 90 (v points west), y 205, in the bottom level
    assert cube.features[0, 2, 1, 2] == 0.0 and cube.features[0, 2, 0, 2] == 1.0
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    rotated = write([c, s, 0.0], [-s, c, 0.0], "rotated.omf")
    with pytest.raises(Mpm3dError, match="azimuth of 30 degrees"):
        jobs.import_blocks(rotated, str(tmp_path / "r.nc"), BlockOptions(crs=CRS))


def test_files_without_a_block_model_are_refused(tmp_path):
    omf = pytest.importorskip("omf")
    vtk = pytest.importorskip("vtk")
    pytest.importorskip("geoh5py")
    from geoh5py.objects import Points
    from geoh5py.workspace import Workspace

    points = omf.PointSetElement(name="holes", geometry=omf.PointSetGeometry(vertices=[[0.0, 0.0, 0.0]]))
    omf.OMFWriter(omf.Project(name="p", elements=[points]), str(tmp_path / "points.omf"))
    with pytest.raises(Mpm3dError, match="no block model .*PointSetElement"):
        jobs.import_blocks(str(tmp_path / "points.omf"), str(tmp_path / "a.nc"), BlockOptions(crs=CRS))
    workspace = Workspace.create(str(tmp_path / "points.geoh5"))
    Points.create(workspace, vertices=np.zeros((2, 3)))
    workspace.close()
    with pytest.raises(Mpm3dError, match="no block model .*Points"):
        jobs.import_blocks(str(tmp_path / "points.geoh5"), str(tmp_path / "a.nc"), BlockOptions(crs=CRS))
    grid = vtk.vtkUnstructuredGrid()
    grid.SetPoints(vtk.vtkPoints())
    writer = vtk.vtkXMLUnstructuredGridWriter()
    writer.SetFileName(str(tmp_path / "mesh.vtu"))
    writer.SetInputData(grid)
    writer.Write()
    with pytest.raises(Mpm3dError, match="holds vtkUnstructuredGrid, not a block model on a grid"):
        jobs.import_blocks(str(tmp_path / "mesh.vtu"), str(tmp_path / "a.nc"), BlockOptions(crs=CRS))
    assert not (tmp_path / "a.nc").exists()


def test_a_missing_library_is_named_with_how_to_install_it(cube_file, tmp_path, monkeypatch):
    real_import = blockformats.importlib.import_module

    def no_omf(name, *args, **kwargs):
        if name.split(".")[0] == "omf":
            raise ImportError("No module named 'omf'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(blockformats.importlib, "import_module", no_omf)
    with pytest.raises(Mpm3dError, match=r"needs the Python package 'omf'.*make setup.*omf==1\.0\.1"):
        jobs.export_blocks(cube_file[0], str(tmp_path / "blocks.omf"))
    assert not (tmp_path / "blocks.omf").exists()
