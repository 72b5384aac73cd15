# cython: language_level=3
"""Hot loops of the meteorology: time interpolation and face mass fluxes (wrapped by
esm.meteorology.massflux / eddies / reanalysis, which check shapes and dtypes and choose ``nthreads``).

Arrays are (nlev, nlat, nlon) C-ordered; loops keep the longitude index innermost (contiguous) and
every output element is computed by one fixed sequence of operations, whatever the thread count
(column sums run over the levels in order 0, 1, ..., nlev-1), so results are bit-for-bit reproducible.
"""
import numpy as np

from cython.parallel import prange, threadid

cimport cython


@cython.boundscheck(False)
@cython.wraparound(False)
def lerp(const double[::1] x0, const double[::1] x1, double a, double[::1] out, int nthreads=1):
    """out = (1 - a) x0 + a x1, element-wise over flat arrays."""
    cdef Py_ssize_t n = out.shape[0]
    cdef Py_ssize_t i
    cdef double b = 1.0 - a
    if x0.shape[0] != n or x1.shape[0] != n:
        raise ValueError("lerp: x0, x1 and out differ in size")
    for i in prange(n, nogil=True, num_threads=nthreads, schedule="static"):
        out[i] = b * x0[i] + a * x1[i]


@cython.boundscheck(False)
@cython.wraparound(False)
def winds_to_fluxes(const double[:, :, ::1] u, const double[:, :, ::1] v, const double[:, :, ::1] dp,
                    double dy_over_g, const double[::1] dxe_over_g, double[:, :, ::1] mfx, double[:, :, ::1] mfy,
                    int nthreads=1):
    """Face mass fluxes from cell-centre winds: west faces (periodic) and south faces (poles zero).

    mfx[k,j,i] = (u[k,j,i-1] + u[k,j,i])/2 (dp[k,j,i-1] + dp[k,j,i])/2 dy/g
    mfy[k,j,i] = (v[k,j-1,i] + v[k,j,i])/2 (dp[k,j-1,i] + dp[k,j,i])/2 dx_edge[j]/g
    """
    cdef Py_ssize_t nlev = u.shape[0]
    cdef Py_ssize_t nlat = u.shape[1]
    cdef Py_ssize_t nlon = u.shape[2]
    cdef Py_ssize_t k, j, i, im
    for k in prange(nlev, nogil=True, num_threads=nthreads, schedule="static"):
        for j in range(nlat):
            for i in range(nlon):
                im = i - 1 if i > 0 else nlon - 1
                mfx[k, j, i] = 0.25 * (u[k, j, im] + u[k, j, i]) * (dp[k, j, im] + dp[k, j, i]) * dy_over_g
        for i in range(nlon):
            mfy[k, 0, i] = 0.0
            mfy[k, nlat, i] = 0.0
        for j in range(1, nlat):
            for i in range(nlon):
                mfy[k, j, i] = 0.25 * (v[k, j - 1, i] + v[k, j, i]) * (dp[k, j - 1, i] + dp[k, j, i]) * dxe_over_g[j]


# Column corrections are shared among the layers by the face thickness (dp_west + dp_east over the
# column sum of the same). The loops run level by level over contiguous (lat, lon) slabs (streaming
# through memory) with row kernels on raw pointers (so that the C compiler keeps everything in
# registers); column totals and divergences are accumulated over the levels in order 0, 1, ..., so
# every value is the same whatever the thread count.

@cython.cdivision(True)
cdef inline double _hdp(const double* p0, const double* p1, double a, double b, double dap, double dbp,
                        Py_ssize_t i) noexcept nogil:
    """Layer thickness of a hybrid coordinate interpolated in time: (1 - a) dp(ps0) + a dp(ps1)."""
    return b * (dap + dbp * p0[i]) + a * (dap + dbp * p1[i])


@cython.cdivision(True)
cdef inline void _dp_row(const double* p0, const double* p1, double a, double b, double dap, double dbp,
                         double* d, Py_ssize_t nlon) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(nlon):
        d[i] = _hdp(p0, p1, a, b, dap, dbp, i)


@cython.cdivision(True)
cdef inline void _totals_row(const double* dc, const double* ds, double* tx, double* ty, Py_ssize_t nlon,
                             bint south) noexcept nogil:
    """tx += dp_west + dp_east of the row's west faces; ty += dp_south + dp_north of its south faces."""
    cdef Py_ssize_t i
    tx[0] = tx[0] + dc[nlon - 1] + dc[0]
    for i in range(1, nlon):
        tx[i] = tx[i] + dc[i - 1] + dc[i]
    if south:
        for i in range(nlon):
            ty[i] = ty[i] + ds[i] + dc[i]


@cython.cdivision(True)
cdef inline void _correct_rows(const double* fx, const double* fy, const double* dc, const double* ds,
                               const double* tx, const double* ty, const double* mx, const double* my, double* ox,
                               double* oy, Py_ssize_t nlon, bint south) noexcept nogil:
    """ox = mx + fx (dp_w + dp_e) / tx on the row's west faces; oy likewise on its south faces (if south,
    else copied). In place when ox is mx and oy is my."""
    cdef Py_ssize_t i
    ox[0] = mx[0] + fx[0] * ((dc[nlon - 1] + dc[0]) / tx[0])
    for i in range(1, nlon):
        ox[i] = mx[i] + fx[i] * ((dc[i - 1] + dc[i]) / tx[i])
    if south:
        for i in range(nlon):
            oy[i] = my[i] + fy[i] * ((ds[i] + dc[i]) / ty[i])
    elif oy != my:
        for i in range(nlon):
            oy[i] = my[i]


