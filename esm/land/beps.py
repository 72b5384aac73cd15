"""Hourly BEPS canopy fluxes of every tile: cell factors (numpy), the Cython kernel and its numpy reference.

For each vegetated tile (a cover type in a cell) and hour (Chen et al. 1999, 2012):

1. Direct/diffuse shortwave from the meteorology; PAR = ``par_fraction`` of it, ``par_photon`` umol J-1,
   absorbed share ``1 - leaf_par_scattering`` (leaf absorptance).
2. Sunlit/shaded LAI and leaf irradiance with the clumping index (:func:`canopy.sunlit_lai_chen1999`,
   :func:`canopy.leaf_irradiance_chen1999`).
3. Vcmax25 of sunlit/shaded leaves from the nitrogen profile (:func:`canopy.vcmax_sunlit_shaded_chen2012`),
   top-leaf Vcmax25 = vcmax25 x vcmax_n_ratio x leaf_n x (N-deposition multiplier).
4. Leaf temperature: shaded leaves at 2-m air temperature; sunlit leaves ``T_air + w (T_skin - T_air)``.
5. C3: Farquhar-von Caemmerer-Berry with BEPS temperature functions, coupled with Ball-Berry stomata
   (slope x soil-water factor, Ju et al. 2006) through the analytic cubic (Baldocchi 1994); C4: Collatz
   et al. (1992), iterated to convergence. GPP = gross assimilation (A_net + Rd) of both leaf classes.
   With ``bb_intercept_water_stress`` the Ball-Berry intercept is scaled by the water-stress factor too
   (as CLM4.5, Oleson et al. 2013 sec. 8.1), so frozen or dry soils close the stomata instead of leaving
   the intercept conductance open (in BEPS the intercept stays).
6. Maintenance respiration (leaf at night, stem, roots; BEPS allometries) and growth respiration.
7. Stand-age factor (InTEC NPP-age curve) multiplies GPP and Ra of the tile.

Units: umol CO2 m-2 (tile ground area) s-1.
"""
from __future__ import annotations

import numpy as np

from esm import cpu
from esm.land import canopy as cp
from esm.land import respiration as rs
from esm.land.landcover import C4, NPFT

#: Column order of the per-PFT table handed to the kernel.
PFT_COLUMNS = ("clumping", "leaf_par_scattering", "bb_slope", "is_c4", "psi_min", "psi_alpha", "lai_max",
               "rm_leaf", "rm_stem", "rm_croot", "rm_froot", "rm_scale", "root_live_fraction")
#: Order of the scalar constants handed to the kernel.
SCALARS = ("leaf_angle_g", "kn", "par_photon", "jmax_slope", "jmax_intercept", "j_curvature", "rd_fraction",
           "rd_light_factor", "bb_intercept", "gb_h2o", "c4_quantum_efficiency", "c4_theta", "c4_beta",
           "c4_k_ratio", "c4_rd_fraction", "fw_min", "stem_live_saturation", "growth_resp_fraction",
           "par_fraction", "bb_intercept_water_stress", "stem_area_fraction", "vcmax_partition")
#: Rows of the per-cell array.
CELL_ROWS = ("mu", "sdir", "sdif", "ca", "rh", "psi", "ftsoil", "km_sun", "gstar_sun", "fv_sun", "fj_sun",
             "frd_sun", "km_sh", "gstar_sh", "fv_sh", "fj_sh", "frd_sh", "f4v_sun", "f4k_sun", "f4rd_sun",
             "f4v_sh", "f4k_sh", "f4rd_sh", "fq_air", "fq_soil", "expmu")
#: Rows of the output array.
OUT_ROWS = ("gpp_sun", "gpp_shade", "rd_day", "rm_leaf", "rm_stem", "rm_root", "rg", "lai_sun", "fw")
#: the per-cell sums of frac x flux that the fused pass makes in its cell-sum mode (speed round 12), in its row order
CSUM_ROWS = ("gpp", "npp", "ra", "rh", "nee", "gpp_shade")


_KERNEL = None
#: cells per block of the fused land pass (CellKernel.land_step; at most 256, the kernel's block buffers; smaller
#: blocks were slower, validation/land/README.md round 11)
LAND_BLOCK_CELLS = 256
#: automatic thread count: one thread per this many tiles (at most OMP_NUM_THREADS / the CPUs available)
MIN_TILES_PER_THREAD = 10000


