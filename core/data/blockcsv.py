"""Block-model CSV (what every modelling package exports) <-> the cube, streamed in chunks.

Reading takes two passes over the file in chunks of a few megabytes, so memory stays bounded by the cube
itself: the first reads only the centres (and sizes) and finds the lattice, the second reads the attributes
straight into the cube's arrays. The numbers are parsed by pyarrow's CSV reader (multithreaded C++) where
pyarrow is installed, else by numpy's C reader (``np.loadtxt``, there wherever GDAL is, e.g. QGIS's own Python
on Debian): pyarrow reads about six times as fast on 2 cores (bench/blockmodel/results.md), and both give the same
numbers. pyarrow knows no line numbers, so where something is wrong with the file (a field that is not a
number, a comment line among the blocks, a repeated centre) the numpy reader reads it again to name the lines.
Empty fields and ``nan`` are missing values; every error names the line and column.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_path
from ..errors import Mpm3dError
from .blockmodel import (
    MAX_CLASSES,
    SHOWN_ROWS,
    BlockOptions,
    Lattice,
    checked_cube,
    elevations,
    evidence_names,
    grid_crs,
    labels_of,
    lattice_problem,
    level_thickness,
    nodata_mask,
    quarter_turns,
)
from .cubefile import CubeReader
from .grid import LABEL_UNKNOWN, Cube, Grid

CHUNK_BYTES = 16 << 20
ARROW_BLOCK_BYTES = 4 << 20  # per block pyarrow parses, several in flight; 16 MB peaked at 2.7x a 25 M-block cube
SAMPLE_BYTES = 1 << 16
SAMPLE_LINES = 50
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}
COMMENT = "#"
DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
# Column names modelling packages give block centres and sizes (Datamine XC/XINC, Leapfrog, Surpac, Micromine)
CENTRE_NAMES = {"x": ("x", "xc", "xcentre", "xcenter", "x_centre", "x_center", "centroid_x", "centroidx", "east",
                      "easting", "xm", "midx"),
                "y": ("y", "yc", "ycentre", "ycenter", "y_centre", "y_center", "centroid_y", "centroidy", "north",
                      "northing", "ym", "midy"),
                "z": ("z", "zc", "zcentre", "zcenter", "z_centre", "z_center", "centroid_z", "centroidz", "rl",
                      "elevation", "elev", "zm", "midz")}
SIZE_NAMES = {"x": ("dx", "xinc", "xsize", "size_x", "x_size", "sizex", "dim_x", "xdim"),
              "y": ("dy", "yinc", "ysize", "size_y", "y_size", "sizey", "dim_y", "ydim"),
              "z": ("dz", "zinc", "zsize", "size_z", "z_size", "sizez", "dim_z", "zdim")}
AXES = ("x", "y", "z")
LATTICE_CELLS_PER_BLOCK = 1000  # a lattice far emptier than this is not the model's own lattice


@dataclass
class CsvColumns:
    """Which columns hold what; empty names are looked for among the usual ones."""

    x: str = ""
    y: str = ""
    z: str = ""
    sizes: list[str] = field(default_factory=list)  # dx, dy, dz columns of a sub-blocked model
    delimiter: str = ""  # empty: detected


@dataclass
class _Layout:
    delimiter: str | None  # None: whitespace
    names: list[str]
    skip_lines: int  # lines before the first data line (comments, header)
    numeric: list[str]
    text: dict[str, tuple[int, str]]  # a column that is not numeric: its first line and value that is not a number


def _where(path: str) -> str:
    return os.path.basename(path)


def _split(line: str, delimiter: str | None) -> list[str]:
    return [f.strip().strip('"').strip() for f in (line.split() if delimiter is None else line.split(delimiter))]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sample(path: str) -> list[tuple[int, str]]:
    """(line number, text) of the first lines that are not comments or blank."""
    if not os.path.isfile(path):
        raise Mpm3dError(f"INPUT: {path} does not exist; check the path")
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    lines = text.split("\n")
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last may be cut short
    kept = [(n + 1, line.rstrip("\r")) for n, line in enumerate(lines)
            if line.strip() and not line.lstrip().startswith(COMMENT)]
    if not kept:
        raise Mpm3dError(f"INPUT: {_where(path)} is empty (no line that is not blank or a comment); export the "
                         "block model again")
    return kept[:SAMPLE_LINES]


def _counts(lines: Sequence[str], delimiter: str | None) -> list[int]:
    return [len(_split(line, delimiter)) for line in lines]


def _delimiter(path: str, lines: Sequence[str], given: str) -> str | None:
    """The delimiter given (checked against the file), or the one that splits every sampled line alike."""
    def fit(candidate: str) -> int:
        counts = _counts(lines, None if candidate == " " else candidate)
        return counts[0] if counts[0] > 1 and len(set(counts)) == 1 else 0

    fits = {d: fit(d) for d in DELIMITERS}
    best = max(fits, key=lambda d: (fits[d], d != " "))
    if given:
        if fits.get(given, 0) or (given not in DELIMITERS and len(set(_counts(lines, given))) == 1
                                  and _counts(lines, given)[0] > 1):
            return None if given == " " else given
        if fits[best]:
            raise Mpm3dError(f"DELIMITER: {_where(path)} is not {DELIMITERS.get(given, repr(given))}-separated: it "
                             f"splits into {fits[best]} columns on every line with {DELIMITERS[best]}s; set DELIMITER "
                             f"to {DELIMITERS[best]}, or leave it empty to detect it")
        raise Mpm3dError(f"DELIMITER: the lines of {_where(path)} do not split alike with "
                         f"{DELIMITERS.get(given, repr(given))}; check the delimiter and that every row has as many "
                         "fields as the header")
    if not fits[best]:
        counts = {DELIMITERS[d]: sorted(set(_counts(lines, None if d == ' ' else d))) for d in DELIMITERS}
        raise Mpm3dError(f"DELIMITER: no delimiter splits the first lines of {_where(path)} into the same number of "
                         f"columns (fields per line: {counts}); give DELIMITER, and check that every row has as many "
                         "fields as the header")
    return None if best == " " else best


def read_layout(path: str, given_delimiter: str = "") -> _Layout:
    """Delimiter, header, comment lines and which columns are numeric, from the first lines of the file."""
    sample = _sample(path)
    lines = [line for _, line in sample]
    if len(lines) > 1 and "," in lines[1] and given_delimiter in ("", ","):
        header_fields, row_fields = len(_split(lines[0], ",")), len(_split(lines[1], ","))
        if row_fields > header_fields and not _is_number(_split(lines[0], ",")[0]):
            raise Mpm3dError(f"INPUT: line {sample[1][0]} of {_where(path)} has {row_fields} comma-separated fields "
                             f"but the header names {header_fields} columns: the numbers seem to use a decimal "
                             "comma. Export the model with a decimal point (and any delimiter), then import it")
    delimiter = _delimiter(path, lines, given_delimiter)
    first = _split(lines[0], delimiter)
    header = any(f and not _is_number(f) for f in first)
    names = first if header else [str(i + 1) for i in range(len(first))]
    if header and len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise Mpm3dError(f"INPUT: the header of {_where(path)} names the column(s) {', '.join(repeated)} twice; "
                         "give each column its own name")
    if header and "" in names:
        raise Mpm3dError(f"INPUT: column {names.index('') + 1} of the header of {_where(path)} has no name")
    rows = [(n, _split(line, delimiter)) for n, line in sample[1 if header else 0:]]
    numeric, text = [], {}
    for index, name in enumerate(names):
        for line, fields in rows:
            value = fields[index] if index < len(fields) else ""
            if delimiter != "," and DECIMAL_COMMA.match(value):
                raise Mpm3dError(f"INPUT: line {line}, column '{name}' of {_where(path)} holds '{value}', a number "
                                 "with a decimal comma; export the model with a decimal point, then import it")
            if value and not _is_number(value):
                text[name] = (line, value)
                break
        else:
            numeric.append(name)
    header_line = sample[0][0] if header else sample[0][0] - 1
    return _Layout(delimiter, names, header_line, numeric, text)


def _find(names: Sequence[str], given: str, candidates: Sequence[str], parameter: str, path: str) -> str:
    if given:
        if given not in names:
            raise Mpm3dError(f"{parameter}: {_where(path)} has no column '{given}' (columns: {', '.join(names)})")
        return given
    lowered = {n.lower(): n for n in names}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    raise Mpm3dError(f"{parameter}: none of the columns of {_where(path)} ({', '.join(names)}) is a usual name for "
                     f"it; give the column in {parameter}")


def _usual_sizes(names: Sequence[str]) -> list[str]:
    """Size columns under their usual names (DX, XINC, SIZE_X ...), where all three are there."""
    lowered = {n.lower(): n for n in names}
    found = [next((lowered[c] for c in SIZE_NAMES[a] if c in lowered), "") for a in AXES]
    return found if all(found) else []


class _Chunks:
    """The data lines of the file in chunks of whole lines, parsed by numpy's C reader."""

    def __init__(self, path: str, layout: _Layout, columns: Sequence[str]):
        self.path, self.layout = path, layout
        self.columns = list(columns)
        self.usecols = [layout.names.index(c) for c in columns]
        self.size = max(os.path.getsize(path), 1)

    def __iter__(self) -> Iterator[tuple[np.ndarray, str, int, float]]:
        """(values (rows, columns) float64, the chunk's text, its first line number, share of the file read)."""
        with open(self.path, "rb") as handle:
            for _ in range(self.layout.skip_lines):
                handle.readline()
            line = self.layout.skip_lines + 1
            while True:
                data = handle.read(CHUNK_BYTES)
                if not data:
                    return
                data += handle.readline()
                text = data.decode("utf-8", errors="replace").replace("\r", "")
                if line == 1:
                    text = text.lstrip("\ufeff")
                values = self._parse(text, line)
                yield values, text, line, handle.tell() / self.size
                line += text.count("\n")

    def _parse(self, text: str, line: int) -> np.ndarray:
        delimiter = self.layout.delimiter
        filled = _fill_empty(text, delimiter) if delimiter else text
        try:
            return np.loadtxt(io.StringIO(filled), delimiter=delimiter, usecols=self.usecols, comments=COMMENT,
                              dtype=np.float64, ndmin=2, quotechar='"')
        except ValueError:
            raise self._bad_field(text, line) from None

    def _bad_field(self, text: str, line: int) -> Mpm3dError:
        """The first field that cannot be read, by line and column (looked for only once parsing failed)."""
        for number, row in enumerate(text.split("\n"), line):
            if not row.strip() or row.lstrip().startswith(COMMENT):
                continue
            fields = _split(row, self.layout.delimiter)
            if len(fields) < len(self.layout.names):
                return Mpm3dError(f"INPUT: line {number} of {_where(self.path)} has {len(fields)} fields, the header "
                                  f"{len(self.layout.names)}; every row needs a value (or an empty field) per column")
            for column, index in zip(self.columns, self.usecols, strict=True):
                value = fields[index]
                if value and not _is_number(value):
                    comma = " (a decimal comma? export with a decimal point)" if DECIMAL_COMMA.match(value) else ""
                    return Mpm3dError(f"INPUT: line {number}, column '{column}' of {_where(self.path)}: '{value[:40]}' "
                                      f"is not a number{comma}; fix the value, or leave the column out")
        return Mpm3dError(f"INPUT: {_where(self.path)} cannot be read as numbers from line {line} on; check the "
                          "delimiter and the quoting")


