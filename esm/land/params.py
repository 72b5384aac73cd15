"""The land parameter table: ``&land_nml`` (every value with units, range and source).

Per-cover-type parameters are lists of nine values in the tile order of
:data:`esm.land.landcover.PFT_NAMES`:
``enf, dnf, dbf, ebf, mixed, shrub, grass (C3), crop (C3), c4``.

Sources
-------
* **BEPS code** = the hourly BEPS of J. M. Chen's group (``JChen-UToronto/BEPS_hourly_site``:
  ``readparam.c``, ``DB.h``, ``photosyn_gs.c``, ``plant_respir.c``, ``readcoef.c``, ``soilresp.c``,
  ``soil_water_stress.c``), which implements Chen et al. (1999, Ecol. Model. 124, 99), Chen et al.
  (2012, GBC 26, GB1019), Ju et al. (2006, Adv. Water Resour. 29, 846) and the InTEC soil model
  (Chen et al. 2000, GBC 14, 839; Ju et al. 2007, Tellus B 59, 633). Values were checked there
  (the papers themselves are not available as text here).
* REFERENCES.md values verified against the BEPS code: clumping and Vcmax25 of ENF, DNF, DBF,
  EBF, shrub and C4; Kc, Ko, tau and their activation energies; Jmax25 = 2.39 Vcmax25 - 14.2; the
  Ball-Berry slopes 8 / 4 and intercept 0.0175; growth respiration 0.35 (GPP - Rm); Q10 = 3.22 -
  0.046 T; the CENTURY maximum turnover rates. **Not verifiable** there (BEPS has no such cover
  types; its "other" type uses Omega 0.8, Vcmax25 89.45): mixed forest 0.66/66, grass 0.70/48 and
  crop 0.80/84.5, used here as given in REFERENCES.md but never as test oracles.
"""
from __future__ import annotations

import numpy as np

from esm.config.schema import Config, Group, Key
from esm.errors import ConfigError
from esm.land.landcover import NPFT, PFT_NAMES

BEPS = "BEPS code (Chen et al. 1999, 2012), readparam.c"
_PFTS = ", ".join(PFT_NAMES)


def _pft(name, default, units, desc, vmin=None, vmax=None, source=""):
    if len(default) != NPFT:
        raise TypeError(f"{name}: {len(default)} defaults for {NPFT} cover types")
    return Key(name, "float", list(default), units, f"{desc} (per cover type: {_PFTS})", vmin=vmin, vmax=vmax,
               is_list=True, length=NPFT, source=source)


def _f(name, default, units, desc, vmin=None, vmax=None, source=""):
    return Key(name, "float", default, units, desc, vmin=vmin, vmax=vmax, source=source)


#: Slopes of the Vcmax-leaf N relation divided by the cover type's Vcmax25 (m2 gN-1) and the top-leaf
#: nitrogen (mean + 1 SD, g N m-2), BEPS code (Chen et al. 2012; Medlyn et al. 1999 for the slopes).
_N_RATIO = [20.72 / 62.5, 22.05 / 39.1, 33.79 / 57.7, 14.02 / 29.0,
            # mixed: the top-to-mean Vcmax multiplier (ratio x leaf N) is the mean of ENF's and DBF's (1.455); the
            # product of the mean ratio and the mean N (1.582) would exceed both parents by 8-10 %
            0.5 * (20.72 / 62.5 * (3.10 + 1.35) + 33.79 / 57.7 * (1.74 + 0.71)) / (0.5 * (4.45 + 2.45)),
            0.5 * (32.09 / 61.7 + 33.14 / 54.0),  # shrub
            0.5 * (45.29 / 78.2 + 62.75 / 100.7), 0.5 * (45.29 / 78.2 + 62.75 / 100.7),  # BEPS "other"
            0.31]
_LEAF_N = [3.10 + 1.35, 1.81 + 0.64, 1.74 + 0.71, 2.17 + 0.80, 0.5 * (4.45 + 2.45),
           0.5 * (2.03 + 1.05 + 1.69 + 0.62), 0.5 * (1.75 + 0.76 + 1.62 + 0.61), 0.5 * (1.75 + 0.76 + 1.62 + 0.61),
           2.375]

# lignin fractions of InTEC litter (BEPS readcoef.c: leaf lignin = l0 / (0.15 + 0.018 * 0.6 * C:N))
_LIG_LEAF = [0.302 / (0.15 + 0.018 * 0.6 * 65.532)] * 2 + [0.224 / (0.15 + 0.018 * 0.6 * 56.532)] * 2 + \
    [0.302 / (0.15 + 0.018 * 0.6 * 65.532), 0.282 / (0.15 + 0.018 * 0.6 * 63.532)] + \
    [0.6 * 0.224 / (0.15 + 0.018 * 0.6 * 63.532)] * 3
_LIG_FROOT = [0.280 / (0.15 + 0.018 * 0.6 * 56.532)] * 2 + [0.200 / (0.15 + 0.018 * 0.6 * 56.532)] * 2 + \
    [0.280 / (0.15 + 0.018 * 0.6 * 56.532), 0.24 / (0.15 + 0.018 * 0.6 * 63.532)] + \
    [0.6 * 0.200 / (0.15 + 0.018 * 0.6 * 63.532)] * 3
_LIG_WOOD = [0.40, 0.40, 0.30, 0.30, 0.40, 0.35, 0.30, 0.30, 0.30]

