"""Boundary-layer diffusion (Holtslag & Boville 1993) and convective transport.

Both act within columns and leave the air mass alone; they must conserve tracer mass to
round-off, keep a uniform tracer uniform, keep tracers non-negative (diffusion: backward
Euler on an M-matrix) or within their initial range (convection: convex combinations),
and implement the published formulas (checked here against independent evaluations).
"""
import math

import cftime
import numpy as np
import pytest

from esm.atmosphere import Atmosphere
from esm.config.registry import schema
from esm.constants import CP_DRY, G0, R_DRY
from esm.errors import InputDataError, ModelStateError
from esm.grid import Grid
from esm.meteorology.base import MetState
from esm.tracers import TracerSet
from esm.transport.convection import Convection
from esm.transport.diffusion import VerticalDiffusion
from esm.transport.testflows import synthetic_met
from esm.vertical import VerticalCoordinate

pytestmark = pytest.mark.compiled
T0 = cftime.datetime(2020, 7, 1, 12, calendar="standard")


def _setup(q=None, ntr=3, spec="10x10", levels="coarse11", nml=None):
    g = Grid.from_spec(spec)
    vc = VerticalCoordinate.from_name(levels)
    names = [f"passive{i + 1}" for i in range(ntr)]
    tr = TracerSet(names)
    lon = np.deg2rad(g.lon)[None, :]
    lat = np.deg2rad(g.lat)[:, None]
    ps = 1.0e5 + 800.0 * np.cos(lat) * np.sin(lon)
    shape = (ntr, vc.nlev) + g.shape
    if q is None:
        rng = np.random.default_rng(3)
        q = rng.random(shape)
        q[0] = 1.0
    atm = Atmosphere.from_surface_pressure(g, vc, tr, ps, np.broadcast_to(q, shape).copy())
    params = schema().resolve({"transport_nml": dict(enabled=True, **(nml or {}))}).transport_nml
    return g, vc, atm, params


def _totals(atm):
    return np.array([math.fsum((atm.q[i] * atm.air_mass).ravel()) for i in range(atm.q.shape[0])])


# ---- vertical diffusion -----------------------------------------------------------------
def test_diffusion_conserves_and_keeps_uniform_and_positive():
    g, vc, atm, p = _setup()
    atm.q[2] = 0.0
    atm.q[2, 0, 3, 5] = 1.0     # a spike next to zeros: any undershoot would show
    met = MetState(T0, synthetic_met(g, vc, atm.surface_pressure(), 43200.0))
    vd = VerticalDiffusion(p, g, vc)
    tot0 = _totals(atm)
    m0 = atm.air_mass.copy()
    for _ in range(10):
        vd.apply(atm, met, 1800.0, "test")
    assert np.array_equal(atm.air_mass, m0)
    assert np.max(np.abs(_totals(atm) - tot0) / tot0) < 1e-14
    assert np.abs(atm.q[0] - 1.0).max() < 1e-14
    assert atm.q[2].min() >= 0.0
    assert vd.kz.max() > 1.0            # the boundary layer does mix


def test_column_surface_pressure_matches_atmosphere_bit_for_bit():
    """The compiled surface pressures the diffusion uses (its own kernel, or the column sums of the
    advection's column-pressure pass) are Atmosphere.surface_pressure() exactly (same sums in the
    same order), so neither changes a result."""
    from esm.transport.advection import ColumnPressure
    from esm.transport.diffusion import column_surface_pressure

    for spec, levels in (("10x10", "coarse11"), ("4x5", "geos47")):
        g, vc, atm, _ = _setup(ntr=1, spec=spec, levels=levels)
        rng = np.random.default_rng(5)
        atm.air_mass *= 1.0 + 1.0e-3 * rng.standard_normal(atm.air_mass.shape)
        ps = atm.surface_pressure()
        assert np.array_equal(column_surface_pressure(atm, g, vc), ps)
        # the same sums from the advection's column-pressure pass (Transport.step hands them on)
        fx = rng.standard_normal(atm.air_mass.shape)
        fy = rng.standard_normal((vc.nlev, g.nlat + 1, g.nlon))
        fy[:, [0, -1]] = 0.0
        assert np.array_equal(ColumnPressure(atm.air_mass, fx, fy, 600.0, vc, g).ps_air, ps)


def test_diffusion_mixes_boundary_layer_only():
    g, vc, atm, p = _setup()
    met = MetState(T0, synthetic_met(g, vc, atm.surface_pressure(), 43200.0))
    vd = VerticalDiffusion(p, g, vc)
    before = atm.q.copy()
    vd.apply(atm, met, 86400.0 * 100, "test")       # long step: the implicit solve reaches well-mixed
    kz = vd.kz
    top = np.array([[np.max(np.nonzero(kz[:, j, i])[0], initial=0) for i in range(g.nlon)]
                    for j in range(g.nlat)])
    j, i = np.unravel_index(np.argmax(top), top.shape)
    kt = top[j, i]
    assert kt >= 2
    # layers 0 .. kt exchange through interfaces 1 .. kt (K -> 0 at the top of the boundary
    # layer, so the top one only slowly); the layers inside end well mixed, the column
    # amount of 0 .. kt is kept and the layers above are untouched
    col = atm.q[1, :kt, j, i]
    m = atm.air_mass[: kt + 1, j, i]
    assert col.std() < 1e-3 * before[1, :kt, j, i].std()
    # (a 100-day backward-Euler step makes D/m ~ 1e5: round-off grows with that condition number)
    assert np.sum(atm.q[1, : kt + 1, j, i] * m) == pytest.approx(np.sum(before[1, : kt + 1, j, i] * m), rel=1e-11)
    assert np.array_equal(atm.q[1, kt + 1:, j, i], before[1, kt + 1:, j, i])


