"""Parameters of the ocean carbon component: the ``&ocean_nml`` namelist group.

Every process parameter lives here with its units and source; the namelist can override each one.
Constants that are part of a published formula (the fits in :mod:`esm.ocean.carbonate`,
:mod:`esm.ocean.alkalinity`, :mod:`esm.ocean.gas_exchange`) stay with the formula.
"""
from __future__ import annotations

import numpy as np

from esm.config.schema import Config, Group, Key
from esm.errors import ConfigError

#: Joos et al. (1996, Tellus 48B, 397), Appendix A: HILDA mixed-layer pulse-response function r_s(t)
#: (fraction of a carbon pulse added to a 75-m mixed layer that is still in it after t years):
#: for t < 2 yr and for t >= 2 yr, (constant, [(amplitude, timescale in yr), ...]).
JOOS96_RS_SHORT = (0.12935, ((0.21898, 0.034569), (0.17003, 0.26936), (0.24071, 0.96083), (0.24093, 4.9792)))
JOOS96_RS_LONG = (0.022936, ((0.24278, 1.2679), (0.13963, 5.2528), (0.089318, 18.601), (0.037820, 68.736),
                             (0.035549, 232.30)))

#: The same response as a single sum of exponentials sum_k w_k exp(-t/tau_k) (so that it can be integrated
#: step by step with a few numbers per cell): timescales are Joos's own plus 0.6 yr, weights fitted by
#: non-negative least squares on 0..2000 yr (validation/ocean/fit_joos96_modes.py) and normalised to sum to 1
#: (all of a pulse enters the mixed layer). Largest deviation from the piecewise function 3.5e-4 (at 2.5 yr);
#: its integral over 1000 yr differs by 1e-4.
JOOS96_MODE_TAU_YR = (0.034569, 0.26936, 0.6, 1.2679, 5.2528, 18.601, 68.736, 232.30, np.inf)
JOOS96_MODE_WEIGHT = (0.219076, 0.164975, 0.063467, 0.225137, 0.142643, 0.087986, 0.038409, 0.035361, 0.022951)


def joos96_mixed_layer_response(t_years):
    """r_s(t) of Joos et al. (1996), the HILDA mixed-layer pulse response, piecewise as published."""
    t = np.asarray(t_years, dtype=float)

    def series(c0, terms):
        return c0 + sum(a * np.exp(-t / tau) for a, tau in terms)

    return np.where(t < 2.0, series(*JOOS96_RS_SHORT), series(*JOOS96_RS_LONG))


def mode_weights() -> tuple[np.ndarray, np.ndarray]:
    """(tau [s], weight) of the exponential-mode form, weights summing to exactly 1."""
    w = np.array(JOOS96_MODE_WEIGHT)
    return np.array(JOOS96_MODE_TAU_YR) * 365.25 * 86400.0, w / w.sum()


