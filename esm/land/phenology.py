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

Crop calendar (C3-crop tiles, ``crop_calendar``): crops are sown and harvested instead of following the
natural GSI season. Sowing follows the rules of Sacks et al. (2010, Global Ecol. Biogeogr. 19, 607) and
Waha et al. (2012, Global Ecol. Biogeogr. 21, 247): in temperature-limited climates a crop is sown when the
running-mean air temperature rises above a fixed sowing temperature (Sacks et al.: spring wheat at c. 8-14 C,
maize at 12-17 C; default 11 C, the spring-wheat midpoint, wheat being the largest C3 crop), and it is sown
only into moist soil (the relative extractable water of the GSI above ``crop_sowing_rew``), which in the
tropics puts sowing at the onset of the wet season (Waha et al. 2012). One main season per year (the Sacks
et al. calendars give one planting date per crop and place): a new sowing needs ``crop_min_interval`` days
since the last. The crop is harvested ``crop_season_days`` after sowing (planting-to-harvest of wheat, rice
and soybean in Sacks et al. 2010: c. 3-5 months). Canopy development is the piecewise-linear heat-unit
form of the EPIC/SWAT crop model (Williams et al. 1989, Trans. ASAE 32, 497; Neitsch et al. 2011 SWAT
theory sec. 5:2.1): leaf area grows linearly to its maximum at half the season and declines after
``crop_senescence_start`` of it to zero at harvest; the GSI still limits it (cold, drought):

    f(d) = clip(min(d / (0.5 S), (S - d) / ((1 - s) S)), 0, 1)  for 0 <= d < S, 0 otherwise,
    LAI_crop = f(d) [LAI_min + (LAI_max - LAI_min) GSI_21].

The running means are exponential (time constant ``crop_ema_days``) of daily means.
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


def crop_development(days_since_sowing, season_days, senescence_start):
    """Fraction of the maximum crop leaf area ``d`` days after sowing (module doc; EPIC/SWAT form)."""
    d = np.asarray(days_since_sowing, float)
    s = float(season_days)
    f = np.minimum(d / (0.5 * s), (s - d) / ((1.0 - senescence_start) * s))
    return np.where((d >= 0) & (d < s), np.clip(f, 0.0, 1.0), 0.0)


#: days since sowing of a crop never sown
NEVER_SOWN = 1.0e6


