"""Reanalysis readers: ECMWF ERA5 and NASA MERRA-2 / GEOS-FP NetCDF files, one provider.

What is read
------------
ERA5 (CDS NetCDF, pressure-level or model-level): ``u v t q`` (3-D), ``sp``, ``blh``,
``ssrd``, ``t2m``, ``d2m``, ``skt``, ``swvl1``, ``stl1``, ``stl3``, ``u10``, ``v10``, ``sst``, ``siconc``, ``tp``,
optional ``sshf``, ``zust``, ``fdir`` and the updraught mass flux ``mumf``. Model-level files carry
the hybrid coefficients (``hyai``/``hybi`` as written by cdo, or ``a_half``/``b_half``).

MERRA-2 / GEOS-FP (NetCDF-4 collections): ``inst3_3d_asm_Nv`` (``U V T QV PS DELP``) or ``_Np``
(pressure levels), ``tavg1_2d_slv_Nx`` (``T2M QV2M TS U10M V10M``), ``tavg1_2d_flx_Nx`` (``PBLH USTAR
HFLUX PRECTOTCORR``/``PRECTOT``), ``tavg1_2d_rad_Nx`` (``SWGDN``), ``tavg1_2d_lnd_Nx`` (``RZMC`` or
``GWETROOT``, ``TSOIL1``, ``TSOIL3``), ``tavg1_2d_ocn_Nx`` (``TSKINWTR``, ``FRSEAICE``), and the moist collections
``tavg3_3d_mst_Ne`` (``CMFMC`` at 73 edges) / ``_Nv`` (``DTRAIN``).

Soil temperatures: ``tsoil`` (the root zone, 0.5 m in the embedded climatology) from ERA5 ``stl3`` (28-100 cm) or
MERRA-2 ``TSOIL3`` (29-68 cm), ``tsoil_top`` (~5 cm) from the first layer (``stl1``, 0-7 cm; ``TSOIL1``, 0-10 cm).
Files without the third layer give the first layer as ``tsoil`` too, with a warning (the land's cold-soil stomatal
factor then sees the top soil: NPP +3 % at 4x5 in the climatology's sensitivity run, validation/land/README.md).

How
---
Variables are identified by the product's names, else by CF ``standard_name``; each one's ``units``
attribute is checked against a table of accepted units and converted (e.g. ``degC`` -> K, ``hPa`` ->
Pa, accumulated ``J m**-2`` -> W m-2 and ``m`` of water -> kg m-2 s-1 over the record interval, the
stamp moved to the middle of the accumulation); ``scale_factor``/``add_offset`` packing and
``_FillValue``/``missing_value`` are decoded by netCDF4. Longitudes may be -180..180 or 0..360,
latitudes either order, levels either order (detected from the coordinates). Fields are regridded
horizontally (conservative for fluxes and masses, bilinear for state variables; ocean-only and
land-only fields conservatively over their valid cells), then vertically onto the model's hybrid
layers (mass-weighted for model-level products, linear in ln p for pressure levels), and
interpolated linearly in time between records. Derived: ``q2m`` and ``vpd`` from ``d2m`` (ERA5),
``wind10 = |(u10, v10)|``, ``cos_sza`` from the solar geometry, ``par`` = par_fraction x swdown,
``swdown_diffuse`` = ssrd - fdir (ERA5 with ``fdir``) or the Erbs et al. (1982) split, ERA5 ``sshf``
sign flipped (ECMWF fluxes are positive downward), MERRA-2 ``GWETROOT`` x porosity 0.45 (when RZMC is
absent) and ``FRSEAICE`` (fraction of the cell) divided by the ocean fraction; ERA5 ``mumf`` (updraught)
and, when the files have it, ``mdmf`` (downdraught, its magnitude) averaged from layers onto the interfaces
as ``cmfmc`` and ``dmf``; their detrainment from ``mudr``/``mddr`` (per unit height) times the layer depth
(hypsometric, R_d T_v / g ln(p_bottom / p_top)) when the files have them, else where the flux weakens along
the draught. Fields a product does not have (``sss``; optional fields absent from the files, ``cmfmc``
among them) come from the embedded climatology, logged once. ``land_fraction`` is the model's (the land
component's) land fraction.

Bad input raises :class:`esm.errors.InputDataError` naming the file, the variable and the time: a
missing variable, a missing or unknown ``units``, missing/NaN values inside the domain (except
ocean-only fields over land and land-only fields over the ocean), a gap in the time coverage, a time
outside it, a grid that does not cover the globe. With ``allow_fill = .true.`` missing values are
filled from the valid neighbours (conservative regridding of the valid cells, else the climatology)
and each fill is logged.

Reading the next record runs in a background thread (``prefetch``); netCDF reads are serialised by
a lock because HDF5 is not thread-safe, the regridding overlaps with the model's work.
"""
from __future__ import annotations

import datetime as _dt
import glob
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cftime
import netCDF4
import numpy as np

from esm.constants import G0, R_DRY
from esm.errors import InputDataError
from esm.grid import Grid
from esm.meteorology.base import FIELDS, MassFluxes, MetProvider, MetState
from esm.meteorology.config import default_params
from esm.meteorology.massflux import lerp
from esm.meteorology.regrid import Regridder, describe_source_grid
from esm.meteorology.solar import SolarGeometry
from esm.meteorology.thermo import saturation_vapour_pressure, specific_humidity, vapour_pressure
from esm.vertical import VerticalCoordinate

log = logging.getLogger(__name__)
_NC_LOCK = threading.Lock()

#: volumetric porosity used to turn MERRA-2 GWETROOT (degree of saturation) into m3 m-3
#: (Reichle et al. 2017, J. Climate 30, 2937: Catchment model porosities ~0.4-0.5).
POROSITY = 0.45