cdef inline void _div_row(const double* mx, const double* ys, const double* yn, double* d, Py_ssize_t nlon) noexcept nogil:
    """d += (east - west) + (north - south) outflow of the row's cells for one level."""
    cdef Py_ssize_t i
    for i in range(nlon - 1):
        d[i] = d[i] + (mx[i + 1] - mx[i]) + (yn[i] - ys[i])
    d[nlon - 1] = d[nlon - 1] + (mx[0] - mx[nlon - 1]) + (yn[nlon - 1] - ys[nlon - 1])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def add_column_correction(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, :, ::1] dp,
                          double[:, :, ::1] mfx, double[:, :, ::1] mfy, int nthreads=1):
    """Share column correction fluxes among layers in proportion to the face pressure thickness.

    fx (nlat, nlon) on west faces, fy (nlat+1, nlon) on south faces (rows 0 and nlat untouched).
    """
    cdef Py_ssize_t nlev = dp.shape[0]
    cdef Py_ssize_t nlat = dp.shape[1]
    cdef Py_ssize_t nlon = dp.shape[2]
    cdef Py_ssize_t k, j
    cdef double[:, ::1] tx = np.zeros((nlat, nlon))
    cdef double[:, ::1] ty = np.zeros((nlat + 1, nlon))
    if fx.shape[0] != nlat or fx.shape[1] != nlon or fy.shape[0] != nlat + 1 or mfx.shape[0] != nlev \
            or mfx.shape[1] != nlat or mfx.shape[2] != nlon or mfy.shape[1] != nlat + 1:
        raise ValueError("add_column_correction: array shapes do not match")
    with nogil:
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _totals_row(&dp[k, j, 0], &dp[k, j - 1 if j > 0 else 0, 0], &tx[j, 0], &ty[j, 0], nlon, j > 0)
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _correct_rows(&fx[j, 0], &fy[j, 0], &dp[k, j, 0], &dp[k, j - 1 if j > 0 else 0, 0], &tx[j, 0],
                              &ty[j, 0], &mfx[k, j, 0], &mfy[k, j, 0], &mfx[k, j, 0], &mfy[k, j, 0], nlon, j > 0)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _hybrid_level(const double* p0, const double* p1, double a, double dap, double dbp, Py_ssize_t j,
                        Py_ssize_t nlon, double* dc, double* ds) noexcept nogil:
    """Layer thickness of one level on row j (dc) and row j-1 (ds, if j > 0)."""
    cdef double b = 1.0 - a
    _dp_row(p0 + j * nlon, p1 + j * nlon, a, b, dap, dbp, dc, nlon)
    if j > 0:
        _dp_row(p0 + (j - 1) * nlon, p1 + (j - 1) * nlon, a, b, dap, dbp, ds, nlon)


