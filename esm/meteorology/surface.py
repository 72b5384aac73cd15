"""Static surface description for the climatology: land fraction and a smooth orography.

Land fraction
-------------
When :mod:`esm.land.landcover` is importable (the land engineer's land cover derived from MODIS
MCD12C1 2019), :func:`land_fraction` returns its ``land_fraction(grid)``. Until then it uses an
*analytic continental mask*: the continents and the large islands drawn as coarse polygons
(vertices every ~2-5 degrees, written for esm from general geographic knowledge; coastlines are
accurate to a few hundred km), rasterised exactly in longitude on a 0.25-degree reference raster
(scan-line fill, even-odd rule per polygon, union over polygons, large lakes and inland seas
removed) and averaged conservatively to the model grid. It gives a global land fraction of ~0.29
(the observed 29 %, 149 million km2, incl. Antarctic ice shelves) and is meant for tests and for
the default run only.

Orography
---------
A smooth surface height built from Gaussian mountain ranges (Tibetan Plateau, Andes, Rockies,
Greenland and Antarctic ice sheets, East African and Ethiopian highlands, Iranian and Mongolian
plateaus) with peak heights of the ETOPO1 range means (Amante & Eakins 2009), set to zero over
ocean. Used only for the climatology's surface pressure and near-surface temperature.
"""
from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from esm.grid import Grid
from esm.meteorology.regrid import regrid_grid_to_grid

log = logging.getLogger(__name__)

