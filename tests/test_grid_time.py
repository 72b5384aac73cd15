"""Grid areas, hybrid levels and calendars."""
import datetime as dt

import cftime
import numpy as np
import pytest

from esm.clock import Clock, Interval, parse_time, seconds_between
from esm.constants import G0
from esm.grid import NAMED_RESOLUTIONS, Grid, parse_resolution
from esm.vertical import LEVEL_SETS, VerticalCoordinate


@pytest.mark.parametrize("spec", list(NAMED_RESOLUTIONS) + ["10x10", "3x3.75"])
def test_cell_areas_sum_to_sphere(spec):
    g = Grid.from_spec(spec)
    total = 4 * np.pi * g.radius**2
    # the sines telescope, so the sum is exact to round-off of nlat*nlon additions
    assert abs(g.area.sum() / total - 1.0) < 1e-13
    assert g.area.min() > 0


def test_grid_shapes_and_band_area():
    g = Grid.from_spec("1x1")
    assert g.shape == (180, 360)
    # the band between the equator and 30N is exactly a quarter of the hemisphere ... 2 pi R^2 sin(30) = pi R^2
    band = g.area[(g.lat > 0) & (g.lat < 30)].sum()
    assert band == pytest.approx(np.pi * g.radius**2, rel=1e-13)
    g2 = Grid.from_spec("0.5x0.625")
    assert g2.shape == (360, 576)


@pytest.mark.parametrize("bad", ["7x5", "4x7", "abc", "0x5"])
def test_bad_resolution(bad):
    with pytest.raises(ValueError):
        parse_resolution(bad)


@pytest.mark.parametrize("name,nlev", [("geos47", 47), ("geos72", 72), ("coarse11", 11)])
def test_level_sets_and_air_mass(name, nlev):
    v = VerticalCoordinate.from_name(name)
    assert v.nlev == nlev
    assert v.ptop == pytest.approx(1.0)  # 0.01 hPa model top of the GEOS grids
    g = Grid.from_spec("4x5")
    ps = 1.0e5 + 2000.0 * np.sin(np.deg2rad(g.lat))[:, None] * np.cos(np.deg2rad(g.lon))[None, :]
    m = v.air_mass(ps, g.area)
    assert m.shape == (nlev,) + g.shape and m.min() > 0
    col = m.sum(axis=0)
    np.testing.assert_allclose(col, (ps - v.ptop) * g.area / G0, rtol=1e-14)
    np.testing.assert_allclose(v.surface_pressure_from_mass(col, g.area), ps, rtol=1e-14)


def test_geos47_is_lumped_geos72():
    v72 = VerticalCoordinate.from_name("geos72")
    v47 = VerticalCoordinate.from_name("geos47")
    np.testing.assert_array_equal(v47.ap[:37], v72.ap[:37])
    assert set(np.round(v47.ap, 6)) <= set(np.round(v72.ap, 6))
    assert set(LEVEL_SETS) >= {"geos47", "geos72", "coarse11"}


def test_bad_vertical_table():
    with pytest.raises(ValueError, match="first interface must be the surface"):
        VerticalCoordinate(ap=np.array([10.0, 0.0]), bp=np.array([0.9, 0.0]))


@pytest.mark.parametrize("calendar,days", [("standard", 366), ("noleap", 365), ("360_day", 360),
                                           ("all_leap", 366), ("proleptic_gregorian", 366)])
def test_a_year_of_steps_does_not_drift(calendar, days):
    start = parse_time("2020-01-01", calendar)
    end = parse_time("2021-01-01", calendar)
    c = Clock(start, end, 1800)
    assert c.nsteps == days * 48
    for _ in range(c.nsteps):
        c.advance()
    assert c.time == end and c.done


def test_360_day_months_and_monthly_boundaries():
    start = parse_time("2000-02-01", "360_day")
    iv = Interval.parse("1mon")
    nxt = iv.next_boundary(start, start)
    assert (nxt.month, nxt.day) == (3, 1)
    assert seconds_between(start, nxt) == 30 * 86400
    yr = Interval.parse("1yr")
    assert yr.next_boundary(parse_time("2000-07-15", "noleap"), start) == cftime.datetime(2001, 1, 1,
                                                                                          calendar="noleap")


def test_interval_parsing_and_boundaries():
    a = parse_time("2020-01-01", "standard")
    assert Interval.parse("6h").seconds == 21600
    assert Interval.parse("1mon").months == 1 and Interval.parse("2yr").months == 24
    assert Interval.parse("none").never
    t = a + dt.timedelta(hours=5)
    assert Interval.parse("6h").next_boundary(t, a) == a + dt.timedelta(hours=6)
    assert Interval.parse("6h").is_boundary(a + dt.timedelta(hours=12), a)
    assert not Interval.parse("6h").is_boundary(t, a)
    # multi-day intervals are anchored at the run start
    b = parse_time("2020-01-02 00:00", "standard")
    assert Interval.parse("10d").next_boundary(b, a) == a + dt.timedelta(days=10)
    with pytest.raises(ValueError):
        Interval.parse("5 fortnights")
