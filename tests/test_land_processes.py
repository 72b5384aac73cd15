"""Process functions against values worked by hand from the published equations.

Oracles are written out with ``math`` from the papers' formulas (REFERENCES.md values that were
verified against the BEPS code only; see esm/land/params.py)."""
import math

import numpy as np
import pytest

from esm.land import canopy as cp
from esm.land import intec, phenology, respiration as rs
from esm.land.landcover import PFT_NAMES
from esm.land.params import LandParameters

PRM = LandParameters.from_config()


def test_bepscode_verified_defaults():
    """Clumping and Vcmax25 of the cover types present in the BEPS code, Farquhar constants, Ball-Berry."""
    om = dict(zip(PFT_NAMES, PRM.clumping))
    vc = dict(zip(PFT_NAMES, PRM.vcmax25))
    for name, o, v in (("enf", 0.62, 62.5), ("dnf", 0.68, 39.1), ("dbf", 0.70, 57.7), ("ebf", 0.63, 29.0),
                       ("shrub", 0.70, 57.85), ("c4", 0.73, 30.0)):
        assert om[name] == pytest.approx(o) and vc[name] == pytest.approx(v, abs=0.06)
    assert (PRM.kc25, PRM.ko25, PRM.tau25) == (274.6, 419.8, 2904.12)
    assert (PRM.ea_kc, PRM.ea_ko, PRM.ea_tau) == (80500.0, 14500.0, -29000.0)
    assert (PRM.jmax_slope, PRM.jmax_intercept) == (2.39, -14.2)
    assert list(PRM.bb_slope) == [8.0] * 8 + [4.0] and PRM.bb_intercept == 0.0175
    assert PRM.growth_resp_fraction == 0.35 and (PRM.q10_a, PRM.q10_b) == (3.22, -0.046)


# ---- radiation (Chen et al. 1999) ---------------------------------------------------------------
def test_sunlit_lai_hand_value():
    # L = 3, cos = 0.5, Omega = 0.7: 2 * 0.5 * (1 - exp(-0.5*0.7*3/0.5)) = 1 - e^-2.1
    assert cp.sunlit_lai_chen1999(3.0, 0.5, 0.7) == pytest.approx(1.0 - math.exp(-2.1), rel=1e-14)
    # sparse canopy: nearly Omega * L leaves sunlit; sun down: none
    assert cp.sunlit_lai_chen1999(1e-4, 0.8, 0.6) == pytest.approx(0.6e-4, rel=1e-4)
    assert cp.sunlit_lai_chen1999(3.0, 0.0, 0.7) == 0.0


def test_leaf_irradiance_hand_value():
    s_dir, s_dif, L, mu, om = 400.0, 100.0, 3.0, 0.5, 0.7
    cos_bar = 0.537 + 0.025 * 3
    under = 100.0 * math.exp(-0.5 * 0.7 * 3 / cos_bar)
    c = 0.07 * 0.7 * 400.0 * (1.1 - 0.3) * math.exp(-0.5)
    shade = (100.0 - under) / 3.0 + c
    sun, sh = cp.leaf_irradiance_chen1999(s_dir, s_dif, L, mu, om)
    assert sh == pytest.approx(shade, rel=1e-14)
    assert sun == pytest.approx(400.0 * 0.5 / 0.5 + shade, rel=1e-14)


def test_leaf_irradiance_with_stems_hand_value():
    """BEPS netRadiation.c: the diffuse is intercepted by the plant area P = L + S and shared by it; the
    multiple-scattering term takes P too; cos theta_bar stays that of the leaves."""
    s_dir, s_dif, L, S, mu, om = 400.0, 100.0, 3.0, 0.9, 0.5, 0.7
    P = 3.9
    cos_bar = 0.537 + 0.025 * 3.0
    under = 100.0 * math.exp(-0.5 * 0.7 * P / cos_bar)
    c = 0.07 * 0.7 * 400.0 * (1.1 - 0.1 * P) * math.exp(-0.5)
    shade = (100.0 - under) / P + c
    sun, sh = cp.leaf_irradiance_chen1999(s_dir, s_dif, L, mu, om, 0.5, S)
    assert sh == pytest.approx(shade, rel=1e-14)
    assert sun == pytest.approx(400.0 * 0.5 / 0.5 + shade, rel=1e-14)
    # stems take their share: less diffuse per leaf than with leaves alone
    assert sh < cp.leaf_irradiance_chen1999(s_dir, s_dif, L, mu, om)[1]


