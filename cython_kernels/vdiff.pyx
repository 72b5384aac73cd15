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
rho_0 = p_s / (R_d T_2m), theta_0 ~ T_2m.

Non-local transport of the surface flux (HB93 eqs. 3.8, 3.10): in unstable conditions the
turbulent flux of a tracer with surface flux (w'c')_0 is -K (dc/dz - gamma_c),

    gamma_c = a w* (w'c')_0 / (w_m^2 h),   (w'c')_0 = F M_air / rho_0   [mol/mol m s-1],

applied in the outer layer eps h <= z < h (zero in the surface layer and in stable or
neutral conditions, as in CCM2/CAM). The surface flux F [mol m-2 s-1] has already entered
the lowest layer (``Atmosphere.add_surface_flux``) when the diffusion runs; the
counter-gradient part moves it through the interfaces as an explicit flux,
Phi_k = rho_k K_k gamma_c A dt [kg air x mol/mol] through interface k (K the diffusivity of
the interface, background included, as CAM multiplies gamma_c by its K), which enters the
right-hand side of the implicit solve: m_k q_k -> m_k q_k + Phi_k - Phi_{k+1}. The fluxes
telescope, so column amounts are kept to round-off; Phi does not depend on q, so the step
stays unconditionally stable and is linear in the tracer and its flux. Where a column whose
layers were all non-negative gets a negative value from that solve (a tracer emitted into air
that holds almost none of it, with a step short against the mixing time), its fluxes are
limited so that no layer gives more than it holds plus what it receives, and the column is
solved again: its right-hand side, and so the solution of the M-matrix system, is then
non-negative. Every other column (all of them for a tracer with a background, or a signed
tagged tracer whose layers are already negative) keeps the linear result.

Discretisation: interface heights from the hypsometric equation with the layer
temperatures; the exchange between layers k-1 and k over the step is the air mass
D_k = rho_k K_k / dz_k * A * dt (dz_k between layer mid-heights). Backward Euler:

    m_k q_k' + D_k (q_k' - q_{k-1}') + D_{k+1} (q_k' - q_{k+1}') = m_k q_k,