def _fill_empty(text: str, delimiter: str) -> str:
    """Empty fields as 'nan' (numpy's reader refuses empty fields)."""
    double = delimiter + delimiter
    if double in text:
        filled = delimiter + "nan" + delimiter
        text = text.replace(double, filled).replace(double, filled)
    if "\n" + delimiter in text or text.startswith(delimiter):
        text = ("nan" if text.startswith(delimiter) else "") + text.replace("\n" + delimiter, "\nnan" + delimiter)
    if delimiter + "\n" in text or text.endswith(delimiter):
        text = text.replace(delimiter + "\n", delimiter + "nan\n") + ("nan" if text.endswith(delimiter) else "")
    return text


class _NeedsLines(Exception):
    """Raised where an error must name lines that the pyarrow reader cannot number: the numpy reader reads again."""


def csv_engine() -> str:
    """The CSV reader this Python has: 'pyarrow' when it can be imported, else 'numpy'."""
    try:
        import pyarrow.csv  # noqa: F401 - only whether it is there
    except ImportError:
        return "numpy"
    return "pyarrow"


class _ArrowChunks(_Chunks):
    """The data lines parsed by pyarrow's streaming CSV reader, in blocks of whole lines; no text, no line
    numbers (a message that needs them raises _NeedsLines)."""

    def __iter__(self) -> Iterator[tuple[np.ndarray, None, None, float]]:
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        read = pa_csv.ReadOptions(skip_rows=self.layout.skip_lines, column_names=self.layout.names,
                                  block_size=ARROW_BLOCK_BYTES)
        parse = pa_csv.ParseOptions(delimiter=self.layout.delimiter)
        convert = pa_csv.ConvertOptions(include_columns=self.columns, null_values=[""],
                                        column_types={c: pa.float64() for c in self.columns})
        with pa.OSFile(self.path) as source:
            try:
                reader = pa_csv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
                for batch in reader:
                    values = np.empty((batch.num_rows, len(self.columns)), np.float64, order="F")
                    for index, name in enumerate(self.columns):
                        values[:, index] = batch.column(name).to_numpy(zero_copy_only=False)
                    yield values, None, None, min(source.tell() / self.size, 1.0)
            except pa.ArrowException as exc:  # a field, a row or a line that numpy's reader will name
                raise _NeedsLines() from exc
            finally:
                pa.default_memory_pool().release_unused()  # its blocks' memory back, before the cube is written


