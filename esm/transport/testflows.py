"""Analytic test flows and initial conditions for the transport (tests and validation).

Flows are built as *discrete* air-mass fluxes from a mass streamfunction at cell corners,
so that they are non-divergent to round-off: with psi at the corners (j = row edge,
i = column edge), the eastward flux through the west face of cell (j, i) is
``-(psi[j+1, i] - psi[j, i])`` and the northward flux through its south face is
``psi[j, i+1] - psi[j, i]``; the four face fluxes of every cell cancel. For a velocity
streamfunction psi_v [m2 s-1] (u = -(1/R) d psi_v/d lat, v = 1/(R cos lat) d psi_v/d lon)
the mass streamfunction is sigma psi_v with sigma the air mass per area [kg m-2].

* Williamson et al. (1992, JCP 102, 211) test case 1: solid-body rotation of a cosine
  bell once around the sphere in 12 days, at angle ``alpha`` to the equator;
* Lauritzen et al. (2012, GMD 5, 887), section 2.1: non-divergent deformational flow with
  a background zonal wind (Nair & Lauritzen 2010, case 4), T = 12 days, k = 10 R / T;
  initial conditions cosine bells, Gaussian hills and slotted cylinders (their
  section 3);
* a 3-D divergent, time-dependent flow with changing surface pressure and synthetic
  boundary-layer and convection fields, for consistency and conservation tests.
"""
from __future__ import annotations

import math

import numpy as np

from esm.constants import G0, R_EARTH
from esm.grid import Grid
from esm.vertical import VerticalCoordinate

DAY = 86400.0
#: Period of the Williamson and Lauritzen tests [s].
T_TEST = 12.0 * DAY

_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(5)


