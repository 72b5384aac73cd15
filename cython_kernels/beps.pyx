# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math -fno-math-errno
"""BEPS two-leaf canopy photosynthesis and autotrophic respiration for all tiles of all cells.

The arithmetic repeats the numpy reference functions of :mod:`esm.land.canopy` and
:mod:`esm.land.respiration` (Chen et al. 1999, 2012; Farquhar et al. 1980; Collatz et al. 1992;
Ball & Berry 1987 coupled analytically as in Baldocchi 1994); ``esm.land.beps.tile_fluxes`` checks
shapes and dtypes and ``tests/test_land_kernel.py`` checks equality with the reference. Cell-level
temperature factors are computed once per cell by numpy (``esm.land.beps.cell_factors``).
"""
from cython.parallel cimport prange
import numpy as np
from libc.math cimport exp, expm1, sqrt, cbrt, acos, cos, fabs, pow, log

cdef double TWO_PI = 6.283185307179586

# column indices of the per-PFT table (keep in sync with esm/land/beps.py PFT_COLUMNS)
cdef enum: P_CLUMP = 0
cdef enum: P_ALBEDO = 1       # leaf scattering coefficient of PAR (absorbed share 1 - it)
cdef enum: P_BBSLOPE = 2
cdef enum: P_C4 = 3
cdef enum: P_PSIMIN = 4
cdef enum: P_PSIALPHA = 5
cdef enum: P_LAIMAX = 6
cdef enum: P_RMLEAF = 7
cdef enum: P_RMSTEM = 8
cdef enum: P_RMCROOT = 9
cdef enum: P_RMFROOT = 10
cdef enum: P_RMSCALE = 11
cdef enum: P_ROOTLIVE = 12
cdef enum: NPCOL = 13

# scalar constants (keep in sync with esm/land/beps.py SCALARS)
cdef enum: S_G = 0
cdef enum: S_KN = 1
cdef enum: S_PHOTON = 2
cdef enum: S_JSLOPE = 3
cdef enum: S_JINT = 4
cdef enum: S_JCURV = 5
cdef enum: S_RDFRAC = 6
cdef enum: S_RDLIGHT = 7
cdef enum: S_B0 = 8
cdef enum: S_GBH2O = 9
cdef enum: S_C4ALPHA = 10
cdef enum: S_C4THETA = 11
cdef enum: S_C4BETA = 12
cdef enum: S_C4KRATIO = 13
cdef enum: S_C4RDFRAC = 14
cdef enum: S_FWMIN = 15
cdef enum: S_STEMSAT = 16
cdef enum: S_GROWTH = 17
cdef enum: S_PARFRAC = 18
cdef enum: S_B0FW = 19     # 1: Ball-Berry intercept scaled by the water stress factor
cdef enum: S_STEMFRAC = 20  # woody area index / lai_max (diffuse interception by stems, BEPS)
cdef enum: S_VCCHEN = 21   # 1: shaded Vcmax by Chen et al. 2012 as published, 0: canopy-total conserving
cdef enum: NSCAL = 22

# per-cell inputs (rows of the cell array)
cdef enum: C_MU = 0        # cos solar zenith angle
cdef enum: C_SDIR = 1      # direct shortwave W m-2
cdef enum: C_SDIF = 2      # diffuse shortwave W m-2
cdef enum: C_CA = 3        # CO2 umol mol-1
cdef enum: C_RH = 4        # relative humidity 0-1
cdef enum: C_PSI = 5       # soil matric suction m
cdef enum: C_FTSOIL = 6    # cold-soil factor of the water stress
cdef enum: C_KM_SUN = 7
cdef enum: C_GS_SUN = 8    # Gamma* sunlit
cdef enum: C_FV_SUN = 9
cdef enum: C_FJ_SUN = 10
cdef enum: C_FRD_SUN = 11
cdef enum: C_KM_SH = 12
cdef enum: C_GS_SH = 13
cdef enum: C_FV_SH = 14
cdef enum: C_FJ_SH = 15
cdef enum: C_FRD_SH = 16
cdef enum: C_F4V_SUN = 17
cdef enum: C_F4K_SUN = 18
cdef enum: C_F4RD_SUN = 19
cdef enum: C_F4V_SH = 20
cdef enum: C_F4K_SH = 21
cdef enum: C_F4RD_SH = 22
cdef enum: C_FQ_AIR = 23   # maintenance-respiration factor at air temperature
cdef enum: C_FQ_SOIL = 24  # at soil temperature
cdef enum: C_EXPMU = 25   # exp(-cos solar zenith angle)
cdef enum: NCROW = 26

# outputs per tile
cdef enum: O_GPP_SUN = 0
cdef enum: O_GPP_SH = 1
cdef enum: O_RD = 2        # daytime leaf respiration (light inhibited)
cdef enum: O_RM_LEAF = 3   # night leaf maintenance
cdef enum: O_RM_STEM = 4
cdef enum: O_RM_ROOT = 5
cdef enum: O_RG = 6
cdef enum: O_LAI_SUN = 7
cdef enum: O_FW = 8
cdef enum: NOUT = 9

# cell sums of land_step's cell-sum mode (speed round 12), rows of csum
CSUM_ROWS = ("gpp", "npp", "ra", "rh", "nee", "gpp_shade")
cdef enum: NCSUM = 6


def layout():
    """Index constants, for the Python wrapper to verify it matches."""
    return {'NPCOL': NPCOL, 'NSCAL': NSCAL, 'NCROW': NCROW, 'NOUT': NOUT, 'CSUM_ROWS': CSUM_ROWS}


cdef inline double _newton(double c3, double c2, double c1, double c0, double x) noexcept nogil:
    cdef int s
    cdef double f, df
    for s in range(2):
        f = ((c3 * x + c2) * x + c1) * x + c0
        df = (3.0 * c3 * x + 2.0 * c2) * x + c1
        if df != 0.0:
            x = x - f / df
    return x


cdef inline double _quad_fixed(double ca, double gb, double b0, double a, double b, double e, double d,
                               double rd) noexcept nogil:
    cdef double gt = 1.0 / (1.0 / gb + 1.0 / b0)
    cdef double qa = -e / gt
    cdef double qb = e * ca + b - rd * e / gt + a / gt
    cdef double qc = rd * (e * ca + b) - a * (ca - d)
    cdef double disc, r1, r2, best
    cdef int have = 0
    if fabs(qa) < 1e-300:
        return -qc / qb
    disc = qb * qb - 4.0 * qa * qc
    if disc < 0.0:
        disc = 0.0
    r1 = (-qb + sqrt(disc)) / (2.0 * qa)
    r2 = (-qb - sqrt(disc)) / (2.0 * qa)
    best = 0.0
    if ca - r1 / gt > -b / e:
        best = r1
        have = 1
    if ca - r2 / gt > -b / e:
        if have == 0 or r2 < best:
            best = r2
        have = 1
    if have == 0:
        best = r1 if r1 < r2 else r2
    return best


cdef inline double _bisect_c3(double ca, double gb, double k, double b0, double a, double b, double e,
                              double d, double rd) noexcept nogil:
    cdef double lo = -rd, hi = gb * ca * (1.0 - 1e-12), mid, cs, gs, ci, h, ap
    cdef int it
    for it in range(200):
        mid = 0.5 * (lo + hi)
        cs = ca - mid / gb
        ap = mid if mid > 0.0 else 0.0
        gs = b0 + k * ap / cs
        ci = cs - mid / gs
        if cs > 0.0 and ci > d:
            h = a * (ci - d) / (e * ci + b) - rd - mid
        else:
            h = -1.0
        if h > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * (1.0 if fabs(mid) < 1.0 else fabs(mid)):
            break
    return 0.5 * (lo + hi)


cdef inline double _a_at_ci(double ca, double gb, double k, double b0, double d) noexcept nogil:
    """Assimilation A > 0 at which the supply side (boundary layer + Ball-Berry stomata) brings ci down to d:
    the smallest positive root below gb ca of u(b0 u - (k-1)) A^2 + ((k-1) ca - 2 b0 ca u + d b0 u - d k) A
    + b0 ca (ca - d) = 0, u = 1/gb (from ci(A) = d with cs = ca - A/gb, gs = b0 + k A / cs)."""
    cdef double u = 1.0 / gb
    cdef double qa = u * (b0 * u - (k - 1.0))
    cdef double qb = (k - 1.0) * ca - 2.0 * b0 * ca * u + d * b0 * u - d * k
    cdef double qc = b0 * ca * (ca - d)
    cdef double disc, sq, r1, r2, best = gb * (ca - d), lim = gb * ca
    if fabs(qa) < 1e-300:
        if qb != 0.0:
            r1 = -qc / qb
            if r1 > 0.0 and r1 < lim:
                return r1
        return best
    disc = qb * qb - 4.0 * qa * qc
    if disc < 0.0:
        return best
    sq = sqrt(disc)
    # cancellation-free pair of roots
    if qb >= 0.0:
        r1 = (-qb - sq) / (2.0 * qa)
        r2 = 2.0 * qc / (-qb - sq) if (-qb - sq) != 0.0 else r1
    else:
        r1 = (-qb + sq) / (2.0 * qa)
        r2 = 2.0 * qc / (-qb + sq) if (-qb + sq) != 0.0 else r1
    if r1 > r2:
        sq = r1
        r1 = r2
        r2 = sq
    if r1 > 0.0 and r1 < lim:
        return r1
    if r2 > 0.0 and r2 < lim:
        return r2
    return best


cdef inline double _halley_bracketed(double c3, double c2, double c1, double c0, double lo, double hi,
                                     double x) noexcept nogil:
    """Root of the cubic c3 x^3 + c2 x^2 + c1 x + c0, negative at ``lo`` and positive at ``hi``, from ``x`` in
    (lo, hi): Halley steps (Newton where the Halley denominator has the wrong sign) safeguarded by bisection (rtsafe,
    Numerical Recipes 9.4), to 1e-12 of max(1, x). The loop of coupled_c3 (C3) and coupled_c4 (C4), and of
    esm_halley_iter, operation for operation."""
    cdef double f, df, dx, dxold, tmp, fpp, scale
    cdef int it
    cdef bint halley
    dxold = hi - lo
    dx = dxold
    f = ((c3 * x + c2) * x + c1) * x + c0
    df = (3.0 * c3 * x + 2.0 * c2) * x + c1
    for it in range(100):
        if (((x - hi) * df - f) * ((x - lo) * df - f) > 0.0) or (fabs(2.0 * f) > fabs(dxold * df)):
            dxold = dx
            dx = 0.5 * (hi - lo)
            x = lo + dx
        else:
            dxold = dx
            # Halley step (cubic convergence; the second derivative of the cubic is 6 c3 x + 2 c2), Newton if
            # the Halley denominator is not of the sign of df
            fpp = 6.0 * c3 * x + 2.0 * c2
            # Halley step f / (df - f fpp / (2 df)) written with one division: f df / (df^2 - f fpp / 2)
            tmp = df * df - 0.5 * f * fpp
            halley = tmp > 0.0
            dx = f * df / tmp if halley else f / df
            x = x - dx
            scale = 1.0 if x < 1.0 else x
            if fabs(dx) < 1e-12 * scale:
                break  # converged (also when the step lands on a bracket end that an earlier step set)
            if not (x > lo and x < hi):
                dx = 0.5 * (hi - lo)
                x = lo + dx
            elif halley and fabs(dx) < 1e-4 * scale and (fabs(0.25 * fpp * fpp - c3 * df) * (fabs(dx) * dx * dx)
                                                         < 1e-14 * scale * (df * df)):
                # the error left by a Halley step of size dx is ~ |C2^2 - C3| dx^3 with C_n = (n-th derivative of
                # P) / (n! P'), third derivative 6 c3: below 1e-14 of the root, the next step would only confirm it
                break
        if fabs(dx) < 1e-12 * (1.0 if x < 1.0 else x):
            break
        f = ((c3 * x + c2) * x + c1) * x + c0
        if f == 0.0:
            # exact root: stop (otherwise x == hi would send the next Newton step to the bisection branch)
            break
        df = (3.0 * c3 * x + 2.0 * c2) * x + c1
        if f < 0.0:
            lo = x
        else:
            hi = x
    return x


cdef inline double coupled_c3(double ca, double gb, double k, double b0, double a, double b, double e,
                              double d, double rd) noexcept nogil:
    """Coupled Farquhar-Ball-Berry solution: root of the cubic P(A) of esm.land.canopy.cubic_coefficients.

    On the physical branch P(A) = -h(A) (e ci + b) gb^2 gs cs with h(A) = demand(ci(A)) - A decreasing, so
    the physical root is the unique sign change of P in [0, A_hi], A_hi = min(a/e - Rd, A(ci = d)); it is
    found by Newton steps safeguarded by bisection (rtsafe, Numerical Recipes 9.4). The numpy reference
    solves the same cubic in closed form; tests check that both agree. If P(0) > 0 the coupled rate is <= 0
    and stomata stay at the intercept conductance (quadratic, as BEPS).
    """
    cdef double g1, c3, c2, c1, c0, lo, hi, x, f, df, dx, dxold, flo, fhi, tmp, cs, gs, ci, pp, qq, cae, fpp, scale
    cdef int it
    cdef bint halley
    if a <= 0.0:
        return -rd
    g1 = b0 + gb - gb * k
    c3 = e * g1
    # the coefficients of esm.land.canopy.cubic_coefficients with the common factors taken out (same polynomial,
    # ~half the operations): pp = gb k - b0, qq = gb (k - 1) - 2 b0
    pp = gb * k - b0
    qq = gb * (k - 1.0) - 2.0 * b0
    cae = ca * e
    c2 = g1 * (rd * e - a) + b * gb * pp + cae * gb * qq
    c1 = gb * (rd * (b * pp + cae * qq) + a * (b0 * (2.0 * ca - d) + gb * (d * k - ca * (k - 1.0)))
               + b0 * ca * gb * (b + cae))
    c0 = b0 * ca * gb * gb * (rd * b + rd * ca * e - a * ca + a * d)
    flo = c0
    if flo >= 0.0:
        return _quad_fixed(ca, gb, b0, a, b, e, d, rd)
    hi = a / e - rd
    # a/e - Rd bounds the root if the supply side there still has ci > d (then h < 0 there); otherwise use
    # the assimilation at which ci falls to d
    cs = ca - hi / gb
    if cs > 0.0:
        gs = b0 + k * (hi if hi > 0.0 else 0.0) / cs
        ci = cs - hi / gs
    else:
        ci = -1.0
    if not (ci > d):
        tmp = _a_at_ci(ca, gb, k, b0, d)
        if tmp < hi:
            hi = tmp
    if hi <= 0.0:
        return _quad_fixed(ca, gb, b0, a, b, e, d, rd)
    fhi = ((c3 * hi + c2) * hi + c1) * hi + c0
    if fhi <= 0.0:
        # no sign change (should not happen on the physical branch): bracketing reference solver
        return _bisect_c3(ca, gb, k, b0, a, b, e, d, rd)
    lo = 0.0
    # start from the demand at the Ball-Berry ci of an open leaf (b0 -> 0, gb -> infinity): ci = ca (1 - 1/k)
    # (Ball et al. 1987; ci/ca = 1 - 1.6 / (m h)), or ci = 0.7 ca where k <= 1.4; bracketed
    tmp = 1.0 - 1.0 / k if k > 1.4 else 0.7
    x = a * (tmp * ca - d) / (e * tmp * ca + b) - rd
    if not (x > lo and x < hi):
        x = 0.5 * hi
    return _halley_bracketed(c3, c2, c1, c0, 0.0, hi, x)


cdef inline double _supply_ci(double A, double ca, double gb, double k, double b0) noexcept nogil:
    cdef double cs = ca - A / gb
    cdef double gs
    if cs <= 0.0:
        return -1.0
    gs = b0 + k * (A if A > 0.0 else 0.0) / cs
    return cs - A / gs


cdef inline double leaf_c3(double ca, double gb, double k, double b0, double vc, double j, double km,
                           double gst, double rd, int rubp_first) noexcept nogil:
    """min(coupled Rubisco-limited, coupled RuBP-limited, Vcmax/2 - Rd). One limitation is solved first: the
    one with the smaller demand at the Ball-Berry ci of an open leaf, ci = ca (1 - 1/k) (0.7 ca where k <= 1.4;
    the start of coupled_c3), which is the limiting one in most cases (``rubp_first`` only breaks ties); the
    other is solved only if its demand at the first solution's ci is below that solution (then its root is the
    smaller one: h is decreasing). The result is the minimum of the two roots whichever is solved first."""
    cdef double a1, a2, ci, w, at, wc0, wj0
    at = 0.5 * vc - rd
    ci = (1.0 - 1.0 / k if k > 1.4 else 0.7) * ca
    if ci > gst:
        wc0 = vc * (ci - gst) / (ci + km)
        wj0 = j * (ci - gst) / (4.0 * ci + 8.0 * gst)
        if wj0 != wc0:
            rubp_first = wj0 < wc0
    if rubp_first:
        a1 = coupled_c3(ca, gb, k, b0, j, 8.0 * gst, 4.0, gst, rd)
        ci = _supply_ci(a1, ca, gb, k, b0)
        w = vc * (ci - gst) / (ci + km) - rd if ci > gst else -1e300
        if w < a1:
            a2 = coupled_c3(ca, gb, k, b0, vc, km, 1.0, gst, rd)
            if a2 < a1:
                a1 = a2
    else:
        a1 = coupled_c3(ca, gb, k, b0, vc, km, 1.0, gst, rd)
        ci = _supply_ci(a1, ca, gb, k, b0)
        w = j * (ci - gst) / (4.0 * ci + 8.0 * gst) - rd if ci > gst else -1e300
        if w < a1:
            a2 = coupled_c3(ca, gb, k, b0, j, 8.0 * gst, 4.0, gst, rd)
            if a2 < a1:
                a1 = a2
    if at < a1:
        a1 = at
    return a1


cdef inline double _smaller_root(double qa, double qb, double qc) noexcept nogil:
    cdef double disc = qb * qb - 4.0 * qa * qc
    cdef double den
    if disc < 0.0:
        disc = 0.0
    den = -qb + sqrt(disc)
    if den > 0.0:
        return 2.0 * qc / den
    return 0.0


cdef inline double c4_gross(double ci, double vmax, double kco2, double i_abs, double alpha, double theta,
                            double beta) noexcept nogil:
    cdef double je = alpha * i_abs
    cdef double m = _smaller_root(theta, -(vmax + je), vmax * je)
    cdef double kc = kco2 * ci
    return _smaller_root(beta, -(m + kc), m * kc)


cdef inline double _h_c4(double A, double ca, double gb, double k, double b0, double m, double kco2,
                         double rd, double beta) noexcept nogil:
    """h(A) = A_C4(ci(A)) - Rd - A with ``m`` = M, the smaller root of the light/Rubisco quadratic (independent of
    ci: computed once per leaf, the same arithmetic as c4_gross)."""
    cdef double cs = ca - A / gb
    cdef double ap = A if A > 0.0 else 0.0
    cdef double gs, ci, kc
    if cs <= 0.0:
        return -1.0 - A
    gs = b0 + k * ap / cs
    ci = cs - A / gs
    if ci <= 0.0:
        return -1.0 - A
    kc = kco2 * ci
    return _smaller_root(beta, -(m + kc), m * kc) - rd - A


cdef inline double _c4_bracket(double ca, double gb, double vmax, double i_abs, double rd, double alpha, double theta,
                               double *m) noexcept nogil:
    """The upper end A_hi of the bracket [-Rd, A_hi] of the coupled C4 rate, and (in ``m``) M, the smaller root of the
    light/Rubisco quadratic. Gross C4 assimilation never exceeds M, so h < 0 at M - Rd; A_hi is capped where cs = ca
    - A / gb reaches 0."""
    cdef double hi = _smaller_root(theta, -(vmax + alpha * i_abs), vmax * alpha * i_abs) - rd
    # M as c4_gross computes it (je = alpha I first), for h
    m[0] = _smaller_root(theta, -(vmax + alpha * i_abs), vmax * (alpha * i_abs))
    if hi > gb * ca * (1.0 - 1e-12):
        hi = gb * ca * (1.0 - 1e-12)
    return hi


cdef inline double _c4_illinois(double ca, double gb, double k, double b0, double vmax, double kco2,
                              double i_abs, double rd, double alpha, double theta, double beta) noexcept nogil:
    """C4 leaf coupled with Ball-Berry stomata, regula falsi (Illinois) on h(A) = A_C4(ci(A)) - Rd - A (the solver of
    rounds 7-11; since round 12 only for the leaves whose polynomial has no sign change in its bracket, which the
    tests have not met, and for a zero Ball-Berry intercept)."""
    cdef double lo, hi, flo, fhi, x, fx, tol, m
    cdef int it, side = 0
    if i_abs <= 0.0:
        return -rd
    lo = -rd
    hi = _c4_bracket(ca, gb, vmax, i_abs, rd, alpha, theta, &m)
    if hi <= lo:
        return lo
    flo = _h_c4(lo, ca, gb, k, b0, m, kco2, rd, beta)
    fhi = _h_c4(hi, ca, gb, k, b0, m, kco2, rd, beta)
    if flo <= 0.0:
        return lo
    x = lo
    for it in range(200):
        x = (lo * fhi - hi * flo) / (fhi - flo)
        fx = _h_c4(x, ca, gb, k, b0, m, kco2, rd, beta)
        tol = 1e-12 * (1.0 if fabs(x) < 1.0 else fabs(x))
        if fabs(fx) <= 1e-13 or hi - lo < tol:
            break
        if fx > 0.0:
            lo = x
            flo = fx
            if side == 1:
                fhi *= 0.5
            side = 1
        else:
            hi = x
            fhi = fx
            if side == -1:
                flo *= 0.5
            side = -1
    return x


