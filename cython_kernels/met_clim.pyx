# cython: language_level=3
"""Kernels of the embedded climatology (wrapped by esm.meteorology.climatology, which documents every
formula and its source; the comments here name the formula each line implements).

Surface fields are evaluated per cell of a *selection* (all cells of the grid, or e.g. the land cells
for a component's spin-up) in two stages:

* ``season_record``: everything that depends on the season only (precipitation, clouds, SST, sea ice,
  daily-mean temperature, surface pressure, humidity, soil, winds, ocean boundary layer), evaluated at
  the 3-hourly record times;
* ``surface_fields``: the record interpolated linearly to the time plus the time-of-day terms (solar
  geometry, shortwave, diurnal 2-m, skin and top-soil temperature, vapour-pressure deficit, sensible heat,
  boundary-layer growth).

Static per-cell quantities come in the table ``st`` (rows named by ``STATIC``), latitude-only seasonal
terms in ``rows`` (rows named by ``ROWS``, indexed by the cell's grid row), per-call solar terms in
``lat_tab`` (by grid row) and ``lon_tab`` (by grid column). The per-cell tables ``st`` and the season
records are cell-major (cell, quantity: one cache line per cell instead of one stream per quantity);
the surface output is field-major (field, cell), so that every field is a contiguous array.

The 3-D record kernels (``zonal_wind_fluxes``, ``overturning_streamfunction``, ``eddy_corner_weights``,
``thermo_record``) work on (level, lat, lon) arrays with threads over latitude rows.

Every loop over cells runs without the GIL in OpenMP threads with a static schedule, and each output
element is computed by one fixed sequence of operations, so results do not depend on the thread count.
"""
import numpy as np

from cython.parallel import prange, threadid

cimport cython
from libc.math cimport cos, exp, fabs, floor, fmod, log, pow, sin, sqrt

# ---- physical constants (the same values as esm.constants / esm.meteorology.thermo)
cdef double G0 = 9.80665
cdef double T_FREEZE = 273.15
cdef double PI = 3.141592653589793

# ---------------------------------------------------------------- table layouts (keep in sync below)
STATIC = ("lat", "land", "land_smooth", "p_warm", "p_storm", "p_background", "p_desert", "p_dry_east",
          "c_storm", "c_strato", "c_polar", "sst_anom", "ice_lon", "t_land_ann", "half_lapse_h", "height",
          "slp0", "slp_lon", "slp_lat", "damp", "sigma", "h_ocean")
cdef enum:
    S_LAT, S_LAND, S_LS, S_PWARM, S_PSTORM, S_PBG, S_PDESERT, S_PDRY, S_CSTORM, S_CSTRATO, S_CPOLAR, \
    S_SSTANOM, S_ICELON, S_TLAND, S_HALFLAPSEH, S_HEIGHT, S_SLP0, S_SLPLON, S_SLPLAT, S_DAMP, S_SIGMA, \
    S_HOCEAN, N_STATIC

ROWS = ("sst_row", "t_ice", "t_land_season", "t_land_season_lag", "tsoil_season", "toa_daily", "u10", "v10",
        "tsoil_top_season")
cdef enum:
    R_SST, R_TICE, R_TLAND, R_TLANDLAG, R_TSOIL, R_TOA, R_U10, R_V10, R_TSOILTOP, N_ROWS

SEASON_PARAMS = ("s_land", "s_ocean", "s_ice", "s_land_lag", "s_ocean_lag", "precip_itcz", "cloud_attenuation",
                 "cloud_exponent", "rh_surface_ocean", "t_seawater_freeze", "r_dry", "rho_cp_ch",
                 "ln_z_ratio", "karman", "psychrometric", "latent_heat")
cdef enum:
    P_SLAND, P_SOCEAN, P_SICE, P_SLANDLAG, P_SOCEANLAG, P_PITCZ, P_CLOUDA, P_CLOUDB, P_RHO, P_TSWF, P_RDRY, \
    P_RHOCPCH, P_LNZ, P_KARMAN, P_GAMMAPSY, P_LVAP, N_SEASON_PARAMS

#: Season record, part 1 (cell-major, read by ``surface_fields``).
SEASON_CELL = ("sst", "seaice", "_cloud", "trans", "_t2m_daily", "bowen", "ps", "e_daily", "sh_ocean", "h_ocean",
               "_tsoil_top_daily")
cdef enum:
    E_SST, E_ICE, E_CLOUD, E_TRANS, E_TDAILY, E_BOWEN, E_PS, E_EDAILY, E_SHOCEAN, E_HOCEAN, E_TSOILTOP, N_SEASON_CELL

#: Season record, part 2 (field-major): fields passed through, interpolated in time on access.
SEASON_FIELD = ("ustar", "precip", "soilm", "tsoil", "wind10", "_u10", "_v10", "_rh")
cdef enum:
    Q_USTAR, Q_PRECIP, Q_SOILM, Q_TSOIL, Q_WIND10, Q_U10, Q_V10, Q_RH, N_SEASON_FIELD

LAT_TAB = ("sin_sin", "cos_cos", "sunset_angle", "sin_sunset")
cdef enum:
    L_A, L_B, L_H0, L_SINH0, N_LAT_TAB

LON_TAB = ("cos_hour_angle", "hour_angle", "cos_diurnal_t", "cos_diurnal_tsoil_top")
cdef enum:
    O_COSH, O_H, O_COSLST, O_COSSOIL, N_LON_TAB

DIURNAL_PARAMS = ("alpha", "toa_scale", "s0", "t2m_diurnal_amplitude", "par_fraction", "pbl_night_land",
                  "pbl_gamma_theta", "rho_cp", "epsilon", "tsoil_top_damping")
cdef enum:
    D_ALPHA, D_TOASCALE, D_S0, D_DIURNAL, D_PAR, D_HN, D_GAMMA, D_RHOCP, D_EPS, D_SOILDAMP, N_DIURNAL_PARAMS

#: Output of ``surface_fields`` (field-major); the first five are the record's SEASON_CELL fields interpolated.
DIURNAL = ("ps", "sst", "seaice", "_t2m_daily", "_cloud", "t2m", "q2m", "vpd", "tskin", "swdown",
           "swdown_diffuse", "par", "cos_sza", "shflx", "pblh", "tsoil_top")
cdef enum:
    F_PS, F_SST, F_ICE, F_TDAILY, F_CLOUD, F_T2M, F_Q2M, F_VPD, F_TSKIN, F_SW, F_SWDIF, F_PAR, F_COSSZA, \
    F_SHFLX, F_PBLH, F_TSOILTOP, N_DIURNAL