cdef double[:, ::1] _hybrid_totals(const double[:, ::1] ps0, const double[:, ::1] ps1, double a, const double[::1] dap,
                                   const double[::1] dbp, double[:, ::1] tx, double[:, ::1] ty, int nthreads):
    """Column totals of the face thickness (west faces into tx, south faces into ty); returns the per-thread
    row work space (2 nlon per thread) for the callers' second pass."""
    cdef Py_ssize_t nlev = dap.shape[0]
    cdef Py_ssize_t nlat = ps0.shape[0]
    cdef Py_ssize_t nlon = ps0.shape[1]
    cdef Py_ssize_t k, j
    cdef int t
    cdef const double* p0 = &ps0[0, 0]
    cdef const double* p1 = &ps1[0, 0]
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), 2 * nlon))
    with nogil:
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                t = threadid()
                _hybrid_level(p0, p1, a, dap[k], dbp[k], j, nlon, &work[t, 0], &work[t, nlon])
                _totals_row(&work[t, 0], &work[t, nlon], &tx[j, 0], &ty[j, 0], nlon, j > 0)
    return work


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def add_column_correction_hybrid(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, ::1] ps0,
                                 const double[:, ::1] ps1, double a, const double[::1] dap, const double[::1] dbp,
                                 double[:, :, ::1] mfx, double[:, :, ::1] mfy, int nthreads=1):
    """:func:`add_column_correction` with the layer thickness of a hybrid coordinate interpolated in time,
    ``dp_k = (1 - a) (dap_k + dbp_k ps0) + a (dap_k + dbp_k ps1)``, computed on the fly (no 3-D array)."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j
    cdef int t
    cdef double[:, ::1] tx = np.zeros((nlat, nlon))
    cdef double[:, ::1] ty = np.zeros((nlat + 1, nlon))
    if ps0.shape[0] != nlat or ps0.shape[1] != nlon or ps1.shape[0] != nlat or ps1.shape[1] != nlon \
            or dap.shape[0] != nlev or dbp.shape[0] != nlev or mfy.shape[1] != nlat + 1:
        raise ValueError("add_column_correction_hybrid: array shapes do not match")
    cdef double[:, ::1] work = _hybrid_totals(ps0, ps1, a, dap, dbp, tx, ty, nthreads)
    cdef const double* p0 = &ps0[0, 0]
    cdef const double* p1 = &ps1[0, 0]
    with nogil:
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                t = threadid()
                _hybrid_level(p0, p1, a, dap[k], dbp[k], j, nlon, &work[t, 0], &work[t, nlon])
                _correct_rows(&fx[j, 0], &fy[j, 0], &work[t, 0], &work[t, nlon], &tx[j, 0], &ty[j, 0],
                              &mfx[k, j, 0], &mfy[k, j, 0], &mfx[k, j, 0], &mfy[k, j, 0], nlon, j > 0)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def correct_and_divergence_hybrid(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, ::1] ps0,
                                  const double[:, ::1] ps1, double a, const double[::1] dap, const double[::1] dbp,
                                  const double[:, :, ::1] mfx, const double[:, :, ::1] mfy, double[:, :, ::1] ox,
                                  double[:, :, ::1] oy, double[:, ::1] div, int nthreads=1):
    """:func:`add_column_correction_hybrid` out of place (``ox``/``oy`` = corrected ``mfx``/``mfy``) and the
    column divergence of the corrected fluxes (the same values, summed in the same order, as
    :func:`column_divergence`), level by level while the level's slab is in cache."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i
    cdef int t
    if ox.shape[0] != nlev or ox.shape[1] != nlat or ox.shape[2] != nlon or oy.shape[1] != nlat + 1 \
            or mfy.shape[1] != nlat + 1 or div.shape[0] != nlat or div.shape[1] != nlon \
            or ps0.shape[0] != nlat or ps0.shape[1] != nlon or dap.shape[0] != nlev:
        raise ValueError("correct_and_divergence_hybrid: array shapes do not match")
    cdef double[:, ::1] tx = np.zeros((nlat, nlon))
    cdef double[:, ::1] ty = np.zeros((nlat + 1, nlon))
    cdef double[:, ::1] work = _hybrid_totals(ps0, ps1, a, dap, dbp, tx, ty, nthreads)
    cdef const double* p0 = &ps0[0, 0]
    cdef const double* p1 = &ps1[0, 0]
    with nogil:
        for j in range(nlat):
            for i in range(nlon):
                div[j, i] = 0.0
        for k in range(nlev):
            for i in range(nlon):
                oy[k, nlat, i] = mfy[k, nlat, i]
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                t = threadid()
                _hybrid_level(p0, p1, a, dap[k], dbp[k], j, nlon, &work[t, 0], &work[t, nlon])
                _correct_rows(&fx[j, 0], &fy[j, 0], &work[t, 0], &work[t, nlon], &tx[j, 0], &ty[j, 0],
                              &mfx[k, j, 0], &mfy[k, j, 0], &ox[k, j, 0], &oy[k, j, 0], nlon, j > 0)
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _div_row(&ox[k, j, 0], &oy[k, j, 0], &oy[k, j + 1, 0], &div[j, 0], nlon)


@cython.boundscheck(False)
@cython.wraparound(False)
def column_divergence(const double[:, :, ::1] mfx, const double[:, :, ::1] mfy, double[:, ::1] out, int nthreads=1):
    """Net horizontal outflow of every column [kg s-1], summed over levels in a fixed order (0, 1, ...)."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i
    if mfy.shape[0] != nlev or mfy.shape[1] != nlat + 1 or mfy.shape[2] != nlon or out.shape[0] != nlat \
            or out.shape[1] != nlon:
        raise ValueError("column_divergence: array shapes do not match")
    with nogil:
        for j in range(nlat):
            for i in range(nlon):
                out[j, i] = 0.0
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _div_row(&mfx[k, j, 0], &mfy[k, j, 0], &mfy[k, j + 1, 0], &out[j, 0], nlon)


@cython.boundscheck(False)
@cython.wraparound(False)
def add_streamfunction_fluxes(const double[:, :, ::1] wc0, const double[:, :, ::1] wc1, double a,
                              const double[:, ::1] psi, double[:, :, ::1] mfx, double[:, :, ::1] mfy,
                              int nthreads=1):
    """Add the fluxes of the mass streamfunction Psi = wc psi at the cell corners (in place), with the
    corner weights interpolated in time, ``wc = (1 - a) wc0 + a wc1``:
    mfx[k,j,i] -= Psi[k,j+1,i] - Psi[k,j,i];  mfy[k,j,i] += Psi[k,j,i+1] - Psi[k,j,i] (j = 1..nlat-1)."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, ip
    cdef double b = 1.0 - a
    for k in prange(nlev, nogil=True, num_threads=nthreads, schedule="static"):
        for j in range(nlat):
            for i in range(nlon):
                mfx[k, j, i] = mfx[k, j, i] - ((b * wc0[k, j + 1, i] + a * wc1[k, j + 1, i]) * psi[j + 1, i]
                                               - (b * wc0[k, j, i] + a * wc1[k, j, i]) * psi[j, i])
        for j in range(1, nlat):
            for i in range(nlon):
                ip = i + 1 if i < nlon - 1 else 0
                mfy[k, j, i] = mfy[k, j, i] + ((b * wc0[k, j, ip] + a * wc1[k, j, ip]) * psi[j, ip]
                                               - (b * wc0[k, j, i] + a * wc1[k, j, i]) * psi[j, i])


