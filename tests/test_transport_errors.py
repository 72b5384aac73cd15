"""Bad input gets a clear error naming the field, the time and the cell (issue #3, "Bad input")."""
import dataclasses

import numpy as np
import pytest

from esm.errors import ConfigError, InputDataError, ModelStateError
from esm.meteorology.base import MetState
from esm.transport import Transport
from esm.transport.testflows import DivergentCase

pytestmark = pytest.mark.compiled
WHEN = "transport step starting 2020-01-01 00:00:00"


def _case(**nml):
    case = DivergentCase("10x10", "coarse11", tracers=("passive1", "passive2"), transport_nml=nml)
    return case, Transport(case.config, case.grid, case.vcoord, case.tracers)


def test_nan_mass_flux_names_field_time_and_cell():
    case, tr = _case()
    fl, met = case.inputs(0)
    fl.mfx[3, 5, 7] = np.nan
    with pytest.raises(InputDataError) as err:
        tr.step(case.atm, fl, met, case.dt)
    msg = str(err.value)
    assert WHEN in msg and "'mfx'" in msg and "nan" in msg
    assert f"level 3, lat {case.grid.lat[5]:.2f}, lon {case.grid.lon[7]:.2f}" in msg


def test_infinite_meridional_flux():
    case, tr = _case()
    fl, met = case.inputs(0)
    fl.mfy[0, 4, 2] = np.inf
    with pytest.raises(InputDataError, match=r"'mfy' is inf at level 0, lat"):
        tr.step(case.atm, fl, met, case.dt)


def test_wrong_flux_shape():
    case, tr = _case()
    fl, met = case.inputs(0)
    fl = dataclasses.replace(fl, mfy=fl.mfy[:, :-1])
    with pytest.raises(InputDataError, match=r"'mfy' has shape \(11, 18, 36\); expected \(11, 19, 36\)"):
        tr.step(case.atm, fl, met, case.dt)


def test_flux_through_the_pole():
    case, tr = _case()
    fl, met = case.inputs(0)
    fl.mfy[2, -1, 4] = 1.0e6
    with pytest.raises(InputDataError, match="through the north pole.*level 2"):
        tr.step(case.atm, fl, met, case.dt)


def test_negative_surface_pressure():
    case, tr = _case()
    fl, met = case.inputs(0)
    fl.ps_end[6, 6] = -5.0
    with pytest.raises(InputDataError, match=r"surface pressure 'ps_end' is -5.0 at lat .*expected finite and >"):
        tr.step(case.atm, fl, met, case.dt)


def test_surface_pressure_inconsistent_with_fluxes():
    case, tr = _case()
    fl, met = case.inputs(0)
    fl.ps_end[8, 30] += 50.0
    with pytest.raises(InputDataError, match=rf"disagree at lat {case.grid.lat[8]:.2f}, lon {case.grid.lon[30]:.2f}"):
        tr.step(case.atm, fl, met, case.dt)


def test_flux_averaging_period_must_match_step():
    case, tr = _case()
    fl, met = case.inputs(0)
    with pytest.raises(InputDataError, match="averaged over 900"):
        tr.step(case.atm, dataclasses.replace(fl, dt=900.0), met, case.dt)


def test_zonal_courant_beyond_a_row():
    case, tr = _case(vertical_diffusion=False, convection=False)
    case.u0 *= 2.0e3
    fl, met = case.inputs(0)
    with pytest.raises(ModelStateError, match=r"zonal Courant number .* exceeds one full latitude row"):
        tr.step(case.atm, fl, met, case.dt)


def test_meridional_courant_beyond_subcycles():
    case, tr = _case(max_meridional_subcycles=1, vertical_diffusion=False, convection=False)
    case.u0 *= 30.0
    fl, met = case.inputs(0)
    with pytest.raises(ModelStateError, match=r"meridional mass Courant number .* max_meridional_subcycles"):
        tr.step(case.atm, fl, met, case.dt)


def test_large_courant_numbers_are_handled():
    """Zonal Courant numbers of several cells and sub-cycled meridional ones are fine."""
    case, tr = _case(vertical_diffusion=False, convection=False)
    case.u0 *= 20.0
    for n in range(4):
        tr.step(case.atm, *case.inputs(n), case.dt)
    assert np.abs(case.atm.q[0] - 1.0).max() < 1e-12
    assert tr.last["meridional_subcycles_max"] > 1


def test_negative_air_mass():
    case, tr = _case(vertical_diffusion=False, convection=False)
    case.atm.air_mass[4, 7, 3] = -1.0
    fl, met = case.inputs(0)
    with pytest.raises(ModelStateError, match=rf"level 4, lat {case.grid.lat[7]:.2f}, lon {case.grid.lon[3]:.2f}: "
                                              "the air mass is not positive"):
        tr.step(case.atm, fl, met, case.dt)


def test_tracer_array_of_wrong_shape():
    case, tr = _case()
    fl, met = case.inputs(0)
    case.atm.q = case.atm.q[:, :-1]
    with pytest.raises(ValueError, match="expected"):
        tr.step(case.atm, fl, met, case.dt)


def test_bad_surface_flux_and_loss_rate():
    case, tr = _case()
    fl, met = case.inputs(0)
    sf = np.zeros((2,) + case.grid.shape)
    sf[1, 2, 3] = np.nan
    with pytest.raises(InputDataError, match=r"surface flux array 'surface_flux' is nan at tracer passive2, lat"):
        tr.step(case.atm, fl, met, case.dt, surface_flux=sf)
    rate = np.zeros(case.atm.air_mass.shape)
    rate[1, 1, 1] = -1e-6
    with pytest.raises(InputDataError, match="loss rate of passive2"):
        tr.step(case.atm, fl, met, case.dt, loss_rates={1: rate})


def test_missing_met_field_named_unless_process_is_off():
    case, tr = _case()
    fl, met = case.inputs(0)
    fields = {k: met[k] for k in met.names if k != "cmfmc"}
    with pytest.raises(InputDataError, match="convection needs the meteorological field 'cmfmc'"):
        tr.step(case.atm, fl, MetState(met.time, fields), case.dt)
    case2, tr2 = _case(convection=False)
    fl2, met2 = case2.inputs(0)
    tr2.step(case2.atm, fl2, MetState(met2.time, {k: met2[k] for k in met2.names if k != "cmfmc"}), case2.dt)


def test_namelist_rejects_unknown_scheme():
    with pytest.raises(ConfigError, match="ppm_monotone"):
        DivergentCase("10x10", "coarse11", transport_nml={"advection_scheme": "ppm_mono"})
