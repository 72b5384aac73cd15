"""Fire (GlobFIRM, Thonicke et al. 2001) and crop harvest: the process functions against hand-worked values,
carbon conservation of the pool step with fire and harvest, and a dry-climate spin-up that is steady with fire."""
import copy
import datetime as dt

import cftime
import numpy as np
import pytest

from esm.grid import Grid
from esm.land import disturbance, intec
from esm.land.landcover import C4, CROP, DBF, ENF, GRASS, load_land_cover
from esm.land.model import UMOL_TO_KGC, LandModel
from esm.land.params import LandParameters

from land_synthetic import SyntheticMet

GRID = Grid.from_spec("30x30")
DT = 10800
START = cftime.datetime(2001, 1, 1, calendar="noleap")


def test_globfirm_functions_hand_worked():
    # eq. 2: p(m_e) = exp(-pi); a dry litter always has fire danger 1
    assert disturbance.fire_probability(0.3, 0.3) == pytest.approx(np.exp(-np.pi), rel=1e-15)
    assert disturbance.fire_probability(0.0, 0.2) == 1.0
    # eq. 4 at s = 0.5: x = -0.5, 0.45 x^3 + 2.83 x^2 + 2.96 x + 1.04 = -0.05625 + 0.7075 - 1.48 + 1.04 = 0.21125
    assert disturbance.burned_area(0.5) == pytest.approx(0.5 * np.exp(-0.5 / 0.21125), rel=1e-14)
    assert disturbance.burned_area(1.0) == 1.0 and disturbance.burned_area(0.0) == 0.0
    s = np.linspace(0.0, 1.0, 201)
    assert np.all(np.diff(disturbance.burned_area(s)) > 0)  # longer fire seasons burn more
    # relative available water between wilting point and field capacity
    np.testing.assert_allclose(disturbance.available_water([0.05, 0.12, 0.195, 0.27, 0.4], 0.12, 0.27),
                               [0.0, 0.0, 0.5, 1.0, 1.0], rtol=0, atol=1e-15)


def test_daily_burned_fractions_add_up_to_the_annual_burned_area():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.0, 1.0, (365, 4)) * (rng.uniform(size=(365, 1)) < 0.4)
    blocks = disturbance.year_blocks(p)
    s = disturbance.season_from_blocks(blocks)
    np.testing.assert_allclose(s, p.mean(axis=0), rtol=1e-14)  # a 365-day mean
    b = disturbance.daily_burned_fraction(p, s[None, :])
    np.testing.assert_allclose(b.sum(axis=0), disturbance.burned_area(s), rtol=1e-12)
    assert np.all(disturbance.daily_burned_fraction(np.zeros(3), np.zeros(3)) == 0.0)
    with pytest.raises(ValueError, match="365"):
        disturbance.year_blocks(p[:300])


def _pools(n):
    rng = np.random.default_rng(7)
    return rng.uniform(0.05, 2.0, (n, intec.NPOOL))


def test_fire_step_conserves_carbon_and_follows_the_tables():
    prm = LandParameters.from_config()
    pft = np.array([ENF, DBF, GRASS, C4, CROP])
    pm = intec.PoolModel(pft, prm, crop_share=np.array([0.0, 0.0, 0.0, 0.25, 1.0]))
    c = _pools(pft.size)
    burned = pm.fire_burn(c, np.full(pft.size, 0.1))
    # natural land only: the C4 tile burns on its grass share, the crop tile not at all
    np.testing.assert_allclose(burned, [0.1, 0.1, 0.1, 0.075, 0.0], rtol=1e-15)
    zero = np.zeros(pft.size)
    new = pm.step(c, zero, zero, 0.0, burned)  # fire alone (no NPP, no decomposition, no turnover)
    emitted = pm.fire_emission(c, burned)
    np.testing.assert_allclose(c.sum(axis=1) - new.sum(axis=1), emitted, rtol=1e-12)
    # hand-worked ENF: 88 % of the plants on the burned area die; 90 % of their leaves and 30 % of their stems burn
    kill = 1.0 - prm.fire_resistance[ENF]
    e = 0.1 * (kill * (prm.fire_cc_leaf * c[0, intec.LEAF] + prm.fire_cc_stem * c[0, intec.STEM])
               + prm.fire_cc_cwd * c[0, intec.CWD] + prm.fire_cc_litter * (c[0, intec.SSTR] + c[0, intec.SMET]))
    assert emitted[0] == pytest.approx(e, rel=1e-13)
    assert new[0, intec.PASSIVE] == c[0, intec.PASSIVE]  # mineral soil carbon does not burn
    # grass roots survive (resistance 1), its leaves burn as cured fuel
    assert new[2, intec.FROOT] == c[2, intec.FROOT] and new[2, intec.LEAF] < c[2, intec.LEAF]
    # little surface fuel: the burned fraction falls linearly with it (0.15 of 0.2 kg C m-2), none without fuel
    c_poor = c.copy()
    c_poor[:, [intec.CWD, intec.SSTR, intec.SMET]] = 0.05
    np.testing.assert_allclose(pm.fire_burn(c_poor, np.full(pft.size, 0.1)), 0.75 * burned, rtol=1e-14)
    c_poor[:, [intec.CWD, intec.SSTR, intec.SMET]] = 0.0
    assert np.all(pm.fire_burn(c_poor, np.full(pft.size, 0.1)) == 0.0)
    # fire off
    pm_off = intec.PoolModel(pft, LandParameters.from_config(fire=False), crop_share=np.zeros(pft.size))
    assert np.all(pm_off.fire_burn(c, np.full(pft.size, 0.1)) == 0.0)