# (lon, lat) vertices in degrees; coarse outlines.
_POLYGONS = {
    "north_america": [(-168, 65.5), (-162, 70), (-156, 71.3), (-141, 69.7), (-128, 70.2), (-117, 68.8),
                      (-108, 68), (-95, 71), (-89, 68.5), (-82, 69.5), (-78, 72.5), (-68, 66), (-62, 60),
                      (-56, 52.5), (-60, 47), (-66, 45), (-70, 42), (-74, 40.5), (-76, 37), (-76, 35),
                      (-81, 31), (-80, 25.5), (-82, 27), (-84, 30), (-89, 30.2), (-94, 29.5), (-97.5, 26),
                      (-97.5, 21.5), (-96, 19), (-91, 18.7), (-90.5, 21), (-87, 21.5), (-88, 16), (-83.5, 15),
                      (-83.7, 11), (-81.5, 9), (-79, 9.5), (-77.5, 8.5), (-80, 7.5), (-85.5, 10), (-87.5, 13),
                      (-92, 14.5), (-96, 15.7), (-105, 19.5), (-106, 23), (-109.5, 27), (-112.8, 31.5),
                      (-114.8, 31.5), (-112, 25), (-110, 23), (-112, 24.5), (-114.5, 28), (-117.5, 33),
                      (-120.5, 34.5), (-124, 40.5), (-124.5, 48), (-127, 50.5), (-131, 54), (-136, 58.5),
                      (-141, 60), (-147, 61), (-152, 59), (-157, 57), (-164, 54.5), (-158, 58), (-162, 60),
                      (-165, 62.5)],
    "arctic_archipelago": [(-120, 72), (-118, 77), (-100, 79), (-85, 80), (-70, 82), (-62, 82), (-80, 76),
                           (-78, 73), (-62, 67), (-64, 63), (-72, 62.5), (-80, 64), (-86, 69), (-95, 72),
                           (-110, 72)],
    "greenland": [(-73, 78), (-66, 81), (-40, 83.5), (-20, 82), (-18, 77), (-22, 70), (-32, 68), (-40, 65),
                  (-43, 60), (-49, 61.5), (-53, 66.5), (-55, 71), (-60, 76)],
    "south_america": [(-77.5, 8.5), (-72, 12), (-63, 10.7), (-60, 8.5), (-52, 5), (-50, 1), (-44, -2.5),
                      (-35, -5.5), (-35, -9), (-39, -13.5), (-39.5, -18), (-41, -22.5), (-48, -26),
                      (-48.5, -28.5), (-53, -33.5), (-57.5, -35), (-57, -38.5), (-62, -39), (-65, -42),
                      (-65.5, -45), (-67.5, -46.5), (-66, -48), (-69, -51), (-68.5, -53), (-67, -55), (-71, -55),
                      (-74.5, -52), (-75.5, -47), (-73.5, -43), (-73.5, -37), (-71.5, -30), (-70.5, -23),
                      (-70.2, -18.5), (-75, -15.5), (-78.5, -9.5), (-81, -6), (-80, -2.5), (-80, 1),
                      (-78.5, 3), (-77.5, 7)],
    "africa": [(-17, 21), (-16.5, 12.5), (-13, 8.5), (-8, 4.5), (-2, 5), (5, 6), (9, 4.2), (9.7, 2), (9, -1),
               (12, -5), (13.5, -11), (11.8, -17), (14.5, -22.5), (15.5, -27), (18.4, -34.3), (20, -34.8),
               (25.5, -34), (30.5, -31), (32.5, -28.5), (35.5, -24), (35, -20), (40.5, -15), (40.5, -10.5),
               (39.5, -5), (41.5, -1.5), (46, 2), (51, 10.5), (51, 12), (45, 10.5), (43.5, 12), (39, 15.5),
               (37.5, 18.5), (35.5, 23.5), (33.5, 27.5), (32.5, 30), (29, 30.8), (25, 32), (20, 30.8),
               (20, 32.5), (15, 32.2), (11, 33.3), (10.5, 37), (3, 36.8), (-2, 35.1), (-6, 35.8), (-9.5, 32),
               (-10, 29), (-13, 27.5), (-16, 23.5)],
    "madagascar": [(44, -25), (47, -25), (50.5, -15.5), (49.5, -12), (47.5, -14), (44, -17), (43.5, -22)],
    "eurasia": [(-9.5, 43), (-9, 39), (-9, 37), (-6, 36.2), (-2, 36.7), (0, 39), (3.2, 42), (3, 43.3), (6, 43),
                (8.5, 44.4), (10.5, 43), (12.5, 41.5), (15.8, 40), (16, 38), (17, 39.2), (18.5, 40.2), (16, 41.5),
                (13.5, 43.5), (12.3, 45.3), (13.7, 45.7), (15, 44), (19.5, 41.5), (20, 39.5), (22.5, 36.5),
                (24, 38), (22.6, 40.3), (26, 40.8), (28, 41), (26.5, 39), (27.5, 37), (30, 36.2), (36, 36.5),
                (35.8, 34.5), (34.9, 32.2), (34.2, 31.3), (32.5, 30), (34.9, 29.5), (35.5, 28), (39, 22),
                (42.8, 16), (43.5, 12.7), (45, 13), (49, 14.3), (52.2, 15.6), (55, 17.5), (57.5, 19),
                (59.8, 22.5), (56.4, 26.2), (54, 24), (51.5, 24.5), (50, 26.5), (48, 29.5), (50.5, 30),
                (54, 26.8), (57, 25.7), (61.5, 25.2), (66.5, 25.4), (68.5, 23.5), (70.5, 21), (72.8, 19),
                (73.5, 15.5), (76.5, 8.5), (78, 8.2), (79.8, 10.3), (80.2, 15.5), (82.3, 16.8), (86.9, 20.8),
                (88.5, 22), (91.8, 22.2), (94.2, 18.5), (94.5, 16), (97.6, 16.5), (98.5, 12), (98.5, 8.3),
                (100.3, 5.5), (101.3, 2.5), (103.5, 1.4), (104.3, 1.6), (103.2, 5.5), (100.8, 12.7),
                (102.5, 12.3), (104.8, 8.6), (106.8, 10.4), (109.3, 12), (108.5, 15.5), (106.5, 18), (106, 20),
                (108, 21.5), (110.5, 20.5), (113, 22.2), (117, 23), (119.5, 25.8), (120.8, 28), (122, 30.5),
                (121, 32.5), (119.2, 34.5), (120.5, 36.2), (122.5, 37), (118.8, 37.5), (118, 38.5),
                (121.5, 40.8), (121.3, 39), (124.3, 39.9), (125.2, 37.7), (126.5, 34.4), (129.3, 35.3),
                (129.5, 37.5), (128.5, 38.6), (131, 42.6), (135.5, 43.8), (140.5, 48.5), (140.5, 53),
                (137.5, 54), (141.5, 59), (149, 59.5), (155, 59), (156.8, 61.5), (163, 62), (156, 57.5),
                (156.5, 51), (160, 53), (163, 56), (163, 59.8), (170, 60), (177, 62.5), (180, 65), (180, 69),
                (170, 70), (160, 69.7), (150, 71.5), (140, 72.5), (130, 71), (127, 73.5), (113, 73.5),
                (110, 76.7), (104, 77.7), (95, 76), (88, 75.5), (80, 73), (80.5, 72), (73.5, 68.5), (72.5, 72.5),
                (68.5, 73), (66, 69.5), (60, 68.5), (55, 68.2), (44, 68.5), (40.5, 67.8), (41, 66.3), (32.5, 67),
                (41, 64.5), (36, 64.2), (35, 66), (33, 66.8), (30, 69.5), (24, 71), (17, 69.5), (13, 66),
                (9.5, 63.5), (5, 62), (5.5, 59), (8, 58), (10.5, 59.3), (12, 57.5), (12.5, 56), (14.3, 55.4),
                (16.4, 56.6), (16.7, 58.5), (18.5, 59.5), (17.2, 61.5), (21.5, 64.5), (25.5, 65.5), (22.5, 63.5),
                (21.3, 61), (23, 60), (30, 60.2), (24, 59.3), (23.5, 57.5), (21, 57), (21, 55), (14.2, 53.9),
                (10, 54.3), (10.7, 56.5), (8.6, 57.1), (8.2, 55.5), (8.7, 53.9), (5, 53.3), (3.6, 51.5),
                (1.6, 50.9), (-1.5, 49.5), (-4.7, 48.5), (-1.3, 46), (-1.5, 43.5), (-8, 43.7)],
    "great_britain": [(-5.7, 50), (1.5, 51), (1.7, 52.7), (0, 53.5), (-1.5, 55.5), (-2, 57.7), (-3.5, 58.6),
                      (-5, 58.6), (-6.2, 56.5), (-5, 55), (-3, 54), (-4.5, 53.3), (-5.2, 51.7)],
    "ireland": [(-10, 51.6), (-6.2, 52.2), (-6, 54), (-7.3, 55.3), (-10, 54.2)],
    "iceland": [(-24, 65.5), (-22, 66.4), (-15, 66.5), (-13.5, 65), (-18, 63.4), (-22.5, 63.8)],
    "svalbard_novaya_zemlya": [(52, 71), (56, 70.7), (60, 74), (68, 76.5), (60, 76.8), (55, 74)],
    "japan": [(130, 31), (131.5, 31.5), (132, 33.5), (135, 33.5), (140, 35), (141, 38), (141.5, 41.3),
              (145.5, 43.3), (145, 44.3), (142, 45.5), (140, 42.5), (140, 40), (139.5, 38), (136.5, 37),
              (133, 35.5), (130.8, 34)],
    "philippines": [(120, 18.5), (122.3, 18.5), (122, 14), (126, 10), (126.5, 7), (125.5, 5.8), (122, 7),
                    (121.5, 9.5), (119.5, 10.5), (120.5, 14.5)],
    "sumatra": [(95.3, 5.6), (98.2, 4.2), (104, -1), (106, -3), (106, -5.9), (104.5, -5.9), (101, -2.8),
                (98.6, 1.7)],
    "java": [(105.2, -6.8), (106, -5.9), (111, -6.5), (114.5, -7.7), (114.5, -8.7), (108, -7.8)],
    "borneo": [(109, 1.8), (111.5, 2.5), (116.5, 7), (119.2, 5.3), (117.5, 1), (118, -1), (116.3, -3.8),
               (114.5, -4), (110.2, -2.9), (109, -0.5)],
    "sulawesi": [(119.5, -5.5), (120.5, 0.8), (125, 1.5), (121, -1), (123, -4.5), (121, -5)],
    "new_guinea": [(131, -1.3), (134.2, -0.8), (138, -1.6), (141, -2.6), (145.8, -5), (147.5, -6.2),
                   (150.5, -10.5), (147, -10.2), (144, -7.7), (141, -9.2), (138, -8.2), (137.8, -5.3),
                   (134.2, -4), (132, -2.5)],
    "australia": [(113.5, -22), (114, -26.5), (115, -34.3), (118, -35), (123.5, -33.9), (129, -31.7),
                  (131.5, -31.5), (135.5, -34.8), (138, -35.6), (140, -37.7), (143.5, -38.8), (146.5, -39),
                  (150, -37.5), (151.5, -33), (153.6, -28.5), (153, -25), (150.5, -22.5), (146.3, -19),
                  (145.3, -15), (143.5, -14), (142.5, -10.8), (141.5, -13), (141.6, -16.5), (139.5, -17.5),
                  (136.5, -15.5), (136.8, -12.2), (132.5, -11.5), (129.5, -14.9), (126, -14), (122.2, -17.5),
                  (119, -20), (114.2, -21.8)],
    "tasmania": [(144.6, -40.7), (148.3, -40.9), (148, -43.2), (146, -43.6), (145.2, -42.2)],
    "new_zealand_north": [(172.7, -34.4), (178.5, -37.7), (177, -39.5), (174.8, -41.4), (174.5, -39.5),
                          (174.3, -36.5)],
    "new_zealand_south": [(172.7, -40.5), (174.3, -41.7), (172.8, -43.8), (171, -45), (169, -46.6),
                          (166.5, -46), (168, -44), (171.5, -41.7)],
    "sri_lanka": [(79.8, 6), (81.9, 7.6), (80.2, 9.8)],
}
# Water bodies removed from the land polygons.
_HOLES = {
    "hudson_bay": [(-95, 59), (-94, 56.5), (-88, 55.5), (-82, 53), (-79.5, 55), (-77, 60), (-78, 62.5),
                   (-87, 64.5), (-93, 62)],
    "black_sea": [(28, 41.2), (28.5, 43.5), (30, 45.5), (33, 46), (36.5, 45.3), (38.5, 44.2), (41.5, 41.5),
                  (36, 41.7), (31, 41.1)],
    "caspian_sea": [(47, 45), (50, 46.5), (53, 47), (53.5, 45), (51.5, 44.5), (52.8, 41.5), (53.9, 37),
                    (49, 37.5), (49.5, 40.5), (47.5, 42.5)],
}
#: Antarctic coastline (incl. the Ross and Filchner-Ronne ice shelves), latitude by longitude.
_ANTARCTIC_COAST = np.array([
    (-180, -78), (-150, -75), (-120, -73.5), (-100, -72.5), (-75, -70), (-65, -66), (-58, -63.5), (-55, -64.5),
    (-45, -77), (-30, -76), (-15, -71.5), (0, -70), (20, -70), (40, -69), (60, -67.5), (80, -67), (100, -66.2),
    (120, -66.5), (140, -66.5), (160, -70), (170, -72), (180, -78)])

