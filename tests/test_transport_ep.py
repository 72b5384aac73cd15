"""The extremum-preserving flux-corrected scheme ``ppm_ep``.

ppm_ep is ppm_fct (Zalesak 1979 limiter between the CW84-monotone and the unlimited PPM
fluxes in each 1-D sweep) with Zalesak's bounds widened at smooth extrema: a cell whose
second difference has the same strict sign as its neighbours' (the smooth-extremum test of
Colella & Sekora 2008, JCP 227, 7069) may carry the peak of the parabola with its mean and
the limited second difference (D2lim / 24 above the mean), clipped to the range of the level
before the sweep. So smooth peaks are not clipped, and no sweep leaves the level's range: no new global
extrema (Williamson test 1, the Lauritzen slotted cylinders and cosine bells stay within their
initial range). What is tested here:

* uniform tracer stays uniform (1e-12) in the full 3-D step, both horizontal splittings;
* tracer totals to round-off (1e-13 relative per step and over the run) in 3-D, a 0/1 field
  stays in [0, 1] and a smooth field within its initial range (round-off aside);
* Williamson et al. (1992) test 1 at both angles: within [0, 1000], conservative, and more
  accurate than ppm_fct;
* Lauritzen et al. (2012, GMD 5, 887): cosine bells l2 <= 0.033 at 1.5 degrees with dt = 1 h
  (the "minimal resolution" criterion; measured 0.0295 in validation/transport), Gaussian hills
  order >= 1.8 between 3 and 1.5 degrees, slotted cylinders and cosine bells within their
  initial bounds [0.1, 1].
"""
import math

import numpy as np
import pytest

from esm.grid import Grid
from esm.transport import Transport
from esm.transport import testflows as tf
from esm.transport.config import ADVECTION_SCHEMES
from esm.transport.testflows import DivergentCase
from helpers import smooth_and_slab_fields, step_tracking_totals

pytestmark = pytest.mark.compiled

EP = ADVECTION_SCHEMES["ppm_ep"]
FCT = ADVECTION_SCHEMES["ppm_fct"]
ROUNDOFF = 1e-12  # relative slack for "no new extrema": a few ulp per step over hundreds of steps


@pytest.mark.parametrize("splitting", ["strang", "lin_rood"])
def test_uniform_tracer_stays_uniform_3d(splitting):
    case = DivergentCase("10x10", "coarse11", tracers=("passive1",),
                         transport_nml={"advection_scheme": "ppm_ep", "horizontal_splitting": splitting})
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    ps_first = case.atm.surface_pressure().copy()
    for n in range(30):
        tr.step(case.atm, *case.inputs(n), case.dt)
    assert np.abs(case.atm.q[0] - 1.0).max() < 1e-12
    assert np.abs(case.atm.surface_pressure() - ps_first).max() > 100.0  # the flow is divergent


@pytest.mark.parametrize("splitting", ["strang", "lin_rood"])
def test_conserves_and_bounds_in_3d(splitting):
    case = DivergentCase("10x10", "coarse11", tracers=("passive1", "passive2"),
                         transport_nml={"advection_scheme": "ppm_ep", "horizontal_splitting": splitting,
                                        "vertical_diffusion": False, "convection": False})
    smooth_and_slab_fields(case)
    lo0, hi0 = float(case.atm.q[0].min()), float(case.atm.q[0].max())
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)

    def bounded(atm):
        # round-off only: each sweep's bounds are the values before it, so a few ulp per sweep
        # can accumulate (1.0e-14 measured after 200 steps)
        assert atm.q[1].min() >= -ROUNDOFF and atm.q[1].max() <= 1.0 + ROUNDOFF
        assert atm.q[0].min() >= lo0 * (1 - ROUNDOFF) and atm.q[0].max() <= hi0 * (1 + ROUNDOFF)

    worst_step, drift = step_tracking_totals(case, tr, 200, bounded)
    assert worst_step < 1e-13 and drift < 1e-13


