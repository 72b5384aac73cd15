"""Embedded climatology: solar geometry, surface fields, land fraction, namelist group."""
import sys
import types

import cftime
import numpy as np
import pytest

from esm.config.registry import schema
from esm.errors import ConfigError
from esm.grid import Grid
from esm.meteorology import FIELDS, make_provider
from esm.meteorology import surface
from esm.meteorology.climatology import SURFACE_FIELDS, Climatology
from esm.meteorology.solar import SolarGeometry
from esm.meteorology.thermo import saturation_vapour_pressure, vapour_pressure
from esm.vertical import VerticalCoordinate

GRID = Grid.from_spec("6x7.5")
VC = VerticalCoordinate.from_name("coarse11")


@pytest.fixture(scope="module")
def clim():
    return Climatology(GRID, VC)


def T(*args, cal="standard"):
    return cftime.datetime(*args, calendar=cal)


def gmean(x, w=None):
    a = GRID.area if w is None else GRID.area * w
    return float(np.sum(x * a) / np.sum(a))


# ---------------------------------------------------------------- solar geometry
def test_declination_at_solstices_and_equinox():
    # Astronomical Almanac: obliquity 23.44 deg; Spencer (1971) is good to 0.0006 rad (0.035 deg)
    assert np.rad2deg(SolarGeometry(T(2021, 6, 21, 12)).decl) == pytest.approx(23.44, abs=0.1)
    assert np.rad2deg(SolarGeometry(T(2021, 12, 21, 12)).decl) == pytest.approx(-23.44, abs=0.1)
    assert abs(np.rad2deg(SolarGeometry(T(2021, 3, 20, 12)).decl)) < 0.5


def test_equation_of_time_extremes():
    # the equation of time peaks at about +16.4 min (3 Nov) and -14.2 min (11 Feb); Spencer ~ 0.5 min
    assert SolarGeometry(T(2021, 11, 3, 12)).eot_minutes == pytest.approx(16.4, abs=0.6)
    assert SolarGeometry(T(2021, 2, 11, 12)).eot_minutes == pytest.approx(-14.2, abs=0.6)


def test_zenith_at_local_solar_noon_and_midnight():
    sun = SolarGeometry(T(2021, 5, 5, 7, 30))
    lon_noon = (720.0 - sun.utc_minutes - sun.eot_minutes) / 4.0  # hour angle zero
    lat = np.linspace(-80, 80, 17)
    assert np.allclose(sun.hour_angle(lon_noon), 0.0, atol=1e-12)
    assert np.allclose(sun.cos_zenith(lat, lon_noon), np.cos(np.deg2rad(lat) - sun.decl), atol=1e-12)
    assert np.allclose(sun.cos_zenith(lat, lon_noon + 180.0), -np.cos(np.deg2rad(lat) + sun.decl), atol=1e-12)


def test_daily_mean_toa_matches_integrated_cos_zenith():
    lat = np.array([-70.0, -30.0, 0.0, 45.0, 80.0])
    day = [T(2021, 7, 1, h, m) for h in range(24) for m in (0, 10, 20, 30, 40, 50)]
    inst = np.mean([1361.0 * SolarGeometry(t).dist_factor * np.maximum(SolarGeometry(t).cos_zenith(lat, 0.0), 0)
                    for t in day], axis=0)
    ref = SolarGeometry(T(2021, 7, 1, 12)).daily_mean_toa(lat, 1361.0)
    assert np.allclose(inst, ref, rtol=0.01, atol=1.0)
    # equator at equinox: S0 / pi
    assert SolarGeometry(T(2021, 3, 20, 12)).daily_mean_toa(0.0, 1361.0) == pytest.approx(1361 / np.pi, rel=0.01)


# ---------------------------------------------------------------- the fields
@pytest.mark.parametrize("cal", ["standard", "noleap", "360_day"])
def test_every_surface_field_present_finite_and_shaped(clim, cal):
    met = clim.at(T(2001, 2, 28, 6, cal=cal))
    for name in SURFACE_FIELDS:
        kind, units, _ = FIELDS[name]
        arr = met[name]
        assert arr.shape == GRID.shape, name
        assert np.all(np.isfinite(arr)), name


def test_surface_pressure_conserves_global_air_mass(clim):
    target = clim.p["ps_global_mean"]
    for t in (T(2020, 1, 15), T(2020, 7, 15, 13)):
        ps = clim.at(t).ps
        assert gmean(ps) == pytest.approx(target, rel=1e-12)
        assert 5.0e4 < ps.min() and ps.max() < 1.06e5


def test_shortwave_is_zero_at_night_and_below_toa(clim):
    t = T(2020, 6, 1, 3)
    met = clim.at(t)
    night = met.cos_sza <= 0
    assert night.any() and (~night).any()
    assert np.all(met.swdown[night] == 0.0)
    toa = 1361.0 * SolarGeometry(t).dist_factor * met.cos_sza
    assert np.all(met.swdown <= toa + 1e-9)
    assert np.all(met.swdown_diffuse <= met.swdown + 1e-12) and np.all(met.swdown_diffuse >= 0)
    assert np.allclose(met.par, 0.45 * met.swdown)


