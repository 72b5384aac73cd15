"""A/B of the land hour against another build's kernel module, in one process: the model's hour (``LandModel._fluxes``:
the fused cell + canopy pass with the hour's integrals) with this checkout's ``esm._kernels.beps`` and with the
``beps`` extension of another built checkout, alternated over the bench's four representative days::

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python validation/land/ab_build.py --old /path/to/other/checkout \
        [--grid 1x1] [--reps 8]
    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 python validation/land/ab_build.py --modes

``--modes`` compares instead, in this build, the coupled hour as it was before speed round 12 (the per-tile step,
then ``LandModel.cell_sums`` of the land component's nine fields) with the cell-sum step (``step_cells(...,
cell_sums=True)``), and checks that both give the same bits.

Alternating the two modules in one process keeps the machine's drift (this VM's speed moves by 1.3x within minutes)
out of the ratio. Prints the medians in ms per hour, the median of the paired ratios new/old, and the largest
relative difference of the step's outputs between the two builds (0 when the change is bit-identical).
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def load_other(root: str):
    """The ``beps`` extension module of the built checkout ``root`` (esm/_kernels/beps.*.so), under its own name."""
    files = glob.glob(str(Path(root) / "esm" / "_kernels" / "beps.*.so"))
    if not files:
        raise SystemExit(f"--old {root}: no esm/_kernels/beps.*.so (build it: python setup.py build_ext --inplace)")
    spec = importlib.util.spec_from_file_location("esm._kernels.beps", files[0])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench_case(grid_name: str = "1x1", nthreads: int = 2):
    """(model, hours): the land model on ``grid_name`` and the bench's four representative days (15 Jan, Apr, Jul,
    Oct; 24 hours each) of the embedded climatology at 410 ppm, as land-cell meteorology (shared by the A/B
    scripts)."""
    import cftime

    from esm.config import load_config
    from esm.grid import Grid
    from esm.land.landcover import load_land_cover
    from esm.land.model import LandModel
    from esm.land.params import LandParameters
    from esm.meteorology import make_provider
    from esm.vertical import VerticalCoordinate

    cfg = load_config(None, [f"grid_nml.horizontal={grid_name}", "time_control.calendar=noleap"])
    grid = Grid.from_spec(grid_name)
    prov = make_provider(cfg, grid, VerticalCoordinate.from_name("coarse11"))
    model = LandModel(LandParameters.from_config(cfg), grid, load_land_cover(grid), nthreads=nthreads)
    hours = [model.met_arrays(prov.at(cftime.datetime(2001, mon, 15, h, calendar="noleap")), 410.0)
             for mon in (1, 4, 7, 10) for h in range(24)]
    return model, hours


def accumulator_reset(model):
    """A function that puts the day's accumulators of ``model`` back to their values now (so that two paths start
    from the same state)."""
    acc = (model.acc_gpp, model.acc_rm, model.acc_rg, model.acc_xi, model.acc_wm, model.acc_tair)
    acc0 = [np.array(a, copy=True) for a in acc]

    def reset():
        for a, a0 in zip(acc, acc0):
            a[...] = a0
    return reset


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", help="another built checkout (its esm/_kernels/beps.*.so)")
    ap.add_argument("--modes", action="store_true", help="per-tile step + cell sums against the cell-sum step")
    ap.add_argument("--grid", default="1x1")
    ap.add_argument("--reps", type=int, default=8)
    args = ap.parse_args(argv)
    from esm.land import beps

    if not args.modes and not args.old:
        ap.error("give --old CHECKOUT or --modes")
    new = beps._kernel()
    old = None if args.modes else load_other(args.old)
    model, hours = bench_case(args.grid)

    def run(mod):
        beps._KERNEL = mod
        for m in hours:
            model._fluxes(m, 3600.0)

    if args.modes:
        return _modes(model, hours, args.reps)
    # outputs of both builds over the 96 hours from the same start (the day's accumulators reset between them)
    reset = accumulator_reset(model)
    outs = []
    for mod in (old, new):
        reset()
        beps._KERNEL = mod
        rows = []
        for m in hours:
            out = model._fluxes(m, 3600.0)
            rows.append(np.stack([np.asarray(out[k], dtype=float) for k in
                                  ("gpp", "gpp_sun", "gpp_shade", "rm", "rg", "ra", "rh", "npp", "nee", "fw")]))
        rows.append(np.stack([model.acc_gpp, model.acc_rm, model.acc_rg]))
        outs.append(rows)
    worst = 0.0
    for a, b in zip(*outs):
        scale = np.maximum(np.max(np.abs(a), axis=1, keepdims=True), 1e-300)  # per output row
        worst = max(worst, float(np.max(np.abs(a - b) / scale)))

    t = {0: [], 1: []}
    for r in range(args.reps):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            run((old, new)[k])
            t[k].append((time.perf_counter() - t0) / len(hours))
    beps._KERNEL = new
    a, b = np.array(t[0]), np.array(t[1])
    print(f"{args.grid}, {model.ntile} tiles, {model.threads} threads: old {1000 * np.median(a):.3f} ms per hour, "
          f"new {1000 * np.median(b):.3f} (median of paired ratios new/old {np.median(b / a):.3f}); "
          f"largest difference of the step outputs relative to each output's largest value {worst:.2e}")
    return 0


def _modes(model, hours, reps) -> int:
    """The coupled hour before round 12 (per-tile step, then the component's cell sums) against the cell-sum step."""
    names = model.CELL_SUM_FIELDS

    def tile_then_sums(m):
        fl = model._fluxes(m, 3600.0)
        return dict(zip(names, model.cell_sums([fl[k] for k in names], on_grid=False)))

    def cell_sum_step(m):
        return model._fluxes(m, 3600.0, cell_sums=True)

    reset = accumulator_reset(model)
    outs = []
    for f in (tile_then_sums, cell_sum_step):
        reset()
        outs.append([f(m) for m in hours[:24]])
    same = all(np.array_equal(a[k], b[k]) for a, b in zip(*outs) for k in names)
    t = {0: [], 1: []}
    for r in range(reps):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            for m in hours:
                (tile_then_sums, cell_sum_step)[k](m)
            t[k].append((time.perf_counter() - t0) / len(hours))
    a, b = np.array(t[0]), np.array(t[1])
    print(f"{model.ntile} tiles, {model.threads} threads: per-tile step + cell sums {1000 * np.median(a):.3f} ms per "
          f"hour, cell-sum step {1000 * np.median(b):.3f} (median of paired ratios {np.median(b / a):.3f}); "
          f"same bits: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
