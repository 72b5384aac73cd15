"""Helpers shared by the tests (importable: pyproject sets pytest's pythonpath to tests/)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

DATA = Path(__file__).parent / "data"

SMALL_NML = """
&time_control
  start = '2020-01-01 00:00:00'
  end = '2020-01-03 00:00:00'
  calendar = 'standard'
  dt = 3600
/
&grid_nml
  horizontal = '10x10'
  vertical = 'coarse11'
/
&tracers_nml
  names = 'co2', 'ch4', 'passive1'
  init_type = 'species', 'latitude', 'uniform'
  init_value = -1.0, 1.9e-6, 1.0
  init_gradient = 0.0, 1.0e-7, 0.0
/
&prescribed_nml
  tracers = 'co2', 'ch4'
  pattern = 'band', 'uniform'
  global_total = 8.0e14, 3.0e13
  diurnal_amplitude = 0.5
/
&output_nml
  output_dir = 'out'
  streams = 'hourly_3d', 'daily_flux'
  stream_frequency = '1h', '1d'
  stream_operation = 'inst', 'mean'
  stream_file_period = '1d', '1d'
  stream_variables = 'co2 ch4 passive1', 'surface_flux column_co2 prescribed_flux'
  progress = 'none'
/
&restart_nml
  restart_interval = '1d'
/
"""


def write_namelist(path: Path, text: str = SMALL_NML) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def esm_env(extra: dict | None = None) -> dict[str, str]:
    """Environment for an esm subprocess that uses the same esm as the tests (installed or in-place build)."""
    import esm

    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(Path(esm.__file__).resolve().parent.parent), e.get("PYTHONPATH", "")])
    # `python -m` would put the working directory first on sys.path; from a source checkout that would
    # shadow the installed package (whose compiled kernels the checkout lacks)
    e["PYTHONSAFEPATH"] = "1"
    e.update(extra or {})
    return e


def run_esm(*args, cwd=None, check=True, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run ``python -m esm ARGS`` and return the completed process (text output)."""
    e = esm_env(env)
    proc = subprocess.run([sys.executable, "-m", "esm", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=e)
    if check and proc.returncode != 0:
        raise AssertionError(f"esm {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}")
    return proc




def tracer_total(atm, i: int) -> float:
    """Amount of tracer ``i`` [mol * M_air], summed exactly (math.fsum) so a check sees only the model."""
    import math

    return math.fsum((atm.q[i] * atm.air_mass).ravel())


def smooth_and_slab_fields(case) -> None:
    """Tracer 0: a smooth positive field varying in longitude, latitude and level; tracer 1: a 0/1 slab
    (|lat| < 30 in the lowest levels), the sharpest field a bounded scheme has to keep within [0, 1]."""
    import numpy as np

    g = case.grid
    lon = np.deg2rad(g.lon)[None, None, :]
    lat = np.deg2rad(g.lat)[None, :, None]
    lev = np.linspace(1.0, 0.3, case.vcoord.nlev)[:, None, None]
    case.atm.q[0] = (1.0 + 0.8 * np.sin(3 * lon) * np.cos(lat) ** 2) * lev
    case.atm.q[1] = np.where((np.abs(np.rad2deg(lat)) < 30) & (lev > 0.8), 1.0, 0.0) + 0.0 * lon


def step_tracking_totals(case, transport, nsteps: int, after_step=None) -> tuple[float, float]:
    """Run ``nsteps`` transport steps of ``case``; return the largest relative change of any tracer total
    in one step and the largest relative change over the whole run. ``after_step(atm)`` may assert bounds."""
    ntr = case.atm.q.shape[0]
    tot0 = [tracer_total(case.atm, i) for i in range(ntr)]
    prev = list(tot0)
    worst_step = 0.0
    for n in range(nsteps):
        transport.step(case.atm, *case.inputs(n), case.dt)
        now = [tracer_total(case.atm, i) for i in range(ntr)]
        worst_step = max(worst_step, *(abs(now[i] - prev[i]) / tot0[i] for i in range(ntr)))
        prev = now
        if after_step is not None:
            after_step(case.atm)
    drift = max(abs(prev[i] - tot0[i]) / tot0[i] for i in range(ntr))
    return worst_step, drift