cdef inline double coupled_c4(double ca, double gb, double k, double b0, double vmax, double kco2,
                              double i_abs, double rd, double alpha, double theta, double beta) noexcept nogil:
    """C4 leaf (Collatz et al. 1992) coupled with Ball-Berry stomata: the root of h(A) = A_C4(ci(A)) - Rd - A as the
    root of a polynomial (speed round 12; rounds 7-11 ran a regula falsi on h, _c4_illinois, to the same root).

    The Collatz co-limitation beta G^2 - (M + kp ci) G + M kp ci = 0 inverts to ci = G (M - beta G) / (kp (M - G))
    for the gross rate G = A + Rd < M; the supply side is cs = ca - A / gb, ci = cs - A / gs with gs = b0 + k A / cs
    for A > 0. h > 0 exactly where the supply ci exceeds the demand's ci, so with both denominators cleared (positive
    in the bracket) h has the sign of

        P(A) = kp cs (b0 cs + (k - 1) A) (M - G) - G (M - beta G) (b0 cs + k A),

    a cubic in A (the same form as the C3 case, Baldocchi 1994). If P(0) > 0 the root lies in (0, A_hi], A_hi the
    bracket of the regula falsi (M - Rd, capped where cs reaches 0); else A <= 0, stomata stay at the intercept
    conductance (gs = b0) and P is the quadratic kp (ca - A (1/gb + 1/b0)) (M - G) - G (M - beta G) on
    [-Rd, min(0, A_hi)]. The root of -P is found by the bracketed Halley iteration of the C3 leaves
    (_halley_bracketed), from the demand at the open-leaf ci (as coupled_c3) on the cubic branch: ~3 steps of a
    polynomial instead of ~8 evaluations of h with four divisions and a square root each."""
    cdef double lo, hi, m, g, m1, m2, q0, p0, p1, q1, s0, s1, s2, t0, t1, r, c3, c2, c1, c0, x, tmp, ci0
    cdef double blo, bhi, fl, fh
    if i_abs <= 0.0:
        return -rd
    lo = -rd
    hi = _c4_bracket(ca, gb, vmax, i_abs, rd, alpha, theta, &m)
    if hi <= lo:
        return lo
    if not b0 > 0.0:
        return _c4_illinois(ca, gb, k, b0, vmax, kco2, i_abs, rd, alpha, theta, beta)
    g = 1.0 / gb
    m1 = m - rd
    m2 = m - beta * rd
    t0 = rd * m2
    t1 = m2 - beta * rd
    q0 = kco2 * ca * m1 - t0
    if q0 > 0.0 and hi > 0.0:
        p0 = b0 * ca
        p1 = k - 1.0 - b0 * g
        q1 = k - b0 * g
        s0 = ca * p0
        s1 = ca * p1 - g * p0
        s2 = -g * p1
        c3 = kco2 * s2 - beta * q1
        c2 = (t1 * q1 - beta * p0) - kco2 * (s2 * m1 - s1)
        c1 = (t1 * p0 + t0 * q1) - kco2 * (s1 * m1 - s0)
        c0 = t0 * p0 - kco2 * (s0 * m1)
        blo = 0.0
        bhi = hi
        tmp = 1.0 - 1.0 / k if k > 1.4 else 0.7
        ci0 = tmp * ca
        x = _smaller_root(beta, -(m + kco2 * ci0), m * (kco2 * ci0)) - rd
    else:
        r = g + 1.0 / b0
        c3 = 0.0
        c2 = -(kco2 * r + beta)
        c1 = kco2 * ca + kco2 * r * m1 + t1
        c0 = -q0
        blo = lo
        bhi = hi if hi < 0.0 else 0.0
        x = 0.5 * (blo + bhi)
    fl = ((c3 * blo + c2) * blo + c1) * blo + c0
    fh = ((c3 * bhi + c2) * bhi + c1) * bhi + c0
    if not (fl < 0.0 and fh > 0.0):
        return _c4_illinois(ca, gb, k, b0, vmax, kco2, i_abs, rd, alpha, theta, beta)
    if not (x > blo and x < bhi):
        x = 0.5 * (blo + bhi)
    return _halley_bracketed(c3, c2, c1, c0, blo, bhi, x)


cdef inline double _int_exp(double k, double lai) noexcept nogil:
    if k * lai > 1e-10:
        return -expm1(-k * lai) / k
    return lai


cdef extern from *:
    """
/* one pass of the land's meteorology checks (speed round 9): the number of cells with a value that fails. Each
 * test is written so that NaN and +-inf fail it (a comparison with NaN is false), which makes it the finiteness test
 * and the range test of esm.land.model.LandModel._check_met together; the count is a double so that the loop
 * vectorises. */
#define ESM_MET_ARGS long n, const double *t2m, const double *tskin, const double *tsoil, const double *vpd, \
    const double *sw, const double *swdif, const double *cosz, const double *soilm, const double *ps, \
    const double *co2, const double *tsoiltop, double soilm_max
#define ESM_MET_BODY { \
    const double big = 1.7976931348623157e308; \
    double nbad = 0.0; \
    long i; \
    _Pragma("omp simd reduction(+:nbad)") \
    for (i = 0; i < n; i++) { \
        int ok = (t2m[i] >= 150.0) & (t2m[i] <= 350.0) & (tskin[i] >= 150.0) & (tskin[i] <= 380.0) \
            & (tsoil[i] >= 150.0) & (tsoil[i] <= 350.0) & (vpd[i] >= 0.0) & (vpd[i] <= big) \
            & (sw[i] >= 0.0) & (sw[i] <= big) & (swdif[i] >= 0.0) & (swdif[i] <= sw[i] * (1 + 1e-9) + 1e-9) \
            & (fabs(cosz[i]) <= 1.0) & (soilm[i] >= 0.0) & (soilm[i] <= soilm_max) & (ps[i] > 0.0) \
            & (ps[i] <= big) & (co2[i] > 0.0) & (co2[i] <= 1e5) & (tsoiltop[i] >= 150.0) & (tsoiltop[i] <= 350.0); \
        nbad += ok ? 0.0 : 1.0; \
    } \
    return nbad; \
}
static double esm_met_bad_base(ESM_MET_ARGS) ESM_MET_BODY
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
__attribute__((target("avx2,fma"))) static double esm_met_bad_avx2(ESM_MET_ARGS) ESM_MET_BODY
__attribute__((target("avx512f,prefer-vector-width=512"))) static double esm_met_bad_avx512(ESM_MET_ARGS) ESM_MET_BODY
#endif
static int esm_met_bad(int isa, ESM_MET_ARGS) {
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
    if (isa == 2)
        return esm_met_bad_avx512(n, t2m, tskin, tsoil, vpd, sw, swdif, cosz, soilm, ps, co2, tsoiltop, soilm_max) != 0.0;
    if (isa == 1)
        return esm_met_bad_avx2(n, t2m, tskin, tsoil, vpd, sw, swdif, cosz, soilm, ps, co2, tsoiltop, soilm_max) != 0.0;
#endif
    return esm_met_bad_base(n, t2m, tskin, tsoil, vpd, sw, swdif, cosz, soilm, ps, co2, tsoiltop, soilm_max) != 0.0;
}
    """
    int esm_met_bad(int isa, long n, const double *t2m, const double *tskin, const double *tsoil, const double *vpd,
                    const double *sw, const double *swdif, const double *cosz, const double *soilm, const double *ps,
                    const double *co2, const double *tsoiltop, double soilm_max) noexcept nogil


