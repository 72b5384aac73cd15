"""Carbonate chemistry: DSC07 check values, kernel vs numpy, PyCO2SYS agreement, solver robustness, bad input."""
import logging

import numpy as np
import pytest

from esm.errors import InputDataError
from esm.ocean import carbonate as cb

pytest.importorskip("esm._kernels.carbonate", reason="Cython kernels not built (python setup.py build_ext --inplace)")

TK25 = 298.15
S35 = 35.0


# ---- Dickson, Sabine & Christian (2007), Chapter 5, check values at S = 35, t = 25 degC --------------------------
# Each value was checked against the Guide as quoted by two independent implementations (SolveSAPHE's
# test-suite and seacarb's documentation); the Guide prints KS and KF to two decimals only.
@pytest.mark.parametrize("label, value, expected, decimals", [
    ("ln K0 (Weiss 1974)", lambda: np.log(cb.k0_weiss74(TK25, S35)), -3.5617, 4),
    ("log10 K1 (Lueker 2000)", lambda: np.log10(cb.k1_lueker00(TK25, S35)), -5.8472, 4),
    ("log10 K2 (Lueker 2000)", lambda: np.log10(cb.k2_lueker00(TK25, S35)), -8.9660, 4),
    ("ln KB (Dickson 1990)", lambda: np.log(cb.kb_dickson90(TK25, S35)), -19.7964, 4),
    # DSC07's KW is Millero (1995)'s SWS fit with its constant lowered by 0.015 (total scale)
    ("ln KW (Millero 1995, DSC07 form)", lambda: np.log(cb.kw_millero95(TK25, S35)) - 0.015, -30.434, 3),
    ("ln KS (Dickson 1990)", lambda: np.log(cb.ks_dickson90(TK25, S35)), -2.30, 2),
    ("ln KF (Perez & Fraga 1987)", lambda: np.log(cb.kf_perez87(TK25, S35)), -6.09, 2),
])
def test_dsc07_check_values(label, value, expected, decimals):
    got = value()
    assert abs(got - expected) <= 0.5 * 10.0**-decimals, f"{label}: {got:.6f} vs DSC07 {expected}"


def test_total_boron():
    assert cb.total_boron_uppstrom74(35.0) * 1e6 == pytest.approx(415.7, abs=0.05)
    assert cb.total_boron_lee10(35.0) * 1e6 == pytest.approx(432.6, abs=0.05)


def test_functions_broadcast():
    tk = np.linspace(272, 308, 12).reshape(3, 4)
    s = np.array([30.0, 33.0, 35.0, 38.0])
    for f in (cb.k0_weiss74, cb.k1_lueker00, cb.k2_lueker00, cb.kb_dickson90, cb.kw_millero95, cb.ks_dickson90,
              cb.kf_perez87, cb.kf_dickson79, cb.ksi_yao95, cb.vapour_pressure_weiss80):
        out = f(tk, s)
        assert out.shape == (3, 4) and np.all(np.isfinite(out)) and np.all(out > 0)
        assert out[1, 2] == pytest.approx(float(f(tk[1, 2], s[2])), rel=1e-14)


@pytest.mark.parametrize("kf", ["perez87", "dickson79"])
@pytest.mark.parametrize("boron", ["uppstrom74", "lee10"])
def test_kernel_constants_match_numpy(kf, boron):
    rng = np.random.default_rng(0)
    tk = rng.uniform(-2, 40, 500) + 273.15
    s = rng.uniform(5, 45, 500)
    ref = cb.equilibrium_constants(tk, s, kf=kf, boron=boron)
    ker = cb.kernel_constants(tk, s, kf=kf, boron=boron)
    for name, v in ref.items():
        np.testing.assert_allclose(ker[name], v, rtol=2e-13, err_msg=name)


# ---- PyCO2SYS 1.8.3.4 ----------------------------------------------------------------------------------------------
def _pyco2sys():
    try:
        import PyCO2SYS
    except Exception as exc:  # noqa: BLE001 - any import failure means: skip
        pytest.skip(f"PyCO2SYS is not importable ({type(exc).__name__}: {exc}); install the test extra "
                    "(PyCO2SYS==1.8.3.4)")
    return PyCO2SYS


