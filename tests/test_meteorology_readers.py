"""ERA5 and MERRA-2 readers on small files written in the products' formats, and bad input."""
import datetime
import logging
import shutil

import cftime
import netCDF4
import numpy as np
import pytest

from esm.constants import G0
from esm.errors import InputDataError
from esm.grid import Grid
from esm.meteorology.climatology import Climatology
from esm.meteorology.massflux import column_divergence, donor_cell_step, vertical_mass_flux
from esm.meteorology.reanalysis import ReanalysisProvider
from esm.meteorology.synthetic import SyntheticWriter
from esm.vertical import VerticalCoordinate

GRID = Grid.from_spec("6x7.5")
VC = VerticalCoordinate.from_name("coarse11")
T0 = cftime.datetime(2020, 7, 1, calendar="standard")


def at(h, m=0):
    return T0 + datetime.timedelta(hours=h, minutes=m)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("met")
    w = SyntheticWriter(5.0, 5.0, "coarse11", noise=3.0, seed=1)
    out = {
        "era5_pl": w.write_era5(root / "era5_pl", T0, range(0, 7), range(0, 7, 3), kind="pressure", split_2d=2),
        "era5_ml": w.write_era5(root / "era5_ml", T0, range(0, 7), range(0, 7, 3), kind="model", new_cds=False),
        "merra2": w.write_merra2(root / "merra2", T0, range(0, 6), range(0, 7, 3)),
        "era5_degc": w.write_era5(root / "era5_degc", T0, range(0, 7), range(0, 7, 3), t2m_units="degC",
                                  new_cds=True, packed=False),  # 2024+ CDS: valid_time, pressure_level
        "root": root,
    }
    return out


@pytest.fixture(scope="module")
def clim():
    return Climatology(GRID, VC)


def provider(paths, source, **kw):
    params = {"files_3d": " ".join(paths["3d"]), "files_2d": " ".join(paths["2d"]),
              "files_conv": " ".join(paths.get("conv", [])), "prefetch": False}
    params.update(kw)
    return ReanalysisProvider(GRID, VC, params, source=source)


def _compare(met, ref, land):
    ocean = (land < 0.01) & (ref.seaice == 0)
    assert abs(np.mean(met.ps) / np.mean(ref.ps) - 1) < 0.005
    assert np.mean(np.abs(met.t2m - ref.t2m)[ocean]) < 1.5
    assert np.mean(np.abs(met.t - ref.t)) < 2.0
    assert np.sqrt(np.mean((met.u - ref.u) ** 2)) < 3.0  # 3 m/s noise was added to the winds
    assert np.mean(np.abs(met.sst - ref.sst)[ocean]) < 1.0
    assert abs(np.mean(met.swdown) - np.mean(ref.swdown)) < 0.03 * np.mean(ref.swdown)
    # soil temperatures: the root zone from the third layer, the top soil from the first (the files carry the
    # climatology's tsoil and tsoil_top there; regridding at ~5 deg moves coastal cells by a few K)
    inland = land > 0.99
    for name in ("tsoil", "tsoil_top"):
        assert np.median(np.abs(met[name] - ref[name])[inland]) < 1.0, name


@pytest.mark.parametrize("kind,source", [("era5_pl", "era5"), ("era5_ml", "era5"), ("merra2", "merra2")])
def test_fields_on_model_grid(files, clim, kind, source):
    prov = provider(files[kind], source)
    met = prov.at(at(3))
    for name in ("t", "qv", "u", "v", "ps", "t2m", "q2m", "vpd", "swdown", "swdown_diffuse", "par", "cos_sza",
                 "precip", "soilm", "tsoil", "tsoil_top", "wind10", "sst", "sss", "seaice", "pblh", "ustar", "shflx",
                 "tskin",
                 "cmfmc", "dtrain", "land_fraction"):
        arr = met[name]
        assert arr.shape[-2:] == GRID.shape and np.all(np.isfinite(arr)), name
    assert met.t.shape == (VC.nlev,) + GRID.shape and met.cmfmc.shape == (VC.nlev + 1,) + GRID.shape
    _compare(met, clim.at(at(3)), clim.land)


