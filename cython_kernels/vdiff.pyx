# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
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


cdef int _column_k(const double* tcol, double ps, double h, double ustar, double shflx,
                   double t2m, const double* ap, const double* bp, int nlev,
                   double kappa, double eps, double c1, double a_pr, double beta, double gamma,
                   double k_bg, double ustar_min, double* z, double* rho_e, double* kz) noexcept nogil:
    """Interface heights z, interface density and K [m2 s-1] at interfaces 1 .. ktop, where
    ktop (returned; 0 if none) is the highest interface with K > 0. Heights are integrated
    only as far as needed (to the boundary-layer top when there is no background K)."""
    cdef int k, ktop = 0, kmax
    cdef double pk, pk1, tint, us, rho0, wth, L, wstar = 0.0, wm = 1.0, pr = 1.0, zeta, wt, zz
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
        pr = (1.0 / sqrt(1.0 - gamma * zs / L)) / (1.0 / cbrt(1.0 - gamma * zs / L)) + a_pr * kappa * eps * wstar / wm
    z[0] = 0.0
    kmax = nlev - 1
    for k in range(nlev):
        pk = ap[k] + bp[k] * ps
        pk1 = ap[k + 1] + bp[k + 1] * ps
        if pk1 <= 0.0:
            pk1 = 0.01 * pk       # a top at zero pressure: give the top layer a finite depth
        z[k + 1] = z[k] + R_DRY * tcol[k] / G0 * log(pk / pk1)
        if k_bg <= 0.0 and z[k] >= h:
            kmax = k           # interfaces above k are at or above h: K = 0 there
            break
    for k in range(1, kmax + 1):
        zz = z[k]
        tint = 0.5 * (tcol[k - 1] + tcol[k])
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
    return ktop


