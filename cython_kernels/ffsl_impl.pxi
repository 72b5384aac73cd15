"""Flux-form semi-Lagrangian advection of air and tracer mass (Lin & Rood 1996).

Kernels behind ``esm.transport.advection``; nothing here checks its arguments.

1-D operator (X: zonal, Y: meridional, Z: vertical)
    A 1-D flux-form update of air mass m and tracer mass q m by the face air fluxes F
    of the step: q_i' m_i' = q_i m_i + f_{i-1/2} - f_{i+1/2} with m_i' = m_i + F_{i-1/2} - F_{i+1/2},
    the tracer flux f being the integral of the reconstructed mixing ratio over the air
    that crosses the face. That air is the upstream cells' air taken in order: whole cells
    plus a fraction ``alpha`` of the next one ("integer shift plus fractional flux", Lin &
    Rood 1996, MWR 124, 2046, section 3), so zonal Courant numbers above 1 need no
    sub-stepping; the Courant number is the mass Courant number (share of the upstream
    cell's air that leaves). Air and tracer use the same fluxes and the same arithmetic,
    so q = 1 stays exactly 1; a new q is the mean of the reconstruction over the air that
    ends in the cell, so a bounded reconstruction gives a monotone update (Easter 1993,
    MWR 121, 297).

Reconstruction (PPM, Colella & Woodward 1984, JCP 54, 174)
    Edge values from six cell means (sixth-order interpolation of the cell-average
    primitive: Colella & Sekora 2008, JCP 227, eq. 17, the higher-order form of CW84 eq.
    1.6) in the horizontal; CW84's non-uniform fourth-order formula (eqs. 1.6-1.8) in the
    vertical, with the layer air masses as cell widths. Schemes: 0 = monotone (edges
    clamped between their neighbours, then CW84 eq. 1.10: parabolas flattened at extrema
    and steepened where they overshoot), 1 = unlimited (linear in q: for tangent-linear
    and adjoint use), 2 = first-order upwind (piecewise constant), 4 = positive definite.

Flux-corrected schemes (3 = FCT, 5 = EP)
    Per 1-D sweep, the CW84-monotone (low-order) and the unlimited PPM (high-order) fluxes
    are blended face by face with the Zalesak (1979, JCP 31, 335) limiter so that every new
    mixing ratio stays within a range: for FCT the range of the cell's and its two
    neighbours' old values and its low-order new value (no new local extrema). EP widens that
    range at smooth extrema (Colella & Sekora 2008, JCP 227, 7069, limiter at extrema: the cell
    and both neighbours have second differences of one strict sign) to the peak of the parabola
    with the limited second difference, and clips the widened part to the [min, max] of the
    level before the sweep: smooth peaks are not clipped (the error of the monotone schemes in
    the Lauritzen et al. 2012 tests), while no sweep leaves the level's range (no new global
    extrema) and discontinuities and plateaus keep Zalesak's local range. The vertical sweep
    of EP is the FCT one (local range; layers of unequal mass).

Horizontal step (``hadvect``), one level per thread (``prange`` over levels)
    ``order`` 1: X then Y, 2: Y then X (the caller alternates them, Strang 1968), 0: the
    average of both orderings, which is Lin & Rood's (1996, eq. 2.9) cross-term form in
    mass-flux variables: expanding (Y o X) gives their advective inner operator followed
    by the flux-form outer one; the outer Courant numbers here are relative to the
    intermediate air mass so that each half is a monotone 1-D update.

Poles and meridional sub-cycling
    The polar rows (j = 0 and nlat-1, cells touching the poles) are one polar cap each:
    their mixing ratio is the mass-weighted cap mean, zonal fluxes inside them only move
    (bookkeeping) air mass, and the meridional flux out of a cap carries the cap mean.
    Meridional sweeps are sub-cycled (n equal sub-steps of F/n per level) so that no cell,
    cap included, loses more air in a sub-step than it holds (see ``_y_nsub``).

Error codes per level (or row): 0 ok, 1 an air mass became non-positive (zonal sweep),
2 zonal Courant number beyond one full row, 3 meridional sub-cycles exceed the maximum,
4 an air mass became non-positive (meridional or vertical sweep), 5 non-positive input
air mass, 6 vertical flux takes more air than the column holds, 7 out of memory.
"""
from cython.parallel cimport prange, parallel, threadid
from libc.stdlib cimport malloc, free
from libc.math cimport fabs, ceil
from libc.string cimport memcpy, memset

cdef extern from *:
    # restrict-qualified pointers let the compiler vectorise the hot loops without run-time
    # alias checks (the arrays passed to these helpers never overlap)
    ctypedef double* dptr "double * __restrict__"
    ctypedef const double* cdptr "const double * __restrict__"

cdef extern from *:
    """
    #if defined(__GNUC__)
    #define ESM_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 2)
    #else
    #define ESM_PREFETCH(p) ((void)0)
    #endif
    """
    void ESM_PREFETCH(const void* p) nogil


cdef inline void _prefetch_row(const double* p, int n) noexcept nogil:
    """Ask for the cache lines of p[0 .. n-1] (software prefetch into L2; no effect on results)."""
    cdef int i
    if n <= 0:
        return
    for i in range(0, n, 8):
        ESM_PREFETCH(p + i)
    ESM_PREFETCH(p + n - 1)


cdef struct VPrefetch:
    # rows the vertical sweep asks for ahead of use: up to 6 arrays, row k of array e at
    # p[e] + k * s[e], n doubles per row, requested during pass (k + ps[e]) mod 4 (0: slopes,
    # 1: edges, 2: parabolas, 3: face fluxes) so that the requests are spread over the passes
    # (a burst of them fills the line-fill buffers and stalls the loop that issues them)
    const double* p[6]
    Py_ssize_t s[6]
    int ps[6]
    int np
    int n


cdef inline void _prefetch_level(const VPrefetch* pf, int k, int npass) noexcept nogil:
    cdef int e
    if pf == NULL:
        return
    for e in range(pf.np):
        if ((k + pf.ps[e]) & 3) == npass:
            _prefetch_row(pf.p[e] + k * pf.s[e], pf.n)


cdef enum:
    MONO = 0        # PPM with the CW84 monotonicity constraint
    LINEAR = 1      # unlimited PPM (linear in q)
    UPWIND = 2      # piecewise constant
    FCT = 3         # flux-corrected: CW84-monotone flux + limited (Zalesak 1979) unlimited-PPM correction
    POSITIVE = 4    # unlimited PPM, parabolas that dip below zero made monotone or flat
    EP = 5          # FCT as 3, Zalesak bounds widened at smooth extrema (Colella & Sekora 2008 test)

#: Colella & Sekora (2008, JCP 227, 7069, limiter at extrema): C = 1.25, the largest ratio
#: of neighbouring second differences still taken as a smooth extremum
DEF CS_C = 1.25

cdef extern from *:
    """
    #define ESM_TWO3 (2.0 / 3.0)
    #define ESM_INV60 (1.0 / 60.0)
    """
    const double TWO3 "ESM_TWO3"
    const double INV60 "ESM_INV60"


# ---------------------------------------------------------------------------------------
# 1-D reconstruction helpers (loops are written branch-free so that they vectorise)
# ---------------------------------------------------------------------------------------
cdef void _parabolas(cdptr q, cdptr el, cdptr er, int n, int scheme,
                     dptr pl, dptr pr, dptr p6) noexcept nogil:
    """Cell parabolas from edge values el[i] (left) and er[i] (right); CW84 eq. 1.10 if monotone,
    the positive-definite modification (see the POSITIVE branch) if positive."""
    cdef int i
    cdef double a, l, r, da, a6, l2, r2, sl, sr, dd, da6, pmin
    cdef bint ext, ovl, ovr, neg, neg2
    if scheme == MONO:
        # every candidate is computed before the selections, so the loop has no floating-point
        # operation under a condition and vectorises
        for i in range(n):
            a = q[i]
            l = el[i]
            r = er[i]
            ext = (r - a) * (a - l) <= 0.0
            da = r - l
            a6 = 6.0 * (a - 0.5 * (l + r))
            dd = da * da
            da6 = da * a6
            sl = 3.0 * a - 2.0 * r
            sr = 3.0 * a - 2.0 * l
            ovl = da6 > dd
            ovr = -dd > da6
            l2 = sl if ovl else l
            r2 = sr if ovr else r
            l = a if ext else l2
            r = a if ext else r2
            pl[i] = l
            pr[i] = r
            p6[i] = 6.0 * (a - 0.5 * (l + r))
    elif scheme == POSITIVE:
        # positive definite: a parabola whose minimum over the cell is negative (an edge, or an
        # interior minimum when a6 < 0 and |da| < |a6|) gets the CW84 eq. 1.10 modification;
        # if that is still negative somewhere it becomes the constant cell mean (>= 0)
        for i in range(n):
            a = q[i]
            l = el[i]
            r = er[i]
            da = r - l
            a6 = 6.0 * (a - 0.5 * (l + r))
            pmin = l + (da + a6) * (da + a6) / (4.0 * a6) if a6 < 0.0 else 0.0
            neg = (l < 0.0) | (r < 0.0) | ((a6 < 0.0) & (fabs(da) < -a6) & (pmin < 0.0))
            ext = (r - a) * (a - l) <= 0.0
            dd = da * da
            da6 = da * a6
            sl = 3.0 * a - 2.0 * r
            sr = 3.0 * a - 2.0 * l
            ovl = da6 > dd
            ovr = -dd > da6
            l2 = sl if ovl else l
            r2 = sr if ovr else r
            l2 = a if ext else l2
            r2 = a if ext else r2
            # the monotone parabola lies between its edges: negative only if an edge is
            neg2 = (l2 < 0.0) | (r2 < 0.0)
            l2 = a if neg2 else l2
            r2 = a if neg2 else r2
            l = l2 if neg else l
            r = r2 if neg else r
            pl[i] = l
            pr[i] = r
            p6[i] = 6.0 * (a - 0.5 * (l + r))
    else:
        for i in range(n):
            pl[i] = el[i]
            pr[i] = er[i]
            p6[i] = 6.0 * (q[i] - 0.5 * (el[i] + er[i]))


cdef inline double _cs_bulge(double qmm, double qm, double q, double qp, double qpp) noexcept nogil:
    """Signed bulge of a cell that is a smooth extremum (see ``_fct_limits``): +D2lim / 24 at a
    maximum, -D2lim / 24 at a minimum, else 0."""
    cdef double d2c = qm - 2.0 * q + qp
    cdef double d2l = qmm - 2.0 * qm + q
    cdef double d2r = q - 2.0 * qp + qpp
    cdef double d = fabs(d2c)
    cdef double w = CS_C * fabs(d2l)
    cdef bint sm = (d2c * d2l > 0.0) & (d2c * d2r > 0.0) & ((qp - q) * (q - qm) <= 0.0)
    d = w if w < d else d
    w = CS_C * fabs(d2r)
    d = w if w < d else d
    d = d * (1.0 / 24.0) if sm else 0.0
    return -d if d2c > 0.0 else d


cdef void _cs_bulges(cdptr qm2, cdptr qm1, cdptr q0, cdptr qp1, cdptr qp2, int n, dptr u) noexcept nogil:
    """``_cs_bulge`` of n cells (their two neighbours on each side as shifted arrays)."""
    cdef int i
    for i in range(n):
        u[i] = _cs_bulge(qm2[i], qm1[i], q0[i], qp1[i], qp2[i])


cdef void _fct_limits(cdptr qm, cdptr q0, cdptr qp, cdptr qtd, cdptr ain, cdptr aout, cdptr mnew, int n,
                      dptr rp, dptr rm, const double* ub0=NULL, Py_ssize_t us=0, const double* gmn=NULL,
                      const double* gmx=NULL) noexcept nogil:
    """Zalesak (1979, JCP 31, 335, eqs. 7-12) for n cells of a 1-D sweep: the shares R+ (rp) and
    R- (rm) of the antidiffusive fluxes into / out of each cell that keep its new mixing ratio
    within the range of its old value, its two neighbours' (qm, qp) and its low-order new value
    qtd. ain/aout: antidiffusive air-weighted tracer flux through the cell's lower/upper face
    (positive towards the upper face); mnew: the cell's new air.

    Scheme EP passes ``ub0``, the signed bulges (``_cs_bulge``) of the n cells, laid out like q0
    with ``us`` the element distance between neighbouring cells of the sweep (ub0 - us and
    ub0 + us hold the bulges of the cells i-1 and i+1). The contribution of each of the cells i-1,
    i, i+1 that is a
    smooth extremum is then widened to the extreme value of the parabola with that cell's mean
    and the limited second difference: a cell is a smooth extremum when (q+ - q)(q - q-) <= 0
    and its second difference D2c = q- - 2q + q+ has the same strict sign as its neighbours'
    D2L, D2R (Colella & Sekora 2008, JCP 227, 7069, limiter at extrema, their C = 1.25;
    Sekora & Colella 2009, arXiv:0903.4200, suggest FCT to make such limiters bounded); then
    D2lim = min(|D2c|, C |D2L|, C |D2R|), and a parabola of mean q and second difference
    -D2lim peaks at q + D2lim / 24 (the mean of p0 - D x^2 / 2 over a unit cell is p0 - D / 24),
    which bounds the mean of every cell-wide window of that parabola. At a discontinuity or a
    plateau a second difference is zero or changes sign and the bounds are Zalesak's. The widened
    bounds are finally clipped to [gmn[0], gmx[0]] (EP: the min and max of the whole level before
    the sweep), so no sweep creates a value outside the level's range.
    """
    cdef int i
    cdef double a, b, c, t, hi, lo, x, y, pp, pm, qpl, qmi, ua, ub, uc, gh, gl
    cdef cdptr um
    cdef cdptr uu
    cdef cdptr up
    if ub0 == NULL:
        for i in range(n):
            a = qm[i]
            b = q0[i]
            c = qp[i]
            t = qtd[i]
            hi = a if a > b else b
            hi = hi if hi > c else c
            hi = hi if hi > t else t
            lo = a if a < b else b
            lo = lo if lo < c else c
            lo = lo if lo < t else t
            x = ain[i]
            y = aout[i]
            pp = (x if x > 0.0 else 0.0) - (y if y < 0.0 else 0.0)
            pm = (y if y > 0.0 else 0.0) - (x if x < 0.0 else 0.0)
            qpl = (hi - t) * mnew[i]
            qmi = (t - lo) * mnew[i]
            rp[i] = 1.0 if pp <= qpl else qpl / pp
            rm[i] = 1.0 if pm <= qmi else qmi / pm
        return
    um = ub0 - us
    uu = ub0
    up = ub0 + us
    gh = gmx[0]
    gl = gmn[0]
    for i in range(n):
        a = qm[i]
        b = q0[i]
        c = qp[i]
        t = qtd[i]
        ua = um[i]
        ub = uu[i]
        uc = up[i]
        # upper bound: the largest of the (widened, line-range-clipped) means and the low-order value
        x = a + ua if ua > 0.0 else a
        x = gh if (ua > 0.0) & (x > gh) else x
        hi = x if x > t else t
        x = b + ub if ub > 0.0 else b
        x = gh if (ub > 0.0) & (x > gh) else x
        hi = x if x > hi else hi
        x = c + uc if uc > 0.0 else c
        x = gh if (uc > 0.0) & (x > gh) else x
        hi = x if x > hi else hi
        x = a + ua if ua < 0.0 else a
        x = gl if (ua < 0.0) & (x < gl) else x
        lo = x if x < t else t
        x = b + ub if ub < 0.0 else b
        x = gl if (ub < 0.0) & (x < gl) else x
        lo = x if x < lo else lo
        x = c + uc if uc < 0.0 else c
        x = gl if (uc < 0.0) & (x < gl) else x
        lo = x if x < lo else lo
        x = ain[i]
        y = aout[i]
        pp = (x if x > 0.0 else 0.0) - (y if y < 0.0 else 0.0)
        pm = (y if y > 0.0 else 0.0) - (x if x < 0.0 else 0.0)
        qpl = (hi - t) * mnew[i]
        qmi = (t - lo) * mnew[i]
        rp[i] = 1.0 if pp <= qpl else qpl / pp
        rm[i] = 1.0 if pm <= qmi else qmi / pm