# ---------------------------------------------------------------- helpers
cdef inline double _gauss(double x, double x0, double w) noexcept nogil:
    cdef double d = (x - x0) / w
    return exp(-(d * d))


cdef inline double _clip(double x, double lo, double hi) noexcept nogil:
    return lo if x < lo else (hi if x > hi else x)


cdef inline double _esat(double t) noexcept nogil:
    """Bolton (1980) eq. 10 [Pa]."""
    cdef double tc = t - T_FREEZE
    return 611.2 * exp(17.67 * tc / (tc + 243.5))


cdef inline double _precip(const double* s, double s_land, double s_ocean, double p_itcz) noexcept nogil:
    """GPCP-like precipitation [mm day-1]: ITCZ / monsoon Gaussian, storm tracks, background, deserts.
    ``s``: the cell's row of the static table."""
    cdef double ls = s[S_LS]
    cdef double lat = s[S_LAT]
    cdef double lat_i = (1.0 - ls) * (4.0 + 6.0 * s_ocean) + ls * (2.0 + 14.0 * s_land)
    cdef double itcz = p_itcz * _gauss(lat, lat_i, 8.0) * s[S_PWARM]
    cdef double desert = 1.0 - s[S_PDESERT] * (1.0 - _gauss(lat, lat_i, 12.0))
    return (itcz + s[S_PSTORM] + s[S_PBG]) * desert * s[S_PDRY]


cdef inline double _cloud(const double* s, double precip) noexcept nogil:
    """Cloud fraction: precipitation-driven + storm-track, stratocumulus and polar terms."""
    cdef double cl = 0.38 + 0.40 * (1.0 - exp(-precip / 3.0)) + s[S_CSTORM] + s[S_CSTRATO] + s[S_CPOLAR]
    return _clip(cl, 0.05, 0.95)


cdef inline double _sea_ice(const double* s, double s_ice) noexcept nogil:
    """Sea-ice concentration: pack poleward of a seasonal ice edge with a 4-degree transition."""
    cdef double lat = s[S_LAT]
    cdef double edge, conc
    if lat > 0:
        edge = 70.0 + 8.0 * s_ice + s[S_ICELON]
        conc = 0.90 - 0.05 * s_ice
        return conc * _clip(0.5 + (lat - edge) / 4.0, 0.0, 1.0)
    edge = 65.5 - 6.5 * s_ice
    conc = 0.90 + 0.05 * s_ice
    return conc * _clip(0.5 + (-lat - edge) / 4.0, 0.0, 1.0)


cdef inline void _sst_ice_tdaily(const double* s, double sst_row, double t_ice_row, double t_land_row, double tf,
                                 double s_ice, double* sst, double* ice, double* tday) noexcept nogil:
    """SST (freezing under ice), sea ice and the daily-mean 2-m temperature (land / open ocean / ice)."""
    cdef double raw = sst_row + s[S_SSTANOM]
    cdef double lf = s[S_LAND]
    if raw < tf:
        raw = tf
    ice[0] = _sea_ice(s, s_ice)
    sst[0] = tf if ice[0] > 0.0 else raw
    cdef double ocean = (1.0 - ice[0]) * (sst[0] - 1.0) + ice[0] * t_ice_row
    tday[0] = lf * (s[S_TLAND] + t_land_row) + (1.0 - lf) * ocean


cdef inline double _ps_raw(const double* s, double tday, double s_land, double r_dry) noexcept nogil:
    """Sea-level pressure reduced to the surface height (hypsometric), before the global scaling [Pa]."""
    cdef double slp = (s[S_SLP0] - 18.0 * s_land * s[S_SLPLON] * s[S_SLPLAT]) * 100.0
    cdef double h = s[S_HEIGHT]
    if h == 0.0:
        return slp
    return slp * exp(-G0 * h / (r_dry * (tday + s[S_HALFLAPSEH])))