def _states(n=3000, seed=7):
    rng = np.random.default_rng(seed)
    t = rng.uniform(-2.0, 35.0, n)
    s = rng.uniform(20.0, 40.0, n)
    ta = rng.uniform(1800.0, 2600.0, n)
    dic = rng.uniform(1600.0, 2400.0, n)
    # plus the corners of the range
    corners = np.array(np.meshgrid([-2.0, 35.0], [20.0, 40.0], [1800.0, 2600.0], [1600.0, 2400.0])).reshape(4, -1)
    return [np.concatenate([a, c]) for a, c in zip((t, s, ta, dic), corners)]


def _compare(r, p):
    dph = np.abs(r.ph - p["pH"])
    dpco2 = np.abs(r.pco2 * 1e6 - p["pCO2"])
    assert dph.max() < 1e-5, f"max |pH difference| {dph.max():.2e}"
    assert dpco2.max() < 0.01, f"max |pCO2 difference| {dpco2.max():.2e} uatm"
    np.testing.assert_allclose(r.fco2 * 1e6, p["fCO2"], rtol=1e-6)
    np.testing.assert_allclose(r.co2 * 1e6, p["aqueous_CO2"], rtol=1e-6)
    np.testing.assert_allclose(r.hco3 * 1e6, p["HCO3"], rtol=1e-6)
    np.testing.assert_allclose(r.co3 * 1e6, p["CO3"], rtol=1e-6)
    np.testing.assert_allclose(r.revelle, p["revelle_factor"], rtol=1e-6)


def test_pyco2sys_defaults():
    """PyCO2SYS defaults: Lueker K1/K2, total scale, Dickson 1990 KSO4, Dickson & Riley 1979 KF, Uppstrom boron."""
    pyco2 = _pyco2sys()
    t, s, ta, dic = _states()
    p = pyco2.sys(par1=ta, par2=dic, par1_type=1, par2_type=2, temperature=t, salinity=s, pressure=0)
    assert int(np.unique(p["opt_k_carbonic"])[0]) == 10 and int(np.unique(p["opt_k_fluoride"])[0]) == 1
    r = cb.solve_carbonate(dic * 1e-6, ta * 1e-6, t + 273.15, s, kf="dickson79", boron="uppstrom74")
    _compare(r, p)


def test_pyco2sys_perez87_lee10_nutrients():
    """Our default KF (Perez & Fraga, total scale per DSC07) given to PyCO2SYS as its free-scale value."""
    pyco2 = _pyco2sys()
    t, s, ta, dic = _states(1000, seed=3)
    rng = np.random.default_rng(4)
    po4, sio4 = rng.uniform(0, 3, t.size), rng.uniform(0, 100, t.size)
    tk = t + 273.15
    kf_free = cb.equilibrium_constants(tk, s, kf="perez87")["kf"]
    p = pyco2.sys(par1=ta, par2=dic, par1_type=1, par2_type=2, temperature=t, salinity=s, pressure=0,
                  total_phosphate=po4, total_silicate=sio4, opt_total_borate=2, k_fluoride=kf_free)
    r = cb.solve_carbonate(dic * 1e-6, ta * 1e-6, tk, s, po4 * 1e-6, sio4 * 1e-6, kf="perez87", boron="lee10")
    _compare(r, p)


# ---- solver ----------------------------------------------------------------------------------------------------------
def _bisect_ph(dic, ta, tk, s, kf="perez87"):
    """Reference pH by plain bisection in log H on the numpy alkalinity function (slow, robust)."""
    c = cb.equilibrium_constants(tk, s, kf=kf)
    lo, hi = np.full(np.shape(dic), 2.0), np.full(np.shape(dic), 12.5)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        f = cb.alkalinity_from_ph(dic, mid, c) - ta
        lo = np.where(f < 0, mid, lo)  # alkalinity rises with pH
        hi = np.where(f < 0, hi, mid)
    return 0.5 * (lo + hi)


def test_converges_from_any_start_to_1e8():
    rng = np.random.default_rng(11)
    n = 400
    dic = np.concatenate([rng.uniform(1600e-6, 2400e-6, n), [0.0, 1e-6, 2000e-6, 500e-6, 3000e-6]])
    ta = np.concatenate([rng.uniform(1800e-6, 2600e-6, n), [2300e-6, 2300e-6, 200e-6, 3000e-6, 3100e-6]])
    tk = np.concatenate([rng.uniform(-2, 35, n), [25.0, 0.0, 10.0, 30.0, 20.0]]) + 273.15
    s = np.concatenate([rng.uniform(20, 40, n), [35.0, 34.0, 20.0, 40.0, 35.0]])
    ref = _bisect_ph(dic, ta, tk, s)
    for guess in (None, 0.5, 3.0, 6.0, 8.0, 11.0, 14.0, np.nan, ref + 0.3):
        r = cb.solve_carbonate(dic, ta, tk, s, ph_guess=guess)
        err = np.abs(r.ph - ref)
        assert err.max() < 1e-8, f"start {guess if np.ndim(guess) == 0 else 'ref+0.3'}: max error {err.max():.2e}"
        assert r.iterations.max() < 40


