"""The ocean carbon component: air-sea CO2 exchange from a mixed-layer carbon model.

Reads from the meteorology ``sst`` [K], ``sss``, ``seaice`` [1], ``wind10`` [m s-1], ``ps`` [Pa] and
the static ``land_fraction``; from the atmosphere the lowest-layer CO2 dry-air mole fraction. Returns
the air-sea CO2 flux [mol m-2 s-1, positive upward] per unit area of the whole cell (the flux per
sea area times the ocean fraction) for ``co2`` and, when carried, the tagged ``co2_ocean``.
Process equations: :mod:`esm.ocean.model`, :mod:`esm.ocean.gas_exchange`, :mod:`esm.ocean.carbonate`.

Cold start (``initialise``): the natural state is spun up under one climatological year of the
meteorology (``spinup_years``); with ``init_mode = 'historical'`` the model is then run offline from
``init_start_year`` to the start of the run under the RCMIP CO2 history (:mod:`esm.ocean.offline`), so
that a present-day start carries the anthropogenic carbon the ocean has already taken up.
"""
from __future__ import annotations

import logging

import numpy as np

from esm.component import Component, Variable
from esm.errors import ModelStateError, RestartError
from esm.ocean import offline
from esm.ocean.model import MixedLayerCarbon, SurfaceForcing

log = logging.getLogger(__name__)

_SEA = "defined on sea cells only (_FillValue where sea_area_fraction is 0)"


