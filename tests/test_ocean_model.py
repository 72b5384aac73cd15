"""Ocean carbon processes: gas exchange, alkalinity, CO2 table, Joos response, mixed-layer model, component."""
from dataclasses import replace

import cftime
import numpy as np
import pytest

from esm.errors import InputDataError
from esm.forcing_series import co2_at, co2_history, concentration_history, scenarios
from esm.ocean import gas_exchange as gx
from esm.ocean.alkalinity import alkalinity_lee06, lee06_zone
from esm.ocean.model import PGC_PER_MOL, SECONDS_PER_YEAR, MixedLayerCarbon, SurfaceForcing
from esm.ocean.params import defaults, joos96_mixed_layer_response, mode_weights

pytest.importorskip("esm._kernels.carbonate", reason="Cython kernels not built")


# ---- gas exchange --------------------------------------------------------------------------------------------------
def test_schmidt_number_wanninkhof14():
    assert float(gx.schmidt_co2_wanninkhof14(20.0)) == pytest.approx(668.3, abs=0.1)  # W14 Table 1 check value
    sc = gx.schmidt_co2_wanninkhof14(np.array([0.0, 10.0, 30.0]))
    assert np.all(np.diff(sc) < 0)


def test_transfer_velocity_units():
    # at Sc = 660 (t ~ 20.4 degC) and U10 = 10 m/s, k = 25.1 cm/h
    t660 = 20.0
    while abs(gx.schmidt_co2_wanninkhof14(t660) - 660.0) > 1e-6:
        t660 += (gx.schmidt_co2_wanninkhof14(t660) - 660.0) / 60.0
    k = gx.transfer_velocity_wanninkhof14(10.0, t660)
    assert k * 3600 * 100 == pytest.approx(25.1, rel=1e-6)


def test_pco2_air_water_vapour():
    # 400 ppm at 1 atm and 25 degC, S 35: pH2O = 0.0306 atm (Weiss & Price 1980) -> 387.8 uatm
    pa = gx.pco2_air(400e-6, 101325.0, 298.15, 35.0)
    assert pa * 1e6 == pytest.approx(400 * (1 - 0.03064), abs=0.05)


def test_flux_sign_and_ice():
    f = gx.air_sea_flux(1e-5, 0.03, 420e-6, 400e-6, ice_fraction=0.0)
    assert f > 0  # supersaturated sea outgasses: positive upward
    assert gx.air_sea_flux(1e-5, 0.03, 420e-6, 400e-6, ice_fraction=0.75) == pytest.approx(0.25 * f)
    assert gx.air_sea_flux(1e-5, 0.03, 420e-6, 400e-6, ice_fraction=1.0) == 0.0


# ---- alkalinity ----------------------------------------------------------------------------------------------------
def test_lee06_values_and_zones():
    # at the reference point (S = 35, T = 20) zones 1, 3, 5 give a = 2305 umol/kg
    assert alkalinity_lee06(35.0, 20.0, 0.0, 0.0) * 1e6 == pytest.approx(2305.0)
    assert alkalinity_lee06(35.0, 10.0, 55.0, -30.0) * 1e6 == pytest.approx(2305 - 1.16 * -10 - 0.040 * 100)
    assert alkalinity_lee06(35.0, 29.0, 0.0, -100.0) * 1e6 == pytest.approx(2294.0)
    assert lee06_zone(-60.0, 0.0, 2.0) == 5 and lee06_zone(45.0, 170.0, 10.0) == 4 and lee06_zone(45.0, -30.0, 10.0) == 3
    ta = alkalinity_lee06(np.array([33.0, 35.0, 37.0]), 25.0, 10.0, 60.0)
    assert np.all(np.diff(ta) > 0)
    # fresh water below the fit range: diluted in proportion to salinity, not extrapolated
    assert alkalinity_lee06(15.5, 25.0, 10.0, 60.0) == pytest.approx(alkalinity_lee06(31.0, 25.0, 10.0, 60.0) / 2)


# ---- CO2 table -----------------------------------------------------------------------------------------------------
def test_co2_history_matches_references():
    years, ppm = co2_history("historical")
    assert years[0] == 1750 and years[-1] == 2014
    d = dict(zip(years, ppm))
    # REFERENCES.md (RCMIP): 1750 277.15, 1850 284.32, 2014 397.55
    assert d[1750] == pytest.approx(277.15, abs=0.01)
    assert d[1850] == pytest.approx(284.32, abs=0.01)
    assert d[2014] == pytest.approx(397.55, abs=0.01)
    # Meinshausen et al. 2020, CO2 in 2100 per SSP
    for scen, ref in (("ssp119", 393.5), ("ssp126", 445.6), ("ssp245", 602.8), ("ssp370", 867.2), ("ssp585", 1135.2)):
        y, c = co2_history(scen)
        assert y[-1] == 2500 and np.all(np.diff(y) == 1)
        assert c[y == 2100][0] == pytest.approx(ref, abs=0.1), scen
    y, ch4 = concentration_history("ch4", "ssp245")
    assert 700 < ch4[0] < 760 and 1800 < ch4[y == 2014][0] < 1850
    assert float(co2_at(2000.5, "historical")) == pytest.approx(d[2000])
    assert "ssp245" in scenarios()


def test_co2_history_errors():
    with pytest.raises(ValueError, match="unknown concentration scenario 'ssp999'"):
        co2_history("ssp999")
    with pytest.raises(ValueError, match="unknown gas"):
        concentration_history("sf6")
    with pytest.raises(ValueError, match="covers 1750-2015"):
        co2_at(2030.0, "historical")


