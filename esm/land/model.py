"""The land model on its tiles: hourly BEPS, daily InTEC pools, phenology, spin-up.

Used by the coupled component (:mod:`esm.land.component`) and by the offline driver
(:mod:`esm.land.offline`). A *tile* is one BEPS cover type in one grid cell with a non-zero
fraction; tiles are ordered by cell (row-major) and cover type, so cell sums run in a fixed
order (deterministic). Fluxes per tile are per unit tile area; per cell they are multiplied by
the tile's fraction of the whole cell and summed.

Time stepping (hourly by default):

* every step: canopy kernel (GPP, daytime leaf respiration, maintenance respiration, growth respiration
  ``g max(GPP - Rm, 0)`` of the step as in BEPS ``plant_respir.c``, so it is zero at night), heterotrophic
  respiration of the current pools at the current decomposition scalar; NEE = Ra + Rh - GPP; the fire emission
  of the day's burned fraction and the crop-harvest removal (:mod:`esm.land.disturbance`), both constant over
  the day; the land gives the atmosphere NEE + fire + harvest;
* at the end of each UTC day: the InTEC pool step with the day's NPP and integral of the decomposition
  scalar, fire and harvest; the next day's fire danger from the day's mean top-soil water and air
  temperature; the phenology (GSI -> LAI, crop calendar);
* every 365 days: the annual-mean LAI that sets the respiring biomass (BEPS allometries).

Respiring biomass: where the allometric biomass of a tile would respire more than the canopy can supply
in the spin-up climate, it is scaled down (per tile, ``rm_factor``) so that NPP is at least ``cue_min`` x GPP
(0.23, the lowest forest carbon-use efficiency in DeLucia et al. 2007). With BEPS's own leaf respiration
coefficients (``rm_leaf_basis = 'beps'``: 0.015 d-1 of leaf carbon for broadleaf forests, ten times the
conifer value) most tropical evergreen tiles hit this floor; with the default nitrogen basis (Ryan 1991
rate on the Chen et al. 2012 leaf-N profile) the floor is a safeguard for tiles whose climate leaves
little GPP.

Carbon is conserved to round-off: the change of the pools equals the integral of NPP - Rh - fire - harvest.
"""
from __future__ import annotations

import datetime as _dt
import logging

import numpy as np

from esm.constants import M_C
from esm.errors import InputDataError
from esm.land import beps, disturbance, intec
from esm.land.landcover import CROP, FOREST_PFTS, NPFT, LandCover
from esm.land.phenology import GsiPhenology, lai_from_gsi

log = logging.getLogger(__name__)

#: umol CO2 m-2 s-1 -> kg C m-2 s-1
UMOL_TO_KGC = M_C * 1e-6
#: CO2 increment [umol mol-1] at which the spin-up samples the GPP response to CO2 (for the transient)
DCO2_SENSITIVITY = 100.0
#: meteorological fields the land reads
#: the meteorology the land reads: ``tsoil`` is the root zone's temperature (cold-soil stomatal factor, root
#: respiration, and by default decomposition); with ``decomposition_temperature = 'top_soil'`` also ``tsoil_top``
MET_FIELDS = ("t2m", "tskin", "tsoil", "vpd", "swdown", "swdown_diffuse", "cos_sza", "soilm", "ps")
DAY = 86400


