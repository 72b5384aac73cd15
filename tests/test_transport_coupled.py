"""Transport inside the coupled model: the climatology's mass fluxes, the coupler's call, restarts.

With ``&transport_nml enabled``, the embedded climatology's pressure-fixed mass fluxes drive
the transport: a passive tracer of 1 stays 1, the budget closes, and a run split by a
restart writes the same bytes as one straight run.
"""
import filecmp

import netCDF4
import numpy as np
import pytest

from helpers import SMALL_NML, run_esm, write_namelist

pytestmark = pytest.mark.compiled

TRANSPORT_NML = SMALL_NML.replace("&prescribed_nml", """&transport_nml
  enabled = .true.
/
&prescribed_nml""")


def _final_files(d):
    return sorted(p.name for p in d.iterdir() if p.suffix == ".nc")


def test_coupled_run_with_transport_and_exact_restart(tmp_path):
    nml = write_namelist(tmp_path / "t.nml", TRANSPORT_NML)
    straight = tmp_path / "straight"
    run_esm("run", nml, "--output-dir", straight, cwd=tmp_path)
    log = (straight / "esm.log").read_text()
    assert "transport on" in log
    # the coupler's budget: initial + sources - sinks = final to round-off for every tracer
    rows = [ln.split() for ln in log.splitlines() if "tracer budget [mol]:" in ln and "initial" not in ln]
    assert len(rows) == 3
    for r in rows:
        assert abs(float(r[-1])) < 1e-13, r
    for f in sorted(straight.glob("hourly_3d.*.nc")):
        with netCDF4.Dataset(f) as d:
            assert np.abs(d["passive1"][:] - 1.0).max() == 0.0       # exactly 1 (float32 output)
            co2 = d["co2"][:]
            assert co2.max() > co2.min()                              # fluxes and transport act
    seg = tmp_path / "segments"
    run_esm("run", nml, "--output-dir", seg, "--set", "time_control.end=2020-01-02", cwd=tmp_path)
    run_esm("run", nml, "--output-dir", seg, "--restart", seg / "restart" / "esm_restart.20200102_0000.nc",
            cwd=tmp_path)
    names = _final_files(straight)
    assert names == _final_files(seg)
    for n in names:
        assert filecmp.cmp(straight / n, seg / n, shallow=False), f"{n} differs"