# ---------------------------------------------------------------------------------------- units
_UNIT_SYNONYMS = {
    "m s-1": "m s-1", "m/s": "m s-1", "ms-1": "m s-1",
    "k": "K", "kelvin": "K", "degk": "K", "deg k": "K",
    "degc": "degC", "deg c": "degC", "celsius": "degC", "c": "degC", "degrees_celsius": "degC",
    "kg kg-1": "kg kg-1", "kg/kg": "kg kg-1", "g kg-1": "g kg-1", "g/kg": "g kg-1",
    "pa": "Pa", "hpa": "hPa", "mb": "hPa", "mbar": "hPa", "millibars": "hPa", "millibar": "hPa",
    "m": "m", "metres": "m", "meters": "m", "mm": "mm",
    "w m-2": "W m-2", "w/m2": "W m-2", "w m-2 s-0": "W m-2",
    "j m-2": "J m-2", "j/m2": "J m-2",
    "kg m-2 s-1": "kg m-2 s-1", "kg/m2/s": "kg m-2 s-1", "mm s-1": "kg m-2 s-1", "mm/s": "kg m-2 s-1",
    "kg m-3 s-1": "kg m-3 s-1", "kg/m3/s": "kg m-3 s-1",
    "mm day-1": "mm day-1", "mm/day": "mm day-1", "mm d-1": "mm day-1",
    "m3 m-3": "m3 m-3", "m-3 m-3": "m3 m-3", "m3/m3": "m3 m-3",
    "1": "1", "(0 - 1)": "1", "0-1": "1", "fraction": "1", "dimensionless": "1", "": None,
    "%": "%", "percent": "%",
}

#: target units -> {canonical source units: (scale, offset, accumulated)}
_CONVERSIONS = {
    "m s-1": {"m s-1": (1.0, 0.0, False)},
    "K": {"K": (1.0, 0.0, False), "degC": (1.0, 273.15, False)},
    "kg kg-1": {"kg kg-1": (1.0, 0.0, False), "1": (1.0, 0.0, False), "g kg-1": (1e-3, 0.0, False)},
    "Pa": {"Pa": (1.0, 0.0, False), "hPa": (100.0, 0.0, False)},
    "m": {"m": (1.0, 0.0, False)},
    "W m-2": {"W m-2": (1.0, 0.0, False), "J m-2": (1.0, 0.0, True)},
    "kg m-2 s-1": {"kg m-2 s-1": (1.0, 0.0, False), "m": (1000.0, 0.0, True), "mm": (1.0, 0.0, True),
                   "mm day-1": (1.0 / 86400.0, 0.0, False)},
    "m3 m-3": {"m3 m-3": (1.0, 0.0, False)},
    "kg m-3 s-1": {"kg m-3 s-1": (1.0, 0.0, False)},
    "1": {"1": (1.0, 0.0, False), "%": (0.01, 0.0, False)},
    "ln Pa": {"1": (1.0, 0.0, False), "ln Pa": (1.0, 0.0, False), "Pa": (1.0, 0.0, False)},
}


def normalise_units(units) -> str | None:
    if units is None:
        return None
    u = " ".join(str(units).replace("**", "").replace("^", "").split())
    key = u.lower()
    if key in _UNIT_SYNONYMS:
        return _UNIT_SYNONYMS[key]
    return u


def unit_conversion(units_attr, target: str, where: str):
    """``(scale, offset, accumulated)`` converting ``units_attr`` to ``target``; InputDataError if impossible."""
    if units_attr is None:
        raise InputDataError(f"{where}: has no 'units' attribute; expected units convertible to '{target}' "
                             f"(accepted: {', '.join(sorted(_CONVERSIONS[target]))})")
    canon = normalise_units(units_attr)
    table = _CONVERSIONS[target]
    if canon not in table:
        raise InputDataError(f"{where}: units {units_attr!r} cannot be converted to '{target}'; accepted: "
                             f"{', '.join(sorted(table))}")
    return table[canon]


# ---------------------------------------------------------------------------------------- products
@dataclass(frozen=True)
class VarSpec:
    """How one model quantity is found in a product and regridded."""

    key: str  # internal name (a FIELDS name or a helper such as 'd2m', 'u10')
    names: tuple  # product variable names, in order of preference; (name, scale) pairs allowed
    units: str  # target units
    method: str = "bilinear"  # 'bilinear' | 'conservative'
    domain: str = "global"  # 'global' | 'ocean' | 'land'
    levels: str = "2d"  # '2d' | '3d' | '3d_edge'
    required: bool = True
    sign: float = 1.0
    standard_names: tuple = ()
    group: str = "2d"  # which file pattern: '3d' | '2d' | 'conv'


def _v(key, names, units, **kw):
    names = tuple((n, 1.0) if isinstance(n, str) else n for n in names)
    return VarSpec(key, names, units, **kw)


