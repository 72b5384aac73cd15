"""CF-1.8 NetCDF building blocks: atomic files, grid coordinates, hybrid levels, cell area.

Every file is written under a temporary name in the same directory and renamed to its
final name only when complete (``os.replace`` is atomic on POSIX), so a crash or SIGKILL
never leaves a truncated file under a final name. Files carry no wall-clock time, so the
same run writes the same bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import netCDF4
import numpy as np

from esm._version import __version__
from esm.grid import Grid
from esm.vertical import VerticalCoordinate

#: Suffix of files being written; never a final name.
PARTIAL_SUFFIX = ".partial"
CONVENTIONS = "CF-1.8"


def partial_name(final: Path) -> Path:
    """Temporary name for ``final`` while it is written (same directory, hidden)."""
    return final.with_name("." + final.name + PARTIAL_SUFFIX)


def create_dataset(final: Path) -> netCDF4.Dataset:
    """Open a new NETCDF4 file under the temporary name of ``final`` (overwriting stale partials)."""
    tmp = partial_name(final)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    return netCDF4.Dataset(tmp, "w", format="NETCDF4")


def finalize_dataset(ds: netCDF4.Dataset, final: Path) -> Path:
    """Close ``ds`` (written under the temporary name) and atomically rename it to ``final``."""
    tmp = Path(ds.filepath())
    ds.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    return final


def global_attributes(ds: netCDF4.Dataset, title: str, namelist_text: str, extra: dict | None = None) -> None:
    ds.setncattr("Conventions", CONVENTIONS)
    ds.setncattr("title", title)
    ds.setncattr("institution", "esm developers")
    ds.setncattr("source", f"esm {__version__}: Earth-system carbon-cycle model with coupled transport")
    ds.setncattr("history", f"written by esm {__version__}")
    ds.setncattr("references", "https://github.com/esm-carbon/esm (model documentation and namelist reference)")
    ds.setncattr("esm_namelist", namelist_text)
    for k, v in (extra or {}).items():
        ds.setncattr(k, v)


def define_horizontal(ds: netCDF4.Dataset, grid: Grid, with_area: bool = True) -> None:
    """lat/lon coordinates with bounds, and ``cell_area`` (m2)."""
    ds.createDimension("lat", grid.nlat)
    ds.createDimension("lon", grid.nlon)
    if "bnds" not in ds.dimensions:
        ds.createDimension("bnds", 2)
    latb, lonb = grid.bounds()
    lat = ds.createVariable("lat", "f8", ("lat",))
    lat.setncatts({"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north",
                   "axis": "Y", "bounds": "lat_bnds"})
    lat[:] = grid.lat
    ds.createVariable("lat_bnds", "f8", ("lat", "bnds"))[:] = latb
    lon = ds.createVariable("lon", "f8", ("lon",))
    lon.setncatts({"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east",
                   "axis": "X", "bounds": "lon_bnds"})
    lon[:] = grid.lon
    ds.createVariable("lon_bnds", "f8", ("lon", "bnds"))[:] = lonb
    if with_area:
        area = ds.createVariable("cell_area", "f8", ("lat", "lon"))
        area.setncatts({"standard_name": "cell_area", "long_name": "area of grid cell", "units": "m2",
                        "comment": f"exact spherical area, radius {grid.radius:.1f} m"})
        area[:] = grid.area


def define_vertical(ds: netCDF4.Dataset, vcoord: VerticalCoordinate) -> None:
    """Hybrid sigma-pressure coordinate ``lev`` with CF formula_terms ``ap: ap b: b ps: ps``.

    ``lev`` is the dimensionless ``ap/p0 + b`` at layer mid-points (p0 = 100000 Pa), level 0 at
    the surface; bounds from the interfaces. ``p(k, j, i) = ap(k) + b(k) * ps(j, i)``.
    """
    ds.createDimension("lev", vcoord.nlev)
    if "bnds" not in ds.dimensions:
        ds.createDimension("bnds", 2)
    p0 = 1.0e5
    ap_mid = 0.5 * (vcoord.ap[:-1] + vcoord.ap[1:])
    b_mid = 0.5 * (vcoord.bp[:-1] + vcoord.bp[1:])
    ap_b = np.stack([vcoord.ap[:-1], vcoord.ap[1:]], axis=1)
    b_b = np.stack([vcoord.bp[:-1], vcoord.bp[1:]], axis=1)
    lev = ds.createVariable("lev", "f8", ("lev",))
    lev.setncatts({"standard_name": "atmosphere_hybrid_sigma_pressure_coordinate",
                   "long_name": "hybrid sigma-pressure level (ap/p0 + b) at layer mid-point",
                   "units": "1", "positive": "down", "axis": "Z", "bounds": "lev_bnds",
                   "formula_terms": "ap: ap b: b ps: ps",
                   "comment": f"level 0 is the lowest layer; level set {vcoord.name}; p0 = 100000 Pa"})
    lev[:] = ap_mid / p0 + b_mid
    # bounds inherit units and formula from lev (CF 7.1); ap_bnds and b_bnds give the interface terms
    ds.createVariable("lev_bnds", "f8", ("lev", "bnds"))[:] = ap_b / p0 + b_b
    ap = ds.createVariable("ap", "f8", ("lev",))
    ap.setncatts({"long_name": "hybrid pressure coefficient at layer mid-point", "units": "Pa",
                  "bounds": "ap_bnds"})
    ap[:] = ap_mid
    ds.createVariable("ap_bnds", "f8", ("lev", "bnds"))[:] = ap_b
    b = ds.createVariable("b", "f8", ("lev",))
    b.setncatts({"long_name": "hybrid sigma coefficient at layer mid-point", "units": "1", "bounds": "b_bnds"})
    b[:] = b_mid
    ds.createVariable("b_bnds", "f8", ("lev", "bnds"))[:] = b_b


def open_for_reading(path: Path, what: str) -> netCDF4.Dataset:
    """Open an existing NetCDF file, turning failures into InputDataError naming ``what`` and the file."""
    from esm.errors import InputDataError

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{what} {str(path)!r} does not exist")
    try:
        return netCDF4.Dataset(path, "r")
    except OSError as exc:
        raise InputDataError(f"{what} {str(path)!r} is not a readable NetCDF file: {exc}") from None