# ---------------------------------------------------------------- surface: season records
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def season_record(const double[:, ::1] st, const int[::1] row, const double[:, ::1] rows,
                  const double[::1] par, double[:, ::1] rec_cell, double[:, ::1] rec_field, bint ps_only=False,
                  int nthreads=1):
    """Season-dependent surface quantities of every selected cell: ``rec_cell`` (ncell, SEASON_CELL) and
    ``rec_field`` (SEASON_FIELD, ncell).

    ``ps_only``: compute only the surface pressure before the global air-mass scaling (column ``ps`` of
    ``rec_cell``; the rest is left untouched), for the scaling of a cell subset.
    """
    cdef Py_ssize_t n = st.shape[0]
    cdef Py_ssize_t c, j
    cdef double sst, ice, tday, lf, precip, cloud, rh, pl, cll, trl, tl, sw_day, es, delta, pet, wet
    cdef double u10, v10, sig, w10, u, cd, ust_o, ust_l, t_air_o
    if st.shape[1] != N_STATIC or rows.shape[0] != N_ROWS or par.shape[0] != N_SEASON_PARAMS \
            or rec_cell.shape[1] != N_SEASON_CELL or rec_cell.shape[0] != n or row.shape[0] != n \
            or rec_field.shape[0] != N_SEASON_FIELD or rec_field.shape[1] != n:
        raise ValueError("season_record: table shapes do not match the kernel's layout")
    for c in prange(n, nogil=True, num_threads=nthreads, schedule="static"):
        j = row[c]
        lf = st[c, S_LAND]
        # (assigned here so that the prange makes them thread-private; the call fills them via pointers)
        sst = 0.0
        ice = 0.0
        tday = 0.0
        _sst_ice_tdaily(&st[c, 0], rows[R_SST, j], rows[R_TICE, j], rows[R_TLAND, j], par[P_TSWF], par[P_SICE],
                        &sst, &ice, &tday)
        rec_cell[c, E_PS] = _ps_raw(&st[c, 0], tday, par[P_SLAND], par[P_RDRY])
        if ps_only:
            continue
        rec_cell[c, E_SST] = sst
        rec_cell[c, E_ICE] = ice
        rec_cell[c, E_TDAILY] = tday
        # precipitation, clouds, Kasten-Czeplak transmission
        precip = _precip(&st[c, 0], par[P_SLAND], par[P_SOCEAN], par[P_PITCZ])
        cloud = _cloud(&st[c, 0], precip)
        rec_field[Q_PRECIP, c] = precip / 86400.0
        rec_cell[c, E_CLOUD] = cloud
        rec_cell[c, E_TRANS] = 1.0 - par[P_CLOUDA] * pow(cloud, par[P_CLOUDB])
        # 2-m relative humidity and the vapour pressure of the daily-mean temperature
        rh = lf * (0.35 + 0.45 * (1.0 - exp(-precip / 2.0))) + (1.0 - lf) * ((1.0 - ice) * par[P_RHO] + ice * 0.9)
        rec_field[Q_RH, c] = rh
        rec_cell[c, E_EDAILY] = rh * _esat(tday)
        # soil wetness W = P / (P + PET) from the fields 30 days earlier (Priestley-Taylor PET)
        pl = _precip(&st[c, 0], par[P_SLANDLAG], par[P_SOCEANLAG], par[P_PITCZ])
        cll = _cloud(&st[c, 0], pl)
        trl = 1.0 - par[P_CLOUDA] * pow(cll, par[P_CLOUDB])
        tl = st[c, S_TLAND] + rows[R_TLANDLAG, j]
        sw_day = rows[R_TOA, j] * 0.75 * trl
        es = _esat(tl)
        delta = es * 17.67 * 243.5 / ((tl - T_FREEZE + 243.5) * (tl - T_FREEZE + 243.5))
        pet = 1.26 * delta / (delta + par[P_GAMMAPSY]) * (0.6 * sw_day if sw_day > 0.0 else 0.0) \
            / par[P_LVAP] * 86400.0
        if not tl > T_FREEZE:
            pet = 0.2 * pet
        wet = pl / (pl + pet + 1e-6)
        rec_field[Q_SOILM, c] = 0.05 + (0.45 - 0.05) * wet
        rec_cell[c, E_BOWEN] = 0.3 + 2.7 * ((1.0 - wet) * (1.0 - wet))
        rec_field[Q_TSOIL, c] = st[c, S_TLAND] + rows[R_TSOIL, j]
        rec_cell[c, E_TSOILTOP] = st[c, S_TLAND] + rows[R_TSOILTOP, j]
        # 10-m wind with synoptic variability, friction velocity (Large & Yeager 2004; log law over land)
        u10 = rows[R_U10, j] * st[c, S_DAMP]
        v10 = rows[R_V10, j] * st[c, S_DAMP]
        sig = st[c, S_SIGMA]
        w10 = sqrt(u10 * u10 + v10 * v10 + sig * sig)
        rec_field[Q_U10, c] = u10
        rec_field[Q_V10, c] = v10
        rec_field[Q_WIND10, c] = w10
        u = w10 if w10 > 0.5 else 0.5
        cd = (2.70 / u + 0.142 + 0.0764 * u) * 1e-3
        ust_o = sqrt(cd) * u
        ust_l = par[P_KARMAN] * u / par[P_LNZ]
        u = lf * ust_l + (1.0 - lf) * ust_o
        rec_field[Q_USTAR, c] = u if u > 0.02 else 0.02
        # ocean sensible heat (bulk formula) and boundary layer
        t_air_o = sst + 1.0 if ice > 0.0 else sst - 1.0
        rec_cell[c, E_SHOCEAN] = par[P_RHOCPCH] * w10 * (sst - t_air_o)
        rec_cell[c, E_HOCEAN] = (1.0 - ice) * st[c, S_HOCEAN] + ice * 300.0


# ---------------------------------------------------------------- surface: the time of day
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def surface_fields(const double[::1] land, const int[::1] row, const int[::1] col, const double[:, ::1] rec0,
                   const double[:, ::1] rec1, const double[:, ::1] lat_tab, const double[:, ::1] lon_tab,
                   const double[::1] par, double[:, ::1] out, int nthreads=1):
    """The time-of-day surface fields (``DIURNAL``) of the selected cells into ``out`` (N_DIURNAL, ncell).

    ``rec0``/``rec1``: the cell-major season records (ncell, SEASON_CELL) before and after the time,
    interpolated with weight ``alpha`` (``par``); ``land``: land fraction of the cells.
    """
    cdef Py_ssize_t n = land.shape[0]
    cdef Py_ssize_t c, j, i
    cdef double a = par[D_ALPHA]
    cdef double b = 1.0 - a
    cdef double lf, ice, sst, cloud, trans, tday, mu, mu_pos, clear, sw, toa, kt, kd, t2m, es, e, bowen, sh_land
    cdef double h0, hc, integral, f_h, heat, h_land, ps
    if rec0.shape[1] != N_SEASON_CELL or rec1.shape[1] != N_SEASON_CELL or rec0.shape[0] != n \
            or rec1.shape[0] != n or lat_tab.shape[0] != N_LAT_TAB or lon_tab.shape[0] != N_LON_TAB \
            or par.shape[0] != N_DIURNAL_PARAMS or out.shape[0] != N_DIURNAL or out.shape[1] != n \
            or row.shape[0] != n or col.shape[0] != n:
        raise ValueError("surface_fields: table shapes do not match the kernel's layout")
    for c in prange(n, nogil=True, num_threads=nthreads, schedule="static"):
        j = row[c]
        i = col[c]
        lf = land[c]
        ice = b * rec0[c, E_ICE] + a * rec1[c, E_ICE]
        sst = b * rec0[c, E_SST] + a * rec1[c, E_SST]
        cloud = b * rec0[c, E_CLOUD] + a * rec1[c, E_CLOUD]
        trans = b * rec0[c, E_TRANS] + a * rec1[c, E_TRANS]
        tday = b * rec0[c, E_TDAILY] + a * rec1[c, E_TDAILY]
        bowen = b * rec0[c, E_BOWEN] + a * rec1[c, E_BOWEN]
        ps = b * rec0[c, E_PS] + a * rec1[c, E_PS]
        # solar geometry (Iqbal 1983 eq. 1.5.1) and Haurwitz (1945) clear sky x Kasten-Czeplak clouds
        mu = lat_tab[L_A, j] + lat_tab[L_B, j] * lon_tab[O_COSH, i]
        mu_pos = mu if mu > 0.0 else 0.0
        if mu > 1e-3:
            clear = 1098.0 * par[D_TOASCALE] * mu * exp(-0.057 / mu)
        else:
            clear = 0.0
        sw = clear * trans
        # Erbs et al. (1982) diffuse fraction of the clearness index
        toa = par[D_S0] * mu_pos
        kt = sw / toa if toa > 1.0 else 0.0
        if kt <= 0.22:
            kd = 1.0 - 0.09 * kt
        elif kt <= 0.80:
            kd = 0.9511 - 0.1604 * kt + 4.388 * (kt * kt) - 16.638 * (kt * kt * kt) + 12.336 * ((kt * kt) * (kt * kt))
        else:
            kd = 0.165
        # 2-m temperature: daily mean + land diurnal cycle damped by clouds
        t2m = tday + lf * (par[D_DIURNAL] * (1.0 - 0.6 * cloud) * lon_tab[O_COSLST, i])
        es = _esat(t2m)
        e = b * rec0[c, E_EDAILY] + a * rec1[c, E_EDAILY]
        if es < e:
            e = es
        out[F_PS, c] = ps
        out[F_SST, c] = sst
        out[F_ICE, c] = ice
        out[F_TDAILY, c] = tday
        out[F_CLOUD, c] = cloud
        out[F_T2M, c] = t2m
        out[F_Q2M, c] = par[D_EPS] * e / (ps - (1.0 - par[D_EPS]) * e)
        out[F_VPD, c] = es - e if es - e > 0.0 else 0.0
        out[F_SW, c] = sw
        out[F_SWDIF, c] = sw * _clip(kd, 0.0, 1.0)
        out[F_PAR, c] = par[D_PAR] * sw
        out[F_COSSZA, c] = mu_pos
        # sensible heat: daytime Bowen-ratio partition of 0.6 SW over land, -15 W m-2 at night
        if mu > 0.0:
            sh_land = 0.6 * sw * bowen / (1.0 + bowen)
        else:
            sh_land = -15.0
        out[F_SHFLX, c] = lf * sh_land + (1.0 - lf) * (b * rec0[c, E_SHOCEAN] + a * rec1[c, E_SHOCEAN])
        # skin temperature: radiative excess over land by day, -1.5 K at night; SST; ice at t2m
        out[F_TSKIN, c] = lf * (t2m + (0.012 * sw if mu > 0.0 else -1.5)) + (1.0 - lf) * ((1.0 - ice) * sst + ice * t2m)
        # boundary layer over land: encroachment with the sensible heat integrated from sunrise (Tennekes 1973)
        h0 = lat_tab[L_H0, j]
        hc = _clip(lon_tab[O_H, i], -h0, h0)
        integral = (lat_tab[L_A, j] * (hc + h0) + lat_tab[L_B, j] * (sin(hc) + lat_tab[L_SINH0, j])) \
            * 86400.0 / (2.0 * PI)
        f_h = 0.6 * 0.75 * trans * bowen / (1.0 + bowen)
        heat = f_h * par[D_S0] * integral / par[D_RHOCP]
        if mu > 0.0:
            h_land = sqrt(par[D_HN] * par[D_HN] + 2.0 * 1.4 * heat / par[D_GAMMA])
        else:
            h_land = par[D_HN]
        if h_land > 4000.0:
            h_land = 4000.0
        out[F_PBLH, c] = lf * h_land + (1.0 - lf) * (b * rec0[c, E_HOCEAN] + a * rec1[c, E_HOCEAN])
        # top-soil temperature: its daily record plus the land's diurnal wave (that of t2m over land, not scaled by
        # the land fraction: a land-only field), damped and delayed by conduction to the depth (exp(-z/d), z/d)
        out[F_TSOILTOP, c] = b * rec0[c, E_TSOILTOP] + a * rec1[c, E_TSOILTOP] \
            + par[D_SOILDAMP] * par[D_DIURNAL] * (1.0 - 0.6 * cloud) * lon_tab[O_COSSOIL, i]


