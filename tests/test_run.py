"""End-to-end runs through the CLI: outputs, restarts (N+N == 2N, SIGKILL), atomic files, errors."""
import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from esm.config import load_config
from esm.constants import M_AIR
from esm.coupler import Model
from helpers import SMALL_NML, esm_env, run_esm, write_namelist


def _final_files(d: Path) -> list[str]:
    return sorted(p.name for p in d.glob("*.nc"))


def test_run_writes_cf_outputs_and_namelist(tmp_path, small_namelist, cf_check):
    proc = run_esm("run", small_namelist, cwd=tmp_path)
    out = tmp_path / "out"
    assert _final_files(out) == ["daily_flux.20200101_0000.nc", "daily_flux.20200102_0000.nc",
                                 "hourly_3d.20200101_0000.nc", "hourly_3d.20200102_0000.nc"]
    assert not list(out.glob(".*partial"))
    # the resolved namelist (defaults + user values) is in the run directory and valid
    resolved = load_config(out / "esm_run.nml")
    assert resolved.time_control.dt == 3600 and resolved.grid_nml.horizontal == "10x10"
    # logs: non-default values, wall time per part and the tracer budget
    assert "namelist: &time_control dt = 3600 (default 1800)" in proc.stderr
    assert "tracer budget" in proc.stderr and "wall time" in proc.stderr
    h = xr.open_dataset(out / "hourly_3d.20200101_0000.nc")
    assert h.sizes["time"] == 24 and h["co2"].dims == ("time", "lev", "lat", "lon")
    assert h["co2"].dtype == np.float32
    assert h["co2"].attrs["standard_name"] == "mole_fraction_of_carbon_dioxide_in_air"
    assert h["lev"].attrs["formula_terms"] == "ap: ap b: b ps: ps"
    assert "&time_control" in h.attrs["esm_namelist"] and "dt = 3600" in h.attrs["esm_namelist"]
    # the air mass and ps in the file reproduce each other (users can compute columns from the file alone)
    col = h["air_mass"].isel(time=0).sum("lev") * 9.80665 / h["cell_area"] + h["ap_bnds"].values[-1, 1]
    np.testing.assert_allclose(col, h["ps"].isel(time=0), rtol=1e-6)
    d = xr.open_dataset(out / "daily_flux.20200101_0000.nc")
    assert d.sizes["time"] == 1
    assert str(d["time"].values[0]) == "2020-01-01T12:00:00.000000000"
    raw = xr.open_dataset(out / "daily_flux.20200102_0000.nc", decode_times=False)
    np.testing.assert_array_equal(raw["time_bnds"].values[0], [24.0, 48.0])
    assert raw["time"].attrs["units"] == "hours since 2020-01-01 00:00:00"
    assert d["co2_flux"].attrs["units"] == "mol m-2 s-1" and d["ch4_flux"].attrs["units"] == "kg m-2 s-1"
    # the prescribed global CO2 total comes back from the file's mean flux and cell areas
    total = float((d["co2_flux"].isel(time=0) * d["cell_area"]).sum()) * 365.25 * 86400
    assert total == pytest.approx(8.0e14, rel=1e-6)  # float32 storage
    for f in out.glob("*.nc"):
        cf_check(f)
    cf_check(sorted((out / "restart").glob("*.nc"))[0])


def test_budget_closes_to_round_off(tmp_path):
    cfg = load_config(write_namelist(tmp_path / "b.nml"), [f"output_nml.output_dir={tmp_path / 'o'}"])
    model = Model(cfg)
    summary = model.run(progress="none")
    rows = {r["tracer"]: r for r in summary["budget"]}
    # 48 hourly steps of the prescribed CO2 source: 8e14 mol/yr * 2 days
    assert rows["co2"]["sources_mol"] == pytest.approx(8.0e14 * 2 / 365.25, rel=1e-12)
    for r in rows.values():
        assert abs(r["relative_residual"]) < 1e-13
    # the passive tracer, uniform 1, stays exactly 1 without sources
    assert np.all(model.atm.q[model.tracers.index("passive1")] == 1.0)
    # moles from the state equal the budget's final
    i = model.tracers.index("co2")
    assert np.sum(model.atm.q[i] * model.atm.air_mass) / M_AIR == pytest.approx(rows["co2"]["final_mol"], rel=1e-15)


