"""Land carbon sink of an InTEC-style transient under the historical CO2 rise (embedded climatology).

    python validation/land/transient_sink.py [--grid 4x5] [--start 1850] [--end 2022] [--scenario ssp245]

1. analytic spin-up of all pools at the RCMIP CO2 of ``--start`` (284.3 ppm in 1850) under the embedded
   climatology (one year of hourly BEPS, semi-analytic pools: net flux zero to round-off);
2. the transient of :meth:`esm.land.model.LandModel.transient` from ``--start`` to ``--end``: the spin-up
   year's daily fluxes with GPP scaled per tile by ``(C / C_spin)^beta`` (beta from the Farquhar model at
   +100 ppm, sampled in the spin-up), growth respiration following GPP, maintenance respiration unchanged,
   the pools stepped daily as in a run (Chen et al. 2000, GBC 14, 839: InTEC's transient as annual NPP
   factors on a reference year);
3. the sink (change of land carbon per year) by decade, its mean over 2013-2022 beside the Global Carbon
   Budget land sink (3.2 +- 0.8 PgC/yr, Friedlingstein et al. 2023; REFERENCES.md), and NPP and
   Rh, fire and harvest of the last year beside the present-day ranges (NPP 45-65, Rh 45-60).

Only CO2 changes: the climate is the climatology's every year, no nitrogen deposition trend, no land-use
change, fire and harvest from the spin-up climate every year (they follow the pools, not a fire trend), so the
number is the CO2-fertilisation part of the land sink (the GCB sink also holds
the climate and nitrogen effects). Writes ``output/transient_<grid>.md``; ~3 min at 4x5 on 2 cores.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from esm import forcing_series  # noqa: E402
from esm.land.model import UMOL_TO_KGC  # noqa: E402
from validate_land import build_offline  # noqa: E402

log = logging.getLogger("transient_sink")
GCB_LAND_SINK = (3.2, 0.8)  # PgC/yr, 2013-2022 (Friedlingstein et al. 2023)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--start", type=int, default=1850)
    ap.add_argument("--end", type=int, default=2022)
    ap.add_argument("--scenario", default="ssp245", help="RCMIP scenario after 2014 (history before)")
    ap.add_argument("--out", default=str(HERE / "output"))
    ap.add_argument("--set", action="append", default=[], help="namelist override group.key=value")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import cftime

    def co2(year):
        return float(forcing_series.co2_at(year + 0.5, args.scenario))

    model, prov, grid = build_offline(args.grid, args.set)
    t0 = time.perf_counter()
    spin = model.spin_up(prov.at, cftime.datetime(2021, 1, 1, calendar="noleap"), co2(args.start))
    t_spin = time.perf_counter() - t0
    log.info("spin-up at %.1f ppm (%.0f s): %s", co2(args.start), t_spin, spin)
    c0 = model.total_carbon() / 1e12
    t0 = time.perf_counter()
    sinks = np.array(model.transient(co2, args.start, args.end))
    t_tr = time.perf_counter() - t0
    c1 = model.total_carbon() / 1e12
    years = np.arange(args.start, args.end + 1)

    # GPP and NPP of the last year, as the transient stepped it
    gpp, npp = model.transient_daily(co2(args.end))
    area = model.tile_frac * model.area_cell[model.tile_cell]
    per_day = UMOL_TO_KGC / 1e12  # the daily rows are umol m-2 per day
    gpp_end = float(np.sum(gpp.sum(axis=0) * area)) * per_day
    npp_end = float(np.sum(npp.sum(axis=0) * area)) * per_day
    last_budget = model.transient_budgets[-1]
    rh_end, fire_end, harvest_end = last_budget["rh"], last_budget["fire"], last_budget["harvest"]

    last = (years >= 2013) & (years <= 2022)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = "".join(f" --set {s}" for s in args.set)
    lines = [f"# Land carbon sink under the historical CO2 rise ({args.grid}, embedded climatology)", "",
             f"Command: `python validation/land/transient_sink.py --grid {args.grid} --start {args.start} "
             f"--end {args.end} --scenario {args.scenario}{sets}`", "",
             f"Spin-up at {co2(args.start):.1f} ppm ({args.start}; {t_spin:.0f} s): GPP {spin['gpp']:.1f}, "
             f"NPP {spin['npp']:.1f}, Rh {spin['rh']:.1f}, fire {spin['fire']:.2f}, harvest {spin['harvest']:.2f} "
             f"PgC/yr, soil carbon {spin['soil_carbon']:.0f} PgC, GPP-weighted CO2 "
             f"sensitivity beta = {spin['gpp_co2_beta']:.3f} (d ln GPP / d ln CO2). Transient {args.start}-{args.end} "
             f"({t_tr:.0f} s): only CO2 changes (see the script's docstring).", "",
             "| decade | CO2 [ppm] | land sink [PgC/yr] |", "|---|---|---|"]
    for y in range(args.start - args.start % 10, args.end + 1, 10):
        sel = (years >= y) & (years < y + 10)
        if sel.any():
            lines.append(f"| {y}s | {np.mean([co2(v) for v in years[sel]]):.1f} | {sinks[sel].mean():+.2f} |")
    lines += ["",
              "| quantity | model | reference |", "|---|---|---|"]
    if last.sum() == 10:
        lines.append(f"| land sink 2013-2022 [PgC/yr] | {sinks[last].mean():.2f} | {GCB_LAND_SINK[0]} +- "
                     f"{GCB_LAND_SINK[1]} (GCB 2023; CO2 + climate + N, not CO2 alone) |")
    lines += [f"| cumulative sink {args.start}-{args.end} [PgC] | {sinks.sum():.0f} (pools {c1 - c0:+.0f}) | |",
              f"| GPP {args.end} [PgC/yr] | {gpp_end:.1f} | 110-150 |",
              f"| NPP {args.end} [PgC/yr] | {npp_end:.1f} | 45-65 |",
              f"| Rh {args.end} [PgC/yr] | {rh_end:.1f} | 45-60 |",
              f"| fire / crop harvest {args.end} [PgC/yr] | {fire_end:.2f} / {harvest_end:.2f} | GFED4s fire 2.2 |",
              f"| NPP - Rh - fire - harvest {args.end} [PgC/yr] | {npp_end - rh_end - fire_end - harvest_end:.2f} "
              f"(= sink {sinks[-1]:.2f}) | |", ""]
    text = "\n".join(lines) + "\n"
    (out / f"transient_{args.grid}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
