"""Convective transport by archived updraft and downdraught mass fluxes (see ``cython_kernels/convect.pyx``).

The updraft with its compensating subsidence (``convect.convect``) is applied first, then, where
the meteorology provides them, the downdraught with its compensating ascent
(``convect.convect_down``): each is conservative and monotone, so their sequence is too
(first-order splitting within the process, as between the transport's processes).
"""
from __future__ import annotations

import numpy as np

from esm.errors import InputDataError, ModelStateError
from esm.transport.checks import met_field
from esm.transport.threads import kernel_threads

PROCESS = "convection"


class Convection:
    """Updraft/compensating-subsidence and downdraught/compensating-ascent mixing of every tracer;
    air masses do not change."""

    def __init__(self, params, grid, vcoord):
        self.p = params
        self.grid = grid
        self.vcoord = vcoord

    def apply(self, atm, met, dt: float, when: str) -> None:
        from esm._kernels import convect

        g = self.grid
        nlev = self.vcoord.nlev
        sc = self.p.check_inputs
        cmfmc = met_field(met, "cmfmc", (nlev + 1,) + g.shape, g, when, PROCESS, vmin=0.0, edge=True, scan=sc)
        dtrain = met_field(met, "dtrain", (nlev,) + g.shape, g, when, PROCESS, vmin=0.0, scan=sc)
        status = np.zeros((g.nlat, 3), dtype=np.int32)
        value = np.zeros(g.nlat)
        convect.convect(atm.air_mass, atm.q, cmfmc, dtrain, np.ascontiguousarray(g.area), float(dt),
                        int(self.p.max_convection_subcycles), status, value, kernel_threads(atm.q.size))
        self._raise_on(status, value, when, "convective mass flux", "cmfmc/dtrain")
        if not (self.p.downdrafts and "dmf" in met):
            return
        if "ddtrain" not in met:
            raise InputDataError(f"{when}: the meteorology provides the downdraught mass flux 'dmf' but not its "
                                 "detrainment 'ddtrain'; provide both or set &transport_nml downdrafts = .false.")
        dmf = met_field(met, "dmf", (nlev + 1,) + g.shape, g, when, PROCESS, vmin=0.0, edge=True, scan=sc)
        ddtrain = met_field(met, "ddtrain", (nlev,) + g.shape, g, when, PROCESS, vmin=0.0, scan=sc)
        status[:] = 0
        value[:] = 0.0
        convect.convect_down(atm.air_mass, atm.q, dmf, ddtrain, np.ascontiguousarray(g.area), float(dt),
                             int(self.p.max_convection_subcycles), status, value, kernel_threads(atm.q.size))
        self._raise_on(status, value, when, "downdraught mass flux", "dmf/ddtrain")

    def _raise_on(self, status, value, when: str, what: str, fields: str) -> None:
        g = self.grid
        bad = np.flatnonzero(status[:, 0])
        if bad.size:
            j = int(bad[0])
            if status[j, 0] == 7:
                raise MemoryError(f"{when}: convection could not allocate its row workspace")
            i = int(status[j, 1])
            raise ModelStateError(
                f"{when}: convection at lat {g.lat[j]:.2f}, lon {g.lon[i]:.2f} needs {value[j]:.1f} sub-steps "
                f"(the {what} exchanges more air than a layer holds); &transport_nml "
                f"max_convection_subcycles = {self.p.max_convection_subcycles}: check {fields} units "
                "(kg m-2 s-1) or raise the limit")