@pytest.mark.parametrize("regime", ["neutral", "stable", "unstable"])
def test_diffusivity_follows_holtslag_boville(regime):
    """K at the interfaces against an independent evaluation of HB93 eqs. 3.9-3.12, A3-A13."""
    g, vc, atm, p = _setup(ntr=1)
    ps = atm.surface_pressure()
    fields = synthetic_met(g, vc, ps, 0.0)
    fields["pblh"] = np.full(g.shape, 1500.0)
    fields["ustar"] = np.full(g.shape, 0.3)
    fields["shflx"] = np.full(g.shape, {"neutral": 0.0, "stable": -30.0, "unstable": 200.0}[regime])
    vd = VerticalDiffusion(p, g, vc)
    vd.apply(atm, MetState(T0, fields), 600.0, "test")
    j, i = 4, 7
    t = fields["t"][:, j, i]
    pe = vc.pressure_edges(ps[j, i])
    z = np.concatenate([[0.0], np.cumsum(R_DRY * t / G0 * np.log(pe[:-1] / pe[1:]))])
    kappa, h, us, t2m = 0.4, 1500.0, 0.3, fields["t2m"][j, i]
    rho0 = ps[j, i] / (R_DRY * t2m)
    wth = fields["shflx"][j, i] / (rho0 * CP_DRY)
    L = -us**3 * t2m / (kappa * G0 * wth) if wth != 0 else np.inf
    checked = 0
    for k in range(1, vc.nlev):
        zz = z[k]
        if zz >= h:
            assert vd.kz[k, j, i] == 0.0
            continue
        if regime == "neutral":
            wt = us
        elif regime == "stable":
            zeta = zz / L
            wt = us / (1 + 5 * zeta if zeta <= 1 else 5 + zeta)
        else:
            wstar = (G0 / t2m * wth * h) ** (1 / 3)
            wm = (us**3 + 0.6 * wstar**3) ** (1 / 3)
            if zz < 0.1 * h:
                wt = us * (1 - 15 * zz / L) ** 0.5
            else:
                zs = 0.1 * h
                pr = (1 - 15 * zs / L) ** -0.5 / (1 - 15 * zs / L) ** (-1 / 3) + 7.2 * kappa * 0.1 * wstar / wm
                wt = wm / pr
        expected = kappa * wt * zz * (1 - zz / h) ** 2
        assert vd.kz[k, j, i] == pytest.approx(expected, rel=1e-12)
        checked += 1
    assert checked >= 2


def test_diffusion_needs_its_met_fields():
    g, vc, atm, p = _setup(ntr=1)
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0)
    del fields["pblh"]
    with pytest.raises(InputDataError, match="pblh.*vertical_diffusion"):
        VerticalDiffusion(p, g, vc).apply(atm, MetState(T0, fields), 600.0, "test")


# ---- convection -----------------------------------------------------------------------
@pytest.mark.parametrize("downdraft", [0.0, 3.0])
def test_convection_conserves_uniform_and_monotone(downdraft):
    """Updrafts alone, and updrafts then downdraughts: conservative, a uniform tracer stays uniform
    to the bit, no values outside the initial range."""
    g, vc, atm, p = _setup()
    met = MetState(T0, synthetic_met(g, vc, atm.surface_pressure(), 0.0, convection=3.0, downdraft=downdraft))
    assert ("dmf" in met and met["dmf"].max() > 0.0) == (downdraft > 0.0)
    cv = Convection(p, g, vc)
    tot0 = _totals(atm)
    lo, hi = atm.q[1].min(), atm.q[1].max()
    m0 = atm.air_mass.copy()
    before = atm.q.copy()
    for _ in range(5):
        cv.apply(atm, met, 1800.0, "test")
    assert np.array_equal(atm.air_mass, m0)
    assert np.array_equal(atm.q[0], before[0])                 # exactly uniform
    assert np.max(np.abs(_totals(atm) - tot0) / tot0) < 1e-14
    assert atm.q[1].min() >= lo and atm.q[1].max() <= hi      # within the initial range
    assert not np.array_equal(atm.q[1], before[1])            # and it did something
    if downdraft > 0.0:                                       # the downdraughts changed the result
        p_off = schema().resolve({"transport_nml": {"enabled": True, "downdrafts": False}}).transport_nml
        g2, vc2, atm2, _ = _setup()
        for _ in range(5):
            Convection(p_off, g2, vc2).apply(atm2, met, 1800.0, "test")
        assert not np.array_equal(atm2.q[1], atm.q[1])


