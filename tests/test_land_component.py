"""The Land component: coupler contract, CO2 from the atmosphere or the prescribed series, restarts, output."""
import datetime as dt

import cftime
import numpy as np
import pytest

from esm.clock import Clock
from esm.components import component_class
from esm.config.namelist import load_config
from esm.errors import ConfigError, RestartError
from esm.grid import Grid
from esm.meteorology.base import MetState
from esm.tracers import TracerSet
from esm.vertical import VerticalCoordinate

from land_synthetic import SyntheticMet

pytest.importorskip("esm._kernels.beps", reason="Cython kernels not built")

GRID = "20x20"


class _Provider:
    """Synthetic meteorology behind the MetProvider interface (cheap, periodic)."""

    def __init__(self, grid):
        self.s = SyntheticMet(grid)

    def at(self, time):
        return MetState(time, self.s.at(time))


class _Atmos:
    def __init__(self, tracers, grid, ppm):
        self.q = np.zeros((len(tracers), 3) + grid.shape)
        if "co2" in tracers:
            self.q[tracers.index("co2")] = ppm * 1e-6


def _config(*extra, names="co2,co2_land"):
    return load_config(None, ["coupler_nml.components=land", f"tracers_nml.names={names}",
                              f"grid_nml.horizontal={GRID}", "time_control.calendar=noleap", "land_nml.interval=10800",
                              *extra])


def _component(cfg):
    grid = Grid.from_spec(GRID)
    tracers = TracerSet(cfg.tracers_nml.names)
    t0 = cftime.datetime(2001, 1, 1, calendar="noleap")
    clock = Clock(t0, cftime.datetime(2001, 2, 1, calendar="noleap"), cfg.time_control.dt)
    comp = component_class("land")(cfg, grid, VerticalCoordinate.from_name("coarse11"), tracers, clock)
    comp.met_provider = _Provider(grid)
    return comp, grid, tracers, t0


@pytest.fixture(scope="module")
def spun():
    cfg = _config()
    comp, grid, tracers, t0 = _component(cfg)
    comp.initialise(t0, comp.met_provider.at(t0))
    return cfg, comp, grid, tracers, t0


