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


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef inline void _correct_level_row(const double[:, ::1] fx, const double[:, ::1] fy, double[:, :, ::1] mfx,
                                    double[:, :, ::1] mfy, Py_ssize_t k, Py_ssize_t j, Py_ssize_t nlon,
                                    const double* dc, const double* ds, const double* tx,
                                    const double* ty) noexcept nogil:
    """Add this level's share of the column corrections on row j (dc: the row's layer thickness, ds: the
    southern row's; tx, ty: column totals of the face thickness)."""
    cdef Py_ssize_t i
    mfx[k, j, 0] = mfx[k, j, 0] + fx[j, 0] * ((dc[nlon - 1] + dc[0]) / tx[0])
    for i in range(1, nlon):
        mfx[k, j, i] = mfx[k, j, i] + fx[j, i] * ((dc[i - 1] + dc[i]) / tx[i])
    if j > 0:
        for i in range(nlon):
            mfy[k, j, i] = mfy[k, j, i] + fy[j, i] * ((ds[i] + dc[i]) / ty[i])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef inline void _add_totals(Py_ssize_t j, Py_ssize_t nlon, const double* dc, const double* ds, double* tx,
                             double* ty) noexcept nogil:
    cdef Py_ssize_t i
    tx[0] = tx[0] + dc[nlon - 1] + dc[0]
    for i in range(1, nlon):
        tx[i] = tx[i] + dc[i - 1] + dc[i]
    if j > 0:
        for i in range(nlon):
            ty[i] = ty[i] + ds[i] + dc[i]


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _correct_row(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, :, ::1] dp,
                       double[:, :, ::1] mfx, double[:, :, ::1] mfy, Py_ssize_t j, double* tx, double* ty) noexcept nogil:
    cdef Py_ssize_t nlev = dp.shape[0]
    cdef Py_ssize_t nlon = dp.shape[2]
    cdef Py_ssize_t k, i
    for i in range(nlon):
        tx[i] = 0.0
        ty[i] = 0.0
    for k in range(nlev):
        _add_totals(j, nlon, &dp[k, j, 0], &dp[k, j - 1 if j > 0 else 0, 0], tx, ty)
    for k in range(nlev):
        _correct_level_row(fx, fy, mfx, mfy, k, j, nlon, &dp[k, j, 0], &dp[k, j - 1 if j > 0 else 0, 0], tx, ty)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def add_column_correction(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, :, ::1] dp,
                          double[:, :, ::1] mfx, double[:, :, ::1] mfy, int nthreads=1):
    """Share column correction fluxes among layers in proportion to the face pressure thickness.

    fx (nlat, nlon) on west faces, fy (nlat+1, nlon) on south faces (rows 0 and nlat untouched).
    """
    cdef Py_ssize_t nlat = dp.shape[1]
    cdef Py_ssize_t nlon = dp.shape[2]
    cdef Py_ssize_t j
    cdef int t
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), 2 * nlon))
    for j in prange(nlat, nogil=True, num_threads=nthreads, schedule="static"):
        t = threadid()
        _correct_row(fx, fy, dp, mfx, mfy, j, &work[t, 0], &work[t, nlon])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef inline void _hybrid_dp_row(const double[:, ::1] ps0, const double[:, ::1] ps1, double a, double b, double dap,
                                double dbp, Py_ssize_t j, Py_ssize_t nlon, double* d) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(nlon):
        d[i] = b * (dap + dbp * ps0[j, i]) + a * (dap + dbp * ps1[j, i])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _correct_row_hybrid(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, ::1] ps0,
                              const double[:, ::1] ps1, double a, const double[::1] dap, const double[::1] dbp,
                              double[:, :, ::1] mfx, double[:, :, ::1] mfy, Py_ssize_t j, double* tx,
                              double* ty) noexcept nogil:
    # tx, ty: column totals (2 nlon); dc, ds: this row's and the southern row's layer thickness (2 nlon)
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, i
    cdef double b = 1.0 - a
    cdef double* dc = tx + 2 * nlon
    cdef double* ds = tx + 3 * nlon
    for i in range(nlon):
        tx[i] = 0.0
        ty[i] = 0.0
    for k in range(nlev):
        _hybrid_dp_row(ps0, ps1, a, b, dap[k], dbp[k], j, nlon, dc)
        if j > 0:
            _hybrid_dp_row(ps0, ps1, a, b, dap[k], dbp[k], j - 1, nlon, ds)
        _add_totals(j, nlon, dc, ds, tx, ty)
    for k in range(nlev):
        _hybrid_dp_row(ps0, ps1, a, b, dap[k], dbp[k], j, nlon, dc)
        if j > 0:
            _hybrid_dp_row(ps0, ps1, a, b, dap[k], dbp[k], j - 1, nlon, ds)
        _correct_level_row(fx, fy, mfx, mfy, k, j, nlon, dc, ds, tx, ty)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def add_column_correction_hybrid(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, ::1] ps0,
                                 const double[:, ::1] ps1, double a, const double[::1] dap, const double[::1] dbp,
                                 double[:, :, ::1] mfx, double[:, :, ::1] mfy, int nthreads=1):
    """:func:`add_column_correction` with the layer thickness of a hybrid coordinate interpolated in time,
    ``dp_k = (1 - a) (dap_k + dbp_k ps0) + a (dap_k + dbp_k ps1)``, computed on the fly (no 3-D array)."""
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t j
    cdef int t
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), 4 * nlon))
    for j in prange(nlat, nogil=True, num_threads=nthreads, schedule="static"):
        t = threadid()
        _correct_row_hybrid(fx, fy, ps0, ps1, a, dap, dbp, mfx, mfy, j, &work[t, 0], &work[t, nlon])


@cython.boundscheck(False)
@cython.wraparound(False)
def column_divergence(const double[:, :, ::1] mfx, const double[:, :, ::1] mfy, double[:, ::1] out, int nthreads=1):
    """Net horizontal outflow of every column [kg s-1], summed over levels in a fixed order (0, 1, ...)."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, ip
    for j in prange(nlat, nogil=True, num_threads=nthreads, schedule="static"):
        for i in range(nlon):
            out[j, i] = 0.0
        for k in range(nlev):
            for i in range(nlon):
                ip = i + 1 if i < nlon - 1 else 0
                out[j, i] = out[j, i] + (mfx[k, j, ip] - mfx[k, j, i]) + (mfy[k, j + 1, i] - mfy[k, j, i])


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
