"""Cost of the embedded climatology per field and per model step, against the transport step.

At 1x1 degree, 47 levels (default), the model's meteorology path runs for ``--hours`` simulated hours
with ``--dt``: per step ``at(t)`` and the fields the transport reads (t, cmfmc, dtrain, pblh, ustar,
shflx, t2m), then ``step_fluxes`` (mean flow, overturning, eddies, pressure fixer), then the transport
step itself (esm.transport, 3 tracers, advection + diffusion + convection). Each field's cost is timed
separately in the order the coupler uses them; the first access to a field pays for the records it
needs. Also timed: the hourly land call (the nine surface fields the land reads, on the full grid),
the same fields on the land cells only (:meth:`Climatology.cell_sampler`, the spin-up fast path), the
remaining surface and 3-D fields (qv, u, v) and the construction.

Timings on a shared 2-core machine are noisy: medians and the ratio to the transport step are from
one run; the load average is reported. The default run is one simulated day from 12 UTC, so it crosses
one midnight, where the daily records are rebuilt as in a long run: the mean over the steps after the
first one is the cost per step of a long run (the first step builds two records of each kind, a
start-up cost paid once per run). The issue's target is a ratio below 0.20. ``--no-transport`` skips the transport (field costs only).
The script uses only the public interface, so it also runs on older versions of the code
(``PYTHONPATH=<other checkout>``), for before/after tables.

``--no-prefetch`` builds the next day's records at midnight on the main thread instead of in the background
(``prefetch = .false.``), for the A/B comparison of the background build.

Usage: PYTHONPATH=. python validation/meteorology/benchmark_climatology.py [--grid 1x1] [--dt 900]
Writes output/benchmark_climatology_<grid>.md (``--tag`` adds a suffix).
"""
from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path

import cftime
import numpy as np

