"""The namelist schema: groups of keys, each with type, default, units, range and description.

The schema is the single source for validation, for ``esm defaults`` (a documented
namelist of every key), for the resolved namelist written into the run directory and
into output files, and for the log of non-default values.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from esm.errors import ConfigError

#: Value types a key can have.
TYPES = ("int", "float", "str", "bool")


@dataclass(frozen=True)
class Key:
    """One namelist variable.

    Parameters
    ----------
    name : lower-case key name.
    type : one of ``int``, ``float``, ``str``, ``bool``.
    default : default value (a list for ``is_list`` keys).
    units : UDUNITS-style units, ``'1'`` for dimensionless, ``''`` for not applicable.
    description : one-line meaning, shown by ``esm defaults``.
    choices : allowed values for ``str`` keys (or ints).
    vmin, vmax : inclusive bounds for numbers.
    is_list : the value is a list (a scalar given in the namelist becomes a 1-element list).
    length : required list length, if fixed.
    in_output : copy this key into output-file attributes. False for keys that say where or
        for how long a run segment goes (paths, end time), so that a run continued from a
        restart writes byte-identical files to one that ran straight through.
    source : literature source of a parameter value (for parameter tables).
    validator : optional callable(value) raising ValueError with a message.
    """

    name: str
    type: str
    default: Any
    units: str
    description: str
    choices: tuple | None = None
    vmin: float | None = None
    vmax: float | None = None
    is_list: bool = False
    length: int | None = None
    min_length: int = 0
    in_output: bool = True
    source: str = ""
    validator: Any = field(default=None, compare=False)

    def __post_init__(self):
        if self.type not in TYPES:
            raise TypeError(f"schema key {self.name!r}: type {self.type!r} not in {TYPES}")
        if self.name != self.name.lower():
            raise TypeError(f"schema key {self.name!r} must be lower case")

    # ---- coercion -----------------------------------------------------------------
    def expected(self) -> str:
        t = {"int": "an integer", "float": "a real number", "str": "a string", "bool": "a logical (.true./.false.)"}[self.type]
        parts = [t if not self.is_list else f"a list of {t.split(' ', 1)[1]}s"]
        if self.length is not None:
            parts.append(f"with {self.length} elements")
        if self.choices is not None:
            parts.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.vmin is not None or self.vmax is not None:
            lo = "-inf" if self.vmin is None else f"{self.vmin:g}"
            hi = "inf" if self.vmax is None else f"{self.vmax:g}"
            parts.append(f"in [{lo}, {hi}]" + (f" {self.units}" if self.units not in ("", "1") else ""))
        return " ".join(parts)

    def _scalar(self, value: Any, where: str) -> Any:
        bad = ConfigError(f"{where}: value {value!r} is not valid; expected {self.expected()}")
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower().strip(".") in ("true", "t", "false", "f"):
                return value.strip().lower().strip(".") in ("true", "t")
            raise bad
        if self.type == "int":
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int):
                v = int(value)
            elif isinstance(value, float) and value.is_integer():
                v = int(value)
            elif isinstance(value, str):
                try:
                    v = int(value.strip())
                except ValueError:
                    raise bad from None
            else:
                raise bad
        elif self.type == "float":
            if isinstance(value, bool):
                raise bad
            if isinstance(value, (int, float)):
                v = float(value)
            elif isinstance(value, str):
                try:
                    v = float(value.strip().lower().replace("d", "e"))
                except ValueError:
                    raise bad from None
            else:
                raise bad
            if not math.isfinite(v):
                raise bad
        else:  # str
            if not isinstance(value, str):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = str(value)
                else:
                    raise bad
            v = value.strip()
        if self.choices is not None and v not in self.choices:
            close = difflib.get_close_matches(str(v), [str(c) for c in self.choices], n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ConfigError(f"{where}: value {v!r} is not one of {', '.join(map(repr, self.choices))}{hint}")
        if self.type in ("int", "float"):
            if (self.vmin is not None and v < self.vmin) or (self.vmax is not None and v > self.vmax):
                raise ConfigError(f"{where}: value {v!r} is out of range; expected {self.expected()}")
        return v

    def coerce(self, value: Any, where: str) -> Any:
        """Convert a value read from a namelist (or ``--set``) to this key's type, or raise ConfigError."""
        if self.is_list:
            if value is None:
                raise ConfigError(f"{where}: empty value; expected {self.expected()}")
            items = list(value) if isinstance(value, (list, tuple)) else [value]
            if self.type == "str" and items == [""]:
                items = []  # "key = ''" is the empty list
            # f90nml pads sparse arrays with None; those are holes the user left
            if any(v is None for v in items):
                raise ConfigError(f"{where}: the list {value!r} has empty elements; expected {self.expected()}")
            out = [self._scalar(v, f"{where}({i + 1})") for i, v in enumerate(items)]
            if self.length is not None and len(out) != self.length:
                raise ConfigError(f"{where}: has {len(out)} elements; expected {self.expected()}")
            if len(out) < self.min_length:
                raise ConfigError(f"{where}: has {len(out)} elements; expected at least {self.min_length}")
            out = tuple(out)
        else:
            if isinstance(value, (list, tuple)):
                if len(value) == 1:
                    value = value[0]
                else:
                    raise ConfigError(f"{where}: got a list {list(value)!r}; expected {self.expected()}")
            out = self._scalar(value, where)
        if self.validator is not None:
            try:
                self.validator(out)
            except ValueError as exc:
                raise ConfigError(f"{where}: value {out!r} is not valid: {exc}") from None
        return out

    def format_value(self, value: Any) -> str:
        """Fortran namelist text for a value of this key."""
        def one(v):
            if self.type == "bool":
                return ".true." if v else ".false."
            if self.type == "str":
                return "'" + str(v).replace("'", "''") + "'"
            if self.type == "float":
                return repr(float(v))
            return str(int(v))
        if self.is_list:
            return ", ".join(one(v) for v in value) if value else "''"
        return one(value)


