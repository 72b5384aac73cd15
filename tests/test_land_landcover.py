"""Land cover: shipped MODIS fractions, exact area-conservative aggregation, IGBP -> BEPS tiles."""
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from esm.errors import InputDataError
from esm.grid import Grid
from esm.land import landcover as lcmod
from esm.land.landcover import (C4, CROP, DBF, GRASS, IGBP_NAMES, MIXED, NPFT, c4_grass_share, land_fraction,
                                load_land_cover, regrid_fractions, wetland_fraction)


def _write_fractions(path: Path, frac: np.ndarray, classes=None) -> None:
    """A fractions file in the shipped layout on a 0.5 degree grid."""
    nlat, nlon = frac.shape[1:]
    dlat, dlon = 180.0 / nlat, 360.0 / nlon
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("lat", nlat)
        ds.createDimension("lon", nlon)
        ds.createDimension("bnds", 2)
        ds.createDimension("igbp_class", frac.shape[0])
        le = -90 + dlat * np.arange(nlat + 1)
        ds.createVariable("lat_bnds", "f8", ("lat", "bnds"))[:] = np.stack([le[:-1], le[1:]], 1)
        oe = -180 + dlon * np.arange(nlon + 1)
        ds.createVariable("lon_bnds", "f8", ("lon", "bnds"))[:] = np.stack([oe[:-1], oe[1:]], 1)
        ds.createVariable("igbp_class", "i4", ("igbp_class",))[:] = (
            np.arange(frac.shape[0]) if classes is None else classes)
        ds.createVariable("igbp_fraction", "f8", ("igbp_class", "lat", "lon"))[:] = frac


def test_shipped_file_is_small_and_has_provenance():
    path = Path(lcmod._default_path())
    assert path.stat().st_size < 2_000_000
    with netCDF4.Dataset(path) as ds:
        assert ds.doi == "10.5067/MODIS/MCD12C1.006"
        assert ds.product == "MCD12C1" and ds.product_version == "006"
        assert "make_landcover.py" in ds.history
        assert ds["igbp_fraction"].shape == (17, 360, 720)


@pytest.mark.parametrize("spec", ["4x5", "0.5x0.625", "10x10"])
def test_land_area_conserved_on_every_grid(spec):
    """The land area is the same on the 0.5 degree source grid and on any model grid."""
    src = Grid.from_spec("0.5x0.5")
    ref = float(np.sum(land_fraction(src) * src.area))
    g = Grid.from_spec(spec)
    lf = land_fraction(g)
    assert lf.shape == g.shape and lf.min() >= 0 and lf.max() <= 1
    assert float(np.sum(lf * g.area)) == pytest.approx(ref, rel=1e-12)
    # Earth's land (without inland water) is ~146-149 million km2
    assert 140e12 < ref < 150e12


def test_tiles_classes_and_wetland_consistent():
    g = Grid.from_spec("4x5")
    lc = load_land_cover(g)
    assert lc.pft.shape == (NPFT, 45, 72)
    np.testing.assert_allclose(lc.igbp.sum(axis=0), 1.0, atol=1e-12)
    nonveg = lc.igbp[[13, 15, 16]].sum(axis=0)  # urban, snow/ice, barren
    np.testing.assert_allclose(lc.pft.sum(axis=0) + nonveg, lc.land, atol=1e-12)
    np.testing.assert_allclose(lc.wetland, wetland_fraction(g), atol=1e-15)
    np.testing.assert_allclose(lc.land, land_fraction(g), atol=1e-15)
    # Antarctic interior: ice, no vegetation; Amazon: evergreen broadleaf forest dominates
    j = np.searchsorted(g.lat_edges, -86.0) - 1
    assert lc.pft[:, j].sum() < 1e-3 and lc.igbp[15, j].mean() > 0.9
    ja, ia = np.searchsorted(g.lat_edges, -4.0) - 1, np.searchsorted(g.lon_edges, -62.0) - 1
    assert np.argmax(lc.pft[:, ja, ia]) == 3