KEYS = (
    # ---- run control -------------------------------------------------------------------------
    Key("interval", "int", 3600, "s", "Seconds between land updates (hourly BEPS); a multiple of dt", vmin=60,
        vmax=86400),
    Key("landcover_file", "str", "", "", "IGBP fractions file ('' = shipped MODIS MCD12C1 2019, "
        "forcing/landcover/igbp_fractions_0.5deg.nc)", in_output=False),
    _f("c4_grass_lat_full", 15.0, "degree", "Natural grass is all C4 equatorward of this latitude", 0.0, 90.0,
       "geographic form of Collatz et al. 1998; see esm.land.landcover"),
    _f("c4_grass_lat_zero", 35.0, "degree", "Natural grass is all C3 poleward of this latitude", 0.0, 90.0,
       "geographic form of Collatz et al. 1998"),
    _f("c4_crop_fraction", 0.20, "1", "C4 share of cropland (maize, sorghum, millet, sugarcane)", 0.0, 1.0,
       "Monfreda et al. 2008 harvested areas"),
    Key("lai_source", "str", "prognostic", "", "'prognostic' (growing-season-index phenology) or 'file' "
        "(LAI from lai_file)", choices=("prognostic", "file")),
    Key("lai_file", "str", "", "", "NetCDF with leaf area index lai(time, lat, lon) on the model grid "
        "(MODIS/GLASS-style; time a CF time axis, or 12/46 records of a climatology)", in_output=False),
    Key("lai_variable", "str", "lai", "", "Name of the LAI variable in lai_file"),
    Key("co2_source", "str", "auto", "", "CO2 seen by photosynthesis: 'auto' (the model's lowest-layer "
        "mole fraction when CO2 is carried, else the prescribed series), 'atmosphere', 'prescribed'",
        choices=("auto", "atmosphere", "prescribed")),
    Key("co2_file", "str", "", "", "Prescribed CO2 table in the format of forcing/co2/co2_rcmip.csv "
        "(year,scenario,co2_ppm,ch4_ppb,n2o_ppb) for co2_source = 'prescribed' ('' = the shipped RCMIP table)",
        in_output=False),
    Key("co2_scenario", "str", "ssp245", "", "Scenario of the prescribed CO2 after 2014 ('historical' ends in "
        "2014; an SSP name continues the history, e.g. 'ssp245')"),
    Key("spinup", "str", "analytic", "", "Cold start: 'analytic' (cyclo-stationary steady state of every "
        "carbon pool under the first simulated year's climate and CO2) or 'none' (pools from the "
        "restart or zero)", choices=("analytic", "none")),
    Key("transient_start_year", "int", 0, "yr", "Cold start with a transient: spin up at the prescribed CO2 of this "
        "year, then advance the pools year by year to the run's start under the prescribed CO2 history "
        "(InTEC-style annual CO2 factors on the spin-up year's daily fluxes); 0 = no transient", vmin=0, vmax=3000),
    _f("spinup_co2", -1.0, "1e-6", "CO2 mole fraction (ppm) for the spin-up year; negative = the initial "
       "atmospheric CO2 (&tracers_nml) or the prescribed series at the start", vmax=5000.0),
    Key("advance_age", "bool", False, "", "Stand ages advance with model time (transient runs); false = a "
        "stationary age structure (disturbance balances ageing), so the age effect is 1"),
    Key("age_file", "str", "", "", "NetCDF with stand_age(lat, lon) [yr] on the model grid for forest tiles "
        "('' = age_default per cover type)", in_output=False),
    Key("ndep_file", "str", "", "", "NetCDF with nitrogen deposition ndep(lat, lon) [g N m-2 yr-1] on the "
        "model grid ('' = ndep_value everywhere)", in_output=False),
    _f("ndep_value", 0.0, "g m-2 yr-1", "Uniform N deposition when no ndep_file is given", 0.0, 20.0),
    _f("ndep_reference", 0.0, "g m-2 yr-1", "N deposition at which leaf N equals leaf_n", 0.0, 20.0),
    _f("ndep_leaf_n_sensitivity", 0.04, "m2 yr g-1", "Relative leaf-N increase per g N m-2 yr-1 of deposition "
       "above ndep_reference (Vcmax follows leaf N); uncalibrated default, order of the +29 % NPP response "
       "to N addition in LeBauer & Treseder 2008", 0.0, 1.0, "InTEC: N deposition acts on leaf N and Vcmax "
       "(Chen et al. 2000)"),
    _f("ndep_leaf_n_max_ratio", 1.5, "1", "Largest leaf-N multiplier from deposition (N saturation)", 1.0, 3.0,
       "Aber et al. 1989 N saturation"),
    # ---- radiation and canopy structure ------------------------------------------------------
    _pft("clumping", [0.62, 0.68, 0.70, 0.63, 0.66, 0.70, 0.70, 0.80, 0.73], "1", "Foliage clumping index Omega",
         0.3, 1.0, BEPS + "; mixed/grass/crop from REFERENCES.md (Chen et al. 2012)"),
    _pft("leaf_par_scattering", [0.15] * 9, "1", "Leaf scattering coefficient of PAR (reflectance + transmittance): "
         "a leaf absorbs 1 - sigma of the PAR incident on it (the scattered part reaches other leaves through the "
         "multiple-scattering term of the shaded-leaf irradiance)", 0.0, 0.5,
         "Goudriaan 1977; de Pury & Farquhar 1997 Table 3 (sigma = 0.15 for PAR); BEPS netRadiation.c absorbs "
         "1 - (alpha_vis + alpha_nir)/2 = 0.855-0.87 of the leaf irradiance"),
    _f("par_fraction", 0.5, "1", "PAR share of shortwave (energy)", 0.3, 0.6, "BEPS photosyn_gs.c"),
    _f("par_photon", 4.55, "umol J-1", "Photons per joule of PAR", 4.0, 5.0, "BEPS photosyn_gs.c (McCree 1972)"),
    Key("diffuse_split", "str", "beps", "", "Diffuse part of the shortwave seen by the canopy: 'beps' (default: the "
        "BEPS relation of the clearness index, netRadiation.c, with which Chen et al. 2012 computed the global GPP "
        "and the shaded-leaf shares the model is compared with) or 'meteorology' (swdown_diffuse of the "
        "meteorology: ERA5 ssrd - fdir where the files have fdir, else Erbs et al. 1982)",
        choices=("meteorology", "beps"), source="Chen et al. 2012 (GBC 26, GB1019); BEPS netRadiation.c"),
    _f("stem_area_fraction", 0.2, "1", "Woody (stem and branch) area index = stem_area_fraction x lai_max of the cover "
       "type; stems intercept diffuse radiation with the leaves, so the shaded-leaf irradiance is the diffuse "
       "intercepted by the plant area L + S divided by L + S (0 = leaves only)", 0.0, 1.0,
       "BEPS inter_prg.c (stem_o = 0.2 LAI_max) and netRadiation.c (lai_os in the leaf-level diffuse)"),
    Key("vcmax_partition", "str", "chen2012", "", "Sunlit/shaded Vcmax from the nitrogen profile: 'chen2012' = the "
        "published equations of Chen et al. (2012) (shaded: [(1-e^{-kn L})/kn - (1-e^{-(kn+K)L})/(kn+K)] / "
        "[L - (1-e^{-KL})/K], as BEPS Vcmax_Jmax); 'conserving' = the shaded mean that keeps V_sun L_sun + V_shade "
        "L_shade equal to the canopy total with the Omega-weighted sunlit area", choices=("chen2012", "conserving")),
    _f("leaf_angle_g", 0.5, "1", "Leaf projection coefficient G (spherical leaf angles)", 0.3, 1.0,
       "Chen et al. 1999"),
    _f("sunlit_skin_weight", 0.5, "1", "Sunlit-leaf temperature T_air + w (T_skin - T_air); shaded leaves at "
       "T_air (approximation of the BEPS leaf energy balance)", 0.0, 1.0),
    # ---- photosynthesis ---------------------------------------------------------------------
    _pft("vcmax25", [62.5, 39.1, 57.7, 29.0, 66.0, 57.9, 48.0, 84.5, 30.0], "umol m-2 s-1",
         "Vcmax at 25 C (BEPS Vcmax0)", 1.0, 300.0, BEPS + "; mixed/grass/crop from REFERENCES.md"),
    _pft("vcmax_n_ratio", _N_RATIO, "m2 g-1", "Slope of Vcmax-leaf N divided by vcmax25: top-leaf Vcmax25 = "
         "vcmax25 * vcmax_n_ratio * leaf_n", 0.01, 2.0, BEPS + " (Medlyn et al. 1999 slopes)"),
    _pft("leaf_n", _LEAF_N, "g m-2", "Leaf nitrogen of the top leaves (mean + 1 SD)", 0.1, 10.0, BEPS),
    _f("kn", 0.3, "1", "Extinction coefficient of leaf N (and Vcmax) with cumulative LAI", 0.0, 2.0,
       "Chen et al. 2012; BEPS vcmax_jmax_mode.c"),
    _f("jmax_slope", 2.39, "1", "Jmax25 = jmax_slope * Vcmax25 + jmax_intercept", 1.0, 4.0,
       "Wullschleger 1993; BEPS"),
    _f("jmax_intercept", -14.2, "umol m-2 s-1", "Intercept of the Jmax25-Vcmax25 relation", -50.0, 50.0,
       "Wullschleger 1993; BEPS"),
    _f("kc25", 274.6, "1e-6 bar", "Michaelis constant for CO2 at 25 C", 100.0, 1000.0, "BEPS DB.h"),
    _f("ko25", 419.8, "1e-3 bar", "Michaelis constant for O2 at 25 C", 100.0, 1000.0, "BEPS DB.h"),
    _f("tau25", 2904.12, "1", "Rubisco CO2/O2 specificity at 25 C", 1000.0, 5000.0,
       "BEPS DB.h (Balaguer et al. 1996)"),
    _f("ea_kc", 80500.0, "J mol-1", "Activation energy of Kc", 0.0, 2e5, "Harley (BEPS DB.h)"),
    _f("ea_ko", 14500.0, "J mol-1", "Activation energy of Ko", 0.0, 2e5, "Harley (BEPS DB.h)"),
    _f("ea_tau", -29000.0, "J mol-1", "Activation energy of tau", -1e5, 0.0, "Jordan & Ogren 1984 (BEPS DB.h)"),
    _f("ea_vcmax", 55000.0, "J mol-1", "Activation energy of Vcmax (peaked function)", 1e4, 2e5,
       "Harley & Baldocchi 1995 (BEPS DB.h)"),
    _f("ea_jmax", 55000.0, "J mol-1", "Activation energy of Jmax (peaked function)", 1e4, 2e5,
       "Harley & Baldocchi 1995 (BEPS DB.h)"),
    _f("hd_vcmax", 200000.0, "J mol-1", "Deactivation enthalpy of the peaked Vcmax/Jmax functions", 1e5, 5e5,
       "Harley & Baldocchi 1995 (BEPS DB.h)"),
    _f("topt_vcmax", 301.0, "K", "Optimum temperature of Vcmax and Jmax", 285.0, 320.0, "BEPS DB.h"),
    _f("j_curvature", 2.1, "1", "Electron transport J = Jmax I / (I + c Jmax)", 0.5, 5.0, "BEPS photosyn_gs.c"),
    _f("rd_fraction", 0.004657, "1", "C3 leaf dark respiration at 25 C as a fraction of Vcmax25", 0.0, 0.05,
       "BEPS photosyn_gs.c"),
    _f("ea_rd", 38000.0, "J mol-1", "Activation energy of leaf dark respiration", 0.0, 1e5, "BEPS DB.h"),
    _f("rd_light_factor", 0.4, "1", "Leaf respiration in the light relative to darkness", 0.0, 1.0,
       "Amthor 1994 (BEPS photosyn_gs.c)"),
    _f("o2_fraction", 0.2095, "1", "O2 mole fraction of dry air", 0.1, 0.3),
    _pft("bb_slope", [8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 4.0], "1", "Ball-Berry slope m", 1.0, 20.0, BEPS),
    _f("bb_intercept", 0.0175, "mol m-2 s-1", "Ball-Berry intercept (H2O)", 0.0, 0.2, BEPS),
    Key("bb_intercept_water_stress", "bool", True, "", "Scale the Ball-Berry intercept by the soil-water stress "
        "factor (CLM4.5, Oleson et al. 2013); false = BEPS (intercept unstressed)",
        source="Oleson et al. 2013, NCAR/TN-503+STR, sec. 8.1"),
    _f("gb_h2o", 1.0, "mol m-2 s-1", "Leaf boundary-layer conductance for H2O (CO2: divided by 1.37)", 0.05,
       10.0, "Campbell & Norman 1998 eq. 7.33 for ~1-2 m/s wind and 5-10 cm leaves"),
    _f("c4_quantum_efficiency", 0.04, "1", "C4 quantum efficiency (mol CO2 per mol absorbed photon)", 0.01, 0.1,
       "Collatz et al. 1992 Table 1"),
    _f("c4_theta", 0.83, "1", "C4 curvature between Rubisco- and light-limited rates", 0.5, 1.0,
       "Collatz et al. 1992"),
    _f("c4_beta", 0.93, "1", "C4 curvature between M and the CO2-limited rate", 0.5, 1.0, "Collatz et al. 1992"),
    _f("c4_k_ratio", 0.7 / 39.0e-6, "1", "C4 initial CO2 slope k25 [mol m-2 s-1] per Vmax25 [mol m-2 s-1]",
       1000.0, 1e5, "Collatz et al. 1992: k = 0.7 mol m-2 s-1 with Vmax = 39 umol m-2 s-1"),
    _f("c4_rd_fraction", 0.8 / 39.0, "1", "C4 leaf respiration at 25 C as a fraction of Vmax25", 0.0, 0.1,
       "Collatz et al. 1992: Rd = 0.8 with Vmax = 39"),
    _f("c4_q10", 2.0, "1", "Q10 of the C4 Vmax, k and Rd", 1.0, 4.0, "Collatz et al. 1992"),
    # ---- soil water -------------------------------------------------------------------------
    _f("porosity", 0.463, "m3 m-3", "Soil porosity (saturated water content); soilm must not exceed it",
       0.2, 0.8, "BEPS init_soil.c, loam"),
    _f("soil_b", 4.9, "1", "Campbell exponent b of psi = psi_sat (theta / porosity)^-b", 1.0, 15.0,
       "BEPS init_soil.c, loam (Clapp & Hornberger 1978)"),
    _f("wilting_point", 0.12, "m3 m-3", "Soil water content at the wilting point", 0.0, 0.5,
       "BEPS init_soil.c, loam"),
    _f("field_capacity", 0.27, "m3 m-3", "Soil water content at field capacity", 0.05, 0.7, "BEPS init_soil.c, loam"),
    _f("psi_sat", 0.13, "m", "Matric suction at saturation (water column)", 0.01, 2.0, "BEPS init_soil.c, loam"),
    _pft("psi_min", [33.0, 33.0, 10.0, 10.0, 33.0, 33.0, 33.0, 33.0, 33.0], "m", "Suction where water stress "
         "starts: f = 1 / (1 + ((psi - psi_min) / psi_min)^alpha)", 1.0, 500.0,
         "Ju et al. 2006; Chen et al. 2012 eq. 12 (BEPS init_soil.c)"),
    _pft("psi_alpha", [0.4, 0.4, 1.5, 1.5, 0.4, 0.4, 0.4, 0.4, 0.4], "1", "Shape exponent alpha of the water "
         "stress", 0.05, 5.0, "BEPS init_soil.c"),
    _f("fw_min", 0.1, "1", "Smallest soil-water stress factor", 0.0, 1.0, "BEPS soil_water_stress.c"),
    _f("fw_soil_temp_coef", 0.02, "degC-2", "Frozen/cold-soil factor 1 - exp(-c T_soil^2) for T_soil > 0",
       0.0, 1.0, "BEPS soil_water_stress.c"),
    # ---- phenology (Jolly et al. 2005 growing-season index) ---------------------------------
    _pft("lai_max", [4.5, 3.5, 4.5, 5.0, 4.5, 2.0, 2.0, 3.5, 2.0], "m2 m-2", "Leaf area index at the height of "
         "the growing season", 0.1, 10.0, "BEPS LAI_max_overstory 4.5 (forests); Asner et al. 2003 biome "
         "means for shrub (2.1), grass (1.7), crops (3.6)"),
    _pft("lai_min", [3.0, 0.3, 0.5, 4.0, 1.5, 0.5, 0.3, 0.2, 0.3], "m2 m-2", "Leaf area index outside the "
         "growing season (seasonal amplitude = lai_max - lai_min)", 0.01, 10.0,
         "evergreen types keep 2/3-4/5 of their leaves (Asner et al. 2003)"),
    _f("gsi_tmin_low", -2.0, "degC", "Daily minimum temperature where the GSI temperature index is 0", -20.0,
       10.0, "Jolly et al. 2005"),
    _f("gsi_tmin_high", 5.0, "degC", "Daily minimum temperature where the GSI temperature index is 1", -10.0,
       20.0, "Jolly et al. 2005"),
    _f("gsi_vpd_low", 900.0, "Pa", "Daily mean VPD where the GSI moisture index is 1", 0.0, 5000.0,
       "Jolly et al. 2005"),
    _f("gsi_vpd_high", 4100.0, "Pa", "Daily mean VPD where the GSI moisture index is 0", 100.0, 10000.0,
       "Jolly et al. 2005"),
    _f("gsi_photo_low", 10.0, "h", "Daylength where the GSI photoperiod index is 0", 0.0, 24.0,
       "Jolly et al. 2005"),
    _f("gsi_photo_high", 11.0, "h", "Daylength where the GSI photoperiod index is 1", 0.0, 24.0,
       "Jolly et al. 2005"),
    _f("gsi_rew_low", 0.0, "1", "Relative extractable water where the GSI soil-water index is 0", 0.0, 1.0,
       "Granier et al. 1999 (addition to Jolly et al. 2005)"),
    _f("gsi_rew_high", 0.4, "1", "Relative extractable water where the GSI soil-water index is 1", 0.01, 1.0,
       "Granier et al. 1999: canopy conductance falls below REW 0.4"),
    Key("gsi_window", "int", 21, "d", "Running-mean window of the daily GSI", vmin=1, vmax=90,
        source="Jolly et al. 2005"),
    Key("crop_calendar", "bool", True, "", "C3 crops are sown and harvested (crop calendar, esm.land.phenology); "
        "false = crops follow the natural GSI season", source="Sacks et al. 2010; Waha et al. 2012"),
    _f("crop_sowing_temperature", 11.0, "degC", "Running-mean air temperature above which C3 crops are sown", -5.0,
       30.0, "Sacks et al. 2010 (spring wheat sown at c. 8-14 C; midpoint)"),
    _f("crop_sowing_rew", 0.4, "1", "Running-mean relative extractable soil water above which crops are sown "
       "(wet-season onset)", 0.0, 1.0, "Waha et al. 2012 (sowing at the rainy-season onset); REW 0.4 as gsi_rew_high "
       "(Granier et al. 1999)"),
    _f("crop_season_days", 120.0, "d", "Sowing to harvest", 30.0, 330.0,
       "Sacks et al. 2010 (wheat, rice, soybean: c. 3-5 months)"),
    _f("crop_senescence_start", 0.75, "1", "Fraction of the season after which crop leaf area declines to zero at "
       "harvest", 0.5, 0.99, "EPIC/SWAT DLAI (Neitsch et al. 2011: 0.5-0.95 by crop)"),
    _f("crop_min_interval", 330.0, "d", "Days from one sowing to the next (one main season per year)", 120.0, 365.0,
       "Sacks et al. 2010 (one planting date per crop and place)"),
    _f("crop_ema_days", 10.0, "d", "Time constant of the running means of temperature and soil water for sowing",
       1.0, 60.0),
    # ---- autotrophic respiration ------------------------------------------------------------
    _pft("allom_a", [0.9097, 0.9097, 1.545, 1.545, 0.9097, 1.545, 0.0, 0.0, 0.0], "kg m-2", "Above-ground "
         "biomass carbon = allom_a L + allom_b L^2 (L = annual mean LAI)", 0.0, 10.0,
         "Liu et al. 2002 (BEPS plant_respir.c)"),
    _pft("allom_b", [0.125, 0.125, 0.183, 0.183, 0.125, 0.183, 0.0, 0.0, 0.0], "kg m-2", "Quadratic term of "
         "the biomass-LAI relation", 0.0, 10.0, "Liu et al. 2002 (BEPS plant_respir.c)"),
    _pft("allom_leaf_fraction", [0.05, 0.05, 0.04, 0.04, 0.05, 0.10, 0.0, 0.0, 0.0], "1", "Leaf share of the "
         "above-ground biomass (trees, shrubs)", 0.0, 1.0, "BEPS plant_respir.c"),
    _pft("allom_leaf_per_lai", [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.05, 0.05], "kg m-2", "Leaf carbon per "
         "unit annual LAI (herbaceous types)", 0.0, 1.0, "W. Ju 2005 (BEPS plant_respir.c)"),
    _pft("allom_root_linear", [0.454, 0.454, 0.0, 0.0, 0.454, 0.0, 0.0, 0.0, 0.0], "1", "Root carbon = "
         "root_linear AGB + root_power AGB^0.639 + root_per_lai L", 0.0, 5.0, "BEPS plant_respir.c"),
    _pft("allom_root_power", [0.0, 0.0, 1.432, 1.432, 0.0, 1.432, 0.0, 0.0, 0.0], "kg^0.361 m-0.722",
         "Coefficient of AGB^0.639 in the root carbon", 0.0, 5.0, "Kurz et al. 1996 (BEPS plant_respir.c)"),
    _pft("allom_root_per_lai", [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.061, 0.061, 0.061], "kg m-2", "Root carbon per "
         "unit annual LAI (herbaceous types)", 0.0, 1.0, "W. Ju 2005 (BEPS plant_respir.c)"),
    _pft("root_live_fraction", [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 1.0, 1.0, 1.0], "1", "Respiring share of "
         "the root carbon", 0.0, 1.0, "BEPS plant_respir.c"),
    Key("rm_leaf_basis", "str", "nitrogen", "", "Night leaf maintenance respiration: 'nitrogen' = Ryan (1991) rate "
        "per unit leaf N (rm_leaf_n_rate) times the Chen et al. (2012) canopy N profile (the N that sets Vcmax); "
        "'beps' = BEPS plant_respir.c per-type coefficient rm_leaf times the Liu et al. (2002) leaf carbon",
        choices=("nitrogen", "beps")),
    Key("rm_stem_root_basis", "str", "beps", "", "Stem (live wood), coarse-root (live wood) and fine-root "
        "maintenance respiration: 'nitrogen' = Ryan (1991) rate per unit N (rm_leaf_n_rate) times the live carbon "
        "BEPS respires (sapwood S s0/(S + s0), root_live_fraction of the roots) divided by the Biome-BGC C:N "
        "ratios cn_livewood / cn_froot; 'beps' = BEPS plant_respir.c per-type coefficients rm_stem, rm_croot, "
        "rm_froot times rm_scale", choices=("nitrogen", "beps")),
    _pft("cn_livewood", [50.0] * 6 + [0.0] * 3, "kg C kg N-1", "C:N of live wood (sapwood and live coarse "
         "roots; rm_stem_root_basis = 'nitrogen'; 0 = no wood)", 0.0, 500.0,
         "White et al. 2000, Earth Interactions 4 (Biome-BGC: 50 for all woody types; dead wood 300-730 is not "
         "respiring)"),
    _pft("cn_froot", [42.0] * 9, "kg C kg N-1", "C:N of fine roots (herbs: all roots; rm_stem_root_basis = "
         "'nitrogen')", 10.0, 200.0, "White et al. 2000, Earth Interactions 4 (range 42-58 by biome; 42 in the "
         "Biome-BGC 4.1 ecophysiological files of every type)"),
    _f("rm_leaf_n_rate", 0.218, "g C g N-1 d-1", "Maintenance respiration per unit tissue N at 20 C "
       "(rm_leaf_basis and rm_stem_root_basis = 'nitrogen'; 0.0106 mol C mol N-1 h-1)", 0.0, 1.0,
       "Ryan 1991, Ecol. Appl. 1, 157 (the mrpern of Biome-BGC, White et al. 2000)"),
    _pft("rm_leaf", [0.0015, 0.0015, 0.015, 0.015, 0.0015, 0.001, 0.001, 0.001, 0.001], "d-1", "Leaf maintenance "
         "respiration at 25 C per unit leaf carbon (night; rm_leaf_basis = 'beps')", 0.0, 0.1,
         "BEPS plant_respir.c"),
    _pft("rm_leaf_lai_ref", [4.5, 4.5, 4.5, 4.5, 4.5, 3.3, 3.3, 3.3, 3.3], "m2 m-2", "Reference LAI of the BEPS "
         "leaf respiration: leaf carbon x LAI / rm_leaf_lai_ref (rm_leaf_basis = 'beps')", 0.1, 10.0,
         "BEPS plant_respir.c (lai_max_o: 4.5 conifer/broadleaf forest, 3.3 shrub, C4 and others)"),
    _pft("rm_stem", [0.002, 0.002, 0.0035, 0.0035, 0.002, 0.002, 0.002, 0.002, 0.002], "d-1", "Stem maintenance "
         "respiration at 25 C per unit live stem carbon", 0.0, 0.1, "BEPS plant_respir.c"),
    _pft("rm_croot", [0.002, 0.002, 0.0025, 0.0025, 0.002, 0.0015, 0.0015, 0.0015, 0.0015], "d-1",
         "Coarse-root (herbs: root) maintenance respiration at 25 C", 0.0, 0.1, "BEPS plant_respir.c"),
    _pft("rm_froot", [0.003] * 9, "d-1", "Fine-root maintenance respiration at 25 C", 0.0, 0.1,
         "BEPS plant_respir.c"),
    _pft("rm_scale", [1.0, 1.0, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], "1", "Multiplier of the maintenance "
         "respiration", 0.0, 2.0, "BEPS plant_respir.c (0.6 for deciduous broadleaf)"),
    _f("stem_live_saturation", 0.35, "kg m-2", "Live stem carbon = S s0 / (S + s0)", 0.01, 10.0,
       "BEPS plant_respir.c"),
    _f("q10_a", 3.22, "1", "Q10 = q10_a + q10_b T [degC] of maintenance respiration", 1.0, 5.0,
       "Tjoelker et al. 2001; BEPS plant_respir.c"),
    _f("q10_b", -0.046, "degC-1", "Temperature slope of Q10", -0.2, 0.0, "Tjoelker et al. 2001"),
    _f("cue_min", 0.23, "1", "Smallest carbon-use efficiency NPP/GPP a tile may have in the spin-up climate: the "
       "allometric respiring biomass is scaled down where maintenance respiration would leave less (0 = off)",
       0.0, 0.6, "DeLucia et al. 2007 (forest CUE 0.23-0.83)"),
    _f("growth_resp_fraction", 0.35, "1", "Growth respiration = fraction (GPP - Rm) when positive", 0.0, 0.9,
       "BEPS plant_respir.c"),
    # ---- InTEC vegetation pools and allocation ------------------------------------------------
    _pft("alloc_leaf", [0.210756, 0.210756, 0.242626, 0.242626, 0.210756, 0.45, 0.5, 0.5, 0.5], "1",
         "NPP share to leaves", 0.0, 1.0, "InTEC (BEPS readcoef.c; its conifer shares sum to 1.01 and are divided by 1.01 here); herbs: Biome-BGC grass 1:1 fine root:leaf (White et al. 2000)"),
    _pft("alloc_stem", [0.298033, 0.298033, 0.422354, 0.422354, 0.298033, 0.189428, 0.0, 0.0, 0.0], "1",
         "NPP share to stems", 0.0, 1.0, "InTEC (BEPS readcoef.c)"),
    _pft("alloc_croot", [0.146749, 0.146749, 0.108994, 0.108994, 0.146749, 0.053605, 0.0, 0.0, 0.0], "1",
         "NPP share to coarse roots", 0.0, 1.0, "InTEC (BEPS readcoef.c)"),
    _pft("alloc_froot", [0.344462, 0.344462, 0.226026, 0.226026, 0.344462, 0.306967, 0.5, 0.5, 0.5], "1",
         "NPP share to fine roots", 0.0, 1.0, "InTEC (BEPS readcoef.c); herbs: White et al. 2000"),
    _pft("turnover_leaf", [0.1925, 1.0, 1.0, 1.0, 0.5, 0.8, 1.0, 1.0, 1.0], "yr-1", "Leaf litterfall rate",
         0.01, 10.0, "InTEC (BEPS readcoef.c); DNF deciduous 1/yr; mixed mean; herbs White et al. 2000"),
    _pft("turnover_stem", [0.02888, 0.02888, 0.0168, 0.0168, 0.02888, 0.025, 0.0, 0.0, 0.0], "yr-1",
         "Stem mortality rate to coarse woody debris", 0.0, 1.0, "InTEC (BEPS readcoef.c)"),
    _pft("turnover_croot", [0.02688, 0.02688, 0.0248, 0.0248, 0.02688, 0.04, 0.0, 0.0, 0.0], "yr-1",
         "Coarse-root mortality rate", 0.0, 1.0, "InTEC (BEPS readcoef.c)"),
    _pft("turnover_froot", [0.5948, 0.5948, 0.5948, 0.5948, 0.5948, 0.75, 1.0, 1.0, 1.0], "yr-1",
         "Fine-root turnover rate", 0.01, 10.0, "InTEC (BEPS readcoef.c); herbs White et al. 2000"),
    _pft("lignin_leaf", _LIG_LEAF, "1", "Lignin fraction of leaf litter", 0.0, 0.9, "InTEC (BEPS readcoef.c)"),
    _pft("lignin_froot", _LIG_FROOT, "1", "Lignin fraction of fine-root litter", 0.0, 0.9,
         "InTEC (BEPS readcoef.c)"),
    _pft("lignin_wood", _LIG_WOOD, "1", "Lignin fraction of woody debris", 0.0, 0.9, "InTEC (BEPS readcoef.c)"),
    _pft("metabolic_fraction", [0.2] * 9, "1", "Metabolic share of leaf and fine-root litter", 0.0, 1.0,
         "InTEC (BEPS soilresp.c)"),
    # ---- CENTURY decomposition (Parton et al. 1987, 1993) as in InTEC ------------------------
    _f("k_cwd", 2.4, "yr-1", "Coarse woody debris: k = k_cwd exp(-3 lignin)", 0.0, 20.0, "Parton et al. 1993"),
    _f("k_surface_structural", 3.9, "yr-1", "Surface structural litter: k exp(-3 lignin)", 0.0, 50.0,
       "Parton et al. 1987"),
    _f("k_soil_structural", 4.8, "yr-1", "Soil structural litter: k exp(-3 lignin)", 0.0, 50.0,
       "Parton et al. 1987"),
    _f("k_surface_metabolic", 14.8, "yr-1", "Surface metabolic litter", 0.0, 100.0, "Parton et al. 1987"),
    _f("k_soil_metabolic", 18.5, "yr-1", "Soil metabolic litter", 0.0, 100.0, "Parton et al. 1987"),
    _f("k_surface_microbe", 6.0, "yr-1", "Surface microbial pool", 0.0, 50.0, "Parton et al. 1987"),
    _f("k_soil_microbe", 7.3, "yr-1", "Soil microbial pool: k (1 - 0.75 silt_clay)", 0.0, 50.0,
       "Parton et al. 1987"),
    _f("k_slow", 0.2, "yr-1", "Slow soil carbon", 0.0, 5.0,
       "Parton et al. 1987 (SSSAJ 51), 1993 (GBC 7); BEPS readcoef.c has 0.25"),
    _pft("k_passive", [0.0045] * 9, "yr-1", "Passive soil carbon", 0.0, 0.1,
         "Parton et al. 1987, 1993; BEPS readcoef.c has 0.007 except DBF/EBF (0.0045, the CENTURY value)"),
    # respired shares of the CENTURY flows (the rest goes down the cascade; see esm.land.intec)
    _f("resp_surface_structural", 0.45, "1", "CO2 share of the non-lignin flow surface structural -> surface "
       "microbe", 0.0, 1.0, "Parton et al. 1987 Fig. 1 (surface structural to active 0.55); BEPS readcoef.c has 0.6"),
    _f("resp_soil_structural", 0.55, "1", "CO2 share of the non-lignin flow soil structural -> soil microbe",
       0.0, 1.0, "Parton et al. 1987 Fig. 1"),
    _f("resp_lignin", 0.3, "1", "CO2 share of the lignin flow structural litter -> slow", 0.0, 1.0,
       "Parton et al. 1987 Fig. 1"),
    _f("resp_surface_metabolic", 0.55, "1", "CO2 share of surface metabolic -> surface microbe", 0.0, 1.0,
       "Parton et al. 1987 Fig. 1; BEPS readcoef.c has 0.6"),
    _f("resp_soil_metabolic", 0.55, "1", "CO2 share of soil metabolic -> soil microbe", 0.0, 1.0,
       "Parton et al. 1987 Fig. 1; BEPS readcoef.c has 0.5"),
    _f("resp_surface_microbe", 0.6, "1", "CO2 share of surface microbe -> slow", 0.0, 1.0,
       "Parton et al. 1993 (CENTURY 4 P1CO2A(1)); BEPS readcoef.c"),
    _f("resp_slow", 0.55, "1", "CO2 share of slow -> soil microbe / passive", 0.0, 1.0, "Parton et al. 1987 Fig. 1"),
    _f("resp_passive", 0.55, "1", "CO2 share of passive -> soil microbe", 0.0, 1.0,
       "Parton et al. 1987 Fig. 1 (passive to active 0.45); BEPS readcoef.c has 0.5"),
    _f("slow_passive_base", 0.003, "1", "Share of the slow pool's loss to passive: base + slope x clay", 0.0, 0.5,
       "CENTURY 4 prelim.f fps2s3 = ps2s3(1) + ps2s3(2) clay (Parton et al. 1993; Metherell et al. 1993)"),
    _f("slow_passive_clay", 0.009, "1", "Clay slope of the slow -> passive share (at least 1e-5 in total)", -0.1,
       0.5, "CENTURY 4 (ps2s3(2) = +0.009); BEPS readcoef.c subtracts it (0.003 - 0.009 clay)"),
    _f("lignin_exponent", 3.0, "1", "Exponent of the lignin control exp(-c lignin)", 0.0, 10.0, "Parton et al. 1987"),
    _f("silt_clay", 0.58, "1", "Silt + clay fraction of the soil", 0.0, 1.0, "BEPS readcoef.c, loam"),
    _f("clay", 0.18, "1", "Clay fraction of the soil", 0.0, 1.0, "BEPS readcoef.c, loam"),
    _f("decomp_e0", 308.56, "K", "Lloyd-Taylor activation parameter E0 of the decomposition temperature "
       "scalar", 50.0, 1000.0, "Lloyd & Taylor 1994 eq. 11 (InTEC)"),
    _f("decomp_t0", -46.02, "degC", "Lloyd-Taylor T0", -100.0, -10.0, "Lloyd & Taylor 1994"),
    _f("decomp_tref", 35.0, "degC", "Temperature where the scalar reaches 1 (capped above)", 0.0, 50.0,
       "InTEC (BEPS soilresp.c)"),
    _f("decomp_w1", 5.63, "1", "Moisture scalar w1 x + w2 x^2 + w0, x = soilm / porosity", -20.0, 20.0,
       "InTEC (BEPS soilresp.c, medium texture)"),
    _f("decomp_w2", -4.64, "1", "Quadratic moisture coefficient", -20.0, 20.0, "InTEC (BEPS soilresp.c)"),
    _f("decomp_w0", -0.71, "1", "Constant moisture coefficient", -5.0, 5.0, "InTEC (BEPS soilresp.c)"),
    Key("decomposition_temperature", "str", "root_zone", "", "Soil temperature of the decomposition scalar: "
        "'root_zone' (default: the meteorology's tsoil, 0.5 m in the embedded climatology, no diurnal cycle there) or "
        "'top_soil' (tsoil_top, ~5 cm: hourly Rh follows the soil's diurnal cycle; with this calibration it moves the "
        "northern NEE minimum from July to August, see validation/land/README.md)",
        choices=("root_zone", "top_soil"), source="Parton et al. 1987 (CENTURY: near-surface soil temperature)"),
    _f("decomp_t_floor", 0.0, "1", "Lower bound of the decomposition temperature factor (0 = none)", 0.0, 1.0,
       "BEPS soilresp.c uses 0.3 (then f_T is flat below ~15 C); 0 follows Lloyd & Taylor 1994"),
    _f("decomp_w_floor", 0.0, "1", "Lower bound of the decomposition moisture factor (0 = none)", 0.0, 1.0,
       "BEPS soilresp.c uses 0.3"),
    # ---- disturbance: fire (GlobFIRM, Thonicke et al. 2001) and crop harvest -------------------
    Key("fire", "bool", True, "", "Fire disturbance (GlobFIRM, Thonicke et al. 2001; esm.land.disturbance): daily "
        "burned fraction from the litter (top-soil) moisture, combustion to CO2 and fire mortality to litter; not "
        "on crop land"),
    _pft("fire_moisture_extinction", [0.3] * 6 + [0.2] * 3, "1", "Litter moisture of extinction m_e of the daily "
         "fire probability p = exp(-pi (m / m_e)^2), m = plant-available water of the top soil relative to its "
         "capacity", 0.01, 1.0, "Thonicke et al. 2001 eq. 2; Sitch et al. 2003 Table 1 (woody 0.3, herbaceous 0.2)"),
    _pft("fire_resistance", [0.12] * 6 + [1.0] * 3, "1", "Share of the plants on the burned area that survive "
         "(woody: all pools; herbaceous: the roots, the leaves always burn as cured fuel)", 0.0, 1.0,
         "Sitch et al. 2003 Table 1 (0.12 for boreal, temperate summergreen and tropical evergreen trees; "
         "grasses 1.0)"),
    _f("fire_cc_leaf", 0.9, "1", "Combustion completeness of the killed leaves (rest to surface litter)", 0.0, 1.0,
       "van der Werf et al. 2010 (GFED3, ACP 10, 11707): 0.8-1.0"),
    _f("fire_cc_stem", 0.3, "1", "Combustion completeness of the killed stems (rest to coarse woody debris); "
       "killed roots go to litter", 0.0, 1.0, "van der Werf et al. 2010: live wood 0.2-0.4"),
    _f("fire_cc_litter", 0.95, "1", "Combustion completeness of the surface litter (structural and metabolic) on "
       "the burned area", 0.0, 1.0, "van der Werf et al. 2010: 0.9-1.0"),
    _f("fire_cc_cwd", 0.5, "1", "Combustion completeness of coarse woody debris on the burned area", 0.0, 1.0,
       "van der Werf et al. 2010: 0.4-0.6"),
    _f("fire_fuel_min", 0.2, "kg C m-2", "Surface fuel (surface litter + coarse woody debris) above which fire "
       "is not fuel-limited; below it the burned fraction falls linearly to 0 (0 = no fuel limit)", 0.0, 5.0,
       "Thonicke et al. 2001 (no fire below 200 g C m-2); ramp as in Li et al. 2012"),
    _f("fire_tmin", 0.0, "degC", "No fire on days whose mean air temperature is at or below this", -20.0, 20.0,
       "LPJ (Sitch et al. 2003): fire days need air temperature above freezing"),
    _pft("harvest_index", [0.0] * 7 + [0.45, 0.45], "1", "Share of the crop leaf (above-ground) turnover removed "
         "at harvest and respired within the year as food and feed (on the C4 tile times its crop share)",
         0.0, 1.0, "Hay 1995 (Ann. Appl. Biol. 126, 197: modern cereals 0.4-0.5); residue removal not counted"),
    # ---- stand age (InTEC NPP-age curve, Chen et al. 2003) ------------------------------------
    _pft("age_default", [80.0, 100.0, 60.0, 150.0, 70.0, 0.0, 0.0, 0.0, 0.0], "yr", "Default stand age of forest "
         "tiles (non-forest: unused)", 0.0, 1000.0, "illustrative defaults (no global age map shipped)"),
    _pft("age_b", [1.0] * 9, "1", "NPP-age curve f(A) = 1 + (b (A/c)^d - 1) exp(-e A): b", 0.0, 10.0,
         "form of Chen et al. 2003 (InTEC); coefficients illustrative (0.66 at 10 yr, 1.2 at 40 yr, 1 when old)"),
    _pft("age_c", [20.0] * 9, "yr", "NPP-age curve: c (age of the maximum scale)", 1.0, 500.0,
         "form of Chen et al. 2003; illustrative"),
    _pft("age_d", [1.0] * 9, "1", "NPP-age curve: d", 0.1, 10.0, "form of Chen et al. 2003; illustrative"),
    _pft("age_e", [0.04] * 9, "yr-1", "NPP-age curve: e", 1e-4, 1.0, "form of Chen et al. 2003; illustrative"),
)

