# cython: language_level=3
"""Vertical remapping kernels for the reanalysis readers (wrapped by esm.meteorology.vertical_remap).

Layout: columns are the fastest-varying index of (nlev, ncol) C arrays; levels are ordered from the
surface upward (index 0 = lowest), so pressures decrease with the level index.
"""
from cython.parallel import prange

cimport cython
from libc.math cimport log


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def remap_conservative(const double[:, ::1] src_edges, const double[:, ::1] src, const double[:, ::1] tgt_edges,
                       double[:, ::1] out):
    """Pressure-weighted (mass-conserving) remap of layer means from source to target layers.

    src_edges (nsrc+1, ncol) and tgt_edges (ntgt+1, ncol) are interface pressures decreasing upward;
    src (nsrc, ncol) layer means; out (ntgt, ncol). Target parts outside the source column take the
    nearest source layer's value (constant extrapolation).
    """
    cdef Py_ssize_t ncol = src.shape[1]
    cdef Py_ssize_t nsrc = src.shape[0]
    cdef Py_ssize_t ntgt = out.shape[0]
    cdef Py_ssize_t c
    for c in prange(ncol, nogil=True, schedule="static"):
        _remap_column(src_edges, src, tgt_edges, out, c, nsrc, ntgt)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _remap_column(const double[:, ::1] se, const double[:, ::1] sv, const double[:, ::1] te,
                        double[:, ::1] out, Py_ssize_t c, Py_ssize_t nsrc, Py_ssize_t ntgt) noexcept nogil:
    cdef Py_ssize_t k, s, b
    cdef double lo, hi, acc, width, top, bot
    s = 0
    for k in range(ntgt):
        bot = te[k, c]
        top = te[k + 1, c]
        width = bot - top
        acc = 0.0
        # part below the source surface: lowest source layer
        if bot > se[0, c]:
            hi = bot
            lo = se[0, c] if se[0, c] > top else top
            acc = acc + (hi - lo) * sv[0, c]
        # part above the source top: highest source layer
        if top < se[nsrc, c]:
            hi = se[nsrc, c] if se[nsrc, c] < bot else bot
            lo = top
            acc = acc + (hi - lo) * sv[nsrc - 1, c]
        # advance s to the first source layer whose top is below this target layer's bottom
        while s < nsrc - 1 and se[s + 1, c] >= bot:
            s = s + 1
        b = s
        while b < nsrc and se[b, c] > top:
            hi = se[b, c] if se[b, c] < bot else bot
            lo = se[b + 1, c] if se[b + 1, c] > top else top
            if hi > lo:
                acc = acc + (hi - lo) * sv[b, c]
            b = b + 1
        out[k, c] = acc / width if width > 0 else sv[s, c]


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def interp_log_pressure(const double[::1] src_p, const double[:, ::1] src, const double[:, ::1] tgt_p,
                        double[:, ::1] out):
    """Linear interpolation in ln(p) from fixed source pressure levels to target pressures.

    src_p (nsrc,) decreasing (surface first); src (nsrc, ncol); tgt_p (ntgt, ncol); out (ntgt, ncol).
    Constant beyond the first and last source level.
    """
    cdef Py_ssize_t ncol = src.shape[1]
    cdef Py_ssize_t nsrc = src.shape[0]
    cdef Py_ssize_t ntgt = out.shape[0]
    cdef Py_ssize_t c, k, s
    cdef double p, w
    for c in prange(ncol, nogil=True, schedule="static"):
        s = 0
        for k in range(ntgt):
            p = tgt_p[k, c]
            if p >= src_p[0]:
                out[k, c] = src[0, c]
            elif p <= src_p[nsrc - 1]:
                out[k, c] = src[nsrc - 1, c]
            else:
                while s < nsrc - 2 and src_p[s + 1] > p:
                    s = s + 1
                while s > 0 and src_p[s] < p:
                    s = s - 1
                w = (log(src_p[s]) - log(p)) / (log(src_p[s]) - log(src_p[s + 1]))
                out[k, c] = (1.0 - w) * src[s, c] + w * src[s + 1, c]