def test_exact_partial_overlap_hand_worked(tmp_path):
    """0.5 deg source with land only in the column [0, 0.5] E; on 0.625 deg columns the cell [0, 0.625]
    gets exactly 0.5/0.625 = 0.8 of it; latitude rows nest, so the row fraction is untouched."""
    frac = np.zeros((17, 360, 720))
    frac[0] = 1.0
    frac[0, :, 360] = 0.0  # column 360 spans [0, 0.5] E
    frac[10, :, 360] = 1.0  # grassland
    p = tmp_path / "lc.nc"
    _write_fractions(p, frac)
    g = Grid.from_spec("0.5x0.625")
    lf = land_fraction(g, path=str(p))
    i0 = np.searchsorted(g.lon_edges, 0.0)
    np.testing.assert_allclose(lf[:, i0], 0.8, rtol=1e-13)
    assert np.all(lf[:, i0 + 1] == 0.0) and np.all(lf[:, i0 - 1] == 0.0)
    # on 4 x 5 degree cells: 0.5/5 of each cell's longitude span
    g4 = Grid.from_spec("4x5")
    np.testing.assert_allclose(land_fraction(g4, path=str(p))[:, 36], 0.1, rtol=1e-13)


def test_regrid_latitude_weights_are_spherical_areas():
    """A source band [0, 0.5] N on a 10 degree target row: fraction = (sin 0.5 - sin 0) / (sin 10 - sin 0)."""
    src_lat = -90 + 0.5 * np.arange(361)
    src_lon = -180 + 0.5 * np.arange(721)
    f = np.zeros((360, 720))
    f[180] = 1.0
    g = Grid.from_spec("10x10")
    out = regrid_fractions(f, src_lat, src_lon, g)
    expected = np.sin(np.deg2rad(0.5)) / np.sin(np.deg2rad(10.0))
    np.testing.assert_allclose(out[9], expected, rtol=1e-12)
    assert np.all(out[:9] == 0) and np.all(out[10:] == 0)


def test_c4_split_and_mapping_hand_worked(tmp_path):
    """One grid of pure savanna: 20 % -> DBF, 80 % herbaceous split C3/C4 by latitude; cropland 20 % C4."""
    frac = np.zeros((17, 36, 36))  # 5 x 10 degree source is allowed too
    frac[9] = 1.0  # savanna everywhere
    p = tmp_path / "sav.nc"
    _write_fractions(p, frac)
    g = Grid.from_spec("5x10")
    lc = load_land_cover(g, path=str(p))
    np.testing.assert_allclose(lc.pft[DBF], 0.2, rtol=1e-12)
    share = c4_grass_share(g.lat)[:, None]
    np.testing.assert_allclose(lc.pft[C4], 0.8 * share * np.ones(g.shape), atol=1e-12)
    np.testing.assert_allclose(lc.pft[GRASS], 0.8 * (1 - share) * np.ones(g.shape), atol=1e-12)
    # latitudes of the default rule: full C4 at 10 N, none at 40 S, half at 25 N
    assert c4_grass_share(np.array([10.0, -40.0, 25.0])).tolist() == [1.0, 0.0, 0.5]
    frac[:] = 0
    frac[14] = 1.0  # crop/natural mosaic
    _write_fractions(p, frac)
    lcmod._read_source.cache_clear()
    lc = load_land_cover(g, path=str(p), c4_crop_fraction=0.3)
    np.testing.assert_allclose(lc.pft[CROP], 0.5 * 0.7, rtol=1e-12)
    np.testing.assert_allclose(lc.pft[MIXED], 0.25, rtol=1e-12)


def test_bad_land_cover_files(tmp_path):
    g = Grid.from_spec("10x10")
    with pytest.raises(InputDataError, match="does not exist"):
        load_land_cover(g, path=str(tmp_path / "none.nc"))
    frac = np.zeros((17, 18, 36))
    frac[0] = 1
    p = tmp_path / "badclass.nc"
    _write_fractions(p, frac, classes=np.r_[np.arange(16), 42])
    with pytest.raises(InputDataError, match="unknown cover types \\[42\\]"):
        load_land_cover(g, path=str(p))
    p2 = tmp_path / "badsum.nc"
    _write_fractions(p2, frac * 0.5)
    with pytest.raises(InputDataError, match="sum to"):
        load_land_cover(g, path=str(p2))
    p3 = tmp_path / "neg.nc"
    f3 = frac.copy()
    f3[1, 0, 0] = -0.5
    _write_fractions(p3, f3)
    with pytest.raises(InputDataError, match="within \\[0, 1\\]"):
        load_land_cover(g, path=str(p3))
    with pytest.raises(ValueError, match="c4_crop_fraction"):
        load_land_cover(g, c4_crop_fraction=1.5)
    assert len(IGBP_NAMES) == 17