@cython.boundscheck(False)
@cython.wraparound(False)
def mean_and_eddy_fluxes(const double[:, :, ::1] mfx0, const double[:, :, ::1] mfx1, const double[:, :, ::1] mfy0,
                         const double[:, :, ::1] mfy1, const double[:, :, ::1] wc0, const double[:, :, ::1] wc1,
                         double a, const double[:, ::1] psi, bint eddies, double[:, :, ::1] mfx,
                         double[:, :, ::1] mfy, int nthreads=1):
    """Mean-flow fluxes interpolated in time plus the eddy streamfunction fluxes, in one pass:
    ``mfx = lerp(mfx0, mfx1) - (Psi[j+1] - Psi[j])``, ``mfy = lerp(mfy0, mfy1) + (Psi[i+1] - Psi[i])``
    (interior rows), with ``Psi = lerp(wc0, wc1) psi`` (``eddies`` false: the interpolation only).
    The same operations as :func:`lerp` followed by :func:`add_streamfunction_fluxes`."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, ip
    cdef double b = 1.0 - a
    for k in prange(nlev, nogil=True, num_threads=nthreads, schedule="static"):
        for j in range(nlat):
            for i in range(nlon):
                mfx[k, j, i] = b * mfx0[k, j, i] + a * mfx1[k, j, i]
                if eddies:
                    mfx[k, j, i] = mfx[k, j, i] - ((b * wc0[k, j + 1, i] + a * wc1[k, j + 1, i]) * psi[j + 1, i]
                                                   - (b * wc0[k, j, i] + a * wc1[k, j, i]) * psi[j, i])
        for j in range(nlat + 1):
            for i in range(nlon):
                mfy[k, j, i] = b * mfy0[k, j, i] + a * mfy1[k, j, i]
                if eddies and j > 0 and j < nlat:
                    ip = i + 1 if i < nlon - 1 else 0
                    mfy[k, j, i] = mfy[k, j, i] + ((b * wc0[k, j, ip] + a * wc1[k, j, ip]) * psi[j, ip]
                                                   - (b * wc0[k, j, i] + a * wc1[k, j, i]) * psi[j, i])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def tridiagonal_sweeps(const double[:, ::1] a, const double[:, ::1] cp, const double[:, ::1] inv_den,
                       double[:, ::1] x):
    """Solve ``a_j x_{j-1} + b_j x_j + c_j x_{j+1} = r_j`` for every column m in place (``x`` holds r on
    entry), with the forward-elimination factors ``cp`` = c_j / den_j and ``inv_den`` = 1 / den_j
    precomputed (Thomas algorithm); rows j = 0..n-1, columns independent."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t nm = x.shape[1]
    cdef Py_ssize_t j, m
    if a.shape[0] != n or cp.shape[0] != n or inv_den.shape[0] != n or a.shape[1] != nm or cp.shape[1] != nm \
            or inv_den.shape[1] != nm:
        raise ValueError("tridiagonal_sweeps: coefficient and right-hand-side shapes differ")
    with nogil:
        for m in range(nm):
            x[0, m] = x[0, m] * inv_den[0, m]
        for j in range(1, n):
            for m in range(nm):
                x[j, m] = (x[j, m] - a[j, m] * x[j - 1, m]) * inv_den[j, m]
        for j in range(n - 2, -1, -1):
            for m in range(nm):
                x[j, m] = x[j, m] - cp[j, m] * x[j + 1, m]


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def centre_winds_hybrid(const double[:, :, ::1] mfx, const double[:, :, ::1] mfy, const double[:, ::1] ps0,
                        const double[:, ::1] ps1, double a, const double[::1] dap, const double[::1] dbp,
                        double g_over_dy, const double[::1] g_over_dxe, double[:, :, ::1] u, double[:, :, ::1] v,
                        int nthreads=1):
    """Cell-centre winds implied by face mass fluxes, with the layer thickness of a hybrid coordinate
    interpolated in time (as :func:`add_column_correction_hybrid`): u is the mean of the west and east
    face velocities ``mfx g / (dp_face dy)``, v of the south and north ones ``mfy g / (dp_face dx_edge)``
    (only the inner one at the polar rows, where dx_edge = 0: ``g_over_dxe`` is 0 there)."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, ip, im
    cdef double b = 1.0 - a
    cdef double dc, dw, de, ds, dn, uw, ue, vs, vn
    for k in prange(nlev, nogil=True, num_threads=nthreads, schedule="static"):
        for j in range(nlat):
            for i in range(nlon):
                im = i - 1 if i > 0 else nlon - 1
                ip = i + 1 if i < nlon - 1 else 0
                dc = b * (dap[k] + dbp[k] * ps0[j, i]) + a * (dap[k] + dbp[k] * ps1[j, i])
                dw = b * (dap[k] + dbp[k] * ps0[j, im]) + a * (dap[k] + dbp[k] * ps1[j, im])
                de = b * (dap[k] + dbp[k] * ps0[j, ip]) + a * (dap[k] + dbp[k] * ps1[j, ip])
                uw = mfx[k, j, i] * g_over_dy / (0.5 * (dc + dw))
                ue = mfx[k, j, ip] * g_over_dy / (0.5 * (de + dc))
                u[k, j, i] = 0.5 * (uw + ue)
                if j > 0:
                    ds = b * (dap[k] + dbp[k] * ps0[j - 1, i]) + a * (dap[k] + dbp[k] * ps1[j - 1, i])
                    vs = mfy[k, j, i] * g_over_dxe[j] / (0.5 * (dc + ds))
                if j < nlat - 1:
                    dn = b * (dap[k] + dbp[k] * ps0[j + 1, i]) + a * (dap[k] + dbp[k] * ps1[j + 1, i])
                    vn = mfy[k, j + 1, i] * g_over_dxe[j + 1] / (0.5 * (dn + dc))
                if j == 0:
                    v[k, j, i] = vn
                elif j == nlat - 1:
                    v[k, j, i] = vs
                else:
                    v[k, j, i] = 0.5 * (vs + vn)


cdef inline void _assemble_rows(const double* x0, const double* x1, const double* y0, const double* y1,
                                const double* w0s, const double* w1s, const double* w0n, const double* w1n,
                                const double* psis, const double* psin, double a, bint eddies, bint xrow, bint yeddy,
                                double* x, double* y, Py_ssize_t nlon) noexcept nogil:
    """One row of one level: x (west faces of row j) = lerp - (Psi_north - Psi_south) if ``xrow``;
    y (south faces j) = lerp + (Psi_east - Psi_west) (eddies only if ``yeddy``), Psi = lerp(wc) psi at the
    corners of rows j (``s``) and j+1 (``n``)."""
    cdef Py_ssize_t i, ip
    cdef double b = 1.0 - a
    if xrow:
        for i in range(nlon):
            x[i] = b * x0[i] + a * x1[i]
            if eddies:
                x[i] = x[i] - ((b * w0n[i] + a * w1n[i]) * psin[i] - (b * w0s[i] + a * w1s[i]) * psis[i])
    for i in range(nlon):
        y[i] = b * y0[i] + a * y1[i]
        if yeddy:
            ip = i + 1 if i < nlon - 1 else 0
            y[i] = y[i] + ((b * w0s[ip] + a * w1s[ip]) * psis[ip] - (b * w0s[i] + a * w1s[i]) * psis[i])


@cython.boundscheck(False)
@cython.wraparound(False)
def mean_and_eddy_fluxes_div(const double[:, :, ::1] mfx0, const double[:, :, ::1] mfx1,
                             const double[:, :, ::1] mfy0, const double[:, :, ::1] mfy1, const double[:, :, ::1] wc0,
                             const double[:, :, ::1] wc1, double a, const double[:, ::1] psi, bint eddies,
                             double[:, :, ::1] mfx, double[:, :, ::1] mfy, double[:, ::1] div, int nthreads=1):
    """:func:`mean_and_eddy_fluxes` and the column divergence of the result (the same values, summed in
    the same order, as :func:`column_divergence`), level by level while the level's slab is in cache."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, jn
    if div.shape[0] != nlat or div.shape[1] != nlon or mfy.shape[1] != nlat + 1 or mfy.shape[0] != nlev \
            or wc0.shape[1] != nlat + 1 or wc1.shape[1] != nlat + 1 or mfx0.shape[1] != nlat \
            or mfy0.shape[1] != nlat + 1 or (eddies and (psi.shape[0] != nlat + 1 or psi.shape[1] != nlon)):
        raise ValueError("mean_and_eddy_fluxes_div: array shapes do not match")
    with nogil:
        for j in range(nlat):
            for i in range(nlon):
                div[j, i] = 0.0
        for k in range(nlev):
            for j in prange(nlat + 1, num_threads=nthreads, schedule="static"):
                jn = j + 1 if j < nlat else j
                _assemble_rows(&mfx0[k, j if j < nlat else 0, 0], &mfx1[k, j if j < nlat else 0, 0], &mfy0[k, j, 0],
                               &mfy1[k, j, 0], &wc0[k, j, 0], &wc1[k, j, 0], &wc0[k, jn, 0], &wc1[k, jn, 0],
                               &psi[j if eddies else 0, 0], &psi[jn if eddies else 0, 0], a, eddies, j < nlat,
                               eddies and j > 0 and j < nlat, &mfx[k, j if j < nlat else 0, 0], &mfy[k, j, 0], nlon)
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _div_row(&mfx[k, j, 0], &mfy[k, j, 0], &mfy[k, j + 1, 0], &div[j, 0], nlon)