def _kernel():
    """The compiled kernel module, its index layout checked once against this module."""
    global _KERNEL
    if _KERNEL is None:
        from esm._kernels import beps as kern

        lay = kern.layout()
        if lay["NPCOL"] != len(PFT_COLUMNS) or lay["NSCAL"] != len(SCALARS) or lay["NCROW"] != len(CELL_ROWS) \
                or lay["NOUT"] != len(OUT_ROWS) or tuple(lay.get("CSUM_ROWS", ())) != CSUM_ROWS:
            raise RuntimeError("esm._kernels.beps layout differs from esm.land.beps; rebuild the kernels "
                               "(python setup.py build_ext --inplace)")
        _KERNEL = kern
    return _KERNEL


def pft_table(prm) -> np.ndarray:
    tab = np.zeros((NPFT, len(PFT_COLUMNS)))
    for j, name in enumerate(PFT_COLUMNS):
        tab[:, j] = prm.is_c4.astype(float) if name == "is_c4" else getattr(prm, name)
    return np.ascontiguousarray(tab)


def scalar_table(prm) -> np.ndarray:
    def val(n):
        if n == "bb_intercept_water_stress":
            return float(bool(prm.bb_intercept_water_stress))
        if n == "vcmax_partition":
            return float(prm.vcmax_partition == "chen2012")
        return float(getattr(prm, n))
    return np.array([val(n) for n in SCALARS])


def cell_factors(met: dict, prm) -> np.ndarray:
    """Per-cell inputs of the canopy kernel (rows :data:`CELL_ROWS`) from land-cell meteorology.

    ``met``: 1-D arrays over land cells: t2m, tskin, tsoil (root zone) [K], vpd [Pa], swdown, swdown_diffuse [W m-2],
    cos_sza, soilm [m3 m-3], ps [Pa], co2 [umol mol-1].
    """
    t_air = met["t2m"]
    t_sun = t_air + prm.sunlit_skin_weight * (met["tskin"] - t_air)
    t_soil_c = met["tsoil"] - 273.15
    p_bar = met["ps"] / 1.0e5
    sw = met["swdown"]
    dif = diffuse_beps(sw, met["cos_sza"]) if prm.diffuse_split == "beps" else met["swdown_diffuse"]
    dif = np.minimum(dif, sw)
    mu = np.where(sw > 0, np.maximum(met["cos_sza"], 0.0), 0.0)
    out = np.empty((len(CELL_ROWS), t_air.size))
    rows = dict(zip(CELL_ROWS, out))
    rows["mu"][:] = mu
    rows["sdir"][:] = sw - dif  # shortwave; the PAR conversion is in the kernel
    rows["sdif"][:] = dif
    rows["ca"][:] = met["co2"]
    rows["rh"][:] = cp.relative_humidity(t_air, met["vpd"])
    rows["psi"][:] = prm.psi_sat * np.power(np.maximum(met["soilm"], 1e-6) / prm.porosity, -prm.soil_b)
    rows["ftsoil"][:] = np.where(t_soil_c > 0, -np.expm1(-prm.fw_soil_temp_coef * t_soil_c ** 2), 0.0)
    for tag, t in (("sun", t_sun), ("sh", t_air)):
        km, gst = cp.kinetics_c3(t, p_bar, prm)
        rows[f"km_{tag}"][:] = km
        rows[f"gstar_{tag}"][:] = gst
        rows[f"fv_{tag}"][:] = cp.peaked_arrhenius(t, prm.ea_vcmax, prm.hd_vcmax, prm.topt_vcmax)
        rows[f"fj_{tag}"][:] = cp.peaked_arrhenius(t, prm.ea_jmax, prm.hd_vcmax, prm.topt_vcmax)
        rows[f"frd_{tag}"][:] = cp.arrhenius(t, prm.ea_rd)
        fv, fk, frd = cp.c4_temperature(t, prm.c4_q10)
        rows[f"f4v_{tag}"][:] = fv
        rows[f"f4k_{tag}"][:] = fk
        rows[f"f4rd_{tag}"][:] = frd
    rows["fq_air"][:] = rs.maintenance_factor(t_air - 273.15, prm.q10_a, prm.q10_b)
    rows["fq_soil"][:] = rs.maintenance_factor(t_soil_c, prm.q10_a, prm.q10_b)
    rows["expmu"][:] = np.exp(-mu)
    return np.ascontiguousarray(out)


