"""LandModel: analytic spin-up is steady, carbon is conserved, restarts are exact, bad input is refused."""
import copy
import datetime as dt

import cftime
import numpy as np
import pytest

from esm.errors import ConfigError, InputDataError
from esm.grid import Grid
from esm.land import intec
from esm.land.landcover import LandCover, load_land_cover
from esm.land.model import DAY, UMOL_TO_KGC, LandModel
from esm.land.params import LandParameters

from land_synthetic import SyntheticMet

GRID = Grid.from_spec("30x30")
DT = 10800  # 3-hourly land steps keep the year-long tests fast
START = cftime.datetime(2001, 1, 1, calendar="noleap")


def _model(**over):
    over.setdefault("interval", DT)
    prm = LandParameters.from_config(**over)
    return LandModel(prm, GRID, load_land_cover(GRID), nthreads=1)


def _run(m, met, t, steps, co2=400.0, nee_sum=None):
    for _ in range(steps):
        fl = m.step(t, DT, met.at(t), co2)
        if nee_sum is not None:  # everything the land gives the atmosphere
            up = fl["nee"] + fl["fire"] + fl["harvest"]
            nee_sum[0] += float(np.sum(up * m.tile_frac * m.area_cell[m.tile_cell])) * DT * UMOL_TO_KGC
        t = t + dt.timedelta(seconds=DT)
    return t


@pytest.fixture(scope="module")
def spun():
    met = SyntheticMet(GRID)
    m = _model()
    summary = m.spin_up(met.at, START, 400.0)
    return m, met, summary


def test_spinup_is_steady_over_a_year(spun):
    """After the analytic spin-up a year of hourly stepping under the same climate and CO2 returns every
    pool of every tile to its start value: change far below the 0.1 % per year criterion."""
    m0, met, summary = spun
    m = copy.deepcopy(m0)
    assert summary["npp"] > 0 and summary["soil_carbon"] > 0
    start = m.pools.copy()
    _run(m, met, START, 365 * 8)
    rel = np.abs(m.pools - start) / np.maximum(np.abs(start), 1e-9)
    assert rel.max() < 1e-3
    # in fact to ~round-off: the fixed point is of the very daily map the run uses
    assert rel.max() < 1e-8
    assert abs(m.total_carbon() - m0.total_carbon()) < 1e-9 * m0.total_carbon()


def test_carbon_mass_balance_to_round_off(spun):
    m0, met, _ = spun
    m = copy.deepcopy(m0)
    c0 = m.total_carbon()
    nee = [0.0]
    _run(m, met, START + dt.timedelta(days=170), 3 * 8, nee_sum=nee)  # whole days: pools closed
    change = m.total_carbon() - c0
    assert abs(nee[0]) > 0
    assert change == pytest.approx(-nee[0], rel=1e-11, abs=1e-12 * c0)


def test_restart_continues_bit_for_bit(spun):
    m0, met, _ = spun
    a = copy.deepcopy(m0)
    t = _run(a, met, START + dt.timedelta(days=100), 12)  # stop in mid-day
    state = {k: np.array(v, copy=True) for k, v in a.state().items()}
    _run(a, met, t, 14)
    b = _model()
    b.load_state(state)
    _run(b, met, t, 14)
    assert np.array_equal(a.pools, b.pools)
    for k in a.last:
        assert np.array_equal(a.last[k], b.last[k]), k


