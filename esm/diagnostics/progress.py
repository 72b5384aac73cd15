"""Run feedback: a terminal progress bar with simulated time and ETA, or periodic log lines."""
from __future__ import annotations

import logging
import sys
import time

from esm.clock import Interval, format_time

log = logging.getLogger("esm.run")


class Progress:
    """Reports progress of the step loop; ``mode`` is 'bar', 'log', 'none' or 'auto'."""

    def __init__(self, mode: str, total_steps: int, first_step: int, log_interval: Interval, anchor):
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.total = total_steps
        self.first = first_step
        self.log_interval = log_interval
        self.anchor = anchor
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def _eta(self, step: int) -> tuple[float, float]:
        elapsed = time.perf_counter() - self.t0
        done = step - self.first
        remaining = (self.total - step) * elapsed / done if done else float("nan")
        return elapsed, remaining

    def update(self, step: int, t) -> None:
        if self.mode == "bar":
            now = time.perf_counter()
            if now - self._last_draw < 0.2 and step < self.total:
                return
            self._last_draw = now
            frac = step / self.total if self.total else 1.0
            width = 30
            filled = int(width * frac)
            elapsed, remaining = self._eta(step)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * frac:5.1f}% {format_time(t)} "
                             f"elapsed {elapsed:6.0f} s  ETA {remaining:6.0f} s ")
            sys.stderr.flush()
        elif self.mode == "log" and not self.log_interval.never:
            if self.log_interval.is_boundary(t, self.anchor) or step == self.total:
                elapsed, remaining = self._eta(step)
                log.info("step %d/%d  model time %s  elapsed %.1f s  ETA %.1f s", step, self.total,
                         format_time(t), elapsed, remaining)

    def close(self) -> None:
        if self.mode == "bar":
            sys.stderr.write("\n")
            sys.stderr.flush()
