"""Accuracy of the horizontal FFSL advection on the standard 2-D test cases.

* Williamson et al. (1992, JCP 102) test case 1: cosine bell carried once around the
  sphere in 12 days by solid-body rotation at alpha = 0 and alpha = pi/2 - 0.05 (over
  the poles). Monotone runs must create no new extrema (a discrete maximum principle, up to
  round-off); the scheme must converge (at least first order from 4x5 to 2x2.5) and beat
  first-order upwind.
* Lauritzen et al. (2012, GMD 5) non-divergent deformational flow, T = 12 days: the
  "minimal resolution" criterion l2 <= 0.033 for the cosine bells at 1.5 degrees, order
  >= 1.8 for the Gaussian hills between 3 and 1.5 degrees, slotted cylinders within their
  initial bounds [0.1, 1] in monotone mode.
* The flux-corrected scheme (ppm_fct: Zalesak 1979 limiter between the CW84-monotone and the
  unlimited PPM fluxes) must keep the no-new-extrema property and clip less than the CW84
  limiter (lower error than ppm_monotone); the positive-definite scheme (ppm_positive) must
  never go negative where the unlimited scheme does. Neither locally monotone scheme reaches
  the Lauritzen criterion at 1.5 degrees (measured in validation/transport: ppm_fct 0.063,
  ppm_monotone 0.076 at dt = 1 h), so here only the unlimited schemes are held to it; the
  bounded ppm_ep scheme (Zalesak bounds widened at smooth extrema, Colella & Sekora 2008, and
  kept inside each level's range) is held to it in tests/test_transport_ep.py.

Time steps: Courant numbers about 0.25-0.3 (Williamson) and up to 1.7 zonally / 1.3
meridionally (sub-cycled) for Lauritzen at 1.5 deg with dt = 1 h; the dependence of the
errors on dt is reported in validation/transport.
"""
import math

import numpy as np
import pytest

from esm.grid import Grid
from esm.transport import testflows as tf

pytestmark = pytest.mark.compiled

MONO, LINEAR, UPWIND, FCT, POSITIVE = 0, 1, 2, 3, 4
ROUNDOFF = 1e-12  # relative slack for "no new extrema": a few ulp per step over hundreds of steps


def _williamson(spec, alpha, scheme, dt):
    g = Grid.from_spec(spec)
    q0 = tf.williamson1_bell(g)[None]
    n = int(round(tf.T_TEST / dt))
    mass0 = None
    q, m = tf.run_2d(g, q0, lambda t, d, s: tf.williamson1_psi(g, alpha, s), n, dt, scheme)
    mass0 = math.fsum((q0[0] * m).ravel())  # m is unchanged by a non-divergent flow
    return g, q0[0], q[0], m, mass0


@pytest.mark.parametrize("alpha", [0.0, math.pi / 2 - 0.05], ids=["alpha0", "over_poles"])
def test_williamson_cosine_bell(alpha):
    norms = {}
    for spec, dt in (("4x5", 3600.0), ("2x2.5", 1800.0)):
        g, q0, q, m, mass0 = _williamson(spec, alpha, MONO, dt)
        e = tf.error_norms(q, q0, g.area)
        norms[spec] = e
        print(f"W92 TC1 alpha={alpha:.4f} {spec} ppm_monotone: l1={e['l1']:.4f} l2={e['l2']:.4f} "
              f"linf={e['linf']:.4f} min={q.min():.3g} max={q.max():.6g}")
        # no new extrema (initial range [0, 1000])
        assert q.min() >= -ROUNDOFF * 1000.0
        assert q.max() <= q0.max() * (1.0 + ROUNDOFF)
        # tracer mass conserved
        assert abs(math.fsum((q * m).ravel()) - mass0) / mass0 < 1e-13
    # converges at least at first order between the two resolutions
    assert norms["2x2.5"]["l2"] < 0.5 * norms["4x5"]["l2"]
    assert norms["2x2.5"]["l1"] < 0.5 * norms["4x5"]["l1"]
    # and is far more accurate than first-order upwind on the same grid
    g, q0, q, m, _ = _williamson("2x2.5", alpha, UPWIND, 1800.0)
    up = tf.error_norms(q, q0, g.area)
    print(f"  upwind 2x2.5: l2={up['l2']:.4f}")
    assert norms["2x2.5"]["l2"] < up["l2"] / 3.0


