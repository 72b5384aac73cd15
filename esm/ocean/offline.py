"""Run the ocean carbon model alone under a prescribed global-mean atmospheric CO2 history.

Used for the pre-industrial spin-up, to bring a cold start up to the present (the component's
``init_mode = 'historical'``) and by ``validation/ocean/historical.py``. The surface meteorology is one
climatological year (12 mid-month states of the meteorology provider) repeated every year, so the
uptake responds to CO2 alone (no climate feedback). CO2 is the RCMIP annual mean interpolated to the
middle of each step (:func:`esm.forcing_series.co2_at`); after 2014 the chosen SSP continues it.

Command line::

    python -m esm.ocean.offline --grid 4x5 --start 1850 --end 2100 --scenario ssp245 --csv out.csv
"""
from __future__ import annotations

import argparse
import logging
import time as _time
from dataclasses import dataclass, replace

import numpy as np

from esm.forcing_series import co2_at
from esm.ocean.model import PGC_PER_MOL, SECONDS_PER_YEAR, MixedLayerCarbon, SurfaceForcing

log = logging.getLogger(__name__)


@dataclass
class OceanCells:
    """The ocean cells of a grid: boolean mask (nlat, nlon), their coordinates and ocean areas [m2]."""

    mask: np.ndarray
    ocean_fraction: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    area: np.ndarray


def ocean_cells(grid, land_fraction, min_fraction=1.0e-3) -> OceanCells:
    lf = np.asarray(land_fraction, dtype=float)
    if lf.shape != grid.shape or not np.all(np.isfinite(lf)) or lf.min() < 0 or lf.max() > 1:
        raise ValueError(f"land_fraction must be finite in [0, 1] with shape {grid.shape}")
    ofr = 1.0 - lf
    mask = ofr > min_fraction
    if not mask.any():
        raise ValueError("the grid has no ocean cell (land_fraction ~ 1 everywhere)")
    lat = np.broadcast_to(grid.lat[:, None], grid.shape)[mask]
    lon = np.broadcast_to(grid.lon[None, :], grid.shape)[mask]
    return OceanCells(mask, np.where(mask, ofr, 0.0), lat.copy(), lon.copy(), (grid.area * ofr)[mask])


def forcing_from_met(met, cells: OceanCells, xco2=None) -> SurfaceForcing:
    """Surface forcing on the ocean cells from a MetState (``xco2`` [mol mol-1] scalar or per cell)."""
    m = cells.mask
    x = np.zeros(int(m.sum())) if xco2 is None else np.broadcast_to(np.asarray(xco2, dtype=float), (int(m.sum()),))
    return SurfaceForcing(np.asarray(met.sst)[m], np.asarray(met.sss)[m], np.asarray(met.wind10)[m],
                          np.asarray(met.seaice)[m], np.asarray(met.ps)[m], np.array(x, dtype=float))


def monthly_forcing(provider, cells: OceanCells, year: int = 2001, calendar: str = "standard") -> list:
    """12 mid-month surface states of a meteorology provider (one climatological year)."""
    import cftime

    return [forcing_from_met(provider.at(cftime.datetime(year, mo, 15, calendar=calendar)), cells)
            for mo in range(1, 13)]


def spin_up(model: MixedLayerCarbon, forcings: list, years: int, target_pgc: float) -> float:
    """Pre-industrial spin-up of ``model`` under one climatological year (see MixedLayerCarbon.calibrate)."""
    pi = model.p["co2_preindustrial"] * 1e-6
    fs = [replace(f, xco2=np.full_like(f.sst, pi)) for f in forcings]
    if years <= 0:
        return model.calibrate(fs[:1] if len(fs) == 1 else fs, 0, target_pgc)
    return model.calibrate(fs, years, target_pgc)


@dataclass
class OfflineResult:
    """Annual series of an offline run (one row per calendar year)."""

    year: np.ndarray
    co2_ppm: np.ndarray        # annual-mean atmospheric CO2
    sink_pgc: np.ndarray       # anthropogenic ocean sink, PgC/yr (positive = into the ocean): -(F - F_nat)
    net_flux_pgc: np.ndarray   # total air-sea flux, PgC/yr, positive upward
    natural_flux_pgc: np.ndarray
    ph: np.ndarray             # area-weighted annual-mean surface pH
    pco2_uatm: np.ndarray      # area-weighted annual-mean surface pCO2
    revelle: np.ndarray        # area-weighted annual-mean Revelle factor
    cumulative_pgc: np.ndarray  # cumulative anthropogenic uptake since the start, end of year
    maps: dict                 # year -> {'flux', 'flux_nat', 'revelle', 'ph', 'pco2'} annual means (ocean cells)


