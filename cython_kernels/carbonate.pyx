# cython: language_level=3
"""Seawater carbonate chemistry kernel: equilibrium constants and a safeguarded pH solver.

Every cell is independent: the loop over cells runs in ``prange`` without the GIL.
The formulas are the same as the documented numpy functions in
``esm.ocean.carbonate`` (one per paper); this file repeats them in C for speed and the
test-suite checks that both agree.

pH solver
---------
Total alkalinity as a function of [H+] (total scale), ``TA(H)``, is strictly decreasing.
Following the strategy of Munhoven (2013, GMD 6, 1367, "SolveSAPHE") the root is first
bracketed analytically: the non-water contributions to TA lie between
``A_inf = -(P_T + S_T + F_T)`` and ``A_sup = 2 C_T + B_T + 2 P_T + Si_T``, so the root lies
between the roots of ``K_W/H - H/f = TA - A_sup`` and ``K_W/H - H/f = TA - A_inf``
(``f = 1 + S_T/K_S`` converts free to total [H+]). The iteration is Newton's method in H,
switched to a Newton step in ln H when the step is large, and replaced by a geometric
bisection whenever the proposal leaves the current bracket; the bracket shrinks with
the sign of the residual at every iterate. It therefore converges from any start.
It stops when the step in pH is below ``tol_ph`` (default 1e-8); as the last step is a
Newton step the returned pH is then accurate to far better than ``tol_ph``.

Units inside: temperature K, concentrations mol kg-1, fugacities atm.
"""

from cython.parallel import prange

from libc.math cimport exp, log, sqrt, fabs, log10, isfinite

cdef double LN10 = 2.302585092994046
#: below this many cells the loop runs serially
cdef Py_ssize_t PARALLEL_MIN = 4096
#: gas constant in cm3 bar mol-1 K-1 (CODATA 2018), as used by PyCO2SYS >= 1.4
cdef double R_CM3_BAR = 83.14462618

# option codes (mirrored in esm.ocean.carbonate)
DEF KF_PEREZ87 = 0
DEF KF_DICKSON79 = 1
DEF BT_UPPSTROM74 = 0
DEF BT_LEE10 = 1


cdef struct Consts:
    double k0      # CO2 solubility, mol kg-1 atm-1
    double k1      # total scale
    double k2
    double kb
    double kw      # total scale
    double ks      # free scale
    double kf      # free scale
    double kp1
    double kp2
    double kp3
    double ksi
    double bt
    double st
    double ft
    double free2tot   # 1 + S_T/K_S
    double fugfac     # fCO2/pCO2 at 1 atm