cdef void _fct_fluxes(cdptr fl, cdptr fh, cdptr rpl, cdptr rml, cdptr rpu, cdptr rmu, int n,
                      dptr f) noexcept nogil:
    """Limited fluxes f = fL + C (fH - fL) through n faces, C = min(R+ of the cell the correction
    enters, R- of the one it leaves) (Zalesak 1979, eq. 13); l/u: the cells below/above the face."""
    cdef int i
    cdef double a, c1, c2, x, y, u, v
    for i in range(n):
        a = fh[i] - fl[i]
        x = rpu[i]
        y = rml[i]
        u = rpl[i]
        v = rmu[i]
        c1 = x if x < y else y
        c2 = u if u < v else v
        f[i] = fl[i] + (c1 if a >= 0.0 else c2) * a


cdef void _clamp_edges(cdptr e, cdptr qm1, cdptr qp1, int n, dptr ec) noexcept nogil:
    """Edge values clamped between the two cells of each face (the monotone edges)."""
    cdef int i
    cdef double v, lo, hi, a, b
    for i in range(n):
        a = qm1[i]
        b = qp1[i]
        v = e[i]
        lo = a if a < b else b
        hi = b if a < b else a
        v = lo if v < lo else v
        v = hi if v > hi else v
        ec[i] = v


cdef void _edges6(cdptr qm3, cdptr qm2, cdptr qm1, cdptr qp1,
                  cdptr qp2, cdptr qp3, int n, int scheme, dptr e) noexcept nogil:
    """Sixth-order edge values between the cells m1 and p1 of n faces (arrays aligned per
    face); clamped between m1 and p1 when monotone."""
    cdef int i
    cdef double v, lo, hi, a, b
    if scheme == MONO:
        for i in range(n):
            a = qm1[i]
            b = qp1[i]
            v = (37.0 * (a + b) - 8.0 * (qm2[i] + qp2[i]) + (qm3[i] + qp3[i])) * INV60
            lo = a if a < b else b
            hi = b if a < b else a
            v = lo if v < lo else v
            v = hi if v > hi else v
            e[i] = v
    else:
        for i in range(n):
            e[i] = (37.0 * (qm1[i] + qp1[i]) - 8.0 * (qm2[i] + qp2[i]) + (qm3[i] + qp3[i])) * INV60


cdef void _face_fluxes(cdptr rs, cdptr hh, cdptr gg, cdptr plw, cdptr prw, cdptr p6w,
                       cdptr ple, cdptr pre, cdptr p6e, int n, dptr fl) noexcept nogil:
    """Tracer flux through n faces with less than one cell of air crossing: the mean of the
    west/south/lower cell's parabola over its downstream fraction ``alp`` (flow >= 0) or of
    the east/north/upper cell's over its upstream fraction, times the air moved.

    The face geometry comes precomputed by ``_face_coefs`` (shared by every tracer): ``rs`` the
    air moved with the sign of the flow (+|f| or -|f|), ``hh`` = alp/2, ``gg`` = 1 - 2 alp/3.
    Written with the upstream cell's near edge (at the face), far edge and curvature term
    selected first: fl = rs (near + alp/2 ((far - near) + (1 - 2 alp/3) p6)); multiplying by
    -|f| gives exactly the negated product, so the result is the same to the bit as applying
    the sign after the product."""
    cdef int i
    cdef double near, far, c6, r, x1, x2, y1, y2, z1, z2
    cdef bint pos
    for i in range(n):
        # both candidates are loaded unconditionally so that the selections become blends
        x1 = prw[i]
        x2 = ple[i]
        y1 = plw[i]
        y2 = pre[i]
        z1 = p6w[i]
        z2 = p6e[i]
        r = rs[i]
        pos = r >= 0.0
        near = x1 if pos else x2
        far = y1 if pos else y2
        c6 = z1 if pos else z2
        fl[i] = r * (near + hh[i] * ((far - near) + gg[i] * c6))


cdef void _face_coefs(cdptr f, cdptr rem, cdptr alp, int n, dptr rs, dptr hh, dptr gg) noexcept nogil:
    """Per-face factors of ``_face_fluxes`` computed once for all tracers: rs = +rem (f >= 0)
    or -rem, hh = 0.5 alp, gg = 1 - (2/3) alp (the same operations the per-tracer formula
    used, so the fluxes are bit-identical)."""
    cdef int i
    cdef double a, r
    for i in range(n):
        a = alp[i]
        r = rem[i]
        rs[i] = r if f[i] >= 0.0 else -r
        hh[i] = 0.5 * a
        gg[i] = 1.0 - TWO3 * a


cdef void _update(dptr q, cdptr m, cdptr flin, cdptr flout, cdptr mnew, int n) noexcept nogil:
    """q' = (q m + f_in - f_out) / m' for n cells."""
    cdef int i
    for i in range(n):
        q[i] = (q[i] * m[i] + flin[i] - flout[i]) / mnew[i]


cdef void _update_to(cdptr q, cdptr m, cdptr flin, cdptr flout, cdptr rinv, int n, dptr qd) noexcept nogil:
    """qd = (q m + f_in - f_out) / m' for n cells, with rinv = 1/m' (shared by the tracers)."""
    cdef int i
    for i in range(n):
        qd[i] = (q[i] * m[i] + flin[i] - flout[i]) * rinv[i]


cdef void _reciprocal(cdptr x, int n, dptr r) noexcept nogil:
    cdef int i
    for i in range(n):
        r[i] = 1.0 / x[i]


cdef inline double _avg_right(double al, double ar, double a6, double alpha) noexcept nogil:
    """Mean of the parabola over the right (east/north/upper) fraction alpha of the cell."""
    return ar - 0.5 * alpha * ((ar - al) - (1.0 - TWO3 * alpha) * a6)


cdef inline double _avg_left(double al, double ar, double a6, double alpha) noexcept nogil:
    """Mean of the parabola over the left (west/south/lower) fraction alpha of the cell."""
    return al + 0.5 * alpha * ((ar - al) + (1.0 - TWO3 * alpha) * a6)



# ---------------------------------------------------------------------------------------
# zonal sweep (periodic rows, integer shift + fractional flux)
# ---------------------------------------------------------------------------------------
cdef int _x_row_geometry(const double* mr, const double* fr, double scale, int nlon, int j,
                         double* fa, double* rem, double* alp, int* nw, double* mnew, double* mh,
                         int* nwalk_out, int* ej, int* ei, double* ev, double* frs, double* fhh,
                         double* fgg) noexcept nogil:
    """Departure geometry of the west faces of one row: air moved ``fa``, whole cells crossed
    (``nw``: pairs (face, count) for the ``nwalk_out`` faces where whole cells cross), remainder
    ``rem`` and its fraction ``alp`` of the partial cell; new air ``mnew``.

    ``fa`` is the sum of whole cells plus the remainder (the same sum the tracer flux uses,
    so q = 1 stays exactly 1). ``fa`` has nlon + 1 entries (the last repeats the first).
    ``frs``/``fhh``/``fgg``: the per-face factors of ``_face_fluxes`` (``_face_coefs``).
    """
    cdef int i, c, cnt, nwalk
    cdef long long nwalk64 = 0, nbad = 0
    cdef double f, r, s, up, af, x, y
    mh[0] = mr[nlon - 1]
    memcpy(mh + 1, mr, nlon * sizeof(double))
    nwalk = 0
    for i in range(nlon):
        f = fr[i] * scale
        af = fabs(f)
        x = mh[i]
        y = mh[i + 1]
        up = x if f >= 0.0 else y
        fa[i] = f
        rem[i] = af
        alp[i] = af / up
        nwalk64 += af > up
        nbad += not (y > 0.0)          # cell i's air (mh[i + 1] = mr[i]) must be positive
    # (the loop above only fills the row scratch, so checking after it reports the same as before)
    if nbad:
        for i in range(nlon):
            if not (mr[i] > 0.0):
                ej[0] = j; ei[0] = i; ev[0] = mr[i]
                return 5
    nwalk = 0
    if nwalk64 > 0:
        for i in range(nlon):
            f = fa[i]
            af = fabs(f)
            up = mh[i] if f >= 0.0 else mh[i + 1]
            if not (af > up):
                continue
            cnt = 0
            s = 0.0
            r = af
            if f >= 0.0:
                c = i - 1 if i > 0 else nlon - 1
                while r > mr[c]:
                    r -= mr[c]
                    s += mr[c]
                    cnt += 1
                    c = c - 1 if c > 0 else nlon - 1
                    if cnt >= nlon:
                        ej[0] = j; ei[0] = i; ev[0] = f / mr[i]
                        return 2
                fa[i] = s + r
            else:
                c = i
                while r > mr[c]:
                    r -= mr[c]
                    s += mr[c]
                    cnt += 1
                    c = c + 1 if c < nlon - 1 else 0
                    if cnt >= nlon:
                        ej[0] = j; ei[0] = i; ev[0] = f / mr[i]
                        return 2
                fa[i] = -(s + r)
            rem[i] = r
            alp[i] = r / mr[c]
            nw[2 * nwalk] = i           # list of the faces with whole cells crossing
            nw[2 * nwalk + 1] = cnt
            nwalk += 1
    nwalk_out[0] = nwalk
    _face_coefs(fa, rem, alp, nlon, frs, fhh, fgg)
    fa[nlon] = fa[0]
    if _mass_update_count(mr, fa, fa + 1, nlon, mnew):
        for i in range(nlon):
            if not (mnew[i] > 0.0):
                ej[0] = j; ei[0] = i
                ev[0] = mnew[i] / mr[i]
                return 1
    return 0


cdef Py_ssize_t _count_nonpositive(cdptr x, Py_ssize_t n) noexcept nogil:
    """How many of the n values are not > 0 (NaN included); a branch-free, vectorisable count
    (64-bit counter: the same width as the doubles compared)."""
    cdef Py_ssize_t i
    cdef long long c = 0
    for i in range(n):
        c += not (x[i] > 0.0)
    return c


cdef Py_ssize_t _mass_update_count(cdptr m, cdptr fin, cdptr fout, int n, dptr mnew) noexcept nogil:
    """``_mass_update`` that also returns ``_count_nonpositive`` of the new air (one pass)."""
    cdef int i
    cdef long long c = 0
    cdef double v
    for i in range(n):
        v = m[i] + fin[i] - fout[i]
        mnew[i] = v
        c += not (v > 0.0)
    return c


cdef void _mass_update(cdptr m, cdptr fin, cdptr fout, int n, dptr mnew) noexcept nogil:
    """mnew = m + f_in - f_out for n cells."""
    cdef int i
    for i in range(n):
        mnew[i] = m[i] + fin[i] - fout[i]


cdef void _x_row_flux(cdptr mr, cdptr qr, int nlon, int scheme, cdptr fa, cdptr rem, cdptr alp,
                      const int* nw, int nwalk, const double* qe, dptr ae, dptr pl, dptr pr, dptr p6,
                      dptr fl, cdptr frs, cdptr fhh, cdptr fgg) noexcept nogil:
    """Tracer fluxes through the nlon + 1 west faces of one row (the last repeats the first)
    with the reconstruction ``scheme`` (MONO, LINEAR, UPWIND or POSITIVE); ``qe`` holds the
    row with three halo cells on each side.

    Parabola arrays carry one halo cell: index c + 1 holds cell c (0 = cell nlon-1,
    nlon + 1 = cell 0), so face i sits between pl/pr/p6[i] (west) and [i + 1] (east).
    ``qe`` NULL (nlon >= 8): the edges of faces 3 .. nlon-3 are read from ``qr`` itself and only
    the three faces at each end of the row from a 16-cell halo copy (no copy of the whole row).
    """
    cdef int i, c, w, cnt, k
    cdef double s, f, a
    cdef double hb[16]
    if scheme == UPWIND:
        memcpy(pl + 1, qr, nlon * sizeof(double))
        memcpy(pr + 1, qr, nlon * sizeof(double))
        memset(p6 + 1, 0, nlon * sizeof(double))
    else:
        # edge at the west face of cell i (i = 0 .. nlon): cells i-3 .. i+2 = qe[i] .. qe[i+5]
        if qe != NULL:
            _edges6(qe, qe + 1, qe + 2, qe + 3, qe + 4, qe + 5, nlon + 1, scheme, ae)
        else:
            # faces 3 .. nlon-3 from the row; faces 0..2 from cells -3..4 (hb[0..7]) and faces
            # nlon-2..nlon from cells nlon-5..nlon+2 (hb[8..15])
            _edges6(qr, qr + 1, qr + 2, qr + 3, qr + 4, qr + 5, nlon - 5, scheme, ae + 3)
            for k in range(3):
                hb[k] = qr[nlon - 3 + k]
                hb[13 + k] = qr[k]
            for k in range(5):
                hb[3 + k] = qr[k]
                hb[8 + k] = qr[nlon - 5 + k]
            _edges6(hb, hb + 1, hb + 2, hb + 3, hb + 4, hb + 5, 3, scheme, ae)
            _edges6(hb + 8, hb + 9, hb + 10, hb + 11, hb + 12, hb + 13, 3, scheme, ae + nlon - 2)
        _parabolas(qr, ae, ae + 1, nlon, scheme, pl + 1, pr + 1, p6 + 1)
    pl[0] = pl[nlon]
    pr[0] = pr[nlon]
    p6[0] = p6[nlon]
    pl[nlon + 1] = pl[1]
    pr[nlon + 1] = pr[1]
    p6[nlon + 1] = p6[1]
    _face_fluxes(frs, fhh, fgg, pl, pr, p6, pl + 1, pr + 1, p6 + 1, nlon, fl)
    for k in range(nwalk):
        i = nw[2 * k]
        cnt = nw[2 * k + 1]
        f = fa[i]
        a = alp[i]
        s = 0.0
        if f >= 0.0:
            c = i - 1 if i > 0 else nlon - 1
            for w in range(cnt):
                s += qr[c] * mr[c]
                c = c - 1 if c > 0 else nlon - 1
            fl[i] = s + rem[i] * _avg_right(pl[c + 1], pr[c + 1], p6[c + 1], a)
        else:
            c = i
            for w in range(cnt):
                s += qr[c] * mr[c]
                c = c + 1 if c < nlon - 1 else 0
            fl[i] = -(s + rem[i] * _avg_left(pl[c + 1], pr[c + 1], p6[c + 1], a))
    fl[nlon] = fl[0]


