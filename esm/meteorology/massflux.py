"""Horizontal air-mass fluxes on cell faces and the pressure fixer that makes them consistent.

Conventions (see :class:`esm.meteorology.base.MassFluxes`): ``mfx[k, j, i]`` [kg s-1] eastward through
the west face of cell (j, i), periodic in longitude; ``mfy[k, j, i]`` northward through the south face,
rows 0 and nlat (the poles) zero. The net outflow (divergence) of a column is

    D_ji = sum_k (mfx[k, j, i+1] - mfx[k, j, i] + mfy[k, j+1, i] - mfy[k, j, i]),

and the column air mass changes by ``-D dt``, i.e. the surface pressure by ``-g D dt / A``.

Pressure fixer
--------------
Winds from any source (reanalysis interpolated in time, regridded; or the climatology) do not give
fluxes whose convergence matches the change of the surface pressure, and the model's own surface
pressure drifts from the source's. Following the approach of Cameron-Smith et al. (2002) / Horowitz
et al. (2003, JGR 108, 4784, section 2.2) and the mass-flux correction of Heimann & Keeling (1989):
add the gradient of a correction potential chi so that the corrected column divergence takes the
model's ``ps_start`` to the target ``ps_target`` in one step:

    L chi = dM/dt + D_raw,    dM = (ps_target - ps_start) A / g  (global mean removed),

with the discrete, symmetric, five-point operator
``(L chi)_ji = wx_j (chi_{j,i+1} + chi_{j,i-1} - 2 chi_ji) + wy_{j+1} (chi_{j+1,i} - chi_ji) + wy_j (chi_{j-1,i} - chi_ji)``,
geometric weights ``wx_j = dy / dx_j`` and ``wy_j = dx_edge_j / dy`` (zero at the poles), and the
correction fluxes ``F_x = wx (chi_west - chi_east)``, ``F_y = wy (chi_south - chi_north)``. The
operator is circulant in longitude, so it is solved exactly by an FFT in longitude and, for every
zonal wavenumber, a tridiagonal solve in latitude (the wavenumber-0 system is singular — chi is
defined up to a constant — and is pinned at the south pole; it is solvable because the right-hand
side sums to zero). The column correction is shared among the layers in proportion to their
pressure thickness at the face (Horowitz et al. 2003), so it does not change the relative
vertical structure of the flow. The global-mean part of ``ps_target - ps_start`` (a change of the
global air mass, e.g. water vapour in reanalysis) cannot be reached by horizontal fluxes: it is
removed and reported, and the model's global dry-air mass is conserved exactly.
"""
from __future__ import annotations

import numpy as np

from esm.constants import G0
from esm.grid import Grid
from esm.vertical import VerticalCoordinate

try:
    from esm._kernels import met_flux as _k
except ImportError as exc:  # pragma: no cover - build problem
    raise ImportError("esm's compiled kernel esm._kernels.met_flux is missing: build the kernels with "
                      "'python setup.py build_ext --inplace' (or reinstall esm)") from exc


#: Work (array elements x a rough cost per element) below which a compute-bound kernel call runs on one
#: thread: below ~2e6 a call takes a few milliseconds and starting a thread team costs more than it
#: saves (far more on an oversubscribed machine, where a thread team waits for a free core).
SMALL_WORK = 2_000_000


def kernel_threads(work: float, streaming: bool = False) -> int:
    """OpenMP threads for a kernel call of ``work`` element updates (honours ``OMP_NUM_THREADS``).

    ``streaming``: a kernel doing a few flops per element it loads (interpolation in time, flux
    assembly, divergences, the fixer's correction), limited by memory bandwidth. Such kernels use all
    threads too: on the 2-core development machine with nothing else running, the climatology's cost per
    transport step fell from 84 to 46 ms (median; ``benchmark_climatology_1x1_quiet_*.md``). Under a load
    of other jobs (~4 on 2 cores) one thread had been faster (123-129 against 141-159 ms per met step),
    because threads wait for a free core at every parallel region; on a shared machine set
    ``OMP_NUM_THREADS=1``. The argument is kept so callers still say which kind of kernel they run.
    """
    from esm._kernels import _build_info

    if work < SMALL_WORK:
        return 1
    return max(1, int(_build_info.max_threads()))


