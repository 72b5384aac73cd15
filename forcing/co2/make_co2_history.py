"""Derive ``forcing/co2/co2_rcmip.csv``: global annual-mean CO2, CH4 and N2O, history and SSPs.

Source: the RCMIP v5.1.0 concentration table (Nicholls et al. 2020, GMD 13, 5175; data CC-BY 4.0;
CMIP6 input4MIPs concentrations of Meinshausen et al. 2017, 2020) as shipped inside the
``fair==1.6.4`` wheel at ``fair/SSPs/data/rcmip-concentrations-annual-means-5-1-0-ssp-only.csv``.
The wheel is read as a zip file; fair itself is never imported (it does not run under numpy 2).

Run from the repository root (needs only pip and the network to the package index)::

    python forcing/co2/make_co2_history.py                 # downloads the wheel with pip
    python forcing/co2/make_co2_history.py --wheel PATH    # or uses a wheel you already have

Output: one long table ``year,scenario,co2_ppm,ch4_ppb,n2o_ppb`` with ``scenario = historical``
for 1750-2014 (identical in every SSP file row, checked here) and each SSP for 2015-2500.
Values are annual means (centred on 1 July of the year).
"""
from __future__ import annotations

import argparse
import csv
import glob
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "co2_rcmip.csv"
WHEEL = "fair==1.6.4"
MEMBER = "fair/SSPs/data/rcmip-concentrations-annual-means-5-1-0-ssp-only.csv"
#: The eight ScenarioMIP tier-1/2 SSPs (the AerChemMIP low-NTCF variants are left out).
SCENARIOS = ("ssp119", "ssp126", "ssp245", "ssp370", "ssp434", "ssp460", "ssp534-over", "ssp585")
GASES = {"co2": ("Atmospheric Concentrations|CO2", "ppm"), "ch4": ("Atmospheric Concentrations|CH4", "ppb"),
         "n2o": ("Atmospheric Concentrations|N2O", "ppb")}
FIRST_YEAR, LAST_HIST, LAST_YEAR = 1750, 2014, 2500


def fetch_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", str(dest)],
                   check=True)
    found = glob.glob(str(dest / "fair-1.6.4-*.whl"))
    if not found:
        raise SystemExit(f"pip download {WHEEL} produced no wheel in {dest}")
    return Path(found[0])


def read_table(wheel: Path) -> dict:
    """{(scenario, gas): {year: value}} for World rows."""
    with zipfile.ZipFile(wheel) as z:
        text = z.read(MEMBER).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    col = {name: i for i, name in enumerate(header)}
    years = {int(h): i for i, h in enumerate(header) if h.isdigit()}
    out = {}
    for row in rows[1:]:
        if row[col["Region"]] != "World":
            continue
        for gas, (variable, unit) in GASES.items():
            if row[col["Variable"]] == variable:
                if row[col["Unit"]] != unit:
                    raise SystemExit(f"{MEMBER}: {variable} in {row[col['Unit']]!r}, expected {unit!r}")
                out[(row[col["Scenario"]], gas)] = {y: float(row[i]) for y, i in years.items() if row[i].strip()}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="path of fair-1.6.4-py3-none-any.whl (default: pip download it)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        table = read_table(wheel)
    for s in SCENARIOS:
        for g in GASES:
            if (s, g) not in table:
                raise SystemExit(f"{MEMBER} has no World row for {s} {g}")
    # history is the same in every scenario row: check, then take it from the first
    hist = {}
    for g in GASES:
        ref = table[(SCENARIOS[0], g)]
        for s in SCENARIOS[1:]:
            for y in range(FIRST_YEAR, LAST_HIST + 1):
                if abs(table[(s, g)][y] - ref[y]) > 1e-6 * abs(ref[y]):
                    raise SystemExit(f"historical {g} in {y} differs between {SCENARIOS[0]} and {s}")
        hist[g] = ref
    lines = [
        "# Global annual-mean atmospheric CO2 (ppm), CH4 (ppb) and N2O (ppb) mole fractions: history 1750-2014",
        "# (scenario 'historical') and the CMIP6 SSP concentration pathways 2015-2500 (Meinshausen et al. 2017, 2020).",
        f"# Source: RCMIP v5.1.0 (Nicholls et al. 2020, GMD 13, 5175), file {MEMBER}",
        f"#   inside the {WHEEL} wheel on PyPI. Data licence: CC-BY 4.0 (RCMIP).",
        "# Derived by forcing/co2/make_co2_history.py (World region rows; values unchanged).",
        "# Annual means, centred on 1 July of each year.",
        "year,scenario,co2_ppm,ch4_ppb,n2o_ppb",
    ]
    for y in range(FIRST_YEAR, LAST_HIST + 1):
        lines.append(f"{y},historical," + ",".join(f"{hist[g][y]:.6g}" for g in GASES))
    for s in SCENARIOS:
        for y in range(LAST_HIST + 1, LAST_YEAR + 1):
            lines.append(f"{y},{s}," + ",".join(f"{table[(s, g)][y]:.6g}" for g in GASES))
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {len(lines) - 7} rows)")


if __name__ == "__main__":
    main()
