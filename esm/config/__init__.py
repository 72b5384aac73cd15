"""Namelist configuration: one schema entry per key, strict validation, documented defaults.

Typical use::

    from esm.config import load_config
    cfg = load_config("namelists/default.nml", overrides=["time_control.dt=1800"])
    cfg.time_control.dt      # -> 1800 (int, seconds)
"""
from esm.config.schema import Config, Group, Key, Schema
from esm.config.namelist import load_config, read_namelist, parse_override
from esm.config.registry import schema

__all__ = ["Config", "Group", "Key", "Schema", "load_config", "read_namelist", "parse_override", "schema"]