def corner_lonlat(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Radian (lon, lat) at the cell corners, shape (nlat+1, nlon): corner (j, i) is the
    south-west corner of cell (j, i)."""
    lat = np.deg2rad(grid.lat_edges)[:, None] * np.ones((1, grid.nlon))
    lon = np.deg2rad(grid.lon_edges[:-1])[None, :] * np.ones((grid.nlat + 1, 1))
    return lon, lat


def centre_lonlat(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    lat = np.deg2rad(grid.lat)[:, None] * np.ones((1, grid.nlon))
    lon = np.deg2rad(grid.lon)[None, :] * np.ones((grid.nlat, 1))
    return lon, lat


def streamfunction_fluxes(psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face air fluxes from a mass streamfunction at the corners (..., nlat+1, nlon).

    Returns ``(fx (..., nlat, nlon), fy (..., nlat+1, nlon))`` in the units of psi; the
    poles' values are made single-valued first, so that fy vanishes there exactly.
    """
    psi = np.array(psi, dtype=np.float64)
    psi[..., 0, :] = psi[..., 0, :].mean(axis=-1, keepdims=True)
    psi[..., -1, :] = psi[..., -1, :].mean(axis=-1, keepdims=True)
    fx = -(psi[..., 1:, :] - psi[..., :-1, :])
    fy = np.roll(psi, -1, axis=-1) - psi
    fy[..., 0, :] = 0.0
    fy[..., -1, :] = 0.0
    return fx, fy


def great_circle(lon, lat, lon0, lat0):
    """Great-circle angle [rad] between (lon, lat) and (lon0, lat0)."""
    c = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(lon - lon0)
    return np.arccos(np.clip(c, -1.0, 1.0))


def error_norms(q: np.ndarray, exact: np.ndarray, area: np.ndarray) -> dict[str, float]:
    """Normalised l1, l2, l_inf errors (Williamson et al. 1992, eqs. 82-84), area weighted."""
    d = q - exact
    return {
        "l1": float(np.sum(area * np.abs(d)) / np.sum(area * np.abs(exact))),
        "l2": float(np.sqrt(np.sum(area * d * d)) / np.sqrt(np.sum(area * exact * exact))),
        "linf": float(np.max(np.abs(d)) / np.max(np.abs(exact))),
    }


# ---- Williamson et al. 1992, test case 1 -------------------------------------------------
def williamson1_psi(grid: Grid, alpha: float, sigma: float, u0: float | None = None) -> np.ndarray:
    """Mass streamfunction [kg s-1] of solid-body rotation at angle alpha (W92 eq. 75-76):
    psi_v = -u0 R (sin(lat) cos(alpha) - cos(lon) cos(lat) sin(alpha)), u0 = 2 pi R / 12 d."""
    if u0 is None:
        u0 = 2.0 * math.pi * grid.radius / T_TEST
    lon, lat = corner_lonlat(grid)
    psi_v = -u0 * grid.radius * (np.sin(lat) * math.cos(alpha) - np.cos(lon) * np.cos(lat) * math.sin(alpha))
    return sigma * psi_v


def williamson1_bell(grid: Grid, h0: float = 1000.0) -> np.ndarray:
    """Cosine bell of W92 eq. 77 at (3 pi/2, 0) with radius R/3 (in units of the sphere), at
    cell centres; longitude 3 pi / 2 is -90 degrees on esm's grid."""
    lon, lat = centre_lonlat(grid)
    r = great_circle(lon, lat, 1.5 * math.pi, 0.0)
    rb = 1.0 / 3.0
    return np.where(r < rb, 0.5 * h0 * (1.0 + np.cos(math.pi * r / rb)), 0.0)


# ---- Lauritzen et al. 2012 -------------------------------------------------------------
def lauritzen_psi_mean(grid: Grid, t0: float, dt: float, sigma: float, period: float = T_TEST) -> np.ndarray:
    """Time mean over [t0, t0+dt] of the mass streamfunction [kg s-1] of the non-divergent
    deformational flow (L12 section 2.1): psi_v = k R sin^2(lon') cos^2(lat) cos(pi t/T)
    - 2 pi R^2/T sin(lat), lon' = lon - 2 pi t/T, k = 10 R/T (5-point Gauss-Legendre in time)."""
    R = grid.radius
    k = 10.0 * R / period
    lon, lat = corner_lonlat(grid)
    c2 = np.cos(lat) ** 2
    out = np.zeros_like(lon)
    for x, wgt in zip(_GAUSS_X, _GAUSS_W):
        t = t0 + 0.5 * dt * (1.0 + x)
        lp = lon - 2.0 * math.pi * t / period
        out += 0.5 * wgt * (k * R * np.sin(lp) ** 2 * c2 * math.cos(math.pi * t / period)
                            - 2.0 * math.pi * R * R / period * np.sin(lat))
    return sigma * out


def lauritzen_initial(grid: Grid, kind: str) -> np.ndarray:
    """L12 section 3 initial conditions at cell centres: 'cosine_bells', 'gaussian_hills',
    'slotted_cylinders' (centres (5 pi/6, 0) and (7 pi/6, 0), radius r = R/2)."""
    lon, lat = centre_lonlat(grid)
    l1, l2, th = 5.0 * math.pi / 6.0, 7.0 * math.pi / 6.0, 0.0
    r = 0.5
    lonw = np.mod(lon, 2.0 * math.pi)  # the paper's longitudes run 0 .. 2 pi
    if kind == "gaussian_hills":
        hmax, b0 = 0.95, 5.0
        x, y, z = np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)
        out = np.zeros_like(lon)
        for lc in (l1, l2):
            xc, yc, zc = math.cos(th) * math.cos(lc), math.cos(th) * math.sin(lc), math.sin(th)
            out += hmax * np.exp(-b0 * ((x - xc) ** 2 + (y - yc) ** 2 + (z - zc) ** 2))
        return out
    r1 = great_circle(lon, lat, l1, th)
    r2 = great_circle(lon, lat, l2, th)
    if kind == "cosine_bells":
        b, c, hmax = 0.1, 0.9, 1.0
        h1 = 0.5 * hmax * (1.0 + np.cos(math.pi * r1 / r))
        h2 = 0.5 * hmax * (1.0 + np.cos(math.pi * r2 / r))
        return np.where(r1 < r, b + c * h1, np.where(r2 < r, b + c * h2, b))
    if kind == "slotted_cylinders":
        b, c = 0.1, 1.0
        out = np.full_like(lon, b)
        in1 = (r1 <= r) & ((np.abs(lonw - l1) >= r / 6.0) | (lat - th < -5.0 / 12.0 * r))
        in2 = (r2 <= r) & ((np.abs(lonw - l2) >= r / 6.0) | (lat - th > 5.0 / 12.0 * r))
        out[in1 | in2] = c
        return out
    raise ValueError(f"unknown Lauritzen initial condition {kind!r}; choose 'cosine_bells', "
                     "'gaussian_hills' or 'slotted_cylinders'")


