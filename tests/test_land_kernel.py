"""The Cython BEPS kernel equals the numpy reference built from the process functions."""
import numpy as np
import pytest

from esm.land import beps
from esm.land import respiration as rs
from esm.land.params import LandParameters

kern = pytest.importorskip("esm._kernels.beps")


def _random_case(seed, ncell=120, ntile=600, **overrides):
    prm = LandParameters.from_config(**overrides)
    rng = np.random.default_rng(seed)
    met = dict(t2m=rng.uniform(250, 315, ncell), vpd=rng.uniform(0, 4000, ncell), swdown=rng.uniform(0, 1000, ncell),
               cos_sza=rng.uniform(-0.3, 1, ncell), soilm=rng.uniform(0.02, 0.46, ncell),
               tsoil=rng.uniform(255, 310, ncell), ps=rng.uniform(60000, 103000, ncell), co2=rng.uniform(250, 900, ncell))
    met["tskin"] = met["t2m"] + rng.uniform(-3, 12, ncell)
    met["swdown_diffuse"] = met["swdown"] * rng.uniform(0.1, 1, ncell)
    met["tsoil_top"] = rng.uniform(250, 318, ncell)
    night = met["cos_sza"] <= 0
    met["swdown"][night] = 0
    met["swdown_diffuse"][night] = 0
    cell = beps.cell_factors(met, prm)
    tc = np.sort(rng.integers(0, ncell, ntile)).astype(np.int32)
    tp = rng.integers(0, 9, ntile).astype(np.int32)
    lai = rng.uniform(0.01, 7, ntile)
    vtop = (prm.vcmax25 * prm.vcmax_n_ratio * prm.leaf_n)[tp] * rng.uniform(0.5, 1.5, ntile)
    bases = beps.respiration_bases(tp, rng.uniform(0.2, 6, ntile), prm)
    scale = rng.uniform(0.5, 1.2, ntile)
    return prm, cell, tc, tp, lai, vtop, bases, scale


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_equals_numpy_reference(seed):
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(seed)
    out = beps.tile_fluxes(tc, tp, lai, vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm),
                           prm=prm, nthreads=2)
    ref = beps.tile_fluxes_reference(tc, tp, lai, vtop, rl, rst, rr, scale, cell, prm)
    # The kernel solves the C3 cubic by safeguarded Newton, the reference in closed form; C4 by regula
    # falsi vs bisection, both to ~1e-12 umol m-2 s-1: agreement to 1e-9 relative / 1e-9 absolute.
    for i, name in enumerate(beps.OUT_ROWS):
        np.testing.assert_allclose(out[i], ref[i], rtol=1e-9, atol=1e-9, err_msg=name)
    assert np.all(np.isfinite(out))
    # something happens in every class of the random sample
    assert (out[0] > 0).sum() > 50 and (out[1] > 0).sum() > 50 and (out[3] > 0).sum() > 50


@pytest.mark.parametrize("overrides", [dict(vcmax_partition="conserving", stem_area_fraction=0.0),
                                       dict(stem_area_fraction=0.5, leaf_par_scattering=[0.1] * 9)])
def test_kernel_equals_reference_radiation_options(overrides):
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(3, **overrides)
    out = beps.tile_fluxes(tc, tp, lai, vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm),
                           prm=prm, nthreads=1)
    ref = beps.tile_fluxes_reference(tc, tp, lai, vtop, rl, rst, rr, scale, cell, prm)
    for i, name in enumerate(beps.OUT_ROWS):
        np.testing.assert_allclose(out[i], ref[i], rtol=1e-9, atol=1e-9, err_msg=name)


def test_kernel_shaded_leaf_by_hand():
    """One C3 tile, worked through by hand from the published relations: the shaded-leaf irradiance with stems
    (BEPS netRadiation.c), absorbed PAR = 0.5 x 4.55 umol/J x (1 - sigma) with the leaf scattering sigma = 0.15
    (Goudriaan 1977; de Pury & Farquhar 1997), J = Jmax I / (I + 2.1 Jmax), the Chen et al. (2012) shaded Vcmax;
    the kernel's shaded GPP equals (A + Rd) L_shade of the coupled leaf at these inputs."""
    import math

    from esm.land import canopy as cp
    prm = LandParameters.from_config(diffuse_split="meteorology")  # the diffuse part is given here (200 W m-2)
    met = dict(t2m=np.array([298.15]), tskin=np.array([298.15]), tsoil=np.array([293.15]), vpd=np.array([1000.0]),
               swdown=np.array([600.0]), swdown_diffuse=np.array([200.0]), cos_sza=np.array([0.8]),
               soilm=np.array([0.4]), ps=np.array([1.0e5]), co2=np.array([400.0]),
               tsoil_top=np.array([296.15]))
    cell = beps.cell_factors(met, prm)
    p, L, v0 = 0, 4.0, 90.0  # ENF: Omega 0.62, lai_max 4.5 -> stems 0.9
    om, S = 0.62, 0.2 * 4.5
    P = L + S
    under = 200.0 * math.exp(-0.5 * om * P / (0.537 + 0.025 * L))
    i_sh = (200.0 - under) / P + 0.07 * om * 400.0 * (1.1 - 0.1 * P) * math.exp(-0.8)
    i_abs = i_sh * 0.5 * 4.55 * 0.85
    K = 0.5 * om / 0.8
    e1, e2, e3 = 1 - math.exp(-K * L), 1 - math.exp(-(0.3 + K) * L), 1 - math.exp(-0.3 * L)
    vsh = v0 * (e3 / 0.3 - e2 / (0.3 + K)) / (L - e1 / K)
    l_sh = L - 2 * 0.8 * (1 - math.exp(-0.5 * om * L / 0.8))
    jmax = 2.39 * vsh - 14.2  # at 25 C: temperature factors 1
    j = jmax * i_abs / (i_abs + 2.1 * jmax)
    rd = 0.004657 * vsh * (0.4 if i_sh * 0.5 * 4.55 > 10 else 1.0)
    rh = 1.0 - 1000.0 / cp.saturation_vapour_pressure(298.15)
    fw = float(beps.water_stress_table(cell, prm)[p, 0])
    km, gst = cp.kinetics_c3(298.15, 1.0, prm)
    a = cp.leaf_c3(400.0, 1.0 / 1.37, 8.0 * rh * fw / 1.6, 0.0175 * fw / 1.6, vsh, jmax, i_abs, km, gst, rd)
    out = beps.tile_fluxes(np.array([0], np.int32), np.array([p], np.int32), np.array([L]), np.array([v0]),
                           np.zeros(1), np.zeros(1), np.zeros(1), np.ones(1), cell, beps.pft_table(prm),
                           beps.scalar_table(prm), prm=prm, nthreads=1)
    assert j > 0 and a > 0
    assert out[1, 0] == pytest.approx((float(a) + rd) * l_sh, rel=1e-9)


