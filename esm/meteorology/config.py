"""The ``&meteorology_nml`` group: source selection, reanalysis files and the climatology's parameters.

Every parameter of the embedded climatology lives here, once, with its units and the
observation or paper it comes from; the namelist can override each one. The formulas
that use them are in :mod:`esm.meteorology.climatology`.
"""
from __future__ import annotations

from esm.config.schema import Config, Group, Key
from esm.errors import ConfigError

_CLIM = "embedded climatology"

NAMELIST_GROUPS = [Group("meteorology_nml", "Meteorology: embedded climatology or reanalysis files.", (
    # ---- source selection and files
    Key("source", "str", "climatology", "", "Meteorology source: 'climatology' (embedded, no files), "
        "'era5' (ECMWF ERA5 NetCDF) or 'merra2' (NASA MERRA-2 / GEOS-FP NetCDF-4)",
        choices=("climatology", "era5", "merra2")),
    Key("files_3d", "str", "", "", "Glob pattern of the 3-D files (ERA5 pressure- or model-level u, v, t, q; "
        "MERRA-2 inst3_3d_asm_Nv/Np: U, V, T, QV, PS, DELP); several patterns separated by spaces",
        in_output=False),
    Key("files_2d", "str", "", "", "Glob pattern(s) of the single-level / 2-D files (ERA5 sp, blh, ssrd, t2m, "
        "d2m, skt, swvl1, stl1, stl3, u10, v10, sst, siconc, tp, sshf, zust; MERRA-2 tavg1_2d_* collections)",
        in_output=False),
    Key("files_conv", "str", "", "", "Glob pattern(s) of files with convective mass fluxes (ERA5 mumf, mdmf, "
        "mudr, mddr; MERRA-2 tavg3_3d_mst_Ne CMFMC and tavg3_3d_mst_Nv DTRAIN); '' = diagnose from the "
        "climatology",
        in_output=False),
    Key("allow_fill", "bool", False, "", "Allow filling missing/NaN/fill values inside the domain and "
        "missing fields from the embedded climatology; every fill is logged. Default: such input is an error"),
    Key("prefetch", "bool", True, "", "Read and regrid the next reanalysis record in a background thread; "
        "for the climatology, build the next day's 3-D records in a low-priority background thread during the "
        "day (the same numbers either way)"),
    Key("max_gap", "int", 0, "s", "Largest allowed time between two reanalysis records (0 = 1.5 times the "
        "median record spacing of the files)", vmin=0),
    Key("fixer_tolerance", "float", 1.0e-3, "Pa", "Largest allowed difference between the surface pressure "
        "the corrected mass fluxes lead to and the target (met) surface pressure", vmin=0.0),
    # ---- climatology: geometry and radiation
    Key("solar_constant", "float", 1361.0, "W m-2", "Total solar irradiance at 1 AU", vmin=1000.0,
        vmax=1500.0, source="Kopp & Lean 2011, GRL 38, L01706"),
    Key("cloud_attenuation", "float", 0.75, "1", "Kasten-Czeplak cloud attenuation coefficient a in "
        "G = G_clear (1 - a c^b)", vmin=0.0, vmax=1.0, source="Kasten & Czeplak 1980, Sol. Energy 24, 177"),
    Key("cloud_exponent", "float", 3.4, "1", "Kasten-Czeplak cloud exponent b", vmin=0.5, vmax=6.0,
        source="Kasten & Czeplak 1980"),
    Key("par_fraction", "float", 0.45, "1", "Photosynthetically active fraction of global shortwave "
        "(400-700 nm, energy units)", vmin=0.3, vmax=0.6, source="Monteith & Unsworth 2013; Britton & Dodd 1976"),
    # ---- climatology: surface pressure and temperature
    Key("ps_global_mean", "float", 98550.0, "Pa", "Global-mean surface pressure (whole atmosphere incl. "
        "water vapour); the climatology keeps the global air mass constant at this value",
        vmin=90000.0, vmax=105000.0, source="Trenberth & Smith 2005, J. Climate 18, 864 (985.50 hPa)"),
    Key("sst_max", "float", 27.0, "degC", "Peak of the 'Qobs' zonal-mean SST profile", vmin=20.0,
        vmax=32.0, source="Neale & Hoskins 2000, Atmos. Sci. Lett. 1, 101 (Qobs)"),
    Key("sst_seasonal_amplitude", "float", 3.0, "K", "Half range of the mid-latitude SST seasonal cycle",
        vmin=0.0, vmax=10.0, source="Reynolds et al. 2002 OISST climatology (~2-4 K at 40 deg)"),
    Key("t2m_land_seasonal_amplitude", "float", 20.0, "K", "Half range of the land 2-m temperature seasonal "
        "cycle at the pole (scaled by |sin lat|^1.3)", vmin=0.0, vmax=40.0,
        source="ERA5 1991-2020 zonal-mean land T2m: ~17 K at 60N, ~9 K at 30N"),
    Key("t2m_diurnal_amplitude", "float", 5.0, "K", "Half range of the clear-sky diurnal cycle of land "
        "2-m temperature", vmin=0.0, vmax=15.0, source="Dai & Trenberth 2004: DTR ~8-12 K over land"),
    Key("lapse_rate_tropics", "float", 6.5e-3, "K m-1", "Tropospheric lapse rate at the equator",
        vmin=3e-3, vmax=9.8e-3, source="US Standard Atmosphere 1976; Stone & Carlson 1979"),
    Key("lapse_rate_pole", "float", 5.0e-3, "K m-1", "Tropospheric mean lapse rate at the poles",
        vmin=2e-3, vmax=9.8e-3, source="Stone & Carlson 1979, J. Atmos. Sci. 36, 415"),
    Key("tropopause_p_tropics", "float", 10000.0, "Pa", "Tropopause pressure at the equator", vmin=5000.0,
        vmax=20000.0, source="Hoinka 1998, MWR 126, 3303 (ERA tropopause climatology)"),
    Key("tropopause_p_pole", "float", 30000.0, "Pa", "Tropopause pressure at the poles", vmin=15000.0,
        vmax=40000.0, source="Hoinka 1998"),
    Key("rh_surface_ocean", "float", 0.80, "1", "2-m relative humidity over the ocean", vmin=0.3, vmax=1.0,
        source="Dai 2006, J. Climate 19, 3589 (~75-82 %)"),
    # ---- climatology: circulation
    Key("hadley_strength", "float", 1.0e11, "kg s-1", "Annual-mean peak mass streamfunction of each Hadley "
        "cell (winter cell up to 2x, summer cell ~0.2x)", vmin=0.0, vmax=5.0e11,
        source="Oort & Yienger 1996; Dima & Wallace 2003 (~80-100 x 1e9 kg/s annual, ~200 in winter)"),
    Key("ferrel_strength", "float", 3.0e10, "kg s-1", "Peak mass streamfunction of each Ferrel cell",
        vmin=0.0, vmax=2.0e11, source="Oort & Yienger 1996 (~20-40 x 1e9 kg/s)"),
    Key("jet_speed", "float", 35.0, "m s-1", "Annual-mean peak speed of the subtropical jets at 200 hPa",
        vmin=0.0, vmax=100.0, source="ERA5 zonal-mean u: 30-45 m/s at 200 hPa"),
    Key("trade_wind_speed", "float", 6.0, "m s-1", "Peak easterly surface trade wind (zonal mean)",
        vmin=0.0, vmax=20.0, source="COADS / QuikSCAT climatology: -5 to -7 m/s at 15 deg"),
    Key("eddy_velocity", "float", 12.0, "m s-1", "RMS speed sqrt(u'2 + v'2) of the resolved transient eddies in "
        "the storm tracks (35-55 deg) at 500 hPa; = sqrt(2 EKE) with the observed transient eddy kinetic "
        "energy EKE ~ 70 m2 s-2 at 500 hPa (~150-200 at 250 hPa)", vmin=0.0, vmax=30.0,
        source="Oort 1983 NOAA Prof. Paper 14; Chang et al. 2002, J. Climate 15 (storm-track EKE)"),
    Key("eddy_velocity_tropics", "float", 5.0, "m s-1", "RMS eddy speed in the tropics (0-15 deg) at 500 hPa: "
        "easterly waves and monsoon variability, EKE ~ 10-15 m2 s-2 (30-50 at 200 hPa)", vmin=0.0, vmax=20.0,
        source="Oort 1983; Kiladis et al. 2009, Rev. Geophys. 47"),
    Key("eddy_count", "int", 48, "1", "Eddy wave packets alive at any time", vmin=0, vmax=1000),
    Key("eddy_lifetime", "float", 4.0, "day", "Lifetime of one eddy wave packet", vmin=0.25, vmax=30.0,
        source="Synoptic decorrelation time 2-5 days (Hoskins & Hodges 2002)"),
    Key("eddy_seed", "int", 20240501, "1", "Seed of the deterministic eddy field (a function of time only, "
        "so restarts continue bit for bit)", vmin=0),
    Key("convective_mass_flux", "float", 0.02, "kg m-2 s-1", "Peak updraft mass flux in the ITCZ core",
        vmin=0.0, vmax=0.2, source="GEOS-5/MERRA-2 CMFMC climatology ~0.01-0.04 kg m-2 s-1 at 700 hPa"),
    Key("precip_itcz", "float", 9.0, "mm day-1", "Zonal-mean precipitation in the ITCZ core", vmin=0.0,
        vmax=30.0, source="GPCP v2.3 climatology (Adler et al. 2018): ~8-10 mm/day"),
    Key("precip_storm_track", "float", 3.0, "mm day-1", "Zonal-mean precipitation in the mid-latitude "
        "storm tracks", vmin=0.0, vmax=15.0, source="GPCP v2.3: ~3-4 mm/day at 45-55 deg"),
    Key("pbl_gamma_theta", "float", 5.0e-3, "K m-1", "Potential-temperature lapse rate above the mixed layer "
        "(encroachment growth)", vmin=1e-3, vmax=2e-2, source="Stull 1988 ch. 11; Tennekes 1973"),
    Key("pbl_night_land", "float", 200.0, "m", "Nocturnal (stable) boundary-layer height over land",
        vmin=10.0, vmax=1000.0, source="Seidel et al. 2012, JGR 117 (radiosonde climatology 100-300 m)"),
    Key("pbl_ocean", "float", 700.0, "m", "Marine boundary-layer height (subtropics; +50 % in the storm "
        "tracks)", vmin=100.0, vmax=3000.0, source="von Engeln & Teixeira 2013, J. Climate 26 (500-1500 m)"),
    Key("soil_depth", "float", 0.5, "m", "Depth of the root zone whose temperature tsoil represents",
        vmin=0.01, vmax=3.0, source="BEPS/InTEC root zone"),
    Key("soil_top_depth", "float", 0.05, "m", "Depth whose temperature tsoil_top represents (the top soil "
        "layer, where litter and soil organic matter decompose)", vmin=0.0, vmax=0.5,
        source="MERRA-2 TSOIL1 (0-0.0988 m, centre ~0.05 m); ERA5 stl1 (0-0.07 m)"),
    Key("soil_diffusivity", "float", 5.0e-7, "m2 s-1", "Soil thermal diffusivity", vmin=1e-8, vmax=5e-6,
        source="Hillel 1982; Campbell & Norman 1998 table 8.3 (moist loam ~5e-7)"),
))]


def _check(cfg: Config) -> None:
    m = cfg.meteorology_nml
    if m.source != "climatology" and not m.files_3d:
        raise ConfigError(f"{cfg.source}, &meteorology_nml: source = {m.source!r} needs files_3d (a glob pattern "
                          "of the 3-D files)")
    if m.source != "climatology" and not m.files_2d:
        raise ConfigError(f"{cfg.source}, &meteorology_nml: source = {m.source!r} needs files_2d (a glob pattern "
                          "of the single-level / 2-D files)")
    if m.tropopause_p_tropics >= m.tropopause_p_pole:
        raise ConfigError(f"{cfg.source}, &meteorology_nml: tropopause_p_tropics ({m.tropopause_p_tropics} Pa) "
                          f"must be below (lower pressure than) tropopause_p_pole ({m.tropopause_p_pole} Pa)")


CONFIG_CHECKS = [_check]


def section_as_params(section) -> dict:
    """Plain dict of the group's values (for providers built without a full Config)."""
    return dict(section)


def default_params() -> dict:
    """Defaults of every key, coerced (for building a provider without a namelist, e.g. in tests)."""
    return {k.name: k.coerce(k.default, f"default of meteorology_nml.{k.name}") for k in NAMELIST_GROUPS[0].keys}
