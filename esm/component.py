"""The contract every surface-flux or chemistry process implements.

A component is built from the resolved Config and the model geometry, owns its state,
and is stepped by the coupler every ``interval`` seconds (a whole number of model steps;
between updates the coupler reuses the cached fluxes, the climlab pattern). Units:
fluxes in mol m-2 s-1 of the tracer, positive upward (into the atmosphere), on the model
grid (nlat, nlon), per unit area of the whole grid cell.

Lifecycle, driven by :class:`esm.coupler.Model`::

    c = Component(config, grid, vcoord, tracers, clock)
    c.met_provider = provider               # set by the coupler when the run has meteorology
    c.initialise(time, met)                 # cold start (spin-up, initial pools; may sample
                                            # c.met_provider.at(...) over a climatological year)
      or c.load_restart_state(state)        # warm start, bit for bit
    every interval:
        fluxes = c.surface_flux(time, dt, atmosphere, met)   # {tracer: (nlat, nlon)}
        rates = c.loss_rates(time, dt, atmosphere, met)      # {tracer: (nlev, nlat, nlon) s-1}
        c.diagnostics()                                      # {variable: array} for output
    c.restart_state()                       # {name: ndarray}, everything needed to continue
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from esm.clock import Clock
from esm.config.schema import Config
from esm.grid import Grid
from esm.tracers import TracerSet
from esm.vertical import VerticalCoordinate


@dataclass(frozen=True)
class Variable:
    """Metadata of an output variable (the CTDAS pattern: one registry of names and attributes).

    ``dims`` are among ``('lev', 'lat', 'lon')`` or component-specific leading dims declared in
    ``extra_dims`` (name -> coordinate values), e.g. ``('pft', 'lat', 'lon')``.
    """

    name: str
    dims: tuple[str, ...]
    units: str
    long_name: str
    standard_name: str = ""
    comment: str = ""
    cell_methods_mean: str = "time: mean"  # used when a stream averages the variable
    #: NaN marks cells where the variable is undefined (e.g. sea-only fields over land); the writer stores
    #: them as _FillValue. NaN in an unmasked variable, or infinity anywhere, stops the run.
    masked: bool = False


class Component:
    """Base class; subclasses set ``name``, ``variables`` and implement the hooks they need."""

    #: name used in ``&coupler_nml components``
    name: ClassVar[str] = ""
    #: output variables this component can provide through ``diagnostics()``
    variables: ClassVar[tuple[Variable, ...]] = ()
    #: extra output dimensions: name -> (coordinate values, attributes)
    extra_dims: ClassVar[dict] = {}
    #: whether the component reads meteorology (the coupler then builds a provider)
    needs_met: ClassVar[bool] = False

    def __init__(self, config: Config, grid: Grid, vcoord: VerticalCoordinate, tracers: TracerSet,
                 clock: Clock):
        self.config = config
        self.grid = grid
        self.vcoord = vcoord
        self.tracers = tracers
        self.clock = clock
        self.interval = clock.dt  # seconds between updates; subclasses may set a multiple of dt
        #: the run's meteorology provider (esm.meteorology.MetProvider), set by the coupler before
        #: initialise() when the run has meteorology; components that need a year of forcing for a
        #: spin-up sample it instead of building their own
        self.met_provider = None

    # ---- lifecycle -----------------------------------------------------------------
    def initialise(self, time, met) -> None:
        """Cold start at ``time``."""

    def surface_flux(self, time, dt: float, atmosphere, met) -> dict[str, np.ndarray]:
        """Fluxes valid for ``[time, time + dt]`` [mol m-2 s-1, positive up], per tracer name."""
        return {}

    def loss_rates(self, time, dt: float, atmosphere, met) -> dict[str, np.ndarray]:
        """First-order loss rates [s-1] per tracer name, shape (nlev, nlat, nlon)."""
        return {}

    def diagnostics(self) -> dict[str, np.ndarray]:
        """Current values of the declared output variables (from the last update)."""
        return {}

    def restart_state(self) -> dict[str, np.ndarray]:
        """Every array needed to continue bit for bit."""
        return {}

    def load_restart_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore from ``restart_state()`` output; raise ValueError naming a missing/misshapen field."""

    def summary(self) -> str:
        """One line for the run log."""
        return f"{self.name}: update every {self.interval} s"
