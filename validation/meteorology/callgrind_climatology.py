"""Repeatable cost of the embedded climatology: instruction counts under valgrind's callgrind.

Wall-clock timings on the shared 2-core machine vary by a factor of two with the load; instruction
counts do not. Each workload runs in its own process under ``valgrind --tool=callgrind`` (one OpenMP
thread, so no spin-waiting is counted), and so does the construction alone; the workload's count is
the difference. Workloads (``--grid``, default 4x5, 47 levels):

* ``steps``: 8 model steps of 1800 s from 2020-07-01 00 UTC: ``at(t)`` + the fields the transport reads
  + ``step_fluxes`` (records included: the first steps pay for them);
* ``surface``: 24 hourly land calls (the nine surface fields the land reads, full grid);
* ``sampler``: the same 24 hours on the land cells only (``cell_sampler``; new code only).

Usage: PYTHONPATH=<checkout> python validation/meteorology/callgrind_climatology.py [--grid 4x5] [--tag new]
Writes output/callgrind_climatology_<grid>_<tag>.md. ``--run WORKLOAD`` is the inner call.
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "output"
LAND_FIELDS = ("t2m", "tskin", "tsoil", "vpd", "swdown", "swdown_diffuse", "cos_sza", "soilm", "ps")
TRANSPORT_FIELDS = ("t", "cmfmc", "dtrain", "pblh", "ustar", "shflx", "t2m")
WORKLOADS = ("construct", "steps", "surface", "sampler")


def run(workload: str, grid_spec: str) -> None:
    import cftime
    import numpy as np

    from esm.grid import Grid
    from esm.meteorology.climatology import Climatology
    from esm.vertical import VerticalCoordinate
    clim = Climatology(Grid.from_spec(grid_spec), VerticalCoordinate.from_name("geos47"))
    t0 = cftime.datetime(2020, 7, 1, calendar="standard")
    if workload == "steps":
        ps = np.asarray(clim.at(t0).ps, dtype=np.float64) + 10.0
        for n in range(8):
            t = t0 + datetime.timedelta(seconds=1800 * n)
            met = clim.at(t)
            for name in TRANSPORT_FIELDS:
                met[name]
            ps = clim.step_fluxes(t, 1800.0, ps).ps_end
    elif workload == "surface":
        for h in range(24):
            met = clim.at(t0 + datetime.timedelta(hours=h, minutes=30))
            for name in LAND_FIELDS:
                met[name]
    elif workload == "sampler":
        sample = clim.cell_sampler(LAND_FIELDS, np.flatnonzero(np.asarray(clim.land).ravel() > 0))
        for h in range(24):
            sample(t0 + datetime.timedelta(hours=h, minutes=30))


def count(workload: str, grid_spec: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                        "--run", workload, "--grid", grid_spec], env=env, check=True, capture_output=True)
        m = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(), re.M)
        return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--tag", default="new")
    ap.add_argument("--workloads", default="steps,surface,sampler")
    ap.add_argument("--run", choices=WORKLOADS, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run:
        run(a.run, a.grid)
        return
    OUT.mkdir(exist_ok=True)
    base = count("construct", a.grid)
    rows = [f"| construction (Python start-up and imports included) | {base / 1e9:.2f} |"]
    for w in a.workloads.split(","):
        try:
            n = count(w, a.grid) - base
        except subprocess.CalledProcessError as exc:
            rows.append(f"| {w} | failed ({exc.returncode}) |")
            continue
        per = {"steps": 8, "surface": 24, "sampler": 24}[w]
        rows.append(f"| {w}: total / per call | {n / 1e9:.3f} / {n / per / 1e6:.1f} M |")
    text = (f"# Climatology instruction counts (callgrind), grid {a.grid}, geos47, {a.tag}\n\n"
            f"PYTHONPATH = {os.environ.get('PYTHONPATH', '')}; one OpenMP thread.\n\n"
            "| workload | instructions (1e9) |\n|---|---|\n" + "\n".join(rows) + "\n")
    (OUT / f"callgrind_climatology_{a.grid}_{a.tag}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
