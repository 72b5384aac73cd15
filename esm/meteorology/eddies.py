"""Deterministic, seeded sub-synoptic eddies added to the climatology's mass fluxes.

A climatological (time-mean) circulation has no transient eddies, and without them the
interhemispheric and meridional mixing of tracers is far too slow. The climatology therefore adds
an explicit field of travelling Rossby-wave packets. Each packet ``n`` has a velocity streamfunction

    psi_n(lat, lon, t) = A_n sin^2(pi (t - t_n) / tau) exp(-((lat - lat_n) / w_n)^2) cos(lat)
                         * cos(m_n lon - m_n c_n (t - t_n) / (a cos lat_n) + theta_n),

alive for ``t_n < t < t_n + tau`` (``tau`` = eddy lifetime, packets born every ``tau / N`` so that
``N`` are alive at any time and the sin^2 envelopes sum to a constant). Storm-track packets (75 %)
sit at 45 +- 8 deg with zonal wavenumbers 4-9 moving east at 8 +- 3 m/s (Hoskins & Hodges 2002;
Chang et al. 2002); tropical packets (25 %) between 20 S and 20 N with wavenumbers 3-8 moving west
at 6 m/s (African easterly and mixed Rossby-gravity waves, Kiladis et al. 2009). The parameters of
packet ``n`` come from ``numpy.random.default_rng([seed, n])``: the field is a pure function of time,
so a restart continues bit for bit and no random state needs saving.

The packets' amplitudes are normalised so that the RMS eddy speed ``sqrt(u'^2 + v'^2) = sqrt(2 EKE)`` is
``eddy_velocity`` in the storm tracks (35-55 deg) and ``eddy_velocity_tropics`` in the tropics (0-15
deg), values taken from the observed transient eddy kinetic energy at 500 hPa (Oort 1983). The vertical structure
(set by the climatology) is equivalent barotropic: 0.63 at the surface, 1 at 500 hPa, 1.06 at 250 hPa,
decaying above.

The mass fluxes are built from a *mass* streamfunction at the cell corners,
``Psi_k = psi E(p) dp_k / g`` [kg s-1]:
``mfx = -(Psi[j+1, i] - Psi[j, i])``, ``mfy = Psi[j, i+1] - Psi[j, i]``, so every layer of every cell
has exactly zero net eddy inflow (the discrete divergence telescopes): the eddies mix tracers
without moving air mass or creating vertical motion.
"""
from __future__ import annotations

import cftime
import numpy as np

from esm.constants import G0
from esm.grid import Grid

_EPOCH_UNITS = "seconds since 1900-01-01 00:00:00"


def seconds_since_epoch(time: cftime.datetime) -> float:
    return float(cftime.date2num(time, _EPOCH_UNITS, calendar=time.calendar))


