"""Boundary-layer vertical diffusion (Holtslag & Boville 1993 K profile, backward Euler), with HB93's
counter-gradient (non-local) transport of the step's surface fluxes in convective boundary layers.

The formulation and its discretisation are documented in ``cython_kernels/vdiff.pyx``;
this module gathers the meteorological fields, checks them and calls the kernel.
"""
from __future__ import annotations

import numpy as np

from esm.transport.checks import met_field
from esm.transport.threads import kernel_threads

PROCESS = "vertical_diffusion"


class VerticalDiffusion:
    """K-profile boundary-layer mixing of every tracer; air masses do not change."""

    def __init__(self, params, grid, vcoord):
        self.p = params
        self.grid = grid
        self.vcoord = vcoord
        self.kz = None  # last eddy diffusivity at the interfaces [m2 s-1], for diagnostics

    def fields(self, met, when: str) -> dict[str, np.ndarray]:
        g = self.grid
        s2 = g.shape
        s3 = (self.vcoord.nlev,) + s2
        sc = self.p.check_inputs
        return {
            "t": met_field(met, "t", s3, g, when, PROCESS, vmin=0.0, vmin_strict=True, scan=sc),
            "pblh": met_field(met, "pblh", s2, g, when, PROCESS, vmin=0.0, scan=sc),
            "ustar": met_field(met, "ustar", s2, g, when, PROCESS, vmin=0.0, scan=sc),
            "shflx": met_field(met, "shflx", s2, g, when, PROCESS, scan=sc),
            "t2m": met_field(met, "t2m", s2, g, when, PROCESS, vmin=0.0, vmin_strict=True, scan=sc),
        }

    def apply(self, atm, met, dt: float, when: str, ps: np.ndarray | None = None,
              surface_flux: np.ndarray | None = None) -> None:
        """Mix every tracer over ``dt`` s. ``ps``: ``atm.surface_pressure()`` if the caller has it
        (``Transport.step`` takes it from the advection's column pressure), else computed here.
        ``surface_flux`` (ntracer, nlat, nlon) [mol m-2 s-1]: the fluxes just added to the lowest
        layer; given, their counter-gradient (non-local) transport of Holtslag & Boville (1993) is
        part of the step."""
        from esm._kernels import vdiff
        from esm.constants import M_AIR

        f = self.fields(met, when)
        p = self.p
        ps = column_surface_pressure(atm, self.grid, self.vcoord) if ps is None else np.ascontiguousarray(ps)
        if self.kz is None or self.kz.shape != (self.vcoord.nlev + 1,) + self.grid.shape:
            self.kz = np.zeros((self.vcoord.nlev + 1,) + self.grid.shape)
            self._kz_rows = np.zeros(self.grid.nlat, dtype=np.int32)   # interfaces of kz set per row
        vdiff.diffuse(atm.air_mass, atm.q, f["t"], ps, f["pblh"], f["ustar"], f["shflx"], f["t2m"],
                      np.ascontiguousarray(self.vcoord.ap), np.ascontiguousarray(self.vcoord.bp),
                      np.ascontiguousarray(self.grid.area), float(dt), p.von_karman, p.surface_layer_fraction,
                      p.wm_coefficient, p.prandtl_coefficient, p.stable_phi_coefficient,
                      p.unstable_phi_coefficient, p.k_background, p.ustar_min, self.kz, self._kz_rows,
                      kernel_threads(atm.q.size),
                      None if surface_flux is None else np.ascontiguousarray(surface_flux, dtype=np.float64),
                      M_AIR)


def column_surface_pressure(atm, grid, vcoord) -> np.ndarray:
    """``atm.surface_pressure()`` (the same sums in the same order, bit-identical) from a compiled,
    multi-threaded pass over the air mass instead of numpy's single-threaded reduction."""
    from esm._kernels import vdiff
    from esm.constants import G0

    ps = np.empty(grid.shape)
    vdiff.surface_pressure(atm.air_mass, np.ascontiguousarray(grid.area, dtype=np.float64), float(vcoord.ptop),
                           float(G0), ps, kernel_threads(atm.air_mass.size))
    return ps


def spread_surface_flux(atm, flux: np.ndarray, met, grid, vcoord, dt: float, when: str,
                        ps: np.ndarray | None = None) -> None:
    """Move the surface flux just added to the lowest layer (``Atmosphere.add_surface_flux``,
    which books the budget) over the boundary layer, each layer in proportion to its air
    mass below the boundary-layer height (``flux_injection = 'boundary_layer'``)."""
    from esm._kernels import vdiff
    from esm.constants import M_AIR

    s2 = grid.shape
    t = met_field(met, "t", (vcoord.nlev,) + s2, grid, when, "flux_injection = 'boundary_layer'",
                  vmin=0.0, vmin_strict=True)
    pblh = met_field(met, "pblh", s2, grid, when, "flux_injection = 'boundary_layer'", vmin=0.0)
    if ps is None:
        ps = column_surface_pressure(atm, grid, vcoord)
    vdiff.spread_surface_flux(atm.air_mass, atm.q, t, np.ascontiguousarray(ps), pblh,
                              np.ascontiguousarray(vcoord.ap), np.ascontiguousarray(vcoord.bp),
                              np.ascontiguousarray(flux, dtype=np.float64), np.ascontiguousarray(grid.area),
                              float(dt), M_AIR, kernel_threads(atm.air_mass.size))