OUT = Path(__file__).resolve().parent / "output"
TRANSPORT_FIELDS = ("t", "cmfmc", "dtrain", "pblh", "ustar", "shflx", "t2m")
LAND_FIELDS = ("t2m", "tskin", "tsoil", "vpd", "swdown", "swdown_diffuse", "cos_sza", "soilm", "ps")
OTHER_SURFACE = ("q2m", "par", "precip", "wind10", "sst", "sss", "seaice", "land_fraction")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", default="1x1")
    ap.add_argument("--levels", default="geos47")
    ap.add_argument("--dt", type=int, default=900)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--start", default="2020-07-01T12:00")
    ap.add_argument("--no-transport", action="store_true")
    ap.add_argument("--tag", default="")
    ap.add_argument("--no-prefetch", action="store_true",
                    help="build the next day's records at midnight on the main thread (prefetch = false)")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    from esm.grid import Grid
    from esm.meteorology.climatology import Climatology
    from esm.vertical import VerticalCoordinate
    load0 = os.getloadavg()
    grid = Grid.from_spec(a.grid)
    vc = VerticalCoordinate.from_name(a.levels)
    s = time.perf_counter()
    clim = Climatology(grid, vc, {"prefetch": False}) if a.no_prefetch else Climatology(grid, vc)
    t_construct = time.perf_counter() - s
    d = datetime.datetime.fromisoformat(a.start)
    t0 = cftime.datetime(d.year, d.month, d.day, d.hour, d.minute, calendar="standard")
    tr = atm = None
    if not a.no_transport:
        from esm.atmosphere import Atmosphere
        from esm.config.registry import schema
        from esm.tracers import TracerSet
        from esm.transport.core import Transport
        cfg = schema().resolve({"grid_nml": {"horizontal": a.grid, "vertical": a.levels},
                                "transport_nml": {"enabled": True}})
        tracers = TracerSet(["co2", "ch4", "passive1"])
        tr = Transport(cfg, grid, vc, tracers)
        atm = Atmosphere.from_surface_pressure(grid, vc, tracers, clim.at(t0).ps,
                                               np.ones((3, vc.nlev) + grid.shape))
    cost: dict[str, list[float]] = {k: [] for k in TRANSPORT_FIELDS + ("step_fluxes", "transport")}
    nsteps = int(round(a.hours * 3600 / a.dt))
    t = t0
    ps = np.asarray(clim.at(t0).ps, dtype=np.float64).copy()
    for _ in range(nsteps):
        met = clim.at(t)
        for name in TRANSPORT_FIELDS:
            s = time.perf_counter()
            met[name]
            cost[name].append(time.perf_counter() - s)
        s = time.perf_counter()
        mf = clim.step_fluxes(t, a.dt, atm.surface_pressure() if atm is not None else ps)
        cost["step_fluxes"].append(time.perf_counter() - s)
        if tr is not None:
            s = time.perf_counter()
            tr.step(atm, mf, met, a.dt)
            cost["transport"].append(time.perf_counter() - s)
        else:
            ps = mf.ps_end
        t = t + datetime.timedelta(seconds=a.dt)
    met_total = np.sum([cost[k] for k in TRANSPORT_FIELDS + ("step_fluxes",)], axis=0)

    # hourly land calls (a fresh hour each time, as the land component's hourly step)
    land_full, land_cells, other, three = [], [], [], {"qv": [], "u": [], "v": []}
    cells = np.flatnonzero(np.asarray(clim.at(t0).land_fraction).ravel() > 0)
    sampler = clim.cell_sampler(LAND_FIELDS, cells) if hasattr(clim, "cell_sampler") else None
    base = t0 + datetime.timedelta(days=40, minutes=30)
    for h in range(48):
        th = base + datetime.timedelta(hours=h)
        s = time.perf_counter()
        m = clim.at(th)
        for name in LAND_FIELDS:
            m[name]
        land_full.append(time.perf_counter() - s)
        s = time.perf_counter()
        for name in OTHER_SURFACE:
            m[name]
        other.append(time.perf_counter() - s)
        if sampler is not None:
            s = time.perf_counter()
            sampler(th + datetime.timedelta(days=100))
            land_cells.append(time.perf_counter() - s)
    for h in range(6):
        m = clim.at(base + datetime.timedelta(days=3, hours=h))
        for name in three:
            s = time.perf_counter()
            m[name]
            three[name].append(time.perf_counter() - s)
    load1 = os.getloadavg()

    def row(name, x, denom=None):
        x = np.asarray(x) * 1e3
        r = f"| {name} | {np.median(x):.2f} | {np.mean(x):.2f} | {np.max(x):.2f} |"
        if denom is not None:
            r += f" {np.median(x) / denom:.3f} |"
        else:
            r += " |"
        return r

    tt = np.median(cost["transport"]) * 1e3 if cost["transport"] else None
    lines = [f"# Embedded climatology: cost per field and per step{(' (' + a.tag + ')') if a.tag else ''}\n",
             f"Grid {a.grid}, {a.levels}, dt = {a.dt} s, {nsteps} steps from {a.start}; "
             f"OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')}; load average "
             f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end (2 cores){'; prefetch off' if a.no_prefetch else ''}. Construction "
             f"{t_construct:.2f} s.\n",
             "Per model step (the first access to a field pays for its records):\n",
             "| field | median (ms) | mean (ms) | max (ms) | median / transport step |", "|---|---|---|---|---|"]
    for name in TRANSPORT_FIELDS + ("step_fluxes",):
        lines.append(row(name, cost[name], tt))
    lines.append(row("**all meteorology of a step**", met_total, tt))
    if tt is not None:
        lines.append(row("transport step (3 tracers)", cost["transport"], tt))
    lines += ["", "Other calls:\n", "| call | median (ms) | mean (ms) | max (ms) | |", "|---|---|---|---|---|",
              row(f"hourly land call: {len(LAND_FIELDS)} surface fields, full grid", land_full),
              row("the other surface fields at the same times", other)]
    if land_cells:
        lines.append(row(f"hourly land call on the {cells.size} land cells only (cell_sampler)", land_cells))
    for name, x in three.items():
        lines.append(row(f"{name} (3-D, hourly)", x))
    if tt is not None:
        tr_all = np.asarray(cost["transport"])
        lines += ["", f"Ratio all meteorology / transport step: median {np.median(met_total) * 1e3 / tt:.3f}; "
                  f"mean {np.mean(met_total) / np.mean(tr_all):.3f} over all {nsteps} steps (including the "
                  f"first step's start-up, {met_total[0] * 1e3:.0f} ms); mean "
                  f"{np.mean(met_total[1:]) / np.mean(tr_all[1:]):.3f} over steps 2-{nsteps} (the cost per step "
                  f"of a long run, with the daily record rebuilds). Issue #4 target: < 0.20.",
                  "", f"Wall time per step, meteorology + transport, steps 2-{nsteps}: mean "
                  f"{(np.mean(met_total[1:]) + np.mean(tr_all[1:])) * 1e3:.0f} ms (meteorology "
                  f"{np.mean(met_total[1:]) * 1e3:.1f} ms, transport {np.mean(tr_all[1:]) * 1e3:.1f} ms); the "
                  f"largest meteorology step after the first {np.max(met_total[1:]) * 1e3:.0f} ms."]
    text = "\n".join(lines) + "\n"
    suffix = f"_{a.tag}" if a.tag else ""
    (OUT / f"benchmark_climatology_{a.grid}{suffix}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
