"""The climatology's cost-saving machinery changes no numbers: cell subsets, caches, fused kernels,
thread counts; the daily season records stay close to an hourly evaluation."""
import datetime

import cftime
import numpy as np
import pytest

from esm._kernels import met_flux
from esm.grid import Grid
from esm.meteorology.base import CellFields, MetProvider, MetState
from esm.meteorology.climatology import SURFACE_FIELDS, Climatology
from esm.meteorology.eddies import EddyField
from esm.meteorology.massflux import lerp
from esm.vertical import VerticalCoordinate

GRID = Grid.from_spec("6x7.5")
VC = VerticalCoordinate.from_name("coarse11")
TIMES = [cftime.datetime(2021, 3, 20, 0, calendar="standard"),   # a record time
         cftime.datetime(2021, 3, 20, 13, 40, calendar="standard"),
         cftime.datetime(2021, 12, 31, 23, 30, calendar="standard")]  # interpolating across the new year


@pytest.fixture(scope="module")
def clim():
    return Climatology(GRID, VC)


def test_cell_sampler_equals_full_grid_bit_for_bit(clim):
    land = np.flatnonzero(clim.land.ravel() > 0)
    some = np.array([0, 5, GRID.nlat * GRID.nlon - 1, 100])  # any order, incl. ocean and polar cells
    for cells in (land, some):
        sample = clim.cell_sampler(SURFACE_FIELDS, cells)
        for t in TIMES:
            got = sample(t)
            assert isinstance(got, CellFields) and got.cells is cells
            met = Climatology(GRID, VC).at(t)  # fresh provider: no shared caches
            for name in SURFACE_FIELDS:
                np.testing.assert_array_equal(got[name], np.asarray(met[name]).ravel()[cells], err_msg=name)
    with pytest.raises(ValueError, match="not surface fields"):
        clim.cell_sampler(["t"], land)
    with pytest.raises(ValueError, match="cells must lie"):
        clim.cell_sampler(["t2m"], np.array([GRID.nlat * GRID.nlon]))


def test_generic_cell_sampler_of_a_provider():
    class Const(MetProvider):
        def at(self, time):
            return MetState(time, {"t2m": np.arange(GRID.nlat * GRID.nlon, dtype=float).reshape(GRID.shape)})

    cells = np.array([3, 1, 7])
    got = Const().cell_sampler(["t2m"], cells)(TIMES[0])
    np.testing.assert_array_equal(got["t2m"], [3.0, 1.0, 7.0])
    with pytest.raises(KeyError, match="no field 'ps'"):
        got["ps"]