def test_vcmax_chen2012_published_hand_value():
    """Chen et al. (2012) / BEPS Vcmax_Jmax: V_shade = V0 [(1-e^{-kn L})/kn - (1-e^{-(kn+K)L})/(kn+K)]
    / [L - (1-e^{-KL})/K], K = G Omega / cos theta."""
    v0, L, mu, om, kn = 80.0, 4.0, 0.6, 0.65, 0.3
    K = 0.5 * om / mu
    e1, e2, e3 = 1 - math.exp(-K * L), 1 - math.exp(-(kn + K) * L), 1 - math.exp(-kn * L)
    vs, vh = cp.vcmax_sunlit_shaded_chen2012(v0, L, mu, om, kn)
    assert vs == pytest.approx(v0 * K * e2 / ((kn + K) * e1), rel=1e-13)
    assert vh == pytest.approx(v0 * (e3 / kn - e2 / (kn + K)) / (L - e1 / K), rel=1e-13)
    # the published shaded mean lies below the canopy-total conserving one (the Omega-free sunlit terms)
    assert vh < cp.vcmax_sunlit_shaded_chen2012(v0, L, mu, om, kn, form="conserving")[1]
    with pytest.raises(ValueError, match="vcmax partition"):
        cp.vcmax_sunlit_shaded_chen2012(v0, L, mu, om, kn, form="nope")


def test_vcmax_profile_conserves_canopy_total():
    v0, L, mu, om, kn = 80.0, 4.0, 0.6, 0.65, 0.3
    vs, vh = cp.vcmax_sunlit_shaded_chen2012(v0, L, mu, om, kn, form="conserving")
    ls = cp.sunlit_lai_chen1999(L, mu, om)
    total = v0 * (1.0 - math.exp(-kn * L)) / kn
    assert vs * ls + vh * (L - ls) == pytest.approx(total, rel=1e-13)
    assert v0 > vs > vh > v0 * math.exp(-kn * L)
    # sunlit mean by hand: V0 K (1 - e^{-(kn+K)L}) / ((kn+K)(1 - e^{-KL})), K = 0.5 Omega / mu
    K = 0.5 * om / mu
    assert vs == pytest.approx(v0 * K * (1 - math.exp(-(kn + K) * L)) / ((kn + K) * (1 - math.exp(-K * L))), rel=1e-13)


# ---- photosynthesis --------------------------------------------------------------------------
def test_temperature_functions_hand_values():
    assert cp.peaked_arrhenius(298.15, 55000.0, 200000.0, 301.0) == pytest.approx(1.0, rel=1e-15)
    # Kc at 35 C: exp(80500 * 10 / (R 298.15 * 308.15))
    assert cp.arrhenius(308.15, 80500.0) == pytest.approx(math.exp(80500 * 10 / (8.314462618 * 298.15 * 308.15)))
    # peaked function has its maximum near Topt and falls at 45 C
    t = np.linspace(280, 320, 401)
    f = cp.peaked_arrhenius(t, 55000.0, 200000.0, 301.0)
    assert 298 < t[np.argmax(f)] < 304 and f[-1] < 0.6 * f.max()


