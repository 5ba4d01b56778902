"""Input alignment: the evidence of the deposit a model is applied to, mapped onto the source's before anything
else sees it: the adaptation a practitioner tries first, and the only one the random forest can use.

- ``quantile``: each feature through its own distribution onto the source's (x -> F_source^-1(F_cube(x))), with
  mid-ranks for tied values (classes), so any monotone rescaling of one feature is undone.
- ``coral`` (Sun et al. 2016): the standardised features decorrelated with the cube's covariance and recoloured
  with the source's, so a linear mix of features is undone as well; the margins stay linear.

Training keeps the source's reference (its quantiles, means, spreads and correlations) in the model; the cube's
own side is measured on the cube it is applied to, as its own standardisation is, from a uniform sample of its
valid voxels. Both work on a cube streamed slab by slab.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.grid import Cube
from ..errors import Mpm3dError
from .novelty import evidence_sample
from .sampling import SlabSource, cube_slab_reader

ALIGNMENTS = ("none", "quantile", "coral")
REFERENCE_QUANTILES = 1001  # source quantiles kept in the model per feature
SAMPLE_VOXELS = 100_000  # valid voxels of a cube its side of the mapping is measured on
SLAB_VOXELS = 2**22  # voxels mapped at once
COVARIANCE_RIDGE = 1e-3  # added to both correlation matrices, so a constant or duplicated feature stays invertible


def reference_summary(method: str, source: Cube, seed: int = 0) -> dict[str, Any] | None:
    """What the model keeps of the source for ``method`` (None for "none"): plain lists, for the model file."""
    if method not in ALIGNMENTS:
        raise Mpm3dError(f"unknown input alignment '{method}'; choose one of {', '.join(ALIGNMENTS)}")
    if method == "none":
        return None
    sample = evidence_sample(source, np.random.default_rng([seed, 11]), SAMPLE_VOXELS)
    mean, std = sample.mean(axis=0), _spread(sample)
    return {
        "method": method,
        "quantiles": np.quantile(sample, np.linspace(0, 1, REFERENCE_QUANTILES), axis=0).T.tolist(),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "correlation": _correlation(sample).tolist(),
    }


def check_reference(reference: Any, n_features: int) -> str:
    """'' if ``reference`` is an alignment this model can apply, else what is wrong with it."""
    if reference is None:
        return ""
    if not isinstance(reference, dict) or reference.get("method") not in ALIGNMENTS[1:]:
        return "its input alignment is not one mpm3d writes"
    try:
        quantiles = np.asarray(reference["quantiles"], float)
        vectors = [np.asarray(reference[key], float) for key in ("mean", "std")]
        correlation = np.asarray(reference["correlation"], float)
    except (KeyError, TypeError, ValueError):
        return "its input alignment lacks the source's quantiles, means, spreads or correlations"
    shapes_ok = (quantiles.shape == (n_features, REFERENCE_QUANTILES) and all(v.shape == (n_features,) for v in vectors)
                 and correlation.shape == (n_features, n_features))
    if not shapes_ok or not all(np.all(np.isfinite(a)) for a in (quantiles, correlation, *vectors)):
        return f"its input alignment is not {n_features} features' finite statistics"
    return ""


class _Mapping:
    """The fitted map of one cube's evidence onto the source's (F, ...) -> (F, ...), NaN kept."""

    def __init__(self, reference: dict[str, Any], sample: np.ndarray) -> None:
        self.method = reference["method"]
        if self.method == "quantile":
            self.sorted = np.sort(sample, axis=0).T  # (F, n)
            self.reference = np.asarray(reference["quantiles"], np.float64)
            self.levels = np.linspace(0, 1, self.reference.shape[1])
        else:
            self.cube_mean, self.cube_std = sample.mean(axis=0), _spread(sample)
            self.source_mean = np.asarray(reference["mean"], np.float64)
            self.source_std = np.asarray(reference["std"], np.float64)
            self.matrix = (_power(np.asarray(reference["correlation"], np.float64), 0.5)
                           @ _power(_correlation(sample), -0.5))

    def __call__(self, slab: np.ndarray) -> np.ndarray:
        flat = slab.reshape(len(slab), -1).astype(np.float64)
        if self.method == "quantile":
            out = np.empty_like(flat)
            for k, (values, ordered, reference) in enumerate(zip(flat, self.sorted, self.reference, strict=True)):
                rank = np.searchsorted(ordered, values, "left") + np.searchsorted(ordered, values, "right")
                out[k] = np.interp(rank / (2.0 * len(ordered)), self.levels, reference)
        else:
            z = (flat - self.cube_mean[:, None]) / self.cube_std[:, None]
            out = self.source_mean[:, None] + self.source_std[:, None] * (self.matrix @ z)
        out[:, ~np.all(np.isfinite(flat), axis=0)] = np.nan
        return out.reshape(slab.shape).astype(np.float32)


def fit_to_reference(reference: dict[str, Any], cube: Cube | SlabSource, seed: int = 0) -> _Mapping:
    """The map of ``cube``'s evidence onto the source's, measured on a uniform sample of its valid voxels."""
    sample = evidence_sample(cube, np.random.default_rng([seed, 12]), SAMPLE_VOXELS)
    if len(sample) < 2:
        raise Mpm3dError(f"INPUT_ALIGNMENT {reference['method']}: the cube to align has {len(sample)} voxel(s) where "
                         "every evidence layer is valid, and the alignment is measured on at least two; fill the "
                         "layers' nodata, or choose INPUT_ALIGNMENT none")
    return _Mapping(reference, sample)


def aligned_cube(reference: dict[str, Any] | None, cube: Cube, seed: int = 0) -> Cube:
    """``cube`` with its evidence mapped onto the source's (itself where there is no alignment)."""
    if reference is None:
        return cube
    mapping = fit_to_reference(reference, cube, seed)
    features = np.empty_like(cube.features, dtype=np.float32)
    depth = max(1, SLAB_VOXELS // int(np.prod(cube.grid.shape[1:])))  # mapped in float64 a slab at a time
    for z0 in range(0, cube.grid.shape[0], depth):
        features[:, z0:z0 + depth] = mapping(cube.features[:, z0:z0 + depth])
    return Cube(grid=cube.grid, features=features, feature_names=list(cube.feature_names),
                label=cube.label, attrs={**cube.attrs, "input_alignment": reference["method"]})


def aligned_source(reference: dict[str, Any] | None, source: Cube | SlabSource, seed: int = 0) -> Cube | SlabSource:
    """``source`` read through the alignment, slab by slab (itself where there is no alignment)."""
    if reference is None:
        return source
    if isinstance(source, Cube):
        source = SlabSource(cube_slab_reader(source), source.grid.shape, list(source.feature_names))
    mapping = fit_to_reference(reference, source, seed)
    read = source.read_slab
    return SlabSource(lambda z0, z1: mapping(np.asarray(read(z0, z1))), source.shape, source.feature_names,
                      reference["method"])


def _spread(sample: np.ndarray) -> np.ndarray:
    std = sample.std(axis=0)
    return np.where(std > 0, std, 1.0)


def _correlation(sample: np.ndarray) -> np.ndarray:
    """Correlation matrix of the features (n, F); a constant feature correlates with nothing."""
    z = (sample - sample.mean(axis=0)) / _spread(sample)
    correlation = z.T @ z / len(z)
    np.fill_diagonal(correlation, 1.0)
    return correlation


def _power(matrix: np.ndarray, exponent: float) -> np.ndarray:
    """A correlation matrix (with a small ridge) to a power, through its eigendecomposition."""
    values, vectors = np.linalg.eigh(matrix + COVARIANCE_RIDGE * np.eye(len(matrix)))
    return (vectors * np.clip(values, COVARIANCE_RIDGE, None) ** exponent) @ vectors.T
