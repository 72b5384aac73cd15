"""Does the background record builder slow the transport? (dev tool)

At 1x1, geos47, 3 tracers: transport steps timed in blocks of 4, alternately with no background job and with
a background record job (:class:`esm.meteorology.climatology._RecordJob`, nice 19) running for a far day;
prints each block, the items the thread built and the median transport step of both kinds.

Usage: PYTHONPATH=. python validation/meteorology/prefetch_interference.py
"""
import time, datetime as dt, numpy as np, cftime, os, threading
from esm.grid import Grid
from esm.vertical import VerticalCoordinate
from esm.meteorology.climatology import Climatology, _RecordJob
from esm.atmosphere import Atmosphere
from esm.config.registry import schema
from esm.tracers import TracerSet
from esm.transport.core import Transport
g = Grid.from_spec("1x1"); vc = VerticalCoordinate.from_name("geos47")
clim = Climatology(g, vc, {"prefetch": False})
t0 = cftime.datetime(2020,7,1,12,0,calendar="standard")
cfg = schema().resolve({"grid_nml": {"horizontal": "1x1", "vertical": "geos47"}, "transport_nml": {"enabled": True}})
tracers = TracerSet(["co2", "ch4", "passive1"])
tr = Transport(cfg, g, vc, tracers)
atm = Atmosphere.from_surface_pressure(g, vc, tracers, clim.at(t0).ps, np.ones((3, vc.nlev) + g.shape))
met = clim.at(t0); [met[n] for n in ("t","cmfmc","dtrain","pblh","ustar","shflx","t2m")]
mf = clim.step_fluxes(t0, 900.0, atm.surface_pressure())
tr.step(atm, mf, met, 900.0)
res = {"job": [], "none": []}
for blk in range(6):
    kind = "job" if blk % 2 else "none"
    job = None
    if kind == "job":
        day = t0 + dt.timedelta(days=10 + blk)
        mp, mfin = clim._mean_flow_parts(day); tp, tfin = clim._thermo_parts(day)
        job = _RecordJob(("x", blk), mp + tp, lambda: None)
        th = threading.Thread(target=job.work, daemon=True); th.start()
    for i in range(4):
        mf = clim.step_fluxes(t0, 900.0, atm.surface_pressure())
        s = time.perf_counter(); tr.step(atm, mf, met, 900.0); res[kind].append(time.perf_counter() - s)
    if job is not None:
        print("block", blk, "worker items done", job.by_worker, "of", len(job.items), flush=True)
        job.cancel(); th.join()
    print(kind, np.round(np.array(res[kind][-4:]) * 1e3), os.getloadavg()[0], flush=True)
print("median transport step ms: no job", np.median(res["none"]) * 1e3, "job running", np.median(res["job"]) * 1e3)
