"""Derive the reduced level sets shipped in ``forcing/vertical`` from the GEOS 72-layer grid.

Run from the repository root::

    python forcing/vertical/make_levels.py

* ``geos47.csv``: the GEOS-Chem reduced 47-layer grid. Interfaces 0..36 are the
  native 72-layer interfaces; above them (where bp = 0, i.e. pure pressure levels)
  pairs of layers are lumped for the next 4 interfaces and quadruples for the last 7
  (GEOS-Chem wiki, "GEOS-Chem vertical grids", reduced grid).
* ``coarse11.csv``: an 11-layer subset of the 47-layer interfaces for fast tests;
  every interface is a native GEOS interface, so the coarse set nests in both.
"""
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent

#: Interfaces of geos47 (as indices into geos72) that make up the coarse test set.
COARSE_FROM_47 = [0, 3, 7, 11, 15, 19, 23, 27, 31, 36, 41, 47]


def read_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(ap [hPa], bp)`` from a shipped table, with esm's own reader."""
    from esm.vertical import read_level_table

    ap_pa, bp = read_level_table(path)
    return ap_pa / 100.0, bp


def geos47_indices() -> list[int]:
    """Indices of the native 72-layer interfaces kept by the reduced 47-layer grid."""
    idx = list(range(0, 37))
    idx += [36 + 2 * (i - 36) for i in range(37, 41)]  # 38, 40, 42, 44
    idx += [44 + 4 * (i - 40) for i in range(41, 48)]  # 48, 52, ..., 72
    return idx


def write_table(path: Path, ap: np.ndarray, bp: np.ndarray, header: str) -> None:
    lines = [f"# {h}" for h in header.strip().splitlines()]
    lines.append("k,ap_hPa,bp")
    lines += [f"{k},{a:.6e},{b:.6e}" for k, (a, b) in enumerate(zip(ap, bp))]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap72, bp72 = read_table(HERE / "geos72.csv")
    i47 = geos47_indices()
    assert len(i47) == 48 and i47[-1] == 72
    # lumping only happens where bp == 0 (pure pressure levels), so bp is kept as is
    assert np.all(bp72[37:] == 0.0)
    ap47, bp47 = ap72[i47], bp72[i47]
    write_table(HERE / "geos47.csv", ap47, bp47, """
GEOS-Chem reduced 47-layer hybrid sigma-pressure grid, interface coefficients (k = 0 surface).
p_edge(k) = ap(k) + bp(k) * p_surface. Derived by forcing/vertical/make_levels.py from geos72.csv:
native interfaces 0..36, then every 2nd native interface up to 44, then every 4th up to 72.
Units: ap in hPa, bp dimensionless.""")
    ic = COARSE_FROM_47
    write_table(HERE / "coarse11.csv", ap47[ic], bp47[ic], """
Coarse 11-layer hybrid grid for tests: interfaces of geos47.csv with indices
""" + " ".join(map(str, ic)) + """ (k = 0 surface). Derived by forcing/vertical/make_levels.py.
Units: ap in hPa, bp dimensionless.""")


if __name__ == "__main__":
    main()
