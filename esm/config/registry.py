"""The groups of esm's namelist: the core groups defined here plus one group per component.

Components declare their own group next to their parameters (``NAMELIST_GROUPS`` in the
module listed in :data:`COMPONENT_CONFIG_MODULES`); this module collects them so that
validation, ``esm defaults`` and the resolved namelist cover every key.
"""
from __future__ import annotations

import importlib
from functools import lru_cache

from esm.clock import CALENDARS, TIME_PATTERN, Interval, format_time, parse_time, seconds_between
from esm.config.schema import Config, Group, Key, Schema
from esm.errors import ConfigError
from esm.grid import parse_resolution
from esm.vertical import LEVEL_SETS

#: Modules that define ``NAMELIST_GROUPS`` (a list of Group) and optionally ``CONFIG_CHECKS``.
COMPONENT_CONFIG_MODULES = [
    "esm.components.prescribed",
    "esm.meteorology.config",
    "esm.ocean.params",
    "esm.land.params",
]


def _interval(text):
    Interval.parse(text)


def _time(text):
    # the full check needs the calendar and happens in check_time
    if not TIME_PATTERN.match(text):
        raise ValueError("expected 'YYYY-MM-DD HH:MM:SS'")


def _resolution(text):
    parse_resolution(text)


TIME_CONTROL = Group("time_control", "Run period, calendar and model time step.", (
    Key("start", "str", "2020-01-01 00:00:00", "", "Start of the simulation (initial state time), "
        "'YYYY-MM-DD HH:MM:SS'", validator=_time),
    Key("end", "str", "2020-01-03 00:00:00", "", "End of the simulation, 'YYYY-MM-DD HH:MM:SS'",
        validator=_time, in_output=False),
    Key("calendar", "str", "standard", "", "CF calendar of model time", choices=CALENDARS),
    Key("dt", "int", 1800, "s", "Model (transport and coupling) time step", vmin=1, vmax=86400),
))

GRID = Group("grid_nml", "Horizontal and vertical grid.", (
    Key("horizontal", "str", "4x5", "degree", "Latitude x longitude spacing in degrees: '4x5', '2x2.5', "
        "'1x1', '0.5x0.625' (or any 'DLATxDLON' dividing 180 x 360)", validator=_resolution),
    Key("vertical", "str", "geos47", "", "Hybrid sigma-pressure level set", choices=tuple(LEVEL_SETS)),
))

TRACERS = Group("tracers_nml", "Transported tracers and their initial conditions (dry-air mole fractions).", (
    Key("names", "str", ["co2", "ch4", "n2o"], "", "Tracers to carry: species from the registry "
        "(co2, ch4, n2o, co2_fossil, co2_land, co2_ocean, sf6) or any name starting 'passive'",
        is_list=True, min_length=1),
    Key("init_type", "str", ["uniform"], "", "Initial condition per tracer (one value applies to all): "
        "'uniform' (init_value), 'latitude' (init_value + init_gradient * sin(lat)/2), "
        "'file' (variable named like the tracer in init_file), 'species' (the registry default)",
        is_list=True, choices=("uniform", "latitude", "file", "species")),
    Key("init_value", "float", [-1.0], "mol mol-1", "Initial global-mean dry-air mole fraction per tracer; "
        "a negative value means the registry default for that species", is_list=True, vmax=1.0),
    Key("init_gradient", "float", [0.0], "mol mol-1", "North-minus-south difference for init_type = "
        "'latitude' (one value applies to all)", is_list=True, vmin=-1.0, vmax=1.0),
    Key("init_file", "str", "", "", "NetCDF file with initial 3-D mole fractions on the model grid "
        "(variables named like the tracers) for init_type = 'file'", in_output=False),
))

