"""The transport step the coupler calls: sources, mixing, convection, advection, loss.

Operator splitting (first order between processes, as in GEOS-Chem and TM5; the
advection itself is second order, symmetric over pairs of steps):

1. surface fluxes enter as tracer amount (``Atmosphere.add_surface_flux``, which books the
   budget), in the lowest layer or then spread over the boundary layer in proportion to each
   layer's air below the boundary-layer height (``flux_injection``). They come first so that
   the same step's boundary-layer mixing spreads them before they are advected: turbulence
   mixes the boundary layer in minutes to an hour, faster than the step, and a flux left in
   a thin lowest layer through advection would be carried by the wrong wind;
2. boundary-layer vertical diffusion (Holtslag & Boville 1993), with the start-of-step air
   mass and the meteorology at the start of the step; in convective boundary layers it also
   carries the step's surface fluxes upward by HB93's counter-gradient term
   (``nonlocal_mixing``, with ``flux_injection = 'lowest_layer'``);
3. convective transport by the updraft mass flux, which draws from the now-mixed boundary
   layer;
4. advection by the step's mass fluxes (Lin & Rood 1996 FFSL with PPM) with vertical mass
   fluxes diagnosed from the horizontal convergence and the hybrid ``bp`` coefficients,
   so the air mass ends at the meteorology's surface pressure; the sweep order is
   X Y Z on even steps and Z Y X on odd steps (TM5's symmetric pattern), the parity taken
   from the model time (``met.time``), so restarts continue bit for bit with no state;
5. first-order loss (``Atmosphere.apply_loss``, exact exponential) with the end-of-step air.

Processes 1-3 and 5 leave the air mass unchanged; 4 moves air and tracer with the same
fluxes, so a uniform mixing ratio stays uniform to round-off and the tracer amount changes
only by the sources and sinks booked in ``Atmosphere.budget``. Because 1-3 leave the air mass
unchanged, the advection's column pressure (one pass over the air mass and the mass fluxes) is
built before them, and its column sums of the air mass give 1-2 their surface pressure
(``Atmosphere.surface_pressure()`` to the bit) without another pass.
"""
from __future__ import annotations

import logging

import cftime
import numpy as np

from esm.clock import format_time, seconds_between
from esm.errors import InputDataError
from esm.transport import advection
from esm.transport.checks import check_array
from esm.transport.config import ADVECTION_SCHEMES
from esm.transport.convection import Convection
from esm.transport.diffusion import VerticalDiffusion, spread_surface_flux

log = logging.getLogger(__name__)