def test_warm_start_saves_iterations():
    rng = np.random.default_rng(5)
    dic, ta = rng.uniform(1800e-6, 2200e-6, 2000), rng.uniform(2200e-6, 2400e-6, 2000)
    tk, s = rng.uniform(0, 30, 2000) + 273.15, rng.uniform(32, 37, 2000)
    cold = cb.solve_carbonate(dic, ta, tk, s)
    warm = cb.solve_carbonate(dic * 1.0001, ta, tk, s, ph_guess=cold.ph)
    assert warm.iterations.mean() < cold.iterations.mean()


def test_revelle_factor_by_finite_difference():
    dic, ta, tk, s = 2000e-6, 2300e-6, 288.15, 35.0
    eps = 1e-9
    up = cb.solve_carbonate(dic + eps, ta, tk, s)
    dn = cb.solve_carbonate(dic - eps, ta, tk, s)
    mid = cb.solve_carbonate(dic, ta, tk, s)
    fd = (np.log(up.fco2) - np.log(dn.fco2)) / (np.log(dic + eps) - np.log(dic - eps))
    assert float(mid.revelle) == pytest.approx(float(fd), rel=1e-5)
    assert 8.0 < float(mid.revelle) < 15.0


def test_output_shape_and_speciation_closure():
    dic = np.full((3, 5), 2050e-6)
    r = cb.solve_carbonate(dic, 2350e-6, np.linspace(275, 300, 5), 35.0)
    assert r.ph.shape == (3, 5)
    np.testing.assert_allclose(r.co2 + r.hco3 + r.co3, dic, rtol=1e-13)


# ---- bad input -------------------------------------------------------------------------------------------------------
def test_negative_dic_names_field_and_cell():
    dic = np.full((2, 3), 2000e-6)
    dic[1, 2] = -1e-6
    with pytest.raises(InputDataError, match=r"DIC = .* at cell \(1, 2\)"):
        cb.solve_carbonate(dic, 2300e-6, 290.0, 35.0)


def test_nonpositive_alkalinity():
    with pytest.raises(InputDataError, match="alkalinity"):
        cb.solve_carbonate(2000e-6, [2300e-6, 0.0], 290.0, 35.0)


def test_nan_temperature():
    with pytest.raises(InputDataError, match=r"temperature is nan at cell \(1,\)"):
        cb.solve_carbonate(2000e-6, 2300e-6, [290.0, np.nan], 35.0)


def test_out_of_range_raises_or_clips(caplog):
    with pytest.raises(InputDataError, match=r"salinity = 2 .*cell \(0,\).*outside the range"):
        cb.solve_carbonate(2000e-6, 2300e-6, 290.0, [2.0, 35.0])
    with pytest.raises(InputDataError, match="temperature = 45"):
        cb.solve_carbonate(2000e-6, 2300e-6, 318.15, 35.0)
    with caplog.at_level(logging.WARNING, logger="esm.ocean.carbonate"):
        r = cb.solve_carbonate(2000e-6, 2300e-6, [290.0, 318.15], 35.0, out_of_range="clip")
    assert "clipped" in caplog.text and "temperature" in caplog.text
    ref = cb.solve_carbonate(2000e-6, 2300e-6, 313.15, 35.0)
    assert r.ph[1] == ref.ph


def test_alkalinity_that_cannot_be_bracketed():
    # 0.05 mol/kg alkalinity with no carbon: the root would be above pH 12, not seawater
    with pytest.raises(InputDataError, match="cannot be bracketed"):
        cb.solve_carbonate([2000e-6, 0.0], [2300e-6, 0.05], 290.0, 35.0)


def test_bad_option():
    with pytest.raises(ValueError, match="kf = 'riley'"):
        cb.solve_carbonate(2000e-6, 2300e-6, 290.0, 35.0, kf="riley")