def test_kernel_is_deterministic_across_threads():
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(5)
    args = (tc, tp, lai, vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm))
    a = beps.tile_fluxes(*args, prm=prm, nthreads=1)
    b = beps.tile_fluxes(*args, prm=prm, nthreads=2)
    assert np.array_equal(a, b)


def test_respiration_bases_match_process_functions():
    """Kernel respiration = base x temperature factor = respiration.maintenance_respiration (BEPS leaf basis)."""
    prm = LandParameters.from_config(rm_leaf_basis="beps")
    tp = np.arange(9)
    lai_year = np.full(9, 3.0)
    lai = np.full(9, 2.0)
    bl, bs, br = beps.respiration_bases(tp, lai_year, prm)
    g = lambda n: np.asarray(getattr(prm, n))[tp]  # noqa: E731
    leaf, stem, root = rs.allometry_liu2002(lai_year, g("allom_a"), g("allom_b"), g("allom_leaf_fraction"),
                                            g("allom_leaf_per_lai"), g("allom_root_linear"), g("allom_root_power"),
                                            g("allom_root_per_lai"))
    tile_prm = {n: g(n) for n in ("rm_leaf", "rm_stem", "rm_croot", "rm_froot", "rm_scale", "root_live_fraction")}
    tile_prm.update(stem_live_saturation=prm.stem_live_saturation, q10_a=prm.q10_a, q10_b=prm.q10_b)
    r_leaf, r_stem, r_root = rs.maintenance_respiration(12.0, 8.0, True, lai, g("rm_leaf_lai_ref"), leaf, stem, root,
                                                        g("allom_a") > 0, tile_prm)
    np.testing.assert_allclose(r_leaf, bl * lai * rs.maintenance_factor(12.0), rtol=1e-13)
    np.testing.assert_allclose(r_stem, bs * rs.maintenance_factor(12.0), rtol=1e-13)
    np.testing.assert_allclose(r_root, br * rs.maintenance_factor(8.0), rtol=1e-13)


def test_nitrogen_leaf_respiration_base():
    """Default leaf basis: Ryan (1991) rate x mean leaf N of the Chen (2012) profile; stem and root unchanged."""
    prm = LandParameters.from_config()
    beps_prm = LandParameters.from_config(rm_leaf_basis="beps")
    tp = np.arange(9)
    lai_year = np.linspace(0.5, 5.0, 9)
    n_top = np.asarray(prm.leaf_n) * 1.2
    bl, bs, br = beps.respiration_bases(tp, lai_year, prm, n_top)
    np.testing.assert_allclose(bl, rs.leaf_maintenance_base_ryan1991(lai_year, n_top, prm.kn), rtol=1e-14)
    _, bs2, br2 = beps.respiration_bases(tp, lai_year, beps_prm)
    np.testing.assert_array_equal(bs, bs2)
    np.testing.assert_array_equal(br, br2)


