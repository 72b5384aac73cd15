"""Atmospheric transport: air mass and tracer amount per cell moved by the same mass fluxes.

* :mod:`esm.transport.advection`  flux-form semi-Lagrangian advection (Lin & Rood 1996, PPM)
  and the diagnosis of vertical mass fluxes from the horizontal convergence (TM5 style);
* :mod:`esm.transport.diffusion`  boundary-layer vertical diffusion (Holtslag & Boville 1993);
* :mod:`esm.transport.convection` convective transport by the updraft mass flux;
* :mod:`esm.transport.core`       :class:`Transport`, the operator-split step the coupler calls;
* :mod:`esm.transport.config`     the ``&transport_nml`` parameter table;
* :mod:`esm.transport.testflows`  analytic test flows (Williamson et al. 1992, Lauritzen et al. 2012).

``Transport`` is imported lazily so that reading the namelist schema does not load the kernels.
"""
from __future__ import annotations

__all__ = ["Transport"]


def __getattr__(name):
    if name == "Transport":
        from esm.transport.core import Transport

        return Transport
    raise AttributeError(f"module 'esm.transport' has no attribute {name!r}")
