"""BEPS two-leaf canopy photosynthesis: pure numpy reference functions.

Each function implements one published relation (named in its docstring) and broadcasts over
array arguments. The Cython kernel :mod:`esm._kernels.beps` repeats the same arithmetic for all
tiles of all cells; ``tests/test_land_kernel.py`` checks that both agree.

Units: irradiance W m-2 (or umol m-2 s-1 of photons where said), temperatures K, conductances
mol m-2 s-1, CO2 as dry-air mole fraction in umol mol-1, rates umol m-2 (leaf) s-1. Farquhar
kinetics are in partial pressures (Kc in ubar, Ko and O2 in mbar); with surface pressure ``P`` (bar)
they become mole fractions ``K / P``, so photosynthesis responds to altitude.
"""
from __future__ import annotations

import numpy as np

R_GAS = 8.314462618  # J mol-1 K-1
T25 = 298.15  # K
#: Ratio of the diffusivities of H2O and CO2 through stomata (Ball-Berry conductance is for H2O).
RATIO_STOMATA = 1.6
#: Same ratio through the leaf boundary layer (Campbell & Norman 1998: 1.37).
RATIO_BOUNDARY = 1.37


# ---- radiation ----------------------------------------------------------------------------------
def sunlit_lai_chen1999(lai, cos_sza, clumping, g=0.5):
    """Sunlit leaf area index, Chen et al. (1999, Ecol. Model. 124, eq. 6 with G = 0.5):

        L_sun = (cos theta / G) [1 - exp(-G Omega L / cos theta)]  (= 2 cos theta [...] for G = 0.5),

    the leaf area that intercepts the direct beam in a clumped canopy. Zero when the sun is down.
    """
    lai, mu, om = np.broadcast_arrays(np.asarray(lai, float), np.asarray(cos_sza, float), np.asarray(clumping, float))
    out = np.zeros(lai.shape)
    day = mu > 0
    out[day] = mu[day] / g * -np.expm1(-g * om[day] * lai[day] / mu[day])
    return out