def single_layer() -> VerticalCoordinate:
    """A one-layer 'vertical coordinate' (surface to 0 Pa) for 2-D tests."""
    return VerticalCoordinate(ap=np.array([0.0, 0.0]), bp=np.array([1.0, 0.0]), name="single_layer")


def run_2d(grid: Grid, q0: np.ndarray, flux_fn, nsteps: int, dt: float, scheme: int,
           max_subcycles: int = 64, ps: float = 1.0e5, callback=None, splitting: str = "strang"):
    """Advect 2-D tracers ``q0`` (ntr, nlat, nlon) for ``nsteps`` steps of ``dt`` seconds.

    ``flux_fn(t0, dt, sigma)`` returns a corner mass streamfunction averaged over the step
    [kg s-1]. Returns ``(q, m)``, the final mixing ratios and air mass.
    """
    from esm.transport.advection import horizontal

    sigma = ps / G0
    m = np.ascontiguousarray((sigma * grid.area)[None])
    q = np.array(q0, dtype=np.float64)[:, None].copy()
    for n in range(nsteps):
        fx, fy = streamfunction_fluxes(flux_fn(n * dt, dt, sigma))
        horizontal(m, q, np.ascontiguousarray(fx[None] * dt), np.ascontiguousarray(fy[None] * dt),
                   scheme, max_subcycles, grid, f"test step {n}",
                   0 if splitting == "lin_rood" else 1 + n % 2)
        if callback is not None:
            callback(n, q[:, 0], m[0])
    return q[:, 0], m[0]


# ---- 3-D divergent flow and synthetic meteorology ----------------------------------------
def divergent_fluxes(grid: Grid, vcoord: VerticalCoordinate, t: float, dt: float,
                     u0: float = 25.0, udiv: float = 4.0, ps_ref: float = 1.0e5) -> tuple[np.ndarray, np.ndarray]:
    """Air mass fluxes [kg s-1] of a 3-D, time-dependent flow with divergence.

    Rotational part: tilted solid-body rotation plus a travelling wave-3 pattern, from a
    corner streamfunction (non-divergent to round-off). Divergent part: the gradient of a
    velocity potential chi = udiv R cos(lat)^2 sin(2 lon - 2 pi t/5 d) c_k cos(2 pi t / 3 d),
    whose vertical profile c_k = cos(pi (k + 1/2)/nlev) + 0.25 converges low, diverges high and
    has a net column part that makes the surface pressure change with time.
    """
    nlev = vcoord.nlev
    R = grid.radius
    sig = vcoord.layer_thickness(np.array(ps_ref)) / G0                     # (nlev,) kg m-2
    lon, lat = corner_lonlat(grid)
    tm = t + 0.5 * dt
    psi_v = (-u0 * R * (np.sin(lat) * math.cos(0.7) - np.cos(lon) * np.cos(lat) * math.sin(0.7))
             + 0.3 * u0 * R * np.cos(lat) ** 3 * np.sin(lat) * np.sin(3.0 * lon - 2.0 * math.pi * tm / (4 * DAY)))
    prof = 1.0 + 0.5 * np.arange(nlev) / max(nlev - 1, 1)
    fx, fy = streamfunction_fluxes(sig[:, None, None] * prof[:, None, None] * psi_v[None])
    # divergent part on cell centres
    lonc, latc = centre_lonlat(grid)
    ck = np.cos(math.pi * (np.arange(nlev) + 0.5) / nlev) + 0.25
    chi = (udiv * R * np.cos(latc) ** 2 * np.sin(2.0 * lonc - 2.0 * math.pi * tm / (5 * DAY))
           * math.cos(2.0 * math.pi * tm / (3 * DAY)))
    dlam = np.deg2rad(grid.dlon)
    dphi = np.deg2rad(grid.dlat)
    coslat = np.cos(np.deg2rad(grid.lat))[:, None]
    fx_div = (chi - np.roll(chi, 1, axis=1)) * dphi / (coslat * dlam)        # sigma * u * R dphi
    cos_e = np.cos(np.deg2rad(grid.lat_edges))[1:-1, None]
    fy_div = np.zeros((grid.nlat + 1, grid.nlon))
    fy_div[1:-1] = (chi[1:] - chi[:-1]) * cos_e * dlam / dphi
    fx = fx + (sig * ck)[:, None, None] * fx_div[None]
    fy = fy + (sig * ck)[:, None, None] * fy_div[None]
    return fx, fy