def test_convection_lifts_surface_tracer():
    g, vc, atm, p = _setup(ntr=1, q=np.zeros(1))
    atm.q[0, :2] = 1.0                                        # tracer in the two lowest layers
    met = MetState(T0, synthetic_met(g, vc, atm.surface_pressure(), 0.0))
    Convection(p, g, vc).apply(atm, met, 3600.0, "test")
    active = met["cmfmc"].max(axis=0) > 0
    upper = atm.q[0, 4:].max(axis=0)
    assert active.any() and not active.all()
    assert np.all(upper[active] > 0.0) and np.all(upper[~active] == 0.0)
    low = (atm.q[0, :2] * atm.air_mass[:2]).sum(axis=0)
    low0 = atm.air_mass[:2].sum(axis=0)
    assert np.all(low[active] < low0[active]) and np.all(low[~active] == low0[~active])


@pytest.mark.parametrize("draught", ["updraft", "downdraught"])
def test_convection_two_layer_exchange_exact(draught):
    """An updraft from layer 0 detraining in layer 1, or a downdraught from layer 1 detraining in layer 0:
    either is an exchange of M dt A kg between the two layers."""
    g, vc, atm, p = _setup(ntr=1)
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0, convection=0.0)
    M = 0.01
    if draught == "updraft":
        cm = np.zeros_like(fields["cmfmc"])
        dtr = np.zeros_like(fields["dtrain"])
        cm[1, 5, 5] = M
        dtr[1, 5, 5] = M
        fields["cmfmc"], fields["dtrain"] = cm, dtr
    else:
        dmf = np.zeros_like(fields["cmfmc"])
        ddt = np.zeros_like(fields["dtrain"])
        dmf[1, 5, 5] = M
        ddt[0, 5, 5] = M
        fields["dmf"], fields["ddtrain"] = dmf, ddt
    atm.q[0] = 0.0
    atm.q[0, 0, 5, 5], atm.q[0, 1, 5, 5] = 2.0, 1.0
    m0, m1 = atm.air_mass[0, 5, 5], atm.air_mass[1, 5, 5]
    dt = 600.0
    x = M * dt * g.area[5, 5]
    Convection(p, g, vc).apply(atm, MetState(T0, fields), dt, "test")
    assert atm.q[0, 0, 5, 5] == pytest.approx(2.0 + x / m0 * (1.0 - 2.0), rel=1e-14)
    assert atm.q[0, 1, 5, 5] == pytest.approx(1.0 + x / m1 * (2.0 - 1.0), rel=1e-14)


def test_convection_subcycles_or_refuses():
    g, vc, atm, p = _setup()
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0, convection=200.0)
    tot0 = _totals(atm)
    lo, hi = atm.q[1].min(), atm.q[1].max()
    Convection(p, g, vc).apply(atm, MetState(T0, fields), 1800.0, "test")   # many sub-steps
    assert np.max(np.abs(_totals(atm) - tot0) / tot0) < 1e-14
    assert atm.q[1].min() >= lo and atm.q[1].max() <= hi
    p1 = schema().resolve({"transport_nml": {"max_convection_subcycles": 1}}).transport_nml
    with pytest.raises(ModelStateError, match="convection at lat .* sub-steps"):
        Convection(p1, g, vc).apply(atm, MetState(T0, fields), 1800.0, "test")


def test_convection_rejects_negative_mass_flux():
    g, vc, atm, p = _setup(ntr=1)
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0)
    fields["cmfmc"][3, 2, 2] = -0.1
    with pytest.raises(InputDataError, match=r"'cmfmc' is -0.1 at interface 3, lat"):
        Convection(p, g, vc).apply(atm, MetState(T0, fields), 600.0, "test")


def test_boundary_layer_injection_spreads_by_air_below_pblh():
    from esm.constants import M_AIR
    from esm.transport import Transport

    g, vc, atm, p = _setup(ntr=1, q=np.zeros(1))
    cfg = schema().resolve({"transport_nml": {"enabled": True, "flux_injection": "boundary_layer",
                                              "advection": False, "vertical_diffusion": False,
                                              "convection": False}})
    tr = Transport(cfg, g, vc, atm.tracers)
    fields = synthetic_met(g, vc, atm.surface_pressure(), 43200.0)
    flux = np.full((1,) + g.shape, 2.0e-6)
    dt = 1800.0
    tr.step(atm, None, MetState(T0, fields), dt, surface_flux=flux)
    moles = atm.q[0] * atm.air_mass / M_AIR
    np.testing.assert_allclose(moles.sum(axis=0), flux[0] * g.area * dt, rtol=1e-13)
    assert atm.budget.sources[0] == pytest.approx(float(np.sum(flux[0] * g.area * dt)), rel=1e-14)
    # the deepest boundary layer's column against an independent evaluation of the weights
    j, i = np.unravel_index(int(np.argmax(fields["pblh"])), g.shape)
    ps = atm.surface_pressure()[j, i]
    pe = vc.pressure_edges(ps)
    z = np.concatenate([[0.0], np.cumsum(R_DRY * fields["t"][:, j, i] / G0 * np.log(pe[:-1] / pe[1:]))])
    h = fields["pblh"][j, i]
    frac = np.clip((h - z[:-1]) / (z[1:] - z[:-1]), 0.0, 1.0)
    frac[0] = 1.0
    w = frac * atm.air_mass[:, j, i]
    w /= w.sum()
    assert np.count_nonzero(w) >= 2
    np.testing.assert_allclose(moles[:, j, i], w * flux[0, j, i] * g.area[j, i] * dt, rtol=1e-12, atol=1e-30)