RETIRED_KEYS = {
    "canopy_albedo_vis": "replaced by 'leaf_par_scattering' (leaf scattering coefficient sigma for PAR, default "
                         "0.15: a leaf absorbs 1 - sigma; the old key set the absorbed share to 1 - canopy albedo, "
                         "which counted the scattered PAR twice; see validation/land/README.md, Round 5)",
}

NAMELIST_GROUPS = [Group("land_nml", "Terrestrial biosphere: BEPS photosynthesis and respiration, phenology, "
                         "InTEC carbon pools.", KEYS, retired=RETIRED_KEYS)]


def _check(cfg: Config) -> None:
    """Cross-key checks of &land_nml (run whether or not the land is active: parameters must be sane)."""
    p = cfg.land_nml
    where = f"{cfg.source}, &land_nml"
    if p.c4_grass_lat_full >= p.c4_grass_lat_zero:
        raise ConfigError(f"{where}: c4_grass_lat_full ({p.c4_grass_lat_full}) must be below c4_grass_lat_zero "
                          f"({p.c4_grass_lat_zero})")
    for i, name in enumerate(PFT_NAMES):
        if p.lai_min[i] > p.lai_max[i]:
            raise ConfigError(f"{where} lai_min: {p.lai_min[i]} for {name} exceeds lai_max {p.lai_max[i]}")
        total = p.alloc_leaf[i] + p.alloc_stem[i] + p.alloc_croot[i] + p.alloc_froot[i]
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"{where} alloc_leaf/alloc_stem/alloc_croot/alloc_froot: shares for {name} sum to "
                              f"{total:.6f}; they must sum to 1")
        if p.alloc_stem[i] > 0 and p.turnover_stem[i] <= 0:
            raise ConfigError(f"{where} turnover_stem: {name} allocates to stems but has no stem turnover")
        if p.alloc_croot[i] > 0 and p.turnover_croot[i] <= 0:
            raise ConfigError(f"{where} turnover_croot: {name} allocates to coarse roots but has no turnover")
    if p.gsi_tmin_low >= p.gsi_tmin_high:
        raise ConfigError(f"{where}: gsi_tmin_low must be below gsi_tmin_high")
    if p.gsi_vpd_low >= p.gsi_vpd_high:
        raise ConfigError(f"{where}: gsi_vpd_low must be below gsi_vpd_high")
    if p.gsi_photo_low >= p.gsi_photo_high:
        raise ConfigError(f"{where}: gsi_photo_low must be below gsi_photo_high")
    if not p.wilting_point < p.field_capacity <= p.porosity:
        raise ConfigError(f"{where}: need wilting_point ({p.wilting_point}) < field_capacity ({p.field_capacity}) "
                          f"<= porosity ({p.porosity})")
    if p.crop_min_interval < p.crop_season_days:
        raise ConfigError(f"{where}: crop_min_interval ({p.crop_min_interval} d) must be at least crop_season_days "
                          f"({p.crop_season_days} d)")
    if p.gsi_rew_low >= p.gsi_rew_high:
        raise ConfigError(f"{where}: gsi_rew_low must be below gsi_rew_high")
    if p.rm_stem_root_basis == "nitrogen":
        woody = np.asarray(p.allom_a, float) > 0
        bad = woody & ~(np.asarray(p.cn_livewood, float) > 0)
        if bad.any():
            names = ", ".join(PFT_NAMES[i] for i in np.flatnonzero(bad))
            raise ConfigError(f"{where}: cn_livewood must be > 0 kg C kg N-1 for the woody cover types ({names}) "
                              "when rm_stem_root_basis = 'nitrogen' (live wood has nitrogen)")
    if p.clay > p.silt_clay:
        raise ConfigError(f"{where}: clay ({p.clay}) exceeds silt_clay ({p.silt_clay})")
    if p.lai_source == "file" and not p.lai_file:
        raise ConfigError(f"{where}: lai_source = 'file' needs lai_file (a NetCDF with lai(time, lat, lon))")
    if "land" in cfg.coupler_nml.components and p.interval % cfg.time_control.dt:
        raise ConfigError(f"{where} interval = {p.interval} s is not a multiple of &time_control dt = "
                          f"{cfg.time_control.dt} s")
    if "land" in cfg.coupler_nml.components and 86400 % p.interval:
        raise ConfigError(f"{where} interval = {p.interval} s must divide one day (86400 s)")
    if p.co2_source == "atmosphere" and "co2" not in cfg.tracers_nml.names \
            and "land" in cfg.coupler_nml.components:
        raise ConfigError(f"{where} co2_source = 'atmosphere' but 'co2' is not in &tracers_nml names")


