"""User input files of the land: LAI (MODIS/GLASS style), stand age and N deposition; clear errors."""
import cftime
import netCDF4
import numpy as np
import pytest

from esm.errors import InputDataError
from esm.grid import Grid
from esm.land.component import _read_grid_field
from esm.land.phenology import LaiFile

GRID = Grid.from_spec("30x30")


def _lai_file(path, data, dated=True, name="lai"):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", data.shape[0])
        ds.createDimension("lat", data.shape[1])
        ds.createDimension("lon", data.shape[2])
        if dated:
            t = ds.createVariable("time", "f8", ("time",))
            t.units = "days since 2001-01-01 00:00:00"
            t.calendar = "noleap"
            t[:] = 15.0 + 30.0 * np.arange(data.shape[0])
        v = ds.createVariable(name, "f4", ("time", "lat", "lon"))
        v[:] = data
    return path


def test_lai_file_dated_and_climatology(tmp_path):
    data = np.ones((12,) + GRID.shape) * np.arange(12)[:, None, None]
    f = LaiFile(str(_lai_file(tmp_path / "lai.nc", data)), "lai", GRID)
    # halfway between the records of day 15 and day 45
    assert np.allclose(f.at(cftime.datetime(2001, 1, 31, calendar="noleap")), 0.5)
    with pytest.raises(InputDataError, match="covers"):
        f.at(cftime.datetime(2003, 1, 1, calendar="noleap"))
    clim = LaiFile(str(_lai_file(tmp_path / "clim.nc", data, dated=False)), "lai", GRID)
    lai = clim.at(cftime.datetime(2005, 7, 2, calendar="noleap"))
    assert 5.0 < float(lai.mean()) < 6.5


def test_bad_lai_files(tmp_path):
    with pytest.raises(InputDataError, match="does not exist"):
        LaiFile(str(tmp_path / "none.nc"), "lai", GRID)
    neg = -np.ones((12,) + GRID.shape)
    with pytest.raises(InputDataError, match=">= 0"):
        LaiFile(str(_lai_file(tmp_path / "neg.nc", neg)), "lai", GRID)
    with pytest.raises(InputDataError, match="no variable 'lai'"):
        LaiFile(str(_lai_file(tmp_path / "other.nc", np.ones((12,) + GRID.shape), name="LAI")), "lai", GRID)
    with pytest.raises(InputDataError, match="expected \\(time, 6, 12\\)"):
        LaiFile(str(_lai_file(tmp_path / "shape.nc", np.ones((12, 3, 3)))), "lai", GRID)
    with pytest.raises(InputDataError, match="m2 m-2"):
        LaiFile(str(_lai_file(tmp_path / "big.nc", np.full((12,) + GRID.shape, 100.0))), "lai", GRID)


def test_grid_field_files(tmp_path):
    p = tmp_path / "age.nc"
    with netCDF4.Dataset(p, "w") as ds:
        ds.createDimension("lat", GRID.nlat)
        ds.createDimension("lon", GRID.nlon)
        ds.createVariable("stand_age", "f8", ("lat", "lon"))[:] = 50.0
    a = _read_grid_field(str(p), "stand_age", GRID, "age_file", 0.0, 2000.0)
    assert a.shape == GRID.shape and np.all(a == 50.0)
    with pytest.raises(InputDataError, match="no variable 'ndep'"):
        _read_grid_field(str(p), "ndep", GRID, "ndep_file", 0.0, 50.0)
    with pytest.raises(InputDataError, match="within"):
        _read_grid_field(str(p), "stand_age", GRID, "age_file", 0.0, 10.0)
    with pytest.raises(InputDataError, match="does not exist"):
        _read_grid_field(str(tmp_path / "x.nc"), "stand_age", GRID, "age_file", 0.0, 10.0)