OCEAN = Group("ocean_nml", "Ocean carbon: carbonate chemistry, air-sea CO2 exchange, mixed-layer carbon and its "
              "exchange with the deep ocean.", (
    Key("interval", "int", 21600, "s", "Seconds between ocean carbon updates (a multiple of &time_control dt)",
        vmin=1),
    # --- chemistry
    Key("kf", "str", "perez87", "", "HF dissociation constant: 'perez87' (Perez & Fraga 1987, DSC07) or "
        "'dickson79' (Dickson & Riley 1979, PyCO2SYS default)", choices=("perez87", "dickson79")),
    Key("boron", "str", "uppstrom74", "", "Total boron/salinity ratio: 'uppstrom74' or 'lee10'",
        choices=("uppstrom74", "lee10")),
    Key("sst_min", "float", -2.0, "degC", "SST used by the chemistry is clipped into [sst_min, sst_max] "
        "(range of the constants' fits; the seawater freezing point)", vmin=-2.5, vmax=40.0,
        source="Weiss 1974; Lueker et al. 2000 (2-35 degC)"),
    Key("sst_max", "float", 35.0, "degC", "Upper SST clip for the chemistry", vmin=-2.5, vmax=40.0,
        source="Lueker et al. 2000 fit range"),
    Key("sss_min", "float", 20.0, "1e-3", "SSS used by the chemistry is clipped into [sss_min, sss_max] "
        "(Lueker et al. 2000 fit: 19-43); alkalinity is diluted in proportion below sss_min",
        vmin=5.0, vmax=45.0, source="Lueker et al. 2000"),
    Key("sss_max", "float", 42.0, "1e-3", "Upper SSS clip for the chemistry", vmin=5.0, vmax=45.0,
        source="Lueker et al. 2000"),
    Key("clip_warn_margin", "float", 2.0, "degC or 1e-3", "Clipping by more than this is logged as a warning",
        vmin=0.0),
    # --- gas exchange
    Key("transfer_coefficient", "float", 0.251, "cm h-1 (m s-1)-2", "a in k = a U10^2 (Sc/660)^-0.5",
        vmin=0.0, source="Wanninkhof 2014, eq. 4"),
    Key("wind_variance_factor", "float", 1.0, "1", "<U10^2>/wind10^2: 1 when wind10 includes synoptic "
        "variability (esm climatology, reanalysis); 1.27 for monthly-mean speeds (Rayleigh)", vmin=0.5, vmax=3.0,
        source="Wanninkhof 1992"),
    Key("gradient", "str", "pco2", "", "Partial pressure ('pco2', Wanninkhof 2014 eq. 1) or fugacity ('fco2') "
        "difference drives the flux", choices=("pco2", "fco2")),
    Key("rho_sw", "float", 1025.0, "kg m-3", "Seawater density (converts mol kg-1 to mol m-3)", vmin=1000.0,
        vmax=1050.0),
    # --- mixed layer and deep ocean
    Key("mixed_layer_depth", "float", 75.0, "m", "Mixed-layer depth h of the pulse-response model (HILDA)",
        vmin=10.0, vmax=500.0, source="Joos et al. 1996"),
    Key("co2_preindustrial", "float", 284.32, "ppm", "Atmospheric CO2 of the pre-industrial steady state "
        "(RCMIP 1850)", vmin=150.0, vmax=2000.0, source="Meinshausen et al. 2017 / RCMIP"),
    # --- natural carbon cycle: vertical exchange with subsurface water and biological export
    Key("exchange_background", "float", 0.15, "yr-1", "Background vertical exchange rate lambda of the mixed "
        "layer with subsurface (thermocline) water", vmin=0.0),
    Key("exchange_equator", "float", 2.0, "yr-1", "Additional exchange (upwelling) at the equator, Gaussian in "
        "latitude with half-width exchange_equator_width; ~ w/h for w ~ 0.4 m/d, h = 75 m", vmin=0.0,
        source="Wyrtki 1981 (equatorial Pacific upwelling ~ 1 m/d)"),
    Key("exchange_equator_width", "float", 5.0, "degree", "e-folding latitude of the equatorial upwelling", vmin=0.5),
    Key("exchange_southern", "float", 1.0, "yr-1", "Additional exchange in the Southern Ocean (Ekman upwelling "
        "and deep winter mixing), Gaussian around exchange_southern_lat", vmin=0.0,
        source="Marshall & Speer 2012"),
    Key("exchange_southern_lat", "float", -58.0, "degree_north", "Centre of the Southern Ocean exchange band",
        vmin=-80.0, vmax=-30.0),
    Key("exchange_north_atlantic", "float", 1.5, "yr-1", "Additional exchange in the subpolar North Atlantic "
        "(deep convection and entrainment), Gaussian around 60 N in the Atlantic sector", vmin=0.0,
        source="de Boyer Montegut et al. 2004 (winter mixed layers > 500 m)"),
    Key("exchange_band_width", "float", 8.0, "degree", "e-folding half-width of the high-latitude exchange bands",
        vmin=1.0),
    Key("preformed_dic_temperature_slope", "float", 4.5, "umol kg-1 K-1", "Decrease of the preformed DIC of "
        "the water mixed into the mixed layer per K of local SST above 15 degC: half the ~9 umol kg-1 K-1 slope "
        "of saturation DIC (Sarmiento & Gruber 2006, ch. 8), i.e. subsurface water ventilated half at the local "
        "and half at a global-mean temperature", vmin=0.0, vmax=15.0),
    Key("regenerated_dic", "float", 120.0, "umol kg-1", "Regenerated (remineralised) DIC carried by upwelled "
        "water: ~1 umol kg-1 phosphate times C:P = 117", vmin=0.0, source="Anderson & Sarmiento 1994"),
    Key("export_efficiency", "float", 0.9, "1", "Fraction of the upwelled regenerated carbon exported again by "
        "the biological pump where nutrients are used up (most of the ocean)", vmin=0.0, vmax=1.0,
        source="Sarmiento & Gruber 2006, ch. 4"),
    Key("export_efficiency_hnlc", "float", 0.4, "1", "Export efficiency in the high-nutrient low-chlorophyll "
        "regions (Southern Ocean south of 50 S, eastern equatorial Pacific, subarctic North Pacific)",
        vmin=0.0, vmax=1.0, source="Sarmiento & Gruber 2006, ch. 4; Martin 1990"),
    Key("natural_flux_target", "float", 0.0, "PgC yr-1", "Global pre-industrial air-sea flux the subsurface "
        "DIC is calibrated to (0: no drift of atmospheric CO2; ~0.65 with river-carbon outgassing, Regnier 2022)",
        vmin=-5.0, vmax=5.0),
    Key("spinup_years", "int", 20, "yr", "Years of monthly spin-up of the natural state under the seasonal "
        "meteorology at cold start (0: steady state under the start-time meteorology only)", vmin=0, vmax=500),
    Key("init_mode", "str", "historical", "", "Cold start: 'preindustrial' (spun-up natural state) or "
        "'historical' (then run offline from init_start_year to the start under prescribed CO2)",
        choices=("historical", "preindustrial")),
    Key("init_start_year", "int", 1850, "yr", "First year of the offline historical run of a cold start",
        vmin=1750, vmax=2400),
    Key("init_scenario", "str", "ssp245", "", "CO2 concentration scenario of the offline run after 2014 "
        "(forcing/co2/co2_rcmip.csv)", choices=("historical", "ssp119", "ssp126", "ssp245", "ssp370", "ssp434",
                                                 "ssp460", "ssp534-over", "ssp585")),
    Key("min_ocean_fraction", "float", 1.0e-3, "1", "Cells with less ocean than this have no ocean carbon",
        vmin=0.0, vmax=1.0),
))

NAMELIST_GROUPS = [OCEAN]


def _check(cfg: Config) -> None:
    o = cfg.ocean_nml
    if "ocean" not in cfg.coupler_nml.components:
        return
    if o.interval % cfg.time_control.dt:
        raise ConfigError(f"{cfg.source}, &ocean_nml interval = {o.interval} s is not a multiple of "
                          f"&time_control dt = {cfg.time_control.dt} s")
    if o.sst_min >= o.sst_max:
        raise ConfigError(f"{cfg.source}, &ocean_nml: sst_min ({o.sst_min}) must be below sst_max ({o.sst_max})")
    if o.sss_min >= o.sss_max:
        raise ConfigError(f"{cfg.source}, &ocean_nml: sss_min ({o.sss_min}) must be below sss_max ({o.sss_max})")
    if "co2" not in cfg.tracers_nml.names:
        raise ConfigError(f"{cfg.source}, &coupler_nml components includes 'ocean' but &tracers_nml names "
                          f"({', '.join(cfg.tracers_nml.names)}) has no 'co2' for it to exchange")


CONFIG_CHECKS = [_check]


def defaults() -> dict:
    """The default parameter values as a plain dict (for offline use without a namelist)."""
    return {k.name: k.default for k in OCEAN.keys}