def diffuse_beps(sw, cos_sza):
    """Diffuse part of the global shortwave by the BEPS relation of the clearness index (BEPS netRadiation.c, as
    used by Chen et al. 2012): r = S / (1367 cos Z) (r = 0 for cos Z < 0.001), diffuse fraction 0.13 for r > 0.8,
    else 0.943 + 0.734 r - 4.9 r^2 + 1.796 r^3 + 2.058 r^4, limited to [0, 1]."""
    sw = np.asarray(sw, float)
    mu = np.asarray(cos_sza, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(mu >= 0.001, sw / (1367.0 * np.where(mu >= 0.001, mu, 1.0)), 0.0)
    f = np.where(r > 0.8, 0.13, 0.943 + r * (0.734 + r * (-4.9 + r * (1.796 + r * 2.058))))
    return np.clip(f, 0.0, 1.0) * sw


#: order of the land-cell meteorology rows handed to the cell kernel
MET_ROWS = ("t2m", "tskin", "tsoil", "vpd", "swdown", "swdown_diffuse", "cos_sza", "soilm", "ps", "co2", "tsoil_top")
#: scalar parameters of the cell kernel (keep in sync with cython_kernels/beps.pyx Q_*)
CELL_SCALARS = ("sunlit_skin_weight", "psi_sat", "porosity", "soil_b", "fw_soil_temp_coef", "kc25", "ko25", "tau25",
                "ea_kc", "ea_ko", "ea_tau", "o2_fraction", "ea_vcmax", "ea_jmax", "hd_vcmax", "topt_vcmax", "ea_rd",
                "c4_q10", "q10_a", "q10_b", "decomp_e0", "decomp_t0", "decomp_tref", "decomp_w1", "decomp_w2",
                "decomp_w0", "fw_min")


class CellKernel:
    """Per-cell factors by the Cython kernel: ``(cell rows, water-stress table, decomposition scalar)``,
    the same arithmetic as :func:`cell_factors`, :func:`water_stress_table` and
    :func:`esm.land.intec.decomposition_scalar` (photosynthesis rows are zero where the sun is down)."""

    def __init__(self, prm, nthreads: int = 1, kinds=None):
        kern = _kernel()
        lay = kern.cell_layout()
        if lay["NQ"] != len(CELL_SCALARS) + 5 or lay["NM"] != len(MET_ROWS):
            raise RuntimeError("esm._kernels.beps cell layout differs from esm.land.beps; rebuild the kernels")
        g25 = [float(_peak_raw(cp.T25, ea, prm.hd_vcmax, prm.topt_vcmax)) for ea in (prm.ea_vcmax, prm.ea_jmax)]
        self.q = np.array([float(getattr(prm, n)) for n in CELL_SCALARS] + g25
                          + [float(prm.diffuse_split == "beps"), float(prm.decomp_t_floor),
                             float(prm.decomp_w_floor)])
        self.psi_min = np.ascontiguousarray(prm.psi_min, dtype=np.float64)
        self.psi_alpha = np.ascontiguousarray(prm.psi_alpha, dtype=np.float64)
        self.nthreads = nthreads
        #: per cell: bit 1 = has C3 tiles, bit 2 = has C4 tiles (None: both everywhere)
        self.kinds = None if kinds is None else np.ascontiguousarray(kinds, dtype=np.uint8)

    @staticmethod
    def cell_kinds(tile_cell, tile_pft, ncell) -> np.ndarray:
        """Bit 1: the cell has a C3 tile; bit 2: a C4 tile."""
        k = np.zeros(ncell, dtype=np.uint8)
        c4 = np.asarray(tile_pft) == C4
        np.bitwise_or.at(k, np.asarray(tile_cell)[~c4], 1)
        np.bitwise_or.at(k, np.asarray(tile_cell)[c4], 2)
        return k

    def __call__(self, met: dict):
        """``(cell, fw, xi)``: ``cell`` (len(CELL_ROWS), ncell) and ``fw`` (NPFT, ncell) are transposed views of
        arrays stored cell by cell (the kernels read one contiguous record per cell). ``cell`` and ``fw`` are this
        kernel's own buffers, overwritten by the next call (copy them to keep them; every caller uses them within
        the step): fresh multi-megabyte arrays every hour cost more in page faults than the kernel itself (speed
        round 8). ``xi`` is a new array every call."""
        n = met["t2m"].size
        buf = getattr(self, "_buf", None)
        if buf is None or buf[0].shape[0] != n:
            # cell, fw
            buf = self._buf = (np.empty((n, len(CELL_ROWS))), np.empty((n, NPFT)))
        cell, fw = buf
        # the meteorology rows are read in place (speed round 9; they were copied into one array first)
        m = tuple(_row(met[name], n) for name in MET_ROWS)
        xi = np.empty(n)
        kinds = self.kinds if self.kinds is not None and self.kinds.size == n else np.full(n, 3, dtype=np.uint8)
        _kernel().cell_step(m, self.q, self.psi_min, self.psi_alpha, cell, fw, xi, self.nthreads, kinds,
                            cpu.isa_level())
        return cell.T, fw.T, xi

    def land_step(self, met: dict, tile_cell, tile_pft, lai, vtop, bases, scale, pft, scal, out, lterm, rh_coef,
                  dt: float, acc, res, nthreads: int, hour_acc=None, sums=None):
        """The hour's cell factors and canopy in one fused pass (speed round 11, ``beps.land_step``): the same
        outputs and bits as this kernel's :meth:`__call__` followed by :func:`tile_fluxes` with ``finish=(xi, rh_coef,
        dt, *acc, res)`` and ``slim=True``, without writing the cell records and water-stress table of the hour and
        reading them back. Tiles must be stored cell by cell. ``bases``: the (leaf, stem, root) maintenance bases,
        ``acc``: (acc_gpp, acc_rm, acc_rg). ``hour_acc``: optional ``(wilting_point, field_capacity, acc_xi, acc_wm,
        acc_tair, phen, fire)``, the arguments of :func:`hour_accumulate` after its first four, whose integrals are
        then added in the same pass (same bits). ``sums``: optional ``(frac, csum)``, the cell-sum mode of the kernel
        (speed round 12): ``csum`` (len(CSUM_ROWS), ncell) is overwritten with the per-cell sums of frac x flux, the
        bits of :func:`cell_sums` of those fluxes, and ``out`` and ``res`` may be None (the per-tile rows are not
        made). Returns ``xi`` (a new array)."""
        n = met["t2m"].size
        tc = tile_cell
        key = getattr(self, "_blocks", None)
        if key is None or key[0] is not tc or key[1] != n:
            if tc.size and (np.any(np.diff(tc) < 0) or tc[0] < 0 or tc[-1] >= n):
                raise ValueError("land_step: tiles must be stored cell by cell (tile_cell non-decreasing, "
                                 f"in 0..{n - 1})")
            bc = np.append(np.arange(0, n, LAND_BLOCK_CELLS, dtype=np.int64), np.int64(n))
            bt = np.searchsorted(tc, bc, side="left").astype(np.int64)
            self._blocks = key = (tc, n, bc, bt)
        m = tuple(_row(met[name], n) for name in MET_ROWS)
        xi = np.empty(n)
        kinds = self.kinds if self.kinds is not None and self.kinds.size == n else np.full(n, 3, dtype=np.uint8)
        _kernel().land_step(m, self.q, self.psi_min, self.psi_alpha, kinds, xi, key[2], key[3], tc, tile_pft, lai,
                            vtop, bases[0], bases[1], bases[2], scale, pft, scal, out, int(nthreads), lterm, rh_coef,
                            float(dt), acc[0], acc[1], acc[2], res, cpu.isa_level(), True, _hour_acc_args(hour_acc),
                            *(sums if sums is not None else ()))
        if hour_acc is not None and hour_acc[5] is not None:
            hour_acc[5].nsamp += 1
        return xi

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_buf", None)  # scratch, not state
        state.pop("_blocks", None)
        return state


def met_valid(m: dict, soilm_max: float, nthreads: int = 1) -> bool:
    """Fast path of the land's meteorology checks (:meth:`esm.land.model.LandModel._check_met`): True if ``m`` holds
    exactly the land-cell rows :data:`MET_ROWS` as contiguous float64 1-D arrays of one length and every value passes
    the checks (one pass in the kernel; speed round 9). False if any fails or ``m`` has another form: the caller
    then runs its own checks, which name the bad value."""
    if len(m) != len(MET_ROWS):
        return False
    try:
        arrs = [m[name] for name in MET_ROWS]
    except KeyError:
        return False
    for a in arrs:
        if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 1 and a.flags.c_contiguous):
            return False
    kern = _kernel()
    return bool(kern.met_valid(*arrs, float(soilm_max), kern.cell_isa(cpu.isa_level()), max(1, int(nthreads))))


