"""The prognostic atmosphere: dry-air mass and tracer mole fractions in every cell.

Air mass ``m`` [kg] and tracer mole fraction ``q`` [mol mol-1] are the state; the tracer
amount in a cell is ``n = q m / M_AIR`` [mol]. Sources and sinks change ``n`` and are
booked in a :class:`Budget` so that the run can report initial + sources - sinks - final
to round-off. Transport (``esm.transport``) moves air and tracer with the same mass
fluxes and keeps this state.

Array layout (C order): air mass ``(nlev, nlat, nlon)``, tracers ``(ntracer, nlev, nlat, nlon)``;
level 0 is the lowest layer.
"""
from __future__ import annotations

import numpy as np

from esm.constants import G0, M_AIR
from esm.errors import ModelStateError
from esm.grid import Grid
from esm.tracers import TracerSet
from esm.vertical import VerticalCoordinate


class Budget:
    """Running tracer budget [mol per tracer], summed in a fixed order (deterministic)."""

    def __init__(self, ntracer: int):
        self.initial = np.zeros(ntracer)
        self.sources = np.zeros(ntracer)  # upward (positive) surface fluxes
        self.sinks = np.zeros(ntracer)  # downward surface fluxes and chemical loss, as positive numbers
        self.chemical_loss = np.zeros(ntracer)

    def state(self) -> dict[str, np.ndarray]:
        return {"budget_initial": self.initial.copy(), "budget_sources": self.sources.copy(),
                "budget_sinks": self.sinks.copy(), "budget_chemical_loss": self.chemical_loss.copy()}

    def load(self, state: dict[str, np.ndarray]) -> None:
        self.initial[:] = state["budget_initial"]
        self.sources[:] = state["budget_sources"]
        self.sinks[:] = state["budget_sinks"]
        self.chemical_loss[:] = state["budget_chemical_loss"]


class Atmosphere:
    """Air mass and tracer mole fractions on the model grid."""

    def __init__(self, grid: Grid, vcoord: VerticalCoordinate, tracers: TracerSet,
                 air_mass: np.ndarray, q: np.ndarray):
        self.grid = grid
        self.vcoord = vcoord
        self.tracers = tracers
        shape3 = (vcoord.nlev, grid.nlat, grid.nlon)
        if air_mass.shape != shape3:
            raise ValueError(f"air_mass has shape {air_mass.shape}; expected (nlev, nlat, nlon) = {shape3}")
        if q.shape != (len(tracers),) + shape3:
            raise ValueError(f"tracer array has shape {q.shape}; expected (ntracer, nlev, nlat, nlon) = "
                             f"{(len(tracers),) + shape3}")
        self.air_mass = np.ascontiguousarray(air_mass, dtype=np.float64)
        self.q = np.ascontiguousarray(q, dtype=np.float64)
        self.budget = Budget(len(tracers))
        self.budget.initial[:] = self.total_moles()

    @classmethod
    def from_surface_pressure(cls, grid, vcoord, tracers, ps: np.ndarray, q: np.ndarray) -> "Atmosphere":
        return cls(grid, vcoord, tracers, vcoord.air_mass(ps, grid.area), q)

    # ---- derived quantities -------------------------------------------------------------
    @property
    def shape3(self) -> tuple[int, int, int]:
        return self.air_mass.shape

    def surface_pressure(self) -> np.ndarray:
        """Surface pressure [Pa] implied by the column air mass."""
        return self.vcoord.ptop + self.air_mass.sum(axis=0) * G0 / self.grid.area

    def moles(self, i: int) -> np.ndarray:
        """Tracer amount per cell [mol] of tracer ``i``."""
        return self.q[i] * self.air_mass / M_AIR

    def total_moles(self) -> np.ndarray:
        """Global tracer amount [mol] per tracer, summed level by level, row by row (fixed order)."""
        return np.array([float(np.sum(self.q[i] * self.air_mass)) / M_AIR for i in range(len(self.tracers))])

    def total_air_mass(self) -> float:
        return float(np.sum(self.air_mass))

    # ---- sources and sinks --------------------------------------------------------------
    def add_surface_flux(self, flux: np.ndarray, dt: float, weights: np.ndarray | None = None) -> None:
        """Add surface fluxes ``flux`` [mol m-2 s-1, positive up], shape (ntracer, nlat, nlon), over ``dt`` s.

        With ``weights`` (shape (nlev, nlat, nlon), columns summing to 1) the flux is spread over
        the layers (e.g. the boundary layer); otherwise it all enters the lowest layer.
        """
        nt = len(self.tracers)
        if flux.shape != (nt, self.grid.nlat, self.grid.nlon):
            raise ValueError(f"surface flux has shape {flux.shape}; expected (ntracer, nlat, nlon) = "
                             f"{(nt, self.grid.nlat, self.grid.nlon)}")
        dn = flux * (self.grid.area * dt)  # mol per column
        self.budget.sources += np.array([float(np.sum(np.where(d > 0, d, 0.0))) for d in dn])
        self.budget.sinks -= np.array([float(np.sum(np.where(d < 0, d, 0.0))) for d in dn])
        if weights is None:
            self.q[:, 0] += dn * (M_AIR / self.air_mass[0])
        else:
            self.q += dn[:, None] * weights[None] * (M_AIR / self.air_mass)[None]

    def apply_loss(self, rate: np.ndarray, dt: float, index: int) -> float:
        """First-order loss of tracer ``index`` with rate [s-1] (shape (nlev, nlat, nlon)) over ``dt``.

        Uses the exact solution ``q <- q exp(-k dt)``; returns the moles removed.
        """
        if rate.shape != self.shape3:
            raise ValueError(f"loss rate has shape {rate.shape}; expected {self.shape3}")
        if np.any(rate < 0) or not np.all(np.isfinite(rate)):
            raise ValueError(f"loss rate for tracer {self.tracers.names[index]!r} must be finite and >= 0")
        before = self.q[index] * self.air_mass
        self.q[index] *= np.exp(-rate * dt)
        lost = float(np.sum(before - self.q[index] * self.air_mass)) / M_AIR
        self.budget.sinks[index] += lost
        self.budget.chemical_loss[index] += lost
        return lost

    # ---- checks ------------------------------------------------------------------------
    def check(self, when: str) -> None:
        """Raise ModelStateError naming the field, ``when`` and the first bad cell."""
        bad = ~np.isfinite(self.air_mass) | (self.air_mass <= 0)
        if bad.any():
            k, j, i = np.argwhere(bad)[0]
            raise ModelStateError(f"{when}: air mass is {float(self.air_mass[k, j, i])!r} kg at level {k}, "
                                  f"lat {self.grid.lat[j]:.2f}, lon {self.grid.lon[i]:.2f}")
        for t, name in enumerate(self.tracers.names):
            badq = ~np.isfinite(self.q[t])
            if badq.any():
                k, j, i = np.argwhere(badq)[0]
                raise ModelStateError(f"{when}: tracer {name!r} mole fraction is {float(self.q[t, k, j, i])!r} at "
                                      f"level {k}, lat {self.grid.lat[j]:.2f}, lon {self.grid.lon[i]:.2f}")