def test_values_do_not_depend_on_the_call_history(clim):
    """Caches (season and 3-D records, states) must not change any value: a fresh provider agrees."""
    t = TIMES[1]
    for other in (TIMES[2], TIMES[0] + datetime.timedelta(days=40)):  # visit other times first
        clim.at(other)["t"]
        clim.step_fluxes(other, 1800.0, np.asarray(clim.at(other).ps))
    fresh = Climatology(GRID, VC)
    a, b = clim.at(t), fresh.at(t)
    for name in SURFACE_FIELDS + ("t", "qv", "u", "v", "cmfmc", "dtrain"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    ps = np.asarray(a.ps) + 20.0
    fa, fb = clim.step_fluxes(t, 900.0, ps), fresh.step_fluxes(t, 900.0, ps)
    np.testing.assert_array_equal(fa.mfx, fb.mfx)
    np.testing.assert_array_equal(fa.mfy, fb.mfy)


def test_daily_season_records_close_to_hourly_evaluation():
    """The season part evaluated daily and interpolated vs evaluated every hour: the seasonal cycle is
    smooth (second-order error (2 pi / 365)^2 / 8 ~ 4e-5 of a seasonal amplitude), so t2m agrees to
    well under 0.01 K except where the formulas have kinks or jumps in time (sea-ice edge: SST set to
    freezing when ice appears; the freezing switch of the soil's PET), which affect a few cells."""
    daily = Climatology(GRID, VC)
    hourly = Climatology(GRID, VC)
    hourly.SEASON_RECORD_SECONDS = 3600
    for t in (cftime.datetime(2021, 4, 10, 11, 30, calendar="standard"),
              cftime.datetime(2021, 10, 3, 17, 15, calendar="standard")):
        a, b = daily.at(t), hourly.at(t)
        d = np.abs(np.asarray(a.t2m) - np.asarray(b.t2m))
        assert np.percentile(d, 95) < 2e-3
        assert np.mean(d > 0.01) < 0.02  # kinks and jumps: at most 2 % of the cells
        assert np.max(np.abs(np.asarray(a.ps) - np.asarray(b.ps))) < 20.0
        np.testing.assert_array_equal(a.cos_sza, b.cos_sza)  # the time-of-day part is exact in both


def test_fused_flux_kernel_equals_interpolation_plus_eddy_reference():
    rng = np.random.default_rng(1)
    nlev, nlat, nlon = 5, GRID.nlat, GRID.nlon
    mfx0, mfx1 = rng.normal(size=(2, nlev, nlat, nlon))
    mfy0, mfy1 = rng.normal(size=(2, nlev, nlat + 1, nlon))
    mfy0[:, [0, -1]] = mfy1[:, [0, -1]] = 0.0
    wc0, wc1 = rng.random((2, nlev, nlat + 1, nlon))
    ed = EddyField(GRID, 12, 4.0, 3, 10.0, 4.0)
    t = cftime.datetime(2021, 5, 1, 6, calendar="standard")
    psi = np.ascontiguousarray(ed.psi(t))
    a = 0.3
    out_x, out_y = np.empty_like(mfx0), np.empty_like(mfy0)
    met_flux.mean_and_eddy_fluxes(mfx0, mfx1, mfy0, mfy1, wc0, wc1, a, psi, True, out_x, out_y, 1)
    ex, ey = ed.mass_fluxes(t, lerp(wc0, wc1, a))  # numpy reference of the eddy fluxes
    np.testing.assert_allclose(out_x, lerp(mfx0, mfx1, a) + ex, rtol=0, atol=1e-12 * np.abs(out_x).max())
    np.testing.assert_allclose(out_y, lerp(mfy0, mfy1, a) + ey, rtol=0, atol=1e-12 * np.abs(out_y).max())
    # no eddies: the interpolation alone, exactly
    met_flux.mean_and_eddy_fluxes(mfx0, mfx1, mfy0, mfy1, wc0, wc1, a, psi, False, out_x, out_y, 1)
    np.testing.assert_array_equal(out_x, lerp(mfx0, mfx1, a))


def test_hybrid_column_correction_equals_explicit_thickness():
    rng = np.random.default_rng(2)
    nlat, nlon = GRID.shape
    ps0 = 1.0e5 + 2000.0 * rng.random(GRID.shape)
    ps1 = 1.0e5 + 2000.0 * rng.random(GRID.shape)
    a = 0.4
    dp = lerp(VC.layer_thickness(ps0), VC.layer_thickness(ps1), a)
    fx, fy = rng.normal(size=GRID.shape), rng.normal(size=(nlat + 1, nlon))
    mfx = rng.normal(size=(VC.nlev, nlat, nlon))
    mfy = rng.normal(size=(VC.nlev, nlat + 1, nlon))
    x1, y1, x2, y2 = mfx.copy(), mfy.copy(), mfx.copy(), mfy.copy()
    met_flux.add_column_correction(fx, fy, dp, x1, y1, 1)
    met_flux.add_column_correction_hybrid(fx, fy, ps0, ps1, a, np.ascontiguousarray(VC.dap),
                                          np.ascontiguousarray(VC.dbp), x2, y2, 1)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    # the column sum of the correction is the column correction flux (weights sum to one)
    np.testing.assert_allclose((x1 - mfx).sum(axis=0), fx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((y1 - mfy).sum(axis=0)[1:-1], fy[1:-1], rtol=1e-12, atol=1e-12)


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    """Every kernel of at() and step_fluxes on 1 and on 3 threads (forced for any problem size)."""
    import esm.meteorology.climatology as cmod
    import esm.meteorology.massflux as mmod
    t = TIMES[1]
    res = []
    for nthreads in (1, 3):
        monkeypatch.setattr(mmod, "kernel_threads", lambda work, n=nthreads, **kw: n)
        monkeypatch.setattr(cmod, "kernel_threads", lambda work, n=nthreads, **kw: n)
        c = Climatology(GRID, VC)
        met = c.at(t)
        fields = {name: np.array(met[name]) for name in SURFACE_FIELDS + ("t", "qv", "u", "v", "cmfmc", "dtrain")}
        mf = c.step_fluxes(t, 900.0, np.asarray(met.ps) + 15.0)
        fields.update(mfx=mf.mfx, mfy=mf.mfy, ps_end=mf.ps_end)
        cells = np.flatnonzero(c.land.ravel() > 0.5)
        fields.update({f"cells:{k}": v for k, v in c.cell_sampler(SURFACE_FIELDS, cells)(t).items()})
        res.append(fields)
    for name in res[0]:
        np.testing.assert_array_equal(res[0][name], res[1][name], err_msg=name)


def test_column_divergence_sums_levels_in_order():
    rng = np.random.default_rng(3)
    mfx = rng.normal(size=(VC.nlev,) + GRID.shape)
    mfy = rng.normal(size=(VC.nlev, GRID.nlat + 1, GRID.nlon))
    out = np.empty(GRID.shape)
    met_flux.column_divergence(mfx, mfy, out, 2)
    ref = np.zeros(GRID.shape)
    for k in range(VC.nlev):
        ref = ref + (np.roll(mfx[k], -1, axis=1) - mfx[k]) + (mfy[k, 1:] - mfy[k, :-1])
    np.testing.assert_array_equal(out, ref)


def test_centre_winds_kernel_equals_numpy_reference(clim):
    from esm.meteorology.massflux import face_fluxes_to_centre_winds
    t = TIMES[1]
    met = clim.at(t)
    mfx, mfy, dp = clim.raw_fluxes(t)
    u, v = face_fluxes_to_centre_winds(mfx, mfy, dp, GRID)
    np.testing.assert_allclose(met.u, u, rtol=0, atol=1e-12 * np.abs(u).max())
    np.testing.assert_allclose(met.v, v, rtol=0, atol=1e-12 * np.abs(v).max())


def test_fused_divergence_and_fixer_equal_the_separate_steps(clim):
    """The fused passes (fluxes + their divergence; out-of-place correction + the divergence of the
    result) give the same numbers as the separate kernels."""
    from esm.meteorology.massflux import PressureFixer, column_divergence
    t = TIMES[1]
    mfx, mfy, div, (ps0, ps1, a) = clim._fluxes(t)
    np.testing.assert_array_equal(div, column_divergence(mfx, mfy))
    fixer = PressureFixer(GRID)
    ps_start = np.asarray(clim.at(t).ps) + 25.0 * np.cos(np.deg2rad(GRID.lon))[None, :]
    target = np.asarray(clim.at(t + datetime.timedelta(hours=1)).ps)
    x1, y1, e1, o1 = fixer(mfx, mfy, (ps0, ps1, a, VC), ps_start, target, 3600.0)
    x2, y2, e2, o2 = fixer.correct_hybrid(mfx, mfy, div, (ps0, ps1, a, VC), ps_start, target, 3600.0)
    for u, w in ((x1, x2), (y1, y2), (e1, e2)):
        np.testing.assert_array_equal(u, w)
    assert o1 == o2
    np.testing.assert_allclose(e2, target + o2, rtol=0, atol=1e-6)  # the fixer reaches its target


def test_one_pass_step_fluxes_equal_assembly_plus_fixer(clim):
    """step_fluxes (one pass: the correction computed from the mean flow's divergence beforehand, column
    totals of dp from ps) equals assembling the raw fluxes and applying the pressure fixer to them, to
    round-off."""
    t, dt = TIMES[1], 1800.0
    ps_start = np.asarray(clim.at(t).ps) + 40.0 * np.sin(np.deg2rad(GRID.lat))[:, None]
    mf = clim.step_fluxes(t, dt, ps_start)
    mid, end = t + datetime.timedelta(seconds=dt / 2), t + datetime.timedelta(seconds=dt)
    mfx, mfy, _, (ps0, ps1, a) = clim._fluxes(mid)
    x, y, ps_end, _ = clim._fixer(mfx, mfy, (ps0, ps1, a, VC), ps_start, np.asarray(clim.at(end).ps), dt)
    np.testing.assert_allclose(mf.mfx, x, rtol=0, atol=1e-12 * np.abs(x).max())
    np.testing.assert_allclose(mf.mfy, y, rtol=0, atol=1e-12 * np.abs(y).max())
    np.testing.assert_allclose(mf.ps_end, ps_end, rtol=0, atol=1e-6)


def test_convection_skipping_zero_interfaces_changes_no_number():
    """The convection kernel leaves out the shapes on interfaces where they are zero in both records
    (and, with zero-filled outputs, does not write there): the same bits as evaluating every term."""
    from esm._kernels import met_clim
    rng = np.random.default_rng(11)
    nlev, (nlat, nlon) = VC.nlev, GRID.shape
    s = [rng.random((nlev + 1,) + GRID.shape) for _ in range(4)]
    s[0][0], s[1][0], s[2][0], s[3][0] = 0.0, 0.0, 0.0, 0.0  # surface: both shapes zero
    s[0][8:], s[1][8:] = 0.0, 0.0                              # shape 1 zero above interface 7
    s[2][5:], s[3][5:] = 0.0, 0.0                              # shape 2 zero above interface 4
    s[1][3] = 0.0                                               # zero in one record only: still read
    it, st = rng.random(GRID.shape), rng.random(GRID.shape)
    nz1 = np.any((s[0] != 0) | (s[1] != 0), axis=(1, 2)).astype(np.uint8)
    nz2 = np.any((s[2] != 0) | (s[3] != 0), axis=(1, 2)).astype(np.uint8)
    assert nz1.sum() == 7 and nz2.sum() == 4
    ref = np.full((nlev + 1, nlat, nlon), np.nan), np.full((nlev, nlat, nlon), np.nan)
    met_clim.convection(*s, 0.3, it, st, 0.02, ref[0], ref[1], 1)
    for nthreads in (1, 3):
        for zeroed in (False, True):
            out = (np.zeros_like(ref[0]), np.zeros_like(ref[1])) if zeroed else \
                (np.full_like(ref[0], np.nan), np.full_like(ref[1], np.nan))
            met_clim.convection(*s, 0.3, it, st, 0.02, out[0], out[1], nthreads, nz1, nz2, zeroed)
            np.testing.assert_array_equal(out[0], ref[0])
            np.testing.assert_array_equal(out[1], ref[1])
    assert np.all(ref[0][8:] == 0.0) and np.all(ref[1][8:] == 0.0) and np.any(ref[1][7] > 0.0)


def test_reused_buffers_never_overwrite_arrays_a_caller_holds():
    """Kernels write into pooled buffers that nobody references any more: fields and fluxes a caller keeps
    stay as they were while the climatology steps on (across a daily record rebuild), and match a fresh
    provider; a dropped array is reused (no fresh memory in a long run)."""
    c = Climatology(GRID, VC)
    t0 = cftime.datetime(2021, 3, 20, 22, 0, calendar="standard")
    ps = np.asarray(c.at(t0).ps).copy()
    kept = []
    for k in range(12):  # 3 hours across midnight at dt = 900 s
        t = t0 + datetime.timedelta(seconds=900 * k)
        met = c.at(t)
        f = c.step_fluxes(t, 900.0, ps)
        ps = f.ps_end
        if k % 4 == 0:
            kept.append((t, met.t, met.cmfmc, met.dtrain, f.mfx, f.mfy,
                         [np.array(x) for x in (met.t, met.cmfmc, met.dtrain, f.mfx, f.mfy)]))
    for t, *arrays, copies in kept:
        fresh = Climatology(GRID, VC).at(t)
        for name, a, b in zip(("t", "cmfmc", "dtrain", "mfx", "mfy"), arrays, copies):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} at {t} was overwritten")
        for name, a in zip(("t", "cmfmc", "dtrain"), arrays):
            np.testing.assert_array_equal(a, np.asarray(fresh[name]), err_msg=name)
    shape = (VC.nlev,) + GRID.shape
    a = c._buffer(shape)
    addr = a.__array_interface__["data"][0]
    del a
    assert c._buffer(shape).__array_interface__["data"][0] == addr


@pytest.mark.parametrize("nthreads", [1, 3])
def test_fused_lerp_winds_to_fluxes_equals_the_three_steps(monkeypatch, nthreads):
    """The reanalysis path's one-pass lerp(u, v) + layer thickness + face fluxes gives the same bits as
    lerp, VerticalCoordinate.layer_thickness and fluxes_from_centre_winds one after the other."""
    import esm.meteorology.massflux as mmod
    from esm.meteorology.massflux import fluxes_from_centre_winds, lerp_fluxes_from_centre_winds
    monkeypatch.setattr(mmod, "kernel_threads", lambda work, n=nthreads, **kw: n)
    rng = np.random.default_rng(4)
    shape = (VC.nlev,) + GRID.shape
    u0, u1, v0, v1 = (rng.normal(0.0, 15.0, shape) for _ in range(4))
    ps = 1.0e5 + rng.normal(0.0, 1500.0, GRID.shape)
    for a in (None, 0.3, 1.0 / 3.0, 0.75):
        u = u0 if a is None else lerp(u0, u1, a)
        v = v0 if a is None else lerp(v0, v1, a)
        dp = VC.layer_thickness(ps)
        mfx, mfy = fluxes_from_centre_winds(u, v, dp, GRID)
        fx, fy, fdp = lerp_fluxes_from_centre_winds(u0, u1, v0, v1, a, ps, VC, GRID)
        for name, want, got in (("dp", dp, fdp), ("mfx", mfx, fx), ("mfy", mfy, fy)):
            assert np.array_equal(want.view(np.uint64), got.view(np.uint64)), f"{name} at a = {a}"


@pytest.mark.parametrize("nthreads", [1, 3])
def test_in_place_fixer_with_fused_divergence_equals_the_fixer(monkeypatch, nthreads):
    """PressureFixer.correct_inplace (explicit thickness, corrected divergence in the same pass) gives the
    same bits as PressureFixer.__call__ and leaves the result in the arrays it was given."""
    import esm.meteorology.massflux as mmod
    from esm.meteorology.massflux import PressureFixer, column_divergence, fluxes_from_centre_winds
    monkeypatch.setattr(mmod, "kernel_threads", lambda work, n=nthreads, **kw: n)
    rng = np.random.default_rng(5)
    shape = (VC.nlev,) + GRID.shape
    ps0 = 1.0e5 + rng.normal(0.0, 1500.0, GRID.shape)
    ps1 = ps0 + rng.normal(0.0, 80.0, GRID.shape)
    dp = VC.layer_thickness(ps0)
    mfx, mfy = fluxes_from_centre_winds(rng.normal(0.0, 15.0, shape), rng.normal(0.0, 8.0, shape), dp, GRID)
    fixer = PressureFixer(GRID)
    want = fixer(mfx, mfy, dp, ps0, ps1, 900.0)
    x, y = mfx.copy(), mfy.copy()
    got = fixer.correct_inplace(x, y, column_divergence(x, y), dp, ps0, ps1, 900.0)
    assert got[0] is x and got[1] is y
    for name, w, g in zip(("mfx", "mfy", "ps_end"), want[:3], got[:3]):
        assert np.array_equal(w.view(np.uint64), g.view(np.uint64)), name
    assert want[3] == got[3]


def _run_steps(prefetch: bool, start, nsteps: int, dt: float):
    c = Climatology(GRID, VC, {"prefetch": prefetch})
    ps = np.asarray(c.at(start).ps).copy()
    out, jobs, t = [], set(), start
    for _ in range(nsteps):
        met = c.at(t)
        fields = {name: np.array(met[name]) for name in ("t", "qv", "u", "v", "cmfmc", "dtrain", "pblh", "ps")}
        mf = c.step_fluxes(t, dt, ps)
        fields.update(mfx=mf.mfx.copy(), mfy=mf.mfy.copy(), ps_end=mf.ps_end)
        if getattr(c, "_job", None) is not None:
            jobs.add(c._job.key)
        out.append(fields)
        ps = mf.ps_end
        t = t + datetime.timedelta(seconds=dt)
    return out, jobs


def test_background_record_build_changes_no_number():
    """Two midnights of steps with the next day's records built in the background thread (prefetch) and
    without: every field and flux identical at every step, and the background builds did happen."""
    start = cftime.datetime(2021, 6, 30, 20, calendar="standard")
    ref, none = _run_steps(False, start, 30, 3600.0)
    got, jobs = _run_steps(True, start, 30, 3600.0)
    assert not none and len(jobs) >= 2  # the records of 2 and 3 July were prefetched
    for k, (a, b) in enumerate(zip(ref, got)):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=f"step {k}: {name}")


