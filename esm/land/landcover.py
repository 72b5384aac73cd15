"""Land cover on the model grid: IGBP class fractions, BEPS plant-functional-type tiles, land fraction.

The shipped file ``forcing/landcover/igbp_fractions_0.5deg.nc`` (made by
``forcing/landcover/make_landcover.py`` from MODIS MCD12C1 2019, doi:10.5067/MODIS/MCD12C1.006)
holds the area fraction of each of the 17 IGBP classes in every 0.5 degree cell. At run time
they are aggregated *area-conservatively* to the model grid: the area of the overlap of a
0.5 degree source cell with a model cell on the sphere is ``R^2 * dlambda_overlap *
(sin phi_n - sin phi_s)_overlap``, which separates into a latitude factor and a longitude
factor, so the regridding is two sparse overlap matrices applied to each class. This is
exact for every grid, including grids whose edges do not fall on the 0.5 degree edges
(the 0.625 degree longitudes of the 0.5 x 0.625 grid) and grids finer than 0.5 degree.

BEPS cover types (tiles, Chen et al. 1999, 2012) and the IGBP -> tile mapping
-----------------------------------------------------------------------------
Tiles are the nine BEPS cover types for which REFERENCES.md lists parameters:

====  ======  ============================================================================
idx   name    IGBP classes (share of the class's area)
====  ======  ============================================================================
0     enf     1 evergreen needleleaf forest (1)
1     dnf     3 deciduous needleleaf forest (1)
2     dbf     4 deciduous broadleaf forest (1); woody part of 8 woody savanna (0.45) and of
              9 savanna (0.20)
3     ebf     2 evergreen broadleaf forest (1)
4     mixed   5 mixed forest (1); 14 cropland/natural mosaic (0.25)
5     shrub   6 closed shrubland (1), 7 open shrubland (1)
6     grass   C3 share of: 10 grassland (1), 11 permanent wetland (1), herbaceous part of
              8 (0.55), 9 (0.80), 14 (0.25)
7     crop    C3 share of 12 cropland (1) and 14 mosaic (0.50)
8     c4      C4 share of the grass and crop above
====  ======  ============================================================================

Water (0), urban (13), snow and ice (15) and barren (16) carry no vegetation tile. The woody
share of savannas is the middle of the IGBP tree-cover range (woody savanna 30-60 %, savanna
10-30 %; Loveland & Belward 1997; Sulla-Menashe & Friedl 2018 Table 3); the mosaic class
(no component > 60 %) is split half crop, a quarter natural grass, a quarter mixed forest.
Permanent wetlands are vegetated by herbaceous (C3) plants in the tile scheme; their area is
also returned separately (``LandCover.wetland``) for the wetland methane component.

C3/C4 split. Natural grasses are C4 where the growing season is hot (Collatz et al. 1998,
Oecologia 114, 441: C4 where the warmest-month mean temperature exceeds ~22 C with enough rain);
without a climate at load time we use a geographic expression of it: the C4 share of natural
grass is 1 equatorward of ``c4_grass_lat_full`` (default 15 deg), falls linearly to 0 at
``c4_grass_lat_zero`` (default 35 deg) and is 0 poleward of it. Crops are C4 (maize, sorghum,
millet, sugarcane) on a fixed share ``c4_crop_fraction`` (default 0.20 of crop area; these crops
make ~18-20 % of harvested area in Monfreda et al. 2008, GBC 22, GB1022). With the defaults the
C4 tile covers 23.4 million km2 of the 109 million km2 of vegetated tiles; Still et al. (2003,
GBC 17, 1006) estimate 18.8 of 106 million km2 (their map also uses climate and tree cover,
so it is more restrictive than a latitude rule: a known overestimate of ~25 % here).
The split is applied on the 0.5 degree grid before aggregation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from esm.errors import InputDataError
from esm.grid import Grid

#: Shipped IGBP fractions (relative to ``forcing/``).
LANDCOVER_FILE = "landcover/igbp_fractions_0.5deg.nc"

#: IGBP class codes of MCD12C1 Majority_Land_Cover_Type_1 -> short names.
IGBP_NAMES = ("water", "enf", "ebf", "dnf", "dbf", "mixed_forest", "closed_shrubland", "open_shrubland",
              "woody_savanna", "savanna", "grassland", "permanent_wetland", "cropland", "urban",
              "crop_natural_mosaic", "snow_ice", "barren")
IGBP_WATER, IGBP_WETLAND, IGBP_URBAN, IGBP_SNOW, IGBP_BARREN = 0, 11, 13, 15, 16

#: BEPS cover types (tile order of every per-PFT array in esm.land).
PFT_NAMES = ("enf", "dnf", "dbf", "ebf", "mixed", "shrub", "grass", "crop", "c4")
PFT_LONG_NAMES = ("evergreen needleleaf forest", "deciduous needleleaf forest", "deciduous broadleaf forest",
                  "evergreen broadleaf forest", "mixed forest", "shrubland", "C3 grass (incl. wetland "
                  "herbaceous)", "C3 crop", "C4 grass and crop")
NPFT = len(PFT_NAMES)
ENF, DNF, DBF, EBF, MIXED, SHRUB, GRASS, CROP, C4 = range(NPFT)
#: Tiles that are forests (for stand age and wood pools).
FOREST_PFTS = (ENF, DNF, DBF, EBF, MIXED)

#: Woody share of IGBP savanna classes (middle of their tree-cover ranges) and the mosaic split.
WOODY_SAVANNA_TREE = 0.45
SAVANNA_TREE = 0.20
MOSAIC_CROP, MOSAIC_GRASS, MOSAIC_FOREST = 0.50, 0.25, 0.25


def _mapping() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fixed (17, 9), grass (17,), crop (17,)): shares of each IGBP class going to each tile.

    ``grass`` and ``crop`` are the herbaceous shares still to be split between C3 and C4.
    """
    fixed = np.zeros((len(IGBP_NAMES), NPFT))
    grass = np.zeros(len(IGBP_NAMES))
    crop = np.zeros(len(IGBP_NAMES))
    fixed[1, ENF] = 1.0
    fixed[2, EBF] = 1.0
    fixed[3, DNF] = 1.0
    fixed[4, DBF] = 1.0
    fixed[5, MIXED] = 1.0
    fixed[6, SHRUB] = 1.0
    fixed[7, SHRUB] = 1.0
    fixed[8, DBF] = WOODY_SAVANNA_TREE
    grass[8] = 1.0 - WOODY_SAVANNA_TREE
    fixed[9, DBF] = SAVANNA_TREE
    grass[9] = 1.0 - SAVANNA_TREE
    grass[10] = 1.0
    grass[11] = 1.0
    crop[12] = 1.0
    crop[14] = MOSAIC_CROP
    grass[14] = MOSAIC_GRASS
    fixed[14, MIXED] = MOSAIC_FOREST
    return fixed, grass, crop