def test_time_interpolation_is_linear_between_records(files):
    prov = provider(files["era5_pl"], "era5")
    a, b, mid = prov.at(at(1)).t2m, prov.at(at(2)).t2m, prov.at(at(1, 30)).t2m
    assert np.allclose(mid, 0.5 * (a + b), rtol=0, atol=1e-9)
    u0, u3, u1 = prov.at(at(0)).u, prov.at(at(3)).u, prov.at(at(1)).u
    assert np.allclose(u1, u0 + (u3 - u0) / 3.0, atol=1e-9)


def test_unit_conversions(files, clim):
    k = provider(files["era5_pl"], "era5").at(at(2))
    c = provider(files["era5_degc"], "era5").at(at(2))
    assert np.allclose(k.t2m, c.t2m, atol=0.01)  # degC file converted to K (int16 packing ~1e-3 K)
    assert c.u.shape == k.u.shape and np.all(np.isfinite(c.u))  # new-CDS names: valid_time, pressure_level
    # accumulated J m-2 over the hour -> W m-2 centred on the half hour; m of water -> kg m-2 s-1
    ref = clim.at(at(1, 30))
    p = provider(files["era5_pl"], "era5")
    mid = p.at(at(1, 30))
    area = GRID.area

    def gm(x):
        return np.sum(x * area) / area.sum()
    assert gm(mid.precip) == pytest.approx(gm(ref.precip), rel=0.03)
    # sshf is positive downward in ERA5: the reader returns upward fluxes like the climatology
    assert gm(mid.shflx) == pytest.approx(gm(ref.shflx), rel=0.1)


def test_uniform_tracer_stays_uniform_with_noisy_reanalysis_winds(files):
    for kind, source in (("era5_pl", "era5"), ("merra2", "merra2")):
        prov = provider(files[kind], source)
        t = at(1)  # MERRA-2 hourly means start at 00:30
        ps = prov.at(t).ps
        m = VC.air_mass(ps, GRID.area)
        q = np.full_like(m, 1.0)
        dt = 600.0
        for _ in range(4):
            mf = prov.step_fluxes(t, dt, ps)
            identity = ps - G0 * dt * column_divergence(mf.mfx, mf.mfy) / GRID.area
            assert np.abs(identity - mf.ps_end).max() < 1e-9
            w = vertical_mass_flux(mf.mfx, mf.mfy, VC.layer_thickness(ps), VC.layer_thickness(mf.ps_end),
                                   GRID.area, dt, VC)
            m, q = donor_cell_step(m, q, mf.mfx, mf.mfy, w, dt)
            ps = mf.ps_end
            t = t + datetime.timedelta(seconds=dt)
        assert np.abs(q - 1.0).max() < 1e-12, kind
        target = prov.at(t).ps
        offset = np.sum((ps - target) * GRID.area) / GRID.area.sum()
        assert np.abs(ps - target - offset).max() < 1e-3


def _copy(paths, tmp_path, name):
    out = {}
    for k, lst in paths.items():
        if not isinstance(lst, list):
            continue
        out[k] = []
        for p in lst:
            q = tmp_path / f"{name}_{len(out[k])}_{k}.nc"
            shutil.copy(p, q)
            out[k].append(str(q))
    return out


def test_longitude_and_latitude_conventions(files, tmp_path):
    paths = _copy(files["era5_pl"], tmp_path, "conv")
    for p in paths["2d"] + paths["3d"]:
        with netCDF4.Dataset(p, "a") as ds:
            lon = ds.variables["longitude"][:]
            ds.variables["longitude"][:] = np.where(lon >= 180, lon - 360, lon)  # -180..180, not sorted
            for name, var in ds.variables.items():
                if var.dimensions[-2:] == ("latitude", "longitude"):
                    var.set_auto_maskandscale(False)
                    var[:] = var[:][..., ::-1, :]  # flip data and latitude: south -> north
            ds.variables["latitude"][:] = ds.variables["latitude"][:][::-1]
    a = provider(files["era5_pl"], "era5").at(at(2))
    b = provider(paths, "era5").at(at(2))
    for name in ("t2m", "ps", "u", "precip", "sst"):
        assert np.allclose(a[name], b[name], rtol=1e-10, atol=1e-8), name