cdef inline void _corner_row(const double* w0, const double* w1, const double* psi, double a, double b,
                             double* out, Py_ssize_t nlon) noexcept nogil:
    """Eddy streamfunction of one corner row of one level: ``(b w0 + a w1) psi`` (the corner weights
    ``E(p) dp / g`` interpolated in time, times the velocity streamfunction)."""
    cdef Py_ssize_t i
    for i in range(nlon):
        out[i] = (b * w0[i] + a * w1[i]) * psi[i]


cdef inline void _fixed_rows(const double* x0, const double* x1, const double* y0, const double* y1,
                             const double* cs, const double* cn, double a, bint eddies, bint xrow, bint inner,
                             const double* ax, const double* bx, const double* ay, const double* by, double dap,
                             double dbp, double* x, double* y, Py_ssize_t nlon) noexcept nogil:
    """One row of one level of the corrected fluxes: the interpolated mean flow, the eddies (corner
    streamfunction rows ``cs`` south, ``cn`` north, from :func:`_corner_row`) and the column correction
    shared by the face thickness, ``a dap_k + b dbp_k`` with the per-column coefficients ``a = 2 F / T``,
    ``b = F S / T`` (``F`` the column correction, ``S`` the sum of the two cells' surface pressures,
    ``T`` the column total of the face thickness): the face thickness ``2 dap_k + dbp_k S`` of the
    hybrid coordinate, linear in ``ps``, over ``T``, without a division per element.
    ``inner``: a face row strictly between the poles. The longitude loops have no branch inside, so
    they vectorise."""
    cdef Py_ssize_t i
    cdef double b = 1.0 - a
    if xrow:
        if eddies:
            for i in range(nlon):
                x[i] = (b * x0[i] + a * x1[i]) - (cn[i] - cs[i]) + (ax[i] * dap + bx[i] * dbp)
        else:
            for i in range(nlon):
                x[i] = (b * x0[i] + a * x1[i]) + (ax[i] * dap + bx[i] * dbp)
    if inner:
        if eddies:
            for i in range(nlon - 1):
                y[i] = (b * y0[i] + a * y1[i]) + (cs[i + 1] - cs[i]) + (ay[i] * dap + by[i] * dbp)
            i = nlon - 1
            y[i] = (b * y0[i] + a * y1[i]) + (cs[0] - cs[i]) + (ay[i] * dap + by[i] * dbp)
        else:
            for i in range(nlon):
                y[i] = (b * y0[i] + a * y1[i]) + (ay[i] * dap + by[i] * dbp)
    else:
        for i in range(nlon):
            y[i] = b * y0[i] + a * y1[i]


