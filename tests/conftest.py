"""Shared test helpers: running the CLI, writing small namelists, the offline CF checker."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import DATA, write_namelist


@pytest.fixture
def small_namelist(tmp_path) -> Path:
    return write_namelist(tmp_path / "small.nml")


# ---- offline CF checker -----------------------------------------------------------------
def _udunits_env(tmp: Path) -> dict[str, str] | None:
    """Environment that lets cfunits find the UDUNITS-2 library bundled in the cf-units wheel."""
    try:
        import cf_units
    except ImportError:
        return None
    pkg = Path(cf_units.__file__).parent
    libs = sorted(pkg.parent.glob("cf_units.libs/libudunits2*.so*"))
    xml = pkg / "etc" / "share" / "udunits2.xml"
    if not libs or not xml.is_file():
        return None
    link_dir = tmp / "udunits"
    link_dir.mkdir(exist_ok=True)
    link = link_dir / "libudunits2.so"
    if not link.exists():
        link.symlink_to(libs[0])
    env = dict(os.environ)
    env["LIBRARY_PATH"] = f"{link_dir}:{env.get('LIBRARY_PATH', '')}"
    env["LD_LIBRARY_PATH"] = f"{link_dir}:{libs[0].parent}:{env.get('LD_LIBRARY_PATH', '')}"
    env["UDUNITS2_XML_PATH"] = str(xml)
    return env


@pytest.fixture(scope="session")
def cf_check(tmp_path_factory):
    """``cf_check(path)`` runs cfchecks (CF-1.8, standard-name table v93) and returns its report.

    Fails the test when the checker reports an error or a warning.
    """
    tmp = tmp_path_factory.mktemp("cf")
    cfchecks = shutil.which("cfchecks")
    env = _udunits_env(tmp)
    if cfchecks is None or env is None:
        pytest.fail("cfchecker and cf-units must be installed for the CF check (pip install '.[test]')")
    table = tmp / "cf-standard-name-table.xml"
    with gzip.open(DATA / "cf" / "cf-standard-name-table-v93.xml.gz", "rb") as src, open(table, "wb") as dst:
        shutil.copyfileobj(src, dst)

    def check(path: Path) -> str:
        proc = subprocess.run([cfchecks, "-v", "CF-1.8", "-s", str(table),
                               "-a", str(DATA / "cf" / "area-type-table-subset.xml"),
                               "-r", str(DATA / "cf" / "standardized-region-list-subset.xml"), str(path)],
                              capture_output=True, text=True, env=env, timeout=300)
        out = proc.stdout + proc.stderr
        if "ERRORS detected: 0" not in out or "WARNINGS given: 0" not in out:
            raise AssertionError(f"CF check of {path} failed:\n{out}")
        return out

    return check
