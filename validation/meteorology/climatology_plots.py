"""January and July cross-sections and maps of the embedded climatology, with the observed values.

Usage: PYTHONPATH=. python validation/meteorology/climatology_plots.py [--grid 2x2.5]
Writes output/climatology_{jan,jul}_sections.png, output/climatology_{jan,jul}_maps.png and
output/climatology_report.md (global and zonal numbers next to the observed climatology they imitate).
"""
from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import cftime
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from esm.grid import Grid  # noqa: E402
from esm.meteorology.climatology import Climatology  # noqa: E402
from esm.vertical import VerticalCoordinate  # noqa: E402

OUT = Path(__file__).resolve().parent / "output"


def daily_mean(clim, day, names):
    acc = {n: 0.0 for n in names}
    for h in range(0, 24, 3):
        met = clim.at(day + datetime.timedelta(hours=h))
        for n in names:
            acc[n] = acc[n] + met[n] / 8.0
    return acc


def zonal(x):
    return x.mean(axis=-1)


def streamfunction(clim, t):
    """Zonal-total northward mass transport below each interface [1e9 kg s-1] of the mean flow."""
    t0, _, _ = clim._record_time(t)
    mfy = clim._mean_flow_record(t0)[1]
    tot = mfy.sum(axis=2)  # (nlev, nlat+1)
    return np.concatenate([np.zeros((1, tot.shape[1])), np.cumsum(tot, axis=0)]) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", default="2x2.5")
    ap.add_argument("--levels", default="geos47")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    grid = Grid.from_spec(a.grid)
    vc = VerticalCoordinate.from_name(a.levels)
    clim = Climatology(grid, vc)
    area = grid.area
    lines = ["# Embedded climatology: January and July\n",
             f"Grid {a.grid}, levels {a.levels}; land fraction from {clim.land_source}.\n",
             "| quantity | model Jan | model Jul | observed (source) |", "|---|---|---|---|"]
    res = {}
    for label, month in (("jan", 1), ("jul", 7)):
        day = cftime.datetime(2020, month, 15, calendar="standard")
        met = clim.at(day)
        d = daily_mean(clim, day, ("t2m", "precip", "swdown", "sst", "seaice", "ps", "wind10", "pblh", "q2m",
                                   "soilm", "tsoil", "vpd"))
        res[label] = (met, d)
        pm = vc.pressure_mid(met.ps).mean(axis=2) / 100.0  # hPa, zonal mean
        lat2 = np.broadcast_to(grid.lat[None, :], pm.shape)
        fig, axs = plt.subplots(2, 2, figsize=(12, 9))
        for ax, (name, data, lev, unit) in zip(axs.flat, [
                ("temperature", zonal(met.t), np.arange(180, 310, 10), "K"),
                ("zonal wind", zonal(met.u), np.arange(-40, 95, 5), "m/s"),
                ("specific humidity", zonal(met.qv) * 1e3, [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 4, 8, 12, 16], "g/kg")]):
            cs = ax.contourf(lat2, pm, data, levels=lev, cmap="RdBu_r" if name == "zonal wind" else "viridis",
                             extend="both")
            ax.contour(lat2, pm, data, levels=lev, colors="k", linewidths=0.3)
            fig.colorbar(cs, ax=ax, label=unit)
            ax.set_ylim(1000, 10)
            ax.set_yscale("log")
            ax.set_title(f"{label.upper()} zonal-mean {name}")
            ax.set_ylabel("hPa")
        psi = streamfunction(clim, day)
        pe = vc.pressure_edges(met.ps).mean(axis=2) / 100.0
        pe_f = np.concatenate([pe[:, :1], 0.5 * (pe[:, 1:] + pe[:, :-1]), pe[:, -1:]], axis=1)
        late = np.broadcast_to(grid.lat_edges[None, :], pe_f.shape)
        ax = axs.flat[3]
        lev = np.arange(-200, 201, 20)
        cs = ax.contourf(late, pe_f, psi, levels=lev, cmap="RdBu_r", extend="both")
        ax.contour(late, pe_f, psi, levels=lev, colors="k", linewidths=0.3)
        fig.colorbar(cs, ax=ax, label="1e9 kg/s")
        ax.set_ylim(1000, 50)
        ax.set_title(f"{label.upper()} mean meridional mass streamfunction")
        fig.tight_layout()
        fig.savefig(OUT / f"climatology_{label}_sections.png", dpi=80)
        plt.close(fig)
        fig, axs = plt.subplots(3, 2, figsize=(13, 12))
        maps = [("t2m - 273.15 (degC), daily mean", d["t2m"] - 273.15, np.arange(-50, 45, 5)),
                ("precipitation (mm/day)", d["precip"] * 86400, [0, 0.5, 1, 2, 3, 4, 6, 8, 10, 15]),
                ("surface SW down, daily mean (W m-2)", d["swdown"], np.arange(0, 400, 25)),
                ("SST (degC), sea ice > 0.15 hatched", d["sst"] - 273.15, np.arange(-2, 32, 2)),
                ("surface pressure (hPa)", d["ps"] / 100, np.arange(500, 1045, 15)),
                ("boundary-layer height, daily mean (m)", d["pblh"], np.arange(0, 2100, 150))]
        for ax, (title, data, lev) in zip(axs.flat, maps):
            cs = ax.contourf(grid.lon, grid.lat, data, levels=lev, extend="both", cmap="viridis")
            ax.contour(grid.lon, grid.lat, clim.land, levels=[0.5], colors="w", linewidths=0.6)
            if title.startswith("SST"):
                ax.contourf(grid.lon, grid.lat, d["seaice"], levels=[0.15, 1.1], hatches=["//"], colors="none")
            fig.colorbar(cs, ax=ax)
            ax.set_title(f"{label.upper()} {title}")
        fig.tight_layout()
        fig.savefig(OUT / f"climatology_{label}_maps.png", dpi=70)
        plt.close(fig)

    def gm(x, w=None):
        ww = area if w is None else area * w
        return float(np.sum(x * ww) / np.sum(ww))

    ocean = 1 - clim.land
    mj, dj = res["jan"]
    ml, dl = res["jul"]

    def ext(ice, hemi):
        return float(np.sum(ice * area * ocean * hemi) / 1e12)
    nh = (grid.lat > 0)[:, None]
    rows = [
        ("global-mean T2m (K)", gm(dj["t2m"]), gm(dl["t2m"]), "~285.5 Jan / ~289.5 Jul (ERA5 1991-2020)"),
        ("global-mean precipitation (mm/day)", gm(dj["precip"]) * 86400, gm(dl["precip"]) * 86400,
         "2.7 annual (GPCP v2.3, Adler et al. 2018)"),
        ("global-mean surface SW down (W m-2)", gm(dj["swdown"]), gm(dl["swdown"]),
         "~185-190 annual (Wild et al. 2013; CERES-EBAF)"),
        ("ocean-mean 10-m wind speed (m/s)", gm(dj["wind10"], ocean), gm(dl["wind10"], ocean),
         "~7.3 (QuikSCAT)"),
        ("global-mean surface pressure (hPa)", gm(dj["ps"]) / 100, gm(dl["ps"]) / 100,
         "985.5 (Trenberth & Smith 2005)"),
        ("Arctic sea-ice area (1e6 km2)", ext(dj["seaice"], nh), ext(dl["seaice"], nh),
         "~13.5 Jan / ~8 Jul (NSIDC area)"),
        ("Antarctic sea-ice area (1e6 km2)", ext(dj["seaice"], ~nh), ext(dl["seaice"], ~nh),
         "~4 Jan / ~14 Jul (NSIDC area)"),
        ("max zonal-mean u near 200 hPa (m/s)", float(zonal(mj.u)[(vc.pressure_mid(mj.ps).mean(axis=2) > 15000) &
                                                             (vc.pressure_mid(mj.ps).mean(axis=2) < 30000)].max()),
         float(zonal(ml.u)[(vc.pressure_mid(ml.ps).mean(axis=2) > 15000) &
                           (vc.pressure_mid(ml.ps).mean(axis=2) < 30000)].max()),
         "~45 Jan (NH 30N) / ~40 Jul (SH 30S) (ERA5)"),
        ("max |Hadley streamfunction| (1e9 kg/s)",
         float(np.abs(streamfunction(clim, cftime.datetime(2020, 1, 15, calendar="standard"))).max()),
         float(np.abs(streamfunction(clim, cftime.datetime(2020, 7, 15, calendar="standard"))).max()),
         "~180-220 in the winter cell (Oort & Yienger 1996; Dima & Wallace 2003)"),
        ("tropical cold-point T (K)", float(mj.t[:, np.abs(grid.lat) < 10].min()),
         float(ml.t[:, np.abs(grid.lat) < 10].min()), "~190-195 (ERA5, radiosondes)"),
        ("max convective mass flux (kg m-2 s-1)", float(mj.cmfmc.max()), float(ml.cmfmc.max()),
         "~0.01-0.04 (MERRA-2 CMFMC in the ITCZ)"),
    ]
    for name, j, l, obs in rows:
        lines.append(f"| {name} | {j:.2f} | {l:.2f} | {obs} |")
    lines.append("\nPlots: climatology_jan_sections.png, climatology_jul_sections.png, climatology_jan_maps.png, "
                 "climatology_jul_maps.png.\n")
    (OUT / "climatology_report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