def cell_sums(tile_cell, frac, fields, out, nthreads: int = 1) -> None:
    """Per-cell sums of ``frac x field`` for several tile fields into ``out`` (len(fields), ncell), summed in tile
    order (the kernel's ``cell_sums``; the same bits as ``np.bincount(tile_cell, weights=frac * field)``)."""
    _kernel().cell_sums(np.ascontiguousarray(tile_cell, dtype=np.int32), np.ascontiguousarray(frac, dtype=np.float64),
                        tuple(np.ascontiguousarray(f, dtype=np.float64) for f in fields), out, int(nthreads))


def _hour_acc_args(h):
    """The kernel's ``hour_acc`` tuple from ``(wilting_point, field_capacity, acc_xi, acc_wm, acc_tair, phen, fire)``
    (None: no integrals)."""
    if h is None:
        return None
    wp, fc, acc_xi, acc_wm, acc_tair, phen, fire = h
    # without phenology the kernel never touches its four GSI arrays: any array of the right length stands in
    gs = (phen.tmin, phen.vpd_sum, phen.soilm_sum, phen.tsum) if phen is not None else (acc_xi,) * 4
    return (float(wp), float(fc - wp), acc_xi, acc_wm, acc_tair, *gs, bool(fire), phen is not None)


def hour_accumulate(xi, t2m, vpd, soilm, dt: float, wilting_point: float, field_capacity: float, acc_xi, acc_wm,
                    acc_tair, phen=None, fire: bool = True) -> None:
    """Add one step's integrals in place, in one compiled pass (speed round 10): ``acc_xi += xi dt``; with ``fire``
    ``acc_wm += clip((soilm - wp) / (fc - wp), 0, 1) dt`` and ``acc_tair += (t2m - 273.15) dt``; with a
    :class:`esm.land.phenology.GsiPhenology` ``phen``, its :meth:`accumulate` of (t2m - 273.15, vpd, soilm).
    Bit-identical to those numpy expressions (tests/test_land_kernel.py). The accumulators must be contiguous
    float64 arrays of the cells of ``xi``."""
    n = np.asarray(xi).size
    _kernel().hour_accumulate(_row(xi, n), _row(t2m, n), _row(vpd, n), _row(soilm, n), float(dt),
                              *_hour_acc_args((wilting_point, field_capacity, acc_xi, acc_wm, acc_tair, phen, fire)))
    if phen is not None:
        phen.nsamp += 1


