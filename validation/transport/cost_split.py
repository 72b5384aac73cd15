"""Where a transport step's time goes: per process, per tracer count and per thread count, in one process.

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python validation/transport/cost_split.py [--tracers 1 3 6] [--reps 8]

For the benchmark's case (``benchmark.py``: 1x1 degree, 47 levels, the divergent 3-D flow of
``esm.transport.testflows``) with 1, 3 and 6 tracers, the medians of ``--reps`` calls of the horizontal sweep
(``h``), the vertical sweep before the horizontal one (``v``, with the horizontal convergence, as on odd steps), the
convection (``c``), the boundary-layer diffusion (``d``) and the full step without surface fluxes (``s``), each call
from the same state. A straight line through the tracer counts splits each process into a part shared by all tracers
(air mass, geometry, coefficients, meteorology) and a part per tracer. With ``--threads``, the same calls alternate
between 1 and 2 threads (``_build_info.set_max_threads``) and the speed-up of each process is printed. The machine's
speed drifts by +-15 % within minutes: compare numbers from one run only.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("co2", "ch4", "n2o", "sf6", "passive1", "passive2", "passive3", "passive4")
WHAT = ("h", "v", "c", "d", "s")


def _case(ntr: int):
    from esm.transport import Transport, advection
    from esm.transport.testflows import DivergentCase

    case = DivergentCase("1x1", "geos47", tracers=NAMES[:ntr], q0=np.full((ntr, 1, 1, 1), 1.0e-6), dt=1800.0)
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    case.atm.q[0] *= 1.0 + 0.01 * np.sin(np.deg2rad(case.grid.lat))[None, :, None]
    m0 = case.atm.air_mass.copy()
    inp = case.inputs(0)
    tr.step(case.atm, *inp, case.dt)
    q0 = case.atm.q.copy()
    fl, met = inp
    fx, fy = np.ascontiguousarray(fl.mfx), np.ascontiguousarray(fl.mfy)
    cp = advection.ColumnPressure(m0, fx, fy, case.dt, case.vcoord, case.grid)
    atm = case.atm

    def call(what: str) -> float:
        atm.air_mass[:] = m0
        atm.q[:] = q0
        t0 = time.perf_counter()
        if what == "h":
            advection.horizontal(atm.air_mass, atm.q, fx, fy, tr.scheme, 8, case.grid, "cost_split", 1, case.dt)
        elif what == "v":
            advection.vertical(atm.air_mass, atm.q, fx, fy, case.dt, cp, case.vcoord, case.grid, tr.scheme, True,
                               "cost_split")
        elif what == "c":
            tr.convection.apply(atm, met, case.dt, "cost_split")
        elif what == "d":
            tr.vdiff.apply(atm, met, case.dt, "cost_split")
        else:
            tr.step(atm, *inp, case.dt)
        return time.perf_counter() - t0

    return call


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracers", type=int, nargs="+", default=[1, 3, 6])
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--threads", action="store_true", help="also 1 -> 2 thread speed-up per process (3 tracers)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from esm._kernels import _build_info

    if any(not 1 <= n <= len(NAMES) for n in args.tracers):
        raise SystemExit(f"--tracers: 1 to {len(NAMES)}")
    from esm.cpu import cpu_ticks, steal_share

    st0 = cpu_ticks()
    med = {}
    for n in args.tracers:
        call = _case(n)
        t = {w: [] for w in WHAT}
        for _ in range(args.reps):
            for w in WHAT:
                t[w].append(call(w))
        med[n] = {w: float(np.median(v)) for w, v in t.items()}
        print(f"{n} tracers: " + "  ".join(f"{w} {med[n][w] * 1e3:6.1f} ms" for w in WHAT), flush=True)
    if len(med) >= 2:
        x = np.array(sorted(med), dtype=float)
        print("linear fit over the tracer counts (shared + per tracer):")
        for w in WHAT:
            y = np.array([med[int(n)][w] for n in x])
            slope, icpt = np.polyfit(x, y, 1)
            print(f"  {w}: shared {icpt * 1e3:6.1f} ms + {slope * 1e3:5.1f} ms per tracer")
    print(f"host steal during the tracer runs: {steal_share(st0, cpu_ticks())}")
    if args.threads and int(_build_info.max_threads()) >= 2:
        st0 = cpu_ticks()
        call = _case(3)
        nmax = int(_build_info.max_threads())
        for w in WHAT:
            t = {1: [], 2: []}
            for r in range(args.reps):
                for nth in ((1, 2) if r % 2 == 0 else (2, 1)):
                    _build_info.set_max_threads(nth)
                    t[nth].append(call(w))
            _build_info.set_max_threads(nmax)
            a, b = np.median(t[1]), np.median(t[2])
            print(f"  {w}: 1 thread {a * 1e3:6.1f} ms, 2 threads {b * 1e3:6.1f} ms, speed-up {a / b:.2f}")
        print(f"host steal during the thread runs: {steal_share(st0, cpu_ticks())}")


if __name__ == "__main__":
    main()
