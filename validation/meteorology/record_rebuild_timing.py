"""Time and page faults of each climatology kernel per step, around a daily record rebuild (dev tool).

Runs the meteorology of the coupler's transport path (``at(t)``: t, cmfmc, dtrain and surface fields;
``step_fluxes``) at 1x1 deg, geos47, dt = 900 s for N steps from hour H UTC of 1 July 2020 (defaults: 7 steps
from 23 UTC, so steps 4 and 5 are 00:00 and 00:15, where the mean-flow and thermodynamic records of the new
day are built) and prints per step its wall time, its minor page faults (fresh memory) and
``(ms, faults)`` of every call of the wrapped kernels. Runs on older checkouts too
(``PYTHONPATH=<checkout>``), for before/after numbers.

Usage: H=23 N=7 PYTHONPATH=. python validation/meteorology/record_rebuild_timing.py
"""
import time, datetime as dt, numpy as np, cftime, os, sys, resource
from esm.grid import Grid
from esm.vertical import VerticalCoordinate
from esm.meteorology.climatology import Climatology
from esm._kernels import met_clim, met_flux
import esm.meteorology.massflux as MF

T={}
def wrap(obj, name):
    f = getattr(obj, name)
    def w(*a, **k):
        r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt; s=time.perf_counter()
        r = f(*a, **k)
        T.setdefault(name, []).append((round((time.perf_counter()-s)*1e3), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)); return r
    setattr(obj, name, w)
for n in ["convection","surface_fields","thermo_record","mean_flow_record","overturning_fluxes","corner_weights","season_record"]: wrap(met_clim, n)
for n in ["corrected_fluxes"]: wrap(met_flux, n)
wrap(MF, "lerp"); 
import esm.meteorology.eddies as E
wrap(E.EddyField, "psi")
g = Grid.from_spec("1x1"); vc = VerticalCoordinate.from_name("geos47")
clim = Climatology(g, vc)
t = cftime.datetime(2020,7,1,int(os.environ.get("H","12")),0,calendar="standard")
ps = np.asarray(clim.at(t).ps).copy()
for i in range(int(os.environ.get("N","7"))):
    T.clear()
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt; s=time.perf_counter()
    m = clim.at(t)
    for n in ("t","cmfmc","dtrain","pblh","ustar","shflx","t2m"): getattr(m, n)
    ps = clim.step_fluxes(t, 900.0, ps).ps_end
    print(i, f"{(time.perf_counter()-s)*1e3:.0f} ms", resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0, "faults", T)
    t = t + dt.timedelta(seconds=900)
