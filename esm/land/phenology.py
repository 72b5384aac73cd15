"""Leaf area index: prognostic phenology from the growing-season index, or LAI read from a file.

Prognostic LAI (the embedded default) follows the growing-season index (GSI) of Jolly, Nemani & Running
(2005, Global Change Biol. 11, 619), driven by daily minimum temperature, vapour-pressure deficit
(moisture) and daylength:

    i_T = ramp(T_min; -2, 5 C),  i_VPD = 1 - ramp(VPD; 900, 4100 Pa),  i_photo = ramp(daylength; 10, 11 h),
    i_W = ramp(REW; 0, 0.4),  REW = (theta - theta_wp) / (theta_fc - theta_wp),
    GSI = i_T i_VPD i_W i_photo,  averaged over the last 21 days,
    LAI = LAI_min + (LAI_max - LAI_min) GSI_21,

with the seasonal amplitude LAI_max - LAI_min of each cover type (&land_nml lai_max, lai_min).
The soil-water index ``i_W`` is an addition to Jolly's GSI (which uses VPD as its only moisture
signal): leaf display declines when the relative extractable water of the root zone falls below 0.4,
the threshold below which transpiration and canopy conductance fall in Granier et al. (1999, Ecol.
Model. 116, 269); wilting point and field capacity are the BEPS loam values (0.12, 0.27 m3 m-3).
Without it, drought-deciduous vegetation keeps its leaves through dry seasons whose VPD stays moderate.
Daylength is the CBM model of Forsythe et al. (1995, Ecol. Model. 80, 87, eqs. 1-3, sunrise at the
centre of the sun's disc).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from esm.errors import InputDataError


def ramp(x, lo, hi):
    """0 below ``lo``, 1 above ``hi``, linear in between (the GSI indicator form of Jolly et al. 2005)."""
    return np.clip((np.asarray(x, float) - lo) / (hi - lo), 0.0, 1.0)


def daylength_forsythe1995(lat_deg, day_of_year, p_deg=0.0):
    """Daylength [h] by the CBM model (Forsythe et al. 1995, eqs. 1-3):

        theta = 0.2163108 + 2 atan(0.9671396 tan(0.00860 (J - 186))),   phi = asin(0.39795 cos theta),
        D = 24 - (24/pi) acos((sin p + sin L sin phi) / (cos L cos phi)),
    with the argument clipped to [-1, 1] (polar day and night). ``p`` = 0: sunrise at the disc centre.
    """
    j = np.asarray(day_of_year, float)
    theta = 0.2163108 + 2.0 * np.arctan(0.9671396 * np.tan(0.00860 * (j - 186.0)))
    phi = np.arcsin(0.39795 * np.cos(theta))
    lat = np.deg2rad(np.asarray(lat_deg, float))
    arg = (np.sin(np.deg2rad(p_deg)) + np.sin(lat) * np.sin(phi)) / (np.cos(lat) * np.cos(phi))
    return 24.0 - 24.0 / np.pi * np.arccos(np.clip(arg, -1.0, 1.0))


def gsi_jolly2005(tmin_c, vpd_pa, daylength_h, prm, soilm=None):
    """Daily growing-season index (Jolly et al. 2005 eqs. 1-4) from the &land_nml GSI limits, times the
    soil-water index of the module doc when ``soilm`` (daily mean, m3 m-3) is given."""
    i_t = ramp(tmin_c, prm.gsi_tmin_low, prm.gsi_tmin_high)
    i_v = 1.0 - ramp(vpd_pa, prm.gsi_vpd_low, prm.gsi_vpd_high)
    i_p = ramp(daylength_h, prm.gsi_photo_low, prm.gsi_photo_high)
    g = i_t * i_v * i_p
    if soilm is not None:
        rew = (np.asarray(soilm, float) - prm.wilting_point) / (prm.field_capacity - prm.wilting_point)
        g = g * ramp(rew, prm.gsi_rew_low, prm.gsi_rew_high)
    return g


def lai_from_gsi(gsi_mean, lai_min, lai_max):
    """LAI = LAI_min + (LAI_max - LAI_min) GSI (Jolly et al. 2005 phenology scaled to each cover type)."""
    return lai_min + (lai_max - lai_min) * np.asarray(gsi_mean, float)


class GsiPhenology:
    """Running 21-day GSI per land cell (the GSI depends on climate, not on the cover type).

    State: ``buffer`` (window, ncell) of the last daily GSI values and ``filled`` (number of days seen).
    Daily inputs accumulate with :meth:`accumulate` (every land step) and close with :meth:`end_day`.
    """

    def __init__(self, lat_cell: np.ndarray, prm):
        self.lat = np.asarray(lat_cell, float)
        self.prm = prm
        self.window = int(prm.gsi_window)
        n = self.lat.size
        self.buffer = np.zeros((self.window, n))
        self.filled = 0
        self.tmin = np.full(n, np.inf)
        self.vpd_sum = np.zeros(n)
        self.soilm_sum = np.zeros(n)
        self.nsamp = 0

    # ---- state --------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {"gsi_buffer": self.buffer.copy(), "gsi_filled": np.array(self.filled),
                "gsi_tmin": self.tmin.copy(), "gsi_vpd_sum": self.vpd_sum.copy(), "gsi_soilm_sum": self.soilm_sum.copy(),
                "gsi_nsamp": np.array(self.nsamp)}

    def load(self, st: dict[str, np.ndarray]) -> None:
        if st["gsi_buffer"].shape != self.buffer.shape:
            raise ValueError(f"gsi_buffer has shape {st['gsi_buffer'].shape}; expected {self.buffer.shape}")
        self.buffer[...] = st["gsi_buffer"]
        self.filled = int(st["gsi_filled"])
        self.tmin[...] = st["gsi_tmin"]
        self.vpd_sum[...] = st["gsi_vpd_sum"]
        self.soilm_sum[...] = st["gsi_soilm_sum"]
        self.nsamp = int(st["gsi_nsamp"])

    # ---- stepping -------------------------------------------------------------------------
    def accumulate(self, t_air_c: np.ndarray, vpd: np.ndarray, soilm: np.ndarray) -> None:
        np.minimum(self.tmin, t_air_c, out=self.tmin)
        self.vpd_sum += vpd
        self.soilm_sum += soilm
        self.nsamp += 1

    def end_day(self, day_of_year: int) -> None:
        """Close a day: push its GSI into the running window."""
        if self.nsamp == 0:
            return
        dl = daylength_forsythe1995(self.lat, day_of_year)
        g = gsi_jolly2005(self.tmin, self.vpd_sum / self.nsamp, dl, self.prm, self.soilm_sum / self.nsamp)
        self.buffer = np.roll(self.buffer, 1, axis=0)
        self.buffer[0] = g
        self.filled = min(self.filled + 1, self.window)
        self.tmin[:] = np.inf
        self.vpd_sum[:] = 0.0
        self.soilm_sum[:] = 0.0
        self.nsamp = 0

    def mean(self) -> np.ndarray:
        """Running mean GSI over the days seen (up to the window)."""
        if self.filled == 0:
            return np.zeros(self.lat.size)
        return self.buffer[:self.filled].mean(axis=0)


class LaiFile:
    """LAI read from a user's NetCDF file on the model grid, interpolated linearly in time.

    ``lai(time, lat, lon)`` [m2 m-2]; ``time`` either a CF time axis (dated records) or, with 12
    (monthly) or 46 (8-day, MODIS) records and no usable dates, a climatology by day of year.
    The cell LAI is given to every vegetated tile of the cell (satellite LAI is a cell value).
    """

    def __init__(self, path: str, variable: str, grid):
        import netCDF4

        self.path = str(path)
        p = Path(path)
        if not p.is_file():
            raise InputDataError(f"&land_nml lai_file {self.path!r} does not exist")
        try:
            ds = netCDF4.Dataset(p)
        except OSError as exc:
            raise InputDataError(f"&land_nml lai_file {self.path!r} is not a readable NetCDF file: {exc}") from None
        with ds:
            if variable not in ds.variables:
                raise InputDataError(f"lai_file {self.path!r} has no variable {variable!r} (&land_nml lai_variable); "
                                     f"variables: {', '.join(ds.variables)}")
            v = ds[variable]
            v.set_auto_mask(False)
            data = np.asarray(v[:], dtype=np.float64)
            fill = getattr(v, "_FillValue", None)
            if data.ndim != 3 or data.shape[1:] != (grid.nlat, grid.nlon):
                raise InputDataError(f"lai_file {self.path!r}: {variable} has shape {data.shape}; expected "
                                     f"(time, {grid.nlat}, {grid.nlon}) on the model grid")
            if fill is not None and np.any(data == fill):
                raise InputDataError(f"lai_file {self.path!r}: {variable} has fill values; fill gaps first "
                                     "(LAI is needed in every land cell)")
            if not np.all(np.isfinite(data)) or data.min() < 0:
                raise InputDataError(f"lai_file {self.path!r}: {variable} must be finite and >= 0 "
                                     f"(min {np.nanmin(data):g})")
            if data.max() > 15:
                raise InputDataError(f"lai_file {self.path!r}: {variable} reaches {data.max():g} m2 m-2; expected "
                                     "LAI <= 15 (check units or scale factor)")
            self.times = None
            if "time" in ds.variables and hasattr(ds["time"], "units"):
                import cftime
                t = ds["time"]
                cal = getattr(t, "calendar", "standard")
                self.times = cftime.num2date(t[:], t.units, calendar=cal)
                self.time_units, self.calendar = t.units, cal
                self.tnum = np.asarray(t[:], dtype=np.float64)
            elif data.shape[0] not in (12, 46):
                raise InputDataError(f"lai_file {self.path!r}: without a CF 'time' variable the file must hold a "
                                     "climatology of 12 (monthly) or 46 (8-day) records")
        self.data = data

    def at(self, time) -> np.ndarray:
        """Cell LAI (nlat, nlon) at a model time."""
        n = self.data.shape[0]
        if self.times is not None:
            import cftime
            x = cftime.date2num(time, self.time_units, calendar=self.calendar)
            if x < self.tnum[0] or x > self.tnum[-1]:
                raise InputDataError(f"lai_file {self.path!r} covers {self.times[0]} to {self.times[-1]}; the model "
                                     f"needs LAI at {time}")
            j = int(np.searchsorted(self.tnum, x, side="right") - 1)
            j = min(j, n - 2) if n > 1 else 0
            if n == 1:
                return self.data[0]
            w = (x - self.tnum[j]) / (self.tnum[j + 1] - self.tnum[j])
            return (1 - w) * self.data[j] + w * self.data[j + 1]
        # climatology: records at the middle of equal parts of the year
        doy = time.timetuple().tm_yday - 1 + (time.hour + time.minute / 60.0) / 24.0
        ylen = 366.0 if time.calendar in ("all_leap", "366_day") else 365.0
        pos = doy / ylen * n - 0.5
        j0 = int(np.floor(pos)) % n
        w = pos - np.floor(pos)
        return (1 - w) * self.data[j0] + w * self.data[(j0 + 1) % n]