# ---- non-local (counter-gradient) transport of the surface flux -------------------------
def _hb93_column(m, q, t, ps, vc, area, dt, h, us, shflx, t2m, flux, k_bg=0.0, limit="auto"):
    """One column, written independently of the kernel: K from HB93 (eqs. 3.9, A3-A13), gamma_c from
    eq. 3.10 with (w'c')_0 = F M_air / rho_0, the counter-gradient flux rho K gamma_c A dt through the
    outer-layer interfaces of an unstable column (0.1 h <= z < h), the backward-Euler system with the
    exchange masses rho K / dz A dt solved densely, layers above the column's mixing untouched.
    ``limit``: False (never), True (always) or 'auto' (the kernel's rule: only when the unlimited
    solution is negative somewhere although every layer was non-negative). Returns (q', phi)."""
    from esm.constants import M_AIR

    kappa, eps, c1, a, gam, beta = 0.4, 0.1, 0.6, 7.2, 15.0, 5.0
    nlev = len(m)
    pe = vc.pressure_edges(ps)
    z = np.concatenate([[0.0], np.cumsum(R_DRY * t / G0 * np.log(pe[:-1] / np.where(pe[1:] > 0, pe[1:],
                                                                                    0.01 * pe[:-1])))])
    us = max(us, 0.01)
    rho0 = ps / (R_DRY * t2m)
    wth = shflx / (rho0 * CP_DRY)
    L = -us**3 * t2m / (kappa * G0 * wth) if wth != 0 else 1e30
    unstable = wth > 0 and h > 0
    if unstable:
        wstar = (G0 / t2m * wth * h) ** (1 / 3)
        wm = (us**3 + c1 * wstar**3) ** (1 / 3)
        pr = (1 - gam * eps * h / L) ** -0.5 / (1 - gam * eps * h / L) ** (-1 / 3) + a * kappa * eps * wstar / wm
        gamma_c = a * wstar * (flux * M_AIR / rho0) / (wm**2 * h)
    D, phi = np.zeros(nlev + 1), np.zeros(nlev + 1)
    for k in range(1, nlev):
        zz, K = z[k], k_bg
        if zz < h:
            if unstable:
                wt = us * math.sqrt(1 - gam * zz / L) if zz < eps * h else wm / pr
            else:
                wt = us / ((1 + beta * zz / L) if zz / L <= 1 else beta + zz / L)
            K += kappa * wt * zz * (1 - zz / h) ** 2
        if K <= 0.0:
            continue
        rho = pe[k] / (R_DRY * 0.5 * (t[k - 1] + t[k]))
        D[k] = rho * K / (0.5 * (z[k + 1] - z[k - 1])) * area * dt
        if unstable and eps * h <= zz < h:
            phi[k] = rho * K * gamma_c * area * dt
    top = max((k for k in range(nlev) if D[k] > 0), default=0)
    A = np.diag(m + D[:-1] + D[1:]) - np.diag(D[1:-1], 1) - np.diag(D[1:-1], -1)

    def solve(ph):
        out = q.copy()
        if top > 0:
            out[: top + 1] = np.linalg.solve(A, m * q + ph[:-1] - ph[1:])[: top + 1]
        return out

    sol = solve(phi)
    if limit is True or (limit == "auto" and sol[: top + 1].min() < 0 and (m * q)[: top + 1].min() >= 0):
        mq = np.maximum(m * q, 0.0)
        for k in range(1, nlev):
            phi[k] = min(phi[k], mq[k - 1] + max(phi[k - 1], 0.0))
        for k in range(nlev - 1, 0, -1):
            phi[k] = max(phi[k], -(mq[k] + max(-phi[k + 1], 0.0)))
        sol = solve(phi)
    return sol, phi


def _nonlocal_case(regime="unstable", ntr=2, q=None, levels="coarse11"):
    g, vc, atm, p = _setup(ntr=ntr, q=q, levels=levels)
    ps = atm.surface_pressure()
    fields = synthetic_met(g, vc, ps, 0.0)
    fields["pblh"] = np.full(g.shape, 1500.0)
    fields["ustar"] = np.full(g.shape, 0.3)
    fields["shflx"] = np.full(g.shape, {"stable": -30.0, "unstable": 250.0}[regime])
    return g, vc, atm, p, MetState(T0, fields)


def _met_dict(met):
    return {k: getattr(met, k) for k in ("t", "t2m", "pblh", "ustar", "shflx")}