def _data_lines(text: str, line: int) -> np.ndarray:
    """The file line number of each data row of a chunk (only looked up to name rows in a message)."""
    return np.array([n for n, row in enumerate(text.split("\n"), line)
                     if row.strip() and not row.lstrip().startswith(COMMENT)])


def _rows(text: str | None, line: int | None, indices: np.ndarray) -> str:
    if text is None:
        raise _NeedsLines()
    numbers = _data_lines(text, line)[indices[:SHOWN_ROWS]]
    more = f" and {len(indices) - SHOWN_ROWS} more" if len(indices) > SHOWN_ROWS else ""
    return "lines " + ", ".join(str(n) for n in numbers) + more


Progress = Callable[..., None]


def read_block_csv(path: str, options: BlockOptions, columns: CsvColumns | None = None,
                   on_progress: Progress | None = None, on_warning: Callable[[str], None] | None = None,
                   engine: str = "") -> tuple[Cube, dict]:
    """A block-model CSV as a cube, and a report (blocks read, sub-blocks merged, largest size ratio).

    ``engine`` is the CSV reader, 'pyarrow' or 'numpy'; empty: pyarrow where it is installed (csv_engine). A
    whitespace-delimited file is always read by numpy (pyarrow splits on one character only).
    """
    columns = columns or CsvColumns()
    progress = on_progress or (lambda *_: None)
    layout = read_layout(path, columns.delimiter)
    centres = [_find(layout.names, getattr(columns, a), CENTRE_NAMES[a], f"{a.upper()}_FIELD", path) for a in AXES]
    sizes = list(columns.sizes) or _usual_sizes(layout.names)
    if sizes and len(sizes) != 3:
        raise Mpm3dError(f"SIZE_FIELDS: give three size columns (along x, y, z), got {', '.join(sizes)}")
    for name in sizes:
        _find(layout.names, name, (), "SIZE_FIELDS", path)
    named = centres + sizes + (options.evidence or []) + options.classes + ([options.label] if options.label else [])
    for name in named:
        if name in layout.text:
            line, value = layout.text[name]
            raise Mpm3dError(f"INPUT: line {line}, column '{name}' of {_where(path)}: '{value[:40]}' is not a number; "
                             "fix the value, or leave the column out")
    if layout.text and on_warning:
        on_warning(f"INPUT: the column(s) {', '.join(layout.text)} of {_where(path)} are not numeric and are left "
                   "out")
    turns = quarter_turns(options.azimuth, options.dip, options.plunge, "AZIMUTH")
    if turns % 2:  # sizes are along the model's own axes: a quarter turn swaps x and y
        sizes = [sizes[1], sizes[0], sizes[2]] if sizes else sizes
    given = options.block_size
    if given is not None and turns % 2:
        given = (given[1], given[0], given[2])
    names = evidence_names(layout.numeric, options, centres + sizes, _where(path))
    crs = grid_crs(options, _where(path))
    if (engine or csv_engine()) == "pyarrow" and layout.delimiter is not None:
        try:
            return _read(_ArrowChunks, path, layout, centres, sizes, names, given, options, crs, progress)
        except _NeedsLines:
            progress(0.0, "Reading the file again, to name the lines at fault")
    return _read(_Chunks, path, layout, centres, sizes, names, given, options, crs, progress)