def test_fluxes_diagnostics_and_budget_identity(spun):
    cfg, comp, grid, tracers, t0 = spun
    assert comp.spinup_summary["npp"] > 0 and comp.co2_source == "atmosphere"
    t = t0 + dt.timedelta(days=10, hours=12)
    atm = _Atmos(tracers, grid, 400.0)
    out = comp.surface_flux(t, comp.interval, atm, comp.met_provider.at(t))
    assert set(out) == {"co2", "co2_land"} and np.array_equal(out["co2"], out["co2_land"])
    f = out["co2"]
    assert f.shape == grid.shape and np.all(np.isfinite(f))
    d = comp.diagnostics()
    for v in comp.variables:
        assert v.name in d and d[v.name].shape == grid.shape and np.all(np.isfinite(d[v.name])), v.name
    veg = comp.landcover.vegetated
    assert np.all(f[veg == 0] == 0.0) and np.any(f[veg > 0] != 0.0)
    # NEE = Ra + Rh - GPP, per cell area, in kg C and in mol CO2
    np.testing.assert_allclose(d["nee"], d["ra"] + d["rh"] - d["gpp"], rtol=1e-12, atol=1e-20)
    # the CO2 the land gives the atmosphere: NEE + fire + harvest (emitted where it grew)
    up = d["nee"] + d["fire"] + d["harvest"]
    np.testing.assert_allclose(f, up / 12.0107e-3, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(d["nbp"], -up)
    assert np.all(d["fire"] >= 0) and np.all(d["harvest"] >= 0) and np.any(d["harvest"] > 0)
    assert np.all(d["gpp_shaded"] <= d["gpp"] + 1e-20) and np.all(d["c_soil"] >= 0)


def test_co2_is_taken_from_the_atmosphere(spun):
    """Photosynthesis sees the model's lowest-layer CO2 at every step (no constant)."""
    import copy

    cfg, comp, grid, tracers, t0 = spun
    t = t0 + dt.timedelta(days=180)
    gpps = []
    for ppm in (350.0, 600.0):
        c = copy.copy(comp)
        c.model = copy.deepcopy(comp.model)
        c._diag = dict(comp._diag)
        for h in range(0, 24, 3):
            th = t + dt.timedelta(hours=h)
            c.surface_flux(th, c.interval, _Atmos(tracers, grid, ppm), c.met_provider.at(th))
            gpps.append(float(np.sum(c.diagnostics()["gpp"] * grid.area)))
    assert sum(gpps[8:]) > 1.05 * sum(gpps[:8])


def test_prescribed_co2_when_not_carried():
    cfg = _config("land_nml.spinup=none", names="ch4")
    comp, grid, tracers, t0 = _component(cfg)
    assert comp.co2_source == "prescribed"
    assert 365.0 < comp.prescribed_co2(cftime.datetime(2000, 7, 1, calendar="noleap")) < 372.0
    comp.initialise(t0, None)
    out = comp.surface_flux(t0, comp.interval, _Atmos(tracers, grid, 0.0), comp.met_provider.at(t0))
    assert out == {}  # only tracers in the run receive the flux
    assert np.any(comp.diagnostics()["nee"] != 0)


def test_restart_state_round_trip(spun):
    import copy

    cfg, comp, grid, tracers, t0 = spun
    a = copy.copy(comp)
    a.model = copy.deepcopy(comp.model)
    a._diag = dict(comp._diag)
    t = t0 + dt.timedelta(days=3)
    atm = _Atmos(tracers, grid, 420.0)
    for h in range(0, 15, 3):
        a.surface_flux(t + dt.timedelta(hours=h), a.interval, atm, a.met_provider.at(t + dt.timedelta(hours=h)))
    state = {k: np.array(v, copy=True) for k, v in a.restart_state().items()}
    b, *_ = _component(cfg)
    b.load_restart_state(state)
    for h in range(15, 30, 3):
        th = t + dt.timedelta(hours=h)
        fa = a.surface_flux(th, a.interval, atm, a.met_provider.at(th))["co2"]
        fb = b.surface_flux(th, b.interval, atm, b.met_provider.at(th))["co2"]
        assert np.array_equal(fa, fb)
    with pytest.raises(RestartError, match="pools"):
        b.load_restart_state({k: v for k, v in state.items() if k != "land_pools"})


def test_config_checks():
    with pytest.raises(ConfigError, match="not a multiple"):
        load_config(None, ["coupler_nml.components=land", "land_nml.interval=1000"])
    with pytest.raises(ConfigError, match="co2_source"):
        load_config(None, ["coupler_nml.components=land", "tracers_nml.names=ch4", "land_nml.co2_source=atmosphere"])
    with pytest.raises(ConfigError, match="lai_file"):
        load_config(None, ["land_nml.lai_source=file"])
    with pytest.raises(ConfigError, match="clumping"):
        load_config(None, ["land_nml.clumping=0.7,0.7"])
    with pytest.raises(ConfigError, match="rm_leaf_basis"):
        load_config(None, ["land_nml.rm_leaf_basis=ryan"])
    with pytest.raises(ConfigError, match="rm_leaf_n_rate"):
        load_config(None, ["land_nml.rm_leaf_n_rate=-0.1"])
    with pytest.raises(ConfigError, match="rm_stem_root_basis"):
        load_config(None, ["land_nml.rm_stem_root_basis=ryan"])
    with pytest.raises(ConfigError, match="cn_froot"):
        load_config(None, ["land_nml.cn_froot=0,42,42,42,42,42,42,42,42"])
    with pytest.raises(ConfigError, match="cn_livewood"):
        load_config(None, ["land_nml.cn_livewood=-50,50,50,50,50,50,0,0,0"])
    with pytest.raises(ConfigError, match="cn_livewood.*enf, dnf"):
        load_config(None, ["land_nml.rm_stem_root_basis=nitrogen", "land_nml.cn_livewood=0,0,50,50,50,50,0,0,0"])
    with pytest.raises(ConfigError, match="cn_livewood"):
        load_config(None, ["land_nml.cn_livewood=50,50"])


COUPLED_NML = """
&time_control
  start = '2020-07-01 00:00:00'
  end = '2020-07-03 00:00:00'
  dt = 3600
/
&grid_nml
  horizontal = '10x10'
  vertical = 'coarse11'
/
&tracers_nml
  names = 'co2', 'co2_land'
  init_type = 'species', 'uniform'
  init_value = -1.0, 0.0
/
&coupler_nml
  components = 'land'
/
&land_nml
  spinup = 'none'
/
&output_nml
  output_dir = 'out'
  streams = 'daily'
  stream_frequency = '1d'
  stream_operation = 'mean'
  stream_file_period = '1d'
  stream_variables = 'surface_flux gpp npp ra rh nee nbp co2_flux_land gpp_shaded lai c_leaf c_stem c_root c_litter c_soil'
  progress = 'none'
/
&restart_nml
  restart_interval = '1d'
/
"""


def test_coupled_run_with_climatology_cf_output_and_restart(tmp_path, cf_check):
    """Through the coupler with the embedded climatology: tagged land tracer, CF output, exact restart."""
    import xarray as xr

    from esm.coupler import Model

    nml = tmp_path / "l.nml"
    nml.write_text(COUPLED_NML)
    cfg = load_config(nml, [f"output_nml.output_dir={tmp_path / 'a'}"])
    summary = Model(cfg).run(progress="none")
    rows = {r["tracer"]: r for r in summary["budget"]}
    assert rows["co2_land"]["final_mol"] == pytest.approx(rows["co2"]["final_mol"] - rows["co2"]["initial_mol"],
                                                          rel=1e-9)
    f = tmp_path / "a" / "daily.20200701_0000.nc"
    cf_check(f)
    ds = xr.open_dataset(f)
    assert ds["gpp"].attrs["standard_name"] == "gross_primary_productivity_of_biomass_expressed_as_carbon"
    assert ds["gpp"].attrs["units"] == "kg m-2 s-1"
    assert float((ds["gpp"] * 1).sum()) > 0
    ds.close()
    rst = tmp_path / "a" / "restart" / "esm_restart.20200702_0000.nc"
    cfg_b = load_config(nml, [f"output_nml.output_dir={tmp_path / 'b'}"])
    Model(cfg_b, restart_file=rst).run(progress="none")
    a = xr.open_dataset(tmp_path / "a" / "daily.20200702_0000.nc")
    b = xr.open_dataset(tmp_path / "b" / "daily.20200702_0000.nc")
    for v in ("co2_flux", "gpp", "rh", "c_soil", "lai"):
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)


