"""Regular latitude-longitude grids with exact spherical cell areas.

Cells are bounded by latitude edges ``-90 + j*dlat`` and longitude edges
``-180 + i*dlon``; the polar rows are full cells whose outer edge is the pole
(the transport treats them as polar caps). The area of a cell is the exact area of
a spherical quadrilateral between two parallels and two meridians,

    A = R^2 * dlambda * (sin(phi_north) - sin(phi_south)),

so the areas sum to 4 pi R^2 to round-off (the sines telescope).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from esm.constants import R_EARTH

#: Named resolutions users select in ``&grid_nml: horizontal`` (dlat x dlon in degrees).
NAMED_RESOLUTIONS = {
    "4x5": (4.0, 5.0),
    "2x2.5": (2.0, 2.5),
    "1x1": (1.0, 1.0),
    "0.5x0.625": (0.5, 0.625),
}

_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)\s*$")


def parse_resolution(spec: str) -> tuple[int, int]:
    """Turn ``'DLATxDLON'`` (degrees) into ``(nlat, nlon)``.

    Any spacing that divides 180 degrees in latitude and 360 in longitude is
    accepted (the named ones are in :data:`NAMED_RESOLUTIONS`); small grids such as
    ``'10x10'`` serve tests.
    """
    m = _SPEC.match(str(spec))
    if not m:
        raise ValueError(f"grid resolution {spec!r} is not of the form 'DLATxDLON' in degrees, "
                         f"e.g. one of {sorted(NAMED_RESOLUTIONS)}")
    dlat, dlon = float(m.group(1)), float(m.group(2))
    if dlat <= 0 or dlon <= 0:
        raise ValueError(f"grid resolution {spec!r}: spacings must be positive")
    nlat, nlon = 180.0 / dlat, 360.0 / dlon
    if abs(nlat - round(nlat)) > 1e-9 or abs(nlon - round(nlon)) > 1e-9:
        raise ValueError(f"grid resolution {spec!r}: {dlat} deg must divide 180 and {dlon} deg must "
                         "divide 360")
    if round(nlat) < 3 or round(nlon) < 3:
        raise ValueError(f"grid resolution {spec!r} is too coarse: need at least 3 rows and 3 columns")
    return int(round(nlat)), int(round(nlon))


@dataclass(frozen=True)
class Grid:
    """A global regular latitude-longitude grid.

    Arrays on the grid are C-ordered ``(..., nlat, nlon)`` with latitude from south
    to north and longitude eastward from -180 degrees.
    """

    nlat: int
    nlon: int
    radius: float = R_EARTH
    name: str = field(default="")

    @classmethod
    def from_spec(cls, spec: str, radius: float = R_EARTH) -> "Grid":
        nlat, nlon = parse_resolution(spec)
        return cls(nlat=nlat, nlon=nlon, radius=radius, name=str(spec).strip())

    # ---- geometry, degrees -------------------------------------------------------------
    @cached_property
    def lat_edges(self) -> np.ndarray:
        """Latitude of the row edges [degrees_north], shape (nlat+1,), exactly -90 and 90 at the ends."""
        e = -90.0 + 180.0 * np.arange(self.nlat + 1) / self.nlat
        e[0], e[-1] = -90.0, 90.0
        return e

    @cached_property
    def lon_edges(self) -> np.ndarray:
        """Longitude of the column edges [degrees_east], shape (nlon+1,), from -180 to 180."""
        return -180.0 + 360.0 * np.arange(self.nlon + 1) / self.nlon

    @cached_property
    def lat(self) -> np.ndarray:
        """Cell-centre latitude [degrees_north]: midpoint of the edges."""
        return 0.5 * (self.lat_edges[:-1] + self.lat_edges[1:])

    @cached_property
    def lon(self) -> np.ndarray:
        """Cell-centre longitude [degrees_east]."""
        return 0.5 * (self.lon_edges[:-1] + self.lon_edges[1:])

    @property
    def dlat(self) -> float:
        return 180.0 / self.nlat

    @property
    def dlon(self) -> float:
        return 360.0 / self.nlon

    @property
    def shape(self) -> tuple[int, int]:
        return (self.nlat, self.nlon)

    # ---- geometry, metres --------------------------------------------------------------
    @cached_property
    def sin_lat_edges(self) -> np.ndarray:
        s = np.sin(np.deg2rad(self.lat_edges))
        s[0], s[-1] = -1.0, 1.0
        return s

    @cached_property
    def area_row(self) -> np.ndarray:
        """Cell area of each row [m2], shape (nlat,)."""
        dlam = 2.0 * np.pi / self.nlon
        return self.radius**2 * dlam * np.diff(self.sin_lat_edges)

    @cached_property
    def area(self) -> np.ndarray:
        """Cell area [m2], shape (nlat, nlon); sums to 4 pi R^2 to round-off."""
        a = np.repeat(self.area_row[:, None], self.nlon, axis=1)
        a.setflags(write=False)
        return a

    @property
    def total_area(self) -> float:
        return 4.0 * np.pi * self.radius**2

    @cached_property
    def dy(self) -> float:
        """Meridional length of a cell [m]."""
        return self.radius * np.deg2rad(self.dlat)

    @cached_property
    def dx_centre(self) -> np.ndarray:
        """Zonal length of a cell through its centre [m], shape (nlat,)."""
        return self.radius * np.deg2rad(self.dlon) * np.cos(np.deg2rad(self.lat))

    @cached_property
    def dx_edge(self) -> np.ndarray:
        """Zonal length of the row edges [m], shape (nlat+1,); zero at the poles."""
        c = np.cos(np.deg2rad(self.lat_edges))
        c[0] = c[-1] = 0.0
        return self.radius * np.deg2rad(self.dlon) * c

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """CF bounds arrays ``(lat_bnds (nlat,2), lon_bnds (nlon,2))`` in degrees."""
        latb = np.stack([self.lat_edges[:-1], self.lat_edges[1:]], axis=1)
        lonb = np.stack([self.lon_edges[:-1], self.lon_edges[1:]], axis=1)
        return latb, lonb

    def describe(self) -> str:
        return (f"{self.name or 'grid'}: {self.nlat} x {self.nlon} cells "
                f"({self.dlat:g} deg x {self.dlon:g} deg), R = {self.radius:.0f} m")
