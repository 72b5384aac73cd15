"""Transport steps of the benchmark case for an instruction-count profile (callgrind).

Instruction counts do not depend on the other jobs of a shared machine, so they decide
between two builds where wall-clock times cannot. The steps run inside one C call
(``functools.reduce``), so callgrind can collect exactly them and nothing of the set-up::

    ESM_NO_AVX512=1 OMP_NUM_THREADS=1 valgrind --tool=callgrind --collect-atstart=no \\
        --toggle-collect=functools_reduce --callgrind-out-file=/tmp/cg.out \\
        $(python -c 'import sys; print(sys.executable)') validation/transport/callgrind_steps.py --steps 2
    callgrind_annotate --inclusive=yes /tmp/cg.out | grep _omp_fn

(valgrind does not run AVX-512 code, hence the AVX2 build; pass the real interpreter, not a
shim script; ``--cache-sim=yes`` adds simulated cache misses.) The case is the benchmark's
(``benchmark.py``: 1x1 degree, 47 levels, CO2/CH4/N2O, surface fluxes, boundary-layer mixing,
convection); one step is taken before the profiled ones, and the air mass is reset before
every even step as in the benchmark, so consecutive steps alternate the sweep orders.
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--scheme", default="ppm_monotone")
    ap.add_argument("--dt", type=float, default=1800.0)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from esm.transport import Transport
    from esm.transport.testflows import DivergentCase

    case = DivergentCase("1x1", "geos47", tracers=("co2", "ch4", "n2o"),
                         q0=np.array([412e-6, 1.879e-6, 333e-9])[:, None, None, None], dt=args.dt,
                         transport_nml={"advection_scheme": args.scheme})
    tr = Transport(case.config, case.grid, case.vcoord, case.tracers)
    lat = np.deg2rad(case.grid.lat)[None, :, None]
    case.atm.q[0] *= 1.0 + 0.01 * np.sin(lat)            # as in benchmark.py
    flux = np.zeros((3,) + case.grid.shape)
    flux[0] = 1.0e-7 * np.cos(lat[0])
    flux[1] = 1.0e-9
    flux[2] = 1.0e-11
    m_init = case.atm.air_mass.copy()
    inputs = [case.inputs(0)]
    tr.step(case.atm, *inputs[0], case.dt, surface_flux=flux)
    inputs.append(case.inputs(1))
    case.atm.air_mass[:] = m_init

    def one(acc, n):
        if n % 2 == 0:
            case.atm.air_mass[:] = m_init
        tr.step(case.atm, *inputs[n % 2], case.dt, surface_flux=flux)
        return acc

    functools.reduce(one, range(args.steps), 0)       # the profiled region
    print(f"{args.steps} steps ({args.scheme}, dt = {args.dt:g} s)")


if __name__ == "__main__":
    main()
