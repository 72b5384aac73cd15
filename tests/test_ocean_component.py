"""The OceanCarbon component on a coarse grid with synthetic meteorology (no climatology needed)."""
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

pytest.importorskip("esm._kernels.carbonate", reason="Cython kernels not built")

GRID = "10x10"


def _config(*extra):
    return load_config(None, ["coupler_nml.components=ocean", "tracers_nml.names=co2,co2_ocean",
                              f"grid_nml.horizontal={GRID}", "ocean_nml.spinup_years=0", *extra])


def _met(grid, time):
    lat = np.broadcast_to(grid.lat[:, None], grid.shape)
    lon = np.broadcast_to(grid.lon[None, :], grid.shape)
    land = ((lon > 0) & (lon < 40) & (np.abs(lat) < 50)).astype(float)  # one continent
    land[(lon > 40) & (lon < 50) & (np.abs(lat) < 50)] = 0.4  # a coast
    fields = {
        "sst": 273.15 + np.clip(28.0 - 0.0055 * lat**2, -1.8, 30.0),
        "sss": 34.5 + 1.0 * np.cos(np.deg2rad(2 * lat)),
        "seaice": np.where(np.abs(lat) > 70, 0.9, 0.0),
        "wind10": 6.0 + 3.0 * np.abs(np.sin(np.deg2rad(lat))),
        "ps": np.full(grid.shape, 101000.0),
        "land_fraction": land,
    }
    return MetState(time, fields)


class _Atmos:
    def __init__(self, tracers, grid, ppm):
        self.q = np.zeros((len(tracers), 3) + grid.shape)
        self.q[tracers.index("co2")] = ppm * 1e-6


def _component(cfg):
    grid = Grid.from_spec(GRID)
    tracers = TracerSet(cfg.tracers_nml.names)
    t0 = cftime.datetime(2000, 1, 1, calendar="standard")
    clock = Clock(t0, cftime.datetime(2000, 2, 1, calendar="standard"), cfg.time_control.dt)
    comp = component_class("ocean")(cfg, grid, VerticalCoordinate.from_name("coarse11"), tracers, clock)
    return comp, grid, tracers, t0


def test_fluxes_diagnostics_and_restart():
    cfg = _config("ocean_nml.init_mode=preindustrial")
    comp, grid, tracers, t0 = _component(cfg)
    met = _met(grid, t0)
    comp.initialise(t0, met)
    atm = _Atmos(tracers, grid, 410.0)
    out = comp.surface_flux(t0, comp.interval, atm, met)
    assert set(out) == {"co2", "co2_ocean"}
    f = out["co2"]
    assert f.shape == grid.shape and np.all(np.isfinite(f))
    assert np.array_equal(f, out["co2_ocean"])
    land = met.land_fraction >= 1.0
    assert np.all(f[land] == 0.0)
    # a pre-industrial ocean under 410 ppm takes up CO2
    assert np.sum(f * grid.area) < 0
    # flux per cell area = per sea area times the ocean fraction
    d = comp.diagnostics()
    coast = met.land_fraction == 0.4
    np.testing.assert_allclose(f[coast], -d["fgco2"][coast] / 12.0107e-3 * 0.6, rtol=1e-12)
    for v in comp.variables:
        assert v.name in d and d[v.name].shape == grid.shape
    sea = ~land
    assert np.all((d["ph"][sea] > 7.5) & (d["ph"][sea] < 8.6))
    # sea-only diagnostics are NaN over land (masked variables: _FillValue in files), finite over sea
    assert all(v.masked for v in comp.variables if v.name in ("ph", "spco2", "dissic", "talk", "fgco2"))
    assert np.all(np.isnan(d["ph"][land])) and np.all(np.isfinite(d["ph"][sea]))
    assert np.all((d["spco2"][sea] > 10.0) & (d["spco2"][sea] < 80.0))  # Pa: 100-800 uatm, observed surface range
    # restart continues bit for bit
    state = comp.restart_state()
    comp2, *_ = _component(cfg)
    comp2.load_restart_state({k: v.copy() for k, v in state.items()})
    t1 = t0 + (comp.interval * cftime.timedelta(seconds=1) if hasattr(cftime, "timedelta") else
               __import__("datetime").timedelta(seconds=comp.interval))
    a = comp.surface_flux(t1, comp.interval, atm, met)["co2"]
    b = comp2.surface_flux(t1, comp.interval, atm, met)["co2"]
    assert np.array_equal(a, b)
    with pytest.raises(RestartError, match="ocean_modes"):
        comp2.load_restart_state({k: v for k, v in state.items() if k != "ocean_modes"})