cdef void _x_row_tracer(cdptr mr, cdptr md, cdptr rinv, cdptr qr, dptr qd, int nlon, int scheme,
                        cdptr fa, cdptr rem, cdptr alp, const int* nw, int nwalk,
                        dptr qe, dptr ae, dptr pl, dptr pr, dptr p6, dptr fl, double* fx,
                        cdptr frs, cdptr fhh, cdptr fgg, const double* grange=NULL) noexcept nogil:
    """Zonal flux-form update of one row of one tracer: ``qr`` (old) -> ``qd`` (new). ``fx``:
    scratch of 6 rows for the flux-corrected schemes; ``grange``: (min, max) of the tracer on the
    level before the sweep (scheme EP)."""
    cdef int k
    cdef Py_ssize_t R = nlon + 8
    cdef double* fh
    cdef double* qtd
    cdef double* rp
    cdef double* rm
    if scheme != FCT and scheme != EP and nlon >= 8:
        _x_row_flux(mr, qr, nlon, scheme, fa, rem, alp, nw, nwalk, NULL, ae, pl, pr, p6, fl, frs, fhh, fgg)
        _update_to(qr, mr, fl, fl + 1, rinv, nlon, qd)
        return
    memcpy(qe + 3, qr, nlon * sizeof(double))
    for k in range(3):
        qe[k] = qr[nlon - 3 + k]
        qe[nlon + 3 + k] = qr[k]
    if scheme != FCT and scheme != EP:
        _x_row_flux(mr, qr, nlon, scheme, fa, rem, alp, nw, nwalk, qe, ae, pl, pr, p6, fl, frs, fhh, fgg)
        _update_to(qr, mr, fl, fl + 1, rinv, nlon, qd)
        return
    # flux-corrected: monotone low-order flux, unlimited PPM high-order flux
    fh = fx
    qtd = fx + R
    rp = fx + 2 * R          # rp/rm: one halo cell each side (index c + 1 holds cell c)
    rm = fx + 3 * R
    _x_row_flux(mr, qr, nlon, MONO, fa, rem, alp, nw, nwalk, qe, ae, pl, pr, p6, fl, frs, fhh, fgg)
    _x_row_flux(mr, qr, nlon, LINEAR, fa, rem, alp, nw, nwalk, qe, ae, pl, pr, p6, fh, frs, fhh, fgg)
    _update_to(qr, mr, fl, fl + 1, rinv, nlon, qtd)
    # antidiffusive fluxes into (west face) and out of (east face) each cell, in fx + 4 R
    for k in range(nlon + 1):
        fx[4 * R + k] = fh[k] - fl[k]
    if scheme == EP:
        # bulges of cells -1 .. nlon (qe[c + 3] holds cell c) into fx + 5 R (+1: cell 0)
        _cs_bulges(qe, qe + 1, qe + 2, qe + 3, qe + 4, nlon + 2, fx + 5 * R)
        _fct_limits(qe + 2, qe + 3, qe + 4, qtd, fx + 4 * R, fx + 4 * R + 1, md, nlon, rp + 1, rm + 1,
                    fx + 5 * R + 1, 1, grange, grange + 1)
    else:
        _fct_limits(qe + 2, qe + 3, qe + 4, qtd, fx + 4 * R, fx + 4 * R + 1, md, nlon, rp + 1, rm + 1)
    rp[0] = rp[nlon]
    rm[0] = rm[nlon]
    rp[nlon + 1] = rp[1]
    rm[nlon + 1] = rm[1]
    # face i lies between cell i-1 (rp/rm[i]) and cell i (rp/rm[i + 1]); result into fh
    _fct_fluxes(fl, fh, rp, rm, rp + 1, rm + 1, nlon, qtd)      # the limited fluxes, into qtd
    qtd[nlon] = qtd[0]
    _update_to(qr, mr, qtd, qtd + 1, rinv, nlon, qd)


cdef void _level_range(const double* q, Py_ssize_t n, double* g) noexcept nogil:
    """g[0], g[1] = min, max of q[0 .. n-1]."""
    cdef Py_ssize_t i
    cdef double lo = q[0], hi = q[0], v
    for i in range(1, n):
        v = q[i]
        lo = v if v < lo else lo
        hi = v if v > hi else hi
    g[0] = lo
    g[1] = hi


cdef struct HWork:
    # row scratch of the zonal sweep (nlon + 8 each)
    double* fa
    double* rem
    double* alp
    double* fl
    double* ae
    double* pl
    double* pr
    double* p6
    double* qe
    double* mh
    double* rinv
    double* xfct       # 6 rows for the flux-corrected schemes
    double* frs        # per-face factors of _face_fluxes (zonal or meridional row, see _face_coefs)
    double* fhh
    double* fgg
    double* grange     # EP: (min, max) per tracer of the level before the sweep (2 ntr)
    int* nw
    long long ynonpos  # non-positive interior new air masses of the last _y_pass
    # meridional sweep: face-row geometry (nlon each) and per-tracer rings of rows
    double* yf
    double* yrem
    double* yalp
    double* ring       # ntr * YRING * nlon
    double* caps       # 4 * ntr
    # flux-corrected meridional sweep: level arrays (only for that scheme)
    double* yfl
    double* yfh
    double* yA
    double* yqtd
    double* yrp
    double* yrm
    double* yub        # EP: bulges of the level's cells
    # level buffers: (m, q) sets T, A, B (A and B only for order 0)
    double* mT
    double* qT
    double* mA
    double* qA
    double* mB
    double* qB


#: rows per tracer in the meridional ring: edges (2), pl/pr/p6 (2 each), fluxes (2)
DEF YRING = 10


cdef int _x_pass(const double* ms, double* md, const double* qs, Py_ssize_t qss, double* qd, Py_ssize_t qds,
                 int ntr, const double* fx, double scale, int nlat, int nlon, int scheme, HWork* w,
                 int* ej, int* ei, double* ev) noexcept nogil:
    """Zonal sweep of air (``ms`` -> ``md``) and every tracer (``qs`` -> ``qd``, tracer
    strides ``qss``/``qds``), row by row with the row geometry shared by the tracers. In the
    polar caps the zonal fluxes only move (bookkeeping) air; their mixing ratio is copied."""
    cdef int t, code, j, i, nwalk
    cdef Py_ssize_t o
    if scheme == EP:
        for t in range(ntr):
            _level_range(qs + t * qss, <Py_ssize_t> nlat * nlon, w.grange + 2 * t)
    for j in range(nlat):
        o = <Py_ssize_t> j * nlon
        if j == 0 or j == nlat - 1:
            for i in range(nlon - 1):
                md[o + i] = ms[o + i] + fx[o + i] * scale - fx[o + i + 1] * scale
            md[o + nlon - 1] = ms[o + nlon - 1] + fx[o + nlon - 1] * scale - fx[o] * scale
            for t in range(ntr):
                memcpy(qd + t * qds + o, qs + t * qss + o, nlon * sizeof(double))
            continue
        code = _x_row_geometry(ms + o, fx + o, scale, nlon, j, w.fa, w.rem, w.alp, w.nw, md + o, w.mh,
                               &nwalk, ej, ei, ev, w.frs, w.fhh, w.fgg)
        if code != 0:
            return code
        _reciprocal(md + o, nlon, w.rinv)
        for t in range(ntr):
            _x_row_tracer(ms + o, md + o, w.rinv, qs + t * qss + o, qd + t * qds + o, nlon, scheme, w.fa,
                          w.rem, w.alp, w.nw, nwalk, w.qe, w.ae, w.pl, w.pr, w.p6, w.fl, w.xfct,
                          w.frs, w.fhh, w.fgg, w.grange + 2 * t)
    return 0


# ---------------------------------------------------------------------------------------
# meridional sweep (polar caps, sub-cycled)
# ---------------------------------------------------------------------------------------
cdef bint _y_one_substep(const double* m, const double* fy, double scale, int nlat, int nlon) noexcept nogil:
    """True when one meridional step keeps every non-cap cell's outflow below its air and its
    inflow below its new air, all air positive (the common case, checked branch-free); then
    ``_y_nsub`` only has the caps left to examine."""
    cdef int j, i
    cdef long long bad = 0
    cdef Py_ssize_t o
    cdef double fs, fn, fin, fout, m0, m1
    for j in range(1, nlat - 1):
        o = <Py_ssize_t> j * nlon
        for i in range(nlon):
            fs = fy[o + i] * scale
            fn = fy[o + nlon + i] * scale
            fin = (fs if fs > 0.0 else 0.0) + (-fn if fn < 0.0 else 0.0)
            fout = (-fs if fs < 0.0 else 0.0) + (fn if fn > 0.0 else 0.0)
            m0 = m[o + i]
            m1 = m0 + fin - fout
            bad += (not (fout <= m0)) | (not (fin <= m1)) | (not (m0 > 0.0)) | (not (m1 > 0.0))
    return bad == 0


cdef int _y_nsub(const double* m, const double* fy, double scale, int nlat, int nlon, int max_sub,
                 int* nsub, int* ej, int* ei, double* ev) noexcept nogil:
    """Number of equal meridional sub-steps so that no cell loses more air than it holds.

    With sub-fluxes F/n a cell's air mass changes linearly over the sub-steps, so every
    sub-step's outflow stays below the cell's air when out/n <= m_start and in/n <= m_end
    (the conditions at the first and the last sub-step).
    """
    cdef int j, i, jmax = -1, imax = -1
    cdef double fin, fout, m0, m1, ratio, rmax = 0.0
    cdef double fs, fn
    cdef Py_ssize_t o
    cdef bint fast = _y_one_substep(m, fy, scale, nlat, nlon)
    for j in range(nlat):
        o = <Py_ssize_t> j * nlon
        if j == 0 or j == nlat - 1:
            fin = 0.0
            fout = 0.0
            m0 = 0.0
            for i in range(nlon):
                m0 += m[o + i]
                if j == 0:
                    fn = fy[nlon + i] * scale
                    if fn > 0.0:
                        fout += fn
                    else:
                        fin -= fn
                else:
                    fs = fy[o + i] * scale
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
        if fast:
            continue
        for i in range(nlon):
            fs = fy[o + i] * scale
            fn = fy[o + nlon + i] * scale
            fin = (fs if fs > 0.0 else 0.0) + (-fn if fn < 0.0 else 0.0)
            fout = (-fs if fs < 0.0 else 0.0) + (fn if fn > 0.0 else 0.0)
            m0 = m[o + i]
            m1 = m0 + fin - fout
            if not (m0 > 0.0) or not (m1 > 0.0):
                ej[0] = j; ei[0] = i; ev[0] = m1
                return 4
            # divide only when this cell may raise the maximum ratio
            if fout > rmax * m0 or fin > rmax * m1:
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


cdef bint _y_caps_one(const double* m, const double* fy, double scale, int nlat, int nlon) noexcept nogil:
    """True when the polar caps alone give ``_y_nsub`` one sub-step without error: the caps'
    part of ``_y_nsub`` (the same sums and ratios), positive air before and after, largest
    ratio <= 1. With the interior test of ``_y_one_substep`` also passing, ``_y_nsub`` returns
    one sub-step."""
    cdef int r, j, i
    cdef double fin, fout, m0, m1, ratio, rmax = 0.0, fs, fn
    cdef Py_ssize_t o
    for r in range(2):
        j = 0 if r == 0 else nlat - 1
        o = <Py_ssize_t> j * nlon
        fin = 0.0
        fout = 0.0
        m0 = 0.0
        for i in range(nlon):
            m0 += m[o + i]
            if j == 0:
                fn = fy[nlon + i] * scale
                if fn > 0.0:
                    fout += fn
                else:
                    fin -= fn
            else:
                fs = fy[o + i] * scale
                if fs < 0.0:
                    fout -= fs
                else:
                    fin += fs
        m1 = m0 + fin - fout
        if not (m0 > 0.0) or not (m1 > 0.0):
            return False
        ratio = fout / m0
        if fin / m1 > ratio:
            ratio = fin / m1
        if ratio > rmax:
            rmax = ratio
    return rmax <= 1.0


cdef void _y_face_geometry(cdptr fy, double sc, cdptr mlo, cdptr mhi, int n, int kind,
                           dptr f, dptr ra, dptr alp, dptr frs, dptr fhh, dptr fgg) noexcept nogil:
    """Air moved through one row of meridional faces (f), its size (ra) and the fraction of the
    upstream cell it takes (alp <= 1). kind 0: interior (and the factors of ``_face_fluxes``,
    ``_face_coefs``); 1: the face above the south cap (the cap's outflow carries the cap mean,
    alp unused); 2: the face below the north cap."""
    cdef int i
    cdef double x, a, up, lo, hi
    for i in range(n):
        x = fy[i] * sc
        f[i] = x
        ra[i] = fabs(x)
    if kind == 0:
        for i in range(n):
            x = f[i]
            lo = mlo[i]
            hi = mhi[i]
            up = lo if x >= 0.0 else hi
            a = fabs(x) / up
            alp[i] = a if a < 1.0 else 1.0
        _face_coefs(f, ra, alp, n, frs, fhh, fgg)
    elif kind == 1:
        for i in range(n):
            x = f[i]
            a = -x / mhi[i] if x < 0.0 else 0.0
            alp[i] = a if a < 1.0 else 1.0
    else:
        for i in range(n):
            x = f[i]
            a = x / mlo[i] if x >= 0.0 else 0.0
            alp[i] = a if a < 1.0 else 1.0