class OceanCarbon(Component):
    """Ocean carbon uptake: carbonate chemistry, Wanninkhof (2014) exchange, Joos (1996) deep-ocean response."""

    name = "ocean"
    #: the coupler builds the meteorology provider when a component asks for it
    needs_met = True
    variables = (
        Variable("spco2", ("lat", "lon"), "Pa", "surface partial pressure of CO2 in sea water",
                 "surface_partial_pressure_of_carbon_dioxide_in_sea_water", _SEA, masked=True),
        Variable("ph", ("lat", "lon"), "1", "surface pH on the total scale", "sea_water_ph_reported_on_total_scale",
                 _SEA, masked=True),
        Variable("dissic", ("lat", "lon"), "mol m-3", "mixed-layer dissolved inorganic carbon",
                 "mole_concentration_of_dissolved_inorganic_carbon_in_sea_water", _SEA, masked=True),
        Variable("talk", ("lat", "lon"), "mol m-3", "mixed-layer total alkalinity (Lee et al. 2006)",
                 "sea_water_alkalinity_expressed_as_mole_equivalent", _SEA, masked=True),
        Variable("tos", ("lat", "lon"), "K", "sea surface temperature used by the carbonate chemistry (clipped "
                 "to the constants' range)", "sea_surface_temperature", _SEA, masked=True),
        Variable("sos", ("lat", "lon"), "1e-3", "sea surface salinity used by the carbonate chemistry",
                 "sea_surface_salinity", _SEA, masked=True),
        Variable("revelle", ("lat", "lon"), "1", "Revelle factor (d ln pCO2 / d ln DIC at constant alkalinity)",
                 "", _SEA, masked=True),
        Variable("fgco2", ("lat", "lon"), "kg m-2 s-1", "downward air-sea CO2 flux as carbon per sea area (CMIP fgco2)",
                 "surface_downward_mass_flux_of_carbon_dioxide_expressed_as_carbon", _SEA, masked=True),
        Variable("co2_flux_ocean", ("lat", "lon"), "mol m-2 s-1", "upward air-sea CO2 flux per cell area",
                 "surface_upward_mole_flux_of_carbon_dioxide", "0 over land"),
        Variable("sea_area_fraction", ("lat", "lon"), "1", "ocean fraction of the cell used by the ocean component",
                 "sea_area_fraction"),
    )

    def __init__(self, config, grid, vcoord, tracers, clock):
        super().__init__(config, grid, vcoord, tracers, clock)
        self.p = dict(config.ocean_nml)
        self.interval = int(self.p["interval"])
        if "co2" not in tracers:
            raise ValueError(f"the ocean component needs the tracer 'co2' (tracers: {', '.join(tracers.names)})")
        self.i_co2 = tracers.index("co2")
        self.model: MixedLayerCarbon | None = None
        self.cells: offline.OceanCells | None = None
        self._diag: dict[str, np.ndarray] = {}

    # ---- set-up ------------------------------------------------------------------------------------------------
    def _build(self, land_fraction) -> None:
        self.cells = offline.ocean_cells(self.grid, land_fraction, self.p["min_ocean_fraction"])
        self.model = MixedLayerCarbon(self.p, self.cells.lat, self.cells.lon, self.cells.area)
        # until the first update the diagnostics are zero (output files never see NaN)
        self._diag = {v.name: np.full(self.grid.shape, np.nan if v.masked else 0.0) for v in self.variables}
        self._diag["sea_area_fraction"] = self.cells.ocean_fraction.copy()

    def _provider(self):
        if self.met_provider is not None:
            return self.met_provider
        try:
            from esm.meteorology import make_provider
            return make_provider(self.config, self.grid, self.vcoord)
        except (ImportError, AttributeError, KeyError) as exc:  # meteorology not configured
            log.warning("ocean: no meteorology provider for the spin-up (%s); using the start-time state only", exc)
            return None

    def initialise(self, time, met) -> None:
        if met is None:
            raise ModelStateError("the ocean component needs meteorology (sst, sss, seaice, wind10, ps, "
                                  "land_fraction) but the coupler passed none")
        self._build(met.land_fraction)
        provider = self._provider() if self.p["spinup_years"] > 0 else None
        if provider is not None:
            forcings = offline.monthly_forcing(provider, self.cells, year=time.year, calendar=time.calendar)
        else:
            forcings = [offline.forcing_from_met(met, self.cells)]
        nat = offline.spin_up(self.model, forcings, self.p["spinup_years"] if len(forcings) == 12 else 0,
                              self.p["natural_flux_target"])
        log.info("ocean: pre-industrial spin-up, global natural flux %.3f PgC/yr, preformed DIC %.1f umol/kg",
                 nat, self.model.c_pre * 1e6)
        if self.p["init_mode"] == "historical" and time.year > self.p["init_start_year"]:
            if len(forcings) != 12:
                forcings = forcings * 12
            res = offline.run(self.model, forcings, self.p["init_start_year"], time.year - 1, self.p["init_scenario"])
            log.info("ocean: offline %d-%d under %s CO2, cumulative uptake %.1f PgC, last-year sink %.2f PgC/yr",
                     self.p["init_start_year"], time.year - 1, self.p["init_scenario"], res.cumulative_pgc[-1],
                     res.sink_pgc[-1])

    # ---- stepping ----------------------------------------------------------------------------------------------
    def surface_flux(self, time, dt, atmosphere, met):
        if self.model is None:
            raise ModelStateError("ocean component stepped before initialise() or load_restart_state()")
        lf = np.asarray(met.land_fraction)
        if not np.allclose(1.0 - lf[self.cells.mask], self.cells.ocean_fraction[self.cells.mask], atol=1e-9):
            raise ModelStateError("ocean: the meteorology's land_fraction differs from the one the ocean state was "
                                  "built on (restart from another land mask?)")
        xco2 = np.asarray(atmosphere.q[self.i_co2, 0])[self.cells.mask]
        f = offline.forcing_from_met(met, self.cells, xco2)
        out = self.model.step(float(dt), f, where=f"ocean carbon at {time}")
        flux = self._to_grid(out["flux"] * self.cells.ocean_fraction[self.cells.mask], fill=0.0)
        self._store(out, flux)
        result = {"co2": flux}
        if "co2_ocean" in self.tracers:
            result["co2_ocean"] = flux.copy()
        return result

    def _to_grid(self, values, fill=0.0):
        a = np.full(self.grid.shape, fill)
        a[self.cells.mask] = values
        return a

    def _store(self, out, flux_cell):
        rho = self.model.rho
        sea = np.nan  # masked variables: _FillValue over land in the files
        self._diag = {
            "spco2": self._to_grid(out["pco2"] * 101325.0, sea),
            "ph": self._to_grid(out["ph"], sea),
            "dissic": self._to_grid(out["dic"] * rho, sea),
            "talk": self._to_grid(out["talk"] * rho, sea),
            "tos": self._to_grid(out["sst"], sea),
            "sos": self._to_grid(out["sss"], sea),
            "revelle": self._to_grid(out["revelle"], sea),
            "fgco2": self._to_grid(-out["flux"] * 12.0107e-3, sea),
            "co2_flux_ocean": flux_cell,
            "sea_area_fraction": self.cells.ocean_fraction.copy(),
        }

    def diagnostics(self):
        return dict(self._diag)

    # ---- restart -------------------------------------------------------------------------------------------------
    def restart_state(self):
        if self.model is None:
            return {}
        m = self.cells.mask
        st = self.model.state()
        out = {"ocean_fraction": self.cells.ocean_fraction.copy(), "ocean_c_pre": st["c_pre"]}
        for k in ("dic_nat", "ph", "ph_nat", "uptake"):
            out[f"ocean_{k}"] = self._to_grid(st[k], fill=0.0)
        modes = np.zeros((st["modes"].shape[0],) + self.grid.shape)
        modes[:, m] = st["modes"]
        out["ocean_modes"] = modes
        return out

    def load_restart_state(self, state):
        need = ("ocean_fraction", "ocean_c_pre", "ocean_dic_nat", "ocean_ph", "ocean_ph_nat", "ocean_uptake",
                "ocean_modes")
        missing = [k for k in need if k not in state]
        if missing:
            raise RestartError(f"ocean restart state lacks {', '.join(missing)}")
        ofr = np.asarray(state["ocean_fraction"], dtype=float)
        if ofr.shape != self.grid.shape:
            raise RestartError(f"ocean restart: ocean_fraction has shape {ofr.shape}, grid is {self.grid.shape}")
        self._build(1.0 - ofr)
        m = self.cells.mask
        modes = np.asarray(state["ocean_modes"], dtype=float)
        if modes.shape != (self.model.modes.shape[0],) + self.grid.shape:
            raise RestartError(f"ocean restart: ocean_modes has shape {modes.shape}, expected "
                               f"{(self.model.modes.shape[0],) + self.grid.shape}")
        try:
            self.model.load_state({"dic_nat": np.asarray(state["ocean_dic_nat"])[m], "modes": modes[:, m],
                                   "ph": np.asarray(state["ocean_ph"])[m], "ph_nat": np.asarray(state["ocean_ph_nat"])[m],
                                   "uptake": np.asarray(state["ocean_uptake"])[m],
                                   "c_pre": np.asarray(state["ocean_c_pre"]).reshape(-1)})
        except (ValueError, IndexError) as exc:
            raise RestartError(f"ocean restart: {exc}") from None

    def summary(self) -> str:
        n = 0 if self.cells is None else int(self.cells.mask.sum())
        return (f"ocean: carbonate chemistry + Wanninkhof 2014 exchange + Joos 1996 response on {n} ocean cells, "
                f"update every {self.interval} s")


__all__ = ["OceanCarbon", "SurfaceForcing"]
