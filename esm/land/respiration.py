"""Autotrophic respiration of BEPS: maintenance respiration of leaves, stems and roots and growth
respiration (Chen et al. 1999; Liu et al. 2002; the BEPS code ``plant_respir.c``).

Respiring biomass comes from the annual-mean LAI through the BEPS allometries (above-ground biomass
``a L + b L^2``, Liu et al. 2002, Global Ecol. Biogeogr. 11, 115; roots from Kurz et al. 1996), so
that respiration does not feed back on the InTEC vegetation pools (as in BEPS). All rates here are
per unit ground area of the tile, in umol CO2 m-2 s-1.
"""
from __future__ import annotations

import numpy as np

from esm.constants import M_C

#: kg C per day -> umol CO2 per second
KGC_PER_DAY_TO_UMOL_S = 1.0 / M_C * 1e6 / 86400.0
#: exponent of the root-AGB power law (Kurz et al. 1996)
ROOT_POWER_EXPONENT = 0.639


def allometry_liu2002(lai_year, a, b, leaf_fraction, leaf_per_lai, root_linear, root_power, root_per_lai):
    """Leaf, stem and root carbon [kg C m-2] from the annual-mean LAI (BEPS allometries):

        AGB = a L + b L^2                                   (Liu et al. 2002, trees and shrubs)
        leaf = leaf_fraction AGB + leaf_per_lai L,   stem = (1 - leaf_fraction) AGB,
        root = root_linear AGB + root_power AGB^0.639 + root_per_lai L   (Kurz et al. 1996; herbs: W. Ju).
    """
    lai_year = np.asarray(lai_year, float)
    agb = a * lai_year + b * lai_year * lai_year
    leaf = leaf_fraction * agb + leaf_per_lai * lai_year
    stem = (1.0 - leaf_fraction) * agb
    root = root_linear * agb + root_power * np.power(agb, ROOT_POWER_EXPONENT) + root_per_lai * lai_year
    return leaf, stem, root


def fine_root_fraction_kurz1996(root_c, woody):
    """Fine share of root carbon, min(0.9, e^1.007 R^-0.841) for woody types (Kurz et al. 1996 as coded in
    BEPS, R in kg C m-2); herbaceous roots are respired at the single root rate (fraction 0)."""
    root_c = np.asarray(root_c, float)
    with np.errstate(divide="ignore"):
        fr = np.minimum(0.9, np.exp(1.007) * np.power(np.maximum(root_c, 1e-12), -0.841))
    return np.where(woody, fr, 0.0)


def q10_tjoelker2001(t_c, q10_a=3.22, q10_b=-0.046):
    """Temperature-dependent Q10 = 3.22 - 0.046 T (Tjoelker et al. 2001, as in BEPS)."""
    return q10_a + q10_b * np.asarray(t_c, float)


def maintenance_factor(t_c, q10_a=3.22, q10_b=-0.046):
    """Q10(T)^((T - 25) / 10): maintenance respiration relative to 25 C."""
    t_c = np.asarray(t_c, float)
    return np.power(q10_tjoelker2001(t_c, q10_a, q10_b), (t_c - 25.0) / 10.0)


def maintenance_respiration(t_air_c, t_soil_c, night, lai, lai_max, leaf_c, stem_c, root_c, woody, prm_tile):
    """Maintenance respiration (BEPS plant_respir.c, Chen et al. 1999) [umol m-2 s-1]:

        R_leaf = r_leaf C_leaf (L / L_max) f(T_air)  at night (in daylight leaf respiration is the
                 light-inhibited Rd of the photosynthesis model),
        R_stem = r_stem S s0 / (S + s0) f(T_air)      (live sapwood saturates at s0),
        R_root = live [(1 - fr) r_croot + fr r_froot] C_root f(T_soil),
    all times ``rm_scale``; f = Q10(T)^((T-25)/10) with Q10 = 3.22 - 0.046 T. ``prm_tile`` holds per-tile
    arrays rm_leaf, rm_stem, rm_croot, rm_froot (d-1), rm_scale, root_live_fraction and the scalars
    stem_live_saturation, q10_a, q10_b. Returns ``(R_leaf, R_stem, R_root)``.
    """
    p = prm_tile
    fa = maintenance_factor(t_air_c, p["q10_a"], p["q10_b"])
    fs = maintenance_factor(t_soil_c, p["q10_a"], p["q10_b"])
    s0 = p["stem_live_saturation"]
    with np.errstate(invalid="ignore", divide="ignore"):
        leaf_now = np.where(lai_max > 0, leaf_c * lai / lai_max, 0.0)
        live_stem = np.where(stem_c > 0, stem_c * s0 / (stem_c + s0), 0.0)
    r_leaf = np.where(night, p["rm_leaf"] * leaf_now * fa, 0.0)
    r_stem = p["rm_stem"] * live_stem * fa
    fr = fine_root_fraction_kurz1996(root_c, woody)
    r_root = p["root_live_fraction"] * root_c * ((1.0 - fr) * p["rm_croot"] + fr * p["rm_froot"]) * fs
    k = KGC_PER_DAY_TO_UMOL_S * p["rm_scale"]
    return r_leaf * k, r_stem * k, r_root * k


