"""A/B of the daily pool rates (Rh coefficient, fire emission, harvest) at 1x1: numpy expressions against the
compiled one-pass beps.pool_rates, alternated in one process: OMP_WAIT_POLICY=PASSIVE python validation/land/ab_pool_rates.py"""
import sys, time, numpy as np
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from esm.grid import Grid

from esm.land.landcover import load_land_cover
from esm.land.model import LandModel
from esm.land.params import LandParameters
g = Grid.from_spec("1x1")
m = LandModel(LandParameters.from_config(), g, load_land_cover(g), nthreads=2)
rng = np.random.default_rng(1)
m.pools = rng.uniform(0, 2, m.pools.shape); m.fire_danger = rng.uniform(0, 0.01, m.ntile)
pm = m.pools_model
def numpy_path():
    rh = pm.heterotrophic_respiration(m.pools, np.ones(m.ntile)); f = pm.fire_emission(m.pools, pm.fire_burn(m.pools, m.fire_danger)); h = pm.harvest_rate(m.pools)
def kern_path():
    pm.daily_rates(m.pools, m.fire_danger)
res = {"numpy": [], "kernel": []}
for r in range(15):
    for name, f in (("numpy", numpy_path), ("kernel", kern_path)):
        t = time.perf_counter(); [f() for _ in range(10)]; res[name].append((time.perf_counter() - t) / 10 * 1e3)
print(m.ntile, {k: round(float(np.median(v)), 2) for k, v in res.items()}, "ms per day")