cdef inline void compute_constants(double tk, double s, int kf_opt, int bt_opt, bint nutrients,
                                   Consts* c) noexcept nogil:
    cdef double lnt = log(tk)
    cdef double sqs = sqrt(s)
    cdef double t100 = tk / 100.0
    cdef double ion, sqi, kgsw, pk1, pk2, lnkb, lnks, lnkw, sws2tot, b, delta

    # K0: Weiss (1974) eq. 12 with Table 1 (mol kg-1 atm-1)
    c.k0 = exp(-60.2409 + 93.4517 / t100 + 23.3585 * log(t100)
               + s * (0.023517 - 0.023656 * t100 + 0.0047036 * t100 * t100))
    # K1, K2: Lueker, Dickson & Keeling (2000) eqs. 11, 12 (total scale)
    pk1 = 3633.86 / tk - 61.2172 + 9.6777 * lnt - 0.011555 * s + 0.0001152 * s * s
    pk2 = 471.78 / tk + 25.929 - 3.16967 * lnt - 0.01781 * s + 0.0001122 * s * s
    c.k1 = exp(-LN10 * pk1)
    c.k2 = exp(-LN10 * pk2)
    # KB: Dickson (1990b) eq. 23 (total scale)
    lnkb = ((-8966.90 - 2890.53 * sqs - 77.942 * s + 1.728 * sqs * s - 0.0996 * s * s) / tk
            + 148.0248 + 137.1942 * sqs + 1.62142 * s
            + (-24.4344 - 25.085 * sqs - 0.2474 * s) * lnt + 0.053105 * sqs * tk)
    c.kb = exp(lnkb)
    # totals: sulfate Morris & Riley (1966), fluoride Riley (1965), boron Uppstrom (1974) / Lee et al. (2010)
    c.st = (0.14 / 96.062) * (s / 1.80655)
    c.ft = (0.000067 / 18.998) * (s / 1.80655)
    if bt_opt == BT_LEE10:
        c.bt = 0.0004326 * s / 35.0
    else:
        c.bt = 0.0004157 * s / 35.0
    # KS: Dickson (1990a) eq. 22 (free scale; mol kg-H2O converted to mol kg-SW)
    ion = 19.924 * s / (1000.0 - 1.005 * s)
    sqi = sqrt(ion)
    kgsw = 1.0 - 0.001005 * s
    lnks = (-4276.1 / tk + 141.328 - 23.093 * lnt
            + (-13856.0 / tk + 324.57 - 47.986 * lnt) * sqi
            + (35474.0 / tk - 771.54 + 114.723 * lnt) * ion
            - 2698.0 / tk * sqi * ion + 1776.0 / tk * ion * ion)
    c.ks = exp(lnks) * kgsw
    c.free2tot = 1.0 + c.st / c.ks
    # KF (free scale)
    if kf_opt == KF_DICKSON79:
        # Dickson & Riley (1979), free scale, converted to mol kg-SW
        c.kf = exp(1590.2 / tk - 12.641 + 1.525 * sqi) * kgsw
    else:
        # Perez & Fraga (1987), total scale (Dickson et al. 2007), converted to free
        c.kf = exp(874.0 / tk - 9.68 + 0.111 * sqs) / c.free2tot
    sws2tot = c.free2tot / (c.free2tot + c.ft / c.kf)
    # KW: Millero (1995) seawater scale, converted to total
    lnkw = (148.9802 - 13847.26 / tk - 23.6521 * lnt
            + (-5.977 + 118.67 / tk + 1.0495 * lnt) * sqs - 0.01615 * s)
    c.kw = exp(lnkw) * sws2tot
    if nutrients:
        # Yao & Millero (1995), seawater scale -> total
        c.kp1 = exp(-4576.752 / tk + 115.54 - 18.453 * lnt + (-106.736 / tk + 0.69171) * sqs
                    + (-0.65643 / tk - 0.01844) * s) * sws2tot
        c.kp2 = exp(-8814.715 / tk + 172.1033 - 27.927 * lnt + (-160.34 / tk + 1.3566) * sqs
                    + (0.37335 / tk - 0.05778) * s) * sws2tot
        c.kp3 = exp(-3070.75 / tk - 18.126 + (17.27039 / tk + 2.81197) * sqs
                    + (-44.99486 / tk - 0.09984) * s) * sws2tot
        c.ksi = exp(-8904.2 / tk + 117.4 - 19.334 * lnt + (-458.79 / tk + 3.5913) * sqi
                    + (188.74 / tk - 1.5998) * ion + (-12.1652 / tk + 0.07871) * ion * ion) * kgsw * sws2tot
    else:
        c.kp1 = 1.0
        c.kp2 = 1.0
        c.kp3 = 1.0
        c.ksi = 1.0
    # Fugacity factor at 1 atm: Weiss (1974) virial coefficients B and delta (cm3 mol-1)
    b = -1636.75 + 12.0408 * tk - 0.0327957 * tk * tk + 3.16528e-5 * tk * tk * tk
    delta = 57.7 - 0.118 * tk
    c.fugfac = exp((b + 2.0 * delta) * 1.01325 / (R_CM3_BAR * tk))


cdef inline double alk_residual(double h, double dic, double ta, double pt, double sit,
                                Consts* c, double* dres) noexcept nogil:
    """TA(h) - ta and its derivative d TA / d h (h on the total scale)."""
    cdef double k1h = c.k1 * h
    cdef double k1k2 = c.k1 * c.k2
    cdef double d = h * h + k1h + k1k2
    cdef double alk = dic * (k1h + 2.0 * k1k2) / d
    cdef double da = -dic * c.k1 * (h * h + 4.0 * c.k2 * h + k1k2) / (d * d)
    cdef double kbh = c.kb + h
    cdef double ksf = c.ks * c.free2tot
    cdef double kff = c.kf * c.free2tot
    cdef double hs = h + ksf
    cdef double hf = h + kff
    cdef double p1, p2, p3, n, dp, dn, ddp, ksih
    alk += c.bt * c.kb / kbh + c.kw / h - h / c.free2tot - c.st * h / hs - c.ft * h / hf
    da += (-c.bt * c.kb / (kbh * kbh) - c.kw / (h * h) - 1.0 / c.free2tot
           - c.st * ksf / (hs * hs) - c.ft * kff / (hf * hf))
    if pt > 0.0:
        p1 = c.kp1
        p2 = c.kp1 * c.kp2
        p3 = p2 * c.kp3
        n = p2 * h + 2.0 * p3 - h * h * h
        dp = h * h * h + p1 * h * h + p2 * h + p3
        dn = p2 - 3.0 * h * h
        ddp = 3.0 * h * h + 2.0 * p1 * h + p2
        alk += pt * n / dp
        da += pt * (dn * dp - n * ddp) / (dp * dp)
    if sit > 0.0:
        ksih = c.ksi + h
        alk += sit * c.ksi / ksih
        da += -sit * c.ksi / (ksih * ksih)
    dres[0] = da
    return alk - ta