CONFIG_CHECKS = [_check]


# ---- resolved parameters as arrays -----------------------------------------------------------
class LandParameters:
    """All &land_nml values as attributes: floats, strings, bools, or numpy arrays (per-PFT, length 9)."""

    def __init__(self, values: dict):
        self.values = dict(values)
        self.__dict__.update(self.values)

    def __getattr__(self, name):
        if name.startswith("__") or name == "values":
            raise AttributeError(name)
        raise AttributeError(f"no land parameter {name!r}")

    @classmethod
    def from_config(cls, cfg: Config | None = None, **overrides) -> "LandParameters":
        """From a resolved Config (or the defaults), with optional keyword overrides (validated)."""
        from esm.config.registry import schema

        sch = schema()
        if cfg is None:
            cfg = sch.resolve({})
        if overrides:
            cfg = cfg.replace({"land_nml": overrides})
        vals = {}
        for k in NAMELIST_GROUPS[0].keys:
            v = cfg.land_nml[k.name]
            vals[k.name] = np.asarray(v, dtype=np.float64) if (k.is_list and k.type == "float") else v
        return cls(vals)

    @property
    def is_c4(self) -> np.ndarray:
        from esm.land.landcover import C4
        out = np.zeros(NPFT, dtype=bool)
        out[C4] = True
        return out
