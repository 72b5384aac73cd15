"""Write small files in the ERA5 and MERRA-2 formats from the embedded climatology (tests, benchmarks).

The files reproduce the products' conventions: variable names, dimension names and order, units
strings, ``scale_factor``/``add_offset`` int16 packing with ``_FillValue`` (ERA5 CDS NetCDF-3 style),
float32 with ``_FillValue = 1e15`` (MERRA-2), latitude north->south and longitude 0..360 (ERA5) or
south->north and -180..180 (MERRA-2), pole points, levels top first, accumulated ERA5 fluxes
(``ssrd``, ``tp``, ``sshf`` over the hour ending at the stamp), ocean-only fields missing over land and
land-only fields missing over the ocean. Values come from :class:`~esm.meteorology.climatology.
Climatology` evaluated on a cell-centred grid and interpolated to the product's points, optionally
with noise added to the winds. Nothing here is used by a model run.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import cftime
import netCDF4
import numpy as np

from esm.grid import Grid
from esm.meteorology.climatology import Climatology
from esm.meteorology.regrid import linear_lat_matrix, linear_lon_matrix
from esm.meteorology.thermo import vapour_pressure
from esm.vertical import VerticalCoordinate

ERA5_PRESSURE_LEVELS_HPA = [1, 2, 3, 5, 7, 10, 20, 30, 50, 70, 100, 150, 200, 250, 300, 400, 500, 600, 700,
                            850, 925, 1000]


def _to_points(field, grid: Grid, lats, lons):
    wl = linear_lat_matrix(grid.lat, lats)
    wo = linear_lon_matrix(grid.lon, lons)
    a = np.asarray(field)
    lead = a.shape[:-2]
    b = a.reshape(-1, grid.nlat, grid.nlon)
    out = np.stack([wl @ (wo @ x.T).T for x in b])
    return out.reshape(lead + (len(lats), len(lons)))


def _to_pressure_levels(field, pm, plevs):
    """Linear-in-ln(p) interpolation of (nlev, ...) columns with mid pressures pm to fixed levels."""
    lnp = np.log(pm)
    out = np.empty((len(plevs),) + field.shape[1:])
    for n, p in enumerate(plevs):  # loop over the few output levels (vectorised over columns)
        below = (pm > p).sum(axis=0)  # number of levels with higher pressure
        k = np.clip(below - 1, 0, pm.shape[0] - 2)
        l0 = np.take_along_axis(lnp, k[None], 0)[0]
        l1 = np.take_along_axis(lnp, k[None] + 1, 0)[0]
        w = np.clip((l0 - np.log(p)) / (l0 - l1), 0.0, 1.0)
        f0 = np.take_along_axis(field, k[None], 0)[0]
        f1 = np.take_along_axis(field, k[None] + 1, 0)[0]
        out[n] = (1 - w) * f0 + w * f1
    return out


def _pack(var, data):
    lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
    scale = (hi - lo) / 65000.0 if hi > lo else 1.0
    var.scale_factor = scale
    var.add_offset = 0.5 * (hi + lo)


class SyntheticWriter:
    """Evaluate the climatology on a source grid and write product-format files."""

    def __init__(self, dlat: float = 5.0, dlon: float = 5.0, levels: str = "coarse11", noise: float = 0.0,
                 seed: int = 0, calendar: str = "standard"):
        self.src = Grid(int(round(180 / dlat)), int(round(360 / dlon)))
        self.vc = VerticalCoordinate.from_name(levels)
        self.clim = Climatology(self.src, self.vc)
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.calendar = calendar
        self.dlat, self.dlon = dlat, dlon

    # ---- grids of the products
    def era5_coords(self):
        lats = np.linspace(90.0, -90.0, int(round(180 / self.dlat)) + 1)
        lons = np.arange(int(round(360 / self.dlon))) * self.dlon
        return lats, lons

    def merra2_coords(self):
        lats = np.linspace(-90.0, 90.0, int(round(180 / self.dlat)) + 1)
        lons = -180.0 + np.arange(int(round(360 / self.dlon))) * self.dlon
        return lats, lons

    def _state(self, t):
        met = self.clim.at(t)
        u, v = met.u.copy(), met.v.copy()
        if self.noise:
            u += self.noise * self.rng.standard_normal(u.shape)
            v += self.noise * self.rng.standard_normal(v.shape)
        return met, u, v

    # ---- ERA5
    def write_era5(self, directory, start: cftime.datetime, hours_2d, hours_3d, kind="pressure",
                   split_2d: int = 1, packed: bool = True, t2m_units="K", new_cds: bool = False) -> dict:
        """ERA5-like files; returns {'3d': [paths], '2d': [paths]}. ``kind``: 'pressure' or 'model'."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        lats, lons = self.era5_coords()
        tname, lname = ("valid_time", "pressure_level") if new_cds else ("time", "level")
        units = "hours since 1900-01-01 00:00:00.0"
        paths = {"3d": [], "2d": []}

        def base(path, times, nlev=None, levvals=None, levunits=None):
            ds = netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET" if packed else "NETCDF4")
            ds.createDimension("longitude", len(lons))
            ds.createDimension("latitude", len(lats))
            if nlev is not None:
                ds.createDimension(lname if kind == "pressure" else "level", nlev)
            ds.createDimension(tname, None)
            v = ds.createVariable("longitude", "f4", ("longitude",))
            v.units, v.long_name = "degrees_east", "longitude"
            v[:] = lons
            v = ds.createVariable("latitude", "f4", ("latitude",))
            v.units, v.long_name = "degrees_north", "latitude"
            v[:] = lats
            if nlev is not None:
                ln = lname if kind == "pressure" else "level"
                v = ds.createVariable(ln, "i4", (ln,))
                v.units = levunits
                v.long_name = "pressure_level" if kind == "pressure" else "model_level_number"
                v[:] = levvals
            v = ds.createVariable(tname, "i4", (tname,))
            v.units, v.long_name, v.calendar = units, "time", "gregorian"
            v[:] = np.round(cftime.date2num(times, units, calendar="gregorian")).astype(int)
            ds.Conventions = "CF-1.6"
            ds.history = "esm synthetic ERA5-like file (esm.meteorology.synthetic)"
            return ds

        def add(ds, name, dims, data, units_, long_name, standard_name=None, masked=None):
            if packed:
                var = ds.createVariable(name, "i2", dims, fill_value=np.int16(-32767))
                var.missing_value = np.int16(-32767)
                _pack(var, data)
            else:
                var = ds.createVariable(name, "f4", dims, fill_value=np.float32(np.nan))
            var.units = units_
            var.long_name = long_name
            if standard_name:
                var.standard_name = standard_name
            var[:] = np.ma.masked_array(data, mask=masked) if masked is not None else data

        # 3-D
        t3 = [start + _dt.timedelta(hours=h) for h in hours_3d]
        fields = {k: [] for k in ("u", "v", "t", "q")}
        for t in t3:
            met, u, v = self._state(t)
            if kind == "pressure":
                pm = self.vc.pressure_mid(met.ps)
                pl = np.array(ERA5_PRESSURE_LEVELS_HPA, dtype=float) * 100.0
                conv = lambda x: _to_points(_to_pressure_levels(x, pm, pl), self.src, lats, lons)
            else:
                conv = lambda x: _to_points(x[::-1], self.src, lats, lons)  # top first
            fields["u"].append(conv(u))
            fields["v"].append(conv(v))
            fields["t"].append(conv(met.t))
            fields["q"].append(conv(met.qv))
        if kind == "pressure":
            nlev, levvals, levunits = len(ERA5_PRESSURE_LEVELS_HPA), ERA5_PRESSURE_LEVELS_HPA, "millibars"
        else:
            nlev, levvals, levunits = self.vc.nlev, np.arange(1, self.vc.nlev + 1), "1"
        p3 = d / f"era5_{'pl' if kind == 'pressure' else 'ml'}.nc"
        ds = base(p3, t3, nlev, levvals, levunits)
        dims3 = (tname, lname if kind == "pressure" else "level", "latitude", "longitude")
        add(ds, "u", dims3, np.array(fields["u"]), "m s**-1", "U component of wind", "eastward_wind")
        add(ds, "v", dims3, np.array(fields["v"]), "m s**-1", "V component of wind", "northward_wind")
        add(ds, "t", dims3, np.array(fields["t"]), "K", "Temperature", "air_temperature")
        add(ds, "q", dims3, np.array(fields["q"]), "kg kg**-1", "Specific humidity", "specific_humidity")
        if kind == "model":
            for nm, arr in (("hyai", self.vc.ap[::-1]), ("hybi", self.vc.bp[::-1])):
                ds.createDimension("nhyi", self.vc.nlev + 1) if "nhyi" not in ds.dimensions else None
                v = ds.createVariable(nm, "f8", ("nhyi",))
                v.units = "Pa" if nm == "hyai" else "1"
                v.long_name = "hybrid A coefficient at layer interfaces" if nm == "hyai" else \
                    "hybrid B coefficient at layer interfaces"
                v[:] = arr
        ds.close()
        paths["3d"].append(str(p3))

        # 2-D, hourly, possibly split over several files
        t2 = [start + _dt.timedelta(hours=h) for h in hours_2d]
        chunks = np.array_split(np.arange(len(t2)), split_2d)
        land_pts = _to_points(self.clim.land, self.src, lats, lons) > 0.5
        for n, idx in enumerate(chunks):
            times = [t2[i] for i in idx]
            rec = {k: [] for k in ("sp", "blh", "ssrd", "t2m", "d2m", "skt", "swvl1", "stl1", "stl3", "u10", "v10",
                                   "sst", "siconc", "tp", "sshf", "zust")}
            for t in times:
                met = self.clim.at(t)
                acc = self.clim.at(t - _dt.timedelta(minutes=30))  # mean of the hour ending at t
                e = vapour_pressure(met.q2m, met.ps)
                d2m = 273.15 + 243.5 * np.log(e / 611.2) / (17.67 - np.log(e / 611.2))
                surf = self.clim._surface(t)
                P = lambda x: _to_points(x, self.src, lats, lons)
                rec["sp"].append(P(met.ps))
                rec["blh"].append(P(met.pblh))
                rec["ssrd"].append(P(acc.swdown) * 3600.0)
                rec["t2m"].append(P(met.t2m) - (273.15 if t2m_units == "degC" else 0.0))
                rec["d2m"].append(P(d2m))
                rec["skt"].append(P(met.tskin))
                rec["swvl1"].append(P(met.soilm))
                rec["stl1"].append(P(met.tsoil_top))   # 0-7 cm
                rec["stl3"].append(P(met.tsoil))       # 28-100 cm: the root zone
                rec["u10"].append(P(surf["_u10"]))
                rec["v10"].append(P(surf["_v10"]))
                rec["sst"].append(P(met.sst))
                rec["siconc"].append(P(met.seaice))
                rec["tp"].append(P(acc.precip) * 3600.0 / 1000.0)
                rec["sshf"].append(-P(acc.shflx) * 3600.0)
                rec["zust"].append(P(met.ustar))
            p2 = d / f"era5_sfc_{n}.nc"
            ds = base(p2, times)
            dims2 = (tname, "latitude", "longitude")
            ocean_mask = np.broadcast_to(land_pts, (len(times),) + land_pts.shape)
            meta = {"sp": ("Pa", "Surface pressure", "surface_air_pressure"), "blh": ("m", "Boundary layer height", None),
                    "ssrd": ("J m**-2", "Surface solar radiation downwards", "surface_downwelling_shortwave_flux_in_air"),
                    "t2m": (t2m_units, "2 metre temperature", None), "d2m": ("K", "2 metre dewpoint temperature", None),
                    "skt": ("K", "Skin temperature", None),
                    "swvl1": ("m**3 m**-3", "Volumetric soil water layer 1", None),
                    "stl1": ("K", "Soil temperature level 1", "surface_temperature"),
                    "stl3": ("K", "Soil temperature level 3", None),
                    "u10": ("m s**-1", "10 metre U wind component", None),
                    "v10": ("m s**-1", "10 metre V wind component", None),
                    "sst": ("K", "Sea surface temperature", None), "siconc": ("(0 - 1)", "Sea ice area fraction",
                                                                              "sea_ice_area_fraction"),
                    "tp": ("m", "Total precipitation", None),
                    "sshf": ("J m**-2", "Surface sensible heat flux", "surface_upward_sensible_heat_flux"),
                    "zust": ("m s**-1", "Friction velocity", None)}
            for k, arrs in rec.items():
                units_, ln, sn = meta[k]
                masked = ocean_mask if k in ("sst", "siconc") else None
                add(ds, k, dims2, np.array(arrs), units_, ln, sn, masked)
            ds.close()
            paths["2d"].append(str(p2))
        return paths

    # ---- MERRA-2
    def write_merra2(self, directory, start: cftime.datetime, hours_2d, hours_3d) -> dict:
        """MERRA-2-like files (inst3_3d_asm_Nv, tavg1_2d_{slv,flx,rad,lnd,ocn}_Nx, tavg3_3d_mst_Ne)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        lats, lons = self.merra2_coords()
        units = f"minutes since {start.year:04d}-{start.month:02d}-{start.day:02d} 00:00:00"
        fill = np.float32(1.0e15)
        paths = {"3d": [], "2d": [], "conv": []}
        P = lambda x: _to_points(x, self.src, lats, lons)

        def base(path, times, nlev=None, edges=False):
            ds = netCDF4.Dataset(path, "w", format="NETCDF4")
            ds.createDimension("lon", len(lons))
            ds.createDimension("lat", len(lats))
            if nlev is not None:
                ds.createDimension("lev", nlev)
            ds.createDimension("time", None)
            v = ds.createVariable("lon", "f8", ("lon",))
            v.units, v.long_name = "degrees_east", "longitude"
            v[:] = lons
            v = ds.createVariable("lat", "f8", ("lat",))
            v.units, v.long_name = "degrees_north", "latitude"
            v[:] = lats
            if nlev is not None:
                v = ds.createVariable("lev", "f8", ("lev",))
                v.units, v.positive, v.long_name = "layer", "down", "vertical level"
                v[:] = np.arange(1, nlev + 1)
            v = ds.createVariable("time", "i4", ("time",))
            v.units, v.long_name = units, "time"
            v[:] = np.round(cftime.date2num(times, units, calendar="standard")).astype(int)
            ds.Conventions = "CF-1"
            ds.Source = "esm synthetic MERRA-2-like file (esm.meteorology.synthetic)"
            return ds

        def add(ds, name, dims, data, units_, long_name, standard_name=None, masked=None):
            var = ds.createVariable(name, "f4", dims, fill_value=fill, zlib=True)
            var.missing_value = fill
            var.units = units_
            var.long_name = long_name
            if standard_name:
                var.standard_name = standard_name
            var[:] = np.ma.masked_array(data, mask=masked) if masked is not None else data

        t3 = [start + _dt.timedelta(hours=h) for h in hours_3d]
        f3 = {k: [] for k in ("U", "V", "T", "QV", "DELP", "PS", "CMFMC", "DTRAIN")}
        for t in t3:
            met, u, v = self._state(t)
            f3["U"].append(P(u[::-1]))
            f3["V"].append(P(v[::-1]))
            f3["T"].append(P(met.t[::-1]))
            f3["QV"].append(P(met.qv[::-1]))
            f3["DELP"].append(P(self.vc.layer_thickness(met.ps)[::-1]))
            f3["PS"].append(P(met.ps))
            f3["CMFMC"].append(P(met.cmfmc[::-1]))
            f3["DTRAIN"].append(P(met.dtrain[::-1]))
        nlev = self.vc.nlev
        p3 = d / "MERRA2_400.inst3_3d_asm_Nv.nc4"
        ds = base(p3, t3, nlev)
        dims3 = ("time", "lev", "lat", "lon")
        add(ds, "U", dims3, np.array(f3["U"]), "m s-1", "eastward_wind", "eastward_wind")
        add(ds, "V", dims3, np.array(f3["V"]), "m s-1", "northward_wind", "northward_wind")
        add(ds, "T", dims3, np.array(f3["T"]), "K", "air_temperature", "air_temperature")
        add(ds, "QV", dims3, np.array(f3["QV"]), "kg kg-1", "specific_humidity", "specific_humidity")
        add(ds, "DELP", dims3, np.array(f3["DELP"]), "Pa", "pressure_thickness")
        add(ds, "PS", ("time", "lat", "lon"), np.array(f3["PS"]), "Pa", "surface_pressure", "surface_air_pressure")
        ds.close()
        paths["3d"].append(str(p3))
        pc = d / "MERRA2_400.tavg3_3d_mst_Ne.nc4"
        ds = base(pc, t3, nlev + 1)
        add(ds, "CMFMC", dims3, np.array(f3["CMFMC"]), "kg m-2 s-1", "cumulative_mass_flux")
        ds.close()
        pd_ = d / "MERRA2_400.tavg3_3d_mst_Nv.nc4"
        ds = base(pd_, t3, nlev)
        add(ds, "DTRAIN", dims3, np.array(f3["DTRAIN"]), "kg m-2 s-1", "detraining_mass_flux")
        ds.close()
        paths["conv"] += [str(pc), str(pd_)]

        t2 = [start + _dt.timedelta(hours=h, minutes=30) for h in hours_2d]
        land_pts = P(self.clim.land)
        ocean = land_pts < 0.5
        rec = {k: [] for k in ("T2M", "QV2M", "TS", "U10M", "V10M", "PBLH", "USTAR", "HFLUX", "PRECTOTCORR",
                               "SWGDN", "RZMC", "TSOIL1", "TSOIL3", "TSKINWTR", "FRSEAICE")}
        for t in t2:
            met = self.clim.at(t)
            surf = self.clim._surface(t)
            rec["T2M"].append(P(met.t2m))
            rec["QV2M"].append(P(met.q2m))
            rec["TS"].append(P(met.tskin))
            rec["U10M"].append(P(surf["_u10"]))
            rec["V10M"].append(P(surf["_v10"]))
            rec["PBLH"].append(P(met.pblh))
            rec["USTAR"].append(P(met.ustar))
            rec["HFLUX"].append(P(met.shflx))
            rec["PRECTOTCORR"].append(P(met.precip))
            rec["SWGDN"].append(P(met.swdown))
            rec["RZMC"].append(P(met.soilm))
            rec["TSOIL1"].append(P(met.tsoil_top))   # 0-10 cm
            rec["TSOIL3"].append(P(met.tsoil))       # 29-68 cm: the root zone
            rec["TSKINWTR"].append(P(met.sst))
            rec["FRSEAICE"].append(P(met.seaice * (1 - self.clim.land)))
        collections = {"slv": ("T2M", "QV2M", "TS", "U10M", "V10M"), "flx": ("PBLH", "USTAR", "HFLUX", "PRECTOTCORR"),
                       "rad": ("SWGDN",), "lnd": ("RZMC", "TSOIL1", "TSOIL3"), "ocn": ("TSKINWTR", "FRSEAICE")}
        units_of = {"T2M": "K", "QV2M": "kg kg-1", "TS": "K", "U10M": "m s-1", "V10M": "m s-1", "PBLH": "m",
                    "USTAR": "m s-1", "HFLUX": "W m-2", "PRECTOTCORR": "kg m-2 s-1", "SWGDN": "W m-2",
                    "RZMC": "m-3 m-3", "TSOIL1": "K", "TSOIL3": "K", "TSKINWTR": "K", "FRSEAICE": "1"}
        for coll, names in collections.items():
            path = d / f"MERRA2_400.tavg1_2d_{coll}_Nx.nc4"
            ds = base(path, t2)
            for nm in names:
                arr = np.array(rec[nm])
                mask = None
                if coll == "lnd":
                    mask = np.broadcast_to(ocean, arr.shape)
                elif nm == "TSKINWTR":
                    mask = np.broadcast_to(~ocean, arr.shape)
                add(ds, nm, ("time", "lat", "lon"), arr, units_of[nm], nm.lower(), None, mask)
            ds.close()
            paths["2d"].append(str(path))
        return paths