def _read(chunks_of: type[_Chunks], path: str, layout: _Layout, centres: list[str], sizes: list[str],
          names: list[str], given: tuple | None, options: BlockOptions, crs: str, progress: Progress
          ) -> tuple[Cube, dict]:
    """The two passes, with the chunks of one reader."""
    progress(0.0, "Reading the block centres")
    scan = _scan(chunks_of(path, layout, centres + sizes), options, bool(sizes), progress)
    if scan.rows == 0:
        raise Mpm3dError(f"INPUT: {_where(path)} has a header but no block")
    sub_blocked = bool(sizes) and any(len(s) > 1 for s in scan.sizes)
    if sub_blocked:
        lattices = _parent_lattices(scan, given, path)
    else:
        steps = [(float(scan.sizes[i][0]) if sizes else None) if given is None else given[i] for i in range(3)]
        lattices = [Lattice.of(scan.values[i], steps[i], a, _where(path)) for i, a in enumerate(AXES)]
        if any(lattice.off_lattice(scan.values[i]).any() for i, lattice in enumerate(lattices)):
            _off_lattice(chunks_of(path, layout, centres), lattices, options, bool(sizes))
        cells = int(np.prod([len(lattice.centres) for lattice in lattices]))
        if cells > LATTICE_CELLS_PER_BLOCK * scan.rows + 10**6:
            raise Mpm3dError(f"BLOCK_SIZE: a lattice of {' x '.join(f'{a.step:g}' for a in lattices)} m blocks "
                             f"would have {cells} cells for {scan.rows} blocks of {_where(path)}: the centres are "
                             "not on one lattice of that size; give BLOCK_SIZE")
    attributes = names + ([options.label] if options.label else [])
    read = chunks_of(path, layout, centres + sizes + attributes)
    if sub_blocked:
        cube, report = _regularised(read, lattices, names, options, crs, progress)
    else:
        cube, report = _direct(read, lattices, names, options, crs, progress)
    report["BLOCKS"] = scan.rows
    return checked_cube(cube, _where(path)), report


