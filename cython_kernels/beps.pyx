# cython: language_level=3
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


def layout():
    """Index constants, for the Python wrapper to verify it matches."""
    return {'NPCOL': NPCOL, 'NSCAL': NSCAL, 'NCROW': NCROW, 'NOUT': NOUT}


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
    dxold = hi
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
            tmp = df - 0.5 * f * fpp / df
            halley = tmp * df > 0.0
            dx = f / tmp if halley else f / df
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


cdef inline double coupled_c4(double ca, double gb, double k, double b0, double vmax, double kco2,
                              double i_abs, double rd, double alpha, double theta, double beta) noexcept nogil:
    """C4 leaf coupled with Ball-Berry stomata, regula falsi (Illinois) on h(A) = A_C4(ci(A)) - Rd - A."""
    cdef double lo, hi, flo, fhi, x, fx, tol, m
    cdef int it, side = 0
    if i_abs <= 0.0:
        return -rd
    lo = -rd
    # gross C4 assimilation never exceeds M (the smaller root of the light/Rubisco quadratic): h < 0 there
    hi = _smaller_root(theta, -(vmax + alpha * i_abs), vmax * alpha * i_abs) - rd
    # M as c4_gross computes it (je = alpha I first), for h
    m = _smaller_root(theta, -(vmax + alpha * i_abs), vmax * (alpha * i_abs))
    if hi > gb * ca * (1.0 - 1e-12):
        hi = gb * ca * (1.0 - 1e-12)
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


cdef inline double _int_exp(double k, double lai) noexcept nogil:
    if k * lai > 1e-10:
        return -expm1(-k * lai) / k
    return lai