def _c64(a, name, shape=None):
    a = np.ascontiguousarray(a, dtype=np.float64)
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}; expected {tuple(shape)}")
    return a


def lerp(x0: np.ndarray, x1: np.ndarray, a: float, out: np.ndarray | None = None) -> np.ndarray:
    """``(1 - a) x0 + a x1`` in one threaded pass (time interpolation between met records); into ``out``
    (C-contiguous float64 of the same shape) if given."""
    x0 = _c64(x0, "x0")
    x1 = _c64(x1, "x1", x0.shape)
    if out is None:
        out = np.empty_like(x0)
    elif out.shape != x0.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"lerp: out must be C-contiguous float64 of shape {x0.shape}")
    _k.lerp(x0.reshape(-1), x1.reshape(-1), float(a), out.reshape(-1), kernel_threads(out.size, streaming=True))
    return out


def fluxes_from_centre_winds(u: np.ndarray, v: np.ndarray, dp: np.ndarray, grid: Grid):
    """Face mass fluxes [kg s-1] from cell-centre winds [m s-1] and layer thickness ``dp`` [Pa]:
    ``mfx = <u> <dp>/g dy`` on west faces (periodic), ``mfy = <v> <dp>/g dx_edge`` on south faces
    (zero at the poles), ``<>`` the mean of the two cells sharing the face."""
    dp = _c64(dp, "dp")
    u = _c64(u, "u", dp.shape)
    v = _c64(v, "v", dp.shape)
    nlev, nlat, nlon = dp.shape
    mfx = np.empty((nlev, nlat, nlon))
    mfy = np.empty((nlev, nlat + 1, nlon))
    dxe = np.ascontiguousarray(grid.dx_edge / G0)
    dxe[0] = dxe[-1] = 0.0
    _k.winds_to_fluxes(u, v, dp, grid.dy / G0, dxe, mfx, mfy, kernel_threads(4 * dp.size, streaming=True))
    return mfx, mfy


def lerp_fluxes_from_centre_winds(u0, u1, v0, v1, a: float | None, ps: np.ndarray, vcoord: VerticalCoordinate,
                                  grid: Grid):
    """:func:`fluxes_from_centre_winds` of the winds interpolated in time, ``(1 - a) u0 + a u1`` (``a``
    None: ``u0``/``v0`` as they are), with ``dp = vcoord.layer_thickness(ps)``, in one compiled pass that
    never stores the interpolated winds. Returns ``(mfx, mfy, dp)``, bit for bit the same as
    ``lerp`` + ``layer_thickness`` + ``fluxes_from_centre_winds``."""
    u0 = _c64(u0, "u0")
    shape = u0.shape
    nlev, nlat, nlon = shape
    if nlev != vcoord.nlev or (nlat, nlon) != grid.shape:
        raise ValueError(f"winds have shape {shape}; expected {(vcoord.nlev,) + grid.shape}")
    v0 = _c64(v0, "v0", shape)
    interp = a is not None
    u1 = _c64(u1, "u1", shape) if interp else u0
    v1 = _c64(v1, "v1", shape) if interp else v0
    ps = _c64(ps, "ps", grid.shape)
    dp = np.empty(shape)
    mfx = np.empty(shape)
    mfy = np.empty((nlev, nlat + 1, nlon))
    dxe = np.ascontiguousarray(grid.dx_edge / G0)
    dxe[0] = dxe[-1] = 0.0
    _k.lerp_winds_to_fluxes(u0, u1, v0, v1, float(a) if interp else 0.0, int(interp), ps,
                            np.ascontiguousarray(vcoord.dap, dtype=np.float64),
                            np.ascontiguousarray(vcoord.dbp, dtype=np.float64), grid.dy / G0, dxe, dp, mfx, mfy,
                            kernel_threads(4 * u0.size, streaming=True))
    return mfx, mfy, dp