def _diffuse_args(m, q, met, g, vc, dt, nthreads, k_bg=0.0):
    f = _met_dict(met)
    ps = np.ascontiguousarray((m.sum(axis=0) * G0 / g.area) + vc.ptop)
    return (m, q, f["t"], ps, f["pblh"], f["ustar"], f["shflx"], f["t2m"], np.ascontiguousarray(vc.ap),
            np.ascontiguousarray(vc.bp), np.ascontiguousarray(g.area), dt, 0.4, 0.1, 0.6, 7.2, 5.0, 15.0, k_bg, 0.01,
            np.zeros((vc.nlev + 1,) + g.shape), np.zeros(g.nlat, dtype=np.int32), nthreads)


def _column_ref(atm_m, q0, met, ps, vc, g, dt, flux, j, i, t, **kw):
    f = _met_dict(met)
    return _hb93_column(atm_m[:, j, i], q0[t, :, j, i], f["t"][:, j, i], ps[j, i], vc, g.area[j, i], dt,
                        f["pblh"][j, i], f["ustar"][j, i], f["shflx"][j, i], f["t2m"][j, i], flux[t, j, i], **kw)


def test_nonlocal_flux_matches_column_reference():
    """HB93 eqs. 3.8/3.10 for an emitted and an absorbed tracer against the independent column solve."""
    from esm.constants import M_AIR

    g, vc, atm, p, met = _nonlocal_case()
    flux = np.stack([np.full(g.shape, 3.0e-6), np.full(g.shape, -2.0e-6)])    # mol m-2 s-1
    dt = 1800.0
    atm.add_surface_flux(flux, dt)
    q0, m = atm.q.copy(), atm.air_mass.copy()
    ps = atm.surface_pressure()
    VerticalDiffusion(p, g, vc).apply(atm, met, dt, "test", surface_flux=flux)
    for j, i in ((4, 7), (1, 0), (8, 30)):
        for t in range(2):
            ref, phi = _column_ref(m, q0, met, ps, vc, g, dt, flux, j, i, t)
            assert np.count_nonzero(phi) >= 2                      # the outer layer spans interfaces
            np.testing.assert_allclose(atm.q[t, :, j, i], ref, rtol=1e-12)
    # the counter-gradient flux is a sizeable part of the surface flux at its peak (HB93: of order a kappa
    # w*/w_m (z/h)(1 - z/h)^2 / Pr ~ 0.5)
    share = np.abs(phi).max() / abs(flux[1, j, i] * g.area[j, i] * dt * M_AIR)
    assert 0.2 < share < 1.0


def test_nonlocal_flux_matches_reference_in_mixed_rows():
    """Columns of different boundary-layer heights, stabilities and flux signs side by side in each row,
    a background diffusivity, tracers with and without a background: every column against the
    independent reference (which also decides where the limit applies), on 1 and 3 threads."""
    from esm._kernels import vdiff
    from esm.constants import M_AIR

    g, vc, atm, p, met = _nonlocal_case(ntr=3, q=np.array([0.0, 1.0e-9, 400.0e-6])[:, None, None, None],
                                        levels="geos47")
    rng = np.random.default_rng(11)
    fields = {k: getattr(met, k) for k in ("t", "t2m")}
    fields.update(pblh=rng.uniform(0.0, 3000.0, g.shape), ustar=rng.uniform(0.0, 0.8, g.shape),
                  shflx=rng.uniform(-50.0, 400.0, g.shape))
    met = MetState(T0, fields)
    flux = rng.uniform(-1.0, 1.0, (3,) + g.shape) * np.array([5.0e-5, 1.0e-9, 5.0e-6])[:, None, None]
    dt, k_bg = 900.0, 1.0
    atm.add_surface_flux(flux, dt)
    atm.q[:2] = np.maximum(atm.q[:2], 0.0)
    m, q0 = atm.air_mass.copy(), atm.q.copy()
    ps = np.ascontiguousarray((m.sum(axis=0) * G0 / g.area) + vc.ptop)
    out = []
    for nth in (1, 3):
        q = q0.copy()
        vdiff.diffuse(*_diffuse_args(m, q, met, g, vc, dt, nth, k_bg=k_bg), flux, M_AIR)
        out.append(q)
    assert np.array_equal(out[0], out[1])
    q = out[0]
    assert q[:2].min() >= 0.0
    tot0 = np.array([math.fsum((q0[t] * m).ravel()) for t in range(3)])
    tot = np.array([math.fsum((q[t] * m).ravel()) for t in range(3)])
    np.testing.assert_allclose(tot, tot0, rtol=1e-13, atol=1e-30)
    limited = 0
    for j in range(g.nlat):
        for i in range(g.nlon):
            for t in range(3):
                ref, _ = _column_ref(m, q0, met, ps, vc, g, dt, flux, j, i, t, k_bg=k_bg)
                np.testing.assert_allclose(q[t, :, j, i], ref, rtol=1e-11, atol=1e-22 * max(1.0, q0[t].max()))
                if t == 0:
                    free, _ = _column_ref(m, q0, met, ps, vc, g, dt, flux, j, i, t, k_bg=k_bg, limit=False)
                    limited += int(not np.allclose(free, ref, rtol=1e-11, atol=1e-25))
    assert limited > 0          # the emitted tracer without background needs the limit in some columns