cdef void _fixed_block(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t nlev, Py_ssize_t nlat, Py_ssize_t nlon,
                       const double* x0, const double* x1, const double* y0, const double* y1, const double* w0,
                       const double* w1, const double* psi, double a, bint eddies, const double* ax,
                       const double* bx, const double* ay, const double* by, const double* dap, const double* dbp,
                       double* ox, double* oy, double* div, double* corner, double* yb) noexcept nogil:
    """Rows ``j0 <= j < j1`` of every level of :func:`corrected_fluxes`: the west faces of the rows, their
    south faces (and the north pole's, if ``j1 == nlat``) and the rows' column divergence, summed over the
    levels in order. The south faces of row ``j1`` (another block's) are recomputed into ``yb`` (the same
    operations, so the same values) for the divergence: blocks share no output and need no barrier.
    ``corner``: scratch for the corner rows ``j0..j1`` of one level, ``yb`` one row."""
    cdef Py_ssize_t k, j, i, ox_k, oy_k
    cdef double b = 1.0 - a
    cdef const double* north
    for j in range(j0, j1):
        for i in range(nlon):
            div[j * nlon + i] = 0.0
    for k in range(nlev):
        ox_k = k * nlat * nlon
        oy_k = k * (nlat + 1) * nlon
        if eddies:
            for j in range(j0, j1 + 1):
                _corner_row(w0 + oy_k + j * nlon, w1 + oy_k + j * nlon, psi + j * nlon, a, b,
                            corner + (j - j0) * nlon, nlon)
        for j in range(j0, j1):
            _fixed_rows(x0 + ox_k + j * nlon, x1 + ox_k + j * nlon, y0 + oy_k + j * nlon, y1 + oy_k + j * nlon,
                        corner + (j - j0) * nlon, corner + (j - j0 + 1) * nlon, a, eddies, True, j > 0,
                        ax + j * nlon, bx + j * nlon, ay + j * nlon, by + j * nlon, dap[k], dbp[k],
                        ox + ox_k + j * nlon, oy + oy_k + j * nlon, nlon)
        if j1 == nlat:  # the north pole's faces (no correction, no eddies)
            north = oy + oy_k + nlat * nlon
            _fixed_rows(x0, x1, y0 + oy_k + nlat * nlon, y1 + oy_k + nlat * nlon, corner, corner, a, eddies,
                        False, False, ax, bx, ay + nlat * nlon, by + nlat * nlon, dap[k], dbp[k], ox,
                        oy + oy_k + nlat * nlon, nlon)
        else:
            north = yb
            _fixed_rows(x0, x1, y0 + oy_k + j1 * nlon, y1 + oy_k + j1 * nlon, corner + (j1 - j0) * nlon,
                        corner + (j1 - j0) * nlon, a, eddies, False, True, ax, bx, ay + j1 * nlon,
                        by + j1 * nlon, dap[k], dbp[k], ox, yb, nlon)
        for j in range(j0, j1):
            _div_row(ox + ox_k + j * nlon, oy + oy_k + j * nlon,
                     oy + oy_k + (j + 1) * nlon if j + 1 < j1 else north, div + j * nlon, nlon)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def corrected_fluxes(const double[:, :, ::1] mfx0, const double[:, :, ::1] mfx1, const double[:, :, ::1] mfy0,
                     const double[:, :, ::1] mfy1, const double[:, :, ::1] wc0, const double[:, :, ::1] wc1, double a,
                     const double[:, ::1] psi, bint eddies, const double[:, ::1] ax, const double[:, ::1] bx,
                     const double[:, ::1] ay, const double[:, ::1] by, const double[::1] dap,
                     const double[::1] dbp, double[:, :, ::1] ox, double[:, :, ::1] oy, double[:, ::1] div,
                     int nthreads=1):
    """The climatology's step fluxes in one pass through memory: mean flow interpolated between two records,
    eddies, and the pressure fixer's column corrections (coefficients ``ax``, ``bx`` on west faces, ``ay``,
    ``by`` on south faces; the correction of level k is ``a dap_k + b dbp_k``, see :func:`_fixed_rows`),
    into ``ox``, ``oy``; and the column divergence of the result into ``div`` (summed over the levels in
    order). Threads take blocks of latitude rows through all the levels in a single parallel region
    (no barrier per level: a thread waiting for a free core on a loaded machine delays only its own
    blocks); every value is the same whatever the thread count."""
    cdef Py_ssize_t nlev = ox.shape[0]
    cdef Py_ssize_t nlat = ox.shape[1]
    cdef Py_ssize_t nlon = ox.shape[2]
    cdef Py_ssize_t nblk, blk, j0, j1, rows
    if oy.shape[0] != nlev or oy.shape[1] != nlat + 1 or oy.shape[2] != nlon or mfx0.shape[0] != nlev \
            or mfx0.shape[1] != nlat or mfx0.shape[2] != nlon or mfx1.shape[0] != nlev or mfx1.shape[1] != nlat \
            or mfx1.shape[2] != nlon or mfy0.shape[0] != nlev or mfy0.shape[1] != nlat + 1 \
            or mfy0.shape[2] != nlon or mfy1.shape[0] != nlev or mfy1.shape[1] != nlat + 1 \
            or mfy1.shape[2] != nlon or ax.shape[0] != nlat or ax.shape[1] != nlon or bx.shape[0] != nlat \
            or bx.shape[1] != nlon or ay.shape[0] != nlat + 1 or ay.shape[1] != nlon or by.shape[0] != nlat + 1 \
            or by.shape[1] != nlon or dap.shape[0] != nlev or dbp.shape[0] != nlev or div.shape[0] != nlat \
            or div.shape[1] != nlon \
            or (eddies and (psi.shape[0] != nlat + 1 or psi.shape[1] != nlon or wc0.shape[0] != nlev
                            or wc0.shape[1] != nlat + 1 or wc0.shape[2] != nlon or wc1.shape[0] != nlev
                            or wc1.shape[1] != nlat + 1 or wc1.shape[2] != nlon)):
        raise ValueError("corrected_fluxes: array shapes do not match")
    nthreads = max(nthreads, 1)
    nblk = min(nlat, 1 if nthreads == 1 else 4 * nthreads)
    rows = (nlat + nblk - 1) // nblk
    cdef double[:, ::1] corner = np.zeros((nblk * (rows + 1), nlon))
    cdef double[:, ::1] yb = np.zeros((nblk, nlon))
    cdef const double* w0 = &wc0[0, 0, 0] if eddies else &ax[0, 0]
    cdef const double* w1 = &wc1[0, 0, 0] if eddies else &ax[0, 0]
    cdef const double* ps_ = &psi[0, 0]
    for blk in prange(nblk, nogil=True, num_threads=nthreads, schedule="dynamic"):
        j0 = blk * nlat // nblk
        j1 = (blk + 1) * nlat // nblk
        _fixed_block(j0, j1, nlev, nlat, nlon, &mfx0[0, 0, 0], &mfx1[0, 0, 0], &mfy0[0, 0, 0], &mfy1[0, 0, 0],
                     w0, w1, ps_, a, eddies, &ax[0, 0], &bx[0, 0], &ay[0, 0], &by[0, 0], &dap[0], &dbp[0],
                     &ox[0, 0, 0], &oy[0, 0, 0], &div[0, 0], &corner[blk * (rows + 1), 0], &yb[blk, 0])