# ---- Joos response -------------------------------------------------------------------------------------------------
def test_joos_modes_reproduce_published_response():
    tau, w = mode_weights()
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    t = np.concatenate([np.linspace(0, 5, 501), np.geomspace(5, 1000, 300)])
    modes = (w[None, :] * np.exp(-t[:, None] * SECONDS_PER_YEAR / tau[None, :])).sum(axis=1)
    assert np.abs(modes - joos96_mixed_layer_response(t)).max() < 5e-4
    assert float(joos96_mixed_layer_response(0.0)) == pytest.approx(1.0, abs=1e-5)


# ---- mixed-layer model on synthetic cells ----------------------------------------------------------------------------
def _cells(n=24):
    lat = np.linspace(-70, 70, n)
    lon = np.where(np.arange(n) % 2, -30.0, 170.0)
    sst = 273.15 + np.clip(28.0 - 0.005 * lat**2 * 1.1, -1.5, 30.0)
    f = SurfaceForcing(sst=sst, sss=np.full(n, 34.5), wind10=np.full(n, 7.5), seaice=np.where(np.abs(lat) > 65, 0.5, 0.0),
                       ps=np.full(n, 101325.0), xco2=np.full(n, 284.32e-6))
    area = 1.0e12 * np.cos(np.deg2rad(lat))
    return lat, lon, area, f


def test_joos_response_through_model_with_fixed_flux():
    """With no gas-exchange feedback (sea ice), a flux pulse decays as the Joos response."""
    lat, lon, area, f = _cells(4)
    m = MixedLayerCarbon(defaults(), lat, lon, area)
    # pulse of 1 mol m-2 injected through the mode equations with exponential integration
    rh = m.rho * m.h
    dt = SECONDS_PER_YEAR / 12
    m.modes[:] = 0.0
    m.modes += (m.w[:, None] * (1.0 / rh))  # the pulse enters all modes with weights w
    e = np.exp(-dt / m.tau)[:, None]
    for _ in range(12 * 50):
        m.modes *= e
    frac = m.modes.sum(axis=0) * rh
    assert frac[0] == pytest.approx(float(joos96_mixed_layer_response(50.0)), abs=5e-4)


def test_steady_state_and_conservation():
    lat, lon, area, f = _cells()
    m = MixedLayerCarbon(defaults(), lat, lon, area)
    nat = m.calibrate([f], 0, 0.0)
    assert abs(nat) < 1e-3  # calibrated global natural flux, PgC/yr
    # tropical cells outgas, cold high-latitude cells take up (solubility pump)
    out = m.step(86400.0, f, natural_only=True)
    assert out["flux_nat"][np.abs(lat) < 10].mean() > 0
    assert out["flux_nat"][np.abs(lat) > 45].mean() < 0
    # a steady state stays put
    d0 = m.dic_nat.copy()
    m.step(86400.0, f, natural_only=True)
    assert np.abs(m.dic_nat - d0).max() < 1e-9
    # raise CO2: uptake; the ocean gains exactly -sum(F dt), recorded in `uptake`
    fh = replace(f, xco2=np.full_like(f.sst, 400e-6))
    total_in = 0.0
    for _ in range(24):
        out = m.step(SECONDS_PER_YEAR / 12, fh)
        total_in -= np.sum((out["flux"] - out["flux_nat"]) * area) * SECONDS_PER_YEAR / 12
    assert total_in > 0
    assert np.sum(m.uptake * area) == pytest.approx(total_in, rel=1e-12)
    assert np.all((out["ph"] > 7.8) & (out["ph"] < 8.45)) and np.all(out["revelle"] > 7)


def test_step_size_independence():
    """Monthly and daily steps give the same 3-year uptake within 1 % (stable linearised implicit scheme)."""
    lat, lon, area, f = _cells(8)
    res = []
    for nsub in (1, 30):
        m = MixedLayerCarbon(defaults(), lat, lon, area)
        m.calibrate([f], 0, 0.0)
        fh = replace(f, xco2=np.full_like(f.sst, 400e-6))
        for _ in range(3 * 12 * nsub):
            m.step(SECONDS_PER_YEAR / 12 / nsub, fh)
        res.append(np.sum(m.uptake * area) * PGC_PER_MOL)
    assert res[0] == pytest.approx(res[1], rel=0.01)


def test_restart_state_round_trip_is_bitwise():
    lat, lon, area, f = _cells(6)
    a = MixedLayerCarbon(defaults(), lat, lon, area)
    a.calibrate([f], 0, 0.0)
    fh = replace(f, xco2=np.full_like(f.sst, 390e-6))
    for _ in range(3):
        a.step(3600.0 * 6, fh)
    b = MixedLayerCarbon(defaults(), lat, lon, area)
    b.load_state(a.state())
    oa, ob = a.step(21600.0, fh), b.step(21600.0, fh)
    assert np.array_equal(oa["flux"], ob["flux"]) and np.array_equal(a.modes, b.modes)
    with pytest.raises(ValueError, match="'modes' has shape"):
        b.load_state({**a.state(), "modes": np.zeros(3)})


def test_bad_forcing_names_field_and_cell():
    lat, lon, area, f = _cells(4)
    m = MixedLayerCarbon(defaults(), lat, lon, area)
    bad = replace(f, wind10=np.array([5.0, -1.0, 5.0, 5.0]))
    with pytest.raises(InputDataError, match=r"wind10 = -1.0 at ocean cell lat"):
        m.step(3600.0, bad)
    with pytest.raises(InputDataError, match="sst"):
        m.step(3600.0, replace(f, sst=np.full(4, np.nan)))
