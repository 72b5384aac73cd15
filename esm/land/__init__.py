"""Terrestrial biosphere: MODIS land cover, BEPS two-leaf photosynthesis and respiration, phenology,
InTEC/CENTURY carbon pools (Chen et al. 1999, 2000, 2012; Ju et al. 2007)."""