def test_nonlocal_flux_conserves_and_lifts_emissions():
    from esm._kernels import vdiff
    from esm.constants import M_AIR

    g, vc, atm, p, met = _nonlocal_case(q=np.full(1, 400e-6))
    flux = np.stack([np.full(g.shape, 3.0e-6), np.zeros(g.shape)])
    dt = 1800.0
    atm.add_surface_flux(flux, dt)
    tot0 = _totals(atm)
    local, nonlocal_ = atm.q.copy(), atm.q.copy()
    vd = VerticalDiffusion(p, g, vc)
    a_local = Atmosphere(g, vc, atm.tracers, atm.air_mass.copy(), local)
    vd.apply(a_local, met, dt, "test")
    a_nl = Atmosphere(g, vc, atm.tracers, atm.air_mass.copy(), nonlocal_.copy())
    vd.apply(a_nl, met, dt, "test", surface_flux=flux)
    for nth in (1, 3):                                          # no dependence on the thread count
        q = nonlocal_.copy()
        vdiff.diffuse(*_diffuse_args(atm.air_mass, q, met, g, vc, dt, nth), flux, M_AIR)
        assert np.array_equal(q, a_nl.q)
    assert np.max(np.abs(_totals(a_nl) - tot0) / tot0) < 1e-14
    assert np.array_equal(a_nl.q[1], a_local.q[1])             # no surface flux: the local result to the bit
    # counter-gradient transport: less of the emission stays in the lowest layer, more reaches the
    # upper boundary layer (HB93 fig. 2: moisture carried higher)
    j, i = 4, 7
    assert a_nl.q[0, 0, j, i] < a_local.q[0, 0, j, i]
    top = int(np.max(np.nonzero(vd.kz[:, j, i])[0]))
    assert a_nl.q[0, top - 1, j, i] > a_local.q[0, top - 1, j, i]


def test_nonlocal_flux_absent_in_stable_layers():
    g, vc, atm, p, met = _nonlocal_case("stable")
    flux = np.stack([np.full(g.shape, 3.0e-6), np.full(g.shape, -2.0e-6)])
    atm.add_surface_flux(flux, 1800.0)
    other = Atmosphere(g, vc, atm.tracers, atm.air_mass.copy(), atm.q.copy())
    vd = VerticalDiffusion(p, g, vc)
    vd.apply(atm, met, 1800.0, "test", surface_flux=flux)
    vd.apply(other, met, 1800.0, "test")
    assert np.array_equal(atm.q, other.q)


@pytest.mark.parametrize("dt", [60.0, 1800.0])
def test_nonlocal_flux_limited_only_where_a_column_would_turn_negative(dt):
    """An emission into air that holds none of the tracer, an uptake from air that holds little. With a
    60 s step the unlimited counter-gradient fluxes would leave negative values (the step's mixing cannot
    refill the layers they empty): those columns are limited and end non-negative. With a 30 min step the
    mixing refills them, so nothing is limited and the result is the linear one."""
    # 47 levels: several interfaces inside the outer layer, where the flux grows with height (z < h/3)
    g, vc, atm, p, met = _nonlocal_case(q=np.array([0.0, 1.0e-9])[:, None, None, None], levels="geos47")
    flux = np.stack([np.full(g.shape, 5.0e-5), np.full(g.shape, -1.0e-9)])
    atm.add_surface_flux(flux, dt)
    atm.q[1] = np.maximum(atm.q[1], 0.0)            # the uptake empties the lowest layer: the budget's business
    q0, m = atm.q.copy(), atm.air_mass.copy()
    ps = atm.surface_pressure()
    tot0 = _totals(atm)
    VerticalDiffusion(p, g, vc).apply(atm, met, dt, "test", surface_flux=flux)
    assert atm.q.min() >= 0.0
    np.testing.assert_allclose(_totals(atm)[0], tot0[0], rtol=1e-13)
    np.testing.assert_allclose(_totals(atm)[1], tot0[1], rtol=1e-12)
    j, i = 4, 7
    free = [_column_ref(m, q0, met, ps, vc, g, dt, flux, j, i, t, limit=False)[0] for t in range(2)]
    if dt < 100.0:
        assert min(u.min() for u in free) < 0.0      # this case needs the limit
    for t in range(2):
        ref = _column_ref(m, q0, met, ps, vc, g, dt, flux, j, i, t)[0]
        np.testing.assert_allclose(atm.q[t, :, j, i], ref, rtol=1e-11, atol=1e-25)
        if dt > 100.0:
            assert free[t].min() >= 0.0
            np.testing.assert_allclose(atm.q[t, :, j, i], free[t], rtol=1e-11, atol=1e-25)