@dataclass
class _Scan:
    rows: int
    values: list[np.ndarray]  # unique centres per axis, ascending
    sizes: list[np.ndarray]  # unique sizes per axis
    low: np.ndarray  # smallest lower edge per axis (sub-blocks)


def _scan(chunks: _Chunks, options: BlockOptions, sized: bool, progress: Progress) -> _Scan:
    """Pass one: the distinct centres (and sizes) along each axis, nothing else kept."""
    values = [np.empty(0)] * 3
    sizes = [np.empty(0)] * 3
    low = np.full(3, np.inf)
    rows = 0
    for data, text, line, share in chunks:
        centres = data[:, :3].copy()
        centres[:, 2] = elevations(centres[:, 2], options)
        missing = np.flatnonzero(~np.isfinite(data).all(axis=1))
        if missing.size:
            raise Mpm3dError(f"INPUT: {_rows(text, line, missing)} of {_where(chunks.path)} lack a block centre or "
                             "size; every block needs its x, y, z (and sizes)")
        rows += len(data)
        for axis in range(3):
            values[axis] = np.union1d(values[axis], centres[:, axis])
            if sized:
                size = data[:, 3 + axis]
                bad = np.flatnonzero(~(size > 0))
                if bad.size:
                    raise Mpm3dError(f"SIZE_FIELDS: {_rows(text, line, bad)} of {_where(chunks.path)} give a block "
                                     f"size that is not positive in '{chunks.columns[3 + axis]}'")
                sizes[axis] = np.union1d(sizes[axis], size)
                low[axis] = min(low[axis], float((centres[:, axis] - size / 2).min()))
        progress(0.3 * share, "Reading the block centres")
    return _Scan(rows, values, sizes, low)