cdef inline void _y_edge(const double* qt, int j, int nlat, int nlon, int scheme, double* e) noexcept nogil:
    """Edge values at meridional face j (rows j-3 .. j+2; rows beyond the caps repeat the cap)."""
    cdef int jm3 = j - 3 if j >= 3 else 0
    cdef int jm2 = j - 2 if j >= 2 else 0
    cdef int jp1 = j + 1 if j + 1 < nlat else nlat - 1
    cdef int jp2 = j + 2 if j + 2 < nlat else nlat - 1
    _edges6(qt + jm3 * nlon, qt + jm2 * nlon, qt + (j - 1) * nlon, qt + j * nlon, qt + jp1 * nlon,
            qt + jp2 * nlon, nlon, scheme, e)


cdef void _yrow_mono(cdptr qm3, cdptr qm2, cdptr qm1, cdptr qp1, cdptr qp2, cdptr qp3, cdptr el, dptr eh,
                     cdptr plw, cdptr prw, cdptr p6w, dptr ple, dptr pre, dptr p6e, cdptr frs, cdptr fhh,
                     cdptr fgg, cdptr flw, dptr fle, cdptr qu, cdptr mu, cdptr rinv, dptr qdu,
                     int n) noexcept nogil:
    """One interior face row r of the monotone meridional sweep for one tracer, fused: the edge
    at face r+1 (``_edges6``, rows r-2 .. r+3 = qm3 .. qp3, the row's own cells qm1 = row r),
    the parabola of row r (``_parabolas``, edges el = face r and eh = face r+1), the flux
    through face r (``_face_fluxes``, parabola plw/prw/p6w of row r-1) and the update of row
    r-1 (``_update_to``: qu -> qdu with the fluxes flw = face r-1 and fle = face r). The same
    operations in the same order as those helpers (bit-identical), in one pass over the row."""
    cdef int i
    cdef double a, b, v, lo, hi, l, r, da, a6, dd, da6, sl, sr, l2, r2, x1, y1, z1, rr, near, far, c6, f
    cdef bint ext, ovl, ovr, pos
    for i in range(n):
        # edge at face r+1 (sixth order), clamped
        a = qm1[i]
        b = qp1[i]
        v = (37.0 * (a + b) - 8.0 * (qm2[i] + qp2[i]) + (qm3[i] + qp3[i])) * INV60
        lo = a if a < b else b
        hi = b if a < b else a
        v = lo if v < lo else v
        v = hi if v > hi else v
        eh[i] = v
        # parabola of row r (CW84 eq. 1.10)
        l = el[i]
        r = v
        ext = (r - a) * (a - l) <= 0.0
        da = r - l
        a6 = 6.0 * (a - 0.5 * (l + r))
        dd = da * da
        da6 = da * a6
        sl = 3.0 * a - 2.0 * r
        sr = 3.0 * a - 2.0 * l
        ovl = da6 > dd
        ovr = -dd > da6
        l2 = sl if ovl else l
        r2 = sr if ovr else r
        l = a if ext else l2
        r = a if ext else r2
        a6 = 6.0 * (a - 0.5 * (l + r))
        ple[i] = l
        pre[i] = r
        p6e[i] = a6
        # flux through face r
        x1 = prw[i]
        y1 = plw[i]
        z1 = p6w[i]
        rr = frs[i]
        pos = rr >= 0.0
        near = x1 if pos else l
        far = y1 if pos else r
        c6 = z1 if pos else a6
        f = rr * (near + fhh[i] * ((far - near) + fgg[i] * c6))
        fle[i] = f
        # row r-1 is complete
        qdu[i] = (qu[i] * mu[i] + flw[i] - f) * rinv[i]


cdef long long _y_mass_row(cdptr ms, cdptr fys, cdptr fyn, double sc, int n, dptr md, dptr rinv,
                           bint check, long long* nonpos) noexcept nogil:
    """New air of an interior row of the meridional sweep, md = ms + fy_south sc - fy_north sc,
    and its reciprocal (the operations of the level-wide pass and ``_reciprocal``), computed when
    the row's update comes instead of in a separate pass over the level. With ``check``: returns
    how many cells fail ``_y_one_substep``'s test (the same expressions), else 0. Adds to ``nonpos``
    how many new air masses are not positive."""
    cdef int i
    cdef long long bad = 0, c = 0
    cdef double v, fs, fn, fin, fout, m0, m1
    if check:
        for i in range(n):
            m0 = ms[i]
            fs = fys[i] * sc
            fn = fyn[i] * sc
            v = m0 + fs - fn
            md[i] = v
            rinv[i] = 1.0 / v
            fin = (fs if fs > 0.0 else 0.0) + (-fn if fn < 0.0 else 0.0)
            fout = (-fs if fs < 0.0 else 0.0) + (fn if fn > 0.0 else 0.0)
            m1 = m0 + fin - fout
            bad += (not (fout <= m0)) | (not (fin <= m1)) | (not (m0 > 0.0)) | (not (m1 > 0.0))
            c += not (v > 0.0)
        nonpos[0] += c
        return bad
    for i in range(n):
        v = ms[i] + fys[i] * sc - fyn[i] * sc
        md[i] = v
        rinv[i] = 1.0 / v
        c += not (v > 0.0)
    nonpos[0] += c
    return 0


cdef int _y_pass(const double* ms, double* md, const double* qs, Py_ssize_t qss, double* qd, Py_ssize_t qds,
                 int ntr, const double* fy, double sc, int nlat, int nlon, int scheme, HWork* w,
                 bint check=False) noexcept nogil:
    """One meridional (sub-)step with face air ``fy * sc``: air ``ms`` -> ``md``, every tracer
    ``qs`` -> ``qd``. A single pass from south to north: the face row j is treated for all
    tracers while its geometry is in cache; each tracer keeps a ring of rows (two edge rows,
    two parabola rows, two flux rows) so that row j-1 is finished as soon as the flux through
    its north face is known. The polar caps (one cell each) are updated at the end.

    ``check`` (a single step taken on trust, see ``_sweeps``): the interior cells are tested as
    ``_y_one_substep`` does while their new air is computed; returns 1 as soon as one fails (the
    destination is then incomplete), else 0."""
    cdef int j, i, r, t, jm3, jm2, jm1, jp1, jp2
    cdef Py_ssize_t o, N = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t rs = <Py_ssize_t> YRING * nlon
    cdef double f, qcs, qcn, mcs = 0.0, mcn = 0.0, rsum
    cdef double* ring
    cdef double* e_lo
    cdef double* e_hi
    cdef double* plc
    cdef double* prc
    cdef double* p6c
    cdef double* plp
    cdef double* prp
    cdef double* p6p
    cdef double* flc
    cdef double* flp
    cdef const double* qt
    cdef double* rms = w.caps          # per-tracer south-cap tracer sums
    cdef double* rmn = w.caps + ntr    # per-tracer north-cap tracer sums
    cdef const double* fyp
    w.ynonpos = 0
    # ---- new air masses of the caps; cap cells are bookkeeping (their totals are what matters);
    # an interior row's new air is computed (with its reciprocal) when its update comes --------
    for i in range(nlon):
        md[i] = ms[i] - fy[nlon + i] * sc
        mcs += ms[i] - fy[nlon + i] * sc
    o = N - nlon
    for i in range(nlon):
        md[o + i] = ms[o + i] + fy[o + i] * sc
        mcn += ms[o + i] + fy[o + i] * sc
    # ---- south to north --------------------------------------------------------------------
    for r in range(1, nlat - 1):
        # geometry of face r (between rows r-1 and r)
        o = <Py_ssize_t> r * nlon
        _y_face_geometry(fy + o, sc, ms + o - nlon, ms + o, nlon, 1 if r == 1 else 0, w.yf, w.yrem, w.yalp,
                         w.frs, w.fhh, w.fgg)
        if r >= 2:
            if _y_mass_row(ms + o - nlon, fy + o - nlon, fy + o, sc, nlon, md + o - nlon, w.rinv, check,
                           &w.ynonpos):
                return 1
        for t in range(ntr):
            qt = qs + t * qss
            ring = w.ring + t * rs
            e_lo = ring + (r % 2) * nlon
            e_hi = ring + ((r + 1) % 2) * nlon
            plc = ring + (2 + r % 2) * nlon
            plp = ring + (2 + (r + 1) % 2) * nlon
            prc = ring + (4 + r % 2) * nlon
            prp = ring + (4 + (r + 1) % 2) * nlon
            p6c = ring + (6 + r % 2) * nlon
            p6p = ring + (6 + (r + 1) % 2) * nlon
            flc = ring + (8 + r % 2) * nlon
            flp = ring + (8 + (r + 1) % 2) * nlon
            if scheme == MONO and r >= 2:
                # edge at face r + 1 (rows beyond the caps repeat the cap), parabola, flux, update
                jm3 = r - 2 if r >= 2 else 0
                jp1 = r + 2 if r + 2 < nlat else nlat - 1
                jp2 = r + 3 if r + 3 < nlat else nlat - 1
                _yrow_mono(qt + jm3 * nlon, qt + (r - 1) * nlon, qt + o, qt + o + nlon, qt + jp1 * nlon,
                           qt + jp2 * nlon, e_lo, e_hi, plp, prp, p6p, plc, prc, p6c, w.frs, w.fhh, w.fgg,
                           flp, flc, qt + o - nlon, ms + o - nlon, w.rinv, qd + t * qds + o - nlon, nlon)
                continue
            if scheme == UPWIND:
                memcpy(plc, qt + o, nlon * sizeof(double))
                memcpy(prc, qt + o, nlon * sizeof(double))
                memset(p6c, 0, nlon * sizeof(double))
            else:
                # edges at faces r (first row only) and r + 1; rows beyond the caps repeat the cap
                if r == 1:
                    _y_edge(qt, 1, nlat, nlon, scheme, e_lo)
                _y_edge(qt, r + 1, nlat, nlon, scheme, e_hi)
                _parabolas(qt + o, e_lo, e_hi, nlon, scheme, plc, prc, p6c)
            # flux through face r
            if r == 1:
                qcs = qt[0]
                for i in range(nlon):
                    f = w.yf[i]
                    flc[i] = f * qcs if f >= 0.0 else f * _avg_left(plc[i], prc[i], p6c[i], w.yalp[i])
                rsum = 0.0
                for i in range(nlon):
                    rsum += qt[i] * ms[i] - flc[i]
                rms[t] = rsum
            else:
                _face_fluxes(w.frs, w.fhh, w.fgg, plp, prp, p6p, plc, prc, p6c, nlon, flc)
                # row r-1 is complete
                _update_to(qt + o - nlon, ms + o - nlon, flp, flc, w.rinv, nlon, qd + t * qds + o - nlon)
    # ---- face nlat-1 (below the north cap) and the last interior row -------------------------
    r = nlat - 1
    o = <Py_ssize_t> r * nlon
    _y_face_geometry(fy + o, sc, ms + o - nlon, ms + o, nlon, 2, w.yf, w.yrem, w.yalp, w.frs, w.fhh, w.fgg)
    if _y_mass_row(ms + o - nlon, fy + o - nlon, fy + o, sc, nlon, md + o - nlon, w.rinv, check, &w.ynonpos):
        return 1
    for t in range(ntr):
        qt = qs + t * qss
        ring = w.ring + t * rs
        plp = ring + (2 + (r + 1) % 2) * nlon
        prp = ring + (4 + (r + 1) % 2) * nlon
        p6p = ring + (6 + (r + 1) % 2) * nlon
        flc = ring + (8 + r % 2) * nlon
        flp = ring + (8 + (r + 1) % 2) * nlon
        qcn = qt[o]
        for i in range(nlon):
            f = w.yf[i]
            flc[i] = f * _avg_right(plp[i], prp[i], p6p[i], w.yalp[i]) if f >= 0.0 else f * qcn
        _update_to(qt + o - nlon, ms + o - nlon, flp, flc, w.rinv, nlon, qd + t * qds + o - nlon)
        rsum = 0.0
        for i in range(nlon):
            rsum += qt[o + i] * ms[o + i] + flc[i]
        rmn[t] = rsum
    # ---- caps: one cell each ----
    for t in range(ntr):
        qcs = rms[t] / mcs
        qcn = rmn[t] / mcn
        for i in range(nlon):
            qd[t * qds + i] = qcs
            qd[t * qds + N - nlon + i] = qcn
    return 0


cdef void _y_fluxes(const double* ms, const double* qt, const double* fy, double sc, int nlat, int nlon,
                    int scheme, HWork* w, double* fl) noexcept nogil:
    """Tracer fluxes of one tracer through every meridional face (fl: (nlat + 1) x nlon; faces
    0 and nlat are the poles, zero) with the reconstruction ``scheme``, in one south-to-north
    pass (the flux-corrected scheme calls it for its low- and high-order fluxes)."""
    cdef int r, i
    cdef Py_ssize_t o
    cdef double f
    cdef double* ring = w.ring
    cdef double* e_lo
    cdef double* e_hi
    cdef double* plc
    cdef double* prc
    cdef double* p6c
    cdef double* plp
    cdef double* prp
    cdef double* p6p
    memset(fl, 0, nlon * sizeof(double))
    memset(fl + <Py_ssize_t> nlat * nlon, 0, nlon * sizeof(double))
    for r in range(1, nlat - 1):
        o = <Py_ssize_t> r * nlon
        _y_face_geometry(fy + o, sc, ms + o - nlon, ms + o, nlon, 1 if r == 1 else 0, w.yf, w.yrem, w.yalp,
                         w.frs, w.fhh, w.fgg)
        e_lo = ring + (r % 2) * nlon
        e_hi = ring + ((r + 1) % 2) * nlon
        plc = ring + (2 + r % 2) * nlon
        plp = ring + (2 + (r + 1) % 2) * nlon
        prc = ring + (4 + r % 2) * nlon
        prp = ring + (4 + (r + 1) % 2) * nlon
        p6c = ring + (6 + r % 2) * nlon
        p6p = ring + (6 + (r + 1) % 2) * nlon
        if scheme == UPWIND:
            memcpy(plc, qt + o, nlon * sizeof(double))
            memcpy(prc, qt + o, nlon * sizeof(double))
            memset(p6c, 0, nlon * sizeof(double))
        else:
            if r == 1:
                _y_edge(qt, 1, nlat, nlon, scheme, e_lo)
            _y_edge(qt, r + 1, nlat, nlon, scheme, e_hi)
            _parabolas(qt + o, e_lo, e_hi, nlon, scheme, plc, prc, p6c)
        if r == 1:
            for i in range(nlon):
                f = w.yf[i]
                fl[o + i] = f * qt[0] if f >= 0.0 else f * _avg_left(plc[i], prc[i], p6c[i], w.yalp[i])
        else:
            _face_fluxes(w.frs, w.fhh, w.fgg, plp, prp, p6p, plc, prc, p6c, nlon, fl + o)
    r = nlat - 1
    o = <Py_ssize_t> r * nlon
    _y_face_geometry(fy + o, sc, ms + o - nlon, ms + o, nlon, 2, w.yf, w.yrem, w.yalp, w.frs, w.fhh, w.fgg)
    plp = ring + (2 + (r + 1) % 2) * nlon
    prp = ring + (4 + (r + 1) % 2) * nlon
    p6p = ring + (6 + (r + 1) % 2) * nlon
    for i in range(nlon):
        f = w.yf[i]
        fl[o + i] = f * _avg_right(plp[i], prp[i], p6p[i], w.yalp[i]) if f >= 0.0 else f * qt[o]


