"""Seawater carbonate chemistry: equilibrium constants (one function per paper) and the pH solver.

Conventions (PyCO2SYS style, Humphreys et al. 2022): every function takes ``temperature``
in kelvin and practical ``salinity`` and broadcasts over any array shape; constants are
stoichiometric, in mol kg-1 of seawater, on the pH scale their paper gives (stated in each
docstring). :func:`equilibrium_constants` converts them all to the total scale, as the
solver uses them.

The Dickson, Sabine & Christian (2007, "DSC07", PICES Special Publication 3, Chapter 5)
check values at S = 35, t = 25 degC are reproduced by these functions (tests/test_ocean_carbonate.py).

The fast path is :func:`solve_carbonate`, a thin checking wrapper around the Cython kernel
``esm._kernels.carbonate`` which evaluates the same formulas inside an OpenMP loop and
solves for pH with a bracketed, safeguarded Newton iteration (Munhoven 2013).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from esm.errors import InputDataError

log = logging.getLogger(__name__)

#: Kelvin at 0 degC.
T0 = 273.15
#: Gas constant [cm3 bar mol-1 K-1] (CODATA 2018), as in PyCO2SYS >= 1.4 (its default).
R_CM3_BAR = 83.14462618

#: Options for the HF dissociation constant and total boron, as accepted by solve_carbonate.
KF_OPTIONS = {"perez87": 0, "dickson79": 1}
BORON_OPTIONS = {"uppstrom74": 0, "lee10": 1}

#: Default range of validity enforced on inputs [degC] and [practical salinity]. The fits
#: themselves span: Weiss 1974 -1..40 degC, S 0..40; Lueker et al. 2000 2..35 degC, S 19..43;
#: Dickson 1990 KB and KS 0..45 degC, S 5..45; Millero 1995 KW 0..45 degC, S 0..45;
#: Perez & Fraga 1987 9..33 degC, S 10..40. The default admits the sea-water freezing point
#: (-1.9 degC at S = 35) and open-ocean surface salinities; values further out are an error
#: (or, with ``out_of_range='clip'``, clipped with a logged warning).
TEMPERATURE_RANGE_C = (-2.5, 40.0)
SALINITY_RANGE = (5.0, 45.0)


# ---------------------------------------------------------------------------------------------
# Totals from salinity
# ---------------------------------------------------------------------------------------------
def total_boron_uppstrom74(salinity):
    """Total boron [mol kg-1] from salinity: 0.0004157 S / 35 (Uppstrom 1974, Deep-Sea Res. 21,
    161; the value adopted by DSC07 and PyCO2SYS; 415.7 umol kg-1 at S = 35)."""
    return 0.0004157 * np.asarray(salinity, dtype=float) / 35.0


def total_boron_lee10(salinity):
    """Total boron [mol kg-1] from salinity: 0.0004326 S / 35 (Lee et al. 2010, Geochim.
    Cosmochim. Acta 74, 1801; 432.6 umol kg-1 at S = 35)."""
    return 0.0004326 * np.asarray(salinity, dtype=float) / 35.0


def total_sulfate_morris66(salinity):
    """Total sulfate [mol kg-1]: (0.14 / 96.062) (S / 1.80655) (Morris & Riley 1966, Deep-Sea
    Res. 13, 699)."""
    return (0.14 / 96.062) * np.asarray(salinity, dtype=float) / 1.80655


def total_fluoride_riley65(salinity):
    """Total fluoride [mol kg-1]: (0.000067 / 18.998) (S / 1.80655) (Riley 1965, Deep-Sea Res.
    12, 219)."""
    return (0.000067 / 18.998) * np.asarray(salinity, dtype=float) / 1.80655


def ionic_strength_doe94(salinity):
    """Ionic strength [mol kg-H2O-1]: 19.924 S / (1000 - 1.005 S) (DOE 1994 Handbook, ch. 5)."""
    s = np.asarray(salinity, dtype=float)
    return 19.924 * s / (1000.0 - 1.005 * s)


def _kgsw(salinity):
    """mol kg-H2O-1 -> mol kg-SW-1 factor, 1 - 0.001005 S (DSC07)."""
    return 1.0 - 0.001005 * np.asarray(salinity, dtype=float)


# ---------------------------------------------------------------------------------------------
# Equilibrium constants
# ---------------------------------------------------------------------------------------------
def k0_weiss74(temperature, salinity):
    """CO2 solubility K0 = [CO2*] / fCO2 [mol kg-1 atm-1].

    Weiss (1974, Mar. Chem. 2, 203), eq. 12 with the mol kg-1 coefficients of Table 1.
    DSC07 check value: ln K0 = -3.5617 at S = 35, 25 degC.
    """
    t100 = np.asarray(temperature, dtype=float) / 100.0
    s = np.asarray(salinity, dtype=float)
    return np.exp(-60.2409 + 93.4517 / t100 + 23.3585 * np.log(t100)
                  + s * (0.023517 - 0.023656 * t100 + 0.0047036 * t100**2))


def k1_lueker00(temperature, salinity):
    """First carbonic-acid dissociation constant K1 [mol kg-1], total scale.

    Lueker, Dickson & Keeling (2000, Mar. Chem. 70, 105), eq. 11 (Mehrbach data refitted).
    DSC07 check value: log10 K1 = -5.8472.
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    pk1 = 3633.86 / tk - 61.2172 + 9.6777 * np.log(tk) - 0.011555 * s + 0.0001152 * s**2
    return 10.0 ** -pk1