def met_valid(const double[::1] t2m, const double[::1] tskin, const double[::1] tsoil, const double[::1] vpd,
              const double[::1] sw, const double[::1] swdif, const double[::1] cosz, const double[::1] soilm,
              const double[::1] ps, const double[::1] co2, const double[::1] tsoil_top, double soilm_max, int isa=0,
              int nthreads=1):
    """True if every value passes the land's meteorology checks (``esm.land.model.LandModel._check_met``: finite,
    radiation >= 0 and diffuse <= global (1 + 1e-9) + 1e-9, soil moisture in [0, soilm_max], vpd >= 0, ps > 0,
    temperatures in range, |cos Z| <= 1, CO2 in (0, 1e5]) in one pass (speed round 9); False: at least one fails
    (the caller then finds and names it). The comparisons are those of _check_met; ``isa`` as :func:`cell_isa`
    (the cell kernel's switch decides, as there, whether the CPU has the instruction set). ``nthreads``: the cells in
    that many contiguous pieces on as many threads (speed round 12; a pass over 1.3 MB at 1x1 is bound by one core's
    memory traffic)."""
    cdef Py_ssize_t n = t2m.shape[0], c, c0, c1, nch
    cdef int bad = 0
    if (tskin.shape[0] != n or tsoil.shape[0] != n or vpd.shape[0] != n or sw.shape[0] != n or swdif.shape[0] != n
            or cosz.shape[0] != n or soilm.shape[0] != n or ps.shape[0] != n or co2.shape[0] != n
            or tsoil_top.shape[0] != n):
        return False
    if n == 0:
        return True
    nch = max(1, min(nthreads, n // 4096))
    for c in prange(nch, nogil=True, num_threads=nch, schedule="static"):
        c0 = c * n // nch
        c1 = (c + 1) * n // nch
        bad += esm_met_bad(isa, c1 - c0, &t2m[c0], &tskin[c0], &tsoil[c0], &vpd[c0], &sw[c0], &swdif[c0], &cosz[c0],
                           &soilm[c0], &ps[c0], &co2[c0], &tsoil_top[c0], soilm_max)
    return bad == 0


cdef extern from *:
    """
/* the daily InTEC pool step of tiles [t0, t1) (speed round 9: plain C over the tile records instead of memoryview
 * indexing; the arithmetic and its order as before, i.e. as esm.land.intec.PoolModel.step) */
#define ESM_NPOOL_MAX 32
static void esm_pool_tiles(long t0, long t1, long npool, long nveg, long nalloc, double *pools,
                           const double *k, const int *kidx, const double *alloc, const int *aidx, const int *recv,
                           const int *donor, const double *pfrac, const int *pidx, long npair, const double *npp_sum,
                           const double *xi_sum, double dt_sum) {
    long t, i, q;
    double w[ESM_NPOOL_MAX];  /* the tile's losses (speed round 11: was a (ntile, npool) array written and read back) */
    for (t = t0; t < t1; t++) {
        double *p = pools + t * npool;
        /* the tile's rates, allocation and transfer fractions from the tables of distinct rows (speed round 11: at 1x1
         * 6 distinct rate rows, 4 allocation rows and ~2500 fraction rows for 51 465 tiles; the per-tile arrays were
         * ~15 MB read every day) */
        const double *kt = k + (long)kidx[t] * npool, *at = alloc + (long)aidx[t] * nalloc;
        const double *pf = pfrac + (long)pidx[t] * npair;
        double xs = xi_sum[t], ns = npp_sum[t];
        for (i = 0; i < npool; i++)
            w[i] = kt[i] * p[i] * (i < nveg ? dt_sum : xs);
        for (i = 0; i < npool; i++)
            p[i] = p[i] - w[i];
        for (q = 0; q < npair; q++)
            p[recv[q]] = p[recv[q]] + pf[q] * w[donor[q]];
        for (i = 0; i < nveg; i++)
            p[i] = p[i] + at[i] * ns;
    }
}
    """
    int ESM_NPOOL_MAX
    void esm_pool_tiles(long t0, long t1, long npool, long nveg, long nalloc, double *pools,
                        const double *k, const int *kidx, const double *alloc, const int *aidx, const int *recv,
                        const int *donor, const double *pfrac, const int *pidx, long npair, const double *npp_sum,
                        const double *xi_sum, double dt_sum) noexcept nogil


cdef extern from *:
    """
/* the hour's integrals of the land cells (speed round 11: restrict pointers and selects, so that gcc vectorises the
 * loop; round 10's Cython loop with branches took ~13 ns per cell). The arithmetic and its order are those of the
 * numpy expressions (esm.land.disturbance.available_water, esm.land.phenology.GsiPhenology.accumulate): the clip as
 * two selects (a NaN passes both, as through the branches), the minimum taking tc where tc < tmin or tc is NaN. */
#define ESM_HACC_ARGS long n, const double *restrict xi, const double *restrict t2m, const double *restrict vpd, \
    const double *restrict soilm, double dt, double wp, double awc, double *restrict acc_xi, double *restrict acc_wm, \
    double *restrict acc_tair, double *restrict tmin, double *restrict vpd_sum, double *restrict soilm_sum, \
    double *restrict tsum, int fire, int phen
#define ESM_HACC_BODY { \
    long i; \
    _Pragma("omp simd") \
    for (i = 0; i < n; i++) acc_xi[i] = acc_xi[i] + xi[i] * dt; \
    if (fire) { \
        _Pragma("omp simd") \
        for (i = 0; i < n; i++) { \
            double w = (soilm[i] - wp) / awc; \
            w = w < 0.0 ? 0.0 : w; \
            w = w > 1.0 ? 1.0 : w; \
            acc_wm[i] = acc_wm[i] + w * dt; \
            acc_tair[i] = acc_tair[i] + (t2m[i] - 273.15) * dt; \
        } \
    } \
    if (phen) { \
        _Pragma("omp simd") \
        for (i = 0; i < n; i++) { \
            double tc = t2m[i] - 273.15; \
            double m = tmin[i]; \
            tmin[i] = (tc < m || tc != tc) ? tc : m; \
            vpd_sum[i] = vpd_sum[i] + vpd[i]; \
            soilm_sum[i] = soilm_sum[i] + soilm[i]; \
            tsum[i] = tsum[i] + tc; \
        } \
    } \
}
static void esm_hacc_base(ESM_HACC_ARGS) ESM_HACC_BODY
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
__attribute__((target("avx2,fma"))) static void esm_hacc_avx2(ESM_HACC_ARGS) ESM_HACC_BODY
__attribute__((target("avx512f,prefer-vector-width=512"))) static void esm_hacc_avx512(ESM_HACC_ARGS) ESM_HACC_BODY
#endif
static void esm_hour_acc(int isa, ESM_HACC_ARGS) {
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
    if (isa == 2) { esm_hacc_avx512(n, xi, t2m, vpd, soilm, dt, wp, awc, acc_xi, acc_wm, acc_tair, tmin, vpd_sum, soilm_sum, tsum, fire, phen); return; }
    if (isa == 1) { esm_hacc_avx2(n, xi, t2m, vpd, soilm, dt, wp, awc, acc_xi, acc_wm, acc_tair, tmin, vpd_sum, soilm_sum, tsum, fire, phen); return; }
#endif
    esm_hacc_base(n, xi, t2m, vpd, soilm, dt, wp, awc, acc_xi, acc_wm, acc_tair, tmin, vpd_sum, soilm_sum, tsum, fire, phen);
}
    """
    void esm_hour_acc(int isa, long n, const double *xi, const double *t2m, const double *vpd, const double *soilm,
                      double dt, double wp, double awc, double *acc_xi, double *acc_wm, double *acc_tair,
                      double *tmin, double *vpd_sum, double *soilm_sum, double *tsum, int fire,
                      int phen) noexcept nogil


def hour_accumulate(const double[::1] xi, const double[::1] t2m, const double[::1] vpd, const double[::1] soilm,
                    double dt, double wilting_point, double awc, double[::1] acc_xi, double[::1] acc_wm,
                    double[::1] acc_tair, double[::1] tmin, double[::1] vpd_sum, double[::1] soilm_sum,
                    double[::1] tsum, bint fire, bint phenology, int isa=-1):
    """The hourly integrals of the land cells in one compiled pass (speed round 10; were seven numpy expressions per
    hour): ``acc_xi += xi dt``; with ``fire`` the relative available soil water ``clip((soilm - wp) / awc, 0, 1) dt``
    and the air temperature ``(t2m - 273.15) dt`` (``esm.land.disturbance.available_water``); with ``phenology`` the
    GSI day's minimum temperature and sums of vpd, soil moisture and temperature
    (``esm.land.phenology.GsiPhenology.accumulate``). ``awc`` = field capacity - wilting point. The arithmetic and
    its order are those of the numpy expressions (bit-identical in every build, tests/test_land_kernel.py); round 11
    made the loop a vectorised C pass (``isa`` as :func:`cell_isa`). The output arrays must not overlap each other
    or the inputs (they are separate accumulators; the C loop is declared ``restrict``), except that without
    ``phenology`` the four GSI arrays are not touched and may be any arrays of the right length."""
    cdef Py_ssize_t n = xi.shape[0]
    cdef int use = esm_cell_isa(isa)
    if (t2m.shape[0] != n or vpd.shape[0] != n or soilm.shape[0] != n or acc_xi.shape[0] != n
            or acc_wm.shape[0] != n or acc_tair.shape[0] != n or tmin.shape[0] != n or vpd_sum.shape[0] != n
            or soilm_sum.shape[0] != n or tsum.shape[0] != n):
        raise ValueError(f"hour_accumulate: every array must hold the {n} land cells of xi")
    if n == 0:
        return
    with nogil:
        esm_hour_acc(use, n, &xi[0], &t2m[0], &vpd[0], &soilm[0], dt, wilting_point, awc, &acc_xi[0], &acc_wm[0],
                     &acc_tair[0], &tmin[0], &vpd_sum[0], &soilm_sum[0], &tsum[0], fire, phenology)


def pool_step(double[:, ::1] pools, const double[:, ::1] k, const int[::1] kidx, const double[:, ::1] alloc,
              const int[::1] aidx, const int[::1] pair_recv, const int[::1] pair_donor, const double[:, ::1] pair_frac,
              const int[::1] pidx, const double[::1] npp_sum, const double[::1] xi_sum, double dt_sum, int nveg,
              int nthreads):
    """In-place daily InTEC pool step (same arithmetic, in the same order, as esm.land.intec.PoolModel.step). Tile t
    takes its turnover rates from row ``kidx[t]`` of ``k``, its NPP allocation from row ``aidx[t]`` of ``alloc`` and
    its transfer fractions from row ``pidx[t]`` of ``pair_frac`` (nrow, npair) (tables of the distinct rows,
    esm.land.intec.PoolModel builds them). Tiles in chunks of 1024; each tile's losses in a local buffer (speed round
    11: no scratch array of the pools' size)."""
    cdef Py_ssize_t ntile = pools.shape[0]
    cdef Py_ssize_t npool = pools.shape[1]
    cdef Py_ssize_t npair = pair_recv.shape[0]
    cdef Py_ssize_t nchunk = (ntile + 1023) // 1024, ch, t
    if (npool > ESM_NPOOL_MAX or k.shape[1] != npool or kidx.shape[0] != ntile or aidx.shape[0] != ntile
            or pidx.shape[0] != ntile or alloc.shape[1] < nveg or nveg > npool or pair_donor.shape[0] != npair
            or pair_frac.shape[1] != npair or npp_sum.shape[0] != ntile or xi_sum.shape[0] != ntile):
        raise ValueError(f"pool_step: pools (ntile, npool <= {ESM_NPOOL_MAX}), k (nk, npool), alloc (na, >= nveg), "
                         "pair arrays (npair), pair_frac (nrow, npair), kidx, aidx, pidx, npp_sum and xi_sum (ntile) "
                         "expected")
    for q in range(npair):
        if not (0 <= pair_recv[q] < npool and 0 <= pair_donor[q] < npool):
            raise ValueError("pool_step: pair index outside the pools")
    for t in range(ntile):
        if not (0 <= kidx[t] < k.shape[0] and 0 <= aidx[t] < alloc.shape[0] and 0 <= pidx[t] < pair_frac.shape[0]):
            raise ValueError(f"pool_step: tile {t} indexes outside its rate, allocation or fraction table")
    if ntile == 0:
        return
    cdef const double *p_pf = &pair_frac[0, 0] if npair > 0 and pair_frac.shape[0] > 0 else NULL
    for ch in prange(nchunk, nogil=True, num_threads=nthreads, schedule="static"):
        esm_pool_tiles(ch * 1024, (ch + 1) * 1024 if (ch + 1) * 1024 < ntile else ntile, npool, nveg,
                       alloc.shape[1], &pools[0, 0], &k[0, 0], &kidx[0], &alloc[0, 0], &aidx[0], &pair_recv[0],
                       &pair_donor[0], p_pf, &pidx[0], npair, &npp_sum[0], &xi_sum[0], dt_sum)


cdef void _fire_tile(Py_ssize_t t, const double[:, ::1] start, double[:, ::1] new, double b,
                     const double[:, ::1] fire_loss, const double[:, ::1] keep, const int[::1] pair_recv,
                     const int[::1] pair_donor, const double[:, ::1] pair_frac, int nburn) noexcept nogil:
    cdef double loss[16]
    cdef Py_ssize_t p, q, i, j
    for p in range(nburn):
        loss[p] = b * (fire_loss[t, p] * start[t, p])
        new[t, p] = new[t, p] - loss[p]
    for q in range(pair_recv.shape[0]):
        i = pair_recv[q]
        j = pair_donor[q]
        new[t, i] = new[t, i] + pair_frac[q, t] * (loss[j] * keep[t, j])


def fire_step(const double[:, ::1] start, double[:, ::1] new, const double[::1] burned,
              const double[:, ::1] fire_loss, const double[:, ::1] keep, const int[::1] pair_recv,
              const int[::1] pair_donor, const double[:, ::1] pair_frac, int nburn, int nthreads):
    """Fire of one pool step in place (same arithmetic, in the same order, as
    esm.land.intec.PoolModel._fire_step): pools 0..nburn-1 lose burned x fire_loss x start, the
    unburnt part of the vegetation losses (keep, ntile x nveg) moves along the pairs (npair, ntile);
    tiles that do not burn are skipped (for them the numpy arithmetic adds and subtracts zeros)."""
    cdef Py_ssize_t ntile = start.shape[0]
    cdef Py_ssize_t npool = start.shape[1]
    cdef Py_ssize_t nkeep = keep.shape[1]
    cdef Py_ssize_t npair = pair_recv.shape[0]
    cdef Py_ssize_t t, q
    if (new.shape[0] != ntile or new.shape[1] != npool or burned.shape[0] != ntile or fire_loss.shape[0] != ntile
            or fire_loss.shape[1] < nburn or nburn > npool or nburn > 16 or keep.shape[0] != ntile or nkeep > nburn
            or pair_donor.shape[0] != npair or pair_frac.shape[0] != npair
            or (npair > 0 and pair_frac.shape[1] != ntile)):
        raise ValueError("fire_step: start, new (ntile, npool), burned (ntile), fire_loss (ntile, >= nburn), "
                         "keep (ntile, <= nburn), pairs (npair), pair_frac (npair, ntile) expected")
    for q in range(npair):
        if not (0 <= pair_recv[q] < npool and 0 <= pair_donor[q] < nkeep):
            raise ValueError("fire_step: pair index outside the pools")
    for t in prange(ntile, nogil=True, num_threads=nthreads, schedule="static"):
        if burned[t] != 0.0:
            _fire_tile(t, start, new, burned[t], fire_loss, keep, pair_recv, pair_donor, pair_frac, nburn)


def pool_rates(const double[:, ::1] pools, const double[:, ::1] rk, const double[:, ::1] le,
               const double[::1] harvest_k, const double[::1] danger_area, double fuel_min, int nsoil0,
               int nburn, double[::1] rh_coef, double[::1] fire, double[::1] harvest, int nthreads):
    """The rates that stay fixed while the pools do, in one pass over the tiles (esm.land.intec.PoolModel.daily_rates):
    rh_coef = sum_{p >= nsoil0} rk C, harvest = harvest_k C_leaf, fire = danger_area min(1, fuel / fuel_min)
    sum_{p < nburn} le C with fuel = surface structural + surface metabolic + CWD (pools 5, 6, 4)."""
    cdef Py_ssize_t ntile = pools.shape[0]
    cdef Py_ssize_t npool = pools.shape[1]
    cdef Py_ssize_t t, p
    cdef double acc, fuel, avail
    if (rk.shape[0] != ntile or rk.shape[1] != npool - nsoil0 or le.shape[0] != ntile or le.shape[1] < nburn
            or nburn > npool or npool < 7 or harvest_k.shape[0] != ntile or danger_area.shape[0] != ntile
            or rh_coef.shape[0] != ntile or fire.shape[0] != ntile or harvest.shape[0] != ntile):
        raise ValueError("pool_rates: pools (ntile, npool), rk (ntile, npool - nsoil0), le (ntile, >= nburn), "
                         "per-tile vectors (ntile) expected")
    for t in prange(ntile, nogil=True, num_threads=nthreads, schedule="static"):
        acc = 0.0
        for p in range(nsoil0, npool):
            acc = acc + rk[t, p - nsoil0] * pools[t, p]
        rh_coef[t] = acc
        harvest[t] = harvest_k[t] * pools[t, 0]
        if danger_area[t] == 0.0:
            fire[t] = 0.0
        else:
            fuel = (pools[t, 5] + pools[t, 6]) + pools[t, 4]
            avail = 1.0
            if fuel_min > 0.0:
                avail = fuel / fuel_min
                if avail > 1.0:
                    avail = 1.0
                if avail < 0.0:
                    avail = 0.0
            acc = 0.0
            for p in range(nburn):
                acc = acc + le[t, p] * pools[t, p]
            fire[t] = (danger_area[t] * avail) * acc


# ---- per-cell factors (the arithmetic of esm.land.beps.cell_factors / water_stress_table and
# esm.land.intec.decomposition_scalar, for the cells; photosynthesis factors only where the sun is up)
cdef enum:
    Q_SKINW = 0
    Q_PSISAT = 1
    Q_POROSITY = 2
    Q_SOILB = 3
    Q_FWTC = 4
    Q_KC25 = 5
    Q_KO25 = 6
    Q_TAU25 = 7
    Q_EAKC = 8
    Q_EAKO = 9
    Q_EATAU = 10
    Q_O2 = 11
    Q_EAVC = 12
    Q_EAJM = 13
    Q_HD = 14
    Q_TOPT = 15
    Q_EARD = 16
    Q_C4Q10 = 17
    Q_Q10A = 18
    Q_Q10B = 19
    Q_E0 = 20
    Q_T0 = 21
    Q_TREF = 22
    Q_W1 = 23
    Q_W2 = 24
    Q_W0 = 25
    Q_FWMIN = 26
    Q_GVC25 = 27   # peaked function of Vcmax at 25 C (normalisation)
    Q_GJM25 = 28
    Q_DIFBEPS = 29  # 1: diffuse part from the BEPS relation of the clearness index, 0: the meteorology's
    Q_LTMIN = 30    # lower bound of the decomposition temperature factor (BEPS soilresp.c: 0.3)
    Q_WMIN = 31     # lower bound of the decomposition moisture factor (BEPS soilresp.c: 0.3)
    NQ = 32

cdef enum:
    M_T2M = 0
    M_TSKIN = 1
    M_TSOIL = 2
    M_VPD = 3
    M_SW = 4
    M_SWDIF = 5
    M_COSZ = 6
    M_SOILM = 7
    M_PS = 8
    M_CO2 = 9
    M_TSOILTOP = 10  # the decomposition's soil temperature (tsoil_top, or tsoil: esm.land.model.met_arrays)
    NM = 11


def cell_layout():
    return {'NQ': NQ, 'NM': NM}


cdef extern from *:
    """
/* ---- vectorisable exp / log and the per-cell factors (esm land, speed round 7) ----
 * esm_exp, esm_expm1, esm_log: written for esm (not derived from any libm source). Standard range reduction:
 * exp: x = n ln2 + r, n = nearest integer to x / ln2 (rounding by adding 1.5 * 2^52), r = (x - n L1) - n L2
 * with ln2 = L1 + L2, L1 = ln2 to 32 significant bits (n L1 exact for |n| < 2^21); exp(r) - 1 - r by the
 * Taylor series to r^13 (|r| <= ln2 / 2: truncation < 5e-18), 2^n built in the exponent field.
 * log: a = 2^e m, m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f), log(1 + f) = 2 atanh(s)
 * = f - f^2/2 + s (f^2/2 + R), R = sum_{k=1..10} 2 s^(2k) / (2k + 1) (truncation < 1e-18 relative);
 * log a = e L1 + (log m + e L2). Measured against glibc over 3 x 10^6 arguments (tests/test_land_kernel.py checks
 * a sample): exp and log within 1 ulp of glibc, expm1 within 2 ulp; pow(a, b) = exp(b log a) adds |b log a| ulp.
 * Only the IEEE operations +, -, *, / on doubles and integer bit operations: the loops that call them vectorise
 * (#pragma omp simd) and every lane gives the result of the scalar code, whatever the instruction set. */
#include <stdint.h>
#include <string.h>
#define ESM_AI static inline __attribute__((always_inline))

ESM_AI uint64_t esm_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
ESM_AI double esm_dbl(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

#define ESM_LN2HI 0x1.62e42fee00000p-1
#define ESM_LN2LO 0x1.a39ef35793c76p-33
#define ESM_LOG2E 0x1.71547652b82fep+0
#define ESM_SHIFT 0x1.8p52

/* n (as a double, exact integer) and r of the reduction; p = exp(r) - 1 */
ESM_AI double esm_exp_core(double x, double *nd_out) {
    double kd = x * ESM_LOG2E + ESM_SHIFT;
    double nd = kd - ESM_SHIFT;
    double r = (x - nd * ESM_LN2HI) - nd * ESM_LN2LO;
    double q = 1.6059043836821613e-10;
    q = fma(q, r, 2.08767569878681e-09);
    q = fma(q, r, 2.505210838544172e-08);
    q = fma(q, r, 2.755731922398589e-07);
    q = fma(q, r, 2.7557319223985893e-06);
    q = fma(q, r, 2.48015873015873e-05);
    q = fma(q, r, 0.0001984126984126984);
    q = fma(q, r, 0.001388888888888889);
    q = fma(q, r, 0.008333333333333333);
    q = fma(q, r, 0.041666666666666664);
    q = fma(q, r, 0.16666666666666666);
    q = fma(q, r, 0.5);
    *nd_out = nd;
    return r + (r * r) * q;
}

/* 2^n for an integer n in [-1022, 1024] held in a double (1024 gives +inf) */
ESM_AI double esm_pow2(double nd) {
    return esm_dbl((esm_bits(nd + ESM_SHIFT) + 1023u) << 52);
}

ESM_AI double esm_exp(double x) {
    double nd, p, y;
    double xc = x > 709.8 ? 709.8 : x;   /* > log(DBL_MAX): n = 1024, the scaling gives +inf */
    xc = xc < -708.3 ? -708.3 : xc;
    p = esm_exp_core(xc, &nd);
    y = (1.0 + p) * esm_pow2(nd);
    return x < -708.3 ? 0.0 : y;       /* below DBL_MIN: flushed to 0 (subnormal results are not needed here) */
}

ESM_AI double esm_expm1(double x) {
    double nd, p, s, y;
    double xc = x > 709.0 ? 709.0 : x;
    xc = xc < -40.0 ? -40.0 : xc;      /* exp(-40) - 1 = -1 to double precision */
    p = esm_exp_core(xc, &nd);
    s = esm_pow2(nd);
    y = nd == 0.0 ? p : s * p + (s - 1.0);
    return x < -40.0 ? -1.0 : y;
}

ESM_AI double esm_log(double a) {
    /* a > 0 finite; arguments below DBL_MIN are treated as DBL_MIN */
    double ac = a < 0x1p-1022 ? 0x1p-1022 : a;
    uint64_t u = esm_bits(ac);
    double ed = esm_dbl((u >> 52) | 0x4330000000000000u) - (4503599627370496.0 + 1023.0);
    double m = esm_dbl((u & 0x000fffffffffffffu) | 0x3ff0000000000000u);
    int big = m > 1.4142135623730951;
    double f, s, z, R, hf;
    m = big ? 0.5 * m : m;
    ed = big ? ed + 1.0 : ed;
    f = m - 1.0;
    s = f / (2.0 + f);
    z = s * s;
    R = 0.09523809523809523;
    R = fma(R, z, 0.10526315789473684);
    R = fma(R, z, 0.11764705882352941);
    R = fma(R, z, 0.13333333333333333);
    R = fma(R, z, 0.15384615384615385);
    R = fma(R, z, 0.18181818181818182);
    R = fma(R, z, 0.2222222222222222);
    R = fma(R, z, 0.2857142857142857);
    R = fma(R, z, 0.4);
    R = fma(R, z, 0.6666666666666666);
    R = R * z;
    hf = 0.5 * f * f;
    return ed * ESM_LN2HI + (f - (hf - (s * (hf + R) + ed * ESM_LN2LO)));
}

ESM_AI double esm_pow(double a, double b) { return esm_exp(b * esm_log(a)); }

/* layout (keep in sync with the enums of beps.pyx; checked by cell_step) */
enum { EC_MU = 0, EC_SDIR, EC_SDIF, EC_CA, EC_RH, EC_PSI, EC_FTSOIL, EC_KM_SUN, EC_GS_SUN, EC_FV_SUN, EC_FJ_SUN,
       EC_FRD_SUN, EC_KM_SH, EC_GS_SH, EC_FV_SH, EC_FJ_SH, EC_FRD_SH, EC_F4V_SUN, EC_F4K_SUN, EC_F4RD_SUN,
       EC_F4V_SH, EC_F4K_SH, EC_F4RD_SH, EC_FQ_AIR, EC_FQ_SOIL, EC_EXPMU, EC_NCROW };
enum { EM_T2M = 0, EM_TSKIN, EM_TSOIL, EM_VPD, EM_SW, EM_SWDIF, EM_COSZ, EM_SOILM, EM_PS, EM_CO2, EM_TSOILTOP, EM_NM };
enum { EQ_SKINW = 0, EQ_PSISAT, EQ_POROSITY, EQ_SOILB, EQ_FWTC, EQ_KC25, EQ_KO25, EQ_TAU25, EQ_EAKC, EQ_EAKO,
       EQ_EATAU, EQ_O2, EQ_EAVC, EQ_EAJM, EQ_HD, EQ_TOPT, EQ_EARD, EQ_C4Q10, EQ_Q10A, EQ_Q10B, EQ_E0, EQ_T0, EQ_TREF,
       EQ_W1, EQ_W2, EQ_W0, EQ_FWMIN, EQ_GVC25, EQ_GJM25, EQ_DIFBEPS, EQ_LTMIN, EQ_WMIN, EQ_NQ };

ESM_AI double esm_arr(double t, double ea) {
    return esm_exp(ea * (t - 298.15) / (8.314462618 * 298.15 * t));
}

ESM_AI double esm_peak(double t, double ea, double hd, double topt) {
    double x = (t - topt) / (8.314462618 * topt * t);
    return hd * esm_exp(ea * x) / (hd - ea * (1.0 - esm_exp(hd * x)));
}

#define ESM_BLK 256

/* C3 factors (rows C_KM .. C_FRD, 5 per leaf temperature) of the daylit cells with C3 tiles, compacted: inputs
 * lin[0] sunlit leaf temperature, lin[1] air temperature, lin[2] pbar; outputs lf[r * ESM_BLK + k], r < 10 */
ESM_AI void esm_c3_impl(const double *lin, const double *q, double *lf, long nd, const int samej) {
    long k;
#pragma omp simd
    for (k = 0; k < nd; k++) {
        int s;
        double pbar = lin[2 * ESM_BLK + k];
        double o2 = q[EQ_O2] * 1000.0 * pbar;
        for (s = 0; s < 2; s++) {
            double t = lin[s * ESM_BLK + k];
            double kc = q[EQ_KC25] * esm_arr(t, q[EQ_EAKC]);
            double ko = q[EQ_KO25] * esm_arr(t, q[EQ_EAKO]);
            double tau = q[EQ_TAU25] * esm_arr(t, q[EQ_EATAU]);
            double fv = esm_peak(t, q[EQ_EAVC], q[EQ_HD], q[EQ_TOPT]);
            double fj = samej ? fv : esm_peak(t, q[EQ_EAJM], q[EQ_HD], q[EQ_TOPT]);
            lf[(5 * s + 0) * ESM_BLK + k] = kc * (1.0 + o2 / ko) / pbar;
            lf[(5 * s + 1) * ESM_BLK + k] = 0.5 * o2 * 1000.0 / tau / pbar;
            lf[(5 * s + 2) * ESM_BLK + k] = fv / q[EQ_GVC25];
            lf[(5 * s + 3) * ESM_BLK + k] = fj / q[EQ_GJM25];
            lf[(5 * s + 4) * ESM_BLK + k] = esm_arr(t, q[EQ_EARD]);
        }
    }
}

/* C4 factors (rows C_F4V .. C_F4RD, 3 per leaf temperature) of the daylit cells with C4 tiles, compacted */
ESM_AI void esm_c4_impl(const double *lin, const double *q, double *lf, long nd) {
    long k;
#pragma omp simd
    for (k = 0; k < nd; k++) {
        int s;
        for (s = 0; s < 2; s++) {
            double t = lin[s * ESM_BLK + k];
            double qf = esm_pow(q[EQ_C4Q10], (t - 273.15 - 25.0) / 10.0);
            lf[(3 * s + 0) * ESM_BLK + k] = qf / ((1.0 + esm_exp(0.3 * (13.0 - (t - 273.15))))
                                                  * (1.0 + esm_exp(0.3 * ((t - 273.15) - 36.0))));
            lf[(3 * s + 1) * ESM_BLK + k] = qf;
            lf[(3 * s + 2) * ESM_BLK + k] = qf / (1.0 + esm_exp(1.3 * ((t - 273.15) - 55.0)));
        }
    }
}

/* cells [c0, c1), c1 - c0 <= ESM_BLK, from the block columns met[j * ESM_BLK + i]: the cell part of the arithmetic
 * of the scalar cell kernel of round 6 (all but the photosynthesis factors), branch-free, into the block columns
 * o (rows C_MU .. C_FTSOIL, C_FQ_AIR .. C_EXPMU) and into xi; the loop vectorises */
ESM_AI void esm_cell_impl(const double *met, const double *q, double *o, double *xi, long nb, const int difbeps) {
    long i;
#pragma omp simd
    for (i = 0; i < nb; i++) {
        double ta = met[EM_T2M * ESM_BLK + i], tsc = met[EM_TSOIL * ESM_BLK + i] - 273.15;
        double tst = met[EM_TSOILTOP * ESM_BLK + i] - 273.15;  /* the decomposition's soil temperature */
        double sw = met[EM_SW * ESM_BLK + i], cosz = met[EM_COSZ * ESM_BLK + i], soilm = met[EM_SOILM * ESM_BLK + i];
        double dif = met[EM_SWDIF * ESM_BLK + i], mu, es, rh, x, ft, lt, e0, r, f, ltarg;
        int up;
        if (difbeps) {
            r = cosz >= 0.001 ? sw / (1367.0 * cosz) : 0.0;
            f = 0.943 + r * (0.734 + r * (-4.9 + r * (1.796 + r * 2.058)));
            f = r > 0.8 ? 0.13 : f;
            f = f > 1.0 ? 1.0 : f;
            f = f < 0.0 ? 0.0 : f;
            dif = f * sw;
        }
        dif = dif > sw ? sw : dif;
        up = (sw > 0.0) & (cosz > 0.0);
        mu = up ? cosz : 0.0;
        o[EC_MU * ESM_BLK + i] = mu;
        o[EC_SDIR * ESM_BLK + i] = sw - dif;
        o[EC_SDIF * ESM_BLK + i] = dif;
        es = 610.78 * esm_exp(17.27 * (ta - 273.15) / (ta - 273.15 + 237.3));
        rh = 1.0 - met[EM_VPD * ESM_BLK + i] / es;
        rh = rh < 0.0 ? 0.0 : rh;
        rh = rh > 1.0 ? 1.0 : rh;
        o[EC_RH * ESM_BLK + i] = rh;
        x = soilm < 1e-6 ? 1e-6 : soilm;
        o[EC_PSI * ESM_BLK + i] = q[EQ_PSISAT] * esm_pow(x / q[EQ_POROSITY], -q[EQ_SOILB]);
        ft = -esm_expm1(-q[EQ_FWTC] * tsc * tsc);
        ft = tsc > 0.0 ? ft : 0.0;
        o[EC_FTSOIL * ESM_BLK + i] = ft;
        x = ta - 273.15;
        o[EC_FQ_AIR * ESM_BLK + i] = esm_pow(q[EQ_Q10A] + q[EQ_Q10B] * x, (x - 25.0) / 10.0);
        o[EC_FQ_SOIL * ESM_BLK + i] = esm_pow(q[EQ_Q10A] + q[EQ_Q10B] * tsc, (tsc - 25.0) / 10.0);
        x = esm_exp(-mu);
        o[EC_EXPMU * ESM_BLK + i] = mu > 0.0 ? x : 1.0;
        /* decomposition scalar (Lloyd & Taylor at the decomposition's soil temperature; InTEC moisture) */
        ltarg = tst > q[EQ_T0] + 1.0 ? tst : q[EQ_T0] + 2.0;  /* the exp argument stays finite where unused */
        lt = esm_exp(q[EQ_E0] * (1.0 / (q[EQ_TREF] - q[EQ_T0]) - 1.0 / (ltarg - q[EQ_T0])));
        lt = lt > 1.0 ? 1.0 : lt;
        lt = tst > q[EQ_T0] + 1.0 ? lt : 0.0;
        lt = lt < q[EQ_LTMIN] ? q[EQ_LTMIN] : lt;
        x = soilm / q[EQ_POROSITY];
        e0 = q[EQ_W1] * x + q[EQ_W2] * x * x + q[EQ_W0];
        e0 = e0 < 0.0 ? 0.0 : e0;
        e0 = e0 > 1.0 ? 1.0 : e0;
        e0 = e0 < q[EQ_WMIN] ? q[EQ_WMIN] : e0;
        xi[i] = lt * e0;
    }
}

/* water stress of cover type p (Ju et al. 2006) from the block columns o into the block column w */
ESM_AI void esm_fw_impl(const double *o, double *w, double pmin, double alpha, double fwmin, long nb) {
    long i;
#pragma omp simd
    for (i = 0; i < nb; i++) {
        double psi = o[EC_PSI * ESM_BLK + i], ft = o[EC_FTSOIL * ESM_BLK + i];
        double y = psi > pmin ? (psi - pmin) / pmin : 1.0;
        double fw = 1.0 / (1.0 + esm_pow(y, alpha)) * ft;
        fw = psi > pmin ? fw : 1.0 * ft;
        fw = ft == 0.0 ? 0.0 : fw;
        fw = fw < fwmin ? fwmin : fw;
        w[i] = fw;
    }
}

#define ESM_CELL_ARGS const double *met, long msc, long msj, const double *const *mrow, const double *q, double *cell, double *xi, const unsigned char *kinds, \
    double *fwtab, long npft, const int *uniq, int nuniq, const int *cdst, const int *csrc, int ncopy, \
    const double *pmin, const double *palpha, long c0, long c1, long coff
/* one block: met records -> columns; the cell part (vectorised) for all cells; the photosynthesis factors
 * (vectorised) for the compacted daylit cells with C3 and with C4 tiles only (the scalar code computed them only
 * there as well; zero elsewhere); the water stress per distinct cover-type parameter set; back to records */
#define ESM_CELL_BODY { \
    double o[EC_NCROW * ESM_BLK], w[ESM_BLK], mt[EM_NM * ESM_BLK], l3[3 * ESM_BLK], l4[2 * ESM_BLK]; \
    double f3[10 * ESM_BLK], f4[6 * ESM_BLK]; \
    int i3[ESM_BLK], i4[ESM_BLK]; \
    long i, j, k, nb = c1 - c0, n3 = 0, n4 = 0; \
    int samej = q[EQ_EAJM] == q[EQ_EAVC], difb = q[EQ_DIFBEPS] != 0.0; \
    if (mrow) \
        for (j = 0; j < EM_NM; j++) \
            memcpy(mt + j * ESM_BLK, mrow[j] + c0, (size_t)nb * sizeof(double)); \
    else if (msc == 1) \
        for (j = 0; j < EM_NM; j++) \
            memcpy(mt + j * ESM_BLK, met + j * msj + c0, (size_t)nb * sizeof(double)); \
    else \
        for (i = 0; i < nb; i++) \
            for (j = 0; j < EM_NM; j++) \
                mt[j * ESM_BLK + i] = met[(c0 + i) * msc + j * msj]; \
    if (difb) esm_cell_impl(mt, q, o, xi + c0, nb, 1); \
    else esm_cell_impl(mt, q, o, xi + c0, nb, 0); \
    for (i = 0; i < nb; i++) { \
        double ta = mt[EM_T2M * ESM_BLK + i], tl; \
        if (!(o[EC_MU * ESM_BLK + i] > 0.0)) continue; \
        tl = ta + q[EQ_SKINW] * (mt[EM_TSKIN * ESM_BLK + i] - ta); \
        if (kinds[c0 + i] & 1) { \
            l3[n3] = tl; l3[ESM_BLK + n3] = ta; l3[2 * ESM_BLK + n3] = mt[EM_PS * ESM_BLK + i] / 1.0e5; \
            i3[n3++] = (int)i; \
        } \
        if (kinds[c0 + i] & 2) { \
            l4[n4] = tl; l4[ESM_BLK + n4] = ta; \
            i4[n4++] = (int)i; \
        } \
    } \
    if (samej) esm_c3_impl(l3, q, f3, n3, 1); \
    else esm_c3_impl(l3, q, f3, n3, 0); \
    esm_c4_impl(l4, q, f4, n4); \
    for (i = 0; i < nb; i++) { \
        double *dst = cell + (c0 - coff + i) * EC_NCROW; \
        for (j = 0; j < EC_KM_SUN; j++) \
            dst[j] = o[j * ESM_BLK + i]; \
        for (j = EC_KM_SUN; j < EC_FQ_AIR; j++) \
            dst[j] = 0.0; \
        for (j = EC_FQ_AIR; j < EC_NCROW; j++) \
            dst[j] = o[j * ESM_BLK + i]; \
        dst[EC_CA] = mt[EM_CO2 * ESM_BLK + i]; \
    } \
    for (k = 0; k < n3; k++) { \
        double *dst = cell + (c0 - coff + i3[k]) * EC_NCROW; \
        for (j = 0; j < 5; j++) { \
            dst[EC_KM_SUN + j] = f3[j * ESM_BLK + k]; \
            dst[EC_KM_SH + j] = f3[(5 + j) * ESM_BLK + k]; \
        } \
    } \
    for (k = 0; k < n4; k++) { \
        double *dst = cell + (c0 - coff + i4[k]) * EC_NCROW; \
        for (j = 0; j < 3; j++) { \
            dst[EC_F4V_SUN + j] = f4[j * ESM_BLK + k]; \
            dst[EC_F4V_SH + j] = f4[(3 + j) * ESM_BLK + k]; \
        } \
    } \
    for (j = 0; j < nuniq; j++) { \
        esm_fw_impl(o, w, pmin[uniq[j]], palpha[uniq[j]], q[EQ_FWMIN], nb); \
        for (i = 0; i < nb; i++) \
            fwtab[(c0 - coff + i) * npft + uniq[j]] = w[i]; \
    } \
    for (i = 0; i < nb; i++) \
        for (j = 0; j < ncopy; j++) \
            fwtab[(c0 - coff + i) * npft + cdst[j]] = fwtab[(c0 - coff + i) * npft + csrc[j]]; /* same parameters */ \
}

static void esm_cell_block_base(ESM_CELL_ARGS) ESM_CELL_BODY
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
#define ESM_CELL_X86 1
__attribute__((target("avx2,fma"))) static void esm_cell_block_avx2(ESM_CELL_ARGS) ESM_CELL_BODY
__attribute__((target("avx512f,prefer-vector-width=512"))) static void esm_cell_block_avx512(ESM_CELL_ARGS) ESM_CELL_BODY
#else
#define ESM_CELL_X86 0
#endif

/* 0: baseline (SSE2 on x86-64), 1: AVX2 with FMA, 2: AVX-512F (which has FMA); the best the CPU has if isa < 0.
 * The kernel's exp and log evaluate their polynomials with fma() (speed round 12): one correctly rounded operation
 * in every build (the instruction in the AVX2 + FMA and AVX-512 builds, libm's software fma in the baseline build,
 * which is slower but gives the same bits) */
static int esm_cell_isa(int isa) {
    int best = 0;
#if ESM_CELL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = 1;
    if (__builtin_cpu_supports("avx512f")) best = 2;
#endif
    return (isa < 0 || isa > best) ? best : isa;
}

static void esm_cell_block(int isa, ESM_CELL_ARGS) {
#if ESM_CELL_X86
    if (isa == 2) { esm_cell_block_avx512(met, msc, msj, mrow, q, cell, xi, kinds, fwtab, npft, uniq, nuniq, cdst, csrc, ncopy, pmin, palpha, c0, c1, coff); return; }
    if (isa == 1) { esm_cell_block_avx2(met, msc, msj, mrow, q, cell, xi, kinds, fwtab, npft, uniq, nuniq, cdst, csrc, ncopy, pmin, palpha, c0, c1, coff); return; }
#endif
    esm_cell_block_base(met, msc, msj, mrow, q, cell, xi, kinds, fwtab, npft, uniq, nuniq, cdst, csrc, ncopy, pmin, palpha, c0, c1, coff);
}
    """
    int EC_NCROW, EM_NM, EQ_NQ
    int esm_cell_isa(int isa) noexcept nogil
    void esm_cell_block(int isa, const double *met, long msc, long msj, const double *const *mrow, const double *q, double *cell, double *xi,
                        const unsigned char *kinds, double *fwtab, long npft, const int *uniq, int nuniq,
                        const int *cdst, const int *csrc, int ncopy, const double *pmin, const double *palpha,
                        long c0, long c1, long coff) noexcept nogil
    double esm_exp(double x) noexcept nogil
    double esm_expm1(double x) noexcept nogil
    double esm_log(double x) noexcept nogil


def cell_isa(int isa=-1):
    """Instruction set the cell kernel runs with: 0 baseline, 1 AVX2, 2 AVX-512F (``isa`` < 0: the best this CPU
    has; a request above it is lowered to it)."""
    return esm_cell_isa(isa)


def elementary(const double[::1] x, double[::1] out, int which):
    """The kernel's own exp (0), expm1 (1) and log (2) of ``x`` into ``out`` (for the accuracy tests)."""
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        if which == 0:
            out[i] = esm_exp(x[i])
        elif which == 1:
            out[i] = esm_expm1(x[i])
        else:
            out[i] = esm_log(x[i])


def _fw_sets(const double[::1] psi_min, const double[::1] psi_alpha):
    """``(uniq, cdst, csrc)``: the cover types whose water-stress factor is computed, and the (copy, source) pairs of
    the others (a type whose (psi_min, alpha) equals an earlier type's copies that type's factor)."""
    cdef int p, p2, npft = psi_min.shape[0]
    cdef int[::1] same = np.arange(npft, dtype=np.int32)
    for p in range(npft):
        for p2 in range(p):
            if psi_min[p2] == psi_min[p] and psi_alpha[p2] == psi_alpha[p]:
                same[p] = p2
                break
    return (np.array([p for p in range(npft) if same[p] == p], dtype=np.int32),
            np.array([p for p in range(npft) if same[p] != p] or [0], dtype=np.int32),
            np.array([same[p] for p in range(npft) if same[p] != p] or [0], dtype=np.int32))


def cell_step(met_in, const double[::1] q, const double[::1] psi_min,
              const double[::1] psi_alpha, double[:, ::1] cell, double[:, ::1] fwtab, double[::1] xi, int nthreads,
              const unsigned char[::1] kinds, int isa=-1):
    """Cell records (ncell, NCROW), water-stress table (ncell, npft) and decomposition scalar (ncell) from the
    land-cell meteorology ``met`` (ncell, NM), C-contiguous, or its transpose (a view of a C-contiguous (NM, ncell)
    array: one row per variable, the cheaper to build) (one contiguous record per cell; esm.land.beps.CellKernel hands
    out the transposes as its row arrays). ``kinds`` per cell: bit 1 = the cell has C3 tiles, bit 2 = C4
    tiles; the C3 (C4) photosynthesis factors are stored only where needed (zero elsewhere).

    ``met`` may also be a tuple of NM contiguous float64 arrays (ncell,), one per variable (speed round 9: read in
    place, no copy into one array first).

    The arithmetic is C (esm_cell_block above), in blocks of 256 cells whose loops vectorise; ``isa`` picks the
    build of it (:func:`cell_isa`); every build gives the same bits."""
    cdef const double[:, :] met
    cdef const double[::1] mv
    cdef const double *rowp[NM]
    cdef const double *const *mrow = NULL
    cdef Py_ssize_t n, j
    cdef long msc = 0, msj = 0
    cdef const double *mbase = NULL
    if isinstance(met_in, tuple):
        if len(met_in) != NM:
            raise ValueError(f"cell_step: met rows: {len(met_in)} arrays; expected {NM}")
        n = np.shape(met_in[0])[0] if np.ndim(met_in[0]) == 1 else -1
        for j in range(NM):
            mv = met_in[j]
            if mv.shape[0] != n:
                raise ValueError("cell_step: met rows must be 1-D arrays of one length")
            rowp[j] = &mv[0] if n > 0 else NULL
        mrow = <const double *const *>rowp
    else:
        met = met_in
        n = met.shape[0]
        msc = met.strides[0] // 8
        msj = met.strides[1] // 8
        if not ((msj == 1 and msc == NM) or (msc == 1 and msj == met.shape[0])):
            raise ValueError("cell_step: met must be C-contiguous (ncell, NM) or the transpose of a C-contiguous "
                             "(NM, ncell)")
        if met.shape[1] != NM:
            raise ValueError("cell_step: met (n, NM) expected")
        if n > 0:
            mbase = &met[0, 0]
    cdef int npft = psi_min.shape[0]
    cdef int[::1] uniq, cdst, csrc
    uniq, cdst, csrc = _fw_sets(psi_min, psi_alpha)
    cdef int nuniq = uniq.shape[0], ncopy = npft - uniq.shape[0]
    cdef Py_ssize_t nblk = (n + 255) // 256, blk
    cdef int use = esm_cell_isa(isa)
    if <int>EC_NCROW != <int>NCROW or <int>EM_NM != <int>NM or <int>EQ_NQ != <int>NQ:
        raise RuntimeError("beps cell kernel: C layout differs from the Cython enums")
    if (q.shape[0] != NQ or cell.shape[0] != n or cell.shape[1] != NCROW
            or fwtab.shape[0] != n or fwtab.shape[1] != npft or xi.shape[0] != n or kinds.shape[0] != n
            or psi_alpha.shape[0] != npft):
        raise ValueError("cell_step: met (n, NM), q (NQ), cell (n, NCROW), fwtab (n, npft), xi, kinds (n) expected")
    if n == 0:
        return
    for blk in prange(nblk, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=1):
        esm_cell_block(use, mbase, msc, msj, mrow, &q[0], &cell[0, 0], &xi[0], &kinds[0], &fwtab[0, 0], npft, &uniq[0], nuniq,
                       &cdst[0], &csrc[0], ncopy, &psi_min[0], &psi_alpha[0], blk * 256,
                       (blk + 1) * 256 if (blk + 1) * 256 < n else n, 0)


# ---- C3 leaves of a tile block solved together (speed round 8) ----
cdef extern from *:
    """
/* ---- coupled C3 leaf solves of a block of tiles, vectorised across leaves (esm land, speed round 8) ----
 * The arithmetic of the scalar Cython functions leaf_c3 / coupled_c3 / _quad_fixed / _a_at_ci / _bisect_c3 of
 * round 7 (Farquhar et al. 1980 with Ball-Berry stomata, Baldocchi 1994 cubic), operation for operation, so that
 * every leaf gets the bits of the scalar code: (1) per leaf, the limitation solved first and the set-up of its
 * safeguarded Halley iteration (cubic coefficients, bracket [0, A_hi], open-leaf start; the rare special cases,
 * a <= 0, P(0) >= 0, A_hi <= 0 and no sign change, are finished here by the scalar code); (2) the Halley iteration
 * of all these leaves together in one branch-free #pragma omp simd loop per iteration, a lane frozen once its own
 * stopping rule holds (same rules, same order as the scalar loop; the lanes still running are compacted when
 * fewer than half are left); (3) per leaf, the supply ci of the first root and the demand of the other
 * limitation there; the leaves where it is lower get the other limitation solved the same way; min with
 * Vcmax / 2 - Rd. Only +, -, *, /, sqrt (in the scalar special cases), comparisons and selects: the baseline,
 * AVX2 and AVX-512 builds give the same bits as the scalar code. */
#define ESM_LB 512          /* leaves per block (2 per tile of a 256-tile block) */
/* row stride of the structure-of-arrays buffers: not a power of two, so that the rows do not all map to the same
 * cache sets (and stores to one row are not 4k-aliased with loads from another) */
#define ESM_LS (ESM_LB + 8)
enum { EL_CA = 0, EL_GB, EL_K, EL_B0, EL_VC, EL_J, EL_KM, EL_GST, EL_RD, EL_RUBP, EL_N };
/* Halley state rows */
enum { EH_C3 = 0, EH_C2, EH_C1, EH_C0, EH_X, EH_F, EH_DF, EH_LO, EH_HI, EH_DX, EH_DXO, EH_N };

static double esm_quad_fixed(double ca, double gb, double b0, double a, double b, double e, double d, double rd) {
    double gt = 1.0 / (1.0 / gb + 1.0 / b0);
    double qa = -e / gt;
    double qb = e * ca + b - rd * e / gt + a / gt;
    double qc = rd * (e * ca + b) - a * (ca - d);
    double disc, r1, r2, best;
    int have = 0;
    if (fabs(qa) < 1e-300)
        return -qc / qb;
    disc = qb * qb - 4.0 * qa * qc;
    if (disc < 0.0)
        disc = 0.0;
    r1 = (-qb + sqrt(disc)) / (2.0 * qa);
    r2 = (-qb - sqrt(disc)) / (2.0 * qa);
    best = 0.0;
    if (ca - r1 / gt > -b / e) {
        best = r1;
        have = 1;
    }
    if (ca - r2 / gt > -b / e) {
        if (have == 0 || r2 < best)
            best = r2;
        have = 1;
    }
    if (have == 0)
        best = r1 < r2 ? r1 : r2;
    return best;
}

static double esm_bisect_c3(double ca, double gb, double k, double b0, double a, double b, double e, double d,
                            double rd) {
    double lo = -rd, hi = gb * ca * (1.0 - 1e-12), mid, cs, gs, ci, h, ap;
    int it;
    for (it = 0; it < 200; it++) {
        mid = 0.5 * (lo + hi);
        cs = ca - mid / gb;
        ap = mid > 0.0 ? mid : 0.0;
        gs = b0 + k * ap / cs;
        ci = cs - mid / gs;
        if (cs > 0.0 && ci > d)
            h = a * (ci - d) / (e * ci + b) - rd - mid;
        else
            h = -1.0;
        if (h > 0.0)
            lo = mid;
        else
            hi = mid;
        if (hi - lo < 1e-12 * (fabs(mid) < 1.0 ? 1.0 : fabs(mid)))
            break;
    }
    return 0.5 * (lo + hi);
}

/* the set-up of coupled_c3 (round 7) for the leaves [0, n), branch-free (the loop vectorises): inputs in rows
 * EI_* (stride ESM_LB), the Halley state into st, kind[i] = 0 (iterate), 1 (a <= 0: result -rd, in res), 2 (P(0)
 * >= 0 or A_hi <= 0: the intercept-conductance quadratic) or 3 (no sign change: bisection); 2 and 3 are left to the
 * caller (rare). _a_at_ci is evaluated in every lane and used where the scalar code calls it. */
enum { EI_CA = 0, EI_GB, EI_K, EI_B0, EI_A, EI_B, EI_E, EI_D, EI_RD, EI_N };
ESM_AI void esm_c3_setup_impl(long n, const double *in, double *st, int64_t *kind, double *res) {
    long i;
#pragma omp simd
    for (i = 0; i < n; i++) {
        double ca = in[EI_CA * ESM_LS + i], gb = in[EI_GB * ESM_LS + i], k = in[EI_K * ESM_LS + i];
        double b0 = in[EI_B0 * ESM_LS + i], a = in[EI_A * ESM_LS + i], b = in[EI_B * ESM_LS + i];
        double e = in[EI_E * ESM_LS + i], d = in[EI_D * ESM_LS + i], rd = in[EI_RD * ESM_LS + i];
        double g1, c3, c2, c1, c0, hi, x, tmp, cs, gs, ci, pp, qq, cae, fhi;
        double u, qa, qb, qc, disc, sq, r1, r2, rlo, rhi, best, lim, den, aci, alin, aq;
        int64_t kd;
        g1 = b0 + gb - gb * k;
        c3 = e * g1;
        pp = gb * k - b0;
        qq = gb * (k - 1.0) - 2.0 * b0;
        cae = ca * e;
        c2 = g1 * (rd * e - a) + b * gb * pp + cae * gb * qq;
        c1 = gb * (rd * (b * pp + cae * qq) + a * (b0 * (2.0 * ca - d) + gb * (d * k - ca * (k - 1.0)))
                   + b0 * ca * gb * (b + cae));
        c0 = b0 * ca * gb * gb * (rd * b + rd * ca * e - a * ca + a * d);
        hi = a / e - rd;
        cs = ca - hi / gb;
        gs = b0 + k * (hi > 0.0 ? hi : 0.0) / cs;
        ci = cs > 0.0 ? cs - hi / gs : -1.0;
        /* _a_at_ci(ca, gb, k, b0, d) */
        u = 1.0 / gb;
        qa = u * (b0 * u - (k - 1.0));
        qb = (k - 1.0) * ca - 2.0 * b0 * ca * u + d * b0 * u - d * k;
        qc = b0 * ca * (ca - d);
        best = gb * (ca - d);
        lim = gb * ca;
        disc = qb * qb - 4.0 * qa * qc;
        sq = sqrt(disc < 0.0 ? 0.0 : disc);
        den = qb >= 0.0 ? -qb - sq : -qb + sq;
        /* -qc / qb where qa vanishes (linear), else den / (2 qa): one division on the selected operands */
        r1 = (fabs(qa) < 1e-300 ? -qc : den) / (fabs(qa) < 1e-300 ? qb : 2.0 * qa);
        alin = ((qb != 0.0) & (r1 > 0.0) & (r1 < lim)) ? r1 : best;
        r2 = den != 0.0 ? 2.0 * qc / den : r1;
        rlo = r1 > r2 ? r2 : r1;
        rhi = r1 > r2 ? r1 : r2;
        aq = ((rlo > 0.0) & (rlo < lim)) ? rlo : (((rhi > 0.0) & (rhi < lim)) ? rhi : best);
        aq = disc < 0.0 ? best : aq;
        aci = fabs(qa) < 1e-300 ? alin : aq;
        hi = (!(ci > d) & (aci < hi)) ? aci : hi;
        fhi = ((c3 * hi + c2) * hi + c1) * hi + c0;
        tmp = k > 1.4 ? 1.0 - 1.0 / k : 0.7;
        x = a * (tmp * ca - d) / (e * tmp * ca + b) - rd;
        x = ((x > 0.0) & (x < hi)) ? x : 0.5 * hi;
        kd = fhi <= 0.0 ? 3 : 0;
        kd = hi <= 0.0 ? 2 : kd;
        kd = c0 >= 0.0 ? 2 : kd;
        kd = a <= 0.0 ? 1 : kd;
        kind[i] = kd;
        res[i] = -rd;
        st[EH_C3 * ESM_LS + i] = c3;
        st[EH_C2 * ESM_LS + i] = c2;
        st[EH_C1 * ESM_LS + i] = c1;
        st[EH_C0 * ESM_LS + i] = c0;
        st[EH_X * ESM_LS + i] = x;
        st[EH_F * ESM_LS + i] = ((c3 * x + c2) * x + c1) * x + c0;
        st[EH_DF * ESM_LS + i] = (3.0 * c3 * x + 2.0 * c2) * x + c1;
        st[EH_LO * ESM_LS + i] = 0.0;
        st[EH_HI * ESM_LS + i] = hi;
        st[EH_DX * ESM_LS + i] = hi;
        st[EH_DXO * ESM_LS + i] = hi;
    }
}

/* one iteration of the safeguarded Halley loop of coupled_c3 for the lanes [0, m) of st; lanes with act = 0 keep
 * their state; returns the number of lanes still running */
ESM_AI long esm_halley_iter(double *st, int64_t *act, long m) {
    long i, nact = 0;
    double *X = st + EH_X * ESM_LS, *F = st + EH_F * ESM_LS, *DF = st + EH_DF * ESM_LS, *LO = st + EH_LO * ESM_LS;
    double *HI = st + EH_HI * ESM_LS, *DX = st + EH_DX * ESM_LS, *DXO = st + EH_DXO * ESM_LS;
    const double *C3 = st + EH_C3 * ESM_LS, *C2 = st + EH_C2 * ESM_LS, *C1 = st + EH_C1 * ESM_LS;
    const double *C0 = st + EH_C0 * ESM_LS;
#pragma omp simd reduction(+:nact)
    for (i = 0; i < m; i++) {
        double x = X[i], f = F[i], df = DF[i], lo = LO[i], hi = HI[i], dx = DX[i], dxold = DXO[i];
        double c3 = C3[i], c2 = C2[i], c1 = C1[i], c0 = C0[i];
        double fpp, tmp, dxn, xn, sc, hb, x1, dx1, sc1, f1, df1;
        int64_t a = act[i], bis, hal, conv1, conv2, inb, done, upd;
        bis = ((((x - hi) * df - f) * ((x - lo) * df - f)) > 0.0) | (fabs(2.0 * f) > fabs(dxold * df));
        fpp = 6.0 * c3 * x + 2.0 * c2;
        tmp = df * df - 0.5 * f * fpp;
        hal = tmp > 0.0;
        /* one division on the selected operands (the vector unit divides every lane) */
        dxn = (hal ? f * df : f) / (hal ? tmp : df);
        xn = x - dxn;
        sc = xn < 1.0 ? 1.0 : xn;
        conv1 = fabs(dxn) < 1e-12 * sc;
        inb = (xn > lo) & (xn < hi);
        hb = 0.5 * (hi - lo);
        conv2 = inb & hal & (fabs(dxn) < 1e-4 * sc)
                & ((fabs(0.25 * fpp * fpp - c3 * df) * (fabs(dxn) * dxn * dxn)) < 1e-14 * sc * (df * df));
        /* bisection step, or the Halley step (kept if converged or inside the bracket, else bisection) */
        x1 = (bis | !(conv1 | inb)) ? lo + hb : xn;
        dx1 = (bis | !(conv1 | inb)) ? hb : dxn;
        done = (1 - bis) & (conv1 | conv2);
        sc1 = x1 < 1.0 ? 1.0 : x1;
        done = done | (fabs(dx1) < 1e-12 * sc1);
        f1 = ((c3 * x1 + c2) * x1 + c1) * x1 + c0;
        df1 = (3.0 * c3 * x1 + 2.0 * c2) * x1 + c1;
        upd = a & (1 - done) & (f1 != 0.0);
        X[i] = a ? x1 : x;
        DX[i] = a ? dx1 : dx;
        DXO[i] = a ? dx : dxold;
        F[i] = upd ? f1 : f;
        DF[i] = upd ? df1 : df;
        LO[i] = (upd & (f1 < 0.0)) ? x1 : lo;
        HI[i] = (upd & !(f1 < 0.0)) ? x1 : hi;
        act[i] = upd;
        nact += upd;
    }
    return nact;
}

/* the Halley loop (at most 100 iterations, as the scalar loop) for lanes [0, m) of st, lane i the leaf lid[i];
 * the roots into root[lid[i]] */
ESM_AI void esm_halley_run(double *st, int64_t *act, int *lid, long m, double *root) {
    long i, j, r, nact = m;
    int it;
    for (i = 0, nact = 0; i < m; i++)
        nact += act[i];
    for (it = 0; it < 100 && nact > 0; it++) {
        if (nact < m / 2 && m > 16) {
            /* compact the running lanes (the others are finished: their roots out) */
            for (i = 0, j = 0; i < m; i++) {
                if (!act[i]) {
                    root[lid[i]] = st[EH_X * ESM_LS + i];  /* (also lanes that never ran: the caller ignores them) */
                    continue;
                }
                if (j != i) {
                    for (r = 0; r < EH_N; r++)
                        st[r * ESM_LS + j] = st[r * ESM_LS + i];
                    lid[j] = lid[i];
                    act[j] = 1;
                }
                j++;
            }
            m = j;
        }
        nact = esm_halley_iter(st, act, m);
    }
    for (i = 0; i < m; i++)
        root[lid[i]] = st[EH_X * ESM_LS + i];
}

/* coupled_c3 for the leaves [0, n) of the input rows into root[i] (st, act, lid, kind: scratch) */
ESM_AI void esm_c3_solve(long n, const double *in, double *st, int64_t *act, int64_t *kind, int *lid, double *xr,
                         double *root) {
    long i;
    esm_c3_setup_impl(n, in, st, kind, root);
    for (i = 0; i < n; i++) {
        act[i] = kind[i] == 0;
        lid[i] = (int)i;
        if (kind[i] >= 2) {
            double ca = in[EI_CA * ESM_LS + i], gb = in[EI_GB * ESM_LS + i], k = in[EI_K * ESM_LS + i];
            double b0 = in[EI_B0 * ESM_LS + i], a = in[EI_A * ESM_LS + i], b = in[EI_B * ESM_LS + i];
            double e = in[EI_E * ESM_LS + i], d = in[EI_D * ESM_LS + i], rd = in[EI_RD * ESM_LS + i];
            root[i] = kind[i] == 2 ? esm_quad_fixed(ca, gb, b0, a, b, e, d, rd)
                                   : esm_bisect_c3(ca, gb, k, b0, a, b, e, d, rd);
        }
    }
    esm_halley_run(st, act, lid, n, xr);
#pragma omp simd
    for (i = 0; i < n; i++)
        root[i] = kind[i] == 0 ? xr[i] : root[i];
}

#define ESM_C3_ARGS long n, const double *lin, double *aout
/* leaf_c3 of round 7 for the n <= ESM_LB leaves lin[EL_* * ESM_LS + i] into aout[i]: the limitation with the smaller
 * demand at the open-leaf ci solved for every leaf, then the other one for the leaves where its demand at the first
 * root's ci is lower (gathered), min with Vcmax / 2 - Rd */
#define ESM_C3_BODY { \
    double st[EH_N * ESM_LS], in[EI_N * ESM_LS], a1[ESM_LB], a2[ESM_LB], xr[ESM_LB]; \
    int64_t act[ESM_LB], kind[ESM_LB], rub[ESM_LB], need[ESM_LB]; \
    int lid[ESM_LB], idx[ESM_LB]; \
    long i, m; \
    _Pragma("omp simd") \
    for (i = 0; i < n; i++) { \
        double ca = lin[EL_CA * ESM_LS + i], k = lin[EL_K * ESM_LS + i]; \
        double vc = lin[EL_VC * ESM_LS + i], j = lin[EL_J * ESM_LS + i], km = lin[EL_KM * ESM_LS + i]; \
        double gst = lin[EL_GST * ESM_LS + i], ci, wc0, wj0; \
        int64_t rf = lin[EL_RUBP * ESM_LS + i] != 0.0; \
        ci = (k > 1.4 ? 1.0 - 1.0 / k : 0.7) * ca; \
        wc0 = vc * (ci - gst) / (ci + km); \
        wj0 = j * (ci - gst) / (4.0 * ci + 8.0 * gst); \
        rf = ((ci > gst) & (wj0 != wc0)) ? (wj0 < wc0) : rf; \
        rub[i] = rf; \
        in[EI_CA * ESM_LS + i] = ca; \
        in[EI_GB * ESM_LS + i] = lin[EL_GB * ESM_LS + i]; \
        in[EI_K * ESM_LS + i] = k; \
        in[EI_B0 * ESM_LS + i] = lin[EL_B0 * ESM_LS + i]; \
        in[EI_A * ESM_LS + i] = rf ? j : vc; \
        in[EI_B * ESM_LS + i] = rf ? 8.0 * gst : km; \
        in[EI_E * ESM_LS + i] = rf ? 4.0 : 1.0; \
        in[EI_D * ESM_LS + i] = gst; \
        in[EI_RD * ESM_LS + i] = lin[EL_RD * ESM_LS + i]; \
    } \
    esm_c3_solve(n, in, st, act, kind, lid, xr, a1); \
    _Pragma("omp simd") \
    for (i = 0; i < n; i++) { \
        double ca = lin[EL_CA * ESM_LS + i], gb = lin[EL_GB * ESM_LS + i], k = lin[EL_K * ESM_LS + i]; \
        double b0 = lin[EL_B0 * ESM_LS + i], vc = lin[EL_VC * ESM_LS + i], j = lin[EL_J * ESM_LS + i]; \
        double km = lin[EL_KM * ESM_LS + i], gst = lin[EL_GST * ESM_LS + i], rd = lin[EL_RD * ESM_LS + i]; \
        double A = a1[i], cs = ca - A / gb, gs, ci, w; \
        gs = b0 + k * (A > 0.0 ? A : 0.0) / cs; \
        ci = cs <= 0.0 ? -1.0 : cs - A / gs; /* _supply_ci */ \
        w = rub[i] ? vc * (ci - gst) / (ci + km) - rd : j * (ci - gst) / (4.0 * ci + 8.0 * gst) - rd; \
        w = ci > gst ? w : -1e300; \
        need[i] = w < A; \
    } \
    for (i = 0, m = 0; i < n; i++) \
        if (need[i]) \
            idx[m++] = (int)i; \
    for (i = 0; i < m; i++) { \
        long l = idx[i]; \
        double gst = lin[EL_GST * ESM_LS + l]; \
        int64_t rf = rub[l]; \
        in[EI_CA * ESM_LS + i] = lin[EL_CA * ESM_LS + l]; \
        in[EI_GB * ESM_LS + i] = lin[EL_GB * ESM_LS + l]; \
        in[EI_K * ESM_LS + i] = lin[EL_K * ESM_LS + l]; \
        in[EI_B0 * ESM_LS + i] = lin[EL_B0 * ESM_LS + l]; \
        in[EI_A * ESM_LS + i] = rf ? lin[EL_VC * ESM_LS + l] : lin[EL_J * ESM_LS + l]; \
        in[EI_B * ESM_LS + i] = rf ? lin[EL_KM * ESM_LS + l] : 8.0 * gst; \
        in[EI_E * ESM_LS + i] = rf ? 1.0 : 4.0; \
        in[EI_D * ESM_LS + i] = gst; \
        in[EI_RD * ESM_LS + i] = lin[EL_RD * ESM_LS + l]; \
    } \
    esm_c3_solve(m, in, st, act, kind, lid, xr, a2); \
    for (i = 0; i < m; i++) \
        if (a2[i] < a1[idx[i]]) \
            a1[idx[i]] = a2[i]; \
    _Pragma("omp simd") \
    for (i = 0; i < n; i++) { \
        double at = 0.5 * lin[EL_VC * ESM_LS + i] - lin[EL_RD * ESM_LS + i]; \
        aout[i] = at < a1[i] ? at : a1[i]; \
    } \
}

static void esm_c3_leaves_base(ESM_C3_ARGS) ESM_C3_BODY
#if ESM_CELL_X86
__attribute__((target("avx2,fma"))) static void esm_c3_leaves_avx2(ESM_C3_ARGS) ESM_C3_BODY
__attribute__((target("avx512f,prefer-vector-width=512"))) static void esm_c3_leaves_avx512(ESM_C3_ARGS) ESM_C3_BODY
#endif

static void esm_c3_leaves(int isa, ESM_C3_ARGS) {
#if ESM_CELL_X86
    if (isa == 2) { esm_c3_leaves_avx512(n, lin, aout); return; }
    if (isa == 1) { esm_c3_leaves_avx2(n, lin, aout); return; }
#endif
    esm_c3_leaves_base(n, lin, aout);
}

/* ---- C4 leaves of a tile block: coupled_c4 (Collatz et al. 1992 with Ball-Berry stomata; since speed round 12 the
 * root of a polynomial by the C3 leaves' Halley loop, see ESM_C4_BODY), the same operations as the scalar code, so
 * the same bits in every build. Rows of the leaf buffer: */
enum { E4_CA = 0, E4_GB, E4_K, E4_B0, E4_VM, E4_KCO2, E4_I, E4_RD, E4_N };

ESM_AI double esm_sroot(double qa, double qb, double qc) {
    double disc = qb * qb - 4.0 * qa * qc, den;
    disc = disc < 0.0 ? 0.0 : disc;
    den = -qb + sqrt(disc);
    return den > 0.0 ? 2.0 * qc / den : 0.0;
}

ESM_AI double esm_h_c4(double A, double ca, double gb, double k, double b0, double m, double kco2, double rd,
                       double beta) {
    double cs = ca - A / gb, ap = A > 0.0 ? A : 0.0, gs, ci, kc, r;
    gs = b0 + k * ap / cs;
    ci = cs - A / gs;
    kc = kco2 * ci;
    r = esm_sroot(beta, -(m + kc), m * kc) - rd - A;
    return ((cs <= 0.0) | (ci <= 0.0)) ? -1.0 - A : r;
}

/* _c4_illinois (the Cython fallback of coupled_c4; rounds 7-11's solver) for one leaf, operation for operation */
ESM_AI double esm_c4_illinois(double ca, double gb, double k, double b0, double vmax, double kco2, double ia,
                              double rd, double alpha, double theta, double beta) {
    double lo, hi, flo, fhi, x, fx, tol, mm;
    int it, side = 0;
    if (ia <= 0.0)
        return -rd;
    lo = -rd;
    hi = esm_sroot(theta, -(vmax + alpha * ia), vmax * alpha * ia) - rd;
    mm = esm_sroot(theta, -(vmax + alpha * ia), vmax * (alpha * ia));
    if (hi > gb * ca * (1.0 - 1e-12))
        hi = gb * ca * (1.0 - 1e-12);
    if (hi <= lo)
        return lo;
    flo = esm_h_c4(lo, ca, gb, k, b0, mm, kco2, rd, beta);
    fhi = esm_h_c4(hi, ca, gb, k, b0, mm, kco2, rd, beta);
    if (flo <= 0.0)
        return lo;
    x = lo;
    for (it = 0; it < 200; it++) {
        x = (lo * fhi - hi * flo) / (fhi - flo);
        fx = esm_h_c4(x, ca, gb, k, b0, mm, kco2, rd, beta);
        tol = 1e-12 * (fabs(x) < 1.0 ? 1.0 : fabs(x));
        if (fabs(fx) <= 1e-13 || hi - lo < tol)
            break;
        if (fx > 0.0) {
            lo = x;
            flo = fx;
            if (side == 1)
                fhi *= 0.5;
            side = 1;
        } else {
            hi = x;
            fhi = fx;
            if (side == -1)
                flo *= 0.5;
            side = -1;
        }
    }
    return x;
}

#define ESM_C4_ARGS long n, const double *lin, double alpha, double theta, double beta, double *aout
/* coupled_c4 (speed round 12: the root of the polynomial -P, see coupled_c4) for the n <= ESM_LB leaves
 * lin[E4_* * ESM_LS + i] into aout[i]: the set-up of every leaf vectorised (kind 0: Halley on -P; 1: done, aout set;
 * 3: no sign change or no intercept, the regula falsi leaf by leaf), then the Halley loop of the C3 leaves
 * (esm_halley_run) on the kind-0 lanes; the same operations as the scalar code, so the same bits in every build */
#define ESM_C4_BODY { \
    double st[EH_N * ESM_LS], xr[ESM_LB]; \
    int64_t act[ESM_LB], kind[ESM_LB]; \
    int lid[ESM_LB]; \
    long i; \
    _Pragma("omp simd") \
    for (i = 0; i < n; i++) { \
        double ca = lin[E4_CA * ESM_LS + i], gb = lin[E4_GB * ESM_LS + i], k = lin[E4_K * ESM_LS + i]; \
        double b0 = lin[E4_B0 * ESM_LS + i], vmax = lin[E4_VM * ESM_LS + i], kco2 = lin[E4_KCO2 * ESM_LS + i]; \
        double ia = lin[E4_I * ESM_LS + i], rd = lin[E4_RD * ESM_LS + i], lo = -rd, hi, mm, g, m1, m2, t0, t1, q0; \
        double p0, p1, q1, s0, s1, s2, r, k3, k2, k1, k0, q2, l1, x, xc, tmp, ci0, blo, bhi, fl, fh; \
        int64_t kd, cub; \
        hi = esm_sroot(theta, -(vmax + alpha * ia), vmax * alpha * ia) - rd; \
        mm = esm_sroot(theta, -(vmax + alpha * ia), vmax * (alpha * ia)); \
        hi = hi > gb * ca * (1.0 - 1e-12) ? gb * ca * (1.0 - 1e-12) : hi; \
        g = 1.0 / gb; \
        m1 = mm - rd; \
        m2 = mm - beta * rd; \
        t0 = rd * m2; \
        t1 = m2 - beta * rd; \
        q0 = kco2 * ca * m1 - t0; \
        cub = (q0 > 0.0) & (hi > 0.0); \
        /* the cubic (A > 0) */ \
        p0 = b0 * ca; \
        p1 = k - 1.0 - b0 * g; \
        q1 = k - b0 * g; \
        s0 = ca * p0; \
        s1 = ca * p1 - g * p0; \
        s2 = -g * p1; \
        tmp = k > 1.4 ? 1.0 - 1.0 / k : 0.7; \
        ci0 = tmp * ca; \
        xc = esm_sroot(beta, -(mm + kco2 * ci0), mm * (kco2 * ci0)) - rd; \
        /* the quadratic (A <= 0, gs = b0); b0 > 0 where it is used */ \
        r = g + 1.0 / (b0 > 0.0 ? b0 : 1.0); \
        q2 = -(kco2 * r + beta); \
        l1 = kco2 * ca + kco2 * r * m1 + t1; \
        k3 = cub ? kco2 * s2 - beta * q1 : 0.0; \
        k2 = cub ? (t1 * q1 - beta * p0) - kco2 * (s2 * m1 - s1) : q2; \
        k1 = cub ? (t1 * p0 + t0 * q1) - kco2 * (s1 * m1 - s0) : l1; \
        k0 = cub ? t0 * p0 - kco2 * (s0 * m1) : -q0; \
        blo = cub ? 0.0 : lo; \
        bhi = cub ? hi : (hi < 0.0 ? hi : 0.0); \
        x = cub ? xc : 0.5 * (blo + bhi); \
        fl = ((k3 * blo + k2) * blo + k1) * blo + k0; \
        fh = ((k3 * bhi + k2) * bhi + k1) * bhi + k0; \
        x = ((x > blo) & (x < bhi)) ? x : 0.5 * (blo + bhi); \
        kd = ((fl < 0.0) & (fh > 0.0)) ? 0 : 3; \
        kd = b0 > 0.0 ? kd : 3; \
        kd = hi <= lo ? 1 : kd; \
        kd = ia <= 0.0 ? 1 : kd; \
        kind[i] = kd; \
        aout[i] = ia <= 0.0 ? -rd : lo; \
        st[EH_C3 * ESM_LS + i] = k3; \
        st[EH_C2 * ESM_LS + i] = k2; \
        st[EH_C1 * ESM_LS + i] = k1; \
        st[EH_C0 * ESM_LS + i] = k0; \
        st[EH_X * ESM_LS + i] = x; \
        st[EH_F * ESM_LS + i] = ((k3 * x + k2) * x + k1) * x + k0; \
        st[EH_DF * ESM_LS + i] = (3.0 * k3 * x + 2.0 * k2) * x + k1; \
        st[EH_LO * ESM_LS + i] = blo; \
        st[EH_HI * ESM_LS + i] = bhi; \
        st[EH_DX * ESM_LS + i] = bhi - blo; \
        st[EH_DXO * ESM_LS + i] = bhi - blo; \
    } \
    for (i = 0; i < n; i++) { \
        act[i] = kind[i] == 0; \
        lid[i] = (int)i; \
        if (kind[i] == 3) \
            aout[i] = esm_c4_illinois(lin[E4_CA * ESM_LS + i], lin[E4_GB * ESM_LS + i], lin[E4_K * ESM_LS + i], \
                                      lin[E4_B0 * ESM_LS + i], lin[E4_VM * ESM_LS + i], lin[E4_KCO2 * ESM_LS + i], \
                                      lin[E4_I * ESM_LS + i], lin[E4_RD * ESM_LS + i], alpha, theta, beta); \
    } \
    esm_halley_run(st, act, lid, n, xr); \
    _Pragma("omp simd") \
    for (i = 0; i < n; i++) \
        aout[i] = kind[i] == 0 ? xr[i] : aout[i]; \
}

static void esm_c4_leaves_base(ESM_C4_ARGS) ESM_C4_BODY
#if ESM_CELL_X86
__attribute__((target("avx2,fma"))) static void esm_c4_leaves_avx2(ESM_C4_ARGS) ESM_C4_BODY
__attribute__((target("avx512f,prefer-vector-width=512"))) static void esm_c4_leaves_avx512(ESM_C4_ARGS) ESM_C4_BODY
#endif

static void esm_c4_leaves(int isa, ESM_C4_ARGS) {
#if ESM_CELL_X86
    if (isa == 2) { esm_c4_leaves_avx512(n, lin, alpha, theta, beta, aout); return; }
    if (isa == 1) { esm_c4_leaves_avx2(n, lin, alpha, theta, beta, aout); return; }
#endif
    esm_c4_leaves_base(n, lin, alpha, theta, beta, aout);
}
    """
    int ESM_LB, ESM_LS, EL_N
    int EL_CA, EL_GB, EL_K, EL_B0, EL_VC, EL_J, EL_KM, EL_GST, EL_RD, EL_RUBP
    void esm_c3_leaves(int isa, long n, const double *lin, double *aout) noexcept nogil
    int E4_N, E4_CA, E4_GB, E4_K, E4_B0, E4_VM, E4_KCO2, E4_I, E4_RD
    void esm_c4_leaves(int isa, long n, const double *lin, double alpha, double theta, double beta,
                       double *aout) noexcept nogil


cdef enum:
    TB = 256   # tiles per block of the canopy pass (2 C3 leaves each: ESM_LB = 512)
    NLIN = 10  # rows of the C3 leaf buffer (EL_N)
    NL4 = 8    # rows of the C4 leaf buffer (E4_N)
    LS = 520   # row stride of the leaf buffers (ESM_LS: ESM_LB + 8, so that rows do not alias in the cache)

cdef extern from *:
    """
/* ---- the canopy pass of a tile block in C (speed round 9) ----
 * Phases 1 and 3 of _canopy_block (round 8) written in C with the per-tile arithmetic in branch-free
 * #pragma omp simd loops over the block's tiles: (1a) a scalar pass gathers the tile's cell record, water stress
 * and cover-type parameters into block columns; (1b) the radiation, sunlit/shaded LAI, Vcmax and Ball-Berry terms
 * of every tile (vectorised, night lanes computed and discarded); (1c) a scalar pass puts the daylit leaves into
 * the C3 / C4 leaf buffers (the leaf inputs of _c3_leaf_in / _c4_leaf_in); (2) the leaf solves as in round 8;
 * (3a) a scalar pass picks up each tile's two leaf results; (3b) the fluxes and the step finish (vectorised).
 * The operations and their order are those of the Cython code of round 8 (only +, -, *, /, the kernel's exp,
 * comparisons and selects; where the scalar code has two alternative divisions, one division of the selected
 * operands), so every lane gets the bits of _canopy_block in every build. */
#define ESM_TS 264          /* row stride of the block columns: 256 tiles + 8 (rows not 4k apart) */
enum { TB_MU = 0, TB_SDIR, TB_SDIF, TB_EXPMU, TB_RH, TB_FW, TB_OM, TB_ALB, TB_BBS, TB_LMAX, TB_FQA, TB_FQS, TB_XI,
       TB_C4, TB_DAY, TB_LSUN, TB_LSH, TB_ISUN, TB_ISH, TB_ISUNA, TB_ISHA, TB_VSUN, TB_VSH, TB_B0, TB_KBB,
       TB_ASUN, TB_ASH, TB_RDSUN, TB_RDSH,
       /* cell-sum mode (speed round 12): the water stress out row and the step's fluxes of the block's tiles, summed
        * into the cells from here instead of written per tile (rows in the order of canopy_step's res, then the
        * shaded-leaf GPP) */
       TB_FWOUT, TB_RGPP, TB_RRM, TB_RRG, TB_RRA, TB_RRH, TB_RNPP, TB_RNEE, TB_RGSH, TB_N };
/* layout of the pft table, scalar table and output rows (keep in sync with the Cython enums; checked by canopy_step) */
enum { EP_CLUMP = 0, EP_ALBEDO, EP_BBSLOPE, EP_C4, EP_PSIMIN, EP_PSIALPHA, EP_LAIMAX, EP_RMLEAF, EP_RMSTEM,
       EP_RMCROOT, EP_RMFROOT, EP_RMSCALE, EP_ROOTLIVE, EP_N };
enum { ES_G = 0, ES_KN, ES_PHOTON, ES_JSLOPE, ES_JINT, ES_JCURV, ES_RDFRAC, ES_RDLIGHT, ES_B0, ES_GBH2O, ES_C4ALPHA,
       ES_C4THETA, ES_C4BETA, ES_C4KRATIO, ES_C4RDFRAC, ES_FWMIN, ES_STEMSAT, ES_GROWTH, ES_PARFRAC, ES_B0FW,
       ES_STEMFRAC, ES_VCCHEN, ES_N };
enum { EO_GPP_SUN = 0, EO_GPP_SH, EO_RD, EO_RM_LEAF, EO_RM_STEM, EO_RM_ROOT, EO_RG, EO_LAI_SUN, EO_FW, EO_N };

/* the inputs of C3 leaf nl as _c3_leaf_in takes them, its arithmetic left to esm_c3_leaf_fin (vectorised):
 * rows EL_VC, EL_J, EL_RD hold v, the absorbed PAR and the irradiance until then, lx the factors f_V, f_J, f_Rd */
ESM_AI void esm_c3_leaf_raw(double *lin, double *lx, long nl, double ca, double gb, double kbb, double b0, double v,
                            double i_abs, double i_leaf, const double *tf, double rubp) {
    lin[EL_CA * ESM_LS + nl] = ca;
    lin[EL_GB * ESM_LS + nl] = gb;
    lin[EL_K * ESM_LS + nl] = kbb;
    lin[EL_B0 * ESM_LS + nl] = b0;
    lin[EL_VC * ESM_LS + nl] = v;
    lin[EL_J * ESM_LS + nl] = i_abs;
    lin[EL_KM * ESM_LS + nl] = tf[0];
    lin[EL_GST * ESM_LS + nl] = tf[1];
    lin[EL_RD * ESM_LS + nl] = i_leaf;
    lin[EL_RUBP * ESM_LS + nl] = rubp;
    lx[nl] = tf[2];
    lx[ESM_LS + nl] = tf[3];
    lx[2 * ESM_LS + nl] = tf[4];
}

/* _c3_leaf_in's arithmetic for the leaves [0, n) filled by esm_c3_leaf_raw: Vcmax, J and Rd in place (the same
 * operations; the division of J on the selected operands) */
ESM_AI void esm_c3_leaf_fin(double *lin, const double *lx, const double *sc, long n) {
    long i;
    double js = sc[ES_JSLOPE], ji = sc[ES_JINT], jc = sc[ES_JCURV], rdf = sc[ES_RDFRAC], rdl = sc[ES_RDLIGHT];
    double pf = sc[ES_PARFRAC], ph = sc[ES_PHOTON];
#pragma omp simd
    for (i = 0; i < n; i++) {
        double v = lin[EL_VC * ESM_LS + i], i_abs = lin[EL_J * ESM_LS + i], i_leaf = lin[EL_RD * ESM_LS + i];
        double jm = (js * v + ji) * lx[ESM_LS + i], jj, rd;
        jm = jm < 0.0 ? 0.0 : jm;
        jj = jm * i_abs / (i_abs + jc * jm);
        rd = rdf * v * lx[2 * ESM_LS + i];
        lin[EL_VC * ESM_LS + i] = v * lx[i];
        lin[EL_J * ESM_LS + i] = i_abs > 0.0 ? jj : 0.0;
        lin[EL_RD * ESM_LS + i] = i_leaf * pf * ph > 10.0 ? rd * rdl : rd;
    }
}

/* _c4_leaf_in: C4 leaf n4 from its Vcmax v, absorbed PAR and the cell's factors tf (f_V, f_K, f_Rd); returns Rd */
ESM_AI double esm_c4_leaf_in(double *l4, long n4, double ca, double gb, double kbb, double b0, double v,
                             double i_abs, const double *tf, const double *sc) {
    double rd = sc[ES_C4RDFRAC] * v * tf[2];
    l4[E4_CA * ESM_LS + n4] = ca;
    l4[E4_GB * ESM_LS + n4] = gb;
    l4[E4_K * ESM_LS + n4] = kbb;
    l4[E4_B0 * ESM_LS + n4] = b0;
    l4[E4_VM * ESM_LS + n4] = v * tf[0];
    l4[E4_KCO2 * ESM_LS + n4] = sc[ES_C4KRATIO] * v * 1e-6 * tf[1];
    l4[E4_I * ESM_LS + n4] = i_abs;
    l4[E4_RD * ESM_LS + n4] = rd;
    return rd;
}

/* (1b) radiation, sunlit/shaded LAI and Vcmax (Chen et al. 1999, 2012), Ball-Berry terms of the block's tiles */
ESM_AI void esm_tile_rad_impl(double *tb, const double *lai, const double *vtop, const double *lt0, const double *lt1,
                              const double *lt2, const double *sc, double *ofw, long nb, const int vcchen) {
    long i;
    double g = sc[ES_G], kn = sc[ES_KN], stemf = sc[ES_STEMFRAC], pcv = sc[ES_PARFRAC] * sc[ES_PHOTON];
    double b0c = sc[ES_B0], b0fw = sc[ES_B0FW];
#pragma omp simd
    for (i = 0; i < nb; i++) {
        double mu = tb[TB_MU * ESM_TS + i], sdir = tb[TB_SDIR * ESM_TS + i], sdif = tb[TB_SDIF * ESM_TS + i];
        double L = lai[i], om = tb[TB_OM * ESM_TS + i], fw = tb[TB_FW * ESM_TS + i];
        double kk, ek, lsun, lsh, pai, under, x, cmult, i_sh, i_sun, par_conv, v0, total, sunsum, vsun, vsh;
        double num, den;
        int64_t day = (mu > 0.0) & ((sdir + sdif) > 0.0) & (L > 0.0), sel;
        ofw[i] = fw;
        kk = g * om / mu;
        ek = esm_exp(-kk * L);
        lsun = mu / g * (1.0 - ek);
        lsh = L - lsun;
        pai = L + stemf * tb[TB_LMAX * ESM_TS + i];
        under = sdif * lt0[i];
        x = 1.1 - 0.1 * pai;
        x = x < 0.0 ? 0.0 : x;
        cmult = 0.07 * om * sdir * x * tb[TB_EXPMU * ESM_TS + i];
        i_sh = (sdif - under) / pai + cmult;
        i_sun = sdir * g / mu + i_sh;
        par_conv = pcv * (1.0 - tb[TB_ALB * ESM_TS + i]);
        v0 = vtop[i];
        total = v0 * lt2[i];
        sunsum = om * v0 * (1.0 - lt1[i] * ek) / (kn + kk);
        vsun = sunsum / lsun;
        vsun = lsun > 0.0 ? vsun : v0;
        if (vcchen) {
            x = L - lsun / om;
            sel = x > 1e-9 * L;
            num = sel ? total - sunsum / om : total;
        } else {
            x = lsh;
            sel = lsh > 1e-9 * L;
            num = sel ? total - sunsum : total;
        }
        den = sel ? x : L;
        vsh = num / den;
        tb[TB_DAY * ESM_TS + i] = day ? 1.0 : 0.0;
        tb[TB_LSUN * ESM_TS + i] = day ? lsun : 0.0;
        tb[TB_LSH * ESM_TS + i] = day ? lsh : 0.0;
        tb[TB_ISUN * ESM_TS + i] = i_sun;
        tb[TB_ISH * ESM_TS + i] = i_sh;
        tb[TB_ISUNA * ESM_TS + i] = i_sun * par_conv;
        tb[TB_ISHA * ESM_TS + i] = i_sh * par_conv;
        tb[TB_VSUN * ESM_TS + i] = vsun;
        tb[TB_VSH * ESM_TS + i] = vsh;
        tb[TB_B0 * ESM_TS + i] = b0c * (1.0 - b0fw + b0fw * fw) / 1.6;
        tb[TB_KBB * ESM_TS + i] = tb[TB_BBS * ESM_TS + i] * tb[TB_RH * ESM_TS + i] * fw / 1.6;
    }
}

ESM_AI void esm_tile_night_impl(double *tb, const double *fwtab, double *ofw, long nb) {
    long i;
#pragma omp simd
    for (i = 0; i < nb; i++) {
        ofw[i] = tb[TB_FW * ESM_TS + i];
        tb[TB_DAY * ESM_TS + i] = 0.0;
        tb[TB_LSUN * ESM_TS + i] = 0.0;
        tb[TB_LSH * ESM_TS + i] = 0.0;
    }
}

/* (3b) fluxes of the block's tiles and the step finish (rows and sums as in canopy_step's docstring) */
ESM_AI void esm_tile_out_impl(const double *tb, long t0, long nb, long ntile, const double *lai, const double *scale,
                              const double *rml, const double *rms, const double *rmr, double growth, double *out,
                              const double *rh_coef, double dt, double *acc_gpp, double *acc_rm, double *acc_rg,
                              double *res, long rs, const int fin, const int all_rows, const int wout) {
    long i;
#pragma omp simd
    for (i = 0; i < nb; i++) {
        long t = t0 + i;
        int64_t day = tb[TB_DAY * ESM_TS + i] != 0.0;
        double a_sun = tb[TB_ASUN * ESM_TS + i], a_sh = tb[TB_ASH * ESM_TS + i];
        double rd_sun = tb[TB_RDSUN * ESM_TS + i], rd_sh = tb[TB_RDSH * ESM_TS + i];
        double lsun = tb[TB_LSUN * ESM_TS + i], lsh = tb[TB_LSH * ESM_TS + i], sc = scale[t];
        double fqa = tb[TB_FQA * ESM_TS + i];
        double gsun = (a_sun + rd_sun) * lsun, gsh = (a_sh + rd_sh) * lsh;
        double o_gsun = day ? gsun * sc : 0.0, o_gsh = day ? gsh * sc : 0.0;
        double o_rd = day ? (rd_sun * lsun + rd_sh * lsh) * sc : 0.0;
        double gpp = day ? gsun + gsh : 0.0;
        double rmleaf = day ? 0.0 : rml[t] * lai[t] * fqa;
        double rmstem = rms[t] * fqa, rmroot = rmr[t] * tb[TB_FQS * ESM_TS + i];
        double rmtot = rmleaf + rmstem + rmroot + rd_sun * lsun + rd_sh * lsh;
        double rg = growth * (gpp - rmtot), o_rml, o_rms, o_rmr, f_rm, f_ra;
        rg = rg < 0.0 ? 0.0 : rg;
        rg = rg * sc;
        o_rml = rmleaf * sc;
        o_rms = rmstem * sc;
        o_rmr = rmroot * sc;
        if (wout) {
            out[EO_GPP_SUN * ntile + t] = o_gsun;
            out[EO_GPP_SH * ntile + t] = o_gsh;
        } else {
            res[7 * rs + i] = o_gsh;  /* cell-sum mode: res is the block's rows TB_RGPP.. (8 of them) */
        }
        if (all_rows) {
            out[EO_RD * ntile + t] = o_rd;
            out[EO_RM_LEAF * ntile + t] = o_rml;
            out[EO_RM_STEM * ntile + t] = o_rms;
            out[EO_RM_ROOT * ntile + t] = o_rmr;
            out[EO_RG * ntile + t] = rg;
            out[EO_LAI_SUN * ntile + t] = lsun;
        }
        if (fin) {
            double f_gpp = o_gsun + o_gsh, f_rh = tb[TB_XI * ESM_TS + i] * rh_coef[t];
            f_rm = ((o_rd + o_rml) + o_rms) + o_rmr;
            f_ra = f_rm + rg;
            res[i] = f_gpp;
            res[rs + i] = f_rm;
            res[2 * rs + i] = rg;
            res[3 * rs + i] = f_ra;
            res[4 * rs + i] = f_rh;
            res[5 * rs + i] = f_gpp - f_ra;
            res[6 * rs + i] = (f_ra + f_rh) - f_gpp;
            acc_gpp[t] = acc_gpp[t] + f_gpp * dt;
            acc_rm[t] = acc_rm[t] + f_rm * dt;
            acc_rg[t] = acc_rg[t] + rg * dt;
        }
    }
}

#define ESM_TILES_ARGS int isa, long t0, long nb, long ntile, const int *tcell, const int *tpft, const double *lai, \
    const double *vtop, const double *rml, const double *rms, const double *rmr, const double *scale, \
    const double *cell, const double *fwtab, long npft, const double *pft, const double *sc, double *out, \
    const double *lterm, int fin, const double *xi, const double *rh_coef, double dt, double *acc_gpp, \
    double *acc_rm, double *acc_rg, double *res, int slim, long coff, const double *frac, double *csum, long ncs
#define ESM_TILES_CALL isa, t0, nb, ntile, tcell, tpft, lai, vtop, rml, rms, rmr, scale, cell, fwtab, npft, pft, sc, \
    out, lterm, fin, xi, rh_coef, dt, acc_gpp, acc_rm, acc_rg, res, slim, coff, frac, csum, ncs
ESM_AI void esm_tiles_impl(ESM_TILES_ARGS) {
    double tb[TB_N * ESM_TS], lin[EL_N * ESM_LS], lx[3 * ESM_LS], l4[E4_N * ESM_LS], aout[ESM_LB], a4[ESM_LB];
    int bl[256], bl4[256];
    long i, nl = 0, n4 = 0, nup = 0;
    double gb = sc[ES_GBH2O] / 1.37;
    /* the water stress out row: the output array, or a block row in cell-sum mode (not returned there) */
    double *ofw = csum ? tb + TB_FWOUT * ESM_TS : out + EO_FW * ntile + t0;
    /* (1a) gather */
    for (i = 0; i < nb; i++) {
        long c = tcell[t0 + i], p = tpft[t0 + i];
        const double *rec = cell + (c - coff) * EC_NCROW, *pp = pft + p * EP_N;
        tb[TB_MU * ESM_TS + i] = rec[EC_MU];
        tb[TB_SDIR * ESM_TS + i] = rec[EC_SDIR];
        tb[TB_SDIF * ESM_TS + i] = rec[EC_SDIF];
        tb[TB_EXPMU * ESM_TS + i] = rec[EC_EXPMU];
        tb[TB_RH * ESM_TS + i] = rec[EC_RH];
        tb[TB_FQA * ESM_TS + i] = rec[EC_FQ_AIR];
        tb[TB_FQS * ESM_TS + i] = rec[EC_FQ_SOIL];
        tb[TB_FW * ESM_TS + i] = fwtab[(c - coff) * npft + p];
        tb[TB_OM * ESM_TS + i] = pp[EP_CLUMP];
        tb[TB_ALB * ESM_TS + i] = pp[EP_ALBEDO];
        tb[TB_BBS * ESM_TS + i] = pp[EP_BBSLOPE];
        tb[TB_LMAX * ESM_TS + i] = pp[EP_LAIMAX];
        tb[TB_C4 * ESM_TS + i] = pp[EP_C4];
        nup += rec[EC_MU] > 0.0;
    }
    /* (1b); a block without sun only needs the water stress and zero day flags and sunlit / shaded LAI */
    if (nup == 0)
        esm_tile_night_impl(tb, fwtab, ofw, nb);
    else if (sc[ES_VCCHEN] != 0.0)
        esm_tile_rad_impl(tb, lai + t0, vtop + t0, lterm + t0, lterm + ntile + t0, lterm + 2 * ntile + t0, sc,
                          ofw, nb, 1);
    else
        esm_tile_rad_impl(tb, lai + t0, vtop + t0, lterm + t0, lterm + ntile + t0, lterm + 2 * ntile + t0, sc,
                          ofw, nb, 0);
    /* (1c) the daylit leaves into the leaf buffers */
    for (i = 0; i < nb; i++) {
        const double *rec;
        double ca, kbb, b0;
        bl[i] = -1;
        bl4[i] = -1;
        tb[TB_RDSUN * ESM_TS + i] = 0.0;
        tb[TB_RDSH * ESM_TS + i] = 0.0;
        if (tb[TB_DAY * ESM_TS + i] == 0.0)
            continue;
        rec = cell + ((long)tcell[t0 + i] - coff) * EC_NCROW;
        ca = rec[EC_CA];
        kbb = tb[TB_KBB * ESM_TS + i];
        b0 = tb[TB_B0 * ESM_TS + i];
        if ((int)tb[TB_C4 * ESM_TS + i] == 0) {
            bl[i] = (int)nl;
            esm_c3_leaf_raw(lin, lx, nl, ca, gb, kbb, b0, tb[TB_VSUN * ESM_TS + i], tb[TB_ISUNA * ESM_TS + i],
                            tb[TB_ISUN * ESM_TS + i], rec + EC_KM_SUN, 0.0);
            esm_c3_leaf_raw(lin, lx, nl + 1, ca, gb, kbb, b0, tb[TB_VSH * ESM_TS + i], tb[TB_ISHA * ESM_TS + i],
                            tb[TB_ISH * ESM_TS + i], rec + EC_KM_SH, 1.0);
            nl += 2;
        } else {
            bl4[i] = (int)n4;
            tb[TB_RDSUN * ESM_TS + i] = esm_c4_leaf_in(l4, n4, ca, gb, kbb, b0, tb[TB_VSUN * ESM_TS + i],
                tb[TB_ISUNA * ESM_TS + i], rec + EC_F4V_SUN, sc);
            tb[TB_RDSH * ESM_TS + i] = esm_c4_leaf_in(l4, n4 + 1, ca, gb, kbb, b0, tb[TB_VSH * ESM_TS + i],
                tb[TB_ISHA * ESM_TS + i], rec + EC_F4V_SH, sc);
            n4 += 2;
        }
    }
    /* (2) */
    if (nl > 0) {
        esm_c3_leaf_fin(lin, lx, sc, nl);
        esm_c3_leaves(isa, nl, lin, aout);
    }
    if (n4 > 0)
        esm_c4_leaves(isa, n4, l4, sc[ES_C4ALPHA], sc[ES_C4THETA], sc[ES_C4BETA], a4);
    /* (3a) */
    for (i = 0; i < nb; i++) {
        double as = 0.0, ah = 0.0;
        if (bl[i] >= 0) {
            as = aout[bl[i]];
            ah = aout[bl[i] + 1];
            tb[TB_RDSUN * ESM_TS + i] = lin[EL_RD * ESM_LS + bl[i]];
            tb[TB_RDSH * ESM_TS + i] = lin[EL_RD * ESM_LS + bl[i] + 1];
        } else if (bl4[i] >= 0) {
            as = a4[bl4[i]];
            ah = a4[bl4[i] + 1];
        }
        tb[TB_ASUN * ESM_TS + i] = as;
        tb[TB_ASH * ESM_TS + i] = ah;
    }
    if (fin)
        for (i = 0; i < nb; i++)
            tb[TB_XI * ESM_TS + i] = xi[tcell[t0 + i]];
    /* (3b) */
    if (fin && csum) {
        /* cell-sum mode (speed round 12): the fluxes into block rows, then frac x flux added to the tiles' cells in
         * tile order (the arithmetic of cell_sums / np.bincount: the same bits). The per-tile rows of out and res
         * (~80 bytes per tile and hour written to memory) are not made. */
        esm_tile_out_impl(tb, t0, nb, ntile, lai, scale, rml, rms, rmr, sc[ES_GROWTH], out, rh_coef, dt, acc_gpp,
                          acc_rm, acc_rg, tb + TB_RGPP * ESM_TS, ESM_TS, 1, 0, 0);
        /* the running sums of a cell in registers while its tiles (consecutive) pass; loaded from csum when the cell
         * begins (0, or the part summed in the previous piece of 256 tiles) and stored when it ends: the same
         * additions in the same order as adding into csum tile by tile */
        long cp = -1;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0;
        for (i = 0; i < nb; i++) {
            long c = tcell[t0 + i];
            double w = frac[t0 + i];
            if (c != cp) {
                if (cp >= 0) {
                    csum[cp] = s0; csum[ncs + cp] = s1; csum[2 * ncs + cp] = s2;
                    csum[3 * ncs + cp] = s3; csum[4 * ncs + cp] = s4; csum[5 * ncs + cp] = s5;
                }
                s0 = csum[c]; s1 = csum[ncs + c]; s2 = csum[2 * ncs + c];
                s3 = csum[3 * ncs + c]; s4 = csum[4 * ncs + c]; s5 = csum[5 * ncs + c];
                cp = c;
            }
            s0 = s0 + w * tb[TB_RGPP * ESM_TS + i];
            s1 = s1 + w * tb[TB_RNPP * ESM_TS + i];
            s2 = s2 + w * tb[TB_RRA * ESM_TS + i];
            s3 = s3 + w * tb[TB_RRH * ESM_TS + i];
            s4 = s4 + w * tb[TB_RNEE * ESM_TS + i];
            s5 = s5 + w * tb[TB_RGSH * ESM_TS + i];
        }
        if (cp >= 0) {
            csum[cp] = s0; csum[ncs + cp] = s1; csum[2 * ncs + cp] = s2;
            csum[3 * ncs + cp] = s3; csum[4 * ncs + cp] = s4; csum[5 * ncs + cp] = s5;
        }
    } else if (fin && slim)
        esm_tile_out_impl(tb, t0, nb, ntile, lai, scale, rml, rms, rmr, sc[ES_GROWTH], out, rh_coef, dt, acc_gpp,
                          acc_rm, acc_rg, res + t0, ntile, 1, 0, 1);
    else if (fin)
        esm_tile_out_impl(tb, t0, nb, ntile, lai, scale, rml, rms, rmr, sc[ES_GROWTH], out, rh_coef, dt, acc_gpp,
                          acc_rm, acc_rg, res + t0, ntile, 1, 1, 1);
    else
        esm_tile_out_impl(tb, t0, nb, ntile, lai, scale, rml, rms, rmr, sc[ES_GROWTH], out, rh_coef, dt, acc_gpp,
                          acc_rm, acc_rg, res, ntile, 0, 1, 1);
}

#define ESM_TILES_BODY { esm_tiles_impl(ESM_TILES_CALL); }
static void esm_tiles_block_base(ESM_TILES_ARGS) ESM_TILES_BODY
#if ESM_CELL_X86
__attribute__((target("avx2,fma"))) static void esm_tiles_block_avx2(ESM_TILES_ARGS) ESM_TILES_BODY
__attribute__((target("avx512f,prefer-vector-width=512"))) static void esm_tiles_block_avx512(ESM_TILES_ARGS) ESM_TILES_BODY
#endif

static void esm_tiles_block(ESM_TILES_ARGS) {
#if ESM_CELL_X86
    if (isa == 2) { esm_tiles_block_avx512(ESM_TILES_CALL); return; }
    if (isa == 1) { esm_tiles_block_avx2(ESM_TILES_CALL); return; }
#endif
    esm_tiles_block_base(ESM_TILES_CALL);
}
    """
    int ESM_TS, TB_N, EP_N, ES_N, EO_N, EP_C4, EP_LAIMAX, EP_ROOTLIVE, ES_VCCHEN, ES_GROWTH, EO_FW, EO_LAI_SUN
    void esm_tiles_block(int isa, long t0, long nb, long ntile, const int *tcell, const int *tpft, const double *lai,
                         const double *vtop, const double *rml, const double *rms, const double *rmr,
                         const double *scale, const double *cell, const double *fwtab, long npft, const double *pft,
                         const double *sc, double *out, const double *lterm, int fin, const double *xi,
                         const double *rh_coef, double dt, double *acc_gpp, double *acc_rm, double *acc_rg,
                         double *res, int slim, long coff, const double *frac, double *csum, long ncs) noexcept nogil


cdef inline double _c3_leaf_in(double *lin, Py_ssize_t nl, double ca, double gb, double kbb, double b0, double v,
                               double i_abs, double i_leaf, double km, double gst, double fv, double fj, double frd,
                               const double *sc, double rubp) noexcept nogil:
    """Leaf ``nl`` of the C3 leaf buffer (sunlit: rubp 0, shaded: 1) from its Vcmax ``v``, absorbed PAR ``i_abs``,
    irradiance ``i_leaf`` and its cell's temperature factors; returns the daytime leaf respiration Rd."""
    cdef double vc = v * fv
    cdef double jm = (sc[S_JSLOPE] * v + sc[S_JINT]) * fj
    cdef double jj, rd
    if jm < 0.0:
        jm = 0.0
    jj = jm * i_abs / (i_abs + sc[S_JCURV] * jm) if i_abs > 0.0 else 0.0
    rd = sc[S_RDFRAC] * v * frd
    if i_leaf * sc[S_PARFRAC] * sc[S_PHOTON] > 10.0:
        rd = rd * sc[S_RDLIGHT]
    lin[EL_CA * LS + nl] = ca
    lin[EL_GB * LS + nl] = gb
    lin[EL_K * LS + nl] = kbb
    lin[EL_B0 * LS + nl] = b0
    lin[EL_VC * LS + nl] = vc
    lin[EL_J * LS + nl] = jj
    lin[EL_KM * LS + nl] = km
    lin[EL_GST * LS + nl] = gst
    lin[EL_RD * LS + nl] = rd
    lin[EL_RUBP * LS + nl] = rubp
    return rd


cdef inline double _c4_leaf_in(double *l4, Py_ssize_t n4, double ca, double gb, double kbb, double b0, double v,
                               double i_abs, double fv, double fk, double frd, const double *sc) noexcept nogil:
    """Leaf ``n4`` of the C4 leaf buffer from its Vcmax ``v``, absorbed PAR and its cell's temperature factors;
    returns the daytime leaf respiration Rd."""
    cdef double rd = sc[S_C4RDFRAC] * v * frd
    l4[E4_CA * LS + n4] = ca
    l4[E4_GB * LS + n4] = gb
    l4[E4_K * LS + n4] = kbb
    l4[E4_B0 * LS + n4] = b0
    l4[E4_VM * LS + n4] = v * fv
    l4[E4_KCO2 * LS + n4] = sc[S_C4KRATIO] * v * 1e-6 * fk
    l4[E4_I * LS + n4] = i_abs
    l4[E4_RD * LS + n4] = rd
    return rd


cdef void _canopy_block(Py_ssize_t t0, Py_ssize_t t1, int isa, const int[::1] tile_cell, const int[::1] tile_pft,
                        const double[::1] lai, const double[::1] vtop, const double[::1] rm_leaf_base,
                        const double[::1] rm_stem_base, const double[::1] rm_root_base, const double[::1] scale,
                        const double[:, ::1] cell, const double[:, ::1] fwtab, const double[:, ::1] pft,
                        const double[::1] scal, double[:, ::1] out, const double[:, ::1] lterm, bint fin,
                        const double *xi, const double *rh_coef, double dt, double *acc_gpp, double *acc_rm,
                        double *acc_rg, double *res, Py_ssize_t ntile) noexcept nogil:
    """Tiles [t0, t1) (t1 - t0 <= TB) in three phases: (1) per tile the radiation, Vcmax and leaf inputs (the
    arithmetic of round 7); the daylit C3 leaves go into the leaf buffer ``lin`` (NLIN rows of stride ESM_LS = 520), the C4
    leaves into ``l4``; (2) the C3 and the C4 leaves of the block together (esm_c3_leaves, esm_c4_leaves:
    vectorised across leaves; isa -2: the scalar leaf_c3 / coupled_c4 of round 7 leaf by leaf, for tests); (3) per
    tile the fluxes and the step finish."""
    cdef double lin[NLIN * LS]
    cdef double aout[512]
    cdef double b_asun[TB]
    cdef double b_ash[TB]
    cdef double b_rdsun[TB]
    cdef double b_rdsh[TB]
    cdef double b_lsun[TB]
    cdef double b_lsh[TB]
    cdef int b_leaf[TB]      # index of the tile's sunlit C3 leaf in lin (shaded: + 1), -1 if none
    cdef unsigned char b_day[TB]
    cdef double l4[NL4 * LS]
    cdef double a4[512]
    cdef int b_leaf4[TB]     # index of the tile's sunlit C4 leaf in l4 (shaded: + 1), -1 if none
    cdef Py_ssize_t t, i, nl = 0, n4 = 0
    cdef int c, p, c4
    cdef double mu, sdir, sdif, L, om, g, kk, ek, lsun, lsh, under, cmult, i_sh, i_sun, par_conv
    cdef double v0, total, sunsum, vsun, vsh, ca, gb, b0, kbb, fw, x, pai
    cdef double a_sun, a_sh, rd_sun, rd_sh
    cdef double isun_abs, ish_abs, rmleaf, rmstem, rmroot, rg, gpp, rmtot, sc, f_gpp, f_rm, f_rg, f_ra, f_rh
    # ---- phase 1
    for t in range(t0, t1):
        i = t - t0
        b_leaf[i] = -1
        b_leaf4[i] = -1
        b_day[i] = 0
        c = tile_cell[t]
        p = tile_pft[t]
        c4 = <int>pft[p, P_C4]
        mu = cell[c, C_MU]
        sdir = cell[c, C_SDIR]
        sdif = cell[c, C_SDIF]
        L = lai[t]
        om = pft[p, P_CLUMP]
        g = scal[S_G]
        # --- soil water stress (Ju et al. 2006)
        fw = fwtab[c, p]
        out[O_FW, t] = fw
        a_sun = 0.0
        a_sh = 0.0
        rd_sun = 0.0
        rd_sh = 0.0
        lsun = 0.0
        lsh = 0.0
        if mu > 0.0 and (sdir + sdif) > 0.0 and L > 0.0:
            b_day[i] = 1
            # --- sunlit/shaded LAI and leaf irradiance (Chen et al. 1999)
            kk = g * om / mu
            ek = esm_exp(-kk * L)  # the kernel's own exp (<= 1 ulp of glibc, ~half the instructions)
            lsun = mu / g * (1.0 - ek)
            lsh = L - lsun
            # diffuse intercepted by leaves and stems (plant area index, BEPS netRadiation.c); lterm[0] uses it
            pai = L + scal[S_STEMFRAC] * pft[p, P_LAIMAX]
            under = sdif * lterm[0, t]
            x = 1.1 - 0.1 * pai
            if x < 0.0:
                x = 0.0
            cmult = 0.07 * om * sdir * x * cell[c, C_EXPMU]
            i_sh = (sdif - under) / pai + cmult
            i_sun = sdir * g / mu + i_sh
            par_conv = scal[S_PARFRAC] * scal[S_PHOTON] * (1.0 - pft[p, P_ALBEDO])
            isun_abs = i_sun * par_conv
            ish_abs = i_sh * par_conv
            # --- Vcmax of sunlit and shaded leaves (Chen et al. 2012)
            v0 = vtop[t]
            total = v0 * lterm[2, t]
            # (1 - exp(-(kn + K) L)) / (kn + K) = (1 - exp(-kn L) exp(-K L)) / (kn + K)
            sunsum = om * v0 * (1.0 - lterm[1, t] * ek) / (scal[S_KN] + kk)
            vsun = sunsum / lsun if lsun > 0.0 else v0
            if scal[S_VCCHEN] != 0.0:
                # Chen et al. (2012): sunlit sum and area without Omega, (1 - e^{-KL}) / K = L_sun / Omega
                x = L - lsun / om
                vsh = (total - sunsum / om) / x if x > 1e-9 * L else total / L
            else:
                vsh = (total - sunsum) / lsh if lsh > 1e-9 * L else total / L
            ca = cell[c, C_CA]
            gb = scal[S_GBH2O] / 1.37
            b0 = scal[S_B0] * (1.0 - scal[S_B0FW] + scal[S_B0FW] * fw) / 1.6
            kbb = pft[p, P_BBSLOPE] * cell[c, C_RH] * fw / 1.6
            if c4 == 0:
                # sunlit (leaf nl) and shaded (nl + 1) into the leaf buffer, solved in phase 2
                b_leaf[i] = <int>nl
                rd_sun = _c3_leaf_in(lin, nl, ca, gb, kbb, b0, vsun, isun_abs, i_sun, cell[c, C_KM_SUN],
                                     cell[c, C_GS_SUN], cell[c, C_FV_SUN], cell[c, C_FJ_SUN], cell[c, C_FRD_SUN],
                                     &scal[0], 0.0)
                rd_sh = _c3_leaf_in(lin, nl + 1, ca, gb, kbb, b0, vsh, ish_abs, i_sh, cell[c, C_KM_SH],
                                    cell[c, C_GS_SH], cell[c, C_FV_SH], cell[c, C_FJ_SH], cell[c, C_FRD_SH],
                                    &scal[0], 1.0)
                nl = nl + 2
            else:
                # sunlit (leaf n4) and shaded (n4 + 1) into the C4 leaf buffer, solved in phase 2
                b_leaf4[i] = <int>n4
                rd_sun = _c4_leaf_in(l4, n4, ca, gb, kbb, b0, vsun, isun_abs, cell[c, C_F4V_SUN], cell[c, C_F4K_SUN],
                                     cell[c, C_F4RD_SUN], &scal[0])
                rd_sh = _c4_leaf_in(l4, n4 + 1, ca, gb, kbb, b0, vsh, ish_abs, cell[c, C_F4V_SH], cell[c, C_F4K_SH],
                                    cell[c, C_F4RD_SH], &scal[0])
                n4 = n4 + 2
        b_asun[i] = a_sun
        b_ash[i] = a_sh
        b_rdsun[i] = rd_sun
        b_rdsh[i] = rd_sh
        b_lsun[i] = lsun
        b_lsh[i] = lsh
    # ---- phase 2: the C3 leaves of the block
    if nl > 0:
        if isa >= 0:
            esm_c3_leaves(isa, nl, &lin[0], &aout[0])
        else:
            for i in range(nl):
                aout[i] = leaf_c3(lin[EL_CA * LS + i], lin[EL_GB * LS + i], lin[EL_K * LS + i],
                                  lin[EL_B0 * LS + i], lin[EL_VC * LS + i], lin[EL_J * LS + i],
                                  lin[EL_KM * LS + i], lin[EL_GST * LS + i], lin[EL_RD * LS + i],
                                  <int>lin[EL_RUBP * LS + i])
    if n4 > 0:
        if isa >= 0:
            esm_c4_leaves(isa, n4, &l4[0], scal[S_C4ALPHA], scal[S_C4THETA], scal[S_C4BETA], &a4[0])
        else:
            for i in range(n4):
                a4[i] = coupled_c4(l4[E4_CA * LS + i], l4[E4_GB * LS + i], l4[E4_K * LS + i],
                                   l4[E4_B0 * LS + i], l4[E4_VM * LS + i], l4[E4_KCO2 * LS + i],
                                   l4[E4_I * LS + i], l4[E4_RD * LS + i], scal[S_C4ALPHA], scal[S_C4THETA],
                                   scal[S_C4BETA])
    # ---- phase 3
    for t in range(t0, t1):
        i = t - t0
        c = tile_cell[t]
        L = lai[t]
        sc = scale[t]
        a_sun = b_asun[i]
        a_sh = b_ash[i]
        if b_leaf[i] >= 0:
            a_sun = aout[b_leaf[i]]
            a_sh = aout[b_leaf[i] + 1]
        elif b_leaf4[i] >= 0:
            a_sun = a4[b_leaf4[i]]
            a_sh = a4[b_leaf4[i] + 1]
        rd_sun = b_rdsun[i]
        rd_sh = b_rdsh[i]
        lsun = b_lsun[i]
        lsh = b_lsh[i]
        gpp = 0.0
        if b_day[i]:
            out[O_GPP_SUN, t] = (a_sun + rd_sun) * lsun * sc
            out[O_GPP_SH, t] = (a_sh + rd_sh) * lsh * sc
            out[O_RD, t] = (rd_sun * lsun + rd_sh * lsh) * sc
            gpp = (a_sun + rd_sun) * lsun + (a_sh + rd_sh) * lsh
            rmleaf = 0.0
        else:
            out[O_GPP_SUN, t] = 0.0
            out[O_GPP_SH, t] = 0.0
            out[O_RD, t] = 0.0
            # night leaf maintenance respiration (BEPS plant_respir.c): base per unit LAI
            rmleaf = rm_leaf_base[t] * L * cell[c, C_FQ_AIR]
        rmstem = rm_stem_base[t] * cell[c, C_FQ_AIR]
        rmroot = rm_root_base[t] * cell[c, C_FQ_SOIL]
        rmtot = rmleaf + rmstem + rmroot + rd_sun * lsun + rd_sh * lsh
        rg = scal[S_GROWTH] * (gpp - rmtot)
        if rg < 0.0:
            rg = 0.0
        out[O_RM_LEAF, t] = rmleaf * sc
        out[O_RM_STEM, t] = rmstem * sc
        out[O_RM_ROOT, t] = rmroot * sc
        out[O_RG, t] = rg * sc
        out[O_LAI_SUN, t] = lsun
        if fin:
            # finish the step for this tile (the sums and their order as in the docstring)
            f_gpp = out[O_GPP_SUN, t] + out[O_GPP_SH, t]
            f_rm = ((out[O_RD, t] + out[O_RM_LEAF, t]) + out[O_RM_STEM, t]) + out[O_RM_ROOT, t]
            f_rg = out[O_RG, t]
            f_ra = f_rm + f_rg
            f_rh = xi[c] * rh_coef[t]
            res[t] = f_gpp
            res[ntile + t] = f_rm
            res[2 * ntile + t] = f_rg
            res[3 * ntile + t] = f_ra
            res[4 * ntile + t] = f_rh
            res[5 * ntile + t] = f_gpp - f_ra
            res[6 * ntile + t] = (f_ra + f_rh) - f_gpp
            acc_gpp[t] = acc_gpp[t] + f_gpp * dt
            acc_rm[t] = acc_rm[t] + f_rm * dt
            acc_rg[t] = acc_rg[t] + f_rg * dt


def canopy_isa(int isa=-1):
    """Instruction set of the C3 leaf solves of the canopy pass (as :func:`cell_isa`; -2: the scalar code)."""
    return -2 if isa == -2 else esm_cell_isa(isa)


def canopy_step(const int[::1] tile_cell, const int[::1] tile_pft, const double[::1] lai,
                const double[::1] vtop, const double[::1] rm_leaf_base, const double[::1] rm_stem_base,
                const double[::1] rm_root_base, const double[::1] scale,
                const double[:, ::1] cell, const double[:, ::1] fwtab, const double[:, ::1] pft,
                const double[::1] scal, double[:, ::1] out, int nthreads, const double[:, ::1] lterm,
                const double[::1] xi=None, const double[::1] rh_coef=None, double dt=0.0,
                double[::1] acc_gpp=None, double[::1] acc_rm=None, double[::1] acc_rg=None,
                double[:, ::1] res=None, int isa=-1, bint slim=False):
    """Hourly canopy fluxes of every tile (umol CO2 m-2 ground s-1) into ``out`` (NOUT, ntile).

    ``cell`` (ncell, NCROW) and ``fwtab`` (ncell, npft) are stored cell by cell (the transposes of the
    esm.land.beps row arrays), so that a tile reads one contiguous record of its cell rather than one value
    from each of ~20 rows.

    With ``res`` (and ``xi``, ``rh_coef``, ``dt``, ``acc_*``) the step is finished in the same pass, tile by
    tile, while the tile's outputs are in cache: ``res`` rows gpp = sun + shade, rm = ((rd + leaf) + stem) + root,
    rg, ra = rm + rg, rh = xi(cell) rh_coef, npp = gpp - ra, nee = (ra + rh) - gpp, and acc_* += rate dt.

    ``rm_*_base``: maintenance respiration at 25 C [umol m-2 s-1] (leaf: per unit LAI, night only), from
    esm.land.beps.respiration_bases. ``lterm`` (3, ntile): the terms that depend on the tile's LAI only
    (esm.land.beps.lai_terms): diffuse transmission exp(-G Omega (L + S) / cos theta_bar), S = stem_area_fraction
    lai_max the woody area, exp(-kn L) and
    (1 - exp(-kn L)) / kn; they change when the LAI does (daily), not every hour.

    Tiles go in blocks of 256 (dynamic schedule); in a block the daylit C3 leaves are solved together, vectorised
    across leaves (speed round 8; ``isa`` as :func:`cell_isa`, -2 the scalar code; every choice gives the same bits),
    and the per-tile arithmetic is vectorised across the block's tiles (speed round 9, isa >= 0).
    ``slim`` (with ``res``): only the rows gpp_sun, gpp_shade and fw of ``out`` are written (the others are summed
    into ``res``; saves their memory traffic when the caller does not read them).
    """
    cdef Py_ssize_t ntile = tile_cell.shape[0]
    cdef Py_ssize_t nblk = (ntile + TB - 1) // TB, blk
    cdef bint fin = res is not None
    cdef const double *p_xi = NULL
    cdef const double *p_rh = NULL
    cdef double *p_ag = NULL
    cdef double *p_am = NULL
    cdef double *p_ar = NULL
    cdef double *p_res = NULL
    cdef int use = -2 if isa == -2 else esm_cell_isa(isa)
    if (<int>ESM_LB != 2 * <int>TB or <int>ESM_LS != <int>LS or <int>EL_N != <int>NLIN or <int>E4_N != <int>NL4
            or <int>EP_N != <int>NPCOL or <int>ES_N != <int>NSCAL or <int>EO_N != <int>NOUT
            or <int>EC_NCROW != <int>NCROW or <int>EP_C4 != <int>P_C4 or <int>EP_LAIMAX != <int>P_LAIMAX
            or <int>EP_ROOTLIVE != <int>P_ROOTLIVE or <int>ES_VCCHEN != <int>S_VCCHEN
            or <int>ES_GROWTH != <int>S_GROWTH or <int>EO_FW != <int>O_FW or <int>EO_LAI_SUN != <int>O_LAI_SUN):
        raise RuntimeError("beps canopy kernel: C layout differs from the Cython constants")
    if (tile_pft.shape[0] != ntile or lai.shape[0] != ntile or vtop.shape[0] != ntile or scale.shape[0] != ntile
            or rm_leaf_base.shape[0] != ntile or rm_stem_base.shape[0] != ntile or rm_root_base.shape[0] != ntile
            or out.shape[0] < NOUT or out.shape[1] != ntile or lterm.shape[0] < 3 or lterm.shape[1] != ntile
            or cell.shape[1] != NCROW or pft.shape[1] != NPCOL or scal.shape[0] != NSCAL
            or fwtab.shape[0] != cell.shape[0]):
        raise ValueError("canopy_step: tile arrays (ntile), out (NOUT, ntile), lterm (3, ntile), cell (ncell, NCROW), "
                         "pft (npft, NPCOL), scal (NSCAL) or fwtab (ncell, npft) has the wrong shape")
    if fin:
        if xi is None or rh_coef is None or acc_gpp is None or acc_rm is None or acc_rg is None:
            raise ValueError("canopy_step: finishing the step (res) needs xi, rh_coef and acc_gpp, acc_rm, acc_rg")
        if (res.shape[0] < 7 or res.shape[1] != ntile or rh_coef.shape[0] != ntile or acc_gpp.shape[0] != ntile
                or acc_rm.shape[0] != ntile or acc_rg.shape[0] != ntile or xi.shape[0] != cell.shape[0]):
            raise ValueError("canopy_step: res (>= 7, ntile), rh_coef, acc_* (ntile) or xi (ncell) has the wrong shape")
        if ntile > 0:
            p_xi = &xi[0]
            p_rh = &rh_coef[0]
            p_ag = &acc_gpp[0]
            p_am = &acc_rm[0]
            p_ar = &acc_rg[0]
            p_res = &res[0, 0]
    # dynamic blocks: the cost of a tile is irregular (daylit tiles solve the coupled leaf model, night tiles
    # only respire) and the sunlit tiles cluster by longitude and season, so static halves are unbalanced; blocks
    # also let a thread that the OS preempts on a loaded machine hand its work to the other
    if use == -2:
        # the round-8 Cython phases with the scalar leaf solvers (the reference of the tests)
        for blk in prange(nblk, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=1):
            _canopy_block(blk * TB, (blk + 1) * TB if (blk + 1) * TB < ntile else ntile, use, tile_cell, tile_pft,
                          lai, vtop, rm_leaf_base, rm_stem_base, rm_root_base, scale, cell, fwtab, pft, scal, out,
                          lterm, fin, p_xi, p_rh, dt, p_ag, p_am, p_ar, p_res, ntile)
        return
    if ntile == 0:
        return
    # speed round 9: the whole block in C (esm_tiles_block), its per-tile arithmetic vectorised across tiles
    for blk in prange(nblk, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=1):
        esm_tiles_block(use, blk * TB, ((blk + 1) * TB if (blk + 1) * TB < ntile else ntile) - blk * TB, ntile,
                        &tile_cell[0], &tile_pft[0], &lai[0], &vtop[0], &rm_leaf_base[0], &rm_stem_base[0],
                        &rm_root_base[0], &scale[0], &cell[0, 0], &fwtab[0, 0], fwtab.shape[1], &pft[0, 0],
                        &scal[0], &out[0, 0], &lterm[0, 0], fin, p_xi, p_rh, dt, p_ag, p_am, p_ar, p_res, slim, 0,
                        NULL, NULL, 0)


cdef extern from *:
    """
/* speed round 11: one pass over the land per hour. A block of cells [c0, c1) gets its cell factors (esm_cell_block)
 * in block-local records, then the canopy of its tiles [t0, t1) (tiles are stored cell by cell, so they are one
 * range; esm_tiles_block in pieces of at most 256 tiles) reads them while they are in cache: the hour no longer
 * writes the 3.4 MB of cell records and the water-stress table at 1x1 and reads them back, and the land needs one
 * parallel region per hour instead of two. Per cell and per tile the arithmetic is that of the two separate kernels
 * (every lane of their vector loops gives the scalar code's bits, whatever the block), so the results are the same
 * bits. */
#define ESM_NPFT_MAX 16
static void esm_land_block(int isa, const double *const *mrow, const double *q, double *xi, const unsigned char *kinds,
                           long npft, const int *uniq, int nuniq, const int *cdst, const int *csrc, int ncopy,
                           const double *pmin, const double *palpha, long c0, long c1, long t0, long t1, long ntile,
                           const int *tcell, const int *tpft, const double *lai, const double *vtop, const double *rml,
                           const double *rms, const double *rmr, const double *scale, const double *pft,
                           const double *sc, double *out, const double *lterm, const double *rh_coef, double dt,
                           double *acc_gpp, double *acc_rm, double *acc_rg, double *res, int slim, int hacc,
                           double wp, double awc, double *acc_xi, double *acc_wm, double *acc_tair, double *tmin,
                           double *vpd_sum, double *soilm_sum, double *tsum, int fire, int phen, const double *frac,
                           double *csum, long ncs) {
    double crec[ESM_BLK * EC_NCROW];
    double cfw[ESM_BLK * ESM_NPFT_MAX];
    long tt;
    esm_cell_block(isa, NULL, 0, 0, mrow, q, crec, xi, kinds, cfw, npft, uniq, nuniq, cdst, csrc, ncopy, pmin, palpha,
                   c0, c1, c0);
    /* the hour's integrals of these cells while xi and the meteorology are in cache (esm_hour_acc, as
     * hour_accumulate) */
    if (hacc)
        esm_hour_acc(isa, c1 - c0, xi + c0, mrow[EM_T2M] + c0, mrow[EM_VPD] + c0, mrow[EM_SOILM] + c0, dt, wp, awc,
                     acc_xi + c0, acc_wm + c0, acc_tair + c0, tmin + c0, vpd_sum + c0, soilm_sum + c0, tsum + c0,
                     fire, phen);
    for (tt = t0; tt < t1; tt += 256)
        esm_tiles_block(isa, tt, t1 - tt < 256 ? t1 - tt : 256, ntile, tcell, tpft, lai, vtop, rml, rms, rmr, scale,
                        crec, cfw, npft, pft, sc, out, lterm, 1, xi, rh_coef, dt, acc_gpp, acc_rm, acc_rg, res, slim,
                        c0, frac, csum, ncs);
}
    """
    int ESM_NPFT_MAX, ESM_BLK
    void esm_land_block(int isa, const double *const *mrow, const double *q, double *xi, const unsigned char *kinds,
                        long npft, const int *uniq, int nuniq, const int *cdst, const int *csrc, int ncopy,
                        const double *pmin, const double *palpha, long c0, long c1, long t0, long t1, long ntile,
                        const int *tcell, const int *tpft, const double *lai, const double *vtop, const double *rml,
                        const double *rms, const double *rmr, const double *scale, const double *pft,
                        const double *sc, double *out, const double *lterm, const double *rh_coef, double dt,
                        double *acc_gpp, double *acc_rm, double *acc_rg, double *res, int slim, int hacc,
                        double wp, double awc, double *acc_xi, double *acc_wm, double *acc_tair, double *tmin,
                        double *vpd_sum, double *soilm_sum, double *tsum, int fire, int phen, const double *frac,
                        double *csum, long ncs) noexcept nogil


def c4_leaves(const double[::1] ca, const double[::1] gb, const double[::1] k, const double[::1] b0,
              const double[::1] vmax, const double[::1] kco2, const double[::1] i_abs, const double[::1] rd,
              double alpha, double theta, double beta, int solver=0):
    """The coupled C4 leaf for arrays of leaves (tests): ``solver`` 0 coupled_c4 (the polynomial root, speed round
    12), 1 _c4_illinois (the regula falsi on h of rounds 7-11), 2 the leaf kernel of the canopy pass (every lane
    through esm_c4_leaves of the CPU's best build, in pieces of its leaf buffer)."""
    cdef Py_ssize_t n = ca.shape[0], i, j, m
    cdef double[::1] out = np.empty(n)
    if solver not in (0, 1, 2):
        raise ValueError(f"c4_leaves: solver {solver}; expected 0 (polynomial), 1 (regula falsi) or 2 (leaf kernel)")
    cdef double[:, ::1] buf
    cdef double[::1] a4
    if not (gb.shape[0] == n and k.shape[0] == n and b0.shape[0] == n and vmax.shape[0] == n and kco2.shape[0] == n
            and i_abs.shape[0] == n and rd.shape[0] == n):
        raise ValueError("c4_leaves: all leaf arrays must have the same length")
    if solver == 2:
        buf = np.zeros((NL4, LS))
        a4 = np.empty(LS)
        for j in range(0, n, 2 * TB):
            m = min(2 * TB, n - j)
            for i in range(m):
                buf[E4_CA, i] = ca[j + i]
                buf[E4_GB, i] = gb[j + i]
                buf[E4_K, i] = k[j + i]
                buf[E4_B0, i] = b0[j + i]
                buf[E4_VM, i] = vmax[j + i]
                buf[E4_KCO2, i] = kco2[j + i]
                buf[E4_I, i] = i_abs[j + i]
                buf[E4_RD, i] = rd[j + i]
            esm_c4_leaves(esm_cell_isa(-1), m, &buf[0, 0], alpha, theta, beta, &a4[0])
            for i in range(m):
                out[j + i] = a4[i]
        return np.asarray(out)
    for i in range(n):
        if solver == 0:
            out[i] = coupled_c4(ca[i], gb[i], k[i], b0[i], vmax[i], kco2[i], i_abs[i], rd[i], alpha, theta, beta)
        else:
            out[i] = _c4_illinois(ca[i], gb[i], k[i], b0[i], vmax[i], kco2[i], i_abs[i], rd[i], alpha, theta, beta)
    return np.asarray(out)


def land_step(tuple met_rows, const double[::1] q, const double[::1] psi_min, const double[::1] psi_alpha,
              const unsigned char[::1] kinds, double[::1] xi, const long[::1] blk_cell, const long[::1] blk_tile,
              const int[::1] tile_cell, const int[::1] tile_pft, const double[::1] lai, const double[::1] vtop,
              const double[::1] rm_leaf_base, const double[::1] rm_stem_base, const double[::1] rm_root_base,
              const double[::1] scale, const double[:, ::1] pft, const double[::1] scal, double[:, ::1] out,
              int nthreads, const double[:, ::1] lterm, const double[::1] rh_coef, double dt, double[::1] acc_gpp,
              double[::1] acc_rm, double[::1] acc_rg, double[:, ::1] res, int isa=-1, bint slim=True,
              tuple hour_acc=None, const double[::1] frac=None, double[:, ::1] csum=None):
    """:func:`cell_step` and :func:`canopy_step` (with the step finish) fused, block by block (speed round 11): the
    cells ``blk_cell[b] .. blk_cell[b + 1]`` (at most 256) get their factors in block-local records and the canopy of
    their tiles ``blk_tile[b] .. blk_tile[b + 1]`` runs on them at once. ``met_rows``: the NM meteorology rows of the
    cells (contiguous float64, as cell_step's tuple form); ``xi`` (ncell) is written; the other arguments are those of
    the two kernels (``out``, ``res``, ``acc_*`` as canopy_step with ``res``). Tiles must be stored cell by cell
    (``tile_cell`` non-decreasing) and ``blk_tile[b]`` must be the first tile of cell ``blk_cell[b]`` (the wrapper,
    esm.land.beps.CellKernel.land_step, builds both). Same bits as the two kernels run one after the other (test).

    ``hour_acc``: optional ``(wilting_point, awc, acc_xi, acc_wm, acc_tair, tmin, vpd_sum, soilm_sum, tsum, fire,
    phenology)``: the hour's integrals of :func:`hour_accumulate` (same arguments, same bits) done block by block in
    the same pass, with the meteorology rows t2m, vpd and soilm of ``met_rows`` and the step's ``dt``.

    ``frac`` (ntile) and ``csum`` (NCSUM, ncell), given together: cell-sum mode (speed round 12). ``csum[k, c]`` is
    overwritten with the sum over the tiles i of cell c of ``frac[i]`` times flux k (rows :data:`CSUM_ROWS`: gpp, npp,
    ra, rh, nee of ``res`` and gpp_shade of ``out``), added in tile order: the bits of :func:`cell_sums` of those rows.
    The per-tile rows of ``out`` and ``res`` are then not made (pass None for both); ``acc_*`` and the hour's integrals
    are kept as always."""
    cdef const double *rowp[NM]
    cdef const double[::1] mv
    cdef Py_ssize_t n = xi.shape[0], ntile = tile_cell.shape[0], nblk = blk_cell.shape[0] - 1, j, blk
    cdef int npft = psi_min.shape[0]
    cdef int use = -2 if isa == -2 else esm_cell_isa(isa)
    if use < 0:
        raise ValueError("land_step: the fused kernel has no scalar reference build (isa -2); use cell_step and "
                         "canopy_step")
    if len(met_rows) != NM:
        raise ValueError(f"land_step: met rows: {len(met_rows)} arrays; expected {NM}")
    for j in range(NM):
        mv = met_rows[j]
        if mv.shape[0] != n:
            raise ValueError(f"land_step: met row {j} has {mv.shape[0]} cells; expected {n} (the length of xi)")
        rowp[j] = &mv[0] if n > 0 else NULL
    if npft > ESM_NPFT_MAX or psi_alpha.shape[0] != npft or pft.shape[0] != npft or pft.shape[1] != NPCOL:
        raise ValueError(f"land_step: psi_min, psi_alpha ({npft} <= {ESM_NPFT_MAX} cover types) and pft (npft, NPCOL) "
                         "must agree")
    cdef bint sums = csum is not None
    if (frac is None) != (csum is None):
        raise ValueError("land_step: frac and csum go together (cell-sum mode) or are both None")
    if sums:
        if csum.shape[0] != NCSUM or csum.shape[1] != n or frac.shape[0] != ntile:
            raise ValueError(f"land_step: csum must be ({NCSUM}, ncell = {n}) and frac ({ntile},)")
    elif out is None or res is None:
        raise ValueError("land_step: out and res are needed unless csum and frac are given")
    if (q.shape[0] != NQ or kinds.shape[0] != n or blk_tile.shape[0] != nblk + 1 or nblk < 0
            or tile_pft.shape[0] != ntile or lai.shape[0] != ntile or vtop.shape[0] != ntile
            or rm_leaf_base.shape[0] != ntile or rm_stem_base.shape[0] != ntile or rm_root_base.shape[0] != ntile
            or scale.shape[0] != ntile or rh_coef.shape[0] != ntile or acc_gpp.shape[0] != ntile
            or acc_rm.shape[0] != ntile or acc_rg.shape[0] != ntile
            or (out is not None and (out.shape[0] < NOUT or out.shape[1] != ntile))
            or lterm.shape[0] < 3 or lterm.shape[1] != ntile
            or (res is not None and (res.shape[0] < 7 or res.shape[1] != ntile))
            or scal.shape[0] != NSCAL):
        raise ValueError("land_step: cell arrays (ncell), tile arrays (ntile), out (NOUT, ntile), lterm (3, ntile), "
                         "res (7, ntile), scal (NSCAL) or the block bounds have the wrong shape")
    if sums:
        csum[:, :] = 0.0
    if ntile == 0 and n == 0:
        return  # no land
    if nblk == 0 or blk_cell[0] != 0 or blk_cell[nblk] != n or blk_tile[0] != 0 or blk_tile[nblk] != ntile:
        raise ValueError("land_step: the blocks must cover all cells and tiles")
    for blk in range(nblk):
        if not (0 <= blk_cell[blk + 1] - blk_cell[blk] <= ESM_BLK and blk_tile[blk] <= blk_tile[blk + 1]):
            raise ValueError("land_step: a block holds more than 256 cells or its tiles are out of order")
    cdef int[::1] uniq, cdst, csrc
    uniq, cdst, csrc = _fw_sets(psi_min, psi_alpha)
    cdef int nuniq = uniq.shape[0], ncopy = npft - uniq.shape[0]
    cdef const int *p_tc = &tile_cell[0] if ntile > 0 else NULL
    cdef double[::1] h_axi
    cdef double h_wp = 0.0, h_awc = 1.0
    cdef int hacc = 0, h_fire = 0, h_phen = 0
    cdef double *hp[7]
    if hour_acc is not None:
        if len(hour_acc) != 11:
            raise ValueError("land_step: hour_acc is (wilting_point, awc, acc_xi, acc_wm, acc_tair, tmin, vpd_sum, "
                             "soilm_sum, tsum, fire, phenology)")
        h_wp, h_awc = hour_acc[0], hour_acc[1]
        for j in range(7):
            h_axi = hour_acc[2 + j]
            if h_axi.shape[0] != n:
                raise ValueError(f"land_step: hour_acc array {j} has {h_axi.shape[0]} cells; expected {n}")
            hp[j] = &h_axi[0] if n > 0 else NULL
        h_fire, h_phen = bool(hour_acc[9]), bool(hour_acc[10])
        hacc = 1
    else:
        for j in range(7):
            hp[j] = NULL
    cdef double *p_out = &out[0, 0] if out is not None and ntile > 0 else NULL
    cdef double *p_res = &res[0, 0] if res is not None and ntile > 0 else NULL
    cdef const double *p_frac = &frac[0] if sums and ntile > 0 else NULL
    cdef double *p_csum = &csum[0, 0] if sums and n > 0 else NULL
    for blk in prange(nblk, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=1):
        esm_land_block(use, <const double *const *>rowp, &q[0], &xi[0], &kinds[0], npft, &uniq[0], nuniq, &cdst[0],
                       &csrc[0], ncopy, &psi_min[0], &psi_alpha[0], blk_cell[blk], blk_cell[blk + 1],
                       blk_tile[blk], blk_tile[blk + 1], ntile, p_tc, &tile_pft[0] if ntile > 0 else NULL,
                       &lai[0] if ntile > 0 else NULL, &vtop[0] if ntile > 0 else NULL,
                       &rm_leaf_base[0] if ntile > 0 else NULL, &rm_stem_base[0] if ntile > 0 else NULL,
                       &rm_root_base[0] if ntile > 0 else NULL, &scale[0] if ntile > 0 else NULL, &pft[0, 0],
                       &scal[0], p_out, &lterm[0, 0] if ntile > 0 else NULL,
                       &rh_coef[0] if ntile > 0 else NULL, dt, &acc_gpp[0] if ntile > 0 else NULL,
                       &acc_rm[0] if ntile > 0 else NULL, &acc_rg[0] if ntile > 0 else NULL,
                       p_res, slim, hacc, h_wp, h_awc, hp[0], hp[1], hp[2], hp[3],
                       hp[4], hp[5], hp[6], h_fire, h_phen, p_frac, p_csum, n)


def cell_sums(const int[::1] tile_cell, const double[::1] frac, tuple fields, double[:, ::1] out, int nthreads=1):
    """``out[k, c] = sum over the tiles i of cell c of frac[i] * fields[k][i]`` for every field k, summed in tile order
    (the arithmetic of ``np.bincount(tile_cell, weights=frac * field)``: the same bits), the fields on the threads
    (speed round 11: the land component's hourly diagnostics were ~15 numpy passes, more than the land step itself at
    1x1). ``fields``: contiguous float64 arrays (ntile,); ``out`` (len(fields), ncell) is overwritten."""
    cdef Py_ssize_t ntile = tile_cell.shape[0], ncell = out.shape[1], nf = len(fields), k, i
    cdef const double[::1] fv
    if out.shape[0] != nf or frac.shape[0] != ntile:
        raise ValueError(f"cell_sums: out must be ({nf}, ncell) and frac ({ntile},)")
    if nf > 64:
        raise ValueError("cell_sums: at most 64 fields per call")
    cdef const double *fp[64]
    for k in range(nf):
        fv = fields[k]
        if fv.shape[0] != ntile:
            raise ValueError(f"cell_sums: field {k} has {fv.shape[0]} values; expected {ntile} (one per tile)")
        fp[k] = &fv[0] if ntile > 0 else NULL
    for i in range(ntile):
        if not (0 <= tile_cell[i] < ncell):
            raise ValueError(f"cell_sums: tile {i} names cell {tile_cell[i]}, outside 0..{ncell - 1}")
    for k in prange(nf, nogil=True, num_threads=nthreads, schedule="static"):
        for i in range(ncell):
            out[k, i] = 0.0
        for i in range(ntile):
            out[k, tile_cell[i]] = out[k, tile_cell[i]] + frac[i] * fp[k][i]