class Transport:
    """Atmospheric transport on the model grid (see the module docstring for the step)."""

    def __init__(self, config, grid, vcoord, tracers):
        self.config = config
        self.p = config.transport_nml
        self.grid = grid
        self.vcoord = vcoord
        self.tracers = tracers
        self.scheme = ADVECTION_SCHEMES[self.p.advection_scheme]
        self.vdiff = VerticalDiffusion(self.p, grid, vcoord) if self.p.vertical_diffusion else None
        self.convection = Convection(self.p, grid, vcoord) if self.p.convection else None
        #: diagnostics of the last step (largest ps mismatch, meridional sub-steps, ...)
        self.last: dict = {}
        log.info(self.summary())

    # ---- the step ------------------------------------------------------------------------
    def step_parity(self, time, dt: float) -> int:
        """0 or 1: the index of the step starting at ``time`` counted from 2000-01-01 in the
        run's calendar, modulo 2 (derived from the time alone, so restarts need no state)."""
        epoch = cftime.datetime(2000, 1, 1, calendar=time.calendar)
        return (seconds_between(epoch, time) // int(round(dt))) % 2

    def step(self, atm, fluxes, met, dt: float, surface_flux: np.ndarray | None = None,
             loss_rates: dict[int, np.ndarray] | None = None) -> None:
        """Advance ``atm`` (air mass and mixing ratios, in place) by one step of ``dt`` seconds."""
        if met is None:
            raise InputDataError("transport needs the meteorology (mass fluxes and fields) but none was given")
        when = f"transport step starting {format_time(met.time)}"
        g = self.grid
        nlev = self.vcoord.nlev
        ntr = len(self.tracers)
        s2 = g.shape
        s3 = (nlev,) + s2
        if atm.air_mass.shape != s3 or atm.q.shape != (ntr,) + s3:
            raise ValueError(f"{when}: atmosphere arrays have shapes {atm.air_mass.shape}, {atm.q.shape}; "
                             f"expected {s3} and {(ntr,) + s3}")
        if not (atm.air_mass.flags.c_contiguous and atm.q.flags.c_contiguous
                and atm.air_mass.dtype == np.float64 and atm.q.dtype == np.float64):
            raise ValueError(f"{when}: atmosphere arrays must be C-contiguous float64")
        # 0. the advection's mass fluxes (shapes) and column pressure, whose column sums of the
        #    air mass serve 1-2 as their surface pressure (1-3 do not change the air mass)
        cp = mfx = mfy = None
        if self.p.advection:
            mfx, mfy = self._mass_fluxes(fluxes, dt, when)
            cp = advection.ColumnPressure(atm.air_mass, mfx, mfy, float(dt), self.vcoord, g)
        ps_air = cp.ps_air if cp is not None else None
        # 1. surface fluxes
        if surface_flux is not None:
            sf = check_array(surface_flux, "surface_flux", (ntr,) + s2, g, when, what="surface flux array",
                             lead_names=self.tracers.names, scan=self.p.check_inputs)
            atm.add_surface_flux(sf, dt)                     # books the budget; all in the lowest layer
            if self.p.flux_injection == "boundary_layer":
                spread_surface_flux(atm, sf, met, g, self.vcoord, dt, when, ps=ps_air)
        # 2. boundary-layer diffusion, 3. convection
        if self.vdiff is not None:
            nonlocal_flux = sf if (surface_flux is not None and self.p.nonlocal_mixing
                                   and self.p.flux_injection == "lowest_layer") else None
            self.vdiff.apply(atm, met, dt, when, ps=ps_air, surface_flux=nonlocal_flux)
        if self.convection is not None:
            self.convection.apply(atm, met, dt, when)
        # 4. advection
        if self.p.advection:
            self._advect(atm, fluxes, mfx, mfy, cp, met, dt, when)
        # 5. first-order loss
        if loss_rates:
            for i, rate in sorted(loss_rates.items()):
                if not 0 <= int(i) < ntr:
                    raise ValueError(f"{when}: loss rate for tracer index {i}; the run has {ntr} tracers")
                r = check_array(rate, f"loss rate of {self.tracers.names[i]}", s3, g, when, vmin=0.0,
                                what="chemistry field", scan=self.p.check_inputs)
                atm.apply_loss(r, dt, int(i))

    def _mass_fluxes(self, fluxes, dt: float, when: str) -> tuple[np.ndarray, np.ndarray]:
        """The step's mass fluxes (mfx, mfy) as C-contiguous float64, their presence, averaging
        period and shapes checked; NaN/inf are counted in the column-pressure kernel's pass."""
        g = self.grid
        nlev = self.vcoord.nlev
        if fluxes is None:
            raise InputDataError(f"{when}: advection needs mass fluxes but none were given")
        if abs(float(fluxes.dt) - float(dt)) > 1e-9 * abs(float(dt)):
            raise InputDataError(f"{when}: mass fluxes are averaged over {fluxes.dt} s but the step is {dt} s")
        mfx = check_array(fluxes.mfx, "mfx", (nlev, g.nlat, g.nlon), g, when, what="mass flux", scan=False)
        mfy = check_array(fluxes.mfy, "mfy", (nlev, g.nlat + 1, g.nlon), g, when, what="mass flux", scan=False)
        return mfx, mfy

    def _advect(self, atm, fluxes, mfx, mfy, cp, met, dt: float, when: str) -> None:
        g = self.grid
        scan = self.p.check_inputs
        pole = np.abs(mfy[:, [0, g.nlat], :])
        if pole.max() > 0.0:
            k, r, i = np.unravel_index(int(np.argmax(pole)), pole.shape)
            raise InputDataError(f"{when}: mass flux 'mfy' through the {'south' if r == 0 else 'north'} pole "
                                 f"is {mfy[k, 0 if r == 0 else g.nlat, i]!r} kg s-1 at level {k}, "
                                 f"lon {g.lon[i]:.2f}; expected 0 (rows 0 and nlat of mfy are the poles)")
        ps_end = check_array(fluxes.ps_end, "ps_end", g.shape, g, when, vmin=self.vcoord.ptop,
                             vmin_strict=True, what="surface pressure")      # always: cheap and essential
        if self.p.horizontal_splitting == "strang":
            parity = self.step_parity(met.time, dt)
            vertical_first, order = (False, 1) if parity == 0 else (True, 2)
        else:
            vertical_first, order = bool(self.step_parity(met.time, dt)), 0
        info = advection.advect(atm.air_mass, atm.q, mfx, mfy, self.vcoord, g, self.scheme,
                                self.p.max_meridional_subcycles, vertical_first, order,
                                ps_end=ps_end, ps_tolerance=self.p.ps_tolerance, when=when, scale=float(dt),
                                check_fluxes=scan, cp=cp)
        self.last = {"ps_mismatch_max": info["ps_mismatch_max"],
                     "meridional_subcycles_max": info["meridional_subcycles_max"]}

    # ---- restart -------------------------------------------------------------------------
    def restart_state(self) -> dict[str, np.ndarray]:
        """Transport keeps no state between steps (the sweep order comes from the model time)."""
        return {}

    def load_restart_state(self, state: dict[str, np.ndarray]) -> None:
        if state:
            raise ValueError(f"transport has no restart state but was given {sorted(state)}")

    def summary(self) -> str:
        p = self.p
        parts = [f"advection {p.advection_scheme if p.advection else 'off'} ({p.horizontal_splitting})",
                 f"vertical diffusion {'on' if p.vertical_diffusion else 'off'}",
                 f"convection {'on' if p.convection else 'off'}", f"fluxes into {p.flux_injection}"
                 + (" with non-local mixing" if (p.nonlocal_mixing and p.vertical_diffusion
                                                 and p.flux_injection == "lowest_layer") else "")]
        return "transport: " + ", ".join(parts)
