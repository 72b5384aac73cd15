# cython: language_level=3
"""Facts about how the kernels were compiled (OpenMP or not, thread count)."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int esm_openmp_enabled(void) { return 1; }
    static int esm_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int esm_openmp_enabled(void) { return 0; }
    static int esm_max_threads(void) { return 1; }
    #endif
    """
    int esm_openmp_enabled() nogil
    int esm_max_threads() nogil


def openmp_enabled():
    """True when the extension modules were compiled with -fopenmp."""
    return bool(esm_openmp_enabled())


def max_threads():
    """Threads an OpenMP parallel region would use now (honours OMP_NUM_THREADS)."""
    return int(esm_max_threads())
