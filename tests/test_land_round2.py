"""Round-2 land processes: per-step growth respiration (BEPS plant_respir.c), the crop calendar
(Sacks et al. 2010; Waha et al. 2012; EPIC/SWAT canopy development), the C3/C4 cell-factor mask."""
from __future__ import annotations

import numpy as np
import pytest

from esm.land import beps, phenology
from esm.land.params import LandParameters
from tests.test_land_kernel import _random_case

PRM = LandParameters.from_config()


def test_growth_respiration_per_step_is_zero_at_night_and_035_of_gpp_minus_rm_by_day():
    """BEPS plant_respir.c: rg = 0.35 (GPP - Rm) of the step when positive, else 0 -- so no growth
    respiration at night (GPP = 0), and 0.35 (GPP - Rm) in daylight."""
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(3)
    out = beps.tile_fluxes(tc, tp, lai, vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm),
                           prm=prm, nthreads=1)
    r = dict(zip(beps.OUT_ROWS, out))
    gpp = r["gpp_sun"] + r["gpp_shade"]
    rm = r["rd_day"] + r["rm_leaf"] + r["rm_stem"] + r["rm_root"]
    night = gpp == 0
    assert night.sum() > 50 and (~night).sum() > 50
    assert np.all(r["rg"][night] == 0) and np.all(rm[night] > 0)
    np.testing.assert_allclose(r["rg"], 0.35 * np.maximum(gpp - rm, 0.0), rtol=1e-12, atol=1e-15)


def test_crop_development_hand_values():
    """EPIC/SWAT piecewise-linear canopy: season 120 d, decline after 0.75 of it. Day 30: 30/60 = 0.5;
    day 60-90: 1; day 105: (120-105)/30 = 0.5; day 120 (harvest) and later, and before sowing: 0."""
    f = phenology.crop_development(np.array([-1, 0, 30, 60, 90, 105, 120, 200]), 120.0, 0.75)
    np.testing.assert_allclose(f, [0, 0, 0.5, 1, 1, 0.5, 0, 0], atol=1e-15)


def _calendar(tmean, soilm, **over):
    prm = LandParameters.from_config(**over)
    ph = phenology.GsiPhenology(np.zeros(tmean.shape[1]), prm)
    sown = []
    for d in range(tmean.shape[0]):
        ph.crop_day(tmean[d], soilm[d])
        sown.append(ph.crop_days.copy())
    return ph, np.array(sown)


def test_crop_is_sown_when_the_running_temperature_passes_the_threshold_once_a_year():
    """Two cells, two years of a seasonal temperature cycle (-5..25 C, moist soil): sowing on the first day the
    10-day exponential running mean passes 11 C (computed here by hand), once per year; a cell that never
    warms to 11 C is never sown; a dry cell (REW 0) is never sown."""
    days = np.arange(730)
    t = 10.0 - 15.0 * np.cos(2 * np.pi * days / 365.0)
    tmean = np.stack([t, np.full(730, 8.0), t], axis=1)
    soilm = np.stack([np.full(730, 0.30), np.full(730, 0.30), np.full(730, 0.10)], axis=1)  # 3rd: wilting (REW < 0)
    ph, ds = _calendar(tmean, soilm)
    # hand-computed running mean and first sowing day
    ema = np.empty(730)
    ema[0] = t[0]
    for d in range(1, 730):
        ema[d] = ema[d - 1] + (t[d] - ema[d - 1]) / 10.0
    first = int(np.argmax(ema >= 11.0))
    sow_days = np.flatnonzero(ds[:, 0] == 0)
    assert sow_days[0] == first
    assert len(sow_days) == 2 and 330 <= sow_days[1] - sow_days[0] <= 400
    assert np.all(ds[:, 1] >= phenology.NEVER_SOWN - 1e-9) and np.all(ds[:, 2] >= phenology.NEVER_SOWN - 1e-9)


def test_crop_periodic_state_repeats_after_a_year():
    days = np.arange(365)
    t = 10.0 - 15.0 * np.cos(2 * np.pi * (days + 200) / 365.0)  # sowing season straddles nothing in particular
    tmean = t[:, None].repeat(2, axis=1)
    soilm = np.full((365, 2), 0.3)
    ph = phenology.GsiPhenology(np.zeros(2), PRM)
    ph.crop_periodic(tmean, soilm)
    start = ph.crop_days.copy()
    for d in range(365):
        ph.crop_day(tmean[d], soilm[d])
    np.testing.assert_array_equal(ph.crop_days, start)