def k2_lueker00(temperature, salinity):
    """Second carbonic-acid dissociation constant K2 [mol kg-1], total scale.

    Lueker, Dickson & Keeling (2000), eq. 12. DSC07 check value: log10 K2 = -8.9660.
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    pk2 = 471.78 / tk + 25.929 - 3.16967 * np.log(tk) - 0.01781 * s + 0.0001122 * s**2
    return 10.0 ** -pk2


def kb_dickson90(temperature, salinity):
    """Boric-acid dissociation constant KB [mol kg-1], total scale.

    Dickson (1990b, Deep-Sea Res. 37, 755), eq. 23. DSC07 check value: ln KB = -19.7964.
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    sq = np.sqrt(s)
    return np.exp((-8966.90 - 2890.53 * sq - 77.942 * s + 1.728 * sq * s - 0.0996 * s**2) / tk
                  + 148.0248 + 137.1942 * sq + 1.62142 * s
                  + (-24.4344 - 25.085 * sq - 0.2474 * s) * np.log(tk) + 0.053105 * sq * tk)


def kw_millero95(temperature, salinity):
    """Water ion product KW [(mol kg-1)^2], seawater (SWS) scale.

    Millero (1995, Geochim. Cosmochim. Acta 59, 661), with the constant term 148.9802 of the
    seawater-scale fit. DSC07 print the same fit on the total scale as 148.9652 (i.e. ln KW
    shifted by -0.015) with check value ln KW = -30.434; :func:`equilibrium_constants`
    instead converts with the exact SWS->total factor (1 + ST/KS)/(1 + ST/KS + FT/KF), as
    PyCO2SYS does, which gives ln KW(total) = -30.441 at S = 35, 25 degC.
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    return np.exp(148.9802 - 13847.26 / tk - 23.6521 * np.log(tk)
                  + (-5.977 + 118.67 / tk + 1.0495 * np.log(tk)) * np.sqrt(s) - 0.01615 * s)


def ks_dickson90(temperature, salinity):
    """Bisulfate dissociation constant KS [mol kg-SW-1], free scale.

    Dickson (1990a, J. Chem. Thermodyn. 22, 113), eqs. 22-23, converted from mol kg-H2O-1
    with 1 - 0.001005 S. DSC07 check value: ln KS = -2.30 (this function: -2.2996).
    """
    tk = np.asarray(temperature, dtype=float)
    ion = ionic_strength_doe94(salinity)
    lnt = np.log(tk)
    lnks = (-4276.1 / tk + 141.328 - 23.093 * lnt
            + (-13856.0 / tk + 324.57 - 47.986 * lnt) * np.sqrt(ion)
            + (35474.0 / tk - 771.54 + 114.723 * lnt) * ion
            - 2698.0 / tk * ion**1.5 + 1776.0 / tk * ion**2)
    return np.exp(lnks) * _kgsw(salinity)


def kf_perez87(temperature, salinity):
    """Hydrogen-fluoride dissociation constant KF [mol kg-1], total scale (as DSC07 give it).

    Perez & Fraga (1987, Mar. Chem. 21, 161): ln KF = 874/T - 9.68 + 0.111 S^0.5.
    DSC07 check value: ln KF = -6.09 (this function: -6.0919). Fitted for 9-33 degC, S 10-40.
    That the fit is on the total scale is stated by DSC07 (and followed by SolveSAPHE, Munhoven
    2013, and seacarb); :func:`equilibrium_constants` divides by 1 + ST/KS to get the free-scale
    constant. PyCO2SYS 1.8.3.4 (opt_k_fluoride=2) uses the same expression as a free-scale
    constant; through the SWS->total conversion of KW this shifts pH by up to ~7e-5 at 25 degC
    (tests compare with PyCO2SYS by passing it our free-scale KF).
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    return np.exp(874.0 / tk - 9.68 + 0.111 * np.sqrt(s))