# ---------------------------------------------------------------- 3-D records
cdef inline double _free_u(double lnp, const double[::1] lnc, double jet, double east, double strat) noexcept nogil:
    """Zonal wind above the surface coupling at ln p: subtropical jets, tropical upper easterlies, polar-night jets."""
    cdef double d = (lnp - lnc[0]) / 1.1
    cdef double u = exp(-(d * d)) * jet
    d = (lnp - lnc[1]) / 0.6
    u = u - east * exp(-(d * d))
    return u + _clip((lnc[2] - lnp) / lnc[3], 0.0, 1.5) * strat


cdef inline double _eddy_low(double p, double pm) noexcept nogil:
    """Eddy profile E below 250 hPa (equivalent barotropic, rising from 0.6 at the surface)."""
    cdef double x = _clip((p - pm) / (p - 25000.0 if p - 25000.0 > 1.0 else 1.0), 0.0, 1.0)
    return 0.6 + 0.4 * sin(0.5 * PI * x)


cdef inline double _eddy_high(double pm) noexcept nogil:
    """Eddy profile E above 250 hPa (decaying with ln p)."""
    cdef double x = log(25000.0 / pm)
    return exp(-(x if x > 0.0 else 0.0) / 1.5)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _mean_flow_row(const double[:, ::1] ps, const double[::1] ap, const double[::1] bp, const double[::1] dap,
                         const double[::1] dbp, double jet, double east, double strat, const double[:, ::1] u10,
                         const double[::1] lnc, double dy_over_g, double ref, double[:, :, ::1] mfx,
                         double[:, :, ::1] w, Py_ssize_t j, double* u_row, double* dp_row) noexcept nogil:
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t k, i, im
    cdef double p, pm, dp, d, e, us, ws
    for k in range(nlev):
        if bp[k] == 0.0 and bp[k + 1] == 0.0 and dbp[k] == 0.0:
            # pure-pressure layer: pm, dp and every term but the surface coupling are the same in the whole
            # row, evaluated once (the same operations as below, so the same numbers)
            pm = 0.5 * (ap[k] + ap[k + 1])
            dp = dap[k]
            us = _free_u(log(pm), lnc, jet, east, strat)
            ws = dp * (_eddy_high(pm) / ref) / G0 if pm < 25000.0 else 0.0
            for i in range(nlon):
                p = ps[j, i]
                d = (p - pm) / 25000.0
                u_row[i] = us + 1.2 * u10[j, i] * exp(-(d * d))
                dp_row[i] = dp
                if pm >= 25000.0:
                    w[k, j, i] = dp * (_eddy_low(p, pm) / ref) / G0
                else:
                    w[k, j, i] = ws
            for i in range(nlon):
                im = i - 1 if i > 0 else nlon - 1
                mfx[k, j, i] = 0.5 * (u_row[i] + u_row[im]) * (0.5 * (dp_row[i] + dp_row[im])) * dy_over_g
            continue
        for i in range(nlon):
            p = ps[j, i]
            pm = 0.5 * ((ap[k] + bp[k] * p) + (ap[k + 1] + bp[k + 1] * p))
            dp = dap[k] + dbp[k] * p
            # zonal wind: subtropical jets, tropical upper easterlies, polar-night jets, surface coupling
            d = (p - pm) / 25000.0
            u_row[i] = _free_u(log(pm), lnc, jet, east, strat) + 1.2 * u10[j, i] * exp(-(d * d))
            dp_row[i] = dp
            # eddy weight E(p) dp / g: equivalent barotropic below 250 hPa, decaying above
            e = _eddy_low(p, pm) if pm >= 25000.0 else _eddy_high(pm)
            w[k, j, i] = dp * (e / ref) / G0
        for i in range(nlon):
            im = i - 1 if i > 0 else nlon - 1
            mfx[k, j, i] = 0.5 * (u_row[i] + u_row[im]) * (0.5 * (dp_row[i] + dp_row[im])) * dy_over_g


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def mean_flow_record(const double[:, ::1] ps, const double[::1] ap, const double[::1] bp, const double[::1] dap,
                     const double[::1] dbp, const double[::1] jet, const double[::1] east, const double[::1] strat,
                     const double[:, ::1] u10, const double[::1] lnc, double dy_over_g, double ref,
                     double[:, :, ::1] mfx, double[:, :, ::1] w, int nthreads=1, Py_ssize_t j0=0,
                     Py_ssize_t j1=-1):
    """Zonal mass fluxes of the mean flow on west faces ``mfx`` and the eddy layer weights ``w = E(p) dp / g``
    at cell centres, (nlev, nlat, nlon), from the surface pressure of a record; only the rows
    ``j0 <= j < j1`` (default: all) are written (each row is independent of the others, so a record built
    row range by row range is the same, bit for bit, as one built in one call).

    ``jet``, ``east``, ``strat``: latitude factors (nlat) of the jets, the tropical upper easterlies and
    the polar-night jets; ``u10`` the 10-m zonal wind; ``lnc`` = ln of 200 hPa, 150 hPa, 100 hPa and of 100;
    ``ref`` the eddy structure at 500 hPa (normalisation).
    """
    cdef Py_ssize_t nlev = mfx.shape[0]
    cdef Py_ssize_t nlat = mfx.shape[1]
    cdef Py_ssize_t nlon = mfx.shape[2]
    cdef Py_ssize_t j
    cdef int t
    if ap.shape[0] != nlev + 1 or bp.shape[0] != nlev + 1 or dap.shape[0] != nlev or dbp.shape[0] != nlev \
            or ps.shape[0] != nlat or ps.shape[1] != nlon or u10.shape[0] != nlat or u10.shape[1] != nlon \
            or jet.shape[0] != nlat or east.shape[0] != nlat or strat.shape[0] != nlat or lnc.shape[0] != 4 \
            or w.shape[0] != nlev or w.shape[1] != nlat or w.shape[2] != nlon:
        raise ValueError("mean_flow_record: array shapes do not match")
    if j1 < 0:
        j1 = nlat
    if j0 < 0 or j0 > j1 or j1 > nlat:
        raise ValueError(f"mean_flow_record: row range [{j0}, {j1}) outside [0, {nlat}]")
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), 2 * nlon))
    for j in prange(j0, j1, nogil=True, num_threads=nthreads, schedule="static"):
        t = threadid()
        _mean_flow_row(ps, ap, bp, dap, dbp, jet[j], east[j], strat[j], u10, lnc, dy_over_g, ref, mfx, w, j,
                       &work[t, 0], &work[t, nlon])


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def corner_weights(const double[:, :, ::1] w, double[:, :, ::1] wc, int nthreads=1):
    """Mean of the (up to) four cells around each cell corner: ``wc`` (nlev, nlat+1, nlon) from ``w``
    (nlev, nlat, nlon); the pole rows take the zonal mean of the polar row."""
    cdef Py_ssize_t nlev = w.shape[0]
    cdef Py_ssize_t nlat = w.shape[1]
    cdef Py_ssize_t nlon = w.shape[2]
    cdef Py_ssize_t k, j, i, im
    cdef double s0, s1
    if wc.shape[0] != nlev or wc.shape[1] != nlat + 1 or wc.shape[2] != nlon:
        raise ValueError("corner_weights: wc must be (nlev, nlat+1, nlon)")
    for k in prange(nlev, nogil=True, num_threads=nthreads, schedule="static"):
        s0 = 0.0
        s1 = 0.0
        for i in range(nlon):
            im = i - 1 if i > 0 else nlon - 1
            s0 = s0 + 0.5 * (w[k, 0, i] + w[k, 0, im])
            s1 = s1 + 0.5 * (w[k, nlat - 1, i] + w[k, nlat - 1, im])
        for i in range(nlon):
            wc[k, 0, i] = s0 / nlon
            wc[k, nlat, i] = s1 / nlon
        for j in range(1, nlat):
            for i in range(nlon):
                im = i - 1 if i > 0 else nlon - 1
                wc[k, j, i] = 0.5 * (0.5 * (w[k, j, i] + w[k, j, im]) + 0.5 * (w[k, j - 1, i] + w[k, j - 1, im]))


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def overturning_fluxes(const double[:, ::1] ps_face, const double[::1] ap, const double[::1] bp,
                       const double[::1] amp, const double[::1] ptop, const double[:, ::1] shape,
                       double[:, :, ::1] mfy, int nthreads=1, Py_ssize_t j0=0, Py_ssize_t j1=-1):
    """Meridional mass fluxes of the overturning cells through south faces, (nlev, nlat+1, nlon):
    ``Psi = sum_m amp_m L_m(lat) sin(pi x_m)``, ``x = (ps - p) / (ps - ptop_m)`` clipped to [0, 1], at the
    interfaces of the face's own pressure ``ps_face`` (nlat+1, nlon); ``mfy_k = Psi_{k+1} - Psi_k``, zero
    through the poles. ``amp`` per cell and face column [kg s-1], ``shape`` (ncell, nlat+1) = L_m. Only the face
    rows ``j0 <= j < j1`` (default: all) are written (each independently of the others)."""
    cdef Py_ssize_t nlev = mfy.shape[0]
    cdef Py_ssize_t nface = mfy.shape[1]
    cdef Py_ssize_t nlon = mfy.shape[2]
    cdef Py_ssize_t ncell = amp.shape[0]
    cdef Py_ssize_t k, j, i, m
    cdef int t
    cdef double p, pe, x, s
    cdef double* psi
    if ap.shape[0] != nlev + 1 or bp.shape[0] != nlev + 1 or ps_face.shape[0] != nface \
            or ps_face.shape[1] != nlon or ptop.shape[0] != ncell or shape.shape[0] != ncell \
            or shape.shape[1] != nface:
        raise ValueError("overturning_fluxes: array shapes do not match")
    cdef double sin_pi = sin(PI * 1.0)
    if j1 < 0:
        j1 = nface
    if j0 < 0 or j0 > j1 or j1 > nface:
        raise ValueError(f"overturning_fluxes: face row range [{j0}, {j1}) outside [0, {nface}]")
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), nlev + 1))
    for j in prange(j0, j1, nogil=True, num_threads=nthreads, schedule="static"):
        t = threadid()
        psi = &work[t, 0]
        for i in range(nlon):
            if j == 0 or j == nface - 1:
                for k in range(nlev):
                    mfy[k, j, i] = 0.0
                continue
            p = ps_face[j, i]
            for k in range(nlev + 1):
                psi[k] = 0.0
            for m in range(ncell):
                s = shape[m, j]
                if s == 0.0:
                    continue
                for k in range(nlev + 1):
                    pe = ap[k] + bp[k] * p
                    x = _clip((p - pe) / (p - ptop[m]), 0.0, 1.0)
                    # x clipped to 1 (above the cell's top) gives sin(pi), to 0 an exact zero: the same
                    # numbers without the sine call (psi + 0 = psi)
                    if x == 1.0:
                        psi[k] = psi[k] + amp[m] * s * sin_pi
                    elif x != 0.0:
                        psi[k] = psi[k] + amp[m] * s * sin(PI * x)
            for k in range(nlev):
                mfy[k, j, i] = psi[k + 1] - psi[k]


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef inline double _updraft_shape(double p, double pe, double ptop) noexcept nogil:
    """sin(pi x^0.576), x = (ps - p)/(ps - ptop), inside 0 < x < 1 (peak near 700 hPa), else 0."""
    cdef double x = (p - pe) / (p - ptop)
    if x > 0.0 and x < 1.0:
        return sin(PI * pow(x, 0.576))
    return 0.0


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _shape_row(const double[:, ::1] ps, const double[::1] ap, const double[::1] bp, double[:, :, ::1] s1,
                     double[:, :, ::1] s2, Py_ssize_t j, unsigned char* nz1, unsigned char* nz2) noexcept nogil:
    """Vertical shapes of the convective updrafts at the interfaces (0 at the surface and the top);
    ``nz1[k]``, ``nz2[k]`` set to 1 where a shape of this row is nonzero."""
    cdef Py_ssize_t nlev = s1.shape[0] - 1
    cdef Py_ssize_t nlon = s1.shape[2]
    cdef Py_ssize_t k, i
    cdef double p, pe, a, b
    for k in range(nlev + 1):
        for i in range(nlon):
            if k == 0 or k == nlev:
                s1[k, j, i] = 0.0
                s2[k, j, i] = 0.0
            else:
                p = ps[j, i]
                pe = ap[k] + bp[k] * p
                a = _updraft_shape(p, pe, 15000.0)
                b = _updraft_shape(p, pe, 35000.0)
                s1[k, j, i] = a
                s2[k, j, i] = b
                if a != 0.0:
                    nz1[k] = 1
                if b != 0.0:
                    nz2[k] = 1


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _tq_row(const double[:, ::1] ps, const double[::1] ap, const double[::1] bp, const double[:, ::1] ts,
                  const double[:, ::1] rh, double gam, double ptp, double cool, double r_dry, double eps,
                  double[:, :, ::1] t, double[:, :, ::1] qv, Py_ssize_t j, double* hrow, double* ztp_row,
                  double* ttp_row) noexcept nogil:
    cdef Py_ssize_t nlev = t.shape[0]
    cdef Py_ssize_t nlon = t.shape[2]
    cdef Py_ssize_t k, i
    cdef double p, pm, z, tt, ts_, ttp, ztp, h, q_rel, e, es, x, pt
    for i in range(nlon):
        p = ps[j, i]
        ts_ = ts[j, i]
        h = r_dry * (ts_ - 3000.0 * gam) / G0
        pt = ptp if ptp < 0.95 * p else 0.95 * p
        ztp = h * log(p / pt)
        ttp = ts_ - gam * ztp
        hrow[i] = h
        ztp_row[i] = ztp
        ttp_row[i] = ttp if ttp > 190.0 else 190.0
    for k in range(nlev):
        for i in range(nlon):
            p = ps[j, i]
            pm = 0.5 * ((ap[k] + bp[k] * p) + (ap[k + 1] + bp[k + 1] * p))
            ttp = ttp_row[i]
            if pm >= ptp:
                # troposphere: lapse rate from the daily-mean surface temperature, not below the tropopause
                z = hrow[i] * log(p / pm)
                tt = ts[j, i] - gam * z
                tt = tt if tt > ttp else ttp
                t[k, j, i] = tt
                # humidity: RH_s (Q - 0.02)/0.98 of saturation (Manabe & Wetherald 1967)
                q_rel = _clip((pm / p - 0.02) / 0.98, 0.0, 1.0) * rh[j, i]
                es = _esat(tt)
                e = es if es < 0.5 * pm else 0.5 * pm
                x = q_rel * (eps * e / (pm - (1.0 - eps) * e))
                qv[k, j, i] = x if x > 2.5e-6 else 2.5e-6
            else:
                # stratosphere: isothermal 2 km, +2 K/km to a 268 K stratopause, mesosphere; winter vortex
                if pm < 100.0:
                    x = 100.0 / pm
                    tt = 268.0 - 2.5e-3 * 7000.0 * log(x if x > 1.0 else 1.0)
                    tt = tt if tt > 180.0 else 180.0
                else:
                    z = hrow[i] * log(p / pm)
                    x = z - ztp_row[i] - 2000.0
                    tt = ttp + 2.0e-3 * (x if x > 0.0 else 0.0)
                    tt = tt if tt < 268.0 else 268.0
                t[k, j, i] = tt - cool
                qv[k, j, i] = 2.5e-6


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def thermo_record(const double[:, ::1] ps, const double[::1] ap, const double[::1] bp, const double[:, ::1] ts,
                  const double[:, ::1] rh, const double[::1] lapse, const double[::1] ptrop, const double[::1] cool,
                  double r_dry, double eps, double[:, :, ::1] t, double[:, :, ::1] qv, double[:, :, ::1] s1,
                  double[:, :, ::1] s2, int nthreads=1, unsigned char[::1] nz1=None, unsigned char[::1] nz2=None,
                  Py_ssize_t j0=0, Py_ssize_t j1=-1, bint reset_flags=True):
    """Temperature, specific humidity (nlev, nlat, nlon) and the convective updraft shapes ``s1``, ``s2``
    (nlev+1, nlat, nlon; ``sin(pi x^0.576)``, ``x = (ps - p)/(ps - p_top)`` with p_top 150 and 350 hPa) of
    a record from its surface pressure ``ps``, daily-mean 2-m temperature ``ts`` and relative humidity
    ``rh``; ``lapse``, ``ptrop``, ``cool`` (nlat): lapse rate, tropopause pressure and winter polar-vortex
    cooling per row. ``nz1``, ``nz2`` (nlev+1, optional): set to 1 on the interfaces where ``s1``, ``s2`` are
    nonzero somewhere, 0 elsewhere. Only the rows ``j0 <= j < j1`` (default: all) are written, each
    independently of the others; with ``reset_flags=False`` the flags of these rows are or-ed into ``nz1``,
    ``nz2`` (a record built row range by row range, from zeroed flags, is the same bit for bit)."""
    cdef Py_ssize_t nlev = t.shape[0]
    cdef Py_ssize_t nlat = t.shape[1]
    cdef Py_ssize_t nlon = t.shape[2]
    cdef Py_ssize_t j
    cdef int th
    if ap.shape[0] != nlev + 1 or bp.shape[0] != nlev + 1 or ps.shape[0] != nlat or ps.shape[1] != nlon \
            or lapse.shape[0] != nlat or ptrop.shape[0] != nlat or cool.shape[0] != nlat \
            or s1.shape[0] != nlev + 1 or s2.shape[0] != nlev + 1 or qv.shape[0] != nlev \
            or s1.shape[1] != nlat or s2.shape[2] != nlon:
        raise ValueError("thermo_record: array shapes do not match")
    if j1 < 0:
        j1 = nlat
    if j0 < 0 or j0 > j1 or j1 > nlat:
        raise ValueError(f"thermo_record: row range [{j0}, {j1}) outside [0, {nlat}]")
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), 3 * nlon))
    cdef unsigned char[:, ::1] flags = np.zeros((max(nthreads, 1), 2 * (nlev + 1)), dtype=np.uint8)
    cdef Py_ssize_t k, m
    for j in prange(j0, j1, nogil=True, num_threads=nthreads, schedule="static"):
        th = threadid()
        _tq_row(ps, ap, bp, ts, rh, lapse[j], ptrop[j], cool[j], r_dry, eps, t, qv, j, &work[th, 0],
                &work[th, nlon], &work[th, 2 * nlon])
        _shape_row(ps, ap, bp, s1, s2, j, &flags[th, 0], &flags[th, nlev + 1])
    if nz1 is not None and nz2 is not None:
        if nz1.shape[0] != nlev + 1 or nz2.shape[0] != nlev + 1:
            raise ValueError("thermo_record: nz1 and nz2 must have nlev+1 entries")
        for k in range(nlev + 1):
            if reset_flags:
                nz1[k] = 0
                nz2[k] = 0
            for m in range(flags.shape[0]):
                nz1[k] = nz1[k] | flags[m, k]
                nz2[k] = nz2[k] | flags[m, nlev + 1 + k]