def _daily_means(clim, month, names):
    out = {n: 0.0 for n in names}
    for h in range(0, 24, 3):
        met = clim.at(T(2020, month, 15, h))
        for n in names:
            out[n] = out[n] + met[n] / 8.0
    return out


def test_global_means_against_observed_climatology(clim):
    ann = {n: 0.0 for n in ("t2m", "swdown", "precip", "wind10")}
    for month in (1, 4, 7, 10):
        d = _daily_means(clim, month, ann)
        for n in ann:
            ann[n] += d[n] / 4.0
    ocean = 1.0 - clim.land
    # GISTEMP/ERA5: 287-288 K; GPCP v2.3: 2.68 mm/day; CERES-EBAF surface SW 187 +- 10 W m-2
    # (Wild et al. 2013); QuikSCAT ocean wind speed ~7.3 m/s
    assert 285.5 < gmean(ann["t2m"]) < 289.5
    assert 2.3 < gmean(ann["precip"]) * 86400 < 3.1
    assert 165.0 < gmean(ann["swdown"]) < 215.0
    assert 6.0 < gmean(ann["wind10"], ocean) < 8.5


def test_seasonal_cycle_of_temperature_and_sea_ice(clim):
    jan = _daily_means(clim, 1, ("t2m", "seaice"))
    jul = _daily_means(clim, 7, ("t2m", "seaice"))
    land = clim.land > 0.9
    nh = land & (GRID.lat[:, None] > 45) & (GRID.lat[:, None] < 65)
    sh = land & (GRID.lat[:, None] < -20) & (GRID.lat[:, None] > -40)
    assert np.mean(jul["t2m"][nh] - jan["t2m"][nh]) > 20.0  # ERA5: ~30-35 K in Siberia, ~25 K zonal
    assert np.mean(jan["t2m"][sh] - jul["t2m"][sh]) > 5.0
    ocean_area = GRID.area * (1 - clim.land)
    north = GRID.lat[:, None] > 0

    def extent(ice, hemi):
        return np.sum(ice * ocean_area * hemi) / 1e12

    mar = _daily_means(clim, 3, ("seaice",))["seaice"]
    sep = _daily_means(clim, 9, ("seaice",))["seaice"]
    # NSIDC sea-ice area: Arctic ~14 (March) / ~4-5 (September), Antarctic ~3 (Feb) / ~16 (Sep) million km2
    assert 10 < extent(mar, north) < 18 and 2 < extent(sep, north) < 8
    assert 12 < extent(sep, ~north) < 22 and extent(mar, ~north) < 6


def test_diurnal_cycle_of_boundary_layer_over_land(clim):
    # 30 N, 0 E (Sahara): local solar noon ~12 UTC
    j = np.argmin(abs(GRID.lat - 27.0))
    i = np.argmin(abs(GRID.lon - 3.75))
    assert clim.land[j, i] > 0.9
    night = clim.at(T(2020, 6, 1, 0)).pblh[j, i]
    afternoon = clim.at(T(2020, 6, 1, 15)).pblh[j, i]
    assert night == pytest.approx(clim.p["pbl_night_land"], rel=0.05)
    assert 1500.0 < afternoon < 4000.0  # Saharan summer afternoon mixed layers 2-5 km (Cuesta et al. 2008)
    ocean = (clim.land == 0) & (clim.at(T(2020, 6, 1, 0)).seaice == 0) & (clim.at(T(2020, 6, 1, 15)).seaice == 0)
    assert np.allclose(clim.at(T(2020, 6, 1, 0)).pblh[ocean], clim.at(T(2020, 6, 1, 15)).pblh[ocean])


def test_humidity_is_consistent_and_subsaturated(clim):
    met = clim.at(T(2020, 8, 1, 14))
    e = vapour_pressure(met.q2m, met.ps)
    es = saturation_vapour_pressure(met.t2m)
    assert np.all(e <= es * (1 + 1e-9))
    assert np.allclose(met.vpd, es - e, atol=1e-6)
    assert 0.004 < gmean(met.q2m) < 0.015  # ERA5 global-mean 2-m specific humidity ~0.010


def test_monsoon_and_itcz_follow_the_sun(clim):
    def lat_of_max(month):
        p = _daily_means(clim, month, ("precip",))["precip"]
        z = np.sum(p * GRID.area, axis=1) / GRID.area.sum(axis=1)
        return GRID.lat[np.argmax(z)]
    assert lat_of_max(7) > lat_of_max(1)