def column_divergence(mfx: np.ndarray, mfy: np.ndarray) -> np.ndarray:
    """Net horizontal outflow of every column [kg s-1], shape (nlat, nlon) (levels summed in order)."""
    mfx = _c64(mfx, "mfx")
    mfy = _c64(mfy, "mfy", (mfx.shape[0], mfx.shape[1] + 1, mfx.shape[2]))
    out = np.empty(mfx.shape[1:])
    _k.column_divergence(mfx, mfy, out, kernel_threads(2 * mfx.size, streaming=True))
    return out


def layer_divergence(mfx: np.ndarray, mfy: np.ndarray) -> np.ndarray:
    """Net horizontal outflow of every cell [kg s-1], shape (nlev, nlat, nlon)."""
    return (np.roll(mfx, -1, axis=2) - mfx) + (mfy[:, 1:] - mfy[:, :-1])


def ps_after(ps_start: np.ndarray, mfx: np.ndarray, mfy: np.ndarray, dt: float, grid: Grid) -> np.ndarray:
    """Surface pressure after ``dt`` s of the fluxes: ``ps - g dt D / A``."""
    return ps_start - G0 * dt * column_divergence(mfx, mfy) / grid.area


def face_thickness(dp: np.ndarray):
    """Layer pressure thickness on west faces (nlev, nlat, nlon) and south faces (nlev, nlat+1, nlon)."""
    dpx = 0.5 * (dp + np.roll(dp, 1, axis=2))
    nlev, nlat, nlon = dp.shape
    dpy = np.empty((nlev, nlat + 1, nlon))
    dpy[:, 1:-1] = 0.5 * (dp[:, 1:] + dp[:, :-1])
    dpy[:, 0] = dp[:, 0]
    dpy[:, -1] = dp[:, -1]
    return dpx, dpy


def fluxes_from_winds(u_face: np.ndarray, v_face: np.ndarray, dp: np.ndarray, grid: Grid):
    """Mass fluxes [kg s-1] from face-normal winds [m s-1] and cell layer thickness ``dp`` [Pa].

    ``u_face`` (nlev, nlat, nlon) on west faces, ``v_face`` (nlev, nlat+1, nlon) on south faces:
    ``mfx = u dp/g dy``, ``mfy = v dp/g dx_edge`` (zero at the poles, where dx_edge = 0).
    """
    dpx, dpy = face_thickness(dp)
    mfx = u_face * dpx * (grid.dy / G0)
    mfy = v_face * dpy * (grid.dx_edge[None, :, None] / G0)
    mfy[:, 0] = 0.0
    mfy[:, -1] = 0.0
    return mfx, mfy


def centre_winds_to_faces(u: np.ndarray, v: np.ndarray):
    """Average cell-centre winds to west faces (periodic) and interior south faces (poles set to 0)."""
    uf = 0.5 * (u + np.roll(u, 1, axis=2))
    nlev, nlat, nlon = v.shape
    vf = np.zeros((nlev, nlat + 1, nlon))
    vf[:, 1:-1] = 0.5 * (v[:, 1:] + v[:, :-1])
    return uf, vf


