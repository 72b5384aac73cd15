# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
"""Flux-form semi-Lagrangian advection kernels, AVX-512 build of ``ffsl_impl.pxi``.

On x86-64 with GCC >= 8 the functions below are compiled for AVX-512 (F, DQ, VL, BW) with
512-bit vectors preferred (``#pragma GCC target``; never FMA: ``-ffp-contract=off`` from
setup.py), elsewhere this is a copy of the baseline build. ``esm.transport.advection``
imports it only on CPUs that report AVX-512 F/DQ/VL/BW. Every operation is the same IEEE
operation on each element as in the baseline and AVX2 builds (vector width does not change
an element-wise result; no FMA contraction, no reordered sums), so the results are
bit-identical to both; ``tests/test_transport_consistency.py`` checks it.
"""
cdef extern from *:
    """
    #if defined(__GNUC__) && !defined(__clang__) && (__GNUC__ >= 8) && (defined(__x86_64__) || defined(_M_X64))
    #pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,prefer-vector-width=512")
    #define ESM_FFSL_AVX512 1
    #else
    #define ESM_FFSL_AVX512 0
    #endif
    """
    int ESM_FFSL_AVX512


def built_for_avx512():
    """True when this module's kernels were compiled for AVX-512."""
    return bool(ESM_FFSL_AVX512)


include "ffsl_impl.pxi"