def test_nonlocal_flux_keeps_tagged_tracers_linear():
    """co2_land and co2_ocean start at zero and take signed fluxes (an ocean uptake makes the ocean tag
    negative). The transport of the fluxes is linear wherever no limit applies (a limit applies only to a
    column that would turn negative from non-negative layers; the ocean tag's columns start negative, the
    land tag's do not turn negative with this step), so co2 - co2_land - co2_ocean stays the background."""
    g, vc, atm0, p, met = _nonlocal_case(levels="geos47", ntr=1)
    tr = TracerSet(["co2", "co2_land", "co2_ocean"])
    q = np.zeros((3,) + atm0.air_mass.shape)
    q[0] = 400.0e-6
    atm = Atmosphere(g, vc, tr, atm0.air_mass.copy(), q)
    lon = np.deg2rad(g.lon)[None, :] * np.ones(g.shape)
    land, ocean = 4.0e-6 * np.sin(lon), np.full(g.shape, -1.0e-6)
    flux = np.stack([land + ocean, land, ocean])
    atm.add_surface_flux(flux, 1800.0)
    VerticalDiffusion(p, g, vc).apply(atm, met, 1800.0, "test", surface_flux=flux)
    assert atm.q[2].min() < 0.0 < atm.q[1].max()
    np.testing.assert_allclose(atm.q[0] - atm.q[1] - atm.q[2], 400.0e-6, rtol=0, atol=1e-17)
    # and the ocean tag went up with the counter-gradient flux: above the lowest layer it is negative
    assert atm.q[2, 2:6, 4, 7].max() < 0.0


@pytest.mark.parametrize("injection", ["lowest_layer", "boundary_layer"])
def test_transport_step_applies_nonlocal_mixing_by_namelist(injection):
    from esm.transport import Transport

    g, vc, atm0, _ = _setup(ntr=1, q=np.full(1, 400e-6))
    fields = synthetic_met(g, vc, atm0.surface_pressure(), 43200.0)
    flux = np.full((1,) + g.shape, 3.0e-6)
    out = {}
    for nl in (True, False):
        cfg = schema().resolve({"transport_nml": {"enabled": True, "flux_injection": injection,
                                                  "nonlocal_mixing": nl, "advection": False,
                                                  "convection": False}})
        tr = Transport(cfg, g, vc, atm0.tracers)
        atm = Atmosphere(g, vc, atm0.tracers, atm0.air_mass.copy(), atm0.q.copy())
        tr.step(atm, None, MetState(T0, fields), 1800.0, surface_flux=flux)
        out[nl] = (atm.q.copy(), tr.summary())
    if injection == "lowest_layer":
        assert not np.array_equal(out[True][0], out[False][0])
        assert "non-local" in out[True][1] and "non-local" not in out[False][1]
    else:
        assert np.array_equal(out[True][0], out[False][0])   # the spread already puts the flux aloft
        assert "non-local" not in out[True][1]


def test_nonlocal_flux_shape_checked():
    from esm._kernels import vdiff

    g, vc, atm, p, met = _nonlocal_case()
    args = _diffuse_args(atm.air_mass, atm.q, met, g, vc, 600.0, 1)
    with pytest.raises(ValueError, match="flux must have shape"):
        vdiff.diffuse(*args, np.zeros((1,) + g.shape), 0.0289644)
    with pytest.raises(ValueError, match="m_air"):
        vdiff.diffuse(*args, np.zeros((2,) + g.shape), 0.0)


# ---- convective downdraughts ----------------------------------------------------------
def _downdraught_reference(m, q, dmf, ddtrain, area, dt, nsub):
    """One column in flux form, written independently of the kernel: the downdraught's tracer
    flux Md_k q^d_k down through interface k, the compensating ascent Md_k q_{k-1} up through it,
    m_k dq_k = dt/nsub A (G_k - G_{k+1}) with G the upward tracer flux, ``nsub`` explicit sub-steps."""
    nlev = m.size
    q = q.astype(float).copy()
    md = np.maximum(dmf, 0.0)
    md[0] = md[nlev] = 0.0
    for _ in range(nsub):
        qd = np.zeros(nlev)
        qin = None
        for k in range(nlev - 1, -1, -1):
            d = max(ddtrain[k], 0.0)
            e = md[k] + d - md[k + 1]
            e = max(e, 0.0)
            if md[k + 1] <= 0.0 or qin is None:
                qin = q[k]
            qd[k] = (md[k + 1] * qin + e * q[k]) / (md[k + 1] + e) if md[k + 1] + e > 0.0 else q[k]
            qin = qd[k]
        G = np.zeros(nlev + 1)
        for k in range(1, nlev):
            G[k] = md[k] * (q[k - 1] - qd[k])
        q = q + dt / nsub * area * (G[:-1] - G[1:]) / m
    return q