def diffuse(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] temp,
            const double[:, ::1] ps, const double[:, ::1] pblh, const double[:, ::1] ustar,
            const double[:, ::1] shflx, const double[:, ::1] t2m, const double[::1] ap, const double[::1] bp,
            const double[:, ::1] area, double dt, double kappa, double eps, double c1, double a_pr,
            double beta, double gamma, double k_bg, double ustar_min, double[:, :, ::1] kz_out,
            int nthreads=1):
    """Implicit K-profile diffusion of every tracer in place; ``kz_out`` (nlev+1, nlat, nlon)
    receives the eddy diffusivity at the interfaces [m2 s-1]. Each row is copied into
    column-contiguous buffers, solved column by column and copied back."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int L = nlev + 2
    cdef int j, i, k, t, ktop, krow
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* tcolb = NULL    # (nlon, L)
    cdef double* kzb = NULL      # (nlon, L)
    cdef double* mb = NULL       # (nlon, L)
    cdef double* qb = NULL       # (ntr, nlon, L)
    cdef double* rdz = NULL      # (nlon, L) interface density / distance of layer mid-points
    cdef double* sc = NULL       # scratch 6 L
    cdef double* z
    cdef double* rho_e
    cdef double* dd
    cdef double* cp
    cdef double* inv
    cdef double* dp
    cdef double* kz
    cdef double* mm
    cdef double* qq
    cdef int* kt = NULL
    cdef double dz, den
    with nogil, parallel(num_threads=nthreads):
        work = <double*> malloc(((4 + ntr) * nlon * L + 6 * L) * sizeof(double))
        iwork = <int*> malloc(nlon * sizeof(int))
        if work != NULL and iwork != NULL:
            tcolb = work
            kzb = tcolb + nlon * L
            mb = kzb + nlon * L
            rdz = mb + nlon * L
            qb = rdz + nlon * L
            sc = qb + ntr * nlon * L
            kt = iwork
        for j in prange(nlat, schedule="static"):
            if work == NULL or iwork == NULL:
                continue
            z = sc
            rho_e = z + L
            dd = rho_e + L
            cp = dd + L
            inv = cp + L
            dp = inv + L
            for k in range(nlev):
                for i in range(nlon):
                    tcolb[i * L + k] = temp[k, j, i]
            for i in range(nlon):
                for k in range(nlev + 1):
                    kzb[i * L + k] = 0.0
            krow = 0
            for i in range(nlon):
                kz = kzb + i * L
                kt[i] = _column_k(tcolb + i * L, ps[j, i], pblh[j, i], ustar[j, i], shflx[j, i], t2m[j, i],
                                  &ap[0], &bp[0], nlev, kappa, eps, c1, a_pr, beta, gamma, k_bg, ustar_min,
                                  z, rho_e, kz)
                if kt[i] > krow:
                    krow = kt[i]
                for k in range(1, kt[i] + 1):
                    dz = 0.5 * (z[k + 1] - z[k - 1])
                    rdz[i * L + k] = rho_e[k] / dz
            for k in range(nlev + 1):
                for i in range(nlon):
                    kz_out[k, j, i] = kzb[i * L + k] if k <= kt[i] else 0.0
            if krow == 0:
                continue
            for k in range(krow + 1):
                for i in range(nlon):
                    mb[i * L + k] = m[k, j, i]
                for t in range(ntr):
                    for i in range(nlon):
                        qb[(t * nlon + i) * L + k] = q[t, k, j, i]
            for i in range(nlon):
                ktop = kt[i]
                if ktop == 0:
                    continue
                kz = kzb + i * L
                mm = mb + i * L
                dd[0] = 0.0
                # exchange masses D_k = rho K / dz A dt [kg] through interfaces 1..ktop
                for k in range(1, ktop + 1):
                    dd[k] = rdz[i * L + k] * kz[k] * area[j, i] * dt
                dd[ktop + 1] = 0.0
                # Thomas factorisation of layers 0..ktop (sub = super = -D)
                den = mm[0] + dd[1]
                inv[0] = 1.0 / den
                cp[0] = dd[1] * inv[0]                    # |c'_0|
                for k in range(1, ktop + 1):
                    den = mm[k] + dd[k] + dd[k + 1] - dd[k] * cp[k - 1]
                    inv[k] = 1.0 / den
                    cp[k] = dd[k + 1] * inv[k]
                for t in range(ntr):
                    qq = qb + (t * nlon + i) * L
                    dp[0] = mm[0] * qq[0] * inv[0]
                    for k in range(1, ktop + 1):
                        dp[k] = (mm[k] * qq[k] + dd[k] * dp[k - 1]) * inv[k]
                    qq[ktop] = dp[ktop]
                    for k in range(ktop - 1, -1, -1):
                        qq[k] = dp[k] + cp[k] * qq[k + 1]
            for k in range(krow + 1):
                for t in range(ntr):
                    for i in range(nlon):
                        q[t, k, j, i] = qb[(t * nlon + i) * L + k]
        free(work)
        free(iwork)


def spread_surface_flux(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] temp,
                        const double[:, ::1] ps, const double[:, ::1] pblh, const double[::1] ap,
                        const double[::1] bp, const double[:, :, ::1] flux, const double[:, ::1] area,
                        double dt, double m_air, int nthreads=1):
    """Spread a surface flux that was just added to the lowest layer over the boundary layer.

    Each layer's share is its air mass below the boundary-layer height h (heights from the
    hypsometric equation with the layer temperatures); all stays in the lowest layer when h
    is below its top. The amount moved from layer 0 to the layers above is (1 - w_0) of the
    flux's amount dn = flux A dt [mol], so column totals (and the budget booked when it was
    added) do not change. flux (ntr, nlat, nlon) mol m-2 s-1.
    """
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int j, i, k, t, ktop
    cdef double z0, z1, pk, pk1, f, tot, h, dn, wk
    cdef double* w = NULL
    with nogil, parallel(num_threads=nthreads):
        w = <double*> malloc((nlev + 1) * sizeof(double))
        for j in prange(nlat, schedule="static"):
            if w == NULL:
                continue
            for i in range(nlon):
                h = pblh[j, i]
                z0 = 0.0
                tot = 0.0
                ktop = 0
                for k in range(nlev):
                    pk = ap[k] + bp[k] * ps[j, i]
                    pk1 = ap[k + 1] + bp[k + 1] * ps[j, i]
                    if pk1 <= 0.0:
                        pk1 = 0.01 * pk
                    z1 = z0 + R_DRY * temp[k, j, i] / G0 * log(pk / pk1)
                    if k == 0 or h >= z1:
                        f = 1.0
                    elif h > z0:
                        f = (h - z0) / (z1 - z0)
                    else:
                        break
                    w[k] = f * m[k, j, i]
                    tot = tot + w[k]
                    ktop = k
                    z0 = z1
                if ktop == 0:
                    continue
                for t in range(ntr):
                    dn = flux[t, j, i] * area[j, i] * dt
                    if dn == 0.0:
                        continue
                    q[t, 0, j, i] = q[t, 0, j, i] - dn * (1.0 - w[0] / tot) * m_air / m[0, j, i]
                    for k in range(1, ktop + 1):
                        wk = w[k] / tot
                        q[t, k, j, i] = q[t, k, j, i] + dn * wk * m_air / m[k, j, i]
        free(w)
