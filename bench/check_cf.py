"""The cube files checked by real clients: the CF checker (cfchecker), xarray and VTK's NetCDF CF reader
(ParaView's), on an evidence cube and a prospectivity cube made by the core's command line.

    make check-cf        ->  bench/cf_results.md

The plugin's Python (.venv: GDAL, torch) makes the cubes from a small synthetic pair: stack with
units, train a one-epoch network, predict. The clients run in a venv of their own
(bench/requirements-cf.txt: they bring numpy 2, which Debian's GDAL bindings cannot take): this
script runs itself there with --inspect. The checker reads the CF standard name table that the
compliance-checker wheel ships (nothing is fetched at run time); the area type and region tables
are left empty, because no cube uses area_type or region.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "cf_results.md")
UNITS = ("fault_distance=m, fault_dip=degree, fault_dip_change=degree/(100 m), contact_distance=m, density=g/cm3, "
         "susceptibility=1e-5, alteration=1, fracture_density=m-1")
EMPTY_TABLES = {"area_types.xml": "area_type_table", "region_names.xml": "standardized_region_list"}


def make_cubes(folder: str) -> list[str]:
    """A stacked evidence cube (with labels and units) and the prospectivity cube predicted from it."""
    from common import load_plugin

    load_plugin()  # the checkout as the package mpm3d, as QGIS and the worker import it
    from mpm3d.core import cli

    def run(*argv: str) -> None:
        if cli.main(list(argv)) != 0:
            raise SystemExit(f"the command line failed: {' '.join(argv)}")

    run("synth", "--out", folder, "--shape", "6x12x12", "--seed", "0")
    cubes = {}
    for deposit in ("source", "target"):
        slices = os.path.join(folder, deposit)
        evidence = sorted(os.path.join(slices, n) for n in os.listdir(slices) if n.startswith("evidence_"))
        labels = sorted(os.path.join(slices, n) for n in os.listdir(slices) if n.startswith("label_"))
        cubes[deposit] = os.path.join(folder, f"{deposit}.nc")
        run("stack", "--evidence", *evidence, "--labels", *labels, "--units", UNITS, "--out", cubes[deposit])
    model = os.path.join(folder, "model.safetensors")
    run("train", "--source", cubes["source"], "--target", cubes["target"], "--out", model, "--method", "cnn",
        "--patch-size", "3", "--epochs", "1", "--batch-size", "16", "--members", "2", "--device", "cpu")
    prediction = os.path.join(folder, "prospectivity.nc")
    run("predict", "--model", model, "--cube", cubes["target"], "--out-cube", prediction,
        "--out-folder", os.path.join(folder, "levels"), "--device", "cpu")
    return [cubes["target"], prediction]


def cf_checker(path: str, standard_names: str, tables: str) -> tuple[bool, str]:
    """cfchecks against CF-1.8: (no errors and no warnings, its report)."""
    command = [os.path.join(os.path.dirname(sys.executable), "cfchecks"), "-v", "1.8", "-s", standard_names,
               "-a", os.path.join(tables, "area_types.xml"), "-r", os.path.join(tables, "region_names.xml"),
               os.path.basename(path)]  # the report names the file, not the folder it was made in
    answer = subprocess.run(command, capture_output=True, text=True, cwd=os.path.dirname(path))
    report = answer.stdout + answer.stderr[-2000:]
    lines = [line for line in report.splitlines() if line.strip() and not line.startswith(("---", "Checking var"))]
    return "ERRORS detected: 0" in report and "WARNINGS given: 0" in report, "\n".join(lines)


def xarray_check(path: str) -> tuple[bool, str]:
    """xarray with CF decoding: the grid's coordinates, the data variables over (z, y, x), their units."""
    import xarray

    with xarray.open_dataset(path) as ds:
        data = [name for name, var in ds.data_vars.items() if var.dims == ("z", "y", "x")]
        z = ds["z"]
        ok = (z.attrs.get("positive") == "up" and z.attrs.get("standard_name") == "altitude"
              and all("grid_mapping" in ds[name].encoding or "grid_mapping" in ds[name].attrs for name in data))
        lines = [f"dimensions {dict(ds.sizes)}; z {z.values.tolist()} ({z.attrs.get('units')}, positive "
                 f"{z.attrs.get('positive')})"]
        for name in data:
            var = ds[name]
            lines.append(f"{name}: {var.dtype}, units {var.attrs.get('units', '-')}, range "
                         f"{float(var.min()):.4g}..{float(var.max()):.4g}")
    return ok, "\n".join(lines)