def _row(a, n: int) -> np.ndarray:
    """``a`` as a contiguous float64 array of shape (n,) (no copy if it is one already; broadcast otherwise)."""
    a = np.asarray(a, dtype=np.float64)
    if a.shape != (n,):
        a = np.broadcast_to(a, (n,))
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _peak_raw(t, ea, hd, topt):
    x = (t - topt) / (cp.R_GAS * topt * t)
    return hd * np.exp(ea * x) / (hd - ea * (1.0 - np.exp(hd * x)))


def respiration_bases(tile_pft, lai_year, prm, leaf_n_top=None):
    """Maintenance respiration at 25 C of every tile [umol CO2 m-2 s-1] from the annual-mean LAI:
    ``(leaf per unit current LAI, stem, root)`` (BEPS allometries, :mod:`esm.land.respiration`).

    leaf (times the current LAI and f(T_air) at night): with ``rm_leaf_basis = 'nitrogen'`` (default) Ryan's
    (1991) rate per unit leaf N times the mean leaf N of the Chen et al. (2012) profile at the annual-mean LAI
    (``leaf_n_top``: top-leaf N per tile, default the cover type's ``leaf_n``; the model passes it with the
    N-deposition multiplier); with ``'beps'`` r_leaf C_leaf / L_ref x rm_scale (BEPS plant_respir.c, L_ref =
    its lai_max_o). stem and root: with ``rm_stem_root_basis = 'beps'`` r_stem S s0/(S + s0) and
    live [(1 - fr) r_croot + fr r_froot] C_root, both times rm_scale (BEPS plant_respir.c); with ``'nitrogen'``
    the same live carbon (:func:`esm.land.respiration.live_tissue_carbon_beps`) converted to N with the
    Biome-BGC C:N ratios (``cn_livewood`` for sapwood and live coarse roots, ``cn_froot`` for fine roots; White
    et al. 2000) times Ryan's (1991) rate per unit N (:func:`esm.land.respiration.tissue_maintenance_base_ryan1991`),
    no rm_scale (as for the N-based leaves).
    """
    p = np.asarray(tile_pft)
    g = lambda name: np.asarray(getattr(prm, name), float)[p]  # noqa: E731
    leaf_c, stem_c, root_c = rs.allometry_liu2002(lai_year, g("allom_a"), g("allom_b"), g("allom_leaf_fraction"),
                                                  g("allom_leaf_per_lai"), g("allom_root_linear"),
                                                  g("allom_root_power"), g("allom_root_per_lai"))
    fr = rs.fine_root_fraction_kurz1996(root_c, g("allom_a") > 0)
    k = rs.KGC_PER_DAY_TO_UMOL_S * g("rm_scale")
    if prm.rm_leaf_basis == "nitrogen":
        n_top = g("leaf_n") if leaf_n_top is None else np.asarray(leaf_n_top, float)
        leaf = rs.leaf_maintenance_base_ryan1991(lai_year, n_top, prm.kn, prm.rm_leaf_n_rate, prm.q10_a, prm.q10_b)
    else:
        leaf = g("rm_leaf") * leaf_c / g("rm_leaf_lai_ref") * k
    if prm.rm_stem_root_basis == "nitrogen":
        woody = g("allom_a") > 0
        stem_l, croot_l, froot_l = rs.live_tissue_carbon_beps(stem_c, root_c, woody, prm.stem_live_saturation,
                                                              g("root_live_fraction"))
        base = lambda c, cn: rs.tissue_maintenance_base_ryan1991(c, cn, prm.rm_leaf_n_rate,  # noqa: E731
                                                                  prm.q10_a, prm.q10_b)
        stem = base(stem_l, g("cn_livewood"))
        root = base(croot_l, g("cn_livewood")) + base(froot_l, g("cn_froot"))
        return leaf, stem, root
    s0 = prm.stem_live_saturation
    stem = g("rm_stem") * np.where(stem_c > 0, stem_c * s0 / (stem_c + s0), 0.0) * k
    root = g("root_live_fraction") * root_c * ((1.0 - fr) * g("rm_croot") + fr * g("rm_froot")) * k
    return leaf, stem, root