PRODUCTS = {
    "era5": [
        _v("u", ["u"], "m s-1", levels="3d", standard_names=("eastward_wind",), group="3d"),
        _v("v", ["v"], "m s-1", levels="3d", standard_names=("northward_wind",), group="3d"),
        _v("t", ["t"], "K", levels="3d", standard_names=("air_temperature",), group="3d"),
        _v("qv", ["q"], "kg kg-1", levels="3d", standard_names=("specific_humidity",), group="3d"),
        _v("ps", ["sp"], "Pa", method="conservative", standard_names=("surface_air_pressure",)),
        _v("pblh", ["blh"], "m"),
        _v("swdown", ["ssrd"], "W m-2", method="conservative",
           standard_names=("surface_downwelling_shortwave_flux_in_air",)),
        _v("fdir", ["fdir"], "W m-2", method="conservative", required=False),
        _v("t2m", ["t2m"], "K"),
        _v("d2m", ["d2m"], "K"),
        _v("tskin", ["skt"], "K"),
        _v("soilm", ["swvl1"], "m3 m-3", domain="land"),
        _v("tsoil", ["stl3", "stl1"], "K", domain="land"),  # 28-100 cm (root zone); 0-7 cm only as a fallback
        _v("tsoil_top", ["stl1"], "K", domain="land"),
        _v("u10", ["u10"], "m s-1"),
        _v("v10", ["v10"], "m s-1"),
        _v("sst", ["sst"], "K", method="conservative", domain="ocean",
           standard_names=("sea_surface_temperature",)),
        _v("seaice", ["siconc"], "1", method="conservative", domain="ocean",
           standard_names=("sea_ice_area_fraction",)),
        _v("precip", ["tp", "mtpr"], "kg m-2 s-1", method="conservative"),
        _v("shflx", ["sshf"], "W m-2", method="conservative", required=False, sign=-1.0),
        _v("ustar", ["zust"], "m s-1", required=False),
        _v("cmfmc_layer", ["mumf"], "kg m-2 s-1", method="conservative", levels="3d", required=False,
           group="conv"),
        # downdraught mass flux (negative, downward, in the IFS convention; its magnitude is used)
        _v("dmf_layer", ["mdmf"], "kg m-2 s-1", method="conservative", levels="3d", required=False,
           group="conv"),
        # detrainment rates per unit height of the updraught and the downdraught
        _v("dtrain_rate", ["mudr"], "kg m-3 s-1", method="conservative", levels="3d", required=False,
           group="conv"),
        _v("ddtrain_rate", ["mddr"], "kg m-3 s-1", method="conservative", levels="3d", required=False,
           group="conv"),
    ],
    "merra2": [
        _v("u", ["U"], "m s-1", levels="3d", standard_names=("eastward_wind",), group="3d"),
        _v("v", ["V"], "m s-1", levels="3d", standard_names=("northward_wind",), group="3d"),
        _v("t", ["T"], "K", levels="3d", standard_names=("air_temperature",), group="3d"),
        _v("qv", ["QV"], "kg kg-1", levels="3d", standard_names=("specific_humidity",), group="3d"),
        _v("delp", ["DELP"], "Pa", method="conservative", levels="3d", required=False, group="3d"),
        _v("ps", ["PS"], "Pa", method="conservative", standard_names=("surface_air_pressure",), group="3d"),
        _v("pblh", ["PBLH"], "m"),
        _v("swdown", ["SWGDN"], "W m-2", method="conservative"),
        _v("t2m", ["T2M"], "K"),
        _v("q2m", ["QV2M"], "kg kg-1"),
        _v("tskin", ["TS"], "K"),
        _v("soilm", ["RZMC", ("GWETROOT", POROSITY)], "m3 m-3", domain="land"),
        _v("tsoil", ["TSOIL3", "TSOIL1"], "K", domain="land"),  # 29-68 cm (root zone); 0-10 cm only as a fallback
        _v("tsoil_top", ["TSOIL1"], "K", domain="land"),
        _v("u10", ["U10M"], "m s-1"),
        _v("v10", ["V10M"], "m s-1"),
        _v("sst", ["TSKINWTR"], "K", method="conservative", domain="ocean"),
        _v("seaice_cell", ["FRSEAICE"], "1", method="conservative"),
        _v("precip", ["PRECTOTCORR", "PRECTOT"], "kg m-2 s-1", method="conservative"),
        _v("shflx", ["HFLUX"], "W m-2", method="conservative"),
        _v("ustar", ["USTAR"], "m s-1"),
        _v("cmfmc", ["CMFMC"], "kg m-2 s-1", method="conservative", levels="3d_edge", required=False,
           group="conv"),
        _v("dtrain", ["DTRAIN"], "kg m-2 s-1", method="conservative", levels="3d", required=False,
           group="conv"),
    ],
}

_TIME_NAMES = ("time", "valid_time")
_LAT_NAMES = ("latitude", "lat")
_LON_NAMES = ("longitude", "lon")
_LEV_NAMES = ("level", "pressure_level", "lev", "model_level", "plev", "hybrid", "isobaricInhPa")


@dataclass
class Record:
    time: cftime.datetime
    path: str
    index: int
    name: str
    scale: float


@dataclass
class VarIndex:
    spec: VarSpec
    records: list = field(default_factory=list)


def _expand(patterns: str) -> list[str]:
    files = []
    for pat in str(patterns).split():
        files.extend(sorted(glob.glob(pat)))
    return sorted(set(files))


def _to_calendar(t, calendar: str, where: str) -> cftime.datetime:
    try:
        return cftime.datetime(t.year, t.month, t.day, t.hour, t.minute, t.second, calendar=calendar)
    except ValueError as exc:
        raise InputDataError(f"{where}: time {t} does not exist in the model calendar {calendar!r}: {exc}") from None


def _fmt(t) -> str:
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


