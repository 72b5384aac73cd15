"""The &transport_nml parameter table: registered as a core group, documented, overridable."""
import pytest

from esm.config.registry import schema
from esm.transport.config import ADVECTION_SCHEMES, TRANSPORT


def test_group_is_the_transport_table():
    assert schema().groups["transport_nml"] is TRANSPORT
    names = TRANSPORT.key_names
    for key in ("enabled", "flux_injection", "advection_scheme", "horizontal_splitting",
                "max_meridional_subcycles", "vertical_diffusion", "von_karman", "convection",
                "max_convection_subcycles", "ps_tolerance"):
        assert key in names


def test_every_key_documented_with_units():
    for k in TRANSPORT.keys:
        assert k.description
        if k.type == "float":
            assert k.units, k.name


def test_defaults_and_overrides():
    cfg = schema().resolve({})
    p = cfg.transport_nml
    assert p.enabled is False and p.flux_injection == "lowest_layer"
    assert p.advection_scheme == "ppm_monotone" and p.horizontal_splitting == "strang"
    assert p.von_karman == 0.4 and p.prandtl_coefficient == 7.2
    cfg = schema().resolve({"transport_nml": {"advection_scheme": "ppm_linear", "von_karman": "0.41"}})
    assert cfg.transport_nml.advection_scheme == "ppm_linear"
    assert cfg.transport_nml.von_karman == pytest.approx(0.41)
    assert set(ADVECTION_SCHEMES) == set(TRANSPORT.key("advection_scheme").choices)


def test_namelist_text_lists_transport():
    text = schema().resolve({}).to_namelist(comments=True)
    assert "&transport_nml" in text and "advection_scheme = 'ppm_monotone'" in text
