"""Cost of reading + regridding reanalysis relative to a transport step at 1x1 degree, 47 levels.

Writes MERRA-2-like files (1 x 1.25 deg, 72 levels, 3-hourly 3-D, hourly 2-D; esm.meteorology.synthetic),
then runs the model's met path for 6 simulated hours with dt = 900 s: per step ``at(t)`` and
``step_fluxes`` (reading, horizontal and vertical regridding, time interpolation, pressure fixer),
with the next 3-D record prefetched in a background thread, and compares the median and mean
per-step cost with the transport step (esm.transport, 3 tracers, advection + diffusion + convection)
on the same grid. Timings on a shared 2-core machine are noisy: the ratio is measured in one run.

Usage: PYTHONPATH=. python validation/meteorology/benchmark_readers.py [--src 1x1.25] [--levels geos72]
Writes output/benchmark_readers.md.
"""
from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from pathlib import Path

import cftime
import numpy as np

from esm.atmosphere import Atmosphere
from esm.config.registry import schema
from esm.grid import Grid
from esm.meteorology.reanalysis import ReanalysisProvider
from esm.meteorology.synthetic import SyntheticWriter
from esm.tracers import TracerSet
from esm.vertical import VerticalCoordinate

OUT = Path(__file__).resolve().parent / "output"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="1x1.25")
    ap.add_argument("--levels", default="geos72")
    ap.add_argument("--model", default="1x1")
    ap.add_argument("--dt", type=int, default=900)
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    dlat, dlon = (float(x) for x in a.src.split("x"))
    t0 = cftime.datetime(2020, 7, 1, calendar="standard")
    tmp = Path(tempfile.mkdtemp(prefix="esm_bench_"))
    w0 = time.time()
    paths = SyntheticWriter(dlat, dlon, a.levels, noise=2.0).write_merra2(tmp, t0, range(0, 9), range(0, 10, 3))
    write_s = time.time() - w0
    grid = Grid.from_spec(a.model)
    vc = VerticalCoordinate.from_name("geos47")
    prov = ReanalysisProvider(grid, vc, {"files_3d": " ".join(paths["3d"]), "files_2d": " ".join(paths["2d"]),
                                         "files_conv": " ".join(paths["conv"]), "prefetch": True},
                              source="merra2")
    cfg = schema().resolve({"grid_nml": {"horizontal": a.model, "vertical": "geos47"},
                            "transport_nml": {"enabled": True}})
    from esm.transport.core import Transport
    tracers = TracerSet(["co2", "ch4", "passive1"])
    tr = Transport(cfg, grid, vc, tracers)
    t = t0 + datetime.timedelta(hours=1)
    met = prov.at(t)
    q = np.ones((3, vc.nlev) + grid.shape)
    atm = Atmosphere.from_surface_pressure(grid, vc, tracers, met.ps, q)
    met_times, tr_times = [], []
    nsteps = int(6 * 3600 / a.dt)
    for n in range(nsteps):
        s = time.perf_counter()
        met = prov.at(t)
        mf = prov.step_fluxes(t, a.dt, atm.surface_pressure())
        met_times.append(time.perf_counter() - s)
        s = time.perf_counter()
        tr.step(atm, mf, met, a.dt)
        tr_times.append(time.perf_counter() - s)
        t = t + datetime.timedelta(seconds=a.dt)
    prov.close()
    mt, tt = np.array(met_times), np.array(tr_times)
    text = (f"# Reading + regridding cost vs transport step\n\n"
            f"Source MERRA-2-like {a.src} deg, {a.levels} ({write_s:.0f} s to write the files); model {a.model} deg, "
            f"geos47, dt = {a.dt} s, {nsteps} steps over 6 h (3-D records every 3 h, 2-D hourly), prefetch on.\n\n"
            f"| per step | median (s) | mean (s) | max (s) |\n|---|---|---|---|\n"
            f"| meteorology (at + step_fluxes) | {np.median(mt):.3f} | {mt.mean():.3f} | {mt.max():.3f} |\n"
            f"| transport (3 tracers) | {np.median(tt):.3f} | {tt.mean():.3f} | {tt.max():.3f} |\n\n"
            f"Ratio meteorology / transport: median {np.median(mt) / np.median(tt):.2f}, mean "
            f"{mt.mean() / tt.mean():.2f}, mean without the cold first step {mt[1:].mean() / tt[1:].mean():.2f} "
            f"(target < 0.20).\n\nFirst step (cold start, no prefetch yet): {mt[0]:.2f} s.\n")
    (OUT / "benchmark_readers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