# ---------------------------------------------------------------- bad input
def _edit(path, fn):
    with netCDF4.Dataset(path, "a") as ds:
        fn(ds)


def test_missing_variable(files, tmp_path):
    paths = _copy(files["era5_pl"], tmp_path, "miss")
    for p in paths["2d"]:  # netCDF cannot delete: rename it away
        _edit(p, lambda ds: ds.renameVariable("d2m", "xd2m"))
    with pytest.raises(InputDataError, match=r"d2m.*not found"):
        provider(paths, "era5")


def test_wrong_or_missing_units(files, tmp_path):
    paths = _copy(files["era5_pl"], tmp_path, "units")
    _edit(paths["2d"][0], lambda ds: setattr(ds.variables["t2m"], "units", "furlongs"))
    with pytest.raises(InputDataError, match=r"units_0_2d.nc.*'t2m'.*furlongs"):
        provider(paths, "era5")
    paths = _copy(files["era5_pl"], tmp_path, "nounits")
    _edit(paths["3d"][0], lambda ds: ds.variables["u"].delncattr("units"))
    with pytest.raises(InputDataError, match=r"'u'.*no 'units'"):
        provider(paths, "era5")


def test_fill_values_inside_the_domain(files, tmp_path, caplog):
    paths = _copy(files["era5_pl"], tmp_path, "nan")

    def poke(ds):
        v = ds.variables["t2m"]
        data = v[:]
        data[1, 10, 20] = np.ma.masked
        v[:] = data
    _edit(paths["2d"][0], poke)
    prov = provider(paths, "era5")
    with pytest.raises(InputDataError, match=r"nan_0_2d.nc.*'t2m' at 2020-07-01 01:00:00.*missing"):
        prov.at(at(1)).t2m
    prov = provider(paths, "era5", allow_fill=True)
    with caplog.at_level(logging.WARNING):
        t2m = prov.at(at(1)).t2m
    assert np.all(np.isfinite(t2m)) and "filled" in caplog.text


def test_gap_and_coverage(files, tmp_path):
    w = SyntheticWriter(10.0, 10.0, "coarse11")
    paths = w.write_era5(tmp_path / "gap", T0, [0, 1, 2, 5, 6], [0, 1, 2, 5, 6])
    prov = ReanalysisProvider(GRID, VC, {"files_3d": paths["3d"][0], "files_2d": paths["2d"][0],
                                         "prefetch": False}, source="era5")
    prov.at(at(1, 30)).u
    with pytest.raises(InputDataError, match=r"gap in the time coverage between 2020-07-01 02:00:00"):
        prov.at(at(3)).t2m
    with pytest.raises(InputDataError, match=r"outside the files' coverage"):
        prov.at(at(9)).ps


def test_grid_not_covering_the_globe(files, tmp_path):
    paths = _copy(files["era5_pl"], tmp_path, "regional")
    _edit(paths["2d"][1], lambda ds: ds.variables["latitude"].__setitem__(slice(None),
                                                                             np.linspace(80, 0, len(ds.dimensions["latitude"]))))
    prov = provider(paths, "era5")
    with pytest.raises(InputDataError, match=r"regional_1_2d.nc.*do not cover the globe"):
        prov.at(at(5)).t2m


def test_prefetch_gives_the_same_fields(files):
    a = provider(files["merra2"], "merra2", prefetch=True)
    b = provider(files["merra2"], "merra2", prefetch=False)
    for h in (1, 2, 3, 4):
        ma, mb = a.at(at(h, 15)), b.at(at(h, 15))
        assert np.array_equal(ma.u, mb.u) and np.array_equal(ma.t, mb.t)
    a.close()


