"""Validate the land component offline under the embedded climatology (REFERENCES.md, land section).

    python validation/land/validate_land.py [--grid 4x5] [--co2 410] [--out validation/land/output]

Steps (calendar 'noleap', so every year has the same climatology and the spin-up year repeats exactly):

1. analytic spin-up of all carbon pools at ``--co2`` ppm;
2. one year of hourly BEPS at the same CO2 -> global GPP, NPP, Ra, Rh, NEE, soil carbon; net flux after
   the spin-up; northern-hemisphere seasonal cycle of NEE; the diurnal NEE cycle in July at the mid-latitude
   forest cell with the largest forest fraction; the shaded-leaf share of GPP by cover type;
3. the same year from the same spun-up state at ``--co2 + 100`` ppm -> GPP response to CO2;
4. report (markdown), CSV of global numbers, maps and seasonal/diurnal plots in ``--out``.

Targets (REFERENCES.md): GPP 110-150 PgC/yr (Beer et al. 2010: 123 +- 8; Chen et al. 2012 BEPS: 132 +- 22;
Leng et al. 2024: 137.8), NPP 45-65, Rh 45-60, soil carbon 1200-2000 PgC, near-zero net flux after
spin-up, midday uptake and night release at a mid-latitude forest in July, northern summer uptake, shaded
leaves 26-50 % of GPP (Chen et al. 2012).
"""
from __future__ import annotations

import argparse
import copy
import csv
import logging
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from esm.config import load_config  # noqa: E402
from esm.land import offline  # noqa: E402
from esm.land.landcover import FOREST_PFTS, PFT_NAMES  # noqa: E402

log = logging.getLogger("validate_land")

TARGETS = {"gpp": (110.0, 150.0), "npp": (45.0, 65.0), "rh": (45.0, 60.0), "soil_carbon": (1200.0, 2000.0)}
#: Chen et al. 2012 (GBC 26, GB1019, abstract): shaded-leaf share of GPP by cover type (the abstract lists
#: 50, 38, 37, 39, 26, 29, 21 %; the first four are named EBF, DBF, ENF, DNF in the text available here).
CHEN2012_SHADED = {"ebf": 0.50, "dbf": 0.38, "enf": 0.37, "dnf": 0.39}


