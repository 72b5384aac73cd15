# cython: language_level=3
"""Hot loops of the meteorology: time interpolation and face mass fluxes (wrapped by
esm.meteorology.massflux / reanalysis, which check shapes and dtypes)."""
from cython.parallel import prange

cimport cython


@cython.boundscheck(False)
@cython.wraparound(False)
def lerp(const double[::1] x0, const double[::1] x1, double a, double[::1] out):
    """out = (1 - a) x0 + a x1, element-wise over flat arrays."""
    cdef Py_ssize_t n = out.shape[0]
    cdef Py_ssize_t i
    cdef double b = 1.0 - a
    for i in prange(n, nogil=True, schedule="static"):
        out[i] = b * x0[i] + a * x1[i]


@cython.boundscheck(False)
@cython.wraparound(False)
def winds_to_fluxes(const double[:, :, ::1] u, const double[:, :, ::1] v, const double[:, :, ::1] dp,
                    double dy_over_g, const double[::1] dxe_over_g, double[:, :, ::1] mfx, double[:, :, ::1] mfy):
    """Face mass fluxes from cell-centre winds: west faces (periodic) and south faces (poles zero).

    mfx[k,j,i] = (u[k,j,i-1] + u[k,j,i])/2 (dp[k,j,i-1] + dp[k,j,i])/2 dy/g
    mfy[k,j,i] = (v[k,j-1,i] + v[k,j,i])/2 (dp[k,j-1,i] + dp[k,j,i])/2 dx_edge[j]/g
    """
    cdef Py_ssize_t nlev = u.shape[0]
    cdef Py_ssize_t nlat = u.shape[1]
    cdef Py_ssize_t nlon = u.shape[2]
    cdef Py_ssize_t k, j, i, im
    for k in prange(nlev, nogil=True, schedule="static"):
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
def add_column_correction(const double[:, ::1] fx, const double[:, ::1] fy, const double[:, :, ::1] dp,
                          double[:, :, ::1] mfx, double[:, :, ::1] mfy):
    """Share column correction fluxes among layers in proportion to the face pressure thickness.

    fx (nlat, nlon) on west faces, fy (nlat+1, nlon) on south faces (rows 0 and nlat untouched).
    """
    cdef Py_ssize_t nlev = dp.shape[0]
    cdef Py_ssize_t nlat = dp.shape[1]
    cdef Py_ssize_t nlon = dp.shape[2]
    cdef Py_ssize_t k, j, i, im
    cdef double tot, w
    for j in prange(nlat, nogil=True, schedule="static"):
        for i in range(nlon):
            im = i - 1 if i > 0 else nlon - 1
            tot = 0.0
            for k in range(nlev):
                tot = tot + dp[k, j, im] + dp[k, j, i]
            for k in range(nlev):
                w = (dp[k, j, im] + dp[k, j, i]) / tot
                mfx[k, j, i] = mfx[k, j, i] + fx[j, i] * w
            if j > 0:
                tot = 0.0
                for k in range(nlev):
                    tot = tot + dp[k, j - 1, i] + dp[k, j, i]
                for k in range(nlev):
                    w = (dp[k, j - 1, i] + dp[k, j, i]) / tot
                    mfy[k, j, i] = mfy[k, j, i] + fy[j, i] * w


@cython.boundscheck(False)
@cython.wraparound(False)
def column_divergence(const double[:, :, ::1] mfx, const double[:, :, ::1] mfy, double[:, ::1] out):
    """Net horizontal outflow of every column [kg s-1], summed over levels in a fixed order."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, ip
    cdef double s
    for j in prange(nlat, nogil=True, schedule="static"):
        for i in range(nlon):
            ip = i + 1 if i < nlon - 1 else 0
            s = 0.0
            for k in range(nlev):
                s = s + (mfx[k, j, ip] - mfx[k, j, i]) + (mfy[k, j + 1, i] - mfy[k, j, i])
            out[j, i] = s


@cython.boundscheck(False)
@cython.wraparound(False)
def add_streamfunction_fluxes(const double[:, :, ::1] wc, const double[:, ::1] psi, double[:, :, ::1] mfx,
                              double[:, :, ::1] mfy):
    """Add the fluxes of the mass streamfunction Psi = wc * psi at the cell corners (in place):
    mfx[k,j,i] -= Psi[k,j+1,i] - Psi[k,j,i];  mfy[k,j,i] += Psi[k,j,i+1] - Psi[k,j,i] (j = 1..nlat-1)."""
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, j, i, ip
    for k in prange(nlev, nogil=True, schedule="static"):
        for j in range(nlat):
            for i in range(nlon):
                mfx[k, j, i] = mfx[k, j, i] - (wc[k, j + 1, i] * psi[j + 1, i] - wc[k, j, i] * psi[j, i])
        for j in range(1, nlat):
            for i in range(nlon):
                ip = i + 1 if i < nlon - 1 else 0
                mfy[k, j, i] = mfy[k, j, i] + (wc[k, j, ip] * psi[j, ip] - wc[k, j, i] * psi[j, i])
