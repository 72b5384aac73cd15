"""Namelist schema: validation errors name the key and what is expected; defaults round-trip."""
import f90nml
import pytest

from esm.config import load_config, parse_override, schema
from esm.errors import ConfigError
from helpers import SMALL_NML, write_namelist


def _nml(tmp_path, text, name="t.nml"):
    return write_namelist(tmp_path / name, text)


def test_defaults_resolve_and_types():
    cfg = load_config(None)
    assert cfg.time_control.dt == 1800 and isinstance(cfg.time_control.dt, int)
    assert cfg.tracers_nml.names == ("co2", "ch4", "n2o")
    assert cfg.non_defaults() == []


def test_unknown_group_suggests_closest(tmp_path):
    p = _nml(tmp_path, "&time_contrl\n dt = 600\n/\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "time_contrl" in msg and "'time_control'" in msg and str(p) in msg


def test_unknown_key_suggests_closest(tmp_path):
    p = _nml(tmp_path, "&time_control\n dtt = 600\n/\n")
    with pytest.raises(ConfigError, match=r"unknown key 'dtt' in &time_control; did you mean 'dt'"):
        load_config(p)


def test_retired_key_names_its_replacement(tmp_path):
    p = _nml(tmp_path, "&land_nml\n canopy_albedo_vis = 9*0.04\n/\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and "'canopy_albedo_vis'" in msg and "retired" in msg and "'leaf_par_scattering'" in msg


def test_wrong_type_names_key_value_and_expectation(tmp_path):
    p = _nml(tmp_path, "&time_control\n dt = 'half an hour'\n/\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "&time_control dt" in msg and "half an hour" in msg and "an integer" in msg


def test_out_of_range(tmp_path):
    p = _nml(tmp_path, "&time_control\n dt = -5\n/\n")
    with pytest.raises(ConfigError, match=r"dt: value -5 is out of range; expected an integer in \[1, 86400\] s"):
        load_config(p)


def test_bad_choice(tmp_path):
    p = _nml(tmp_path, "&time_control\n calendar = 'noleep'\n/\n")
    with pytest.raises(ConfigError, match=r"did you mean 'noleap'"):
        load_config(p)


def test_upper_case_names_and_one_element_lists_are_normalised(tmp_path):
    p = _nml(tmp_path, "&TIME_CONTROL\n DT = 900\n/\n&Tracers_NML\n NAMES = 'co2'\n/\n")
    cfg = load_config(p)
    assert cfg.time_control.dt == 900
    assert cfg.tracers_nml.names == ("co2",)  # f90nml returns a scalar for a one-element list


def test_list_given_for_scalar_key(tmp_path):
    p = _nml(tmp_path, "&time_control\n dt = 600, 900\n/\n")
    with pytest.raises(ConfigError, match="got a list"):
        load_config(p)


def test_malformed_syntax_names_file(tmp_path):
    p = _nml(tmp_path, "&time_control\n dt = = 3\n/\n")
    with pytest.raises(ConfigError, match=f"namelist file '{p}'"):
        load_config(p)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/run.nml")


def test_end_before_start(tmp_path):
    p = _nml(tmp_path, "&time_control\n start = '2020-02-01'\n end = '2020-01-01'\n/\n")
    with pytest.raises(ConfigError, match="end 2020-01-01 00:00:00 is not after start"):
        load_config(p)


def test_date_that_does_not_exist_in_calendar(tmp_path):
    p = _nml(tmp_path, "&time_control\n start = '2021-02-29'\n calendar = 'noleap'\n/\n")
    with pytest.raises(ConfigError, match="does not exist in the 'noleap' calendar"):
        load_config(p)


def test_dt_must_divide_run_length(tmp_path):
    p = _nml(tmp_path, "&time_control\n end = '2020-01-01 01:00:00'\n dt = 1700\n/\n")
    with pytest.raises(ConfigError, match="dt = 1700 s does not divide the run length"):
        load_config(p)


def test_dt_must_divide_output_interval(tmp_path):
    p = _nml(tmp_path, "&time_control\n end = '2020-01-01 06:00:00'\n dt = 2400\n/\n")
    with pytest.raises(ConfigError, match=r"dt = 2400 s does not divide &output_nml stream_frequency of stream "
                                          r"'hourly_3d' = '1h'"):
        load_config(p)


def test_restart_interval_must_be_whole_file_periods(tmp_path):
    p = _nml(tmp_path, "&restart_nml\n restart_interval = '6h'\n/\n")
    with pytest.raises(ConfigError, match="restart_interval = '6h' is not a whole number of the file period"):
        load_config(p)


def test_stream_lists_must_match(tmp_path):
    p = _nml(tmp_path, "&output_nml\n streams = 'a', 'b'\n stream_frequency = '1h'\n/\n")
    with pytest.raises(ConfigError, match="stream_frequency: 1 values for 2 streams"):
        load_config(p)


def test_unknown_tracer_and_component(tmp_path):
    with pytest.raises(ConfigError, match="unknown tracer 'co3'"):
        load_config(_nml(tmp_path, "&tracers_nml\n names = 'co2', 'co3'\n/\n"))
    with pytest.raises(ConfigError, match="unknown component 'lnad'"):
        load_config(_nml(tmp_path, "&coupler_nml\n components = 'lnad'\n/\n", "c.nml"))


def test_overrides(tmp_path):
    p = _nml(tmp_path, SMALL_NML)
    cfg = load_config(p, ["time_control.dt=1800", "output_nml.progress=log",
                          "tracers_nml.init_value=-1,2e-6,0.5"])
    assert cfg.time_control.dt == 1800
    assert cfg.output_nml.progress == "log"
    assert cfg.tracers_nml.init_value == (-1.0, 2e-6, 0.5)
    with pytest.raises(ConfigError, match=r"--set: .*time_control dt"):
        load_config(p, ["time_control.dt=abc"])
    with pytest.raises(ConfigError, match="expected the form group.key=value"):
        parse_override("dt=5")


def test_defaults_text_is_a_valid_namelist_that_round_trips(tmp_path):
    s = schema()
    text = s.format_namelist(s.defaults(), comments=True)
    p = tmp_path / "defaults.nml"
    p.write_text(text)
    parsed = f90nml.read(p)
    assert set(parsed) == set(s.groups)
    cfg = load_config(p)
    assert cfg.non_defaults() == []
    # every key is documented with its units
    for g in s.groups.values():
        for k in g.keys:
            assert k.description and f"  {k.name} = " in text


def test_resolved_namelist_round_trips(tmp_path):
    cfg = load_config(_nml(tmp_path, SMALL_NML))
    p = tmp_path / "resolved.nml"
    p.write_text(cfg.to_namelist(comments=True))
    again = load_config(p)
    assert again.to_dict() == cfg.to_dict()
