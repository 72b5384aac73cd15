"""Which vector instruction set the compiled kernels may use (shared by the transport and the land).

The advection kernels are built three times (``esm._kernels.ffsl``, ``ffsl_avx2``, ``ffsl_avx512``) and the land
kernels carry baseline, AVX2 and AVX-512 variants of their vectorised loops; every build gives the same bits (no
reordered sums; the land kernel's exp and log use C's ``fma()``, one correctly rounded operation in every build, and
the AVX2 land build is selected only with FMA), the wider ones are faster. :func:`isa_level` is the one switch for both:
``ESM_NO_AVX512=1`` stops at AVX2, ``ESM_NO_AVX2=1`` at the baseline build (for checks and comparisons).
"""
from __future__ import annotations

import os
from functools import lru_cache

BASELINE, AVX2, AVX512 = 0, 1, 2
#: AVX-512 subsets the AVX-512 builds are compiled for
AVX512_FEATURES = ("AVX512F", "AVX512DQ", "AVX512VL", "AVX512BW")


@lru_cache(maxsize=1)
def _features() -> dict:
    """numpy's table of the CPU's (and operating system's) instruction-set extensions; else /proc/cpuinfo flags."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            __cpu_features__ = None
    if __cpu_features__:
        return dict(__cpu_features__)
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return {f.upper(): True for f in line.split(":", 1)[1].split()}
    except OSError:
        pass
    return {}


def cpu_has_avx2() -> bool:
    """Whether this CPU runs AVX2 code."""
    return bool(_features().get("AVX2", False))


def cpu_has_avx512() -> bool:
    """Whether this CPU runs AVX-512 F/DQ/VL/BW code."""
    f = _features()
    return all(f.get(name, False) for name in AVX512_FEATURES)


def isa_level() -> int:
    """The widest instruction set the kernels may use here: AVX512 (2), AVX2 (1) or BASELINE (0), limited by the
    environment (``ESM_NO_AVX512=1``, ``ESM_NO_AVX2=1``)."""
    if os.environ.get("ESM_NO_AVX2", "0") == "1" or not cpu_has_avx2():
        return BASELINE
    if os.environ.get("ESM_NO_AVX512", "0") == "1" or not cpu_has_avx512():
        return AVX2
    return AVX512


def cpu_ticks() -> list[int] | None:
    """The machine's CPU time counters (/proc/stat, first line), or None where there is no /proc: two samples give
    :func:`steal_share` (benchmarks print it with each run)."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def steal_share(a, b) -> str:
    """Share of the machine's CPU time the hypervisor gave to other guests ("steal") between two :func:`cpu_ticks`
    samples, as text: on a virtual machine a run with a large steal share measures the host's load, not the code."""
    if a is None or b is None or len(a) < 8 or len(b) < 8:
        return "n/a"
    d = [y - x for x, y in zip(a, b)]
    return f"{100.0 * d[7] / max(1, sum(d)):.0f} %"