cdef void _y_pass_fct(const double* ms, double* md, const double* qs, Py_ssize_t qss, double* qd, Py_ssize_t qds,
                      int ntr, const double* fy, double sc, int nlat, int nlon, HWork* w,
                      bint ep=False) noexcept nogil:
    """Meridional (sub-)step of the flux-corrected scheme: low-order (CW84-monotone) and
    high-order (unlimited PPM) fluxes of each tracer for the whole level, the Zalesak (1979)
    limiter on their difference, the update. The faces next to the polar caps keep the
    low-order flux (the caps are single cells updated from all columns at the end)."""
    cdef int j, i, t
    cdef Py_ssize_t o, N = <Py_ssize_t> nlat * nlon
    cdef double mcs = 0.0, mcn = 0.0, rs, rn, qcs, qcn
    cdef const double* qt
    cdef double* fl = w.yfl
    cdef double* fh = w.yfh
    cdef double* qtd = w.yqtd
    cdef double* rp = w.yrp
    cdef double* rm = w.yrm
    cdef double* ff
    # new air masses (as in _y_pass)
    for i in range(nlon):
        md[i] = ms[i] - fy[nlon + i] * sc
        mcs += ms[i] - fy[nlon + i] * sc
    for j in range(1, nlat - 1):
        o = <Py_ssize_t> j * nlon
        for i in range(nlon):
            md[o + i] = ms[o + i] + fy[o + i] * sc - fy[o + nlon + i] * sc
    o = N - nlon
    for i in range(nlon):
        md[o + i] = ms[o + i] + fy[o + i] * sc
        mcn += ms[o + i] + fy[o + i] * sc
    for t in range(ntr):
        qt = qs + t * qss
        _y_fluxes(ms, qt, fy, sc, nlat, nlon, MONO, w, fl)
        _y_fluxes(ms, qt, fy, sc, nlat, nlon, LINEAR, w, fh)
        # the faces next to the caps keep the low-order flux
        memcpy(fh + nlon, fl + nlon, nlon * sizeof(double))
        memcpy(fh + N - nlon, fl + N - nlon, nlon * sizeof(double))
        for j in range(1, nlat - 1):
            o = <Py_ssize_t> j * nlon
            _reciprocal(md + o, nlon, w.rinv)
            _update_to(qt + o, ms + o, fl + o, fl + o + nlon, w.rinv, nlon, qtd + o)
        # antidiffusive fluxes A = fH - fL into rp-scratch rows, limits per interior row
        for j in range(1, nlat):
            o = <Py_ssize_t> j * nlon
            for i in range(nlon):
                w.yA[o + i] = fh[o + i] - fl[o + i]
        memset(rp, 0, N * sizeof(double))
        memset(rm, 0, N * sizeof(double))
        if ep:
            _level_range(qt, N, w.grange)
            for j in range(2, nlat - 2):
                o = <Py_ssize_t> j * nlon
                _cs_bulges(qt + o - 2 * nlon, qt + o - nlon, qt + o, qt + o + nlon, qt + o + 2 * nlon, nlon,
                           w.yub + o)
        for j in range(1, nlat - 1):
            o = <Py_ssize_t> j * nlon
            if ep and j >= 3 and j <= nlat - 4:
                # smooth-extremum widening (EP) where rows j-3 .. j+3 exist
                _fct_limits(qt + o - nlon, qt + o, qt + o + nlon, qtd + o, w.yA + o, w.yA + o + nlon, md + o,
                            nlon, rp + o, rm + o, w.yub + o, nlon, w.grange, w.grange + 1)
            else:
                _fct_limits(qt + o - nlon, qt + o, qt + o + nlon, qtd + o, w.yA + o, w.yA + o + nlon, md + o,
                            nlon, rp + o, rm + o)
        # limited fluxes (faces 1 .. nlat-1) into the qtd buffer, no longer needed; faces next
        # to the caps keep the low-order flux; then the update
        ff = qtd
        memcpy(ff + nlon, fl + nlon, nlon * sizeof(double))
        memcpy(ff + N - nlon, fl + N - nlon, nlon * sizeof(double))
        for j in range(2, nlat - 1):
            o = <Py_ssize_t> j * nlon
            _fct_fluxes(fl + o, fh + o, rp + o - nlon, rm + o - nlon, rp + o, rm + o, nlon, ff + o)
        for j in range(1, nlat - 1):
            o = <Py_ssize_t> j * nlon
            _reciprocal(md + o, nlon, w.rinv)
            _update_to(qt + o, ms + o, ff + o, ff + o + nlon, w.rinv, nlon, qd + t * qds + o)
        rs = 0.0
        for i in range(nlon):
            rs += qt[i] * ms[i] - ff[nlon + i]
        o = N - nlon
        rn = 0.0
        for i in range(nlon):
            rn += qt[o + i] * ms[o + i] + ff[o + i]
        qcs = rs / mcs
        qcn = rn / mcn
        for i in range(nlon):
            qd[t * qds + i] = qcs
            qd[t * qds + o + i] = qcn


cdef void _cap_average(const double* m, double* q, int nlat, int nlon) noexcept nogil:
    """Mix each polar row into one cap: mass-weighted mean, conservative."""
    cdef int i, r
    cdef Py_ssize_t o
    cdef double rm, mm, qc
    for r in range(2):
        o = 0 if r == 0 else <Py_ssize_t> (nlat - 1) * nlon
        rm = 0.0
        mm = 0.0
        for i in range(nlon):
            rm += q[o + i] * m[o + i]
            mm += m[o + i]
        qc = rm / mm
        for i in range(nlon):
            q[o + i] = qc


cdef int _check_masses(const double* m, int nlat, int nlon, int* ej, int* ei, double* ev,
                       bint interior=True) noexcept nogil:
    """Positive cap totals and (``interior``) positive non-cap cell masses, else code 4."""
    cdef int i, r
    cdef Py_ssize_t o, N = <Py_ssize_t> nlat * nlon
    cdef double mc, mmin
    for r in range(2):
        o = 0 if r == 0 else N - nlon
        mc = 0.0
        for i in range(nlon):
            mc += m[o + i]
        if not (mc > 0.0):
            ej[0] = 0 if r == 0 else nlat - 1; ei[0] = -1; ev[0] = mc
            return 4
    if interior and _count_nonpositive(m + nlon, N - 2 * nlon):
        for o in range(nlon, N - nlon):
            if not (m[o] > 0.0):
                ej[0] = <int> (o // nlon); ei[0] = <int> (o % nlon); ev[0] = m[o]
                return 4
    return 0


cdef int _sweeps(int order, double* m0, double* q0, Py_ssize_t qs0, int ntr, double* mb1, double* qb1,
                 Py_ssize_t qs1, double* mb2, double* qb2, Py_ssize_t qs2, const double* fx, const double* fy,
                 double scale, int nlat, int nlon, int scheme, int max_sub, HWork* w,
                 double** mout, double** qout, Py_ssize_t* qsout, int* nsub, int* ej, int* ei,
                 double* ev, bint* interior_ok=NULL) noexcept nogil:
    """X then Y (order 1) or Y then X (order 2) starting from (m0, q0). Each pass writes into
    buffer 1 unless it holds the pass's input, else into buffer 2 (which may be the input
    (m0, q0) itself: it is free once the first pass has read it). The result's location is
    returned in mout/qout/qsout; ``interior_ok``: whether the last pass found every non-cap
    new air mass positive (the zonal pass stops otherwise; the meridional pass counts them)."""
    cdef double* ms = m0
    cdef double* qsrc = q0
    cdef Py_ssize_t ss = qs0
    cdef double* md
    cdef double* qdst
    cdef Py_ssize_t ds
    cdef int s, p, npass, code = 0
    # one meridional step is taken on trust (``trust``) when the caps allow it: the pass itself
    # then tests the interior cells as _y_one_substep would (while computing their new air, no
    # separate pass over the level) and, if one fails, is redone after the full _y_nsub. The
    # pass leaves its input untouched, so the redo gives exactly the result of asking first.
    cdef bint trust = False
    cdef bint may_trust = scheme != FCT and scheme != EP and max_sub >= 1
    cdef bint decided = False
    cdef bint last_ok = False
    nsub[0] = 1
    if order == 2:
        if may_trust and _y_caps_one(ms, fy, scale, nlat, nlon):
            trust = True
        else:
            code = _y_nsub(ms, fy, scale, nlat, nlon, max_sub, nsub, ej, ei, ev)
            if code != 0:
                return code
    npass = -1
    p = 0
    while True:
        # which pass is next: order 1 = X, Y x nsub; order 2 = Y x nsub, X
        if order == 1:
            if p == 1 and not decided:
                decided = True
                if may_trust and _y_caps_one(ms, fy, scale, nlat, nlon):
                    trust = True
                else:
                    code = _y_nsub(ms, fy, scale, nlat, nlon, max_sub, nsub, ej, ei, ev)
                    if code != 0:
                        return code
            npass = 1 + nsub[0]
        else:
            npass = nsub[0] + 1
        if p >= npass:
            break
        if ms != mb1:
            md = mb1; qdst = qb1; ds = qs1
        else:
            md = mb2; qdst = qb2; ds = qs2
        if (order == 1 and p == 0) or (order == 2 and p == npass - 1):
            code = _x_pass(ms, md, qsrc, ss, qdst, ds, ntr, fx, scale, nlat, nlon, scheme, w, ej, ei, ev)
            if code != 0:
                return code
            last_ok = True
        else:
            if scheme == FCT or scheme == EP:
                _y_pass_fct(ms, md, qsrc, ss, qdst, ds, ntr, fy, scale / nsub[0], nlat, nlon, w, scheme == EP)
                last_ok = False
            else:
                if _y_pass(ms, md, qsrc, ss, qdst, ds, ntr, fy, scale / nsub[0], nlat, nlon, scheme, w, trust):
                    # an interior cell failed the one-step test: ask _y_nsub and redo this pass
                    trust = False
                    code = _y_nsub(ms, fy, scale, nlat, nlon, max_sub, nsub, ej, ei, ev)
                    if code != 0:
                        return code
                    continue
                trust = False
                last_ok = w.ynonpos == 0
        ms = md; qsrc = qdst; ss = ds
        p += 1
    mout[0] = ms
    qout[0] = qsrc
    qsout[0] = ss
    if interior_ok != NULL:
        interior_ok[0] = last_ok
    return 0


cdef int _hlevel(double* m, double* q, Py_ssize_t qstride, int ntr,
                 const double* fx, const double* fy, double scale, int nlat, int nlon, int scheme,
                 int max_sub, int order, HWork* w,
                 int* ej, int* ei, double* ev, int* nsub_out) noexcept nogil:
    """Horizontal step of one level for air and every tracer.

    order 1: X then Y; 2: Y then X; 0: 1/2 [(Y o X) + (X o Y)] (Lin & Rood 1996).
    """
    cdef Py_ssize_t N = <Py_ssize_t> nlat * nlon
    cdef double* mr
    cdef double* qr
    cdef double* mr2
    cdef double* qr2
    cdef Py_ssize_t sr, sr2
    cdef int t, code, na = 1, nb = 1, jcap, i, r
    cdef Py_ssize_t c, o
    cdef double rmc, mc, qc, mf
    cdef bint interior_ok = False
    # polar rows become caps (mass-weighted mean) before anything moves
    for t in range(ntr):
        _cap_average(m, q + t * qstride, nlat, nlon)
    if order != 0:
        code = _sweeps(order, m, q, qstride, ntr, w.mT, w.qT, N, m, q, qstride, fx, fy, scale, nlat, nlon,
                       scheme, max_sub, w, &mr, &qr, &sr, &na, ej, ei, ev, &interior_ok)
        if code != 0:
            return code
        nsub_out[0] = na
        if mr != m:
            memcpy(m, mr, N * sizeof(double))
            for t in range(ntr):
                memcpy(q + t * qstride, qr + t * sr, N * sizeof(double))
        # the interior cells need no second look when the last pass has already seen them positive
        return _check_masses(m, nlat, nlon, ej, ei, ev, not interior_ok)
    # ---- order 0: branch A (X then Y) into A/T, branch B (Y then X) into B and the free one --
    code = _sweeps(1, m, q, qstride, ntr, w.mA, w.qA, N, w.mT, w.qT, N, fx, fy, scale, nlat, nlon,
                   scheme, max_sub, w, &mr, &qr, &sr, &na, ej, ei, ev)
    if code != 0:
        return code
    if mr == w.mA:
        code = _sweeps(2, m, q, qstride, ntr, w.mB, w.qB, N, w.mT, w.qT, N, fx, fy, scale, nlat, nlon,
                       scheme, max_sub, w, &mr2, &qr2, &sr2, &nb, ej, ei, ev)
    else:
        code = _sweeps(2, m, q, qstride, ntr, w.mB, w.qB, N, w.mA, w.qA, N, fx, fy, scale, nlat, nlon,
                       scheme, max_sub, w, &mr2, &qr2, &sr2, &nb, ej, ei, ev)
    if code != 0:
        return code
    nsub_out[0] = na if na > nb else nb
    # ---- average of the two orderings --------------------------------------------------------
    for c in range(nlon, N - nlon):
        mf = 0.5 * (mr[c] + mr2[c])
        for t in range(ntr):
            q[t * qstride + c] = 0.5 * (qr[t * sr + c] * mr[c] + qr2[t * sr2 + c] * mr2[c]) / mf
        m[c] = mf
    for r in range(2):
        jcap = 0 if r == 0 else nlat - 1
        o = <Py_ssize_t> jcap * nlon
        mc = 0.0
        for i in range(nlon):
            mc += 0.5 * (mr[o + i] + mr2[o + i])
        if not (mc > 0.0):
            ej[0] = jcap; ei[0] = -1; ev[0] = mc
            return 4
        for t in range(ntr):
            rmc = 0.0
            for i in range(nlon):
                rmc += 0.5 * (qr[t * sr + o + i] * mr[o + i] + qr2[t * sr2 + o + i] * mr2[o + i])
            qc = rmc / mc
            for i in range(nlon):
                q[t * qstride + o + i] = qc
        for i in range(nlon):
            m[o + i] = 0.5 * (mr[o + i] + mr2[o + i])
    return _check_masses(m, nlat, nlon, ej, ei, ev)


cdef Py_ssize_t _hwork_layout(double* base, int* ibase, int nlat, int nlon, int ntr, int order, int scheme,
                              HWork* w) noexcept nogil:
    """Carve the per-thread workspace into ``w`` (when base is not NULL); returns its size in doubles."""
    cdef Py_ssize_t N = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t R = nlon + 8
    cdef Py_ssize_t nbuf = 3 if order == 0 else 1
    cdef Py_ssize_t off = 0
    cdef double* p = base
    if base != NULL:
        w.fa = p + off
        w.rem = p + off + R
        w.alp = p + off + 2 * R
        w.fl = p + off + 3 * R
        w.ae = p + off + 4 * R
        w.pl = p + off + 5 * R
        w.pr = p + off + 6 * R
        w.p6 = p + off + 7 * R
        w.qe = p + off + 8 * R
        w.mh = p + off + 9 * R
        w.yf = p + off + 10 * R
        w.yrem = p + off + 11 * R
        w.yalp = p + off + 12 * R
        w.rinv = p + off + 13 * R
        w.xfct = p + off + 14 * R
        w.frs = p + off + 20 * R
        w.fhh = p + off + 21 * R
        w.fgg = p + off + 22 * R
        w.nw = ibase
    off += 23 * R
    if base != NULL:
        w.grange = p + off
    off += 2 * ntr + 8
    if base != NULL:
        w.ring = p + off
    off += <Py_ssize_t> ntr * YRING * nlon + 8
    if base != NULL:
        w.caps = p + off
    off += 4 * ntr + 8
    if base != NULL:
        w.mT = p + off
        w.qT = p + off + N
    off += N * (1 + ntr)
    if order == 0:
        if base != NULL:
            w.mA = p + off
            w.qA = p + off + N
            w.mB = p + off + N * (1 + ntr)
            w.qB = p + off + N * (2 + ntr)
        off += 2 * N * (1 + ntr)
    if scheme == FCT or scheme == EP:
        if base != NULL:
            w.yfl = p + off
            w.yfh = p + off + (N + nlon)
            w.yA = p + off + 2 * (N + nlon)
            w.yqtd = p + off + 3 * (N + nlon)
            w.yrp = p + off + 3 * (N + nlon) + N
            w.yrm = p + off + 3 * (N + nlon) + 2 * N
            w.yub = p + off + 3 * (N + nlon) + 3 * N
        off += 3 * (N + nlon) + (4 * N if scheme == EP else 3 * N)
    return off


def hwork_size(int nlat, int nlon, int ntr, int order, int scheme=0):
    """(doubles, ints) of per-thread workspace ``hadvect`` needs."""
    cdef HWork w
    return _hwork_layout(NULL, NULL, nlat, nlon, ntr, order, scheme, &w), 2 * nlon + 16


def hadvect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] fx,
            const double[:, :, ::1] fy, double scale, int scheme, int max_sub, int order,
            int[:, ::1] status, double[::1] value, int[::1] nsub, double[:, ::1] work, int[:, ::1] iwork):
    """Horizontal FFSL step in place.

    m (nlev, nlat, nlon) air mass [kg]; q (ntr, nlev, nlat, nlon) mixing ratio; fx
    (nlev, nlat, nlon) eastward air flux through the west faces and fy (nlev, nlat+1, nlon)
    northward air flux through the south faces, multiplied by ``scale`` to give the air
    mass moved in the step [kg]. Per level: status[k] = (code, j, i), value[k] the
    offending number, nsub[k] the meridional sub-steps used. ``work``/``iwork``: one row of
    ``hwork_size`` per thread (at most that many threads run).
    """
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int nthreads = work.shape[0]
    cdef Py_ssize_t N = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t NF = <Py_ssize_t> (nlat + 1) * nlon
    cdef Py_ssize_t qstride = <Py_ssize_t> nlev * N
    cdef int k, code, tid
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* fxp = &fx[0, 0, 0]
    cdef const double* fyp = &fy[0, 0, 0]
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    cdef int* np_ = &nsub[0]
    cdef double* wp = &work[0, 0]
    cdef int* iwp = &iwork[0, 0]
    cdef Py_ssize_t wstride = work.shape[1]
    cdef Py_ssize_t iwstride = iwork.shape[1]
    cdef HWork* hws = <HWork*> malloc(nthreads * sizeof(HWork))
    if hws == NULL:
        raise MemoryError("advection work structures")
    for tid in range(nthreads):
        _hwork_layout(wp + tid * wstride, iwp + tid * iwstride, nlat, nlon, ntr, order, scheme, &hws[tid])
    for k in prange(nlev, nogil=True, schedule="dynamic", num_threads=nthreads):
        tid = threadid()
        code = _hlevel(mp + k * N, qp + k * N, qstride, ntr, fxp + k * N, fyp + k * NF, scale,
                       nlat, nlon, scheme, max_sub, order, &hws[tid],
                       sp + 3 * k + 1, sp + 3 * k + 2, vp + k, np_ + k)
        sp[3 * k] = code
    free(hws)




