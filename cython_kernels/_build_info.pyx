# cython: language_level=3
"""Facts about how the kernels were compiled (OpenMP or not, thread count)."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int esm_openmp_enabled(void) { return 1; }
    static int esm_max_threads(void) { return omp_get_max_threads(); }
    static void esm_set_max_threads(int n) { omp_set_num_threads(n); }
    #else
    static int esm_openmp_enabled(void) { return 0; }
    static int esm_max_threads(void) { return 1; }
    static void esm_set_max_threads(int n) { (void)n; }
    #endif
    """
    int esm_openmp_enabled() nogil
    int esm_max_threads() nogil
    void esm_set_max_threads(int n) nogil


def openmp_enabled():
    """True when the extension modules were compiled with -fopenmp."""
    return bool(esm_openmp_enabled())


def max_threads():
    """Threads an OpenMP parallel region would use now (honours OMP_NUM_THREADS)."""
    return int(esm_max_threads())


def set_max_threads(int n):
    """Set the threads later parallel regions use (``omp_set_num_threads``; the kernels ask :func:`max_threads`),
    e.g. to time 1 and 2 threads alternately in one process (validation/transport/benchmark.py). No effect
    without OpenMP."""
    if n < 1:
        raise ValueError(f"set_max_threads: n must be >= 1, got {n}")
    esm_set_max_threads(n)
