"""Block models in the files of modelling software: VTK image and rectilinear grids (.vti, .vtr: GemPy,
LoopStructural, ParaView), OMF (Leapfrog's open format: a VolumeElement on a VolumeGridGeometry) and geoh5
(Geoscience ANALYST: a BlockModel), read into a cube and written from one.

Each library is imported only when its format is used, so that the plugin works on slices and CSV without
it; a missing one is named with the command that installs it. Values are cell data (one per block) in the
order the format defines: VTK and OMF x (u) fastest, then y (v), then z (w); geoh5 by its cell centroids.
Neither format carries the CRS as mpm3d needs it, so VTK files get it as field data and every reader takes
the CRS parameter (or a local grid).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

import numpy as np

from ..atomic import atomic_path
from ..errors import Mpm3dError
from .blockmodel import BlockOptions, cube_from_grid, level_thickness, quarter_turns, turn_grid
from .cubefile import CubeReader
from .grid import LABEL_UNKNOWN, Cube

# package -> (pip requirement, what it reads)
PACKAGES = {"vtk": ("vtk==9.3.1", "VTK grids (.vti, .vtr)"), "omf": ("omf==1.0.1", "OMF files (.omf)"),
            "geoh5py": ("geoh5py==0.12.2", "geoh5 workspaces (.geoh5)")}
CRS_FIELD = "mpm3d_crs"
FORMATS = (".vti", ".vtr", ".vtu", ".omf", ".geoh5")  # .vtu is read only to say it is no grid


def library(name: str):
    """The format's library, or an error that names the package and how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        requirement, what = PACKAGES[name]
        raise Mpm3dError(f"Reading and writing {what} needs the Python package '{name}', which this Python lacks "
                         f"({exc}). `make setup` installs it (requirements-py<version>.txt), or install it into "
                         f"the worker Python: python -m pip install {requirement}") from exc


def read_block_file(path: str, options: BlockOptions) -> tuple[Cube, dict]:
    """A VTK, OMF or geoh5 block model as a cube."""
    if not os.path.isfile(path):
        raise Mpm3dError(f"INPUT: {path} does not exist; check the path")
    extension = os.path.splitext(path)[1].lower()
    readers = {".vti": _read_vtk, ".vtr": _read_vtk, ".vtu": _read_vtk, ".omf": _read_omf, ".geoh5": _read_geoh5}
    x, y, z, arrays, crs = readers[extension](path, options)
    if crs and not options.crs:
        options = BlockOptions(**{**options.__dict__, "crs": crs})
    return cube_from_grid(x, y, z, arrays, options, os.path.basename(path))


def _centres(edges: np.ndarray) -> np.ndarray:
    return (edges[:-1] + edges[1:]) / 2