def kf_dickson79(temperature, salinity):
    """Hydrogen-fluoride dissociation constant KF [mol kg-SW-1], free scale.

    Dickson & Riley (1979, Mar. Chem. 7, 89): ln KF = 1590.2/T - 12.641 + 1.525 I^0.5,
    converted from mol kg-H2O-1 with 1 - 0.001005 S (the PyCO2SYS default, opt_k_fluoride=1).
    """
    tk = np.asarray(temperature, dtype=float)
    ion = ionic_strength_doe94(salinity)
    return np.exp(1590.2 / tk - 12.641 + 1.525 * np.sqrt(ion)) * _kgsw(salinity)


def kp_yao95(temperature, salinity):
    """Phosphoric-acid dissociation constants (KP1, KP2, KP3) [mol kg-1], seawater scale.

    Yao & Millero (1995, Aquat. Geochem. 1, 53), as in Millero (1995) and CO2SYS.
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    sq = np.sqrt(s)
    lnt = np.log(tk)
    kp1 = np.exp(-4576.752 / tk + 115.54 - 18.453 * lnt + (-106.736 / tk + 0.69171) * sq
                 + (-0.65643 / tk - 0.01844) * s)
    kp2 = np.exp(-8814.715 / tk + 172.1033 - 27.927 * lnt + (-160.34 / tk + 1.3566) * sq
                 + (0.37335 / tk - 0.05778) * s)
    kp3 = np.exp(-3070.75 / tk - 18.126 + (17.27039 / tk + 2.81197) * sq
                 + (-44.99486 / tk - 0.09984) * s)
    return kp1, kp2, kp3


def ksi_yao95(temperature, salinity):
    """Silicic-acid dissociation constant KSi [mol kg-SW-1], seawater scale.

    Yao & Millero (1995), given in mol kg-H2O-1 and converted with 1 - 0.001005 S.
    """
    tk = np.asarray(temperature, dtype=float)
    ion = ionic_strength_doe94(salinity)
    return np.exp(-8904.2 / tk + 117.4 - 19.334 * np.log(tk) + (-458.79 / tk + 3.5913) * np.sqrt(ion)
                  + (188.74 / tk - 1.5998) * ion + (-12.1652 / tk + 0.07871) * ion**2) * _kgsw(salinity)


def fugacity_factor_weiss74(temperature, pressure_atm=1.0):
    """fCO2 / pCO2 [1] of CO2 in moist air at total pressure ``pressure_atm`` [atm].

    Weiss (1974) virial coefficient B(T) and cross term delta(T) [cm3 mol-1]:
    exp((B + 2 delta) P / (R T)), neglecting (1 - xCO2)^2 ~ 1 (as DSC07 and PyCO2SYS do).
    """
    tk = np.asarray(temperature, dtype=float)
    b = -1636.75 + 12.0408 * tk - 0.0327957 * tk**2 + 3.16528e-5 * tk**3
    delta = 57.7 - 0.118 * tk
    return np.exp((b + 2.0 * delta) * 1.01325 * np.asarray(pressure_atm, dtype=float) / (R_CM3_BAR * tk))


def vapour_pressure_weiss80(temperature, salinity):
    """Water-vapour pressure over seawater [atm].

    Weiss & Price (1980, Mar. Chem. 8, 347), eq. 10:
    ln pH2O = 24.4543 - 67.4509 (100/T) - 4.8489 ln(T/100) - 0.000544 S.
    """
    tk = np.asarray(temperature, dtype=float)
    s = np.asarray(salinity, dtype=float)
    return np.exp(24.4543 - 67.4509 * (100.0 / tk) - 4.8489 * np.log(tk / 100.0) - 0.000544 * s)


def equilibrium_constants(temperature, salinity, kf: str = "perez87", boron: str = "uppstrom74") -> dict:
    """Every constant the solver uses, all on the total pH scale except KS and KF (free).

    Returns a dict with k0, k1, k2, kb, kw, ks, kf, kp1, kp2, kp3, ksi, bt, st, ft,
    free2tot (1 + ST/KS) and fugfac (at 1 atm). The same formulas run inside the kernel.
    """
    _option(kf, KF_OPTIONS, "kf")
    _option(boron, BORON_OPTIONS, "boron")
    st = total_sulfate_morris66(salinity)
    ft = total_fluoride_riley65(salinity)
    ks = ks_dickson90(temperature, salinity)
    free2tot = 1.0 + st / ks
    kf_free = kf_dickson79(temperature, salinity) if kf == "dickson79" else kf_perez87(temperature, salinity) / free2tot
    sws2tot = free2tot / (free2tot + ft / kf_free)
    kp1, kp2, kp3 = kp_yao95(temperature, salinity)
    bt = total_boron_lee10(salinity) if boron == "lee10" else total_boron_uppstrom74(salinity)
    return {
        "k0": k0_weiss74(temperature, salinity), "k1": k1_lueker00(temperature, salinity),
        "k2": k2_lueker00(temperature, salinity), "kb": kb_dickson90(temperature, salinity),
        "kw": kw_millero95(temperature, salinity) * sws2tot, "ks": ks, "kf": kf_free,
        "kp1": kp1 * sws2tot, "kp2": kp2 * sws2tot, "kp3": kp3 * sws2tot,
        "ksi": ksi_yao95(temperature, salinity) * sws2tot, "bt": bt, "st": st, "ft": ft,
        "free2tot": free2tot, "fugfac": fugacity_factor_weiss74(temperature),
    }


def alkalinity_from_ph(dic, ph, constants: dict, phosphate=0.0, silicate=0.0):
    """Total alkalinity [mol kg-1] of a state given DIC and pH (total scale) (Dickson 1981
    definition, as in DSC07 and PyCO2SYS). Used to verify solved states."""
    c = constants
    h = 10.0 ** -np.asarray(ph, dtype=float)
    d = h * h + c["k1"] * h + c["k1"] * c["k2"]
    alk = np.asarray(dic) * (c["k1"] * h + 2 * c["k1"] * c["k2"]) / d
    alk = alk + c["bt"] * c["kb"] / (c["kb"] + h) + c["kw"] / h - h / c["free2tot"]
    alk = alk - c["st"] / (1 + c["ks"] * c["free2tot"] / h) - c["ft"] / (1 + c["kf"] * c["free2tot"] / h)
    p1, p2, p3 = c["kp1"], c["kp1"] * c["kp2"], c["kp1"] * c["kp2"] * c["kp3"]
    alk = alk + phosphate * (p2 * h + 2 * p3 - h**3) / (h**3 + p1 * h * h + p2 * h + p3)
    alk = alk + silicate * c["ksi"] / (c["ksi"] + h)
    return alk


# ---------------------------------------------------------------------------------------------
# Solver
# ---------------------------------------------------------------------------------------------
@dataclass
class CarbonateSystem:
    """A solved carbonate system; arrays have the broadcast shape of the inputs.

    Units: concentrations mol kg-1, fCO2 and pCO2 atm (at 1 atm total pressure),
    K0 mol kg-1 atm-1, pH on the total scale, Revelle factor dimensionless.
    """

    ph: np.ndarray
    co2: np.ndarray
    fco2: np.ndarray
    pco2: np.ndarray
    hco3: np.ndarray
    co3: np.ndarray
    revelle: np.ndarray
    k0: np.ndarray
    iterations: np.ndarray


def _option(value, options, name):
    if value not in options:
        raise ValueError(f"{name} = {value!r} is not one of {', '.join(map(repr, options))}")
    return options[value]


def _cell(shape, flat_index):
    return tuple(int(i) for i in np.unravel_index(int(flat_index), shape)) if shape else ()


def _check_range(name, values, lo, hi, units, shape, out_of_range, where):
    bad = ~((values >= lo) & (values <= hi))
    if not bad.any():
        return values
    nonfinite = ~np.isfinite(values)
    if nonfinite.any():
        i = int(np.flatnonzero(nonfinite)[0])
        raise InputDataError(f"{where}{name} is {float(values[i])!r} at cell {_cell(shape, i)}; expected finite "
                             f"values in [{lo:g}, {hi:g}] {units}")
    if out_of_range == "clip":
        i = int(np.flatnonzero(bad)[0])
        log.warning("%s%s outside the range of the constants' fits [%g, %g] %s in %d cell(s) (first: %r at "
                    "cell %s); clipped", where, name, lo, hi, units, int(bad.sum()), float(values[i]),
                    _cell(shape, i))
        return np.clip(values, lo, hi)
    i = int(np.flatnonzero(bad)[0])
    raise InputDataError(f"{where}{name} = {values[i]:g} {units} at cell {_cell(shape, i)} is outside the range "
                         f"of the equilibrium constants' fits [{lo:g}, {hi:g}] {units} ({int(bad.sum())} cell(s))")


def solve_carbonate(dic, alkalinity, temperature, salinity, phosphate=0.0, silicate=0.0, ph_guess=None, *,
                    kf: str = "perez87", boron: str = "uppstrom74", tol_ph: float = 1.0e-8,
                    maxiter: int = 100, temperature_range=TEMPERATURE_RANGE_C, salinity_range=SALINITY_RANGE,
                    out_of_range: str = "raise", where: str = "") -> CarbonateSystem:
    """Solve seawater carbonate chemistry from DIC and total alkalinity.

    Parameters
    ----------
    dic, alkalinity : dissolved inorganic carbon and total alkalinity [mol kg-1].
    temperature : [K]. salinity : practical salinity.
    phosphate, silicate : total phosphate and silicate [mol kg-1] (optional).
    ph_guess : previous pH (total scale) to warm-start from; ignored where outside the bracket.
    kf : 'perez87' (Perez & Fraga 1987, DSC07's choice, default) or 'dickson79' (Dickson & Riley 1979,
        PyCO2SYS's default).
    boron : 'uppstrom74' (default) or 'lee10'.
    tol_ph : stop when a Newton step changes pH by less than this.
    out_of_range : 'raise' (InputDataError naming the field and cell) or 'clip' (clip temperature and
        salinity into range with a logged warning). Negative DIC, non-positive alkalinity and non-finite
        values always raise.
    where : prefix for error messages (e.g. the component and time).

    Returns
    -------
    CarbonateSystem

    Raises
    ------
    InputDataError
        for out-of-range inputs or a state whose alkalinity cannot be bracketed in pH 3..12.
    """
    from esm._kernels import carbonate as _k

    kf_opt = _option(kf, KF_OPTIONS, "kf")
    bt_opt = _option(boron, BORON_OPTIONS, "boron")
    if out_of_range not in ("raise", "clip"):
        raise ValueError(f"out_of_range = {out_of_range!r}; expected 'raise' or 'clip'")
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in
                                   (dic, alkalinity, temperature, salinity, phosphate, silicate,
                                    -1.0 if ph_guess is None else ph_guess)))
    shape = arrays[0].shape
    flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrays]
    d, ta, tk, s, pt, sit, phg = flat
    if where and not where.endswith(": "):
        where = where + ": "
    tc = tk - T0
    tc_checked = _check_range("temperature", tc, temperature_range[0], temperature_range[1], "degC", shape,
                              out_of_range, where)
    if tc_checked is not tc:
        tk = np.ascontiguousarray(tc_checked + T0)
    s = np.ascontiguousarray(_check_range("salinity", s, salinity_range[0], salinity_range[1], "", shape,
                                          out_of_range, where))
    for name, v, lo in (("DIC", d, 0.0), ("phosphate", pt, 0.0), ("silicate", sit, 0.0)):
        bad = ~(v >= lo) | ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputDataError(f"{where}{name} = {float(v[i])!r} mol kg-1 at cell {_cell(shape, i)}; expected a finite "
                                 "value >= 0")
    bad = ~(ta > 0.0) | ~np.isfinite(ta)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{where}alkalinity = {float(ta[i])!r} mol kg-1 at cell {_cell(shape, i)}; expected a "
                             "finite value > 0")
    phg = np.where(np.isfinite(phg), phg, -1.0)
    n = d.size
    out = np.empty((8, n))
    status = np.empty(n, dtype=np.int8)
    iters = np.empty(n, dtype=np.int32)
    _k.solve(tk, s, d, ta, pt, sit, phg, kf_opt, bt_opt, float(tol_ph), int(maxiter), out, status, iters)
    if status.any():
        i = int(np.flatnonzero(status)[0])
        what = ("the pH iteration did not converge" if status[i] == 1 else
                "no pH between 3 and 12 matches this alkalinity (it cannot be bracketed)")
        raise InputDataError(f"{where}{what} at cell {_cell(shape, i)}: DIC = {d[i] * 1e6:.6g} umol kg-1, "
                             f"alkalinity = {ta[i] * 1e6:.6g} umol kg-1, t = {tk[i] - T0:.4g} degC, S = {s[i]:.4g} "
                             f"({int((status != 0).sum())} cell(s))")
    r = [o.reshape(shape) for o in out]
    return CarbonateSystem(ph=r[0], co2=r[1], fco2=r[2], pco2=r[3], hco3=r[4], co3=r[5], revelle=r[6], k0=r[7],
                           iterations=iters.reshape(shape))


def kernel_constants(temperature, salinity, kf: str = "perez87", boron: str = "uppstrom74") -> dict:
    """The constants as the kernel computes them (for testing against :func:`equilibrium_constants`)."""
    from esm._kernels import carbonate as _k

    tk = np.ascontiguousarray(np.asarray(temperature, dtype=np.float64).reshape(-1))
    s = np.ascontiguousarray(np.broadcast_to(np.asarray(salinity, dtype=np.float64), np.shape(temperature)).reshape(-1))
    out = np.empty((16, tk.size))
    _k.constants(tk, s, _option(kf, KF_OPTIONS, "kf"), _option(boron, BORON_OPTIONS, "boron"), out)
    names = ("k0", "k1", "k2", "kb", "kw", "ks", "kf", "kp1", "kp2", "kp3", "ksi", "bt", "st", "ft",
             "free2tot", "fugfac")
    return {k: out[i].reshape(np.shape(temperature)) for i, k in enumerate(names)}
