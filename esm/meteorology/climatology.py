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
* ``tsoil``: damped, lagged annual wave of the land temperature at depth ``z``: amplitude
  ``exp(-z/d)``, lag ``z/d`` with ``d = sqrt(2 kappa / omega)`` (Carslaw & Jaeger 1959; Hillel 1982).
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
"""
from __future__ import annotations

import logging
from collections import OrderedDict

import cftime
import numpy as np

from esm.constants import CP_DRY, G0, R_DRY, T_FREEZE
from esm.grid import Grid
from esm.meteorology.base import FIELDS, MetProvider, MetState
from esm.meteorology.config import default_params
from esm.meteorology.regrid import regrid_grid_to_grid
from esm.meteorology.solar import SolarGeometry, day_of_year, year_length_days
from esm.meteorology.surface import land_fraction, land_fraction_source, surface_height
from esm.meteorology.thermo import GAMMA_PSY, L_VAP, saturation_slope, saturation_vapour_pressure, \
    specific_humidity
from esm.vertical import VerticalCoordinate

log = logging.getLogger(__name__)

YEAR_DAYS = 365.2422
KARMAN = 0.4
RHO_AIR_SFC = 1.2  # kg m-3, near-surface air density for the bulk formulae
T_SEAWATER_FREEZE = T_FREEZE - 1.8  # K, seawater at S = 34 (UNESCO 1983)
THREE_D_FIELDS = ("t", "qv", "u", "v", "cmfmc", "dtrain")
SURFACE_FIELDS = ("ps", "pblh", "ustar", "shflx", "t2m", "q2m", "vpd", "tskin", "swdown", "swdown_diffuse",
                  "par", "cos_sza", "precip", "soilm", "tsoil", "wind10", "sst", "sss", "seaice", "land_fraction")


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


class Climatology(MetProvider):
    """Analytic climatological meteorology on a model grid (see the module docstring for formulas)."""

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
        self._cache: OrderedDict = OrderedDict()  # MetState per time
        self._surf_cache: OrderedDict = OrderedDict()  # surface dicts per time
        log.info("climatology on %s, %s; land fraction from %s", grid.describe(), vcoord.describe(),
                 self.land_source)

    # ------------------------------------------------------------------ public interface
    def at(self, time: cftime.datetime) -> MetState:
        key = (time.calendar, time.year, time.month, time.day, time.hour, time.minute, time.second)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        makers = {name: (lambda n=name: self._field(time, n)) for name in self.field_names()}
        state = MetState(time, LazyFields(makers))
        self._cache[key] = state
        while len(self._cache) > 4:
            self._cache.popitem(last=False)
        return state

    def field_names(self) -> list[str]:
        return [n for n in FIELDS if n in SURFACE_FIELDS or n in self._three_d_names()]

    def _three_d_names(self) -> tuple[str, ...]:
        return THREE_D_FIELDS

    def _field(self, time, name):
        surf = self._surface(time)
        if name in surf:
            return surf[name]
        return self._three_d_field(time, name)

    # ------------------------------------------------------------------ building blocks
    def itcz_latitude(self, season: Season) -> np.ndarray:
        """ITCZ latitude [deg] per cell: ocean 4 + 6 s_ocean, land (monsoons) 2 + 14 s_land."""
        ls = self.land_smooth
        return (1.0 - ls) * (4.0 + 6.0 * season.s_ocean) + ls * (2.0 + 14.0 * season.s_land)

    def precip_mm_day(self, season: Season) -> np.ndarray:
        """Precipitation [mm day-1] (GPCP-like; see module docstring)."""
        p = self.p
        lat, ls = self.lat, self.land_smooth
        lat_i = self.itcz_latitude(season)
        warm_pool = 1.0 + 0.25 * np.cos(np.deg2rad(self.lon - 140.0)) * (1.0 - ls)
        itcz = p["precip_itcz"] * _gauss(lat, lat_i, 8.0) * warm_pool
        storm = p["precip_storm_track"] * (_gauss(lat, 46.0, 11.0) * (1.0 - 0.4 * ls) + _gauss(lat, -48.0, 11.0))
        background = 1.2 - 0.8 * self.sinlat**2
        desert = 1.0 - 0.85 * ls * _gauss(np.abs(lat), 24.0, 9.0) * (1.0 - _gauss(lat, lat_i, 12.0))
        dry_east_ocean = 1.0 - 0.4 * (1.0 - ls) * _gauss(np.abs(lat), 22.0, 7.0)
        return (itcz + storm + background) * desert * dry_east_ocean

    def cloud_fraction(self, precip_mm_day: np.ndarray) -> np.ndarray:
        ls = self.land_smooth
        c = (0.38 + 0.40 * (1.0 - np.exp(-precip_mm_day / 3.0)) + 0.25 * _gauss(np.abs(self.lat), 58.0, 14.0)
             + 0.15 * (1.0 - ls) * _gauss(np.abs(self.lat), 20.0, 8.0)
             + 0.15 * np.clip((np.abs(self.lat) - 65.0) / 15.0, 0.0, 1.0))
        return np.clip(c, 0.05, 0.95)

    def cloud_transmission(self, cloud):
        return 1.0 - self.p["cloud_attenuation"] * cloud ** self.p["cloud_exponent"]

    def sea_surface_temperature_raw(self, season: Season) -> np.ndarray:
        """SST [K] without the sea-ice clamp (open-ocean profile)."""
        p = self.p
        lat, lon = self.lat, self.lon
        lat_th = 4.0 + 3.0 * season.s_ocean
        x2 = np.sin(np.deg2rad(lat - lat_th)) ** 2
        frac = 1.0 - 0.489 * x2 - 0.829 * x2 * x2
        tf = T_SEAWATER_FREEZE
        t = tf + (p["sst_max"] + 273.15 - tf) * frac
        hemi = np.where(lat > 0, 1.0, 0.7)
        t = t + p["sst_seasonal_amplitude"] * hemi * np.abs(np.sin(2.0 * self.philat)) * self.sgn * season.s_ocean
        # cold tongue and eastern-boundary upwelling; North Atlantic Drift
        t = t - 3.0 * _gauss(lat, -1.0, 5.0) * _gauss(lon, -100.0, 25.0)
        for lo, la in ((-122.0, 32.0), (-78.0, -18.0), (11.0, -20.0), (-18.0, 22.0)):
            t = t - 2.0 * _gauss(lat, la, 8.0) * _gauss(lon, lo, 8.0)
        t = t + 4.0 * _gauss(lat, 58.0, 9.0) * _gauss(lon, -20.0, 25.0)
        return np.maximum(t, tf)

    def sea_ice(self, season: Season) -> np.ndarray:
        lat, lon = self.lat, self.lon
        edge_n = 70.0 + 8.0 * season.s_ice + 4.0 * _gauss(lon, 15.0, 35.0)
        edge_s = 65.5 - 6.5 * season.s_ice
        conc_n = 0.90 - 0.05 * season.s_ice  # 0.95 in winter, 0.85 in summer
        conc_s = 0.90 + 0.05 * season.s_ice
        north = conc_n * np.clip(0.5 + (lat - edge_n) / 4.0, 0.0, 1.0)
        south = conc_s * np.clip(0.5 + (-lat - edge_s) / 4.0, 0.0, 1.0)
        return np.where(lat > 0, north, south)

    def sea_surface_salinity(self) -> np.ndarray:
        lat, lon = self.lat, self.lon
        s = 34.6 + 1.3 * _gauss(np.abs(lat), 24.0, 10.0) - 0.7 * _gauss(lat, 7.0, 6.0)
        s = s - 3.0 * np.clip((lat - 62.0) / 18.0, 0.0, 1.0)
        atlantic = _gauss(lon, -35.0, 28.0) * (lat > -35.0) * (lat < 65.0)
        s = s + 0.9 * atlantic
        s = s + 3.0 * _gauss(lat, 37.0, 4.0) * _gauss(lon, 18.0, 12.0)
        return s

    def land_temperature_parts(self):
        """Annual-mean land 2-m temperature at the surface height [K] and the seasonal half range [K]."""
        t_ann = 300.0 - 42.0 * self.sinlat**2 - 12.0 * np.clip((-self.lat - 65.0) / 25.0, 0.0, 1.0)
        amp = self.p["t2m_land_seasonal_amplitude"] * np.abs(self.sinlat) ** 1.3
        return t_ann - self.lapse_rate() * self.height, amp

    def land_temperature(self, season: Season) -> np.ndarray:
        """Daily-mean land 2-m temperature [K] without the diurnal cycle."""
        t_ann, amp = self.land_temperature_parts()
        return t_ann + amp * self.sgn * season.s_land

    def lapse_rate(self) -> np.ndarray:
        p = self.p
        return p["lapse_rate_tropics"] + (p["lapse_rate_pole"] - p["lapse_rate_tropics"]) * self.sinlat**2

    def ice_temperature(self, season: Season) -> np.ndarray:
        t_ann = 300.0 - 42.0 * self.sinlat**2
        return np.minimum(t_ann + 15.0 * np.abs(self.sinlat) * self.sgn * season.s_land, 271.0)

    def daily_mean_t2m(self, season: Season, sst: np.ndarray, ice: np.ndarray) -> np.ndarray:
        lf = self.land
        ocean = (1.0 - ice) * (sst - 1.0) + ice * self.ice_temperature(season)
        return lf * self.land_temperature(season) + (1.0 - lf) * ocean

    def sea_level_pressure(self, season: Season) -> np.ndarray:
        lat, lon = self.lat, self.lon
        slp = (1011.0 + 8.0 * _gauss(lat, 32.0, 10.0) + 9.0 * _gauss(lat, -32.0, 10.0)
               - 6.0 * _gauss(lat, 60.0, 10.0) - 23.0 * _gauss(lat, -63.0, 8.0)
               - 18.0 * season.s_land * _gauss(lon, 100.0, 30.0) * _gauss(lat, 50.0, 12.0))
        return slp * 100.0

    def surface_pressure(self, season: Season, t2m_daily: np.ndarray) -> np.ndarray:
        t_mean = t2m_daily + 0.5 * self.lapse_rate() * self.height
        ps = self.sea_level_pressure(season) * np.exp(-G0 * self.height / (R_DRY * t_mean))
        area = self.grid.area
        mean = float(np.sum(ps * area) / np.sum(area))
        return ps * (self.p["ps_global_mean"] / mean)

    def surface_wind(self, season: Season, lat_i_zonal: float):
        """10-m zonal and meridional wind [m s-1] (without synoptic variability)."""
        lat = self.lat
        ut = self.p["trade_wind_speed"]
        u = (-ut * (_gauss(lat, lat_i_zonal + 11.0, 8.0) + _gauss(lat, lat_i_zonal - 15.0, 9.0))
             + 6.0 * (1.0 - 0.3 * season.s_land) * _gauss(lat, 47.0 + 2.0 * season.s_land, 11.0)
             + 8.0 * _gauss(lat, -50.0, 10.0) - 3.0 * _gauss(np.abs(lat), 72.0, 7.0))
        v = self.surface_meridional_wind(season)
        damp = 1.0 - 0.4 * self.land
        return u * damp, v * damp

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

    def surface_meridional_wind(self, season: Season) -> np.ndarray:
        """Lower-branch meridional wind [m s-1]: ``g A L(lat) / (2 a cos(lat) (ps - p_top))``
        (the surface limit of ``v = g dPsi/dp / (2 pi a cos lat)`` for ``Psi = A L sin(pi x)``)."""
        a = self.grid.radius
        cosl = np.maximum(np.cos(self.philat), 0.05)
        v = np.zeros(self.grid.shape)
        for amp, la, lb, ptop in self.overturning_cells(season):
            v += G0 * amp * self._cell_shape(self.lat, la, lb) / (2.0 * a * cosl * (1.0e5 - ptop))
        return v

    # ------------------------------------------------------------------ surface fields
    def _surface(self, time: cftime.datetime) -> dict:
        key = (time.calendar, time.year, time.month, time.day, time.hour, time.minute, time.second)
        hit = self._surf_cache.get(key)
        if hit is not None:
            return hit
        p = self.p
        lf = self.land
        season = Season(time)
        sun = SolarGeometry(time)
        mu = sun.cos_zenith(self.lat, self.lon)
        mu_pos = np.maximum(mu, 0.0)
        lst = sun.local_solar_hour(self.lon)

        precip_mmd = self.precip_mm_day(season)
        cloud = self.cloud_fraction(precip_mmd)
        trans = self.cloud_transmission(cloud)

        # radiation: Haurwitz (1945) clear sky, Kasten & Czeplak (1980) clouds, Erbs et al. (1982) diffuse
        toa_scale = p["solar_constant"] * sun.dist_factor / 1361.0
        with np.errstate(divide="ignore", over="ignore"):
            clear = np.where(mu > 1e-3, 1098.0 * toa_scale * mu * np.exp(-0.057 / np.maximum(mu, 1e-3)), 0.0)
        sw = clear * trans
        toa = p["solar_constant"] * sun.dist_factor * mu_pos
        kt = np.where(toa > 1.0, sw / np.maximum(toa, 1.0), 0.0)
        kd = np.where(kt <= 0.22, 1.0 - 0.09 * kt,
                      np.where(kt <= 0.80, 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4,
                               0.165))
        diffuse = sw * np.clip(kd, 0.0, 1.0)

        # ocean
        sst_raw = self.sea_surface_temperature_raw(season)
        ice = self.sea_ice(season)
        sst = np.where(ice > 0.0, T_SEAWATER_FREEZE, sst_raw)
        sss = self.sea_surface_salinity()

        # temperatures
        t_daily = self.daily_mean_t2m(season, sst, ice)
        diurnal = p["t2m_diurnal_amplitude"] * (1.0 - 0.6 * cloud) * np.cos(2.0 * np.pi * (lst - 15.0) / 24.0)
        t2m = t_daily + lf * diurnal

        # surface pressure
        ps = self.surface_pressure(season, t_daily)

        # humidity: vapour pressure from daily-mean temperature and RH
        rh_land = 0.35 + 0.45 * (1.0 - np.exp(-precip_mmd / 2.0))
        rh = lf * rh_land + (1.0 - lf) * ((1.0 - ice) * p["rh_surface_ocean"] + ice * 0.9)
        e = rh * saturation_vapour_pressure(t_daily)
        e = np.minimum(e, saturation_vapour_pressure(t2m))
        q2m = specific_humidity(e, ps)
        vpd = np.maximum(saturation_vapour_pressure(t2m) - e, 0.0)

        # soil: wetness from precipitation and Priestley-Taylor PET 30 days earlier
        wet = self.soil_wetness(time)
        soilm = 0.05 + (0.45 - 0.05) * wet
        tsoil = self.soil_temperature(time)

        # winds
        lat_i_zonal = 5.0 + 9.0 * season.s_hadley
        u10, v10 = self.surface_wind(season, lat_i_zonal)
        sigma = (4.0 + 3.5 * _gauss(np.abs(self.lat), 50.0, 15.0)) * (1.0 - 0.4 * lf)
        wind10 = np.sqrt(u10**2 + v10**2 + sigma**2)

        # friction velocity
        u = np.maximum(wind10, 0.5)
        cd_ocean = (2.70 / u + 0.142 + 0.0764 * u) * 1e-3
        ustar_ocean = np.sqrt(cd_ocean) * u
        ustar_land = KARMAN * u / np.log(10.0 / 0.1)
        ustar = np.maximum(lf * ustar_land + (1.0 - lf) * ustar_ocean, 0.02)

        # sensible heat
        bowen = 0.3 + 2.7 * (1.0 - wet) ** 2
        sh_land = np.where(mu > 0.0, 0.6 * sw * bowen / (1.0 + bowen), -15.0)
        t_air_ocean = np.where(ice > 0.0, sst + 1.0, sst - 1.0)  # open ocean: t2m = SST - 1 K; ice: air warmer
        sh_ocean = RHO_AIR_SFC * CP_DRY * 1.1e-3 * wind10 * (sst - t_air_ocean)
        shflx = lf * sh_land + (1.0 - lf) * sh_ocean

        # skin temperature
        t_skin_land = t2m + np.where(mu > 0.0, 0.012 * sw, -1.5)
        tskin = lf * t_skin_land + (1.0 - lf) * ((1.0 - ice) * sst + ice * t2m)

        # boundary layer: encroachment over land (Tennekes 1973)
        pblh = self.boundary_layer_height(sun, trans, bowen, ice)

        out = {
            "ps": ps, "pblh": pblh, "ustar": ustar, "shflx": shflx, "t2m": t2m, "q2m": q2m, "vpd": vpd,
            "tskin": tskin, "swdown": sw, "swdown_diffuse": diffuse, "par": p["par_fraction"] * sw,
            "cos_sza": mu_pos, "precip": precip_mmd / 86400.0, "soilm": soilm, "tsoil": tsoil,
            "wind10": wind10, "sst": sst, "sss": sss, "seaice": ice, "land_fraction": lf,
            # internal helpers reused by the 3-D fields
            "_t2m_daily": t_daily, "_cloud": cloud, "_u10": u10, "_v10": v10, "_rh": rh, "_lst": lst,
        }
        self._surf_cache[key] = out
        while len(self._surf_cache) > 4:
            self._surf_cache.popitem(last=False)
        return out

    def soil_wetness(self, time: cftime.datetime) -> np.ndarray:
        """Budyko-type wetness ``W = P / (P + PET)`` from the fields 30 days earlier (soil memory)."""
        season = Season(time, lag_days=30.0)
        precip = self.precip_mm_day(season)
        cloud = self.cloud_fraction(precip)
        t = self.land_temperature(season)
        # daily-mean surface shortwave: TOA x 0.75 clear-sky transmission x clouds; Rn ~ 0.6 SW
        sun = SolarGeometry(time)
        sw_day = sun.daily_mean_toa(self.lat, self.p["solar_constant"]) * 0.75 * self.cloud_transmission(cloud)
        delta = saturation_slope(t)
        pet = 1.26 * delta / (delta + GAMMA_PSY) * np.maximum(0.6 * sw_day, 0.0) / L_VAP * 86400.0  # mm/day
        pet = np.where(t > T_FREEZE, pet, 0.2 * pet)
        return precip / (precip + pet + 1e-6)

    def soil_temperature(self, time: cftime.datetime) -> np.ndarray:
        """Root-zone temperature [K]: annual wave damped by exp(-z/d) and lagged by z/d (heat conduction)."""
        p = self.p
        omega = 2.0 * np.pi / (YEAR_DAYS * 86400.0)
        d = np.sqrt(2.0 * p["soil_diffusivity"] / omega)
        z = p["soil_depth"]
        season = Season(time, lag_days=(z / d) / (2.0 * np.pi) * YEAR_DAYS)
        t_ann, amp = self.land_temperature_parts()
        return t_ann + amp * np.exp(-z / d) * self.sgn * season.s_land

    def boundary_layer_height(self, sun: SolarGeometry, trans, bowen, ice) -> np.ndarray:
        p = self.p
        lf = self.land
        hn = p["pbl_night_land"]
        # sensible heat H = fH S mu during the day; int_{sunrise}^{t} mu dt = I(h) / omega_earth
        f_h = 0.6 * 0.75 * trans * bowen / (1.0 + bowen)
        s0 = p["solar_constant"] * sun.dist_factor
        integral = sun.daytime_integral(self.lat, self.lon) * 86400.0 / (2.0 * np.pi)  # seconds x mu
        heat = f_h * s0 * integral / (RHO_AIR_SFC * CP_DRY)  # K m
        mu = sun.cos_zenith(self.lat, self.lon)
        day = mu > 0.0
        h_land = np.where(day, np.sqrt(hn**2 + 2.0 * 1.4 * heat / p["pbl_gamma_theta"]), hn)
        h_land = np.minimum(h_land, 4000.0)
        h_ocean = p["pbl_ocean"] * (1.0 + 0.5 * _gauss(np.abs(self.lat), 50.0, 12.0))
        h_ocean = (1.0 - ice) * h_ocean + ice * 300.0
        return lf * h_land + (1.0 - lf) * h_ocean

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
    # t, qv, cmfmc and dtrain are evaluated at the 3-hourly record times and interpolated linearly
    # in time (as reanalysis fields are); u and v are evaluated at the requested time.
    def _tropopause_pressure(self):
        p = self.p
        w = 0.5 + 0.5 * np.tanh((np.abs(self.lat) - 32.0) / 8.0)
        return p["tropopause_p_tropics"] + (p["tropopause_p_pole"] - p["tropopause_p_tropics"]) * w

    def _eddies(self):
        if getattr(self, "_eddy_field", None) is None:
            from esm.meteorology.eddies import EddyField
            p = self.p
            self._eddy_field = EddyField(self.grid, p["eddy_count"], p["eddy_lifetime"], p["eddy_seed"],
                                         p["eddy_velocity"], p["eddy_velocity_tropics"])
        return self._eddy_field

    def zonal_wind(self, season: Season, surf: dict, pm: np.ndarray, ps: np.ndarray) -> np.ndarray:
        """Cell-centre zonal wind [m s-1] of the mean flow, (nlev, nlat, nlon)."""
        lat = self.lat[None]
        jn, js = 36.0 + 6.0 * season.s_land, -(37.5 - 7.5 * season.s_land)
        un = self.p["jet_speed"] * (1.0 - 0.35 * season.s_land)
        us = self.p["jet_speed"] * (1.0 + 0.2 * season.s_land)
        lnp = np.log(pm)
        g = np.exp(-(((lnp - np.log(20000.0)) / 1.1) ** 2))
        u = g * (un * _gauss(lat, jn, 10.0) + us * _gauss(lat, js, 10.0))
        lat_i = 5.0 + 9.0 * season.s_hadley
        u -= 6.0 * _gauss(lat, lat_i, 15.0) * np.exp(-(((lnp - np.log(15000.0)) / 0.6) ** 2))
        strat = np.clip((np.log(10000.0) - lnp) / np.log(100.0), 0.0, 1.5)
        u += strat * ((10.0 - 30.0 * season.s_land) * _gauss(lat, 60.0, 12.0)
                      + (20.0 + 40.0 * season.s_land) * _gauss(lat, -60.0, 12.0))
        u += 1.2 * surf["_u10"][None] * np.exp(-(((ps[None] - pm) / 25000.0) ** 2))
        return u

    def overturning_fluxes(self, season: Season, ps: np.ndarray) -> np.ndarray:
        """Meridional mass fluxes of the mean meridional circulation [kg s-1], (nlev, nlat+1, nlon)."""
        g = self.grid
        vc = self.vcoord
        ps_f = np.empty((g.nlat + 1, g.nlon))
        ps_f[1:-1] = 0.5 * (ps[1:] + ps[:-1])
        ps_f[0], ps_f[-1] = ps[0], ps[-1]
        psi = np.zeros((vc.nlev + 1, g.nlat + 1, g.nlon))
        for amp, la, lb, ptop in self.overturning_cells(season):
            shape = self._cell_shape(g.lat_edges, la, lb)
            rows = np.nonzero(shape)[0]  # only the rows inside the cell
            if rows.size == 0:
                continue
            psr = ps_f[rows]
            pe = vc.ap[:, None, None] + vc.bp[:, None, None] * psr[None]
            x = np.clip((psr[None] - pe) / (psr[None] - ptop), 0.0, 1.0)
            psi[:, rows] += (amp / g.nlon) * shape[rows][None, :, None] * np.sin(np.pi * x)
        mfy = psi[1:] - psi[:-1]
        mfy[:, 0] = 0.0
        mfy[:, -1] = 0.0
        return mfy

    def eddy_vertical_structure(self, pm: np.ndarray, ps: np.ndarray) -> np.ndarray:
        x = np.clip((ps[None] - pm) / np.maximum(ps[None] - 25000.0, 1.0), 0.0, 1.0)
        # equivalent barotropic: 0.6 at the surface, 1 at 250 hPa, decaying above; normalised to 1 at
        # 500 hPa (for ps = 1000 hPa), the level of the eddy_velocity parameters
        ref = 0.6 + 0.4 * np.sin(0.5 * np.pi * (50000.0 / 75000.0))
        trop = 0.6 + 0.4 * np.sin(0.5 * np.pi * x)
        above = np.exp(-np.clip(np.log(25000.0 / pm), 0.0, None) / 1.5)
        return np.where(pm >= 25000.0, trop, above) / ref

    #: The mean flow (jets, overturning) and the layer thickness are evaluated at "met record" times
    #: every RECORD_SECONDS (like a reanalysis) and interpolated linearly in time; the eddies are
    #: evaluated at the exact time. The mean flow changes on seasonal time scales, so this loses
    #: nothing and keeps the cost per step low.
    RECORD_SECONDS = 3 * 3600

    def _record_time(self, time: cftime.datetime):
        import datetime as _dt
        midnight = cftime.datetime(time.year, time.month, time.day, calendar=time.calendar)
        sec = (time - midnight).total_seconds()
        k = int(np.floor(sec / self.RECORD_SECONDS))
        t0 = midnight + _dt.timedelta(seconds=k * self.RECORD_SECONDS)
        alpha = (sec - k * self.RECORD_SECONDS) / self.RECORD_SECONDS
        return t0, t0 + _dt.timedelta(seconds=self.RECORD_SECONDS), alpha

    def _mean_flow_record(self, time: cftime.datetime):
        """``(mfx, mfy, dp, wc)`` of the mean flow at a record time (cached)."""
        if not hasattr(self, "_records"):
            self._records = OrderedDict()
        key = (time.calendar, time.year, time.month, time.day, time.hour, time.minute, time.second)
        hit = self._records.get(key)
        if hit is not None:
            return hit
        from esm.meteorology.eddies import EddyField
        from esm.meteorology.massflux import face_thickness
        surf = self._surface(time)
        ps = surf["ps"]
        season = Season(time)
        vc, g = self.vcoord, self.grid
        dp = vc.layer_thickness(ps)
        pm = vc.pressure_mid(ps)
        u = self.zonal_wind(season, surf, pm, ps)
        dpx, _ = face_thickness(dp)
        mfx = 0.5 * (u + np.roll(u, 1, axis=2)) * dpx * (g.dy / G0)
        mfy = self.overturning_fluxes(season, ps)
        wc = EddyField.corner_weights(dp, self.eddy_vertical_structure(pm, ps))
        rec = (mfx, mfy, dp, wc)
        self._records[key] = rec
        while len(self._records) > 3:
            self._records.popitem(last=False)
        return rec

    def raw_fluxes(self, time: cftime.datetime):
        """Uncorrected face mass fluxes ``(mfx, mfy, dp)`` at ``time``: mean flow + overturning
        (interpolated between record times) + eddies (exact time)."""
        t0, t1, a = self._record_time(time)
        r0 = self._mean_flow_record(t0)
        if a == 0.0:
            mfx, mfy, dp, wc = (x.copy() for x in r0)
        else:
            r1 = self._mean_flow_record(t1)
            from esm.meteorology.massflux import lerp
            mfx, mfy, dp, wc = (lerp(x0, x1, a) for x0, x1 in zip(r0, r1))
        if self.p["eddy_count"] > 0 and (self.p["eddy_velocity"] > 0 or self.p["eddy_velocity_tropics"] > 0):
            self._eddies().add_mass_fluxes(time, wc, mfx, mfy)
        return mfx, mfy, dp

    def _three_d_field(self, time: cftime.datetime, name: str) -> np.ndarray:
        """u, v exactly at ``time`` (from the same fluxes as step_fluxes); t, qv, cmfmc, dtrain
        interpolated linearly between the 3-hourly records (like a reanalysis)."""
        if name in ("u", "v"):
            from esm.meteorology.massflux import face_fluxes_to_centre_winds
            mfx, mfy, dp = self.raw_fluxes(time)
            u, v = face_fluxes_to_centre_winds(mfx, mfy, dp, self.grid)
            return u if name == "u" else v
        t0, t1, a = self._record_time(time)
        r0 = self._three_d(t0)[name]
        if a == 0.0:
            return r0
        from esm.meteorology.massflux import lerp
        return lerp(r0, self._three_d(t1)[name], a)

    def _three_d(self, time: cftime.datetime) -> dict:
        """t, qv, cmfmc, dtrain at a record time (cached)."""
        key = (time.calendar, time.year, time.month, time.day, time.hour, time.minute, time.second, "3d")
        if not hasattr(self, "_records3d"):
            self._records3d = OrderedDict()
        hit = self._records3d.get(key)
        if hit is not None:
            return hit
        p = self.p
        surf = self._surface(time)
        season = Season(time)
        ps = surf["ps"]
        vc = self.vcoord
        pm = vc.pressure_mid(ps)
        pe = vc.pressure_edges(ps)
        # temperature
        gam = self.lapse_rate()[None]
        ts = surf["_t2m_daily"][None]
        h = R_DRY * (ts - 3000.0 * gam) / G0
        ptp = self._tropopause_pressure()[None]
        z = h * np.log(ps[None] / pm)
        ztp = h * np.log(ps[None] / np.minimum(ptp, 0.95 * ps[None]))
        ttp = np.maximum(ts - gam * ztp, 190.0)
        t_trop = ts - gam * z
        t_strat = np.minimum(ttp + 2.0e-3 * np.maximum(z - ztp - 2000.0, 0.0), 268.0)
        t_meso = 268.0 - 2.5e-3 * 7000.0 * np.log(np.maximum(100.0 / pm, 1.0))
        t_strat = np.where(pm < 100.0, np.maximum(t_meso, 180.0), t_strat)
        winter = np.where(self.lat > 0, -season.s_land, season.s_land)[None]
        t_strat = t_strat - 15.0 * np.clip(winter, 0.0, 1.0) * _gauss(np.abs(self.lat), 80.0, 15.0)[None]
        t = np.where(pm >= ptp, np.maximum(t_trop, ttp), t_strat)
        # humidity
        q_rel = np.clip((pm / ps[None] - 0.02) / 0.98, 0.0, 1.0) * surf["_rh"][None]
        qsat = specific_humidity(np.minimum(saturation_vapour_pressure(t), 0.5 * pm), pm)
        qv = np.where(pm >= ptp, np.maximum(q_rel * qsat, 2.5e-6), 2.5e-6)
        # convection
        lat_i = self.itcz_latitude(season)
        lf = self.land
        diurnal = 1.0 + 0.5 * lf * np.cos(2.0 * np.pi * (surf["_lst"] - 16.0) / 24.0)
        warm_pool = 1.0 + 0.3 * np.cos(np.deg2rad(self.lon - 140.0)) * (1.0 - self.land_smooth)
        i_trop = _gauss(self.lat, lat_i, 7.0) * warm_pool * diurnal
        winter_storm = 1.0 + 0.3 * winter[0]
        i_storm = (_gauss(self.lat, 46.0, 10.0) + _gauss(self.lat, -48.0, 10.0)) * winter_storm
        mb = p["convective_mass_flux"]

        def shape(ptop):
            x = (ps[None] - pe) / (ps[None] - ptop)
            inside = (x > 0.0) & (x < 1.0)
            return np.where(inside, np.sin(np.pi * np.clip(x, 0.0, 1.0) ** 0.576), 0.0)

        cmfmc = mb * (i_trop[None] * shape(15000.0) + 0.35 * i_storm[None] * shape(35000.0))
        cmfmc[0] = 0.0
        cmfmc[-1] = 0.0
        dtrain = np.maximum(cmfmc[:-1] - cmfmc[1:], 0.0)
        out = {"t": t, "qv": qv, "cmfmc": cmfmc, "dtrain": dtrain}
        self._records3d[key] = out
        while len(self._records3d) > 3:
            self._records3d.popitem(last=False)
        return out

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
        mid = time + _dt.timedelta(seconds=dt / 2.0)
        end = time + _dt.timedelta(seconds=dt)
        mfx, mfy, dp = self.raw_fluxes(mid)
        target = self._surface(end)["ps"]
        mfx, mfy, ps_end, offset = self._fixer(mfx, mfy, dp, ps_start, target, dt)
        err = float(np.max(np.abs(ps_end - (target + offset))))
        if err > self.p["fixer_tolerance"]:
            raise RuntimeError(f"pressure fixer at {time}: corrected fluxes miss the target surface pressure "
                               f"by {err:.3g} Pa (tolerance {self.p['fixer_tolerance']} Pa)")
        return MassFluxes(mfx=mfx, mfy=mfy, dt=float(dt), ps_end=ps_end)
