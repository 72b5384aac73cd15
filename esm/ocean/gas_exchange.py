"""Air-sea CO2 exchange: Wanninkhof (2014) gas transfer, Weiss & Price (1980) moist-air pCO2.

F = k (1 - f_ice) K0 rho (pCO2_sea - pCO2_air)    [mol m-2 s-1, positive upward (sea to air)]

with the transfer velocity k = a U10^2 (Sc/660)^-1/2, a = 0.251 cm h-1 (m s-1)-2 (Wanninkhof 2014,
L&O Methods 12, 351, eq. 4), the Schmidt number of CO2 in seawater (35 permil) from the fourth-order
polynomial of Wanninkhof (2014, Table 1), K0 from Weiss (1974) and
pCO2_air = x_CO2 (P_surface - pH2O), the dry-air mole fraction times the moist-air pressure with the
water-vapour pressure over seawater of Weiss & Price (1980, eq. 10). Sea ice blocks exchange in
proportion to its cover (the usual linear scaling, e.g. Takahashi et al. 2009).
"""
from __future__ import annotations

import numpy as np

from esm.ocean.carbonate import vapour_pressure_weiss80

#: Pa per atm
ATM = 101325.0
#: Wanninkhof (2014) Table 1: Sc(CO2) in seawater, 35 permil, -2..40 degC
SCHMIDT_CO2_W14 = (2116.8, -136.25, 4.7353, -0.092307, 0.0007555)


def schmidt_co2_wanninkhof14(sst_c):
    """Schmidt number of CO2 in seawater [1] at temperature ``sst_c`` [degC] (Wanninkhof 2014, Table 1).

    Sc = 2116.8 - 136.25 t + 4.7353 t^2 - 0.092307 t^3 + 0.0007555 t^4 (Sc = 668.3 at 20 degC).
    """
    t = np.asarray(sst_c, dtype=float)
    a, b, c, d, e = SCHMIDT_CO2_W14
    return a + t * (b + t * (c + t * (d + t * e)))


def transfer_velocity_wanninkhof14(wind10, sst_c, coefficient=0.251, wind_variance_factor=1.0):
    """Gas transfer velocity of CO2 [m s-1]: k = a <U10^2> (Sc/660)^-0.5 (Wanninkhof 2014, eq. 4).

    ``coefficient`` a in cm h-1 (m s-1)-2; ``wind_variance_factor`` = <U^2>/U10^2 for winds that are
    time means without their variability (1 when ``wind10`` already carries it, as the esm climatology's
    sqrt(u^2 + v^2 + sigma^2) does; 1.27 for a Rayleigh distribution about a monthly mean, Wanninkhof 1992).
    """
    u2 = np.asarray(wind10, dtype=float) ** 2 * wind_variance_factor
    sc = schmidt_co2_wanninkhof14(sst_c)
    return coefficient * 0.01 / 3600.0 * u2 * np.sqrt(660.0 / sc)


def pco2_air(xco2, surface_pressure, sst_k, sss):
    """Partial pressure of CO2 in moist air at the sea surface [atm].

    pCO2_air = x_CO2 (P_s - pH2O(SST, SSS)) with x_CO2 the dry-air mole fraction [mol mol-1], P_s [Pa]
    and pH2O the saturation vapour pressure over seawater of Weiss & Price (1980, eq. 10) [atm].
    """
    return np.asarray(xco2) * (np.asarray(surface_pressure) / ATM - vapour_pressure_weiss80(sst_k, sss))


def air_sea_flux(k, k0, pco2_sea, pco2_atm, ice_fraction=0.0, rho=1025.0):
    """Air-sea CO2 flux [mol m-2 s-1 of sea surface, positive upward] = k (1 - ice) K0 rho dpCO2.

    k [m s-1], K0 [mol kg-1 atm-1], pCO2 [atm], rho [kg m-3] (seawater density, converts K0 to mol m-3 atm-1).
    """
    open_water = 1.0 - np.clip(ice_fraction, 0.0, 1.0)
    return k * open_water * k0 * rho * (np.asarray(pco2_sea) - np.asarray(pco2_atm))
