"""Why soil carbon per unit NPP is what it is: capture the spin-up's daily inputs, replay the pool steady state.

    python validation/land/soil_diagnostic.py capture [--grid 4x5] [--co2 410] [--file /tmp/soil_cap.npz]
    python validation/land/soil_diagnostic.py replay [--file /tmp/soil_cap.npz] [--set land_nml.key=value ...]

``capture`` runs the land spin-up (:meth:`esm.land.model.LandModel.spin_up`, ~4 min at 4x5) and stores its daily
NPP and decomposition-scalar integrals per tile, the tile cover types and areas, and the daily-mean soil
temperature and relative saturation of every cell (the climatology is periodic, so the hours the spin-up visits
give one exact year). ``replay`` solves the cyclostationary pools (:meth:`esm.land.intec.PoolModel.cyclostationary`,
the same solver as the spin-up) with the pool parameters of the namelist overrides given by ``--set`` (seconds),
and prints soil carbon (microbes + slow + passive), litter (CWD + structural + metabolic), pool turnover times,
and the NPP-weighted annual means of the decomposition scalar and its temperature and moisture factors per cover
type. Scalar variants (``decomp_*`` keys) are recomputed from the stored daily soil temperature and moisture
(daily means of the hourly factors are not the factors of the daily means; the replay reports both for the
captured default so the difference is visible).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from esm.config import load_config  # noqa: E402
from esm.land import intec  # noqa: E402
from esm.land.landcover import PFT_NAMES  # noqa: E402
from validate_land import build_offline  # noqa: E402
from esm.land.params import LandParameters  # noqa: E402




def capture(args):
    import cftime

    model, prov, grid = build_offline(args.grid, args.set)
    t0 = cftime.datetime(2021, 1, 1, calendar="noleap")
    ndays = 365
    # hourly soil temperature, saturation and the factors of the default scalar, per cell (overwritten with the
    # same values when the spin-up visits an hour twice: the climatology repeats every noleap year)
    tsoil = np.zeros((ndays, 24, model.ncell))
    sat = np.zeros((ndays, 24, model.ncell))

    def met_at(t):
        fields = prov.at(t)
        if t.year == t0.year:
            m = model.met_arrays(fields, args.co2, "capture")
            d = t.dayofyr - 1
            tsoil[d, t.hour] = m["tsoil"] - 273.15
            sat[d, t.hour] = m["soilm"] / model.prm.porosity
        return fields

    spin = model.spin_up(met_at, t0, args.co2)
    print("spin-up:", spin)
    sd = model.spinup_daily
    area = model.tile_frac * model.area_cell[model.tile_cell]
    np.savez_compressed(args.file, npp=sd["npp"], xi=sd["xi"], pft=model.tile_pft, area=area,
                        tile_cell=model.tile_cell, lat=model.lat_cell, tsoil=tsoil, sat=sat, pools=model.pools,
                        grid=args.grid)
    print("wrote", args.file)


def _factors(t, x, prm):
    """Temperature and moisture factors of esm.land.intec.decomposition_scalar (same formulas)."""
    e0, t0, tref = prm.decomp_e0, prm.decomp_t0, prm.decomp_tref
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ft = np.where(t > t0 + 1.0, np.exp(e0 * (1.0 / (tref - t0) - 1.0 / np.maximum(t - t0, 1.0))), 0.0)
    ft = np.maximum(np.minimum(ft, 1.0), prm.decomp_t_floor)
    fw = np.maximum(np.clip(prm.decomp_w1 * x + prm.decomp_w2 * x * x + prm.decomp_w0, 0.0, 1.0), prm.decomp_w_floor)
    return ft, fw


def replay(args):
    cap = np.load(args.file)
    cfg = load_config(None, [f"grid_nml.horizontal={str(cap['grid'])}", *args.set])
    prm = LandParameters.from_config(cfg)
    npp, pft, area, tc = cap["npp"], cap["pft"], cap["area"], cap["tile_cell"]
    ft_h, fw_h = _factors(cap["tsoil"], cap["sat"], prm)
    xi_cell = (ft_h * fw_h).sum(axis=1) * 3600.0  # (days, cells) [s]
    xi = xi_cell[:, tc]
    if not any(s.split("=")[0].split(".")[-1].startswith("decomp_") for s in args.set):
        err = np.max(np.abs(xi - cap["xi"])) / 86400.0
        print(f"recomputed daily xi vs captured: max |diff| = {err:.2e} (per day, dimensionless)")
    pm = intec.PoolModel(pft, prm)
    pools, sweeps = pm.cyclostationary(npp, xi, 86400.0, tol=1e-10, maxit=300)
    gl = lambda v: float(np.sum(v * area)) / 1e12  # noqa: E731
    nppy = npp.sum(axis=0)
    soil = pools[:, intec.SMIC:].sum(axis=1)
    litter = pools[:, intec.CWD:intec.SMIC].sum(axis=1)
    print(f"NPP {gl(nppy):.1f} PgC/yr; soil C (microbe+slow+passive) {gl(soil):.0f} PgC; litter (CWD+str+met) "
          f"{gl(litter):.0f}; vegetation {gl(pools[:, :intec.CWD].sum(axis=1)):.0f}; sweeps {sweeps}")
    print(f"soil C / NPP = {gl(soil) / gl(nppy):.1f} yr; (soil + litter) / NPP = {gl(soil + litter) / gl(nppy):.1f} yr")
    print("pools [PgC]: " + ", ".join(f"{n} {gl(pools[:, i]):.0f}" for i, n in enumerate(intec.POOL_NAMES)
                                     if i >= intec.CWD))
    # NPP-weighted annual means of the scalars: the annual-mean xi a pool sees, weighted where the carbon is made
    xi_ann = xi.sum(axis=0) / (365 * 86400.0)
    ft_ann = (ft_h.mean(axis=(0, 1)))[tc]
    fw_ann = (fw_h.mean(axis=(0, 1)))[tc]
    t_ann = cap["tsoil"].mean(axis=(0, 1))[tc]
    x_ann = cap["sat"].mean(axis=(0, 1))[tc]
    w = np.maximum(nppy, 0.0) * area
    print("NPP-weighted annual means | xi | f_T | f_W | T_soil [C] | theta/porosity | soil C [kgC m-2] | "
          "soil C / NPP [yr]")
    for p, name in [(-1, "all")] + list(enumerate(PFT_NAMES)):
        m = np.ones_like(pft, bool) if p < 0 else (pft == p)
        ww = w[m]
        if ww.sum() <= 0:
            continue
        av = lambda v: float(np.sum(v[m] * ww) / ww.sum())  # noqa: E731
        dens = float(np.sum(soil[m] * area[m]) / np.sum(area[m]))
        tau = float(np.sum(soil[m] * area[m]) / max(np.sum(nppy[m] * area[m]), 1e-30))
        print(f"  {name:6s} | {av(xi_ann):.3f} | {av(ft_ann):.3f} | {av(fw_ann):.3f} | {av(t_ann):5.1f} | "
              f"{av(x_ann):.2f} | {dens:5.1f} | {tau:5.1f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("capture", "replay"))
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--co2", type=float, default=410.0)
    ap.add_argument("--file", default="/tmp/soil_cap.npz")
    ap.add_argument("--set", action="append", default=[], help="namelist override group.key=value")
    args = ap.parse_args(argv)
    (capture if args.mode == "capture" else replay)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
