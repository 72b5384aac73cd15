"""The land component: hourly BEPS photosynthesis and respiration with InTEC carbon pools.

Reads from the meteorology ``t2m, tskin, tsoil, vpd, swdown, swdown_diffuse, cos_sza, soilm, ps``
(:data:`esm.land.model.MET_FIELDS`; ``tsoil_top`` too with ``decomposition_temperature = 'top_soil'``)
and CO2 for photosynthesis from the model's lowest-layer mole fraction ``atmosphere.q[tracers.index('co2'), 0]``
(or, when CO2 is not carried, the prescribed RCMIP
series of :mod:`esm.forcing_series`). Returns NEE = Ra + Rh - GPP [mol CO2 m-2 s-1, positive up]
per unit area of the whole cell for ``co2`` and, when carried, the tagged ``co2_land``.

Cold start (``initialise``): the analytic cyclo-stationary spin-up of every carbon pool under the first
simulated year of the run's meteorology (``&land_nml spinup``), see :meth:`LandModel.spin_up`.
Process equations: :mod:`esm.land.canopy`, :mod:`esm.land.respiration`, :mod:`esm.land.phenology`,
:mod:`esm.land.intec`; parameters: :mod:`esm.land.params`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cftime
import numpy as np

from esm.component import Component, Variable
from esm.errors import ConfigError, InputDataError, ModelStateError, RestartError
from esm.land import intec
from esm.land.landcover import load_land_cover
from esm.land.model import UMOL_TO_KGC, LandModel
from esm.land.params import LandParameters

log = logging.getLogger(__name__)

_KGC = "kg m-2 s-1"
_CELL = "per unit area of the whole grid cell (0 where the cell has no vegetation)"


def _read_grid_field(path: str, variable: str, grid, what: str, vmin: float, vmax: float) -> np.ndarray:
    """A 2-D field on the model grid from a NetCDF file, checked (used for stand age and N deposition)."""
    import netCDF4

    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"&land_nml {what} file {path!r} does not exist")
    try:
        with netCDF4.Dataset(p) as ds:
            if variable not in ds.variables:
                raise InputDataError(f"{what} file {path!r} has no variable {variable!r}; variables: "
                                     f"{', '.join(ds.variables)}")
            v = ds[variable]
            v.set_auto_mask(False)
            a = np.asarray(v[:], dtype=np.float64)
    except OSError as exc:
        raise InputDataError(f"{what} file {path!r} is not readable NetCDF: {exc}") from None
    if a.shape != grid.shape:
        raise InputDataError(f"{what} file {path!r}: {variable} has shape {a.shape}; expected {grid.shape} "
                             "(the model grid, latitude south to north)")
    if not np.all(np.isfinite(a)) or a.min() < vmin or a.max() > vmax:
        raise InputDataError(f"{what} file {path!r}: {variable} must be finite within [{vmin}, {vmax}]")
    return a


class Land(Component):
    """Terrestrial biosphere: BEPS two-leaf photosynthesis, respiration, GSI phenology, InTEC pools."""

    name = "land"
    needs_met = True
    variables = (
        Variable("gpp", ("lat", "lon"), _KGC, "gross primary productivity",
                 "gross_primary_productivity_of_biomass_expressed_as_carbon", _CELL),
        Variable("npp", ("lat", "lon"), _KGC, "net primary productivity",
                 "net_primary_productivity_of_biomass_expressed_as_carbon", _CELL),
        Variable("ra", ("lat", "lon"), _KGC, "autotrophic (plant) respiration",
                 "surface_upward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_plant_respiration", _CELL),
        Variable("rh", ("lat", "lon"), _KGC, "heterotrophic respiration",
                 "surface_upward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_heterotrophic_respiration",
                 _CELL),
        Variable("nee", ("lat", "lon"), _KGC, "net ecosystem exchange Ra + Rh - GPP (positive upward)", "",
                 _CELL),
        Variable("fire", ("lat", "lon"), _KGC, "CO2 emission from fire (GlobFIRM burned area, combustion of "
                 "vegetation and litter)",
                 "surface_upward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_emission_from_fires", _CELL),
        Variable("harvest", ("lat", "lon"), _KGC, "crop harvest removal, emitted as CO2 where it grew", "", _CELL),
        Variable("nbp", ("lat", "lon"), _KGC, "net land-atmosphere carbon flux into the land "
                 "-(NEE + fire + harvest) (no land-use change)",
                 "surface_net_downward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_all_land_processes",
                 _CELL),
        Variable("co2_flux_land", ("lat", "lon"), "mol m-2 s-1", "upward land-atmosphere CO2 flux (NEE + fire + "
                 "harvest)", "surface_upward_mole_flux_of_carbon_dioxide", _CELL),
        Variable("gpp_shaded", ("lat", "lon"), _KGC, "gross primary productivity of shaded leaves", "", _CELL),
        Variable("lai", ("lat", "lon"), "1", "leaf area index of the vegetated part of the cell",
                 "leaf_area_index", "mean over the vegetation tiles weighted by their fractions"),
        Variable("c_leaf", ("lat", "lon"), "kg m-2", "leaf carbon", "leaf_mass_content_of_carbon", _CELL),
        Variable("c_stem", ("lat", "lon"), "kg m-2", "stem (wood) carbon", "stem_mass_content_of_carbon", _CELL),
        Variable("c_root", ("lat", "lon"), "kg m-2", "coarse and fine root carbon", "root_mass_content_of_carbon",
                 _CELL),
        Variable("c_litter", ("lat", "lon"), "kg m-2", "litter carbon (coarse woody debris, structural and "
                 "metabolic litter)", "litter_mass_content_of_carbon", _CELL),
        Variable("c_soil", ("lat", "lon"), "kg m-2", "soil organic carbon (microbial, slow and passive pools)",
                 "soil_mass_content_of_carbon", _CELL),
        Variable("vegetation_fraction", ("lat", "lon"), "1", "vegetated share of the cell (MODIS MCD12C1 2019)",
                 "", "sum of the BEPS cover-type tile fractions"),
    )

    def __init__(self, config, grid, vcoord, tracers, clock):
        super().__init__(config, grid, vcoord, tracers, clock)
        self.prm = LandParameters.from_config(config)
        p = config.land_nml
        self.interval = int(p.interval)
        if 86400 % self.interval:
            raise ConfigError(f"&land_nml interval = {self.interval} s must divide one day")
        self.flux_tracers = [t for t in ("co2", "co2_land") if t in tracers]
        src = p.co2_source
        if src == "auto":
            src = "atmosphere" if "co2" in tracers else "prescribed"
        if src == "atmosphere" and "co2" not in tracers:
            raise ConfigError("&land_nml co2_source = 'atmosphere' needs the tracer 'co2' in &tracers_nml names")
        self.co2_source = src
        self.i_co2 = tracers.index("co2") if "co2" in tracers else None
        lc = load_land_cover(grid, p.landcover_file or None, p.c4_grass_lat_full, p.c4_grass_lat_zero,
                             p.c4_crop_fraction)
        self.landcover = lc
        ages = _read_grid_field(p.age_file, "stand_age", grid, "age_file", 0.0, 2000.0) if p.age_file else None
        ndep = _read_grid_field(p.ndep_file, "ndep", grid, "ndep_file", 0.0, 50.0) if p.ndep_file else None
        lai_file = None
        if p.lai_source == "file":
            from esm.land.phenology import LaiFile
            lai_file = LaiFile(p.lai_file, p.lai_variable, grid)
        self.model = LandModel(self.prm, grid, lc, ages=ages, ndep=ndep, lai_file=lai_file)
        self._diag = {v.name: np.zeros(grid.shape) for v in self.variables}
        self._diag["vegetation_fraction"] = lc.vegetated.copy()
        self._ready = False
        self.spinup_summary: dict | None = None

    # ---- CO2 --------------------------------------------------------------------------------------
    def prescribed_co2(self, time) -> float:
        """Global-mean CO2 [ppm] from the prescribed series at ``time``."""
        from esm import forcing_series

        p = self.config.land_nml
        start = time.replace(month=1, day=1, hour=0, minute=0, second=0)
        year_len = (start.replace(year=start.year + 1) - start).total_seconds()
        frac = time.year + (time - start).total_seconds() / year_len
        try:
            return float(forcing_series.co2_at(frac, p.co2_scenario, p.co2_file or None))
        except ValueError as exc:
            raise InputDataError(f"&land_nml prescribed CO2 (co2_scenario = {p.co2_scenario!r}): {exc}") from None

    def _co2(self, time, atmosphere) -> np.ndarray | float:
        if self.co2_source == "atmosphere":
            return np.asarray(atmosphere.q[self.i_co2, 0], dtype=np.float64) * 1e6
        return self.prescribed_co2(time)

    def spinup_co2(self, time) -> float:
        p = self.config.land_nml
        if p.spinup_co2 > 0:
            return float(p.spinup_co2)
        if self.co2_source == "atmosphere":
            tr = self.config.tracers_nml
            i = list(tr.names).index("co2")
            vals = tr.init_value
            v = vals[i] if len(vals) == len(tr.names) else vals[0]
            if v >= 0:
                return float(v) * 1e6
            from esm.tracers import species
            return species("co2").default_mole_fraction * 1e6
        return self.prescribed_co2(time)

    # ---- lifecycle --------------------------------------------------------------------------------
    def _provider(self):
        if self.met_provider is not None:
            return self.met_provider
        from esm.meteorology import make_provider
        return make_provider(self.config, self.grid, self.vcoord)

    def _annual_co2(self, year: int) -> float:
        return self.prescribed_co2(cftime.datetime(year, 7, 2, calendar=self.clock.calendar))

    def initialise(self, time, met) -> None:
        p = self.config.land_nml
        if p.spinup == "analytic":
            provider = self._provider()
            y0 = int(p.transient_start_year)
            transient = 0 < y0 < time.year
            co2 = float(p.spinup_co2) if p.spinup_co2 > 0 else (self._annual_co2(y0) if transient
                                                               else self.spinup_co2(time))
            # the meteorology's fast path (MetProvider.cell_sampler): the year is evaluated on the land cells only
            sampler = getattr(provider, "cell_sampler", None)
            met_at = provider.at if sampler is None else sampler(self.model.met_fields(), self.model.cell_flat)
            s = self.model.spin_up(met_at, time, co2)
            self.spinup_summary = s
            log.info("land: analytic spin-up at %.1f ppm CO2 (%d sweeps): GPP %.1f, NPP %.1f PgC/yr; vegetation "
                     "%.0f, litter %.0f, soil %.0f PgC", co2, s["sweeps"], s["gpp"], s["npp"], s["veg_carbon"],
                     s["litter_carbon"], s["soil_carbon"])
            if transient:
                sinks = self.model.transient(self._annual_co2, y0, time.year - 1)
                self.spinup_summary["transient_sinks"] = sinks
                log.info("land: transient %d-%d under prescribed CO2: sink %.2f PgC/yr in %d, cumulative %.1f PgC",
                         y0, time.year - 1, sinks[-1], time.year - 1, sum(sinks))
        self._ready = True

    def surface_flux(self, time, dt, atmosphere, met):
        if not self._ready:
            raise ModelStateError("land component stepped before initialise() or load_restart_state()")
        if met is None:
            raise ModelStateError("the land component needs meteorology but the coupler passed none")
        # the hour's per-cell sums (umol m-2 s-1 per cell area) straight from the land step: its fluxes are summed into
        # the cells inside the fused kernel pass (speed round 12; before, a separate pass over ~9 per-tile rows, and
        # ~15 numpy passes before round 11, cost more than the land step at 1x1)
        m = self.model
        s = m.step(time, float(dt), met, self._co2(time, atmosphere), where=f"at {time}", cell_sums=True)
        nee, fire, harvest = s["nee"], s["fire"], s["harvest"]
        up = nee + fire + harvest
        k = UMOL_TO_KGC
        names = ("gpp", "npp", "ra", "rh", "nee", "fire", "harvest", "gpp_shaded", "lai", "up")
        cells = (s["gpp"] * k, s["npp"] * k, s["ra"] * k, s["rh"] * k, nee * k, fire * k, harvest * k,
                 s["gpp_shade"] * k, s["lai"], up)
        diag = dict(zip(names, m.on_grid(cells)))  # on the grid in one scatter
        up = diag.pop("up")
        diag.update({"lai": self._lai_from_sum(diag["lai"]), "nbp": -up * k, "co2_flux_land": up * 1e-6})
        self._diag.update(diag)
        self._diag.update(self._pool_diagnostics())
        flux = diag["co2_flux_land"]
        return {t: flux.copy() for t in self.flux_tracers}

    def _lai_from_sum(self, s):
        """Mean LAI of the vegetated part of each cell from the cell sum of frac x LAI."""
        veg = self.landcover.vegetated
        return np.where(veg > 0, s / np.where(veg > 0, veg, 1.0), 0.0)

    def _pool_diagnostics(self) -> dict[str, np.ndarray]:
        """Per-cell carbon of the leaf, stem, root, litter and soil pools [kg C m-2 of cell]. The pools change once
        a day (every change replaces the model's array): the sums are kept for the array they were made from, which
        is made read-only so that an in-place edit fails instead of leaving them stale (speed round 11)."""
        m = self.model
        pools = m.pools
        cache = getattr(self, "_pool_diag", None)
        if cache is None or cache[0] is not pools:
            if pools.flags.writeable:
                pools = m.pools = np.array(pools, dtype=float)
                pools.flags.writeable = False
            tiles = (pools[:, intec.LEAF], pools[:, intec.STEM], pools[:, intec.CROOT] + pools[:, intec.FROOT],
                     pools[:, intec.CWD:intec.SMIC].sum(axis=1), pools[:, intec.SMIC:].sum(axis=1))
            sums = m.cell_sums(tiles)
            for v in sums:
                v.flags.writeable = False  # handed out for a day: readers must not edit them in place
            cache = self._pool_diag = (pools, dict(zip(("c_leaf", "c_stem", "c_root", "c_litter", "c_soil"), sums)))
        return cache[1]

    def diagnostics(self):
        return dict(self._diag)

    # ---- restart ----------------------------------------------------------------------------------
    def restart_state(self):
        return {f"land_{k}": v for k, v in self.model.state().items()}

    def load_restart_state(self, state):
        st = {k[len("land_"):]: v for k, v in state.items() if k.startswith("land_")}
        try:
            self.model.load_state(st)
        except ValueError as exc:
            raise RestartError(f"land restart: {exc}") from None
        self._ready = True

    def summary(self) -> str:
        m = self.model
        return (f"land: BEPS two-leaf + InTEC pools on {m.ntile} tiles in {m.ncell} cells, CO2 from "
                f"{self.co2_source}, update every {self.interval} s")
