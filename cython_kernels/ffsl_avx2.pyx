# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math -mavx2
"""Flux-form semi-Lagrangian advection kernels, AVX2 build of ``ffsl_impl.pxi``.

Imported only on CPUs with AVX2 (``esm.transport.advection``); bit-identical to the
baseline build ``ffsl`` (no FMA contraction, no reordered sums).
"""
include "ffsl_impl.pxi"