def test_restart_n_plus_n_is_byte_identical_to_2n(tmp_path, small_namelist):
    run_esm("run", small_namelist, "--output-dir", tmp_path / "straight", cwd=tmp_path)
    seg = tmp_path / "segments"
    run_esm("run", small_namelist, "--output-dir", seg, "--set", "time_control.end=2020-01-02", cwd=tmp_path)
    rst = seg / "restart" / "esm_restart.20200102_0000.nc"
    assert rst.is_file()
    run_esm("run", small_namelist, "--output-dir", seg, "--restart", rst, cwd=tmp_path)
    names = _final_files(tmp_path / "straight")
    assert names == _final_files(seg) and len(names) == 4
    for n in names:
        assert filecmp.cmp(tmp_path / "straight" / n, seg / n, shallow=False), f"{n} differs"
    # and the final restarts agree in every array
    a = netCDF4.Dataset(tmp_path / "straight" / "restart" / "esm_restart.20200103_0000.nc")
    b = netCDF4.Dataset(seg / "restart" / "esm_restart.20200103_0000.nc")
    for v in a.variables:
        np.testing.assert_array_equal(a[v][:], b[v][:], err_msg=v)
    a.close()
    b.close()


def test_restart_mid_record_carries_mean_accumulator(tmp_path, small_namelist):
    """A segment ending mid-day keeps the daily mean in progress in its restart."""
    run_esm("run", small_namelist, "--output-dir", tmp_path / "straight", cwd=tmp_path)
    seg = tmp_path / "seg"
    run_esm("run", small_namelist, "--output-dir", seg, "--set", "time_control.end=2020-01-02 06:00:00",
            "--set", "restart_nml.restart_interval=none", cwd=tmp_path)
    run_esm("run", small_namelist, "--output-dir", seg, "--restart", "latest", cwd=tmp_path)
    a = xr.open_dataset(tmp_path / "straight" / "daily_flux.20200102_0000.nc")
    b = xr.open_dataset(seg / "daily_flux.20200102_0000.nc")
    np.testing.assert_array_equal(a["co2_flux"].values, b["co2_flux"].values)
    np.testing.assert_array_equal(a["time_bnds"].values, b["time_bnds"].values)


LONG_NML = SMALL_NML.replace("end = '2020-01-03 00:00:00'", "end = '2020-02-10 00:00:00'")


def test_sigkill_and_resume_loses_nothing(tmp_path):
    nml = write_namelist(tmp_path / "long.nml", LONG_NML)
    run_esm("run", nml, "--output-dir", tmp_path / "straight", cwd=tmp_path)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "esm", "run", str(nml), "--output-dir", str(out)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=esm_env())
    deadline = time.time() + 300
    killed_while_running = False
    while time.time() < deadline and proc.poll() is None:
        if len(list((out / "restart").glob("esm_restart.*.nc"))) >= 3:
            killed_while_running = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert killed_while_running, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    # every file under a final name is complete and readable; unfinished ones have temporary names
    for f in out.glob("*.nc"):
        with netCDF4.Dataset(f) as ds:
            expected = 24 if f.name.startswith("hourly") else 1
            assert ds.dimensions["time"].size == expected, f.name
    run_esm("run", nml, "--output-dir", out, "--restart", "latest", cwd=tmp_path)
    names = _final_files(tmp_path / "straight")
    assert names == _final_files(out) and len(names) == 80
    for n in names:
        assert filecmp.cmp(tmp_path / "straight" / n, out / n, shallow=False), f"{n} differs after resume"
    assert not list(out.glob(".*partial"))


def test_cli_check_defaults_version(tmp_path, small_namelist):
    p = run_esm("check", small_namelist)
    assert "valid" in p.stdout and "&time_control dt = 3600" in p.stdout
    d = run_esm("defaults")
    nml = tmp_path / "d.nml"
    nml.write_text(d.stdout)
    assert load_config(nml).non_defaults() == []
    assert "[mol mol-1]" in d.stdout and "[s]" in d.stdout
    v = run_esm("version")
    assert v.stdout.startswith("esm ") and "OpenMP" in v.stdout


def test_defaults_into_a_closed_pipe_exits_quietly():
    """``esm defaults | head``: the reader closes the pipe first; esm exits 0 without a traceback."""
    import os

    r, w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "esm", "defaults"], stdout=w, stderr=subprocess.PIPE,
                            env=esm_env())
    os.close(w)
    os.close(r)  # before the child has imported esm, so every write of it meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err