def test_nitrogen_stem_root_respiration_base():
    """rm_stem_root_basis = 'nitrogen': Ryan's rate x live carbon / Biome-BGC C:N; leaves untouched; herbs have
    no stem; the live carbon is exactly the one BEPS respires."""
    prm = LandParameters.from_config(rm_stem_root_basis="nitrogen")
    ref = LandParameters.from_config()
    tp = np.arange(9)
    lai_year = np.linspace(0.5, 5.0, 9)
    bl, bs, br = beps.respiration_bases(tp, lai_year, prm)
    bl0, bs0, br0 = beps.respiration_bases(tp, lai_year, ref)
    np.testing.assert_array_equal(bl, bl0)
    g = lambda n: np.asarray(getattr(prm, n))[tp]  # noqa: E731
    _, stem_c, root_c = rs.allometry_liu2002(lai_year, g("allom_a"), g("allom_b"), g("allom_leaf_fraction"),
                                             g("allom_leaf_per_lai"), g("allom_root_linear"), g("allom_root_power"),
                                             g("allom_root_per_lai"))
    woody = g("allom_a") > 0
    sl, cl, fl = rs.live_tissue_carbon_beps(stem_c, root_c, woody, prm.stem_live_saturation, g("root_live_fraction"))
    np.testing.assert_allclose(bs, rs.tissue_maintenance_base_ryan1991(sl, 50.0), rtol=1e-14)
    np.testing.assert_allclose(br, rs.tissue_maintenance_base_ryan1991(cl, 50.0)
                               + rs.tissue_maintenance_base_ryan1991(fl, 42.0), rtol=1e-14)
    assert np.all(bs[~woody] == 0) and np.all(bs[woody] > 0) and np.all(br > 0)
    # BEPS's respiring carbon, so the ratio to the BEPS basis is that of the coefficients (ENF stem: 3.3)
    np.testing.assert_allclose(bs[0] / bs0[0], 0.218 / rs.maintenance_factor(20.0) / 50.0 / 0.002, rtol=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_kernel_equals_reference_with_nitrogen_bases(seed):
    """Kernel consistency with both N bases: its stem and root rows are the N bases x f(T) x scale."""
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(seed, rm_stem_root_basis="nitrogen")
    out = beps.tile_fluxes(tc, tp, lai, vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm),
                           prm=prm, nthreads=2)
    ref = beps.tile_fluxes_reference(tc, tp, lai, vtop, rl, rst, rr, scale, cell, prm)
    for i, name in enumerate(beps.OUT_ROWS):
        np.testing.assert_allclose(out[i], ref[i], rtol=1e-9, atol=1e-9, err_msg=name)
    fq_air = cell[beps.CELL_ROWS.index("fq_air")][tc]
    fq_soil = cell[beps.CELL_ROWS.index("fq_soil")][tc]
    np.testing.assert_allclose(out[beps.OUT_ROWS.index("rm_stem")], rst * fq_air * scale, rtol=1e-12)
    np.testing.assert_allclose(out[beps.OUT_ROWS.index("rm_root")], rr * fq_soil * scale, rtol=1e-12)
    assert (out[beps.OUT_ROWS.index("rm_stem")] > 0).sum() > 100


def test_kernel_wrapper_rejects_bad_shapes():
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(2, ntile=10)
    with pytest.raises(ValueError, match="lai"):
        beps.tile_fluxes(tc, tp, lai[:5], vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm),
                         prm=prm)
    bad = tc.copy()
    bad[0] = 10_000
    with pytest.raises(ValueError, match="tile_cell"):
        beps.tile_fluxes(bad, tp, lai, vtop, rl, rst, rr, scale, cell, beps.pft_table(prm), beps.scalar_table(prm),
                         prm=prm)


def test_cell_kernel_equals_numpy_cell_factors():
    from esm.land import intec

    prm = LandParameters.from_config()
    rng = np.random.default_rng(11)
    n = 300
    met = dict(t2m=rng.uniform(240, 318, n), vpd=rng.uniform(0, 5000, n), swdown=rng.uniform(0, 1100, n),
               cos_sza=rng.uniform(-0.5, 1, n), soilm=rng.uniform(0.0, 0.463, n), tsoil=rng.uniform(240, 315, n),
               ps=rng.uniform(55000, 104000, n), co2=rng.uniform(200, 1000, n))
    met["tskin"] = met["t2m"] + rng.uniform(-5, 15, n)
    met["swdown_diffuse"] = met["swdown"] * rng.uniform(0, 1.1, n)
    met["tsoil_top"] = rng.uniform(240, 318, n)  # independent of tsoil: the decomposition must read this one
    cell, fw, xi = beps.CellKernel(prm, 2)(met)
    ref = beps.cell_factors(met, prm)
    day = ref[0] > 0
    rows = list(beps.CELL_ROWS)
    photo = rows[rows.index("km_sun"):rows.index("f4rd_sh") + 1]
    for i, name in enumerate(rows):
        sel = day if name in photo else np.ones(n, bool)
        np.testing.assert_allclose(cell[i][sel], ref[i][sel], rtol=1e-13, atol=1e-300, err_msg=name)
    assert np.all(cell[rows.index("km_sun")][~day] == 0)
    np.testing.assert_allclose(fw, beps.water_stress_table(ref, prm), rtol=1e-13)
    np.testing.assert_allclose(xi, intec.decomposition_scalar(met["tsoil_top"] - 273.15, met["soilm"], prm.porosity,
                                                              prm),
                               rtol=1e-13, atol=1e-300)
    # the BEPS soilresp.c floors of the decomposition factors
    prm_f = LandParameters.from_config(decomp_t_floor=0.3, decomp_w_floor=0.3)
    xi_f = beps.CellKernel(prm_f, 2)(met)[2]
    np.testing.assert_allclose(xi_f, intec.decomposition_scalar(met["tsoil_top"] - 273.15, met["soilm"], prm.porosity,
                                                                prm_f), rtol=1e-13)
    assert xi_f.min() >= 0.09 - 1e-15 and np.any(xi_f > xi)


def test_kernel_exp_log_within_one_ulp_of_libm():
    """The vectorisable exp/expm1/log of the cell kernel (speed round 7) against numpy's (glibc's, correctly
    rounded to < 0.52 ulp): exp and log at most 1 ulp apart, expm1 2 ulp (the claim in beps.pyx)."""
    from esm._kernels import beps as kern

    rng = np.random.default_rng(5)
    cases = [(0, np.exp, np.concatenate([rng.uniform(-708, 709, 20000), rng.uniform(-3, 3, 20000),
                                         rng.uniform(-1e-9, 1e-9, 2000)])),
             (1, np.expm1, np.concatenate([rng.uniform(-40, 5, 20000), -(10.0 ** rng.uniform(-14, 0, 20000))])),
             (2, np.log, np.concatenate([10.0 ** rng.uniform(-300, 300, 20000), rng.uniform(0.5, 2.0, 20000)]))]
    for which, ref, x in cases:
        out = np.empty_like(x)
        kern.elementary(x, out, which)
        ulp = np.abs(out - ref(x)) / np.spacing(np.abs(ref(x)))
        assert ulp.max() <= (2.0 if which == 1 else 1.0), (which, ulp.max())
    out = np.empty(4)
    kern.elementary(np.array([-800.0, 710.0, -np.inf, 0.0]), out, 0)
    assert out[0] == 0.0 and out[1] == np.inf and out[2] == 0.0 and out[3] == 1.0