def test_farquhar_limiting_rates_hand_values():
    km, gst = cp.kinetics_c3(298.15, 1.0, PRM)
    # Km = Kc (1 + O/Ko) with O = 209.5 mbar; Gamma* = 0.5 O / tau (ubar = umol/mol at 1 bar)
    assert km == pytest.approx(274.6 * (1 + 209.5 / 419.8), rel=1e-12)
    assert gst == pytest.approx(0.5 * 209500.0 / 2904.12, rel=1e-12)
    jmax = 2.39 * 60.0 - 14.2
    j = cp.electron_transport(500.0, jmax)
    assert j == pytest.approx(jmax * 500.0 / (500.0 + 2.1 * jmax), rel=1e-14)
    wc, wj = cp.farquhar_rates(300.0, 60.0, j, km, gst)
    assert wc == pytest.approx(60.0 * (300 - gst) / (300 + km), rel=1e-14)
    assert wj == pytest.approx(j * (300 - gst) / (4 * 300 + 8 * gst), rel=1e-14)
    # at 0.5 bar (partial pressures halve with the O2 partial pressure): Km = Kc (1 + O/Ko) / P,
    # Gamma* = 0.5 O / tau / P is unchanged as a mole fraction
    km2, gst2 = cp.kinetics_c3(298.15, 0.5, PRM)
    assert km2 == pytest.approx(274.6 * (1 + 0.5 * 209.5 / 419.8) / 0.5, rel=1e-12)
    assert gst2 == pytest.approx(gst, rel=1e-12)


def test_stomatal_coupling_solves_all_four_equations():
    ca, gb, k, b0, rd = 400.0, 1.0 / 1.37, 8 * 0.7 * 0.9 / 1.6, 0.0175 / 1.6, 0.4
    km, gst = cp.kinetics_c3(298.15, 1.0, PRM)
    for a, b, e in ((60.0, km, 1.0), (90.0, 8 * gst, 4.0)):
        A = float(cp.coupled_c3_cubic(ca, gb, k, b0, a, b, e, gst, rd))
        cs = ca - A / gb
        gs = k * A / cs + b0
        ci = cs - A / gs
        assert A > 0
        assert a * (ci - gst) / (e * ci + b) - rd == pytest.approx(A, rel=1e-11)
        ref = cp.coupled_bisection(ca, gb, k, b0, lambda x: a * (x - gst) / (e * x + b) - rd, rd, gst)
        assert A == pytest.approx(ref, rel=1e-10)


def test_ball_berry_ci_ratio_limit():
    """Without boundary layer resistance and intercept, ci/ca = 1 - 1.6 / (m h_s) (Ball et al. 1987)."""
    m, hs = 8.0, 0.8
    k = m * hs / 1.6
    A = float(cp.coupled_c3_cubic(400.0, 1e6, k, 1e-12, 60.0, 700.0, 1.0, 40.0, 0.5))
    cs = 400.0 - A / 1e6
    ci = cs - A / (k * A / cs)
    assert ci / 400.0 == pytest.approx(1.0 - 1.0 / k, rel=1e-6)


def test_low_light_uses_intercept_conductance():
    """When light cannot pay for respiration the stomata stay at b0 and A < 0 (BEPS quadratic)."""
    A = float(cp.coupled_c3_cubic(400.0, 0.73, 3.0, 0.011, 0.3, 300.0, 4.0, 40.0, 0.5))
    assert -0.5 < A < 0
    gt = 1 / (1 / 0.73 + 1 / 0.011)
    ci = 400.0 - A / gt
    assert 0.3 * (ci - 40.0) / (4 * ci + 300.0) - 0.5 == pytest.approx(A, rel=1e-10)


def test_c4_collatz_limits():
    fv, fk, frd = cp.c4_temperature(298.15)
    assert fk == 1.0 and frd == pytest.approx(1.0 / (1 + math.exp(1.3 * (25 - 55))))
    assert fv == pytest.approx(1.0 / ((1 + math.exp(0.3 * (13 - 25))) * (1 + math.exp(0.3 * (25 - 36)))))
    # no light -> no assimilation; saturating light and CO2 -> the Rubisco/light quadratic's root
    assert float(cp.c4_gross(150.0, 39.0, 0.7, 0.0)) == 0.0
    je = 0.04 * 2000.0
    m = ((39 + je) - math.sqrt((39 + je) ** 2 - 4 * 0.83 * 39 * je)) / (2 * 0.83)
    kc = 0.7 * 1e5
    a = ((m + kc) - math.sqrt((m + kc) ** 2 - 4 * 0.93 * m * kc)) / (2 * 0.93)
    assert float(cp.c4_gross(1e5, 39.0, 0.7, 2000.0)) == pytest.approx(a, rel=1e-12)
    assert a == pytest.approx(m, rel=1e-3)
    # coupled C4: solution satisfies demand = supply
    A = float(cp.leaf_c4(400.0, 0.73, 4 * 0.7 / 1.6, 0.011, 30.0, 0.54, 1200.0, 0.6))
    cs = 400.0 - A / 0.73
    ci = cs - A / (0.011 + 4 * 0.7 / 1.6 * A / cs)
    assert float(cp.c4_gross(ci, 30.0, 0.54, 1200.0)) - 0.6 == pytest.approx(A, rel=1e-9)


