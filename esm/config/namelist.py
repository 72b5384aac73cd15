"""Reading namelist files (f90nml) and ``--set group.key=value`` overrides into a Config."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable

import f90nml

from esm.config.registry import schema as _schema
from esm.config.schema import Config, Schema
from esm.errors import ConfigError

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """f90nml values to plain Python (lists, scalars); nested namelists are rejected by the caller."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_namelist(path: str | Path) -> dict[str, dict[str, Any]]:
    """Parse a namelist file into ``{group: {key: value}}`` with lower-case names.

    Raises ConfigError naming the file for unreadable files, syntax errors, repeated
    groups, derived-type or indexed keys.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"namelist file {str(path)!r} does not exist or is not a file")
    parser = f90nml.Parser()
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"namelist file {str(path)!r} cannot be read: {exc}") from None
    if "&" not in text:
        raise ConfigError(f"namelist file {str(path)!r} contains no namelist group (expected '&group ... /')")
    try:
        nml = parser.reads(text)
    except Exception as exc:  # f90nml raises ValueError, IndexError, StopIteration, ... on bad syntax
        raise ConfigError(f"namelist file {str(path)!r} has a syntax error: {type(exc).__name__}: {exc}") from None
    out: dict[str, dict[str, Any]] = {}
    for gname, group in nml.items():
        gname = str(gname).lower()
        if isinstance(group, list):
            raise ConfigError(f"namelist file {str(path)!r}: group &{gname} appears {len(group)} times; "
                              "give each group once")
        out[gname] = {}
        starts = getattr(group, "start_index", {}) or {}
        for key, value in group.items():
            key = str(key).lower()
            if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
                raise ConfigError(f"namelist file {str(path)!r}: &{gname} {key} is a derived type; "
                                  "esm namelists use plain keys (e.g. 'names = ...')")
            if key in starts and starts[key] not in ([1], [None], None):
                raise ConfigError(f"namelist file {str(path)!r}: &{gname} {key}({starts[key]}) uses an index; "
                                  "give the whole list, e.g. 'key = a, b, c'")
            out[gname][key] = _plain(value)
    return out


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split ``group.key=value`` into ``(group, key, value)``; the value is coerced later by the schema.

    Values may be Fortran-style (``.true.``, ``'text'``) or plain (``true``, ``text``); lists are
    comma-separated.
    """
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"--set {text!r}: expected the form group.key=value, e.g. time_control.dt=1800")
    lhs, rhs = text.split("=", 1)
    group, key = lhs.strip().lower().rsplit(".", 1)
    group = group.strip().lstrip("&")
    if not group or not key.strip():
        raise ConfigError(f"--set {text!r}: expected the form group.key=value")
    rhs = rhs.strip()
    items = _split_list(rhs)
    value: Any = [_unquote(v) for v in items] if len(items) > 1 else _unquote(rhs)
    return group, key.strip(), value


def _split_list(text: str) -> list[str]:
    parts, cur, quote = [], [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == ",":
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v


def load_config(path: str | Path | None, overrides: Iterable[str] = (), schema: Schema | None = None) -> Config:
    """Read a namelist file (or only defaults when ``path`` is None), apply ``--set`` overrides, validate."""
    schema = schema or _schema()
    user = read_namelist(path) if path is not None else {}
    source = f"namelist file {str(path)!r}" if path is not None else "defaults"
    cfg = schema.resolve(user, source=source)
    if overrides:
        ov: dict[str, dict[str, Any]] = {}
        for text in overrides:
            g, k, v = parse_override(text)
            ov.setdefault(g, {})[k] = v
        try:
            cfg = cfg.replace(ov)
        except ConfigError as exc:
            raise ConfigError(f"--set: {exc}") from None
    return cfg