cdef inline double h_bound(double x, double kw, double f) noexcept nogil:
    """Positive root of h^2/f + x h - kw = 0, computed without cancellation."""
    cdef double disc = sqrt(x * x + 4.0 * kw / f)
    if x <= 0.0:
        return 0.5 * f * (disc - x)
    return 2.0 * kw / (x + disc)


cdef inline double initial_h(double dic, double ta, Consts* c) noexcept nogil:
    """Initial [H+] from the carbonate + borate cubic (after Munhoven 2013, section 3.2)."""
    cdef double a2, a1, a0, disc, hmin, p, hh
    if ta <= 0.0:
        return 1.0e-3
    if ta >= 2.0 * dic + c.bt:
        return 1.0e-10
    # cubic h^3 + a2 h^2 + a1 h + a0 = 0 from TA = carbonate + borate alkalinity
    a2 = c.k1 * (1.0 - dic / ta) + c.kb * (1.0 - c.bt / ta)
    a1 = c.k1 * c.kb * (1.0 - c.bt / ta - dic / ta) + c.k1 * c.k2 * (1.0 - 2.0 * dic / ta)
    a0 = c.k1 * c.k2 * c.kb * (1.0 - (2.0 * dic + c.bt) / ta)
    disc = a2 * a2 - 3.0 * a1
    if disc > 0.0:
        if a2 < 0.0:
            hmin = (-a2 + sqrt(disc)) / 3.0
        else:
            hmin = -a1 / (a2 + sqrt(disc))
        p = ((hmin + a2) * hmin + a1) * hmin + a0
        if p < 0.0:
            hh = hmin + sqrt(-p / sqrt(disc))
            if hh > 0.0 and isfinite(hh):
                return hh
    return 1.0e-7


cdef inline int solve_h(double dic, double ta, double pt, double sit, Consts* c, double h0,
                        double tol_ph, int maxiter, double* h_out, double* dres_out,
                        int* iters) noexcept nogil:
    """Safeguarded bracketed Newton; returns 0 ok, 1 no convergence, 2 root outside pH 3..12."""
    cdef double hlo, hhi, h, res, step, hnew, dln
    cdef double dres = -1.0
    cdef double tol_ln = tol_ph * LN10
    cdef int it
    hlo = h_bound(ta + pt + c.st + c.ft, c.kw, c.free2tot)
    hhi = h_bound(ta - (2.0 * dic + c.bt + 2.0 * pt + sit), c.kw, c.free2tot)
    # physically meaningful window: a root outside pH 3..12 is not seawater
    if hlo > 1.0e-3:
        h_out[0] = hlo
        iters[0] = 0
        return 2
    if hhi < 1.0e-12:
        h_out[0] = hhi
        iters[0] = 0
        return 2
    if h0 > hlo and h0 < hhi and isfinite(h0):
        h = h0
    else:
        h = initial_h(dic, ta, c)
        if not (h > hlo and h < hhi):
            h = sqrt(hlo * hhi)
    for it in range(1, maxiter + 1):
        res = alk_residual(h, dic, ta, pt, sit, c, &dres)
        if res > 0.0:
            hlo = h
        elif res < 0.0:
            hhi = h
        else:
            h_out[0] = h
            dres_out[0] = dres
            iters[0] = it
            return 0
        step = -res / dres
        if fabs(step) < 0.5 * h:
            hnew = h + step
        else:
            dln = step / h
            if dln > 4.6:
                dln = 4.6
            elif dln < -4.6:
                dln = -4.6
            hnew = h * exp(dln)
        if not (hnew > hlo and hnew < hhi):
            hnew = sqrt(hlo * hhi)
        dln = fabs(log(hnew / h))
        h = hnew
        if dln < tol_ln or hhi - hlo <= 1e-15 * hhi:
            res = alk_residual(h, dic, ta, pt, sit, c, &dres)
            h_out[0] = h
            dres_out[0] = dres
            iters[0] = it
            return 0
    h_out[0] = h
    dres_out[0] = dres
    iters[0] = maxiter
    return 1


