"""Solar geometry: declination, equation of time, Earth-Sun distance, hour angle, zenith angle.

Formulas (all vectorised over numpy arrays):

* fractional-year angle ``gamma = 2 pi (doy - 1 + (hour - 12) / 24) / N`` with ``N`` the length of the
  calendar year in days (Spencer 1971; NOAA Global Monitoring Laboratory "General solar position
  calculations");
* declination (Spencer 1971, Search 2(5), 172, eq. for delta; max error 0.0006 rad):
  ``delta = 0.006918 - 0.399912 cos g + 0.070257 sin g - 0.006758 cos 2g + 0.000907 sin 2g
  - 0.002697 cos 3g + 0.00148 sin 3g``;
* equation of time in minutes (Spencer 1971, max error ~0.5 min):
  ``E = 229.18 (0.000075 + 0.001868 cos g - 0.032077 sin g - 0.014615 cos 2g - 0.040849 sin 2g)``;
* inverse squared Earth-Sun distance (Spencer 1971):
  ``(r0/r)^2 = 1.000110 + 0.034221 cos g + 0.001280 sin g + 0.000719 cos 2g + 0.000077 sin 2g``;
* true solar time ``tst = UTC minutes + E + 4 lon`` (lon in degrees east), hour angle
  ``h = (tst / 4 - 180)`` degrees; ``cos(sza) = sin(phi) sin(delta) + cos(phi) cos(delta) cos(h)``
  (e.g. Iqbal 1983, An Introduction to Solar Radiation, eq. 1.5.1);
* sunset hour angle ``cos(h0) = -tan(phi) tan(delta)`` and daily-mean top-of-atmosphere insolation
  ``Q = S0 (r0/r)^2 / pi (h0 sin phi sin delta + cos phi cos delta sin h0)`` (Iqbal 1983 eq. 1.10.3;
  Hartmann 2016 eq. 2.15).
"""
from __future__ import annotations

from functools import lru_cache

import cftime
import numpy as np


@lru_cache(maxsize=64)
def _year_length(year: int, calendar: str, has_year_zero: bool) -> float:
    a = cftime.datetime(year, 1, 1, calendar=calendar, has_year_zero=has_year_zero)
    b = cftime.datetime(year + 1, 1, 1, calendar=calendar, has_year_zero=has_year_zero)
    d = b - a
    return d.days + d.seconds / 86400.0


def year_length_days(time: cftime.datetime) -> float:
    """Days in the calendar year of ``time`` (365/366 standard, 365 noleap, 360 for 360_day ...)."""
    return _year_length(time.year, time.calendar, bool(getattr(time, "has_year_zero", False)))


def utc_seconds_of_day(time: cftime.datetime) -> float:
    return time.hour * 3600.0 + time.minute * 60.0 + time.second + time.microsecond * 1e-6


def day_of_year(time: cftime.datetime) -> float:
    """Fractional day of year, 0 at 1 January 00 UTC."""
    return (time.dayofyr - 1) + utc_seconds_of_day(time) / 86400.0


def fractional_year(time: cftime.datetime) -> float:
    """Spencer's (1971) fractional-year angle gamma [rad]."""
    n = year_length_days(time)  # 360-day calendars: the orbit is stretched over the 360 days
    hour = utc_seconds_of_day(time) / 3600.0
    return 2.0 * np.pi * ((time.dayofyr - 1) + (hour - 12.0) / 24.0) / n


def declination(gamma):
    """Solar declination [rad] (Spencer 1971)."""
    g = np.asarray(gamma, dtype=float)
    return (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
            + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))


def equation_of_time(gamma):
    """Equation of time [minutes] (Spencer 1971): apparent minus mean solar time."""
    g = np.asarray(gamma, dtype=float)
    return 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g) - 0.014615 * np.cos(2 * g)
                     - 0.040849 * np.sin(2 * g))


def inverse_distance_squared(gamma):
    """``(r0/r)^2``, the eccentricity correction of the solar flux (Spencer 1971)."""
    g = np.asarray(gamma, dtype=float)
    return (1.000110 + 0.034221 * np.cos(g) + 0.001280 * np.sin(g) + 0.000719 * np.cos(2 * g)
            + 0.000077 * np.sin(2 * g))


class SolarGeometry:
    """Solar position for one instant, broadcast over latitude/longitude arrays [degrees]."""

    def __init__(self, time: cftime.datetime):
        self.time = time
        self.gamma = fractional_year(time)
        self.decl = float(declination(self.gamma))
        self.eot_minutes = float(equation_of_time(self.gamma))
        self.dist_factor = float(inverse_distance_squared(self.gamma))
        self.utc_minutes = utc_seconds_of_day(time) / 60.0

    def hour_angle(self, lon_deg) -> np.ndarray:
        """Hour angle [rad], 0 at local solar noon, in [-pi, pi)."""
        tst = self.utc_minutes + self.eot_minutes + 4.0 * np.asarray(lon_deg, dtype=float)
        h = np.deg2rad(tst / 4.0 - 180.0)
        return (h + np.pi) % (2.0 * np.pi) - np.pi

    def local_solar_hour(self, lon_deg) -> np.ndarray:
        """True (apparent) local solar time [h], 12 at solar noon."""
        return np.rad2deg(self.hour_angle(lon_deg)) / 15.0 + 12.0

    def cos_zenith(self, lat_deg, lon_deg) -> np.ndarray:
        """Cosine of the solar zenith angle (negative below the horizon)."""
        phi = np.deg2rad(np.asarray(lat_deg, dtype=float))
        h = self.hour_angle(lon_deg)
        return np.sin(phi) * np.sin(self.decl) + np.cos(phi) * np.cos(self.decl) * np.cos(h)

    def sunset_hour_angle(self, lat_deg) -> np.ndarray:
        """Sunset hour angle h0 [rad] in [0, pi] (0: polar night, pi: polar day)."""
        phi = np.deg2rad(np.asarray(lat_deg, dtype=float))
        x = -np.tan(phi) * np.tan(self.decl)
        return np.arccos(np.clip(x, -1.0, 1.0))

    def daily_mean_toa(self, lat_deg, solar_constant: float) -> np.ndarray:
        """Daily-mean top-of-atmosphere insolation [W m-2] (Iqbal 1983 eq. 1.10.3)."""
        phi = np.deg2rad(np.asarray(lat_deg, dtype=float))
        h0 = self.sunset_hour_angle(lat_deg)
        return (solar_constant * self.dist_factor / np.pi
                * (h0 * np.sin(phi) * np.sin(self.decl) + np.cos(phi) * np.cos(self.decl) * np.sin(h0)))

    def daytime_integral(self, lat_deg, lon_deg) -> np.ndarray:
        """Integral of max(cos sza, 0) over the hour angle from sunrise to now [rad].

        ``int_{-h0}^{h} (sin phi sin delta + cos phi cos delta cos h') dh'`` for ``-h0 < h < h0``,
        0 before sunrise and the full day's value after sunset. Divide by the Earth's angular velocity
        (2 pi / 86400 s) to get seconds. Used by the boundary-layer encroachment model.
        """
        phi = np.deg2rad(np.asarray(lat_deg, dtype=float))
        h0 = self.sunset_hour_angle(lat_deg)
        h = np.clip(self.hour_angle(lon_deg), -h0, h0)
        a = np.sin(phi) * np.sin(self.decl)
        b = np.cos(phi) * np.cos(self.decl)
        return a * (h + h0) + b * (np.sin(h) + np.sin(h0))
