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
uniform. Per row the convecting columns are found level by level (longitude innermost) and
only their layers are copied into column buffers.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport ceil


def convect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] cmfmc,
            const double[:, :, ::1] dtrain, const double[:, ::1] area, double dt, int max_sub,
            int[:, ::1] status, double[::1] value, int nthreads=1):
    """Update every tracer in place. status[j] = (code, i, -) for the first failing column
    of row j: 1 = more than ``max_sub`` sub-steps needed (value = required number).

    Per row, the convecting columns and their layer range are found level by level with
    longitude innermost; only those columns' layers are copied into column buffers."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef int L = nlev + 2
    cdef int j, i, k, t, s, nsub, kb, kt, kl, nact
    cdef double* work = NULL
    cdef int* iwork = NULL
    cdef double* mm              # per-column buffers (L each)
    cdef double* mu
    cdef double* de
    cdef double* qcol            # (ntr, L)
    cdef double* en
    cdef double* cd
    cdef double* cm
    cdef double* qu
    cdef double* qo
    cdef double* qq
    cdef int* kbot = NULL
    cdef int* ktop = NULL
    cdef double fac, ratio, rmax, qin, e, x
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    with nogil, parallel(num_threads=nthreads):
        work = <double*> malloc(((8 + ntr) * L) * sizeof(double))
        iwork = <int*> malloc(2 * (nlon + 8) * sizeof(int))
        for j in prange(nlat, schedule="dynamic"):
            if work == NULL or iwork == NULL:
                sp[3 * j] = 7
                continue
            mm = work
            mu = mm + L
            de = mu + L
            en = de + L
            cd = en + L
            cm = cd + L
            qu = cm + L
            qo = qu + L
            qcol = qo + L
            kbot = iwork
            ktop = iwork + nlon + 8
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
            for i in range(nlon):
                nact = nact + (ktop[i] >= 0)
            if nact == 0:
                continue
            for i in range(nlon):
                kb = kbot[i]
                kt = ktop[i]
                if kt < 0:
                    continue
                kl = kt + 1 if kt + 1 < nlev else nlev - 1      # highest layer read (subsidence source)
                # gather this column's layers kb .. kl and interfaces kb .. kt + 1
                for k in range(kb, kl + 1):
                    mm[k] = m[k, j, i]
                    de[k] = dtrain[k, j, i]
                    for t in range(ntr):
                        qcol[t * L + k] = q[t, k, j, i]
                for k in range(kb, kt + 2):
                    mu[k] = cmfmc[k, j, i] if (0 < k < nlev and cmfmc[k, j, i] > 0.0) else 0.0
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
                    qq = qcol + t * L
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
                    for k in range(kb, kt + 1):
                        q[t, k, j, i] = qq[k]
        free(work)
        free(iwork)