def test_cell_sums_same_bits_as_cell_sum_and_pool_diagnostics_follow_the_pools(spun):
    """The hour's per-cell sums in one compiled pass (speed round 11) equal the numpy cell_sum (np.bincount) bit for
    bit; the pool diagnostics, kept for the pools array they came from, follow every new pools array and an in-place
    edit of the current one fails instead of leaving them stale."""
    from esm.land import intec

    cfg, comp, grid, tracers, t0 = spun
    m = comp.model
    rng = np.random.default_rng(5)
    fields = [rng.normal(0, 3, m.ntile) for _ in range(5)] + [np.zeros(m.ntile)]
    for got, f in zip(m.cell_sums(fields), fields):
        assert np.array_equal(got, m.cell_sum(f))
    with pytest.raises(ValueError, match="one per tile"):
        m.cell_sums([np.zeros(m.ntile + 1)])
    old_pools = m.pools
    try:
        m.pools = rng.uniform(0, 2, m.pools.shape)
        d1 = comp._pool_diagnostics()
        np.testing.assert_array_equal(d1["c_soil"], m.cell_sum(m.pools[:, intec.SMIC:].sum(axis=1)))
        np.testing.assert_array_equal(d1["c_root"], m.cell_sum(m.pools[:, intec.CROOT] + m.pools[:, intec.FROOT]))
        with pytest.raises(ValueError, match="read-only"):
            m.pools[0, 0] = 1.0
        m.pools = m.pools * 2.0  # a new array, as every pool change makes
        d2 = comp._pool_diagnostics()
        np.testing.assert_array_equal(d2["c_leaf"], m.cell_sum(m.pools[:, intec.LEAF]))
        assert not np.array_equal(d2["c_leaf"], d1["c_leaf"])
    finally:
        m.pools = old_pools