def test_cell_kernel_same_bits_with_every_instruction_set():
    """The baseline, AVX2 and AVX-512 builds of the cell kernel (chosen at run time) give the same bits."""
    from esm._kernels import beps as kern

    prm = LandParameters.from_config()
    ck = beps.CellKernel(prm, 2)
    rng = np.random.default_rng(12)
    n = 1000  # several 256-cell blocks and a partial one
    met = np.empty((n, len(beps.MET_ROWS)))
    cols = dict(t2m=(240, 318), tskin=(235, 330), tsoil=(240, 315), vpd=(0, 5000), swdown=(0, 1100),
                swdown_diffuse=(0, 600), cos_sza=(-0.5, 1), soilm=(0.0, 0.463), ps=(55000, 104000), co2=(200, 1000),
                tsoil_top=(240, 318))
    for i, name in enumerate(beps.MET_ROWS):
        met[:, i] = rng.uniform(*cols[name], n)
    kinds = rng.integers(0, 4, n).astype(np.uint8)
    outs = []
    for isa in range(kern.cell_isa() + 1):
        cell, fw, xi = np.empty((n, len(beps.CELL_ROWS))), np.empty((n, beps.NPFT)), np.empty(n)
        kern.cell_step(met, ck.q, ck.psi_min, ck.psi_alpha, cell, fw, xi, 2, kinds, isa=isa)
        outs.append((cell, fw, xi))
    for o in outs[1:]:
        for a, b in zip(outs[0], o):
            assert np.array_equal(a, b)
    cell = outs[0][0]
    rows = list(beps.CELL_ROWS)
    up = cell[:, 0] > 0
    assert np.all(cell[~up, rows.index("km_sun"):rows.index("f4rd_sh") + 1] == 0)
    assert np.all(cell[up & (kinds & 1 == 0), rows.index("km_sun")] == 0)
    assert np.all(cell[up & (kinds & 1 == 1), rows.index("km_sun")] > 0)
    assert np.all(cell[up & (kinds & 2 == 0), rows.index("f4v_sh")] == 0)
    assert np.all(cell[up & (kinds & 2 == 2), rows.index("f4v_sh")] > 0)


def test_pool_step_kernel_equals_numpy_bitwise():
    from esm.land import intec

    prm = LandParameters.from_config()
    rng = np.random.default_rng(4)
    # crop shares make the crop tiles' transfer fractions differ tile by tile; the other types repeat (the kernel
    # reads tables of distinct rows, speed round 11)
    pm = intec.PoolModel(np.arange(9).repeat(3), prm, crop_share=rng.uniform(0, 1, 27))
    kt = pm._ktab
    assert kt["k"].shape[0] < 27 and kt["pfrac"].shape[0] < 27
    pools = rng.uniform(0, 5, (27, intec.NPOOL))
    npp, xi = rng.uniform(-0.001, 0.01, 27), rng.uniform(0, 86400.0, 27)
    sub_idx = np.array([25, 3, 7, 26])
    sub = pm.subset(sub_idx)
    a = pm.step(pools, npp, xi, 86400.0)
    a_sub = sub.step(pools[sub_idx], npp[sub_idx], xi[sub_idx], 86400.0)
    saved, intec._kern = intec._kern, None
    try:
        b = pm.step(pools, npp, xi, 86400.0)
    finally:
        intec._kern = saved
    assert np.array_equal(a, b)
    assert np.array_equal(a_sub, b[sub_idx])


@pytest.mark.parametrize("overrides,fin", [({}, True), ({}, False), ({"vcmax_partition": "conserving", "bb_intercept_water_stress": False}, True)])
def test_canopy_c3_vectorised_same_bits_as_scalar(overrides, fin):
    """The canopy pass in C per 256-tile block (speed rounds 8-9: leaves solved together, the per-tile radiation,
    Vcmax and fluxes vectorised across tiles; baseline, AVX2 and AVX-512 builds) gives the bits of the Cython
    tile-by-tile code with the scalar leaf-by-leaf solve (isa=-2), with and without the step finish, over several
    blocks and a partial one."""
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(7, ncell=300, ntile=1500, **overrides)
    pft, scal = beps.pft_table(prm), beps.scalar_table(prm)
    fw = beps.water_stress_table(cell, prm)
    stem = scal[beps.SCALARS.index("stem_area_fraction")] * pft[:, beps.PFT_COLUMNS.index("lai_max")][tp]
    lterm = beps.lai_terms(tp, lai, pft[:, beps.PFT_COLUMNS.index("clumping")], scal[beps.SCALARS.index("kn")],
                           scal[beps.SCALARS.index("leaf_angle_g")], stem)
    rng = np.random.default_rng(8)
    xi, rh_coef = rng.uniform(0, 1, cell.shape[1]), rng.uniform(0, 3, len(tc))
    outs = []
    for isa in [-2] + list(range(kern.cell_isa() + 1)):
        out, res = np.empty((len(beps.OUT_ROWS), len(tc))), np.empty((7, len(tc)))
        acc = [np.full(len(tc), 0.5) for _ in range(3)]
        fargs = (xi, rh_coef, 3600.0, *acc, res) if fin else ()
        kern.canopy_step(tc, tp, lai, vtop, rl, rst, rr, scale, np.ascontiguousarray(cell.T),
                         np.ascontiguousarray(fw.T), pft, scal, out, 2, lterm, *fargs, isa=isa)
        outs.append((out, res, *acc) if fin else (out,))
    for o in outs[1:]:
        for a, b in zip(outs[0], o):
            assert np.array_equal(a, b)
    c3_day = (pft[tp, beps.PFT_COLUMNS.index("is_c4")] == 0) & (outs[0][0][0] > 0)
    assert c3_day.sum() > 200  # several blocks carry C3 leaves


