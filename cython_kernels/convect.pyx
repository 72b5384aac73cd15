# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
"""Convective transport by the updraft mass flux: conservative and monotone.

Kernel behind ``esm.transport.convection``; nothing here checks its arguments.

A bulk entraining-detraining updraft per column driven by the meteorology's convective
mass flux M_k at interfaces (kg m-2 s-1, upward, GEOS CMFMC convention: index 0 at the
surface) and detrainment D_k per layer (GEOS DTRAIN), with compensating subsidence in the
environment, as in the GEOS-Chem/TM5 treatment of archived convective fluxes (bulk updraft
budget of Tiedtke 1989, MWR 117, 1779, eqs. 4-5; offline use of archived fluxes: Allen et
al. 1996, JGR 101, 6871). Entrainment closes the updraft mass budget of each layer,

    E_k = M_{k+1} + D_k - M_k    (negative values become extra detrainment),

the updraft mixing ratio leaving layer k is q^u_k = q^u_{k-1} + E_k/(M_k + E_k) (q_k - q^u_{k-1})
(the mass-weighted mix of the air from below and the entrained air), and
the environment of layer k gains detrained updraft air and air subsiding from above:

    m_k dq_k/dt = A [ D_k (q^u_k - q_k) + M_{k+1} (q_{k+1} - q_k) ].

Explicit sub-steps keep (D_k + M_{k+1}) dt A / m_k <= 1 so that every new q_k is a convex
combination of old values (monotone); the fluxes telescope, so sum_k m_k q_k is conserved
and layer air masses do not change. Written in increment form so a uniform q stays exactly
uniform.

Layout: each latitude row is processed level by level with longitude innermost (contiguous
memory, vectorised): the convecting columns and their layer ranges, then the coefficients of
every layer of the row's convecting range, then per tracer and sub-step one upward pass that
builds the updraft and updates the environment together (the update of layer k reads the
old values of layers k and k+1 only, so it can be written in place while going up). Columns
outside their range, or past their own number of sub-steps, keep their values (selections,
no branches), so every column gets exactly the arithmetic of a column-by-column solve.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.math cimport ceil


cdef extern from *:
    # restrict-qualified pointers: the row arrays never overlap, so the loops vectorise
    # without run-time alias checks
    ctypedef double* dptr "double * __restrict__"
    ctypedef const double* cdptr "const double * __restrict__"


cdef inline double _mu(double x) noexcept nogil:
    """Updraft mass flux at an interior interface: CMFMC where positive, else none."""
    return x if x > 0.0 else 0.0


cdef void _row_coefs(cdptr mu0p, cdptr mu1p, cdptr dtr, cdptr mk, cdptr fac, cdptr kbd, cdptr ktd, double kd,
                     int n, bint top, dptr cd, dptr cm, dptr en, dptr rmax) noexcept nogil:
    """Coefficients of layer k (as a double, ``kd``) of n columns: detrainment share ``cd``,
    subsidence share ``cm`` (per step), entrained share of the updraft air ``en``; running
    maximum of cd + cm over each column's layers kb..kt (``kbd``/``ktd``). ``mu0p``/``mu1p``:
    CMFMC at the layer's lower and upper interfaces (``top``: the upper one is the model top,
    no flux; the lower one of layer 0 is the surface, no flux: the caller passes a row with no
    positive value). Inactive layers get zeros."""
    cdef int i
    cdef double mu0, mu1, d, e, c, cmv, env, r, x
    cdef bint neg, act
    for i in range(n):
        mu0 = _mu(mu0p[i])
        x = mu1p[i]
        mu1 = 0.0 if top else _mu(x)
        d = dtr[i]
        d = d if d > 0.0 else 0.0
        e = mu1 + d - mu0
        neg = e < 0.0
        x = mk[i]
        c = (mu0 - mu1) * fac[i] / x if neg else d * fac[i] / x
        e = 0.0 if neg else e
        env = e / (mu0 + e) if mu0 + e > 0.0 else 0.0
        cmv = mu1 * fac[i] / x
        act = (kd >= kbd[i]) & (kd <= ktd[i])
        cd[i] = c if act else 0.0
        cm[i] = cmv if act else 0.0
        en[i] = env if act else 0.0
        r = c + cmv
        x = rmax[i]
        rmax[i] = r if (act & (r > x)) else x


cdef void _row_substep(dptr qk, cdptr qk1, cdptr mu0p, cdptr cd, cdptr cm, cdptr en, dptr qin, cdptr kbd,
                       cdptr ktd, cdptr nsd, double kd, double sd, int n) noexcept nogil:
    """One sub-step of layer k (as a double, ``kd``) of n columns in place, going upward: the
    updraft mixing ratio leaving the layer (``qin`` holds the one entering it and receives the
    new one; it restarts from the layer's own air where no updraft enters from below) and the
    environment's update from detrainment and subsidence from layer k+1 (``qk1``: still the old
    values). Columns outside their layers or past their sub-steps (``nsd``; ``sd`` the sub-step
    index) keep their value."""
    cdef int i
    cdef double q0, q1, u, qi, v
    cdef bint act
    for i in range(n):
        q0 = qk[i]
        q1 = qk1[i]
        qi = qin[i]
        qi = q0 if _mu(mu0p[i]) <= 0.0 else qi
        u = qi + en[i] * (q0 - qi)
        qin[i] = u
        v = q0 + cd[i] * (u - q0) + cm[i] * (q1 - q0)
        act = (kd >= kbd[i]) & (kd <= ktd[i]) & (sd < nsd[i])
        qk[i] = v if act else q0


def convect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] cmfmc,
            const double[:, :, ::1] dtrain, const double[:, ::1] area, double dt, int max_sub,
            int[:, ::1] status, double[::1] value, int nthreads=1):
    """Update every tracer in place. status[j] = (code, i, -) for the first failing column
    of row j: 1 = more than ``max_sub`` sub-steps needed (value = required number); such a
    column is left unchanged.

    Per row: the convecting columns and their layer range kb..kt (kt: the highest interface
    with a positive CMFMC, kb: one below the lowest), level by level with longitude innermost;
    then the coefficients of layers k0..k1 (the row's range) and per tracer and sub-step one
    upward pass (``_row_substep``)."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef Py_ssize_t R = nlon + 8
    cdef Py_ssize_t lstride = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t tstride = <Py_ssize_t> nlev * lstride
    cdef int j, i, k, t, s, nsub, nsmax, k0, k1, nact
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* fac          # per column (R each)
    cdef double* kbd          # kb, kt, sub-steps as doubles (vector selections)
    cdef double* ktd
    cdef double* nsd
    cdef double* rmax
    cdef double* qin
    cdef double* zero
    cdef double* qtop         # copy of the top layer (its own subsidence source)
    cdef double* cd           # (nlev + 1) x R each
    cdef double* cm
    cdef double* en
    cdef int* kbot = NULL
    cdef int* ktop = NULL
    cdef double x, rm
    cdef double* qt
    cdef const double* mup
    cdef const double* mup1
    cdef Py_ssize_t o, kr
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* cp = &cmfmc[0, 0, 0]
    cdef const double* dp = &dtrain[0, 0, 0]
    with nogil, parallel(num_threads=nthreads):
        work = <double*> malloc((8 * R + 3 * (nlev + 1) * R) * sizeof(double))
        iwork = <int*> malloc(2 * R * sizeof(int))
        for j in prange(nlat, schedule="dynamic"):
            if work == NULL or iwork == NULL:
                sp[3 * j] = 7
                continue
            fac = work
            kbd = fac + R
            ktd = kbd + R
            nsd = ktd + R
            rmax = nsd + R
            qin = rmax + R
            zero = qin + R
            qtop = zero + R
            cd = qtop + R
            cm = cd + (nlev + 1) * R
            en = cm + (nlev + 1) * R
            kbot = iwork
            ktop = iwork + R
            o = <Py_ssize_t> j * nlon
            # active columns: layers kbot .. ktop take part (ktop = highest layer fed from below)
            for i in range(nlon):
                kbot[i] = nlev
                ktop[i] = -1
            for k in range(nlev - 1, 0, -1):
                for i in range(nlon):
                    x = cmfmc[k, j, i]
                    kbot[i] = k - 1 if x > 0.0 else kbot[i]
            for k in range(1, nlev):
                for i in range(nlon):
                    x = cmfmc[k, j, i]
                    ktop[i] = k if x > 0.0 else ktop[i]
            nact = 0
            k0 = nlev
            k1 = -1
            for i in range(nlon):
                nact = nact + (ktop[i] >= 0)
                if ktop[i] >= 0:
                    k0 = kbot[i] if kbot[i] < k0 else k0
                    k1 = ktop[i] if ktop[i] > k1 else k1
            if nact == 0:
                continue
            for i in range(nlon):
                fac[i] = area[j, i] * dt
                kbd[i] = kbot[i]
                ktd[i] = ktop[i]       # -1 for columns without convection: never active
                rmax[i] = 0.0
                zero[i] = 0.0
            # ---- coefficients of layers k0 .. k1 (CMFMC at the surface, k = 0, is no flux) ----
            for k in range(k0, k1 + 1):
                kr = (k - k0) * R
                _row_coefs(zero if k == 0 else cp + k * lstride + o, cp + (k + 1) * lstride + o,
                           dp + k * lstride + o, mp + k * lstride + o, fac, kbd, ktd, <double> k, nlon,
                           k + 1 >= nlev, cd + kr, cm + kr, en + kr, rmax)
            # ---- sub-steps per column (none for a column that needs too many) ------------------
            nsmax = 0
            for i in range(nlon):
                if ktop[i] < 0:
                    nsd[i] = 0.0
                    continue
                rm = rmax[i]
                nsub = <int> ceil(rm)
                if nsub < 1:
                    nsub = 1
                if nsub > max_sub:
                    if sp[3 * j] == 0:
                        sp[3 * j] = 1
                        sp[3 * j + 1] = i
                        vp[j] = rm
                    nsd[i] = 0.0
                    continue
                nsd[i] = nsub
                nsmax = nsub if nsub > nsmax else nsmax
            if nsmax == 0:
                continue
            for k in range(k0, k1 + 1):
                kr = (k - k0) * R
                for i in range(nlon):
                    x = nsd[i]
                    cd[kr + i] = cd[kr + i] / x if x > 0.0 else 0.0
                    cm[kr + i] = cm[kr + i] / x if x > 0.0 else 0.0
            # ---- per tracer and sub-step: one upward pass over layers k0 .. k1 ------------------
            for t in range(ntr):
                qt = qp + t * tstride + o
                for s in range(nsmax):
                    for k in range(k0, k1 + 1):
                        kr = (k - k0) * R
                        if k + 1 < nlev:
                            _row_substep(qt + k * lstride, qt + (k + 1) * lstride,
                                         zero if k == 0 else cp + k * lstride + o, cd + kr, cm + kr, en + kr,
                                         qin, kbd, ktd, nsd, <double> k, <double> s, nlon)
                        else:
                            # the layer above the top layer is the top layer itself (old values)
                            memcpy(qtop, qt + k * lstride, nlon * sizeof(double))
                            _row_substep(qt + k * lstride, qtop, zero if k == 0 else cp + k * lstride + o,
                                         cd + kr, cm + kr, en + kr, qin, kbd, ktd, nsd, <double> k, <double> s,
                                         nlon)
        free(work)
        free(iwork)
