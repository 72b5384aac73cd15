"""Consistency and conservation of the full transport step (advection, diffusion, convection).

Physics being tested: air and tracer move with the same face fluxes, so a mixing ratio of 1
stays 1 (Joeckel et al. 2001) even when the flow is divergent and the surface pressure
changes, and the global tracer amount changes only by the prescribed sources and sinks.
Tolerances are round-off: 1e-12 for q = 1 (the issue's bound), 1e-13 relative for the
tracer total per step and after 1000 steps.
"""

import numpy as np
import pytest

from esm.transport import Transport
from esm.transport.testflows import DivergentCase
from helpers import smooth_and_slab_fields, step_tracking_totals

pytestmark = pytest.mark.compiled


def test_uniform_tracer_stays_one_under_divergent_flow():
    case = DivergentCase("10x10", "coarse11", tracers=("passive1",))
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    ps_first = case.atm.surface_pressure().copy()
    worst = 0.0
    for n in range(120):
        fluxes, met = case.inputs(n)
        tr.step(case.atm, fluxes, met, case.dt)
        worst = max(worst, float(np.abs(case.atm.q[0] - 1.0).max()))
        # the air mass ends at the meteorology's surface pressure (hybrid levels) to round-off
        target = case.vcoord.air_mass(fluxes.ps_end, case.grid.area)
        assert np.max(np.abs(case.atm.air_mass - target) / target) < 1e-12
    assert worst < 1e-12, worst
    # the test is not trivial: the flow changed the surface pressure substantially
    assert np.abs(case.atm.surface_pressure() - ps_first).max() > 500.0


@pytest.mark.parametrize("scheme,splitting", [("ppm_monotone", "strang"), ("ppm_linear", "lin_rood"),
                                              ("upwind", "strang"), ("ppm_fct", "strang"),
                                              ("ppm_fct", "lin_rood"), ("ppm_positive", "strang")])
def test_uniform_tracer_every_scheme(scheme, splitting):
    case = DivergentCase("10x10", "coarse11", tracers=("passive1",),
                         transport_nml={"advection_scheme": scheme, "horizontal_splitting": splitting})
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    for n in range(20):
        tr.step(case.atm, *case.inputs(n), case.dt)
    assert np.abs(case.atm.q[0] - 1.0).max() < 1e-12


def test_conservation_per_step_and_over_1000_steps():
    case = DivergentCase("10x10", "coarse11", tracers=("passive1", "passive2"))
    smooth_and_slab_fields(case)
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    worst_step, drift = step_tracking_totals(case, tr, 1000)
    print(f"largest relative change per step {worst_step:.2e}, after 1000 steps {drift:.2e}")
    assert worst_step < 1e-13
    assert drift < 1e-13
    # monotone transport of a 0/1 field keeps it in [0, 1] (round-off aside)
    assert case.atm.q[1].min() >= -1e-14 and case.atm.q[1].max() <= 1.0 + 1e-14


@pytest.mark.parametrize("scheme", ["ppm_fct", "ppm_positive"])
def test_fct_and_positive_conserve_and_bound_in_3d(scheme):
    """The flux-corrected and positive-definite schemes in the full 3-D step (horizontal sweeps,
    vertical remap with the TM5 vertical fluxes, polar caps): tracer totals to round-off;
    ppm_fct keeps a 0/1 field within [0, 1], ppm_positive keeps it >= 0."""
    case = DivergentCase("10x10", "coarse11", tracers=("passive1", "passive2"),
                         transport_nml={"advection_scheme": scheme, "vertical_diffusion": False,
                                        "convection": False})
    smooth_and_slab_fields(case)
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)

    def bounded(atm):
        assert atm.q[1].min() >= -1e-14
        if scheme == "ppm_fct":
            assert atm.q[1].max() <= 1.0 + 1e-14

    worst_step, drift = step_tracking_totals(case, tr, 200, bounded)
    assert worst_step < 1e-13 and drift < 1e-13