def synthetic_met(grid: Grid, vcoord: VerticalCoordinate, ps: np.ndarray, t: float = 0.0,
                  convection: float = 1.0, downdraft: float = 0.0) -> dict[str, np.ndarray]:
    """Plausible boundary-layer and convection fields (not a climate): a diurnal boundary
    layer over a sun-following heating pattern, and deep convection in the tropics; with
    ``downdraft`` > 0 also a convective downdraught (``dmf``, ``ddtrain``) below the updrafts.

    Returns fields in the units of ``esm.meteorology.base.FIELDS``.
    """
    nlev = vcoord.nlev
    lon, lat = centre_lonlat(grid)
    hour_angle = lon + 2.0 * math.pi * t / DAY
    heating = np.clip(np.cos(lat) * np.cos(hour_angle), 0.0, None)          # 0 at night
    pe = vcoord.pressure_edges(ps)
    pm = 0.5 * (pe[:-1] + pe[1:])
    t2m = 288.0 - 30.0 * np.sin(lat) ** 2
    temp = np.maximum(t2m[None] * (pm / ps[None]) ** 0.19, 200.0)
    fields = {
        "ps": np.asarray(ps, dtype=np.float64),
        "t": temp,
        "t2m": t2m,
        "pblh": 300.0 + 1700.0 * heating,
        "ustar": 0.15 + 0.3 * np.abs(np.sin(2.0 * lon) * np.cos(lat)),
        "shflx": -20.0 + 320.0 * heating,
    }
    # convection: updraft mass flux peaking mid-troposphere in the tropics (kg m-2 s-1)
    sig = 1.0 - pe / ps[None]                                                  # 0 at the surface
    shape = np.sin(math.pi * np.clip(sig / 0.8, 0.0, 1.0)) ** 1.5               # 0 at surface and above 80 %
    amp = convection * 0.02 * np.exp(-(np.rad2deg(lat) / 15.0) ** 2) * (0.5 + 0.5 * np.cos(2.0 * lon))
    amp = np.where(amp > 2.0e-3, amp, 0.0)                                     # convecting columns only
    cmfmc = amp[None] * shape
    cmfmc[0] = 0.0
    cmfmc[-1] = 0.0
    # detrainment: where the updraft weakens with height, plus a little everywhere it exists
    dm = cmfmc[:-1] - cmfmc[1:]
    dtrain = np.clip(dm, 0.0, None) + 0.05 * cmfmc[1:]
    fields["cmfmc"] = cmfmc
    fields["dtrain"] = dtrain
    if downdraft > 0.0:
        # downdraught (positive downward) from the mid-troposphere to the surface, a fraction of the
        # updraft's strength (Tiedtke 1989 starts it at -0.3 of the updraft's base mass flux),
        # detraining where it weakens downward and a little on the way
        dshape = np.sin(math.pi * np.clip(sig / 0.5, 0.0, 1.0))                 # 0 at the surface and above 50 %
        damp = downdraft * 0.3 * 0.02 * np.exp(-(np.rad2deg(lat) / 15.0) ** 2) * (0.5 + 0.5 * np.cos(2.0 * lon))
        damp = np.where(damp > 0.3 * 2.0e-3, damp, 0.0)
        dmf = damp[None] * dshape
        dmf[0] = 0.0
        dmf[-1] = 0.0
        fields["dmf"] = dmf
        fields["ddtrain"] = np.clip(dmf[1:] - dmf[:-1], 0.0, None) + 0.05 * dmf[:-1]
    assert nlev == temp.shape[0]
    return fields


