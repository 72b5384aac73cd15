"""Where a biospheric surface flux goes in the boundary layer: local K diffusion, HB93's non-local term, or
the instantaneous spread over the boundary layer.

Three runs of the full transport step (advection, boundary-layer diffusion, convection) driven by the embedded
climatology from 1 July 2020 (northern summer; 4x5, 47 levels by default), each with one CO2-like tracer
(400 ppm at the start) and the same land flux with a diurnal cycle, an NEE-like
``F = land (R - P max(cos_sza, 0))`` [mol m-2 s-1] (R = 3 umol m-2 s-1 respiration, P = 12 umol m-2 s-1 peak
uptake at overhead sun):

* ``local``: the flux enters the lowest layer, then Holtslag & Boville (1993) K diffusion only
  (``flux_injection = 'lowest_layer'``, ``nonlocal_mixing = .false.``);
* ``nonlocal``: the same plus HB93's counter-gradient term (eqs. 3.8, 3.10) for the flux (the default of
  ``flux_injection = 'lowest_layer'``);
* ``bl_spread``: the flux spread over the layers below the boundary-layer height by their air
  (``flux_injection = 'boundary_layer'``).

Over the last simulated day, for the land cells between 30 and 60 N, the script reports the diurnal range
(max - min) of the lowest layer's mixing ratio and the mean difference between the lowest layer and the layer
at ~850 hPa (the vertical gradient that a flux inversion reads as a flux), at local noon and midnight; the
column amount of the tracer, which all three must share (the flux is the same), is checked to 1e-12.

Usage::

    python validation/transport/nonlocal_pbl.py [--grid 4x5] [--levels geos47] [--days 3]

Writes ``results/nonlocal_pbl.md`` (and ``.json``).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

RESP, PEAK = 3.0e-6, 12.0e-6        # mol m-2 s-1
VARIANTS = {
    "local": {"flux_injection": "lowest_layer", "nonlocal_mixing": False},
    "nonlocal": {"flux_injection": "lowest_layer", "nonlocal_mixing": True},
    "bl_spread": {"flux_injection": "boundary_layer"},
}


def run(variant: str, grid: str, levels: str, days: int, dt: float) -> dict:
    from esm.constants import M_AIR
    from esm.transport import Transport
    from esm.transport.testflows import ClimatologyCase

    case = ClimatologyCase(grid, levels, tracers=("co2",), q0=np.full(1, 400.0e-6), transport_nml=VARIANTS[variant],
                           dt=dt)
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    g, vc = case.grid, case.vcoord
    nsteps = int(round(days * 86400.0 / dt))
    per_day = int(round(86400.0 / dt))
    land = None
    q1, q850, hours = [], [], []
    added = 0.0
    moles0 = math.fsum((case.atm.q[0] * case.atm.air_mass / M_AIR).ravel())
    t0 = time.perf_counter()
    for n in range(nsteps):
        fluxes, met = case.inputs(n)
        if land is None:
            land = np.asarray(met.land_fraction, dtype=float)
        flux = (land * (RESP - PEAK * np.maximum(np.asarray(met.cos_sza), 0.0)))[None]
        added += math.fsum((flux[0] * g.area * dt).ravel())
        tr.step(case.atm, fluxes, met, dt, surface_flux=flux)
        if n >= nsteps - per_day:
            q = case.atm.q[0]
            ps = case.atm.surface_pressure()
            # the layer whose mid-pressure is nearest 850 hPa, per column
            pm = 0.5 * (vc.ap[:-1, None, None] + vc.bp[:-1, None, None] * ps + vc.ap[1:, None, None]
                        + vc.bp[1:, None, None] * ps)
            k850 = np.argmin(np.abs(pm - 85000.0), axis=0)
            q1.append(q[0].copy())
            q850.append(np.take_along_axis(q, k850[None], axis=0)[0])
            hours.append(case.time(n + 1))
    elapsed = time.perf_counter() - t0
    moles = math.fsum((case.atm.q[0] * case.atm.air_mass / M_AIR).ravel())
    q1, q850 = np.array(q1), np.array(q850)
    lat = g.lat[:, None] * np.ones(g.shape)
    sel = (land > 0.5) & (lat >= 30.0) & (lat <= 60.0)
    # local solar hour of each record and cell
    lon = g.lon[None, :] * np.ones(g.shape)
    lst = np.array([(h.hour + h.minute / 60.0 + lon / 15.0) % 24.0 for h in hours])
    noon = np.abs(lst - 12.0) < 0.5 * dt / 3600.0 + 1e-9
    night = (np.abs(lst - 0.0) < 0.5 * dt / 3600.0 + 1e-9) | (np.abs(lst - 24.0) < 0.5 * dt / 3600.0 + 1e-9)
    grad = (q1 - q850) * 1e6
    def cellmean(x, mask):
        w = np.where(mask & sel[None], 1.0, 0.0)
        per_cell = (x * w).sum(axis=0) / np.maximum(w.sum(axis=0), 1)
        return float(per_cell[sel & (w.sum(axis=0) > 0)].mean())
    # mean diurnal cycle over the selected cells by local solar hour (hourly bins)
    hour_bin = np.floor(lst).astype(int) % 24
    def cycle(x):
        return [float(x[(hour_bin == hb) & sel[None]].mean() * 1e6) if np.any(hour_bin == hb) else float("nan")
                for hb in range(24)]
    cycle_1, cycle_850 = cycle(q1), cycle(q850)
    return {
        "diurnal_cycle_lowest_ppm": cycle_1, "diurnal_cycle_850_ppm": cycle_850,
        "variant": variant, "steps": nsteps, "seconds": elapsed,
        "diurnal_range_lowest_layer_ppm": float(((q1.max(axis=0) - q1.min(axis=0)) * 1e6)[sel].mean()),
        "lowest_minus_850_noon_ppm": cellmean(grad, noon),
        "lowest_minus_850_midnight_ppm": cellmean(grad, night),
        "cells": int(sel.sum()),
        "tracer_change_mol": moles - moles0, "flux_added_mol": added, "tracer_mol": moles,
    }


def _plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    hours = np.arange(24) + 0.5
    for r, c in zip(rows, ("C0", "C1", "C2")):
        ax.plot(hours, r["diurnal_cycle_lowest_ppm"], color=c, label=f"{r['variant']}: lowest layer")
        ax.plot(hours, r["diurnal_cycle_850_ppm"], color=c, ls="--", label=f"{r['variant']}: ~850 hPa")
    ax.set_xlabel("local solar hour")
    ax.set_ylabel("CO2-like tracer [ppm]")
    ax.set_xlim(0, 24)
    ax.set_title("Land 30-60 N, last simulated day (climatology, July)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--levels", default="geos47")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--dt", type=float, default=1800.0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    rows = [run(v, args.grid, args.levels, args.days, args.dt) for v in VARIANTS]
    for r in rows:
        # every variant carries the same flux: the tracer's change is the flux's amount (to the sums' round-off)
        assert abs(r["tracer_change_mol"] - r["flux_added_mol"]) <= 1e-12 * r["tracer_mol"], r
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = (f"python validation/transport/nonlocal_pbl.py --grid {args.grid} --levels {args.levels} "
           f"--days {args.days}")
    lines = [f"# Surface flux in the boundary layer: local, non-local (HB93), spread ({args.grid}, {args.levels}, "
             f"climatology from 2020-07-01, {args.days} days, dt {args.dt:.0f} s)", "",
             f"Command: `{cmd}`", "",
             f"Land flux `F = land (3 - 12 max(cos_sza, 0))` umol m-2 s-1; statistics over the last day for the "
             f"{rows[0]['cells']} land cells between 30 and 60 N (means over the cells).", "",
             "| variant | diurnal range, lowest layer [ppm] | lowest - 850 hPa at local noon [ppm] | "
             "lowest - 850 hPa at local midnight [ppm] | run time [s] |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['diurnal_range_lowest_layer_ppm']:.2f} | "
                     f"{r['lowest_minus_850_noon_ppm']:.2f} | {r['lowest_minus_850_midnight_ppm']:.2f} | "
                     f"{r['seconds']:.0f} |")
    lines += ["", "In each run the tracer's change equals the amount the flux added (checked to 1e-12 of the "
              "tracer's total)."]
    lines += ["", "Mean diurnal cycle over those cells by local solar hour: `nonlocal_pbl_diurnal.png`."]
    _plot(rows, out / "nonlocal_pbl_diurnal.png")
    (out / "nonlocal_pbl.md").write_text("\n".join(lines) + "\n")
    (out / "nonlocal_pbl.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
