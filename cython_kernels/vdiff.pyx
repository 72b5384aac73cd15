# cython: language_level=3
"""Boundary-layer vertical diffusion: K profile of Holtslag & Boville (1993), implicit solve.

Kernels behind ``esm.transport.diffusion``; nothing here checks its arguments.

Eddy diffusivity at the layer interfaces (Holtslag & Boville 1993, J. Climate 6, 1825,
eq. 3.9 and appendix):

    K(z) = kappa w_t z (1 - z/h)^2   for 0 < z < h,   plus a background k_bg everywhere,

with h the boundary-layer height and the turbulent velocity scale w_t:
* stable or neutral surface layer (surface buoyancy flux <= 0, L > 0):
  w_t = u* / phi_h(z/L), phi_h = 1 + beta z/L (z/L <= 1), beta + z/L (z/L > 1)   (eqs. A3, A5);
* unstable, z < eps h: w_t = u* / phi_h, phi_h = (1 - gamma z/L)^(-1/2)       (eq. A6);
* unstable, eps h <= z < h: w_t = w_m / Pr, w_m = (u*^3 + c1 w*^3)^(1/3)       (eq. A11),
  w* = (g/theta_0 (w'theta')_0 h)^(1/3), Pr = phi_h/phi_m(eps h/L) + a kappa eps w*/w_m
  with phi_m = (1 - gamma z/L)^(-1/3)                                            (eqs. 3.10, A8, A13).
Obukhov length L = -u*^3 theta_0 / (kappa g (w'theta')_0), (w'theta')_0 = H / (rho_0 c_p),
rho_0 = p_s / (R_d T_2m), theta_0 ~ T_2m. The non-local (counter-gradient) term of HB93 is
not applied to tracers: their surface fluxes enter before the diffusion as a source.

Discretisation: interface heights from the hypsometric equation with the layer
temperatures; the exchange between layers k-1 and k over the step is the air mass
D_k = rho_k K_k / dz_k * A * dt (dz_k between layer mid-heights). Backward Euler:

    m_k q_k' + D_k (q_k' - q_{k-1}') + D_{k+1} (q_k' - q_{k+1}') = m_k q_k,

an M-matrix with column sums preserving sum m_k q_k; the Thomas algorithm on it operates
on non-negative numbers only, so q' >= 0 whenever q >= 0, and one factorisation serves
all tracers.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport log, pow, cbrt, sqrt

cdef double G0 = 9.80665
cdef double R_DRY = 8.314462618 / 28.9644e-3
cdef double CP_DRY = 1004.64


cdef inline double _phi_h_stable(double zeta, double beta) noexcept nogil:
    if zeta <= 1.0:
        return 1.0 + beta * zeta
    return beta + zeta


cdef int _column_k(const double* tcol, Py_ssize_t lstride, double ps, double h, double ustar, double shflx,
                   double t2m, const double* ap, const double* bp, int nlev,
                   double kappa, double eps, double c1, double a_pr, double beta, double gamma,
                   double k_bg, double ustar_min, double* z, double* rho_e, double* kz) noexcept nogil:
    """Interface heights z[0..nlev], interface density and K [m2 s-1]; returns the highest
    interface index with K > 0 (0 if none)."""
    cdef int k, ktop = 0
    cdef double pk, pk1, tint, us, rho0, wth, L, wstar = 0.0, wm = 1.0, pr = 1.0, zeta, phih, phim, wt, zz
    cdef double zs
    us = ustar if ustar > ustar_min else ustar_min
    rho0 = ps / (R_DRY * t2m)
    wth = shflx / (rho0 * CP_DRY)
    if wth != 0.0:
        L = -us * us * us * t2m / (kappa * G0 * wth)
    else:
        L = 1.0e30
    if wth > 0.0 and h > 0.0:
        wstar = cbrt(G0 / t2m * wth * h)
        wm = cbrt(us * us * us + c1 * wstar * wstar * wstar)
        zs = eps * h
        phih = 1.0 / sqrt(1.0 - gamma * zs / L)
        phim = 1.0 / cbrt(1.0 - gamma * zs / L)
        pr = phih / phim + a_pr * kappa * eps * wstar / wm
    z[0] = 0.0
    kz[0] = 0.0
    rho_e[0] = ps / (R_DRY * t2m)
    for k in range(nlev):
        pk = ap[k] + bp[k] * ps
        pk1 = ap[k + 1] + bp[k + 1] * ps
        if pk1 <= 0.0:
            pk1 = 0.01 * pk       # a top at zero pressure: give the top layer a finite depth
        z[k + 1] = z[k] + R_DRY * tcol[k * lstride] / G0 * log(pk / pk1)
    for k in range(1, nlev):
        zz = z[k]
        tint = 0.5 * (tcol[(k - 1) * lstride] + tcol[k * lstride])
        rho_e[k] = (ap[k] + bp[k] * ps) / (R_DRY * tint)
        kz[k] = k_bg
        if zz < h:
            if wth > 0.0:
                if zz < eps * h:
                    wt = us * sqrt(1.0 - gamma * zz / L)
                else:
                    wt = wm / pr
            else:
                zeta = zz / L
                wt = us / _phi_h_stable(zeta, beta)
            kz[k] += kappa * wt * zz * (1.0 - zz / h) * (1.0 - zz / h)
        if kz[k] > 0.0:
            ktop = k
    kz[nlev] = 0.0
    return ktop


def diffuse(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] temp,
            const double[:, ::1] ps, const double[:, ::1] pblh, const double[:, ::1] ustar,
            const double[:, ::1] shflx, const double[:, ::1] t2m, const double[::1] ap, const double[::1] bp,
            const double[:, ::1] area, double dt, double kappa, double eps, double c1, double a_pr,
            double beta, double gamma, double k_bg, double ustar_min, double[:, :, ::1] kz_out):
    """Implicit K-profile diffusion of every tracer in place; ``kz_out`` (nlev+1, nlat, nlon)
    receives the eddy diffusivity at the interfaces [m2 s-1]."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef Py_ssize_t lstride = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t tstride = <Py_ssize_t> nlev * lstride
    cdef int j, i, k, t, ktop
    cdef double* work = NULL
    cdef double* z = NULL
    cdef double* rho_e = NULL
    cdef double* kz = NULL
    cdef double* dd = NULL
    cdef double* cp = NULL
    cdef double* inv = NULL
    cdef double* dp = NULL
    cdef double a, dz, den
    cdef Py_ssize_t c
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* tp = &temp[0, 0, 0]
    cdef double* kp = &kz_out[0, 0, 0]
    with nogil, parallel():
        work = <double*> malloc(7 * (nlev + 2) * sizeof(double))
        z = work
        rho_e = z + (nlev + 2)
        kz = rho_e + (nlev + 2)
        dd = kz + (nlev + 2)
        cp = dd + (nlev + 2)
        inv = cp + (nlev + 2)
        dp = inv + (nlev + 2)
        for j in prange(nlat, schedule="static"):
            if work == NULL:
                continue
            for i in range(nlon):
                c = <Py_ssize_t> j * nlon + i
                ktop = _column_k(tp + c, lstride, ps[j, i], pblh[j, i], ustar[j, i], shflx[j, i], t2m[j, i],
                                 &ap[0], &bp[0], nlev, kappa, eps, c1, a_pr, beta, gamma, k_bg, ustar_min,
                                 z, rho_e, kz)
                for k in range(nlev + 1):
                    kp[k * lstride + c] = kz[k]
                if ktop == 0:
                    continue
                # exchange masses D_k [kg] through interfaces 1..ktop
                dd[0] = 0.0
                for k in range(1, ktop + 1):
                    dz = 0.5 * (z[k + 1] - z[k - 1])
                    dd[k] = rho_e[k] * kz[k] / dz * area[j, i] * dt
                dd[ktop + 1] = 0.0
                # Thomas factorisation of layers 0..ktop (sub = super = -D)
                den = mp[c] + dd[1]
                inv[0] = 1.0 / den
                cp[0] = dd[1] * inv[0]                    # |c'_0|
                for k in range(1, ktop + 1):
                    den = mp[k * lstride + c] + dd[k] + dd[k + 1] - dd[k] * cp[k - 1]
                    inv[k] = 1.0 / den
                    cp[k] = dd[k + 1] * inv[k]
                for t in range(ntr):
                    dp[0] = mp[c] * qp[t * tstride + c] * inv[0]
                    for k in range(1, ktop + 1):
                        dp[k] = (mp[k * lstride + c] * qp[t * tstride + k * lstride + c] + dd[k] * dp[k - 1]) * inv[k]
                    qp[t * tstride + ktop * lstride + c] = dp[ktop]
                    for k in range(ktop - 1, -1, -1):
                        qp[t * tstride + k * lstride + c] = dp[k] + cp[k] * qp[t * tstride + (k + 1) * lstride + c]
        free(work)