def test_root_zone_soil_temperature_falls_back_to_the_first_layer_with_a_warning(files, tmp_path, caplog):
    """ERA5 files without stl3: tsoil comes from stl1 (the same values as tsoil_top), and the reader says so."""
    src = files["era5_pl"]
    paths2d = []
    for i, p in enumerate(src["2d"]):
        q = tmp_path / f"no_stl3_{i}.nc"
        with netCDF4.Dataset(p) as a, netCDF4.Dataset(q, "w") as b:
            b.setncatts(a.__dict__)
            for name, dim in a.dimensions.items():
                b.createDimension(name, None if dim.isunlimited() else len(dim))
            for name, v in a.variables.items():
                if name == "stl3":
                    continue
                fill = v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else None
                w = b.createVariable(name, v.datatype, v.dimensions, fill_value=fill)
                w.setncatts({k: v.getncattr(k) for k in v.ncattrs() if k != "_FillValue"})
                v.set_auto_maskandscale(False)
                w.set_auto_maskandscale(False)
                w[:] = v[:]
        paths2d.append(str(q))
    with caplog.at_level(logging.WARNING, logger="esm.meteorology.reanalysis"):
        prov = provider(dict(src, **{"2d": paths2d}), "era5")
    assert any("stl3" in r.getMessage() and "tsoil" in r.getMessage() for r in caplog.records)
    met = prov.at(at(3))
    assert np.array_equal(met.tsoil, met.tsoil_top, equal_nan=True)
    assert not np.allclose(provider(src, "era5").at(at(3)).tsoil, met.tsoil, equal_nan=True)


def _era5_conv_file(src_3d: str, path, mumf, mdmf=None, mudr=None, mddr=None):
    """An ERA5-like model-level file of the convective mass fluxes (``files_conv``) with the coordinates
    of ``src_3d``; ``mumf``/``mdmf`` (and the detrainment rates ``mudr``/``mddr``): per-layer values, lowest
    layer first, the same everywhere."""
    with netCDF4.Dataset(src_3d) as a, netCDF4.Dataset(path, "w") as b:
        b.setncatts(a.__dict__)
        for name, dim in a.dimensions.items():
            b.createDimension(name, None if dim.isunlimited() else len(dim))
        data_dims = a.variables["t"].dimensions
        for name, v in a.variables.items():
            if v.dimensions == data_dims:
                continue
            w = b.createVariable(name, v.datatype, v.dimensions)
            w.setncatts({k: v.getncattr(k) for k in v.ncattrs() if k != "_FillValue"})
            w[:] = v[:]
        shape = a.variables["t"].shape
        for name, prof, ln, un in (("mumf", mumf, "Mean updraught mass flux", "kg m**-2 s**-1"),
                                   ("mdmf", mdmf, "Mean downdraught mass flux", "kg m**-2 s**-1"),
                                   ("mudr", mudr, "Mean updraught detrainment rate", "kg m**-3 s**-1"),
                                   ("mddr", mddr, "Mean downdraught detrainment rate", "kg m**-3 s**-1")):
            if prof is None:
                continue
            w = b.createVariable(name, "f8", data_dims)
            w.units, w.long_name = un, ln
            w[:] = np.broadcast_to(np.asarray(prof)[::-1][None, :, None, None], shape)   # top first, as the file