def _read_vtk(path: str, options: BlockOptions):
    vtk = library("vtk")
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLGenericDataObjectReader()
    reader.SetFileName(path)
    reader.Update()
    data = reader.GetOutput()
    if data is None or not isinstance(data, vtk.vtkImageData | vtk.vtkRectilinearGrid):
        kind = data.GetClassName() if data is not None else "nothing VTK can read"
        raise Mpm3dError(f"INPUT: {os.path.basename(path)} holds {kind}, not a block model on a grid; give a VTK "
                         "image data (.vti) or rectilinear grid (.vtr) with the blocks as cell data")
    nx, ny, nz = (n - 1 for n in data.GetDimensions())
    if isinstance(data, vtk.vtkImageData):
        matrix = data.GetDirectionMatrix() if hasattr(data, "GetDirectionMatrix") else None
        if matrix is not None and not matrix.IsIdentity():
            angle = float(np.degrees(np.arctan2(matrix.GetElement(1, 0), matrix.GetElement(0, 0))))
            quarter_turns(angle, 0.0, 0.0, f"INPUT {os.path.basename(path)}")
            raise Mpm3dError(f"INPUT: {os.path.basename(path)} is a rotated or mirrored image ({angle:g} degrees); "
                             "write it unrotated")
        origin, spacing = np.array(data.GetOrigin()), np.array(data.GetSpacing())
        axes = [origin[i] + spacing[i] * (np.arange(n) + 0.5) for i, n in enumerate((nx, ny, nz))]
    else:
        axes = [_centres(vtk_to_numpy(c).astype(float)) for c in (data.GetXCoordinates(), data.GetYCoordinates(),
                                                                   data.GetZCoordinates())]
    cells = data.GetCellData()
    arrays = {}
    for index in range(cells.GetNumberOfArrays()):
        array = cells.GetArray(index)
        if array is None or array.GetNumberOfComponents() != 1:
            continue
        arrays[array.GetName()] = vtk_to_numpy(array).astype(np.float64).reshape(nz, ny, nx)
    if not arrays:
        raise Mpm3dError(f"INPUT: {os.path.basename(path)} has no cell data (one value per block); the blocks' "
                         "attributes must be cell arrays of one component")
    field = data.GetFieldData().GetAbstractArray(CRS_FIELD)
    crs = field.GetValue(0) if field is not None and field.GetNumberOfValues() else ""
    return *axes, arrays, crs


def _read_omf(path: str, options: BlockOptions):
    omf = library("omf")
    try:
        project = omf.OMFReader(path).get_project()
    except Exception as exc:  # the library says nothing more specific for a file it cannot read
        raise Mpm3dError(f"INPUT: {os.path.basename(path)} cannot be read as an OMF file ({exc})") from exc
    volumes = [e for e in project.elements if isinstance(e, omf.VolumeElement)]
    if not volumes:
        kinds = ", ".join(type(e).__name__ for e in project.elements) or "no element"
        raise Mpm3dError(f"INPUT: {os.path.basename(path)} holds no block model (no VolumeElement; it holds {kinds})")
    volume = volumes[0]
    geometry = volume.geometry
    axes = [np.asarray(a, float) for a in (geometry.axis_u, geometry.axis_v, geometry.axis_w)]
    if not np.allclose(axes[2], [0, 0, 1]) or not np.isclose(axes[0][2], 0) or not np.isclose(axes[1][2], 0):
        raise Mpm3dError(f"INPUT: the block model of {os.path.basename(path)} is tilted (axis_w {axes[2].tolist()}); "
                         "the cube is a horizontal grid: regularise it onto an unrotated grid and export that")
    angle = float(np.degrees(np.arctan2(axes[0][1], axes[0][0])))
    turns = quarter_turns(angle, 0.0, 0.0, f"INPUT {os.path.basename(path)}")
    tensors = [np.asarray(t, float) for t in (geometry.tensor_u, geometry.tensor_v, geometry.tensor_w)]
    nu, nv, nw = (len(t) for t in tensors)
    arrays = {d.name: np.asarray(d.array, np.float64).reshape(nw, nv, nu) for d in volume.data
              if d.location == "cells" and np.asarray(d.array).dtype.kind in "fiu"}
    if not arrays:
        raise Mpm3dError(f"INPUT: the block model of {os.path.basename(path)} has no numeric cell data")
    u, v, w = (_centres(np.concatenate([[0.0], np.cumsum(t)])) for t in tensors)
    origin = np.asarray(geometry.origin, float) + np.asarray(project.origin, float)
    x, y, arrays = turn_grid(u, v, arrays, (origin[0], origin[1]), turns)
    return x, y, origin[2] + w, arrays, ""


