# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
"""Flux-form semi-Lagrangian advection kernels, AVX2 build of ``ffsl_impl.pxi``.

On x86-64 with GCC the functions below are compiled for AVX2 (``#pragma GCC target``; never
FMA, and ``-ffp-contract=off`` from setup.py), elsewhere this is a copy of the baseline
build. ``esm.transport.advection`` imports it only on CPUs that have AVX2; results are
bit-identical to the baseline build ``ffsl`` (no FMA contraction, no reordered sums).
"""
cdef extern from *:
    """
    #if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
    #pragma GCC target("avx2")
    #define ESM_FFSL_AVX2 1
    #else
    #define ESM_FFSL_AVX2 0
    #endif
    """
    int ESM_FFSL_AVX2


def built_for_avx2():
    """True when this module's kernels were compiled for AVX2."""
    return bool(ESM_FFSL_AVX2)


include "ffsl_impl.pxi"