def test_harvest_leaves_the_pools_as_the_harvest_index_of_the_crop_leaf_turnover():
    prm = LandParameters.from_config()
    pft = np.array([GRASS, C4, CROP])
    share = np.array([0.0, 0.4, 1.0])
    pm = intec.PoolModel(pft, prm, crop_share=share)
    c = _pools(pft.size)
    rate = pm.harvest_rate(c)
    np.testing.assert_allclose(rate, prm.harvest_index[pft] * share * pm.k[:, intec.LEAF] * c[:, intec.LEAF],
                               rtol=1e-15)
    assert rate[0] == 0.0 and rate[2] > rate[1] > 0.0
    npp, xi, day = np.full(3, 1e-3), np.full(3, 3e4), 86400.0
    new = pm.step(c, npp, xi, day)
    rh = pm.heterotrophic_respiration(c, xi)
    np.testing.assert_allclose(new.sum(axis=1) - c.sum(axis=1), npp - rh - rate * day, rtol=1e-11, atol=1e-15)


def test_crop_share_of_the_c4_tile():
    lc = load_land_cover(Grid.from_spec("4x5"))
    share = lc.crop_share(C4)
    assert np.all((share >= 0) & (share <= 1)) and share.max() > 0.5
    assert np.all(lc.crop_share(CROP)[lc.pft[CROP] > 0] == 1.0) and np.all(lc.crop_share(ENF) == 0.0)
    # the C4 crop area is the crop land minus the C3 crops
    c4_crop = share * lc.pft[C4]
    np.testing.assert_allclose(c4_crop + lc.pft[CROP], lc.crop, atol=1e-12)


@pytest.fixture(scope="module")
def dry():
    """A spun-up model in a dry synthetic climate (fire season of several months)."""
    met = SyntheticMet(GRID, soilm_mean=0.14)
    m = LandModel(LandParameters.from_config(interval=DT), GRID, load_land_cover(GRID), nthreads=1)
    summary = m.spin_up(met.at, START, 400.0)
    return m, met, summary


def _run(m, met, t, steps, up=None):
    for _ in range(steps):
        fl = m.step(t, DT, met.at(t), 400.0)
        if up is not None:
            for k in up:
                up[k] += float(np.sum(fl[k] * m.tile_frac * m.area_cell[m.tile_cell])) * DT * UMOL_TO_KGC
        t = t + dt.timedelta(seconds=DT)
    return t


def test_dry_spinup_burns_is_steady_and_conserves_carbon(dry):
    m0, met, summary = dry
    assert summary["fire"] > 0.01 * summary["npp"] and summary["burned_area"] > 0
    assert summary["rh"] < summary["npp"]
    # steady state: NPP = Rh + fire + harvest over the year; the pools come back
    assert summary["npp"] == pytest.approx(summary["rh"] + summary["fire"] + summary["harvest"], rel=1e-9)
    m = copy.deepcopy(m0)
    start = m.pools.copy()
    up = {"nee": 0.0, "fire": 0.0, "harvest": 0.0}
    _run(m, met, START, 365 * 8, up)
    rel = np.abs(m.pools - start) / np.maximum(np.abs(start), 1e-9)
    assert rel.max() < 1e-3  # the 0.1 % per year criterion
    assert up["fire"] / 1e12 == pytest.approx(summary["fire"], rel=1e-6)
    change = m.total_carbon() - m0.total_carbon()
    assert change == pytest.approx(-(up["nee"] + up["fire"] + up["harvest"]), abs=1e-11 * m0.total_carbon())


