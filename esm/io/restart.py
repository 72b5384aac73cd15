"""Restart files: every prognostic array in float64, the model time, step count and namelist.

A restart holds the air mass, every tracer's mole fraction, each component's state
(``<component>__<field>``), transport and meteorology state, the running budget and the
output streams' mean accumulators, plus the attributes that make it self-describing:
model time and calendar, run anchor (the original start), step length, grid, levels,
tracers and the fully resolved namelist. Files are written atomically.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np

from esm._version import __version__
from esm.clock import format_time, parse_time
from esm.errors import RestartError
from esm.io.netcdf import create_dataset, define_horizontal, finalize_dataset

log = logging.getLogger(__name__)

RESTART_DIR = "restart"
PREFIX = "esm_restart."


@dataclass
class RestartData:
    time: object  # cftime.datetime
    anchor: object  # cftime.datetime, the run's original start
    step: int
    dt: int
    grid: str
    vertical: str
    tracers: tuple[str, ...]
    components: tuple[str, ...]
    namelist: str
    air_mass: np.ndarray
    q: np.ndarray
    state: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None


def restart_path(output_dir: Path, time) -> Path:
    from esm.io.streams import file_stamp
    return Path(output_dir) / RESTART_DIR / f"{PREFIX}{file_stamp(time)}.nc"


def write_restart(path: Path, data: RestartData, grid) -> Path:
    """Write ``data`` atomically to ``path``; returns the final path."""
    ds = create_dataset(path)
    try:
        ds.setncatts({
            "Conventions": "CF-1.8",
            "title": "esm restart",
            "source": f"esm {__version__}",
            "esm_time": format_time(data.time),
            "esm_calendar": data.time.calendar,
            "esm_anchor": format_time(data.anchor),
            "esm_step": np.int64(data.step),
            "esm_dt": np.int64(data.dt),
            "esm_grid": data.grid,
            "esm_vertical": data.vertical,
            "esm_tracers": " ".join(data.tracers),
            "esm_components": " ".join(data.components),
            "esm_namelist": data.namelist,
            "esm_complete": "yes",
        })
        define_horizontal(ds, grid, with_area=False)
        nlev = data.air_mass.shape[0]
        ds.createDimension("lev", nlev)
        am = ds.createVariable("air_mass", "f8", ("lev", "lat", "lon"))
        am.setncatts({"long_name": "dry-air mass in grid cell", "units": "kg"})
        am[:] = data.air_mass
        for i, name in enumerate(data.tracers):
            v = ds.createVariable(f"tracer__{name}", "f8", ("lev", "lat", "lon"))
            v.setncatts({"long_name": f"dry-air mole fraction of {name}", "units": "mol mol-1"})
            v[:] = data.q[i]
        for key in sorted(data.state):
            arr = np.asarray(data.state[key])
            dims = []
            for n, size in enumerate(arr.shape):
                dname = f"{key}__d{n}"
                ds.createDimension(dname, size)
                dims.append(dname)
            dtype = "i8" if arr.dtype.kind in "iub" else "f8"
            v = ds.createVariable(key, dtype, tuple(dims))
            v.setncattr("long_name", f"esm restart state {key}")
            if arr.ndim == 0:
                v.assignValue(arr.astype(dtype))
            else:
                v[:] = arr.astype(dtype)
    except BaseException:
        ds.close()
        raise
    return finalize_dataset(ds, path)


def latest_restart(output_dir: Path) -> Path:
    """Newest complete restart in ``output_dir/restart`` (by model time in the name)."""
    d = Path(output_dir) / RESTART_DIR
    files = sorted(d.glob(f"{PREFIX}*.nc")) if d.is_dir() else []
    if not files:
        raise RestartError(f"restart_file = 'latest': no restart files {PREFIX}*.nc in {str(d)!r}")
    return files[-1]


def read_restart(path: Path) -> RestartData:
    """Read a restart file; RestartError names the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise RestartError(f"restart file {str(path)!r} does not exist")
    try:
        ds = netCDF4.Dataset(path, "r")
    except OSError as exc:
        raise RestartError(f"restart file {str(path)!r} is not a readable NetCDF file (corrupt or truncated?): "
                           f"{exc}") from None
    try:
        ds.set_auto_mask(False)
        try:
            if ds.getncattr("esm_complete") != "yes":
                raise AttributeError
            cal = ds.getncattr("esm_calendar")
            time = parse_time(ds.getncattr("esm_time"), cal)
            anchor = parse_time(ds.getncattr("esm_anchor"), cal)
            tracers = tuple(ds.getncattr("esm_tracers").split())
            comps = tuple(ds.getncattr("esm_components").split())
            data = RestartData(
                time=time, anchor=anchor, step=int(ds.getncattr("esm_step")), dt=int(ds.getncattr("esm_dt")),
                grid=ds.getncattr("esm_grid"), vertical=ds.getncattr("esm_vertical"), tracers=tracers,
                components=comps, namelist=ds.getncattr("esm_namelist"),
                air_mass=np.array(ds["air_mass"][:], dtype=np.float64),
                q=np.stack([np.array(ds[f"tracer__{n}"][:], dtype=np.float64) for n in tracers]) if tracers
                else np.zeros((0,)), path=path)
        except (AttributeError, KeyError, IndexError, ValueError) as exc:
            raise RestartError(f"restart file {str(path)!r} is not an esm restart or is incomplete "
                               f"(missing or bad {exc})") from None
        skip = {"air_mass", "lat", "lon", "lat_bnds", "lon_bnds"} | {f"tracer__{n}" for n in tracers}
        for name, var in ds.variables.items():
            if name in skip:
                continue
            arr = var.getValue() if var.ndim == 0 else var[:]
            data.state[name] = np.array(arr)
    finally:
        ds.close()
    return data


def check_compatible(data: RestartData, *, grid: str, vertical: str, tracers, components, dt: int,
                     calendar: str, nlat: int, nlon: int, nlev: int) -> None:
    """RestartError when the restart does not match the run configured by the namelist."""
    where = f"restart file {str(data.path)!r}"
    if data.time.calendar != calendar:
        raise RestartError(f"{where} uses calendar {data.time.calendar!r}; the namelist has {calendar!r}")
    if data.grid != grid or data.air_mass.shape[1:] != (nlat, nlon):
        raise RestartError(f"{where} is on grid {data.grid!r} {data.air_mass.shape[1:]}; the namelist has "
                           f"&grid_nml horizontal = {grid!r} ({nlat}, {nlon})")
    if data.vertical != vertical or data.air_mass.shape[0] != nlev:
        raise RestartError(f"{where} has level set {data.vertical!r} ({data.air_mass.shape[0]} levels); the "
                           f"namelist has &grid_nml vertical = {vertical!r} ({nlev} levels)")
    if tuple(tracers) != data.tracers:
        raise RestartError(f"{where} carries tracers {list(data.tracers)}; the namelist has &tracers_nml names = "
                           f"{list(tracers)}")
    if tuple(components) != data.components:
        raise RestartError(f"{where} was written with components {list(data.components)}; the namelist has "
                           f"&coupler_nml components = {list(components)}")
    if dt != data.dt:
        log.warning("%s was written with dt = %d s; continuing with dt = %d s (not bit-for-bit with a straight run)",
                    where, data.dt, dt)
