"""Input checks shared by the transport processes: clear errors naming field, time and cell."""
from __future__ import annotations

import numpy as np

from esm.errors import InputDataError
from esm.grid import Grid


def _where(grid: Grid, idx: tuple, nlev_axis: bool, edge: bool = False, lead_names=None) -> str:
    if lead_names is not None:
        k, j, i = (int(x) for x in idx)
        return f"tracer {lead_names[k]}, lat {grid.lat[j]:.2f}, lon {grid.lon[i]:.2f}"
    if nlev_axis:
        k, j, i = (int(x) for x in idx)
        lev = f"{'interface' if edge else 'level'} {k}, "
    else:
        j, i = (int(x) for x in idx)
        lev = ""
    lat = f"lat {grid.lat[j]:.2f}" if j < grid.nlat else f"the north pole edge (row {j})"
    return f"{lev}{lat}, lon {grid.lon[i]:.2f}"


#: arrays at least this large are scanned by the compiled kernel (one parallel pass)
_KERNEL_SCAN_MIN = 4096


def _count_bad(arr: np.ndarray, vmin: float | None, strict: bool) -> int:
    """How many values are non-finite or violate the lower bound (fast path; 0 means fine)."""
    if arr.size >= _KERNEL_SCAN_MIN:
        from esm.transport.advection import kernels
        from esm.transport.threads import kernel_threads

        mode = 0 if vmin is None else (2 if strict else 1)
        return int(kernels().scan_finite(arr.reshape(-1), 0.0 if vmin is None else float(vmin), mode,
                                         kernel_threads(arr.size)))
    bad = ~np.isfinite(arr)
    if vmin is not None:
        bad |= (arr <= vmin) if strict else (arr < vmin)
    return int(bad.sum())


def check_array(value, name: str, shape: tuple, grid: Grid, when: str, *, vmin: float | None = None,
                vmin_strict: bool = False, edge: bool = False, what: str = "meteorological field",
                lead_names=None, scan: bool = True) -> np.ndarray:
    """Return ``value`` as C-contiguous float64 after checking shape, finiteness and a lower bound.

    Raises InputDataError naming the field, ``when`` and the first bad cell; ``lead_names``
    names the entries of a leading tracer axis of a (ntracer, nlat, nlon) array. With
    ``scan=False`` only the shape and dtype are checked (``&transport_nml check_inputs``).
    """
    arr = np.asarray(value)
    if arr.shape != shape:
        raise InputDataError(f"{when}: {what} {name!r} has shape {arr.shape}; expected {shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise InputDataError(f"{when}: {what} {name!r} has dtype {arr.dtype}; expected real numbers")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not scan:
        return arr
    if _count_bad(arr, vmin, vmin_strict) == 0:
        return arr
    bad = ~np.isfinite(arr)
    if vmin is not None:
        bad |= (arr <= vmin) if vmin_strict else (arr < vmin)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), arr.shape)
        rule = "finite" if vmin is None else f"finite and {'>' if vmin_strict else '>='} {vmin:g}"
        where = _where(grid, idx[-3:] if arr.ndim >= 3 else idx[-2:], arr.ndim >= 3, edge, lead_names)
        raise InputDataError(f"{when}: {what} {name!r} is {float(arr[idx])!r} at {where}; expected {rule}")
    return arr


def met_field(met, name: str, shape: tuple, grid: Grid, when: str, process: str, **kw) -> np.ndarray:
    """A meteorological field the ``process`` needs, checked; a clear error when it is missing."""
    if name not in met:
        raise InputDataError(f"{when}: {process} needs the meteorological field {name!r}, which the "
                             f"meteorology does not provide; switch {process} off in &transport_nml or use a "
                             f"meteorology source that has it")
    return check_array(met[name], name, shape, grid, when, **kw)
