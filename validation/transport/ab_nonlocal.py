"""Cost of the counter-gradient (non-local) term in the boundary-layer diffusion kernel.

Times ``vdiff.diffuse`` at 1x1 with 47 levels and 3 tracers on the synthetic met (``testflows.synthetic_met``
at 12 UTC: ~43 % of the columns unstable), with and without surface fluxes for the counter-gradient term,
calls alternated in one process (medians and the median of the pairs' ratios, on 1 and 2 threads). With
``--old <path to another build's vdiff .so>`` it also times the kernel without fluxes against that build
(alternated) and checks that the fields are bit-identical.

Usage::

    python validation/transport/ab_nonlocal.py [--reps 16] [--old /path/to/esm/_kernels/vdiff....so]
"""
from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np


def main(argv=None) -> None:
    from esm._kernels import vdiff
    from esm.constants import G0, M_AIR
    from esm.grid import Grid
    from esm.transport.testflows import synthetic_met
    from esm.vertical import VerticalCoordinate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=16)
    ap.add_argument("--old", default=None)
    args = ap.parse_args(argv)
    g = Grid.from_spec("1x1")
    vc = VerticalCoordinate.from_name("geos47")
    lat, lon = np.deg2rad(g.lat)[:, None], np.deg2rad(g.lon)[None, :]
    ps = 1.0e5 + 800.0 * np.cos(lat) * np.sin(lon)
    f = synthetic_met(g, vc, ps, 43200.0)
    m = np.ascontiguousarray(vc.layer_thickness(ps) * g.area / G0)
    q0 = np.full((3, vc.nlev) + g.shape, 400.0e-6)
    q0[1] *= np.linspace(0.5, 1.5, vc.nlev)[:, None, None]
    flux = np.full((3,) + g.shape, 3.0e-6)

    def call(mod, nth, with_flux):
        q = q0.copy()
        a = (m, q, f["t"], ps, f["pblh"], f["ustar"], f["shflx"], f["t2m"], np.ascontiguousarray(vc.ap),
             np.ascontiguousarray(vc.bp), np.ascontiguousarray(g.area), 1800.0, 0.4, 0.1, 0.6, 7.2, 5.0, 15.0, 0.0,
             0.01, np.zeros((vc.nlev + 1,) + g.shape), np.zeros(g.nlat, dtype=np.int32), nth)
        t = time.perf_counter()
        mod.diffuse(*a, flux, M_AIR) if with_flux else mod.diffuse(*a)
        return time.perf_counter() - t, q

    def ab(label, first, second, nth):
        ta, tb, qa, qb = [], [], None, None
        for r in range(args.reps):
            for which in ((0, 1) if r % 2 == 0 else (1, 0)):
                dt, q = (first if which == 0 else second)()
                (ta if which == 0 else tb).append(dt)
                if which == 0:
                    qa = q
                else:
                    qb = q
        ratio = float(np.median(np.array(tb) / np.array(ta)))
        print(f"{nth} thread(s), {label}: {1e3 * np.median(ta):.1f} ms -> {1e3 * np.median(tb):.1f} ms, "
              f"median of pairs {ratio:.3f}")
        return qa, qb

    print(f"unstable columns: {float((f['shflx'] > 0).mean()):.0%}")
    for nth in (1, 2):
        ab("without -> with the counter-gradient fluxes", lambda: call(vdiff, nth, False),
           lambda: call(vdiff, nth, True), nth)
        if args.old:
            spec = importlib.util.spec_from_file_location("vdiff", args.old)
            old = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(old)
            qa, qb = ab("old build -> this build, no fluxes", lambda: call(old, nth, False),
                        lambda: call(vdiff, nth, False), nth)
            print("   fields bit-identical:", bool(np.array_equal(qa, qb)))


if __name__ == "__main__":
    main()
