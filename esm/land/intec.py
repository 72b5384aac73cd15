"""InTEC carbon budget: vegetation pools with allocation, CENTURY litter and soil pools, spin-up.

Pools per tile [kg C m-2] (Chen et al. 2000, GBC 14, 839; Ju et al. 2007, Tellus B 59, 633; CENTURY of
Parton et al. 1987, 1993 as coded in BEPS ``soilresp.c``/``readcoef.c``):

====  =====================  =====================================================================
idx   pool                   fed by
====  =====================  =====================================================================
0     leaf                   NPP x alloc_leaf
1     stem                   NPP x alloc_stem
2     coarse root            NPP x alloc_croot
3     fine root              NPP x alloc_froot
4     coarse woody debris    stem and coarse-root turnover
5     surface structural     leaf litter x (1 - metabolic_fraction)
6     surface metabolic      leaf litter x metabolic_fraction
7     soil structural        fine-root litter x (1 - metabolic_fraction)
8     soil metabolic         fine-root litter x metabolic_fraction
9     surface microbe        surface structural and metabolic litter
10    soil microbe           CWD, soil litter, slow, passive
11    slow                   soil and surface microbe, CWD and structural lignin
12    passive                soil microbe, slow
====  =====================  =====================================================================

Vegetation pools turn over at constant rates; litter and soil pool ``i`` decays at
``k_i xi(T_soil, theta)`` and its loss goes in fixed fractions to other pools and to CO2 (heterotrophic
respiration). Maximum rates (yr-1), Parton et al. (1987, SSSAJ 51; 1993, GBC 7): surface
structural 3.9 e^(-3 L_leaf), soil structural 4.8 e^(-3 L_froot), surface metabolic 14.8, soil metabolic 18.5,
surface microbe 6.0, soil microbe 7.3 (1 - 0.75 T) with T = silt + clay, slow 0.2, passive 0.0045; CWD
2.4 e^(-3 L_wood) (InTEC, BEPS readcoef.c). CO2 shares (Parton et al. 1987 Fig. 1; CENTURY 4 for the surface
microbe): structural (1 - L) 0.45 + 0.3 L at the surface and (1 - L) 0.55 + 0.3 L in the soil (lignin part
0.7 -> slow), metabolic 0.55, surface microbe 0.6 (0.4 -> slow), soil microbe 0.85 - 0.68 T (0.003 + 0.032 clay
-> passive, rest -> slow; CENTURY's small DOC leaching is kept in the slow pool), slow 0.55 (0.003 + 0.009 clay
-> passive, CENTURY 4 ``fps2s3``; rest -> soil microbe), passive 0.55 (rest -> soil microbe); CWD (InTEC)
(1 - L) 0.55 + 0.45 L. Each share and rate is a ``&land_nml`` key; BEPS ``readcoef.c`` (the coded InTEC) differs
in slow 0.25, passive 0.007 (except broadleaf forests), slow -> passive 0.003 - 0.009 clay, passive 0.5,
metabolic 0.6 / 0.5 and surface structural 0.6: those are recoverable through the namelist.

The decomposition scalar is xi = f_T f_W with the Lloyd & Taylor (1994) temperature function normalised
to 1 at 35 C (capped at 1) of the soil temperature ``&land_nml decomposition_temperature`` names (default the root
zone's ``tsoil``; ``'top_soil'``: ``tsoil_top``, ~5 cm, with its diurnal cycle, as CENTURY drives decomposition with a
near-surface soil temperature, Parton et al. 1987) and the InTEC quadratic of relative soil saturation
``x = theta / porosity``,
``f_W = max(0, min(1, w1 x + w2 x^2 + w0))``.

Fire and crop harvest (:mod:`esm.land.disturbance`) are further losses of the pool step: fire burns and kills
on the day's burned fraction (emitted CO2 and mortality to litter), the harvest takes the harvest index of the
crop leaf turnover out of the tile.

Time stepping: the canopy runs hourly; pools advance once per day (explicit, with the day's NPP and the
day's sum of xi dt) while hourly Rh uses the same pools and the hourly xi, so the hourly Rh of a day adds
up exactly to the pools' CO2 loss: carbon is conserved to round-off.
"""
from __future__ import annotations

import numpy as np