def _off_lattice(chunks: _Chunks, lattices: list[Lattice], options: BlockOptions, sized: bool) -> None:
    """Raises, naming the first rows whose centres lie between lattice points."""
    for data, text, line, _ in chunks:
        centres = data[:, :3].copy()
        centres[:, 2] = elevations(centres[:, 2], options)
        _lattice_index(centres, lattices, text, line, chunks.path, sized)


def _lattice_index(centres: np.ndarray, lattices: list[Lattice], text: str, line: int, path: str,
                   sized: bool) -> list[np.ndarray]:
    """Each block's lattice index along x, y, z; centres between lattice points are an error naming them."""
    index = []
    for axis, lattice in enumerate(lattices):
        off = lattice.off_lattice(centres[:, axis])
        if off.any():
            bad = np.flatnonzero(off)
            fractions = (centres[bad, axis] - lattice.centres[0]) / lattice.step
            raise lattice_problem(fractions, _rows(text, line, bad) + f" of {_where(path)}", AXES[axis],
                                  lattice.step, sized)
        index.append(lattice.index(centres[:, axis]))
    return index


def _direct(chunks: _Chunks, lattices: list[Lattice], names: list[str], options: BlockOptions, crs: str,
            progress: Progress) -> tuple[Cube, dict]:
    """Pass two for blocks of one size: every block's attributes straight into its voxel."""
    nx, ny, nz = (len(lattice.centres) for lattice in lattices)
    features = np.full((len(names), nz, ny, nx), np.nan, np.float32)
    label = np.full((nz, ny, nx), LABEL_UNKNOWN, np.int8) if options.label else None
    filled = np.zeros(nz * ny * nx, bool)
    flat_features = features.reshape(len(names), -1)
    for data, text, line, share in chunks:
        centres = data[:, :3].copy()
        centres[:, 2] = elevations(centres[:, 2], options)
        ix, iy, iz = _lattice_index(centres, lattices, text, line, chunks.path,
                                    len(chunks.columns) > 3 + len(names) + bool(options.label))
        flat = ((nz - 1 - iz) * ny + (ny - 1 - iy)) * nx + ix
        _check_unique(flat, filled, text, line, chunks.path, centres)
        filled[flat] = True
        start = len(chunks.columns) - len(names) - bool(options.label)
        for f in range(len(names)):
            values = data[:, start + f]
            flat_features[f, flat] = np.where(nodata_mask(values, options.nodata), np.nan, values)
        if label is not None:
            values = data[:, -1]
            values = np.where(nodata_mask(values, options.nodata), np.nan, values)
            label.reshape(-1)[flat] = labels_of(values, options.cutoff, options.label,
                                                lambda i, t=text, n=line: _rows(t, n, np.array([i])))
        progress(0.3 + 0.6 * share, "Reading the block attributes")
    x, y, z = (lattice.centres for lattice in lattices)
    grid = Grid(crs=crs, x=x, y=y[::-1].copy(), z=z[::-1].copy())
    return Cube(grid, features, names, label), {"MERGED": 0, "SIZE_RATIO": 1.0}


def _check_unique(flat: np.ndarray, filled: np.ndarray, text: str, line: int, path: str, centres) -> None:
    """Duplicated block centres, within the chunk or against the chunks before it."""
    order = np.argsort(flat, kind="stable")
    repeated = order[1:][flat[order][1:] == flat[order][:-1]]
    again = np.flatnonzero(filled[flat])
    bad = np.union1d(repeated, again)
    if bad.size:
        first = centres[bad[0]]
        raise Mpm3dError(f"INPUT: {_rows(text, line, bad)} of {_where(path)} repeat a block centre given before "
                         f"(the first at x {first[0]:g}, y {first[1]:g}, z {first[2]:g}); give every block once")


def _parent_lattices(scan: _Scan, given: tuple | None, path: str) -> list[Lattice]:
    """The parent grid of a sub-blocked model: the block size given, else the largest block along each axis,
    starting at the lowest block edge."""
    lattices = []
    for axis in range(3):
        step = float(scan.sizes[axis].max()) if given is None else float(given[axis])
        high = float((scan.values[axis] + scan.sizes[axis].max() / 2).max())
        count = max(1, int(np.ceil((high - scan.low[axis]) / step - 1e-6)))
        lattices.append(Lattice(scan.low[axis] + step * (np.arange(count) + 0.5), step))
    return lattices