def test_canopy_slim_rows_same_as_full():
    """``slim`` (speed round 9) leaves out the rows the finished step does not read; the rows it writes (gpp_sun,
    gpp_shade, fw) and the step finish equal those of the full output, and the other rows are left untouched."""
    prm, cell, tc, tp, lai, vtop, (rl, rst, rr), scale = _random_case(5, ncell=200, ntile=900)
    pft, scal = beps.pft_table(prm), beps.scalar_table(prm)
    fw = beps.water_stress_table(cell, prm)
    rng = np.random.default_rng(9)
    xi, rh_coef = rng.uniform(0, 1, cell.shape[1]), rng.uniform(0, 3, len(tc))
    runs = []
    for slim in (False, True):
        res = np.empty((7, len(tc)))
        acc = [np.full(len(tc), 0.25) for _ in range(3)]
        out = np.full((len(beps.OUT_ROWS), len(tc)), -7.0)
        beps.tile_fluxes(tc, tp, lai, vtop, rl, rst, rr, scale, cell, pft, scal, out=out, nthreads=2, fwtab=fw,
                         finish=(xi, rh_coef, 3600.0, *acc, res), slim=slim)
        runs.append((out, res, acc))
    (o0, r0, a0), (o1, r1, a1) = runs
    for row in ("gpp_sun", "gpp_shade", "fw"):
        i = beps.OUT_ROWS.index(row)
        assert np.array_equal(o0[i], o1[i])
    for row in ("rd_day", "rm_leaf", "rm_stem", "rm_root", "rg", "lai_sun"):
        assert np.all(o1[beps.OUT_ROWS.index(row)] == -7.0)
    assert np.array_equal(r0, r1)
    for x, y in zip(a0, a1):
        assert np.array_equal(x, y)


def test_met_valid_fast_path_agrees_with_checks():
    """The one-pass meteorology check (speed round 9) accepts valid land-cell meteorology and rejects every kind of
    bad value that LandModel._check_met names (the model then runs its own checks for the message)."""
    n = 50
    rng = np.random.default_rng(3)
    base = dict(t2m=rng.uniform(250, 310, n), tskin=rng.uniform(250, 320, n), tsoil=rng.uniform(260, 300, n),
                vpd=rng.uniform(0, 3000, n), swdown=rng.uniform(0, 900, n), cos_sza=rng.uniform(-1, 1, n),
                soilm=rng.uniform(0, 0.4, n), ps=rng.uniform(6e4, 1.03e5, n), co2=np.full(n, 410.0))
    base["swdown_diffuse"] = base["swdown"] * rng.uniform(0, 1, n)
    base["tsoil_top"] = rng.uniform(255, 310, n)
    smax = 0.45 * (1 + 1e-12)
    assert beps.met_valid(base, smax)
    bad_values = {"t2m": [np.nan, 149.0, 351.0], "tskin": [np.inf, 381.0], "tsoil": [-np.inf, 100.0, 360.0],
                  "vpd": [-1.0], "swdown": [-0.5], "swdown_diffuse": [-1e-3, 2000.0], "cos_sza": [1.0001, -1.5],
                  "soilm": [-0.01, 0.46], "ps": [0.0], "co2": [0.0, 2e5, np.nan],
                  "tsoil_top": [np.nan, 100.0, 360.0]}
    for name, vals in bad_values.items():
        for v in vals:
            m = {k: a.copy() for k, a in base.items()}
            m[name][17] = v
            assert not beps.met_valid(m, smax), (name, v)
            for isa in range(kern.cell_isa() + 1):  # every build of the check
                assert not kern.met_valid(*(m[k] for k in beps.MET_ROWS), smax, isa), (name, v, isa)
                assert kern.met_valid(*(base[k] for k in beps.MET_ROWS), smax, isa)
    m = dict(base, extra=np.zeros(n))
    assert not beps.met_valid(m, smax)  # another form: the caller's own checks decide
    # in pieces on threads (speed round 12): a bad value in any piece, the first and the last cell included
    big = {k: np.tile(a, 400) for k, a in base.items()}
    assert beps.met_valid(big, smax, nthreads=2) and beps.met_valid(big, smax, nthreads=3)
    for i in (0, 9999, 10000, 19999):
        m = {k: a.copy() for k, a in big.items()}
        m["vpd"][i] = np.nan
        assert not beps.met_valid(m, smax, nthreads=2) and not beps.met_valid(m, smax, nthreads=3), i