def build_offline(grid: str, sets=()):
    """The offline land model of the validation (hourly, noleap calendar) on ``grid`` with namelist overrides
    ``sets`` ("group.key=value"): ``(model, meteorology provider, grid)``. Shared with the diagnostics."""
    cfg = load_config(None, [f"grid_nml.horizontal={grid}", "time_control.calendar=noleap", "land_nml.interval=3600",
                             *sets])
    return offline.build(cfg)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", default="4x5")
    ap.add_argument("--co2", type=float, default=410.0)
    ap.add_argument("--year", type=int, default=2021)
    ap.add_argument("--out", default=str(HERE / "output"))
    ap.add_argument("--set", action="append", default=[], help="namelist override group.key=value")
    ap.add_argument("--sw-scale", type=float, default=1.0, help="multiply the climatology's surface shortwave (global "
                    "and diffuse) by this factor (to quantify a forcing bias, e.g. 0.94)")
    ap.add_argument("--tag", default="", help="suffix of the output files (default: the grid)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import cftime

    model, prov, grid = build_offline(args.grid, args.set)
    tag = args.grid + (f"_{args.tag}" if args.tag else "")
    met_at = prov.at if args.sw_scale == 1.0 else _scaled_shortwave(prov.at, args.sw_scale)
    start = cftime.datetime(args.year, 1, 1, calendar="noleap")
    log.info("land: %d tiles in %d cells on %s", model.ntile, model.ncell, args.grid)

    t0 = time.perf_counter()
    spin = model.spin_up(met_at, start, args.co2)
    t_spin = time.perf_counter() - t0
    log.info("spin-up %.0f s: %s", t_spin, spin)
    c_start = model.total_carbon() / 1e12
    model_hi = copy.deepcopy(model)

    # ---- diagnostics collected hourly
    area_t = model.tile_frac * model.area_cell[model.tile_cell]
    forest = np.isin(model.tile_pft, FOREST_PFTS)
    ff = model.cell_sum(forest.astype(float))
    latg = np.repeat(grid.lat[:, None], grid.nlon, axis=1)
    cand = np.where((latg > 38) & (latg < 55), ff, -1.0)
    jf, if_ = np.unravel_index(np.argmax(cand), grid.shape)
    site_cell = int(np.searchsorted(model.cell_flat, jf * grid.nlon + if_))
    site_tiles = np.flatnonzero(model.tile_cell == site_cell)
    site_lon = float(grid.lon[if_])
    acc = {"gpp": np.zeros(model.ntile), "gpp_shade": np.zeros(model.ntile), "npp": np.zeros(model.ntile)}
    diurnal = np.zeros(24)
    diurnal_parts = {k: np.zeros(24) for k in ("gpp", "ra", "rh", "rm", "rg")}
    diurnal_n = np.zeros(24)

    def hook(t, fl):
        acc["gpp"] += fl["gpp"]
        acc["gpp_shade"] += fl["gpp_shade"]
        acc["npp"] += fl["npp"]
        if t.month == 7:
            # the step covers [t, t + 1 h]: local solar time of its middle
            lst = int(np.floor(t.hour + 0.5 + site_lon / 15.0)) % 24
            frac = model.tile_frac[site_tiles]
            diurnal[lst] += float(np.sum(fl["nee"][site_tiles] * frac) / np.sum(frac))
            for k in diurnal_parts:
                diurnal_parts[k][lst] += float(np.sum(fl[k][site_tiles] * frac) / np.sum(frac))
            diurnal_n[lst] += 1

    t0 = time.perf_counter()
    res = offline.run(model, met_at, start, 1, args.co2, spinup=False, hourly_hook=hook)
    t_run = time.perf_counter() - t0
    res_hi = offline.run(model_hi, met_at, start, 1, args.co2 + 100.0, spinup=False, keep_monthly=False)
    c_end = model.total_carbon() / 1e12

    # ---- numbers
    g = {k: getattr(res, k)[0] for k in ("gpp", "npp", "ra", "rh", "nee", "fire", "harvest")}
    net_up = g["nee"] + g["fire"] + g["harvest"]
    soil = float(np.sum(model.pools[:, 9:].sum(axis=1) * area_t)) / 1e12
    litter = float(np.sum(model.pools[:, 4:9].sum(axis=1) * area_t)) / 1e12
    veg = float(np.sum(model.pools[:, :4].sum(axis=1) * area_t)) / 1e12
    shaded = {}
    for p, name in enumerate(PFT_NAMES):
        m = model.tile_pft == p
        tot = float(np.sum(acc["gpp"][m] * area_t[m]))
        shaded[name] = float(np.sum(acc["gpp_shade"][m] * area_t[m])) / tot if tot > 0 else float("nan")
    shaded_all = float(np.sum(acc["gpp_shade"] * area_t) / np.sum(acc["gpp"] * area_t))
    diurnal = diurnal / np.maximum(diurnal_n, 1)
    diurnal_parts = {k: v / np.maximum(diurnal_n, 1) for k, v in diurnal_parts.items()}
    night_h = np.r_[22, 23, 0, 1, 2]
    by_type = {}
    umol_g = 12.0e-6 * 3600.0  # umol m-2 s-1 over one hour -> g C m-2
    for p, name in enumerate(PFT_NAMES):
        m = model.tile_pft == p
        a = float(area_t[m].sum())
        gp = float(np.sum(acc["gpp"][m] * area_t[m])) * umol_g
        npp_ = float(np.sum(acc["npp"][m] * area_t[m])) * umol_g
        by_type[name] = (a / 1e12, gp / a if a > 0 else float("nan"), npp_ / gp if gp > 0 else float("nan"),
                         int(np.sum(model.rm_factor[m] < 1.0)), int(m.sum()))
    nh = (latg > 0)
    monthly_nee_nh = [float(np.sum(m[nh] * grid.area[nh])) * 86400 * 30.4 / 1e12 for m in res.monthly["nee"]]
    monthly_gpp = [float(np.sum(m * grid.area)) * 86400 * 30.4 / 1e12 for m in res.monthly["gpp"]]
    gpp_ratio = res_hi.gpp[0] / res.gpp[0]

    rows = [("gpp_PgC_yr", g["gpp"]), ("npp_PgC_yr", g["npp"]), ("ra_PgC_yr", g["ra"]), ("rh_PgC_yr", g["rh"]),
            ("nee_PgC_yr", g["nee"]), ("fire_PgC_yr", g["fire"]), ("harvest_PgC_yr", g["harvest"]),
            ("burned_area_Mkm2_yr", spin.get("burned_area", 0.0)), ("soil_carbon_PgC", soil), ("litter_carbon_PgC", litter),
            ("vegetation_carbon_PgC", veg), ("land_carbon_change_PgC_yr", c_end - c_start),
            ("gpp_plus100ppm_ratio", gpp_ratio), ("shaded_share_global", shaded_all),
            ("spinup_seconds", t_spin), ("run_year_seconds", t_run)]
    with open(out / f"summary_{tag}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["quantity", "value"])
        for k, v in rows:
            w.writerow([k, f"{v:.6g}"])
    _plots(out, tag, grid, res, model, monthly_nee_nh, monthly_gpp, diurnal, site_lon, grid.lat[jf])

    def verdict(name, value):
        lo, hi = TARGETS[name]
        return "inside" if lo <= value <= hi else f"OUTSIDE ({value / (hi if value > hi else lo) - 1:+.0%} of the bound)"

    lines = [f"# Land validation on the embedded climatology ({args.grid}, {args.co2:.0f} ppm CO2)", "",
             f"Command: `python validation/land/validate_land.py --grid {args.grid} --co2 {args.co2:g}"
             + "".join(f" --set {s}" for s in args.set)
             + (f" --sw-scale {args.sw_scale:g}" if args.sw_scale != 1.0 else "")
             + (f" --tag {args.tag}" if args.tag else "") + "`", "",
             f"{model.ntile} tiles in {model.ncell} vegetated cells; spin-up {t_spin:.0f} s (one year of hourly canopy "
             f"+ {spin['sweeps']} semi-analytic pool sweeps), one simulated year {t_run:.0f} s (incl. meteorology).", "",
             "| quantity | model | target (REFERENCES.md) | verdict |", "|---|---|---|---|",
             f"| GPP [PgC/yr] | {g['gpp']:.1f} | 110-150 (Beer 2010 123 +- 8; BEPS 132 +- 22; Leng 2024 137.8) | "
             f"{verdict('gpp', g['gpp'])} |",
             f"| NPP [PgC/yr] | {g['npp']:.1f} | 45-65 | {verdict('npp', g['npp'])} |",
             f"| Ra [PgC/yr] | {g['ra']:.1f} | (GPP - NPP) | |",
             f"| Rh [PgC/yr] | {g['rh']:.1f} | 45-60 | {verdict('rh', g['rh'])} |",
             f"| soil carbon [PgC] | {soil:.0f} | 1200-2000 | {verdict('soil_carbon', soil)} |",
             f"| litter carbon [PgC] | {litter:.0f} | | |", f"| vegetation carbon [PgC] | {veg:.0f} | | |",
             f"| fire emission [PgC/yr] | {g['fire']:.2f} | GFED4s 2.2 (1997-2016, van der Werf et al. 2017) | |",
             f"| burned area [Mkm2/yr] | {spin.get('burned_area', 0.0):.2f} | GFED4 3.5 without, GFED4s ~4.8 with "
             "small fires (Giglio et al. 2013; van der Werf et al. 2017) | |",
             f"| crop harvest removal [PgC/yr] | {g['harvest']:.2f} | (reported) | |",
             f"| NEE = Ra + Rh - GPP [PgC/yr] | {g['nee']:+.3f} | | |",
             f"| net flux after spin-up, NEE + fire + harvest [PgC/yr] | {net_up:+.4f} | ~0 | "
             f"{'near zero' if abs(net_up) < 0.01 * g['gpp'] else 'NOT near zero'} |",
             f"| land carbon change over the year [PgC] | {c_end - c_start:+.4f} | = -(NEE + fire + harvest) | |",
             f"| GPP response to +100 ppm | {100 * (gpp_ratio - 1):+.1f} % | (reported) | |",
             f"| shaded-leaf share of GPP, all tiles | {100 * shaded_all:.0f} % | 26-50 % by cover type (Chen 2012) | |",
             "", "Shaded-leaf share of GPP by cover type (Chen et al. 2012 values where the abstract names the type):", "",
             "| cover type | model | Chen 2012 |", "|---|---|---|"]
    for name in PFT_NAMES:
        ref = CHEN2012_SHADED.get(name)
        lines.append(f"| {name} | {100 * shaded[name]:.0f} % | {'' if ref is None else f'{100 * ref:.0f} %'} |")
    lines += ["", "By cover type (one simulated year): area, GPP per unit tile area, carbon-use efficiency NPP/GPP, "
              "tiles whose respiring biomass the cue_min floor reduced:", "",
              "| cover type | area [Mkm2] | GPP [gC m-2 yr-1] | NPP/GPP | capped tiles |", "|---|---|---|---|---|"]
    for name in PFT_NAMES:
        a, gd, cue, ncap, nt = by_type[name]
        lines.append(f"| {name} | {a:.2f} | {gd:.0f} | {cue:.2f} | {ncap} of {nt} |")
    lines += ["", f"Diurnal NEE in July at the forest cell {grid.lat[jf]:.1f} N, {site_lon:.1f} E "
              f"(forest fraction {ff[jf, if_]:.2f}), local solar hour -> umol m-2 s-1 per vegetated area:", "",
              "| hour | " + " | ".join(str(h) for h in range(0, 24, 2)) + " |",
              "|---|" + "---|" * 12, "| NEE | " + " | ".join(f"{diurnal[h]:+.1f}" for h in range(0, 24, 2)) + " |", "",
              "| GPP | " + " | ".join(f"{diurnal_parts['gpp'][h]:.1f}" for h in range(0, 24, 2)) + " |",
              "| Ra | " + " | ".join(f"{diurnal_parts['ra'][h]:.1f}" for h in range(0, 24, 2)) + " |",
              "| Rh | " + " | ".join(f"{diurnal_parts['rh'][h]:.1f}" for h in range(0, 24, 2)) + " |", "",
              f"Night (22-02 h) means: Rm {diurnal_parts['rm'][night_h].mean():.2f}, Rg "
              f"{diurnal_parts['rg'][night_h].mean():.2f}, Rh {diurnal_parts['rh'][night_h].mean():.2f} umol m-2 s-1.", "",
              f"Midday (11-13 h) mean {diurnal[11:14].mean():+.2f}, night (22-02 h) mean "
              f"{np.r_[diurnal[22:], diurnal[:3]].mean():+.2f} umol m-2 s-1: "
              f"{'uptake at midday and release at night' if diurnal[11:14].mean() < 0 < np.r_[diurnal[22:], diurnal[:3]].mean() else 'UNEXPECTED SIGNS'}.",
              "", "Northern-hemisphere land NEE by month [PgC/month]: "
              + ", ".join(f"{m:+.2f}" for m in monthly_nee_nh),
              f" (summer uptake: {'yes' if min(monthly_nee_nh[5:8]) < 0 and max(monthly_nee_nh[5:8]) < 0 else 'NO'}).",
              "", "Figures: "
              f"`maps_{tag}.png` (annual GPP, NPP, Rh, soil carbon), `seasonal_{tag}.png` (monthly global GPP, "
              f"NH NEE), `diurnal_{tag}.png`.", ""]
    (out / f"report_{tag}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


def _scaled_shortwave(at, factor):
    """``at`` with the surface shortwave (global and diffuse) multiplied by ``factor``."""
    from esm.land.model import MET_FIELDS

    def met_at(t):
        m = at(t)
        d = {k: m[k] for k in MET_FIELDS + ("tsoil_top",)}  # the climatology has both soil temperatures
        d["swdown"] = d["swdown"] * factor
        d["swdown_diffuse"] = d["swdown_diffuse"] * factor
        return d
    return met_at


def _plots(out, tag, grid, res, model, nee_nh, gpp_m, diurnal, site_lon, site_lat):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yr = 365.0 * 86400.0 * 1000.0  # kg m-2 s-1 -> g m-2 yr-1
    ann = {k: np.mean(res.monthly[k], axis=0) for k in ("gpp", "npp", "rh")}
    area_t = model.tile_frac * model.area_cell[model.tile_cell]
    soil = model.cell_sum(model.pools[:, 9:].sum(axis=1))
    fig, axs = plt.subplots(2, 2, figsize=(12, 6.5), constrained_layout=True)
    for ax, (title, data, unit) in zip(axs.ravel(), (("GPP", ann["gpp"] * yr, "gC m-2 yr-1"),
                                                     ("NPP", ann["npp"] * yr, "gC m-2 yr-1"),
                                                     ("Rh", ann["rh"] * yr, "gC m-2 yr-1"),
                                                     ("soil carbon", soil, "kg C m-2"))):
        im = ax.pcolormesh(grid.lon_edges, grid.lat_edges, data, cmap="YlGn", shading="flat")
        ax.set_title(f"{title} [{unit}] (per cell area)")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.savefig(out / f"maps_{tag}.png", dpi=90)
    plt.close(fig)
    fig, axs = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    months = np.arange(1, 13)
    axs[0].plot(months, gpp_m, "o-")
    axs[0].set_title("global GPP [PgC/month]")
    axs[1].bar(months, nee_nh, color=["tab:green" if v < 0 else "tab:brown" for v in nee_nh])
    axs[1].axhline(0, color="k", lw=0.8)
    axs[1].set_title("northern-hemisphere land NEE [PgC/month]")
    for ax in axs:
        ax.set_xticks(months)
    fig.savefig(out / f"seasonal_{tag}.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5), constrained_layout=True)
    ax.plot(np.arange(24), diurnal, "o-")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("local solar hour")
    ax.set_ylabel("NEE [umol m-2 s-1]")
    ax.set_title(f"July mean diurnal NEE, forest cell {site_lat:.0f}N {site_lon:.0f}E")
    fig.savefig(out / f"diurnal_{tag}.png", dpi=90)
    plt.close(fig)
    del area_t


if __name__ == "__main__":
    sys.exit(main())