cdef void _convection_block(Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t nlev, Py_ssize_t nlat, Py_ssize_t nlon,
                            const double* s1a, const double* s1b, const double* s2a, const double* s2b, double a,
                            const double* it, const double* st, double mb, const unsigned char* nz1,
                            const unsigned char* nz2, bint zeroed, double* cm, double* dtr) noexcept nogil:
    """Rows ``j0 <= j < j1`` of every interface of :func:`convection`. A shape that is zero on a whole
    interface in both records contributes an exact zero there and is not read (its term is left out:
    ``x + 0 = x``); an interface where both are zero is not written if ``zeroed`` (outputs zero on entry),
    nor is a layer whose two interfaces are such."""
    cdef Py_ssize_t k, j, i, r, q
    cdef Py_ssize_t plane = nlat * nlon
    cdef double b = 1.0 - a
    cdef double x
    for k in range(nlev + 1):
        if nz1[k] or nz2[k]:
            for j in range(j0, j1):
                r = k * plane + j * nlon
                q = j * nlon
                if nz1[k] and nz2[k]:
                    for i in range(nlon):
                        cm[r + i] = mb * (it[q + i] * (b * s1a[r + i] + a * s1b[r + i])
                                          + 0.35 * st[q + i] * (b * s2a[r + i] + a * s2b[r + i]))
                elif nz1[k]:
                    for i in range(nlon):
                        cm[r + i] = mb * (it[q + i] * (b * s1a[r + i] + a * s1b[r + i]))
                else:
                    for i in range(nlon):
                        cm[r + i] = mb * (0.35 * st[q + i] * (b * s2a[r + i] + a * s2b[r + i]))
        elif not zeroed:
            for j in range(j0, j1):
                r = k * plane + j * nlon
                for i in range(nlon):
                    cm[r + i] = 0.0
        if k > 0:
            if nz1[k] or nz2[k] or nz1[k - 1] or nz2[k - 1]:
                for j in range(j0, j1):
                    r = k * plane + j * nlon
                    for i in range(nlon):
                        x = cm[r - plane + i] - cm[r + i]
                        dtr[r - plane + i] = x if x > 0.0 else 0.0
            elif not zeroed:
                for j in range(j0, j1):
                    r = (k - 1) * plane + j * nlon
                    for i in range(nlon):
                        dtr[r + i] = 0.0