@pytest.mark.parametrize("fire,phen", [(True, True), (False, True), (True, False)])
def test_hour_accumulate_same_bits_as_numpy(fire, phen):
    """The compiled hourly integrals equal the numpy expressions they replace (model.step_cells before round 10)."""
    from esm.land import disturbance
    from esm.land.phenology import GsiPhenology

    prm = LandParameters.from_config()
    rng = np.random.default_rng(7)
    n = 1001
    xi, vpd = rng.uniform(0, 1.3, n), rng.uniform(0, 3000, n)
    t2m = rng.uniform(230, 320, n)
    soilm = rng.uniform(0, prm.porosity, n)  # below the wilting point and above field capacity too
    wp, fc = prm.wilting_point, prm.field_capacity
    assert soilm.min() < wp and soilm.max() > fc
    a0 = [rng.uniform(0, 1e5, n) for _ in range(3)]
    ref = [a.copy() for a in a0]
    got = [a.copy() for a in a0]
    pr, pg = GsiPhenology(np.zeros(n), prm), GsiPhenology(np.zeros(n), prm)
    for hour in range(3):
        dt = 3600.0 if hour < 2 else 1800.0
        ref[0] += xi * dt
        if fire:
            ref[1] += disturbance.available_water(soilm, wp, fc) * dt
            ref[2] += (t2m - 273.15) * dt
        if phen:
            pr.accumulate(t2m - 273.15, vpd, soilm)
        beps.hour_accumulate(xi, t2m, vpd, soilm, dt, wp, fc, *got, pg if phen else None, fire)
        t2m = t2m + rng.normal(0, 2, n)
    for r, g in zip(ref, got):
        assert np.array_equal(r, g)
    for name in ("tmin", "vpd_sum", "soilm_sum", "tsum", "nsamp"):
        assert np.array_equal(getattr(pr, name), getattr(pg, name)), name
    with pytest.raises(ValueError, match="land cells"):
        beps.hour_accumulate(xi, t2m, vpd, soilm, 3600.0, wp, fc, got[0], got[1][:-1], got[2], None, True)


def test_hour_accumulate_every_build_same_bits():
    """Every instruction-set build of the vectorised hourly integrals (speed round 11) gives the bits of the numpy
    expressions, including a NaN temperature (it becomes the day's minimum, as np.minimum makes it) and soil
    moisture on both sides of the clip."""
    from esm._kernels import beps as kb

    rng = np.random.default_rng(11)
    n = 517  # not a multiple of any vector width: the loop tails too
    xi, vpd = rng.uniform(0, 1.3, n), rng.uniform(0, 3000, n)
    t2m = rng.uniform(230, 320, n)
    t2m[[3, 200]] = np.nan
    soilm = rng.uniform(-0.1, 0.6, n)
    wp, awc, dt = 0.1, 0.2, 3600.0
    start = [rng.uniform(0, 1e5, n) for _ in range(3)] + [rng.uniform(-30, 30, n)] + [rng.uniform(0, 1e4, n)
                                                                                      for _ in range(3)]
    tc = t2m - 273.15
    ref = [start[0] + xi * dt, start[1] + np.clip((soilm - wp) / awc, 0.0, 1.0) * dt, start[2] + tc * dt,
           np.minimum(start[3], tc), start[4] + vpd, start[5] + soilm, start[6] + tc]
    for isa in range(3):  # requests above what the CPU has are lowered to it
        got = [a.copy() for a in start]
        kb.hour_accumulate(xi, t2m, vpd, soilm, dt, wp, awc, *got, True, True, isa)
        for k, (r, g) in enumerate(zip(ref, got)):
            assert np.array_equal(r, g, equal_nan=True), (isa, k)
        got = [a.copy() for a in start]
        kb.hour_accumulate(xi, t2m, vpd, soilm, dt, wp, awc, *got, False, False, isa)
        assert np.array_equal(got[0], ref[0]) and all(np.array_equal(g, a) for g, a in zip(got[1:], start[1:]))


def test_lai_terms_follow_every_new_lai_and_refuse_in_place_edits():
    """The cached LAI terms are rebuilt whenever the model's LAI array is replaced; an in-place edit of the
    current array fails loudly instead of leaving stale terms (speed round 10 keyed the cache on the object)."""
    from esm.grid import Grid
    from esm.land.landcover import load_land_cover
    from esm.land.model import LandModel

    grid = Grid.from_spec("4x5")
    model = LandModel(LandParameters.from_config(), grid, load_land_cover(grid))
    first = model.lai_terms().copy()
    with pytest.raises(ValueError):
        model.lai[0] = 1.0
    model.lai = model.lai * 0.5
    second = model.lai_terms()
    stem = model.prm.stem_area_fraction * np.asarray(model.prm.lai_max)[model.tile_pft]
    want = beps.lai_terms(model.tile_pft, model.lai, model.prm.clumping, model.prm.kn, model.prm.leaf_angle_g, stem)
    assert np.array_equal(second, want) and not np.array_equal(first, second)


def _random_cell_met(rng, n):
    """Land-cell meteorology rows of ``n`` cells over the whole range the checks allow (day and night, frozen and hot,
    dry and wet), for the fused-kernel tests."""
    met = dict(t2m=rng.uniform(240, 318, n), vpd=rng.uniform(0, 5000, n), swdown=rng.uniform(0, 1100, n),
               cos_sza=rng.uniform(-0.5, 1, n), soilm=rng.uniform(0.0, 0.463, n), tsoil=rng.uniform(240, 315, n),
               ps=rng.uniform(55000, 104000, n), co2=rng.uniform(200, 1000, n))
    met["tskin"] = met["t2m"] + rng.uniform(-5, 15, n)
    met["swdown_diffuse"] = met["swdown"] * rng.uniform(0, 1.0, n)
    met["tsoil_top"] = rng.uniform(240, 318, n)
    return met


