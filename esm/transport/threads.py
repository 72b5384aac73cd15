"""How many OpenMP threads a transport kernel call uses.

All kernels honour ``OMP_NUM_THREADS`` (through ``omp_get_max_threads``); problems smaller
than :data:`SMALL_PROBLEM` cell-tracer updates run on one thread, where starting a thread
team costs more than it saves (and a lot more on an oversubscribed machine).
"""
from __future__ import annotations

#: Work (cells x tracers) below which a kernel call runs single-threaded.
SMALL_PROBLEM = 150_000


def kernel_threads(work: int) -> int:
    from esm._kernels import _build_info

    n = max(1, int(_build_info.max_threads()))
    return 1 if work < SMALL_PROBLEM else n