@dataclass(frozen=True)
class Group:
    """A namelist group (``&name ... /``) and its keys."""

    name: str
    description: str
    keys: tuple[Key, ...]
    #: keys that existed in earlier versions: old name -> what replaced it (shown instead of "unknown key")
    retired: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        names = [k.name for k in self.keys]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise TypeError(f"group {self.name!r} defines keys twice: {sorted(dup)}")

    def key(self, name: str) -> Key:
        for k in self.keys:
            if k.name == name:
                return k
        raise KeyError(name)

    @property
    def key_names(self) -> list[str]:
        return [k.name for k in self.keys]


class Section(Mapping):
    """Resolved values of one group; read as ``section.key`` or ``section['key']``."""

    def __init__(self, group: Group, values: dict[str, Any]):
        self._group = group
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"namelist group &{self._group.name} has no key {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Section(&{self._group.name}: {self._values!r})"


class Config(Mapping):
    """A fully resolved configuration: every key of every group has a validated value."""

    def __init__(self, schema: "Schema", values: dict[str, dict[str, Any]], user_set: set[tuple[str, str]],
                 source: str = ""):
        self.schema = schema
        self._sections = {g: Section(schema.groups[g], values[g]) for g in schema.groups}
        self.user_set = frozenset(user_set)
        self.source = source

    def __getattr__(self, name: str) -> Section:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(f"no namelist group &{name}") from None

    def __getitem__(self, name: str) -> Section:
        return self._sections[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {g: dict(s) for g, s in self._sections.items()}

    def non_defaults(self) -> list[tuple[str, str, Any, Any]]:
        """``(group, key, value, default)`` for every value that differs from its default."""
        out = []
        for g, grp in self.schema.groups.items():
            for k in grp.keys:
                v = self._sections[g][k.name]
                d = k.coerce(k.default, f"default of {g}.{k.name}") if k.default is not None else None
                if v != d:
                    out.append((g, k.name, v, d))
        return out

    def to_namelist(self, output_only: bool = False, comments: bool = False) -> str:
        """Fortran namelist text of the resolved configuration.

        ``output_only`` drops keys marked ``in_output=False`` (run-segment keys);
        ``comments`` adds units and descriptions (as ``esm defaults`` does).
        """
        return self.schema.format_namelist(self.to_dict(), output_only=output_only, comments=comments)

    def replace(self, overrides: Mapping[str, Mapping[str, Any]]) -> "Config":
        """A new Config with some values replaced (validated like user input)."""
        values = self.to_dict()
        user_set = set(self.user_set)
        for g, kv in overrides.items():
            grp = self.schema.group(g, "override")
            for k, v in kv.items():
                key = self.schema.key(grp, k, "override")
                values[g][k] = key.coerce(v, f"&{g} {k}")
                user_set.add((g, k))
        return self.schema.finish(values, user_set, self.source)


def _closest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


class Schema:
    """All namelist groups of esm, plus cross-key checks run after the per-key checks."""

    def __init__(self, groups: Iterable[Group], checks: Iterable = ()):
        self.groups: dict[str, Group] = {}
        for g in groups:
            if g.name in self.groups:
                raise TypeError(f"namelist group &{g.name} defined twice")
            self.groups[g.name] = g
        self.checks = list(checks)

    def group(self, name: str, where: str) -> Group:
        try:
            return self.groups[name]
        except KeyError:
            raise ConfigError(f"{where}: unknown namelist group &{name}{_closest(name, self.groups)} "
                              f"(valid groups: {', '.join('&' + g for g in self.groups)})") from None

    def key(self, group: Group, name: str, where: str) -> Key:
        try:
            return group.key(name)
        except KeyError:
            if name in group.retired:
                raise ConfigError(f"{where}: key {name!r} of &{group.name} was retired: "
                                  f"{group.retired[name]}") from None
            raise ConfigError(f"{where}: unknown key {name!r} in &{group.name}{_closest(name, group.key_names)}"
                              f" (valid keys: {', '.join(group.key_names)})") from None

    def defaults(self) -> dict[str, dict[str, Any]]:
        return {g: {k.name: (k.coerce(k.default, f"default of {g}.{k.name}") if k.default is not None else None)
                    for k in grp.keys} for g, grp in self.groups.items()}

    def resolve(self, user: Mapping[str, Mapping[str, Any]], source: str = "namelist") -> Config:
        """Validate user values (group -> key -> raw value) and merge them with the defaults."""
        values = self.defaults()
        user_set = set()
        for gname, kv in user.items():
            g = self.group(str(gname).lower(), source)
            for kname, raw in kv.items():
                k = self.key(g, str(kname).lower(), f"{source}, &{g.name}")
                values[g.name][k.name] = k.coerce(raw, f"{source}, &{g.name} {k.name}")
                user_set.add((g.name, k.name))
        return self.finish(values, user_set, source)

    def finish(self, values: dict, user_set: set, source: str) -> Config:
        for gname, grp in self.groups.items():
            for k in grp.keys:
                if values[gname][k.name] is None:
                    raise ConfigError(f"{source}: &{gname} {k.name} has no default and must be set "
                                      f"({k.description}; expected {k.expected()})")
        cfg = Config(self, values, user_set, source)
        for check in self.checks:
            check(cfg)
        return cfg

    def format_namelist(self, values: Mapping[str, Mapping[str, Any]], output_only: bool = False,
                        comments: bool = False) -> str:
        lines = []
        for gname, grp in self.groups.items():
            if comments:
                lines.append(f"! {grp.description}")
            lines.append(f"&{gname}")
            for k in grp.keys:
                if output_only and not k.in_output:
                    continue
                v = values[gname][k.name]
                if v is None:
                    continue
                text = f"  {k.name} = {k.format_value(v)}"
                if comments:
                    unit = f"[{k.units}] " if k.units else ""
                    rng = ""
                    if k.choices is not None:
                        rng = " (" + " | ".join(map(str, k.choices)) + ")"
                    elif k.vmin is not None or k.vmax is not None:
                        rng = f" (range {'' if k.vmin is None else f'{k.vmin:g}'}..{'' if k.vmax is None else f'{k.vmax:g}'})"
                    src = f" Source: {k.source}." if k.source else ""
                    lines.append(f"  ! {unit}{k.description}{rng}{src}")
                lines.append(text)
            lines.append("/")
            lines.append("")
        return "\n".join(lines)
