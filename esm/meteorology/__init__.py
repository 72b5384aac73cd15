"""Meteorology providers: the embedded climatology and reanalysis readers, one interface.

See :mod:`esm.meteorology.base` for the contract (`MetProvider.at`, `MetProvider.step_fluxes`)
and :data:`esm.meteorology.base.FIELDS` for every field name, its shape and units.
``make_provider(config, grid, vcoord)`` builds the source selected in ``&meteorology_nml``.
"""
from esm.meteorology.base import FIELDS, MassFluxes, MetProvider, MetState

__all__ = ["FIELDS", "MassFluxes", "MetProvider", "MetState", "make_provider"]


def make_provider(config, grid, vcoord) -> MetProvider:
    """The meteorology provider selected by ``config.meteorology_nml.source``."""
    section = dict(config.meteorology_nml)
    source = section["source"]
    if source == "climatology":
        from esm.meteorology.climatology import Climatology
        return Climatology(grid, vcoord, section)
    from esm.meteorology.reanalysis import ReanalysisProvider
    return ReanalysisProvider(grid, vcoord, section, source=source, calendar=config.time_control.calendar)