@pytest.mark.parametrize("args,message", [
    (["--set", "time_control.dt=abc"], "time_control dt: value 'abc' is not valid; expected an integer"),
    (["--set", "grid_nml.vertical=geos48"], "did you mean 'geos47'"),
    (["--restart", "/nonexistent/restart.nc"], "restart file '/nonexistent/restart.nc' does not exist"),
])
def test_user_errors_exit_nonzero_without_traceback(tmp_path, small_namelist, args, message):
    p = run_esm("run", small_namelist, *args, cwd=tmp_path, check=False)
    assert p.returncode == 2
    assert message in p.stderr and "Traceback" not in p.stderr
    assert not list((tmp_path / "out").glob("*.nc")) if (tmp_path / "out").exists() else True


def test_unwritable_output_dir(tmp_path, small_namelist):
    # /proc refuses new directories even for root, so this holds whoever runs the tests
    p = run_esm("run", small_namelist, "--output-dir", "/proc/esm_output", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "'/proc/esm_output' is not a writable directory" in p.stderr
    assert "Traceback" not in p.stderr


def test_output_dir_that_is_a_file(tmp_path, small_namelist):
    f = tmp_path / "afile"
    f.write_text("x")
    p = run_esm("run", small_namelist, "--output-dir", f, cwd=tmp_path, check=False)
    assert p.returncode == 2 and "is not a writable directory" in p.stderr and "Traceback" not in p.stderr


def test_corrupt_and_mismatched_restarts(tmp_path, small_namelist):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"CDF\x01 truncated")
    p = run_esm("run", small_namelist, "--restart", bad, cwd=tmp_path, check=False)
    assert p.returncode == 2 and "not a readable NetCDF file" in p.stderr
    run_esm("run", small_namelist, "--output-dir", tmp_path / "a", "--set", "time_control.end=2020-01-02",
            cwd=tmp_path)
    rst = tmp_path / "a" / "restart" / "esm_restart.20200102_0000.nc"
    p = run_esm("run", small_namelist, "--restart", rst, "--set", "grid_nml.horizontal=4x5", cwd=tmp_path,
                check=False)
    assert p.returncode == 2 and "is on grid '10x10'" in p.stderr
    p = run_esm("run", small_namelist, "--restart", rst, "--set", "tracers_nml.names=co2,ch4",
                "--set", "tracers_nml.init_type=species", "--set", "tracers_nml.init_value=-1",
                "--set", "tracers_nml.init_gradient=0", "--set", "output_nml.stream_variables=co2,surface_flux",
                "--set", "prescribed_nml.tracers=co2", "--set", "prescribed_nml.pattern=band",
                "--set", "prescribed_nml.global_total=1e14",
                cwd=tmp_path, check=False)
    assert p.returncode == 2 and "carries tracers" in p.stderr


def test_partial_files_never_have_final_names(tmp_path, small_namelist, monkeypatch):
    """An error in the middle of a run leaves the unfinished file only under its temporary name."""
    cfg = load_config(small_namelist, [f"output_nml.output_dir={tmp_path / 'o'}"])
    model = Model(cfg)
    calls = {"n": 0}
    original = model.step

    def failing_step():
        calls["n"] += 1
        if calls["n"] == 30:  # in the middle of day 2
            model.atm.q[0, 0, 3, 4] = np.nan
        original()

    monkeypatch.setattr(model, "step", failing_step)
    from esm.errors import ModelStateError
    with pytest.raises(ModelStateError, match=r"tracer 'co2' mole fraction is nan at level 0, lat -55.00, lon -135.00"):
        model.run(progress="none")
    finals = _final_files(tmp_path / "o")
    assert finals == ["daily_flux.20200101_0000.nc", "hourly_3d.20200101_0000.nc"]
    assert list((tmp_path / "o").glob(".hourly_3d.20200102_0000.nc.partial"))


def test_background_writer_writes_the_same_bytes(tmp_path, small_namelist):
    run_esm("run", small_namelist, "--output-dir", tmp_path / "async", cwd=tmp_path)
    run_esm("run", small_namelist, "--output-dir", tmp_path / "sync", "--set", "output_nml.async_write=false",
            cwd=tmp_path)
    names = _final_files(tmp_path / "async")
    assert names == _final_files(tmp_path / "sync") and names
    for n in names:
        assert filecmp.cmp(tmp_path / "async" / n, tmp_path / "sync" / n, shallow=False), n


def test_cli_sets_a_passive_openmp_wait_policy_unless_the_environment_has_one(monkeypatch):
    """``esm`` runs with OMP_WAIT_POLICY=PASSIVE by default (threads sleep between kernels, see
    esm.cli.OMP_WAIT_POLICY_DEFAULT) but never overrides a value the user set."""
    from esm import cli

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert cli.main(["version"]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert cli.main(["version"]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
