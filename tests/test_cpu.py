"""esm.cpu: one switch for the instruction set of the transport's and the land's kernel builds."""
from esm import cpu


def test_isa_level_follows_cpu_and_environment(monkeypatch):
    monkeypatch.delenv("ESM_NO_AVX2", raising=False)
    monkeypatch.delenv("ESM_NO_AVX512", raising=False)
    best = cpu.AVX512 if cpu.cpu_has_avx512() else cpu.AVX2 if cpu.cpu_has_avx2() else cpu.BASELINE
    assert cpu.isa_level() == best
    monkeypatch.setenv("ESM_NO_AVX512", "1")
    assert cpu.isa_level() == min(best, cpu.AVX2)
    monkeypatch.setenv("ESM_NO_AVX2", "1")
    assert cpu.isa_level() == cpu.BASELINE


def test_land_kernels_take_the_shared_level(monkeypatch):
    """The land's cell and canopy kernels are called with esm.cpu.isa_level() (here forced to the baseline)."""
    import numpy as np

    from esm.land import beps

    seen = []
    monkeypatch.setattr(cpu, "isa_level", lambda: seen.append(0) or cpu.BASELINE)
    from esm.land.params import LandParameters

    prm = LandParameters.from_config()
    n = 8
    met = dict(t2m=np.full(n, 295.0), tskin=np.full(n, 297.0), tsoil=np.full(n, 290.0), vpd=np.full(n, 800.0),
               swdown=np.full(n, 500.0), swdown_diffuse=np.full(n, 150.0), cos_sza=np.full(n, 0.7),
               soilm=np.full(n, 0.3), ps=np.full(n, 1e5), co2=np.full(n, 410.0), tsoil_top=np.full(n, 292.0))
    cell, fw, xi = beps.CellKernel(prm, 1)(met)
    assert seen
    out = beps.tile_fluxes(np.arange(n, dtype=np.int32), np.arange(n, dtype=np.int32) % 9, np.full(n, 3.0),
                           np.full(n, 50.0), np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n), cell,
                           beps.pft_table(prm), beps.scalar_table(prm), prm=prm, nthreads=1, fwtab=fw)
    assert len(seen) >= 2 and np.all(np.isfinite(out))


def test_set_max_threads_changes_what_the_kernels_use():
    """``_build_info.set_max_threads`` (used by the transport benchmark to alternate 1 and 2 threads in one
    process) changes the thread count the kernels ask for, and refuses nonsense."""
    import pytest

    from esm._kernels import _build_info
    from esm.transport.threads import SMALL_PROBLEM, kernel_threads

    before = _build_info.max_threads()
    try:
        _build_info.set_max_threads(1)
        assert _build_info.max_threads() == 1 and kernel_threads(10 * SMALL_PROBLEM) == 1
        if _build_info.openmp_enabled():
            _build_info.set_max_threads(3)
            assert _build_info.max_threads() == 3 and kernel_threads(10 * SMALL_PROBLEM) == 3
        with pytest.raises(ValueError, match=">= 1"):
            _build_info.set_max_threads(0)
    finally:
        _build_info.set_max_threads(before)
    assert _build_info.max_threads() == before