def vtk_check(path: str) -> tuple[bool, str]:
    """VTK's NetCDF CF reader as ParaView sets it up (spherical coordinates on, its default): a Cartesian grid
    in the cube's own coordinates with z up, the value at the top and bottom levels the one xarray reads."""
    import numpy as np
    import xarray
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersCore import vtkCellCenters
    from vtkmodules.vtkIONetCDF import vtkNetCDFCFReader

    with xarray.open_dataset(path) as ds:
        name = "prospectivity" if "prospectivity" in ds else next(
            n for n, v in ds.data_vars.items() if v.dims == ("z", "y", "x") and v.dtype.kind == "f")
        expected = ds[name].values
        x, y, z = (ds[axis].values for axis in ("x", "y", "z"))
    reader = vtkNetCDFCFReader()
    reader.SetFileName(path)
    reader.UpdateMetaData()
    reader.SetVariableArrayStatus(name, 1)
    reader.Update()
    grid = reader.GetOutputDataObject(0)
    bounds = grid.GetBounds()
    on_points = grid.GetPointData().GetArray(name) is not None
    values = vtk_to_numpy((grid.GetPointData() if on_points else grid.GetCellData()).GetArray(name))
    centres = vtkCellCenters()
    centres.SetInputData(grid)
    centres.Update()
    located = grid if on_points else centres.GetOutput()
    where = np.array([located.GetPoint(n) for n in range(located.GetNumberOfPoints())])
    extent = ", ".join(f"{axis} {bounds[2 * n]:.1f}..{bounds[2 * n + 1]:.1f}" for n, axis in enumerate("xyz"))
    lines = [f"{grid.GetClassName()}, spherical coordinates {reader.GetSphericalCoordinates()}, bounds {extent}"]
    ok = (grid.GetClassName() in ("vtkRectilinearGrid", "vtkImageData")
          and np.isclose(bounds[0], x.min()) and np.isclose(bounds[1], x.max())
          and np.isclose(bounds[4], z.min()) and np.isclose(bounds[5], z.max()))
    # each of VTK's values against xarray's at the voxel nearest its position: z up means VTK's highest z
    # holds the top level (z[0] in mpm3d's order), not the bottom one
    k, j, i = (np.abs(where[:, axis, None] - coords[None]).argmin(1) for axis, coords in ((2, z), (1, y), (0, x)))
    same = np.isclose(values, expected[k, j, i], equal_nan=True)
    ok = ok and bool(same.all()) and len(values) == expected.size
    lines.append(f"{name}: {int(same.sum())} of {expected.size} values equal xarray's at the same (x, y, z); "
                 f"VTK's highest z {where[:, 2].max():g} m is the top level {z.max():g} m")
    return bool(ok), "\n".join(lines)


def inspect(paths: list[str], standard_names: str) -> int:
    """Run in the clients' venv: every check on every file, as a markdown report on stdout."""
    failed = 0
    with tempfile.TemporaryDirectory() as tables:
        for file_name, root in EMPTY_TABLES.items():
            with open(os.path.join(tables, file_name), "w") as handle:
                handle.write(f'<?xml version="1.0"?>\n<{root}><version_number>none</version_number>'
                             f"<date>none</date></{root}>\n")
        for path in paths:
            print(f"## {os.path.basename(path)}\n")
            for title, check in (("CF checker (cfchecks -v 1.8)", lambda p: cf_checker(p, standard_names, tables)),
                                 ("xarray", xarray_check), ("VTK NetCDF CF reader", vtk_check)):
                ok, report = check(path)
                failed += not ok
                print(f"### {title}: {'passed' if ok else 'FAILED'}\n\n```\n{report}\n```\n")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-python", help="Python of the venv with the clients (bench/requirements-cf.txt)")
    parser.add_argument("--standard-names", required=True, help="the CF standard name table (XML)")
    parser.add_argument("--inspect", nargs="+", help="(in the clients' venv) check these files")
    args = parser.parse_args()
    if args.inspect:
        return inspect(args.inspect, args.standard_names)
    with tempfile.TemporaryDirectory() as folder:
        paths = make_cubes(folder)
        answer = subprocess.run([args.check_python, os.path.abspath(__file__), "--standard-names",
                                 os.path.abspath(args.standard_names), "--inspect", *paths],
                                capture_output=True, text=True)
    with open(RESULTS, "w") as handle:
        handle.write("# The cube files and real clients\n\nMade by `make check-cf` (bench/check_cf.py): an evidence "
                     "cube stacked with UNITS and the prospectivity cube predicted from it (a one-epoch cnn of two "
                     "members on the synthetic pair, 6 x 12 x 12 voxels).\n\n" + answer.stdout)
    sys.stdout.write(answer.stdout + answer.stderr[-3000:])
    return answer.returncode


if __name__ == "__main__":
    sys.exit(main())