def _random_tiles(rng, n, max_tiles, lai_zero_every):
    """Tiles of ``n`` cells stored cell by cell (0 .. max_tiles - 1 per cell, so some cells have none), their cover
    types, LAI (zero on every ``lai_zero_every``-th tile), top Vcmax, maintenance bases, age scale and Rh
    coefficients, for the fused-kernel tests."""
    tc = np.repeat(np.arange(n), rng.integers(0, max_tiles, n)).astype(np.int32)
    nt = tc.size
    tp = rng.integers(0, beps.NPFT, nt).astype(np.int32)
    lai = rng.uniform(0, 7, nt)
    lai[::lai_zero_every] = 0.0
    vtop = rng.uniform(20, 90, nt)
    bases = tuple(rng.uniform(0, 2, nt) for _ in range(3))
    return tc, tp, lai, vtop, bases, rng.uniform(0.5, 1.0, nt), rng.uniform(0, 3, nt)


@pytest.mark.parametrize("isa", [0, 1, 2])
def test_fused_land_step_same_bits_as_cell_then_canopy(isa, monkeypatch):
    """beps.land_step (speed round 11: cell factors and canopy fused block by block) gives the bits of the cell
    kernel followed by the canopy kernel with the step finish, in every build (requests above the CPU's are lowered),
    with cells that have no tiles, several blocks of 256 cells, day and night, C3 and C4 tiles."""
    from esm import cpu

    monkeypatch.setattr(cpu, "isa_level", lambda: isa)
    prm = LandParameters.from_config()
    rng = np.random.default_rng(23 + isa)
    n = 700  # three blocks of cells, the last one partial
    met = _random_cell_met(rng, n)
    tc, tp, lai, vtop, bases, scale, rh_coef = _random_tiles(rng, n, 6, 17)  # some cells without tiles
    nt = tc.size
    kinds = beps.CellKernel.cell_kinds(tc, tp, n)
    ck = beps.CellKernel(prm, 2, kinds)
    pft, scal = beps.pft_table(prm), beps.scalar_table(prm)
    stem = prm.stem_area_fraction * np.asarray(prm.lai_max)[tp]
    lterm = beps.lai_terms(tp, lai, prm.clumping, prm.kn, prm.leaf_angle_g, stem)
    acc0 = [rng.uniform(0, 10, nt) for _ in range(3)]
    # reference: the two kernels one after the other
    cell, fw, xi = ck(met)
    acc_r = [a.copy() for a in acc0]
    res_r = np.empty((7, nt))
    out_r = beps.tile_fluxes(tc, tp, lai, vtop, *bases, scale, cell, pft, scal, nthreads=2, fwtab=fw, lterm=lterm,
                             finish=(xi, rh_coef, 1800.0, *acc_r, res_r), slim=True)
    from esm.land.phenology import GsiPhenology

    h0 = [rng.uniform(0, 1e5, n) for _ in range(3)]
    h_r = [a.copy() for a in h0]
    ph_r = GsiPhenology(np.zeros(n), prm)
    beps.hour_accumulate(xi, met["t2m"], met["vpd"], met["soilm"], 1800.0, prm.wilting_point, prm.field_capacity,
                         *h_r, ph_r, True)
    acc_f = [a.copy() for a in acc0]
    res_f = np.empty((7, nt))
    out_f = np.empty((len(beps.OUT_ROWS), nt))
    h_f = [a.copy() for a in h0]
    ph_f = GsiPhenology(np.zeros(n), prm)
    xi_f = ck.land_step(met, tc, tp, lai, vtop, bases, scale, pft, scal, out_f, lterm, rh_coef, 1800.0, acc_f, res_f,
                        2, (prm.wilting_point, prm.field_capacity, *h_f, ph_f, True))
    assert np.array_equal(xi_f, xi)
    for a, b in zip(h_f, h_r):  # the hour's integrals in the same pass (xi, fire water and temperature)
        assert np.array_equal(a, b)
    for name in ("tmin", "vpd_sum", "soilm_sum", "tsum", "nsamp"):  # and the GSI phenology's
        assert np.array_equal(getattr(ph_f, name), getattr(ph_r, name)), name
    assert np.array_equal(res_f, res_r)
    for r in (0, 1, len(beps.OUT_ROWS) - 1):  # the rows a slim step writes: gpp_sun, gpp_shade, fw
        assert np.array_equal(out_f[r], out_r[r]), beps.OUT_ROWS[r]
    for a, b in zip(acc_f, acc_r):
        assert np.array_equal(a, b)
    assert np.any(res_f[0] > 0) and np.any(res_f[0] == 0)  # day and night tiles
    # no land at all (a grid without vegetated cells): nothing to do, no error
    e = np.zeros(0)
    xi0 = beps.CellKernel(prm, 2).land_step({k: e for k in met}, np.zeros(0, np.int32), np.zeros(0, np.int32), e, e,
                                            (e, e, e), e, pft, scal, np.zeros((len(beps.OUT_ROWS), 0)),
                                            np.zeros((3, 0)), e, 1800.0, (e, e, e), np.zeros((7, 0)), 2)
    assert xi0.shape == (0,)
    # tiles out of cell order are refused, by name
    with pytest.raises(ValueError, match="cell by cell"):
        ck.land_step(met, tc[::-1].copy(), tp, lai, vtop, bases, scale, pft, scal, out_f, lterm, rh_coef, 1800.0,
                     acc_f, res_f, 2)


