"""The embedded climatological atmosphere: every meteorological field from the model time alone.

An analytic, physically consistent climatology on any model grid and level set, with a seasonal
and a diurnal cycle computed from the model time (cftime, any calendar). Nothing is read from
files except the static land fraction (MODIS via :mod:`esm.land.landcover` once available, else the
analytic continental mask of :mod:`esm.meteorology.surface`). Parameters (with units and sources)
are in :mod:`esm.meteorology.config`.

Seasonal phases (``f`` = fraction of the calendar year, ``cos 2 pi (f - f0)``):
``s_land`` peaks on day 200 (mid-July: the warmest month of NH land, ERA5), ``s_ocean`` on day 228
(mid-August: the NH SST maximum, OISST), ``s_ice`` on day 258 (mid-September: Arctic sea-ice minimum,
NSIDC), ``s_hadley`` on day 210 (late July: the northernmost ITCZ, GPCP).

Surface fields (formula -> the observed climatology imitated)
---------------------------------------------------------
* ``ps``: sea-level pressure ``SLP(lat, lon, t)`` = 1011 hPa + subtropical highs (+8/+9 hPa at 32 N/S)
  + subpolar lows (-6 hPa at 60 N, -23 hPa circumpolar trough at 63 S) + Siberian high / Asian low
  (+/-18 hPa at 50 N 100 E, winter/summer), reduced to the surface height ``z`` with the hypsometric
  equation ``ps = SLP exp(-g z / (R_d T_mean))``, then scaled so that the global-mean surface pressure is
  ``ps_global_mean`` (985.5 hPa, Trenberth & Smith 2005) at every time -> ERA5 MSLP zonal means and
  the Siberian High (~1035 hPa in January).
* ``sst``: zonal profile ``T_f + (T_max - T_f) (1 - 0.489 x^2 - 0.829 x^4)``, ``x = sin(lat - lat_th)``
  (coefficients fitted here to the OISST annual zonal mean: 27 degC at the thermal equator
  ``lat_th = 4 + 3 s_ocean`` deg, 22 at 30 deg, 9 at 50 deg, 2 at 60 deg), + seasonal
  ``A |sin 2 lat| sgn(lat) s_ocean`` (NH x1, SH x0.7), + cold tongue / eastern-boundary upwelling
  (-2..-3 K) and North Atlantic Drift (+4 K) Gaussians; at least the freezing point -1.8 degC and
  exactly it under sea ice -> Reynolds et al. 2007 OISST climatology.
* ``seaice``: pack concentration 0.95 (0.85 in summer) poleward of an ice edge at
  ``70 + 8 s_ice`` deg N (+4 deg in the Atlantic sector) and ``65.5 - 6.5 s_ice`` deg S, with a 4-deg
  transition -> NSIDC extents: Arctic ~15 (March) / ~5-6 (September), Antarctic ~18 (September) /
  ~3 (February) million km2.
* ``sss``: 34.6 + 1.3 (subtropical maxima at 24 deg) - 0.7 (ITCZ at 7 N) - up to 3 (Arctic) + 0.9
  (Atlantic) + 3 (Mediterranean) -> World Ocean Atlas 2018 surface salinity.
* ``t2m``: land ``T_ann(lat) = 300 - 42 sin^2 lat`` (- 12 K Antarctic inversion) + seasonal
  ``A_land |sin lat|^1.3 sgn(lat) s_land`` - lapse rate x height + diurnal
  ``D (1 - 0.6 c) cos(2 pi (LST - 15 h) / 24 h)``; open ocean ``SST - 1 K``; sea ice
  ``min(T_ann + 15 |sin lat| sgn(lat) s_land, 271 K)``; blended by land and ice fraction
  -> ERA5 1991-2020 T2m (land DTR ~ 8-12 K, Dai & Trenberth 2004).
* ``q2m``, ``vpd``: vapour pressure ``e = RH e_s(T_daily)`` with RH 0.8 over the ocean, 0.9 (ice) over
  sea ice and ``0.35 + 0.45 (1 - exp(-P / 2 mm/d))`` over land (daily-mean T so that the afternoon
  VPD peaks as observed); ``q = eps e / (p - (1 - eps) e)``; ``vpd = e_s(t2m) - e``
  -> Dai 2006 surface humidity climatology.
* ``cos_sza``, ``swdown``: exact solar geometry (:mod:`esm.meteorology.solar`); clear-sky global
  irradiance ``1098 (S0 (r0/r)^2 / 1361) mu exp(-0.057/mu)`` (Haurwitz 1945) times the cloud
  attenuation ``1 - a c^b`` (Kasten & Czeplak 1980) with a cloud-fraction climatology
  ``c = 0.38 + 0.40 (1 - exp(-P / 3 mm/d)) + 0.25 (storm-track belts at 58 deg) + 0.15
  (subtropical stratocumulus, ocean) + 0.15 (polar)`` -> ISCCP / MODIS total cloud (~0.66 global), CERES-EBAF
  surface SW (~185-190 W m-2 global, Wild et al. 2013).
* ``swdown_diffuse``: Erbs et al. 1982 diffuse fraction of the clearness index ``kt``.
* ``par``: ``par_fraction`` x swdown (Monteith & Unsworth 2013).
* ``precip``: ITCZ Gaussian at ``lat_I`` (ocean ``4 + 6 s_ocean``, land ``2 + 14 s_land``: the
  monsoons), Indo-Pacific warm-pool enhancement, storm tracks at 46 N / 48 S, background, subtropical
  land deserts suppressed -> GPCP v2.3 (Adler et al. 2018; 2.7 mm/d global).
* ``soilm``: ``theta_r + (theta_s - theta_r) W`` with ``W = P / (P + PET)`` (Budyko-type wetness from
  the precipitation and Priestley-Taylor PET of 30 days earlier), theta_r = 0.05, theta_s = 0.45
  -> ESA CCI soil moisture (deserts 0.05-0.1, humid tropics 0.3-0.4).
* ``tsoil``: damped, lagged annual wave of the land temperature at depth ``z`` (``soil_depth``, the root
  zone): amplitude ``exp(-z/d)``, lag ``z/d`` with ``d = sqrt(2 kappa / omega)`` (Carslaw & Jaeger 1959;
  Hillel 1982); at 0.5 m the diurnal wave (d = 0.12 m) is damped to ~1 % and left out.
* ``tsoil_top``: the same conduction solution at the top-soil depth ``z_t`` (``soil_top_depth``, 5 cm:
  the centre of the reanalyses' first soil layer, MERRA-2 ``TSOIL1`` 0-10 cm, ERA5 ``stl1`` 0-7 cm), for the
  annual wave and for the land's diurnal wave of t2m, ``exp(-z_t/d_1) D (1 - 0.6 c) cos(2 pi (LST - 15 h) /
  24 h - z_t/d_1)`` with the diurnal damping depth ``d_1`` (0.12 m: 65 % of the amplitude, 1.6 h later). The
  ground surface's own diurnal range is larger than the air's by day, so this underestimates it somewhat.
* ``tskin``: ocean SST; land ``t2m + 0.012 K/(W m-2) swdown - 1.5 K at night`` (radiative excess of
  the skin, ERA5 skt - t2m); sea ice t2m.
* ``wind10``: ``sqrt(u10^2 + v10^2 + sigma^2)`` with surface trades/westerlies/polar easterlies,
  the lower Hadley branch, and synoptic variability sigma (4-7.5 m/s); x0.6 over land
  -> QuikSCAT (~7.3 m/s ocean mean), ERA5 land (3-4 m/s).
* ``ustar``: ocean ``sqrt(C_D) U10`` with ``C_D = (2.70/U + 0.142 + 0.0764 U) 1e-3`` (Large & Yeager
  2004); land neutral log law ``kappa U10 / ln(10 m / z0)``, z0 = 0.1 m (Stull 1988).
* ``shflx``: land daytime ``H = 0.6 (1-a c^b) S_toa-clear mu B/(1+B)`` with the Bowen ratio
  ``B = 0.3 + 2.7 (1 - W)^2`` from the soil wetness, -15 W m-2 at night; ocean bulk formula
  ``rho cp C_H U10 (SST - t2m)``, ``C_H = 1.1e-3`` (Large & Pond 1982) -> ERA5 sshf (land noon
  100-400 W m-2, ocean ~10-20 W m-2).
* ``pblh``: land: encroachment growth ``h^2 = h_n^2 + 2 (1 + 2A) int H/(rho cp) dt / gamma_theta``
  (Tennekes 1973; Stull 1988 eq. 11.2.1) with the sensible heat integrated analytically from
  sunrise, collapsing to the nocturnal ``h_n`` at sunset; ocean ``pbl_ocean`` (x1.5 in the storm
  tracks), sea ice 300 m -> Seidel et al. 2012 / von Engeln & Teixeira 2013.

Evaluation in time (what costs what)
------------------------------------
Everything static (land fraction, orography, the latitude and longitude Gaussians of the formulas
above, geometry) is tabulated once at construction. Each field is split by its time dependence:

* **season only** (phases ``s_*``, the 30-day soil lag): precipitation, clouds and their transmission,
  SST, sea ice, daily-mean T2m, surface pressure, humidity of the daily mean, soil moisture and
  temperature, winds, u*, ocean sensible heat and boundary layer; the 3-D mean flow (jets,
  overturning, eddy weights), temperature and humidity. Evaluated at daily records (00 UTC) by
  compiled kernels (``esm._kernels.met_clim``) and interpolated linearly in time, as a daily
  climatology would be. The seasonal cycle is smooth: the interpolation error is of order
  ``(2 pi / 365)^2 / 8 ~ 4e-5`` of a seasonal amplitude (< 1e-3 K in T2m). Where a formula has a
  kink or a jump in time (the SST set to freezing where sea ice appears, the sea-ice edge ramps, the
  freezing switch of the soil's PET) the daily interpolation spreads the change over one day, which
  shifts those few cells by up to ~1 K (T2m, SST) or ~0.1 (soil moisture) for some hours compared with
  evaluating the formulas at every instant (``validation/meteorology/output/compare_climatology_vs_acff0ea.md``).
* **time of day**: solar geometry, shortwave (global, diffuse, PAR), the diurnal T2m and skin
  temperature, vapour-pressure deficit, land sensible heat and boundary-layer growth: evaluated exactly
  at every time from the interpolated season record (one kernel pass over the cells).
* **convection**: ``cmfmc = Mb (I_trop S1 + 0.35 I_storm S2)`` is separable: the vertical shapes S
  depend on the surface pressure only (daily records), the intensities I on the season and, over land,
  the time of day (2-D, 3-hourly records, as the 3-hourly convective fields of MERRA-2); both are
  interpolated linearly and combined at each time, and dtrain follows from cmfmc. (Round 1 interpolated
  3-hourly records of cmfmc and dtrain themselves: the same to second order, except where dtrain's
  ``max(., 0)`` switches between two records.)
* **eddies**: exact at every time (a pure function of time).

The daily 3-D records of the *next* day (mean flow: ~0.4 s, temperature, humidity and updraft shapes:
~0.35 s on two cores at 1x1x47) are built during the day by a low-priority background thread
(``prefetch`` of ``&meteorology_nml``; :class:`_RecordJob`) in items of a few latitude rows, on cores the
model's threads leave idle; when a step needs the record, the main thread computes the rows not yet done
with all threads. A record is a pure function of its time and each row is computed by the same operations
whoever computes it, so the numbers (and restarts) are the same bit for bit as without the background build.

:meth:`Climatology.cell_sampler` evaluates the surface on a subset of cells only (the land cells for
the land's spin-up), with values identical to those of ``at``.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import sys
import threading
from collections import OrderedDict

import cftime
import numpy as np

from esm._kernels import met_clim
from esm.constants import CP_DRY, G0, R_DRY, T_FREEZE
from esm.grid import Grid
from esm.meteorology.base import FIELDS, CellFields, MetProvider, MetState
from esm.meteorology.config import default_params
from esm.meteorology.massflux import kernel_threads
from esm.meteorology.regrid import regrid_grid_to_grid
from esm.meteorology.solar import SolarGeometry, day_of_year, year_length_days
from esm.meteorology.surface import land_fraction, land_fraction_source, surface_height
from esm.meteorology.thermo import EPSILON, GAMMA_PSY, L_VAP
from esm.vertical import VerticalCoordinate

log = logging.getLogger(__name__)

YEAR_DAYS = 365.2422
KARMAN = 0.4
RHO_AIR_SFC = 1.2  # kg m-3, near-surface air density for the bulk formulae
T_SEAWATER_FREEZE = T_FREEZE - 1.8  # K, seawater at S = 34 (UNESCO 1983)
THREE_D_FIELDS = ("t", "qv", "u", "v", "cmfmc", "dtrain")
SURFACE_FIELDS = ("ps", "pblh", "ustar", "shflx", "t2m", "q2m", "vpd", "tskin", "swdown", "swdown_diffuse",
                  "par", "cos_sza", "precip", "soilm", "tsoil", "tsoil_top", "wind10", "sst", "sss", "seaice",
                  "land_fraction")


def _phase(f: float, day: float) -> float:
    return float(np.cos(2.0 * np.pi * (f - day / YEAR_DAYS)))


def _gauss(x, x0, w):
    return np.exp(-(((x - x0) / w) ** 2))


class LazyFields(dict):
    """A dict whose values are computed on first access (3-D fields cost more than surface ones)."""

    def __init__(self, makers: dict):
        super().__init__((k, None) for k in makers)
        self._makers = makers

    def __getitem__(self, name):
        v = dict.__getitem__(self, name)
        if v is None:
            v = self._makers[name]()
            dict.__setitem__(self, name, v)
        return v


class Season:
    """Seasonal phases for one time."""

    def __init__(self, time: cftime.datetime, lag_days: float = 0.0):
        n = year_length_days(time)
        self.f = ((day_of_year(time) - lag_days * n / YEAR_DAYS) / n) % 1.0
        self.s_land = _phase(self.f, 200.0)
        self.s_ocean = _phase(self.f, 228.0)
        self.s_ice = _phase(self.f, 258.0)
        self.s_hadley = _phase(self.f, 210.0)


class _Cells:
    """A selection of grid cells (flat indices into (nlat, nlon)) with its static kernel inputs and a
    small cache of season records (see :meth:`Climatology._season_record`)."""

    def __init__(self, clim: "Climatology", cells: np.ndarray | None):
        nlat, nlon = clim.grid.shape
        idx = np.arange(nlat * nlon) if cells is None else np.asarray(cells)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"cells must be a 1-D array of flat cell indices into (nlat, nlon) = {(nlat, nlon)}; "
                             f"got {idx.dtype} with shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= nlat * nlon):
            raise ValueError(f"cells must lie in [0, {nlat * nlon}) for the grid {(nlat, nlon)}; got "
                             f"[{idx.min()}, {idx.max()}]")
        self.full = cells is None
        self.cells = idx
        self.row = np.ascontiguousarray(idx // nlon, dtype=np.int32)
        self.col = np.ascontiguousarray(idx % nlon, dtype=np.int32)
        self.static = np.ascontiguousarray(clim._static[idx])
        self.land = np.ascontiguousarray(clim.land.ravel()[idx], dtype=np.float64)
        self.records: OrderedDict = OrderedDict()


#: spare (unreferenced) buffers kept per array shape by :meth:`Climatology._buffer`
_POOL_SPARE = 2
#: buffers tracked per shape (in use or spare); older in-use ones are forgotten (their owners keep them)
_POOL_TRACKED = 24


def _time_key(time: cftime.datetime) -> tuple:
    return (time.calendar, time.year, time.month, time.day, time.hour, time.minute, time.second, time.microsecond)


#: latitude rows per item of a background record build (:class:`_RecordJob`): ~10-25 ms of one core at
#: 1x1x47; the thread takes the GIL between items (~140 a day at 1x1), and the main thread, when it needs the
#: record, waits at most for one item in flight
_JOB_ROWS = 4
#: nice value of the background record builder thread (Linux: per thread): it runs on cores the model's own
#: threads leave idle and yields to them (and to everything else) when they need the cores
PREFETCH_NICE = 19


class _RecordJob:
    """The row-range kernel calls of one daily 3-D record set (mean flow and thermodynamics of one record
    time), shared by a low-priority background thread and the main thread.

    ``parts``: ``(call(j0, j1, nthreads), nrows, nthreads)``; ``finish()`` runs once every row is done. The
    background thread takes :data:`_JOB_ROWS` rows at a time on one thread; :meth:`complete` (main thread,
    when the record is needed) takes every row not yet taken, runs them with ``nthreads`` threads, and waits
    for the background thread's rows in flight. Every row is computed by the same operations whoever
    computes it and whatever the thread count, so the record is the same bit for bit as one built in a
    single call: the build only changes *when* the work is done, never a value (restarts need no state)."""

    def __init__(self, key: tuple, parts: list, finish):
        self.key = key
        self.parts = parts
        self.finish = finish
        self.items = [(m, j, min(j + _JOB_ROWS, n)) for m, (_, n, _) in enumerate(parts) for j in range(0, n, _JOB_ROWS)]
        self.next = 0
        self.running = 0
        self.by_worker = 0
        self.error: BaseException | None = None
        self.cond = threading.Condition()

    def _claim(self, rest: bool):
        with self.cond:
            if self.next >= len(self.items) or self.error is not None:
                return None
            stop = len(self.items) if rest else self.next + 1
            items = self.items[self.next:stop]
            self.next = stop
            self.running += 1
            return items

    def _release(self, n_worker: int = 0, error: BaseException | None = None):
        with self.cond:
            self.running -= 1
            self.by_worker += n_worker
            if error is not None and self.error is None:
                self.error = error
            self.cond.notify_all()

    def work(self) -> None:
        """Background thread: one item at a time on one thread, at low priority."""
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PREFETCH_NICE)
        except (AttributeError, OSError):  # pragma: no cover - not Linux / not permitted: run at normal priority
            pass
        while (items := self._claim(False)) is not None:
            try:
                for m, j0, j1 in items:
                    self.parts[m][0](j0, j1, 1)
            except BaseException as exc:  # re-raised by complete() on the main thread
                self._release(0, exc)
                return
            self._release(len(items))

    def cancel(self) -> None:
        with self.cond:
            self.next = len(self.items)

    def complete(self):
        """Main thread: run the rows nobody has taken (one call per kernel, with its threads), wait for the
        rows in flight, then ``finish()``."""
        items = self._claim(True)
        if items:
            try:
                for m in sorted({it[0] for it in items}):
                    rows = [it for it in items if it[0] == m]  # a contiguous range: items are taken in order
                    call, _, nthreads = self.parts[m]
                    call(rows[0][1], rows[-1][2], nthreads)
            finally:
                self._release()
        with self.cond:
            while self.running:
                self.cond.wait()
        if self.error is not None:
            raise self.error
        return self.finish()


class Climatology(MetProvider):
    """Analytic climatological meteorology on a model grid (see the module docstring for formulas).

    Cost structure (module docstring, "Evaluation in time"): static tables at construction; the
    season-dependent parts in daily records (:data:`SEASON_RECORD_SECONDS`, :data:`DAILY_RECORD_SECONDS`),
    convection in 3-hourly records (:data:`RECORD_SECONDS`), all interpolated linearly in time; the
    time-of-day part exact at each time. :meth:`cell_sampler` evaluates the surface on a subset of cells
    only (the fast path for components' spin-ups).
    """

    def __init__(self, grid: Grid, vcoord: VerticalCoordinate, params: dict | None = None):
        self.grid = grid
        self.vcoord = vcoord
        p = default_params()
        if params:
            unknown = set(params) - set(p)
            if unknown:
                raise ValueError(f"unknown meteorology parameters {sorted(unknown)}")
            p.update(params)
        self.p = p
        self.lat = grid.lat[:, None] * np.ones((1, grid.nlon))
        self.lon = np.ones((grid.nlat, 1)) * grid.lon[None, :]
        self.philat = np.deg2rad(self.lat)
        self.sinlat = np.sin(self.philat)
        self.sgn = np.sign(self.lat)
        self.land = land_fraction(grid)
        self.height = surface_height(grid)
        self.land_source = land_fraction_source()
        # land fraction smoothed over ~10 degrees: where monsoon/ITCZ shifts follow the continents
        coarse = Grid(18, 36)
        self.land_smooth = np.clip(regrid_grid_to_grid(regrid_grid_to_grid(self.land, grid, coarse),
                                                       coarse, grid, "bilinear"), 0.0, 1.0)
        self.sss = self.sea_surface_salinity()
        # 1-D latitude functions of the rows (the same values as on the 2-D arrays)
        self._rlat = np.asarray(grid.lat, dtype=np.float64)
        self._rsin = np.sin(np.deg2rad(self._rlat))
        self._rsgn = np.sign(self._rlat)
        self._static = self._static_table()
        self._all = _Cells(self, None)
        self._ps_scales: OrderedDict = OrderedDict()  # record key -> global air-mass scaling of ps
        self._cache: OrderedDict = OrderedDict()  # MetState per time
        self._surf_cache: OrderedDict = OrderedDict()  # surface dicts per time
        log.info("climatology on %s, %s; land fraction from %s", grid.describe(), vcoord.describe(),
                 self.land_source)

    # ------------------------------------------------------------------ public interface
    def at(self, time: cftime.datetime) -> MetState:
        key = _time_key(time)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        makers = {name: (lambda n=name: self._field(time, n)) for name in self.field_names()}
        # the cache holds the states (and so their 3-D fields, 75 MB a time at 1x1x47) of the last
        # STATE_CACHE times: two (this step and the previous one) keep the memory of a run constant after
        # its first step; more made each of the first steps fault in fresh memory (~0.15 s a step)
        while len(self._cache) >= self.STATE_CACHE:
            self._cache.popitem(last=False)
        state = MetState(time, LazyFields(makers))
        self._cache[key] = state
        return state

    #: times whose states :meth:`at` keeps (a caller asks for each step's time once or twice)
    STATE_CACHE = 2
    #: daily mean-flow records kept (a step interpolates between two); a new record evicts the oldest one
    #: before it is built, so that :meth:`_buffer` can reuse its arrays
    MEAN_FLOW_RECORDS = 2

    def field_names(self) -> list[str]:
        return [n for n in FIELDS if n in SURFACE_FIELDS or n in self._three_d_names()]

    def _three_d_names(self) -> tuple[str, ...]:
        return THREE_D_FIELDS

    def _field(self, time, name):
        surf = self._surface(time)
        if name in surf:
            return surf[name]
        return self._three_d_field(time, name)

    def cell_sampler(self, names, cells):
        """Fast path for spin-ups: ``sample(time) -> CellFields`` of surface fields on ``cells`` only.

        ``cells``: flat indices into (nlat, nlon) (e.g. the land cells). Only these cells are evaluated
        (the global air-mass scaling of ``ps`` still uses the whole grid, once per season record), and
        the values are identical to ``at(time)[name].ravel()[cells]``. Fresh arrays for every call.
        """
        names = tuple(names)
        bad = [n for n in names if n not in SURFACE_FIELDS]
        if bad:
            raise ValueError(f"cell_sampler: {bad} are not surface fields of the climatology; known: "
                             f"{list(SURFACE_FIELDS)}")
        sel = _Cells(self, np.asarray(cells))
        static = {"sss": self.sss.ravel()[sel.cells], "land_fraction": self.land.ravel()[sel.cells]}

        def sample(time: cftime.datetime) -> CellFields:
            makers = self._surface_makers(sel, time)
            return CellFields(time, cells, {n: (makers[n]() if n in makers else static[n].copy()) for n in names})

        return sample

    # ------------------------------------------------------------------ static tables
    def _static_table(self) -> np.ndarray:
        """Time-invariant per-cell inputs of the surface kernels, rows named by ``met_clim.STATIC``."""
        p = self.p
        lat, lon, ls, lf = self.lat, self.lon, self.land_smooth, self.land
        alat = np.abs(lat)
        lapse = self.lapse_rate()
        t_ann = 300.0 - 42.0 * self.sinlat**2 - 12.0 * np.clip((-lat - 65.0) / 25.0, 0.0, 1.0)
        # cold tongue and eastern-boundary upwelling (-); North Atlantic Drift (+)
        sst_anom = -3.0 * _gauss(lat, -1.0, 5.0) * _gauss(lon, -100.0, 25.0)
        for lo, la in ((-122.0, 32.0), (-78.0, -18.0), (11.0, -20.0), (-18.0, 22.0)):
            sst_anom = sst_anom - 2.0 * _gauss(lat, la, 8.0) * _gauss(lon, lo, 8.0)
        sst_anom = sst_anom + 4.0 * _gauss(lat, 58.0, 9.0) * _gauss(lon, -20.0, 25.0)
        cols = {
            "lat": lat,
            "land": lf,
            "land_smooth": ls,
            "p_warm": 1.0 + 0.25 * np.cos(np.deg2rad(lon - 140.0)) * (1.0 - ls),
            "p_storm": p["precip_storm_track"] * (_gauss(lat, 46.0, 11.0) * (1.0 - 0.4 * ls)
                                                  + _gauss(lat, -48.0, 11.0)),
            "p_background": 1.2 - 0.8 * self.sinlat**2,
            "p_desert": 0.85 * ls * _gauss(alat, 24.0, 9.0),
            "p_dry_east": 1.0 - 0.4 * (1.0 - ls) * _gauss(alat, 22.0, 7.0),
            "c_storm": 0.25 * _gauss(alat, 58.0, 14.0),
            "c_strato": 0.15 * (1.0 - ls) * _gauss(alat, 20.0, 8.0),
            "c_polar": 0.15 * np.clip((alat - 65.0) / 15.0, 0.0, 1.0),
            "sst_anom": sst_anom,
            "ice_lon": 4.0 * _gauss(lon, 15.0, 35.0),
            "t_land_ann": t_ann - lapse * self.height,
            "half_lapse_h": 0.5 * lapse * self.height,
            "height": self.height,
            "slp0": (1011.0 + 8.0 * _gauss(lat, 32.0, 10.0) + 9.0 * _gauss(lat, -32.0, 10.0)
                     - 6.0 * _gauss(lat, 60.0, 10.0) - 23.0 * _gauss(lat, -63.0, 8.0)),
            "slp_lon": _gauss(lon, 100.0, 30.0),
            "slp_lat": _gauss(lat, 50.0, 12.0),
            "damp": 1.0 - 0.4 * lf,
            "sigma": (4.0 + 3.5 * _gauss(alat, 50.0, 15.0)) * (1.0 - 0.4 * lf),
            "h_ocean": p["pbl_ocean"] * (1.0 + 0.5 * _gauss(alat, 50.0, 12.0)),
        }
        if tuple(cols) != met_clim.STATIC:
            raise RuntimeError("climatology static table out of sync with the met_clim kernel")
        return np.ascontiguousarray(np.stack([np.broadcast_to(v, self.grid.shape).ravel() for v in cols.values()],
                                             axis=1))

    # ------------------------------------------------------------------ building blocks (latitude rows)
    def sea_surface_salinity(self) -> np.ndarray:
        lat, lon = self.lat, self.lon
        s = 34.6 + 1.3 * _gauss(np.abs(lat), 24.0, 10.0) - 0.7 * _gauss(lat, 7.0, 6.0)
        s = s - 3.0 * np.clip((lat - 62.0) / 18.0, 0.0, 1.0)
        atlantic = _gauss(lon, -35.0, 28.0) * (lat > -35.0) * (lat < 65.0)
        s = s + 0.9 * atlantic
        s = s + 3.0 * _gauss(lat, 37.0, 4.0) * _gauss(lon, 18.0, 12.0)
        return s

    def lapse_rate(self, lat=None) -> np.ndarray:
        """Tropospheric lapse rate [K m-1] at latitude ``lat`` (default: every cell)."""
        p = self.p
        s2 = self.sinlat**2 if lat is None else np.sin(np.deg2rad(lat)) ** 2
        return p["lapse_rate_tropics"] + (p["lapse_rate_pole"] - p["lapse_rate_tropics"]) * s2

    def itcz_latitude(self, season: Season) -> np.ndarray:
        """ITCZ latitude [deg] per cell: ocean 4 + 6 s_ocean, land (monsoons) 2 + 14 s_land."""
        ls = self.land_smooth
        return (1.0 - ls) * (4.0 + 6.0 * season.s_ocean) + ls * (2.0 + 14.0 * season.s_land)

    def _land_amplitude(self, sinlat):
        return self.p["t2m_land_seasonal_amplitude"] * np.abs(sinlat) ** 1.3

    def _season_rows(self, time: cftime.datetime) -> np.ndarray:
        """Latitude-only seasonal terms of the surface at ``time`` (rows named by ``met_clim.ROWS``)."""
        p = self.p
        lat, sinlat, sgn = self._rlat, self._rsin, self._rsgn
        season = Season(time)
        # zonal SST profile about the thermal equator + hemispheric seasonal term
        lat_th = 4.0 + 3.0 * season.s_ocean
        x2 = np.sin(np.deg2rad(lat - lat_th)) ** 2
        frac = 1.0 - 0.489 * x2 - 0.829 * x2 * x2
        tf = T_SEAWATER_FREEZE
        sst = tf + (p["sst_max"] + 273.15 - tf) * frac
        hemi = np.where(lat > 0, 1.0, 0.7)
        sst = sst + p["sst_seasonal_amplitude"] * hemi * np.abs(np.sin(2.0 * np.deg2rad(lat))) * sgn * season.s_ocean
        # sea-ice air temperature; land seasonal terms (now, 30 days earlier, the lagged soil wave)
        t_ice = np.minimum(300.0 - 42.0 * sinlat**2 + 15.0 * np.abs(sinlat) * sgn * season.s_land, 271.0)
        amp = self._land_amplitude(sinlat)
        lag30 = Season(time, lag_days=30.0)
        d = self._damping_depth(YEAR_DAYS * 86400.0)
        z = p["soil_depth"]
        soil = Season(time, lag_days=(z / d) / (2.0 * np.pi) * YEAR_DAYS)
        zt = p["soil_top_depth"]
        soil_top = Season(time, lag_days=(zt / d) / (2.0 * np.pi) * YEAR_DAYS)
        sun = SolarGeometry(time)
        u10, v10 = self.surface_wind_rows(season)
        rows = (sst, t_ice, amp * sgn * season.s_land, amp * sgn * lag30.s_land,
                amp * np.exp(-z / d) * sgn * soil.s_land, sun.daily_mean_toa(lat, p["solar_constant"]), u10, v10,
                amp * np.exp(-zt / d) * sgn * soil_top.s_land)
        return np.ascontiguousarray(np.stack(rows))

    def surface_wind_rows(self, season: Season):
        """Zonal-mean 10-m zonal and meridional wind [m s-1] per grid row, before the damping over land
        (x(1 - 0.4 land fraction)) and without synoptic variability: trades, westerlies, polar easterlies;
        the lower branch of the overturning cells."""
        lat = self._rlat
        ut = self.p["trade_wind_speed"]
        lat_i = 5.0 + 9.0 * season.s_hadley
        u = (-ut * (_gauss(lat, lat_i + 11.0, 8.0) + _gauss(lat, lat_i - 15.0, 9.0))
             + 6.0 * (1.0 - 0.3 * season.s_land) * _gauss(lat, 47.0 + 2.0 * season.s_land, 11.0)
             + 8.0 * _gauss(lat, -50.0, 10.0) - 3.0 * _gauss(np.abs(lat), 72.0, 7.0))
        return u, self.surface_meridional_wind(season, lat)

    # ---- overturning (shared by the surface wind and the 3-D mass fluxes)
    def overturning_cells(self, season: Season):
        """``(strength [kg s-1], lat_south, lat_north, p_top [Pa])`` of the Hadley, Ferrel, polar cells.

        Sign: the mass streamfunction is the northward mass transport below a pressure level, so a
        cell whose lower branch flows south is negative. Hadley strengths ``H (1 -/+ 0.8 s)``: the winter
        cell ~1.8 H crossing the equator, the summer cell ~0.2 H (Dima & Wallace 2003).
        """
        p = self.p
        h, fe = p["hadley_strength"], p["ferrel_strength"]
        s = season.s_hadley
        lat_i = 5.0 + 9.0 * s
        edge_n, edge_s = 30.0 + 2.0 * s, -30.0 + 2.0 * s
        ptop_h = 10000.0
        return [
            (-h * (1.0 - 0.8 * s), lat_i, edge_n, ptop_h),
            (h * (1.0 + 0.8 * s), edge_s, lat_i, ptop_h),
            (fe * (1.0 - 0.3 * s), edge_n, 60.0, 20000.0),
            (-fe * (1.0 + 0.3 * s), -60.0, edge_s, 20000.0),
            (-0.3 * fe, 60.0, 88.0, 30000.0),
            (0.3 * fe, -88.0, -60.0, 30000.0),
        ]

    @staticmethod
    def _cell_shape(lat, lat_s, lat_n):
        x = (lat - lat_s) / (lat_n - lat_s)
        return np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)), 0.0)

    def surface_meridional_wind(self, season: Season, lat=None) -> np.ndarray:
        """Lower-branch meridional wind [m s-1]: ``g A L(lat) / (2 a cos(lat) (ps - p_top))``
        (the surface limit of ``v = g dPsi/dp / (2 pi a cos lat)`` for ``Psi = A L sin(pi x)``), at
        latitudes ``lat`` (default: every cell)."""
        lat = self.lat if lat is None else np.asarray(lat, dtype=np.float64)
        a = self.grid.radius
        cosl = np.maximum(np.cos(np.deg2rad(lat)), 0.05)
        v = np.zeros(lat.shape)
        for amp, la, lb, ptop in self.overturning_cells(season):
            v += G0 * amp * self._cell_shape(lat, la, lb) / (2.0 * a * cosl * (1.0e5 - ptop))
        return v

    # ------------------------------------------------------------------ surface fields
    #: The season-dependent part of the surface is evaluated once a day (00 UTC) and interpolated
    #: linearly in time; the time-of-day part is exact at every time.
    SEASON_RECORD_SECONDS = 86400

    def _season_params(self, time: cftime.datetime) -> np.ndarray:
        p = self.p
        season, lag30 = Season(time), Season(time, lag_days=30.0)
        vals = {
            "s_land": season.s_land, "s_ocean": season.s_ocean, "s_ice": season.s_ice,
            "s_land_lag": lag30.s_land, "s_ocean_lag": lag30.s_ocean, "precip_itcz": p["precip_itcz"],
            "cloud_attenuation": p["cloud_attenuation"], "cloud_exponent": p["cloud_exponent"],
            "rh_surface_ocean": p["rh_surface_ocean"], "t_seawater_freeze": T_SEAWATER_FREEZE, "r_dry": R_DRY,
            "rho_cp_ch": RHO_AIR_SFC * CP_DRY * 1.1e-3, "ln_z_ratio": float(np.log(10.0 / 0.1)),
            "karman": KARMAN, "psychrometric": GAMMA_PSY, "latent_heat": L_VAP,
        }
        return np.array([vals[k] for k in met_clim.SEASON_PARAMS], dtype=np.float64)

    def _ps_scale(self, time: cftime.datetime, ps_raw_all: np.ndarray | None = None) -> float:
        """``ps_global_mean / <ps_raw>`` at a record time (area mean over the whole grid)."""
        key = _time_key(time)
        hit = self._ps_scales.get(key)
        if hit is not None:
            return hit
        if ps_raw_all is None:
            n = self._all.cells.size
            rc = np.empty((n, len(met_clim.SEASON_CELL)))
            rf = np.empty((len(met_clim.SEASON_FIELD), n))
            met_clim.season_record(self._all.static, self._all.row, self._season_rows(time),
                                   self._season_params(time), rc, rf, True, kernel_threads(3 * n))
            ps_raw_all = np.ascontiguousarray(rc[:, met_clim.SEASON_CELL.index("ps")])
        area = self.grid.area
        mean = float(np.sum(ps_raw_all.reshape(self.grid.shape) * area) / np.sum(area))
        scale = self.p["ps_global_mean"] / mean
        self._ps_scales[key] = scale
        while len(self._ps_scales) > 8:
            self._ps_scales.popitem(last=False)
        return scale

    def _season_record(self, sel: _Cells, time: cftime.datetime):
        """Season part of the surface on the cells of ``sel`` at a record time (cached per selection):
        ``(rec_cell (ncell, SEASON_CELL), rec_field (SEASON_FIELD, ncell))``."""
        key = _time_key(time)
        hit = sel.records.get(key)
        if hit is not None:
            return hit
        n = sel.cells.size
        rc = np.empty((n, len(met_clim.SEASON_CELL)))
        rf = np.empty((len(met_clim.SEASON_FIELD), n))
        met_clim.season_record(sel.static, sel.row, self._season_rows(time), self._season_params(time), rc, rf,
                               False, kernel_threads(30 * n))
        ips = met_clim.SEASON_CELL.index("ps")
        rc[:, ips] *= self._ps_scale(time, np.ascontiguousarray(rc[:, ips]) if sel.full else None)
        sel.records[key] = (rc, rf)
        while len(sel.records) > 3:
            sel.records.popitem(last=False)
        return rc, rf

    def _solar_tables(self, sun: SolarGeometry):
        """Per-row and per-column solar terms at one instant (``met_clim.LAT_TAB``, ``met_clim.LON_TAB``):
        ``sin(lat) sin(decl)``, ``cos(lat) cos(decl)``, the sunset hour angle and its sine; the hour angle,
        its cosine and the phase of the diurnal 2-m temperature cycle (maximum at 15 h local solar time)."""
        if not hasattr(self, "_trig_rows"):
            phi = np.deg2rad(self._rlat)
            self._trig_rows = (np.sin(phi), np.cos(phi), np.tan(phi))
        sinp, cosp, tanp = self._trig_rows
        lat_tab = np.empty((4, self.grid.nlat))
        np.multiply(sinp, np.sin(sun.decl), out=lat_tab[0])
        np.multiply(cosp, np.cos(sun.decl), out=lat_tab[1])
        np.arccos(np.clip(-tanp * np.tan(sun.decl), -1.0, 1.0), out=lat_tab[2])
        np.sin(lat_tab[2], out=lat_tab[3])
        h = sun.hour_angle(self.grid.lon)
        lst = np.rad2deg(h) / 15.0 + 12.0
        lon_tab = np.empty((4, self.grid.nlon))
        np.cos(h, out=lon_tab[0])
        lon_tab[1] = h
        np.cos(2.0 * np.pi * (lst - 15.0) / 24.0, out=lon_tab[2])
        # the diurnal wave at the top-soil depth lags the surface's by z / d radians (d: diurnal damping depth)
        np.cos(2.0 * np.pi * (lst - 15.0) / 24.0 - self.p["soil_top_depth"] / self._damping_depth(86400.0),
               out=lon_tab[3])
        return lat_tab, lon_tab

    def _damping_depth(self, period: float) -> float:
        """Damping depth of a temperature wave of ``period`` [s] in the soil, d = sqrt(2 kappa / omega) [m], omega =
        2 pi / period (Carslaw & Jaeger 1959; Hillel 1982): amplitude exp(-z/d) and phase lag z/d at depth z."""
        return float(np.sqrt(2.0 * self.p["soil_diffusivity"] * period / (2.0 * np.pi)))

    def _diurnal_table(self, sel: _Cells, time: cftime.datetime, rc0, rc1, a: float) -> np.ndarray:
        """The ``met_clim.DIURNAL`` fields on the cells of ``sel`` at ``time`` (fields, cells)."""
        p = self.p
        sun = SolarGeometry(time)
        lat_tab, lon_tab = self._solar_tables(sun)
        vals = {"alpha": a, "toa_scale": p["solar_constant"] * sun.dist_factor / 1361.0,
                "s0": p["solar_constant"] * sun.dist_factor, "t2m_diurnal_amplitude": p["t2m_diurnal_amplitude"],
                "par_fraction": p["par_fraction"], "pbl_night_land": p["pbl_night_land"],
                "pbl_gamma_theta": p["pbl_gamma_theta"], "rho_cp": RHO_AIR_SFC * CP_DRY, "epsilon": EPSILON,
                "tsoil_top_damping": float(np.exp(-p["soil_top_depth"] / self._damping_depth(86400.0)))}
        par = np.array([vals[k] for k in met_clim.DIURNAL_PARAMS], dtype=np.float64)
        out = np.empty((len(met_clim.DIURNAL), sel.cells.size))
        # ~60 flop-equivalents a cell (exp, pow, sqrt, acos of the solar and boundary-layer terms): 10-20 ms on
        # one core for the 65 000 cells of 1x1, so the full grid is threaded (cells are independent)
        met_clim.surface_fields(sel.land, sel.row, sel.col, rc0, rc1, lat_tab, lon_tab, par, out,
                                kernel_threads(60 * sel.cells.size))
        return out

    def _surface_makers(self, sel: _Cells, time: cftime.datetime, shape=None) -> dict:
        """``name -> callable`` for every kernel surface field of ``sel`` at ``time``: the time-of-day
        fields come from one kernel call on first use, the others are the season records interpolated."""
        from esm.meteorology.massflux import lerp
        t0, t1, a = self._record_time(time, self.SEASON_RECORD_SECONDS)
        rc0, rf0 = self._season_record(sel, t0)
        rc1, rf1 = (rc0, rf0) if a == 0.0 else self._season_record(sel, t1)
        shape = shape or (sel.cells.size,)
        memo = []

        def diurnal(k):
            if not memo:
                memo.append(self._diurnal_table(sel, time, rc0, rc1, a))
            return memo[0][k].reshape(shape)

        makers = {name: (lambda k=k: diurnal(k)) for k, name in enumerate(met_clim.DIURNAL)}
        makers.update({name: (lambda k=k: lerp(rf0[k], rf1[k], a).reshape(shape))
                       for k, name in enumerate(met_clim.SEASON_FIELD)})
        return makers

    def _surface(self, time: cftime.datetime) -> dict:
        """Every surface field on the grid at ``time`` (plus internal helpers ``_t2m_daily``, ``_cloud``,
        ``_u10``, ``_v10``, ``_rh``, ``_lst`` reused by the 3-D fields), each computed on first access;
        cached for the last few times."""
        key = _time_key(time)
        hit = self._surf_cache.get(key)
        if hit is not None:
            return hit
        makers = self._surface_makers(self._all, time, self.grid.shape)
        makers["sss"] = lambda: self.sss
        makers["land_fraction"] = lambda: self.land
        makers["_lst"] = lambda: np.broadcast_to(SolarGeometry(time).local_solar_hour(self.grid.lon)[None, :],
                                                 self.grid.shape)
        out = LazyFields(makers)
        self._surf_cache[key] = out
        while len(self._surf_cache) > 4:
            self._surf_cache.popitem(last=False)
        return out

    # ================================================================== 3-D fields
    # Formulas (-> observed climatology imitated):
    # * t: T_s (daily-mean near-surface temperature of the cell) decreasing with the lapse rate
    #   Gamma(lat) (6.5 K/km tropics -> 5 K/km poles) in height z = H ln(ps/p), H = R_d (T_s - 3 km
    #   Gamma)/g, up to the tropopause p_tp(lat) (100 hPa equatorward of ~30 deg, 300 hPa at the poles,
    #   tanh transition at 32 deg), then isothermal for 2 km and warming at 2 K/km up to a 268 K
    #   stratopause near 1 hPa, cooling above; winter polar vortex -15 K -> ERA5 zonal-mean T
    #   (cold point ~190-195 K, US Standard Atmosphere 1976).
    # * qv: relative humidity RH_s (Q - 0.02)/0.98, Q = p/ps (Manabe & Wetherald 1967) of saturation in
    #   the troposphere, 2.5e-6 kg/kg (~4 ppmv) in the stratosphere (SPARC 2000 water vapour).
    # * u: jets U_J G(p) exp(-((lat - lat_J)/10)^2), G = exp(-(ln(p/200 hPa)/1.1)^2), at 30 N (Jan,
    #   ~47 m/s) / 42 N (Jul, ~23 m/s) and 45 S (Jan, ~28 m/s) / 30 S (Jul, ~42 m/s); tropical upper
    #   easterlies (-6 m/s at 150 hPa); near-surface trades / westerlies / polar easterlies decaying
    #   with a 250 hPa scale; winter polar-night jets growing above 100 hPa (NH 40, SH 60 m/s at 1 hPa)
    #   -> ERA5 zonal-mean u.
    # * overturning: mass streamfunction Psi(lat, p) = sum over cells A L(lat) sin(pi x),
    #   x = (ps - p)/(ps - p_top); Hadley cells meeting at 5 + 9 s_hadley deg, edges at +-30 deg, winter
    #   cell ~1.8e11 kg/s, summer ~0.2e11; Ferrel cells 30-60 deg (3e10); polar cells (1e10)
    #   -> Oort & Yienger 1996, Dima & Wallace 2003. Per column the mass flux of layer k through a
    #   south face is (Psi_{k+1} - Psi_k)/nlon with Psi at the face's own interface pressures, so
    #   every column's net overturning flux is zero and the divergence of each layer is balanced by
    #   the vertical mass flux (continuity).
    # * cmfmc: M = Mb [I_trop S(x; 150 hPa) + 0.35 I_storm S(x; 350 hPa)], S = sin(pi x^0.576) (peak at
    #   ~700 hPa), I_trop the ITCZ/monsoon band (same latitude as the precipitation) with a late-
    #   afternoon maximum over land (Dai 2001), I_storm the storm tracks -> MERRA-2 CMFMC.
    #   dtrain = max(M_k - M_{k+1}, 0) (net detrainment where the updraft weakens).
    # t, qv and the updraft shapes S are evaluated at daily, the updraft intensities at 3-hourly record
    # times, and interpolated linearly in time (as reanalysis fields are); u and v are evaluated at the
    # requested time.
    def _eddies(self):
        if getattr(self, "_eddy_field", None) is None:
            from esm.meteorology.eddies import EddyField
            p = self.p
            self._eddy_field = EddyField(self.grid, p["eddy_count"], p["eddy_lifetime"], p["eddy_seed"],
                                         p["eddy_velocity"], p["eddy_velocity_tropics"])
        return self._eddy_field

    def _zonal_wind_rows(self, season: Season):
        """Latitude factors (nlat) of the zonal wind: jets ``U_J (G(lat; jn) + G(lat; js))``, the tropical
        upper easterlies (6 m/s) and the polar-night jets (see the formula comment above)."""
        lat = self._rlat
        jn, js = 36.0 + 6.0 * season.s_land, -(37.5 - 7.5 * season.s_land)
        un = self.p["jet_speed"] * (1.0 - 0.35 * season.s_land)
        us = self.p["jet_speed"] * (1.0 + 0.2 * season.s_land)
        jet = un * _gauss(lat, jn, 10.0) + us * _gauss(lat, js, 10.0)
        east = 6.0 * _gauss(lat, 5.0 + 9.0 * season.s_hadley, 15.0)
        strat = ((10.0 - 30.0 * season.s_land) * _gauss(lat, 60.0, 12.0)
                 + (20.0 + 40.0 * season.s_land) * _gauss(lat, -60.0, 12.0))
        return jet, east, strat

    def overturning_fluxes(self, season: Season, ps: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Meridional mass fluxes of the mean meridional circulation [kg s-1], (nlev, nlat+1, nlon) (into
        ``out`` if given)."""
        g = self.grid
        vc = self.vcoord
        ps_f, amp, ptop, shape = self._overturning_inputs(season, ps)
        mfy = np.empty((vc.nlev, g.nlat + 1, g.nlon)) if out is None else out
        met_clim.overturning_fluxes(ps_f, vc.ap, vc.bp, amp, ptop, shape, mfy, kernel_threads(10 * mfy.size))
        return mfy

    def _overturning_inputs(self, season: Season, ps: np.ndarray):
        """``(ps_face, amp, ptop, shape)`` of :func:`met_clim.overturning_fluxes`: the surface pressure on the
        south faces, each cell's amplitude per face column and top, and its latitude shape on the faces."""
        g = self.grid
        ps_f = np.empty((g.nlat + 1, g.nlon))
        ps_f[1:-1] = 0.5 * (ps[1:] + ps[:-1])
        ps_f[0], ps_f[-1] = ps[0], ps[-1]
        cells = self.overturning_cells(season)
        amp = np.array([c[0] / g.nlon for c in cells])
        ptop = np.array([c[3] for c in cells], dtype=np.float64)
        shape = np.ascontiguousarray(np.stack([self._cell_shape(g.lat_edges, c[1], c[2]) for c in cells]))
        return ps_f, amp, ptop, shape

    #: ln of 200 hPa, 150 hPa, 100 hPa (jet, easterly and stratosphere levels) and of 100
    _LN_CONST = np.log(np.array([20000.0, 15000.0, 10000.0, 100.0]))
    #: eddy vertical structure 0.6 + 0.4 sin(pi/2 x) at 500 hPa for ps = 1000 hPa (normalisation)
    _EDDY_REF = 0.6 + 0.4 * np.sin(0.5 * np.pi * (50000.0 / 75000.0))

    #: 3-D "met records", interpolated linearly in time (as reanalysis fields are): the mean flow (jets,
    #: overturning, eddy weights), temperature, humidity and the updraft shapes depend on the season only
    #: and are evaluated once a day (00 UTC, DAILY_RECORD_SECONDS); the convective intensities have a
    #: diurnal cycle over land and are evaluated every RECORD_SECONDS. The eddies are exact in time.
    RECORD_SECONDS = 3 * 3600
    DAILY_RECORD_SECONDS = 86400

    def _record_time(self, time: cftime.datetime, spacing: int | None = None):
        """``(t0, t1, alpha)``: the record times around ``time`` (every ``spacing`` s from midnight,
        default RECORD_SECONDS) and the interpolation weight of t1."""
        step = self.RECORD_SECONDS if spacing is None else int(spacing)
        sec = time.hour * 3600 + time.minute * 60 + time.second + time.microsecond * 1e-6
        k = int(sec // step)
        t0 = time - _dt.timedelta(seconds=sec - k * step) if sec != k * step else time
        alpha = (sec - k * step) / step
        return t0, t0 + _dt.timedelta(seconds=step), alpha

    def _mean_flow_record(self, time: cftime.datetime):
        """``(mfx, mfy, ps, wc, div)`` of the mean flow at a record time (cached): zonal fluxes of the jets,
        overturning fluxes, the surface pressure (the layer thickness is ``dap + dbp ps``), the eddies'
        corner weights ``E(p) dp / g`` and the column divergence of the fluxes."""
        if not hasattr(self, "_records"):
            self._records = OrderedDict()
        return self._cached_record(self._records, self.MEAN_FLOW_RECORDS, self._mean_flow_parts, time)

    def _cached_record(self, cache: OrderedDict, limit: int, parts_of, time: cftime.datetime):
        """The record of ``time`` from ``cache``, else the one the background job finished, else built here with
        all threads by ``parts_of(time)`` (see :class:`_RecordJob`). The oldest records are evicted before the
        build, so the record buffers can reuse their arrays."""
        key = _time_key(time)
        hit = cache.get(key)
        if hit is not None:
            return hit
        if self._complete_prefetch(key):
            return cache[key]
        while len(cache) >= limit:
            cache.popitem(last=False)
        parts, finish = parts_of(time)
        for call, n, nthreads in parts:
            call(0, n, nthreads)
        rec = finish()
        cache[key] = rec
        return rec

    def _mean_flow_parts(self, time: cftime.datetime):
        """The mean-flow record at a record time as ``(parts, finish)`` (see :class:`_RecordJob`): the 2-D
        inputs and the output buffers are prepared here; ``parts`` are the row-range kernel calls (jets and
        eddy layer weights by rows, overturning by face rows), ``finish()`` the corner weights and the
        column divergence, returning the record."""
        surf = self._surface(time)
        ps = np.ascontiguousarray(surf["ps"])
        season = Season(time)
        vc, g = self.vcoord, self.grid
        shape3 = (vc.nlev,) + g.shape
        jet, east, strat = self._zonal_wind_rows(season)
        u10 = np.ascontiguousarray(surf["_u10"])
        dap, dbp = np.ascontiguousarray(vc.dap), np.ascontiguousarray(vc.dbp)
        mfx, w = self._buffer(shape3), self._buffer(shape3)
        mfy = self._buffer((vc.nlev, g.nlat + 1, g.nlon))
        ps_f, amp, ptop, shape = self._overturning_inputs(season, ps)
        ln_const, dy_g, eddy_ref = self._LN_CONST, g.dy / G0, self._EDDY_REF

        def mean_flow(j0, j1, nthreads):
            met_clim.mean_flow_record(ps, vc.ap, vc.bp, dap, dbp, jet, east, strat, u10, ln_const, dy_g, eddy_ref,
                                      mfx, w, nthreads, j0, j1)

        def overturning(j0, j1, nthreads):
            met_clim.overturning_fluxes(ps_f, vc.ap, vc.bp, amp, ptop, shape, mfy, nthreads, j0, j1)

        def finish():
            from esm.meteorology.massflux import column_divergence
            wc = self._buffer((vc.nlev, g.nlat + 1, g.nlon))
            met_clim.corner_weights(w, wc, kernel_threads(4 * wc.size, streaming=True))
            return (mfx, mfy, ps, wc, column_divergence(mfx, mfy))

        parts = [(mean_flow, g.nlat, kernel_threads(30 * mfx.size)),
                 (overturning, g.nlat + 1, kernel_threads(10 * mfy.size))]
        return parts, finish

    # ------------------------------------------------------------------ background build of the next day
    def _prefetch(self, time: cftime.datetime) -> None:
        """Start building the daily 3-D records (mean flow and thermodynamics) of the record time ``time`` in
        a low-priority background thread (``prefetch`` of ``&meteorology_nml``), unless they exist or are
        being built. Called by :meth:`step_fluxes` with the record time after the step's two, so in a run
        the next day's records are built during the day, on cores the model leaves idle, instead of all at
        midnight (~1.1 s at 1x1x47). The values do not depend on who builds them (:class:`_RecordJob`)."""
        if not self.p["prefetch"]:
            return
        key = _time_key(time)
        job = getattr(self, "_job", None)
        if job is not None:
            if job.key == key:
                return
            job.cancel()  # a jump in time: this record is not the next one any more
            self._job = job = None
        if key in getattr(self, "_records", {}) or key in getattr(self, "_records3d", {}):
            return
        mf_parts, mf_finish = self._mean_flow_parts(time)
        th_parts, th_finish = self._thermo_parts(time)
        job = _RecordJob(key, mf_parts + th_parts, lambda: (mf_finish(), th_finish()))
        self._job = job
        threading.Thread(target=job.work, name="esm-climatology-records", daemon=True).start()

    def _complete_prefetch(self, key: tuple) -> bool:
        """If the background job builds the records of ``key``: finish it (main thread) and put both records
        in their caches (evicting the oldest first, as a build here would). False otherwise."""
        job = getattr(self, "_job", None)
        if job is None or job.key != key:
            return False
        self._job = None
        mf, th = job.complete()
        log.debug("climatology records %s: %d of %d row items built in the background", key, job.by_worker,
                  len(job.items))
        if not hasattr(self, "_records"):
            self._records = OrderedDict()
        if not hasattr(self, "_records3d"):
            self._records3d = OrderedDict()
        for cache, rec, size in ((self._records, mf, self.MEAN_FLOW_RECORDS), (self._records3d, th, 2)):
            if key not in cache:
                while len(cache) >= size:
                    cache.popitem(last=False)
                cache[key] = rec
        return True

    def _buffer(self, shape: tuple) -> np.ndarray:
        """An uninitialised float64 array of ``shape`` for a kernel to overwrite completely: a buffer of an
        earlier call that nobody references any more (records evicted from the caches, the fields and fluxes
        of earlier steps the caller has dropped), else a new one. Reusing memory that is already mapped
        avoids the page faults of fresh memory (at 1x1x47 each 3-D array is 25 MB: the first steps of a run
        and every daily record rebuild paid ~100 ms of faults for them). An array still referenced outside
        the pool (by the caller, a cache or a view) is never handed out again."""
        pool = self.__dict__.setdefault("_pool", {}).setdefault(tuple(shape), [])
        pick, spare, k = None, 0, 0
        while k < len(pool):
            if sys.getrefcount(pool[k]) == 2:  # the pool's list and getrefcount's argument: unreferenced
                if pick is None:
                    pick = pool[k]
                else:
                    spare += 1
                    if spare > _POOL_SPARE:
                        del pool[k]
                        continue
            k += 1
        if pick is None:
            pick = np.empty(shape)
            pool.append(pick)
            if len(pool) > _POOL_TRACKED:
                del pool[0]
        return pick

    def _eddies_on(self) -> bool:
        p = self.p
        return p["eddy_count"] > 0 and (p["eddy_velocity"] > 0 or p["eddy_velocity_tropics"] > 0)

    def _fluxes(self, time: cftime.datetime, scratch: bool = False):
        """Uncorrected face mass fluxes at ``time``, their column divergence and the records'
        ``(ps0, ps1, alpha)``: mean flow + overturning (interpolated between record times) + eddies (exact
        time), in one compiled pass. ``scratch``: into arrays reused from call to call (internal use only)."""
        from esm._kernels import met_flux
        t0, t1, a = self._record_time(time, self.DAILY_RECORD_SECONDS)
        r0 = self._mean_flow_record(t0)
        r1 = r0 if a == 0.0 else self._mean_flow_record(t1)
        if scratch:
            if getattr(self, "_scratch", None) is None:
                self._scratch = (np.empty_like(r0[0]), np.empty_like(r0[1]), np.empty(self.grid.shape))
            mfx, mfy, div = self._scratch
        else:
            mfx, mfy, div = np.empty_like(r0[0]), np.empty_like(r0[1]), np.empty(self.grid.shape)
        eddies = self._eddies_on()
        psi = np.ascontiguousarray(self._eddies().psi(time)) if eddies else np.zeros((1, 1))
        met_flux.mean_and_eddy_fluxes_div(r0[0], r1[0], r0[1], r1[1], r0[3], r1[3], a, psi, eddies, mfx, mfy, div,
                                          kernel_threads(8 * mfx.size, streaming=True))
        return mfx, mfy, div, (r0[2], r1[2], a)

    def raw_fluxes(self, time: cftime.datetime):
        """Uncorrected face mass fluxes ``(mfx, mfy, dp)`` at ``time``: mean flow + overturning
        (interpolated between record times) + eddies (exact time); ``dp`` the layer thickness
        interpolated between the records."""
        from esm.meteorology.massflux import lerp
        mfx, mfy, _, (ps0, ps1, a) = self._fluxes(time)
        vc = self.vcoord
        return mfx, mfy, lerp(vc.layer_thickness(ps0), vc.layer_thickness(ps1), a)

    def _three_d_field(self, time: cftime.datetime, name: str) -> np.ndarray:
        """u, v exactly at ``time`` (from the same fluxes as step_fluxes); t, qv interpolated linearly
        between daily records; cmfmc from the updraft shapes (daily records) and intensities (3-hourly
        records, the diurnal cycle), each interpolated linearly, and dtrain from cmfmc."""
        from esm.meteorology.massflux import lerp
        if name in ("u", "v"):
            from esm._kernels import met_flux
            key = _time_key(time)
            memo = getattr(self, "_winds", None)
            if memo is None or memo[0] != key:
                self._winds = memo = None  # lets _buffer reuse the previous time's winds if nobody holds them
                g, vc = self.grid, self.vcoord
                mfx, mfy, _, (ps0, ps1, a) = self._fluxes(time, scratch=True)
                dxe = g.dx_edge
                g_dxe = np.where(dxe > 0, G0 / np.where(dxe > 0, dxe, 1.0), 0.0)
                u, v = self._buffer(mfx.shape), self._buffer(mfx.shape)
                met_flux.centre_winds_hybrid(mfx, mfy, ps0, ps1, a, np.ascontiguousarray(vc.dap),
                                             np.ascontiguousarray(vc.dbp), G0 / g.dy, g_dxe, u, v,
                                             kernel_threads(8 * u.size, streaming=True))
                self._winds = memo = (key, (u, v))
            u, v = memo[1]
            return u if name == "u" else v
        td0, td1, ad = self._record_time(time, self.DAILY_RECORD_SECONDS)
        r0 = self._three_d(td0)
        r1 = r0 if ad == 0.0 else self._three_d(td1)
        if name in ("t", "qv"):
            return lerp(r0[name], r1[name], ad, out=self._buffer(r0[name].shape))
        # convection: intensities (2-D, diurnal cycle) between 3-hourly records, shapes between daily records
        key = _time_key(time)
        memo = getattr(self, "_conv", None)
        if memo is None or memo[0] != key:
            self._conv = memo = None  # lets _buffer reuse the previous time's cmfmc and dtrain if nobody holds them
            t0, t1, a = self._record_time(time)
            c0 = self._convective_intensity(t0)
            c1 = c0 if a == 0.0 else self._convective_intensity(t1)
            i_trop, i_storm = (np.ascontiguousarray((1.0 - a) * x0 + a * x1) for x0, x1 in zip(c0, c1))
            vc, g = self.vcoord, self.grid
            # the shapes are not read on the interfaces above the updrafts' tops (zero in both records), where
            # the kernel only writes zeros (numpy.zeros would not save the writes: arrays of this size come
            # from the heap, where calloc clears them)
            cmfmc, dtrain = self._buffer((vc.nlev + 1,) + g.shape), self._buffer((vc.nlev,) + g.shape)
            met_clim.convection(r0["s1"], r1["s1"], r0["s2"], r1["s2"], ad, i_trop, i_storm,
                                self.p["convective_mass_flux"], cmfmc, dtrain,
                                kernel_threads(4 * cmfmc.size, streaming=True), r0["nz1"] | r1["nz1"],
                                r0["nz2"] | r1["nz2"], False)
            self._conv = memo = (key, {"cmfmc": cmfmc, "dtrain": dtrain})
        return memo[1][name]

    def _convective_intensity(self, time: cftime.datetime):
        """Updraft intensities ``(I_trop, I_storm)`` (nlat, nlon) at a record time (cached): the ITCZ /
        monsoon band with a late-afternoon maximum over land (Dai 2001) and the storm tracks."""
        key = _time_key(time)
        cache = self.__dict__.setdefault("_intensity", OrderedDict())
        hit = cache.get(key)
        if hit is not None:
            return hit
        season = Season(time)
        lst = SolarGeometry(time).local_solar_hour(self.grid.lon)[None, :]
        diurnal = 1.0 + 0.5 * self.land * np.cos(2.0 * np.pi * (lst - 16.0) / 24.0)
        warm_pool = 1.0 + 0.3 * np.cos(np.deg2rad(self.lon - 140.0)) * (1.0 - self.land_smooth)
        i_trop = _gauss(self.lat, self.itcz_latitude(season), 7.0) * warm_pool * diurnal
        winter_storm = 1.0 + 0.3 * np.where(self.lat > 0, -season.s_land, season.s_land)
        i_storm = (_gauss(self.lat, 46.0, 10.0) + _gauss(self.lat, -48.0, 10.0)) * winter_storm
        out = (np.ascontiguousarray(i_trop), np.ascontiguousarray(i_storm))
        cache[key] = out
        while len(cache) > 3:
            cache.popitem(last=False)
        return out

    def _three_d(self, time: cftime.datetime) -> dict:
        """At a daily record time (cached): t, qv and the updraft shapes s1, s2 of the convection."""
        if not hasattr(self, "_records3d"):
            self._records3d = OrderedDict()
        return self._cached_record(self._records3d, 2, self._thermo_parts, time)

    def _thermo_parts(self, time: cftime.datetime):
        """The thermodynamic record at a record time as ``(parts, finish)`` (see :class:`_RecordJob`): t, qv
        and the updraft shapes by latitude rows."""
        p = self.p
        surf = self._surface(time)
        season = Season(time)
        ps = np.ascontiguousarray(surf["ps"])
        ts, rh = np.ascontiguousarray(surf["_t2m_daily"]), np.ascontiguousarray(surf["_rh"])
        vc, g = self.vcoord, self.grid
        # latitude rows: lapse rate, tropopause pressure, winter polar-vortex cooling
        lat = self._rlat
        lapse = self.lapse_rate(lat)
        w = 0.5 + 0.5 * np.tanh((np.abs(lat) - 32.0) / 8.0)
        ptrop = p["tropopause_p_tropics"] + (p["tropopause_p_pole"] - p["tropopause_p_tropics"]) * w
        winter = np.where(lat > 0, -season.s_land, season.s_land)
        cool = 15.0 * np.clip(winter, 0.0, 1.0) * _gauss(np.abs(lat), 80.0, 15.0)
        shape3, shape_e = (vc.nlev,) + g.shape, (vc.nlev + 1,) + g.shape
        t, qv = self._buffer(shape3), self._buffer(shape3)
        s1, s2 = self._buffer(shape_e), self._buffer(shape_e)
        # nz1, nz2: interfaces where an updraft shape is nonzero somewhere (1) or zero on the whole interface (0),
        # or-ed over the row ranges
        nz1, nz2 = np.zeros(vc.nlev + 1, dtype=np.uint8), np.zeros(vc.nlev + 1, dtype=np.uint8)

        def thermo(j0, j1, nthreads):
            met_clim.thermo_record(ps, vc.ap, vc.bp, ts, rh, lapse, ptrop, cool, R_DRY, EPSILON, t, qv, s1, s2,
                                   nthreads, nz1, nz2, j0, j1, False)

        return ([(thermo, g.nlat, kernel_threads(30 * t.size))],
                lambda: {"t": t, "qv": qv, "s1": s1, "s2": s2, "nz1": nz1, "nz2": nz2})

    # ================================================================== mass fluxes
    def step_fluxes(self, time: cftime.datetime, dt: float, ps_start: np.ndarray):
        """Mass fluxes for ``[time, time + dt]``: mean flow, overturning and eddies at the mid-step,
        pressure-fixed so that they take ``ps_start`` to the climatology's ps at ``time + dt``."""
        import datetime as _dt

        from esm.meteorology.base import MassFluxes
        from esm.meteorology.massflux import PressureFixer
        g = self.grid
        ps_start = np.asarray(ps_start, dtype=np.float64)
        if ps_start.shape != g.shape or not np.all(np.isfinite(ps_start)):
            raise ValueError(f"step_fluxes: ps_start must be finite with shape (nlat, nlon) = {g.shape}; "
                             f"got shape {ps_start.shape}")
        if getattr(self, "_fixer", None) is None:
            self._fixer = PressureFixer(g)
        from esm._kernels import met_flux
        mid = time + _dt.timedelta(seconds=dt / 2.0)
        end = time + _dt.timedelta(seconds=dt)
        t0, t1, a = self._record_time(mid, self.DAILY_RECORD_SECONDS)
        r0 = self._mean_flow_record(t0)
        r1 = r0 if a == 0.0 else self._mean_flow_record(t1)
        target = self._surface(end)["ps"]
        self._prefetch(t1 + _dt.timedelta(seconds=self.DAILY_RECORD_SECONDS))
        # the raw fluxes' column divergence is that of the interpolated mean flow (divergence is linear;
        # the eddies are non-divergent layer by layer), so the correction is known before the one pass
        # that interpolates, adds the eddies and the correction (the same numbers, to round-off, as
        # assembling the raw fluxes and then applying PressureFixer to them)
        from esm.meteorology.massflux import lerp
        fx, fy, offset = self._fixer.column_corrections(lerp(r0[4], r1[4], a), ps_start, target, dt)
        vc = self.vcoord
        # the correction of a face is shared among the layers by the face thickness of the hybrid coordinate,
        # 2 dap_k + dbp_k S (S the sum of the two cells' surface pressures, interpolated between the records),
        # over its column total T = S - 2 p_top: per column, a = 2 F / T and b = F S / T, and the correction
        # of level k is a dap_k + b dbp_k (the same numbers as F dp_face,k / T, to round-off)
        psl = (1.0 - a) * r0[2] + a * r1[2]
        sx = np.roll(psl, 1, axis=1) + psl
        cx = fx / (sx - 2.0 * vc.ptop)
        ax, bx = np.ascontiguousarray(2.0 * cx), np.ascontiguousarray(cx * sx)
        ay, by = np.zeros((g.nlat + 1, g.nlon)), np.zeros((g.nlat + 1, g.nlon))
        sy = psl[:-1] + psl[1:]
        cy = fy[1:-1] / (sy - 2.0 * vc.ptop)
        ay[1:-1], by[1:-1] = 2.0 * cy, cy * sy
        eddies = self._eddies_on()
        psi = np.ascontiguousarray(self._eddies().psi(mid)) if eddies else np.zeros((1, 1))
        mfx, mfy, div = self._buffer(r0[0].shape), self._buffer(r0[1].shape), np.empty(g.shape)
        met_flux.corrected_fluxes(r0[0], r1[0], r0[1], r1[1], r0[3], r1[3], a, psi, eddies, ax, bx, ay, by,
                                  np.ascontiguousarray(vc.dap), np.ascontiguousarray(vc.dbp), mfx, mfy, div,
                                  kernel_threads(8 * mfx.size, streaming=True))
        ps_end = ps_start - G0 * dt * div / g.area
        err = float(np.max(np.abs(ps_end - (target + offset))))
        if err > self.p["fixer_tolerance"]:
            raise RuntimeError(f"pressure fixer at {time}: corrected fluxes miss the target surface pressure "
                               f"by {err:.3g} Pa (tolerance {self.p['fixer_tolerance']} Pa)")
        return MassFluxes(mfx=mfx, mfy=mfy, dt=float(dt), ps_end=ps_end)
