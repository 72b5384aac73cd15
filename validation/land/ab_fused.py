"""A/B of the land hour's kernels in one process (speed round 11): the cell kernel followed by the canopy kernel with
the step finish (``CellKernel.__call__`` + ``beps.tile_fluxes``, the path before the round) against the fused
``CellKernel.land_step`` that the model runs, alternated over the bench's four representative days, and the fused pass
on 1 and 2 threads::

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python validation/land/ab_fused.py [--grid 1x1] [--reps 8]

Prints the medians in ms per hour and the median of the paired ratios (the machine's drift between separate
processes does not enter). Both paths give the same bits (tests/test_land_kernel.py).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", default="1x1")
    ap.add_argument("--reps", type=int, default=8)
    args = ap.parse_args(argv)
    from ab_build import bench_case

    from esm.land import beps

    model, hours = bench_case(args.grid)

    def separate(m):
        cell, fw, xi = model.cell_kernel(m)
        res = np.empty((7, model.ntile))
        bl, bs, br = model._bases
        beps.tile_fluxes(model.tile_cell, model.tile_pft, model.lai, model.vtop, bl, bs, br, model.age_scale(), cell,
                         model.pft_tab, model.scal_tab, nthreads=model.threads, fwtab=fw, lterm=model.lai_terms(),
                         check=False, finish=(xi, model._rh_coef_umol, 3600.0, model.acc_gpp, model.acc_rm,
                                              model.acc_rg, res), slim=True)

    def fused(m):
        model._fluxes(m, 3600.0)  # also adds the hour's integrals (a few % of the pass)

    def series(fa, fb):
        t = {0: [], 1: []}
        for r in range(args.reps):
            for k in ((0, 1) if r % 2 == 0 else (1, 0)):
                t0 = time.perf_counter()
                for m in hours:
                    (fa, fb)[k](m)
                t[k].append((time.perf_counter() - t0) / len(hours))
        a, b = np.array(t[0]), np.array(t[1])
        return 1000 * np.median(a), 1000 * np.median(b), float(np.median(b / a))

    a, b, r = series(separate, fused)
    print(f"{args.grid}, {model.ntile} tiles, 2 threads: cell + canopy kernels {a:.3f} ms per hour, fused {b:.3f} "
          f"(median of paired ratios fused/separate {r:.3f})")

    def on(n):
        def f(m):
            model.threads = n
            fused(m)
        return f
    a, b, r = series(on(1), on(2))
    model.threads = 2
    print(f"fused pass on 1 thread {a:.3f} ms per hour, on 2 threads {b:.3f} (speed-up, median of pairs {1 / r:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