def mean_leaf_n_chen2012(lai, leaf_n_top, kn):
    """Mean leaf nitrogen per unit leaf area [g N m-2] of a canopy of LAI ``L`` whose leaf N falls with
    cumulative LAI as N(x) = N_top exp(-kn x) (Chen et al. 2012, GBC 26, GB1019, the profile that sets the
    sunlit/shaded Vcmax): N_mean = N_top (1 - exp(-kn L)) / (kn L) (= N_top as L -> 0 or kn -> 0)."""
    L = np.asarray(lai, float)
    n_top = np.asarray(leaf_n_top, float)
    x = kn * L
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(x > 1e-8, -np.expm1(-x) / np.where(x > 1e-8, x, 1.0), 1.0 - 0.5 * x)
    return n_top * ratio


def leaf_maintenance_base_ryan1991(lai_year, leaf_n_top, kn, rate20=0.218, q10_a=3.22, q10_b=-0.046):
    """Night leaf maintenance respiration at 25 C per unit leaf area [umol CO2 m-2 s-1] from leaf nitrogen
    (Ryan 1991, Ecol. Appl. 1, 157: 0.218 g C g N-1 d-1 = 0.0106 mol C mol N-1 h-1 at 20 C for all tissues):

        R_leaf,25 = rate20 / f(20) x N_mean(L_year),   f(T) = Q10(T)^((T - 25)/10), Q10 = 3.22 - 0.046 T,

    with N_mean the mean leaf N of the Chen et al. (2012) canopy N profile at the annual-mean LAI
    (:func:`mean_leaf_n_chen2012`). The BEPS temperature response (Tjoelker et al. 2001) carries the rate
    from 20 C to any temperature, so R_leaf(T) = rate20 N f(T) / f(20) equals Ryan's rate at 20 C.
    This replaces the per-type BEPS coefficients (0.0015 d-1 of leaf C for conifers, 0.015 for broadleaf
    forests, 0.001 for herbs), which differ tenfold between types with similar leaf N.
    """
    n_mean = mean_leaf_n_chen2012(lai_year, leaf_n_top, kn)
    r25_g = rate20 / maintenance_factor(20.0, q10_a, q10_b)  # g C g N-1 d-1 at 25 C
    return r25_g * 1e-3 * n_mean * KGC_PER_DAY_TO_UMOL_S


def live_tissue_carbon_beps(stem_c, root_c, woody, stem_live_saturation, root_live_fraction):
    """Respiring (live) carbon of stems, coarse roots and fine roots [kg C m-2] with the live fractions BEPS
    uses (``plant_respir.c``; Chen et al. 1999):

        stem_live  = S s0 / (S + s0)                       (sapwood saturates at s0; the heartwood is dead),
        croot_live = live (1 - fr) C_root,   froot_live = live fr C_root,

    with ``live`` the respiring share of root carbon and fr the Kurz et al. (1996) fine-root share
    (:func:`fine_root_fraction_kurz1996`) for woody types. Herbaceous roots are all fine roots (fr = 1, no
    stem, no coarse root). Dead wood (heartwood, the non-respiring root share) is excluded: it respires
    nothing. Returns ``(stem_live, croot_live, froot_live)``.
    """
    stem_c = np.asarray(stem_c, float)
    root_c = np.asarray(root_c, float)
    woody = np.asarray(woody, bool)
    s0 = stem_live_saturation
    with np.errstate(invalid="ignore", divide="ignore"):
        stem_live = np.where(woody & (stem_c > 0), stem_c * s0 / np.where(stem_c > 0, stem_c + s0, 1.0), 0.0)
    fr = np.where(woody, fine_root_fraction_kurz1996(root_c, woody), 1.0)
    live_root = np.asarray(root_live_fraction, float) * root_c
    return stem_live, live_root * (1.0 - fr), live_root * fr


def tissue_maintenance_base_ryan1991(tissue_c, cn, rate20=0.218, q10_a=3.22, q10_b=-0.046):
    """Maintenance respiration at 25 C [umol CO2 m-2 s-1] of live tissue carbon ``tissue_c`` [kg C m-2] with
    carbon-to-nitrogen mass ratio ``cn`` [kg C kg N-1] (Ryan 1991, Ecol. Appl. 1, 157, eq. 1 with his
    0.0106 mol C mol N-1 h-1 = 0.218 g C g N-1 d-1 at 20 C for all live tissues; the ``mrpern`` of
    Biome-BGC, White et al. 2000, Earth Interactions 4, whose C:N ratios convert carbon to nitrogen):

        N = 1000 C / CN  [g N m-2],   R_25 = rate20 / f(20) x N,   f(T) = Q10(T)^((T - 25)/10),
        Q10 = 3.22 - 0.046 T (Tjoelker et al. 2001; the same response as the leaves),

    so that R(T) = R_25 f(T) equals Ryan's rate at 20 C. Zero where ``cn`` is not positive (no such tissue).
    """
    c = np.asarray(tissue_c, float)
    cn = np.asarray(cn, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_g = np.where(cn > 0, 1e3 * c / np.where(cn > 0, cn, 1.0), 0.0)
    r25_g = rate20 / maintenance_factor(20.0, q10_a, q10_b)  # g C g N-1 d-1 at 25 C
    return r25_g * 1e-3 * n_g * KGC_PER_DAY_TO_UMOL_S


def growth_respiration(gpp, rm, fraction=0.35):
    """Growth respiration Rg = fraction (GPP - Rm) when positive, else 0 (BEPS; Chen et al. 1999)."""
    return fraction * np.maximum(np.asarray(gpp, float) - rm, 0.0)
