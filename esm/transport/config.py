"""Parameter table of atmospheric transport: the ``&transport_nml`` namelist group.

Every number the transport uses lives here, with units and the source of its value;
the namelist can override each one. ``esm.config.registry`` imports :data:`TRANSPORT`
as a core group.
"""
from __future__ import annotations

from esm.config.schema import Group, Key

#: Advection schemes (names used in the namelist) -> kernel codes in ``cython_kernels/ffsl.pyx``.
ADVECTION_SCHEMES = {"ppm_monotone": 0, "ppm_linear": 1, "upwind": 2, "ppm_fct": 3, "ppm_positive": 4,
                     "ppm_ep": 5}

TRANSPORT = Group("transport_nml", "Atmospheric transport (air and tracer mass per cell): flux-form "
                  "semi-Lagrangian advection, boundary-layer diffusion, convective mass fluxes.", (
    # ---- switches ----------------------------------------------------------------------
    Key("enabled", "bool", False, "", "Transport tracers with the meteorology; when false, surface fluxes "
        "accumulate in the lowest layer (a 'box' atmosphere per column)"),
    Key("flux_injection", "str", "lowest_layer", "", "Where surface fluxes enter the atmosphere: "
        "'lowest_layer', or 'boundary_layer' (spread over the layers below the boundary-layer height in "
        "proportion to their air mass below it; needs met fields pblh and t)",
        choices=("lowest_layer", "boundary_layer")),
    Key("nonlocal_mixing", "bool", True, "", "Non-local (counter-gradient) transport of the surface fluxes "
        "in convective boundary layers, gamma_c = a w* (w'c')_0 / (w_m^2 h) in the outer layer (Holtslag & "
        "Boville 1993, eqs. 3.8, 3.10), as CCM2/CAM and the GEOS-Chem non-local PBL scheme (Lin & McElroy "
        "2010) apply it to tracers; with flux_injection = 'lowest_layer' and vertical_diffusion on "
        "('boundary_layer' injection already spreads the fluxes, so it is not applied there)",
        source="Holtslag & Boville 1993, J. Climate 6, 1825; Lin & McElroy 2010, Atmos. Environ. 44, 1726"),
    Key("advection", "bool", True, "", "Horizontal and vertical advection by the meteorological mass "
        "fluxes (switch off only for column tests: air mass then stays fixed)"),
    Key("vertical_diffusion", "bool", True, "", "Boundary-layer vertical diffusion (K profile of Holtslag & "
        "Boville 1993; needs met fields pblh, ustar, shflx, t2m, t)"),
    Key("convection", "bool", True, "", "Convective transport by the updraft mass flux (needs met fields "
        "cmfmc and dtrain), and by the downdraught mass flux where the meteorology provides one (dmf, "
        "ddtrain; see downdrafts)"),
    # ---- advection -----------------------------------------------------------------------
    Key("advection_scheme", "str", "ppm_monotone", "", "Sub-grid reconstruction of the flux-form "
        "semi-Lagrangian scheme (Lin & Rood 1996): 'ppm_monotone' (PPM with the Colella & Woodward 1984 "
        "monotonicity constraint), 'ppm_linear' (unlimited PPM, linear in the tracer: for tangent-linear "
        "and adjoint use), 'upwind' (first order), 'ppm_fct' (no new extrema, less clipping: the unlimited "
        "PPM flux corrected towards the monotone one by the Zalesak 1979 limiter in each 1-D sweep), "
        "'ppm_positive' (unlimited PPM whose parabolas that would go negative get the CW84 constraint: "
        "never negative, not monotone), 'ppm_ep' (as 'ppm_fct', but the Zalesak bounds of a cell that is "
        "a smooth extremum by the Colella & Sekora 2008 second-difference test are widened to the peak of "
        "the parabola with the limited second difference, clipped to the level's range before the sweep: "
        "smooth peaks are not clipped, discontinuities and plateaus keep Zalesak's local bounds; no new "
        "global extrema, a smooth extremum may grow within the level's range)", choices=tuple(ADVECTION_SCHEMES),
        source="Lin & Rood 1996, MWR 124, 2046; Colella & Woodward 1984, JCP 54, 174; "
        "Zalesak 1979, JCP 31, 335; Colella & Sekora 2008, JCP 227, 7069"),
    Key("horizontal_splitting", "str", "strang", "", "Combination of the zonal (X) and meridional (Y) "
        "sweeps: 'strang' (X Y Z on even steps, Z Y X on odd steps, step parity from the model time; "
        "Strang 1968) or 'lin_rood' (average of X-then-Y and Y-then-X every step, the Lin & Rood 1996 "
        "cross-term form; same accuracy in the Lauritzen et al. 2012 tests at twice the cost)",
        choices=("strang", "lin_rood"), source="Strang 1968, SIAM J. Numer. Anal. 5, 506; Lin & Rood 1996"),
    Key("max_meridional_subcycles", "int", 16, "1", "Largest number of meridional sub-steps per level "
        "and step; a flow that needs more (mass Courant number above this) stops the run with an error",
        vmin=1, vmax=1000),
    Key("ps_tolerance", "float", 0.01, "Pa", "Largest accepted difference between the surface pressure "
        "implied by the model air mass plus the mass-flux convergence and the meteorology's end-of-step "
        "surface pressure (the pressure-fixer contract of MassFluxes); the model follows its own air mass",
        vmin=0.0),
    # ---- boundary-layer diffusion (Holtslag & Boville 1993, J. Climate 6, 1825) ---------
    Key("von_karman", "float", 0.4, "1", "von Karman constant kappa", vmin=0.3, vmax=0.45,
        source="Holtslag & Boville 1993 (kappa = 0.4)"),
    Key("surface_layer_fraction", "float", 0.1, "1", "Depth of the surface layer as a fraction epsilon of "
        "the boundary-layer height", vmin=0.01, vmax=0.5, source="Holtslag & Boville 1993, appendix (epsilon = 0.1)"),
    Key("wm_coefficient", "float", 0.6, "1", "c1 in the mixed-layer velocity scale "
        "w_m = (u*^3 + c1 w*^3)^(1/3)", vmin=0.0, vmax=5.0, source="Holtslag & Boville 1993, eq. A11"),
    Key("prandtl_coefficient", "float", 7.2, "1", "a in the mixed-layer Prandtl number "
        "Pr = phi_h/phi_m(eps h/L) + a kappa eps w*/w_m and in the counter-gradient term "
        "gamma_c = a w* (w'c')_0 / (w_m^2 h) (see nonlocal_mixing)", vmin=0.0, vmax=20.0,
        source="Holtslag & Boville 1993, eqs. 3.10, A13"),
    Key("stable_phi_coefficient", "float", 5.0, "1", "beta in phi_h = phi_m = 1 + beta z/L for "
        "0 <= z/L <= 1 (and beta + z/L above)", vmin=0.0, vmax=20.0,
        source="Holtslag & Boville 1993, eqs. A2-A5"),
    Key("unstable_phi_coefficient", "float", 15.0, "1", "gamma in phi_h = (1 - gamma z/L)^(-1/2), "
        "phi_m = (1 - gamma z/L)^(-1/3)", vmin=0.0, vmax=50.0, source="Holtslag & Boville 1993, eqs. A6, A8"),
    Key("k_background", "float", 0.0, "m2 s-1", "Eddy diffusivity added at every interface (free "
        "troposphere); 0 = mixing only inside the boundary layer", vmin=0.0, vmax=100.0),
    Key("ustar_min", "float", 0.01, "m s-1", "Lower bound on the friction velocity (keeps the Obukhov "
        "length finite in calm conditions)", vmin=1.0e-4, vmax=1.0),
    # ---- convection ---------------------------------------------------------------------
    Key("max_convection_subcycles", "int", 200, "1", "Largest number of explicit sub-steps of the "
        "convective mass-flux update per column and step (the sub-step keeps every layer's "
        "outflow below its air mass)", vmin=1, vmax=100000),
    Key("downdrafts", "bool", True, "", "Convective downdraughts with compensating ascent (Tiedtke 1989 "
        "bulk budgets) when the meteorology provides the downdraught mass flux dmf and detrainment ddtrain "
        "(ERA5 mdmf); sources without them (MERRA-2, the embedded climatology) have updrafts only"),
    # ---- input checking -----------------------------------------------------------------
    Key("check_inputs", "bool", True, "", "Scan mass fluxes, surface fluxes and meteorological fields for "
        "non-finite and out-of-range values every step (errors name the field, time and cell); shapes are "
        "always checked, and the kernels always stop on a non-positive air mass"),
))

NAMELIST_GROUPS: list[Group] = []  # TRANSPORT is a core group, added by esm.config.registry