cdef void solve_one(double tk, double s, double dic, double ta, double pt, double sit, double ph_guess,
                    int kf_opt, int bt_opt, double tol_ph, int maxiter, double* out,
                    signed char* status, int* iterations) noexcept nogil:
    """One cell: out = [pH, CO2*, fCO2, pCO2, HCO3, CO3, Revelle, K0]. Locals live on this stack."""
    cdef Consts c
    cdef double h = 1.0e-8
    cdef double dres = -1.0
    cdef double h0 = -1.0
    cdef double d, a0, a1, a2, dhdc
    cdef int it = 0
    cdef int st
    compute_constants(tk, s, kf_opt, bt_opt, pt > 0.0 or sit > 0.0, &c)
    if ph_guess > 0.0:
        h0 = exp(-LN10 * ph_guess)
    st = solve_h(dic, ta, pt, sit, &c, h0, tol_ph, maxiter, &h, &dres, &it)
    status[0] = <signed char> st
    iterations[0] = it
    d = h * h + c.k1 * h + c.k1 * c.k2
    a0 = h * h / d
    a1 = c.k1 * h / d
    a2 = c.k1 * c.k2 / d
    out[0] = -log10(h)
    out[1] = dic * a0
    out[4] = dic * a1
    out[5] = dic * a2
    out[2] = out[1] / c.k0
    out[3] = out[2] / c.fugfac
    # Revelle factor (d ln fCO2 / d ln DIC at constant TA) by implicit differentiation of TA(H, DIC)
    dhdc = -(a1 + 2.0 * a2) / dres
    out[6] = 1.0 + dic * (c.k1 * h + 2.0 * c.k1 * c.k2) / (h * d) * dhdc
    out[7] = c.k0


def solve(const double[::1] temperature, const double[::1] salinity, const double[::1] dic,
          const double[::1] alkalinity, const double[::1] phosphate, const double[::1] silicate,
          const double[::1] ph_guess, int kf_opt, int bt_opt, double tol_ph, int maxiter,
          double[:, ::1] out, signed char[::1] status, int[::1] iterations):
    """Solve the carbonate system cell by cell (1-D contiguous float64 inputs, mol kg-1, K).

    ``out`` has shape (8, n): pH (total scale), [CO2*] (mol kg-1), fCO2 and pCO2 (atm, at
    1 atm total pressure), HCO3-, CO3-- (mol kg-1), the Revelle factor (d ln fCO2 / d ln DIC
    at constant alkalinity) and K0 (mol kg-1 atm-1). ``status``: 0 ok, 1 not converged,
    2 no root in pH 3..12. ``ph_guess`` <= 0 or NaN means cold start.
    """
    cdef Py_ssize_t n = temperature.shape[0]
    cdef Py_ssize_t i
    if n < PARALLEL_MIN:
        # small problems: a parallel region costs more than it saves (and spins on a busy machine)
        with nogil:
            for i in range(n):
                solve_cell(temperature, salinity, dic, alkalinity, phosphate, silicate, ph_guess, kf_opt,
                           bt_opt, tol_ph, maxiter, out, status, iterations, i)
        return
    for i in prange(n, nogil=True, schedule="static"):
        solve_cell(temperature, salinity, dic, alkalinity, phosphate, silicate, ph_guess, kf_opt,
                   bt_opt, tol_ph, maxiter, out, status, iterations, i)


cdef inline void solve_cell(const double[::1] temperature, const double[::1] salinity,
                            const double[::1] dic, const double[::1] alkalinity,
                            const double[::1] phosphate, const double[::1] silicate,
                            const double[::1] ph_guess, int kf_opt, int bt_opt, double tol_ph,
                            int maxiter, double[:, ::1] out, signed char[::1] status,
                            int[::1] iterations, Py_ssize_t i) noexcept nogil:
    cdef double buf[8]
    cdef int k
    solve_one(temperature[i], salinity[i], dic[i], alkalinity[i], phosphate[i], silicate[i],
              ph_guess[i], kf_opt, bt_opt, tol_ph, maxiter, buf, &status[i], &iterations[i])
    for k in range(8):
        out[k, i] = buf[k]


cdef inline void constants_cell(const double[::1] temperature, const double[::1] salinity,
                                int kf_opt, int bt_opt, double[:, ::1] out, Py_ssize_t i) noexcept nogil:
    cdef Consts c
    compute_constants(temperature[i], salinity[i], kf_opt, bt_opt, True, &c)
    out[0, i] = c.k0
    out[1, i] = c.k1
    out[2, i] = c.k2
    out[3, i] = c.kb
    out[4, i] = c.kw
    out[5, i] = c.ks
    out[6, i] = c.kf
    out[7, i] = c.kp1
    out[8, i] = c.kp2
    out[9, i] = c.kp3
    out[10, i] = c.ksi
    out[11, i] = c.bt
    out[12, i] = c.st
    out[13, i] = c.ft
    out[14, i] = c.free2tot
    out[15, i] = c.fugfac


def constants(const double[::1] temperature, const double[::1] salinity, int kf_opt, int bt_opt,
              double[:, ::1] out):
    """All constants for each cell into ``out`` (16, n): k0 k1 k2 kb kw(total) ks(free) kf(free)
    kp1 kp2 kp3 ksi (total) bt st ft free2tot fugfac."""
    cdef Py_ssize_t n = temperature.shape[0]
    cdef Py_ssize_t i
    for i in prange(n, nogil=True, schedule="static"):
        constants_cell(temperature, salinity, kf_opt, bt_opt, out, i)