def c4_grass_share(lat: np.ndarray, lat_full: float = 15.0, lat_zero: float = 35.0) -> np.ndarray:
    """C4 share of natural grass by latitude (geographic form of Collatz et al. 1998; see module doc)."""
    if not 0.0 <= lat_full < lat_zero <= 90.0:
        raise ValueError(f"C4 grass latitudes: need 0 <= c4_grass_lat_full ({lat_full}) < c4_grass_lat_zero "
                         f"({lat_zero}) <= 90")
    a = np.abs(np.asarray(lat, dtype=float))
    return np.clip((lat_zero - a) / (lat_zero - lat_full), 0.0, 1.0)


@dataclass(frozen=True)
class LandCover:
    """Land cover on one model grid; every field is a fraction of the whole grid cell.

    igbp : (17, nlat, nlon) IGBP class fractions (sum to 1 over classes).
    pft : (9, nlat, nlon) BEPS tile fractions in :data:`PFT_NAMES` order.
    land : (nlat, nlon) land fraction (1 - water).
    wetland : (nlat, nlon) IGBP permanent-wetland fraction.
    crop : (nlat, nlon) crop land (C3 and C4 crops together), or None when unknown (then only the C3-crop
        tile counts as crop land).
    """

    grid: Grid
    igbp: np.ndarray
    pft: np.ndarray
    land: np.ndarray
    wetland: np.ndarray
    crop: np.ndarray | None = None

    @property
    def vegetated(self) -> np.ndarray:
        """Fraction of the cell covered by any vegetation tile."""
        return self.pft.sum(axis=0)

    def crop_share(self, pft: int) -> np.ndarray:
        """Share of cover type ``pft``'s tile that is crop land (nlat, nlon): 1 for the C3-crop tile, the C4 crops'
        share of the C4 tile (from ``crop`` and the C3 tile), 0 for the others."""
        out = np.zeros(self.grid.shape)
        if pft == CROP:
            out[:] = 1.0
        elif pft == C4 and self.crop is not None:
            c4_crop = np.maximum(self.crop - self.pft[CROP], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(self.pft[C4] > 0, np.minimum(c4_crop / np.where(self.pft[C4] > 0, self.pft[C4], 1.0),
                                                            1.0), 0.0)
        return out

    def tile_fraction_of_land(self) -> np.ndarray:
        """Tile fractions per unit land area (0 where there is no land)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.land > 0, self.pft / np.where(self.land > 0, self.land, 1.0), 0.0)


# ---- reading -------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _read_source(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fractions (17, nlat, nlon), lat_edges, lon_edges) of a fractions file, renormalised per cell."""
    import netCDF4

    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"land cover file {path!r} does not exist")
    try:
        ds = netCDF4.Dataset(p)
    except OSError as exc:
        raise InputDataError(f"land cover file {path!r} is not a readable NetCDF file: {exc}") from None
    with ds:
        for name in ("igbp_fraction", "lat_bnds", "lon_bnds"):
            if name not in ds.variables:
                raise InputDataError(f"land cover file {path!r} has no variable {name!r}; expected "
                                     "igbp_fraction(igbp_class, lat, lon) with lat_bnds, lon_bnds")
        v = ds["igbp_fraction"]
        v.set_auto_mask(False)
        frac = np.asarray(v[:], dtype=np.float64)
        latb = np.asarray(ds["lat_bnds"][:], dtype=np.float64)
        lonb = np.asarray(ds["lon_bnds"][:], dtype=np.float64)
        classes = np.asarray(ds["igbp_class"][:]) if "igbp_class" in ds.variables else np.arange(frac.shape[0])
    if frac.ndim != 3 or frac.shape[0] != len(IGBP_NAMES):
        raise InputDataError(f"land cover file {path!r}: igbp_fraction has shape {frac.shape}; expected "
                             f"({len(IGBP_NAMES)}, nlat, nlon) for the IGBP classes 0..16")
    if not np.array_equal(classes, np.arange(len(IGBP_NAMES))):
        bad = sorted(set(classes.tolist()) - set(range(len(IGBP_NAMES))))
        raise InputDataError(f"land cover file {path!r}: igbp_class holds {classes.tolist()}; unknown cover "
                             f"types {bad} (expected the IGBP codes 0..16: {', '.join(IGBP_NAMES)})")
    if not np.all(np.isfinite(frac)) or frac.min() < 0 or frac.max() > 1.0 + 1e-6:
        raise InputDataError(f"land cover file {path!r}: igbp_fraction must be finite and within [0, 1]")
    total = frac.sum(axis=0)
    if np.abs(total - 1.0).max() > 1e-3:
        raise InputDataError(f"land cover file {path!r}: class fractions sum to between {total.min():.4f} and "
                             f"{total.max():.4f} in some cells; expected 1")
    frac /= total[None]
    lat_edges = np.append(latb[:, 0], latb[-1, 1])
    lon_edges = np.append(lonb[:, 0], lonb[-1, 1])
    if not (np.all(np.diff(lat_edges) > 0) and abs(lat_edges[0] + 90) < 1e-9 and abs(lat_edges[-1] - 90) < 1e-9
            and abs(lon_edges[0] + 180) < 1e-9 and abs(lon_edges[-1] - 180) < 1e-9):
        raise InputDataError(f"land cover file {path!r}: expected a global grid, latitude south to north from "
                             "-90 to 90 and longitude from -180 to 180")
    frac.setflags(write=False)
    return frac, lat_edges, lon_edges