def _read_geoh5(path: str, options: BlockOptions):
    library("geoh5py")
    from geoh5py.objects import BlockModel
    from geoh5py.workspace import Workspace

    try:
        workspace = Workspace(path, mode="r")
    except Exception as exc:  # geoh5py raises several kinds for a file it cannot open
        raise Mpm3dError(f"INPUT: {os.path.basename(path)} cannot be opened as a geoh5 workspace ({exc})") from exc
    try:
        models = [o for o in workspace.objects if isinstance(o, BlockModel)]
        if not models:
            kinds = ", ".join(sorted({type(o).__name__ for o in workspace.objects})) or "no object"
            raise Mpm3dError(f"INPUT: {os.path.basename(path)} holds no block model (no BlockModel; it holds {kinds})")
        model = models[0]
        turns = quarter_turns(float(model.rotation), 0.0, 0.0, f"INPUT {os.path.basename(path)}")
        delimiters = [np.asarray(d, float) for d in (model.u_cell_delimiters, model.v_cell_delimiters,
                                                     model.z_cell_delimiters)]
        u, v, w = (_centres(np.sort(d)) for d in delimiters)
        local = model.centroids - np.asarray(model.origin.tolist(), float)[None, :]
        rotation = np.deg2rad(turns * 90.0)
        cos, sin = np.cos(rotation), np.sin(rotation)
        lu, lv = cos * local[:, 0] + sin * local[:, 1], -sin * local[:, 0] + cos * local[:, 1]
        index = [np.abs(values[:, None] - centres[None, :]).argmin(axis=1)
                 for values, centres in ((lu, u), (lv, v), (local[:, 2], w))]
        arrays = {}
        for child in model.children:
            values = getattr(child, "values", None)
            if values is None or np.asarray(values).dtype.kind not in "fiu" or np.size(values) != len(local):
                continue
            grid = np.full((len(w), len(v), len(u)), np.nan)
            grid[index[2], index[1], index[0]] = np.asarray(values, np.float64)
            arrays[child.name] = grid
        origin = np.asarray(model.origin.tolist(), float)
    finally:
        workspace.close()
    if not arrays:
        raise Mpm3dError(f"INPUT: the block model of {os.path.basename(path)} has no numeric data")
    x, y, arrays = turn_grid(u, v, arrays, (origin[0], origin[1]), turns)
    return x, y, origin[2] + w, arrays, ""


def _grid_order(reader: CubeReader, name: str) -> np.ndarray:
    """A variable as float32 with z and y ascending (the order of the formats' cells); a label's unknown as NaN."""
    values = reader.read_variable(name)[::-1, ::-1].astype(np.float32)
    return np.ascontiguousarray(np.where(values == LABEL_UNKNOWN, np.nan, values) if name == "label" else values)


def _edges(z_descending: np.ndarray) -> np.ndarray:
    """Level edges, ascending."""
    thickness = level_thickness(z_descending)
    top = z_descending[0] + thickness[0] / 2
    return (top - np.concatenate([[0.0], np.cumsum(thickness)]))[::-1]


def write_block_file(path: str, reader: CubeReader, variables: list[str],
                     on_progress: Callable[..., None] | None = None) -> int:
    """The cube's variables as a VTK, OMF or geoh5 block model; returns the blocks written."""
    extension = os.path.splitext(path)[1].lower()
    writers = {".vti": _write_vtk, ".vtr": _write_vtk, ".omf": _write_omf, ".geoh5": _write_geoh5}
    with atomic_path(path) as tmp:
        writers[extension](tmp, reader, variables, extension)
    if on_progress:
        on_progress(1.0, "Written")
    return int(np.prod(reader.grid.shape))


