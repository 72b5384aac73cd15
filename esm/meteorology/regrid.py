"""Horizontal regridding between regular latitude-longitude grids.

Both methods are separable on regular lat-lon grids, so a 2-D (or level-stacked 3-D) field is
regridded with two sparse matrix products (longitude, then latitude):

* **first-order conservative** (Jones 1999, MWR 127, 2204, eq. 3 restricted to lat-lon cells): the
  target value is the area-weighted mean of the overlapping source cells. On the sphere the area of
  a lat-lon rectangle is ``R^2 dlambda d(sin phi)``, so the weights are exact products of the
  longitude overlap and the overlap in ``sin(phi)``. Used for fluxes and masses (precipitation,
  radiation, surface pressure, layer thickness, land fraction): global integrals are preserved to
  round-off.
* **bilinear** (linear in longitude, periodic, and in latitude; constant beyond the outermost source
  latitudes): used for state variables (winds, temperature, humidity).

Source grids are described by their cell centres (any order, any longitude convention: -180..180
or 0..360); :func:`describe_source_grid` checks that they cover the globe and returns edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class SourceGrid:
    """A regular source grid normalised to latitude south->north and ascending longitude.

    ``lat_order``/``lon_order`` index the file's axes into that order; ``lon`` may start anywhere
    (e.g. 0 for 0..360 products); periodicity is handled by the weights.
    """

    lat: np.ndarray
    lon: np.ndarray
    lat_edges: np.ndarray
    lon_edges: np.ndarray
    lat_order: np.ndarray
    lon_order: np.ndarray


def describe_source_grid(lat, lon, where: str = "source grid", tol: float = 1e-3) -> SourceGrid:
    """Normalise a source grid given by its centres and check that it covers the globe.

    Latitudes must be monotonic and reach within one spacing of both poles (grids whose first row
    sits on the pole, like ERA5 and MERRA-2, have half-width polar rows); longitudes must be equally
    spaced and span 360 degrees. Raises ValueError naming ``where`` otherwise.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.ndim != 1 or lon.ndim != 1 or lat.size < 2 or lon.size < 3:
        raise ValueError(f"{where}: latitude and longitude must be 1-D with at least 2 and 3 points; "
                         f"got shapes {lat.shape} and {lon.shape}")
    if not np.all(np.isfinite(lat)) or not np.all(np.isfinite(lon)):
        raise ValueError(f"{where}: latitude/longitude contain non-finite values")
    lat_order = np.argsort(lat, kind="stable")
    la = lat[lat_order]
    dla = np.diff(la)
    if np.any(dla <= 0):
        raise ValueError(f"{where}: latitudes repeat; expected a strictly monotonic latitude axis")
    if la[0] < -90 - tol or la[-1] > 90 + tol:
        raise ValueError(f"{where}: latitudes {la[0]:.3f}..{la[-1]:.3f} exceed [-90, 90]")
    spacing = np.median(dla)
    if la[0] > -90 + spacing + tol or la[-1] < 90 - spacing - tol:
        raise ValueError(f"{where}: latitudes {la[0]:.3f}..{la[-1]:.3f} (spacing {spacing:.4g} deg) do not "
                         "cover the globe; expected a global grid reaching within one spacing of both poles")
    lat_edges = np.concatenate([[-90.0], 0.5 * (la[:-1] + la[1:]), [90.0]])
    lon_order = np.argsort(np.mod(lon - lon[0], 360.0) + lon[0], kind="stable")
    lo = lon[lon_order]
    lo = lo[0] + np.mod(lo - lo[0], 360.0)
    dlo = np.diff(lo)
    step = 360.0 / lon.size
    if np.any(np.abs(dlo - step) > tol * max(1.0, step)):
        raise ValueError(f"{where}: {lon.size} longitudes {lon.min():.3f}..{lon.max():.3f} are not equally "
                         f"spaced by 360/{lon.size} = {step:.6g} deg; expected a global regular grid "
                         "(longitudes -180..180 or 0..360)")
    lon_edges = np.concatenate([[lo[0] - 0.5 * step], lo + 0.5 * step])
    return SourceGrid(la, lo, lat_edges, lon_edges, lat_order, lon_order)


# ---- 1-D weight matrices ------------------------------------------------------------------
def _overlap(dst_lo, dst_hi, src_lo, src_hi):
    return np.clip(np.minimum(dst_hi[:, None], src_hi[None, :]) - np.maximum(dst_lo[:, None], src_lo[None, :]),
                   0.0, None)


def conservative_lat_matrix(src_edges_deg, dst_edges_deg) -> sp.csr_matrix:
    """(ndst, nsrc) weights: overlap in sin(lat) over the target width in sin(lat)."""
    s = np.sin(np.deg2rad(np.asarray(src_edges_deg, dtype=float)))
    d = np.sin(np.deg2rad(np.asarray(dst_edges_deg, dtype=float)))
    s[0], s[-1] = -1.0, 1.0
    d[0], d[-1] = -1.0, 1.0
    ov = _overlap(d[:-1], d[1:], s[:-1], s[1:])
    w = ov / np.diff(d)[:, None]
    return sp.csr_matrix(w)


