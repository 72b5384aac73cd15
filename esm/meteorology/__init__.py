"""Meteorology providers: the embedded climatology and reanalysis readers, one interface.

See :mod:`esm.meteorology.base` for the contract (`MetProvider.at`, `MetProvider.step_fluxes`)
and :data:`esm.meteorology.base.FIELDS` for every field name, its shape and units.
"""
from esm.meteorology.base import FIELDS, MassFluxes, MetProvider, MetState

__all__ = ["FIELDS", "MassFluxes", "MetProvider", "MetState"]