class GsiPhenology:
    """Running 21-day GSI per land cell (the GSI depends on climate, not on the cover type), and the
    crop calendar of the cell's C3-crop tile.

    State: ``buffer`` (window, ncell) of the last daily GSI values and ``filled`` (number of days seen);
    crop calendar: running means ``crop_t`` (air temperature, C) and ``crop_w`` (relative extractable water),
    ``crop_days`` (days since the last sowing). Daily inputs accumulate with :meth:`accumulate` (every land
    step) and close with :meth:`end_day`.
    """

    def __init__(self, lat_cell: np.ndarray, prm):
        self.lat = np.asarray(lat_cell, float)
        # the daylength depends on the latitude only: computed for the distinct latitudes (a grid row each) and
        # spread to the cells (speed round 11; the same values, element by element)
        self._lat_u, self._lat_inv = np.unique(self.lat, return_inverse=True)
        self.prm = prm
        self.window = int(prm.gsi_window)
        n = self.lat.size
        self.buffer = np.zeros((self.window, n))
        self.filled = 0
        self.tmin = np.full(n, np.inf)
        self.vpd_sum = np.zeros(n)
        self.soilm_sum = np.zeros(n)
        self.tsum = np.zeros(n)
        self.nsamp = 0
        self.crop_t = np.zeros(n)
        self.crop_w = np.zeros(n)
        self.crop_days = np.full(n, NEVER_SOWN)
        self.crop_init = False

    # ---- state --------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {"gsi_buffer": self.buffer.copy(), "gsi_filled": np.array(self.filled),
                "gsi_tmin": self.tmin.copy(), "gsi_vpd_sum": self.vpd_sum.copy(), "gsi_soilm_sum": self.soilm_sum.copy(),
                "gsi_nsamp": np.array(self.nsamp), "gsi_tsum": self.tsum.copy(), "crop_t": self.crop_t.copy(),
                "crop_w": self.crop_w.copy(), "crop_days": self.crop_days.copy(), "crop_init": np.array(self.crop_init)}

    def load(self, st: dict[str, np.ndarray]) -> None:
        if st["gsi_buffer"].shape != self.buffer.shape:
            raise ValueError(f"gsi_buffer has shape {st['gsi_buffer'].shape}; expected {self.buffer.shape}")
        self.buffer[...] = st["gsi_buffer"]
        self.filled = int(st["gsi_filled"])
        self.tmin[...] = st["gsi_tmin"]
        self.vpd_sum[...] = st["gsi_vpd_sum"]
        self.soilm_sum[...] = st["gsi_soilm_sum"]
        self.nsamp = int(st["gsi_nsamp"])
        self.tsum[...] = st["gsi_tsum"]
        self.crop_t[...] = st["crop_t"]
        self.crop_w[...] = st["crop_w"]
        self.crop_days[...] = st["crop_days"]
        self.crop_init = bool(st["crop_init"])

    # ---- stepping -------------------------------------------------------------------------
    def accumulate(self, t_air_c: np.ndarray, vpd: np.ndarray, soilm: np.ndarray) -> None:
        np.minimum(self.tmin, t_air_c, out=self.tmin)
        self.vpd_sum += vpd
        self.soilm_sum += soilm
        self.tsum += t_air_c
        self.nsamp += 1

    def rew(self, soilm):
        """Relative extractable water (theta - theta_wp) / (theta_fc - theta_wp) (Granier et al. 1999)."""
        return (np.asarray(soilm, float) - self.prm.wilting_point) / (self.prm.field_capacity - self.prm.wilting_point)

    def crop_day(self, tmean_c, soilm_mean) -> None:
        """Advance the crop calendar by one day with the day's mean air temperature [C] and soil water [m3 m-3]
        (module doc: Sacks et al. 2010, Waha et al. 2012)."""
        p = self.prm
        w = self.rew(soilm_mean)
        if not self.crop_init:
            self.crop_t[:] = tmean_c
            self.crop_w[:] = w
            self.crop_init = True
        else:
            a = 1.0 / float(p.crop_ema_days)
            self.crop_t += a * (np.asarray(tmean_c, float) - self.crop_t)
            self.crop_w += a * (w - self.crop_w)
        self.crop_days = np.minimum(self.crop_days + 1.0, NEVER_SOWN)
        sow = ((self.crop_days >= p.crop_min_interval) & (self.crop_t >= p.crop_sowing_temperature)
               & (self.crop_w >= p.crop_sowing_rew))
        self.crop_days[sow] = 0.0

    def crop_development(self) -> np.ndarray:
        """Crop leaf-area fraction of every cell (0 between harvest and sowing)."""
        return crop_development(self.crop_days, self.prm.crop_season_days, self.prm.crop_senescence_start)

    def crop_periodic(self, tmean_c: np.ndarray, soilm_mean: np.ndarray, max_cycles: int = 4) -> None:
        """Set the crop calendar to its state at the start of a periodic year of daily means ``(ndays, ncell)``:
        the calendar is run over the year from a never-sown start until its state at the start repeats."""
        self.crop_init = False
        self.crop_days[:] = NEVER_SOWN
        prev = None
        for _ in range(max_cycles):
            for d in range(tmean_c.shape[0]):
                self.crop_day(tmean_c[d], soilm_mean[d])
            now = self.crop_days.copy()
            if prev is not None and np.array_equal(now, prev):
                break
            prev = now

    def end_day(self, day_of_year: int, advance_crops: bool = True) -> None:
        """Close a day: push its GSI into the running window; advance the crop calendar."""
        if self.nsamp == 0:
            return
        dl = daylength_forsythe1995(self._lat_u, day_of_year)[self._lat_inv]
        g = gsi_jolly2005(self.tmin, self.vpd_sum / self.nsamp, dl, self.prm, self.soilm_sum / self.nsamp)
        if advance_crops:
            self.crop_day(self.tsum / self.nsamp, self.soilm_sum / self.nsamp)
        self.buffer[1:] = self.buffer[:-1]  # np.roll by one day, in place (no new array every day)
        self.buffer[0] = g
        self.filled = min(self.filled + 1, self.window)
        self.tmin[:] = np.inf
        self.vpd_sum[:] = 0.0
        self.soilm_sum[:] = 0.0
        self.tsum[:] = 0.0
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