#: Gaussian mountain ranges: (lon0, lat0, lon1, lat1, half-width deg, height m). A segment from
#: (lon0, lat0) to (lon1, lat1); height falls as exp(-(d/w)^2) with the distance d to the segment.
_MOUNTAINS = [
    (78.0, 33.5, 97.0, 33.0, 4.5, 4500.0),     # Tibetan Plateau (mean ~4500 m)
    (-78.0, 2.0, -70.0, -40.0, 1.8, 3500.0),   # Andes
    (-121.0, 58.0, -107.0, 35.0, 4.0, 2000.0),  # Rocky Mountains
    (-42.0, 66.0, -38.0, 78.0, 6.0, 2300.0),   # Greenland ice sheet
    (36.0, 12.0, 38.0, -5.0, 4.0, 1500.0),     # Ethiopian and East African highlands
    (50.0, 33.0, 62.0, 31.0, 4.0, 1200.0),     # Iranian plateau
    (90.0, 47.0, 110.0, 45.0, 5.0, 1400.0),    # Mongolian plateau
    (18.0, -25.0, 30.0, -27.0, 5.0, 1100.0),   # southern African plateau
]

REFERENCE = Grid(720, 1440, name="0.25x0.25 reference")


def _fill_polygon(poly, ref: Grid) -> np.ndarray:
    """Fraction of each reference cell inside ``poly``, exact in longitude along the row centre
    (scan-line fill, even-odd rule; compiled kernel)."""
    from esm._kernels import met_clim
    out = np.empty(ref.shape)
    met_clim.fill_polygon(np.ascontiguousarray(poly, dtype=np.float64), np.ascontiguousarray(ref.lat),
                          np.ascontiguousarray(ref.lon_edges), out)
    return out