def test_soil_water_stress_hand_value():
    # psi = 2 psi_min gives f = 1 / (1 + 1^alpha) = 0.5 in warm soil
    por, b, psat, pmin = 0.463, 4.9, 0.13, 33.0
    theta = por * (2 * pmin / psat) ** (-1.0 / b)
    f = cp.soil_water_stress_ju2006(theta, por, b, psat, pmin, 0.4, 30.0)
    assert f == pytest.approx(0.5 * (1 - math.exp(-0.02 * 900)), rel=1e-10)
    assert cp.soil_water_stress_ju2006(por, por, b, psat, pmin, 0.4, 30.0) == pytest.approx(1 - math.exp(-18))
    assert cp.soil_water_stress_ju2006(0.3, por, b, psat, pmin, 0.4, -5.0) == 0.1  # frozen: floor


# ---- respiration -----------------------------------------------------------------------------
def test_respiration_hand_values():
    assert rs.q10_tjoelker2001(15.0) == pytest.approx(3.22 - 0.046 * 15)
    assert rs.maintenance_factor(15.0) == pytest.approx((3.22 - 0.69) ** -1.0)
    assert rs.maintenance_factor(25.0) == 1.0
    assert rs.growth_respiration(10.0, 4.0) == pytest.approx(0.35 * 6.0)
    assert rs.growth_respiration(3.0, 4.0) == 0.0
    leaf, stem, root = rs.allometry_liu2002(4.0, 0.9097, 0.125, 0.05, 0.0, 0.454, 0.0, 0.0)
    agb = 0.9097 * 4 + 0.125 * 16
    assert (leaf, stem, root) == pytest.approx((0.05 * agb, 0.95 * agb, 0.454 * agb))


def test_ryan1991_leaf_respiration_hand_value():
    """Ryan (1991): 0.218 g C g N-1 d-1 at 20 C; Chen (2012) N profile. Hand-worked: L = 4, kn = 0.3,
    N_top = 3 g N m-2 -> N_mean = 3 (1 - e^-1.2) / 1.2 = 1.747015 g N m-2; f(20) = 2.3^-0.5, so at 25 C
    0.218 x 2.3^0.5 x 1.747015 = 0.577586 g C m-2 d-1 per unit leaf area = 0.556589 umol m-2 s-1."""
    n_mean = rs.mean_leaf_n_chen2012(4.0, 3.0, 0.3)
    assert n_mean == pytest.approx(3.0 * (1 - math.exp(-1.2)) / 1.2, rel=1e-12)
    assert n_mean == pytest.approx(1.747015, rel=1e-6)
    assert rs.mean_leaf_n_chen2012(0.0, 3.0, 0.3) == pytest.approx(3.0)
    assert rs.mean_leaf_n_chen2012(2.0, 3.0, 0.0) == pytest.approx(3.0)
    r25 = rs.leaf_maintenance_base_ryan1991(4.0, 3.0, 0.3)
    g_per_day = 0.218 * math.sqrt(2.3) * n_mean
    assert g_per_day == pytest.approx(0.577586, rel=1e-5)
    assert r25 == pytest.approx(g_per_day / 12.0107 * 1e6 / 86400.0, rel=1e-12)
    assert r25 == pytest.approx(0.556589, rel=1e-5)
    # at 20 C the temperature response returns exactly Ryan's rate
    assert r25 * rs.maintenance_factor(20.0) == pytest.approx(0.218 * n_mean / 12.0107 * 1e6 / 86400.0, rel=1e-12)