def water_stress_table(cell: np.ndarray, prm) -> np.ndarray:
    """Soil-water stress factor f_w per cover type and cell (NPFT, ncell) from the cell's matric suction and
    cold-soil factor (:func:`esm.land.canopy.soil_water_stress_ju2006` with the cover type's psi_min, alpha)."""
    psi = cell[CELL_ROWS.index("psi")][None, :]
    ft = cell[CELL_ROWS.index("ftsoil")][None, :]
    pmin = np.asarray(prm.psi_min)[:, None]
    alpha = np.asarray(prm.psi_alpha)[:, None]
    with np.errstate(invalid="ignore"):
        f_psi = np.where(psi > pmin, 1.0 / (1.0 + np.power(np.maximum(psi - pmin, 0.0) / pmin, alpha)), 1.0)
    return np.ascontiguousarray(np.maximum(prm.fw_min, f_psi * ft))


def lai_terms(tile_pft, lai, clumping, kn, g, stem=None) -> np.ndarray:
    """Per-tile terms of the canopy kernel that depend on the LAI only (3, ntile): the diffuse transmission of the
    plant area exp(-G Omega (L + S) / cos theta_bar) with cos theta_bar = 0.537 + 0.025 L (Chen et al. 1999; stems
    S as in BEPS netRadiation.c, ``stem`` per tile, default none), exp(-kn L) and (1 - exp(-kn L)) / kn (limit L at
    kn = 0) of the nitrogen profile (Chen et al. 2012)."""
    L = np.asarray(lai, float)
    om = np.asarray(clumping, float)[np.asarray(tile_pft)]
    pai = L if stem is None else L + np.asarray(stem, float)
    out = np.empty((3, L.size))
    out[0] = np.exp(-g * om * pai / (0.537 + 0.025 * L))
    out[1] = np.exp(-kn * L)
    out[2] = cp._int_exp(kn, L)
    return out


