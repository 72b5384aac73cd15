"""Registry of surface-flux and chemistry components selectable in ``&coupler_nml components``.

Maps the component name to ``"module:Class"``; classes are imported only when used, so an
unused component costs nothing at start-up.
"""
import importlib

COMPONENTS: dict[str, str] = {
    "prescribed": "esm.components.prescribed:PrescribedFlux",
    "ocean": "esm.ocean.component:OceanCarbon",
    "land": "esm.land.component:Land",
}


def component_class(name: str):
    modname, clsname = COMPONENTS[name].split(":")
    return getattr(importlib.import_module(modname), clsname)