def test_historical_cold_start_carries_anthropogenic_carbon():
    cfg_pi = _config("ocean_nml.init_mode=preindustrial")
    cfg_hist = _config("ocean_nml.init_mode=historical", "ocean_nml.init_start_year=1950")
    fluxes = []
    for cfg in (cfg_pi, cfg_hist):
        comp, grid, tracers, t0 = _component(cfg)
        met = _met(grid, t0)
        comp.initialise(t0, met)
        fluxes.append(np.sum(comp.surface_flux(t0, comp.interval, _Atmos(tracers, grid, 369.0), met)["co2"] * grid.area))
        if cfg is cfg_hist:
            assert np.sum(comp.model.uptake * comp.model.area) > 0
    # an ocean that has followed the CO2 rise is closer to equilibrium: smaller uptake
    assert fluxes[0] < fluxes[1] < 0


def test_config_checks():
    with pytest.raises(ConfigError, match="not a multiple"):
        load_config(None, ["coupler_nml.components=ocean", "ocean_nml.interval=1000"])
    with pytest.raises(ConfigError, match="has no 'co2'"):
        load_config(None, ["coupler_nml.components=ocean", "tracers_nml.names=ch4"])
    with pytest.raises(ConfigError):
        load_config(None, ["ocean_nml.kf=riley"])


COUPLED_NML = """
&time_control
  start = '2020-01-01 00:00:00'
  end = '2020-01-03 00:00:00'
  dt = 3600
/
&grid_nml
  horizontal = '10x10'
  vertical = 'coarse11'
/
&tracers_nml
  names = 'co2', 'co2_ocean'
  init_type = 'species', 'uniform'
  init_value = -1.0, 0.0
/
&coupler_nml
  components = 'ocean'
/
&ocean_nml
  interval = 21600
  spinup_years = 3
  init_start_year = 1990
/
&output_nml
  output_dir = 'out'
  streams = 'daily'
  stream_frequency = '1d'
  stream_operation = 'mean'
  stream_file_period = '1d'
  stream_variables = 'surface_flux spco2 ph dissic talk tos sos fgco2 revelle sea_area_fraction'
  progress = 'none'
/
&restart_nml
  restart_interval = '1d'
/
"""


def test_coupled_run_with_climatology_budget_and_restart(tmp_path, cf_check):
    """Through the coupler with the embedded climatology: ocean uptake, co2_ocean tag, CF output, exact restart."""
    import xarray as xr

    from esm.config import load_config
    from esm.coupler import Model

    nml = tmp_path / "o.nml"
    nml.write_text(COUPLED_NML)
    cfg = load_config(nml, [f"output_nml.output_dir={tmp_path / 'a'}"])
    model = Model(cfg)
    summary = model.run(progress="none")
    rows = {r["tracer"]: r for r in summary["budget"]}
    assert rows["co2"]["sinks_mol"] > rows["co2"]["sources_mol"]  # the ocean takes up CO2 in 2020
    assert rows["co2_ocean"]["final_mol"] == pytest.approx(rows["co2"]["final_mol"] - rows["co2"]["initial_mol"],
                                                           rel=1e-9)
    cf_check(tmp_path / "a" / "daily.20200101_0000.nc")  # standard names and units pass cfchecks
    ds = xr.open_dataset(tmp_path / "a" / "daily.20200101_0000.nc")
    assert ds["spco2"].attrs["standard_name"] == "surface_partial_pressure_of_carbon_dioxide_in_sea_water"
    assert ds["ph"].attrs["standard_name"] == "sea_water_ph_reported_on_total_scale"
    sea = ds["sea_area_fraction"].values[0] > 0.5
    assert 7.9 < float(ds["ph"].values[0][sea].mean()) < 8.2
    land = ds["sea_area_fraction"].values[0] == 0.0
    assert land.any() and np.all(np.isnan(ds["ph"].values[0][land]))  # _FillValue over land
    assert np.all(np.isfinite(ds["ph"].values[0][~land]))
    ds.close()
    # one day, restart, one day == two days
    rst = tmp_path / "a" / "restart" / "esm_restart.20200102_0000.nc"
    cfg_b = load_config(nml, [f"output_nml.output_dir={tmp_path / 'b'}"])
    Model(cfg_b, restart_file=rst).run(progress="none")
    a = xr.open_dataset(tmp_path / "a" / "daily.20200102_0000.nc")
    b = xr.open_dataset(tmp_path / "b" / "daily.20200102_0000.nc")
    for v in ("co2_flux", "spco2", "dissic"):
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
