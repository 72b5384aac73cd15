"""Python side of the advection kernels: argument checks, error messages, vertical mass fluxes.

The kernels (``esm._kernels.ffsl``) update air mass ``m`` [kg] and mixing ratio ``q`` in
place; this module checks what goes in and turns the kernels' status codes into errors
that name the field, the time and the cell.

Vertical mass fluxes follow the TM5 construction (Krol et al. 2005, ACP 5, 417, section
2.3; Bregman et al. 2003): after horizontal transport the air mass of a column is
``M* = sum_k (m_k + c_k)`` with ``c_k`` the horizontal convergence; the end-of-step
surface pressure it implies, ``p_s* = p_top + g M*/A``, fixes every layer's target mass
``m_k^target = (dap_k + dbp_k p_s*) A/g`` (the hybrid coefficients), and the upward air
mass through the top of layer k is the cumulative excess

    w_{k+1} = w_k + (m_k + c_k - m_k^target),  w_0 = 0,

so each layer ends at its target and ``w_nlev`` vanishes to round-off (set to zero, which
keeps air mass exactly conserved in the column). ``p_s*`` is checked against the
meteorology's end-of-step surface pressure.
"""
from __future__ import annotations

import numpy as np

from esm import cpu
from esm.constants import G0
from esm.cpu import cpu_has_avx2, cpu_has_avx512  # noqa: F401  (re-exported: tests and benchmarks ask here)
from esm.errors import InputDataError, ModelStateError
from esm.grid import Grid
from esm.transport.threads import kernel_threads
from esm.vertical import VerticalCoordinate

_H_ERRORS = {
    1: "the zonal mass fluxes remove more air from the cell than it holds (new air mass {v:.4g} of the old); "
       "reduce &time_control dt",
    2: "the zonal Courant number {v:.4g} exceeds one full latitude row; reduce &time_control dt",
    3: "the meridional mass Courant number {v:.4g} needs more sub-steps than &transport_nml "
       "max_meridional_subcycles; reduce dt or raise max_meridional_subcycles",
    4: "the mass fluxes leave a non-positive air mass ({v:.4g} kg); the mass fluxes are inconsistent "
       "with the air mass or dt is too long",
    5: "the air mass is not positive ({v:.4g} kg)",
    7: "out of memory for the advection work arrays",
}
_V_ERRORS = {
    4: "the vertical mass fluxes leave a non-positive air mass ({v:.4g} kg); reduce &time_control dt",
    5: "the air mass is not positive ({v:.4g} kg)",
    6: "the vertical mass flux ({v:.4g} kg per step) takes more air than the column holds",
    7: "out of memory for the advection work arrays",
}


_WORKSPACES: dict = {}
_FFSL = None


def kernels():
    """The advection kernel module for :func:`esm.cpu.isa_level`: the AVX-512 build, the AVX2 build or the
    baseline build (all three give bit-identical results; the wider ones are faster). ``ESM_NO_AVX512=1`` skips
    the AVX-512 build and ``ESM_NO_AVX2=1`` both vector builds."""
    global _FFSL
    if _FFSL is None:
        import importlib

        level = cpu.isa_level()
        candidates = [("esm._kernels.ffsl_avx512", "built_for_avx512")] if level >= cpu.AVX512 else []
        if level >= cpu.AVX2:
            candidates.append(("esm._kernels.ffsl_avx2", "built_for_avx2"))
        for name, built in candidates:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            if getattr(mod, built)():
                _FFSL = mod
                break
        if _FFSL is None:
            _FFSL = importlib.import_module("esm._kernels.ffsl")
    return _FFSL