def test_ryan1991_wood_and_root_respiration_hand_value():
    """Ryan (1991) per unit N with Biome-BGC C:N (White et al. 2000). Hand-worked: 0.3 kg C m-2 of live wood at
    C:N 50 holds 6 g N m-2; at 20 C 0.218 x 6 = 1.308 g C m-2 d-1 = 1.308 / 12.0107 x 1e6 / 86400 = 1.260450
    umol m-2 s-1; at 25 C times 2.3^0.5 (Q10(20) = 3.22 - 0.92 = 2.3): 1.911567 umol m-2 s-1."""
    r25 = rs.tissue_maintenance_base_ryan1991(0.3, 50.0)
    assert r25 == pytest.approx(0.218 * 6.0 * math.sqrt(2.3) / 12.0107 * 1e6 / 86400.0, rel=1e-12)
    assert r25 == pytest.approx(1.911567, rel=1e-6)
    assert r25 * rs.maintenance_factor(20.0) == pytest.approx(1.260450, rel=1e-6)
    # fine roots at C:N 42: 0.09 kg C -> 2.142857 g N -> 0.467143 g C m-2 d-1 at 20 C
    assert rs.tissue_maintenance_base_ryan1991(0.09, 42.0) * rs.maintenance_factor(20.0) == pytest.approx(
        0.218 * 90.0 / 42.0 / 12.0107 * 1e6 / 86400.0, rel=1e-12)
    # no tissue where C:N is 0 (herbs have no wood); linear in carbon
    assert rs.tissue_maintenance_base_ryan1991(0.3, 0.0) == 0.0
    assert rs.tissue_maintenance_base_ryan1991(0.6, 50.0) == pytest.approx(2 * r25, rel=1e-14)
    # the BEPS conifer stem coefficient (0.002 d-1 at 25 C) is 3.3 times below Ryan's rate for live wood
    assert 0.218 * math.sqrt(2.3) / 50.0 / 0.002 == pytest.approx(3.3064, rel=1e-4)


