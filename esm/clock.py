"""Model time: cftime calendars, integer-second steps and calendar-aware intervals.

Model time is ``start + n * dt`` with integer ``n`` and integer ``dt`` seconds, so a
long run never accumulates floating-point drift. Intervals (output, restart,
component updates) are either a fixed number of seconds anchored at midnight (for
sub-daily intervals) or at the run's ``start`` (multi-day intervals), or calendar
months/years anchored at the first of the month / year.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import cftime

#: Calendars users can select (CF names; 'standard' is the mixed Julian/Gregorian calendar).
CALENDARS = ("standard", "gregorian", "proleptic_gregorian", "noleap", "365_day",
             "all_leap", "366_day", "360_day")

TIME_PATTERN = re.compile(r"^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?\s*$")
_DUR = re.compile(r"^\s*(\d+)\s*(s|sec|min|h|hr|d|day|mon|month|yr|year)s?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400}


def parse_time(text: str, calendar: str) -> cftime.datetime:
    """Parse ``'YYYY-MM-DD[ HH[:MM[:SS]]]'`` into a cftime datetime in ``calendar``."""
    m = TIME_PATTERN.match(str(text))
    if not m:
        raise ValueError(f"time {text!r} is not of the form 'YYYY-MM-DD HH:MM:SS'")
    parts = [int(g) if g is not None else 0 for g in m.groups()]
    try:
        return cftime.datetime(*parts, calendar=calendar)
    except ValueError as exc:
        raise ValueError(f"time {text!r} does not exist in the {calendar!r} calendar: {exc}") from None


def format_time(t: cftime.datetime) -> str:
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def seconds_between(a: cftime.datetime, b: cftime.datetime) -> int:
    """Exact whole seconds from ``a`` to ``b`` (cftime timedeltas are exact to the microsecond)."""
    d = b - a
    total_us = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    if total_us % 1_000_000:
        raise ValueError(f"{a} to {b} is not a whole number of seconds")
    return total_us // 1_000_000


@dataclass(frozen=True)
class Interval:
    """A repeating interval: ``seconds > 0`` fixed length, or ``months > 0`` calendar months.

    ``Interval.parse('6h')``, ``'1d'``, ``'10d'``, ``'1mon'``, ``'1yr'``; ``'0'`` or ``'none'``
    is the empty interval (never due), allowed where the schema says so.
    """

    seconds: int = 0
    months: int = 0

    @classmethod
    def parse(cls, text: str | int) -> "Interval":
        if isinstance(text, int) and not isinstance(text, bool):
            if text < 0:
                raise ValueError(f"interval {text} must not be negative")
            return cls(seconds=text)
        s = str(text).strip().lower()
        if s in ("0", "none", "never", ""):
            return cls()
        if s.isdigit():
            return cls(seconds=int(s))
        m = _DUR.match(s)
        if not m:
            raise ValueError(f"interval {text!r} is not '<N><unit>' with unit s, min, h, d, mon or yr "
                             "(e.g. '1h', '6h', '1d', '1mon', '1yr')")
        n, unit = int(m.group(1)), m.group(2).lower()
        if n == 0:
            return cls()
        if unit in ("mon", "month"):
            return cls(months=n)
        if unit in ("yr", "year"):
            return cls(months=12 * n)
        return cls(seconds=n * _UNIT_SECONDS[unit])

    @property
    def never(self) -> bool:
        return self.seconds == 0 and self.months == 0

    def __str__(self) -> str:
        if self.never:
            return "none"
        if self.months:
            return f"{self.months // 12}yr" if self.months % 12 == 0 else f"{self.months}mon"
        for unit, sec in (("d", 86400), ("h", 3600), ("min", 60)):
            if self.seconds % sec == 0:
                return f"{self.seconds // sec}{unit}"
        return f"{self.seconds}s"

    def is_multiple_of(self, other: "Interval") -> bool:
        """Whether every boundary of ``other`` ... i.e. ``self`` is a whole number of ``other``."""
        if other.never or self.never:
            return False
        if other.months:
            return self.months > 0 and self.months % other.months == 0
        if self.months:  # months are whole days in every calendar
            return 86400 % other.seconds == 0
        return self.seconds % other.seconds == 0

    # ---- boundaries --------------------------------------------------------------------
    def next_boundary(self, t: cftime.datetime, anchor: cftime.datetime) -> cftime.datetime:
        """First boundary strictly after ``t``.

        Sub-daily fixed intervals (dividing one day) are anchored at midnight; other fixed
        intervals at ``anchor`` (the run's start); months at the first of the month (years at
        the first of January).
        """
        if self.never:
            raise ValueError("an empty interval has no boundaries")
        if self.months:
            total = t.year * 12 + (t.month - 1)
            if self.months % 12 == 0:
                total = t.year * 12  # years are anchored at January
            nxt = (total // self.months + 1) * self.months
            return cftime.datetime(nxt // 12, nxt % 12 + 1, 1, calendar=t.calendar)
        if 86400 % self.seconds == 0:
            midnight = cftime.datetime(t.year, t.month, t.day, calendar=t.calendar)
            since = seconds_between(midnight, t)
            return midnight + _dt.timedelta(seconds=(since // self.seconds + 1) * self.seconds)
        since = seconds_between(anchor, t)
        return anchor + _dt.timedelta(seconds=(since // self.seconds + 1) * self.seconds)

    def previous_boundary(self, t: cftime.datetime, anchor: cftime.datetime) -> cftime.datetime:
        """Last boundary at or before ``t``."""
        if self.months:
            total = t.year * 12 + (t.month - 1)
            base = t.year * 12 if self.months % 12 == 0 else total
            cur = (base // self.months) * self.months
            return cftime.datetime(cur // 12, cur % 12 + 1, 1, calendar=t.calendar)
        if 86400 % self.seconds == 0:
            midnight = cftime.datetime(t.year, t.month, t.day, calendar=t.calendar)
            since = seconds_between(midnight, t)
            return midnight + _dt.timedelta(seconds=(since // self.seconds) * self.seconds)
        since = seconds_between(anchor, t)
        return anchor + _dt.timedelta(seconds=(since // self.seconds) * self.seconds)

    def is_boundary(self, t: cftime.datetime, anchor: cftime.datetime) -> bool:
        return not self.never and self.previous_boundary(t, anchor) == t

    def check_step(self, dt: int, start: cftime.datetime, what: str) -> None:
        """Raise ValueError unless every boundary of this interval falls on a model step."""
        if self.never:
            return
        if self.months:
            if 86400 % dt:
                raise ValueError(f"{what} = '{self}' needs dt to divide one day (86400 s); dt = {dt} s")
            midnight = cftime.datetime(start.year, start.month, start.day, calendar=start.calendar)
            if seconds_between(midnight, start) % dt:
                raise ValueError(f"{what} = '{self}': start {format_time(start)} is not a whole number of "
                                 f"steps (dt = {dt} s) after midnight")
            return
        if self.seconds % dt:
            raise ValueError(f"dt = {dt} s does not divide {what} = '{self}' ({self.seconds} s)")
        if 86400 % self.seconds == 0:
            midnight = cftime.datetime(start.year, start.month, start.day, calendar=start.calendar)
            if seconds_between(midnight, start) % dt:
                raise ValueError(f"{what} = '{self}': start {format_time(start)} is not a whole number of "
                                 f"steps (dt = {dt} s) after midnight")


class Clock:
    """Counts integer steps of ``dt`` seconds from ``start`` to ``end`` in a cftime calendar."""

    def __init__(self, start: cftime.datetime, end: cftime.datetime, dt: int, step: int = 0):
        if start.calendar != end.calendar:
            raise ValueError("start and end must use the same calendar")
        if int(dt) != dt or dt <= 0:
            raise ValueError(f"dt = {dt} must be a positive whole number of seconds")
        span = seconds_between(start, end)
        if span <= 0:
            raise ValueError(f"end {format_time(end)} is not after start {format_time(start)}")
        if span % dt:
            raise ValueError(f"dt = {dt} s does not divide the run length {span} s "
                             f"({format_time(start)} to {format_time(end)})")
        self.start = start
        self.end = end
        self.dt = int(dt)
        self.nsteps = span // self.dt
        self.step = int(step)

    @property
    def calendar(self) -> str:
        return self.start.calendar

    @property
    def seconds(self) -> int:
        """Seconds elapsed since ``start``."""
        return self.step * self.dt

    @property
    def time(self) -> cftime.datetime:
        return self.time_at(self.step)

    def time_at(self, step: int) -> cftime.datetime:
        return self.start + _dt.timedelta(seconds=step * self.dt)

    def step_of(self, t: cftime.datetime) -> int:
        s = seconds_between(self.start, t)
        if s % self.dt:
            raise ValueError(f"time {format_time(t)} is not on a model step (dt = {self.dt} s)")
        return s // self.dt

    @property
    def done(self) -> bool:
        return self.step >= self.nsteps

    def advance(self) -> None:
        self.step += 1
