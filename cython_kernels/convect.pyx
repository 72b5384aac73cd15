# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
"""Convective transport by the updraft and downdraught mass fluxes: conservative and monotone.

``convect`` (updraft, below) and ``convect_down`` (downdraught, at the end of the file; the
same construction written downward, used when the meteorology provides a downdraught).

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


cdef void _row_coefs(cdptr inp, cdptr outp, cdptr dtr, cdptr mk, cdptr fac, cdptr kbd, cdptr ktd, double kd,
                     int n, bint in_none, bint out_none, dptr cd, dptr cm, dptr en, dptr rmax) noexcept nogil:
    """Coefficients of layer k (as a double, ``kd``) of n columns, for either draught: detrainment
    share ``cd``, share ``cm`` (per step) of the compensating environmental motion that replaces the
    draught's outflow (subsidence from above for the updraft, ascent from below for the downdraught),
    entrained share of the draught air ``en``; running maximum of cd + cm over each column's layers
    kb..kt (``kbd``/``ktd``). ``inp``/``outp``: the draught's mass flux (positive in its direction)
    where it enters the layer and where it leaves (updraft: the lower and upper interfaces;
    downdraught: the upper and lower ones); ``in_none``/``out_none``: that interface is the surface
    or the model top, no flux. The budget of the layer: in + entrained = out + detrained (Tiedtke
    1989), a negative entrainment becomes extra detrainment. Inactive layers get zeros."""
    cdef int i
    cdef double fin, fout, d, e, c, cmv, env, r, x
    cdef bint neg, act
    for i in range(n):
        x = inp[i]
        fin = 0.0 if in_none else _mu(x)
        x = outp[i]
        fout = 0.0 if out_none else _mu(x)
        d = dtr[i]
        d = d if d > 0.0 else 0.0
        e = fout + d - fin
        neg = e < 0.0
        x = mk[i]
        c = (fin - fout) * fac[i] / x if neg else d * fac[i] / x
        e = 0.0 if neg else e
        env = e / (fin + e) if fin + e > 0.0 else 0.0
        cmv = fout * fac[i] / x
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


# ---------------------------------------------------------------------------------------
# downdraughts
# ---------------------------------------------------------------------------------------
cdef void _row_substep_down(dptr qk, cdptr qkm, cdptr md1p, bint top, cdptr cd, cdptr ca, cdptr en, dptr qin,
                            cdptr kbd, cdptr ktd, cdptr nsd, double kd, double sd, int n) noexcept nogil:
    """One sub-step of layer k (``kd``) of n columns in place, going downward: the downdraught
    mixing ratio leaving the layer at its base (``qin`` holds the one entering from above and
    receives the new one; it starts from the layer's own air where no downdraught enters from
    above) and the environment's update from detrainment and the ascent from layer k-1 (``qkm``:
    still the old values). Columns outside their layers or past their sub-steps keep their value."""
    cdef int i
    cdef double q0, qm, u, qi, v, x, md1
    cdef bint act
    for i in range(n):
        q0 = qk[i]
        qm = qkm[i]
        qi = qin[i]
        x = md1p[i]
        md1 = 0.0 if top else _mu(x)
        qi = q0 if md1 <= 0.0 else qi
        u = qi + en[i] * (q0 - qi)
        qin[i] = u
        v = q0 + cd[i] * (u - q0) + ca[i] * (qm - q0)
        act = (kd >= kbd[i]) & (kd <= ktd[i]) & (sd < nsd[i])
        qk[i] = v if act else q0


# ---------------------------------------------------------------------------------------
# both draughts
# ---------------------------------------------------------------------------------------

cdef int _row_layers(const double* fp, Py_ssize_t lstride, int nlev, int nlon, int* kbot, int* ktop,
                     int* k0, int* k1) noexcept nogil:
    """Layers kbot .. ktop of each column of a row that take part in a draught whose mass flux at the
    interior interfaces is ``fp + k * lstride`` (k = 1 .. nlev-1; the surface and the top carry none):
    ktop = the highest interface with a positive flux, kbot = one below the lowest; -1 / nlev where
    there is none. k0/k1: the row's range; returns the number of columns with a draught."""
    cdef int i, k, nact = 0
    cdef double x
    for i in range(nlon):
        kbot[i] = nlev
        ktop[i] = -1
    for k in range(nlev - 1, 0, -1):
        for i in range(nlon):
            x = fp[k * lstride + i]
            kbot[i] = k - 1 if x > 0.0 else kbot[i]
    for k in range(1, nlev):
        for i in range(nlon):
            x = fp[k * lstride + i]
            ktop[i] = k if x > 0.0 else ktop[i]
    k0[0] = nlev
    k1[0] = -1
    for i in range(nlon):
        nact = nact + (ktop[i] >= 0)
        if ktop[i] >= 0:
            k0[0] = kbot[i] if kbot[i] < k0[0] else k0[0]
            k1[0] = ktop[i] if ktop[i] > k1[0] else k1[0]
    return nact