OUTPUT = Group("output_nml", "Output directory and CF-NetCDF output streams.", (
    Key("output_dir", "str", "esm_output", "", "Run directory: outputs, resolved namelist, restarts",
        in_output=False),
    Key("streams", "str", ["hourly_3d", "monthly_flux"], "", "Names of the output streams (files are "
        "'<output_dir>/<stream>.<first time>.nc')", is_list=True),
    Key("stream_frequency", "str", ["1h", "1mon"], "", "Record interval of each stream ('1h', '3h', '1d', "
        "'1mon', ...)", is_list=True, validator=lambda v: [_interval(x) for x in v]),
    Key("stream_operation", "str", ["inst", "mean"], "", "Per stream: 'inst' (instantaneous at the "
        "record time) or 'mean' (time mean over the record interval)", is_list=True, choices=("inst", "mean")),
    Key("stream_file_period", "str", ["1d", "1mon"], "", "Per stream: time span of one file; a whole "
        "number of records", is_list=True, validator=lambda v: [_interval(x) for x in v]),
    Key("stream_variables", "str", ["co2 ch4 n2o", "surface_flux"], "", "Per stream: space-separated "
        "variables; a tracer name gives its 3-D mole fraction, 'surface_flux' every tracer's net "
        "surface flux, component diagnostics by their names (see esm variables)", is_list=True),
    Key("progress", "str", "auto", "", "Run feedback: 'bar' (progress bar), 'log' (periodic log lines), "
        "'auto' (bar in a terminal, log otherwise), 'none'", choices=("auto", "bar", "log", "none"),
        in_output=False),
    Key("log_interval", "str", "1d", "", "Simulated time between progress log lines in 'log' mode",
        validator=_interval, in_output=False),
    Key("async_write", "bool", True, "", "Compress and write output files in a background thread, "
        "overlapping with the model (same bytes as writing in the model thread)", in_output=False),
    Key("deflate_level", "int", 1, "1", "zlib compression level of output variables (0 = off, 9 = smallest "
        "files and slowest writing)",
        vmin=0, vmax=9),
))

RESTART = Group("restart_nml", "Checkpoints and continuation runs.", (
    Key("restart_interval", "str", "1mon", "", "Simulated time between checkpoints ('none' for only the "
        "final one); a whole number of every stream's file period", validator=_interval),
    Key("restart_file", "str", "", "", "Restart file to continue from ('' = cold start from the "
        "initial conditions); 'latest' = the newest checkpoint in output_dir/restart", in_output=False),
    Key("write_final", "bool", True, "", "Write a restart at the end of the run", in_output=False),
    Key("keep", "int", 0, "1", "Number of newest checkpoints to keep (0 = keep all)", vmin=0,
        in_output=False),
))

COUPLER = Group("coupler_nml", "Which components run.", (
    Key("components", "str", ["prescribed"], "", "Active surface-flux components, in the order they are "
        "stepped", is_list=True),
))


def core_groups() -> list[Group]:
    """The core groups in namelist order. The transport group lives with its parameter table in
    ``esm.transport.config``; it is imported here, not at module level, because that module
    itself imports ``esm.config``."""
    from esm.transport.config import TRANSPORT

    return [TIME_CONTROL, GRID, TRACERS, TRANSPORT, COUPLER, OUTPUT, RESTART]


# ---- cross-key checks -----------------------------------------------------------------
def check_time(cfg: Config) -> None:
    tc = cfg.time_control
    try:
        start = parse_time(tc.start, tc.calendar)
    except ValueError as exc:
        raise ConfigError(f"{cfg.source}, &time_control start: {exc}") from None
    try:
        end = parse_time(tc.end, tc.calendar)
    except ValueError as exc:
        raise ConfigError(f"{cfg.source}, &time_control end: {exc}") from None
    if end <= start:
        raise ConfigError(f"{cfg.source}, &time_control: end {format_time(end)} is not after start "
                          f"{format_time(start)}")
    span = seconds_between(start, end)
    if span % tc.dt:
        raise ConfigError(f"{cfg.source}, &time_control dt = {tc.dt} s does not divide the run length "
                          f"{span} s from start to end")
    midnight_offset = start.hour * 3600 + start.minute * 60 + start.second
    if midnight_offset % tc.dt:
        raise ConfigError(f"{cfg.source}, &time_control: start {format_time(start)} is not a whole number of "
                          f"steps (dt = {tc.dt} s) after midnight")


