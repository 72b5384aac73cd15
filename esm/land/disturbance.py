"""Disturbance of the land carbon pools: fire (GlobFIRM) and crop harvest.

Fire follows GlobFIRM (Thonicke et al. 2001, Global Ecol. Biogeogr. 10, 661), the fire module of LPJ
(Sitch et al. 2003, GCB 9, 161):

* the probability of at least one fire on a day falls with the litter moisture ``m`` (eq. 2)
  ``p(m) = exp(-pi (m / m_e)^2)`` with the moisture of extinction ``m_e`` of the cover type; as in LPJ, ``m``
  is the plant-available water of the top soil relative to its capacity,
  ``(theta - theta_wp) / (theta_fc - theta_wp)`` clipped to [0, 1], and days at or below ``fire_tmin`` have no
  fire;
* the fire-season length ``s`` is the mean of ``p`` over a year (eq. 3: the annual sum over 365 days); to stay
  causal the model takes it over the last 365 days, kept as 73 five-day sums per tile (updated every five
  days); in the periodic spin-up climate that is exactly the annual mean;
* the fraction of the tile burned in a year (eq. 4)
  ``A(s) = s exp((s - 1) / (0.45 (s - 1)^3 + 2.83 (s - 1)^2 + 2.96 (s - 1) + 1.04))``
  is spread over the days in proportion to their probability: the burned fraction of day ``d`` is
  ``A(s) p_d / (365 s)``, which adds up to ``A`` over a year of constant ``s``;
* fuel: GlobFIRM has no fire below 200 g C m-2 of surface fuel (surface litter + coarse woody debris); esm
  scales the burned fraction by ``min(1, fuel / fire_fuel_min)`` instead of a step, because the step leaves
  tiles near the threshold without a steady state (they burn one day and not the next); see
  :meth:`esm.land.intec.PoolModel.fire_burn`.

On the burned area a share ``1 - r`` of the plants dies (fire resistance ``r``, Sitch et al. 2003 Table 1;
the leaves of herbaceous cover types always burn as cured fuel); of the killed leaves and stems the
combustion completeness (van der Werf et al. 2010, GFED3) is emitted as CO2 and the rest falls to the
surface litter and coarse woody debris; killed roots go to the soil litter and CWD; the surface litter and
CWD of the burned area burn with their own combustion completeness. Crop land does not burn (managed; the
C4 tile burns on its natural-grass share only).

Crop harvest removes the harvest index (Hay 1995) of the crop leaf (above-ground) turnover from the tile
(on the C4 tile, times its crop share): the harvested carbon is eaten and respired within about a year;
esm emits it in the cell where it grew at the rate the crop leaves turn over (the lateral transport of food
and feed to where it is consumed, Ciais et al. 2007, is not modelled).

All three fluxes leave the pools through :class:`esm.land.intec.PoolModel`, so the change of the land carbon
equals NPP - Rh - fire - harvest to round-off.
"""
from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.0


def available_water(theta, wilting_point: float, field_capacity: float) -> np.ndarray:
    """Plant-available water relative to its capacity, ``(theta - wp) / (fc - wp)`` clipped to [0, 1]."""
    return np.clip((np.asarray(theta, float) - wilting_point) / (field_capacity - wilting_point), 0.0, 1.0)


def fire_probability(m, m_e) -> np.ndarray:
    """Daily probability of at least one fire, ``exp(-pi (m / m_e)^2)`` (Thonicke et al. 2001 eq. 2)."""
    r = np.asarray(m, float) / np.asarray(m_e, float)
    return np.exp(-np.pi * r * r)


def burned_area(s) -> np.ndarray:
    """Annual burned fraction of the fire-season length ``s`` in [0, 1] (Thonicke et al. 2001 eq. 4)."""
    s = np.clip(np.asarray(s, float), 0.0, 1.0)
    x = s - 1.0
    return s * np.exp(x / (((0.45 * x + 2.83) * x + 2.96) * x + 1.04))


def burned_ratio(s) -> np.ndarray:
    """``A(s) / s`` of :func:`daily_burned_fraction` (0 where ``s`` = 0): it changes only with the fire season."""
    s = np.asarray(s, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0.0, burned_area(s) / np.where(s > 0.0, s, 1.0), 0.0)


def daily_burned_fraction(p, s, ratio=None) -> np.ndarray:
    """Burned fraction of one day: ``A(s) p / (365 s)`` (0 where ``s`` = 0); ``ratio``: :func:`burned_ratio` of
    ``s`` if the caller keeps it."""
    if ratio is None:
        ratio = burned_ratio(s)
    return ratio * np.asarray(p, float) / DAYS_PER_YEAR


#: the fire-season length is the mean daily fire probability of the last NBLOCK blocks of BLOCK_DAYS days
BLOCK_DAYS = 5
NBLOCK = 73


def season_from_blocks(blocks: np.ndarray) -> np.ndarray:
    """Fire-season length ``s`` (ntile,) from the five-day sums of the daily probability (NBLOCK, ntile)."""
    return np.sum(blocks, axis=0) / (BLOCK_DAYS * NBLOCK)


def year_blocks(p_days: np.ndarray) -> np.ndarray:
    """Five-day sums (NBLOCK, n) of the first 365 days of daily probabilities (ndays >= 365, n)."""
    p_days = np.asarray(p_days, float)
    if p_days.shape[0] < BLOCK_DAYS * NBLOCK:
        raise ValueError(f"need {BLOCK_DAYS * NBLOCK} days of fire probability, got {p_days.shape[0]}")
    return p_days[:BLOCK_DAYS * NBLOCK].reshape(NBLOCK, BLOCK_DAYS, -1).sum(axis=1)