@cython.boundscheck(False)
@cython.wraparound(False)
def convection(const double[:, :, ::1] s1a, const double[:, :, ::1] s1b, const double[:, :, ::1] s2a,
               const double[:, :, ::1] s2b, double a, const double[:, ::1] i_trop, const double[:, ::1] i_storm,
               double mb, double[:, :, ::1] cmfmc, double[:, :, ::1] dtrain, int nthreads=1,
               const unsigned char[::1] nz1=None, const unsigned char[::1] nz2=None, bint zeroed=False):
    """Convective updraft mass flux ``cmfmc = mb (I_trop S1 + 0.35 I_storm S2)`` at the interfaces, with the
    shapes interpolated between two records (weight ``a`` of the second), and the detrainment
    ``dtrain_k = max(cmfmc_k - cmfmc_k+1, 0)``. ``nz1``, ``nz2`` (nlev+1, optional): 0 where the shape is
    zero on the whole interface in both records (those terms are exact zeros and not read); ``zeroed``:
    ``cmfmc`` and ``dtrain`` are zero on entry (e.g. ``numpy.zeros``), so all-zero interfaces and layers are
    not written. Threads take blocks of latitude rows through all the interfaces in one parallel region;
    the values do not depend on the thread count."""
    cdef Py_ssize_t nlev = dtrain.shape[0]
    cdef Py_ssize_t nlat = dtrain.shape[1]
    cdef Py_ssize_t nlon = dtrain.shape[2]
    cdef Py_ssize_t nblk, blk, j0, j1
    if cmfmc.shape[0] != nlev + 1 or cmfmc.shape[1] != nlat or cmfmc.shape[2] != nlon \
            or i_trop.shape[0] != nlat or i_trop.shape[1] != nlon or i_storm.shape[0] != nlat \
            or i_storm.shape[1] != nlon:
        raise ValueError("convection: array shapes do not match")
    if s1a.shape[0] != nlev + 1 or s1a.shape[1] != nlat or s1a.shape[2] != nlon \
            or s1b.shape[0] != nlev + 1 or s1b.shape[1] != nlat or s1b.shape[2] != nlon \
            or s2a.shape[0] != nlev + 1 or s2a.shape[1] != nlat or s2a.shape[2] != nlon \
            or s2b.shape[0] != nlev + 1 or s2b.shape[1] != nlat or s2b.shape[2] != nlon:
        raise ValueError("convection: the shape records must be (nlev+1, nlat, nlon)")
    cdef unsigned char[::1] ones = np.ones(nlev + 1, dtype=np.uint8)
    if nz1 is None:
        nz1 = ones
    if nz2 is None:
        nz2 = ones
    if nz1.shape[0] != nlev + 1 or nz2.shape[0] != nlev + 1:
        raise ValueError("convection: nz1 and nz2 must have nlev+1 entries")
    nthreads = max(nthreads, 1)
    nblk = min(nlat, 1 if nthreads == 1 else 4 * nthreads)
    for blk in prange(nblk, nogil=True, num_threads=nthreads, schedule="dynamic"):
        j0 = blk * nlat // nblk
        j1 = (blk + 1) * nlat // nblk
        _convection_block(j0, j1, nlev, nlat, nlon, &s1a[0, 0, 0], &s1b[0, 0, 0], &s2a[0, 0, 0], &s2b[0, 0, 0],
                          a, &i_trop[0, 0], &i_storm[0, 0], mb, &nz1[0], &nz2[0], zeroed, &cmfmc[0, 0, 0],
                          &dtrain[0, 0, 0])