def _regularised(chunks: _Chunks, lattices: list[Lattice], names: list[str], options: BlockOptions, crs: str,
                 progress: Progress) -> tuple[Cube, dict]:
    """Pass two for sub-blocks: each parent block gets the volume-weighted mean of the blocks inside it (the
    majority by volume for class attributes and the label); a block must lie inside one parent block."""
    nx, ny, nz = (len(lattice.centres) for lattice in lattices)
    cells = nx * ny * nz
    weighted = np.zeros((len(names), cells))
    volume = np.zeros((len(names), cells))
    classes: dict[str, dict[float, np.ndarray]] = {n: {} for n in options.classes}
    if options.label:
        classes[options.label] = {}
    occupied = np.zeros(cells)
    count = np.zeros(cells, np.int64)
    smallest = np.inf
    start = 6
    for data, text, line, share in chunks:
        centres, sizes = data[:, :3].copy(), data[:, 3:6]
        centres[:, 2] = elevations(centres[:, 2], options)
        index = []
        for axis, lattice in enumerate(lattices):
            edge = lattice.centres[0] - lattice.step / 2
            lower = (centres[:, axis] - sizes[:, axis] / 2 - edge) / lattice.step
            upper = (centres[:, axis] + sizes[:, axis] / 2 - edge) / lattice.step
            cell = np.floor(lower + 1e-6).astype(np.int64)
            across = np.flatnonzero(np.ceil(upper - 1e-6).astype(np.int64) - cell > 1)
            if across.size:
                raise Mpm3dError(f"INPUT: the blocks at {_rows(text, line, across)} of {_where(chunks.path)} reach "
                                 f"across the edge of a {lattice.step:g} m parent block along {AXES[axis]}; give the "
                                 "parent block size in BLOCK_SIZE (sub-blocks must lie inside one parent block)")
            index.append(cell)
        ix, iy, iz = index
        flat = ((nz - 1 - iz) * ny + (ny - 1 - iy)) * nx + ix
        block_volume = sizes.prod(axis=1)
        smallest = min(smallest, float(block_volume.min()))
        unique, inverse = np.unique(flat, return_inverse=True)
        occupied[unique] += np.bincount(inverse, weights=block_volume)
        count[unique] += np.bincount(inverse)
        for f, name in enumerate(names):
            values = data[:, start + f]
            known = ~nodata_mask(values, options.nodata)
            if name in classes:
                _add_classes(classes[name], cells, unique, inverse, values, known, block_volume, name)
                continue
            weighted[f, unique] += np.bincount(inverse, weights=np.where(known, values * block_volume, 0.0))
            volume[f, unique] += np.bincount(inverse, weights=np.where(known, block_volume, 0.0))
        if options.label:
            values = data[:, -1]
            values = np.where(nodata_mask(values, options.nodata), np.nan, values)
            flags = labels_of(values, options.cutoff, options.label,
                              lambda i, t=text, n=line: _rows(t, n, np.array([i]))).astype(float)
            _add_classes(classes[options.label], cells, unique, inverse, flags, flags >= 0, block_volume,
                         options.label)
        progress(0.3 + 0.6 * share, "Regularising the sub-blocks onto the parent grid")
    parent = float(np.prod([lattice.step for lattice in lattices]))
    overfull = np.flatnonzero(occupied > parent * (1 + 1e-6))
    if overfull.size:
        iz, iy, ix = np.unravel_index(overfull[0], (nz, ny, nx))
        where = (lattices[0].centres[ix], lattices[1].centres[ny - 1 - iy], lattices[2].centres[nz - 1 - iz])
        raise Mpm3dError(f"INPUT: the blocks inside the parent block centred at x {where[0]:g}, y {where[1]:g}, "
                         f"z {where[2]:g} of {_where(chunks.path)} overlap (their volumes add up to "
                         f"{occupied[overfull[0]] / parent:.0%} of it): repeated block centres or wrong sizes")
    with np.errstate(invalid="ignore", divide="ignore"):
        features = (weighted / volume).astype(np.float32)
    for f, name in enumerate(names):
        if name in classes:
            features[f] = _majority(classes[name], cells)
    label = None
    if options.label:
        majority = _majority(classes[options.label], cells)
        label = np.where(np.isfinite(majority), majority, LABEL_UNKNOWN).astype(np.int8).reshape(nz, ny, nx)
    x, y, z = (lattice.centres for lattice in lattices)
    grid = Grid(crs=crs, x=x, y=y[::-1].copy(), z=z[::-1].copy())
    merged = int(count[count > 1].sum())
    return (Cube(grid, features.reshape(len(names), nz, ny, nx), names, label),
            {"MERGED": merged, "SIZE_RATIO": parent / smallest})