def leaf_irradiance_chen1999(s_dir, s_dif, lai, cos_sza, clumping, g=0.5, stem_area=0.0):
    """Mean irradiance on sunlit and shaded leaves, Chen et al. (1999, eqs. 7-10), with the diffuse shared by leaves
    and stems as in BEPS (netRadiation.c: the plant area index P = L + S, S the woody area):

        S_shade = (S_dif - S_dif,under) / P + C,   S_dif,under = S_dif exp(-G Omega P / cos theta_bar),
        cos theta_bar = 0.537 + 0.025 L,           C = 0.07 Omega S_dir (1.1 - 0.1 P) exp(-cos theta),
        S_sun = S_dir cos(alpha) / cos theta + S_shade,  cos(alpha) = G (mean leaf-sun angle 60 deg).

    With ``stem_area`` = 0 this is Chen et al. (1999) with P = L. Stems intercept part of the sky's diffuse
    radiation (BEPS: S = 0.2 LAI_max), so a leaf receives the intercepted diffuse per unit plant area, not per
    unit leaf area. ``C`` (multiple scattering of the beam) is taken as zero where ``1.1 - 0.1 P < 0`` (P > 11),
    outside the range the relation was derived for. Returns ``(S_sun, S_shade)`` per unit leaf area.
    """
    s_dir, s_dif, lai, mu, om, st = np.broadcast_arrays(*(np.asarray(x, float) for x in
                                                          (s_dir, s_dif, lai, cos_sza, clumping, stem_area)))
    pai = lai + st
    cos_bar = 0.537 + 0.025 * lai
    under = s_dif * np.exp(-g * om * pai / cos_bar)
    c = 0.07 * om * s_dir * np.maximum(1.1 - 0.1 * pai, 0.0) * np.exp(-np.maximum(mu, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        shade = np.where(lai > 0, (s_dif - under) / np.where(lai > 0, pai, 1.0), 0.0) + c
        sun = np.where(mu > 0, s_dir * g / np.where(mu > 0, mu, 1.0), 0.0) + shade
    day = mu > 0
    return np.where(day, sun, 0.0), np.where(day, shade, 0.0)


def vcmax_sunlit_shaded_chen2012(v_top, lai, cos_sza, clumping, kn, g=0.5, form="chen2012"):
    """Mean Vcmax of sunlit and shaded leaves from the exponential nitrogen profile (Chen et al. 2012).

    Vcmax at cumulative LAI ``x`` is ``V0 exp(-kn x)`` (leaf N declines with depth); ``K = G Omega / cos theta``.
    The sunlit mean (both forms) is

        V_sun = V0 K [1 - exp(-(kn + K) L)] / ((kn + K) [1 - exp(-K L)]).

    ``form = 'chen2012'`` (the published equation, as BEPS Vcmax_Jmax):

        V_shade = V0 ([1 - exp(-kn L)] / kn - [1 - exp(-(kn + K) L)] / (kn + K)) / (L - [1 - exp(-K L)] / K),

    i.e. the sunlit sum and area taken without the factor Omega; then V_sun L_sun + V_shade L_shade is below the
    canopy total V0 [1 - exp(-kn L)] / kn (by a few per cent for forests).
    ``form = 'conserving'``: the sunlit leaf area at depth ``x`` is ``Omega exp(-K x) dx`` (it integrates to the
    Chen et al. 1999 sunlit LAI), so

        V_shade = (V0 [1 - exp(-kn L)] / kn - Omega V0 [1 - exp(-(kn + K) L)] / (kn + K)) / (L - L_sun),

    and ``V_sun L_sun + V_shade L_shade`` equals the canopy total. With the sun down both are the canopy mean.
    Returns ``(V_sun, V_shade)``.
    """
    if form not in ("chen2012", "conserving"):
        raise ValueError(f"vcmax partition form {form!r}; expected 'chen2012' or 'conserving'")
    v0, lai, mu, om = np.broadcast_arrays(*(np.asarray(x, float) for x in (v_top, lai, cos_sza, clumping)))
    lai_c = np.maximum(lai, 1e-6)
    total = v0 * _int_exp(kn, lai_c)  # V0 (1 - exp(-kn L)) / kn
    mean = total / lai_c
    day = mu > 0
    mu_d = np.where(day, mu, 1.0)
    k = g * om / mu_d
    l_sun = sunlit_lai_chen1999(lai_c, mu_d, om, g)
    sun_sum = om * v0 * _int_exp(kn + k, lai_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_sun = np.where(l_sun > 0, sun_sum / l_sun, v0)
        if form == "chen2012":
            l_sh = lai_c - l_sun / om
            sh_sum = total - sun_sum / om
        else:
            l_sh = lai_c - l_sun
            sh_sum = total - sun_sum
        v_sh = np.where(l_sh > 1e-9 * lai_c, sh_sum / np.where(l_sh > 0, l_sh, 1.0), mean)
    return np.where(day, v_sun, mean), np.where(day, v_sh, mean)


def _int_exp(k, lai):
    """(1 - exp(-k L)) / k, with its limit L at k = 0."""
    k = np.asarray(k, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k * lai > 1e-10, -np.expm1(-k * lai) / np.where(k > 0, k, 1.0), lai)


# ---- temperature responses ----------------------------------------------------------------------
def arrhenius(t_k, ea, tref=T25):
    """Arrhenius factor exp(Ea (T - Tref) / (R Tref T)) (e.g. Harley et al. 1992; BEPS TEMP_FUNC)."""
    t_k = np.asarray(t_k, float)
    return np.exp(ea * (t_k - tref) / (R_GAS * tref * t_k))


def peaked_arrhenius(t_k, ea, hd, topt):
    """Peaked temperature function normalised to 1 at 25 C (Harley & Baldocchi 1995; Medlyn et al. 2002
    eq. 18 in the T_opt form; BEPS TBOLTZ):

        g(T) = Hd exp(Ea (T - Topt) / (R Topt T)) / (Hd - Ea [1 - exp(Hd (T - Topt) / (R Topt T))]),
        f(T) = g(T) / g(298.15 K).

    (BEPS applies g with Vcmax25 as the rate at Topt; normalising at 25 C keeps Vcmax25 what its name
    says, a 5 % difference at 25 C.)
    """
    def g(t):
        x = (t - topt) / (R_GAS * topt * t)
        return hd * np.exp(ea * x) / (hd - ea * (1.0 - np.exp(hd * x)))
    return g(np.asarray(t_k, float)) / g(T25)


def q10_factor(t_c, q10, tref=25.0):
    """Q10 response q10^((T - Tref) / 10)."""
    return np.power(q10, (np.asarray(t_c, float) - tref) / 10.0)


def saturation_vapour_pressure(t_k):
    """Saturation vapour pressure over water [Pa], Tetens (1930) in the form of Murray (1967)."""
    t_c = np.asarray(t_k, float) - 273.15
    return 610.78 * np.exp(17.27 * t_c / (t_c + 237.3))


def relative_humidity(t_k, vpd):
    """Relative humidity from temperature and vapour-pressure deficit, 1 - VPD / e_s(T), within [0, 1]."""
    return np.clip(1.0 - np.asarray(vpd, float) / saturation_vapour_pressure(t_k), 0.0, 1.0)


# ---- soil water -------------------------------------------------------------------------------
def soil_water_stress_ju2006(theta, porosity, b, psi_sat, psi_min, alpha, t_soil_c, c_t=0.02, fw_min=0.1):
    """Soil-water stress factor on stomatal conductance (Ju et al. 2006; Chen et al. 2012 eq. 12; BEPS):

        psi = psi_sat (theta / porosity)^-b            (Campbell 1974, matric suction, m),
        f_psi = 1 / (1 + ((psi - psi_min) / psi_min)^alpha)   for psi > psi_min, else 1,
        f_T = 1 - exp(-c T_soil^2) for T_soil > 0 C, else 0    (cold / frozen soil),
        f_w = max(fw_min, f_psi f_T).
    """
    theta = np.asarray(theta, float)
    psi = psi_sat * np.power(np.maximum(theta, 1e-6) / porosity, -b)
    with np.errstate(invalid="ignore"):
        f_psi = np.where(psi > psi_min, 1.0 / (1.0 + np.power(np.maximum(psi - psi_min, 0.0) / psi_min, alpha)), 1.0)
    t = np.asarray(t_soil_c, float)
    f_t = np.where(t > 0.0, -np.expm1(-c_t * t * t), 0.0)
    return np.maximum(fw_min, f_psi * f_t)


# ---- C3 photosynthesis: Farquhar, von Caemmerer & Berry (1980) ------------------------------------
def electron_transport(i_abs, jmax, curvature=2.1):
    """Potential electron transport J = Jmax I / (I + c Jmax) (rectangular form used by BEPS, after
    Farquhar & von Caemmerer 1982), ``I`` absorbed photon flux [umol m-2 s-1]."""
    i_abs = np.asarray(i_abs, float)
    jmax = np.asarray(jmax, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(i_abs > 0, jmax * i_abs / (i_abs + curvature * jmax), 0.0)


def farquhar_rates(ci, vcmax, j, km, gamma_star):
    """Rubisco- and RuBP-limited net carboxylation (Farquhar et al. 1980 eqs. 42, 43; mole-fraction units):

        Wc = Vcmax (ci - Gamma*) / (ci + Kc (1 + O/Ko)),   Wj = J (ci - Gamma*) / (4 ci + 8 Gamma*).

    Returns ``(Wc, Wj)`` (gross of dark respiration, net of photorespiration)."""
    ci = np.asarray(ci, float)
    return vcmax * (ci - gamma_star) / (ci + km), j * (ci - gamma_star) / (4.0 * ci + 8.0 * gamma_star)


def kinetics_c3(t_leaf_k, p_bar, prm):
    """Kc(1 + O/Ko) and Gamma* as mole fractions [umol mol-1] at leaf temperature and pressure.

    Kc, Ko, tau with Arrhenius temperature functions (BEPS; Harley; Jordan & Ogren 1984);
    Gamma* = 0.5 O / tau (Farquhar et al. 1980). ``prm`` is a LandParameters (or dict-like).
    """
    kc = prm.kc25 * arrhenius(t_leaf_k, prm.ea_kc)  # ubar
    ko = prm.ko25 * arrhenius(t_leaf_k, prm.ea_ko)  # mbar
    tau = prm.tau25 * arrhenius(t_leaf_k, prm.ea_tau)
    o2 = prm.o2_fraction * 1000.0 * np.asarray(p_bar, float)  # mbar
    km = kc * (1.0 + o2 / ko) / p_bar  # umol mol-1
    gamma_star = 0.5 * o2 * 1000.0 / tau / p_bar  # ubar -> umol mol-1
    return km, gamma_star


def cubic_coefficients(ca, gb, k, b0, a, b, e, d, rd):
    """Coefficients (c3, c2, c1, c0) of the cubic in A of the coupled leaf model (Baldocchi 1994):

        A = a (ci - d) / (e ci + b) - Rd,  A = gb (ca - cs),  A = gs (cs - ci),  gs = k A / cs + b0.

    (Wc: a = Vcmax, b = Km, e = 1, d = Gamma*; Wj: a = J, b = 8 Gamma*, e = 4, d = Gamma*; k = m h_s f_w / 1.6,
    b0 = intercept / 1.6, all CO2 quantities.) Derived here by eliminating cs, ci and gs.
    """
    g1 = b0 + gb - gb * k
    c3 = e * g1
    c2 = (rd * e * g1 - a * g1 - b * b0 * gb + b * gb * gb * k - 2.0 * b0 * ca * e * gb
          + ca * e * gb * gb * (k - 1.0))
    c1 = gb * (-rd * b * b0 + rd * b * gb * k - 2.0 * rd * b0 * ca * e + rd * ca * e * gb * (k - 1.0)
               + 2.0 * a * b0 * ca - a * b0 * d - a * ca * gb * (k - 1.0) + a * d * gb * k
               + b * b0 * ca * gb + b0 * ca * ca * e * gb)
    c0 = b0 * ca * gb * gb * (rd * b + rd * ca * e - a * ca + a * d)
    return c3, c2, c1, c0


def _coupled_state(A, ca, gb, k, b0):
    """(cs, gs, ci) on the supply side for a given A (gs = b0 for A <= 0)."""
    cs = ca - A / gb
    gs = b0 + k * np.maximum(A, 0.0) / cs
    ci = cs - A / gs
    return cs, gs, ci


def coupled_c3_cubic(ca, gb, k, b0, a, b, e, d, rd):
    """Net assimilation of one Farquhar limitation coupled with Ball-Berry stomata and a boundary layer,
    solved analytically (the cubic of Baldocchi 1994, roots by the trigonometric/Cardano method).

    The physical root is the one with A > 0, cs > 0 and ci > Gamma*; if there is none (low light: the
    coupled rate would be <= 0) stomata sit at the intercept conductance and A solves the quadratic of
    the fixed-conductance problem (BEPS photosyn_gs.c). Returns A [umol m-2 s-1].
    """
    arrs = np.broadcast_arrays(*(np.asarray(x, float) for x in (ca, gb, k, b0, a, b, e, d, rd)))
    ca, gb, k, b0, a, b, e, d, rd = arrs
    out = np.empty(ca.shape)
    flat = [x.ravel() for x in arrs]
    o = out.ravel()
    for i in range(o.size):
        o[i] = _coupled_c3_scalar(*(x[i] for x in flat))
    return out


def _cubic_real_roots(c3, c2, c1, c0):
    """Real roots of c3 x^3 + c2 x^2 + c1 x + c0 (Numerical Recipes 5.6 trigonometric / Cardano)."""
    p, q, r = c2 / c3, c1 / c3, c0 / c3
    Q = (p * p - 3.0 * q) / 9.0
    R = (2.0 * p ** 3 - 9.0 * p * q + 27.0 * r) / 54.0
    if R * R < Q ** 3:
        th = np.arccos(R / np.sqrt(Q ** 3))
        s = -2.0 * np.sqrt(Q)
        return [s * np.cos(th / 3.0) - p / 3.0, s * np.cos((th + 2 * np.pi) / 3.0) - p / 3.0,
                s * np.cos((th - 2 * np.pi) / 3.0) - p / 3.0]
    aa = -np.sign(R) * np.cbrt(abs(R) + np.sqrt(R * R - Q ** 3))
    bb = Q / aa if aa != 0 else 0.0
    return [aa + bb - p / 3.0]


def _newton_polish(c3, c2, c1, c0, x, steps=2):
    """Two Newton steps on the cubic polynomial (removes the cancellation error of the closed form)."""
    for _ in range(steps):
        f = ((c3 * x + c2) * x + c1) * x + c0
        df = (3.0 * c3 * x + 2.0 * c2) * x + c1
        if df != 0.0:
            x = x - f / df
    return x


def _quadratic_fixed_gs(ca, gb, b0, a, b, e, d, rd):
    """A with stomata at b0: A = gt (ca - ci), gt = 1 / (1/gb + 1/b0), and A = a (ci - d)/(e ci + b) - Rd.

    Substituting ci = ca - A / gt: e A^2 - (e gt ca + b gt + a - e Rd... ) -> the smaller root is physical.
    """
    gt = 1.0 / (1.0 / gb + 1.0 / b0)
    # (A + Rd)(e (ca - A/gt) + b) = a (ca - A/gt - d)  ->  qa A^2 + qb A + qc = 0
    qa = -e / gt
    qb = e * ca + b - rd * e / gt + a / gt
    qc = rd * (e * ca + b) - a * (ca - d)
    if abs(qa) < 1e-300:
        return -qc / qb
    disc = max(qb * qb - 4.0 * qa * qc, 0.0)
    r1 = (-qb + np.sqrt(disc)) / (2.0 * qa)
    r2 = (-qb - np.sqrt(disc)) / (2.0 * qa)
    # physical root: ci = ca - A/gt must exceed -b/e (positive denominator); pick the larger-ci (smaller A) one
    cands = [r for r in (r1, r2) if ca - r / gt > -b / e]
    return min(cands) if cands else min(r1, r2)


def _coupled_c3_scalar(ca, gb, k, b0, a, b, e, d, rd):
    if a <= 0.0:
        return -rd
    c3, c2, c1, c0 = cubic_coefficients(ca, gb, k, b0, a, b, e, d, rd)
    best = None
    if abs(b0 + gb - gb * k) > 1e-9 * gb:
        for r in _cubic_real_roots(c3, c2, c1, c0):
            r = _newton_polish(c3, c2, c1, c0, r)
            if r <= 0.0:
                continue
            cs = ca - r / gb
            if cs <= 0.0:
                continue
            gs = b0 + k * r / cs
            ci = cs - r / gs
            if ci <= d:
                continue
            if best is None or r < best:
                best = r
        if best is not None:
            return best
    else:  # degenerate cubic: fall back to the bracketing solution
        r = coupled_bisection(ca, gb, k, b0, lambda ci: a * (ci - d) / (e * ci + b) - rd, rd, d)
        if r > 0.0:
            return r
    return _quadratic_fixed_gs(ca, gb, b0, a, b, e, d, rd)


def coupled_bisection(ca, gb, k, b0, demand, rd, ci_min, tol=1e-12, maxit=200):
    """Reference solver of the coupled leaf problem by bisection on A (any demand function ``demand(ci)``,
    increasing in ci): h(A) = demand(ci(A)) - A is decreasing, positive at A = -Rd and negative where ci
    falls to ``ci_min``; gs = b0 + k max(A, 0) / cs (Ball & Berry 1987 with the BEPS intercept floor)."""
    lo = -rd
    hi = gb * ca * (1.0 - 1e-12)
    for _ in range(maxit):
        mid = 0.5 * (lo + hi)
        cs, gs, ci = _coupled_state(mid, ca, gb, k, b0)
        h = (demand(ci) - mid) if (cs > 0 and ci > ci_min) else -1.0
        if h > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def leaf_c3(ca, gb, k, b0, vcmax, jmax, i_abs, km, gamma_star, rd, curvature=2.1):
    """Net C3 leaf photosynthesis coupled with stomata: min of the coupled Rubisco-limited, RuBP-limited
    and triose-phosphate (Vcmax / 2, Collatz et al. 1991) rates, as in BEPS. Returns A_net."""
    j = electron_transport(i_abs, jmax, curvature)
    ac = coupled_c3_cubic(ca, gb, k, b0, vcmax, km, 1.0, gamma_star, rd)
    aj = coupled_c3_cubic(ca, gb, k, b0, j, 8.0 * gamma_star, 4.0, gamma_star, rd)
    return np.minimum(np.minimum(ac, aj), 0.5 * np.asarray(vcmax, float) - rd)


# ---- C4 photosynthesis: Collatz, Ribas-Carbo & Berry (1992) --------------------------------------
def c4_temperature(t_leaf_k, q10=2.0):
    """Collatz et al. (1992) temperature factors ``(f_V, f_k, f_Rd)`` of Vmax, k and Rd:

        f_V = q10^((T-25)/10) / ((1 + exp(0.3 (13 - T))) (1 + exp(0.3 (T - 36)))),
        f_k = q10^((T-25)/10),   f_Rd = q10^((T-25)/10) / (1 + exp(1.3 (T - 55)))   (T in C).
    """
    t = np.asarray(t_leaf_k, float) - 273.15
    qf = np.power(q10, (t - 25.0) / 10.0)
    fv = qf / ((1.0 + np.exp(0.3 * (13.0 - t))) * (1.0 + np.exp(0.3 * (t - 36.0))))
    frd = qf / (1.0 + np.exp(1.3 * (t - 55.0)))
    return fv, qf, frd


def c4_gross(ci, vmax, kco2, i_abs, alpha=0.04, theta=0.83, beta=0.93):
    """Gross C4 assimilation (Collatz et al. 1992 eqs. 2-4 with their co-limitation quadratics):

        theta M^2 - M (Vmax + alpha I) + Vmax alpha I = 0,   beta A^2 - A (M + k ci) + M k ci = 0,

    smaller roots; ``k`` in umol m-2 s-1 per (umol mol-1) i.e. mol m-2 s-1, ``ci`` in umol mol-1.
    """
    je = alpha * np.asarray(i_abs, float)
    m = _smaller_root(theta, -(vmax + je), vmax * je)
    kc = kco2 * np.asarray(ci, float)
    return _smaller_root(beta, -(m + kc), m * kc)


def _smaller_root(qa, qb, qc):
    """Smaller root of qa x^2 + qb x + qc with qa > 0, in the cancellation-free form 2 qc / (-qb + sqrt(D))."""
    disc = np.maximum(qb * qb - 4.0 * qa * qc, 0.0)
    den = -qb + np.sqrt(disc)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2.0 * qc / np.where(den > 0, den, 1.0), 0.0)


def leaf_c4(ca, gb, k, b0, vmax, kco2, i_abs, rd, alpha=0.04, theta=0.83, beta=0.93):
    """Net C4 leaf photosynthesis coupled with Ball-Berry stomata (Collatz et al. 1992), iterated to
    convergence by bisection on A (reference solver)."""
    arrs = np.broadcast_arrays(*(np.asarray(x, float) for x in (ca, gb, k, b0, vmax, kco2, i_abs, rd)))
    out = np.empty(arrs[0].shape)
    flat = [x.ravel() for x in arrs]
    o = out.ravel()
    for i in range(o.size):
        c, g, kk, bb, v, kc, ia, r = (x[i] for x in flat)
        if ia <= 0:
            o[i] = -r
            continue
        o[i] = coupled_bisection(c, g, kk, bb, lambda ci: float(c4_gross(ci, v, kc, ia, alpha, theta, beta)) - r,
                                 r, 0.0)
    return out
