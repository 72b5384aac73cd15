"""A/B timing of the transport kernels of two builds in one process, calls alternated.

On a shared machine the wall-clock time of separate benchmark runs moves by tens of per cent
with the other jobs; alternating the old and the new kernels call by call in one process
exposes both to the same load, so their ratio is the robust number. The old build is the
compiled ``esm/_kernels`` of another checkout (e.g. a copy of the tree before a change,
built in place); its extension modules are loaded under their own names from there and
swapped in before each call. Every call starts from the same state; the final fields of
both builds are compared (bit-identity).

Usage::

    OMP_NUM_THREADS=1 python validation/transport/ab_kernels.py --old /tmp/tree_before --what v --reps 16

``--what``: ``v`` vertical sweep, ``h`` horizontal sweep, ``c`` convection, ``d`` boundary-layer
diffusion, ``s`` full transport step (advection kernels, diffusion and convection swapped).
Uses the benchmark's case (1x1 degree, 47 levels, CO2/CH4/N2O; ``benchmark.py``).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _load_from(root: Path, mod):
    """The extension module ``mod`` as compiled in checkout ``root`` (a separate module object)."""
    path = root / "esm" / "_kernels" / os.path.basename(mod.__file__)
    spec = importlib.util.spec_from_file_location(mod.__name__, path)
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    if other is mod or os.path.samefile(other.__file__, mod.__file__):
        raise SystemExit(f"--old must be another checkout with built kernels ({path})")
    return other


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="checkout whose built kernels are the baseline")
    ap.add_argument("--what", default="v", choices=list("vhcds"))
    ap.add_argument("--reps", type=int, default=16)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import esm._kernels as K
    from esm._kernels import convect, vdiff
    from esm.transport import Transport, advection
    from esm.transport.testflows import DivergentCase

    case = DivergentCase("1x1", "geos47", tracers=("co2", "ch4", "n2o"),
                         q0=np.array([412e-6, 1.879e-6, 333e-9])[:, None, None, None], dt=1800.0)
    g, vc = case.grid, case.vcoord
    tr = Transport(case.config, g, vc, case.tracers)
    lat = np.deg2rad(g.lat)[None, :, None]
    case.atm.q[0] *= 1.0 + 0.01 * np.sin(lat)
    flux = np.zeros((3,) + g.shape)
    flux[0] = 1.0e-7 * np.cos(lat[0])
    flux[1] = 1.0e-9
    flux[2] = 1.0e-11
    atm = case.atm
    m0 = atm.air_mass.copy()
    inp0 = case.inputs(0)
    tr.step(atm, *inp0, case.dt, surface_flux=flux)
    q0 = atm.q.copy()
    fl, met = inp0
    fx, fy = np.ascontiguousarray(fl.mfx), np.ascontiguousarray(fl.mfy)
    cp = advection.ColumnPressure(m0, fx, fy, case.dt, vc, g)

    new = {"ffsl": advection.kernels(), "vdiff": vdiff, "convect": convect}
    root_old = Path(args.old).resolve()
    old = {k: _load_from(root_old, v) for k, v in new.items()}
    builds = {"old": old, "new": new}
    clock = time.process_time if os.environ.get("OMP_NUM_THREADS") == "1" else time.perf_counter
    times = {"old": [], "new": []}
    final = {}
    for r in range(args.reps):
        for tag in (("old", "new") if r % 2 == 0 else ("new", "old")):
            b = builds[tag]
            advection._FFSL = b["ffsl"]
            K.vdiff = b["vdiff"]
            K.convect = b["convect"]
            atm.air_mass[:] = m0
            atm.q[:] = q0
            t0 = clock()
            if args.what == "v":
                advection.vertical(atm.air_mass, atm.q, fx, fy, case.dt, cp, vc, g, tr.scheme, True, "ab")
            elif args.what == "h":
                advection.horizontal(atm.air_mass, atm.q, fx, fy, tr.scheme, 8, g, "ab", 1, case.dt)
            elif args.what == "c":
                tr.convection.apply(atm, met, case.dt, "ab")
            elif args.what == "d":
                tr.vdiff.apply(atm, met, case.dt, "ab")
            else:
                tr.step(atm, *inp0, case.dt, surface_flux=flux)
            times[tag].append(clock() - t0)
            final[tag] = (atm.air_mass.copy(), atm.q.copy())
    o, n = np.array(times["old"]), np.array(times["new"])
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"{args.what} threads={os.environ.get('OMP_NUM_THREADS', '?')} load {load}: old min {o.min() * 1e3:.1f} "
          f"median {np.median(o) * 1e3:.1f} ms | new min {n.min() * 1e3:.1f} median {np.median(n) * 1e3:.1f} ms | "
          f"old/new: min {o.min() / n.min():.3f}, median {np.median(o) / np.median(n):.3f}, "
          f"median of pairs {np.median(o / n):.3f}")
    same = all(np.array_equal(a, b) for a, b in zip(final["old"], final["new"]))
    print(f"final fields bit-identical: {same}")


if __name__ == "__main__":
    main()