def conservative_lon_matrix(src_edges_deg, dst_edges_deg) -> sp.csr_matrix:
    """(ndst, nsrc) periodic longitude overlap weights over the target width."""
    s = np.asarray(src_edges_deg, dtype=float)
    d = np.asarray(dst_edges_deg, dtype=float)
    n = s.size - 1
    w = np.zeros((d.size - 1, n))
    for shift in (-720.0, -360.0, 0.0, 360.0, 720.0):  # five copies cover any convention
        w += _overlap(d[:-1], d[1:], s[:-1] + shift, s[1:] + shift)
    w /= np.diff(d)[:, None]
    return sp.csr_matrix(w)


def linear_lat_matrix(src_centres, dst_centres) -> sp.csr_matrix:
    """(ndst, nsrc) linear interpolation in latitude; constant beyond the outermost source rows."""
    s = np.asarray(src_centres, dtype=float)
    x = np.clip(np.asarray(dst_centres, dtype=float), s[0], s[-1])
    j = np.clip(np.searchsorted(s, x, side="right") - 1, 0, s.size - 2)
    f = (x - s[j]) / (s[j + 1] - s[j])
    rows = np.arange(x.size)
    w = sp.coo_matrix((np.concatenate([1.0 - f, f]), (np.concatenate([rows, rows]), np.concatenate([j, j + 1]))),
                      shape=(x.size, s.size))
    return w.tocsr()


def linear_lon_matrix(src_centres, dst_centres) -> sp.csr_matrix:
    """(ndst, nsrc) periodic linear interpolation in longitude (source ascending, equally spaced)."""
    s = np.asarray(src_centres, dtype=float)
    n = s.size
    step = 360.0 / n
    x = np.mod(np.asarray(dst_centres, dtype=float) - s[0], 360.0)
    i = np.floor(x / step).astype(np.int64)
    i = np.clip(i, 0, n - 1)
    f = x / step - i
    rows = np.arange(x.size)
    w = sp.coo_matrix((np.concatenate([1.0 - f, f]), (np.concatenate([rows, rows]),
                                                        np.concatenate([i, (i + 1) % n]))), shape=(x.size, n))
    return w.tocsr()


class Regridder:
    """Regrid fields from a :class:`SourceGrid` (file order) to a model :class:`esm.grid.Grid`."""

    def __init__(self, src: SourceGrid, grid, method: str):
        if method not in ("conservative", "bilinear"):
            raise ValueError(f"regridding method {method!r}; expected 'conservative' or 'bilinear'")
        self.src = src
        self.method = method
        self.shape_out = (grid.nlat, grid.nlon)
        if method == "conservative":
            wlat = conservative_lat_matrix(src.lat_edges, grid.lat_edges)
            wlon = conservative_lon_matrix(src.lon_edges, grid.lon_edges)
        else:
            wlat = linear_lat_matrix(src.lat, grid.lat)
            wlon = linear_lon_matrix(src.lon, grid.lon)
        # fold the file-order permutation into the matrices: column c of the normalised grid is
        # column order[c] of the file
        self.wlat = _permute_columns(wlat, src.lat_order)
        self.wlon_t = _permute_columns(wlon, src.lon_order).T.tocsr()

    def __call__(self, field: np.ndarray) -> np.ndarray:
        """Regrid ``field`` of shape (..., nlat_src, nlon_src) in file order to (..., nlat, nlon)."""
        a = np.asarray(field, dtype=np.float64)
        lead = a.shape[:-2]
        ny, nx = a.shape[-2:]
        b = (self.wlon_t.T @ a.reshape(-1, nx).T).T  # (..*ny, nlon_out)
        b = b.reshape((-1, ny, self.shape_out[1]))
        # latitude: (nlat_out, ny) @ (ny, nlon_out) for every leading index, done as one product
        c = self.wlat @ b.transpose(1, 0, 2).reshape(ny, -1)
        c = c.reshape(self.shape_out[0], -1, self.shape_out[1]).transpose(1, 0, 2)
        return np.ascontiguousarray(c.reshape(lead + self.shape_out))

    def masked(self, field: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regrid only the valid source cells (e.g. SST over the ocean): returns (field, valid fraction)."""
        v = valid.astype(np.float64)
        num = self(np.where(valid, field, 0.0))
        den = self(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), np.nan)
        return out, den


def _permute_columns(w: sp.csr_matrix, order: np.ndarray) -> sp.csr_matrix:
    w = w.tocoo()
    return sp.csr_matrix((w.data, (w.row, np.asarray(order)[w.col])), shape=w.shape)


def regrid_grid_to_grid(field, src_grid, dst_grid, method="conservative") -> np.ndarray:
    """Regrid between two model :class:`esm.grid.Grid` objects (e.g. a reference raster to the model)."""
    src = SourceGrid(src_grid.lat, src_grid.lon, src_grid.lat_edges, src_grid.lon_edges,
                     np.arange(src_grid.nlat), np.arange(src_grid.nlon))
    return Regridder(src, dst_grid, method)(field)