@pytest.mark.parametrize("alpha", [0.0, math.pi / 2 - 0.05], ids=["alpha0", "over_poles"])
def test_williamson_bounded_and_better_than_fct(alpha):
    res = {}
    for spec, dt in (("4x5", 3600.0), ("2x2.5", 1800.0)):
        g = Grid.from_spec(spec)
        q0 = tf.williamson1_bell(g)[None]
        n = int(round(tf.T_TEST / dt))
        for scheme in (EP, FCT) if spec == "4x5" else (EP,):
            q, m = tf.run_2d(g, q0, lambda t, d, s: tf.williamson1_psi(g, alpha, s), n, dt, scheme)
            mass0 = math.fsum((q0[0] * m).ravel())
            e = tf.error_norms(q[0], q0[0], g.area)
            res[(scheme, spec)] = e
            print(f"W92 TC1 alpha={alpha:.4f} {spec} scheme {scheme}: l2={e['l2']:.4f} "
                  f"min={q[0].min():.3g} max={q[0].max():.6g}")
            assert abs(math.fsum((q[0] * m).ravel()) - mass0) / mass0 < 1e-13
            if scheme == EP:
                assert q[0].min() >= -ROUNDOFF * 1000.0
                assert q[0].max() <= q0.max() * (1.0 + ROUNDOFF)
    assert res[(EP, "4x5")]["l2"] < res[(FCT, "4x5")]["l2"]
    assert res[(EP, "2x2.5")]["l2"] < 0.5 * res[(EP, "4x5")]["l2"]


@pytest.fixture(scope="module")
def lauritzen_ep():
    kinds = ["cosine_bells", "gaussian_hills", "slotted_cylinders"]
    res = {}
    for spec, dt in (("3x3", 7200.0), ("1.5x1.5", 3600.0)):
        g = Grid.from_spec(spec)
        q0 = np.stack([tf.lauritzen_initial(g, k) for k in kinds])
        n = int(round(tf.T_TEST / dt))
        q, m = tf.run_2d(g, q0, lambda t, d, s: tf.lauritzen_psi_mean(g, t, d, s), n, dt, EP)
        r = {k: tf.error_norms(q[i], q0[i], g.area) for i, k in enumerate(kinds)}
        r["range"] = {k: (float(q[i].min()), float(q[i].max()), float(q0[i].min()), float(q0[i].max()))
                      for i, k in enumerate(kinds)}
        print(f"L12 {spec} ppm_ep: " + ", ".join(f"{k} l2={r[k]['l2']:.4f}" for k in kinds)
              + f", ranges {r['range']}")
        res[spec] = r
    return res


def test_lauritzen_minimal_resolution(lauritzen_ep):
    assert lauritzen_ep["1.5x1.5"]["cosine_bells"]["l2"] <= 0.033


def test_lauritzen_gaussian_hills_order(lauritzen_ep):
    order = math.log2(lauritzen_ep["3x3"]["gaussian_hills"]["l2"] / lauritzen_ep["1.5x1.5"]["gaussian_hills"]["l2"])
    print(f"Gaussian hills l2 order 3 -> 1.5 deg, ppm_ep: {order:.3f}")
    assert order >= 1.8


@pytest.mark.parametrize("kind", ["slotted_cylinders", "cosine_bells"])
def test_lauritzen_within_initial_bounds(lauritzen_ep, kind):
    for spec in ("3x3", "1.5x1.5"):
        lo, hi, lo0, hi0 = lauritzen_ep[spec]["range"][kind]
        assert lo >= 0.1 * (1.0 - ROUNDOFF) and hi <= 1.0 * (1.0 + ROUNDOFF), (spec, lo, hi)
        assert lo >= lo0 * (1.0 - ROUNDOFF) and hi <= hi0 * (1.0 + ROUNDOFF), (spec, lo, hi, lo0, hi0)
