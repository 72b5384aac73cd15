# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
"""Flux-form semi-Lagrangian advection kernels, baseline x86-64 (SSE2) build.

The code is in ``ffsl_impl.pxi`` (documented there); ``ffsl_avx2.pyx`` compiles the same
source for AVX2 and ``esm.transport.advection`` picks that one on CPUs that have AVX2.
Neither build contracts a*b+c into FMA (-ffp-contract=off from setup.py, and AVX2 without
-mfma) or reorders sums, so both give bit-identical results.
"""
include "ffsl_impl.pxi"