def _default_path() -> str:
    from esm.data import forcing_path
    return str(forcing_path(LANDCOVER_FILE))


# ---- exact area-conservative regridding ------------------------------------------------
def _overlap_matrix(dst_edges: np.ndarray, src_edges: np.ndarray, measure):
    """Sparse (ndst, nsrc) matrix of overlap measures between 1-D intervals.

    ``measure(lo, hi)`` maps an interval to its measure (``sin`` difference for latitude,
    degrees for longitude); overlap = measure(max(lo), min(hi)) where positive.
    """
    from scipy import sparse

    rows, cols, vals = [], [], []
    # both edge arrays are sorted: walk them together
    j0 = 0
    nsrc = len(src_edges) - 1
    for J in range(len(dst_edges) - 1):
        lo, hi = dst_edges[J], dst_edges[J + 1]
        while j0 < nsrc and src_edges[j0 + 1] <= lo:
            j0 += 1
        j = j0
        while j < nsrc and src_edges[j] < hi:
            a, b = max(lo, src_edges[j]), min(hi, src_edges[j + 1])
            if b > a:
                rows.append(J)
                cols.append(j)
                vals.append(measure(a, b))
            j += 1
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(dst_edges) - 1, nsrc))


def regrid_fractions(frac: np.ndarray, src_lat_edges: np.ndarray, src_lon_edges: np.ndarray,
                     grid: Grid) -> np.ndarray:
    """Area-conservative regridding of cell fractions ``(..., nlat_src, nlon_src)`` onto ``grid``.

    Target fraction = sum over source cells of (overlap area x source fraction) / target area,
    with overlap areas on the sphere (``R^2 dlambda d(sin phi)``), exact for any pair of regular
    latitude-longitude grids covering the globe.
    """
    sin = lambda d: np.sin(np.deg2rad(d))  # noqa: E731

    def lat_measure(a, b):
        sa = -1.0 if a <= -90.0 else (1.0 if a >= 90.0 else sin(a))
        sb = -1.0 if b <= -90.0 else (1.0 if b >= 90.0 else sin(b))
        return sb - sa

    wlat = _overlap_matrix(grid.lat_edges, src_lat_edges, lat_measure)
    wlon = _overlap_matrix(grid.lon_edges, src_lon_edges, lambda a, b: b - a)
    dsin = np.asarray(wlat.sum(axis=1)).ravel()  # = sin(phi_n) - sin(phi_s) of target rows
    dlon = np.asarray(wlon.sum(axis=1)).ravel()
    lead = frac.shape[:-2]
    flat = frac.reshape((-1,) + frac.shape[-2:])
    out = np.empty((flat.shape[0], grid.nlat, grid.nlon))
    for k in range(flat.shape[0]):
        rows = wlat @ flat[k]  # (nlat, nlon_src)
        out[k] = (wlon @ rows.T).T  # (nlat, nlon)
    out /= dsin[None, :, None] * dlon[None, None, :]
    return out.reshape(lead + (grid.nlat, grid.nlon))