class LandModel:
    """BEPS + InTEC on the vegetated tiles of a grid (see module docstring)."""

    def __init__(self, prm, grid, landcover: LandCover, ages: np.ndarray | None = None,
                 ndep: np.ndarray | None = None, lai_file=None, nthreads: int = 0):
        self.prm = prm
        self.grid = grid
        self.lc = landcover
        self.nthreads = nthreads
        pft = landcover.pft
        mask = pft > 0.0  # (npft, nlat, nlon)
        cells_any = mask.any(axis=0).ravel()
        self.cell_flat = np.flatnonzero(cells_any)  # land cells with vegetation, row-major order
        self.ncell = self.cell_flat.size
        pos = np.full(grid.nlat * grid.nlon, -1, dtype=np.int64)
        pos[self.cell_flat] = np.arange(self.ncell)
        flat_mask = mask.reshape(NPFT, -1)
        cells, pfts = [], []
        for c_flat in self.cell_flat:
            for p in np.flatnonzero(flat_mask[:, c_flat]):
                cells.append(pos[c_flat])
                pfts.append(p)
        self.tile_cell = np.asarray(cells, dtype=np.int32)
        self.tile_pft = np.asarray(pfts, dtype=np.int32)
        self.ntile = self.tile_cell.size
        self.tile_frac = pft.reshape(NPFT, -1)[self.tile_pft, self.cell_flat[self.tile_cell]]
        self.lat_cell = np.repeat(grid.lat[:, None], grid.nlon, axis=1).ravel()[self.cell_flat]
        self.area_cell = np.asarray(grid.area).ravel()[self.cell_flat]
        # tables
        self.pft_tab = beps.pft_table(prm)
        self.scal_tab = beps.scalar_table(prm)
        from esm.land import default_threads
        self.threads = nthreads if nthreads > 0 else max(
            1, min(default_threads(), self.ntile // beps.MIN_TILES_PER_THREAD))
        self.cell_kernel = beps.CellKernel(prm, self.threads,
                                           beps.CellKernel.cell_kinds(self.tile_cell, self.tile_pft, self.ncell))
        # crop-land share of every tile (harvest; no fire there)
        crop_share = np.zeros(self.ntile)
        for p in np.unique(self.tile_pft):
            sel = self.tile_pft == p
            crop_share[sel] = landcover.crop_share(int(p)).ravel()[self.cell_flat[self.tile_cell[sel]]]
        self.crop_share = crop_share
        self.pools_model = intec.PoolModel(self.tile_pft, prm, crop_share)
        self.pools_model.nthreads = self.threads
        self.fire_me = np.asarray(prm.fire_moisture_extinction, float)[self.tile_pft]
        self.fire_on = bool(prm.fire) and bool(np.any(self.pools_model.fire_area > 0))
        g = lambda name: np.asarray(getattr(prm, name), float)[self.tile_pft]  # noqa: E731
        self.lai_min_t, self.lai_max_t = g("lai_min"), g("lai_max")
        # nitrogen deposition -> top-leaf Vcmax25
        nd = np.full(self.ncell, float(prm.ndep_value)) if ndep is None else \
            np.asarray(ndep, float).ravel()[self.cell_flat]
        mult = intec.leaf_n_multiplier(nd[self.tile_cell], prm.ndep_reference, prm.ndep_leaf_n_sensitivity,
                                       prm.ndep_leaf_n_max_ratio)
        self.leaf_n_top = g("leaf_n") * mult
        self.vtop = g("vcmax25") * g("vcmax_n_ratio") * self.leaf_n_top
        # stand age (forest tiles); the age effect is relative to the age at the start
        is_forest = np.isin(self.tile_pft, FOREST_PFTS)
        if ages is None:
            age = g("age_default")
        else:
            age = np.asarray(ages, float).ravel()[self.cell_flat][self.tile_cell]
        self.age = np.where(is_forest, age, 0.0)
        self.age_ref = self.age.copy()
        self.is_forest = is_forest
        self.is_crop = self.tile_pft == CROP
        self.age_coef = (g("age_b"), g("age_c"), g("age_d"), g("age_e"))
        # phenology / LAI
        self.lai_file = lai_file
        self.phen = GsiPhenology(self.lat_cell, prm)
        # ---- state
        self.pools = np.zeros((self.ntile, intec.NPOOL))
        self.rh_coef = np.zeros(self.ntile)
        self._rh_coef_umol = np.zeros(self.ntile)
        self.fire_s = np.zeros(self.ntile)  # fire-season length of the last 365 days (GlobFIRM s)
        self.fire_blocks = np.zeros((disturbance.NBLOCK, self.ntile))  # five-day sums of the fire probability
        self.fire_block_acc = np.zeros(self.ntile)  # the current block's sum so far
        self.fire_block_days = 0  # days in the current block
        self.fire_block_pos = 0  # ring position of the next block
        self.fire_danger = np.zeros(self.ntile)  # burned fraction of natural land of the current day (before fuel)
        self._fire_umol = np.zeros(self.ntile)
        self._harvest_umol = np.zeros(self.ntile)
        self.lai = self.lai_min_t.copy()
        self.lai_year = self.lai_min_t.copy()
        self.rm_factor = np.ones(self.ntile)  # cap of the allometric respiring biomass (carbon-use efficiency floor)
        self._acc_zero()
        self.lai_sum = np.zeros(self.ntile)
        self.lai_days = 0
        self._bases = beps.respiration_bases(self.tile_pft, self.lai_year, prm, self.leaf_n_top)
        self.last: dict[str, np.ndarray] = {}

    # ---- helpers --------------------------------------------------------------------------------
    def _acc_zero(self):
        self.acc_gpp = np.zeros(self.ntile)  # umol m-2 (integral over the day of GPP)
        self.acc_rm = np.zeros(self.ntile)  # maintenance incl. daytime leaf respiration
        self.acc_rg = np.zeros(self.ntile)
        self.acc_xi = np.zeros(self.ncell)  # s
        self.acc_wm = np.zeros(self.ncell)  # integral of the relative available soil water [s] (fire)
        self.acc_tair = np.zeros(self.ncell)  # integral of the air temperature [degC s] (fire)
        self.acc_t = 0.0  # s

    def age_scale(self) -> np.ndarray:
        if not self.prm.advance_age:
            if getattr(self, "_ones", None) is None or self._ones.size != self.ntile:
                self._ones = np.ones(self.ntile)
            return self._ones
        b, c, d, e = self.age_coef
        f = intec.npp_age_factor(self.age, b, c, d, e)
        f0 = intec.npp_age_factor(self.age_ref, b, c, d, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.is_forest & (f0 > 0), f / np.where(f0 > 0, f0, 1.0), 1.0)

    def cell_sums(self, fields, on_grid: bool = True) -> list[np.ndarray]:
        """:meth:`cell_sum` of several tile fields in one compiled pass (``beps.cell_sums``, the same bits as
        np.bincount), each on the full grid (nlat, nlon), or with ``on_grid=False`` on the vegetated cells (ncell,)."""
        fields = tuple(np.ascontiguousarray(f, dtype=np.float64) for f in fields)
        v = np.empty((len(fields), self.ncell))
        beps.cell_sums(self.tile_cell, self.tile_frac, fields, v, self.threads)
        return self.on_grid(v) if on_grid else list(v)

    def on_grid(self, cell_values) -> list[np.ndarray]:
        """Values on the vegetated cells (a sequence of (ncell,) arrays or an (n, ncell) array) on the full grid
        (nlat, nlon) each, zero elsewhere; one scatter for all."""
        v = np.asarray(cell_values, dtype=np.float64)
        out = np.zeros((v.shape[0], self.grid.nlat * self.grid.nlon))
        out[:, self.cell_flat] = v
        return [o.reshape(self.grid.shape) for o in out]

    def cell_sum(self, tile_values: np.ndarray) -> np.ndarray:
        """Per-cell sum of ``frac x value`` on the full grid (nlat, nlon); fixed summation order."""
        v = np.bincount(self.tile_cell, weights=self.tile_frac * tile_values, minlength=self.ncell)
        out = np.zeros(self.grid.nlat * self.grid.nlon)
        out[self.cell_flat] = v
        return out.reshape(self.grid.shape)

    def _update_rh_coef(self) -> None:
        """Rates that stay fixed while the pools do (they change daily): per-tile sum of resp_i k_i C_i [kg C m-2
        s-1 per unit xi] (Rh = xi x this), the fire emission of the day's burned fraction spread evenly over the
        day, and the harvest removal [umol m-2 s-1]."""
        self.rh_coef, fire_day, harvest = self.pools_model.daily_rates(self.pools, self.fire_danger)
        self._rh_coef_umol = np.ascontiguousarray(self.rh_coef / UMOL_TO_KGC)
        self._harvest_umol = harvest / UMOL_TO_KGC
        if self.fire_on:
            self._fire_umol = fire_day / (DAY * UMOL_TO_KGC)

    def fire_probability(self, wm_cell: np.ndarray, tair_cell: np.ndarray) -> np.ndarray:
        """Daily fire probability per tile from the day's mean relative available water and air temperature of
        its cell (Thonicke et al. 2001 eq. 2; none at or below ``fire_tmin``); cells on the last axis."""
        p = disturbance.fire_probability(wm_cell[..., self.tile_cell], self.fire_me)
        return np.where(tair_cell[..., self.tile_cell] > self.prm.fire_tmin, p, 0.0)

    def _available_water(self, soilm: np.ndarray) -> np.ndarray:
        return disturbance.available_water(soilm, self.prm.wilting_point, self.prm.field_capacity)

    def set_lai_year(self, lai_year: np.ndarray) -> None:
        self.lai_year = np.asarray(lai_year, float).copy()
        self._bases = tuple(b * self.rm_factor for b in beps.respiration_bases(self.tile_pft, self.lai_year, self.prm,
                                                                                  self.leaf_n_top))

    # ---- meteorology -------------------------------------------------------------------------------
    def met_fields(self) -> tuple[str, ...]:
        """The meteorological fields this model reads (:data:`MET_FIELDS`, plus ``tsoil_top`` when decomposition
        follows the top soil)."""
        return MET_FIELDS + (("tsoil_top",) if self.prm.decomposition_temperature == "top_soil" else ())

    def met_arrays(self, met, co2_ppm, when: str = "") -> dict[str, np.ndarray]:
        """Land-cell 1-D arrays of the fields the land reads, validated (bad input -> InputDataError)."""
        out = {}
        # meteorology already sampled on exactly these land cells (MetProvider.cell_sampler, the spin-up fast path)
        cells = getattr(met, "cells", None)
        on_cells = cells is not None and (cells is self.cell_flat or np.array_equal(cells, self.cell_flat))
        for name in self.met_fields():
            try:
                a = np.asarray(met[name], dtype=np.float64)
            except KeyError as exc:
                raise InputDataError(f"land {when}: the meteorology lacks the field {name!r} the land model needs "
                                     f"({', '.join(self.met_fields())}): {exc}") from None
            if on_cells and a.shape == (self.ncell,):
                out[name] = a
                continue
            if a.shape != self.grid.shape:
                raise InputDataError(f"land {when}: meteorological field {name!r} has shape {a.shape}; expected "
                                     f"{self.grid.shape}")
            out[name] = a.ravel()[self.cell_flat]
        if self.prm.decomposition_temperature == "root_zone":
            out["tsoil_top"] = out["tsoil"]  # the kernels' decomposition row: the root zone (no copy)
        co2 = np.asarray(co2_ppm, dtype=np.float64)
        out["co2"] = np.broadcast_to(co2 if co2.ndim == 0 else co2.ravel()[self.cell_flat]
                                     if co2.size == self.grid.nlat * self.grid.nlon else co2, (self.ncell,)).copy()
        self._check_met(out, when)
        return out

    def _check_met(self, m, when):
        if beps.met_valid(m, self.prm.porosity * (1 + 1e-12), self.threads):
            return  # all values pass (one pass in the kernel); else the checks below name the bad one
        def bad(name, mask, expect):
            i = int(np.flatnonzero(mask)[0])
            j, k = divmod(int(self.cell_flat[i]), self.grid.nlon)
            raise InputDataError(f"land {when}: {name} = {m[name][i]!r} at lat {self.grid.lat[j]:.2f}, lon "
                                 f"{self.grid.lon[k]:.2f}; expected {expect}")
        for name, a in m.items():
            if not np.all(np.isfinite(a)):
                bad(name, ~np.isfinite(a), "a finite value")
        checks = (("swdown", m["swdown"] < 0, ">= 0 W m-2 (negative radiation)"),
                  ("swdown_diffuse", m["swdown_diffuse"] < 0, ">= 0 W m-2"),
                  ("swdown_diffuse", m["swdown_diffuse"] > m["swdown"] * (1 + 1e-9) + 1e-9,
                   "<= swdown (diffuse part of the global radiation)"),
                  ("soilm", (m["soilm"] < 0) | (m["soilm"] > self.prm.porosity * (1 + 1e-12)),
                   f"within [0, porosity = {self.prm.porosity}] m3 m-3 (&land_nml porosity)"),
                  ("vpd", m["vpd"] < 0, ">= 0 Pa"),
                  ("ps", m["ps"] <= 0, "> 0 Pa"),
                  ("t2m", (m["t2m"] < 150) | (m["t2m"] > 350), "an air temperature in K (150-350)"),
                  ("tskin", (m["tskin"] < 150) | (m["tskin"] > 380), "a skin temperature in K (150-380)"),
                  ("tsoil", (m["tsoil"] < 150) | (m["tsoil"] > 350), "a soil temperature in K (150-350)"),
                  ("tsoil_top", (m["tsoil_top"] < 150) | (m["tsoil_top"] > 350), "a soil temperature in K (150-350)"),
                  ("cos_sza", np.abs(m["cos_sza"]) > 1, "within [-1, 1]"),
                  ("co2", (m["co2"] <= 0) | (m["co2"] > 1e5), "a CO2 mole fraction in umol mol-1 (0-1e5)"))
        for name, mask, expect in checks:
            if mask.any():
                bad(name, mask, expect)

    # ---- one step ----------------------------------------------------------------------------------
    def step(self, time, dt: float, met, co2_ppm, where: str = "", cell_sums: bool = False) -> dict[str, np.ndarray]:
        """Advance by ``dt`` seconds from ``time`` with meteorology ``met`` (MetState or dict) and CO2
        [umol mol-1, scalar or grid]. Returns per-tile fluxes [umol m-2 s-1] (also kept in ``last``), or with
        ``cell_sums`` their per-cell sums (see :meth:`step_cells`)."""
        return self.step_cells(time, dt, self.met_arrays(met, co2_ppm, where or str(time)), cell_sums)

    #: the fields of :meth:`step_cells` with ``cell_sums``
    CELL_SUM_FIELDS = beps.CSUM_ROWS + ("fire", "harvest", "lai")

    def step_cells(self, time, dt: float, m: dict[str, np.ndarray], cell_sums: bool = False) -> dict[str, np.ndarray]:
        """:meth:`step` with meteorology already extracted to the land cells by :meth:`met_arrays`.

        ``cell_sums``: return, instead of the per-tile fluxes, the per-cell sums of tile fraction x value of
        :data:`CELL_SUM_FIELDS` [umol m-2 s-1 per unit cell area; LAI: m2 m-2] on the vegetated cells (ncell,;
        :meth:`on_grid` puts them on the grid), the bits of :meth:`cell_sums` of the per-tile fields (test). This is
        what a coupled run needs (the land component): the hour's fluxes are then summed into the cells inside the
        fused pass and the per-tile rows never written (speed round 12), and the separate summing pass (~3.5 ms per
        hour at 1x1) is gone."""
        if self.lai_file is not None:
            cell_lai = np.asarray(self.lai_file.at(time), float).ravel()[self.cell_flat]
            self.lai = cell_lai[self.tile_cell].copy()
        # also accumulates GPP, Rm and Rg of the day, and the hour's integrals (xi; fire: available water, air
        # temperature; GSI phenology), the arithmetic of beps.hour_accumulate, in the same compiled pass
        fl = self._fluxes(m, dt, cell_sums)
        self.acc_t += dt
        if self.prm.advance_age:
            self.age = self.age + np.where(self.is_forest, dt / (365.0 * DAY), 0.0)
        # the step ends a (UTC) day: the seconds of the day at its end from those at its start (cftime arithmetic
        # only once a day; it was ~2 % of an hour at 1x1)
        if (time.hour * 3600 + time.minute * 60 + time.second + int(dt)) % DAY == 0:
            self.end_day(time + _dt.timedelta(seconds=int(dt)))
        self.last = fl
        return fl

    def lai_terms(self) -> np.ndarray:
        """:func:`beps.lai_terms` of the current LAI, recomputed only when the LAI has changed."""
        # keyed on the array object: every LAI change replaces ``self.lai`` (phenology, LAI file, restart), and the
        # array is made read-only here so that an in-place edit fails instead of leaving stale terms (speed round 10:
        # the element-wise comparison with a copy cost ~5 % of an hour)
        if getattr(self, "_lterm_src", None) is not self.lai:
            if self.lai.flags.writeable:
                self.lai = np.array(self.lai, dtype=float)
                self.lai.flags.writeable = False
            stem = self.prm.stem_area_fraction * np.asarray(self.prm.lai_max)[self.tile_pft]
            self._lterm = beps.lai_terms(self.tile_pft, self.lai, self.prm.clumping, self.prm.kn, self.prm.leaf_angle_g,
                                         stem)
            self._lterm_src = self.lai
        return self._lterm

    def _fluxes(self, m, dt, cell_sums: bool = False) -> dict[str, np.ndarray]:
        """Fluxes of one step [umol m-2 s-1 per tile] (``cell_sums``: their per-cell sums, :meth:`step_cells`); adds
        GPP, Rm and Rg times ``dt`` and the hour's xi, fire and phenology integrals to the day's."""
        scale = self.age_scale()
        lterm = self.lai_terms()  # first: it may replace self.lai by its read-only copy
        c64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731  (no copy: all are already)
        if cell_sums:
            res = out = None
            csum = np.empty((len(beps.CSUM_ROWS), self.ncell))
            sums = (c64(self.tile_frac), csum)
        else:
            res = np.empty((7, self.ntile))
            out = np.empty((len(beps.OUT_ROWS), self.ntile))
            sums = None
        # cell factors and canopy in one fused pass over blocks of cells and their tiles (speed round 11; the same
        # bits as the cell kernel followed by beps.tile_fluxes with the step finish, tests/test_land_kernel.py);
        # the canopy also finishes the step (totals, Rh, the day's integrals)
        xi = self.cell_kernel.land_step(m, self.tile_cell, self.tile_pft, self.lai, c64(self.vtop),
                                        tuple(c64(b) for b in self._bases), c64(scale), self.pft_tab, self.scal_tab,
                                        out, lterm, c64(self._rh_coef_umol), float(dt),
                                        (self.acc_gpp, self.acc_rm, self.acc_rg), res, self.threads,
                                        (self.prm.wilting_point, self.prm.field_capacity, self.acc_xi, self.acc_wm,
                                         self.acc_tair, self.phen if self.lai_file is None else None, self.fire_on),
                                        sums=sums)
        if cell_sums:
            fl = dict(zip(beps.CSUM_ROWS, csum))
            fl.update(self._daily_cell_sums())
            return fl
        # "lai" is the model's own array, read-only since lai_terms() (every LAI change replaces it): no copy needed
        # (speed round 11: the copy was ~3 % of an hour at 1x1)
        return {"gpp": res[0], "gpp_sun": out[0], "gpp_shade": out[1], "rm": res[1], "rg": res[2], "ra": res[3],
                "rh": res[4], "npp": res[5], "nee": res[6], "xi": xi, "lai": self.lai, "fw": out[8],
                "fire": self._fire_umol, "harvest": self._harvest_umol}

    def _daily_cell_sums(self) -> dict[str, np.ndarray]:
        """Cell sums of the per-tile fields that change once a day at most (fire emission and harvest rates, LAI), for
        :meth:`step_cells` with ``cell_sums``: kept for the arrays they were made from, which are made read-only so
        that an in-place edit fails instead of leaving the sums stale (every change replaces the array)."""
        src = (self._fire_umol, self._harvest_umol, self.lai)
        cache = getattr(self, "_dcs", None)
        if cache is None or any(a is not b for a, b in zip(cache[0], src)):
            frozen = []
            for a in src:
                if a.flags.writeable:
                    a = np.array(a, dtype=float)
                    a.flags.writeable = False
                frozen.append(a)
            self._fire_umol, self._harvest_umol, self.lai = frozen
            sums = self.cell_sums(frozen, on_grid=False)
            for v in sums:
                v.flags.writeable = False  # handed out for a day: readers must not edit them in place
            cache = self._dcs = (tuple(frozen), dict(zip(("fire", "harvest", "lai"), sums)))
        return dict(cache[1])

    def end_day(self, t_end) -> None:
        """Close a (UTC) day: pool step, phenology, annual LAI."""
        if self.acc_t <= 0:
            return
        npp_kgc = (self.acc_gpp - self.acc_rm - self.acc_rg) * UMOL_TO_KGC
        pm = self.pools_model
        burned = pm.fire_burn(self.pools, self.fire_danger * (self.acc_t / DAY)) if self.fire_on else None
        self.pools = pm.step(self.pools, npp_kgc, self.acc_xi[self.tile_cell], self.acc_t, burned)
        if self.fire_on:
            # tomorrow's fire danger from today's mean litter moisture and temperature
            p = self.fire_probability(self.acc_wm / self.acc_t, self.acc_tair / self.acc_t)
            self.fire_block_acc += p
            self.fire_block_days += 1
            if self.fire_block_days == disturbance.BLOCK_DAYS:
                self.fire_blocks[self.fire_block_pos] = self.fire_block_acc
                self.fire_block_pos = (self.fire_block_pos + 1) % disturbance.NBLOCK
                self.fire_block_acc = np.zeros(self.ntile)
                self.fire_block_days = 0
                self.fire_s = disturbance.season_from_blocks(self.fire_blocks)
            # A(s) / s is kept for the season array it was made from (a new array every five days)
            if getattr(self, "_burn_ratio", (None,))[0] is not self.fire_s:
                self._burn_ratio = (self.fire_s, disturbance.burned_ratio(self.fire_s))
            self.fire_danger = disturbance.daily_burned_fraction(p, self.fire_s, self._burn_ratio[1])
        self._update_rh_coef()
        if self.lai_file is None:
            doy = (t_end - _dt.timedelta(seconds=1)).timetuple().tm_yday
            self.phen.end_day(doy)
            self.lai = self._phenology_lai()
        self.lai_sum += self.lai
        self.lai_days += 1
        if self.lai_days >= 365:
            self.set_lai_year(self.lai_sum / self.lai_days)
            self.lai_sum[:] = 0.0
            self.lai_days = 0
        self._acc_zero()

    def _phenology_lai(self) -> np.ndarray:
        """Tile LAI from the cell GSI (Jolly et al. 2005) and, on C3-crop tiles, the crop calendar."""
        lai = lai_from_gsi(self.phen.mean()[self.tile_cell], self.lai_min_t, self.lai_max_t)
        if self.prm.crop_calendar:
            lai = np.where(self.is_crop, lai * self.phen.crop_development()[self.tile_cell], lai)
        return lai

    def _crop_preroll(self, met_at, t0, ndays: int, co2_ppm: float) -> None:
        """Crop-calendar state at the start of a periodic year: daily means of air temperature and soil water from
        four synoptic hours (0, 6, 12, 18 UTC) of every day of the year, and the calendar run over that year until
        its state at the start repeats (at most 4 cycles; sowing once a year makes it periodic after 2)."""
        if not (self.prm.crop_calendar and self.is_crop.any()):
            return
        tmean = np.zeros((ndays, self.ncell))
        smean = np.zeros((ndays, self.ncell))
        for d in range(ndays):
            for h in (0, 6, 12, 18):
                m = self.met_arrays(met_at(t0 + _dt.timedelta(days=d, hours=h)), co2_ppm, "spin-up crop pre-roll")
                tmean[d] += 0.25 * (m["t2m"] - 273.15)
                smean[d] += 0.25 * m["soilm"]
        self.phen.crop_periodic(tmean, smean)

    # ---- totals --------------------------------------------------------------------------------------
    def total_carbon(self) -> float:
        """Land carbon [kg C] summed over tiles (pools x tile area)."""
        area = self.tile_frac * self.area_cell[self.tile_cell]
        return float(np.sum(self.pools.sum(axis=1) * area))

    def global_rate(self, tile_values_umol: np.ndarray) -> float:
        """Global total of a per-tile rate [umol m-2 s-1] in PgC yr-1."""
        area = self.tile_frac * self.area_cell[self.tile_cell]
        return float(np.sum(tile_values_umol * area)) * UMOL_TO_KGC * 365.0 * DAY / 1e12

    # ---- state ---------------------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        st = {"tile_cell": self.cell_flat[self.tile_cell].astype(np.int64), "tile_pft": self.tile_pft.astype(np.int64),
              "pools": self.pools.copy(), "lai": self.lai.copy(), "lai_year": self.lai_year.copy(),
              "acc_gpp": self.acc_gpp.copy(), "acc_rm": self.acc_rm.copy(),
              "acc_rg": self.acc_rg.copy(), "acc_xi": self.acc_xi.copy(), "acc_t": np.array(self.acc_t),
              "lai_sum": self.lai_sum.copy(), "lai_days": np.array(self.lai_days), "age": self.age.copy(),
              "rm_factor": self.rm_factor.copy(),
              "fire_blocks": self.fire_blocks.copy(), "fire_block_acc": self.fire_block_acc.copy(),
              "fire_block_days": np.array(self.fire_block_days), "fire_block_pos": np.array(self.fire_block_pos),
              "fire_danger": self.fire_danger.copy(), "acc_wm": self.acc_wm.copy(), "acc_tair": self.acc_tair.copy(),
              "age_ref": self.age_ref.copy()}
        st.update(self.phen.state())
        return st

    def load_state(self, st: dict[str, np.ndarray]) -> None:
        need = ("tile_cell", "tile_pft", "pools", "lai", "lai_year", "rm_factor", "acc_gpp", "acc_rm", "acc_rg",
                "acc_xi", "acc_t", "fire_blocks", "fire_block_acc", "fire_block_days", "fire_block_pos",
                "fire_danger", "acc_wm", "acc_tair", "lai_sum", "lai_days", "age", "age_ref", "gsi_buffer",
                "gsi_filled", "gsi_tmin",
                "gsi_vpd_sum", "gsi_soilm_sum", "gsi_nsamp", "gsi_tsum", "crop_t", "crop_w", "crop_days", "crop_init")
        missing = [k for k in need if k not in st]
        if missing:
            raise ValueError(f"land state lacks {', '.join(missing)}")
        if not (np.array_equal(np.asarray(st["tile_cell"]), self.cell_flat[self.tile_cell])
                and np.array_equal(np.asarray(st["tile_pft"]), self.tile_pft)):
            raise ValueError("the restart's land tiles (cells and cover types) differ from this run's land cover; "
                             "was it written with another landcover_file or C3/C4 split?")
        if np.shape(st["pools"]) != self.pools.shape:
            raise ValueError(f"pools have shape {np.shape(st['pools'])}; expected {self.pools.shape}")
        self.pools = np.array(st["pools"], dtype=float)
        self.fire_blocks = np.array(st["fire_blocks"], dtype=float)
        self.fire_s = disturbance.season_from_blocks(self.fire_blocks)  # as set when the last block closed
        self.fire_block_acc = np.array(st["fire_block_acc"], dtype=float)
        self.fire_block_days = int(st["fire_block_days"])
        self.fire_block_pos = int(st["fire_block_pos"])
        self.fire_danger = np.array(st["fire_danger"], dtype=float)
        self.acc_wm = np.array(st["acc_wm"], dtype=float)
        self.acc_tair = np.array(st["acc_tair"], dtype=float)
        self._update_rh_coef()
        self.lai = np.array(st["lai"], dtype=float)
        self.rm_factor = np.array(st["rm_factor"], dtype=float)
        self.set_lai_year(np.array(st["lai_year"], dtype=float))
        self.acc_gpp = np.array(st["acc_gpp"], dtype=float)
        self.acc_rm = np.array(st["acc_rm"], dtype=float)
        self.acc_rg = np.array(st["acc_rg"], dtype=float)
        self.acc_xi = np.array(st["acc_xi"], dtype=float)
        self.acc_t = float(st["acc_t"])
        self.lai_sum = np.array(st["lai_sum"], dtype=float)
        self.lai_days = int(st["lai_days"])
        self.age = np.array(st["age"], dtype=float)
        self.age_ref = np.array(st["age_ref"], dtype=float)
        self.phen.load(st)

    # ---- spin-up -----------------------------------------------------------------------------------
    def spin_up(self, met_at, start, co2_ppm: float, progress=None) -> dict:
        """Cyclo-stationary steady state of every pool under one year of meteorology (``met_at(time)``).

        1. Phenology pre-roll over the last ``gsi_window`` days of the spin-up year (the days before the
           start in a periodic climate), so the GSI state at the start equals that at the year's end; the crop
           calendar is pre-rolled over the whole year (:meth:`_crop_preroll`).
        2. One year of hourly canopy from the start's midnight, collecting per day and tile GPP, daytime leaf
           respiration and LAI, and per cell the integrals of the respiration temperature factors and of the
           decomposition scalar (``co2_ppm`` fixed).
        3. Annual-mean LAI -> respiring biomass (and the carbon-use-efficiency floor, ``cue_min``).
        4. The same year again with these respiring biomasses, exactly as the run steps it (growth respiration
           per step), for the daily NPP.
        5. :meth:`intec.PoolModel.cyclostationary` for the pools at the start.
        Returns a summary (global annual GPP, NPP, Rh [PgC yr-1], soil and vegetation carbon [PgC], sweeps).
        """
        prm = self.prm
        t0 = start.replace(hour=0, minute=0, second=0)
        t1 = t0.replace(year=t0.year + 1)
        ndays = int(round((t1 - t0).total_seconds() / DAY))
        dt = int(prm.interval)
        steps_per_day = DAY // dt
        # 1. phenology pre-roll
        if self.lai_file is None:
            self.phen = GsiPhenology(self.lat_cell, prm)
            self._crop_preroll(met_at, t0, ndays, co2_ppm)
            for d in range(ndays - self.phen.window, ndays):
                day0 = t0 + _dt.timedelta(days=d)
                for h in range(steps_per_day):
                    m = self.met_arrays(met_at(day0 + _dt.timedelta(seconds=h * dt)), co2_ppm, "spin-up pre-roll")
                    self.phen.accumulate(m["t2m"] - 273.15, m["vpd"], m["soilm"])
                self.phen.end_day(day0.timetuple().tm_yday, advance_crops=False)
            self.lai = self._phenology_lai()
            phen_start = self.phen.state()
        lai_start = self.lai.copy()
        # 2. one year of canopy
        gpp_d = np.zeros((ndays, self.ntile))
        rd_d = np.zeros((ndays, self.ntile))
        lai_d = np.zeros((ndays, self.ntile))
        s_leaf = np.zeros((ndays, self.ncell))  # integral over night steps of f(T_air) [s]
        s_air = np.zeros((ndays, self.ncell))
        s_soil = np.zeros((ndays, self.ncell))
        s_air_day = np.zeros((ndays, self.ncell))  # the same over daylight steps (growth respiration)
        s_soil_day = np.zeros((ndays, self.ncell))
        xi_d = np.zeros((ndays, self.ncell))
        wm_d = np.zeros((ndays, self.ncell))  # daily integrals of the relative available water and air temperature
        ta_d = np.zeros((ndays, self.ncell))
        scale = self.age_scale()
        zero = np.zeros(self.ntile)
        # CO2 sensitivity of GPP for the transient (sampled every 7th day at +100 ppm)
        gpp_lo = np.zeros(self.ntile)
        gpp_hi = np.zeros(self.ntile)
        cell_idx_ca = beps.CELL_ROWS.index("ca")
        i_mu, i_fqa, i_fqs = (beps.CELL_ROWS.index(n) for n in ("mu", "fq_air", "fq_soil"))

        def year(second_pass):
            for d in range(ndays):
                day0 = t0 + _dt.timedelta(days=d)
                lai_d[d] = self.lai
                for h in range(steps_per_day):
                    t = day0 + _dt.timedelta(seconds=h * dt)
                    m = self.met_arrays(met_at(t), co2_ppm, f"spin-up {t}")
                    if self.lai_file is not None:
                        self.lai = np.asarray(self.lai_file.at(t), float).ravel()[self.cell_flat][self.tile_cell]
                    cell, fw, xi = self.cell_kernel(m)
                    if second_pass:
                        bl, bs, br = self._bases
                        out = beps.tile_fluxes(self.tile_cell, self.tile_pft, self.lai, self.vtop, bl, bs, br, scale,
                                               cell, self.pft_tab, self.scal_tab, nthreads=self.threads, fwtab=fw,
                                               lterm=self.lai_terms(), check=False)
                        rows = dict(zip(beps.OUT_ROWS, out))
                        gpp_d[d] += (rows["gpp_sun"] + rows["gpp_shade"]) * dt
                        rd_d[d] += (rows["rd_day"] + rows["rm_leaf"] + rows["rm_stem"] + rows["rm_root"]) * dt
                        rg2[d] += rows["rg"] * dt
                    else:
                        # unit respiration bases: the respiration is assembled from the cell integrals below
                        out = beps.tile_fluxes(self.tile_cell, self.tile_pft, self.lai, self.vtop, zero, zero, zero,
                                               scale, cell, self.pft_tab, self.scal_tab, nthreads=self.threads,
                                               fwtab=fw, lterm=self.lai_terms(), check=False)
                        rows = dict(zip(beps.OUT_ROWS, out))
                        gpp_d[d] += (rows["gpp_sun"] + rows["gpp_shade"]) * dt
                        rd_d[d] += rows["rd_day"] * dt
                        if d % 7 == 0 and (cell[i_mu] > 0).any():
                            gpp_lo[:] += rows["gpp_sun"] + rows["gpp_shade"]
                            cell_hi = cell.copy()
                            cell_hi[cell_idx_ca] += DCO2_SENSITIVITY
                            hi = beps.tile_fluxes(self.tile_cell, self.tile_pft, self.lai, self.vtop, zero, zero, zero,
                                                  scale, cell_hi, self.pft_tab, self.scal_tab, nthreads=self.threads,
                                                  fwtab=fw, lterm=self.lai_terms(), check=False)
                            gpp_hi[:] += hi[0] + hi[1]
                        night = cell[i_mu] <= 0.0
                        fq_air = cell[i_fqa]
                        fq_soil = cell[i_fqs]
                        s_leaf[d] += np.where(night, fq_air, 0.0) * dt
                        s_air[d] += fq_air * dt
                        s_soil[d] += fq_soil * dt
                        s_air_day[d] += np.where(night, 0.0, fq_air) * dt
                        s_soil_day[d] += np.where(night, 0.0, fq_soil) * dt
                        xi_d[d] += xi * dt
                        wm_d[d] += self._available_water(m["soilm"]) * dt
                        ta_d[d] += (m["t2m"] - 273.15) * dt
                    if self.lai_file is None:
                        self.phen.accumulate(m["t2m"] - 273.15, m["vpd"], m["soilm"])
                if self.lai_file is None:
                    self.phen.end_day(day0.timetuple().tm_yday)
                    self.lai = self._phenology_lai()
                if progress is not None:
                    progress(d + 1 + (ndays if second_pass else 0), 2 * ndays)

        year(False)
        # 3. respiration with the annual-mean LAI; respiring biomass capped at a carbon-use efficiency floor
        self.rm_factor = np.ones(self.ntile)
        self.set_lai_year(lai_d.mean(axis=0))
        bl, bs, br = self._bases
        tc = self.tile_cell
        rm_base_d = scale * (bl * lai_d * s_leaf[:, tc] + bs * s_air[:, tc] + br * s_soil[:, tc])
        rm_base_day = scale * (bs * s_air_day[:, tc] + br * s_soil_day[:, tc])
        g = prm.growth_resp_fraction

        def npp_of(factor):
            # growth respiration g max(GPP - Rm, 0) per step (BEPS) is zero at night; over a day it is close to
            # g (GPP - Rm_daylight) (exact when GPP >= Rm in every daylight step): good enough to choose the
            # cap; the pools use the exact daily sums of the second pass
            rm = rd_d + factor * rm_base_d
            rm_day = rd_d + factor * rm_base_day
            rg = g * np.maximum(gpp_d - rm_day, 0.0)
            return np.sum(gpp_d - rm - rg, axis=0)

        npp_year = npp_of(np.ones(self.ntile))
        target = prm.cue_min * gpp_d.sum(axis=0)
        low = npp_year < target
        if low.any():
            # NPP is decreasing in the factor: bisection for NPP = cue_min GPP on the tiles below the floor
            lo, hi = np.zeros(self.ntile), np.ones(self.ntile)
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                n_mid = npp_of(np.where(low, mid, 1.0))
                above = n_mid >= target
                lo = np.where(low & above, mid, lo)
                hi = np.where(low & ~above, mid, hi)
            self.rm_factor = np.where(low, lo, 1.0)
            self.set_lai_year(self.lai_year)
            log.info("land spin-up: respiring biomass reduced on %d of %d tiles to keep NPP >= %.2f GPP "
                     "(median factor %.2f)", int(low.sum()), self.ntile, prm.cue_min, float(np.median(lo[low])))
        lai_year = self.lai_year.copy()
        # 4. the year again, stepped as the run steps it
        if self.lai_file is None:
            self.phen.load(phen_start)
        self.lai = lai_start.copy()
        gpp_d[:] = 0.0
        rd_d[:] = 0.0  # now: all maintenance respiration
        rg2 = np.zeros((ndays, self.ntile))
        year(True)
        rm_d, rg_d = rd_d, rg2
        npp_d = (gpp_d - rm_d - rg_d) * UMOL_TO_KGC
        # fire danger of every day from the day before (periodic year); the season is the year's mean probability
        if self.fire_on:
            p_days = self.fire_probability(wm_d / DAY, ta_d / DAY)
            # the run starts with the spin-up year's five-day blocks (from its first day) in the ring
            self.fire_blocks = disturbance.year_blocks(p_days)
            self.fire_block_acc = np.zeros(self.ntile)
            self.fire_block_days = 0
            self.fire_block_pos = 0
            self.fire_s = disturbance.season_from_blocks(self.fire_blocks)
            burn_d = np.roll(disturbance.daily_burned_fraction(p_days, self.fire_s[None, :]), 1, axis=0)
            self.fire_danger = burn_d[0].copy()
        else:
            burn_d = None
        # 5. pools
        pools, sweeps = self.pools_model.cyclostationary(npp_d, xi_d[:, tc], float(DAY), tol=1e-10, maxit=300,
                                                         burn_days=burn_d)
        if np.any(pools < -1e-12):
            bad = np.argwhere(pools < -1e-12)[0]
            log.warning("land spin-up: %d tiles have negative steady-state pools (annual NPP <= 0 under this "
                        "climate); e.g. cover type %d at cell %d pool %s", int((pools < -1e-12).any(axis=1).sum()),
                        self.tile_pft[bad[0]], self.cell_flat[tc[bad[0]]], intec.POOL_NAMES[bad[1]])
        self.pools = pools
        self._update_rh_coef()
        self.set_lai_year(lai_year)
        self._acc_zero()
        self.lai_sum[:] = 0.0
        self.lai_days = 0
        if self.lai_file is None:
            self.phen.load(phen_start)
        self.lai = lai_start
        area = self.tile_frac * self.area_cell[tc]
        gl = lambda x: float(np.sum(x * area)) / 1e12  # noqa: E731
        budget = self.pools_model.year_budget(pools, npp_d, xi_d[:, tc], float(DAY), burn_d)
        summary = {"gpp": gl(gpp_d.sum(axis=0) * UMOL_TO_KGC), "npp": gl(npp_d.sum(axis=0)),
                   "rh": gl(budget["rh"]), "fire": gl(budget["fire"]), "harvest": gl(budget["harvest"]),
                   "year_change": gl((budget["end"] - pools).sum(axis=1)),
                   "burned_area": float(np.sum(budget["burned"] * area)) / 1e12,  # Mkm2 yr-1
                   "veg_carbon": gl(pools[:, :intec.CWD].sum(axis=1)),
                   "litter_carbon": gl(pools[:, intec.CWD:intec.SMIC].sum(axis=1)),
                   "soil_carbon": gl(pools[:, intec.SMIC:].sum(axis=1)), "sweeps": sweeps, "days": ndays,
                   "npp_negative_tiles": int((npp_d.sum(axis=0) <= 0).sum()),
                   "rm_capped_tiles": int((self.rm_factor < 1.0).sum())}
        with np.errstate(invalid="ignore", divide="ignore"):
            beta = np.where((gpp_lo > 0) & (gpp_hi > 0), np.log(gpp_hi / np.where(gpp_lo > 0, gpp_lo, 1.0))
                            / np.log((co2_ppm + DCO2_SENSITIVITY) / co2_ppm), 0.0)
        self.spinup_daily = {"gpp": gpp_d, "npp": npp_d, "xi": xi_d[:, tc], "rm": rm_d, "rg": rg_d, "co2": co2_ppm,
                             "beta": beta, "burn": burn_d}
        summary["gpp_co2_beta"] = float(np.sum(beta * gpp_d.sum(axis=0) * area) / max(np.sum(gpp_d.sum(axis=0) * area),
                                                                                      1e-300))
        return summary

    def _spinup_daily(self) -> dict:
        d = getattr(self, "spinup_daily", None)
        if d is None:
            raise RuntimeError("LandModel.transient needs a spin_up first")
        return d

    def transient_daily(self, co2_ppm: float) -> tuple[np.ndarray, np.ndarray]:
        """Daily GPP and NPP [umol m-2 per day] (ndays, ntile) of the spin-up year at ``co2_ppm``, as the transient
        steps them: GPP scaled per tile by ``(C / C_spin)^beta``, maintenance respiration unchanged, growth
        respiration following the extra GPP (all of it daylight, so the per-step growth respiration follows it)."""
        d = self._spinup_daily()
        gpp = d["gpp"] * np.power(co2_ppm / d["co2"], d["beta"])
        rg = np.maximum(d["rg"] + self.prm.growth_resp_fraction * (gpp - d["gpp"]), 0.0)
        return gpp, gpp - d["rm"] - rg

    def transient(self, co2_of_year, first_year: int, last_year: int) -> list[float]:
        """InTEC-style transient of the pools after :meth:`spin_up`: years ``first_year..last_year`` under the
        spin-up year's climate and the CO2 of each year.

        Daily GPP is that of the spin-up year scaled by ``(C / C_spin)^beta`` per tile, with ``beta`` the
        tile's GPP sensitivity to CO2 from the Farquhar model (sampled in the spin-up at +100 ppm); maintenance
        respiration is unchanged, growth respiration and NPP follow; the pools advance with the same daily
        step as the run (Chen et al. 2000: the transient as annual NPP factors on a reference year). Returns
        the land carbon sink [PgC yr-1] of every year. The state afterwards is that at the start of the run.
        """
        xi_d = self._spinup_daily()["xi"]
        burn_d = self._spinup_daily()["burn"]
        pm = self.pools_model
        area = self.tile_frac * self.area_cell[self.tile_cell]
        sinks = []
        self.transient_budgets = []  # per year: global NPP, Rh, fire, harvest [PgC yr-1]
        for year in range(first_year, last_year + 1):
            npp = self.transient_daily(float(co2_of_year(year)))[1] * UMOL_TO_KGC
            c0 = float(np.sum(self.pools.sum(axis=1) * area))
            budget = pm.year_budget(self.pools, npp, xi_d, float(DAY), burn_d)
            self.pools = budget["end"]
            self.transient_budgets.append({k: float(np.sum(budget[k] * area)) / 1e12
                                           for k in ("npp", "rh", "fire", "harvest")})
            sinks.append((float(np.sum(self.pools.sum(axis=1) * area)) - c0) / 1e12)
        self._update_rh_coef()
        return sinks