def face_fluxes_to_centre_winds(mfx, mfy, dp, grid: Grid):
    """Cell-centre winds [m s-1] implied by face mass fluxes (mean of the two opposite faces)."""
    dpx, dpy = face_thickness(dp)
    ux = mfx * G0 / (dpx * grid.dy)
    u = 0.5 * (ux + np.roll(ux, -1, axis=2))
    dxe = grid.dx_edge[None, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        vy = np.where(dxe > 0, mfy * G0 / (dpy * np.where(dxe > 0, dxe, 1.0)), np.nan)
    south, north = vy[:, :-1], vy[:, 1:]
    v = np.where(np.isnan(south), north, np.where(np.isnan(north), south, 0.5 * (south + north)))
    return u, v


class PressureFixer:
    """Exact solver of the correction potential (see module docstring) for one grid."""

    def __init__(self, grid: Grid):
        self.grid = grid
        nlat, nlon = grid.shape
        self.wx = grid.dy / grid.dx_centre  # (nlat,)
        wy = grid.dx_edge / grid.dy  # (nlat+1,)
        wy[0] = wy[-1] = 0.0
        self.wy = wy
        m = np.arange(nlon // 2 + 1)
        lam = 2.0 * np.cos(2.0 * np.pi * m / nlon) - 2.0  # (nm,)
        # tridiagonal coefficients for every (j, m): a chi_{j-1} + b chi_j + c chi_{j+1}
        self.a = np.broadcast_to(wy[:-1][:, None], (nlat, m.size)).copy()
        self.c = np.broadcast_to(wy[1:][:, None], (nlat, m.size)).copy()
        self.b = self.wx[:, None] * lam[None, :] - wy[:-1][:, None] - wy[1:][:, None]
        # pin chi = 0 at the southernmost row for wavenumber 0 (the singular, constant mode)
        self.b[0, 0], self.c[0, 0] = 1.0, 0.0
        # forward elimination factors (the matrix is fixed, so precompute them)
        cp = np.zeros((nlat, m.size))
        den = np.zeros((nlat, m.size))
        den[0] = self.b[0]
        cp[0] = self.c[0] / den[0]
        for j in range(1, nlat):  # loop over rows (not cells), vectorised over wavenumbers
            den[j] = self.b[j] - self.a[j] * cp[j - 1]
            cp[j] = self.c[j] / den[j]
        self.cp, self.den = cp, den
        self.inv_den = 1.0 / den

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """chi with ``L chi = rhs`` (rhs summing to ~0 over the globe)."""
        nlat, nlon = self.grid.shape
        r = np.fft.rfft(rhs, axis=1)
        r[0, 0] = 0.0
        # the coefficients are real: the real and imaginary parts are independent real systems
        xr, xi = np.ascontiguousarray(r.real), np.ascontiguousarray(r.imag)
        for x in (xr, xi):
            _k.tridiagonal_sweeps(self.a, self.cp, self.inv_den, x)
        return np.fft.irfft(xr + 1j * xi, n=nlon, axis=1)

    def correction_fluxes(self, chi: np.ndarray):
        """Column correction fluxes: west faces (nlat, nlon), south faces (nlat+1, nlon)."""
        fx = self.wx[:, None] * (np.roll(chi, 1, axis=1) - chi)
        fy = np.zeros((chi.shape[0] + 1, chi.shape[1]))
        fy[1:-1] = self.wy[1:-1, None] * (chi[:-1] - chi[1:])
        return fx, fy

    def __call__(self, mfx: np.ndarray, mfy: np.ndarray, dp: np.ndarray, ps_start: np.ndarray,
                 ps_target: np.ndarray, dt: float, inplace: bool = False):
        """Corrected ``(mfx, mfy, ps_end, global_offset_Pa)``.

        ``dp`` is the layer thickness used to share the correction among layers: an array (nlev, nlat,
        nlon), or ``(ps0, ps1, a, vcoord)`` for the hybrid-coordinate thickness interpolated in time,
        ``(1 - a) dp(ps0) + a dp(ps1)``, evaluated on the fly. ``ps_end`` is what the corrected fluxes
        give from ``ps_start``; it equals ``ps_target + global_offset`` to round-off, with
        ``global_offset`` the area-weighted mean of ``ps_start - ps_target``. ``inplace``: correct
        ``mfx``/``mfy`` themselves (C-contiguous float64) instead of copies.
        """
        grid = self.grid
        area = grid.area
        dps = ps_target - ps_start
        offset = -float(np.sum(dps * area) / np.sum(area))
        dm = (dps + offset) * area / G0
        div = column_divergence(mfx, mfy)
        rhs = dm / dt + div
        rhs -= np.sum(rhs) * area / np.sum(area)  # round-off of the global sum
        chi = self.solve(rhs)
        fx, fy = self.correction_fluxes(chi)
        if inplace:
            for name, f in (("mfx", mfx), ("mfy", mfy)):
                if not (isinstance(f, np.ndarray) and f.dtype == np.float64 and f.flags.c_contiguous
                        and f.flags.writeable):
                    raise ValueError(f"pressure fixer (inplace): {name} must be a writeable C-contiguous float64 array")
        else:
            mfx = np.array(mfx, dtype=np.float64, order="C")  # corrected copies
            mfy = np.array(mfy, dtype=np.float64, order="C")
        fx, fy = np.ascontiguousarray(fx), np.ascontiguousarray(fy)
        nthreads = kernel_threads(4 * mfx.size, streaming=True)
        if isinstance(dp, tuple):
            ps0, ps1, a, vc = dp
            _k.add_column_correction_hybrid(fx, fy, _c64(ps0, "ps0", grid.shape), _c64(ps1, "ps1", grid.shape),
                                            float(a), np.ascontiguousarray(vc.dap), np.ascontiguousarray(vc.dbp),
                                            mfx, mfy, nthreads)
        else:
            _k.add_column_correction(fx, fy, _c64(dp, "dp", mfx.shape), mfx, mfy, nthreads)
        ps_end = ps_after(ps_start, mfx, mfy, dt, grid)
        return mfx, mfy, ps_end, offset


    def column_corrections(self, div: np.ndarray, ps_start: np.ndarray, ps_target: np.ndarray, dt: float):
        """``(fx, fy, global_offset_Pa)``: the column correction fluxes that take fluxes of column
        divergence ``div`` from ``ps_start`` to ``ps_target`` (plus the global offset) in ``dt``."""
        grid = self.grid
        area = grid.area
        dps = ps_target - ps_start
        offset = -float(np.sum(dps * area) / np.sum(area))
        dm = (dps + offset) * area / G0
        rhs = dm / dt + div
        rhs -= np.sum(rhs) * area / np.sum(area)  # round-off of the global sum
        fx, fy = self.correction_fluxes(self.solve(rhs))
        return np.ascontiguousarray(fx), np.ascontiguousarray(fy), offset

    def correct_inplace(self, mfx: np.ndarray, mfy: np.ndarray, div: np.ndarray, dp: np.ndarray,
                        ps_start: np.ndarray, ps_target: np.ndarray, dt: float):
        """:meth:`__call__` with ``inplace=True`` for fluxes whose column divergence ``div`` is already known
        and an explicit thickness ``dp``: ``mfx``/``mfy`` (writeable C-contiguous float64) are corrected in
        place and their new divergence (for ``ps_end``) is computed in the same pass. Bit for bit the same
        numbers as ``__call__(mfx, mfy, dp, ..., inplace=True)``."""
        grid = self.grid
        for name, f in (("mfx", mfx), ("mfy", mfy)):
            if not (isinstance(f, np.ndarray) and f.dtype == np.float64 and f.flags.c_contiguous
                    and f.flags.writeable):
                raise ValueError(f"pressure fixer (inplace): {name} must be a writeable C-contiguous float64 array")
        fx, fy, offset = self.column_corrections(div, ps_start, ps_target, dt)
        div_end = np.empty(grid.shape)
        _k.correct_and_divergence(fx, fy, _c64(dp, "dp", mfx.shape), mfx, mfy, div_end,
                                  kernel_threads(4 * mfx.size, streaming=True))
        ps_end = ps_start - G0 * dt * div_end / grid.area
        return mfx, mfy, ps_end, offset

    def correct_hybrid(self, mfx: np.ndarray, mfy: np.ndarray, div: np.ndarray, dp_records, ps_start: np.ndarray,
                       ps_target: np.ndarray, dt: float):
        """:meth:`__call__` for fluxes whose column divergence ``div`` is already known (computed with them)
        and a hybrid-coordinate thickness ``dp_records = (ps0, ps1, a, vcoord)``: the corrected fluxes go
        to new arrays and their divergence (for ``ps_end``) is computed in the same pass. The same numbers
        as ``__call__(mfx, mfy, dp_records, ...)``."""
        grid = self.grid
        fx, fy, offset = self.column_corrections(div, ps_start, ps_target, dt)
        ps0, ps1, a, vc = dp_records
        ox, oy = np.empty_like(mfx), np.empty_like(mfy)
        div_end = np.empty(grid.shape)
        _k.correct_and_divergence_hybrid(np.ascontiguousarray(fx), np.ascontiguousarray(fy),
                                         _c64(ps0, "ps0", grid.shape), _c64(ps1, "ps1", grid.shape), float(a),
                                         np.ascontiguousarray(vc.dap), np.ascontiguousarray(vc.dbp), mfx, mfy,
                                         ox, oy, div_end, kernel_threads(4 * mfx.size, streaming=True))
        ps_end = ps_start - G0 * dt * div_end / grid.area
        return ox, oy, ps_end, offset


def check_fluxes(mfx, mfy, grid: Grid, nlev: int, where: str) -> None:
    """Raise ValueError unless the flux arrays have the contract's shapes and are finite."""
    if mfx.shape != (nlev, grid.nlat, grid.nlon):
        raise ValueError(f"{where}: mfx has shape {mfx.shape}; expected (nlev, nlat, nlon) = "
                         f"{(nlev, grid.nlat, grid.nlon)}")
    if mfy.shape != (nlev, grid.nlat + 1, grid.nlon):
        raise ValueError(f"{where}: mfy has shape {mfy.shape}; expected (nlev, nlat+1, nlon) = "
                         f"{(nlev, grid.nlat + 1, grid.nlon)}")
    if not (np.all(np.isfinite(mfx)) and np.all(np.isfinite(mfy))):
        raise ValueError(f"{where}: mass fluxes contain non-finite values")


def vertical_mass_flux(mfx, mfy, dp_start, dp_end, area, dt, vcoord: VerticalCoordinate):
    """Upward mass flux through the layer tops [kg s-1], (nlev+1, nlat, nlon), from continuity.

    ``w_{k+1} = w_k - div_k - (m_k(end) - m_k(start)) / dt``, ``w_0 = 0`` at the surface; with
    ``dp_end`` from the fluxes' own ``ps_end`` the top value ``w_nlev`` vanishes to round-off. Offered
    to the transport as a reference implementation and used by the tests.
    """
    div = layer_divergence(mfx, mfy)
    dm = (dp_end - dp_start) * area / G0 / dt
    w = np.zeros((div.shape[0] + 1,) + div.shape[1:])
    w[1:] = -np.cumsum(div + dm, axis=0)
    return w


def donor_cell_step(m, q, mfx, mfy, w, dt):
    """One first-order upwind (donor-cell) step of air mass ``m`` and mixing ratio ``q``.

    A *reference* scheme for tests and validation only (the model's transport is esm.transport):
    air and tracer are moved by the same fluxes, so a uniform ``q`` stays uniform to round-off
    exactly when the fluxes, the vertical mass flux from continuity and the air mass agree.
    """
    def outflow(s):
        fx = np.where(mfx > 0, np.roll(s, 1, axis=2), s) * mfx
        fy = np.zeros_like(mfy)
        fy[:, 1:-1] = np.where(mfy[:, 1:-1] > 0, s[:, :-1], s[:, 1:]) * mfy[:, 1:-1]
        fz = np.zeros_like(w)
        fz[1:-1] = np.where(w[1:-1] > 0, s[:-1], s[1:]) * w[1:-1]
        return ((np.roll(fx, -1, axis=2) - fx) + (fy[:, 1:] - fy[:, :-1]) + (fz[1:] - fz[:-1])) * dt
    m_new = m - outflow(np.ones_like(q))
    c_new = q * m - outflow(q)
    return m_new, c_new / m_new
