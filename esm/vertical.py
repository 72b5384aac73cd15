"""Hybrid sigma-pressure vertical coordinates.

Interface pressures follow ``p_k = ap_k + bp_k * p_s`` (Simmons & Burridge 1981) with
``k = 0`` at the surface (``ap = 0, bp = 1``) and ``k = nlev`` at the model top.
Layer ``k`` lies between interfaces ``k`` and ``k + 1``; its dry-air mass is

    m_k = (p_k - p_{k+1}) * A / g,

so the column mass is ``(p_s - p_top) * A / g``. Coefficients come from shipped
tables in ``forcing/vertical`` (see ``make_levels.py`` there for provenance).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from esm.constants import G0
from esm.data import forcing_path

#: Named level sets users select in ``&grid_nml: vertical`` -> shipped table.
LEVEL_SETS = {
    "geos72": "vertical/geos72.csv",
    "geos47": "vertical/geos47.csv",
    "coarse11": "vertical/coarse11.csv",
}


def read_level_table(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an ``k,ap_hPa,bp`` table (``#`` comments) and return ``(ap [Pa], bp)``, surface first."""
    path = Path(path)
    ap, bp = [], []
    with open(path) as fh:
        header_seen = False
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not header_seen:
                if line.replace(" ", "") != "k,ap_hPa,bp":
                    raise ValueError(f"{path}:{lineno}: expected the header 'k,ap_hPa,bp', got {line!r}")
                header_seen = True
                continue
            try:
                k, a, b = line.split(",")
                if int(k) != len(ap):
                    raise ValueError
                ap.append(float(a) * 100.0)
                bp.append(float(b))
            except ValueError:
                raise ValueError(f"{path}:{lineno}: expected 'k,ap_hPa,bp' with k = {len(ap)}, "
                                 f"got {line!r}") from None
    return np.asarray(ap), np.asarray(bp)


@dataclass(frozen=True, eq=False)
class VerticalCoordinate:
    """Hybrid sigma-pressure coordinate with interface coefficients ``ap`` [Pa] and ``bp`` [1]."""

    ap: np.ndarray
    bp: np.ndarray
    name: str = field(default="")

    def __post_init__(self):
        ap = np.asarray(self.ap, dtype=np.float64)
        bp = np.asarray(self.bp, dtype=np.float64)
        if ap.ndim != 1 or ap.shape != bp.shape or ap.size < 2:
            raise ValueError(f"vertical coordinate {self.name!r}: ap and bp must be 1-D of equal length >= 2")
        if ap[0] != 0.0 or bp[0] != 1.0:
            raise ValueError(f"vertical coordinate {self.name!r}: the first interface must be the surface "
                             f"(ap = 0, bp = 1), got ap = {ap[0]}, bp = {bp[0]}")
        if bp[-1] != 0.0:
            raise ValueError(f"vertical coordinate {self.name!r}: the model top must be a pressure level (bp = 0)")
        # layers must have positive thickness for any surface pressure >= 50 kPa
        for ps in (5.0e4, 1.1e5):
            if np.any(np.diff(ap + bp * ps) >= 0):
                raise ValueError(f"vertical coordinate {self.name!r}: interface pressures are not "
                                 f"decreasing upward for p_s = {ps} Pa")
        if np.any(np.diff(bp) > 0):
            raise ValueError(f"vertical coordinate {self.name!r}: bp must not increase upward")
        for arr in (ap, bp):
            arr.setflags(write=False)
        object.__setattr__(self, "ap", ap)
        object.__setattr__(self, "bp", bp)

    @classmethod
    def from_name(cls, name: str) -> "VerticalCoordinate":
        try:
            rel = LEVEL_SETS[name]
        except KeyError:
            raise ValueError(f"unknown vertical level set {name!r}; choose one of {sorted(LEVEL_SETS)}") from None
        ap, bp = read_level_table(forcing_path(rel))
        return cls(ap=ap, bp=bp, name=name)

    @property
    def nlev(self) -> int:
        return self.ap.size - 1

    @property
    def ptop(self) -> float:
        """Model-top pressure [Pa]."""
        return float(self.ap[-1])

    @cached_property
    def dap(self) -> np.ndarray:
        """``ap_k - ap_{k+1}`` per layer [Pa] (layer thickness = dap + dbp * ps)."""
        return self.ap[:-1] - self.ap[1:]

    @cached_property
    def dbp(self) -> np.ndarray:
        """``bp_k - bp_{k+1}`` per layer [1]; sums to 1 over the column."""
        return self.bp[:-1] - self.bp[1:]

    def pressure_edges(self, ps: np.ndarray) -> np.ndarray:
        """Interface pressures [Pa], shape ``(nlev+1,) + ps.shape``."""
        ps = np.asarray(ps, dtype=np.float64)
        return self.ap.reshape((-1,) + (1,) * ps.ndim) + self.bp.reshape((-1,) + (1,) * ps.ndim) * ps

    def layer_thickness(self, ps: np.ndarray) -> np.ndarray:
        """Pressure thickness of each layer [Pa], shape ``(nlev,) + ps.shape``."""
        ps = np.asarray(ps, dtype=np.float64)
        sh = (-1,) + (1,) * ps.ndim
        return self.dap.reshape(sh) + self.dbp.reshape(sh) * ps

    def pressure_mid(self, ps: np.ndarray) -> np.ndarray:
        """Layer mid-point pressure [Pa] (arithmetic mean of the interfaces)."""
        pe = self.pressure_edges(ps)
        return 0.5 * (pe[:-1] + pe[1:])

    def air_mass(self, ps: np.ndarray, area: np.ndarray) -> np.ndarray:
        """Dry-air mass of each layer [kg], ``dp * A / g``, shape ``(nlev,) + ps.shape``."""
        return self.layer_thickness(ps) * (np.asarray(area) / G0)

    def surface_pressure_from_mass(self, column_mass: np.ndarray, area: np.ndarray) -> np.ndarray:
        """Invert the column mass [kg] to surface pressure [Pa]: ``p_s = p_top + M g / A``."""
        return self.ptop + np.asarray(column_mass) * G0 / np.asarray(area)

    def describe(self) -> str:
        return f"{self.name or 'levels'}: {self.nlev} hybrid layers, top {self.ptop:.3g} Pa"
