"""Tracer registry: species, tagged components and passive test tracers.

Every tracer is carried as a dry-air mole fraction [mol mol-1]; its amount in a cell is
``q * m_air / M_AIR`` mol. Tagged CO2 tracers (``co2_fossil``, ``co2_land``,
``co2_ocean``) carry the part of CO2 that came from one kind of flux; they start at
zero and receive only that component's flux.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esm.constants import M_AIR


@dataclass(frozen=True)
class Species:
    """Properties of one tracer species.

    ``default_mole_fraction`` is a present-day (2020) global mean where one exists:
    CO2 412.4 ppm, CH4 1879 ppb, N2O 333 ppb (NOAA GML global means for 2020).
    """

    name: str
    long_name: str
    molar_mass: float  # kg mol-1
    default_mole_fraction: float  # mol mol-1
    standard_name: str = ""  # CF standard name of the mole fraction ("" if none exists)
    flux_standard_name: str = ""  # CF standard name of the net surface flux ("" if CF has none:
    # CF has only process-specific CH4 and N2O fluxes, so their net fluxes carry a long_name only)
    flux_kind: str = "mole"  # 'mole' -> output flux in mol m-2 s-1; 'mass' -> kg m-2 s-1
    parent: str = ""  # tagged tracers: the species they are part of
    display_scale: float = 1.0e6  # for human-readable logs (ppm)
    display_unit: str = "ppm"


SPECIES: dict[str, Species] = {
    s.name: s for s in [
        Species("co2", "carbon dioxide", 44.0095e-3, 412.44e-6,
                "mole_fraction_of_carbon_dioxide_in_air", "surface_upward_mole_flux_of_carbon_dioxide"),
        Species("ch4", "methane", 16.0425e-3, 1879.0e-9, "mole_fraction_of_methane_in_air",
                flux_kind="mass",
                display_scale=1e9, display_unit="ppb"),
        Species("n2o", "nitrous oxide", 44.0128e-3, 333.0e-9, "mole_fraction_of_nitrous_oxide_in_air",
                flux_kind="mass",
                display_scale=1e9, display_unit="ppb"),
        Species("co2_fossil", "carbon dioxide from fossil fuel and industry", 44.0095e-3, 0.0,
                parent="co2"),
        Species("co2_land", "carbon dioxide from the terrestrial biosphere", 44.0095e-3, 0.0, parent="co2"),
        Species("co2_ocean", "carbon dioxide from the ocean", 44.0095e-3, 0.0, parent="co2"),
        Species("sf6", "sulfur hexafluoride", 146.055e-3, 0.0, "mole_fraction_of_sulfur_hexafluoride_in_air",
                display_scale=1e12, display_unit="ppt"),
    ]
}


def validate_tracer_name(name: str) -> None:
    if name in SPECIES or (name.startswith("passive") and name.replace("_", "").isalnum()):
        return
    raise ValueError(f"unknown tracer {name!r}: use one of {', '.join(SPECIES)} or a name starting with "
                     "'passive' (e.g. 'passive1') for a passive test tracer")


def species(name: str) -> Species:
    """The Species for a tracer name; passive tracers get air's molar mass and a default of 1."""
    validate_tracer_name(name)
    if name in SPECIES:
        return SPECIES[name]
    return Species(name, f"passive test tracer {name}", M_AIR, 1.0, display_scale=1.0, display_unit="mol/mol")


class TracerSet:
    """The ordered tracers of a run; index ``i`` is the first axis of tracer arrays."""

    def __init__(self, names):
        self.names = tuple(names)
        for n in self.names:
            validate_tracer_name(n)
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"tracers listed twice: {self.names}")
        self.species = tuple(species(n) for n in self.names)
        self._index = {n: i for i, n in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        return iter(self.names)

    def __contains__(self, name) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"tracer {name!r} is not carried in this run (tracers: {', '.join(self.names)})") from None

    @property
    def molar_masses(self) -> np.ndarray:
        return np.array([s.molar_mass for s in self.species])
