"""Surface total alkalinity from sea-surface salinity and temperature: Lee et al. (2006).

Lee, K., Tong, L. T., Millero, F. J., Sabine, C. L., Dickson, A. G., Goyet, C., Park, G.-H.,
Wanninkhof, R., Feely, R. A. and Key, R. M. (2006): Global relationships of total alkalinity with
salinity and temperature in surface waters of the world's oceans. GRL 33, L19605, Table 1:

    TA = a + b (S - 35) + c (S - 35)^2 + d (T - T_ref) + e (T - T_ref)^2  [umol kg-1]

=====================  ======  =====  =====  ======  ======  =====  ===================
zone                    a       b      c      d       e       T_ref  fit range (T, S)
=====================  ======  =====  =====  ======  ======  =====  ===================
1 (sub)tropics          2305   58.66   2.32  -1.41    0.040   20    T >= 20, S 31-38
2 equatorial Pacific    2294   64.88   0.39  -4.52   -0.232   29    T >= 18, S 31-36.5
3 North Atlantic        2305   53.97   2.74  -1.16   -0.040   20    T 0-20, S 31-37
4 North Pacific         2305   53.23   1.85  -14.72  -0.158   20    T <= 20, S 31-35
                                              + 0.062 (T - 20) lon   (lon in degrees E, 0-360)
5 Southern Ocean        2305   52.48   2.85  -0.49    0.086   20    T <= 20, S 33-36
=====================  ======  =====  =====  ======  ======  =====  ===================

Zones (after Lee et al. 2006, Fig. 1): the eastern equatorial Pacific upwelling box (20 S-20 N,
140 W-75 W, bounded by diagonals from 10 deg at 140 W to 20 deg at 110 W) where T >= 18 degC; elsewhere
water with T >= 20 degC is (sub)tropical; colder water north of the equator is North Pacific
(longitude east of 120 E or west of 110 W) or North Atlantic (everything else, including the Arctic
and the Mediterranean); colder water south of the equator is Southern Ocean.

Outside a zone's fit range the fit is evaluated at T and S clipped into the range, and the result is
scaled by S / S_clipped (conservative dilution or concentration with alkalinity-free water), which keeps
TA proportional to salinity in estuarine and polar fresh water instead of extrapolating the quadratic.
"""
from __future__ import annotations

import numpy as np

#: zone -> (a, b, c, d, e, T_ref, (Tmin, Tmax), (Smin, Smax)) of Lee et al. (2006), Table 1
LEE06 = {
    1: (2305.0, 58.66, 2.32, -1.41, 0.040, 20.0, (20.0, 40.0), (31.0, 38.0)),
    2: (2294.0, 64.88, 0.39, -4.52, -0.232, 29.0, (18.0, 40.0), (31.0, 36.5)),
    3: (2305.0, 53.97, 2.74, -1.16, -0.040, 20.0, (0.0, 20.0), (31.0, 37.0)),
    4: (2305.0, 53.23, 1.85, -14.72, -0.158, 20.0, (-2.0, 20.0), (31.0, 35.0)),
    5: (2305.0, 52.48, 2.85, -0.49, 0.086, 20.0, (-2.0, 20.0), (33.0, 36.0)),
}
ZONE_NAMES = {1: "(sub)tropics", 2: "equatorial Pacific", 3: "North Atlantic", 4: "North Pacific",
              5: "Southern Ocean"}


def lee06_zone(lat, lon, sst_c):
    """Lee et al. (2006) zone number (1-5) for latitude, longitude [degrees E, -180..180] and SST [degC]."""
    lat = np.asarray(lat, dtype=float)
    lon = (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0
    t = np.asarray(sst_c, dtype=float)
    lat, lon, t = np.broadcast_arrays(lat, lon, t)
    # eastern equatorial Pacific box with diagonal western edges
    half_width = np.clip(10.0 + (lon + 140.0) / 3.0, 10.0, 20.0)
    eqpac = (lon >= -140.0) & (lon <= -75.0) & (np.abs(lat) <= half_width) & (t >= 18.0)
    pacific_lon = (lon >= 120.0) | (lon <= -110.0)
    zone = np.where(lat < 0.0, 5, np.where(pacific_lon, 4, 3))
    zone = np.where(t >= 20.0, 1, zone)
    return np.where(eqpac, 2, zone).astype(np.int8)


def alkalinity_lee06(sss, sst_c, lat, lon):
    """Total alkalinity [mol kg-1] from SSS, SST [degC], latitude and longitude (degrees E).

    Lee et al. (2006), Table 1, with the zones and the out-of-range treatment in the module docstring.
    """
    s = np.asarray(sss, dtype=float)
    t = np.asarray(sst_c, dtype=float)
    zone = lee06_zone(lat, lon, t)
    s, t, zone = np.broadcast_arrays(s, t, zone)
    lon360 = np.broadcast_to(np.asarray(lon, dtype=float) % 360.0, s.shape)
    ta = np.zeros(s.shape)
    for z, (a, b, c, d, e, tref, (tmin, tmax), (smin, smax)) in LEE06.items():
        m = zone == z
        if not m.any():
            continue
        sc = np.clip(s[m], smin, smax)
        tc = np.clip(t[m], tmin, tmax)
        ds, dt = sc - 35.0, tc - tref
        val = a + b * ds + c * ds**2 + d * dt + e * dt**2
        if z == 4:
            val = val + 0.062 * dt * lon360[m]
        ta[m] = val * (s[m] / sc)
    return ta * 1.0e-6