# ---- public API -----------------------------------------------------------------------
def pft_fractions_on_source(frac: np.ndarray, lat_edges: np.ndarray, c4_grass_lat_full: float = 15.0,
                            c4_grass_lat_zero: float = 35.0, c4_crop_fraction: float = 0.20) -> np.ndarray:
    """BEPS tile fractions (9, nlat, nlon) from IGBP fractions (17, nlat, nlon) (mapping in the module doc)."""
    if not 0.0 <= c4_crop_fraction <= 1.0:
        raise ValueError(f"c4_crop_fraction = {c4_crop_fraction} must be within [0, 1]")
    fixed, grass, crop = _mapping()
    pft = np.einsum("cp,cyx->pyx", fixed, frac)
    herb = np.einsum("c,cyx->yx", grass, frac)
    cropf = np.einsum("c,cyx->yx", crop, frac)
    lat = 0.5 * (lat_edges[:-1] + lat_edges[1:])
    s4 = c4_grass_share(lat, c4_grass_lat_full, c4_grass_lat_zero)[:, None]
    pft[GRASS] = herb * (1.0 - s4)
    pft[CROP] = cropf * (1.0 - c4_crop_fraction)
    pft[C4] = herb * s4 + cropf * c4_crop_fraction
    return pft


def load_land_cover(grid: Grid, path: str | None = None, c4_grass_lat_full: float = 15.0,
                    c4_grass_lat_zero: float = 35.0, c4_crop_fraction: float = 0.20) -> LandCover:
    """Land cover aggregated area-conservatively to ``grid`` (see the module docstring).

    ``path`` defaults to the shipped MODIS MCD12C1 2019 fractions.
    """
    path = path or _default_path()
    frac, lat_edges, lon_edges = _read_source(str(path))
    pft_src = pft_fractions_on_source(frac, lat_edges, c4_grass_lat_full, c4_grass_lat_zero, c4_crop_fraction)
    crop_src = np.einsum("c,cyx->yx", _mapping()[2], frac)[None]
    both = regrid_fractions(np.concatenate([frac, pft_src, crop_src]), lat_edges, lon_edges, grid)
    n_igbp = len(IGBP_NAMES)
    igbp = np.clip(both[:n_igbp], 0.0, 1.0)
    pft = np.clip(both[n_igbp:n_igbp + NPFT], 0.0, 1.0)
    crop = np.clip(both[n_igbp + NPFT], 0.0, 1.0)
    land = np.clip(1.0 - igbp[IGBP_WATER], 0.0, 1.0)
    for a in (igbp, pft, land, crop):
        a.setflags(write=False)
    wet = igbp[IGBP_WETLAND]
    return LandCover(grid=grid, igbp=igbp, pft=pft, land=land, wetland=wet, crop=crop)