@pytest.mark.parametrize("injection", ["boundary_layer", "lowest_layer"])
def test_budget_closes_with_sources_and_loss(injection):
    """The budget closes with either injection (lowest_layer: with the counter-gradient transport of
    the fluxes in the convective boundary layers, nonlocal_mixing's default)."""
    case = DivergentCase("10x10", "coarse11", tracers=("passive1",), q0=np.full(1, 1.0e-6),
                         transport_nml={"flux_injection": injection})
    g = case.grid
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    flux = np.zeros((1,) + g.shape)
    flux[0] = 1.0e-8 * (1.0 + np.cos(np.deg2rad(g.lon)))[None, :]      # mol m-2 s-1 up
    flux[0, : g.nlat // 3] = -2.0e-9                                     # an uptake region
    rate = np.full(case.atm.air_mass.shape, 1.0e-7)                      # s-1
    b = case.atm.budget
    for n in range(50):
        tr.step(case.atm, *case.inputs(n), case.dt, surface_flux=flux, loss_rates={0: rate})
    total = case.atm.total_moles()[0]
    expected = b.initial[0] + b.sources[0] - b.sinks[0]
    assert b.sources[0] > 0 and b.sinks[0] > 0 and b.chemical_loss[0] > 0
    assert abs(total - expected) / b.initial[0] < 1e-13


def test_restart_continues_bit_for_bit():
    """Two halves with a fresh Transport in between (the restart path) equal one straight run;
    the sweep order comes from the model time, so no state is needed."""
    def run(n0, n1, case, tr):
        for n in range(n0, n1):
            tr.step(case.atm, *case.inputs(n), case.dt)

    def new_case():
        c = DivergentCase("10x10", "coarse11", tracers=("passive1", "passive2"))
        lat = np.deg2rad(c.grid.lat)[None, :, None]
        c.atm.q[1] = 1.0 + np.sin(lat) + 0.0 * c.atm.q[1]
        return c

    a = new_case()
    run(0, 9, a, Transport(a.config, a.grid, a.vcoord, a.tracers))
    b = new_case()
    tb = Transport(b.config, b.grid, b.vcoord, b.tracers)
    run(0, 4, b, tb)
    state = tb.restart_state()
    assert state == {}
    tb2 = Transport(b.config, b.grid, b.vcoord, b.tracers)
    tb2.load_restart_state(state)
    run(4, 9, b, tb2)
    assert np.array_equal(a.atm.q, b.atm.q)
    assert np.array_equal(a.atm.air_mass, b.atm.air_mass)


def test_sweep_order_alternates_with_model_time():
    case = DivergentCase("10x10", "coarse11")
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    parities = [tr.step_parity(case.time(n), case.dt) for n in range(4)]
    assert parities in ([0, 1, 0, 1], [1, 0, 1, 0])


def test_linear_scheme_is_linear():
    """ppm_linear (for tangent-linear/adjoint use) is a linear map of the tracer field."""
    nml = {"advection_scheme": "ppm_linear", "vertical_diffusion": True, "convection": True}
    rng = np.random.default_rng(1)
    shape = None
    outs = []
    fields = None
    for k in range(3):
        case = DivergentCase("10x10", "coarse11", tracers=("passive1",), transport_nml=nml)
        if fields is None:
            shape = case.atm.q.shape
            f1, f2 = rng.random(shape), rng.random(shape)
            fields = [f1, f2, 2.0 * f1 - 3.0 * f2]
        case.atm.q[:] = fields[k]
        tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
        for n in range(6):
            tr.step(case.atm, *case.inputs(n), case.dt)
        outs.append(case.atm.q.copy())
    combo = 2.0 * outs[0] - 3.0 * outs[1]
    assert np.max(np.abs(outs[2] - combo)) / np.max(np.abs(combo)) < 1e-12


@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_vector_builds_are_bit_identical(isa):
    """The AVX2 and AVX-512 builds of the advection kernels give the same bits as the baseline
    build (same element-wise IEEE operations, no FMA, no reordered sums)."""
    import importlib

    from esm.transport import advection

    if not (advection.cpu_has_avx512() if isa == "avx512" else advection.cpu_has_avx2()):
        pytest.skip(f"CPU without {isa.upper()}")
    from esm._kernels import ffsl

    vec = importlib.import_module(f"esm._kernels.ffsl_{isa}")
    if not getattr(vec, f"built_for_{isa}")():
        pytest.skip(f"compiler did not build the {isa} kernels")
    results = []
    try:
        for mod in (ffsl, vec):
            advection._FFSL = mod
            advection._WORKSPACES.clear()
            case = DivergentCase("10x10", "coarse11", tracers=("passive1", "passive2"))
            lat = np.deg2rad(case.grid.lat)[None, :, None]
            case.atm.q[1] = 1.0 + np.sin(3 * lat) + 0.0 * case.atm.q[1]
            tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
            for n in range(6):
                tr.step(case.atm, *case.inputs(n), case.dt)
            results.append((case.atm.q.copy(), case.atm.air_mass.copy()))
    finally:
        advection._FFSL = None
        advection._WORKSPACES.clear()
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])


def test_kernel_dispatch_picks_the_widest_build(monkeypatch):
    """Dispatch: AVX-512 where the CPU has it, AVX2 otherwise, baseline with ESM_NO_AVX2=1."""
    from esm.transport import advection

    try:
        for env, expect in (({}, None), ({"ESM_NO_AVX512": "1"}, None), ({"ESM_NO_AVX2": "1"}, "esm._kernels.ffsl")):
            monkeypatch.delenv("ESM_NO_AVX2", raising=False)
            monkeypatch.delenv("ESM_NO_AVX512", raising=False)
            for k, v in env.items():
                monkeypatch.setenv(k, v)
            advection._FFSL = None
            name = advection.kernels().__name__
            if expect is None:
                if advection.cpu_has_avx512() and "ESM_NO_AVX512" not in env:
                    expect = "esm._kernels.ffsl_avx512"
                elif advection.cpu_has_avx2():
                    expect = "esm._kernels.ffsl_avx2"
                else:
                    expect = "esm._kernels.ffsl"
            assert name == expect, (env, name)
    finally:
        advection._FFSL = None


def test_climatology_flow_keeps_uniform_and_conserves():
    """The benchmark's second flow (``ClimatologyCase``: the embedded climatology's pressure-fixed mass fluxes,
    boundary layer and convection): q = 1 stays 1, the other tracer's total holds to round-off, and the air
    mass ends at the climatology's surface pressure of each step's end."""
    import math

    from esm.transport.testflows import ClimatologyCase

    case = ClimatologyCase("10x10", "coarse11", tracers=("passive1", "passive2"), dt=3600.0)
    rng = np.random.default_rng(2)
    case.atm.q[1] = rng.random(case.atm.q[1].shape)
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    total = lambda: math.fsum((case.atm.q[1] * case.atm.air_mass).ravel())   # noqa: E731
    t0 = total()
    for n in range(6):
        fluxes, met = case.inputs(n)
        tr.step(case.atm, fluxes, met, case.dt)
        target = case.vcoord.air_mass(np.asarray(case.clim.at(case.time(n + 1)).ps), case.grid.area)
        assert np.max(np.abs(case.atm.air_mass - target) / target) < 1e-12
    assert np.abs(case.atm.q[0] - 1.0).max() < 1e-12
    assert abs(total() / t0 - 1.0) < 1e-13
    assert met["cmfmc"].max() > 0.0              # the climatology convects in July