def check_tracers(cfg: Config) -> None:
    tr = cfg.tracers_nml
    n = len(tr.names)
    if len(set(tr.names)) != n:
        raise ConfigError(f"{cfg.source}, &tracers_nml names: tracers listed twice: {list(tr.names)}")
    for key in ("init_type", "init_value", "init_gradient"):
        if len(tr[key]) not in (1, n):
            raise ConfigError(f"{cfg.source}, &tracers_nml {key}: {len(tr[key])} values for {n} tracers; "
                              "give one value per tracer or a single value for all")
    from esm.tracers import validate_tracer_name
    for name in tr.names:
        try:
            validate_tracer_name(name)
        except ValueError as exc:
            raise ConfigError(f"{cfg.source}, &tracers_nml names: {exc}") from None
    if "file" in tr.init_type and not tr.init_file:
        raise ConfigError(f"{cfg.source}, &tracers_nml: init_type = 'file' needs init_file")


def check_streams(cfg: Config) -> None:
    out = cfg.output_nml
    n = len(out.streams)
    if len(set(out.streams)) != n:
        raise ConfigError(f"{cfg.source}, &output_nml streams: stream names repeat: {list(out.streams)}")
    for key in ("stream_frequency", "stream_operation", "stream_file_period", "stream_variables"):
        if len(out[key]) != n:
            raise ConfigError(f"{cfg.source}, &output_nml {key}: {len(out[key])} values for {n} streams "
                              f"({', '.join(out.streams)}); give one per stream")
    dt = cfg.time_control.dt
    start = parse_time(cfg.time_control.start, cfg.time_control.calendar)
    restart = Interval.parse(cfg.restart_nml.restart_interval)
    try:
        restart.check_step(dt, start, "&restart_nml restart_interval")
    except ValueError as exc:
        raise ConfigError(f"{cfg.source}, {exc}") from None
    for i, name in enumerate(out.streams):
        freq = Interval.parse(out.stream_frequency[i])
        period = Interval.parse(out.stream_file_period[i])
        if freq.never or period.never:
            raise ConfigError(f"{cfg.source}, &output_nml stream {name!r}: frequency and file period must "
                              "not be empty")
        try:
            freq.check_step(dt, start, f"&output_nml stream_frequency of stream {name!r}")
        except ValueError as exc:
            raise ConfigError(f"{cfg.source}, {exc}") from None
        if not period.is_multiple_of(freq):
            raise ConfigError(f"{cfg.source}, &output_nml stream {name!r}: file period '{period}' is not a "
                              f"whole number of records of '{freq}'")
        if not restart.never and not restart.is_multiple_of(period):
            raise ConfigError(f"{cfg.source}, &restart_nml restart_interval = '{restart}' is not a whole "
                              f"number of the file period '{period}' of stream {name!r}; checkpoints must fall "
                              "on file boundaries so that a resumed run rewrites no finished file")
        if not out.stream_variables[i].split():
            raise ConfigError(f"{cfg.source}, &output_nml stream {name!r} has no variables")


def check_components(cfg: Config) -> None:
    from esm.components import COMPONENTS
    seen = set()
    for name in cfg.coupler_nml.components:
        if name not in COMPONENTS:
            import difflib
            close = difflib.get_close_matches(name, list(COMPONENTS), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ConfigError(f"{cfg.source}, &coupler_nml components: unknown component {name!r}{hint} "
                              f"(available: {', '.join(COMPONENTS)})")
        if name in seen:
            raise ConfigError(f"{cfg.source}, &coupler_nml components: {name!r} listed twice")
        seen.add(name)


@lru_cache(maxsize=1)
def schema() -> Schema:
    """The complete schema: core groups, then every component's groups."""
    groups = core_groups()
    checks = [check_time, check_tracers, check_streams, check_components]
    for modname in COMPONENT_CONFIG_MODULES:
        mod = importlib.import_module(modname)
        groups.extend(mod.NAMELIST_GROUPS)
        checks.extend(getattr(mod, "CONFIG_CHECKS", []))
    return Schema(groups, checks)