class DivergentCase:
    """A 3-D test configuration: grid, levels, tracers, atmosphere and, for any step, the
    mass fluxes (:func:`divergent_fluxes`, with ``ps_end`` from the flux convergence applied
    to the current air mass, i.e. a perfect pressure fixer) and synthetic meteorology.

    ``start`` is the model time of step 0 (a cftime datetime).
    """

    def __init__(self, spec: str = "10x10", levels: str = "coarse11", tracers=("passive1",),
                 q0: np.ndarray | None = None, transport_nml: dict | None = None, dt: float = 1800.0,
                 udiv: float = 4.0, u0: float = 25.0, convection: float = 1.0, start=None):
        import cftime

        from esm.atmosphere import Atmosphere
        from esm.config.registry import schema
        from esm.tracers import TracerSet

        self.grid = Grid.from_spec(spec)
        self.vcoord = VerticalCoordinate.from_name(levels)
        self.tracers = TracerSet(tracers)
        self.dt = float(dt)
        self.udiv, self.u0, self.conv_amp = udiv, u0, convection
        nml = {"enabled": True}
        nml.update(transport_nml or {})
        self.config = schema().resolve({"transport_nml": nml})
        lon, lat = centre_lonlat(self.grid)
        self.ps0 = 1.0e5 + 1500.0 * np.sin(2.0 * lat) * np.cos(lon)
        shape = (len(self.tracers), self.vcoord.nlev) + self.grid.shape
        if q0 is None:
            q0 = np.ones(shape)
        self.atm = Atmosphere.from_surface_pressure(self.grid, self.vcoord, self.tracers, self.ps0,
                                                    np.broadcast_to(q0, shape).copy())
        self.start = start if start is not None else cftime.datetime(2020, 1, 1, calendar="standard")

    def time(self, n: int):
        import datetime

        return self.start + datetime.timedelta(seconds=n * self.dt)

    def inputs(self, n: int):
        """(MassFluxes, MetState) for step ``n`` starting from the current atmosphere."""
        from esm.meteorology.base import MassFluxes, MetState

        g, vc, dt = self.grid, self.vcoord, self.dt
        fx, fy = divergent_fluxes(g, vc, n * dt, dt, udiv=self.udiv, u0=self.u0)
        conv = (fx * dt - np.roll(fx, -1, axis=-1) * dt) + (fy[:, :-1] * dt - fy[:, 1:] * dt)
        ps_end = vc.ptop + (self.atm.air_mass + conv).sum(axis=0) * G0 / g.area
        met = MetState(self.time(n), synthetic_met(g, vc, self.atm.surface_pressure(), n * dt,
                                                   convection=self.conv_amp))
        return MassFluxes(fx, fy, dt, ps_end), met


class ClimatologyCase:
    """The transport driven by the embedded climatology (``esm.meteorology.climatology``) instead of the
    synthetic divergent flow: its pressure-fixed mass fluxes (jets, overturning, eddies) and its fields
    (boundary layer, convection) for the steps from ``start`` (default 2020-07-01 00 UTC: the northern
    summer's boundary layers and the ITCZ north of the equator). Same interface as :class:`DivergentCase`;
    the initial air mass is the climatology's surface pressure at ``start``."""

    def __init__(self, spec: str = "10x10", levels: str = "coarse11", tracers=("passive1",),
                 q0: np.ndarray | None = None, transport_nml: dict | None = None, dt: float = 1800.0,
                 start=None):
        import cftime

        from esm.atmosphere import Atmosphere
        from esm.config.registry import schema
        from esm.meteorology.climatology import Climatology
        from esm.tracers import TracerSet

        self.grid = Grid.from_spec(spec)
        self.vcoord = VerticalCoordinate.from_name(levels)
        self.tracers = TracerSet(tracers)
        self.dt = float(dt)
        nml = {"enabled": True}
        nml.update(transport_nml or {})
        self.config = schema().resolve({"transport_nml": nml})
        self.start = start if start is not None else cftime.datetime(2020, 7, 1, calendar="standard")
        self.clim = Climatology(self.grid, self.vcoord)
        self.ps0 = np.asarray(self.clim.at(self.start).ps, dtype=np.float64)
        shape = (len(self.tracers), self.vcoord.nlev) + self.grid.shape
        q0 = np.ones(shape) if q0 is None else q0
        self.atm = Atmosphere.from_surface_pressure(self.grid, self.vcoord, self.tracers, self.ps0,
                                                    np.broadcast_to(q0, shape).copy())

    time = DivergentCase.time

    def inputs(self, n: int):
        """(MassFluxes, MetState) of the climatology for step ``n`` starting from the current atmosphere."""
        t = self.time(n)
        return self.clim.step_fluxes(t, self.dt, self.atm.surface_pressure()), self.clim.at(t)