@pytest.mark.parametrize("alpha", [0.0, math.pi / 2 - 0.05], ids=["alpha0", "over_poles"])
def test_williamson_fct_and_positive(alpha):
    """ppm_fct: no new extrema, conservative, more accurate than ppm_monotone; ppm_positive:
    no negative values where ppm_linear undershoots, conservative."""
    res = {}
    for scheme in (MONO, FCT, LINEAR, POSITIVE):
        g, q0, q, m, mass0 = _williamson("4x5", alpha, scheme, 3600.0)
        res[scheme] = (tf.error_norms(q, q0, g.area), float(q.min()), float(q.max()))
        print(f"W92 TC1 alpha={alpha:.4f} 4x5 scheme {scheme}: l2={res[scheme][0]['l2']:.4f} "
              f"min={q.min():.3g} max={q.max():.6g}")
        assert abs(math.fsum((q * m).ravel()) - mass0) / mass0 < 1e-13
    e, lo, hi = res[FCT]
    assert lo >= -ROUNDOFF * 1000.0 and hi <= 1000.0 * (1.0 + ROUNDOFF)
    assert e["l2"] < res[MONO][0]["l2"] and e["l1"] < res[MONO][0]["l1"]
    # the unlimited scheme undershoots below the background 0; the positive scheme must not
    assert res[LINEAR][1] < -1.0
    assert res[POSITIVE][1] >= -ROUNDOFF * 1000.0


def _lauritzen(spec, dt, scheme):
    g = Grid.from_spec(spec)
    kinds = ["cosine_bells", "gaussian_hills", "slotted_cylinders"]
    q0 = np.stack([tf.lauritzen_initial(g, k) for k in kinds])
    n = int(round(tf.T_TEST / dt))
    q, m = tf.run_2d(g, q0, lambda t, d, s: tf.lauritzen_psi_mean(g, t, d, s), n, dt, scheme)
    out = {k: tf.error_norms(q[i], q0[i], g.area) for i, k in enumerate(kinds)}
    out["range_sc"] = (float(q[2].min()), float(q[2].max()))
    return out


@pytest.fixture(scope="module")
def lauritzen():
    res = {}
    for scheme in (LINEAR, MONO, FCT, POSITIVE):
        for spec, dt in (("3x3", 7200.0), ("1.5x1.5", 3600.0)):
            res[(scheme, spec)] = _lauritzen(spec, dt, scheme)
            r = res[(scheme, spec)]
            print(f"L12 {spec} scheme {scheme}: " + ", ".join(
                f"{k} l2={r[k]['l2']:.4f}" for k in ("cosine_bells", "gaussian_hills", "slotted_cylinders"))
                + f", slotted range {r['range_sc']}")
    return res


def test_lauritzen_minimal_resolution_cosine_bells(lauritzen):
    # unlimited PPM meets the L12 criterion at 1.5 degrees
    assert lauritzen[(LINEAR, "1.5x1.5")]["cosine_bells"]["l2"] <= 0.033
    # the monotone scheme does not at 1.5 degrees (see validation: it does at 0.75);
    # here it must at least converge at first order
    assert (lauritzen[(MONO, "1.5x1.5")]["cosine_bells"]["l2"]
            < 0.5 * lauritzen[(MONO, "3x3")]["cosine_bells"]["l2"])
    # the positive-definite scheme changes nothing where the field stays positive (background 0.1)
    assert lauritzen[(POSITIVE, "1.5x1.5")]["cosine_bells"]["l2"] <= 0.033
    # the flux-corrected scheme does not reach it either (0.063 measured), but it clips less
    # than the CW84 limiter at both resolutions
    for spec in ("3x3", "1.5x1.5"):
        assert lauritzen[(FCT, spec)]["cosine_bells"]["l2"] < lauritzen[(MONO, spec)]["cosine_bells"]["l2"]


@pytest.mark.parametrize("scheme", [LINEAR, MONO, FCT, POSITIVE],
                         ids=["ppm_linear", "ppm_monotone", "ppm_fct", "ppm_positive"])
def test_lauritzen_gaussian_hills_order(lauritzen, scheme):
    e3 = lauritzen[(scheme, "3x3")]["gaussian_hills"]["l2"]
    e15 = lauritzen[(scheme, "1.5x1.5")]["gaussian_hills"]["l2"]
    order = math.log2(e3 / e15)
    print(f"Gaussian hills l2 order 3 -> 1.5 deg, scheme {scheme}: {order:.3f}")
    assert order >= 1.8


def test_lauritzen_slotted_cylinders_bounded(lauritzen):
    for scheme in (MONO, FCT):
        for spec in ("3x3", "1.5x1.5"):
            lo, hi = lauritzen[(scheme, spec)]["range_sc"]
            assert lo >= 0.1 * (1.0 - ROUNDOFF) and hi <= 1.0 * (1.0 + ROUNDOFF), (scheme, spec, lo, hi)
    # positive definite only: never negative, overshoots allowed
    for spec in ("3x3", "1.5x1.5"):
        assert lauritzen[(POSITIVE, spec)]["range_sc"][0] >= 0.0
    # the unlimited scheme does overshoot: the bound above is a real test of the limiter
    lo, hi = lauritzen[(LINEAR, "1.5x1.5")]["range_sc"]
    assert lo < 0.1 or hi > 1.0