# ---------------------------------------------------------------------------------------
# vertical sweep in the air-mass coordinate
# ---------------------------------------------------------------------------------------
cdef Py_ssize_t _vgeom(cdptr f, cdptr mlo, cdptr mhi, int n, dptr fa, dptr rem, dptr alp,
                       long long* nbad) noexcept nogil:
    """Interface geometry when less than one layer crosses: air moved, |air|, mass Courant
    number of the upstream layer; returns how many faces need whole layers (a walk). Adds to
    ``nbad`` how many upper-layer masses (``mhi``) are not positive."""
    cdef int i
    cdef long long nwalk = 0, c = 0
    cdef double af, up, ff, lo, hi
    for i in range(n):
        ff = f[i]
        af = fabs(ff)
        lo = mlo[i]
        hi = mhi[i]
        up = lo if ff >= 0.0 else hi
        fa[i] = ff
        rem[i] = af
        alp[i] = af / up
        nwalk += af > up
        c += not (hi > 0.0)
    nbad[0] += c
    return nwalk


cdef void _face_coefs_inplace(double* f, double* rem, double* alp, int n) noexcept nogil:
    """``_face_coefs`` written over its inputs (f -> rs, rem -> hh, alp -> gg): the vertical
    sweep's tracer phase needs only the factors, and the block's working set stays the same."""
    cdef int i
    cdef double x, y, z
    for i in range(n):
        x = alp[i]
        y = rem[i]
        z = f[i]
        f[i] = y if z >= 0.0 else -y
        rem[i] = 0.5 * x
        alp[i] = 1.0 - TWO3 * x


cdef void _vcoef_cell(cdptr hm, cdptr h0, cdptr hp, int n, dptr c1, dptr c2) noexcept nogil:
    """CW84 eq. 1.7 weights: slope = c1 (q+ - q0) + c2 (q0 - q-), widths = layer air masses.
    The three reciprocals 1/(c+a+b), 1/(a+b), 1/(c+a) come from one division of their product."""
    cdef int i
    cdef double a, b, c, s3, sb, sc, p, r3, ib, ic
    for i in range(n):
        a = h0[i]
        b = hp[i]
        c = hm[i]
        s3 = c + a + b
        sb = b + a
        sc = c + a
        p = 1.0 / (s3 * sb * sc)
        r3 = a * (sb * sc) * p
        ib = (s3 * sc) * p
        ic = (s3 * sb) * p
        c1[i] = r3 * (2.0 * c + a) * ib
        c2[i] = r3 * (a + 2.0 * b) * ic


cdef void _vcoef_face(cdptr hm, cdptr h0, cdptr hp, cdptr hpp, int n, dptr d1, dptr d2, dptr d3) noexcept nogil:
    """CW84 eq. 1.6 weights of the edge between cells 0 and p: a0 + d1 (ap - a0) + d2 s_p + d3 s_0.
    The four reciprocals come from one division of their product."""
    cdef int i
    cdef double a, b, c, e, s4, s2, t1, t2, p, r4, iab, i2ab, ia2b, u, v
    for i in range(n):
        a = h0[i]
        b = hp[i]
        c = hm[i]
        e = hpp[i]
        s4 = c + a + b + e
        s2 = a + b
        t1 = 2.0 * a + b
        t2 = a + 2.0 * b
        u = s4 * s2
        v = t1 * t2
        p = 1.0 / (u * v)
        r4 = (s2 * v) * p
        iab = (s4 * v) * p
        i2ab = (u * t2) * p
        ia2b = (u * t1) * p
        d1[i] = a * iab + 2.0 * b * a * iab * r4 * ((c + a) * i2ab - (e + b) * ia2b)
        d2[i] = -a * (c + a) * i2ab * r4
        d3[i] = b * (b + e) * ia2b * r4


cdef void _vslope(cdptr qm, cdptr q0, cdptr qp, cdptr c1, cdptr c2, int n, int scheme, dptr dm) noexcept nogil:
    """Cell slopes (CW84 eq. 1.7), monotonised (eq. 1.8) for the monotone scheme."""
    cdef int i
    cdef double s, r, lo, hi, a, sm, dl, dr
    cdef bint ok
    if scheme == MONO:
        for i in range(n):
            a = q0[i]
            dl = a - qm[i]
            dr = qp[i] - a
            s = c1[i] * dr + c2[i] * dl
            r = fabs(s)
            lo = 2.0 * fabs(dl)
            hi = 2.0 * fabs(dr)
            r = lo if lo < r else r
            r = hi if hi < r else r
            sm = -r
            r = r if s > 0.0 else sm
            ok = dr * dl > 0.0
            dm[i] = r if ok else 0.0
    else:
        for i in range(n):
            dm[i] = c1[i] * (qp[i] - q0[i]) + c2[i] * (q0[i] - qm[i])


cdef void _vedge(cdptr q0, cdptr qp, cdptr d1, cdptr d2, cdptr d3, cdptr dmp, cdptr dm0, int n, int scheme,
                 dptr e) noexcept nogil:
    """Edge values between lower cell 0 and upper cell p (CW84 eq. 1.6), clamped if monotone."""
    cdef int i
    cdef double v, a, b, lo, hi
    if scheme == MONO:
        for i in range(n):
            a = q0[i]
            b = qp[i]
            v = a + d1[i] * (b - a) + d2[i] * dmp[i] + d3[i] * dm0[i]
            lo = a if a < b else b
            hi = b if a < b else a
            v = lo if v < lo else v
            v = hi if v > hi else v
            e[i] = v
    else:
        for i in range(n):
            e[i] = q0[i] + d1[i] * (qp[i] - q0[i]) + d2[i] * dmp[i] + d3[i] * dm0[i]


cdef void _vlevel_mono(cdptr qk, cdptr qk1, cdptr qk2, cdptr c1, cdptr c2, cdptr d1, cdptr d2, cdptr d3,
                       cdptr dm0, dptr dm1, cdptr ael, dptr aer, cdptr plw, cdptr prw, cdptr p6w,
                       dptr ple, dptr pre, dptr p6e, cdptr frs, cdptr fhh, cdptr fgg, cdptr flw, dptr fle,
                       dptr qu, cdptr mu, cdptr rinvu, bint upd, int n) noexcept nogil:
    """One level k (1 <= k <= nlev - 2) of the monotone vertical reconstruction, fused: the
    slope of layer k+1 (``_vslope``, layers k, k+1, k+2 = qk, qk1, qk2; c1/c2 of layer k+1),
    the edge at interface k+1 (``_vedge``, d1..d3 of interface k+1, slopes dm0 = layer k,
    dm1 = layer k+1), the parabola of layer k (``_parabolas`` with edges ael = interface k and
    aer = k+1), the flux through interface k (``_face_fluxes``, lower parabola plw/prw/p6w of
    layer k-1, factors of interface k) and, with ``upd``, the update of layer k-1 (``qu``, the
    fluxes flw = interface k-1 and fle = interface k). The same operations in the same order as
    those helpers (bit-identical); the level's intermediate rows are reused while in L1 instead
    of one pass over the whole block per helper."""
    cdef int i
    cdef double a, b, dl, dr, s, r, lo, hi, sm, v, l, da, a6, dd, da6, sl, sr, l2, r2
    cdef double x1, x2, y1, y2, z1, z2, rr, near, far, c6
    cdef bint ok, ext, ovl, ovr, pos
    for i in range(n):
        # slope of layer k+1 (CW84 eqs. 1.7-1.8)
        a = qk1[i]
        dl = a - qk[i]
        dr = qk2[i] - a
        s = c1[i] * dr + c2[i] * dl
        r = fabs(s)
        lo = 2.0 * fabs(dl)
        hi = 2.0 * fabs(dr)
        r = lo if lo < r else r
        r = hi if hi < r else r
        sm = -r
        r = r if s > 0.0 else sm
        ok = dr * dl > 0.0
        s = r if ok else 0.0
        dm1[i] = s
        # edge at interface k+1 (CW84 eq. 1.6), clamped
        a = qk[i]
        b = qk1[i]
        v = a + d1[i] * (b - a) + d2[i] * s + d3[i] * dm0[i]
        lo = a if a < b else b
        hi = b if a < b else a
        v = lo if v < lo else v
        v = hi if v > hi else v
        aer[i] = v
        # parabola of layer k (CW84 eq. 1.10)
        l = ael[i]
        r = v
        ext = (r - a) * (a - l) <= 0.0
        da = r - l
        a6 = 6.0 * (a - 0.5 * (l + r))
        dd = da * da
        da6 = da * a6
        sl = 3.0 * a - 2.0 * r
        sr = 3.0 * a - 2.0 * l
        ovl = da6 > dd
        ovr = -dd > da6
        l2 = sl if ovl else l
        r2 = sr if ovr else r
        l = a if ext else l2
        r = a if ext else r2
        a6 = 6.0 * (a - 0.5 * (l + r))
        ple[i] = l
        pre[i] = r
        p6e[i] = a6
        # flux through interface k
        x1 = prw[i]
        y1 = plw[i]
        z1 = p6w[i]
        rr = frs[i]
        pos = rr >= 0.0
        near = x1 if pos else l
        far = y1 if pos else r
        c6 = z1 if pos else a6
        fle[i] = rr * (near + fhh[i] * ((far - near) + fgg[i] * c6))
    if upd:
        for i in range(n):
            qu[i] = (qu[i] * mu[i] + flw[i] - fle[i]) * rinvu[i]


cdef void _update_inplace(dptr q, cdptr m, cdptr flin, cdptr flout, cdptr rinv, int n) noexcept nogil:
    """q = (q m + f_in - f_out) / m' for n cells, with rinv = 1/m'."""
    cdef int i
    for i in range(n):
        q[i] = (q[i] * m[i] + flin[i] - flout[i]) * rinv[i]