an M-matrix with column sums preserving sum m_k q_k; the Thomas algorithm on it operates
on non-negative numbers only, so q' >= 0 whenever q >= 0, and one factorisation serves
all tracers. Each row is processed level by level with longitude innermost (contiguous
memory, no gathers into column buffers); layers above a column's top interface are left
untouched.
"""
from cython.parallel cimport prange, parallel
import numpy as np
from libc.stdlib cimport malloc, free
from libc.math cimport log, pow, cbrt, sqrt

cdef double G0 = 9.80665
cdef double R_DRY = 8.314462618 / 28.9644e-3
cdef double CP_DRY = 1004.64


cdef inline double _pos(double x) noexcept nogil:
    """max(x, 0) as a compare-and-select (vectorises; libm's fmax is a call per element)."""
    return x if x > 0.0 else 0.0


cdef void _forward_nonlocal(const double* rr, const double* ph, const double* dd, const double* inv, int kmax,
                           int nlon, Py_ssize_t R, double* dp) noexcept nogil:
    """Forward elimination of one tracer of a row with the counter-gradient fluxes ``ph`` in the
    right-hand side ``rr_k + ph_k - ph_{k+1}``."""
    cdef int k, i
    for i in range(nlon):
        dp[i] = (rr[i] - ph[R + i]) * inv[i]
    for k in range(1, kmax + 1):
        for i in range(nlon):
            dp[k * R + i] = (rr[k * R + i] + (ph[k * R + i] - ph[(k + 1) * R + i])
                             + dd[k * R + i] * dp[(k - 1) * R + i]) * inv[k * R + i]


cdef void _back_substitute(double* qt, Py_ssize_t ls, const double* dp, const double* cp, const int* kt, int kmax,
                           int nlon, Py_ssize_t R) noexcept nogil:
    """Back substitution of one tracer of a row into ``qt`` (layer stride ``ls``); layers above a
    column's top interface keep their value."""
    cdef int k, i
    for i in range(nlon):
        if kt[i] == kmax:
            qt[kmax * ls + i] = dp[kmax * R + i]
    for k in range(kmax - 1, -1, -1):
        for i in range(nlon):
            if k < kt[i]:
                qt[k * ls + i] = dp[k * R + i] + cp[k * R + i] * qt[(k + 1) * ls + i]
            elif k == kt[i] and k > 0:
                qt[k * ls + i] = dp[k * R + i]


cdef inline double _phi_h_stable(double zeta, double beta) noexcept nogil:
    if zeta <= 1.0:
        return 1.0 + beta * zeta
    return beta + zeta


cdef void _column_scales(double ps, double h, double ustar, double shflx, double t2m, double kappa,
                         double eps, double c1, double a_pr, double gamma, double ustar_min, double m_air,
                         double* us_out, double* L_out, double* wth_out, double* wm_out, double* pr_out,
                         double* cg_out) noexcept nogil:
    """Surface-layer and mixed-layer scales of one column (HB93 eqs. 3.10, A11, A13); ``cg_out``:
    gamma_c per unit surface flux, a w* M_air / (w_m^2 h rho_0) [m-1 per (mol m-2 s-1)], zero unless
    the column is unstable."""
    cdef double us, rho0, wth, L, wstar, wm = 1.0, pr = 1.0, zs, cg = 0.0
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
        cg = a_pr * wstar * m_air / (wm * wm * h * rho0)
    us_out[0] = us
    cg_out[0] = cg
    L_out[0] = L
    wth_out[0] = wth
    wm_out[0] = wm
    pr_out[0] = pr


def diffuse(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] temp,
            const double[:, ::1] ps, const double[:, ::1] pblh, const double[:, ::1] ustar,
            const double[:, ::1] shflx, const double[:, ::1] t2m, const double[::1] ap, const double[::1] bp,
            const double[:, ::1] area, double dt, double kappa, double eps, double c1, double a_pr,
            double beta, double gamma, double k_bg, double ustar_min, double[:, :, ::1] kz_out,
            int[::1] kz_rows, int nthreads=1, const double[:, :, ::1] flux=None, double m_air=0.0):
    """Implicit K-profile diffusion of every tracer in place; ``kz_out`` (nlev+1, nlat, nlon)
    receives the eddy diffusivity at the interfaces [m2 s-1] (zero where there is none).
    ``flux`` (ntr, nlat, nlon) [mol m-2 s-1, positive up], optional: the surface fluxes that
    were added to the lowest layer before this call; with it the HB93 counter-gradient term
    moves them through the unstable boundary layers (``m_air`` [kg mol-1] converts them to
    mixing-ratio fluxes; see the module docstring).

    Rows are processed level by level with longitude innermost (contiguous, no gathers):
    interface heights, K and the exchange masses of every column of the row, one Thomas
    factorisation per row shared by the tracers, layers above a column's top interface left
    untouched. ``kz_rows[j]`` remembers how many interfaces of row j hold a K from the last
    call, so only those are cleared."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int j, i, k, t, krow, kmax, nact
    cdef bint nonlocal_on = flux is not None
    cdef bint rownl, usenl
    cdef int nneg
    cdef Py_ssize_t lstride = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t R = nlon + 8
    cdef Py_ssize_t NLR = (nlev + 2) * R
    if nonlocal_on:
        if flux.shape[0] != ntr or flux.shape[1] != nlat or flux.shape[2] != nlon:
            raise ValueError(f"diffuse: flux must have shape (ntr, nlat, nlon) = {(ntr, nlat, nlon)}; "
                             f"got {(flux.shape[0], flux.shape[1], flux.shape[2])}")
        if not m_air > 0.0:
            raise ValueError("diffuse: m_air must be positive when a flux is given")
    else:
        flux = np.zeros((1, 1, 1))
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* us        # per-column scales (R each)
    cdef double* Lo
    cdef double* wth
    cdef double* wm
    cdef double* pr
    cdef double* zlo       # interface heights z_{k-1}, z_k, z_{k+1}
    cdef double* zmid
    cdef double* zhi
    cdef double* ztmp
    cdef double* dd        # (nlev+2) x R exchange air masses through the interfaces
    cdef double* inv       # (nlev+2) x R
    cdef double* cp        # (nlev+2) x R
    cdef double* dp        # (nlev+2) x R
    cdef int* kt           # per column: highest interface with K > 0
    cdef double* cg        # per column: counter-gradient factor (R)
    cdef double* gn        # (nlev+2) x R counter-gradient exchange per unit surface flux
    cdef double* ph        # (nlev+2) x R counter-gradient flux of one tracer through the interfaces
    cdef double* rr        # (nlev+2) x R the layers' tracer m q of one tracer
    cdef double* pl        # (nlev+2) x R the limited counter-gradient fluxes
    cdef double* neg       # per column: 1 where the unlimited solution has a negative layer (R)
    cdef double* negin     # per column: 1 where a layer was negative before the solve (R)
    cdef bint outer        # the interface lies in the outer layer of an unstable column
    cdef double pk, pk1, zz, tint, rho, wt, zeta, kk, h, den, psi, hz, f, lim
    with nogil, parallel(num_threads=nthreads):
        work = <double*> malloc((12 * R + 8 * NLR) * sizeof(double))
        iwork = <int*> malloc(R * sizeof(int))
        for j in prange(nlat, schedule="static"):
            if work == NULL or iwork == NULL:
                continue
            us = work
            Lo = us + R
            wth = Lo + R
            wm = wth + R
            pr = wm + R
            zlo = pr + R
            zmid = zlo + R
            zhi = zmid + R
            dd = zhi + R
            inv = dd + NLR
            cp = inv + NLR
            dp = cp + NLR
            gn = dp + NLR
            ph = gn + NLR
            rr = ph + NLR
            pl = rr + NLR
            cg = pl + NLR
            neg = cg + R
            negin = neg + R
            kt = iwork
            rownl = False
            for i in range(nlon):
                _column_scales(ps[j, i], pblh[j, i], ustar[j, i], shflx[j, i], t2m[j, i], kappa, eps, c1, a_pr,
                               gamma, ustar_min, m_air, &us[i], &Lo[i], &wth[i], &wm[i], &pr[i], &cg[i])
                kt[i] = 0
                zlo[i] = 0.0          # z_0 (surface)
                zmid[i] = 0.0
            # ---- interface heights, K and exchange air masses, interface by interface ----
            # z_1 first; then at interface k we know z_{k-1}, z_k and compute z_{k+1}
            for i in range(nlon):
                psi = ps[j, i]
                pk = ap[0] + bp[0] * psi
                pk1 = ap[1] + bp[1] * psi
                if pk1 <= 0.0:
                    pk1 = 0.01 * pk
                zmid[i] = zlo[i] + R_DRY * temp[0, j, i] / G0 * log(pk / pk1)
            krow = 0
            for i in range(nlon):
                dd[i] = 0.0
            for k in range(1, nlev):
                # are any columns still inside their boundary layer at interface k?
                nact = 0
                for i in range(nlon):
                    nact = nact + (zmid[i] < pblh[j, i])
                if nact == 0 and k_bg <= 0.0:
                    break
                for i in range(nlon):
                    if k_bg <= 0.0 and zmid[i] >= pblh[j, i]:
                        zhi[i] = zmid[i]      # above its boundary layer: K = 0, height no longer needed
                        continue
                    psi = ps[j, i]
                    pk = ap[k] + bp[k] * psi
                    pk1 = ap[k + 1] + bp[k + 1] * psi
                    if pk1 <= 0.0:
                        pk1 = 0.01 * pk       # a top at zero pressure: give the top layer a finite depth
                    zhi[i] = zmid[i] + R_DRY * temp[k, j, i] / G0 * log(pk / pk1)
                for i in range(nlon):
                    zz = zmid[i]
                    h = pblh[j, i]
                    kk = k_bg
                    outer = False
                    if zz < h:
                        if wth[i] > 0.0:
                            if zz < eps * h:
                                wt = us[i] * sqrt(1.0 - gamma * zz / Lo[i])
                            else:
                                wt = wm[i] / pr[i]
                        else:
                            zeta = zz / Lo[i]
                            wt = us[i] / _phi_h_stable(zeta, beta)
                        kk = kk + kappa * wt * zz * (1.0 - zz / h) * (1.0 - zz / h)
                        outer = wth[i] > 0.0 and zz >= eps * h
                    kz_out[k, j, i] = kk
                    if nonlocal_on:
                        gn[k * R + i] = 0.0
                    if kk > 0.0:
                        kt[i] = k
                        tint = 0.5 * (temp[k - 1, j, i] + temp[k, j, i])
                        rho = (ap[k] + bp[k] * ps[j, i]) / (R_DRY * tint)
                        hz = 0.5 * (zhi[i] - zlo[i])
                        dd[k * R + i] = rho / hz * kk * area[j, i] * dt
                        if nonlocal_on and outer:
                            # Phi_k / F = rho_k K_k gamma_c A dt / F
                            gn[k * R + i] = rho * kk * cg[i] * area[j, i] * dt
                            rownl = True
                    else:
                        dd[k * R + i] = 0.0
                krow = k
                ztmp = zlo
                zlo = zmid
                zmid = zhi
                zhi = ztmp
            # K rows of the last call above this one's are cleared
            for k in range(krow + 1, kz_rows[j] + 1):
                for i in range(nlon):
                    kz_out[k, j, i] = 0.0
            kz_rows[j] = krow
            kmax = 0
            for i in range(nlon):
                if kt[i] > kmax:
                    kmax = kt[i]
            if kmax == 0:
                continue
            # no exchange through the interface above the row's top (K = 0 there, or not computed);
            # above a column's own top K is zero already
            for i in range(nlon):
                dd[(kmax + 1) * R + i] = 0.0
                gn[(kmax + 1) * R + i] = 0.0
            # ---- Thomas factorisation of layers 0 .. kmax (sub = super = -D) ------------------
            for i in range(nlon):
                den = m[0, j, i] + dd[R + i]
                inv[i] = 1.0 / den
                cp[i] = dd[R + i] * inv[i]
            for k in range(1, kmax + 1):
                for i in range(nlon):
                    den = m[k, j, i] + dd[k * R + i] + dd[(k + 1) * R + i] - dd[k * R + i] * cp[(k - 1) * R + i]
                    inv[k * R + i] = 1.0 / den
                    cp[k * R + i] = dd[(k + 1) * R + i] * inv[k * R + i]
            for t in range(ntr):
                usenl = False
                if rownl:
                    for i in range(nlon):
                        usenl = usenl | (flux[t, j, i] != 0.0)
                if not usenl:
                    for i in range(nlon):
                        dp[i] = m[0, j, i] * q[t, 0, j, i] * inv[i]
                    for k in range(1, kmax + 1):
                        for i in range(nlon):
                            dp[k * R + i] = (m[k, j, i] * q[t, k, j, i] + dd[k * R + i] * dp[(k - 1) * R + i]) * inv[k * R + i]
                    _back_substitute(&q[t, 0, j, 0], lstride, dp, cp, kt, kmax, nlon, R)
                    continue
                # rr: the layers' tracer m_k q_k (the right-hand side without the counter-gradient part);
                # ph: the counter-gradient fluxes through interfaces 1 .. kmax
                for k in range(kmax + 1):
                    for i in range(nlon):
                        rr[k * R + i] = m[k, j, i] * q[t, k, j, i]
                for i in range(nlon):
                    ph[(kmax + 1) * R + i] = 0.0
                for k in range(1, kmax + 1):
                    for i in range(nlon):
                        ph[k * R + i] = gn[k * R + i] * flux[t, j, i]
                _forward_nonlocal(rr, ph, dd, inv, kmax, nlon, R, dp)
                _back_substitute(&q[t, 0, j, 0], lstride, dp, cp, kt, kmax, nlon, R)
                # columns whose layers were all >= 0 but whose solution is not: limit their fluxes and solve
                # again (upward fluxes from the surface up: no layer gives more than it holds plus what it
                # gets from below; downward ones from the top down, the same from above; a column's fluxes
                # share the sign of its surface flux, so one of the two limits is void for it)
                nneg = 0
                for i in range(nlon):
                    neg[i] = 0.0
                    negin[i] = 0.0
                for k in range(kmax + 1):
                    for i in range(nlon):
                        if k <= kt[i]:
                            if q[t, k, j, i] < 0.0:
                                neg[i] = 1.0
                            if rr[k * R + i] < 0.0:
                                negin[i] = 1.0
                for i in range(nlon):
                    if negin[i] > 0.0:
                        neg[i] = 0.0           # a column negative before the solve keeps the linear result
                    nneg = nneg + (neg[i] > 0.0)
                if nneg == 0:
                    continue
                for i in range(nlon):
                    pl[i] = 0.0
                for k in range(1, kmax + 1):
                    for i in range(nlon):
                        f = ph[k * R + i]
                        lim = _pos(rr[(k - 1) * R + i]) + _pos(pl[(k - 1) * R + i])
                        pl[k * R + i] = f if f < lim else lim
                for i in range(nlon):
                    pl[(kmax + 1) * R + i] = 0.0
                for k in range(kmax, 0, -1):
                    for i in range(nlon):
                        lim = -(_pos(rr[k * R + i]) + _pos(-pl[(k + 1) * R + i]))
                        f = pl[k * R + i]
                        pl[k * R + i] = f if f > lim else lim
                for k in range(1, kmax + 1):
                    for i in range(nlon):
                        if neg[i] > 0.0:
                            ph[k * R + i] = pl[k * R + i]
                _forward_nonlocal(rr, ph, dd, inv, kmax, nlon, R, dp)
                _back_substitute(&q[t, 0, j, 0], lstride, dp, cp, kt, kmax, nlon, R)
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


def surface_pressure(const double[:, :, ::1] m, const double[:, ::1] area, double ptop, double g0,
                     double[:, ::1] ps, int nthreads=1):
    """ps = ptop + (sum_k m_k) g0 / area, the column sum taken from the lowest layer up (the order
    and the operations of ``Atmosphere.surface_pressure``, so the result is the same to the bit),
    row by row in parallel, longitude innermost."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int j, i, k
    for j in prange(nlat, nogil=True, schedule="static", num_threads=nthreads):
        for i in range(nlon):
            ps[j, i] = m[0, j, i]
        for k in range(1, nlev):
            for i in range(nlon):
                ps[j, i] = ps[j, i] + m[k, j, i]
        for i in range(nlon):
            ps[j, i] = ptop + (ps[j, i] * g0) / area[j, i]
