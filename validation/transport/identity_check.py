"""Bit-identity check of the transport step between two builds (or thread counts).

Runs the benchmark's flow (``benchmark.py``: 1x1 degree, 47 levels, CO2/CH4/N2O, the
``DivergentCase`` 3-D flow with boundary-layer mixing, convection and surface fluxes) for a
few full transport steps and saves the final air mass and mixing ratios; ``--compare``
reports whether two saved runs are bit-identical and otherwise the largest differences.

Usage (old build in another checkout, e.g. a copy of the tree before a change)::

    python validation/transport/identity_check.py --save /tmp/new.npz [--steps 4]
    python /path/to/old/validation/transport/identity_check.py --save /tmp/old.npz
    python validation/transport/identity_check.py --compare /tmp/old.npz /tmp/new.npz

Each checkout imports its own ``esm`` (the script puts its checkout first on ``sys.path``).
Run with ``OMP_NUM_THREADS=1`` and ``=2`` to check that the thread count does not change
the result either.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def run(steps: int, grid: str, levels: str, scheme: str, dt: float) -> dict[str, np.ndarray]:
    sys.path.insert(0, str(ROOT))
    from esm.transport import Transport
    from esm.transport.testflows import DivergentCase

    case = DivergentCase(grid, levels, tracers=("co2", "ch4", "n2o"),
                         q0=np.array([412e-6, 1.879e-6, 333e-9])[:, None, None, None], dt=dt,
                         transport_nml={"advection_scheme": scheme})
    g = case.grid
    tr = Transport(case.config, g, case.vcoord, case.tracers)
    lat = np.deg2rad(g.lat)[None, :, None]
    case.atm.q[0] *= 1.0 + 0.01 * np.sin(lat)          # as in benchmark.py
    flux = np.zeros((3,) + g.shape)
    flux[0] = 1.0e-7 * np.cos(lat[0])
    flux[1] = 1.0e-9
    flux[2] = 1.0e-11
    for n in range(steps):                               # both sweep orders (X Y Z and Z Y X)
        tr.step(case.atm, *case.inputs(n), case.dt, surface_flux=flux)
    return {"air_mass": case.atm.air_mass.copy(), "q": case.atm.q.copy()}


def compare(a: Path, b: Path) -> bool:
    x, y = np.load(a), np.load(b)
    same = True
    for name in ("air_mass", "q"):
        u, v = x[name], y[name]
        eq = np.array_equal(u, v)
        same &= eq
        d = np.abs(u - v)
        rel = float((d / np.maximum(np.abs(u), np.finfo(float).tiny)).max())
        print(f"{name}: bit-identical {eq}; max |diff| {float(d.max()):.3g}, max relative {rel:.3g}, "
              f"cells differing {int(np.count_nonzero(d))} of {d.size}")
    return bool(same)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--save", help="run and save the final fields to this .npz")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two saved runs")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--grid", default="1x1")
    ap.add_argument("--levels", default="geos47")
    ap.add_argument("--scheme", default="ppm_monotone")
    ap.add_argument("--dt", type=float, default=1800.0)
    args = ap.parse_args(argv)
    if args.compare:
        raise SystemExit(0 if compare(Path(args.compare[0]), Path(args.compare[1])) else 1)
    if not args.save:
        ap.error("give --save FILE or --compare A B")
    np.savez(args.save, **run(args.steps, args.grid, args.levels, args.scheme, args.dt))
    print(f"saved {args.steps} steps ({args.scheme}, dt = {args.dt:g} s) to {args.save}")


if __name__ == "__main__":
    main()