@lru_cache(maxsize=1)
def _reference_land() -> np.ndarray:
    ref = REFERENCE
    land = np.zeros(ref.shape)
    for poly in _POLYGONS.values():
        np.maximum(land, _fill_polygon(poly, ref), out=land)
    for poly in _HOLES.values():
        np.minimum(land, 1.0 - _fill_polygon(poly, ref), out=land)
    coast = np.interp(ref.lon, _ANTARCTIC_COAST[:, 0], _ANTARCTIC_COAST[:, 1])
    lat = ref.lat[:, None]
    land = np.where(lat < coast[None, :], 1.0, land)
    return land


@lru_cache(maxsize=1)
def _reference_height() -> np.ndarray:
    from esm._kernels import met_clim
    ref = REFERENCE
    h = np.empty(ref.shape)
    met_clim.mountain_heights(np.ascontiguousarray(ref.lon), np.ascontiguousarray(ref.lat),
                              np.array(_MOUNTAINS, dtype=np.float64), h)
    # Antarctic ice sheet: a dome rising to ~3000 m at the pole from the coast (Fretwell et al. 2013)
    coast = np.interp(ref.lon, _ANTARCTIC_COAST[:, 0], _ANTARCTIC_COAST[:, 1])[None, :]
    x = np.clip((coast - ref.lat[:, None]) / (coast + 90.0), 0.0, 1.0)
    h = np.maximum(h, 3000.0 * np.sqrt(x))
    return h * _reference_land()