def test_crop_parameters_are_checked():
    from esm.errors import ConfigError
    with pytest.raises(ConfigError, match="crop_min_interval"):
        LandParameters.from_config(crop_season_days=200.0, crop_min_interval=150.0)


def test_cell_kernel_mask_leaves_other_factors_equal():
    """Cells flagged C3-only get zero C4 factors and the same C3 factors as unflagged cells (and vice versa)."""
    prm, cell_ref, *_ = _random_case(5)
    rng = np.random.default_rng(5)
    n = cell_ref.shape[1]
    met = dict(t2m=rng.uniform(260, 310, n), vpd=rng.uniform(0, 3000, n), swdown=rng.uniform(1, 900, n),
               cos_sza=rng.uniform(0.05, 1, n), soilm=rng.uniform(0.05, 0.4, n), tsoil=rng.uniform(265, 305, n),
               ps=np.full(n, 1e5), co2=np.full(n, 410.0))
    met["tskin"] = met["t2m"] + 2.0
    met["swdown_diffuse"] = 0.3 * met["swdown"]
    met["tsoil_top"] = met["tsoil"] + 3.0
    full, _, _ = beps.CellKernel(prm, 1)(met)
    kinds = np.where(np.arange(n) % 2 == 0, 1, 2).astype(np.uint8)
    part, _, _ = beps.CellKernel(prm, 1, kinds)(met)
    rows = beps.CELL_ROWS
    c3 = [rows.index(k) for k in ("km_sun", "gstar_sun", "fv_sun", "fj_sun", "frd_sun", "km_sh", "fv_sh")]
    c4 = [rows.index(k) for k in ("f4v_sun", "f4k_sun", "f4rd_sun", "f4v_sh")]
    even, odd = kinds == 1, kinds == 2
    np.testing.assert_array_equal(part[np.ix_(c3, np.flatnonzero(even))], full[np.ix_(c3, np.flatnonzero(even))])
    np.testing.assert_array_equal(part[np.ix_(c4, np.flatnonzero(odd))], full[np.ix_(c4, np.flatnonzero(odd))])
    assert np.all(part[np.ix_(c4, np.flatnonzero(even))] == 0) and np.all(part[np.ix_(c3, np.flatnonzero(odd))] == 0)


def test_beps_diffuse_split_hand_values_and_kernel():
    """BEPS netRadiation.c relation: r = 0.7 -> 0.943 + 0.5138 - 2.401 + 0.616028 + 0.4941258 = 0.1659538;
    r = 0.5 -> 0.438125; r > 0.8 -> 0.13; sun down (cos Z < 0.001) -> 0.943 (all that is left is diffuse)."""
    sw = np.array([0.7 * 1367 * 0.8, 0.5 * 1367 * 0.8, 0.85 * 1367 * 0.8, 100.0])
    mu = np.array([0.8, 0.8, 0.8, 0.0])
    np.testing.assert_allclose(beps.diffuse_beps(sw, mu) / sw, [0.1659538, 0.438125, 0.13, 0.943], rtol=1e-6)
    prm = LandParameters.from_config(diffuse_split="beps")
    rng = np.random.default_rng(7)
    n = 200
    met = dict(t2m=rng.uniform(260, 310, n), vpd=rng.uniform(0, 3000, n), swdown=rng.uniform(0, 1000, n),
               cos_sza=rng.uniform(-0.2, 1, n), soilm=rng.uniform(0.05, 0.4, n), tsoil=rng.uniform(265, 305, n),
               ps=np.full(n, 1e5), co2=np.full(n, 410.0))
    met["tsoil_top"] = met["tsoil"] + 3.0
    met["swdown"][met["cos_sza"] <= 0] = 0.0
    met["tskin"] = met["t2m"] + 2.0
    met["swdown_diffuse"] = 0.9 * met["swdown"]  # ignored with diffuse_split = 'beps'
    cell, _, _ = beps.CellKernel(prm, 1)(met)
    ref = beps.cell_factors(met, prm)
    for name in ("sdir", "sdif"):
        i = beps.CELL_ROWS.index(name)
        np.testing.assert_allclose(cell[i], ref[i], rtol=1e-13, atol=1e-12)
    i = beps.CELL_ROWS.index("sdif")
    day = met["cos_sza"] > 0.1
    np.testing.assert_allclose(cell[i][day], beps.diffuse_beps(met["swdown"], met["cos_sza"])[day], rtol=1e-13)