def pbl_weights(const double[:, :, ::1] m, const double[:, :, ::1] temp, const double[:, ::1] ps,
                const double[:, ::1] pblh, const double[::1] ap, const double[::1] bp,
                double[:, :, ::1] w):
    """Share of a surface flux each layer receives when spread over the boundary layer:
    proportional to the layer's air mass below the boundary-layer height (columns sum to 1;
    all into the lowest layer when h is below its top)."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef Py_ssize_t lstride = <Py_ssize_t> nlat * nlon
    cdef int j, i, k
    cdef double z0, z1, pk, pk1, f, tot, h
    cdef Py_ssize_t c
    for j in prange(nlat, nogil=True, schedule="static"):
        for i in range(nlon):
            c = <Py_ssize_t> j * nlon + i
            h = pblh[j, i]
            z0 = 0.0
            tot = 0.0
            for k in range(nlev):
                pk = ap[k] + bp[k] * ps[j, i]
                pk1 = ap[k + 1] + bp[k + 1] * ps[j, i]
                if pk1 <= 0.0:
                    pk1 = 0.01 * pk
                z1 = z0 + R_DRY * temp[k, j, i] / G0 * log(pk / pk1)
                if k == 0 and h <= z1:
                    f = 1.0
                elif h >= z1:
                    f = 1.0
                elif h > z0:
                    f = (h - z0) / (z1 - z0)
                else:
                    f = 0.0
                w[k, j, i] = f * m[k, j, i]
                tot = tot + w[k, j, i]
                z0 = z1
            for k in range(nlev):
                w[k, j, i] = w[k, j, i] / tot