try:  # the compiled pool step (same arithmetic in the same order as the numpy fallback below)
    from esm._kernels import beps as _kern
except ImportError:  # pragma: no cover - source checkout without built kernels
    _kern = None

NPOOL = 13
LEAF, STEM, CROOT, FROOT, CWD, SSTR, SMET, DSTR, DMET, SMIC, DMIC, SLOW, PASSIVE = range(NPOOL)
POOL_NAMES = ("leaf", "stem", "coarse_root", "fine_root", "coarse_woody_debris", "surface_structural",
              "surface_metabolic", "soil_structural", "soil_metabolic", "surface_microbe", "soil_microbe",
              "slow", "passive")
VEG = (LEAF, STEM, CROOT, FROOT)
SOIL = tuple(range(CWD, NPOOL))
SECONDS_PER_YEAR = 365.0 * 86400.0  # InTEC rates are per 365-day year


class PoolModel:
    """Per-tile rate constants and transfer fractions of the InTEC/CENTURY pool network.

    ``k`` (ntile, 13) [s-1]: vegetation turnover (constant) and maximum decay rates (times xi);
    ``frac`` (ntile, 13, 13): ``frac[:, i, j]`` = share of pool j's loss entering pool i;
    ``resp`` (ntile, 13): share of the loss respired (1 - sum of frac for litter/soil pools, 0 for vegetation);
    ``alloc`` (ntile, 4): NPP shares to the vegetation pools.
    """

    def __init__(self, pft: np.ndarray, prm, crop_share: np.ndarray | None = None):
        pft = np.asarray(pft, dtype=np.intp)
        n = pft.size
        crop_share = np.zeros(n) if crop_share is None else np.asarray(crop_share, float)
        if crop_share.shape != (n,) or np.any((crop_share < 0) | (crop_share > 1)):
            raise ValueError(f"crop_share must be ({n},) fractions in [0, 1]")
        self.ntile = n
        g = lambda name: np.asarray(getattr(prm, name), float)[pft]  # noqa: E731
        lex = float(prm.lignin_exponent)
        l_leaf, l_fr, l_wd, fm = g("lignin_leaf"), g("lignin_froot"), g("lignin_wood"), g("metabolic_fraction")
        t = float(prm.silt_clay)
        clay = float(prm.clay)
        k = np.zeros((n, NPOOL))
        k[:, LEAF] = g("turnover_leaf")
        k[:, STEM] = g("turnover_stem")
        k[:, CROOT] = g("turnover_croot")
        k[:, FROOT] = g("turnover_froot")
        k[:, CWD] = prm.k_cwd * np.exp(-lex * l_wd)
        k[:, SSTR] = prm.k_surface_structural * np.exp(-lex * l_leaf)
        k[:, SMET] = prm.k_surface_metabolic
        k[:, DSTR] = prm.k_soil_structural * np.exp(-lex * l_fr)
        k[:, DMET] = prm.k_soil_metabolic
        k[:, SMIC] = prm.k_surface_microbe
        k[:, DMIC] = prm.k_soil_microbe * (1.0 - 0.75 * t)
        k[:, SLOW] = prm.k_slow
        k[:, PASSIVE] = g("k_passive")
        self.k = k / SECONDS_PER_YEAR
        f = np.zeros((n, NPOOL, NPOOL))
        # vegetation turnover -> litter; on crop land the harvest index of the leaf turnover leaves the tile
        self.harvest = g("harvest_index") * crop_share
        f[:, SSTR, LEAF] = (1.0 - fm) * (1.0 - self.harvest)
        f[:, SMET, LEAF] = fm * (1.0 - self.harvest)
        f[:, CWD, STEM] = 1.0
        f[:, CWD, CROOT] = 1.0
        f[:, DSTR, FROOT] = 1.0 - fm
        f[:, DMET, FROOT] = fm
        # CWD (InTEC: BEPS readcoef.c; CENTURY's wood pools are not in Parton et al. 1987/1993's SOM figure)
        f[:, DMIC, CWD] = (1.0 - l_wd) * 0.45
        f[:, SLOW, CWD] = l_wd * 0.55
        # structural litter: the non-lignin part to the microbes, the lignin part to slow (Parton et al. 1987)
        r_lig = float(prm.resp_lignin)
        f[:, SMIC, SSTR] = (1.0 - l_leaf) * (1.0 - prm.resp_surface_structural)
        f[:, SLOW, SSTR] = l_leaf * (1.0 - r_lig)
        f[:, SMIC, SMET] = 1.0 - prm.resp_surface_metabolic
        f[:, DMIC, DSTR] = (1.0 - l_fr) * (1.0 - prm.resp_soil_structural)
        f[:, SLOW, DSTR] = l_fr * (1.0 - r_lig)
        f[:, DMIC, DMET] = 1.0 - prm.resp_soil_metabolic
        # surface microbe
        f[:, SLOW, SMIC] = 1.0 - prm.resp_surface_microbe
        # soil microbe
        to_passive = 0.003 + 0.032 * clay
        respired = 0.85 - 0.68 * t
        f[:, PASSIVE, DMIC] = to_passive
        f[:, SLOW, DMIC] = 1.0 - respired - to_passive
        # slow
        s_p = max(prm.slow_passive_base + prm.slow_passive_clay * clay, 1e-5)
        f[:, PASSIVE, SLOW] = s_p
        f[:, DMIC, SLOW] = 1.0 - prm.resp_slow - s_p
        # passive
        f[:, DMIC, PASSIVE] = 1.0 - prm.resp_passive
        if np.any(f.sum(axis=1)[:, SOIL] > 1.0 + 1e-12) or np.any(f < 0):
            raise ValueError("InTEC transfer fractions out of range: check silt_clay, clay and lignin fractions")
        self.frac = f
        resp = 1.0 - f.sum(axis=1)
        resp[:, list(VEG)] = 0.0
        self.resp = resp
        self.alloc = np.stack([g("alloc_leaf"), g("alloc_stem"), g("alloc_croot"), g("alloc_froot")], axis=1)
        self.is_soil = np.zeros(NPOOL, dtype=bool)
        self.is_soil[list(SOIL)] = True
        self.nthreads = 1  # OpenMP threads of the compiled pool and fire steps (LandModel sets its own)
        self._fire_tables(pft, prm, crop_share, fm)

        # sparse list of transfers (receiver i, donor j) with per-tile fractions
        pairs = [(i, j) for j in range(NPOOL) for i in range(NPOOL) if np.any(f[:, i, j] != 0.0)]
        self.pairs = pairs
        self.pair_frac = [np.ascontiguousarray(f[:, i, j]) for i, j in pairs]
        self._recv = np.array([i for i, _ in pairs], dtype=np.int32)
        self._donor = np.array([j for _, j in pairs], dtype=np.int32)
        self._pfrac = np.ascontiguousarray(np.array(self.pair_frac).reshape(len(pairs), n))
        self.k = np.ascontiguousarray(self.k)
        self.alloc = np.ascontiguousarray(self.alloc)
        # constant products of the daily rates (formed as the numpy expressions form them first)
        self._rk = np.ascontiguousarray(self.resp[:, CWD:] * self.k[:, CWD:])
        self._fire_le = np.ascontiguousarray(self.fire_loss * self.fire_emit)
        self._harvest_k = np.ascontiguousarray(self.harvest * self.k[:, LEAF])
        self._kernel_tables()  # built with the model, not on the first day's step (sets _ktab)

    def _fire_tables(self, pft, prm, crop_share, fm) -> None:
        """Per unit burned area: the share of each pool lost (``fire_loss``), the share of that loss emitted
        (``fire_emit``) and where the rest goes (``fire_to``); :mod:`esm.land.disturbance`."""
        from esm.land.landcover import C4, CROP, GRASS

        n = pft.size
        g = lambda name: np.asarray(getattr(prm, name), float)[pft]  # noqa: E731
        kill = 1.0 - g("fire_resistance")
        herb = np.isin(pft, (GRASS, CROP, C4))
        loss = np.zeros((n, NPOOL))
        loss[:, LEAF] = np.where(herb, 1.0, kill)
        loss[:, STEM] = kill
        loss[:, CROOT] = kill
        loss[:, FROOT] = kill
        loss[:, CWD] = prm.fire_cc_cwd
        loss[:, SSTR] = prm.fire_cc_litter
        loss[:, SMET] = prm.fire_cc_litter
        # fire burns the natural share of a tile only (crop land is managed)
        self.fire_area = (1.0 - crop_share) if bool(prm.fire) else np.zeros(n)
        emit = np.zeros((n, NPOOL))
        emit[:, LEAF] = prm.fire_cc_leaf
        emit[:, STEM] = prm.fire_cc_stem
        emit[:, [CWD, SSTR, SMET]] = 1.0
        to = np.zeros((n, NPOOL, NPOOL))  # to[:, i, j]: share of pool j's unburnt fire loss entering pool i
        to[:, SSTR, LEAF] = 1.0 - fm
        to[:, SMET, LEAF] = fm
        to[:, CWD, STEM] = 1.0
        to[:, CWD, CROOT] = 1.0
        to[:, DSTR, FROOT] = 1.0 - fm
        to[:, DMET, FROOT] = fm
        self.fire_loss, self.fire_emit, self.fire_to = loss, emit, to
        pairs = [(i, j) for j in range(NPOOL) for i in range(NPOOL) if np.any(to[:, i, j] != 0.0)]
        self._fire_keep = np.ascontiguousarray(1.0 - emit[:, :CWD])
        self._fire_recv = np.array([i for i, _ in pairs], dtype=np.int32)
        self._fire_donor = np.array([j for _, j in pairs], dtype=np.int32)
        self._fire_pfrac = np.ascontiguousarray(np.array([to[:, i, j] for i, j in pairs]).reshape(len(pairs), n))
        if np.any(loss[:, SMET + 1:] != 0) or np.any(emit[:, CWD:SMET + 1] != 1.0):
            raise AssertionError("fire tables: only vegetation, CWD and surface litter burn")
        self.fuel_min = float(prm.fire_fuel_min)

    def _kernel_tables(self) -> None:
        """Build ``_ktab``, the pool kernel's tables of distinct rows and each tile's row in them: turnover rates
        ``k``, NPP allocation ``alloc`` and transfer fractions ``pfrac`` (nrow, npair). Called at construction and by
        :meth:`subset` (the per-tile arrays do not change after them); the same values: at 1x1, 6, 4 and ~2500
        distinct rows for 51 465 tiles, so the daily step reads ~0.5 MB of tables instead of ~15 MB."""
        def table(a):
            u, inv = np.unique(a, axis=0, return_inverse=True)
            return np.ascontiguousarray(u, dtype=np.float64), np.ascontiguousarray(inv.ravel(), dtype=np.int32)
        k, kidx = table(self.k)
        alloc, aidx = table(self.alloc)
        pfrac, pidx = table(self._pfrac.T) if len(self.pairs) else (np.zeros((1, 0)), np.zeros(self.ntile, np.int32))
        self._ktab = {"k": k, "kidx": kidx, "alloc": alloc, "aidx": aidx, "pfrac": pfrac, "pidx": pidx}

    def subset(self, idx: np.ndarray) -> "PoolModel":
        """The pool network of the tiles ``idx`` only (tiles do not exchange carbon): same arithmetic per tile."""
        idx = np.asarray(idx, dtype=np.intp)
        sub = object.__new__(PoolModel)
        sub.__dict__.update(self.__dict__)
        sub.ntile = idx.size
        for name in ("k", "harvest", "frac", "resp", "alloc", "fire_area", "fire_loss", "fire_emit", "fire_to",
                     "_fire_keep", "_rk", "_fire_le", "_harvest_k"):
            setattr(sub, name, np.ascontiguousarray(getattr(self, name)[idx]))
        sub.pair_frac = [np.ascontiguousarray(fr[idx]) for fr in self.pair_frac]
        sub._pfrac = np.ascontiguousarray(self._pfrac[:, idx])
        sub._fire_pfrac = np.ascontiguousarray(self._fire_pfrac[:, idx])
        sub._kernel_tables()
        return sub

    def fire_burn(self, pools: np.ndarray, burn: np.ndarray) -> np.ndarray:
        """Burned fraction of every tile (ntile,) for a fire danger ``burn`` (burned fraction of natural land),
        limited by the surface fuel (surface litter + CWD) ``F``: times ``min(1, F / fire_fuel_min)``.

        GlobFIRM has a step at 200 g C m-2 (no fire below); a step makes the daily pool map discontinuous, and
        tiles whose fuel sits near it flip between burning and not burning from day to day, so they have no
        steady state for the spin-up to find. The linear ramp (the form of the fuel-availability factor of Li
        et al. 2012, Biogeosciences 9, 2761) keeps the map continuous and equals GlobFIRM above the threshold."""
        fuel = pools[:, SSTR] + pools[:, SMET] + pools[:, CWD]
        avail = np.clip(fuel / self.fuel_min, 0.0, 1.0) if self.fuel_min > 0 else 1.0
        return np.asarray(burn, float) * self.fire_area * avail

    def fire_emission(self, pools: np.ndarray, burned: np.ndarray) -> np.ndarray:
        """CO2 emitted [kg C m-2] when ``burned`` (from :meth:`fire_burn`) of each tile burns."""
        return burned * np.sum(self._fire_le * pools, axis=1)

    def daily_rates(self, pools: np.ndarray, burn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rh_coef, fire, harvest)`` per tile for pools that stay fixed over a day: Rh per unit decomposition
        scalar [kg C m-2 s-1] (:meth:`heterotrophic_respiration` at xi = 1), the fire emission of a whole day at fire
        danger ``burn`` [kg C m-2] (:meth:`fire_emission` of :meth:`fire_burn`) and the harvest removal
        [kg C m-2 s-1] (:meth:`harvest_rate`); one compiled pass when the kernels are built (sums in another
        order than numpy's: equal to round-off)."""
        if _kern is None:
            return (self.heterotrophic_respiration(pools, np.ones(pools.shape[0])),
                    self.fire_emission(pools, self.fire_burn(pools, burn)), self.harvest_rate(pools))
        out = np.empty((3, pools.shape[0]))
        _kern.pool_rates(np.ascontiguousarray(pools, dtype=np.float64), self._rk, self._fire_le, self._harvest_k,
                         np.ascontiguousarray(np.asarray(burn, float) * self.fire_area), self.fuel_min, CWD, SMET + 1,
                         out[0], out[1], out[2], self.nthreads)
        return out[0], out[1], out[2]

    def harvest_rate(self, pools: np.ndarray) -> np.ndarray:
        """Harvest removal [kg C m-2 s-1] per tile: the harvest index of the leaf turnover."""
        return self._harvest_k * pools[:, LEAF]

    def _fire_step(self, start: np.ndarray, new: np.ndarray, burned: np.ndarray) -> None:
        """Apply the fire of a step to ``new`` in place, with the losses from the pools at its ``start``."""
        nf = SMET + 1  # vegetation, CWD and surface litter burn (pools 0..6)
        if _kern is not None:
            _kern.fire_step(np.ascontiguousarray(start, dtype=np.float64), new,
                            np.ascontiguousarray(burned, dtype=np.float64), self.fire_loss, self._fire_keep,
                            self._fire_recv, self._fire_donor, self._fire_pfrac, nf, self.nthreads)
            return
        loss = burned[:, None] * (self.fire_loss[:, :nf] * start[:, :nf])
        new[:, :nf] -= loss
        unburnt = loss[:, :CWD] * self._fire_keep  # CWD and litter burn completely: no rest
        for i, j, fr in zip(self._fire_recv, self._fire_donor, self._fire_pfrac):
            new[:, i] += fr * unburnt[:, j]

    # ---- rates ------------------------------------------------------------------------------
    def heterotrophic_respiration(self, pools: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Rh [kg C m-2 s-1] per tile: xi sum over litter/soil pools of resp_i k_i C_i."""
        return xi * np.sum(self._rk * pools[:, CWD:], axis=1)

    def losses(self, pools: np.ndarray, xi_sum: np.ndarray, dt_sum: float) -> np.ndarray:
        """Loss of every pool over a pool step [kg C m-2]: vegetation k C dt, litter/soil k C xi_sum."""
        loss = self.k * pools
        loss[:, :CWD] *= dt_sum
        loss[:, CWD:] *= xi_sum[:, None]
        return loss

    def step(self, pools: np.ndarray, npp_sum: np.ndarray, xi_sum: np.ndarray, dt_sum: float,
             burned: np.ndarray | None = None) -> np.ndarray:
        """Advance pools over one pool step (normally a day), explicitly with the pools at its start.

        ``npp_sum`` [kg C m-2] NPP integrated over the step, ``xi_sum`` [s] the integral of the decomposition
        scalar, ``dt_sum`` [s] the step length, ``burned`` the fraction of each tile burned in the step (from
        :meth:`fire_burn`, evaluated on the same start pools). Losses: vegetation ``k C dt_sum`` (on crops the
        harvest index of the leaf loss leaves the tile), litter/soil ``k C xi_sum``, fire. Returns the new pools;
        their total change is ``npp_sum - Rh_sum - harvest - fire`` with ``Rh_sum = sum resp k C xi_sum``,
        ``harvest = harvest_rate dt_sum`` and ``fire = fire_emission`` (to round-off).
        """
        if _kern is not None:
            new = np.array(pools, dtype=np.float64, order="C")
            kt = self._ktab
            _kern.pool_step(new, kt["k"], kt["kidx"], kt["alloc"], kt["aidx"], self._recv, self._donor, kt["pfrac"],
                            kt["pidx"], np.ascontiguousarray(npp_sum, dtype=np.float64),
                            np.ascontiguousarray(xi_sum, dtype=np.float64), float(dt_sum), CWD, self.nthreads)
        else:
            loss = self.losses(pools, xi_sum, dt_sum)
            new = pools - loss
            for (i, j), fr in zip(self.pairs, self.pair_frac):
                new[:, i] += fr * loss[:, j]
            new[:, :CWD] += self.alloc * npp_sum[:, None]
        if burned is not None:
            self._fire_step(pools, new, burned)
        return new

    # ---- spin-up -------------------------------------------------------------------------------
    def cyclostationary(self, npp_days: np.ndarray, xi_days: np.ndarray, day_seconds: float = 86400.0,
                        tol: float = 1e-11, maxit: int = 300, start: np.ndarray | None = None,
                        burn_days: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Pools at the start of a year that the daily :meth:`step` maps onto themselves after one year.

        ``npp_days`` (ndays, ntile) daily NPP sums [kg C m-2], ``xi_days`` (ndays, ntile) daily xi sums [s].
        Semi-analytic fixed point of the annual map: each pool obeys ``c_{n+1} = (1 - l_n) c_n + u_n`` with
        inputs ``u_n`` from other pools, whose periodic solution is exactly
        ``c_0 = c_0' + (c_N - c_0') / (1 - prod_n (1 - l_n))`` from any trial start ``c_0'``. Each sweep runs
        one year of the daily step (the same arithmetic as the model run) and applies this correction to
        every pool at once: pools fed only by upstream pools are exact after as many sweeps as the depth of
        the network, the soil microbe / slow / passive loop converges geometrically (gain ~0.25 per sweep).
        No multi-century time stepping. ``burn_days`` (ndays, ntile): the fire danger of every day (burned
        fraction of natural land before the fuel limit, :meth:`fire_burn`); the fuel limit makes the map
        non-linear, so the correction assumes full fuel wherever there is danger and the sweeps go on until the
        year maps the pools onto themselves. Returns ``(pools (ntile, 13), sweeps)``.
        """
        nd, nt = npp_days.shape
        if xi_days.shape != (nd, nt):
            raise ValueError(f"xi_days has shape {xi_days.shape}; expected {(nd, nt)}")
        if burn_days is not None and np.shape(burn_days) != (nd, nt):
            raise ValueError(f"burn_days has shape {np.shape(burn_days)}; expected {(nd, nt)}")
        # product of the daily keep factors of every pool over the year
        logkeep = np.zeros((nt, NPOOL))
        for n in range(nd):
            lf = self.k.copy()
            lf[:, :CWD] *= day_seconds
            lf[:, CWD:] *= xi_days[n][:, None]
            if burn_days is not None:
                lf += (burn_days[n] * self.fire_area)[:, None] * self.fire_loss
            if lf.max() >= 1.0:
                raise ValueError("a pool loses more than its content in one day; the daily pool step is unstable")
            logkeep += np.log1p(-lf)
        denom = -np.expm1(logkeep)  # 1 - prod(keep)
        c_all = np.zeros((nt, NPOOL)) if start is None else np.array(start, dtype=float)
        # tiles are independent: once most have converged, the sweeps run on the others only
        active = np.arange(nt)
        pm, npp_a, xi_a, burn_a, denom_a = self, npp_days, xi_days, burn_days, denom
        sweeps = 0
        for sweeps in range(1, maxit + 1):
            c0 = c_all[active] if active.size < nt else c_all
            c = c0
            for n in range(nd):
                burned = None if burn_a is None else pm.fire_burn(c, burn_a[n])
                c = pm.step(c, npp_a[n], xi_a[n], day_seconds, burned)
            delta = c - c0
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.where(denom_a > 0, delta / np.where(denom_a > 0, denom_a, 1.0), 0.0)
            c0 = c0 + corr
            scale = np.maximum(np.abs(c0), 1e-12)
            done = np.all(np.abs(corr) <= tol * scale, axis=1)
            if active.size < nt:
                c_all[active] = c0
            else:
                c_all = c0
            if done.all():
                break
            if done.sum() > 0.5 * active.size:
                active = active[~done]
                pm = self.subset(active)
                npp_a, xi_a, denom_a = npp_days[:, active], xi_days[:, active], denom[active]
                burn_a = None if burn_days is None else burn_days[:, active]
        return c_all, sweeps

    def year_budget(self, pools: np.ndarray, npp_days: np.ndarray, xi_days: np.ndarray,
                    day_seconds: float = 86400.0, burn_days: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """One year of daily steps from ``pools``: per-tile sums [kg C m-2] of NPP, Rh, fire and harvest, the
        burned fraction of the tile (``burned``) and the pools at its end (``end``)."""
        c = np.array(pools, dtype=float)
        out = {k: np.zeros(c.shape[0]) for k in ("npp", "rh", "fire", "harvest", "burned")}
        for n in range(npp_days.shape[0]):
            out["npp"] += npp_days[n]
            out["rh"] += self.heterotrophic_respiration(c, xi_days[n])
            out["harvest"] += self.harvest_rate(c) * day_seconds
            burned = None if burn_days is None else self.fire_burn(c, burn_days[n])
            if burned is not None:
                out["fire"] += self.fire_emission(c, burned)
                out["burned"] += burned
            c = self.step(c, npp_days[n], xi_days[n], day_seconds, burned)
        out["end"] = c
        return out


# ---- scalars -----------------------------------------------------------------------------------
def decomposition_scalar(t_soil_c, theta, porosity, prm):
    """InTEC decomposition scalar xi = f_T f_W (see module doc): Lloyd & Taylor (1994, eq. 11)
    f_T = exp(E0 (1/(Tref - T0) - 1/(T - T0))) capped at 1, and the quadratic moisture function; each
    factor bounded below by ``decomp_t_floor`` / ``decomp_w_floor`` (default 0; BEPS soilresp.c uses 0.3
    for both, which keeps decomposition at >= 9 % of its maximum in frozen or dry soil)."""
    t = np.asarray(t_soil_c, float)
    e0, t0, tref = prm.decomp_e0, prm.decomp_t0, prm.decomp_tref
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ft = np.where(t > t0 + 1.0, np.exp(e0 * (1.0 / (tref - t0) - 1.0 / np.maximum(t - t0, 1.0))), 0.0)
    ft = np.maximum(np.minimum(ft, 1.0), prm.decomp_t_floor)
    x = np.asarray(theta, float) / porosity
    fw = np.maximum(np.clip(prm.decomp_w1 * x + prm.decomp_w2 * x * x + prm.decomp_w0, 0.0, 1.0), prm.decomp_w_floor)
    return ft * fw


def npp_age_factor(age, b, c, d, e):
    """InTEC NPP-age curve (form of Chen et al. 2003, Can. J. For. Res. 33, 1007):

        f(A) = 1 + (b (A / c)^d - 1) exp(-e A),   f(0) = 0, f -> 1 for old stands."""
    a = np.maximum(np.asarray(age, float), 0.0)
    return 1.0 + (b * np.power(a / c, d) - 1.0) * np.exp(-e * a)


def leaf_n_multiplier(ndep, reference, sensitivity, max_ratio):
    """Leaf-N (and so Vcmax) multiplier from N deposition (InTEC: deposition raises leaf N and Vcmax):

        m = min(max_ratio, 1 + sensitivity (Ndep - Ndep_ref)),  at least 0.5."""
    m = 1.0 + sensitivity * (np.asarray(ndep, float) - reference)
    return np.clip(m, 0.5, max_ratio)
