"""The meteorology's mass fluxes driving the real transport (esm.transport): a uniform tracer stays uniform."""
import datetime

import cftime
import numpy as np
import pytest

from esm.atmosphere import Atmosphere
from esm.config.registry import schema
from esm.grid import Grid
from esm.meteorology.climatology import Climatology
from esm.meteorology.reanalysis import ReanalysisProvider
from esm.meteorology.synthetic import SyntheticWriter
from esm.tracers import TracerSet
from esm.vertical import VerticalCoordinate

transport_core = pytest.importorskip("esm.transport.core")

GRID = Grid.from_spec("6x7.5")
VC = VerticalCoordinate.from_name("coarse11")
T0 = cftime.datetime(2020, 7, 1, 1, calendar="standard")


def _run(provider, nsteps=4, dt=1800):
    cfg = schema().resolve({"grid_nml": {"horizontal": "6x7.5", "vertical": "coarse11"},
                            "transport_nml": {"enabled": True}})
    tracers = TracerSet(["passive1", "passive2"])
    tr = transport_core.Transport(cfg, GRID, VC, tracers)
    ps = provider.at(T0).ps
    q = np.empty((2, VC.nlev) + GRID.shape)
    q[0] = 1.0
    q[1] = 3.7e-4
    atm = Atmosphere.from_surface_pressure(GRID, VC, tracers, ps, q)
    t = T0
    for _ in range(nsteps):
        met = provider.at(t)
        mf = provider.step_fluxes(t, dt, atm.surface_pressure())
        tr.step(atm, mf, met, dt)
        t = t + datetime.timedelta(seconds=dt)
    return atm, provider.at(t).ps


def test_uniform_tracer_with_climatology_and_transport():
    atm, ps_met = _run(Climatology(GRID, VC))
    assert np.abs(atm.q[0] - 1.0).max() < 1e-12
    assert np.abs(atm.q[1] / 3.7e-4 - 1.0).max() < 1e-12
    assert np.abs(atm.surface_pressure() - ps_met).max() < 1e-3  # air mass follows the met ps


def test_uniform_tracer_with_noisy_era5_winds_and_transport(tmp_path):
    paths = SyntheticWriter(10.0, 10.0, "coarse11", noise=3.0, seed=2).write_era5(
        tmp_path, cftime.datetime(2020, 7, 1, calendar="standard"), range(0, 5), range(0, 5, 3))
    prov = ReanalysisProvider(GRID, VC, {"files_3d": paths["3d"][0], "files_2d": " ".join(paths["2d"]),
                                         "prefetch": False}, source="era5")
    atm, ps_met = _run(prov, nsteps=4)
    assert np.abs(atm.q[0] - 1.0).max() < 1e-12
    offset = np.sum((atm.surface_pressure() - ps_met) * GRID.area) / GRID.area.sum()
    assert np.abs(atm.surface_pressure() - ps_met - offset).max() < 1e-2


def test_restart_with_climatology_and_transport_is_bit_for_bit(tmp_path):
    """The climatology (eddies included) is a pure function of time: a restarted run continues exactly."""
    import filecmp

    import netCDF4
    from helpers import SMALL_NML, run_esm, write_namelist
    nml = write_namelist(tmp_path / "t.nml", SMALL_NML + "\n&transport_nml\n  enabled = .true.\n/\n")
    run_esm("run", nml, "--output-dir", tmp_path / "straight", cwd=tmp_path)
    seg = tmp_path / "seg"
    run_esm("run", nml, "--output-dir", seg, "--set", "time_control.end=2020-01-02", cwd=tmp_path)
    run_esm("run", nml, "--output-dir", seg, "--restart", seg / "restart" / "esm_restart.20200102_0000.nc",
            cwd=tmp_path)
    name = "hourly_3d.20200102_0000.nc"
    assert filecmp.cmp(tmp_path / "straight" / name, seg / name, shallow=False)
    with netCDF4.Dataset(tmp_path / "straight" / name) as ds:
        co2 = ds["co2"][:]
        assert float(co2.max() - co2.min()) > 0  # the band source and the transport did something
