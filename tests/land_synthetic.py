"""A cheap synthetic meteorology for land tests: smooth seasonal and diurnal cycles, exactly periodic in a
365-day calendar (the embedded climatology is used by the validation scripts instead)."""
from __future__ import annotations

import numpy as np


class SyntheticMet:
    """``at(time)`` -> dict of (nlat, nlon) fields named as in esm.meteorology.base.FIELDS."""

    def __init__(self, grid, soilm_mean=0.25):
        self.grid = grid
        self.lat = np.deg2rad(grid.lat)[:, None] * np.ones(grid.shape)
        self.lon = grid.lon[None, :] * np.ones(grid.shape)
        self.soilm_mean = soilm_mean

    def at(self, time):
        doy = time.timetuple().tm_yday - 1
        f = (doy + (time.hour + time.minute / 60.0) / 24.0) / 365.0
        hour = time.hour + time.minute / 60.0
        decl = np.deg2rad(23.44) * np.sin(2 * np.pi * (f - 80 / 365.0))
        lst = (hour + self.lon / 15.0) % 24.0
        ha = np.deg2rad(15.0 * (lst - 12.0))
        mu = np.sin(self.lat) * np.sin(decl) + np.cos(self.lat) * np.cos(decl) * np.cos(ha)
        mu = np.maximum(mu, 0.0)
        sw = 950.0 * mu * 0.75
        season = np.sin(self.lat) * np.cos(2 * np.pi * (f - 0.55))
        t2m = 285.0 + 15.0 * np.cos(self.lat) - 8.0 + 14.0 * season + 4.0 * np.cos(2 * np.pi * (lst - 15.0) / 24.0)
        es = 610.78 * np.exp(17.27 * (t2m - 273.15) / (t2m - 273.15 + 237.3))
        return {
            "t2m": t2m, "tskin": t2m + 0.01 * sw, "tsoil": 285.0 + 15.0 * np.cos(self.lat) - 8.0 + 10.0 * season,
            "tsoil_top": 285.0 + 15.0 * np.cos(self.lat) - 8.0 + 13.0 * season
            + 2.5 * np.cos(2 * np.pi * (lst - 16.6) / 24.0),
            "vpd": 0.4 * es, "q2m": np.full(self.grid.shape, 0.008), "swdown": sw, "swdown_diffuse": 0.3 * sw,
            "cos_sza": mu, "precip": np.full(self.grid.shape, 2e-5),
            "soilm": self.soilm_mean + 0.05 * np.sin(2 * np.pi * f) * np.ones(self.grid.shape),
            "ps": np.full(self.grid.shape, 1.0e5),
        }
