"""Initial tracer fields from ``&tracers_nml``: uniform, latitude profile, file, or species default."""
from __future__ import annotations

import numpy as np

from esm.config.schema import Config
from esm.errors import InputDataError
from esm.grid import Grid
from esm.io.netcdf import open_for_reading
from esm.tracers import TracerSet


def _per_tracer(values, n):
    return list(values) if len(values) == n else list(values) * n


def initial_mole_fractions(cfg: Config, grid: Grid, nlev: int, tracers: TracerSet) -> np.ndarray:
    """``(ntracer, nlev, nlat, nlon)`` dry-air mole fractions at the start of a cold run.

    * ``uniform``: ``init_value`` everywhere (a negative value selects the species default);
    * ``latitude``: ``init_value + init_gradient * sin(lat) / 2`` (north-minus-south difference
      ``init_gradient``, global area mean ``init_value``, since sin(lat) has zero area mean);
    * ``file``: variable named like the tracer in ``init_file``, shape (lev, lat, lon) on the model grid;
    * ``species``: the species default from the registry.
    """
    tr = cfg.tracers_nml
    n = len(tracers)
    types = _per_tracer(tr.init_type, n)
    values = _per_tracer(tr.init_value, n)
    grads = _per_tracer(tr.init_gradient, n)
    q = np.empty((n, nlev, grid.nlat, grid.nlon))
    ds = None
    try:
        for i, (name, sp) in enumerate(zip(tracers.names, tracers.species)):
            base = sp.default_mole_fraction if (values[i] < 0 or types[i] == "species") else values[i]
            if types[i] in ("uniform", "species"):
                q[i] = base
            elif types[i] == "latitude":
                prof = base + grads[i] * 0.5 * np.sin(np.deg2rad(grid.lat))
                q[i] = prof[None, :, None]
            else:
                if ds is None:
                    ds = open_for_reading(tr.init_file, "&tracers_nml init_file")
                    ds.set_auto_mask(False)
                if name not in ds.variables:
                    raise InputDataError(f"&tracers_nml init_file {tr.init_file!r}: no variable {name!r} "
                                         f"(found: {', '.join(ds.variables)})")
                arr = np.asarray(ds[name][:], dtype=np.float64)
                if arr.ndim == 4 and arr.shape[0] == 1:
                    arr = arr[0]
                if arr.shape != (nlev, grid.nlat, grid.nlon):
                    raise InputDataError(f"&tracers_nml init_file {tr.init_file!r}: variable {name!r} has shape "
                                         f"{arr.shape}; expected (lev, lat, lon) = {(nlev, grid.nlat, grid.nlon)}")
                units = getattr(ds[name], "units", "mol mol-1")
                scale = {"mol mol-1": 1.0, "mol/mol": 1.0, "1": 1.0, "ppm": 1e-6, "ppmv": 1e-6, "ppb": 1e-9,
                         "ppbv": 1e-9, "ppt": 1e-12}.get(units.strip())
                if scale is None:
                    raise InputDataError(f"&tracers_nml init_file {tr.init_file!r}: variable {name!r} has units "
                                         f"{units!r}; expected 'mol mol-1', 'ppm', 'ppb' or 'ppt'")
                q[i] = arr * scale
            if not np.all(np.isfinite(q[i])) or np.any(q[i] < 0) or np.any(q[i] > 1):
                raise InputDataError(f"initial {name!r}: mole fractions must be finite and within [0, 1]")
    finally:
        if ds is not None:
            ds.close()
    return q
