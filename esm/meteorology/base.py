"""The meteorology contract shared by the climatology and the reanalysis readers.

A provider returns every field on the model grid, SI units, arrays in C order with
latitude south to north, longitude eastward from -180 and level 0 the lowest layer:

* ``at(time)`` -> :class:`MetState`: instantaneous fields at ``time``;
* ``step_fluxes(time, dt, ps_start)`` -> :class:`MassFluxes`: horizontal dry-air mass fluxes
  through cell faces averaged over ``[time, time + dt]``, made consistent (pressure fixer)
  so that their column convergence takes ``ps_start`` (the model's own surface pressure)
  to the provider's surface pressure at ``time + dt``. The transport derives vertical mass
  fluxes from them with the hybrid ``bp`` coefficients.

Field names are those of :data:`FIELDS`; a provider may omit fields it cannot supply only
where FIELDS marks them optional, and consumers name the field in their error.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import cftime
import numpy as np

#: name -> (shape kind, units, description). Shape kinds: '2d' (nlat, nlon), '3d' (nlev, nlat, nlon),
#: '3d_edge' (nlev+1, nlat, nlon) at layer interfaces (index 0 = surface), 'static' (nlat, nlon, time-invariant).
FIELDS: dict[str, tuple[str, str, str]] = {
    # --- state of the air, 3-D at layer centres
    "t": ("3d", "K", "air temperature"),
    "qv": ("3d", "kg kg-1", "specific humidity"),
    "u": ("3d", "m s-1", "eastward wind at cell centres"),
    "v": ("3d", "m s-1", "northward wind at cell centres"),
    # --- convection (GEOS-FP/MERRA-2 CMFMC and DTRAIN conventions)
    "cmfmc": ("3d_edge", "kg m-2 s-1", "upward convective (updraft) mass flux at layer interfaces, "
              "moist convection; 0 at the surface and the top"),
    "dtrain": ("3d", "kg m-2 s-1", "detrainment mass flux of the convective updraft out of each layer"),
    "dmf": ("3d_edge", "kg m-2 s-1", "downward convective (downdraught) mass flux at layer interfaces, positive "
            "downward; 0 at the surface and the top (optional: the magnitude of ERA5 mdmf)"),
    "ddtrain": ("3d", "kg m-2 s-1", "detrainment mass flux of the convective downdraught into each layer"),
    # --- surface and boundary layer
    "ps": ("2d", "Pa", "surface air pressure"),
    "pblh": ("2d", "m", "planetary boundary layer height"),
    "ustar": ("2d", "m s-1", "friction velocity"),
    "shflx": ("2d", "W m-2", "surface upward sensible heat flux"),
    "t2m": ("2d", "K", "air temperature at 2 m"),
    "q2m": ("2d", "kg kg-1", "specific humidity at 2 m"),
    "vpd": ("2d", "Pa", "vapour-pressure deficit at 2 m"),
    "tskin": ("2d", "K", "surface (skin) temperature"),
    "swdown": ("2d", "W m-2", "surface downwelling shortwave radiation (global: direct + diffuse)"),
    "swdown_diffuse": ("2d", "W m-2", "diffuse part of surface downwelling shortwave radiation"),
    "par": ("2d", "W m-2", "surface downwelling photosynthetically active radiation (400-700 nm, energy "
            "units; multiply by ~4.57 umol J-1 for photon flux)"),
    "cos_sza": ("2d", "1", "cosine of the solar zenith angle at the time (0 when the sun is down)"),
    "precip": ("2d", "kg m-2 s-1", "precipitation flux (liquid water equivalent)"),
    "soilm": ("2d", "m3 m-3", "volumetric soil water content of the root zone"),
    "tsoil": ("2d", "K", "soil temperature of the root zone"),
    "tsoil_top": ("2d", "K", "soil temperature of the top layer (~0-10 cm), where litter and soil organic matter "
                  "decompose"),
    "wind10": ("2d", "m s-1", "wind speed at 10 m"),
    "sst": ("2d", "K", "sea surface temperature"),
    "sss": ("2d", "1e-3", "sea surface salinity (practical salinity)"),
    "seaice": ("2d", "1", "sea-ice area fraction of the ocean part of the cell"),
    # --- static surface description
    "land_fraction": ("static", "1", "land area fraction of the cell"),
}


@dataclass
class MassFluxes:
    """Horizontal dry-air mass fluxes for one transport step, averaged over the step [kg s-1].

    ``mfx[k, j, i]``: eastward through the west face of cell (j, i), shape (nlev, nlat, nlon),
    periodic in longitude (the west face of column 0 is the east face of column nlon-1).
    ``mfy[k, j, i]``: northward through the south face of cell (j, i), shape (nlev, nlat+1, nlon);
    rows 0 and nlat (the poles) are zero.
    ``ps_end``: the surface pressure [Pa] the fluxes lead to after ``dt`` from ``ps_start``.
    """

    mfx: np.ndarray
    mfy: np.ndarray
    dt: float
    ps_end: np.ndarray


class MetState:
    """Meteorological fields at one time; read as ``met.t2m`` or ``met['t2m']``."""

    def __init__(self, time: cftime.datetime, fields: dict[str, np.ndarray]):
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown meteorological fields {sorted(unknown)}; known: {sorted(FIELDS)}")
        self.time = time
        self._fields = fields

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_") or name not in FIELDS:  # (hasattr/getattr defaults work for other names)
            raise AttributeError(f"MetState has no attribute {name!r}; meteorological fields: {sorted(FIELDS)}")
        return self[name]

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._fields[name]
        except KeyError:
            if name in FIELDS:
                raise KeyError(f"meteorology at {self.time} has no field {name!r} ({FIELDS[name][2]}); "
                               "the selected meteorology source does not provide it") from None
            raise KeyError(f"{name!r} is not a meteorological field; known: {sorted(FIELDS)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    @property
    def names(self) -> list[str]:
        return sorted(self._fields)


class CellFields(dict):
    """Surface fields on a subset of grid cells: ``name -> 1-D array`` over ``cells`` (flat indices into
    (nlat, nlon)), at ``time``. Returned by :meth:`MetProvider.cell_sampler`."""

    def __init__(self, time: cftime.datetime, cells: np.ndarray, fields: dict[str, np.ndarray]):
        super().__init__(fields)
        self.time = time
        self.cells = cells

    def __missing__(self, name: str):
        raise KeyError(f"meteorology sampled on cells at {self.time} has no field {name!r}; sampled: "
                       f"{sorted(self)}")


class MetProvider(ABC):
    """Source of meteorology on the model grid."""

    @abstractmethod
    def at(self, time: cftime.datetime) -> MetState:
        """Every available field at ``time`` (interpolated in time between met records)."""

    def step_fluxes(self, time: cftime.datetime, dt: float, ps_start: np.ndarray) -> MassFluxes:
        """Horizontal mass fluxes for the step ``[time, time+dt]`` (see module docstring)."""
        raise NotImplementedError(f"{type(self).__name__} provides no mass fluxes; transport needs them")

    def cell_sampler(self, names, cells):
        """``sample(time) -> CellFields``: the surface fields ``names`` on the grid cells ``cells`` (flat
        indices into (nlat, nlon)) only, for components' spin-ups that sample a year of meteorology.

        The values equal ``at(time)[name].ravel()[cells]``. This generic version evaluates ``at``;
        providers with a cheaper way (the climatology evaluates only the selected cells) override it.
        """
        names = tuple(names)
        idx = np.asarray(cells)

        def sample(time: cftime.datetime) -> CellFields:
            met = self.at(time)
            return CellFields(time, cells, {n: np.asarray(met[n]).ravel()[idx] for n in names})

        return sample

    def restart_state(self) -> dict[str, np.ndarray]:
        """State needed to continue bit for bit (e.g. random-eddy seeds); most providers have none."""
        return {}

    def load_restart_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    def close(self) -> None:
        """Release files and background threads (e.g. the reanalysis prefetch)."""