@pytest.mark.parametrize("isa", [0, 1, 2])
def test_land_step_cell_sums_same_bits_as_tile_rows(isa, monkeypatch):
    """The cell-sum mode of beps.land_step (speed round 12: the hour's fluxes summed into the cells inside the fused
    pass, no per-tile rows) gives the bits of the per-tile mode followed by cell_sums of its rows, in every build, with
    cells that have no tiles, cells whose tiles straddle two tile pieces of 256, day and night, C3 and C4; the day's
    accumulators are those of the per-tile mode."""
    from esm import cpu

    monkeypatch.setattr(cpu, "isa_level", lambda: isa)
    prm = LandParameters.from_config()
    rng = np.random.default_rng(41 + isa)
    n = 600
    met = _random_cell_met(rng, n)
    tc, tp, lai, vtop, bases, scale, rh_coef = _random_tiles(rng, n, 7, 13)
    nt = tc.size
    frac = rng.uniform(0, 1, nt)
    ck = beps.CellKernel(prm, 2, beps.CellKernel.cell_kinds(tc, tp, n))
    pft, scal = beps.pft_table(prm), beps.scalar_table(prm)
    lterm = beps.lai_terms(tp, lai, prm.clumping, prm.kn, prm.leaf_angle_g)
    acc0 = [rng.uniform(0, 10, nt) for _ in range(3)]
    acc_r, res_r, out_r = [a.copy() for a in acc0], np.empty((7, nt)), np.empty((len(beps.OUT_ROWS), nt))
    xi_r = ck.land_step(met, tc, tp, lai, vtop, bases, scale, pft, scal, out_r, lterm, rh_coef, 3600.0, acc_r, res_r, 2)
    rows = {"gpp": res_r[0], "npp": res_r[5], "ra": res_r[3], "rh": res_r[4], "nee": res_r[6],
            "gpp_shade": out_r[beps.OUT_ROWS.index("gpp_shade")]}
    want = np.empty((len(beps.CSUM_ROWS), n))
    beps.cell_sums(tc, frac, tuple(rows[k] for k in beps.CSUM_ROWS), want, 2)
    acc_s = [a.copy() for a in acc0]
    csum = np.full((len(beps.CSUM_ROWS), n), np.nan)  # overwritten, cells without tiles too
    xi_s = ck.land_step(met, tc, tp, lai, vtop, bases, scale, pft, scal, None, lterm, rh_coef, 3600.0, acc_s, None,
                        2, sums=(frac, csum))
    assert np.array_equal(xi_s, xi_r)
    assert np.array_equal(csum, want)
    for a, b in zip(acc_s, acc_r):
        assert np.array_equal(a, b)
    assert np.any(csum[0] > 0) and np.any(csum[0] == 0) and np.any(csum[4] != 0)
    with pytest.raises(ValueError, match="go together"):
        beps._kernel().land_step(tuple(beps._row(met[k], n) for k in beps.MET_ROWS), ck.q, ck.psi_min, ck.psi_alpha,
                                 ck.kinds, np.empty(n), np.array([0, n], np.int64), np.array([0, nt], np.int64), tc,
                                 tp, lai, vtop, *bases, scale, pft, scal, None, 2, lterm, rh_coef, 3600.0, *acc_s,
                                 None, -1, True, None, frac, None)
    with pytest.raises(ValueError, match=r"csum must be"):
        ck.land_step(met, tc, tp, lai, vtop, bases, scale, pft, scal, None, lterm, rh_coef, 3600.0, acc_s, None, 2,
                     sums=(frac, np.empty((len(beps.CSUM_ROWS), n + 1))))
    with pytest.raises(ValueError, match="out and res are needed"):
        ck.land_step(met, tc, tp, lai, vtop, bases, scale, pft, scal, None, lterm, rh_coef, 3600.0, acc_s, None, 2)


def test_c4_polynomial_root_equals_regula_falsi_and_builds_agree():
    """Speed round 12: the coupled C4 leaf as the root of the polynomial -P (cubic for A > 0, quadratic at the
    intercept conductance for A <= 0) found by the bracketed Halley iteration gives the root of the regula falsi on
    h(A) = A_C4(ci(A)) - Rd - A of rounds 7-11 (both stop within 1e-12 of max(1, |A|) of the root: they may differ by
    a few 1e-12), over dry and humid air (Ball-Berry slopes k below and above 1), low light (negative roots), a zero
    intercept (the regula falsi's fallback); the vectorised leaf kernel of every lane gives the scalar code's bits."""
    rng = np.random.default_rng(5)
    n = 20000
    ca, gb, k = rng.uniform(150, 1000, n), rng.uniform(0.5, 5, n), rng.uniform(0.3, 12, n)
    b0 = rng.uniform(0.0, 0.02, n)
    b0[::50] = 0.0
    vmax, kco2, rd = rng.uniform(5, 60, n), rng.uniform(0.2, 1.0, n), rng.uniform(0, 2, n)
    ia = rng.uniform(-10, 2000, n)
    ia[::7] = rng.uniform(0, 30, ia[::7].size)
    args = (ca, gb, k, b0, vmax, kco2, ia, rd, 0.04, 0.83, 0.93)
    poly, falsi, vec = (kern.c4_leaves(*args, solver=s) for s in (0, 1, 2))
    assert np.array_equal(poly, vec)
    assert np.all(np.isfinite(poly))
    assert np.all(np.abs(poly - falsi) <= 1e-11 * np.maximum(1.0, np.abs(falsi)))
    assert (poly < 0).sum() > 100 and (poly > 1).sum() > 1000  # both branches
    # the root against the numpy reference leaf (bisection on h to its own tolerance)
    from esm.land import canopy as cp

    sel = np.flatnonzero(b0 > 0)[:600]  # (the reference divides by the intercept; it stops at 1e-12 too)
    ref = cp.leaf_c4(ca[sel], gb[sel], k[sel], b0[sel], vmax[sel], kco2[sel], ia[sel], rd[sel], 0.04, 0.83, 0.93)
    assert np.all(np.abs(poly[sel] - ref) <= 1e-11 * np.maximum(1.0, np.abs(ref)))
