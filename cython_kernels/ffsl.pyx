# cython: language_level=3
"""Flux-form semi-Lagrangian advection of air and tracer mass (Lin & Rood 1996).

Kernels behind ``esm.transport.advection``; nothing here checks its arguments.

Horizontal step (``hadvect``)
    One level at a time (``prange`` over levels; each thread owns the whole level, so
    the polar caps, which couple every column of a row, stay inside one thread).
    The step is the Lin & Rood (1996, MWR 124, eq. 2.9) combination of the two
    directional orderings written in mass-flux form: with X and Y the 1-D flux-form
    updates of (air mass m, tracer mass q m) by the face mass fluxes,

        (q m)^{n+1} = 1/2 [ (Y o X)(q m) + (X o Y)(q m) ],   m^{n+1} = 1/2 [ (Y o X) m + (X o Y) m ].

    Expanding the first half gives LR96's "advective inner operator, flux-form outer
    operator" pair (the inner X sweep of q is exactly the advective update
    q + f(q) of their eq. 2.8 in mass-flux form, the outer Y flux is evaluated on that
    field); the outer operator's Courant numbers are taken relative to the intermediate
    air mass, which makes each half a 1-D flux-form update with a positive new mass
    (Easter 1993, MWR 121), hence monotone with a monotone reconstruction, and the
    average of two monotone updates is monotone. As in LR96 the splitting error of
    first order in dt cancels between the two halves, and no state alternates between
    steps (restarts stay exact).

1-D operator
    Piecewise-parabolic reconstruction of the mixing ratio in each cell (Colella &
    Woodward 1984, JCP 54, eqs. 1.6-1.10). Face fluxes are the integral of the
    reconstruction over the air mass that crosses the face in the step: whole upstream
    cells plus a fraction ``alpha`` of the next one ("integer shift plus fractional
    flux", LR96 section 3, so zonal Courant numbers above 1 need no sub-stepping). The
    Courant number is the mass Courant number: the fraction of the upstream cell's air
    that leaves. Schemes: 0 = PPM with the CW84 monotonicity constraint (edges from
    monotonised slopes, eq. 1.8; extrema flattened and overshooting parabolas steepened,
    eq. 1.10), 1 = PPM unlimited (linear in q: for tangent-linear and adjoint use),
    2 = first-order upwind (piecewise constant).

Meridional direction and poles
    The polar rows (j = 0 and nlat-1, cells touching the poles) form one polar cap each:
    their mixing ratio is the mass-weighted cap mean, zonal fluxes inside them only move
    air mass, and the meridional flux out of a cap carries the cap mean. Meridional
    sweeps are sub-cycled (``n`` equal sub-steps of F/n per level and ordering) so that
    no cell, cap included, loses more air in a sub-step than it holds; ``n`` comes from
    the outflow and inflow of every cell (see ``_y_nsub``).

Vertical step (``vadvect``)
    The same 1-D operator along each column in the air-mass coordinate (cell widths are
    the layer masses; CW84 eqs. 1.6-1.7 for non-uniform widths), with whole layers
    plus a fraction crossing each interface, so thin upper layers need no sub-stepping.

Error codes returned per level (or row): 0 ok, 1 an air mass became non-positive
(zonal sweep), 2 zonal Courant number beyond one full row, 3 meridional sub-cycles
exceed the maximum, 4 an air mass became non-positive (meridional or vertical sweep),
5 non-positive input air mass, 6 vertical flux takes more air than the column holds,
7 out of memory.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport fabs, ceil

cdef enum:
    MONO = 0
    LINEAR = 1
    UPWIND = 2


# ---------------------------------------------------------------------------------------
# PPM helpers
# ---------------------------------------------------------------------------------------
cdef inline double _mono_slope(double l, double c, double r) noexcept nogil:
    """Monotonised centred slope (CW84 eq. 1.8, uniform cells)."""
    cdef double d = 0.5 * (r - l)
    cdef double dl, dr, ad
    if (r - c) * (c - l) <= 0.0:
        return 0.0
    ad = fabs(d)
    dl = 2.0 * fabs(c - l)
    dr = 2.0 * fabs(r - c)
    if dl < ad:
        ad = dl
    if dr < ad:
        ad = dr
    return ad if d > 0.0 else -ad


cdef inline void _cw84_constrain(double a, double* pl, double* pr) noexcept nogil:
    """CW84 eq. 1.10: flatten at extrema, steepen parabolas that overshoot the cell."""
    cdef double al = pl[0]
    cdef double ar = pr[0]
    cdef double da, a6
    if (ar - a) * (a - al) <= 0.0:
        pl[0] = a
        pr[0] = a
        return
    da = ar - al
    a6 = 6.0 * (a - 0.5 * (al + ar))
    if da * a6 > da * da:
        pl[0] = 3.0 * a - 2.0 * ar
    elif -da * da > da * a6:
        pr[0] = 3.0 * a - 2.0 * al


cdef inline double _avg_right(double al, double ar, double a6, double alpha) noexcept nogil:
    """Mean of the parabola over the right (downstream-east/north/up) fraction alpha of the cell."""
    return ar - 0.5 * alpha * ((ar - al) - (1.0 - 2.0 / 3.0 * alpha) * a6)


cdef inline double _avg_left(double al, double ar, double a6, double alpha) noexcept nogil:
    """Mean of the parabola over the left fraction alpha of the cell."""
    return al + 0.5 * alpha * ((ar - al) + (1.0 - 2.0 / 3.0 * alpha) * a6)


# ---------------------------------------------------------------------------------------
# zonal sweep (periodic rows, integer shift + fractional flux)
# ---------------------------------------------------------------------------------------
cdef int _x_geometry(const double* m, const double* fx, int nlat, int nlon,
                     double* fa, double* rem, double* alp, int* nw, double* mnew,
                     int* ej, int* ei, double* ev) noexcept nogil:
    """Departure geometry of every west face: whole cells crossed, fraction, air flux.

    ``fa`` is the air mass actually moved (the sum of whole cells plus the remainder, the
    same sum the tracer flux uses, so q = 1 stays exactly 1). Cap rows only move mass.
    """
    cdef int j, i, c, cnt
    cdef double f, r, s
    cdef const double* mr
    cdef const double* fr
    for j in range(nlat):
        mr = m + j * nlon
        fr = fx + j * nlon
        if j == 0 or j == nlat - 1:
            for i in range(nlon):
                fa[j * nlon + i] = fr[i]
                rem[j * nlon + i] = 0.0
                alp[j * nlon + i] = 0.0
                nw[j * nlon + i] = 0
            continue
        for i in range(nlon):
            if not (mr[i] > 0.0):
                ej[0] = j; ei[0] = i; ev[0] = mr[i]
                return 5
        for i in range(nlon):
            f = fr[i]
            cnt = 0
            s = 0.0
            if f >= 0.0:
                r = f
                c = i - 1
                if c < 0:
                    c += nlon
                while r > mr[c]:
                    r -= mr[c]
                    s += mr[c]
                    cnt += 1
                    c -= 1
                    if c < 0:
                        c += nlon
                    if cnt >= nlon:
                        ej[0] = j; ei[0] = i; ev[0] = f / mr[i]
                        return 2
                fa[j * nlon + i] = s + r
            else:
                r = -f
                c = i
                while r > mr[c]:
                    r -= mr[c]
                    s += mr[c]
                    cnt += 1
                    c += 1
                    if c >= nlon:
                        c -= nlon
                    if cnt >= nlon:
                        ej[0] = j; ei[0] = i; ev[0] = f / mr[i]
                        return 2
                fa[j * nlon + i] = -(s + r)
            rem[j * nlon + i] = r
            alp[j * nlon + i] = r / mr[c]
            nw[j * nlon + i] = cnt
    for j in range(nlat):
        for i in range(nlon - 1):
            mnew[j * nlon + i] = m[j * nlon + i] + fa[j * nlon + i] - fa[j * nlon + i + 1]
        i = nlon - 1
        mnew[j * nlon + i] = m[j * nlon + i] + fa[j * nlon + i] - fa[j * nlon]
        if j == 0 or j == nlat - 1:
            continue
        for i in range(nlon):
            if not (mnew[j * nlon + i] > 0.0):
                ej[0] = j; ei[0] = i; ev[0] = (fa[j * nlon + (i + 1) % nlon] - fa[j * nlon + i]) / m[j * nlon + i]
                return 1
    return 0


cdef inline double _edge6(double qm3, double qm2, double qm1, double qp1, double qp2, double qp3,
                         int scheme) noexcept nogil:
    """Edge value between cells m1 and p1 from six cell means (sixth-order interpolation of the
    cell-average primitive, the higher-order variant of CW84 eq. 1.6; Colella & Sekora 2008,
    eq. 17). With the monotone scheme the edge is clamped between its two neighbours."""
    cdef double e = (37.0 * (qm1 + qp1) - 8.0 * (qm2 + qp2) + (qm3 + qp3)) / 60.0
    cdef double lo, hi
    if scheme == MONO:
        lo = qm1 if qm1 < qp1 else qp1
        hi = qp1 if qm1 < qp1 else qm1
        if e < lo:
            e = lo
        elif e > hi:
            e = hi
    return e


cdef void _recon_row(const double* q, int n, int scheme, double* qe, double* ae,
                     double* al, double* ar, double* a6) noexcept nogil:
    """PPM reconstruction of one periodic row: edges al, ar and curvature a6 per cell.

    ``qe`` holds the row with three halo cells on each side (qe[i + 3] = q[i])."""
    cdef int i
    if scheme == UPWIND:
        for i in range(n):
            al[i] = q[i]
            ar[i] = q[i]
            a6[i] = 0.0
        return
    for i in range(n):
        qe[i + 3] = q[i]
    for i in range(3):
        qe[i] = q[(n - 3 + i + 3 * n) % n]
        qe[n + 3 + i] = q[i % n]
    # edge at the west face of cell i (i = 0 .. n): cells i-3 .. i+2 = qe[i] .. qe[i+5]
    for i in range(n + 1):
        ae[i] = _edge6(qe[i], qe[i + 1], qe[i + 2], qe[i + 3], qe[i + 4], qe[i + 5], scheme)
    for i in range(n):
        al[i] = ae[i]
        ar[i] = ae[i + 1]
    if scheme == MONO:
        for i in range(n):
            _cw84_constrain(q[i], &al[i], &ar[i])
    for i in range(n):
        a6[i] = 6.0 * (q[i] - 0.5 * (al[i] + ar[i]))


cdef void _x_sweep(const double* m, const double* mnew, double* q, int nlat, int nlon, int scheme,
                   const double* fa, const double* rem, const double* alp, const int* nw,
                   double* qe, double* ae, double* al, double* ar, double* a6,
                   double* fl) noexcept nogil:
    """Zonal flux-form update of one tracer on one level (cap rows keep their uniform q)."""
    cdef int j, i, c, w, cnt
    cdef double s, f, alpha
    cdef const double* mr
    cdef double* qr
    for j in range(1, nlat - 1):
        mr = m + j * nlon
        qr = q + j * nlon
        _recon_row(qr, nlon, scheme, qe, ae, al, ar, a6)
        for i in range(nlon):
            f = fa[j * nlon + i]
            cnt = nw[j * nlon + i]
            alpha = alp[j * nlon + i]
            s = 0.0
            if f >= 0.0:
                c = i - 1
                if c < 0:
                    c += nlon
                for w in range(cnt):
                    s += qr[c] * mr[c]
                    c -= 1
                    if c < 0:
                        c += nlon
                fl[i] = s + rem[j * nlon + i] * _avg_right(al[c], ar[c], a6[c], alpha)
            else:
                c = i
                for w in range(cnt):
                    s += qr[c] * mr[c]
                    c += 1
                    if c >= nlon:
                        c -= nlon
                fl[i] = -(s + rem[j * nlon + i] * _avg_left(al[c], ar[c], a6[c], alpha))
        fl[nlon] = fl[0]
        for i in range(nlon):
            qr[i] = (qr[i] * mr[i] + fl[i] - fl[i + 1]) / mnew[j * nlon + i]


# ---------------------------------------------------------------------------------------
# meridional sweep (polar caps, sub-cycled)
# ---------------------------------------------------------------------------------------
cdef int _y_nsub(const double* m, const double* fy, int nlat, int nlon, int max_sub,
                 int* nsub, int* ej, int* ei, double* ev) noexcept nogil:
    """Number of equal meridional sub-steps so that no cell loses more air than it holds.

    With sub-fluxes F/n the mass of a cell changes linearly over the sub-steps, so the
    outflow of every sub-step stays below the cell's mass when out/n <= m_start and
    in/n <= m_end (checked at the first and the last sub-step).
    """
    cdef int j, i, jmax = -1, imax = -1
    cdef double fin, fout, m0, m1, ratio, rmax = 0.0
    cdef double fs, fn
    for j in range(nlat):
        if j == 0 or j == nlat - 1:
            fin = 0.0
            fout = 0.0
            m0 = 0.0
            for i in range(nlon):
                m0 += m[j * nlon + i]
                if j == 0:
                    fn = fy[1 * nlon + i]
                    if fn > 0.0:
                        fout += fn
                    else:
                        fin -= fn
                else:
                    fs = fy[(nlat - 1) * nlon + i]
                    if fs < 0.0:
                        fout -= fs
                    else:
                        fin += fs
            m1 = m0 + fin - fout
            if not (m0 > 0.0) or not (m1 > 0.0):
                ej[0] = j; ei[0] = -1; ev[0] = m1
                return 4
            ratio = fout / m0
            if fin / m1 > ratio:
                ratio = fin / m1
            if ratio > rmax:
                rmax = ratio; jmax = j; imax = -1
            continue
        for i in range(nlon):
            fs = fy[j * nlon + i]
            fn = fy[(j + 1) * nlon + i]
            fin = 0.0
            fout = 0.0
            if fs > 0.0:
                fin += fs
            else:
                fout -= fs
            if fn > 0.0:
                fout += fn
            else:
                fin -= fn
            m0 = m[j * nlon + i]
            m1 = m0 + fin - fout
            if not (m0 > 0.0) or not (m1 > 0.0):
                ej[0] = j; ei[0] = i; ev[0] = m1
                return 4
            ratio = fout / m0
            if fin / m1 > ratio:
                ratio = fin / m1
            if ratio > rmax:
                rmax = ratio; jmax = j; imax = i
    if rmax > max_sub:
        ej[0] = jmax; ei[0] = imax; ev[0] = rmax
        return 3
    nsub[0] = <int> ceil(rmax)
    if nsub[0] < 1:
        nsub[0] = 1
    return 0


cdef void _y_geometry(const double* m, const double* fy, int nlat, int nlon, int n,
                      double* fa, double* alp, double* mnew) noexcept nogil:
    """Sub-step air fluxes F/n and mass Courant numbers of the upstream cells."""
    cdef int j, i
    cdef double f, a
    cdef double inv = 1.0 / n
    for i in range(nlon):
        fa[i] = 0.0
        fa[nlat * nlon + i] = 0.0
        alp[i] = 0.0
        alp[nlat * nlon + i] = 0.0
    for j in range(1, nlat):
        for i in range(nlon):
            if n == 1:
                f = fy[j * nlon + i]
            else:
                f = fy[j * nlon + i] * inv
            fa[j * nlon + i] = f
            if f >= 0.0:
                a = f / m[(j - 1) * nlon + i] if j - 1 > 0 else 0.0
            else:
                a = -f / m[j * nlon + i] if j < nlat - 1 else 0.0
            if a > 1.0:
                a = 1.0
            alp[j * nlon + i] = a
    for j in range(nlat):
        for i in range(nlon):
            mnew[j * nlon + i] = m[j * nlon + i] + fa[j * nlon + i] - fa[(j + 1) * nlon + i]


cdef void _y_sweep(const double* m, const double* mnew, double* q, int nlat, int nlon, int scheme,
                   const double* fa, const double* alp, double* ae,
                   double* al, double* ar, double* a6, double* fl) noexcept nogil:
    """Meridional flux-form update of one tracer on one level; caps are single cells."""
    cdef int j, i, jm3, jm2, jp1, jp2
    cdef double f, qcs, qcn, rmc, mc
    qcs = q[0]
    qcn = q[(nlat - 1) * nlon]
    if scheme == UPWIND:
        for j in range(nlat):
            for i in range(nlon):
                al[j * nlon + i] = q[j * nlon + i]
                ar[j * nlon + i] = q[j * nlon + i]
                a6[j * nlon + i] = 0.0
    else:
        # edges at faces 1 .. nlat-1 (face j = south face of row j); rows beyond the
        # polar caps repeat the cap value
        for j in range(1, nlat):
            jm3 = j - 3 if j >= 3 else 0
            jm2 = j - 2 if j >= 2 else 0
            jp1 = j + 1 if j + 1 < nlat else nlat - 1
            jp2 = j + 2 if j + 2 < nlat else nlat - 1
            for i in range(nlon):
                ae[j * nlon + i] = _edge6(q[jm3 * nlon + i], q[jm2 * nlon + i], q[(j - 1) * nlon + i],
                                          q[j * nlon + i], q[jp1 * nlon + i], q[jp2 * nlon + i], scheme)
        for j in range(1, nlat - 1):
            for i in range(nlon):
                al[j * nlon + i] = ae[j * nlon + i]
                ar[j * nlon + i] = ae[(j + 1) * nlon + i]
            if scheme == MONO:
                for i in range(nlon):
                    _cw84_constrain(q[j * nlon + i], &al[j * nlon + i], &ar[j * nlon + i])
            for i in range(nlon):
                a6[j * nlon + i] = 6.0 * (q[j * nlon + i] - 0.5 * (al[j * nlon + i] + ar[j * nlon + i]))
    # fluxes through faces 1 .. nlat-1
    for i in range(nlon):
        fl[i] = 0.0
        fl[nlat * nlon + i] = 0.0
    for j in range(1, nlat):
        for i in range(nlon):
            f = fa[j * nlon + i]
            if f >= 0.0:
                if j - 1 == 0:
                    fl[j * nlon + i] = f * qcs
                else:
                    fl[j * nlon + i] = f * _avg_right(al[(j - 1) * nlon + i], ar[(j - 1) * nlon + i],
                                                      a6[(j - 1) * nlon + i], alp[j * nlon + i])
            else:
                if j == nlat - 1:
                    fl[j * nlon + i] = f * qcn
                else:
                    fl[j * nlon + i] = f * _avg_left(al[j * nlon + i], ar[j * nlon + i],
                                                     a6[j * nlon + i], alp[j * nlon + i])
    for j in range(1, nlat - 1):
        for i in range(nlon):
            q[j * nlon + i] = ((q[j * nlon + i] * m[j * nlon + i] + fl[j * nlon + i] - fl[(j + 1) * nlon + i])
                               / mnew[j * nlon + i])
    # caps: one cell each
    rmc = 0.0
    mc = 0.0
    for i in range(nlon):
        rmc += q[i] * m[i] - fl[nlon + i]
        mc += m[i] - fa[nlon + i]
    qcs = rmc / mc
    rmc = 0.0
    mc = 0.0
    j = nlat - 1
    for i in range(nlon):
        rmc += q[j * nlon + i] * m[j * nlon + i] + fl[j * nlon + i]
        mc += m[j * nlon + i] + fa[j * nlon + i]
    qcn = rmc / mc
    for i in range(nlon):
        q[i] = qcs
        q[j * nlon + i] = qcn


cdef void _cap_average(const double* m, double* q, int nlat, int nlon) noexcept nogil:
    """Mix each polar row into one cap: mass-weighted mean, conservative."""
    cdef int i, j, r
    cdef double rm, mm, qc
    for r in range(2):
        j = 0 if r == 0 else nlat - 1
        rm = 0.0
        mm = 0.0
        for i in range(nlon):
            rm += q[j * nlon + i] * m[j * nlon + i]
            mm += m[j * nlon + i]
        qc = rm / mm
        for i in range(nlon):
            q[j * nlon + i] = qc


cdef int _y_steps(double** pm, double** pt, double* q, Py_ssize_t tstride, int ntr,
                  const double* fy, int nlat, int nlon, int scheme, int max_sub,
                  double* fa, double* alp, double* ae, double* al, double* ar, double* a6,
                  double* fl, int* nsub, int* ej, int* ei, double* ev) noexcept nogil:
    """All meridional sub-steps for every tracer; masses ping-pong between *pm and *pt."""
    cdef int s, t, code
    cdef double* tmp
    code = _y_nsub(pm[0], fy, nlat, nlon, max_sub, nsub, ej, ei, ev)
    if code != 0:
        return code
    for s in range(nsub[0]):
        _y_geometry(pm[0], fy, nlat, nlon, nsub[0], fa, alp, pt[0])
        for t in range(ntr):
            _y_sweep(pm[0], pt[0], q + t * tstride, nlat, nlon, scheme, fa, alp, ae, al, ar, a6, fl)
        tmp = pm[0]
        pm[0] = pt[0]
        pt[0] = tmp
    return 0


cdef int _x_step(double** pm, double** pt, double* q, Py_ssize_t tstride, int ntr,
                 const double* fx, int nlat, int nlon, int scheme,
                 double* fa, double* rem, double* alp, int* nw,
                 double* qe, double* ae, double* al, double* ar, double* a6, double* fl,
                 int* ej, int* ei, double* ev) noexcept nogil:
    cdef int t, code
    cdef double* tmp
    code = _x_geometry(pm[0], fx, nlat, nlon, fa, rem, alp, nw, pt[0], ej, ei, ev)
    if code != 0:
        return code
    for t in range(ntr):
        _x_sweep(pm[0], pt[0], q + t * tstride, nlat, nlon, scheme, fa, rem, alp, nw,
                 qe, ae, al, ar, a6, fl)
    tmp = pm[0]
    pm[0] = pt[0]
    pt[0] = tmp
    return 0


cdef int _hlevel(double* m, double* q, Py_ssize_t qstride, int ntr,
                 const double* fx, const double* fy, int nlat, int nlon, int scheme, int max_sub,
                 int order, double* work, int* iwork, int* ej, int* ei, double* ev,
                 int* nsub_out) noexcept nogil:
    """Horizontal step of one level for air and every tracer.

    order 0: 1/2 [(Y o X) + (X o Y)] (Lin & Rood 1996); 1: Y o X; 2: X o Y.
    """
    cdef Py_ssize_t N = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t NF = <Py_ssize_t> (nlat + 1) * nlon
    cdef double* mA = work
    cdef double* mB = mA + N
    cdef double* mT = mB + N
    cdef double* qA = mT + N
    cdef double* qB = qA + ntr * N
    cdef double* fa = qB + ntr * N
    cdef double* rem = fa + NF
    cdef double* alp = rem + NF
    cdef double* fl = alp + NF
    cdef double* ae = fl + NF
    cdef double* al = ae + NF
    cdef double* ar = al + N
    cdef double* a6 = ar + N
    cdef double* qe = a6 + N          # nlon + 6
    cdef int* nw = iwork
    cdef double* pm
    cdef double* pt
    cdef double* pmA
    cdef int t, code, na = 1, nb = 1, jcap, i, r
    cdef Py_ssize_t c
    cdef double rmc, mc, qc, mf
    # polar rows become caps (mass-weighted mean) before anything moves
    for t in range(ntr):
        _cap_average(m, q + t * qstride, nlat, nlon)
    if order != 0:
        # one ordering, in place on q
        for c in range(N):
            mA[c] = m[c]
        pm = mA
        pt = mT
        if order == 1:
            code = _x_step(&pm, &pt, q, qstride, ntr, fx, nlat, nlon, scheme, fa, rem, alp, nw,
                           qe, ae, al, ar, a6, fl, ej, ei, ev)
            if code == 0:
                code = _y_steps(&pm, &pt, q, qstride, ntr, fy, nlat, nlon, scheme, max_sub,
                                fa, alp, ae, al, ar, a6, fl, &na, ej, ei, ev)
        else:
            code = _y_steps(&pm, &pt, q, qstride, ntr, fy, nlat, nlon, scheme, max_sub,
                            fa, alp, ae, al, ar, a6, fl, &na, ej, ei, ev)
            if code == 0:
                code = _x_step(&pm, &pt, q, qstride, ntr, fx, nlat, nlon, scheme, fa, rem, alp, nw,
                               qe, ae, al, ar, a6, fl, ej, ei, ev)
        if code != 0:
            return code
        nsub_out[0] = na
        for c in range(N):
            m[c] = pm[c]
        for r in range(2):
            jcap = 0 if r == 0 else nlat - 1
            mc = 0.0
            for i in range(nlon):
                mc += m[jcap * nlon + i]
            if not (mc > 0.0):
                ej[0] = jcap; ei[0] = -1; ev[0] = mc
                return 4
        for c in range(nlon, N - nlon):
            if not (m[c] > 0.0):
                ej[0] = <int> (c // nlon); ei[0] = <int> (c % nlon); ev[0] = m[c]
                return 4
        return 0
    # ---- branch A: X then Y --------------------------------------------------------------
    for c in range(N):
        mA[c] = m[c]
    for t in range(ntr):
        for c in range(N):
            qA[t * N + c] = q[t * qstride + c]
    pm = mA
    pt = mT
    code = _x_step(&pm, &pt, qA, N, ntr, fx, nlat, nlon, scheme, fa, rem, alp, nw,
                   qe, ae, al, ar, a6, fl, ej, ei, ev)
    if code != 0:
        return code
    code = _y_steps(&pm, &pt, qA, N, ntr, fy, nlat, nlon, scheme, max_sub,
                    fa, alp, ae, al, ar, a6, fl, &na, ej, ei, ev)
    if code != 0:
        return code
    pmA = pm          # result of branch A; pt is free
    # ---- branch B: Y then X --------------------------------------------------------------
    pm = mB
    for c in range(N):
        mB[c] = m[c]
    for t in range(ntr):
        for c in range(N):
            qB[t * N + c] = q[t * qstride + c]
    code = _y_steps(&pm, &pt, qB, N, ntr, fy, nlat, nlon, scheme, max_sub,
                    fa, alp, ae, al, ar, a6, fl, &nb, ej, ei, ev)
    if code != 0:
        return code
    code = _x_step(&pm, &pt, qB, N, ntr, fx, nlat, nlon, scheme, fa, rem, alp, nw,
                   qe, ae, al, ar, a6, fl, ej, ei, ev)
    if code != 0:
        return code
    nsub_out[0] = na if na > nb else nb
    # ---- average of the two orderings ----------------------------------------------------
    for c in range(nlon, N - nlon):
        mf = 0.5 * (pmA[c] + pm[c])
        for t in range(ntr):
            q[t * qstride + c] = 0.5 * (qA[t * N + c] * pmA[c] + qB[t * N + c] * pm[c]) / mf
        m[c] = mf
    for r in range(2):
        jcap = 0 if r == 0 else nlat - 1
        mc = 0.0
        for i in range(nlon):
            c = jcap * nlon + i
            mc += 0.5 * (pmA[c] + pm[c])
        if not (mc > 0.0):
            ej[0] = jcap; ei[0] = -1; ev[0] = mc
            return 4
        for t in range(ntr):
            rmc = 0.0
            for i in range(nlon):
                c = jcap * nlon + i
                rmc += 0.5 * (qA[t * N + c] * pmA[c] + qB[t * N + c] * pm[c])
            qc = rmc / mc
            for i in range(nlon):
                q[t * qstride + jcap * nlon + i] = qc
        for i in range(nlon):
            c = jcap * nlon + i
            m[c] = 0.5 * (pmA[c] + pm[c])
    for c in range(nlon, N - nlon):
        if not (m[c] > 0.0):
            ej[0] = <int> (c // nlon); ei[0] = <int> (c % nlon); ev[0] = m[c]
            return 4
    return 0


def hadvect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] fx,
            const double[:, :, ::1] fy, int scheme, int max_sub, int order,
            int[:, ::1] status, double[::1] value, int[::1] nsub):
    """Horizontal FFSL step in place.

    m (nlev, nlat, nlon) air mass [kg]; q (ntr, nlev, nlat, nlon) mixing ratio; fx
    (nlev, nlat, nlon) eastward air mass through the west faces over the step [kg]; fy
    (nlev, nlat+1, nlon) northward air mass through the south faces [kg]. Per level:
    status[k] = (code, j, i), value[k] the offending number, nsub[k] meridional sub-steps.
    """
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef Py_ssize_t N = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t NF = <Py_ssize_t> (nlat + 1) * nlon
    cdef Py_ssize_t nwork = 3 * N + 2 * ntr * N + 5 * NF + 3 * N + nlon + 16
    cdef Py_ssize_t qstride = <Py_ssize_t> nlev * N
    cdef int k, code
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* fxp = &fx[0, 0, 0]
    cdef const double* fyp = &fy[0, 0, 0]
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    cdef int* np_ = &nsub[0]
    with nogil, parallel():
        work = <double*> malloc(nwork * sizeof(double))
        iwork = <int*> malloc(N * sizeof(int))
        for k in prange(nlev, schedule="dynamic"):
            if work == NULL or iwork == NULL:
                sp[3 * k] = 7
            else:
                code = _hlevel(mp + k * N, qp + k * N, qstride, ntr, fxp + k * N, fyp + k * NF,
                               nlat, nlon, scheme, max_sub, order, work, iwork,
                               sp + 3 * k + 1, sp + 3 * k + 2, vp + k, np_ + k)
                sp[3 * k] = code
        free(work)
        free(iwork)


# ---------------------------------------------------------------------------------------
# vertical sweep in the air-mass coordinate
# ---------------------------------------------------------------------------------------
cdef int _vrow(double* m, double* q, Py_ssize_t tstride, Py_ssize_t lstride, int ntr,
               const double* w, int nlev, int ncol, int scheme, double* work, int* iwork,
               int* ek, int* ei, double* ev) noexcept nogil:
    """Vertical flux-form PPM update of one row of columns (all tracers)."""
    cdef Py_ssize_t L = <Py_ssize_t> nlev * ncol
    cdef Py_ssize_t LF = <Py_ssize_t> (nlev + 1) * ncol
    cdef double* fa = work
    cdef double* rem = fa + LF
    cdef double* alp = rem + LF
    cdef double* fl = alp + LF
    cdef double* ae = fl + LF
    cdef double* d1 = ae + LF
    cdef double* d2 = d1 + LF
    cdef double* d3 = d2 + LF
    cdef double* c1 = d3 + LF
    cdef double* c2 = c1 + L
    cdef double* dm = c2 + L
    cdef double* al = dm + L
    cdef double* ar = al + L
    cdef double* a6 = ar + L
    cdef double* mn = a6 + L
    cdef int* nw = iwork
    cdef int k, i, c, cnt, t, wk
    cdef double f, r, s, hm, h0, hp, hpp, S3, S4, qm, q0, qp_, lo, hi, alpha
    cdef double* qt
    # ---- geometry: whole layers + fraction crossing each interface ----------------------
    for i in range(ncol):
        fa[i] = 0.0
        fa[nlev * ncol + i] = 0.0
        rem[i] = 0.0
        rem[nlev * ncol + i] = 0.0
        alp[i] = 0.0
        alp[nlev * ncol + i] = 0.0
        nw[i] = 0
        nw[nlev * ncol + i] = 0
    for k in range(nlev):
        for i in range(ncol):
            if not (m[k * lstride + i] > 0.0):
                ek[0] = k; ei[0] = i; ev[0] = m[k * lstride + i]
                return 5
    for k in range(1, nlev):
        for i in range(ncol):
            f = w[k * lstride + i]
            s = 0.0
            cnt = 0
            if f >= 0.0:
                r = f
                c = k - 1
                while r > m[c * lstride + i]:
                    r -= m[c * lstride + i]
                    s += m[c * lstride + i]
                    cnt += 1
                    c -= 1
                    if c < 0:
                        ek[0] = k; ei[0] = i; ev[0] = f
                        return 6
                fa[k * ncol + i] = s + r
            else:
                r = -f
                c = k
                while r > m[c * lstride + i]:
                    r -= m[c * lstride + i]
                    s += m[c * lstride + i]
                    cnt += 1
                    c += 1
                    if c >= nlev:
                        ek[0] = k; ei[0] = i; ev[0] = f
                        return 6
                fa[k * ncol + i] = -(s + r)
            rem[k * ncol + i] = r
            alp[k * ncol + i] = r / m[c * lstride + i]
            nw[k * ncol + i] = cnt
    for k in range(nlev):
        for i in range(ncol):
            mn[k * ncol + i] = m[k * lstride + i] + fa[k * ncol + i] - fa[(k + 1) * ncol + i]
            if not (mn[k * ncol + i] > 0.0):
                ek[0] = k; ei[0] = i; ev[0] = mn[k * ncol + i]
                return 4
    # ---- non-uniform PPM coefficients (CW84 eqs. 1.6-1.7), cell widths = layer masses ----
    if scheme != UPWIND:
        for k in range(nlev):
            for i in range(ncol):
                h0 = m[k * lstride + i]
                hm = m[(k - 1) * lstride + i] if k > 0 else h0
                hp = m[(k + 1) * lstride + i] if k < nlev - 1 else h0
                S3 = hm + h0 + hp
                c1[k * ncol + i] = h0 / S3 * (2.0 * hm + h0) / (hp + h0)
                c2[k * ncol + i] = h0 / S3 * (h0 + 2.0 * hp) / (hm + h0)
        for k in range(1, nlev):
            # interface k between layer k-1 ("j") and layer k ("j+1")
            for i in range(ncol):
                h0 = m[(k - 1) * lstride + i]
                hp = m[k * lstride + i]
                hm = m[(k - 2) * lstride + i] if k >= 2 else h0
                hpp = m[(k + 1) * lstride + i] if k + 1 < nlev else hp
                S4 = hm + h0 + hp + hpp
                d1[k * ncol + i] = (h0 / (h0 + hp)
                                    + 2.0 * hp * h0 / (h0 + hp) / S4
                                    * ((hm + h0) / (2.0 * h0 + hp) - (hpp + hp) / (2.0 * hp + h0)))
                d2[k * ncol + i] = -h0 * (hm + h0) / (2.0 * h0 + hp) / S4
                d3[k * ncol + i] = hp * (hp + hpp) / (h0 + 2.0 * hp) / S4
    # ---- tracers --------------------------------------------------------------------------
    for t in range(ntr):
        qt = q + t * tstride
        if scheme == UPWIND:
            for k in range(nlev):
                for i in range(ncol):
                    al[k * ncol + i] = qt[k * lstride + i]
                    ar[k * ncol + i] = qt[k * lstride + i]
                    a6[k * ncol + i] = 0.0
        else:
            for k in range(nlev):
                for i in range(ncol):
                    q0 = qt[k * lstride + i]
                    qm = qt[(k - 1) * lstride + i] if k > 0 else q0
                    qp_ = qt[(k + 1) * lstride + i] if k < nlev - 1 else q0
                    s = c1[k * ncol + i] * (qp_ - q0) + c2[k * ncol + i] * (q0 - qm)
                    if scheme == MONO:
                        if (qp_ - q0) * (q0 - qm) > 0.0:
                            r = fabs(s)
                            if 2.0 * fabs(q0 - qm) < r:
                                r = 2.0 * fabs(q0 - qm)
                            if 2.0 * fabs(qp_ - q0) < r:
                                r = 2.0 * fabs(qp_ - q0)
                            s = r if s > 0.0 else -r
                        else:
                            s = 0.0
                    dm[k * ncol + i] = s
            for i in range(ncol):
                ae[i] = qt[i]
                ae[nlev * ncol + i] = qt[(nlev - 1) * lstride + i]
            for k in range(1, nlev):
                for i in range(ncol):
                    q0 = qt[(k - 1) * lstride + i]
                    qp_ = qt[k * lstride + i]
                    s = (q0 + d1[k * ncol + i] * (qp_ - q0) + d2[k * ncol + i] * dm[k * ncol + i]
                         + d3[k * ncol + i] * dm[(k - 1) * ncol + i])
                    if scheme == MONO:
                        lo = q0 if q0 < qp_ else qp_
                        hi = qp_ if q0 < qp_ else q0
                        if s < lo:
                            s = lo
                        elif s > hi:
                            s = hi
                    ae[k * ncol + i] = s
            for k in range(nlev):
                for i in range(ncol):
                    al[k * ncol + i] = ae[k * ncol + i]
                    ar[k * ncol + i] = ae[(k + 1) * ncol + i]
                if scheme == MONO:
                    for i in range(ncol):
                        _cw84_constrain(qt[k * lstride + i], &al[k * ncol + i], &ar[k * ncol + i])
                for i in range(ncol):
                    a6[k * ncol + i] = 6.0 * (qt[k * lstride + i] - 0.5 * (al[k * ncol + i] + ar[k * ncol + i]))
        for i in range(ncol):
            fl[i] = 0.0
            fl[nlev * ncol + i] = 0.0
        for k in range(1, nlev):
            for i in range(ncol):
                f = fa[k * ncol + i]
                cnt = nw[k * ncol + i]
                alpha = alp[k * ncol + i]
                s = 0.0
                if f >= 0.0:
                    c = k - 1
                    for wk in range(cnt):
                        s += qt[c * lstride + i] * m[c * lstride + i]
                        c -= 1
                    fl[k * ncol + i] = s + rem[k * ncol + i] * _avg_right(
                        al[c * ncol + i], ar[c * ncol + i], a6[c * ncol + i], alpha)
                else:
                    c = k
                    for wk in range(cnt):
                        s += qt[c * lstride + i] * m[c * lstride + i]
                        c += 1
                    fl[k * ncol + i] = -(s + rem[k * ncol + i] * _avg_left(
                        al[c * ncol + i], ar[c * ncol + i], a6[c * ncol + i], alpha))
        for k in range(nlev):
            for i in range(ncol):
                qt[k * lstride + i] = ((qt[k * lstride + i] * m[k * lstride + i] + fl[k * ncol + i]
                                        - fl[(k + 1) * ncol + i]) / mn[k * ncol + i])
    for k in range(nlev):
        for i in range(ncol):
            m[k * lstride + i] = mn[k * ncol + i]
    return 0


def vadvect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] w, int scheme,
            int row_start, int row_end, int[:, ::1] status, double[::1] value):
    """Vertical FFSL step in place for rows ``row_start <= j < row_end``.

    w (nlev+1, nrow, ncol): upward air mass through each interface over the step [kg]
    (w[0] and w[nlev] are ignored and taken as zero). status[j] = (code, k, i).
    """
    cdef int nlev = m.shape[0]
    cdef int nrow = m.shape[1]
    cdef int ncol = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef Py_ssize_t lstride = <Py_ssize_t> nrow * ncol
    cdef Py_ssize_t tstride = <Py_ssize_t> nlev * lstride
    cdef Py_ssize_t L = <Py_ssize_t> nlev * ncol
    cdef Py_ssize_t LF = <Py_ssize_t> (nlev + 1) * ncol
    cdef Py_ssize_t nwork = 8 * LF + 7 * L + 8
    cdef int j, code
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* wp = &w[0, 0, 0]
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    with nogil, parallel():
        work = <double*> malloc(nwork * sizeof(double))
        iwork = <int*> malloc(LF * sizeof(int))
        for j in prange(row_start, row_end, schedule="static"):
            if work == NULL or iwork == NULL:
                sp[3 * j] = 7
            else:
                code = _vrow(mp + j * ncol, qp + j * ncol, tstride, lstride, ntr, wp + j * ncol,
                             nlev, ncol, scheme, work, iwork, sp + 3 * j + 1, sp + 3 * j + 2, vp + j)
                sp[3 * j] = code
        free(work)
        free(iwork)
