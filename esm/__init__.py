"""esm: an Earth-system carbon-cycle model with coupled mass-conserving transport."""
from esm._version import __version__


def openmp_enabled() -> bool:
    """Whether the compiled kernels were built with OpenMP (threads honour OMP_NUM_THREADS)."""
    from esm._kernels import _build_info

    return bool(_build_info.openmp_enabled())


__all__ = ["__version__", "openmp_enabled"]
