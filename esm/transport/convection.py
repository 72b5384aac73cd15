"""Convective transport by archived updraft mass fluxes (see ``cython_kernels/convect.pyx``)."""
from __future__ import annotations

import numpy as np

from esm.errors import ModelStateError
from esm.transport.checks import met_field
from esm.transport.threads import kernel_threads

PROCESS = "convection"


class Convection:
    """Updraft/compensating-subsidence mixing of every tracer; air masses do not change."""

    def __init__(self, params, grid, vcoord):
        self.p = params
        self.grid = grid
        self.vcoord = vcoord

    def apply(self, atm, met, dt: float, when: str) -> None:
        from esm._kernels import convect

        g = self.grid
        nlev = self.vcoord.nlev
        cmfmc = met_field(met, "cmfmc", (nlev + 1,) + g.shape, g, when, PROCESS, vmin=0.0, edge=True,
                          scan=self.p.check_inputs)
        dtrain = met_field(met, "dtrain", (nlev,) + g.shape, g, when, PROCESS, vmin=0.0,
                          scan=self.p.check_inputs)
        status = np.zeros((g.nlat, 3), dtype=np.int32)
        value = np.zeros(g.nlat)
        convect.convect(atm.air_mass, atm.q, cmfmc, dtrain, np.ascontiguousarray(g.area), float(dt),
                        int(self.p.max_convection_subcycles), status, value, kernel_threads(atm.q.size))
        bad = np.flatnonzero(status[:, 0])
        if bad.size:
            j = int(bad[0])
            i = int(status[j, 1])
            raise ModelStateError(
                f"{when}: convection at lat {g.lat[j]:.2f}, lon {g.lon[i]:.2f} needs {value[j]:.1f} sub-steps "
                f"(the convective mass flux exchanges more air than a layer holds); &transport_nml "
                f"max_convection_subcycles = {self.p.max_convection_subcycles}: check cmfmc/dtrain units "
                "(kg m-2 s-1) or raise the limit")
