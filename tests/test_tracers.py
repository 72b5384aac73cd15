"""Tracer registry and initial conditions."""
import netCDF4
import numpy as np
import pytest

from esm.config import load_config
from esm.errors import InputDataError
from esm.grid import Grid
from esm.initial import initial_mole_fractions
from esm.tracers import SPECIES, TracerSet, species


def test_registry():
    assert species("co2").molar_mass == pytest.approx(44.0095e-3)
    assert species("co2_land").parent == "co2" and species("co2_land").default_mole_fraction == 0.0
    assert species("passive7").default_mole_fraction == 1.0
    with pytest.raises(ValueError, match="unknown tracer 'o3'"):
        species("o3")
    ts = TracerSet(["co2", "ch4"])
    assert ts.index("ch4") == 1 and "n2o" not in ts
    with pytest.raises(KeyError, match="not carried"):
        ts.index("n2o")
    assert set(SPECIES) >= {"co2", "ch4", "n2o", "co2_fossil", "co2_land", "co2_ocean"}


def _cfg(tmp_path, tracers_nml):
    p = tmp_path / "t.nml"
    p.write_text("&grid_nml\n horizontal = '10x10'\n vertical = 'coarse11'\n/\n" + tracers_nml +
                 "&coupler_nml\n components = ''\n/\n")
    return load_config(p)


def test_latitude_profile_has_requested_mean_and_gradient(tmp_path):
    cfg = _cfg(tmp_path, "&tracers_nml\n names = 'co2'\n init_type = 'latitude'\n init_value = 400e-6\n"
                         " init_gradient = 4e-6\n/\n")
    g = Grid.from_spec("10x10")
    q = initial_mole_fractions(cfg, g, 11, TracerSet(["co2"]))
    # area mean equals init_value (sin(lat) integrates to zero over the sphere; exact for the cell mid-points
    # only up to the discretisation, so compare against the discrete area mean of sin(lat))
    mean = np.sum(q[0, 0] * g.area) / g.area.sum()
    expected = 400e-6 + 2e-6 * np.sum(np.sin(np.deg2rad(g.lat))[:, None] * g.area) / g.area.sum()
    assert mean == pytest.approx(expected, rel=1e-14)
    assert q[0, 0, -1, 0] - q[0, 0, 0, 0] == pytest.approx(4e-6 * np.sin(np.deg2rad(85.0)), rel=1e-12)


def test_initial_field_from_file(tmp_path):
    g = Grid.from_spec("10x10")
    f = tmp_path / "init.nc"
    with netCDF4.Dataset(f, "w") as ds:
        ds.createDimension("lev", 11)
        ds.createDimension("lat", g.nlat)
        ds.createDimension("lon", g.nlon)
        v = ds.createVariable("co2", "f8", ("lev", "lat", "lon"))
        v.units = "ppm"
        v[:] = 400.0 + np.arange(11)[:, None, None] * np.ones(g.shape)
        w = ds.createVariable("ch4", "f8", ("lat", "lon"))
        w[:] = 1.8e-6
    cfg = _cfg(tmp_path, f"&tracers_nml\n names = 'co2'\n init_type = 'file'\n init_file = '{f}'\n/\n")
    q = initial_mole_fractions(cfg, g, 11, TracerSet(["co2"]))
    assert q[0, 3, 5, 5] == pytest.approx(403e-6)
    cfg = _cfg(tmp_path, f"&tracers_nml\n names = 'ch4'\n init_type = 'file'\n init_file = '{f}'\n/\n")
    with pytest.raises(InputDataError, match=r"variable 'ch4' has shape \(18, 36\); expected \(lev, lat, lon\)"):
        initial_mole_fractions(cfg, g, 11, TracerSet(["ch4"]))
    cfg = _cfg(tmp_path, f"&tracers_nml\n names = 'n2o'\n init_type = 'file'\n init_file = '{f}'\n/\n")
    with pytest.raises(InputDataError, match="no variable 'n2o'"):
        initial_mole_fractions(cfg, g, 11, TracerSet(["n2o"]))
