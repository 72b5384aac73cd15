"""Physical constants used across esm, in SI units, each with its source.

One module so that every component uses the same Earth: changing R_EARTH here
changes cell areas, air masses and budgets consistently.
"""

#: Mean Earth radius [m] (IUGG mean radius R1; also used by GEOS-Chem and CAM).
R_EARTH = 6.371e6
#: Standard gravitational acceleration [m s-2] (CGPM 1901, exact).
G0 = 9.80665
#: Molar mass of dry air [kg mol-1] (Tsilingiris 2008; GEOS-Chem AIRMW = 28.9644 g/mol).
M_AIR = 28.9644e-3
#: Molar mass of water [kg mol-1].
M_H2O = 18.01528e-3
#: Molar mass of carbon [kg mol-1].
M_C = 12.0107e-3
#: Molar mass of nitrogen [kg mol-1].
M_N = 14.0067e-3
#: Universal gas constant [J mol-1 K-1] (CODATA 2018, exact).
R_GAS = 8.314462618
#: Specific gas constant of dry air [J kg-1 K-1].
R_DRY = R_GAS / M_AIR
#: Specific heat of dry air at constant pressure [J kg-1 K-1].
CP_DRY = 1004.64
#: Standard sea-level pressure [Pa].
P_STANDARD = 101325.0
#: Seconds per day and per (Julian) year.
SECONDS_PER_DAY = 86400
SECONDS_PER_YEAR = 365.25 * 86400
#: Freezing point of water [K].
T_FREEZE = 273.15
#: Global mass of the dry atmosphere [kg] (Trenberth & Smith 2005: 5.1352e18 kg).
MASS_DRY_ATMOSPHERE = 5.1352e18
#: Conversion from CO2 dry-air mole fraction (ppm) to carbon mass [PgC ppm-1]
#: as used by the Global Carbon Budget (Friedlingstein et al. 2023).
PGC_PER_PPM = 2.124