def test_live_tissue_carbon_beps_hand_values():
    """Live sapwood S s0/(S + s0), s0 = 0.35: S = 1.05 -> 0.2625 kg C m-2. Roots 2.0 kg C m-2: Kurz fine share
    min(0.9, e^1.007 2^-0.841) = min(0.9, 1.5282) = 0.9; 5 % live -> coarse 0.01, fine 0.09. Roots 6.0: fine share
    e^1.007 / 6^0.841 = 2.737377 / 4.512583 = 0.606610. Herbs: no stem, all live roots fine."""
    stem, croot, froot = rs.live_tissue_carbon_beps(np.array([1.05, 0.0, 0.0]), np.array([2.0, 6.0, 0.1]),
                                                    np.array([True, True, False]), 0.35, np.array([0.05, 0.05, 1.0]))
    np.testing.assert_allclose(stem, [0.2625, 0.0, 0.0], rtol=1e-12)
    fr6 = math.exp(1.007) * 6.0 ** -0.841
    assert fr6 == pytest.approx(0.606610, rel=1e-5)
    np.testing.assert_allclose(croot, [0.01, 0.3 * (1 - fr6), 0.0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(froot, [0.09, 0.3 * fr6, 0.1], rtol=1e-12)
    # dead wood respires nothing: the live share saturates at s0 however large the stem
    assert rs.live_tissue_carbon_beps(np.array([1e4]), np.array([1.0]), np.array([True]), 0.35,
                                      np.array([0.05]))[0][0] < 0.35


# ---- phenology -------------------------------------------------------------------------------
def test_daylength_and_gsi():
    # equinox: ~12 h everywhere off the poles; June solstice: polar day north of the Arctic circle
    assert phenology.daylength_forsythe1995(0.0, 80) == pytest.approx(12.0, abs=0.05)
    assert phenology.daylength_forsythe1995(45.0, 80) == pytest.approx(12.0, abs=0.2)
    assert phenology.daylength_forsythe1995(75.0, 172) == 24.0
    assert phenology.daylength_forsythe1995(75.0, 355) == 0.0
    g = phenology.gsi_jolly2005(np.array([1.5, 10.0, 10.0]), np.array([500.0, 2500.0, 500.0]),
                                np.array([12.0, 12.0, 10.5]), PRM)
    assert g == pytest.approx([0.5, 0.5, 0.5])
    assert phenology.lai_from_gsi(0.5, 0.5, 4.5) == 2.5


# ---- InTEC pools -----------------------------------------------------------------------------
def test_century_rates_and_single_pool_turnover():
    pm = intec.PoolModel(np.array([0]), PRM)  # ENF
    yr = intec.SECONDS_PER_YEAR
    assert pm.k[0, intec.CWD] * yr == pytest.approx(2.4 * math.exp(-3 * 0.40))
    assert pm.k[0, intec.SMET] * yr == pytest.approx(14.8)
    assert pm.k[0, intec.DMIC] * yr == pytest.approx(7.3 * (1 - 0.75 * 0.58))
    assert pm.k[0, intec.PASSIVE] * yr == pytest.approx(0.0045)  # Parton et al. 1987, 1993
    assert pm.k[0, intec.SLOW] * yr == pytest.approx(0.2)
    # one step of a lone passive pool: it loses k xi dt of its carbon, 55 % respired, 45 % to the microbes
    pools = np.zeros((1, intec.NPOOL))
    pools[0, intec.PASSIVE] = 10.0
    xi = np.array([0.5 * 86400.0])
    kd = 0.0045 / yr * 0.5 * 86400.0
    new = pm.step(pools, np.zeros(1), xi, 86400.0)
    assert new[0, intec.PASSIVE] == pytest.approx(10.0 * (1 - kd), rel=1e-15)
    assert new[0, intec.DMIC] == pytest.approx(0.45 * 10.0 * kd, rel=1e-14)
    assert new.sum() == pytest.approx(10.0 - 0.55 * 10.0 * kd, rel=1e-15)
    # a lone leaf pool without decomposition: geometric turnover c_n = c_0 (1 - k dt)^n into litter
    pools = np.zeros((1, intec.NPOOL))
    pools[0, intec.LEAF] = 1.0
    for _ in range(30):
        pools = pm.step(pools, np.zeros(1), np.zeros(1), 86400.0)
    kl = pm.k[0, intec.LEAF] * 86400.0
    assert pools[0, intec.LEAF] == pytest.approx((1 - kl) ** 30, rel=1e-13)
    assert pools.sum() == pytest.approx(1.0, rel=1e-14)  # xi = 0: nothing respired


def _steady_state(pm, t, u, xi=1.0):
    """Steady state of the litter/soil pools of tile ``t`` under a constant input ``u`` (13,) [kg C m-2 yr-1]
    and a constant scalar: (K - F K) c = u with K = diag(k xi) in yr-1 (vegetation pools left out)."""
    k = pm.k[t] * intec.SECONDS_PER_YEAR * xi
    s = list(intec.SOIL)
    m = np.diag(k) - pm.frac[t] * k[None, :]
    return np.linalg.solve(m[np.ix_(s, s)], u[s])


def test_century_soil_loop_steady_state_hand_value():
    """Soil microbe / slow / passive loop of Parton et al. (1987 Fig. 1; 1993) with the loam of BEPS (silt + clay
    T = 0.58, clay 0.18), fed 1 kg C m-2 yr-1 into the soil microbes at xi = 1. Hand-worked:
    microbe CO2 0.85 - 0.68 T = 0.4556, -> passive 0.003 + 0.032 clay = 0.00876, -> slow 0.53564;
    slow -> passive 0.003 + 0.009 clay = 0.00462 (CENTURY 4), -> microbe 1 - 0.55 - 0.00462 = 0.44538;
    passive -> microbe 0.45. Microbe outflow F = 1 / (1 - 0.44538 x 0.53564 - 0.45 (0.00876 + 0.00462 x 0.53564))
    = 1.32208; pools microbe F / (7.3 (1 - 0.75 T)), slow 0.53564 F / 0.2, passive (0.00876 + 0.00462 x 0.53564)
    F / 0.0045: 0.3205, 3.541, 3.301 kg C m-2 (mean age of the carbon entering the microbes 7.16 yr)."""
    pm = intec.PoolModel(np.array([6]), PRM)  # grass: the loop does not depend on the cover type
    t, c = 0.58, 0.18
    r_m, m_p = 0.85 - 0.68 * t, 0.003 + 0.032 * c
    m_s = 1 - r_m - m_p
    s_p = 0.003 + 0.009 * c
    s_m = 1 - 0.55 - s_p
    f = 1.0 / (1 - s_m * m_s - 0.45 * (m_p + s_p * m_s))
    expect = {intec.DMIC: f / (7.3 * (1 - 0.75 * t)), intec.SLOW: m_s * f / 0.2,
              intec.PASSIVE: (m_p + s_p * m_s) * f / 0.0045}
    assert f == pytest.approx(1.32208, rel=1e-5)
    assert expect[intec.PASSIVE] == pytest.approx(3.301, rel=1e-3)
    u = np.zeros(intec.NPOOL)
    u[intec.DMIC] = 1.0
    c_ss = _steady_state(pm, 0, u)
    for i, v in expect.items():
        assert c_ss[i - intec.CWD] == pytest.approx(v, rel=1e-12)
    # the whole loop respires its input at steady state
    assert c_ss.sum() == pytest.approx(0.3205 + 3.541 + 3.301, rel=1e-3)
    # halving the scalar doubles every pool (linear in 1/xi)
    np.testing.assert_allclose(_steady_state(pm, 0, u, 0.5), 2 * c_ss, rtol=1e-12)


def test_century_litter_steady_state_hand_value():
    """Surface metabolic litter alone (Parton et al. 1987: k 14.8 yr-1, CO2 0.55, rest -> surface microbe):
    1 kg C m-2 yr-1 in -> pool 1/14.8 = 0.06757; surface microbe (k 6.0, CO2 0.6) gets 0.45 -> 0.075;
    slow gets 0.4 x 0.45 = 0.18 kg C m-2 yr-1 from it."""
    pm = intec.PoolModel(np.array([6]), PRM)
    u = np.zeros(intec.NPOOL)
    u[intec.SMET] = 1.0
    c_ss = _steady_state(pm, 0, u)
    assert c_ss[intec.SMET - intec.CWD] == pytest.approx(1 / 14.8, rel=1e-12)
    assert c_ss[intec.SMIC - intec.CWD] == pytest.approx(0.45 / 6.0, rel=1e-12)
    # slow receives 0.18 kg C m-2 yr-1 from the surface microbes; its own loss at steady state is the sum of
    # that and what the soil microbes return
    k_s = 0.2
    into_slow = 0.18 + pm.frac[0, intec.SLOW, intec.DMIC] * c_ss[intec.DMIC - intec.CWD] * pm.k[0, intec.DMIC] \
        * intec.SECONDS_PER_YEAR
    assert c_ss[intec.SLOW - intec.CWD] * k_s == pytest.approx(into_slow, rel=1e-12)


def test_century_shares_recover_beps_readcoef_through_the_namelist():
    """BEPS readcoef.c's InTEC values (slow 0.25, passive 0.007, slow -> passive 0.003 - 0.009 clay, passive CO2
    0.5, metabolic CO2 0.6 / 0.5, surface structural 0.6) are namelist settings."""
    prm = LandParameters.from_config(k_slow=0.25, k_passive=[0.007] * 9, slow_passive_clay=-0.009, resp_passive=0.5,
                                     resp_surface_metabolic=0.6, resp_soil_metabolic=0.5,
                                     resp_surface_structural=0.6)
    pm = intec.PoolModel(np.array([0]), prm)
    assert pm.frac[0, intec.PASSIVE, intec.SLOW] == pytest.approx(0.003 - 0.009 * 0.18)
    assert pm.frac[0, intec.DMIC, intec.PASSIVE] == pytest.approx(0.5)
    assert pm.resp[0, intec.SMET] == pytest.approx(0.6) and pm.resp[0, intec.DMET] == pytest.approx(0.5)
    assert pm.k[0, intec.SLOW] * intec.SECONDS_PER_YEAR == pytest.approx(0.25)
    lig = PRM.lignin_leaf[0]
    assert pm.resp[0, intec.SSTR] == pytest.approx((1 - lig) * 0.6 + lig * 0.3)


def test_pool_step_conserves_carbon_to_round_off():
    pm = intec.PoolModel(np.arange(9), PRM)
    rng = np.random.default_rng(0)
    pools = rng.uniform(0, 5, (9, intec.NPOOL))
    npp = rng.uniform(-0.001, 0.01, 9)
    xi = rng.uniform(0, 86400.0, 9)
    rh = pm.heterotrophic_respiration(pools, np.ones(9)) * xi  # kg C m-2 over the step
    new = pm.step(pools, npp, xi, 86400.0)
    change = new.sum(axis=1) - pools.sum(axis=1)
    np.testing.assert_allclose(change, npp - rh, rtol=0, atol=1e-14 * pools.sum(axis=1).max())


def test_constant_forcing_steady_state_matches_linear_solve():
    """With constant daily forcing the cyclo-stationary pools solve the linear system of the daily map."""
    pm = intec.PoolModel(np.array([2, 6]), PRM)
    nd = 50
    npp = np.full((nd, 2), 0.002)
    xi = np.full((nd, 2), 0.4 * 86400.0)
    c0, sweeps = pm.cyclostationary(npp, xi)
    for t in range(2):
        # daily map c' = c - L c + F L c + a npp  ->  (L - F L) c = a npp
        loss = pm.k[t] * np.where(np.arange(intec.NPOOL) < intec.CWD, 86400.0, 0.4 * 86400.0)
        M = np.diag(loss) - pm.frac[t] * loss[None, :]
        rhs = np.zeros(intec.NPOOL)
        rhs[:4] = pm.alloc[t] * 0.002
        act = loss > 0  # grasses have no stem or coarse-root pools
        expect = np.zeros(intec.NPOOL)
        expect[act] = np.linalg.solve(M[np.ix_(act, act)], rhs[act])
        np.testing.assert_allclose(c0[t], expect, rtol=1e-9, atol=1e-15)
    # in steady state the annual heterotrophic respiration balances NPP
    assert np.all(c0 >= 0)


def test_age_and_nitrogen_factors_hand_values():
    assert intec.npp_age_factor(0.0, 1.0, 20.0, 1.0, 0.04) == 0.0
    assert intec.npp_age_factor(40.0, 1.0, 20.0, 1.0, 0.04) == pytest.approx(1 + math.exp(-1.6))
    assert intec.npp_age_factor(1000.0, 1.0, 20.0, 1.0, 0.04) == pytest.approx(1.0, abs=1e-12)
    assert intec.leaf_n_multiplier(5.0, 0.0, 0.04, 1.5) == pytest.approx(1.2)
    assert intec.leaf_n_multiplier(50.0, 0.0, 0.04, 1.5) == 1.5


def test_decomposition_scalar():
    s = intec.decomposition_scalar(np.array([35.0, 10.0, -40.0]), np.array([0.607 * 0.463] * 3), 0.463, PRM)
    fw = 5.63 * 0.607 - 4.64 * 0.607 ** 2 - 0.71
    ft10 = math.exp(308.56 * (1 / (35 + 46.02) - 1 / (10 + 46.02)))
    assert s[0] == pytest.approx(fw) and s[1] == pytest.approx(ft10 * fw)
    assert 0 <= s[2] < 1e-6


def test_decomposition_scalar_beps_floors():
    """BEPS soilresp.c bounds f_T and f_W below by 0.3: at 10 C f_T = exp(308.56 (1/81.02 - 1/56.02)) = 0.183
    -> 0.3; frozen (-40 C) -> 0.3; dry soil (x = 0.05: 5.63 x - 4.64 x^2 - 0.71 < 0) -> 0.3."""
    prm = LandParameters.from_config(decomp_t_floor=0.3, decomp_w_floor=0.3)
    x = np.array([0.607, 0.607, 0.607, 0.05])
    s = intec.decomposition_scalar(np.array([35.0, 10.0, -40.0, 35.0]), x * 0.463, 0.463, prm)
    fw = 5.63 * 0.607 - 4.64 * 0.607 ** 2 - 0.71
    assert math.exp(308.56 * (1 / 81.02 - 1 / 56.02)) == pytest.approx(0.1828, abs=1e-4)
    np.testing.assert_allclose(s, [fw, 0.3 * fw, 0.3 * fw, 0.3], rtol=1e-12)
