"""Vertical remapping of reanalysis columns onto the model's hybrid layers (wrappers of Cython kernels).

* :func:`remap_layers`: pressure-weighted (mass-conserving) remap of layer means between two sets
  of layer interfaces — for model-level products (ERA5 L137 hybrid levels, MERRA-2 / GEOS-FP L72
  from DELP). The column integral ``sum(x dp)`` is preserved where the columns overlap.
* :func:`interp_pressure_levels`: linear interpolation in ln(p) from fixed pressure levels (ERA5
  pressure-level files, MERRA-2 ``Np`` collections) to the model's mid-layer pressures, constant
  beyond the outermost levels.

Arrays are (nlev, nlat, nlon) with level 0 the lowest (highest pressure).
"""
from __future__ import annotations

import numpy as np

try:
    from esm._kernels import met_vremap as _k
except ImportError as exc:  # pragma: no cover - build problem
    raise ImportError("esm's compiled kernel esm._kernels.met_vremap is missing: build the kernels with "
                      "'python setup.py build_ext --inplace' (or reinstall esm)") from exc


def _as2d(a, name, nlev=None, shape2=None):
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D array (nlev, nlat, nlon), got shape {a.shape}")
    if nlev is not None and a.shape[0] != nlev:
        raise ValueError(f"{name}: expected {nlev} levels, got {a.shape[0]}")
    if shape2 is not None and a.shape[1:] != shape2:
        raise ValueError(f"{name}: horizontal shape {a.shape[1:]} differs from {shape2}")
    return a.reshape(a.shape[0], -1)


def remap_layers(src_edges: np.ndarray, src: np.ndarray, tgt_edges: np.ndarray) -> np.ndarray:
    """Remap layer means ``src`` (nsrc, ny, nx) between interfaces ``src_edges`` (nsrc+1, ...) and
    ``tgt_edges`` (ntgt+1, ...), both decreasing upward (surface first)."""
    shape2 = src.shape[1:]
    se = _as2d(src_edges, "source interface pressures", src.shape[0] + 1, shape2)
    sv = _as2d(src, "source field", None, shape2)
    te = _as2d(tgt_edges, "target interface pressures", None, shape2)
    if np.any(se[1:] > se[:-1]) or np.any(te[1:] > te[:-1]):
        raise ValueError("interface pressures must decrease upward (surface first)")
    out = np.empty((te.shape[0] - 1, te.shape[1]))
    _k.remap_conservative(se, sv, te, out)
    return out.reshape((te.shape[0] - 1,) + shape2)


def interp_pressure_levels(src_p: np.ndarray, src: np.ndarray, tgt_p: np.ndarray) -> np.ndarray:
    """Interpolate ``src`` (nsrc, ny, nx) on pressure levels ``src_p`` (nsrc,) [Pa], decreasing, to the
    target pressures ``tgt_p`` (ntgt, ny, nx), linearly in ln(p)."""
    p = np.ascontiguousarray(src_p, dtype=np.float64)
    if p.ndim != 1 or p.size != src.shape[0] or p.size < 2 or np.any(np.diff(p) >= 0) or np.any(p <= 0):
        raise ValueError(f"source pressure levels must be 1-D, positive, strictly decreasing and match the "
                         f"field's {src.shape[0]} levels; got {p!r}")
    shape2 = src.shape[1:]
    sv = _as2d(src, "source field", None, shape2)
    tp = _as2d(tgt_p, "target pressures", None, shape2)
    out = np.empty_like(tp)
    _k.interp_log_pressure(p, sv, tp, out)
    return out.reshape(tgt_p.shape)