def canopy_step(const int[::1] tile_cell, const int[::1] tile_pft, const double[::1] lai,
                const double[::1] vtop, const double[::1] rm_leaf_base, const double[::1] rm_stem_base,
                const double[::1] rm_root_base, const double[::1] scale,
                const double[:, ::1] cell, const double[:, ::1] fwtab, const double[:, ::1] pft,
                const double[::1] scal, double[:, ::1] out, int nthreads, const double[:, ::1] lterm,
                const double[::1] xi=None, const double[::1] rh_coef=None, double dt=0.0,
                double[::1] acc_gpp=None, double[::1] acc_rm=None, double[::1] acc_rg=None,
                double[:, ::1] res=None):
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
    """
    cdef Py_ssize_t ntile = tile_cell.shape[0]
    cdef Py_ssize_t t
    cdef int c, p, c4
    cdef double mu, sdir, sdif, L, om, g, kk, ek, lsun, lsh, under, cmult, i_sh, i_sun, par_conv
    cdef double v0, total, sunsum, vsun, vsh, ca, gb, b0, kbb, fw, x, pai
    cdef double a_sun, a_sh, rd_sun, rd_sh, km, gst, vc, jm, jj
    cdef double isun_abs, ish_abs, rmleaf, rmstem, rmroot, rg, gpp, rmtot, sc, f_gpp, f_rm, f_rg, f_ra, f_rh
    cdef bint fin = res is not None
    if fin:
        if xi is None or rh_coef is None or acc_gpp is None or acc_rm is None or acc_rg is None:
            raise ValueError("canopy_step: finishing the step (res) needs xi, rh_coef and acc_gpp, acc_rm, acc_rg")
        if (res.shape[0] < 7 or res.shape[1] != ntile or rh_coef.shape[0] != ntile or acc_gpp.shape[0] != ntile
                or acc_rm.shape[0] != ntile or acc_rg.shape[0] != ntile or xi.shape[0] != cell.shape[0]):
            raise ValueError("canopy_step: res (>= 7, ntile), rh_coef, acc_* (ntile) or xi (ncell) has the wrong shape")
    # dynamic chunks: the cost of a tile is irregular (daylit tiles solve the coupled leaf model, night tiles
    # only respire) and the sunlit tiles cluster by longitude and season, so static halves are unbalanced; chunks
    # also let a thread that the OS preempts on a loaded machine hand its work to the other
    for t in prange(ntile, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=256):
        c = tile_cell[t]
        p = tile_pft[t]
        c4 = <int>pft[p, P_C4]
        mu = cell[c, C_MU]
        sdir = cell[c, C_SDIR]
        sdif = cell[c, C_SDIF]
        L = lai[t]
        om = pft[p, P_CLUMP]
        g = scal[S_G]
        sc = scale[t]
        # --- soil water stress (Ju et al. 2006)
        fw = fwtab[c, p]
        out[O_FW, t] = fw
        gpp = 0.0
        a_sun = 0.0
        a_sh = 0.0
        rd_sun = 0.0
        rd_sh = 0.0
        lsun = 0.0
        lsh = 0.0
        if mu > 0.0 and (sdir + sdif) > 0.0 and L > 0.0:
            # --- sunlit/shaded LAI and leaf irradiance (Chen et al. 1999)
            kk = g * om / mu
            ek = exp(-kk * L)
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
                # sunlit
                km = cell[c, C_KM_SUN]
                gst = cell[c, C_GS_SUN]
                vc = vsun * cell[c, C_FV_SUN]
                jm = (scal[S_JSLOPE] * vsun + scal[S_JINT]) * cell[c, C_FJ_SUN]
                if jm < 0.0:
                    jm = 0.0
                jj = jm * isun_abs / (isun_abs + scal[S_JCURV] * jm) if isun_abs > 0.0 else 0.0
                rd_sun = scal[S_RDFRAC] * vsun * cell[c, C_FRD_SUN]
                if i_sun * scal[S_PARFRAC] * scal[S_PHOTON] > 10.0:
                    rd_sun = rd_sun * scal[S_RDLIGHT]
                a_sun = leaf_c3(ca, gb, kbb, b0, vc, jj, km, gst, rd_sun, 0)
                # shaded
                km = cell[c, C_KM_SH]
                gst = cell[c, C_GS_SH]
                vc = vsh * cell[c, C_FV_SH]
                jm = (scal[S_JSLOPE] * vsh + scal[S_JINT]) * cell[c, C_FJ_SH]
                if jm < 0.0:
                    jm = 0.0
                jj = jm * ish_abs / (ish_abs + scal[S_JCURV] * jm) if ish_abs > 0.0 else 0.0
                rd_sh = scal[S_RDFRAC] * vsh * cell[c, C_FRD_SH]
                if i_sh * scal[S_PARFRAC] * scal[S_PHOTON] > 10.0:
                    rd_sh = rd_sh * scal[S_RDLIGHT]
                a_sh = leaf_c3(ca, gb, kbb, b0, vc, jj, km, gst, rd_sh, 1)
            else:
                vc = vsun * cell[c, C_F4V_SUN]
                rd_sun = scal[S_C4RDFRAC] * vsun * cell[c, C_F4RD_SUN]
                a_sun = coupled_c4(ca, gb, kbb, b0, vc, scal[S_C4KRATIO] * vsun * 1e-6 * cell[c, C_F4K_SUN],
                                   isun_abs, rd_sun, scal[S_C4ALPHA], scal[S_C4THETA], scal[S_C4BETA])
                vc = vsh * cell[c, C_F4V_SH]
                rd_sh = scal[S_C4RDFRAC] * vsh * cell[c, C_F4RD_SH]
                a_sh = coupled_c4(ca, gb, kbb, b0, vc, scal[S_C4KRATIO] * vsh * 1e-6 * cell[c, C_F4K_SH],
                                  ish_abs, rd_sh, scal[S_C4ALPHA], scal[S_C4THETA], scal[S_C4BETA])
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
            res[0, t] = f_gpp
            res[1, t] = f_rm
            res[2, t] = f_rg
            res[3, t] = f_ra
            res[4, t] = f_rh
            res[5, t] = f_gpp - f_ra
            res[6, t] = (f_ra + f_rh) - f_gpp
            acc_gpp[t] = acc_gpp[t] + f_gpp * dt
            acc_rm[t] = acc_rm[t] + f_rm * dt
            acc_rg[t] = acc_rg[t] + f_rg * dt


def pool_step(double[:, ::1] pools, double[:, ::1] work, const double[:, ::1] k, const double[:, ::1] alloc,
              const int[::1] pair_recv, const int[::1] pair_donor, const double[:, ::1] pair_frac,
              const double[::1] npp_sum, const double[::1] xi_sum, double dt_sum, int nveg, int nthreads):
    """In-place daily InTEC pool step (same arithmetic, in the same order, as
    esm.land.intec.PoolModel.step); ``work`` is scratch of the shape of ``pools``."""
    cdef Py_ssize_t ntile = pools.shape[0]
    cdef Py_ssize_t npool = pools.shape[1]
    cdef Py_ssize_t npair = pair_recv.shape[0]
    cdef Py_ssize_t t, i, q
    for t in prange(ntile, nogil=True, num_threads=nthreads, schedule="static"):
        for i in range(npool):
            if i < nveg:
                work[t, i] = k[t, i] * pools[t, i] * dt_sum
            else:
                work[t, i] = k[t, i] * pools[t, i] * xi_sum[t]
        for i in range(npool):
            pools[t, i] = pools[t, i] - work[t, i]
        for q in range(npair):
            pools[t, pair_recv[q]] = pools[t, pair_recv[q]] + pair_frac[q, t] * work[t, pair_donor[q]]
        for i in range(nveg):
            pools[t, i] = pools[t, i] + alloc[t, i] * npp_sum[t]


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
    NM = 10


def cell_layout():
    return {'NQ': NQ, 'NM': NM}


cdef inline double _arr(double t, double ea) noexcept nogil:
    return exp(ea * (t - 298.15) / (8.314462618 * 298.15 * t))


cdef inline double _peak(double t, double ea, double hd, double topt) noexcept nogil:
    cdef double x = (t - topt) / (8.314462618 * topt * t)
    return hd * exp(ea * x) / (hd - ea * (1.0 - exp(hd * x)))


cdef inline double _diffuse_beps(double sw, double cosz) noexcept nogil:
    """Diffuse part of global shortwave by the BEPS relation (netRadiation.c; Chen et al. 2012): r = S / (1367 cos Z),
    f = 0.13 for r > 0.8, else 0.943 + 0.734 r - 4.9 r^2 + 1.796 r^3 + 2.058 r^4, within [0, 1]."""
    cdef double r = 0.0, f
    if cosz >= 0.001:
        r = sw / (1367.0 * cosz)
    if r > 0.8:
        f = 0.13
    else:
        f = 0.943 + r * (0.734 + r * (-4.9 + r * (1.796 + r * 2.058)))
    if f > 1.0:
        f = 1.0
    if f < 0.0:
        f = 0.0
    return f * sw


cdef inline double _mfac(double tc, double a, double b) noexcept nogil:
    return pow(a + b * tc, (tc - 25.0) / 10.0)


def cell_step(const double[:, ::1] met, const double[::1] q, const double[::1] psi_min,
              const double[::1] psi_alpha, double[:, ::1] cell, double[:, ::1] fwtab, double[::1] xi, int nthreads,
              const unsigned char[::1] kinds):
    """Cell records (ncell, NCROW), water-stress table (ncell, npft) and decomposition scalar (ncell) from the
    land-cell meteorology ``met`` (ncell, NM) (one contiguous record per cell; esm.land.beps.CellKernel hands
    out the transposes as its row arrays). ``kinds`` per cell: bit 1 = the cell has C3 tiles, bit 2 = C4
    tiles; the C3 (C4) photosynthesis factors are computed only where needed (zero elsewhere)."""
    cdef Py_ssize_t n = met.shape[0]
    cdef Py_ssize_t c
    cdef int p, npft = psi_min.shape[0], k
    cdef double ta, ts, tsc, pbar, sw, dif, mu, es, rh, psi, ft, t, o2, kc, ko, tau, qf, fv, frd, x, fw, lt, e0
    # first cover type with the same water-stress parameters (its factor is copied)
    cdef int[::1] same = np.arange(npft, dtype=np.int32)
    cdef int p2
    for p in range(npft):
        for p2 in range(p):
            if psi_min[p2] == psi_min[p] and psi_alpha[p2] == psi_alpha[p]:
                same[p] = p2
                break
    # the cover types whose factor is computed, and the (copy, source) pairs of the others
    cdef int[::1] uniq = np.array([p for p in range(npft) if same[p] == p], dtype=np.int32)
    cdef int[::1] cdst = np.array([p for p in range(npft) if same[p] != p] or [0], dtype=np.int32)
    cdef int[::1] csrc = np.array([same[p] for p in range(npft) if same[p] != p] or [0], dtype=np.int32)
    cdef int nuniq = uniq.shape[0], ncopy = npft - uniq.shape[0], i
    cdef double* fwrow
    for c in prange(n, nogil=True, num_threads=nthreads, schedule="dynamic", chunksize=256):
        ta = met[c, M_T2M]
        tsc = met[c, M_TSOIL] - 273.15
        sw = met[c, M_SW]
        dif = met[c, M_SWDIF]
        if q[Q_DIFBEPS] != 0.0:
            dif = _diffuse_beps(sw, met[c, M_COSZ])
        if dif > sw:
            dif = sw
        mu = 0.0
        if sw > 0.0 and met[c, M_COSZ] > 0.0:
            mu = met[c, M_COSZ]
        cell[c, C_MU] = mu
        cell[c, C_SDIR] = sw - dif
        cell[c, C_SDIF] = dif
        cell[c, C_CA] = met[c, M_CO2]
        es = 610.78 * exp(17.27 * (ta - 273.15) / (ta - 273.15 + 237.3))
        rh = 1.0 - met[c, M_VPD] / es
        if rh < 0.0:
            rh = 0.0
        if rh > 1.0:
            rh = 1.0
        cell[c, C_RH] = rh
        x = met[c, M_SOILM]
        if x < 1e-6:
            x = 1e-6
        psi = q[Q_PSISAT] * pow(x / q[Q_POROSITY], -q[Q_SOILB])
        cell[c, C_PSI] = psi
        ft = 0.0
        if tsc > 0.0:
            ft = -expm1(-q[Q_FWTC] * tsc * tsc)
        cell[c, C_FTSOIL] = ft
        cell[c, C_FQ_AIR] = _mfac(ta - 273.15, q[Q_Q10A], q[Q_Q10B])
        cell[c, C_FQ_SOIL] = _mfac(tsc, q[Q_Q10A], q[Q_Q10B])
        cell[c, C_EXPMU] = exp(-mu) if mu > 0.0 else 1.0  # exp(-0) = 1 exactly; spares the call at night
        # decomposition scalar (Lloyd & Taylor; InTEC moisture)
        lt = 0.0
        if tsc > q[Q_T0] + 1.0:
            lt = exp(q[Q_E0] * (1.0 / (q[Q_TREF] - q[Q_T0]) - 1.0 / (tsc - q[Q_T0])))
            if lt > 1.0:
                lt = 1.0
        if lt < q[Q_LTMIN]:
            lt = q[Q_LTMIN]
        x = met[c, M_SOILM] / q[Q_POROSITY]
        e0 = q[Q_W1] * x + q[Q_W2] * x * x + q[Q_W0]
        if e0 < 0.0:
            e0 = 0.0
        if e0 > 1.0:
            e0 = 1.0
        if e0 < q[Q_WMIN]:
            e0 = q[Q_WMIN]
        xi[c] = lt * e0
        # water stress per cover type
        fwrow = &fwtab[c, 0]
        for i in range(nuniq):
            p = uniq[i]
            if ft == 0.0:
                fw = 0.0  # frozen soil: f(psi) (finite, in (0, 1]) times 0, without the pow
            elif psi > psi_min[p]:
                fw = 1.0 / (1.0 + pow((psi - psi_min[p]) / psi_min[p], psi_alpha[p])) * ft
            else:
                fw = 1.0 * ft
            if fw < q[Q_FWMIN]:
                fw = q[Q_FWMIN]
            fwrow[p] = fw
        for i in range(ncopy):
            fwrow[cdst[i]] = fwrow[csrc[i]]  # same parameters as an earlier cover type
        if mu > 0.0:
            pbar = met[c, M_PS] / 1.0e5
            o2 = q[Q_O2] * 1000.0 * pbar
            for k in range(2):
                if k == 0:
                    t = ta + q[Q_SKINW] * (met[c, M_TSKIN] - ta)
                else:
                    t = ta
                if kinds[c] & 1:
                    kc = q[Q_KC25] * _arr(t, q[Q_EAKC])
                    ko = q[Q_KO25] * _arr(t, q[Q_EAKO])
                    tau = q[Q_TAU25] * _arr(t, q[Q_EATAU])
                    cell[c, C_KM_SUN + 5 * k] = kc * (1.0 + o2 / ko) / pbar
                    cell[c, C_GS_SUN + 5 * k] = 0.5 * o2 * 1000.0 / tau / pbar
                    fv = _peak(t, q[Q_EAVC], q[Q_HD], q[Q_TOPT])
                    cell[c, C_FV_SUN + 5 * k] = fv / q[Q_GVC25]
                    if q[Q_EAJM] == q[Q_EAVC]:
                        cell[c, C_FJ_SUN + 5 * k] = fv / q[Q_GJM25]  # the same peaked function
                    else:
                        cell[c, C_FJ_SUN + 5 * k] = _peak(t, q[Q_EAJM], q[Q_HD], q[Q_TOPT]) / q[Q_GJM25]
                    cell[c, C_FRD_SUN + 5 * k] = _arr(t, q[Q_EARD])
                else:
                    cell[c, C_KM_SUN + 5 * k] = 0.0
                    cell[c, C_GS_SUN + 5 * k] = 0.0
                    cell[c, C_FV_SUN + 5 * k] = 0.0
                    cell[c, C_FJ_SUN + 5 * k] = 0.0
                    cell[c, C_FRD_SUN + 5 * k] = 0.0
                if kinds[c] & 2:
                    qf = pow(q[Q_C4Q10], (t - 273.15 - 25.0) / 10.0)
                    cell[c, C_F4V_SUN + 3 * k] = qf / ((1.0 + exp(0.3 * (13.0 - (t - 273.15))))
                                                       * (1.0 + exp(0.3 * ((t - 273.15) - 36.0))))
                    cell[c, C_F4K_SUN + 3 * k] = qf
                    cell[c, C_F4RD_SUN + 3 * k] = qf / (1.0 + exp(1.3 * ((t - 273.15) - 55.0)))
                else:
                    cell[c, C_F4V_SUN + 3 * k] = 0.0
                    cell[c, C_F4K_SUN + 3 * k] = 0.0
                    cell[c, C_F4RD_SUN + 3 * k] = 0.0
        else:
            for k in range(C_KM_SUN, C_F4RD_SH + 1):
                cell[c, k] = 0.0