cdef int _row_substeps(const int* ktop, cdptr rmax, int nlon, int max_sub, dptr nsd, int* status,
                       double* value) noexcept nogil:
    """Explicit sub-steps per column (``nsd``, as doubles): ceil of the largest exchanged share of a
    layer's air, at least 1; a column that needs more than ``max_sub`` gets none and is reported
    (status = (1, i, -), value = the share) if it is the row's first. Returns the row's largest count."""
    cdef int i, nsub, nsmax = 0
    cdef double rm
    for i in range(nlon):
        if ktop[i] < 0:
            nsd[i] = 0.0
            continue
        rm = rmax[i]
        nsub = <int> ceil(rm)
        if nsub < 1:
            nsub = 1
        if nsub > max_sub:
            if status[0] == 0:
                status[0] = 1
                status[1] = i
                value[0] = rm
            nsd[i] = 0.0
            continue
        nsd[i] = nsub
        nsmax = nsub if nsub > nsmax else nsmax
    return nsmax


cdef void _per_substep(double* c1, double* c2, cdptr nsd, int nlay, Py_ssize_t R, int nlon) noexcept nogil:
    """The per-step shares of ``nlay`` layers (rows of stride R) divided by each column's sub-steps."""
    cdef int k, i
    cdef double x
    for k in range(nlay):
        for i in range(nlon):
            x = nsd[i]
            c1[k * R + i] = c1[k * R + i] / x if x > 0.0 else 0.0
            c2[k * R + i] = c2[k * R + i] / x if x > 0.0 else 0.0


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
    _convect_rows(m, q, cmfmc, dtrain, area, dt, max_sub, status, value, nthreads, False)