def test_cell_sum_steps_same_bits_as_tile_steps(spun):
    """step(..., cell_sums=True), what the land component runs (speed round 12: the fluxes summed into the cells in
    the fused pass), gives the bits of the per-tile step followed by cell_sums, over a day's end (pool step, new
    fire, harvest and LAI rates), and leaves the model in the same state; the day's rates it sums from cache are
    refused in-place edits."""
    m0, met, _ = spun
    a, b = copy.deepcopy(m0), copy.deepcopy(m0)
    t = START + dt.timedelta(days=180)
    for _ in range(10):  # 30 hours: across a day's end
        fa = a.step(t, DT, met.at(t), 400.0)
        want = dict(zip(LandModel.CELL_SUM_FIELDS,
                        a.cell_sums([fa[k] for k in LandModel.CELL_SUM_FIELDS], on_grid=False)))
        got = b.step(t, DT, met.at(t), 400.0, cell_sums=True)
        assert set(got) == set(want)
        for k in want:
            assert got[k].shape == (b.ncell,) and np.array_equal(got[k], want[k]), k
        t = t + dt.timedelta(seconds=DT)
    assert np.any(got["gpp"] > 0) and np.any(got["harvest"] > 0)
    for k in ("pools", "lai", "acc_gpp", "acc_rm", "acc_rg", "acc_xi", "fire_danger"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    grid = b.on_grid([got["gpp"]])[0]
    assert grid.shape == GRID.shape and np.array_equal(grid.ravel()[b.cell_flat], got["gpp"])
    with pytest.raises(ValueError, match="read-only"):
        b._harvest_umol[0] = 1.0


def test_restart_from_other_landcover_refused(spun):
    m0, _, _ = spun
    lc = load_land_cover(GRID)
    pft = lc.pft.copy()
    pft[8] = 0.0  # no C4 tiles
    other = LandModel(m0.prm, GRID, LandCover(GRID, lc.igbp, pft, lc.land, lc.wetland), nthreads=1)
    with pytest.raises(ValueError, match="tiles"):
        other.load_state(m0.state())


def test_diurnal_nee_and_co2_response(spun):
    m0, met, _ = spun
    m = copy.deepcopy(m0)
    _run(m, met, START, 190 * 8)  # to mid-July: leaves out
    m0 = copy.deepcopy(m)
    lat = m.lat_cell[m.tile_cell]
    lon = GRID.lon[(m.cell_flat[m.tile_cell]) % GRID.nlon]
    cand = np.flatnonzero((m.tile_pft == 2) & (lat > 30) & (lat < 60))
    assert cand.size
    k = cand[0]
    # a northern mid-latitude forest tile (DBF) in July: uptake at local noon, release at local midnight
    day = START + dt.timedelta(days=190)
    noon = day + dt.timedelta(hours=(12 - lon[k] / 15.0) % 24)
    night = day + dt.timedelta(hours=(0 - lon[k] / 15.0) % 24)
    f_noon = copy.deepcopy(m).step(noon, DT, met.at(noon), 400.0)
    f_night = copy.deepcopy(m).step(night, DT, met.at(night), 400.0)
    assert f_noon["nee"][k] < 0 < f_night["nee"][k]
    assert f_night["gpp"][k] == 0 and f_noon["gpp"][k] > 0
    # CO2 fertilisation through Farquhar: more CO2, more GPP, less than proportionally
    ga = copy.deepcopy(m0).step(noon, DT, met.at(noon), 400.0)["gpp"][k]
    gb = copy.deepcopy(m0).step(noon, DT, met.at(noon), 500.0)["gpp"][k]
    assert 1.0 < gb / ga < 1.25


def test_bad_meteorology_is_refused():
    m = _model()
    met = SyntheticMet(GRID)
    t = START + dt.timedelta(days=180, hours=12)
    f = met.at(t)
    for field, value, msg in (("swdown", -5.0, "swdown"), ("soilm", 0.6, "porosity"), ("vpd", -1.0, "vpd"),
                              ("t2m", 20.0, "t2m"), ("soilm", np.nan, "soilm")):
        g = dict(f)
        g[field] = np.full(GRID.shape, value)
        with pytest.raises(InputDataError, match=msg):
            m.step(t, DT, g, 400.0)
    g = dict(f)
    del g["soilm"]
    with pytest.raises(InputDataError, match="soilm"):
        m.step(t, DT, g, 400.0)
    with pytest.raises(InputDataError, match="co2"):
        m.step(t, DT, f, -3.0)


def test_namelist_overrides_and_ranges():
    base = LandParameters.from_config()
    p = LandParameters.from_config(vcmax25=[70.0] * 9, kn=0.5, spinup="none")
    assert list(p.vcmax25) == [70.0] * 9 and p.kn == 0.5
    m1, m2 = _model(), _model(vcmax25=[70.0] * 9)
    assert not np.allclose(m1.vtop, m2.vtop)
    assert np.allclose(m2.vtop / m1.vtop, 70.0 / base.vcmax25[m1.tile_pft])
    with pytest.raises(ConfigError, match="clumping"):
        LandParameters.from_config(clumping=[1.5] * 9)
    with pytest.raises(ConfigError, match="vcmax25"):
        LandParameters.from_config(vcmax25=[60.0] * 8)
    with pytest.raises(ConfigError, match="alloc"):
        LandParameters.from_config(alloc_leaf=[0.9] * 9)
    with pytest.raises(ConfigError, match="lai_min"):
        LandParameters.from_config(lai_min=[5.0] * 9)
    with pytest.raises(ConfigError, match="porosity"):
        LandParameters.from_config(wilting_point=0.5)


def test_nitrogen_deposition_raises_vcmax_and_age_factor():
    m0 = _model()
    m1 = LandModel(LandParameters.from_config(ndep_value=5.0, interval=DT), GRID, load_land_cover(GRID), nthreads=1)
    assert np.allclose(m1.vtop / m0.vtop, 1.2)
    # stand ages advance only when asked; the age factor is relative to the start
    m2 = _model(advance_age=True)
    assert np.all(m2.age_scale() == 1.0)
    m2.age = m2.age_ref + 50.0
    s = m2.age_scale()
    assert np.all(s[~m2.is_forest] == 1.0) and np.any(s[m2.is_forest] != 1.0)
    assert np.all(m0.age_scale() == 1.0)
    assert DAY == 86400 and intec.NPOOL == 13


def test_transient_under_rising_co2_takes_up_carbon(spun):
    """After a spin-up at 300 ppm, years of rising CO2 make the land a growing carbon sink (CO2 fertilisation
    through Farquhar); constant CO2 keeps the pools steady."""
    m0, met, _ = spun
    m = copy.deepcopy(m0)
    steady = m.transient(lambda y: 400.0, 1, 2)  # the spin-up CO2: no change
    assert max(abs(x) for x in steady) < 1e-6 * m0.total_carbon() / 1e12
    m = copy.deepcopy(m0)
    m.spinup_daily = dict(m.spinup_daily, co2=300.0)  # pretend the spin-up was at 300 ppm
    sinks = m.transient(lambda y: 300.0 + 10.0 * (y - 1950), 1951, 1960)
    assert all(s > 0 for s in sinks) and sinks[-1] > sinks[0]
    assert m0.spinup_daily["beta"].max() > 0


def test_offline_driver_year_and_netcdf(spun, tmp_path):
    """The offline driver: a year from the spun-up state at the spin-up CO2 has ~zero net flux, monthly
    means are written as CF NetCDF."""
    import netCDF4

    from esm.land import offline

    m0, met, _ = spun
    m = copy.deepcopy(m0)
    res = offline.run(m, met.at, START, 1, 400.0, spinup=False)
    assert len(res.month_labels) == 12 and res.gpp[0] > 0 and res.npp[0] > 0
    assert abs(res.nee[0] + res.fire[0] + res.harvest[0]) < 1e-6 * res.gpp[0]
    assert res.harvest[0] > 0
    assert res.nee[0] == pytest.approx(res.ra[0] + res.rh[0] - res.gpp[0], abs=1e-9 * res.gpp[0])
    # with an hourly hook the steps give per-tile fluxes (the hook's input): the same monthly maps bit for bit and the
    # same annual totals to round-off (summed over tiles instead of cells) as the cell-sum steps above
    tiles = offline.run(copy.deepcopy(m0), met.at, START, 1, 400.0, spinup=False, hourly_hook=lambda t, fl: None)
    for k in offline.MONTHLY:
        assert all(np.array_equal(a, b) for a, b in zip(res.monthly[k], tiles.monthly[k])), k
    for k in ("gpp", "npp", "ra", "rh", "nee", "fire", "harvest", "gpp_shade"):
        assert getattr(res, k)[0] == pytest.approx(getattr(tiles, k)[0], rel=1e-12, abs=1e-12 * res.gpp[0]), k
    p = offline.write_netcdf(tmp_path / "land.nc", m, res, START)
    with netCDF4.Dataset(p) as ds:
        assert ds["gpp"].standard_name == "gross_primary_productivity_of_biomass_expressed_as_carbon"
        assert ds["gpp"].shape == (12,) + GRID.shape and ds["c_soil"].units == "kg m-2"


def test_decomposition_temperature_option():
    """Decomposition follows the root zone's tsoil by default and the top soil's tsoil_top with
    ``decomposition_temperature = 'top_soil'`` (which then needs the field); GPP does not depend on the choice."""
    met = SyntheticMet(GRID)
    t = cftime.datetime(2001, 7, 1, 6, calendar="noleap")
    m_root, m_top = _model(), _model(decomposition_temperature="top_soil")
    a = m_root.met_arrays(met.at(t), 400.0)
    b = m_top.met_arrays(met.at(t), 400.0)
    assert a["tsoil_top"] is a["tsoil"]
    assert np.array_equal(b["tsoil_top"], met.at(t)["tsoil_top"].ravel()[m_top.cell_flat])
    assert not np.allclose(b["tsoil_top"], b["tsoil"])
    f_root, f_top = m_root.step(t, DT, met.at(t), 400.0), m_top.step(t, DT, met.at(t), 400.0)
    prm = m_root.prm
    np.testing.assert_allclose(f_root["xi"], intec.decomposition_scalar(a["tsoil"] - 273.15, a["soilm"], prm.porosity,
                                                                        prm), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(f_top["xi"], intec.decomposition_scalar(b["tsoil_top"] - 273.15, b["soilm"],
                                                                       prm.porosity, prm), rtol=1e-13, atol=1e-300)
    assert np.array_equal(f_root["gpp"], f_top["gpp"])
    no_top = {k: v for k, v in met.at(t).items() if k != "tsoil_top"}
    m_root.met_arrays(no_top, 400.0)  # the default does not read it
    with pytest.raises(InputDataError, match="tsoil_top"):
        m_top.met_arrays(no_top, 400.0)
    with pytest.raises(ConfigError, match="decomposition_temperature"):
        LandParameters.from_config(decomposition_temperature="deep")
