"""Locate files shipped in ``forcing/`` (installed as the package ``esm.forcing``)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO_FORCING = Path(__file__).resolve().parent.parent / "forcing"


def forcing_path(relative: str) -> Path:
    """Path of a shipped forcing file, e.g. ``forcing_path("vertical/geos47.csv")``.

    Looks in the installed ``esm.forcing`` package first, then in the ``forcing/``
    folder of a source checkout (for in-place development builds).

    Raises
    ------
    FileNotFoundError
        naming the file and every place searched.
    """
    searched = []
    try:
        root = resources.files("esm.forcing")
        candidate = Path(str(root.joinpath(relative)))
        searched.append(str(candidate))
        if candidate.is_file():
            return candidate
    except ModuleNotFoundError:
        pass
    candidate = _REPO_FORCING / relative
    searched.append(str(candidate))
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(
        f"shipped forcing file {relative!r} not found; searched: {', '.join(searched)}. "
        "Reinstall esm (pip install .) so that its forcing data are installed.")
