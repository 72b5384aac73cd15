"""Moist thermodynamics used by the climatology and the readers (vectorised, SI units)."""
from __future__ import annotations

import numpy as np

from esm.constants import M_AIR, M_H2O, T_FREEZE

#: Ratio of the molar masses of water and dry air.
EPSILON = M_H2O / M_AIR
#: Latent heat of vaporisation at 0 degC [J kg-1] (Bolton 1980; Stull 1988).
L_VAP = 2.501e6
#: Psychrometric constant at 101.325 kPa [Pa K-1] (Allen et al. 1998, FAO-56 eq. 8).
GAMMA_PSY = 67.4


def saturation_vapour_pressure(t):
    """Saturation vapour pressure over liquid water [Pa] at temperature ``t`` [K].

    Bolton (1980, MWR 108, 1046) eq. 10: ``e_s = 611.2 exp(17.67 T_c / (T_c + 243.5))``; better than
    0.3 % between -35 and 35 degC.
    """
    tc = np.asarray(t, dtype=float) - T_FREEZE
    return 611.2 * np.exp(17.67 * tc / (tc + 243.5))


def saturation_slope(t):
    """d e_s / dT [Pa K-1] of :func:`saturation_vapour_pressure`."""
    tc = np.asarray(t, dtype=float) - T_FREEZE
    return saturation_vapour_pressure(t) * 17.67 * 243.5 / (tc + 243.5) ** 2


def specific_humidity(e, p):
    """Specific humidity [kg kg-1] from vapour pressure ``e`` and pressure ``p`` [Pa]
    (``q = eps e / (p - (1 - eps) e)``, Wallace & Hobbs 2006 eq. 3.59)."""
    e = np.asarray(e, dtype=float)
    return EPSILON * e / (np.asarray(p, dtype=float) - (1.0 - EPSILON) * e)


def vapour_pressure(q, p):
    """Inverse of :func:`specific_humidity` [Pa]."""
    q = np.asarray(q, dtype=float)
    return q * np.asarray(p, dtype=float) / (EPSILON + (1.0 - EPSILON) * q)