def test_dry_restart_is_exact(dry):
    """Stop mid-block (the fire-season ring) and mid-day, restore into a fresh model: identical continuation."""
    m0, met, _ = dry
    a = copy.deepcopy(m0)
    t = _run(a, met, START, 7 * 8 + 3)
    st = copy.deepcopy(a.state())
    b = LandModel(a.prm, GRID, load_land_cover(GRID), nthreads=1)
    b.load_state(st)
    t_a = _run(a, met, t, 9 * 8)
    t_b = _run(b, met, t, 9 * 8)
    assert t_a == t_b
    assert np.array_equal(a.pools, b.pools) and np.array_equal(a.fire_blocks, b.fire_blocks)
    assert np.array_equal(a.last["fire"], b.last["fire"]) and np.array_equal(a.fire_danger, b.fire_danger)


def test_pool_model_subset_steps_its_tiles_identically():
    """The spin-up sweeps only the unconverged tiles (PoolModel.subset): same arithmetic per tile."""
    prm = LandParameters.from_config()
    pft = np.array([ENF, DBF, GRASS, C4, CROP, ENF])
    pm = intec.PoolModel(pft, prm, crop_share=np.array([0.0, 0.0, 0.0, 0.3, 1.0, 0.0]))
    c = _pools(pft.size)
    npp, xi = np.linspace(1e-3, 2e-3, pft.size), np.linspace(2e4, 5e4, pft.size)
    burned = pm.fire_burn(c, np.full(pft.size, 0.01))
    full = pm.step(c, npp, xi, 86400.0, burned)
    idx = np.array([1, 3, 4])
    sub = pm.subset(idx)
    part = sub.step(c[idx], npp[idx], xi[idx], 86400.0, sub.fire_burn(c[idx], np.full(idx.size, 0.01)))
    assert np.array_equal(part, full[idx])


def test_compiled_fire_and_pool_steps_equal_the_numpy_reference(monkeypatch):
    """The compiled pool and fire steps (any thread count) give the numpy reference bit for bit."""
    prm = LandParameters.from_config()
    rng = np.random.default_rng(11)
    pft = rng.integers(0, 9, 3000)
    share = np.where(pft == CROP, 1.0, np.where(pft == C4, rng.uniform(0, 1, pft.size), 0.0))
    pm = intec.PoolModel(pft, prm, crop_share=share)
    if intec._kern is None:
        pytest.skip("compiled kernels not built")
    c = rng.uniform(0.0, 3.0, (pft.size, intec.NPOOL))
    npp, xi = rng.uniform(0, 3e-3, pft.size), rng.uniform(0, 8e4, pft.size)
    burn = np.where(rng.uniform(size=pft.size) < 0.5, rng.uniform(0, 0.02, pft.size), 0.0)
    burned = pm.fire_burn(c, burn)
    outs = []
    for threads in (1, 2):
        pm.nthreads = threads
        outs.append(pm.step(c, npp, xi, 86400.0, burned))
    monkeypatch.setattr(intec, "_kern", None)
    ref = pm.step(c, npp, xi, 86400.0, burned)
    assert np.array_equal(outs[0], ref) and np.array_equal(outs[1], ref)


def test_daily_rates_compiled_equal_the_numpy_rates_to_round_off():
    prm = LandParameters.from_config()
    rng = np.random.default_rng(5)
    pft = rng.integers(0, 9, 2000)
    share = np.where(pft == CROP, 1.0, np.where(pft == C4, rng.uniform(0, 1, pft.size), 0.0))
    pm = intec.PoolModel(pft, prm, crop_share=share)
    c = rng.uniform(0.0, 0.3, (pft.size, intec.NPOOL))  # fuel on both sides of fire_fuel_min
    burn = np.where(rng.uniform(size=pft.size) < 0.5, rng.uniform(0, 0.02, pft.size), 0.0)
    rh, fire, harvest = pm.daily_rates(c, burn)
    np.testing.assert_allclose(rh, pm.heterotrophic_respiration(c, np.ones(pft.size)), rtol=1e-14, atol=0)
    np.testing.assert_allclose(fire, pm.fire_emission(c, pm.fire_burn(c, burn)), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(harvest, pm.harvest_rate(c))
    assert np.any(fire > 0) and np.any((fire > 0) & (c[:, 4] + c[:, 5] + c[:, 6] < prm.fire_fuel_min))