def _landcover_module():
    try:
        from esm.land import landcover  # type: ignore
    except ImportError:
        return None
    return landcover if hasattr(landcover, "land_fraction") else None


def analytic_land_fraction(grid: Grid) -> np.ndarray:
    """The analytic continental mask averaged conservatively onto ``grid`` (values in [0, 1])."""
    return np.clip(regrid_grid_to_grid(_reference_land(), REFERENCE, grid, "conservative"), 0.0, 1.0)


def land_fraction(grid: Grid) -> np.ndarray:
    """Land area fraction of each cell: MODIS land cover when available, else the analytic mask."""
    lc = _landcover_module()
    if lc is not None:
        frac = np.asarray(lc.land_fraction(grid), dtype=np.float64)
        if frac.shape != grid.shape or not np.all(np.isfinite(frac)):
            raise ValueError(f"esm.land.landcover.land_fraction returned shape {frac.shape} or non-finite "
                             f"values; expected finite (nlat, nlon) = {grid.shape}")
        return np.clip(frac, 0.0, 1.0)
    return analytic_land_fraction(grid)


def land_fraction_source() -> str:
    return "esm.land.landcover (MODIS MCD12C1)" if _landcover_module() is not None else \
        "analytic continental mask (esm.meteorology.surface)"


def surface_height(grid: Grid) -> np.ndarray:
    """Grid-cell mean surface height [m] of the smooth orography (0 over ocean)."""
    return np.clip(regrid_grid_to_grid(_reference_height(), REFERENCE, grid, "conservative"), 0.0, None)