class ReanalysisProvider(MetProvider):
    """Meteorology read from reanalysis files (see the module docstring)."""

    def __init__(self, grid: Grid, vcoord: VerticalCoordinate, params: dict | None = None,
                 source: str | None = None, calendar: str = "standard"):
        p = default_params()
        if params:
            p.update(params)
        self.p = p
        self.source = source or p["source"]
        if self.source not in PRODUCTS:
            raise InputDataError(f"&meteorology_nml source = {self.source!r}: no reader; expected one of "
                                 f"{sorted(PRODUCTS)}")
        self.grid = grid
        self.vcoord = vcoord
        self.calendar = calendar
        self.allow_fill = bool(p["allow_fill"])
        self._regridders: dict = {}
        self._cache: OrderedDict = OrderedDict()
        self._cache_lock = threading.Lock()
        self._pending: dict = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="esm-met") if p["prefetch"] else None
        self._logged: set = set()
        self._fixer = None
        self._clim = None
        from esm.meteorology.surface import land_fraction
        self.land = land_fraction(grid)
        self.files = {g: _expand(p[f"files_{g}"]) for g in ("3d", "2d", "conv")}
        for g in ("3d", "2d"):
            if not self.files[g]:
                raise InputDataError(f"&meteorology_nml files_{g} = {p[f'files_{g}']!r}: no file matches; "
                                     f"expected a glob pattern of the {self.source.upper()} {g.upper()} files")
        self.index: dict[str, VarIndex] = {}
        self._build_index()

    # ------------------------------------------------------------------ index
    def _build_index(self) -> None:
        """Index every variable's records. A variable is taken from the files of its own group
        (files_3d / files_2d / files_conv) when it is there, else from the other groups."""
        specs = PRODUCTS[self.source]
        found: dict = {spec.key: {} for spec in specs}  # key -> group -> records
        for group in ("3d", "2d", "conv"):
            for path in self.files[group]:
                for key, recs in self._index_file(path, specs).items():
                    found[key].setdefault(group, []).extend(recs)
        for spec in specs:
            groups = found[spec.key]
            pref = spec.group if spec.group in groups else ("3d" if spec.group == "conv" and "3d" in groups else None)
            recs = groups.get(pref) if pref else next(iter(groups.values()), [])
            seen = {}
            for r in recs or []:
                if r.time in seen:
                    raise InputDataError(f"{r.path}: variable {r.name!r} at {_fmt(r.time)} is also in "
                                         f"{seen[r.time].path}; each time must come from one file")
                seen[r.time] = r
            self.index[spec.key] = VarIndex(spec, sorted(seen.values(), key=lambda r: r.time))
            if spec.key == "tsoil" and seen and self.index[spec.key].records[0].name != spec.names[0][0]:
                log.warning("%s: no %s (the root zone's soil temperature) in the files; tsoil is taken from %s, the "
                            "first soil layer, as is tsoil_top", self.source.upper(), spec.names[0][0],
                            self.index[spec.key].records[0].name)
            if not seen and spec.required:
                names = " or ".join(n for n, _ in spec.names)
                files = self.files[spec.group] or self.files["3d"]
                raise InputDataError(f"{self.source.upper()} variable {names} ({spec.key}) not found in any file "
                                     f"of &meteorology_nml files_{spec.group} ({', '.join(files)}) or the other "
                                     "file patterns")

    def _index_file(self, path: str, specs) -> dict:
        out: dict = {}
        try:
            with _NC_LOCK, netCDF4.Dataset(path) as ds:
                tname = next((n for n in _TIME_NAMES if n in ds.variables), None)
                found = []
                for spec in specs:
                    hit = None
                    for name, scale in spec.names:
                        if name in ds.variables:
                            hit = (name, scale)
                            break
                    if hit is None and spec.standard_names:
                        for vname, var in ds.variables.items():
                            if getattr(var, "standard_name", None) in spec.standard_names and var.ndim >= 3:
                                hit = (vname, 1.0)
                                break
                    if hit is not None:
                        found.append((spec, hit))
                if not found:
                    return out
                if tname is None:
                    raise InputDataError(f"{path}: no time coordinate (expected one of {_TIME_NAMES})")
                tv = ds.variables[tname]
                units = getattr(tv, "units", None)
                if units is None:
                    raise InputDataError(f"{path}: time variable {tname!r} has no 'units' attribute")
                cal = getattr(tv, "calendar", "standard")
                try:
                    times = cftime.num2date(np.atleast_1d(tv[:]), units, calendar=cal)
                except Exception as exc:
                    raise InputDataError(f"{path}: cannot decode time {tname!r} (units {units!r}, calendar "
                                         f"{cal!r}): {exc}") from None
                times = [_to_calendar(t, self.calendar, path) for t in times]
                spacing = np.median(np.diff([cftime.date2num(t, "seconds since 1900-01-01", calendar=self.calendar)
                                             for t in times])) if len(times) > 1 else None
                for spec, (name, scale) in found:
                    var = ds.variables[name]
                    where = f"{path}: variable {name!r}"
                    conv = unit_conversion(getattr(var, "units", None), spec.units, where)
                    shift = 0.0
                    if conv[2]:  # accumulated over the interval ending at the stamp
                        if spacing is None:
                            raise InputDataError(f"{where}: accumulated field (units {var.units!r}) needs at "
                                                 "least two records per file to know the accumulation period")
                        shift = -0.5 * float(spacing)
                    recs = out.setdefault(spec.key, [])
                    for i, t in enumerate(times):
                        tt = t + _dt.timedelta(seconds=shift) if shift else t
                        recs.append(Record(tt, path, i, name, scale))
                    self._conv_cache(spec.key, path, conv, spacing)
        except OSError as exc:
            raise InputDataError(f"{path}: cannot read as NetCDF: {exc}") from None
        return out

    def _conv_cache(self, key, path, conv, spacing):
        if not hasattr(self, "_convs"):
            self._convs = {}
        self._convs[(key, path)] = (conv, spacing)

    # ------------------------------------------------------------------ reading one record
    def _regridder(self, lat, lon, method: str, where: str) -> Regridder:
        key = (lat.size, float(lat[0]), float(lat[-1]), lon.size, float(lon[0]), float(lon[-1]), method)
        r = self._regridders.get(key)
        if r is None:
            try:
                src = describe_source_grid(lat, lon, where)
            except ValueError as exc:
                raise InputDataError(str(exc)) from None
            r = Regridder(src, self.grid, method)
            self._regridders[key] = r
        return r

    def _read(self, rec: Record, spec: VarSpec):
        """Read one record in file order: ``(data (masked), lat, lon, level coordinate, attrs)``."""
        with _NC_LOCK, netCDF4.Dataset(rec.path) as ds:
            var = ds.variables[rec.name]
            dims = var.dimensions
            where = f"{rec.path}: variable {rec.name!r} at {_fmt(rec.time)}"
            latd = next((d for d in dims if d in _LAT_NAMES), None)
            lond = next((d for d in dims if d in _LON_NAMES), None)
            if latd is None or lond is None or dims[-2:] != (latd, lond):
                raise InputDataError(f"{where}: dimensions {dims}; expected (time, [level,] latitude, longitude)")
            levd = next((d for d in dims if d in _LEV_NAMES), None)
            extra = [d for d in dims if d not in (latd, lond, levd) and d not in _TIME_NAMES]
            if extra:
                raise InputDataError(f"{where}: unexpected dimensions {extra} (e.g. ERA5 'expver' or ensemble "
                                     "'number'); select one before use")
            sl = tuple(rec.index if d in _TIME_NAMES else slice(None) for d in dims)
            var.set_auto_maskandscale(True)
            data = var[sl]
            lat = np.asarray(ds.variables[latd][:], dtype=np.float64) if latd in ds.variables else None
            lon = np.asarray(ds.variables[lond][:], dtype=np.float64) if lond in ds.variables else None
            if lat is None or lon is None:
                raise InputDataError(f"{rec.path}: coordinate variables {latd!r}/{lond!r} are missing")
            lev = None
            if levd is not None:
                lv = ds.variables.get(levd)
                lev = (np.asarray(lv[:], dtype=np.float64), getattr(lv, "units", ""),
                       getattr(lv, "positive", "")) if lv is not None else (np.arange(1, len(ds.dimensions[levd]) + 1.0), "", "")
            hyb = None
            for a_name, b_name in (("hyai", "hybi"), ("a_half", "b_half"), ("ap_half", "b_half")):
                if a_name in ds.variables and b_name in ds.variables:
                    hyb = (np.asarray(ds.variables[a_name][:], dtype=np.float64),
                           np.asarray(ds.variables[b_name][:], dtype=np.float64),
                           getattr(ds.variables[a_name], "units", "Pa"))
                    break
        return data, lat, lon, lev, hyb

    def _fields_check(self, data, rec: Record, spec: VarSpec, lat, lon):
        """Return (values float64 with NaN for missing, valid mask) and raise on missing values inside the domain.

        ``values`` is a new array the caller may scale in place."""
        if not np.ma.is_masked(data):
            # fast path (no fill values): one copy to float64 and one finiteness check, no masked-array
            # copies; the same numbers as the general path below
            values = np.array(np.ma.getdata(data), dtype=np.float64)
            valid = np.isfinite(values)
            if valid.all():
                return values, valid
        arr = np.ma.masked_invalid(np.ma.asarray(data, dtype=np.float64))
        valid = ~np.ma.getmaskarray(arr)
        values = np.where(valid, arr.filled(0.0), np.nan)
        if not valid.all() and spec.domain == "global":
            bad = np.argwhere(~valid)[0]
            n = int((~valid).sum())
            where = (f"{rec.path}: variable {rec.name!r} at {_fmt(rec.time)}: {n} missing/NaN/fill value(s) inside "
                     f"the domain (first at latitude {lat[bad[-2]]:.3f}, longitude {lon[bad[-1]]:.3f})")
            if not self.allow_fill:
                raise InputDataError(where + "; fix the file or set &meteorology_nml allow_fill = .true. to fill "
                                     "them from the neighbouring values (logged)")
            log.warning("%s: filled (allow_fill)", where)
        if not valid.any():
            raise InputDataError(f"{rec.path}: variable {rec.name!r} at {_fmt(rec.time)} has no valid value")
        return values, valid

    def _load(self, key: str, rec: Record, ps_model: np.ndarray | None):
        spec = self.index[key].spec
        data, lat, lon, lev, hyb = self._read(rec, spec)
        (scale, offset, accumulated), spacing = self._convs[(key, rec.path)]
        values, valid = self._fields_check(data, rec, spec, lat, lon)
        factor = scale * rec.scale * spec.sign
        if accumulated:
            factor /= float(spacing)
        values *= factor  # in place (a new array from _fields_check): the same numbers as values * factor + ...
        values += offset * spec.sign
        where = f"{rec.path}: variable {rec.name!r}"
        method = spec.method
        r = self._regridder(lat, lon, method, where)
        if spec.domain == "global" and valid.all():
            out = r(values)
        else:
            out, frac = r.masked(np.where(valid, values, 0.0), valid)
            if spec.domain == "global":  # allow_fill: cells without any valid source -> NaN -> filled later
                pass
        if np.any(~np.isfinite(out)) and spec.domain == "global":
            fill = self._clim_field(key, rec.time)
            nfill = int((~np.isfinite(out)).sum())
            log.warning("%s at %s: %d model cells without valid source values filled from the climatology "
                        "(allow_fill)", where, _fmt(rec.time), nfill)
            out = np.where(np.isfinite(out), out, fill)
        if spec.levels == "2d":
            return out
        return self._vertical(key, spec, out, lev, hyb, rec, ps_model)

    # ------------------------------------------------------------------ vertical
    def _vertical(self, key, spec, out, lev, hyb, rec, ps_model):
        from esm.meteorology.vertical_remap import interp_pressure_levels, remap_layers
        where = f"{rec.path}: variable {rec.name!r}"
        if lev is None:
            raise InputDataError(f"{where}: 3-D variable without a level dimension")
        levels, units, positive = lev
        vc = self.vcoord
        if key == "delp":
            return out  # used as source layer thickness; stays on source levels (top first as in the file)
        if ps_model is None:
            raise RuntimeError("3-D field needs the model surface pressure")
        unit = normalise_units(units)
        if unit in ("hPa", "Pa"):  # pressure levels
            p = levels * (100.0 if unit == "hPa" else 1.0)
            order = np.argsort(-p)
            pm = vc.pressure_mid(ps_model) if spec.levels == "3d" else vc.pressure_edges(ps_model)
            return interp_pressure_levels(p[order], out[order], pm)
        # model levels: source interfaces from hybrid coefficients or from DELP
        nsrc = out.shape[0] - (1 if spec.levels == "3d_edge" else 0)
        if hyb is not None:
            a, b, aunits = hyb
            a = a * (100.0 if normalise_units(aunits) == "hPa" else 1.0)
            if a.size != nsrc + 1:
                raise InputDataError(f"{where}: {nsrc} levels but {a.size} hybrid interface coefficients")
            pe = a[:, None, None] + b[:, None, None] * ps_model[None]
        else:
            delp = self._value("delp", rec.time)
            if delp is None:
                raise InputDataError(f"{where}: model-level data need the hybrid coefficients (hyai/hybi) in the "
                                     "file or the layer thickness DELP (MERRA-2/GEOS-FP)")
            if delp.shape[0] != nsrc:
                raise InputDataError(f"{where}: {nsrc} levels but DELP has {delp.shape[0]}")
            top_first = not (str(positive).lower() == "up")
            d = delp if top_first else delp[::-1]
            ptop = 1.0  # GEOS-5 model top, 0.01 hPa
            pe_top_first = ptop + np.concatenate([np.zeros((1,) + d.shape[1:]), np.cumsum(d, axis=0)])
            # scale so the source column ends at the model's (met) surface pressure
            scale = (ps_model - ptop) / (pe_top_first[-1] - ptop)
            pe = ptop + (pe_top_first - ptop) * scale[None]
            if not top_first:
                pe = pe[::-1]
        if pe[0].mean() < pe[-1].mean():  # top first -> surface first
            pe = pe[::-1]
            out = out[::-1]
        if spec.levels == "3d_edge":
            # values at the source interfaces -> layer means -> model layers -> model interfaces
            res = remap_layers(pe, 0.5 * (out[1:] + out[:-1]), vc.pressure_edges(ps_model))
            edge = np.zeros((vc.nlev + 1,) + ps_model.shape)
            edge[1:-1] = 0.5 * (res[1:] + res[:-1])
            return np.maximum(edge, 0.0)
        return remap_layers(pe, out, vc.pressure_edges(ps_model))

    # ------------------------------------------------------------------ time interpolation
    def _bracket(self, key: str, time: cftime.datetime):
        vi = self.index[key]
        recs = vi.records
        if not recs:
            return None
        if time < recs[0].time or time > recs[-1].time:
            raise InputDataError(f"{self.source.upper()} variable {recs[0].name!r}: time {_fmt(time)} is outside "
                                 f"the files' coverage {_fmt(recs[0].time)} to {_fmt(recs[-1].time)} "
                                 f"({recs[0].path} ... {recs[-1].path})")
        times = [r.time for r in recs]
        import bisect
        i = bisect.bisect_right(times, time) - 1
        if recs[i].time == time or i == len(recs) - 1:
            return (i, i, 0.0)
        t0, t1 = recs[i].time, recs[i + 1].time
        gap = (t1 - t0).total_seconds()
        max_gap = self.p["max_gap"] or 1.5 * self._median_spacing(key)
        if gap > max_gap + 1e-6:
            raise InputDataError(f"{self.source.upper()} variable {recs[i].name!r}: gap in the time coverage between "
                                 f"{_fmt(t0)} ({recs[i].path}) and {_fmt(t1)} ({recs[i + 1].path}): {gap:.0f} s > "
                                 f"{max_gap:.0f} s allowed (&meteorology_nml max_gap); needed at {_fmt(time)}")
        return (i, i + 1, (time - t0).total_seconds() / gap)

    def _median_spacing(self, key):
        recs = self.index[key].records
        if len(recs) < 2:
            return float("inf")
        d = [(b.time - a.time).total_seconds() for a, b in zip(recs[:-1], recs[1:])]
        return float(np.median(d))

    def _record_value(self, key: str, i: int):
        ck = (key, i)
        with self._cache_lock:
            if ck in self._cache:
                self._cache.move_to_end(ck)
                return self._cache[ck]
            fut = self._pending.get(ck)
        # the background thread never waits for a queued job (that could be queued behind itself)
        if fut is not None and not threading.current_thread().name.startswith("esm-met"):
            return fut.result()
        val = self._compute_record(key, i)
        self._store(ck, val)
        return val

    def _store(self, ck, val):
        with self._cache_lock:
            self._cache[ck] = val
            self._pending.pop(ck, None)
            while len(self._cache) > 48:
                self._cache.popitem(last=False)

    def _compute_record(self, key, i):
        rec = self.index[key].records[i]
        ps_model = None
        spec = self.index[key].spec
        if spec.levels != "2d" and key != "delp":
            ps_model = self._value("ps", rec.time)
        return self._load(key, rec, ps_model)

    def _value(self, key: str, time: cftime.datetime):
        """Field ``key`` at ``time`` (linear in time between records), or None if the product lacks it."""
        if key not in self.index or not self.index[key].records:
            return None
        i0, i1, a = self._bracket(key, time)
        v0 = self._record_value(key, i0)
        if i1 == i0 or a == 0.0:
            return v0
        v1 = self._record_value(key, i1)
        return lerp(v0, v1, a)

    def _prefetch(self, time: cftime.datetime) -> None:
        """Start reading the next record of the expensive (3-D) variables in the background."""
        if self._executor is None:
            return
        for key, vi in self.index.items():
            if vi.spec.levels == "2d" or key == "delp" or not vi.records:
                continue
            try:
                i0, i1, _ = self._bracket(key, time)
            except InputDataError:
                continue
            nxt = i1 + 1 if i1 + 1 < len(vi.records) else None
            for i in (i1, nxt):
                if i is None:
                    continue
                ck = (key, i)
                with self._cache_lock:
                    if ck in self._cache or ck in self._pending:
                        continue
                    self._pending[ck] = self._executor.submit(self._prefetch_one, key, i)

    def _prefetch_one(self, key, i):
        try:
            val = self._compute_record(key, i)
        except Exception:
            with self._cache_lock:
                self._pending.pop((key, i), None)
            raise
        self._store((key, i), val)
        return val

    # ------------------------------------------------------------------ fallback climatology
    def _climatology(self):
        if self._clim is None:
            from esm.meteorology.climatology import Climatology
            self._clim = Climatology(self.grid, self.vcoord, {k: v for k, v in self.p.items()})
        return self._clim

    def _clim_field(self, name, time):
        if name not in FIELDS:
            raise InputDataError(f"{self.source.upper()}: no climatological fallback for {name!r}")
        return self._climatology().at(time)[name]

    def _from_climatology(self, name, time, why):
        if name not in self._logged:
            log.info("%s: field %r taken from the embedded climatology (%s)", self.source.upper(), name, why)
            self._logged.add(name)
        return self._clim_field(name, time)

    # ------------------------------------------------------------------ the contract
    def at(self, time: cftime.datetime) -> MetState:
        """Every field at ``time``; each is read/derived on first access (consumers that need only
        surface fields do not pay for the 3-D ones)."""
        from esm.meteorology.climatology import LazyFields
        memo: dict = {}

        def val(k):
            if k not in memo:
                memo[k] = self._value(k, time)
            return memo[k]

        def or_clim(k):
            v = val(k)
            return v if v is not None else self._from_climatology(k, time, "not in the files")

        def land_only(k):
            v = or_clim(k)
            return np.where(np.isfinite(v), v, self._clim_field(k, time)) if np.any(~np.isfinite(v)) else v

        def cos_sza():
            if "cos_sza" not in memo:
                sun = SolarGeometry(time)
                memo["_sun"] = sun
                memo["cos_sza"] = np.maximum(sun.cos_zenith(self.grid.lat[:, None], self.grid.lon[None, :]), 0.0)
            return memo["cos_sza"]

        def vapour():
            if "_e" not in memo:
                if self.index.get("d2m") is not None and self.index["d2m"].records:
                    memo["_e"] = saturation_vapour_pressure(val("d2m"))
                else:
                    memo["_e"] = vapour_pressure(val("q2m"), val("ps"))
            return memo["_e"]

        def q2m():
            if self.index.get("d2m") is not None and self.index["d2m"].records:
                return specific_humidity(vapour(), val("ps"))
            return val("q2m")

        def seaice():
            if "seaice_cell" in self.index:
                ice = np.clip(val("seaice_cell") / np.maximum(1.0 - self.land, 1e-6), 0.0, 1.0)
            else:
                ice = val("seaice")
            return np.where(np.isfinite(ice), np.clip(ice, 0.0, 1.0), 0.0)

        def diffuse():
            sw = or_clim("swdown")
            fdir = val("fdir") if "fdir" in self.index and self.index["fdir"].records else None
            if fdir is not None:
                return np.clip(sw - fdir, 0.0, sw)
            mu = cos_sza()
            toa = self.p["solar_constant"] * memo["_sun"].dist_factor * mu
            kt = np.where(toa > 1.0, np.clip(sw / np.maximum(toa, 1.0), 0.0, 1.0), 0.0)
            kd = np.where(kt <= 0.22, 1.0 - 0.09 * kt,
                          np.where(kt <= 0.80, 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3
                                   + 12.336 * kt**4, 0.165))
            return sw * kd

        def cmfmc():
            if "cmfmc" not in memo:
                cm = val("cmfmc") if "cmfmc" in self.index else None
                if cm is None and "cmfmc_layer" in self.index and self.index["cmfmc_layer"].records:
                    lay = val("cmfmc_layer")
                    cm = np.zeros((self.vcoord.nlev + 1,) + self.grid.shape)
                    cm[1:-1] = np.maximum(0.5 * (lay[1:] + lay[:-1]), 0.0)
                if cm is None:
                    cm = self._from_climatology("cmfmc", time, "no convective mass flux in the files")
                memo["cmfmc"] = cm
            return memo["cmfmc"]

        def has(key):
            return key in self.index and bool(self.index[key].records)

        def layer_depth():
            """Geometric depth of each model layer [m] from the hypsometric equation,
            dz = R_d T_v / g ln(p_bottom / p_top), T_v = T (1 + 0.608 q); a top at zero pressure is taken at
            1 % of the layer's bottom pressure (as the boundary-layer diffusion's heights do)."""
            if "dz" not in memo:
                ps = val("ps")
                pe = self.vcoord.pressure_edges(ps)
                ptop = np.where(pe[1:] > 0.0, pe[1:], 0.01 * pe[:-1])
                tv = val("t") * (1.0 + 0.608 * np.maximum(val("qv"), 0.0))
                memo["dz"] = R_DRY * tv / G0 * np.log(pe[:-1] / ptop)
            return memo["dz"]

        def dtrain():
            d = val("dtrain") if "dtrain" in self.index else None
            if d is not None:
                return d
            if has("dtrain_rate") and has("cmfmc_layer"):
                return np.maximum(val("dtrain_rate"), 0.0) * layer_depth()    # ERA5 mudr x layer depth
            cm = cmfmc()
            return np.maximum(cm[:-1] - cm[1:], 0.0)

        def dmf():
            if "dmf" not in memo:
                lay = np.abs(val("dmf_layer"))
                d = np.zeros((self.vcoord.nlev + 1,) + self.grid.shape)
                d[1:-1] = 0.5 * (lay[1:] + lay[:-1])
                memo["dmf"] = d
            return memo["dmf"]

        def ddtrain():
            if has("ddtrain_rate"):
                return np.maximum(val("ddtrain_rate"), 0.0) * layer_depth()   # ERA5 mddr x layer depth
            d = dmf()
            return np.maximum(d[1:] - d[:-1], 0.0)    # where the downdraught weakens on its way down

        def sss():
            if getattr(self, "_sss", None) is None:
                self._from_climatology("sss", time, f"{self.source.upper()} has no sea-surface salinity")
                self._sss = self._climatology().sea_surface_salinity()
            return self._sss

        makers = {
            "ps": lambda: val("ps"), "u": lambda: val("u"), "v": lambda: val("v"), "t": lambda: val("t"),
            "qv": lambda: val("qv"),
            "pblh": lambda: or_clim("pblh"), "swdown": lambda: or_clim("swdown"), "t2m": lambda: or_clim("t2m"),
            "tskin": lambda: or_clim("tskin"), "precip": lambda: or_clim("precip"),
            "shflx": lambda: or_clim("shflx"), "ustar": lambda: or_clim("ustar"),
            "soilm": lambda: land_only("soilm"), "tsoil": lambda: land_only("tsoil"),
            "tsoil_top": lambda: land_only("tsoil_top"),
            "cos_sza": cos_sza, "q2m": q2m,
            "vpd": lambda: np.maximum(saturation_vapour_pressure(or_clim("t2m")) - vapour(), 0.0),
            "wind10": lambda: np.hypot(val("u10"), val("v10")),
            "sst": lambda: np.where(np.isfinite(val("sst")), val("sst"), or_clim("tskin")),
            "seaice": seaice, "sss": sss,
            "par": lambda: self.p["par_fraction"] * or_clim("swdown"),
            "swdown_diffuse": diffuse, "cmfmc": cmfmc, "dtrain": dtrain,
            "land_fraction": lambda: self.land,
        }
        if has("dmf_layer"):
            makers["dmf"], makers["ddtrain"] = dmf, ddtrain
        self._prefetch(time)
        return MetState(time, LazyFields(makers))

    def step_fluxes(self, time: cftime.datetime, dt: float, ps_start: np.ndarray) -> MassFluxes:
        """Face mass fluxes from the winds at the mid-step, pressure-fixed to the met ps at ``time + dt``."""
        from esm.meteorology.massflux import (PressureFixer, column_divergence, fluxes_from_centre_winds,
                                              lerp_fluxes_from_centre_winds)
        g = self.grid
        ps_start = np.asarray(ps_start, dtype=np.float64)
        if ps_start.shape != g.shape or not np.all(np.isfinite(ps_start)):
            raise ValueError(f"step_fluxes: ps_start must be finite with shape {g.shape}; got {ps_start.shape}")
        mid = time + _dt.timedelta(seconds=dt / 2.0)
        end = time + _dt.timedelta(seconds=dt)
        ps_mid = self._value("ps", mid)
        have = all(k in self.index and self.index[k].records for k in ("u", "v"))
        bu, bv = (self._bracket("u", mid), self._bracket("v", mid)) if have else (None, None)
        if have and bu == bv:
            # the winds interpolated in time, the layer thickness and the face fluxes in one compiled
            # pass (bit for bit the same as lerp + layer_thickness + fluxes_from_centre_winds)
            i0, i1, a = bu
            u0, v0 = self._record_value("u", i0), self._record_value("v", i0)
            if i1 == i0 or a == 0.0:
                mfx, mfy, dp = lerp_fluxes_from_centre_winds(u0, None, v0, None, None, ps_mid, self.vcoord, g)
            else:
                u1, v1 = self._record_value("u", i1), self._record_value("v", i1)
                mfx, mfy, dp = lerp_fluxes_from_centre_winds(u0, u1, v0, v1, a, ps_mid, self.vcoord, g)
        else:  # u and v on different record times
            u, v = self._value("u", mid), self._value("v", mid)
            dp = self.vcoord.layer_thickness(ps_mid)
            mfx, mfy = fluxes_from_centre_winds(u, v, dp, g)
        if self._fixer is None:
            self._fixer = PressureFixer(g)
        target = self._value("ps", end)
        # correct the fresh flux arrays in place, with the corrected divergence in the same pass (the same
        # numbers as self._fixer(mfx, mfy, dp, ps_start, target, dt))
        mfx, mfy, ps_end, offset = self._fixer.correct_inplace(mfx, mfy, column_divergence(mfx, mfy), dp,
                                                               ps_start, target, dt)
        err = float(np.max(np.abs(ps_end - (target + offset))))
        if err > self.p["fixer_tolerance"]:
            raise RuntimeError(f"pressure fixer at {_fmt(time)}: corrected fluxes miss the target surface "
                               f"pressure by {err:.3g} Pa (tolerance {self.p['fixer_tolerance']} Pa)")
        if abs(offset) > 50.0:
            log.warning("%s at %s: the model's global-mean surface pressure differs from the files' by %.1f Pa",
                        self.source.upper(), _fmt(time), offset)
        self._prefetch(end)
        return MassFluxes(mfx=mfx, mfy=mfy, dt=float(dt), ps_end=ps_end)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