class EddyField:
    """The seeded wave-packet eddies for a grid; ``psi(t)`` at the cell corners [m2 s-1]."""

    def __init__(self, grid: Grid, count: int, lifetime_days: float, seed: int, v_storm: float,
                 v_tropics: float):
        self.grid = grid
        self.count = int(count)
        self.tau = float(lifetime_days) * 86400.0
        self.seed = int(seed)
        self.spacing = self.tau / max(self.count, 1)
        self.v_storm = float(v_storm)
        self.v_tropics = float(v_tropics)
        self.lat_c = np.deg2rad(grid.lat_edges)  # corners: latitude edges
        self.lon_c = np.deg2rad(grid.lon_edges[:-1])  # corners: west edges (periodic)
        self.scale = {True: 1.0, False: 1.0}
        self._packets: dict[int, tuple] = {}  # n -> (packet, amplitude, latitude profile), see _packet_terms
        if self.count > 0:
            self._normalise()

    # ---- one packet
    def packet(self, n: int) -> dict:
        rng = np.random.default_rng([self.seed, int(n) & 0x7FFFFFFFFFFFFFFF])
        storm = rng.random() < 0.75
        if storm:
            hemi = 1.0 if rng.random() < 0.5 else -1.0
            lat0 = hemi * np.clip(45.0 + 8.0 * rng.standard_normal(), 28.0, 68.0)
            m = int(rng.integers(4, 10))
            c = 8.0 + 3.0 * rng.standard_normal()
            width = 9.0 + 3.0 * rng.random()
        else:
            lat0 = rng.uniform(-20.0, 20.0)
            m = int(rng.integers(3, 9))
            c = -6.0 + 2.0 * rng.standard_normal()
            width = 8.0 + 4.0 * rng.random()
        theta = rng.uniform(0.0, 2.0 * np.pi)
        return {"storm": storm, "lat0": lat0, "m": m, "c": c, "width": width, "theta": theta,
                "birth": n * self.spacing}

    def _packet_terms(self, n: int):
        """``(packet, amplitude before normalisation, latitude profile at the corners)`` of packet ``n``,
        cached while it lives (a packet's parameters are fixed; only its phase and envelope change)."""
        hit = self._packets.get(n)
        if hit is None:
            pk = self.packet(n)
            coslat = np.cos(self.lat_c)
            coslat[0] = coslat[-1] = 0.0
            row = np.exp(-((np.rad2deg(self.lat_c) - pk["lat0"]) / pk["width"]) ** 2) * coslat
            hit = (pk, self._amplitude(pk), row)
            if len(self._packets) > 4 * max(self.count, 1):  # drop packets no longer alive
                self._packets.clear()
            self._packets[n] = hit
        return hit

    def _packets_alive(self, t: float):
        first = int(np.floor((t - self.tau) / self.spacing)) + 1
        last = int(np.floor(t / self.spacing))
        return range(first, last + 1)

    def psi(self, time, which=None) -> np.ndarray:
        """Velocity streamfunction at the corners (nlat+1, nlon) [m2 s-1] at ``time`` (cftime or seconds)."""
        t = seconds_since_epoch(time) if not isinstance(time, (int, float, np.floating)) else float(time)
        nc = self.grid.nlat + 1
        if self.count == 0:
            return np.zeros((nc, self.grid.nlon))
        a = self.grid.radius
        rows, coefs_c, coefs_s, ms = [], [], [], []
        for n in self._packets_alive(t):  # ~count packets, not grid cells
            pk, amplitude, row = self._packet_terms(n)
            if which is not None and pk["storm"] != which:
                continue
            age = t - pk["birth"]
            env = np.sin(np.pi * age / self.tau) ** 2
            omega = pk["m"] * pk["c"] / (a * np.cos(np.deg2rad(pk["lat0"])))
            phase = pk["theta"] - omega * age
            amp = env * self.scale[pk["storm"]] * amplitude
            rows.append(row)
            coefs_c.append(amp * np.cos(phase))
            coefs_s.append(amp * np.sin(phase))
            ms.append(pk["m"])
        if not rows:
            return np.zeros((nc, self.grid.nlon))
        from esm._kernels import met_flux
        ml = np.array(ms)[:, None] * self.lon_c[None, :]
        Z = np.array(coefs_c)[:, None] * np.cos(ml) - np.array(coefs_s)[:, None] * np.sin(ml)  # (np, nlon)
        out = np.empty((nc, self.grid.nlon))
        from esm.meteorology.massflux import kernel_threads
        # sum_n G[n] Z[n], threads over the corner rows (the same numbers on any thread count)
        met_flux.packet_sum(np.ascontiguousarray(rows), np.ascontiguousarray(Z), out, kernel_threads(Z.shape[0] * out.size))
        return out

    def _amplitude(self, pk) -> float:
        """Amplitude giving a packet peak speed of ~1 m/s before normalisation."""
        a = self.grid.radius
        k = pk["m"] / (a * np.cos(np.deg2rad(pk["lat0"])))
        l_ = 1.0 / (a * np.deg2rad(pk["width"]))
        return 1.0 / np.hypot(k, l_)

    def _speed_rms(self, psi: np.ndarray, band) -> float:
        """RMS speed [m s-1] of the flow of ``psi`` at the corners within a latitude band."""
        g = self.grid
        a = g.radius
        dlat = np.deg2rad(g.dlat)
        dlon = np.deg2rad(g.dlon)
        u = -(psi[1:] - psi[:-1]) / (a * dlat)  # on west faces (nlat, nlon)
        cos_e = np.cos(np.deg2rad(g.lat_edges))[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (np.roll(psi, -1, axis=1) - psi) / (a * np.maximum(cos_e, 1e-6) * dlon)
        lat_f = g.lat
        sel_u = (np.abs(lat_f) >= band[0]) & (np.abs(lat_f) <= band[1])
        sel_v = (np.abs(g.lat_edges) >= band[0]) & (np.abs(g.lat_edges) <= band[1])
        return float(np.sqrt(np.mean(u[sel_u] ** 2) + np.mean(v[sel_v] ** 2)))

    def _normalise(self) -> None:
        """Scale each population to its target RMS speed, sampled over one lifetime (deterministic)."""
        times = [self.tau * (10.0 + k / 8.0) for k in range(8)]
        for storm, band, target in ((True, (35.0, 55.0), self.v_storm), (False, (0.0, 15.0), self.v_tropics)):
            ms = [self._speed_rms(self.psi(t, which=storm), band) ** 2 for t in times]
            rms = float(np.sqrt(np.mean(ms)))
            self.scale[storm] = target / rms if rms > 0 else 0.0

    # ---- mass fluxes
    @staticmethod
    def corner_weights(dp: np.ndarray, vertical: np.ndarray) -> np.ndarray:
        """Layer mass per unit area at the cell corners, ``E(p) dp / g`` [kg m-2], (nlev, nlat+1, nlon)."""
        w = dp * vertical / G0
        nlev, nlat, nlon = dp.shape
        wc = np.empty((nlev, nlat + 1, nlon))  # mean of the (up to) four cells around a corner
        wi = 0.5 * (w + np.roll(w, 1, axis=2))
        wc[:, 1:-1] = 0.5 * (wi[:, 1:] + wi[:, :-1])
        wc[:, 0] = wi[:, 0].mean(axis=1, keepdims=True)
        wc[:, -1] = wi[:, -1].mean(axis=1, keepdims=True)
        return wc

    def add_mass_fluxes(self, time, wc: np.ndarray, mfx: np.ndarray, mfy: np.ndarray) -> None:
        """Add the eddy mass fluxes at ``time`` to ``mfx``/``mfy`` in place (compiled kernel; same
        fluxes as :meth:`mass_fluxes`)."""
        from esm._kernels import met_flux
        from esm.meteorology.massflux import kernel_threads
        nlev, nlat, nlon = mfx.shape
        if wc.shape != (nlev, nlat + 1, nlon) or mfy.shape != (nlev, nlat + 1, nlon):
            raise ValueError(f"eddy fluxes: wc {wc.shape}, mfx {mfx.shape}, mfy {mfy.shape} do not match")
        psi = np.ascontiguousarray(self.psi(time))
        wc = np.ascontiguousarray(wc, dtype=np.float64)
        met_flux.add_streamfunction_fluxes(wc, wc, 0.0, psi, mfx, mfy, kernel_threads(4 * mfx.size, streaming=True))

    def mass_fluxes(self, time, wc: np.ndarray):
        """Eddy mass fluxes ``(mfx, mfy)`` [kg s-1] at ``time`` for corner weights ``wc``
        (:meth:`corner_weights`); every layer of every cell has zero net eddy inflow."""
        psi = self.psi(time)  # (nlat+1, nlon)
        Psi = wc * psi[None]
        mfx = -(Psi[:, 1:] - Psi[:, :-1])
        mfy = np.roll(Psi, -1, axis=2) - Psi
        mfy[:, 0] = 0.0
        mfy[:, -1] = 0.0
        return mfx, mfy