@cython.boundscheck(False)
@cython.wraparound(False)
def packet_sum(const double[:, ::1] rows, const double[:, ::1] waves, double[:, ::1] out, int nthreads=1):
    """Sum of wave packets on the corners: ``out[j, i] = sum_n rows[n, j] waves[n, i]`` (latitude profile
    times zonal wave of packet n), summed over the packets in order (a small product: a fixed order
    on one thread, bit-for-bit the same on every machine, and no BLAS thread team, which on a loaded
    machine costs ~100x the arithmetic). ``nthreads``: threads over the corner rows (each element is
    summed over the packets in the same order on any thread: the same numbers for any count)."""
    cdef Py_ssize_t npk = rows.shape[0]
    cdef Py_ssize_t nc = rows.shape[1]
    cdef Py_ssize_t nlon = waves.shape[1]
    cdef Py_ssize_t n, j, i
    cdef double r
    if waves.shape[0] != npk or out.shape[0] != nc or out.shape[1] != nlon:
        raise ValueError("packet_sum: array shapes do not match")
    for j in prange(nc, nogil=True, num_threads=max(nthreads, 1), schedule="static"):
        for i in range(nlon):
            out[j, i] = 0.0
        for n in range(npk):
            r = rows[n, j]
            for i in range(nlon):
                out[j, i] = out[j, i] + r * waves[n, i]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _lerp_row(const double* x0, const double* x1, double a, double b, int interp, double* out,
                           Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if interp:
        for i in range(n):
            out[i] = b * x0[i] + a * x1[i]
    else:
        for i in range(n):
            out[i] = x0[i]


@cython.boundscheck(False)
@cython.wraparound(False)
def lerp_winds_to_fluxes(const double[:, :, ::1] u0, const double[:, :, ::1] u1, const double[:, :, ::1] v0,
                         const double[:, :, ::1] v1, double a, int interp, const double[:, ::1] ps,
                         const double[::1] dap, const double[::1] dbp, double dy_over_g,
                         const double[::1] dxe_over_g, double[:, :, ::1] dp, double[:, :, ::1] mfx,
                         double[:, :, ::1] mfy, int nthreads=1):
    """:func:`lerp` of the winds between two records, the hybrid layer thickness ``dp = dap + dbp ps``
    and :func:`winds_to_fluxes` in one pass (no 3-D wind arrays in between); ``interp = 0``: the winds
    are ``u0``/``v0`` themselves (``a = 0``). Every value is computed by the same operations as the
    three separate steps (lerp, ``VerticalCoordinate.layer_thickness``, winds_to_fluxes), so the
    results are bit-for-bit the same; ``dp`` is returned for the pressure fixer.
    """
    cdef Py_ssize_t nlev = u0.shape[0]
    cdef Py_ssize_t nlat = u0.shape[1]
    cdef Py_ssize_t nlon = u0.shape[2]
    cdef Py_ssize_t k, j, i, im
    cdef int t
    cdef double b = 1.0 - a
    cdef double dapk, dbpk
    # per thread: u row, v row (this and previous latitude), dp row (this and previous latitude)
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), 5 * nlon))
    cdef double* uw
    cdef double* vc
    cdef double* vp
    cdef double* dc
    cdef double* dq
    cdef double* sw
    for k in prange(nlev, nogil=True, num_threads=nthreads, schedule="static"):
        t = threadid()
        uw = &work[t, 0]
        vc = &work[t, nlon]
        vp = &work[t, 2 * nlon]
        dapk = dap[k]
        dbpk = dbp[k]
        for i in range(nlon):
            mfy[k, 0, i] = 0.0
            mfy[k, nlat, i] = 0.0
        for j in range(nlat):
            dc = &dp[k, j, 0]
            for i in range(nlon):
                dc[i] = dapk + dbpk * ps[j, i]
            _lerp_row(&u0[k, j, 0], &u1[k, j, 0], a, b, interp, uw, nlon)
            for i in range(nlon):
                im = i - 1 if i > 0 else nlon - 1
                mfx[k, j, i] = 0.25 * (uw[im] + uw[i]) * (dc[im] + dc[i]) * dy_over_g
            _lerp_row(&v0[k, j, 0], &v1[k, j, 0], a, b, interp, vc, nlon)
            if j > 0:
                dq = &dp[k, j - 1, 0]
                for i in range(nlon):
                    mfy[k, j, i] = 0.25 * (vp[i] + vc[i]) * (dq[i] + dc[i]) * dxe_over_g[j]
            sw = vp
            vp = vc
            vc = sw


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def correct_and_divergence(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, :, ::1] dp,
                           double[:, :, ::1] mfx, double[:, :, ::1] mfy, double[:, ::1] div, int nthreads=1):
    """:func:`add_column_correction` (in place) and the column divergence of the corrected fluxes (the
    same values, summed in the same order, as :func:`column_divergence` afterwards), level by level while
    the level's slab is in cache."""
    cdef Py_ssize_t nlev = dp.shape[0]
    cdef Py_ssize_t nlat = dp.shape[1]
    cdef Py_ssize_t nlon = dp.shape[2]
    cdef Py_ssize_t k, j, i
    if fx.shape[0] != nlat or fx.shape[1] != nlon or fy.shape[0] != nlat + 1 or mfx.shape[0] != nlev \
            or mfx.shape[1] != nlat or mfx.shape[2] != nlon or mfy.shape[0] != nlev or mfy.shape[1] != nlat + 1 \
            or mfy.shape[2] != nlon or div.shape[0] != nlat or div.shape[1] != nlon:
        raise ValueError("correct_and_divergence: array shapes do not match")
    cdef double[:, ::1] tx = np.zeros((nlat, nlon))
    cdef double[:, ::1] ty = np.zeros((nlat + 1, nlon))
    with nogil:
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _totals_row(&dp[k, j, 0], &dp[k, j - 1 if j > 0 else 0, 0], &tx[j, 0], &ty[j, 0], nlon, j > 0)
        for j in range(nlat):
            for i in range(nlon):
                div[j, i] = 0.0
        for k in range(nlev):
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _correct_rows(&fx[j, 0], &fy[j, 0], &dp[k, j, 0], &dp[k, j - 1 if j > 0 else 0, 0], &tx[j, 0],
                              &ty[j, 0], &mfx[k, j, 0], &mfy[k, j, 0], &mfx[k, j, 0], &mfy[k, j, 0], nlon, j > 0)
            for j in prange(nlat, num_threads=nthreads, schedule="static"):
                _div_row(&mfx[k, j, 0], &mfy[k, j, 0], &mfy[k, j + 1, 0], &div[j, 0], nlon)
