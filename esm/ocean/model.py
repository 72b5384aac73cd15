"""Mixed-layer ocean carbon: natural state plus anthropogenic perturbation with the Joos et al. (1996) response.

State per ocean cell (1-D arrays over the ocean cells of the grid):

* ``dic_nat`` [mol kg-1]: mixed-layer DIC of the *natural* carbon cycle, i.e. the state the ocean
  would have under the pre-industrial atmosphere (``co2_preindustrial``) and the same meteorology.
  It follows a two-end-member balance (solubility and biological pumps, e.g. Sarmiento & Gruber 2006,
  ch. 8; Volk & Hoffert 1985):

      dC_n/dt = -F_n / (rho h) + lambda (C_sub - C_n)

  where F_n is the air-sea flux under pre-industrial air, lambda [s-1] the vertical exchange rate with
  subsurface water (background + equatorial upwelling + Southern Ocean and subpolar North Atlantic
  deep mixing bands) and C_sub = (S/35) [C_pre - beta (SST - 15 degC) + (1 - e) C_reg] the DIC of the
  water that is mixed in: preformed DIC C_pre (one global, salinity-normalised value calibrated so that
  the global pre-industrial flux equals ``natural_flux_target``), lowered in warm water by beta (half the
  temperature slope of saturation DIC: subsurface water ventilated partly at the local and partly at a
  global-mean temperature), plus the regenerated DIC C_reg that biological
  export e (high where nutrients are used up, low in the HNLC regions) does not remove again. Warm
  upwelling water outgasses; cold, strongly mixed high-latitude water takes up CO2.
* ``modes`` [mol kg-1], shape (nmode, ncell): the anthropogenic perturbation of mixed-layer DIC as the
  convolution of the perturbation flux F - F_n with the HILDA mixed-layer pulse response of Joos et al.
  (1996, Tellus 48B, 397, eqs. 3 and A.2.2),

      dDIC(t) = 1/(rho h) int_0^t -(F - F_n)(t') r_s(t - t') dt',

  written as r_s = sum_k w_k exp(-t/tau_k) so that each mode obeys da_k/dt = -w_k (F - F_n)/(rho h) - a_k/tau_k.
  The mixed-layer DIC is C = C_n + sum_k a_k; the flux F uses the full chemistry of C
  (:func:`esm.ocean.carbonate.solve_carbonate`), not Joos's pCO2 polynomial.

Time stepping, per cell and step dt: the natural equation is linear after linearising F_n about the
current state (dF/dC = k K0 rho R pCO2 / C with the Revelle factor R) and is integrated exactly over the
step; the modes use the exponential integrator a_k <- a_k e^(-dt/tau_k) + w_k tau_k (1 - e^(-dt/tau_k)) S
with the perturbation source S evaluated at the end of the step (linearised implicit), which is stable for
any step. The flux returned for a step is the one the state update implies, so carbon is conserved exactly:
the ocean gains -F dt per unit area and the cumulative anthropogenic uptake is kept as state.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from esm.errors import InputDataError
from esm.ocean import gas_exchange as gx
from esm.ocean.alkalinity import alkalinity_lee06
from esm.ocean.carbonate import solve_carbonate
from esm.ocean.params import mode_weights

log = logging.getLogger(__name__)

SECONDS_PER_YEAR = 365.25 * 86400.0
#: mol C -> PgC
PGC_PER_MOL = 12.0107e-15


@dataclass
class SurfaceForcing:
    """Surface fields on the ocean cells (1-D arrays). Units: K, practical salinity, m s-1, 1, Pa, mol mol-1."""

    sst: np.ndarray
    sss: np.ndarray
    wind10: np.ndarray
    seaice: np.ndarray
    ps: np.ndarray
    xco2: np.ndarray  # dry-air CO2 mole fraction of the lowest layer


def exchange_rate(lat, lon, p) -> np.ndarray:
    """Vertical exchange rate lambda [s-1] of the mixed layer with subsurface water (see module docstring)."""
    lat = np.asarray(lat, dtype=float)
    lon = (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0
    w = p["exchange_band_width"]
    atlantic = (lon > -80.0) & (lon < 30.0)
    lam = (p["exchange_background"]
           + p["exchange_equator"] * np.exp(-(lat / p["exchange_equator_width"]) ** 2)
           + p["exchange_southern"] * np.exp(-((lat - p["exchange_southern_lat"]) / w) ** 2)
           + p["exchange_north_atlantic"] * atlantic * np.exp(-((lat - 60.0) / w) ** 2))
    return lam / SECONDS_PER_YEAR


def export_efficiency(lat, lon, p) -> np.ndarray:
    """Biological export efficiency e of upwelled regenerated carbon: low in the HNLC regions."""
    lat = np.asarray(lat, dtype=float)
    lon = (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0
    hnlc = ((lat < -50.0)
            | ((np.abs(lat) < 10.0) & ((lon > 160.0) | (lon < -80.0)))  # eastern/central equatorial Pacific
            | ((lat > 40.0) & ((lon > 140.0) | (lon < -125.0))))  # subarctic North Pacific
    return np.where(hnlc, p["export_efficiency_hnlc"], p["export_efficiency"])


class MixedLayerCarbon:
    """Ocean carbon on a set of ocean cells; see the module docstring for the equations.

    Parameters
    ----------
    params : mapping of the &ocean_nml keys (:func:`esm.ocean.params.defaults` for the defaults).
    lat, lon : cell-centre coordinates of the ocean cells [degrees].
    area : ocean area of each cell [m2] (for global totals).
    """

    def __init__(self, params, lat, lon, area):
        self.p = dict(params)
        self.lat = np.asarray(lat, dtype=float)
        self.lon = np.asarray(lon, dtype=float)
        self.area = np.asarray(area, dtype=float)
        self.n = self.lat.size
        self.h = float(self.p["mixed_layer_depth"])
        self.rho = float(self.p["rho_sw"])
        self.lam = exchange_rate(self.lat, self.lon, self.p)
        self.eff = export_efficiency(self.lat, self.lon, self.p)
        self.tau, self.w = mode_weights()
        self.c_pre = 2000.0e-6  # salinity-normalised preformed DIC [mol kg-1], set by calibrate()
        self.dic_nat = np.full(self.n, 2000.0e-6)
        self.modes = np.zeros((self.tau.size, self.n))
        self.ph = np.full(self.n, -1.0)
        self.ph_nat = np.full(self.n, -1.0)
        self.uptake = np.zeros(self.n)  # cumulative anthropogenic uptake [mol m-2 of ocean]
        self.last: dict[str, np.ndarray] = {}

    # ---- state ---------------------------------------------------------------------------------------------
    @property
    def dic(self) -> np.ndarray:
        return self.dic_nat + self.modes.sum(axis=0)

    def state(self) -> dict[str, np.ndarray]:
        return {"dic_nat": self.dic_nat.copy(), "modes": self.modes.copy(), "ph": self.ph.copy(),
                "ph_nat": self.ph_nat.copy(), "uptake": self.uptake.copy(), "c_pre": np.array([self.c_pre])}

    def load_state(self, state: dict[str, np.ndarray], where: str = "ocean restart") -> None:
        shapes = {"dic_nat": (self.n,), "modes": self.modes.shape, "ph": (self.n,), "ph_nat": (self.n,),
                  "uptake": (self.n,), "c_pre": (1,)}
        for name, shape in shapes.items():
            if name not in state:
                raise ValueError(f"{where}: field {name!r} is missing")
            if np.shape(state[name]) != shape:
                raise ValueError(f"{where}: field {name!r} has shape {np.shape(state[name])}, expected {shape}")
        self.dic_nat = np.array(state["dic_nat"], dtype=float)
        self.modes = np.array(state["modes"], dtype=float)
        self.ph = np.array(state["ph"], dtype=float)
        self.ph_nat = np.array(state["ph_nat"], dtype=float)
        self.uptake = np.array(state["uptake"], dtype=float)
        self.c_pre = float(np.asarray(state["c_pre"])[0])

    # ---- surface properties ----------------------------------------------------------------------------------
    def _surface(self, f: SurfaceForcing):
        """Clipped temperature [K] and salinity for the chemistry, alkalinity [mol kg-1], k rho [kg m-2 s-1]."""
        p = self.p
        for name, v, lo, hi in (("sst", f.sst, 250.0, 320.0), ("sss", f.sss, 0.0, 50.0),
                                ("wind10", f.wind10, 0.0, 100.0), ("seaice", f.seaice, 0.0, 1.0),
                                ("ps", f.ps, 3.0e4, 1.2e5), ("xco2", f.xco2, 0.0, 0.1)):
            bad = ~((v >= lo) & (v <= hi))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputDataError(f"ocean carbon: {name} = {float(v[i])!r} at ocean cell lat {self.lat[i]:.2f}, "
                                     f"lon {self.lon[i]:.2f} is not physical (expected [{lo:g}, {hi:g}])")
        t_c = f.sst - 273.15
        tc = np.clip(t_c, p["sst_min"], p["sst_max"])
        sc = np.clip(f.sss, p["sss_min"], p["sss_max"])
        margin = p["clip_warn_margin"]
        for name, raw, clipped, unit in (("SST", t_c, tc, "degC"), ("SSS", f.sss, sc, "")):
            far = np.abs(raw - clipped) > margin
            if far.any():
                i = int(np.flatnonzero(far)[0])
                log.warning("ocean carbon: %s clipped by more than %g %s in %d cell(s) (first: %.3g at lat %.2f, "
                            "lon %.2f) to the range of the carbonate constants", name, margin, unit,
                            int(far.sum()), float(raw[i]), self.lat[i], self.lon[i])
        # alkalinity from the actual salinity (diluted below the fit range), chemistry at the clipped one
        ta = alkalinity_lee06(f.sss, t_c, self.lat, self.lon)
        ta = ta * (sc / np.maximum(f.sss, 1e-3))  # keep TA/S: chemistry sees water of salinity sc
        k = gx.transfer_velocity_wanninkhof14(f.wind10, tc, p["transfer_coefficient"], p["wind_variance_factor"])
        krho = k * (1.0 - np.clip(f.seaice, 0.0, 1.0)) * self.rho
        return tc + 273.15, sc, ta, krho

    def _c_sub(self, s, tk):
        """DIC of the water mixed into the mixed layer [mol kg-1]."""
        pre = self.c_pre - self.p["preformed_dic_temperature_slope"] * 1e-6 * (tk - 288.15)
        return (s / 35.0) * (pre + (1.0 - self.eff) * self.p["regenerated_dic"] * 1e-6)

    def _chem(self, dic, tk, s, ta, ph_guess, pa, krho, where):
        cs = solve_carbonate(dic, ta, tk, s, ph_guess=ph_guess, kf=self.p["kf"], boron=self.p["boron"], where=where)
        drive = cs.fco2 if self.p["gradient"] == "fco2" else cs.pco2
        flux = krho * cs.k0 * (drive - pa)  # mol m-2 s-1, positive up
        g = krho * cs.k0 * cs.revelle * drive / dic  # dF/dDIC [mol m-2 s-1 / (mol kg-1)]
        return cs, flux, g

    def _air(self, f: SurfaceForcing, xco2):
        pa = gx.pco2_air(xco2, f.ps, f.sst, np.clip(f.sss, 0.0, 45.0))
        if self.p["gradient"] == "fco2":
            from esm.ocean.carbonate import fugacity_factor_weiss74
            pa = pa * fugacity_factor_weiss74(f.sst)
        return pa

    # ---- one step ------------------------------------------------------------------------------------------------
    def step(self, dt: float, f: SurfaceForcing, natural_only: bool = False, where: str = "ocean carbon") -> dict:
        """Advance the state by ``dt`` seconds; return the step-mean fluxes [mol m-2 s-1 of ocean, positive up]
        (``flux``, ``flux_nat``) and the diagnostics of the state at the start of the step."""
        rh = self.rho * self.h
        tk, s, ta, krho = self._surface(f)
        pa_pi = self._air(f, np.full(self.n, self.p["co2_preindustrial"] * 1e-6))
        # natural state, linearised about C_n and integrated exactly over the step
        cs_n, fn0, gn = self._chem(self.dic_nat, tk, s, ta, self.ph_nat, pa_pi, krho, where + " (natural)")
        csub = self._c_sub(s, tk)
        gamma = gn / rh + self.lam
        rhs = -fn0 / rh + self.lam * (csub - self.dic_nat)
        x = gamma * dt
        phi1 = np.where(x > 1e-8, -np.expm1(-x) / np.where(x > 1e-8, x, 1.0), 1.0 - 0.5 * x)  # (1-e^-x)/x
        d_nat = rhs * dt * phi1
        mean_d = np.where(x > 1e-8, rhs / np.where(gamma > 0, gamma, 1.0) * (1.0 - phi1), 0.5 * rhs * dt)
        fn = fn0 + gn * mean_d  # step-mean natural flux
        if natural_only:
            self.dic_nat = self.dic_nat + d_nat
            self.ph_nat = cs_n.ph
            self.last = {"flux_nat": fn, "flux": fn, "ph": cs_n.ph, "pco2": cs_n.pco2, "dic": self.dic_nat.copy(),
                         "talk": ta, "revelle": cs_n.revelle, "sst": tk, "sss": s}
            return self.last
        # actual state
        pa = self._air(f, f.xco2)
        dic = self.dic
        cs, f0, g = self._chem(dic, tk, s, ta, self.ph, pa, krho, where)
        e = np.exp(-dt / self.tau)[:, None]
        phik = np.where(np.isfinite(self.tau), self.tau * -np.expm1(-dt / np.where(np.isfinite(self.tau),
                                                                                     self.tau, 1.0)), dt)[:, None]
        x0 = (self.modes * (e - 1.0)).sum(axis=0)
        y = float((self.w[:, None] * phik).sum())
        src = -((f0 - fn0) + (g - gn) * d_nat + g * x0) / (rh + g * y)  # perturbation source S [mol kg-1 s-1]
        self.modes = self.modes * e + self.w[:, None] * phik * src[None, :]
        dflux = -rh * src  # step-mean perturbation flux
        flux = fn + dflux
        self.dic_nat = self.dic_nat + d_nat
        self.uptake = self.uptake - dflux * dt
        self.ph, self.ph_nat = cs.ph, cs_n.ph
        self.last = {"flux": flux, "flux_nat": fn, "ph": cs.ph, "pco2": cs.pco2, "dic": dic, "talk": ta,
                     "revelle": cs.revelle, "sst": tk, "sss": s}
        return self.last

    # ---- pre-industrial state --------------------------------------------------------------------------------------
    def steady_state(self, f: SurfaceForcing, iterations: int = 30) -> None:
        """Set ``dic_nat`` to the steady state of the natural equation under forcing ``f`` (Newton per cell)."""
        rh = self.rho * self.h
        tk, s, ta, krho = self._surface(f)
        pa_pi = self._air(f, np.full(self.n, self.p["co2_preindustrial"] * 1e-6))
        csub = self._c_sub(s, tk)
        c = csub.copy()
        ph = np.full(self.n, -1.0)
        for _ in range(iterations):
            cs, fl, g = self._chem(c, tk, s, ta, ph, pa_pi, krho, "ocean carbon steady state")
            ph = cs.ph
            res = -fl / rh + self.lam * (csub - c)
            dc = res / (g / rh + self.lam)
            c = np.maximum(c + dc, 0.5 * c)
            if np.max(np.abs(dc)) < 1e-12:
                break
        self.dic_nat = c
        self.ph_nat = ph
        self.modes[:] = 0.0
        self.ph = ph.copy()
        self.uptake[:] = 0.0

    def global_flux_pgc(self, flux) -> float:
        """Global total of a flux per ocean area [mol m-2 s-1] in PgC yr-1 (fixed-order sum)."""
        return float(np.sum(flux * self.area)) * SECONDS_PER_YEAR * PGC_PER_MOL

    def calibrate(self, forcings: list[SurfaceForcing], years: int, target_pgc: float,
                  dt: float | None = None) -> float:
        """Pre-industrial spin-up: choose ``c_pre`` so the global natural flux equals ``target_pgc``.

        ``forcings`` is one year of surface states at equal steps (e.g. 12 mid-month states). First the
        steady state under their mean is found for two values of c_pre (secant on the global flux), then
        the seasonal cycle is run for ``years`` years, correcting c_pre after each year by the steady-state
        sensitivity. Returns the final annual-mean global natural flux [PgC yr-1].
        """
        mean = SurfaceForcing(*(np.mean([getattr(f, k) for f in forcings], axis=0)
                                for k in ("sst", "sss", "wind10", "seaice", "ps", "xco2")))

        def annual_flux_steady(c_pre):
            self.c_pre = c_pre
            self.steady_state(mean)
            tk, s, ta, krho = self._surface(mean)
            return self.global_flux_pgc(self.rho * self.h * self.lam * (self._c_sub(s, tk) - self.dic_nat))

        c0, c1 = 1950.0e-6, 2050.0e-6
        f0, f1 = annual_flux_steady(c0), annual_flux_steady(c1)
        slope = (f1 - f0) / (c1 - c0)
        for _ in range(6):
            c2 = c1 - (f1 - target_pgc) / slope
            f2 = annual_flux_steady(c2)
            if abs(f2 - target_pgc) < 1e-4:
                break
            if c2 != c1:
                slope = (f2 - f1) / (c2 - c1)
            c1, f1 = c2, f2
        dt = dt or SECONDS_PER_YEAR / len(forcings)
        annual = f2
        for _ in range(years):
            tot = 0.0
            for f in forcings:
                out = self.step(dt, f, natural_only=True, where="ocean carbon spin-up")
                tot += self.global_flux_pgc(out["flux_nat"]) / len(forcings)
            annual = tot
            self.c_pre -= (annual - target_pgc) / slope
        self.modes[:] = 0.0
        self.ph = self.ph_nat.copy()
        self.uptake[:] = 0.0
        return annual
