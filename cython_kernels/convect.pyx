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
uniform. Each row's convective levels are first copied into column-contiguous buffers.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport ceil


def convect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] cmfmc,
            const double[:, :, ::1] dtrain, const double[:, ::1] area, double dt, int max_sub,
            int[:, ::1] status, double[::1] value, int nthreads=1):
    """Update every tracer in place. status[j] = (code, i, -) for the first failing column
    of row j: 1 = more than ``max_sub`` sub-steps needed (value = required number)."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int L = nlev + 2
    cdef int j, i, k, t, s, nsub, kb, kt, kbr, ktr, kl
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* mcol = NULL     # (nlon, L) layer air mass
    cdef double* mucol = NULL    # (nlon, L) updraft flux at interfaces
    cdef double* dcol = NULL     # (nlon, L) detrainment
    cdef double* qcol = NULL     # (ntr, nlon, L)
    cdef double* col = NULL      # per-column scratch: en, cd, cm, qu, qo (5 L)
    cdef double* en
    cdef double* cd
    cdef double* cm
    cdef double* qu
    cdef double* qo
    cdef double* mu
    cdef double* de
    cdef double* mm
    cdef double* qq
    cdef int* kbot = NULL
    cdef int* ktop = NULL
    cdef double fac, ratio, rmax, qin, e
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    with nogil, parallel(num_threads=nthreads):
        work = <double*> malloc(((3 + ntr) * nlon * L + 5 * L) * sizeof(double))
        iwork = <int*> malloc(2 * nlon * sizeof(int))
        if work != NULL and iwork != NULL:
            mcol = work
            mucol = mcol + nlon * L
            dcol = mucol + nlon * L
            qcol = dcol + nlon * L
            col = qcol + ntr * nlon * L
            kbot = iwork
            ktop = iwork + nlon
        for j in prange(nlat, schedule="dynamic"):
            if work == NULL or iwork == NULL:
                sp[3 * j] = 7
                continue
            # active columns: layers kbot .. ktop take part (ktop = highest layer fed from below)
            for i in range(nlon):
                kbot[i] = nlev
                ktop[i] = -1
            for k in range(1, nlev):
                for i in range(nlon):
                    if cmfmc[k, j, i] > 0.0:
                        if k - 1 < kbot[i]:
                            kbot[i] = k - 1
                        ktop[i] = k
            kbr = nlev
            ktr = -1
            for i in range(nlon):
                if ktop[i] >= 0:
                    if kbot[i] < kbr:
                        kbr = kbot[i]
                    if ktop[i] > ktr:
                        ktr = ktop[i]
            if ktr < 0:
                continue
            kl = ktr + 1 if ktr + 1 < nlev else nlev - 1      # highest layer read (subsidence source)
            # gather layers kbr .. kl and interfaces kbr .. ktr+1 into column-contiguous buffers
            for k in range(kbr, kl + 1):
                for i in range(nlon):
                    mcol[i * L + k] = m[k, j, i]
                    dcol[i * L + k] = dtrain[k, j, i]
                for t in range(ntr):
                    for i in range(nlon):
                        qcol[(t * nlon + i) * L + k] = q[t, k, j, i]
            for k in range(kbr, ktr + 2):
                for i in range(nlon):
                    mucol[i * L + k] = cmfmc[k, j, i] if (0 < k < nlev and cmfmc[k, j, i] > 0.0) else 0.0
            en = col
            cd = en + L
            cm = cd + L
            qu = cm + L
            qo = qu + L
            for i in range(nlon):
                kb = kbot[i]
                kt = ktop[i]
                if kt < 0:
                    continue
                mu = mucol + i * L
                de = dcol + i * L
                mm = mcol + i * L
                fac = area[j, i] * dt
                rmax = 0.0
                for k in range(kb, kt + 1):
                    # mu[kt + 1] is zero: ktop is the highest positive interface of the column
                    e = mu[k + 1] + (de[k] if de[k] > 0.0 else 0.0) - mu[k]
                    if e < 0.0:
                        cd[k] = (mu[k] - mu[k + 1]) * fac / mm[k]
                        e = 0.0
                    else:
                        cd[k] = (de[k] if de[k] > 0.0 else 0.0) * fac / mm[k]
                    en[k] = e / (mu[k] + e) if mu[k] + e > 0.0 else 0.0   # entrained share of the updraft air
                    cm[k] = mu[k + 1] * fac / mm[k]
                    ratio = cd[k] + cm[k]
                    if ratio > rmax:
                        rmax = ratio
                nsub = <int> ceil(rmax)
                if nsub < 1:
                    nsub = 1
                if nsub > max_sub:
                    if sp[3 * j] == 0:
                        sp[3 * j] = 1
                        sp[3 * j + 1] = i
                        vp[j] = rmax
                    continue
                for k in range(kb, kt + 1):
                    cd[k] = cd[k] / nsub
                    cm[k] = cm[k] / nsub
                for t in range(ntr):
                    qq = qcol + (t * nlon + i) * L
                    for s in range(nsub):
                        for k in range(kb, kt + 1):
                            qo[k] = qq[k]
                        qo[kt + 1] = qq[kt + 1] if kt + 1 < nlev else qq[kt]
                        # updraft from cloud base up
                        qin = qo[kb]
                        for k in range(kb, kt + 1):
                            qin = qo[k] if mu[k] <= 0.0 else qin
                            qu[k] = qin + en[k] * (qo[k] - qin)
                            qin = qu[k]
                        # environment: detrainment and subsidence from above
                        for k in range(kb, kt + 1):
                            qq[k] = qo[k] + cd[k] * (qu[k] - qo[k]) + cm[k] * (qo[k + 1] - qo[k])
            for k in range(kbr, kl + 1):
                for t in range(ntr):
                    for i in range(nlon):
                        q[t, k, j, i] = qcol[(t * nlon + i) * L + k]
        free(work)
        free(iwork)