def run(model: MixedLayerCarbon, forcings: list, start_year: int, end_year: int, scenario: str = "ssp245",
        steps_per_year: int = 12, map_years=(), progress: bool = False) -> OfflineResult:
    """Step ``model`` from 1 January ``start_year`` to 31 December ``end_year`` under prescribed CO2.

    ``forcings`` holds ``steps_per_year`` surface states (one climatological year) or 12 when stepping
    monthly. CO2 comes from ``scenario`` ('historical' ends in 2014; an SSP continues to 2500).
    """
    if len(forcings) != steps_per_year:
        raise ValueError(f"{len(forcings)} forcing states for {steps_per_year} steps per year")
    dt = SECONDS_PER_YEAR / steps_per_year
    area = model.area
    atot = float(area.sum())
    rows, maps = [], {}
    cum = float(np.sum(model.uptake * area)) * PGC_PER_MOL
    t0 = _time.perf_counter()
    for yr in range(start_year, end_year + 1):
        acc = {"sink": 0.0, "net": 0.0, "nat": 0.0, "ph": 0.0, "pco2": 0.0, "rev": 0.0, "co2": 0.0}
        want_map = yr in map_years
        amap = {k: np.zeros(model.n) for k in ("flux", "flux_nat", "revelle", "ph", "pco2")} if want_map else None
        for i in range(steps_per_year):
            ppm = float(co2_at(yr + (i + 0.5) / steps_per_year, scenario))
            f = forcings[i]
            out = model.step(dt, replace(f, xco2=np.full_like(f.sst, ppm * 1e-6)),
                             where=f"ocean offline {yr}-{i + 1:02d}")
            w = 1.0 / steps_per_year
            acc["co2"] += w * ppm
            acc["sink"] -= w * model.global_flux_pgc(out["flux"] - out["flux_nat"])
            acc["net"] += w * model.global_flux_pgc(out["flux"])
            acc["nat"] += w * model.global_flux_pgc(out["flux_nat"])
            acc["ph"] += w * float(np.sum(out["ph"] * area)) / atot
            acc["pco2"] += w * float(np.sum(out["pco2"] * area)) / atot * 1e6
            acc["rev"] += w * float(np.sum(out["revelle"] * area)) / atot
            if want_map:
                for k in amap:
                    amap[k] += w * out[k]
        cum = float(np.sum(model.uptake * area)) * PGC_PER_MOL
        rows.append((yr, acc["co2"], acc["sink"], acc["net"], acc["nat"], acc["ph"], acc["pco2"], acc["rev"], cum))
        if want_map:
            maps[yr] = amap
        if progress and (yr % 25 == 0 or yr == end_year):
            log.info("ocean offline %d: CO2 %.1f ppm, sink %.2f PgC/yr (%.0f s)", yr, acc["co2"], acc["sink"],
                     _time.perf_counter() - t0)
    a = np.array(rows)
    return OfflineResult(a[:, 0].astype(int), a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5], a[:, 6], a[:, 7],
                         a[:, 8], maps)


def setup(grid_spec: str = "4x5", params: dict | None = None, provider=None):
    """(model, cells, monthly forcings) on a grid with the embedded climatology (or ``provider``)."""
    from esm.grid import Grid
    from esm.ocean.params import defaults

    grid = Grid.from_spec(grid_spec)
    if provider is None:
        from esm.meteorology.climatology import Climatology
        from esm.vertical import VerticalCoordinate

        provider = Climatology(grid, VerticalCoordinate.from_name("coarse11"))
    import cftime

    met0 = provider.at(cftime.datetime(2001, 1, 15, calendar="standard"))
    p = defaults()
    p.update(params or {})
    cells = ocean_cells(grid, met0.land_fraction, p["min_ocean_fraction"])
    model = MixedLayerCarbon(p, cells.lat, cells.lon, cells.area)
    return model, cells, monthly_forcing(provider, cells), grid


def main(argv=None):
    ap = argparse.ArgumentParser(description="Offline ocean carbon run under prescribed CO2")
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--start", type=int, default=1850)
    ap.add_argument("--end", type=int, default=2100)
    ap.add_argument("--scenario", default="ssp245")
    ap.add_argument("--spinup-years", type=int, default=20)
    ap.add_argument("--csv", help="write the annual series here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = _time.perf_counter()
    model, cells, forcings, grid = setup(args.grid)
    nat = spin_up(model, forcings, args.spinup_years, model.p["natural_flux_target"])
    log.info("spin-up: natural flux %.3f PgC/yr, preformed DIC %.1f umol/kg (%.1f s)", nat, model.c_pre * 1e6,
             _time.perf_counter() - t0)
    res = run(model, forcings, args.start, args.end, args.scenario, progress=True)
    log.info("done in %.1f s", _time.perf_counter() - t0)
    if args.csv:
        hdr = "year,co2_ppm,sink_pgc_yr,net_flux_pgc_yr,natural_flux_pgc_yr,ph,pco2_uatm,revelle,cumulative_pgc"
        np.savetxt(args.csv, np.column_stack([res.year, res.co2_ppm, res.sink_pgc, res.net_flux_pgc,
                                              res.natural_flux_pgc, res.ph, res.pco2_uatm, res.revelle,
                                              res.cumulative_pgc]), delimiter=",", header=hdr, comments="",
                   fmt=["%d"] + ["%.6g"] * 8)


if __name__ == "__main__":
    main()
