"""Terrestrial biosphere: MODIS land cover, BEPS two-leaf photosynthesis and respiration, phenology,
InTEC/CENTURY carbon pools (Chen et al. 1999, 2000, 2012; Ju et al. 2007)."""

import os


def default_threads() -> int:
    """Threads for the land kernels: OMP_NUM_THREADS if set, else the CPUs available to this process."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)
