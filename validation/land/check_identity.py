"""Bit-identity check of the hourly land step between two builds (for kernel optimisations).

    python validation/land/check_identity.py save OUT.npz [--grid 4x5] [--days 3]
    python validation/land/check_identity.py compare OUT.npz [--grid 4x5] [--days 3]

Steps the land model hourly over ``--days`` days starting 14 Jan and ``--days`` days starting 14 Jul (embedded
climatology, 410 ppm, pools from zero), so the daily pool step and phenology run too, and stores every step's
per-tile fluxes and the final pools; ``compare`` reports the largest absolute and relative differences per field.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def run(grid_name, days):
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
    prm = LandParameters.from_config(cfg)
    model = LandModel(prm, grid, load_land_cover(grid), nthreads=1)
    res = {}
    for mon in (1, 7):
        t = cftime.datetime(2001, mon, 14, calendar="noleap")
        for h in range(24 * days):
            m = model.met_arrays(prov.at(t), 410.0 + 0.01 * h)
            fl = model.step_cells(t, 3600, m)
            for k, v in fl.items():
                res.setdefault(k, []).append(np.array(v))
            t = t + dt.timedelta(hours=1)
        res.setdefault("pools", []).append(model.pools.copy())
        res.setdefault("lai_state", []).append(model.lai.copy())
    return {k: np.stack(v) for k, v in res.items()}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("save", "compare"))
    ap.add_argument("path")
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--days", type=int, default=3)
    a = ap.parse_args(argv)
    res = run(a.grid, a.days)
    if a.mode == "save":
        np.savez_compressed(a.path, **res)
        print(f"saved {len(res)} fields to {a.path}")
        return 0
    ref = np.load(a.path)
    worst = 0.0
    for k in ref.files:
        x, y = ref[k], res[k]
        if x.shape != y.shape:
            print(f"{k}: shape {y.shape} vs reference {x.shape}")
            worst = np.inf
            continue
        d = np.abs(x - y)
        scale = np.max(np.abs(x)) or 1.0
        ident = np.array_equal(x, y)
        # value by value, where the reference is not negligible (|ref| > 1e-6 of its largest value)
        big = np.abs(x) > 1e-6 * scale
        rel = float(np.max(d[big] / np.abs(x[big]))) if big.any() else 0.0
        print(f"{k:10s} {'identical' if ident else 'differs'}: max |diff| {d.max():.3e}, relative to max |ref| "
              f"{d.max() / scale:.3e}, value by value {rel:.3e}, {int((d > 0).sum())} of {d.size} values differ")
        worst = max(worst, d.max() / scale)
    print(f"worst relative difference {worst:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
