"""Offline historical ocean-carbon run 1850-2022 under prescribed RCMIP CO2, compared with the references.

Run from the repository root (about one minute on the 4x5 grid)::

    python validation/ocean/historical.py [--grid 4x5] [--out validation/ocean/output]

Reports (REFERENCES.md): the ocean sink 2013-2022 (GCB 2023: 2.9 +/- 0.4, accepted range 2.5-3.3 PgC/yr),
the cumulative uptake 1850-2022 next to the GCB estimate, the surface pH decline since 1850 (observed
~0.1), the present-day (2013-2022 mean) flux pattern with its tropical source and high-latitude sinks,
the pre-industrial (natural) flux by region, and the Revelle factor by latitude (~8-9 tropics,
13-15 high latitudes, ~10 global mean). Writes a markdown report, the annual series (CSV) and maps (PNG).
The meteorology is the embedded climatology repeated every year (no climate change), so the run
measures the response to rising CO2 alone. Numbers outside a reference range are reported, not tuned.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from esm.ocean import offline  # noqa: E402

GCB_SINK_2013_2022 = (2.9, 0.4)  # PgC/yr, Friedlingstein et al. 2023 (REFERENCES.md)
SINK_RANGE = (2.5, 3.3)
GCB_CUMULATIVE_1850_2022 = (180.0, 35.0)  # PgC, GCB 2023 cumulative ocean sink (Table 8; not re-verified here)


def band_totals(model, flux, bands):
    lat = model.lat
    return [(a, b, model.global_flux_pgc(np.where((lat >= a) & (lat < b), flux, 0.0))) for a, b in bands]


def to_grid(cells, values):
    a = np.full(cells.mask.shape, np.nan)
    a[cells.mask] = values
    return a


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--spinup-years", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "output"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, cells, forcings, grid = offline.setup(args.grid)
    nat_total = offline.spin_up(model, forcings, args.spinup_years, model.p["natural_flux_target"])
    t_spin = time.perf_counter() - t0
    # natural (pre-industrial) annual-mean flux pattern from one more natural year
    state = model.state()
    fnat = np.zeros(model.n)
    for f in forcings:
        from dataclasses import replace
        fnat += model.step(offline.SECONDS_PER_YEAR / 12, replace(f, xco2=np.full_like(f.sst, model.p["co2_preindustrial"] * 1e-6)),
                           natural_only=True)["flux_nat"] / 12
    model.load_state(state)
    t1 = time.perf_counter()
    map_years = tuple(range(2013, 2023))
    res = offline.run(model, forcings, 1850, 2022, "ssp245", map_years=map_years)
    t_run = time.perf_counter() - t1

    sel = (res.year >= 2013) & (res.year <= 2022)
    sink = float(res.sink_pgc[sel].mean())
    cum = float(res.cumulative_pgc[-1])
    dph = float(res.ph[res.year == 2022][0] - res.ph[res.year == 1850][0])
    flux_pd = np.mean([res.maps[y]["flux"] for y in map_years], axis=0)
    rev_pd = np.mean([res.maps[y]["revelle"] for y in map_years], axis=0)
    area = model.area
    bands = [(-90, -50), (-50, -30), (-30, -10), (-10, 10), (10, 30), (30, 50), (50, 90)]
    pd_bands = band_totals(model, flux_pd, bands)
    nat_bands = band_totals(model, fnat, bands)
    lat, lon = model.lat, model.lon
    spna = (lat > 45) & (lat < 70) & (lon > -60) & (lon < 10)
    rev_bands = []
    for a, b in ((-15, 15), (-40, -15), (15, 40), (-90, -45), (45, 90)):
        m = (lat >= a) & (lat < b)
        rev_bands.append((a, b, float(np.sum(rev_pd[m] * area[m]) / np.sum(area[m]))))
    rev_global = float(np.sum(rev_pd * area) / np.sum(area))

    ok_sink = SINK_RANGE[0] <= sink <= SINK_RANGE[1]
    lines = [
        "# Ocean carbon: offline historical run 1850-2022",
        "",
        f"Command: `python validation/ocean/historical.py --grid {args.grid}`; embedded climatology repeated every "
        f"year; RCMIP CO2 (historical, SSP2-4.5 after 2014); monthly steps. Spin-up {args.spinup_years} yr: "
        f"{t_spin:.1f} s; 1850-2022: {t_run:.1f} s ({model.n} ocean cells).",
        "",
        "| quantity | model | reference |",
        "|---|---|---|",
        f"| ocean sink 2013-2022 (PgC/yr) | {sink:.2f} | {GCB_SINK_2013_2022[0]} +/- {GCB_SINK_2013_2022[1]} (GCB 2023); "
        f"accepted {SINK_RANGE[0]}-{SINK_RANGE[1]}: {'inside' if ok_sink else 'OUTSIDE'} |",
        f"| cumulative uptake 1850-2022 (PgC) | {cum:.0f} | {GCB_CUMULATIVE_1850_2022[0]:.0f} +/- "
        f"{GCB_CUMULATIVE_1850_2022[1]:.0f} (GCB 2023) |",
        f"| surface pH change 1850-2022 | {dph:+.3f} | about -0.1 (observed) |",
        f"| surface pH 1850 / 2022 | {res.ph[0]:.3f} / {res.ph[-1]:.3f} | |",
        f"| global-mean Revelle factor 2013-2022 | {rev_global:.1f} | about 10 |",
        f"| natural (pre-industrial) global flux (PgC/yr) | {nat_total:+.3f} | calibrated to {model.p['natural_flux_target']} |",
        "",
        "Sink by decade (PgC/yr): " + ", ".join(
            f"{d}s {res.sink_pgc[(res.year >= d) & (res.year < d + 10)].mean():.2f}" for d in range(1960, 2021, 10)),
        "",
        "## Flux by latitude band (PgC/yr, positive = outgassing)",
        "",
        "| band | pre-industrial (natural) | 2013-2022 (total) |",
        "|---|---|---|",
    ]
    for (a, b, n), (_, _, p) in zip(nat_bands, pd_bands):
        lines.append(f"| {a} to {b} | {n:+.2f} | {p:+.2f} |")
    lines += [
        f"| subpolar N Atlantic (45-70 N, 60 W-10 E) | {model.global_flux_pgc(np.where(spna, fnat, 0)):+.2f} | "
        f"{model.global_flux_pgc(np.where(spna, flux_pd, 0)):+.2f} |",
        "",
        "## Revelle factor (area-weighted, 2013-2022)",
        "",
        "| band | Revelle | reference |",
        "|---|---|---|",
    ]
    refs = {(-15, 15): "8-9 (tropics)", (-90, -45): "13-15 (high latitudes)", (45, 90): "13-15 (high latitudes)"}
    for a, b, r in rev_bands:
        lines.append(f"| {a} to {b} | {r:.1f} | {refs.get((a, b), '')} |")
    report = "\n".join(lines) + "\n"
    (out / "historical_report.md").write_text(report)
    hdr = "year,co2_ppm,sink_pgc_yr,net_flux_pgc_yr,natural_flux_pgc_yr,ph,pco2_uatm,revelle,cumulative_pgc"
    np.savetxt(out / "historical_annual.csv", np.column_stack([res.year, res.co2_ppm, res.sink_pgc, res.net_flux_pgc,
                                                                res.natural_flux_pgc, res.ph, res.pco2_uatm,
                                                                res.revelle, res.cumulative_pgc]),
               delimiter=",", header=hdr, comments="", fmt=["%d"] + ["%.6g"] * 8)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(3, 1, figsize=(8, 11))
        secs = offline.SECONDS_PER_YEAR
        for ax, field, title, cmap, lim in (
                (axes[0], fnat * secs * 12.0107, "pre-industrial (natural) flux, gC m-2 yr-1 (+ = outgassing)", "RdBu_r", 60),
                (axes[1], flux_pd * secs * 12.0107, "2013-2022 mean flux, gC m-2 yr-1 (+ = outgassing)", "RdBu_r", 60),
                (axes[2], rev_pd, "2013-2022 Revelle factor", "viridis", None)):
            g = to_grid(cells, field)
            kw = {"vmin": -lim, "vmax": lim} if lim else {"vmin": 8, "vmax": 16}
            im = ax.pcolormesh(grid.lon_edges, grid.lat_edges, g, cmap=cmap, shading="flat", **kw)
            ax.set_title(title, fontsize=10)
            fig.colorbar(im, ax=ax, shrink=0.8)
        fig.tight_layout()
        fig.savefig(out / "historical_maps.png", dpi=80)
    except ImportError:
        pass
    print(report)


if __name__ == "__main__":
    main()
