"""Where the shaded-leaf share of GPP comes from: capture the canopy inputs of sample days, replay variants.

    python validation/land/shade_diagnostic.py capture [--grid 4x5] [--every 10] [--file /tmp/shade_cap.npz]
    python validation/land/shade_diagnostic.py replay [--file /tmp/shade_cap.npz]

``capture`` steps the land hourly through one year under the embedded climatology (phenology pre-rolled as in
the spin-up; pools are not spun up, they do not enter GPP) and stores, for every ``--every``-th day, the per-cell
canopy inputs (esm.land.beps.CELL_ROWS), the water-stress table, the tile LAI and the raw shortwave and
cos(zenith) of every hour. ``replay`` runs the canopy kernel on the stored hours with the forcing varied (diffuse
split of the meteorology vs. the BEPS clearness-index relation) and prints, per cover type, GPP per unit tile
area, the shaded share, the daylight diffuse fraction weighted by shortwave, and the mean daylight LAI.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from esm.land import beps  # noqa: E402
from esm.land.landcover import PFT_NAMES  # noqa: E402
from validate_land import build_offline  # noqa: E402
from esm.land.phenology import GsiPhenology  # noqa: E402




def capture(args):
    import cftime

    model, prov, grid = build_offline(args.grid, args.set)
    t0 = cftime.datetime(2021, 1, 1, calendar="noleap")
    ndays = 365
    # phenology pre-roll as in LandModel.spin_up step 1
    model.phen = GsiPhenology(model.lat_cell, model.prm)
    model._crop_preroll(prov.at, t0, ndays, args.co2)
    for d in range(ndays - model.phen.window, ndays):
        day0 = t0 + _dt.timedelta(days=d)
        for h in range(24):
            m = model.met_arrays(prov.at(day0 + _dt.timedelta(hours=h)), args.co2, "pre-roll")
            model.phen.accumulate(m["t2m"] - 273.15, m["vpd"], m["soilm"])
        model.phen.end_day(day0.timetuple().tm_yday, advance_crops=False)
    model.lai = model._phenology_lai()
    cells, fws, lais, sws, mus = [], [], [], [], []
    for d in range(ndays):
        day0 = t0 + _dt.timedelta(days=d)
        keep = d % args.every == args.every // 2
        for h in range(24):
            t = day0 + _dt.timedelta(hours=h)
            m = model.met_arrays(prov.at(t), args.co2, str(t))
            if keep:
                cell, fw, _ = model.cell_kernel(m)
                cells.append(np.array(cell, dtype=np.float64))
                fws.append(np.array(fw, dtype=np.float32))
                lais.append(model.lai.astype(np.float32))
                sws.append(m["swdown"].astype(np.float32))
                mus.append(m["cos_sza"].astype(np.float32))
            # LAI and phenology advance as in a run (pools are not needed for GPP)
            model.phen.accumulate(m["t2m"] - 273.15, m["vpd"], m["soilm"])
        model.phen.end_day(d + 1)
        model.lai = model._phenology_lai()
    np.savez(args.file, cell=np.array(cells), fw=np.array(fws), lai=np.array(lais), sw=np.array(sws),
             mu=np.array(mus), tile_cell=model.tile_cell, tile_pft=model.tile_pft,
             area=model.tile_frac * model.area_cell[model.tile_cell], vtop=model.vtop, lat=model.lat_cell)
    print(f"captured {len(cells)} hours -> {args.file}")


def replay(args):
    model, _, _ = build_offline(args.grid, args.set)
    z = dict(np.load(args.file))  # (an NpzFile re-reads an array at every access)
    tc, tp, area = z["tile_cell"], z["tile_pft"], z["area"]
    vtop = model.vtop
    zero = np.zeros(tc.size)
    one = np.ones(tc.size)
    i_sdir, i_sdif, i_mu = (beps.CELL_ROWS.index(n) for n in ("sdir", "sdif", "mu"))
    variants = {"meteorology split": None, "BEPS split": "beps"}
    if args.only_site is not None:
        mask = np.isin(tc, [args.only_site])
    else:
        mask = np.ones(tc.size, bool)
    for label, split in variants.items():
        gsun = np.zeros(tc.size)
        gsh = np.zeros(tc.size)
        sw_sum = np.zeros(tc.size)
        dif_sum = np.zeros(tc.size)
        lai_sum = np.zeros(tc.size)
        nday = np.zeros(tc.size)
        for k in range(z["cell"].shape[0]):
            cell = z["cell"][k].copy()
            if split == "beps":
                sw = z["sw"][k].astype(float)
                dif = np.minimum(beps.diffuse_beps(sw, z["mu"][k].astype(float)), sw)
                cell[i_sdir] = sw - dif
                cell[i_sdif] = dif
            lai = z["lai"][k].astype(float) * args.lai_scale
            out = beps.tile_fluxes(tc, tp, lai, vtop, zero, zero, zero, one, cell, model.pft_tab, model.scal_tab,
                                   fwtab=np.asarray(z["fw"][k], float), check=False)
            gsun += out[0]
            gsh += out[1]
            s = (cell[i_sdir] + cell[i_sdif])[tc]
            sw_sum += s
            dif_sum += cell[i_sdif][tc]
            day = cell[i_mu][tc] > 0
            lai_sum += np.where(day, lai, 0.0)
            nday += day
        print(f"\n== {label} ({z['cell'].shape[0]} hours)")
        print("type    GPP[gC/m2/yr]  shaded  diffuse-fraction(SW-weighted)  LAI(daylight mean)")
        hours_per_year = 8760.0 / z["cell"].shape[0]
        for p, name in enumerate(PFT_NAMES):
            m = (tp == p) & mask
            if not m.any():
                continue
            a = area[m]
            g = np.sum((gsun[m] + gsh[m]) * a)
            print(f"{name:6s} {g / a.sum() * 12e-6 * 3600 * hours_per_year:10.0f}  {np.sum(gsh[m] * a) / g:7.2f}  "
                  f"{np.sum(dif_sum[m] * a) / np.sum(sw_sum[m] * a):8.2f}  "
                  f"{np.sum(lai_sum[m] * a) / np.sum(nday[m] * a):8.2f}")
        g = np.sum((gsun + gsh)[mask] * area[mask])
        print(f"all    {g * 12e-6 * 3600 * hours_per_year / 1e15:8.1f} PgC/yr  {np.sum(gsh[mask] * area[mask]) / g:7.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("capture", "replay"))
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--co2", type=float, default=410.0)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--file", default="/tmp/shade_cap.npz")
    ap.add_argument("--only-site", type=int, default=None, help="restrict to one cell index")
    ap.add_argument("--lai-scale", type=float, default=1.0, help="multiply the captured LAI (sensitivity)")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args(argv)
    (capture if args.mode == "capture" else replay)(args)


if __name__ == "__main__":
    main()
