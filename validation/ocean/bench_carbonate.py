"""Benchmark of the carbonate-chemistry kernel: solves per second per core, and the ratio to PyCO2SYS.

A "solve" is the full job per state: all equilibrium constants from (T, S), the bracketed
Newton pH solution from a cold start (or a warm start from a nearby pH), and the outputs
pH, [CO2*], fCO2, pCO2, HCO3-, CO3-- and the Revelle factor.

Run: ``OMP_NUM_THREADS=1 python validation/ocean/bench_carbonate.py [--n 1000000] [--repeat 5]``
(one thread gives the per-core rate). PyCO2SYS (a test-only dependency) is timed on a subset of the
same inputs with its default options and our default-equivalent KF (Dickson & Riley 1979).
Timings on a shared machine are noisy: the median of ``--repeat`` runs is reported.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source checkout


def inputs(n, seed=42):
    rng = np.random.default_rng(seed)
    return (rng.uniform(1600e-6, 2400e-6, n), rng.uniform(1800e-6, 2600e-6, n),
            rng.uniform(-2.0, 35.0, n) + 273.15, rng.uniform(20.0, 40.0, n))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="states per solve call")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n-pyco2sys", type=int, default=100_000, help="states for the PyCO2SYS timing")
    args = ap.parse_args(argv)

    from esm._kernels import _build_info
    from esm.ocean.carbonate import solve_carbonate

    threads = _build_info.max_threads()
    dic, ta, tk, s = inputs(args.n)
    solve_carbonate(dic[:1000], ta[:1000], tk[:1000], s[:1000], kf="dickson79")  # warm-up
    cold, warm = [], []
    ph_prev = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = solve_carbonate(dic, ta, tk, s, kf="dickson79")
        cold.append(time.perf_counter() - t0)
        ph_prev = res.ph + 0.01  # a nearby previous state, as in time stepping
        t0 = time.perf_counter()
        res_w = solve_carbonate(dic, ta, tk, s, ph_guess=ph_prev, kf="dickson79")
        warm.append(time.perf_counter() - t0)
    t_cold, t_warm = statistics.median(cold), statistics.median(warm)
    print(f"esm carbonate kernel: {args.n} states, {threads} OpenMP thread(s) "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"  cold start: median {t_cold:.3f} s -> {args.n / t_cold / threads:.3e} solves/s/core "
          f"(mean iterations {res.iterations.mean():.2f})")
    print(f"  warm start: median {t_warm:.3f} s -> {args.n / t_warm / threads:.3e} solves/s/core "
          f"(mean iterations {res_w.iterations.mean():.2f})")

    try:
        import PyCO2SYS as pyco2
    except ImportError as exc:
        print(f"PyCO2SYS not importable ({exc}); no ratio reported. pip install PyCO2SYS==1.8.3.4")
        return
    m = min(args.n_pyco2sys, args.n)
    times = []
    for _ in range(max(1, min(args.repeat, 3))):
        t0 = time.perf_counter()
        p = pyco2.sys(par1=ta[:m] * 1e6, par2=dic[:m] * 1e6, par1_type=1, par2_type=2,
                      temperature=tk[:m] - 273.15, salinity=s[:m], pressure=0)
        times.append(time.perf_counter() - t0)
    t_py = statistics.median(times)
    rate_py = m / t_py
    rate_esm = args.n / t_cold / threads
    print(f"PyCO2SYS {pyco2.__version__}: {m} states, median {t_py:.3f} s -> {rate_py:.3e} solves/s "
          "(single process; it also computes many more outputs and their derivatives)")
    print(f"  ratio esm (per core, cold) / PyCO2SYS: {rate_esm / rate_py:.0f}x")
    print(f"  max |pH difference| on these states: {np.abs(res.ph[:m] - p['pH']).max():.2e}, "
          f"max |pCO2 difference|: {np.abs(res.pco2[:m] * 1e6 - p['pCO2']).max():.2e} uatm")


if __name__ == "__main__":
    main()