@pytest.mark.parametrize("taken_by_worker", [0, 7, 10_000])
def test_record_job_taken_over_midway_equals_one_call(taken_by_worker):
    """A record built in row items (some by a 'worker' on one thread, the rest by complete() with threads)
    equals the record built in one call, bit for bit."""
    from esm.meteorology.climatology import _RecordJob
    t = cftime.datetime(2021, 1, 17, 0, calendar="standard")
    c = Climatology(GRID, VC, {"prefetch": False})
    mf_parts, mf_finish = c._mean_flow_parts(t)
    th_parts, th_finish = c._thermo_parts(t)
    job = _RecordJob(("x",), mf_parts + th_parts, lambda: (mf_finish(), th_finish()))
    for _ in range(taken_by_worker):
        items = job._claim(False)
        if items is None:
            break
        for m, j0, j1 in items:
            job.parts[m][0](j0, j1, 1)
        job._release(len(items))
    mf, th = job.complete()
    fresh = Climatology(GRID, VC, {"prefetch": False})
    ref_mf, ref_th = fresh._mean_flow_record(t), fresh._three_d(t)
    for a, b in zip(ref_mf, mf):
        np.testing.assert_array_equal(a, b)
    for name in ref_th:
        np.testing.assert_array_equal(ref_th[name], th[name], err_msg=name)
    assert job.by_worker == min(taken_by_worker, len(job.items))