def test_soil_fields_in_physical_range(clim):
    met = clim.at(T(2020, 4, 1))
    land = clim.land > 0.5
    assert np.all((met.soilm[land] >= 0.05) & (met.soilm[land] <= 0.45))
    # root-zone temperature lags and damps the air temperature: smaller seasonal range
    jan, jul = clim.at(T(2020, 1, 15)), clim.at(T(2020, 7, 15))
    nh = land & (GRID.lat[:, None] > 45)
    assert np.mean(jul.tsoil[nh] - jan.tsoil[nh]) < np.mean(jul.t2m[nh] - jan.t2m[nh])


def test_top_soil_temperature_is_the_conduction_solution_at_its_depth(clim):
    """tsoil_top carries the land's diurnal wave of t2m damped by exp(-z/d) and delayed by z/d radians (heat conduction
    of a periodic surface temperature, Carslaw & Jaeger 1959; d = sqrt(2 kappa / omega) for one day), and a larger
    seasonal range than the root zone (the annual wave is damped less at 5 cm than at 0.5 m)."""
    p = clim.p
    d = np.sqrt(2.0 * p["soil_diffusivity"] / (2.0 * np.pi / 86400.0))
    z = p["soil_top_depth"]
    land = clim.land >= 1.0
    cells = np.flatnonzero((land & (np.abs(GRID.lat[:, None]) > 20) & (np.abs(GRID.lat[:, None]) < 60)).ravel())
    assert cells.size >= 10
    hours = np.arange(24)
    t2m, top = (np.array([getattr(clim.at(T(2020, 7, 10, int(h))), f).ravel()[cells] for h in hours])
                for f in ("t2m", "tsoil_top"))
    # first harmonic of the day (UTC hours; the same transform for both fields)
    e = np.exp(-2j * np.pi * hours / 24.0)[:, None]
    h_air, h_top = (2.0 / 24.0 * np.sum((x - x.mean(axis=0)) * e, axis=0) for x in (t2m, top))
    ratio = np.abs(h_top) / np.abs(h_air)
    lag = np.angle(h_air / h_top)            # radians by which the soil's wave follows the air's
    # the daily records are interpolated linearly in time (a drift of <~0.05 K per day against a wave of 1-4 K)
    np.testing.assert_allclose(ratio, np.exp(-z / d), rtol=0.02)
    np.testing.assert_allclose(lag, z / d, atol=0.02)
    # seasonal range: larger in the top soil than in the root zone (annual damping depth ~2.2 m: exp(-0.05/2.2) against
    # exp(-0.5/2.2))
    jan, jul = clim.at(T(2020, 1, 15, 12)), clim.at(T(2020, 7, 15, 12))
    nh = (clim.land > 0.5) & (GRID.lat[:, None] > 45)
    daily = lambda m, f: np.mean([getattr(clim.at(T(2020, m, 15, h)), f) for h in range(0, 24, 3)], axis=0)  # noqa: E731
    top_range = np.mean(daily(7, "tsoil_top")[nh] - daily(1, "tsoil_top")[nh])
    assert np.mean(jul.tsoil[nh] - jan.tsoil[nh]) < 0.9 * top_range


# ---------------------------------------------------------------- land fraction
def test_analytic_land_mask_geography():
    g = Grid.from_spec("2x2.5")
    lf = surface.analytic_land_fraction(g)
    frac = np.sum(lf * g.area) / np.sum(g.area)
    assert 0.27 < frac < 0.32  # 149e6 km2 of 510e6 km2 = 29 %
    at = lambda la, lo: lf[np.argmin(abs(g.lat - la)), np.argmin(abs(g.lon - lo))]
    assert min(at(23, 10), at(-25, 135), at(55, 90), at(-85, 0)) > 0.999
    assert max(at(0, -150), at(-40, -20), at(30, -40), at(40, 51.25)) < 1e-3


def test_land_fraction_switches_to_land_cover_module(monkeypatch):
    fake = types.ModuleType("esm.land.landcover")
    fake.land_fraction = lambda grid: np.full(grid.shape, 0.25)
    pkg = types.ModuleType("esm.land")
    pkg.landcover = fake
    monkeypatch.setitem(sys.modules, "esm.land", pkg)
    monkeypatch.setitem(sys.modules, "esm.land.landcover", fake)
    assert np.all(surface.land_fraction(GRID) == 0.25)
    assert "landcover" in surface.land_fraction_source()


# ---------------------------------------------------------------- namelist
def test_namelist_group_and_provider():
    cfg = schema().resolve({"grid_nml": {"horizontal": "6x7.5", "vertical": "coarse11"},
                            "meteorology_nml": {"jet_speed": 30.0}})
    prov = make_provider(cfg, GRID, VC)
    assert isinstance(prov, Climatology) and prov.p["jet_speed"] == 30.0
    with pytest.raises(ConfigError, match="files_3d"):
        schema().resolve({"meteorology_nml": {"source": "era5"}})
    with pytest.raises(ConfigError, match="hadley_strength"):
        schema().resolve({"meteorology_nml": {"hadley_strength": -1.0}})