def test_downdraught_brings_mid_tropospheric_tracer_down():
    g, vc, atm, p = _setup(ntr=1, q=np.zeros(1))
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0, convection=0.0, downdraft=1.0)
    dmf = fields["dmf"]
    active = dmf.max(axis=0) > 0.0
    assert active.any() and not active.all() and fields["cmfmc"].max() == 0.0
    ktop = np.max(np.where(dmf > 0.0, np.arange(vc.nlev + 1)[:, None, None], -1), axis=0)
    kt = int(ktop[active].max())
    atm.q[0, kt] = 1.0                      # tracer in the layer where the deepest downdraughts start
    before = atm.q.copy()
    Convection(p, g, vc).apply(atm, MetState(T0, fields), 3600.0, "test")
    low = atm.q[0, 0]                       # the lowest layer receives downdraught air
    starts_here = active & (ktop == kt)
    assert np.all(low[starts_here] > 0.0)
    assert np.array_equal(atm.q[:, :, ~active], before[:, :, ~active])
    assert np.array_equal(atm.q[0, kt + 1:], before[0, kt + 1:])   # nothing above the downdraughts changes


@pytest.mark.parametrize("strength", [0.5, 40.0])
def test_downdraught_matches_flux_form_column_reference(strength):
    """Random downdraught profiles (with gaps and negative entrainment) against the flux-form
    reference; ``strength`` 40 needs several explicit sub-steps."""
    from esm._kernels import convect

    g, vc, atm, p = _setup(ntr=2)
    rng = np.random.default_rng(11)
    nlev = vc.nlev
    dmf = np.zeros((nlev + 1,) + g.shape)
    ddt = np.zeros((nlev,) + g.shape)
    cols = [(3, 4), (8, 30), (12, 2), (17, 35)]
    for j, i in cols:
        prof = strength * 0.004 * rng.random(nlev - 1)
        prof[rng.random(nlev - 1) < 0.2] = 0.0                   # gaps
        dmf[1:nlev, j, i] = prof
        ddt[:, j, i] = strength * 0.002 * rng.random(nlev) * (rng.random(nlev) < 0.6)
    before = atm.q.copy()
    status = np.zeros((g.nlat, 3), dtype=np.int32)
    value = np.zeros(g.nlat)
    dt = 1800.0
    convect.convect_down(atm.air_mass, atm.q, dmf, ddt, g.area, dt, 500, status, value, 2)
    assert not status.any()
    nsubs = []
    for j, i in cols:
        m = atm.air_mass[:, j, i]
        md = dmf[:, j, i]
        d = np.maximum(ddt[:, j, i], 0.0)
        e = md[:-1] + d - md[1:]
        det = np.where(e < 0.0, md[1:] - md[:-1], d)
        nsub = max(1, int(np.ceil(np.max((det + md[:-1]) * g.area[j, i] * dt / m))))
        nsubs.append(nsub)
        for t in range(2):
            ref = _downdraught_reference(m, before[t, :, j, i], md, ddt[:, j, i], g.area[j, i], dt, nsub)
            np.testing.assert_allclose(atm.q[t, :, j, i], ref, rtol=1e-12, atol=0.0)
    assert (max(nsubs) > 1) == (strength > 1.0)
    untouched = np.ones(g.shape, bool)
    for j, i in cols:
        untouched[j, i] = False
    assert np.array_equal(atm.q[:, :, untouched], before[:, :, untouched])


def test_downdraught_inputs_checked():
    g, vc, atm, p = _setup(ntr=1)
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0, downdraft=1.0)
    fields["dmf"][3, 2, 2] = -0.1
    with pytest.raises(InputDataError, match=r"'dmf' is -0.1 at interface 3, lat"):
        Convection(p, g, vc).apply(atm, MetState(T0, fields), 600.0, "test")
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0, downdraft=1.0)
    del fields["ddtrain"]
    with pytest.raises(InputDataError, match="'dmf' but not its detrainment 'ddtrain'"):
        Convection(p, g, vc).apply(atm, MetState(T0, fields), 600.0, "test")
    fields = synthetic_met(g, vc, atm.surface_pressure(), 0.0, downdraft=1000.0)
    p1 = schema().resolve({"transport_nml": {"max_convection_subcycles": 1}}).transport_nml
    with pytest.raises(ModelStateError, match="downdraught mass flux exchanges more air"):
        Convection(p1, g, vc).apply(atm, MetState(T0, fields), 1800.0, "test")


def test_convection_kernels_do_not_depend_on_the_thread_count():
    """Both draughts, rows shared among threads (dynamic schedule, per-thread workspaces): the same bits
    on 1 and 3 threads."""
    from esm._kernels import convect

    g, vc, atm, p = _setup()
    f = synthetic_met(g, vc, atm.surface_pressure(), 0.0, convection=20.0, downdraft=20.0)
    out = []
    for nth in (1, 3):
        q = atm.q.copy()
        st = np.zeros((g.nlat, 3), dtype=np.int32)
        val = np.zeros(g.nlat)
        convect.convect(atm.air_mass, q, f["cmfmc"], f["dtrain"], g.area, 1800.0, 500, st, val, nth)
        convect.convect_down(atm.air_mass, q, f["dmf"], f["ddtrain"], g.area, 1800.0, 500, st, val, nth)
        assert not st.any()
        out.append(q)
    assert np.array_equal(out[0], out[1]) and not np.array_equal(out[0], atm.q)