def test_era5_downdraught_mass_flux_onto_interfaces(files, tmp_path):
    """ERA5 mumf and mdmf (negative: downward) on model levels become cmfmc and dmf at the interfaces (the
    mean of the two layers), the downdraught's detrainment where it weakens downward; without mdmf the
    meteorology has no downdraught and convection runs updrafts only."""
    from esm.config.registry import schema
    from esm.transport.convection import Convection

    src = files["era5_ml"]
    nlev = VC.nlev
    up = np.linspace(0.0, 0.02, nlev)
    down = -0.006 * np.sin(np.pi * np.arange(nlev) / (nlev - 1))          # zero in the lowest and top layers
    conv = tmp_path / "era5_conv.nc"
    _era5_conv_file(src["3d"][0], conv, up, down)
    met = provider(dict(src, conv=[str(conv)]), "era5").at(at(3))
    dmf = np.asarray(met.dmf)
    exp = np.zeros(nlev + 1)
    exp[1:-1] = 0.5 * (np.abs(down[1:]) + np.abs(down[:-1]))
    assert dmf.shape == (nlev + 1,) + GRID.shape
    np.testing.assert_allclose(dmf, np.broadcast_to(exp[:, None, None], dmf.shape), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(np.asarray(met.ddtrain), np.maximum(dmf[1:] - dmf[:-1], 0.0), rtol=0, atol=0)
    np.testing.assert_allclose(np.asarray(met.cmfmc)[1:-1, 2, 3], 0.5 * (up[1:] + up[:-1]), rtol=1e-6)
    # the transport takes it: conservative and within bounds, and different from updrafts only
    from esm.atmosphere import Atmosphere
    from esm.tracers import TracerSet

    rng = np.random.default_rng(5)
    q = rng.random((1, nlev) + GRID.shape)
    atm = Atmosphere.from_surface_pressure(GRID, VC, TracerSet(["passive1"]), np.asarray(met.ps), q.copy())
    p = schema().resolve({"transport_nml": {"enabled": True}}).transport_nml
    tot0 = np.sum(atm.q * atm.air_mass)
    Convection(p, GRID, VC).apply(atm, met, 1800.0, "test")
    assert abs(np.sum(atm.q * atm.air_mass) / tot0 - 1.0) < 1e-13
    assert atm.q.min() >= q.min() and atm.q.max() <= q.max()
    only_up = tmp_path / "era5_conv_up.nc"
    _era5_conv_file(src["3d"][0], only_up, up)
    met_up = provider(dict(src, conv=[str(only_up)]), "era5").at(at(3))
    assert "dmf" not in met_up and "ddtrain" not in met_up
    atm_up = Atmosphere.from_surface_pressure(GRID, VC, TracerSet(["passive1"]), np.asarray(met.ps), q.copy())
    Convection(p, GRID, VC).apply(atm_up, met_up, 1800.0, "test")
    assert not np.allclose(atm_up.q, atm.q, rtol=1e-6)


def test_era5_detrainment_rates_times_layer_depth(files, tmp_path):
    """ERA5 mudr/mddr [kg m-3 s-1] become dtrain/ddtrain [kg m-2 s-1] through each layer's depth (the
    hypsometric equation R_d T_v / g ln(p_bottom / p_top), checked here against the layer's air mass over its
    mean density, dp / (g rho) with rho = p_mid / (R_d T_v), which agrees within a few % in thin layers)."""
    from esm.constants import R_DRY

    src = files["era5_ml"]
    nlev = VC.nlev
    up = np.linspace(0.0, 0.02, nlev)
    down = -0.006 * np.sin(np.pi * np.arange(nlev) / (nlev - 1))
    rate_u = np.full(nlev, 2.0e-6)
    rate_d = np.linspace(4.0e-6, 0.0, nlev)
    conv = tmp_path / "era5_conv_rates.nc"
    _era5_conv_file(src["3d"][0], conv, up, down, rate_u, rate_d)
    met = provider(dict(src, conv=[str(conv)]), "era5").at(at(3))
    t, qv, ps = np.asarray(met.t), np.asarray(met.qv), np.asarray(met.ps)
    pe = VC.pressure_edges(ps)
    depth = np.asarray(met.dtrain) / rate_u[:, None, None]
    tv = t * (1.0 + 0.608 * qv)
    hyps = R_DRY * tv[:-1] / G0 * np.log(pe[:-2] / pe[1:-1])
    np.testing.assert_allclose(depth[:-1], hyps, rtol=1e-6)
    assert np.all(np.isfinite(depth)) and np.all(depth > 0.0)
    dp = pe[:-1] - pe[1:]
    thin = dp / (0.5 * (pe[:-1] + pe[1:])) < 0.2            # layers thinner than 20 % of their pressure
    mean_density = dp / G0 / ((0.5 * (pe[:-1] + pe[1:])) / (R_DRY * tv))
    assert thin[:3].all()
    np.testing.assert_allclose(depth[thin], mean_density[thin], rtol=0.01)
    np.testing.assert_allclose(np.asarray(met.ddtrain), rate_d[:, None, None] * depth, rtol=1e-6, atol=1e-15)
    # without the rates the detrainment is the weakening of the draughts, as before
    plain = tmp_path / "era5_conv_plain.nc"
    _era5_conv_file(src["3d"][0], plain, up, down)
    met0 = provider(dict(src, conv=[str(plain)]), "era5").at(at(3))
    cm = np.asarray(met0.cmfmc)
    np.testing.assert_array_equal(np.asarray(met0.dtrain), np.maximum(cm[:-1] - cm[1:], 0.0))