@lru_cache(maxsize=8)
def _land_fraction_cached(nlat: int, nlon: int, path: str) -> np.ndarray:
    g = Grid(nlat, nlon)
    frac, lat_edges, lon_edges = _read_source(path)
    land = np.clip(1.0 - regrid_fractions(frac[IGBP_WATER], lat_edges, lon_edges, g), 0.0, 1.0)
    land.setflags(write=False)
    return land


def land_fraction(grid: Grid, path: str | None = None) -> np.ndarray:
    """Land area fraction of every cell of ``grid`` [1], shape (nlat, nlon), from MODIS MCD12C1 2019.

    Land is every IGBP class but water bodies (class 0), so it includes permanent wetlands,
    snow and ice, and barren land. Area-conservative: ``sum(land_fraction * grid.area)`` is the
    same total land area on every grid (to round-off). Returns a read-only array.
    """
    return _land_fraction_cached(grid.nlat, grid.nlon, str(path or _default_path()))


def wetland_fraction(grid: Grid, path: str | None = None) -> np.ndarray:
    """Permanent-wetland (IGBP class 11) area fraction of every cell of ``grid`` [1]."""
    frac, lat_edges, lon_edges = _read_source(str(path or _default_path()))
    return np.clip(regrid_fractions(frac[IGBP_WETLAND], lat_edges, lon_edges, grid), 0.0, 1.0)