def _add_classes(totals: dict[float, np.ndarray], cells: int, unique, inverse, values, known, block_volume,
                 name: str) -> None:
    """Volume per class value and parent block."""
    for value in np.unique(values[known]):
        if value not in totals:
            if len(totals) >= MAX_CLASSES:
                raise Mpm3dError(f"CLASS_FIELDS: column '{name}' has more than {MAX_CLASSES} distinct values; a class "
                                 "attribute holds a few codes (lithology, domain): leave it out of CLASS_FIELDS")
            totals[value] = np.zeros(cells)
        totals[value][unique] += np.bincount(inverse, weights=np.where(known & (values == value), block_volume, 0.0))


def _majority(totals: dict[float, np.ndarray], cells: int) -> np.ndarray:
    """The class value holding the most volume in each cell (ties: the smaller value); NaN where none."""
    if not totals:
        return np.full(cells, np.nan, np.float32)
    values = sorted(totals)
    stacked = np.stack([totals[value] for value in values])
    best = np.asarray(values, np.float32)[stacked.argmax(axis=0)]
    return np.where(stacked.max(axis=0) > 0, best, np.nan).astype(np.float32)


def _text(values: np.ndarray) -> list[str]:
    """Coordinates as the shortest text that reads back as the same number."""
    return [repr(float(v)) for v in values]


def write_block_csv(path: str, reader: CubeReader, variables: Sequence[str], keep_nodata: bool = False,
                    nodata: str = "", on_progress: Progress | None = None) -> int:
    """Block centres and sizes with one column per variable, a level at a time; returns the blocks written.

    Blocks without a value in any variable are left out unless ``keep_nodata``; a missing value is written as
    ``nodata`` (empty by default). Values are written with 9 significant digits, which float32 reads back exactly.
    """
    progress = on_progress or (lambda *_: None)
    grid = reader.grid
    nz, ny, nx = grid.shape
    dx, dy = grid.pixel_size
    thickness = level_thickness(grid.z)
    xs, ys, zs = _text(grid.x), _text(grid.y), _text(grid.z)
    fmt = ",".join(["%.9g"] * len(variables))
    written = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(",".join(["x", "y", "z", "dx", "dy", "dz", *variables]) + "\n")
        for level in range(nz - 1, -1, -1):  # bottom up, x fastest: the order block models are usually listed in
            slab = np.stack([_as_values(reader, name, level) for name in variables]).reshape(len(variables), -1)
            keep = np.ones(slab.shape[1], bool) if keep_nodata else np.isfinite(slab).any(axis=0)
            rows = np.flatnonzero(keep)
            rows = rows[np.lexsort((rows % nx, -(rows // nx)))]  # south to north, west to east
            sizes = f"{repr(float(dx))},{repr(float(dy))},{repr(float(thickness[level]))}"
            lines = [f"{xs[r % nx]},{ys[r // nx]},{zs[level]},{sizes},{fmt % tuple(v)}"
                     for r, v in zip(rows.tolist(), slab[:, rows].T.tolist(), strict=True)]
            if lines:
                handle.write("\n".join(lines).replace("nan", nodata) + "\n")
            written += len(lines)
            progress((nz - level) / nz, "Writing the blocks")
    return written


def _as_values(reader: CubeReader, name: str, level: int) -> np.ndarray:
    """One level of a variable as float64, a label's unknown (-1) as NaN."""
    values = reader.read_variable(name, level, level + 1)[0].astype(np.float64)
    return np.where(values == LABEL_UNKNOWN, np.nan, values) if name == "label" else values
