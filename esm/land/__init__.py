"""Terrestrial biosphere: MODIS land cover, BEPS two-leaf photosynthesis and respiration, phenology,
InTEC/CENTURY carbon pools (Chen et al. 1999, 2000, 2012; Ju et al. 2007).

Modules
-------
* :mod:`esm.land.landcover` -- MODIS MCD12C1 2019 IGBP fractions (shipped, 0.5 deg), exact area-conservative
  aggregation to any grid, BEPS cover-type tiles, ``land_fraction(grid)``, permanent-wetland fraction.
* :mod:`esm.land.params` -- ``&land_nml``: every parameter with units, range and source.
* :mod:`esm.land.canopy` -- radiation and sunlit/shaded leaves (Chen 1999), Vcmax from the N profile
  (Chen 2012), Farquhar-von Caemmerer-Berry + Ball-Berry (analytic cubic), Collatz 1992 C4, soil-water stress.
* :mod:`esm.land.respiration` -- BEPS maintenance (Q10 = 3.22 - 0.046 T) and growth respiration (per step,
  0.35 (GPP - Rm) when positive, as BEPS ``plant_respir.c``: none at night); night leaf maintenance from
  leaf N (Ryan 1991 on the Chen 2012 N profile) by default, BEPS's per-type leaf coefficients as an option;
  stem, coarse- and fine-root maintenance either from BEPS's coefficients or (``rm_stem_root_basis``) from
  the N of the same live carbon (Ryan 1991 rate, Biome-BGC C:N of White et al. 2000).
* :mod:`esm.land.phenology` -- growing-season-index LAI (Jolly et al. 2005, with a soil-water index), a crop
  calendar for C3 crops (sowing by temperature and soil water, Sacks et al. 2010 / Waha et al. 2012; EPIC/SWAT
  canopy development; harvest), or a user LAI file.
* :mod:`esm.land.intec` -- vegetation, litter and soil pools, NPP allocation, decomposition scalars,
  cyclo-stationary spin-up, NPP-age curve, N-deposition effect on leaf N.
* :mod:`esm.land.beps` -- kernel wrappers and the numpy reference of the hourly tile fluxes.
* :mod:`esm.land.model` -- the land on its tiles (hourly step, daily pools, spin-up, state).
* :mod:`esm.land.component` -- ``Land``, the coupler component (``&coupler_nml components = 'land'``).
* :mod:`esm.land.offline` -- offline driver (``python -m esm.land.offline``).

Deviations from the BEPS code, each documented where it is made: GPP is gross (A_net + daytime leaf
respiration, which is part of Ra); the
Ball-Berry intercept is scaled by the water-stress factor (CLM4.5); leaf temperature is approximated from
the skin temperature instead of a leaf energy balance; the GSI phenology has a soil-water index; the
allometric respiring biomass is capped at a carbon-use efficiency floor.
"""
import os


def default_threads() -> int:
    """Threads for the land kernels: OMP_NUM_THREADS if set, else the CPUs available to this process."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)
