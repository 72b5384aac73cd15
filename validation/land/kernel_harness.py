"""Fixed inputs for timing and counting the land kernels between builds (speed rounds; see README).

    python validation/land/kernel_harness.py dump [--dir D]       # pickle the 1x1 land model and 8 steps of meteorology
    python validation/land/kernel_harness.py time T [--dir D]     # ms per step of cell + canopy kernel with T threads
    valgrind --tool=callgrind --toggle-collect='*_omp_fn.*' \
        python validation/land/kernel_harness.py count [--dir D]  # kernel instructions over the 8 steps

(Round 7: collect in the OpenMP regions of the kernels, ``*_omp_fn.*``: with the round-7 cell kernel the older
pattern ``__pyx_pf_3esm_8_kernels_4beps_*`` collected almost nothing of it (0.24 M instructions; a toggle pattern
that matches nested functions switches collection off again). On main at ad88e5f both patterns give 569.8 M. Run
valgrind on the real interpreter, not a pyenv shim. valgrind has no AVX-512: the cell kernel runs its AVX2 build.)

The 8 steps are 15 Jan and 15 Jul at 0, 6, 12, 18 UTC (embedded climatology, 410 ppm). ``dump`` once with one
build; then ``time``/``count`` with PYTHONPATH pointing at each build's tree (old and new alternated).
"""
from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("dump", "time", "count"))
    ap.add_argument("threads", nargs="?", type=int, default=1)
    ap.add_argument("--dir", default="/tmp/land_kernel_harness")
    a = ap.parse_args(argv)
    d = Path(a.dir)
    if a.mode == "dump":
        import cftime

        from esm.config import load_config
        from esm.grid import Grid
        from esm.land.landcover import load_land_cover
        from esm.land.model import LandModel
        from esm.land.params import LandParameters
        from esm.meteorology import make_provider
        from esm.vertical import VerticalCoordinate
        cfg = load_config(None, ["grid_nml.horizontal=1x1", "time_control.calendar=noleap"])
        g = Grid.from_spec("1x1")
        prov = make_provider(cfg, g, VerticalCoordinate.from_name("coarse11"))
        m = LandModel(LandParameters.from_config(cfg), g, load_land_cover(g), nthreads=1)
        mets = {(mon, h): m.met_arrays(prov.at(cftime.datetime(2001, mon, 15, h, calendar="noleap")), 410.0)
                for mon in (1, 7) for h in (0, 6, 12, 18)}
        d.mkdir(parents=True, exist_ok=True)
        pickle.dump(mets, open(d / "mets.pkl", "wb"))
        pickle.dump(m, open(d / "model.pkl", "wb"))
        return 0
    mets = pickle.load(open(d / "mets.pkl", "rb"))
    m = pickle.load(open(d / "model.pkl", "rb"))
    m.threads = m.cell_kernel.nthreads = a.threads
    if a.mode == "count":
        for k in mets:
            m._fluxes(mets[k], 3600.0)
        return 0
    for k in mets:
        m._fluxes(mets[k], 3600.0)  # warm up
    t = time.perf_counter()
    for _ in range(3):
        for k in mets:
            m._fluxes(mets[k], 3600.0)
    print(f"{(time.perf_counter() - t) / (3 * len(mets)) * 1000:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
