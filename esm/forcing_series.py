"""Global-mean greenhouse-gas concentration histories and SSP pathways shipped with esm.

The table ``forcing/co2/co2_rcmip.csv`` (RCMIP v5.1.0, CC-BY 4.0; derived by
``forcing/co2/make_co2_history.py`` from the ``fair==1.6.4`` wheel) holds annual means of
CO2 [ppm], CH4 [ppb] and N2O [ppb]: scenario ``historical`` for 1750-2014 and each SSP for
2015-2500. Asking for an SSP returns the history followed by that pathway.

>>> years, ppm = co2_history("ssp245")      # 1750..2500
>>> co2_at(2000.5, "historical")             # mid-2000 value, ppm
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from esm.errors import InputDataError

RELATIVE_PATH = "co2/co2_rcmip.csv"
GASES = {"co2": "co2_ppm", "ch4": "ch4_ppb", "n2o": "n2o_ppb"}
UNITS = {"co2": "ppm", "ch4": "ppb", "n2o": "ppb"}


def _default_path() -> Path:
    from esm.data import forcing_path

    return forcing_path(RELATIVE_PATH)


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, dict[str, np.ndarray]]:
    """{scenario: {'year': int array, 'co2_ppm': ..., ...}} from the shipped table."""
    rows: dict[str, list] = {}
    try:
        with open(path, newline="") as f:
            lines = [ln for ln in f if not ln.startswith("#")]
    except OSError as exc:
        raise InputDataError(f"cannot read the concentration table {path}: {exc}") from None
    reader = csv.DictReader(lines)
    need = {"year", "scenario", *GASES.values()}
    if reader.fieldnames is None or not need <= set(reader.fieldnames):
        raise InputDataError(f"{path}: header {reader.fieldnames} lacks the columns {sorted(need)}")
    for lineno, row in enumerate(reader, start=2):
        try:
            rows.setdefault(row["scenario"], []).append(
                (int(row["year"]), *(float(row[c]) for c in GASES.values())))
        except (TypeError, ValueError):
            raise InputDataError(f"{path}: data line {lineno} {row!r} is not 'year,scenario,co2,ch4,n2o' "
                                 "numbers") from None
    out = {}
    for scen, recs in rows.items():
        a = np.array(sorted(recs))
        years = a[:, 0].astype(int)
        if np.any(np.diff(years) != 1):
            raise InputDataError(f"{path}: years of scenario {scen!r} are not consecutive")
        out[scen] = {"year": years, **{c: a[:, i + 1] for i, c in enumerate(GASES.values())}}
    if "historical" not in out:
        raise InputDataError(f"{path}: no 'historical' rows")
    return out


def scenarios(path: str | Path | None = None) -> list[str]:
    """Scenario names in the table: 'historical' and the SSPs."""
    return sorted(_load(str(path or _default_path())))


def concentration_history(gas: str, scenario: str = "historical",
                          path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(years, values)`` of the global annual-mean mole fraction of ``gas`` (co2 in ppm; ch4, n2o in ppb).

    ``scenario='historical'`` gives 1750-2014; an SSP name (e.g. 'ssp245') gives 1750-2500
    (history then the pathway). Raises ValueError for an unknown gas or scenario.
    """
    if gas not in GASES:
        raise ValueError(f"unknown gas {gas!r}; the concentration table has {', '.join(GASES)}")
    table = _load(str(path or _default_path()))
    if scenario not in table:
        raise ValueError(f"unknown concentration scenario {scenario!r}; available: {', '.join(sorted(table))}")
    col = GASES[gas]
    hist = table["historical"]
    if scenario == "historical":
        return hist["year"].copy(), hist[col].copy()
    fut = table[scenario]
    if fut["year"][0] != hist["year"][-1] + 1:
        raise InputDataError(f"scenario {scenario!r} starts in {fut['year'][0]}, not after the history "
                             f"({hist['year'][-1]})")
    return np.concatenate([hist["year"], fut["year"]]), np.concatenate([hist[col], fut[col]])


def co2_history(scenario: str = "historical", path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(years, ppm)``: global annual-mean CO2 for 'historical' (1750-2014) or an SSP (1750-2500)."""
    return concentration_history("co2", scenario, path)


def co2_at(year, scenario: str = "historical", path: str | Path | None = None):
    """CO2 [ppm] at fractional calendar year(s) ``year`` (2000.5 = mid-2000).

    Linear interpolation between annual means placed at mid-year; before the first
    mid-year (or after the last) the first (last) value is held, within half a year;
    further out a ValueError names the covered span.
    """
    years, ppm = co2_history(scenario, path)
    y = np.asarray(year, dtype=float)
    lo, hi = years[0], years[-1] + 1.0
    if np.any(y < lo) or np.any(y > hi) or not np.all(np.isfinite(y)):
        raise ValueError(f"CO2 for scenario {scenario!r} covers {lo:.0f}-{hi:.0f}; asked for "
                         f"{np.min(y):g}..{np.max(y):g}")
    return np.interp(y, years + 0.5, ppm)
