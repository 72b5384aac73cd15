"""Prescribed surface fluxes: constant-in-time fields for tests and tracer experiments.

Two patterns, each scaled to a global total so the number a user sets is the number the
budget shows:

* ``uniform``: the same flux per unit area everywhere;
* ``band``: emitted uniformly between two latitudes (e.g. 30-60 N for an SF6-like
  northern-midlatitude source), zero elsewhere.

A diurnal modulation ``1 + a cos(2 pi (local solar hour - 14) / 24)`` can be added to
exercise the coupler's per-interval updates.
"""
from __future__ import annotations

import numpy as np

from esm.component import Component, Variable
from esm.config.schema import Config, Group, Key
from esm.errors import ConfigError

NAMELIST_GROUPS = [Group("prescribed_nml", "Prescribed constant surface fluxes (tests, tracer experiments).", (
    Key("tracers", "str", ["co2"], "", "Tracers that receive a prescribed flux", is_list=True),
    Key("pattern", "str", ["uniform"], "", "Spatial pattern per tracer (one value applies to all)",
        is_list=True, choices=("uniform", "band")),
    Key("global_total", "float", [1.0e13], "mol yr-1", "Global total flux per tracer, positive upward "
        "(1e13 mol CO2 per year is 0.12 PgC per year)", is_list=True),
    Key("band_south", "float", 30.0, "degree_north", "Southern edge of the 'band' pattern", vmin=-90, vmax=90),
    Key("band_north", "float", 60.0, "degree_north", "Northern edge of the 'band' pattern", vmin=-90, vmax=90),
    Key("diurnal_amplitude", "float", 0.0, "1", "Relative amplitude of a diurnal cycle peaking at 14 h "
        "local solar time", vmin=0.0, vmax=1.0),
    Key("interval", "int", 3600, "s", "Seconds between flux updates (a multiple of dt)", vmin=1),
))]


def _check(cfg: Config) -> None:
    p = cfg.prescribed_nml
    if "prescribed" not in cfg.coupler_nml.components:
        return
    for key in ("pattern", "global_total"):
        if len(p[key]) not in (1, len(p.tracers)):
            raise ConfigError(f"{cfg.source}, &prescribed_nml {key}: {len(p[key])} values for "
                              f"{len(p.tracers)} tracers; give one per tracer or one for all")
    for name in p.tracers:
        if name not in cfg.tracers_nml.names:
            raise ConfigError(f"{cfg.source}, &prescribed_nml tracers: {name!r} is not in &tracers_nml names "
                              f"({', '.join(cfg.tracers_nml.names)})")
    if p.band_north <= p.band_south:
        raise ConfigError(f"{cfg.source}, &prescribed_nml: band_north ({p.band_north}) must exceed "
                          f"band_south ({p.band_south})")
    if p.interval % cfg.time_control.dt:
        raise ConfigError(f"{cfg.source}, &prescribed_nml interval = {p.interval} s is not a multiple of "
                          f"&time_control dt = {cfg.time_control.dt} s")


CONFIG_CHECKS = [_check]

SECONDS_PER_YEAR = 365.25 * 86400.0


class PrescribedFlux(Component):
    """Constant surface fluxes with an optional diurnal cycle."""

    name = "prescribed"
    variables = (Variable("prescribed_flux", ("lat", "lon"), "mol m-2 s-1",
                          "prescribed surface upward flux of the first prescribed tracer"),)

    def __init__(self, config, grid, vcoord, tracers, clock):
        super().__init__(config, grid, vcoord, tracers, clock)
        p = config.prescribed_nml
        self.interval = p.interval
        n = len(p.tracers)
        patterns = p.pattern if len(p.pattern) == n else p.pattern * n
        totals = p.global_total if len(p.global_total) == n else p.global_total * n
        self.base: dict[str, np.ndarray] = {}
        area = grid.area
        for name, pat, total in zip(p.tracers, patterns, totals):
            if pat == "uniform":
                shape = np.ones(grid.shape)
            else:
                lat = grid.lat[:, None] * np.ones(grid.shape)
                shape = ((lat >= p.band_south) & (lat <= p.band_north)).astype(float)
                if not shape.any():
                    raise ConfigError(f"&prescribed_nml: no grid-cell centre lies between band_south = "
                                      f"{p.band_south} and band_north = {p.band_north}")
            self.base[name] = shape * (total / SECONDS_PER_YEAR / float(np.sum(shape * area)))
        self.amplitude = p.diurnal_amplitude
        self._last: dict[str, np.ndarray] = {}

    def surface_flux(self, time, dt, atmosphere, met):
        if self.amplitude:
            utc_hour = time.hour + time.minute / 60.0 + time.second / 3600.0
            local = (utc_hour + self.grid.lon / 15.0) % 24.0
            mod = 1.0 + self.amplitude * np.cos(2 * np.pi * (local - 14.0) / 24.0)
            self._last = {k: v * mod[None, :] for k, v in self.base.items()}
        else:
            self._last = {k: v.copy() for k, v in self.base.items()}
        return self._last

    def diagnostics(self):
        if not self._last:
            return {}
        return {"prescribed_flux": next(iter(self._last.values()))}