# ---------------------------------------------------------------- static surface description (construction)
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def fill_polygon(const double[:, ::1] xy, const double[::1] row_lat, const double[::1] lon_edges,
                 double[:, ::1] out, int nthreads=1):
    """Fraction of each cell of a regular raster inside a polygon, exact in longitude along each row centre.

    Scan-line fill, even-odd rule: the crossings of the row latitude with the polygon's edges (half-open
    in latitude, so a vertex on the row counts once) are sorted and paired; each pair [a, b] covers
    ``overlap([a, b], [e_i, e_i+1]) / dlon`` of cell i. ``xy`` (nvert, 2) lon/lat vertices, ``out``
    (nrow, ncell) is overwritten.
    """
    cdef Py_ssize_t nv = xy.shape[0]
    cdef Py_ssize_t nrow = row_lat.shape[0]
    cdef Py_ssize_t ncol = lon_edges.shape[0] - 1
    cdef Py_ssize_t r, v, w, n, m, p, i, i0, i1
    cdef double y, x1, y1, x2, y2, xc, a, b, lo, hi, dlon, e0
    cdef int t
    cdef double* xs
    if out.shape[0] != nrow or out.shape[1] != ncol or xy.shape[1] != 2:
        raise ValueError("fill_polygon: out must be (len(row_lat), len(lon_edges) - 1) and xy (nvert, 2)")
    dlon = (lon_edges[ncol] - lon_edges[0]) / ncol
    e0 = lon_edges[0]
    cdef double[:, ::1] work = np.empty((max(nthreads, 1), nv + 1))
    for r in prange(nrow, nogil=True, num_threads=nthreads, schedule="static"):
        t = threadid()
        xs = &work[t, 0]
        y = row_lat[r]
        for i in range(ncol):
            out[r, i] = 0.0
        n = 0
        for v in range(nv):
            w = v + 1 if v + 1 < nv else 0
            x1 = xy[v, 0]
            y1 = xy[v, 1]
            x2 = xy[w, 0]
            y2 = xy[w, 1]
            if (y1 <= y and y < y2) or (y2 <= y and y < y1):
                xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                # insertion into the sorted crossings
                m = n
                while m > 0 and xs[m - 1] > xc:
                    xs[m] = xs[m - 1]
                    m = m - 1
                xs[m] = xc
                n = n + 1
        p = 0
        while p + 1 < n:
            a = xs[p]
            b = xs[p + 1]
            p = p + 2
            i0 = <Py_ssize_t> floor((a - e0) / dlon)
            i1 = <Py_ssize_t> floor((b - e0) / dlon)
            if i0 < 0:
                i0 = 0
            if i1 > ncol - 1:
                i1 = ncol - 1
            for i in range(i0, i1 + 1):
                lo = a if a > lon_edges[i] else lon_edges[i]
                hi = b if b < lon_edges[i + 1] else lon_edges[i + 1]
                if hi > lo:
                    out[r, i] = out[r, i] + (hi - lo) / dlon


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def mountain_heights(const double[::1] lon, const double[::1] lat, const double[:, ::1] ranges,
                     double[:, ::1] out, int nthreads=1):
    """Height [m] of Gaussian mountain ranges on a raster: ``max_m top_m exp(-(d_m / w_m)^2)`` with ``d`` the
    distance (degrees, the longitude difference scaled by cos lat) to the segment of range m; ``ranges``
    (nrange, 6) = lon0, lat0, lon1, lat1, w, top. ``out`` (len(lat), len(lon)) is overwritten."""
    cdef Py_ssize_t nlat = lat.shape[0]
    cdef Py_ssize_t nlon = lon.shape[0]
    cdef Py_ssize_t nr = ranges.shape[0]
    cdef Py_ssize_t j, i, m
    cdef double c2, dx, dy, px, py, tt, d2, h, hm
    if out.shape[0] != nlat or out.shape[1] != nlon or ranges.shape[1] != 6:
        raise ValueError("mountain_heights: out must be (len(lat), len(lon)) and ranges (n, 6)")
    for j in prange(nlat, nogil=True, num_threads=nthreads, schedule="static"):
        c2 = cos(lat[j] * (PI / 180.0))
        c2 = c2 * c2
        for i in range(nlon):
            h = 0.0
            for m in range(nr):
                dx = ranges[m, 2] - ranges[m, 0]
                dy = ranges[m, 3] - ranges[m, 1]
                px = lon[i] - ranges[m, 0]
                py = lat[j] - ranges[m, 1]
                tt = _clip((px * dx * c2 + py * dy) / (dx * dx * c2 + dy * dy), 0.0, 1.0)
                d2 = (px - tt * dx) * (px - tt * dx) * c2 + (py - tt * dy) * (py - tt * dy)
                hm = ranges[m, 5] * exp(-d2 / (ranges[m, 4] * ranges[m, 4]))
                if hm > h:
                    h = hm
            out[j, i] = h