cdef void _vwalk(const double* m, const double* qt, Py_ssize_t lstride, int nlev, int ncol,
                 const double* frs, const double* fhh, const double* fgg, const int* nw,
                 const double* pl, const double* pr, const double* p6, double* fl) noexcept nogil:
    """Tracer fluxes of the interfaces where whole layers cross (``nw`` != 0): the whole layers'
    tracer plus the partial layer's mean (as _avg_right/_avg_left with alp/2 and 1 - 2 alp/3
    precomputed), written over ``fl``."""
    cdef int k, i, c, cnt, wk
    cdef double s, r, h, g, al, ar
    for k in range(1, nlev):
        for i in range(ncol):
            cnt = nw[k * ncol + i]
            if cnt == 0:
                continue
            r = fabs(frs[k * ncol + i])
            h = fhh[k * ncol + i]
            g = fgg[k * ncol + i]
            s = 0.0
            if cnt > 0:
                c = k - 1
                for wk in range(cnt):
                    s += qt[c * lstride + i] * m[c * lstride + i]
                    c -= 1
                al = pl[c * ncol + i]
                ar = pr[c * ncol + i]
                fl[k * ncol + i] = s + r * (ar - h * ((ar - al) - g * p6[c * ncol + i]))
            else:
                c = k
                for wk in range(-cnt):
                    s += qt[c * lstride + i] * m[c * lstride + i]
                    c += 1
                al = pl[c * ncol + i]
                ar = pr[c * ncol + i]
                fl[k * ncol + i] = -(s + r * (al + h * ((ar - al) + g * p6[c * ncol + i])))


cdef inline void _prefetch_rows(const VPrefetch* pf, int k) noexcept nogil:
    """Row k of every array of ``pf``."""
    cdef int e
    if pf == NULL:
        return
    for e in range(pf.np):
        _prefetch_row(pf.p[e] + k * pf.s[e], pf.n)


cdef void _vrow_mono(const double* m, double* qt, Py_ssize_t lstride, int nlev, int ncol,
                     const double* frs, const double* fhh, const double* fgg, const double* c1, const double* c2,
                     const double* d1, const double* d2, const double* d3, const int* nw, Py_ssize_t nwalk,
                     const double* rinv, double* dm, double* ae, double* pl, double* pr, double* p6, double* fl,
                     const VPrefetch* pf=NULL) noexcept nogil:
    """``_vrow_flux`` (scheme MONO) and the update of one tracer of a block (nlev >= 3), level by
    level: each level's slope, edge, parabola, face flux and (without whole-layer crossings in
    the block) the update of the layer below run in one pass (``_vlevel_mono``) while the rows
    are in L1. Bit-identical to ``_vrow_flux`` followed by ``_update_inplace``. ``pf``: one row
    of every array prefetched per level."""
    cdef int k, kpp
    cdef bint upd = nwalk == 0
    _prefetch_rows(pf, 0)
    _vslope(qt, qt, qt + lstride, c1, c2, ncol, MONO, dm)
    _vslope(qt, qt + lstride, qt + 2 * lstride, c1 + ncol, c2 + ncol, ncol, MONO, dm + ncol)
    memcpy(ae, qt, ncol * sizeof(double))
    _vedge(qt, qt + lstride, d1 + ncol, d2 + ncol, d3 + ncol, dm + ncol, dm, ncol, MONO, ae + ncol)
    _parabolas(qt, ae, ae + ncol, ncol, MONO, pl, pr, p6)
    memset(fl, 0, ncol * sizeof(double))
    for k in range(1, nlev - 1):
        _prefetch_rows(pf, k)
        kpp = k + 2 if k + 2 < nlev else nlev - 1
        _vlevel_mono(qt + k * lstride, qt + (k + 1) * lstride, qt + kpp * lstride,
                     c1 + (k + 1) * ncol, c2 + (k + 1) * ncol, d1 + (k + 1) * ncol, d2 + (k + 1) * ncol,
                     d3 + (k + 1) * ncol, dm + k * ncol, dm + (k + 1) * ncol, ae + k * ncol, ae + (k + 1) * ncol,
                     pl + (k - 1) * ncol, pr + (k - 1) * ncol, p6 + (k - 1) * ncol,
                     pl + k * ncol, pr + k * ncol, p6 + k * ncol, frs + k * ncol, fhh + k * ncol, fgg + k * ncol,
                     fl + (k - 1) * ncol, fl + k * ncol, qt + (k - 1) * lstride, m + (k - 1) * lstride,
                     rinv + (k - 1) * ncol, upd, ncol)
    # top layer: its upper edge is its own mean
    k = nlev - 1
    _prefetch_rows(pf, k)
    memcpy(ae + nlev * ncol, qt + k * lstride, ncol * sizeof(double))
    _parabolas(qt + k * lstride, ae + k * ncol, ae + nlev * ncol, ncol, MONO, pl + k * ncol, pr + k * ncol,
               p6 + k * ncol)
    _face_fluxes(frs + k * ncol, fhh + k * ncol, fgg + k * ncol, pl + (k - 1) * ncol, pr + (k - 1) * ncol,
                 p6 + (k - 1) * ncol, pl + k * ncol, pr + k * ncol, p6 + k * ncol, ncol, fl + k * ncol)
    memset(fl + nlev * ncol, 0, ncol * sizeof(double))
    if upd:
        _update_inplace(qt + (k - 1) * lstride, m + (k - 1) * lstride, fl + (k - 1) * ncol, fl + k * ncol,
                        rinv + (k - 1) * ncol, ncol)
        _update_inplace(qt + k * lstride, m + k * lstride, fl + k * ncol, fl + nlev * ncol, rinv + k * ncol, ncol)
        return
    _vwalk(m, qt, lstride, nlev, ncol, frs, fhh, fgg, nw, pl, pr, p6, fl)
    for k in range(nlev):
        _update_inplace(qt + k * lstride, m + k * lstride, fl + k * ncol, fl + (k + 1) * ncol, rinv + k * ncol, ncol)


cdef void _vrow_flux(const double* m, const double* qt, Py_ssize_t lstride, int nlev, int ncol, int scheme,
                     const double* frs, const double* fhh, const double* fgg, const double* c1, const double* c2,
                     const double* d1, const double* d2, const double* d3, const int* nw, Py_ssize_t nwalk,
                     double* dm, double* ae, double* pl, double* pr, double* p6, double* fl,
                     const VPrefetch* pf=NULL) noexcept nogil:
    """Tracer fluxes of one tracer through the interfaces of a block of columns (fl[0] and
    fl[nlev] are zero) with the reconstruction ``scheme`` (MONO, LINEAR, UPWIND, POSITIVE).
    ``frs``/``fhh``/``fgg``: the interfaces' factors (``_face_coefs``: signed air of the partial
    layer, alp/2, 1 - 2 alp/3); ``nw``: whole layers crossing each interface, negative for
    downward flow.
    ``pf``: rows to prefetch level by level during the first pass (data of the next tracer
    or block: the sweep is otherwise bound by the latency of its strided first touches)."""
    cdef Py_ssize_t L = <Py_ssize_t> nlev * ncol
    cdef int k, km, kp
    if scheme == UPWIND:
        for k in range(nlev):
            memcpy(pl + k * ncol, qt + k * lstride, ncol * sizeof(double))
            memcpy(pr + k * ncol, qt + k * lstride, ncol * sizeof(double))
        memset(p6, 0, L * sizeof(double))
    else:
        for k in range(nlev):
            _prefetch_level(pf, k, 0)
            km = k - 1 if k > 0 else k
            kp = k + 1 if k < nlev - 1 else k
            _vslope(qt + km * lstride, qt + k * lstride, qt + kp * lstride, c1 + k * ncol, c2 + k * ncol,
                    ncol, scheme, dm + k * ncol)
        memcpy(ae, qt, ncol * sizeof(double))
        memcpy(ae + nlev * ncol, qt + (nlev - 1) * lstride, ncol * sizeof(double))
        for k in range(1, nlev):
            if k == 1:
                _prefetch_level(pf, 0, 1)
            _prefetch_level(pf, k, 1)
            _vedge(qt + (k - 1) * lstride, qt + k * lstride, d1 + k * ncol, d2 + k * ncol, d3 + k * ncol,
                   dm + k * ncol, dm + (k - 1) * ncol, ncol, scheme, ae + k * ncol)
        for k in range(nlev):
            _prefetch_level(pf, k, 2)
            _parabolas(qt + k * lstride, ae + k * ncol, ae + (k + 1) * ncol, ncol, scheme,
                       pl + k * ncol, pr + k * ncol, p6 + k * ncol)
    memset(fl, 0, ncol * sizeof(double))
    memset(fl + nlev * ncol, 0, ncol * sizeof(double))
    for k in range(1, nlev):
        if k == 1:
            _prefetch_level(pf, 0, 3)
        _prefetch_level(pf, k, 3)
        _face_fluxes(frs + k * ncol, fhh + k * ncol, fgg + k * ncol, pl + (k - 1) * ncol, pr + (k - 1) * ncol,
                     p6 + (k - 1) * ncol, pl + k * ncol, pr + k * ncol, p6 + k * ncol, ncol, fl + k * ncol)
    if nwalk:
        _vwalk(m, qt, lstride, nlev, ncol, frs, fhh, fgg, nw, pl, pr, p6, fl)


cdef int _vrow(double* m, double* q, Py_ssize_t tstride, Py_ssize_t lstride, int ntr,
               const double* w, int nlev, int ncol, int scheme, double* work, int* iwork,
               int* ek, int* ei, double* ev, const VPrefetch* nxt=NULL) noexcept nogil:
    """Vertical flux-form PPM update of one block of columns (all tracers).

    Block arrays (w included) are indexed [k * ncol + i]; interface k lies between layers
    k-1 and k. While one tracer is reconstructed the next tracer's rows of the block are
    prefetched, and during the last tracer the rows ``nxt`` (the next block's inputs).
    """
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
    cdef double* pl = dm + L
    cdef double* pr = pl + L
    cdef double* p6 = pr + L
    cdef double* mn = p6 + L
    cdef double* rinv = mn + L
    # flux-corrected scheme only
    cdef double* fh = rinv + L
    cdef double* aa = fh + LF
    cdef double* qtd = aa + LF
    cdef double* rp = qtd + L
    cdef double* rm = rp + L
    cdef int* nw = iwork
    cdef int k, i, c, cnt, t, wk, km, kp, kpp
    cdef Py_ssize_t nwalk = 0
    cdef long long nbad = 0
    cdef double f, r, s, a, af, up
    cdef double* qt
    cdef VPrefetch pft
    cdef const VPrefetch* pfp
    # ---- geometry: whole layers + fraction crossing each interface ----------------------
    # (the layer masses are checked as they are read: the geometry fills only block scratch, so
    # the check after it reports the same first offender as a check before it)
    nbad = _count_nonpositive(m, ncol)
    memset(fa, 0, ncol * sizeof(double))
    memset(fa + nlev * ncol, 0, ncol * sizeof(double))
    memset(rem, 0, ncol * sizeof(double))
    memset(rem + nlev * ncol, 0, ncol * sizeof(double))
    memset(alp, 0, ncol * sizeof(double))
    memset(alp + nlev * ncol, 0, ncol * sizeof(double))
    for k in range(1, nlev):
        nwalk += _vgeom(w + k * ncol, m + (k - 1) * lstride, m + k * lstride, ncol,
                        fa + k * ncol, rem + k * ncol, alp + k * ncol, &nbad)
    if nbad:
        for k in range(nlev):
            for i in range(ncol):
                if not (m[k * lstride + i] > 0.0):
                    ek[0] = k; ei[0] = i; ev[0] = m[k * lstride + i]
                    return 5
    if nwalk:
        for k in range(1, nlev):
            for i in range(ncol):
                nw[k * ncol + i] = 0
                f = fa[k * ncol + i]
                af = fabs(f)
                up = m[(k - 1) * lstride + i] if f >= 0.0 else m[k * lstride + i]
                if not (af > up):
                    continue
                s = 0.0
                cnt = 0
                r = af
                if f >= 0.0:
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
                nw[k * ncol + i] = cnt if f >= 0.0 else -cnt
    for k in range(nlev):
        _mass_update(m + k * lstride, fa + k * ncol, fa + (k + 1) * ncol, ncol, mn + k * ncol)
    if _count_nonpositive(mn, L):
        for k in range(nlev):
            for i in range(ncol):
                if not (mn[k * ncol + i] > 0.0):
                    ek[0] = k; ei[0] = i; ev[0] = mn[k * ncol + i]
                    return 4
    _reciprocal(mn, <int> L, rinv)
    # the tracer phase needs only the interfaces' factors of _face_fluxes: written over fa/rem/alp
    # (fa -> signed air of the partial layer, rem -> alp/2, alp -> 1 - 2 alp/3)
    for k in range(1, nlev):
        _face_coefs_inplace(fa + k * ncol, rem + k * ncol, alp + k * ncol, ncol)
    # ---- non-uniform PPM coefficients (CW84 eqs. 1.6-1.7), cell widths = layer masses ----
    if scheme != UPWIND:
        for k in range(nlev):
            km = k - 1 if k > 0 else k
            kp = k + 1 if k < nlev - 1 else k
            _vcoef_cell(m + km * lstride, m + k * lstride, m + kp * lstride, ncol, c1 + k * ncol, c2 + k * ncol)
        for k in range(1, nlev):
            km = k - 2 if k >= 2 else k - 1
            kpp = k + 1 if k + 1 < nlev else k
            _vcoef_face(m + km * lstride, m + (k - 1) * lstride, m + k * lstride, m + kpp * lstride, ncol,
                        d1 + k * ncol, d2 + k * ncol, d3 + k * ncol)
    # ---- tracers --------------------------------------------------------------------------
    for t in range(ntr):
        qt = q + t * tstride
        if t + 1 < ntr:
            pft.p[0] = q + (t + 1) * tstride
            pft.s[0] = lstride
            pft.ps[0] = 0
            pft.np = 1
            pft.n = ncol
            pfp = &pft
        else:
            pfp = nxt
        if scheme == MONO and nlev >= 3:
            _vrow_mono(m, qt, lstride, nlev, ncol, fa, rem, alp, c1, c2, d1, d2, d3, nw, nwalk, rinv,
                       dm, ae, pl, pr, p6, fl, pfp)
            continue
        if scheme != FCT and scheme != EP:
            _vrow_flux(m, qt, lstride, nlev, ncol, scheme, fa, rem, alp, c1, c2, d1, d2, d3, nw, nwalk,
                       dm, ae, pl, pr, p6, fl, pfp)
            for k in range(nlev):
                _update_inplace(qt + k * lstride, m + k * lstride, fl + k * ncol, fl + (k + 1) * ncol,
                                rinv + k * ncol, ncol)
            continue
        # flux-corrected: CW84-monotone low-order and unlimited high-order fluxes, Zalesak (1979)
        _vrow_flux(m, qt, lstride, nlev, ncol, MONO, fa, rem, alp, c1, c2, d1, d2, d3, nw, nwalk,
                   dm, ae, pl, pr, p6, fl, pfp)
        _vrow_flux(m, qt, lstride, nlev, ncol, LINEAR, fa, rem, alp, c1, c2, d1, d2, d3, nw, nwalk,
                   dm, ae, pl, pr, p6, fh)
        for k in range(nlev):
            _update_to(qt + k * lstride, m + k * lstride, fl + k * ncol, fl + (k + 1) * ncol, rinv + k * ncol,
                       ncol, qtd + k * ncol)
        for k in range(nlev + 1):
            for i in range(ncol):
                aa[k * ncol + i] = fh[k * ncol + i] - fl[k * ncol + i]
        for k in range(nlev):
            km = k - 1 if k > 0 else k
            kp = k + 1 if k < nlev - 1 else k
            _fct_limits(qt + km * lstride, qt + k * lstride, qt + kp * lstride, qtd + k * ncol, aa + k * ncol,
                        aa + (k + 1) * ncol, mn + k * ncol, ncol, rp + k * ncol, rm + k * ncol)
        for k in range(1, nlev):
            _fct_fluxes(fl + k * ncol, fh + k * ncol, rp + (k - 1) * ncol, rm + (k - 1) * ncol, rp + k * ncol,
                        rm + k * ncol, ncol, aa + k * ncol)
        memset(aa, 0, ncol * sizeof(double))
        memset(aa + nlev * ncol, 0, ncol * sizeof(double))
        for k in range(nlev):
            _update_inplace(qt + k * lstride, m + k * lstride, aa + k * ncol, aa + (k + 1) * ncol,
                            rinv + k * ncol, ncol)
    for k in range(nlev):
        memcpy(m + k * lstride, mn + k * ncol, ncol * sizeof(double))
    return 0