def tile_fluxes(tile_cell, tile_pft, lai, vtop, rm_leaf, rm_stem, rm_root, scale, cell, pft, scal,
                out=None, nthreads: int = 0, fwtab=None, prm=None, lterm=None, check: bool = True,
                finish=None, slim: bool = False) -> np.ndarray:
    """Run the Cython kernel; returns ``out`` (len(OUT_ROWS), ntile). Checks shapes and dtypes (``check``:
    also the tile indices, which callers with fixed tiles check once). ``lterm``: :func:`lai_terms` of
    ``lai`` (computed here if not given). ``finish``: optional ``(xi, rh_coef, dt, acc_gpp, acc_rm, acc_rg, res)``
    to finish the step in the same pass (``res`` rows gpp, rm, rg, ra, rh, npp,
    nee and the day's integrals ``acc_* += rate dt``, in place). ``slim`` (with ``finish``): only the rows
    gpp_sun, gpp_shade and fw of ``out`` are written, the others are left as they were (for callers that read
    only those and ``res``)."""
    kern = _kernel()
    n = len(tile_cell)
    arrs = {"lai": lai, "vtop": vtop, "rm_leaf": rm_leaf, "rm_stem": rm_stem, "rm_root": rm_root, "scale": scale}
    for name, a in arrs.items():
        if np.shape(a) != (n,):
            raise ValueError(f"tile array {name!r} has shape {np.shape(a)}; expected ({n},)")
    if cell.shape[0] != len(CELL_ROWS):
        raise ValueError(f"cell array has {cell.shape[0]} rows; expected {len(CELL_ROWS)}")
    if check and n and (tile_cell[0] < 0 or tile_cell.max() >= cell.shape[1] or tile_cell.min() < 0):
        raise ValueError("tile_cell indexes outside the cell array")
    if check and n and (tile_pft.min() < 0 or tile_pft.max() >= NPFT):
        raise ValueError(f"tile_pft outside 0..{NPFT - 1}")
    if pft.shape != (NPFT, len(PFT_COLUMNS)) or scal.shape != (len(SCALARS),):
        raise ValueError("pft table or scalar table has the wrong shape")
    if out is None:
        out = np.empty((len(OUT_ROWS), n))
    if nthreads <= 0:
        # threads only pay off for large tile sets (and busy-waiting OpenMP threads hurt on a loaded machine)
        from esm.land import default_threads
        nthreads = max(1, min(default_threads(), n // MIN_TILES_PER_THREAD))
    c64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    if fwtab is None:
        if prm is None:
            raise ValueError("tile_fluxes needs fwtab (water_stress_table) or prm")
        fwtab = water_stress_table(cell, prm)
    if fwtab.shape != (NPFT, cell.shape[1]):
        raise ValueError(f"fwtab has shape {fwtab.shape}; expected ({NPFT}, {cell.shape[1]})")
    if lterm is None:
        stem = scal[SCALARS.index("stem_area_fraction")] * pft[:, PFT_COLUMNS.index("lai_max")][np.asarray(tile_pft)]
        lterm = lai_terms(tile_pft, lai, pft[:, PFT_COLUMNS.index("clumping")], scal[SCALARS.index("kn")],
                          scal[SCALARS.index("leaf_angle_g")], stem)
    if np.shape(lterm) != (3, n):
        raise ValueError(f"lterm has shape {np.shape(lterm)}; expected (3, {n})")
    # the kernel reads the cell arrays cell by cell (ncell, rows): CellKernel's outputs are such transposes already
    kern.canopy_step(np.ascontiguousarray(tile_cell, dtype=np.int32), np.ascontiguousarray(tile_pft, dtype=np.int32),
                     c64(lai), c64(vtop), c64(rm_leaf), c64(rm_stem), c64(rm_root), c64(scale),
                     c64(np.asarray(cell).T), c64(np.asarray(fwtab).T), c64(pft), c64(scal), out, int(nthreads),
                     c64(lterm), *(() if finish is None else
                                   (c64(finish[0]), c64(finish[1]), float(finish[2])) + tuple(finish[3:])),
                     isa=cpu.isa_level(), slim=bool(slim and finish is not None))
    return out


def tile_fluxes_reference(tile_cell, tile_pft, lai, vtop, rm_leaf_base, rm_stem_base, rm_root_base, scale, cell, prm):
    """Numpy reference of :func:`tile_fluxes` built from the process functions (slow; for tests)."""
    c = dict(zip(CELL_ROWS, cell[:, tile_cell]))
    p = tile_pft
    om = np.asarray(prm.clumping)[p]
    g = prm.leaf_angle_g
    L = np.asarray(lai, float)
    day = (c["mu"] > 0) & ((c["sdir"] + c["sdif"]) > 0) & (L > 0)
    mu = np.where(day, c["mu"], 0.0)
    lsun = cp.sunlit_lai_chen1999(L, mu, om, g)
    lsh = np.where(day, L - lsun, 0.0)
    stem = prm.stem_area_fraction * np.asarray(prm.lai_max)[p]
    i_sun, i_sh = cp.leaf_irradiance_chen1999(c["sdir"], c["sdif"], L, mu, om, g, stem)
    conv = prm.par_fraction * prm.par_photon
    absorb = 1.0 - np.asarray(prm.leaf_par_scattering)[p]
    vsun, vsh = cp.vcmax_sunlit_shaded_chen2012(vtop, L, mu, om, prm.kn, g, prm.vcmax_partition)
    # Vcmax of shaded leaves when the shaded area is negligible: canopy mean (as the kernel)
    fw = np.where(c["psi"] > np.asarray(prm.psi_min)[p],
                  1.0 / (1.0 + np.power(np.maximum(c["psi"] - np.asarray(prm.psi_min)[p], 0.0) /
                                        np.asarray(prm.psi_min)[p], np.asarray(prm.psi_alpha)[p])), 1.0)
    fw = np.maximum(fw * c["ftsoil"], prm.fw_min)
    gb = prm.gb_h2o / cp.RATIO_BOUNDARY
    b0 = prm.bb_intercept * (fw if prm.bb_intercept_water_stress else 1.0) / cp.RATIO_STOMATA
    kbb = np.asarray(prm.bb_slope)[p] * c["rh"] * fw / cp.RATIO_STOMATA
    c4 = p == C4
    n = L.size
    a = {"sun": np.zeros(n), "sh": np.zeros(n)}
    rd = {"sun": np.zeros(n), "sh": np.zeros(n)}
    for tag, v, i_leaf in (("sun", vsun, i_sun), ("sh", vsh, i_sh)):
        i_abs = i_leaf * conv * absorb
        m3 = day & ~c4
        if m3.any():
            vc = v * c[f"fv_{tag}"]
            jm = np.maximum((prm.jmax_slope * v + prm.jmax_intercept) * c[f"fj_{tag}"], 0.0)
            r = prm.rd_fraction * v * c[f"frd_{tag}"]
            r = np.where(i_leaf * conv > 10.0, r * prm.rd_light_factor, r)
            an = cp.leaf_c3(c["ca"][m3], gb, kbb[m3], b0[m3] if np.ndim(b0) else b0, vc[m3], jm[m3], i_abs[m3],
                            c[f"km_{tag}"][m3],
                            c[f"gstar_{tag}"][m3], r[m3], prm.j_curvature)
            a[tag][m3] = an
            rd[tag][m3] = r[m3]
        m4 = day & c4
        if m4.any():
            vc = v * c[f"f4v_{tag}"]
            r = prm.c4_rd_fraction * v * c[f"f4rd_{tag}"]
            kco2 = prm.c4_k_ratio * v * 1e-6 * c[f"f4k_{tag}"]
            an = cp.leaf_c4(c["ca"][m4], gb, kbb[m4], b0[m4] if np.ndim(b0) else b0, vc[m4], kco2[m4], i_abs[m4], r[m4],
                            prm.c4_quantum_efficiency, prm.c4_theta, prm.c4_beta)
            a[tag][m4] = an
            rd[tag][m4] = r[m4]
    gpp_sun = np.where(day, (a["sun"] + rd["sun"]) * lsun, 0.0)
    gpp_sh = np.where(day, (a["sh"] + rd["sh"]) * lsh, 0.0)
    rd_day = np.where(day, rd["sun"] * lsun + rd["sh"] * lsh, 0.0)
    rm_leaf = np.where(day, 0.0, rm_leaf_base * L * c["fq_air"])
    rm_stem = rm_stem_base * c["fq_air"]
    rm_root = rm_root_base * c["fq_soil"]
    gpp = gpp_sun + gpp_sh
    rg = rs.growth_respiration(gpp, rm_leaf + rm_stem + rm_root + rd_day, prm.growth_resp_fraction)
    s = np.asarray(scale, float)
    return np.stack([gpp_sun * s, gpp_sh * s, rd_day * s, rm_leaf * s, rm_stem * s, rm_root * s, rg * s,
                     np.where(day, lsun, 0.0), fw])