def _write_vtk(path: str, reader: CubeReader, variables: list[str], extension: str) -> None:
    vtk = library("vtk")
    from vtk.util.numpy_support import numpy_to_vtk

    grid = reader.grid
    nz, ny, nx = grid.shape
    dx, dy = grid.pixel_size
    x_edges = grid.x[0] - dx / 2 + dx * np.arange(nx + 1)
    y_edges = grid.y[-1] - dy / 2 + dy * np.arange(ny + 1)
    z_edges = _edges(grid.z)
    if extension == ".vti":
        gaps = np.diff(z_edges)
        if not np.allclose(gaps, gaps[0], rtol=1e-9):
            raise Mpm3dError(f"OUTPUT: the levels of {reader.path} are unevenly spaced, which a .vti image cannot "
                             "hold; write a .vtr (rectilinear grid) instead")
        data = vtk.vtkImageData()
        data.SetDimensions(nx + 1, ny + 1, nz + 1)
        data.SetOrigin(x_edges[0], y_edges[0], z_edges[0])
        data.SetSpacing(dx, dy, gaps[0])
        writer = vtk.vtkXMLImageDataWriter()
    else:
        data = vtk.vtkRectilinearGrid()
        data.SetDimensions(nx + 1, ny + 1, nz + 1)
        data.SetXCoordinates(numpy_to_vtk(x_edges, deep=True))
        data.SetYCoordinates(numpy_to_vtk(y_edges, deep=True))
        data.SetZCoordinates(numpy_to_vtk(z_edges, deep=True))
        writer = vtk.vtkXMLRectilinearGridWriter()
    for name in variables:
        array = numpy_to_vtk(_grid_order(reader, name).reshape(-1), deep=True)
        array.SetName(name)
        data.GetCellData().AddArray(array)
    crs = vtk.vtkStringArray()
    crs.SetName(CRS_FIELD)
    crs.InsertNextValue(grid.crs)
    data.GetFieldData().AddArray(crs)
    writer.SetFileName(path)
    writer.SetInputData(data)
    writer.SetCompressorTypeToZLib()
    if not writer.Write():
        raise Mpm3dError(f"OUTPUT: VTK could not write {path}")


def _write_omf(path: str, reader: CubeReader, variables: list[str], extension: str) -> None:
    omf = library("omf")
    grid = reader.grid
    nz, ny, nx = grid.shape
    dx, dy = grid.pixel_size
    z_edges = _edges(grid.z)
    geometry = omf.VolumeGridGeometry(tensor_u=np.full(nx, dx), tensor_v=np.full(ny, dy), tensor_w=np.diff(z_edges),
                                      origin=[grid.x[0] - dx / 2, grid.y[-1] - dy / 2, z_edges[0]])
    data = [omf.ScalarData(name=name, location="cells",
                           array=_grid_order(reader, name).reshape(-1).astype(np.float64)) for name in variables]
    element = omf.VolumeElement(name=os.path.splitext(os.path.basename(reader.path))[0], geometry=geometry, data=data)
    project = omf.Project(name="mpm3d", description=f"CRS: {grid.crs}", elements=[element])
    omf.OMFWriter(project, path)


def _write_geoh5(path: str, reader: CubeReader, variables: list[str], extension: str) -> None:
    library("geoh5py")
    from geoh5py.objects import BlockModel
    from geoh5py.workspace import Workspace

    grid = reader.grid
    nz, ny, nx = grid.shape
    dx, dy = grid.pixel_size
    z_edges = _edges(grid.z)
    origin = (grid.x[0] - dx / 2, grid.y[-1] - dy / 2, z_edges[0])
    workspace = Workspace.create(path)
    try:
        model = BlockModel.create(workspace, origin=origin, u_cell_delimiters=dx * np.arange(nx + 1),
                                  v_cell_delimiters=dy * np.arange(ny + 1), z_cell_delimiters=z_edges - z_edges[0],
                                  name=os.path.splitext(os.path.basename(reader.path))[0])
        local = model.centroids - np.asarray(origin)[None, :]
        ix = np.floor(local[:, 0] / dx).astype(int)
        iy = np.floor(local[:, 1] / dy).astype(int)
        iz = np.searchsorted(z_edges - z_edges[0], local[:, 2]) - 1
        for name in variables:
            values = _grid_order(reader, name)[iz, iy, ix].astype(np.float64)
            model.add_data({name: {"values": values}})
    finally:
        workspace.close()