#: columns per block in the vertical sweep (block arrays of (nlev + 1) * VBLOCK stay in cache)
DEF VBLOCK = 64


def vwork_size(int nlev, int ncol, int scheme=0):
    """(doubles, ints) of per-thread workspace ``vadvect`` needs."""
    cdef int nb = ncol if ncol < VBLOCK else VBLOCK
    if scheme == FCT or scheme == EP:
        return 11 * (nlev + 1) * nb + 11 * nlev * nb + 8, (nlev + 1) * nb
    return 9 * (nlev + 1) * nb + 8 * nlev * nb + 8, (nlev + 1) * nb


cdef void _w_level(cdptr m, cdptr fx, cdptr fxe, cdptr fys, cdptr fyn, cdptr ps, cdptr ag, double dap, double dbp,
                   double scale, int n, bint with_conv, cdptr wk, dptr wk1) noexcept nogil:
    """One level of ``_column_w``: w_{k+1} = w_k + (m [+ c] - target); ``fxe`` is fx shifted by one
    column (the east face)."""
    cdef int i
    cdef double c, tg
    if with_conv:
        for i in range(n):
            tg = (dap + dbp * ps[i]) * ag[i]
            c = (fx[i] * scale - fxe[i] * scale) + (fys[i] * scale - fyn[i] * scale)
            wk1[i] = wk[i] + ((m[i] + c) - tg)
    else:
        for i in range(n):
            tg = (dap + dbp * ps[i]) * ag[i]
            wk1[i] = wk[i] + (m[i] - tg)


cdef void _column_w(const double* m, Py_ssize_t lstride, const double* fx, const double* fy, int nlon,
                    int i0, int ncol, double scale, const double* ps, const double* dap, const double* dbp,
                    const double* area, double g0, bint with_conv, int nlev, double* w, double* ag,
                    double* fxe) noexcept nogil:
    """Upward air mass w [kg per step] through the interfaces of one block of columns (TM5
    construction, see esm.transport.advection): w_0 = 0, w_{k+1} = w_k + (m_k [+ c_k] - target_k),
    target_k = (dap_k + dbp_k ps*) A/g, w_nlev = 0. ``m``/``fx``/``fy``/``ps``/``area`` point at
    the block's first column (i0 in its row); ``with_conv`` adds the horizontal convergence c_k
    (vertical sweep before the horizontal one), otherwise ``m`` already holds m + c.
    ``ag``, ``fxe``: scratch of ncol."""
    cdef int k, i
    cdef Py_ssize_t fo
    for i in range(ncol):
        w[i] = 0.0
        ag[i] = area[i] / g0
    for k in range(nlev):
        fo = k * lstride
        if with_conv:
            # east-face fluxes of the block's columns (the row is periodic)
            memcpy(fxe, fx + fo + 1, (ncol - 1) * sizeof(double))
            fxe[ncol - 1] = fx[fo + ncol] if i0 + ncol < nlon else fx[fo + ncol - nlon]
        _w_level(m + fo, fx + fo, fxe, fy + fo + k * nlon, fy + fo + k * nlon + nlon, ps, ag, dap[k], dbp[k],
                 scale, ncol, with_conv, w + k * ncol, w + (k + 1) * ncol)
    for i in range(ncol):
        w[nlev * ncol + i] = 0.0


def vadvect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] fx, const double[:, :, ::1] fy,
            double scale, const double[:, ::1] ps, const double[::1] dap, const double[::1] dbp,
            const double[:, ::1] area, double g0, bint with_conv, int scheme,
            int row_start, int row_end, int[:, ::1] status, double[::1] value,
            double[:, ::1] work, int[:, ::1] iwork):
    """Vertical FFSL step in place for rows ``row_start <= j < row_end``.

    The upward air mass through each interface comes from the hybrid coefficients and the
    end-of-step surface pressure ``ps`` (``column_pressure``), computed block by block
    (``_column_w``); ``with_conv``: the sweep comes before the horizontal one, so the
    horizontal convergence of ``fx``/``fy`` (times ``scale``) is added. status[j] = (code, k, i).
    ``work``/``iwork``: one row of ``vwork_size`` per thread. Each row is processed in
    blocks of VBLOCK columns.
    """
    cdef int nlev = m.shape[0]
    cdef int nrow = m.shape[1]
    cdef int ncol = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int nthreads = work.shape[0]
    cdef int nb = ncol if ncol < VBLOCK else VBLOCK
    cdef int nblk = (ncol + nb - 1) // nb
    cdef Py_ssize_t lstride = <Py_ssize_t> nrow * ncol
    cdef Py_ssize_t tstride = <Py_ssize_t> nlev * lstride
    cdef Py_ssize_t wblk = <Py_ssize_t> (nlev + 1) * nb
    cdef int j, b, code, tid, i0, width, kk, ii, jn, i0n
    cdef Py_ssize_t o, on
    cdef double vv
    cdef VPrefetch pfn
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* fxp = &fx[0, 0, 0]
    cdef const double* fyp = &fy[0, 0, 0]
    cdef const double* psp = &ps[0, 0]
    cdef const double* ap = &area[0, 0]
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    cdef double* wkp = &work[0, 0]
    cdef int* iwp = &iwork[0, 0]
    cdef Py_ssize_t wstride = work.shape[1]
    cdef Py_ssize_t iwstride = iwork.shape[1]
    for j in prange(row_start, row_end, nogil=True, schedule="static", num_threads=nthreads):
        tid = threadid()
        for b in range(nblk):
            i0 = b * nb
            width = ncol - i0 if ncol - i0 < nb else nb
            o = <Py_ssize_t> j * ncol + i0
            kk = 0
            ii = 0
            vv = 0.0
            _column_w(mp + o, lstride, fxp + o, fyp + o, ncol, i0, width, scale, psp + o, &dap[0], &dbp[0],
                      ap + o, g0, with_conv, nlev, wkp + tid * wstride, wkp + tid * wstride + wblk,
                      wkp + tid * wstride + wblk + nb)
            # the inputs of this thread's next block (static schedule: the next block of the row,
            # else the first of the next row) are prefetched during the last tracer
            jn = j if b + 1 < nblk else j + 1
            i0n = i0 + nb if b + 1 < nblk else 0
            on = <Py_ssize_t> jn * ncol + i0n
            pfn.np = 5 if jn < row_end else 0
            pfn.n = ncol - i0n if ncol - i0n < nb else nb
            pfn.p[0] = mp + on
            pfn.s[0] = lstride
            pfn.p[1] = qp + on
            pfn.s[1] = lstride
            pfn.p[2] = fxp + on
            pfn.s[2] = lstride
            pfn.p[3] = fyp + on
            pfn.s[3] = lstride + ncol
            pfn.p[4] = fyp + on + ncol
            pfn.s[4] = lstride + ncol
            pfn.ps[0] = 0
            pfn.ps[1] = 1
            pfn.ps[2] = 2
            pfn.ps[3] = 3
            pfn.ps[4] = 0
            code = _vrow(mp + o, qp + o, tstride, lstride, ntr, wkp + tid * wstride, nlev, width, scheme,
                         wkp + tid * wstride + wblk, iwp + tid * iwstride, &kk, &ii, &vv, &pfn)
            if code != 0 and sp[3 * j] == 0:
                sp[3 * j] = code
                sp[3 * j + 1] = kk
                sp[3 * j + 2] = ii + i0
                vp[j] = vv


def vadvect_columns(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] w, int scheme,
                    int[:, ::1] status, double[::1] value, double[:, ::1] work, int[:, ::1] iwork):
    """Vertical FFSL step in place for a few columns with given interface fluxes w (nlev+1,
    1, ncol) [kg per step] (the polar caps: one column each); one thread."""
    cdef int nlev = m.shape[0]
    cdef int ncol = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef Py_ssize_t wblk = <Py_ssize_t> (nlev + 1) * ncol
    cdef int k, i, code, kk = 0, ii = 0
    cdef double vv = 0.0
    cdef double* wb = &work[0, 0]
    cdef bint fct = scheme == FCT or scheme == EP
    if m.shape[1] != 1 or work.shape[1] < (11 if fct else 9) * wblk + (11 if fct else 8) * nlev * ncol:
        raise ValueError("vadvect_columns: m must be (nlev, 1, ncol) and work large enough")
    for k in range(nlev + 1):
        for i in range(ncol):
            wb[k * ncol + i] = w[k, 0, i]
    with nogil:
        code = _vrow(&m[0, 0, 0], &q[0, 0, 0, 0], <Py_ssize_t> nlev * ncol, ncol, ntr, wb, nlev, ncol, scheme,
                     wb + wblk, &iwork[0, 0], &kk, &ii, &vv)
    status[0, 0] = code
    status[0, 1] = kk
    status[0, 2] = ii
    value[0] = vv


# ---------------------------------------------------------------------------------------
# end-of-step surface pressure implied by the mass fluxes (TM5 construction)
# ---------------------------------------------------------------------------------------
def column_pressure(const double[:, :, ::1] m, const double[:, :, ::1] fx, const double[:, :, ::1] fy,
                    double scale, const double[::1] dap, const double[::1] dbp, const double[:, ::1] area,
                    double ptop, double g0, double[:, ::1] ps, double[:, ::1] cap_mc, double[:, ::1] cap_target,
                    long long[::1] nonfinite, double[:, ::1] msum, int nthreads=1):
    """End-of-step surface pressure ``ps`` = p_top + g/A sum_k (m_k + c_k) (c: horizontal
    convergence of fx, fy times ``scale``, summed upward in the same order in every column);
    for the polar-cap rows (0 and nlat-1) the per-level sums over the row of m + c and of the
    targets (dap + dbp ps) A/g (``cap_mc``, ``cap_target`` (nlev, 2)); ``nonfinite[j]``: how
    many non-finite values of fx/fy row j has (one pass over the fluxes serves both); ``msum``: the
    column sums of m alone, from the lowest layer up (the order of ``Atmosphere.surface_pressure``)."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int j, i, k, r
    cdef double c
    cdef long long nb
    for j in prange(nlat, nogil=True, schedule="static", num_threads=nthreads):
        nb = 0
        for i in range(nlon):
            ps[j, i] = 0.0
            msum[j, i] = m[0, j, i]
        for k in range(nlev):
            if k > 0:
                for i in range(nlon):
                    msum[j, i] = msum[j, i] + m[k, j, i]
            for i in range(nlon):
                nb = nb + (not ((fx[k, j, i] - fx[k, j, i]) == 0.0)) + (not ((fy[k, j, i] - fy[k, j, i]) == 0.0))
            if j == nlat - 1:
                for i in range(nlon):
                    nb = nb + (not ((fy[k, j + 1, i] - fy[k, j + 1, i]) == 0.0))
            for i in range(nlon - 1):
                ps[j, i] = ps[j, i] + (m[k, j, i] + ((fx[k, j, i] * scale - fx[k, j, i + 1] * scale)
                                                     + (fy[k, j, i] * scale - fy[k, j + 1, i] * scale)))
            i = nlon - 1
            ps[j, i] = ps[j, i] + (m[k, j, i] + ((fx[k, j, i] * scale - fx[k, j, 0] * scale)
                                                 + (fy[k, j, i] * scale - fy[k, j + 1, i] * scale)))
        nonfinite[j] = nb
        for i in range(nlon):
            ps[j, i] = ptop + ps[j, i] * g0 / area[j, i]
    for r in range(2):
        j = 0 if r == 0 else nlat - 1
        for k in range(nlev):
            cap_mc[k, r] = 0.0
            cap_target[k, r] = 0.0
            for i in range(nlon):
                if i < nlon - 1:
                    c = (fx[k, j, i] * scale - fx[k, j, i + 1] * scale) + (fy[k, j, i] * scale - fy[k, j + 1, i] * scale)
                else:
                    c = (fx[k, j, i] * scale - fx[k, j, 0] * scale) + (fy[k, j, i] * scale - fy[k, j + 1, i] * scale)
                cap_mc[k, r] += m[k, j, i] + c
                cap_target[k, r] += (dap[k] + dbp[k] * ps[j, i]) * (area[j, i] / g0)


def scan_finite(const double[::1] x, double vmin, int mode, int nthreads=1):
    """How many values of x are non-finite (mode 0), or non-finite or below vmin (mode 1), or
    non-finite or not above vmin (mode 2): one parallel pass, no temporaries."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t nchunk = 64
    cdef Py_ssize_t csize = (n + nchunk - 1) // nchunk
    cdef Py_ssize_t c, i, a, b
    cdef long long cnt, total = 0
    cdef double v
    for c in prange(nchunk, nogil=True, schedule="static", num_threads=nthreads):
        cnt = 0
        a = c * csize
        b = a + csize
        if b > n:
            b = n
        if mode == 0:
            for i in range(a, b):
                cnt = cnt + (not ((x[i] - x[i]) == 0.0))
        elif mode == 1:
            for i in range(a, b):
                v = x[i]
                cnt = cnt + (not ((v - v) == 0.0)) + (not (v >= vmin))
        else:
            for i in range(a, b):
                v = x[i]
                cnt = cnt + (not ((v - v) == 0.0)) + (not (v > vmin))
        total += cnt
    return total
