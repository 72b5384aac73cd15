"""Compare the embedded climatology of this checkout with that of another git commit, field by field.

Extracts ``esm/`` and the kernels of the reference commit (``git archive``) into a temporary directory,
builds the kernels whose source differs from this checkout's (the others are copied), evaluates there
(in a subprocess, with this checkout's forcing files) every field of ``at(time)``
and the mass fluxes of ``step_fluxes`` at a set of times, and reports the largest absolute and relative
differences against this checkout. Used to show that a refactoring changed the numbers only by
round-off (or by what it documents).

Times: 00 UTC (where the daily season records of this version are exact; differences there are
round-off plus the 3-hourly convection records' inputs) and times between records, in January, April,
July, October and December. Besides the largest difference, the 99th percentile of |difference| and
the fraction of values that differ by more than 1e-3 of the field's largest value show how localised
the differences are.

Usage: PYTHONPATH=. python validation/meteorology/compare_climatology.py --ref <commit> [--grid 4x5]
Writes output/compare_climatology.md (``--tag X``: output/compare_climatology_X.md).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "output"
TIMES = [(2020, 1, 15, 0, 0), (2020, 1, 15, 1, 30), (2020, 4, 2, 0, 0), (2020, 4, 2, 13, 20),
         (2020, 7, 16, 0, 0), (2020, 7, 16, 19, 45), (2020, 10, 9, 6, 10), (2020, 12, 31, 23, 0)]
FIELDS_3D = ("t", "qv", "u", "v", "cmfmc", "dtrain")


def dump(grid_spec: str, levels: str, path: str) -> None:
    import cftime

    from esm.grid import Grid
    from esm.meteorology.base import FIELDS
    from esm.meteorology.climatology import Climatology
    from esm.vertical import VerticalCoordinate
    clim = Climatology(Grid.from_spec(grid_spec), VerticalCoordinate.from_name(levels))
    out = {}
    for n, tt in enumerate(TIMES):
        t = cftime.datetime(*tt, calendar="standard")
        met = clim.at(t)
        for name in FIELDS:
            if name in met:
                out[f"{n}:{name}"] = np.asarray(met[name], dtype=np.float64)
        mf = clim.step_fluxes(t, 1800.0, np.asarray(met.ps) + 30.0 * np.cos(np.deg2rad(clim.grid.lat))[:, None])
        out[f"{n}:mfx"], out[f"{n}:mfy"], out[f"{n}:ps_end"] = mf.mfx, mf.mfy, mf.ps_end
    np.savez(path, **out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="git commit of the reference climatology")
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--levels", default="geos47")
    ap.add_argument("--tag", default="", help="suffix of the output file name")
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.dump:
        dump(a.grid, a.levels, a.dump)
        return
    OUT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="esm_cmp_"))
    try:
        ref = subprocess.run(["git", "rev-parse", "--short", a.ref], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        arch = subprocess.run(["git", "archive", a.ref, "esm", "cython_kernels", "setup.py"], cwd=ROOT,
                              capture_output=True, check=True).stdout
        subprocess.run(["tar", "x"], cwd=tmp, input=arch, check=True)
        os.symlink(ROOT / "forcing", tmp / "forcing")
        for pyx in sorted((tmp / "cython_kernels").glob("*.pyx")):
            mine = ROOT / "cython_kernels" / pyx.name
            if mine.is_file() and mine.read_bytes() == pyx.read_bytes():
                for so in (ROOT / "esm" / "_kernels").glob(pyx.stem + ".*.so"):
                    shutil.copy(so, tmp / "esm" / "_kernels")
                pyx.unlink()
        if any((tmp / "cython_kernels").glob("*.pyx")):  # build the kernels that differ
            subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tmp, check=True,
                           capture_output=True)
        files = {}
        for tag, pp in (("ref", str(tmp)), ("new", str(ROOT))):
            files[tag] = tmp / f"{tag}.npz"
            env = dict(os.environ, PYTHONPATH=pp)
            subprocess.run([sys.executable, __file__, "--ref", a.ref, "--grid", a.grid, "--levels", a.levels,
                            "--dump", str(files[tag])], env=env, check=True, cwd=tmp)
        r, w = np.load(files["ref"]), np.load(files["new"])
        names = sorted({k.split(":")[1] for k in r.files}, key=lambda s: (s in FIELDS_3D or s.startswith("mf"), s))
        rows = []
        for name in names:
            for rec, sel in (("00 UTC", [0, 2, 4]), ("other times", [1, 3, 5, 6, 7])):
                xs = [(r[f"{n}:{name}"], w[f"{n}:{name}"]) for n in sel if f"{n}:{name}" in r.files]
                if not xs:
                    continue
                scale = max(float(np.max(np.abs(x))) for x, _ in xs)
                d = np.concatenate([np.abs(x - y).ravel() for x, y in xs])
                d_abs = float(d.max())
                big = float(np.mean(d > 1e-3 * scale)) if scale > 0 else 0.0
                rel = d_abs / scale if scale > 0 else 0.0
                rows.append(f"| {name} | {rec} | {scale:.4g} | {d_abs:.3g} | {rel:.2g} | "
                            f"{np.percentile(d, 99):.3g} | {100 * big:.2f} % |")
        text = (f"# Climatology: this checkout vs {ref}\n\nGrid {a.grid}, {a.levels}; {len(TIMES)} times "
                f"(00 UTC: 15 Jan, 2 Apr, 16 Jul; other times: 15 Jan 01:30, 2 Apr 13:20, 16 Jul 19:45, "
                f"9 Oct 06:10, 31 Dec 23:00); `step_fluxes` with dt = 1800 s from a perturbed surface pressure.\n\n"
                f"| field | times | max abs value | max abs difference | relative | 99th percentile abs "
                f"difference | values differing by > 1e-3 of max |\n|---|---|---|---|---|---|---|\n"
                + "\n".join(rows) + "\n")
        (OUT / f"compare_climatology{'_' + a.tag if a.tag else ''}.md").write_text(text)
        print(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
