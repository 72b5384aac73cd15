# cython: language_level=3
"""Convective transport by the updraft mass flux: conservative and monotone.

Kernel behind ``esm.transport.convection``; nothing here checks its arguments.

A bulk entraining-detraining updraft per column driven by the meteorology's convective
mass flux M_k at interfaces (kg m-2 s-1, upward, GEOS CMFMC convention: index 0 at the
surface) and detrainment D_k per layer (GEOS DTRAIN), with compensating subsidence in the
environment, as in the GEOS-Chem/TM5 treatment of archived convective fluxes (Tiedtke 1989,
MWR 117, 1779, eqs. 4-5 for the bulk updraft budget; Allen et al. 1996, JGR 101, 6871, for
its offline use). Entrainment closes the updraft mass budget of each layer,

    E_k = M_{k+1} + D_k - M_k    (negative values become extra detrainment),

the updraft mixing ratio leaving layer k is q^u_k = (M_k q^u_{k-1} + E_k q_k)/(M_k + E_k), and
the environment of layer k gains detrained updraft air and air subsiding from above:

    m_k dq_k/dt = A [ D_k (q^u_k - q_k) + M_{k+1} (q_{k+1} - q_k) ].

Explicit sub-steps keep (D_k + M_{k+1}) dt A / m_k <= 1 so that every new q_k is a convex
combination of old values (monotone); the fluxes telescope, so sum_k m_k q_k is conserved
and layer air masses do not change. Written in increment form so a uniform q stays exactly
uniform.
"""
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport ceil


def convect(double[:, :, ::1] m, double[:, :, :, ::1] q, const double[:, :, ::1] cmfmc,
            const double[:, :, ::1] dtrain, const double[:, ::1] area, double dt, int max_sub,
            int[:, ::1] status, double[::1] value):
    """Update every tracer in place. status[j] = (code, i, -) for the first failing column
    of row j: 1 = more than ``max_sub`` sub-steps needed (value = required number)."""
    cdef int nlev = m.shape[0]
    cdef int nlat = m.shape[1]
    cdef int nlon = m.shape[2]
    cdef int ntr = q.shape[0]
    cdef Py_ssize_t lstride = <Py_ssize_t> nlat * nlon
    cdef Py_ssize_t tstride = <Py_ssize_t> nlev * lstride
    cdef int j, i, k, t, s, nsub, kbot, ktop
    cdef double* work = NULL
    cdef double* mu = NULL
    cdef double* de = NULL
    cdef double* en = NULL
    cdef double* cd = NULL
    cdef double* cm = NULL
    cdef double* qu = NULL
    cdef double* qo = NULL
    cdef double fac, ratio, rmax, qin, e
    cdef Py_ssize_t c
    cdef double* mp = &m[0, 0, 0]
    cdef double* qp = &q[0, 0, 0, 0]
    cdef int* sp = &status[0, 0]
    cdef double* vp = &value[0]
    with nogil, parallel():
        work = <double*> malloc(7 * (nlev + 2) * sizeof(double))
        mu = work
        de = mu + (nlev + 2)
        en = de + (nlev + 2)
        cd = en + (nlev + 2)
        cm = cd + (nlev + 2)
        qu = cm + (nlev + 2)
        qo = qu + (nlev + 2)
        for j in prange(nlat, schedule="dynamic"):
            if work == NULL:
                sp[3 * j] = 7
                continue
            for i in range(nlon):
                c = <Py_ssize_t> j * nlon + i
                kbot = nlev
                ktop = -1
                mu[0] = 0.0
                mu[nlev] = 0.0
                for k in range(1, nlev):
                    mu[k] = cmfmc[k, j, i]
                    if mu[k] > 0.0:
                        if k - 1 < kbot:
                            kbot = k - 1
                        ktop = k
                    else:
                        mu[k] = 0.0
                if ktop < 0:
                    continue
                # layers kbot .. ktop take part (ktop = highest layer fed from below)
                fac = area[j, i] * dt
                rmax = 0.0
                for k in range(kbot, ktop + 1):
                    de[k] = dtrain[k, j, i]
                    if de[k] < 0.0:
                        de[k] = 0.0
                    e = mu[k + 1] + de[k] - mu[k]
                    if e < 0.0:
                        de[k] = mu[k] - mu[k + 1]
                        e = 0.0
                    en[k] = e
                    cd[k] = de[k] * fac / mp[k * lstride + c]
                    cm[k] = mu[k + 1] * fac / mp[k * lstride + c]
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
                for k in range(kbot, ktop + 1):
                    cd[k] = cd[k] / nsub
                    cm[k] = cm[k] / nsub
                for t in range(ntr):
                    for s in range(nsub):
                        for k in range(kbot, ktop + 2):
                            if k < nlev:
                                qo[k] = qp[t * tstride + k * lstride + c]
                        # updraft from cloud base up
                        qin = qo[kbot]
                        for k in range(kbot, ktop + 1):
                            if mu[k] <= 0.0:
                                qin = qo[k]
                            if mu[k] + en[k] > 0.0:
                                qu[k] = qin + en[k] * (qo[k] - qin) / (mu[k] + en[k])
                            else:
                                qu[k] = qo[k]
                            qin = qu[k]
                        # environment: detrainment and subsidence from above
                        for k in range(kbot, ktop + 1):
                            if k + 1 < nlev:
                                qp[t * tstride + k * lstride + c] = (qo[k] + cd[k] * (qu[k] - qo[k])
                                                                     + cm[k] * (qo[k + 1] - qo[k]))
                            else:
                                qp[t * tstride + k * lstride + c] = qo[k] + cd[k] * (qu[k] - qo[k])
        free(work)