def _convect_rows(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] flux,
                  const double[:, :, ::1] detr, const double[:, ::1] area, double dt, int max_sub,
                  int[:, ::1] status, double[::1] value, int nthreads, bint down):
    """The driver of ``convect`` (``down`` false: updraft ``flux`` = CMFMC, ``detr`` = DTRAIN) and of
    ``convect_down`` (``down`` true: downdraught ``flux`` = dmf, ``detr`` = ddtrain). Per row: the
    columns' draught layers (``_row_layers``), the coefficients of the row's layers k0..k1, the
    sub-steps, then per tracer and sub-step one pass over k0..k1, upward for the updraft, downward
    for the downdraught."""
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
    cdef double* qend         # copy of the end layer (top: its own subsidence source; bottom: ascent source)
    cdef double* cd           # (nlev + 1) x R each
    cdef double* cm           # subsidence (updraft) or ascent (downdraught) share
    cdef double* en
    cdef int* kbot = NULL
    cdef int* ktop = NULL
    cdef double* qt
    cdef Py_ssize_t o, kr
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef const double* cp = &flux[0, 0, 0]
    cdef const double* dp = &detr[0, 0, 0]
    with nogil, parallel(num_threads=nthreads):
        work = <double*> malloc((8 * R + 3 * (nlev + 1) * R) * sizeof(double))
        iwork = <int*> malloc((2 * R + 2) * sizeof(int))
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
            qend = zero + R
            cd = qend + R
            cm = cd + (nlev + 1) * R
            en = cm + (nlev + 1) * R
            kbot = iwork
            ktop = iwork + R
            o = <Py_ssize_t> j * nlon
            # layers kbot .. ktop take part (updraft: ktop the highest layer fed from below; downdraught:
            # the layer where it starts)
            # (k0/k1 through the thread's own workspace: prange keeps only assigned variables private)
            nact = _row_layers(cp + o, lstride, nlev, nlon, kbot, ktop, iwork + 2 * R, iwork + 2 * R + 1)
            k0 = iwork[2 * R]
            k1 = iwork[2 * R + 1]
            if nact == 0:
                continue
            for i in range(nlon):
                fac[i] = area[j, i] * dt
                kbd[i] = kbot[i]
                ktd[i] = ktop[i]       # -1 for columns without a draught: never active
                rmax[i] = 0.0
                zero[i] = 0.0
            # ---- coefficients of layers k0 .. k1 (no flux through the surface, k = 0, or the top) ----
            for k in range(k0, k1 + 1):
                kr = (k - k0) * R
                if down:                  # enters through the upper interface, leaves through the lower
                    _row_coefs(zero if k + 1 >= nlev else cp + (k + 1) * lstride + o,
                               zero if k == 0 else cp + k * lstride + o,
                               dp + k * lstride + o, mp + k * lstride + o, fac, kbd, ktd, <double> k, nlon,
                               k + 1 >= nlev, k == 0, cd + kr, cm + kr, en + kr, rmax)
                else:                     # enters through the lower interface, leaves through the upper
                    _row_coefs(zero if k == 0 else cp + k * lstride + o, cp + (k + 1) * lstride + o,
                               dp + k * lstride + o, mp + k * lstride + o, fac, kbd, ktd, <double> k, nlon,
                               False, k + 1 >= nlev, cd + kr, cm + kr, en + kr, rmax)
            # ---- sub-steps per column (none for a column that needs too many) ------------------
            nsmax = _row_substeps(ktop, rmax, nlon, max_sub, nsd, sp + 3 * j, vp + j)
            if nsmax == 0:
                continue
            _per_substep(cd, cm, nsd, k1 - k0 + 1, R, nlon)
            # ---- per tracer and sub-step: one pass over layers k0 .. k1 ------------------------------
            for t in range(ntr):
                qt = qp + t * tstride + o
                for s in range(nsmax):
                    if down:
                        for k in range(k1, k0 - 1, -1):
                            kr = (k - k0) * R
                            if k > 0:
                                _row_substep_down(qt + k * lstride, qt + (k - 1) * lstride,
                                                  zero if k + 1 >= nlev else cp + (k + 1) * lstride + o,
                                                  k + 1 >= nlev, cd + kr, cm + kr, en + kr, qin, kbd, ktd, nsd,
                                                  <double> k, <double> s, nlon)
                            else:
                                # the layer below the lowest is the lowest itself (its ascent share is 0)
                                memcpy(qend, qt, nlon * sizeof(double))
                                _row_substep_down(qt, qend, zero if k + 1 >= nlev else cp + lstride + o,
                                                  k + 1 >= nlev, cd + kr, cm + kr, en + kr, qin, kbd, ktd, nsd,
                                                  <double> k, <double> s, nlon)
                        continue
                    for k in range(k0, k1 + 1):
                        kr = (k - k0) * R
                        if k + 1 < nlev:
                            _row_substep(qt + k * lstride, qt + (k + 1) * lstride,
                                         zero if k == 0 else cp + k * lstride + o, cd + kr, cm + kr, en + kr,
                                         qin, kbd, ktd, nsd, <double> k, <double> s, nlon)
                        else:
                            # the layer above the top layer is the top layer itself (old values)
                            memcpy(qend, qt + k * lstride, nlon * sizeof(double))
                            _row_substep(qt + k * lstride, qend, zero if k == 0 else cp + k * lstride + o,
                                         cd + kr, cm + kr, en + kr, qin, kbd, ktd, nsd, <double> k, <double> s,
                                         nlon)
        free(work)
        free(iwork)


def convect_down(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] dmf,
                 const double[:, :, ::1] ddtrain, const double[:, ::1] area, double dt, int max_sub,
                 int[:, ::1] status, double[::1] value, int nthreads=1):
    """Downdraughts with compensating ascent: update every tracer in place.

    The mirror image of ``convect``: a bulk downdraught per column with mass flux Md_k >= 0
    (downward, at interfaces; none through the surface or the top) and detrainment Dd_k per layer,
    its entrainment closing each layer's budget (Tiedtke 1989 bulk budgets, written downward),

        Ed_k = Md_k + Dd_k - Md_{k+1}    (negative values become extra detrainment),

    the downdraught air leaving layer k at its base q^d_k = q^d_{k+1} + Ed_k/(Md_{k+1} + Ed_k)
    (q_k - q^d_{k+1}), and the environment gaining detrained downdraught air and the air that
    rises from below to replace the downdraught's descent:

        m_k dq_k/dt = A [ Dd_k (q^d_k - q_k) + Md_k (q_{k-1} - q_k) ].

    This is the flux form with the downward flux Md_k q^d_k through interface k and the upward
    compensating flux Md_k q_{k-1}, so the fluxes telescope (sum_k m_k q_k conserved) and air
    masses do not change. Explicit sub-steps keep (Dd_k + Md_k) dt A / m_k <= 1 (every new q_k a
    convex combination of old values: monotone); increment form, so a uniform q stays exactly
    uniform. Per row and sub-step one downward pass per tracer (layer k reads the old value of
    layer k-1, updated later in the pass). status[j] = (code, i, -) as in ``convect``.
    """
    _convect_rows(m, q, dmf, ddtrain, area, dt, max_sub, status, value, nthreads, True)