def _workspace(kind: str, sizes: tuple[int, int], nthreads: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-thread kernel workspace, kept between steps (fresh pages cost a kernel page fault
    and zeroing each time); one row per thread the call may use."""
    key = (kind, sizes, nthreads)
    ws = _WORKSPACES.get(key)
    if ws is None:
        for k in [k for k in _WORKSPACES if k[0] == kind]:
            del _WORKSPACES[k]
        ws = (np.empty((nthreads, sizes[0])), np.empty((nthreads, sizes[1]), dtype=np.int32))
        _WORKSPACES[key] = ws
    return ws


def _cell(grid: Grid, k: int, j: int, i: int) -> str:
    lat = f"lat {grid.lat[j]:.2f}" if 0 <= j < grid.nlat else f"row {j}"
    if i < 0:
        where = "polar cap" if j in (0, grid.nlat - 1) else "row"
        return f"level {k}, {where} {lat}"
    return f"level {k}, {lat}, lon {grid.lon[i]:.2f}"


def horizontal(m: np.ndarray, q: np.ndarray, fx: np.ndarray, fy: np.ndarray, scheme: int,
               max_subcycles: int, grid: Grid, when: str = "", order: int = 0, scale: float = 1.0) -> np.ndarray:
    """Horizontal FFSL step in place; returns the meridional sub-steps used per level.

    ``fx * scale`` (nlev, nlat, nlon) and ``fy * scale`` (nlev, nlat+1, nlon) are the air
    masses [kg] moved through the west and south faces during the step (``scale`` = dt
    for mass fluxes in kg s-1).
    """
    ffsl = kernels()
    nlev = m.shape[0]
    status = np.zeros((nlev, 3), dtype=np.int32)
    value = np.zeros(nlev)
    nsub = np.zeros(nlev, dtype=np.int32)
    nthreads = kernel_threads(m.size * q.shape[0])
    work, iwork = _workspace("h", tuple(ffsl.hwork_size(m.shape[1], m.shape[2], q.shape[0], int(order), int(scheme))),
                             nthreads)
    ffsl.hadvect(m, q, fx, fy, float(scale), int(scheme), int(max_subcycles), int(order), status, value, nsub,
                 work, iwork)
    bad = np.flatnonzero(status[:, 0])
    if bad.size:
        k = int(bad[0])
        code, j, i = (int(x) for x in status[k])
        raise ModelStateError(f"{when}: horizontal advection at {_cell(grid, k, j, i)}: "
                              + _H_ERRORS.get(code, f"error {code}").format(v=value[k]))
    return nsub


def _raise_vertical(status: np.ndarray, value: np.ndarray, grid: Grid | None, when: str, caps: bool = False):
    bad = np.flatnonzero(status[:, 0])
    if bad.size:
        j = int(bad[0])
        code, k, i = (int(x) for x in status[j])
        where = f"level {k}, polar cap {'SN'[i]}" if caps else _cell(grid, k, j, i)
        raise ModelStateError(f"{when}: vertical advection at {where}: "
                              + _V_ERRORS.get(code, f"error {code}").format(v=value[j]))


def vertical(m: np.ndarray, q: np.ndarray, fx: np.ndarray, fy: np.ndarray, scale: float, cp: "ColumnPressure",
             vcoord: VerticalCoordinate, grid: Grid, scheme: int, with_convergence: bool, when: str = "") -> None:
    """Vertical FFSL step in place on the rows between the polar caps.

    The upward air mass through each interface is built column by column inside the kernel
    from the hybrid coefficients and the end-of-step surface pressure ``cp.ps`` (TM5
    construction, module docstring); ``with_convergence`` when the sweep comes before the
    horizontal one (the horizontal convergence of ``fx``/``fy`` is then added).
    """
    ffsl = kernels()
    nrow = m.shape[1]
    status = np.zeros((nrow, 3), dtype=np.int32)
    value = np.zeros(nrow)
    nthreads = kernel_threads(m.size * q.shape[0])
    work, iwork = _workspace("v" + str(m.shape), tuple(ffsl.vwork_size(m.shape[0], m.shape[2], int(scheme))),
                             nthreads)
    ffsl.vadvect(m, q, fx, fy, float(scale), cp.ps, cp.dap, cp.dbp, cp.area, G0, bool(with_convergence), int(scheme),
                 1, nrow - 1, status, value, work, iwork)
    _raise_vertical(status, value, grid, when)


class ColumnPressure:
    """End-of-step surface pressure implied by the air mass and the horizontal mass-flux
    convergence (TM5 construction, module docstring), from one pass over the fluxes.

    Attributes: ``ps`` (nlat, nlon) [Pa]; ``ps_air`` (nlat, nlon) [Pa]: the surface pressure of the
    air mass ``m`` itself, ``Atmosphere.surface_pressure()`` to the bit (the same column sums, taken
    in the same pass over m); for the polar caps (rows 0 and nlat-1 summed over
    longitude, one column each): ``mc_cap`` (nlev, 2) air plus convergence, ``target_cap``
    (nlev, 2) end-of-step air and ``w_cap`` (nlev+1, 1, 2) upward air through the interfaces;
    ``nonfinite``: how many flux values are NaN or infinite.
    """

    def __init__(self, m: np.ndarray, fx: np.ndarray, fy: np.ndarray, scale: float,
                 vcoord: VerticalCoordinate, grid: Grid):
        ffsl = kernels()
        nlev = m.shape[0]
        self.dap = np.ascontiguousarray(vcoord.dap, dtype=np.float64)
        self.dbp = np.ascontiguousarray(vcoord.dbp, dtype=np.float64)
        self.area = np.ascontiguousarray(grid.area, dtype=np.float64)
        self.ps = np.empty(m.shape[1:])
        self.mc_cap = np.empty((nlev, 2))
        self.target_cap = np.empty((nlev, 2))
        nonfinite = np.zeros(m.shape[1], dtype=np.int64)
        msum = np.empty(m.shape[1:])
        ffsl.column_pressure(m, fx, fy, float(scale), self.dap, self.dbp, self.area, vcoord.ptop, G0,
                             self.ps, self.mc_cap, self.target_cap, nonfinite, msum, kernel_threads(m.size))
        self.ps_air = vcoord.ptop + msum * G0 / self.area
        self.nonfinite = int(nonfinite.sum())
        self.w_cap = np.zeros((nlev + 1, 1, 2))
        np.cumsum(self.mc_cap - self.target_cap, axis=0, out=self.w_cap[1:, 0, :])
        self.w_cap[nlev] = 0.0

    def check_surface_pressure(self, ps_end: np.ndarray, tolerance: float, grid: Grid, when: str) -> float:
        """Largest |p_s* - ps_end| [Pa]; InputDataError above ``tolerance``."""
        diff = np.abs(self.ps - ps_end)
        worst = float(diff.max())
        if not worst <= tolerance:
            j, i = np.unravel_index(int(np.argmax(diff)), diff.shape)
            raise InputDataError(
                f"{when}: mass fluxes and surface pressure disagree at lat {grid.lat[j]:.2f}, lon {grid.lon[i]:.2f}: "
                f"the convergence of the mass fluxes gives p_s = {self.ps[j, i]:.6f} Pa but the meteorology's "
                f"ps_end is {ps_end[j, i]:.6f} Pa (difference {worst:.3g} Pa > &transport_nml ps_tolerance = "
                f"{tolerance:g} Pa); the meteorology's pressure fixer must make them consistent")
        return worst


def _cap_columns(m: np.ndarray, q: np.ndarray, cp: ColumnPressure, scheme: int, when: str) -> None:
    """Vertical step of the two polar caps, each one column of the cap-summed air.

    Leaves the cap rows' mixing ratio uniform per level (the cap mean); cap air masses are
    set by the caller.
    """
    ffsl = kernels()
    nlat = m.shape[1]
    caps = [0, nlat - 1]
    mc = np.ascontiguousarray(m[:, caps, :].sum(axis=-1)[:, None, :])          # (nlev, 1, 2)
    rm = (q[:, :, caps, :] * m[None, :, caps, :]).sum(axis=-1)                 # (ntr, nlev, 2)
    qc = np.ascontiguousarray((rm / mc[None, :, 0, :])[:, :, None, :])         # (ntr, nlev, 1, 2)
    nd, ni = ffsl.vwork_size(m.shape[0], 2, int(scheme))
    work, iwork = _workspace("vcap", (nd + 16, ni), 1)
    status = np.zeros((1, 3), dtype=np.int32)
    value = np.zeros(1)
    ffsl.vadvect_columns(mc, qc, cp.w_cap, int(scheme), status, value, work, iwork)
    _raise_vertical(status, value, None, when, caps=True)
    q[:, :, caps, :] = qc[:, :, 0, :, None]


def advect(m: np.ndarray, q: np.ndarray, fx: np.ndarray, fy: np.ndarray, vcoord: VerticalCoordinate,
           grid: Grid, scheme: int, max_subcycles: int, vertical_first: bool, order: int = 0,
           ps_end: np.ndarray | None = None, ps_tolerance: float = np.inf, when: str = "",
           scale: float = 1.0, check_fluxes: bool = True, cp: ColumnPressure | None = None) -> dict:
    """One 3-D advection step in place: horizontal (H) and vertical (Z) sweeps.

    ``vertical_first`` selects Z then H instead of H then Z, ``order`` the horizontal
    ordering (0: Lin & Rood average of XY and YX, 1: X then Y, 2: Y then X); the caller
    alternates them from step to step (X Y Z | Z Y X, the symmetric pattern of TM5).
    Air masses end at the hybrid-coordinate targets of the end-of-step surface pressure
    (to round-off; exactly in the polar caps, whose per-cell masses are bookkeeping).
    ``check_fluxes``: stop with an error naming the cell when a flux is NaN or infinite
    (counted in the same pass that sums the convergence). ``cp``: the ``ColumnPressure`` of these
    m, fx, fy, scale if the caller has it already (``Transport.step`` builds it before the column
    processes, which do not change m). Returns diagnostics.
    """
    from esm.transport.checks import check_array

    nlat = grid.nlat
    if nlat < 3:
        raise ValueError(f"{when}: advection needs at least 3 latitude rows (two polar caps and one row "
                         f"between them); the grid has {nlat}")
    caps = [0, nlat - 1]
    if cp is None:
        cp = ColumnPressure(m, fx, fy, scale, vcoord, grid)
    if check_fluxes and cp.nonfinite:
        # locate and name the first bad value (raises)
        check_array(fx, "mfx", fx.shape, grid, when, what="mass flux")
        check_array(fy, "mfy", fy.shape, grid, when, what="mass flux")
    ps_diff = cp.check_surface_pressure(ps_end, ps_tolerance, grid, when) if ps_end is not None else float("nan")
    if vertical_first:
        vertical(m, q, fx, fy, scale, cp, vcoord, grid, scheme, True, when)
        _cap_columns(m, q, cp, scheme, when)
        # caps: their air before the horizontal sweep is the target minus the convergence
        conv_caps = _cap_convergence(fx, fy, scale, caps)
        m[:, caps, :] = _cap_target_cells(cp, grid, caps) - conv_caps
        nsub = horizontal(m, q, fx, fy, scheme, max_subcycles, grid, when, order, scale)
        m[:, caps, :] = _cap_target_cells(cp, grid, caps)
    else:
        nsub = horizontal(m, q, fx, fy, scheme, max_subcycles, grid, when, order, scale)
        vertical(m, q, fx, fy, scale, cp, vcoord, grid, scheme, False, when)
        _cap_columns(m, q, cp, scheme, when)
        m[:, caps, :] = _cap_target_cells(cp, grid, caps)
    return {"ps_mismatch_max": ps_diff, "meridional_subcycles_max": int(nsub.max()),
            "ps_end_model": cp.ps}


def _cap_target_cells(cp: ColumnPressure, grid: Grid, caps: list[int]) -> np.ndarray:
    """End-of-step air of every cell of the cap rows, (nlev, 2, nlon)."""
    ps = cp.ps[caps, :]
    return (cp.dap[:, None, None] + cp.dbp[:, None, None] * ps[None]) * (cp.area[caps, :] / G0)[None]


def _cap_convergence(fx: np.ndarray, fy: np.ndarray, scale: float, caps: list[int]) -> np.ndarray:
    """Horizontal convergence of the cap rows' cells [kg per step], (nlev, 2, nlon)."""
    fxc = fx[:, caps, :]
    return ((fxc * scale - np.roll(fxc, -1, axis=-1) * scale)
            + (fy[:, caps, :] * scale - fy[:, [c + 1 for c in caps], :] * scale))
