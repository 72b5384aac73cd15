"""Output streams: CF-NetCDF files of instantaneous or time-mean fields at their own frequency.

Conventions (they make a continued run write the same files as a straight one):

* An instantaneous ('inst') record at time ``t`` is written by the run segment whose span
  ``[run start, run end)`` contains ``t``: the initial state is a record, the final state is
  the first record of a continuation.
* A time-mean record covers ``[a, b)`` with ``b`` a record boundary; it is written when the
  step that ends at ``b`` completes; ``time`` is the mid-point and ``time_bnds`` the interval.
  Its running sums are part of the restart state.
* A file holds the records whose time (inst) or interval start (mean) falls in one file period
  and is named after its first record: ``<stream>.<YYYYmmdd_HHMM>.nc``. It is written under a
  hidden temporary name and renamed when its period is complete or the run ends.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cftime
import numpy as np

from esm.clock import Interval, format_time, seconds_between
from esm.component import Variable
from esm.grid import Grid
from esm.io.netcdf import create_dataset, define_horizontal, define_vertical, finalize_dataset, global_attributes
from esm.vertical import VerticalCoordinate

log = logging.getLogger(__name__)


@dataclass
class OutputField:
    """A variable a stream can write: metadata and a function returning its current value (float64)."""

    variable: Variable
    getter: Callable[[], np.ndarray]


#: _FillValue of masked output variables (float32; the CMIP convention).
FILL_VALUE = np.float32(1.0e20)


def file_stamp(t: cftime.datetime) -> str:
    s = f"{t.year:04d}{t.month:02d}{t.day:02d}_{t.hour:02d}{t.minute:02d}"
    return s + (f"{t.second:02d}" if t.second else "")


class SyncWriter:
    """Runs file operations immediately, in the calling thread."""

    def submit(self, fn, *args) -> None:
        fn(*args)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class AsyncWriter:
    """One background thread that runs file operations in submission order.

    netCDF4 releases the GIL while it compresses and writes, so output overlaps with the model's
    computation. Operations run strictly in FIFO order in a single thread, so the files are the
    same bytes as with :class:`SyncWriter`. The queue is bounded (``depth`` operations) so a slow
    disk throttles the model instead of filling memory. ``flush()`` waits until everything
    submitted is on disk and re-raises the first error of the writer thread.
    """

    def __init__(self, depth: int = 8):
        import queue
        import threading

        self._q: "queue.Queue" = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="esm-output-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._q.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    fn, args = item
                    fn(*args)
            except BaseException as exc:  # kept and re-raised in the model thread
                self._error = exc
            finally:
                self._q.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            raise RuntimeError(f"the output writer failed: {type(exc).__name__}: {exc}") from exc

    def submit(self, fn, *args) -> None:
        self._raise()
        self._q.put((fn, args))

    def flush(self) -> None:
        self._q.join()
        self._raise()

    def close(self) -> None:
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()


class Stream:
    """One output stream (see module docstring)."""

    def __init__(self, name: str, frequency: Interval, operation: str, file_period: Interval,
                 fields: list[OutputField], grid: Grid, vcoord: VerticalCoordinate, output_dir: Path,
                 anchor: cftime.datetime, namelist_text: str, deflate_level: int = 4,
                 extra_dims: dict | None = None, ps_getter: Callable[[], np.ndarray] | None = None,
                 air_mass_getter: Callable[[], np.ndarray] | None = None, writer=None):
        self.name = name
        self.writer = writer if writer is not None else SyncWriter()
        self.frequency = frequency
        self.operation = operation
        self.file_period = file_period
        self.fields = fields
        self.grid = grid
        self.vcoord = vcoord
        self.output_dir = Path(output_dir)
        self.anchor = anchor
        self.namelist_text = namelist_text
        self.deflate = deflate_level
        self.extra_dims = extra_dims or {}
        self.has_3d = any("lev" in f.variable.dims for f in fields)
        # 3-D streams also carry ps (for formula_terms) and the air mass per cell
        self._aux: list[OutputField] = []
        if self.has_3d and ps_getter is not None:
            self._aux.append(OutputField(Variable("ps", ("lat", "lon"), "Pa", "surface air pressure",
                                                  "surface_air_pressure"), ps_getter))
        if self.has_3d and air_mass_getter is not None:
            self._aux.append(OutputField(Variable("air_mass", ("lev", "lat", "lon"), "kg",
                                                  "dry-air mass in grid cell",
                                                  comment="sum over cells and levels gives the atmospheric "
                                                          "dry-air mass; tracer moles = mole fraction * "
                                                          "air_mass / 0.0289644 kg mol-1"), air_mass_getter))
        self.all_fields = self.fields + self._aux
        self._ds = None  # touched only by file operations running in the writer
        self._open_file = False  # decisions are taken in the model thread
        self._final: Path | None = None
        self._file_period_end: cftime.datetime | None = None
        self._nrec = 0
        self.files_written: list[Path] = []
        # time-mean accumulators
        self._acc: dict[str, np.ndarray] = {}
        self._acc_seconds = 0

    # ---- records ---------------------------------------------------------------------
    def start(self, t: cftime.datetime) -> None:
        """Called at the start of a run segment (after restart state is loaded)."""
        if self.operation == "inst" and self.frequency.is_boundary(t, self.anchor):
            self._write_record(t, {f.variable.name: f.getter() for f in self.all_fields})

    def after_step(self, t: cftime.datetime, dt: int, run_end: cftime.datetime) -> None:
        """Account for the step that ended at ``t``."""
        if self.operation == "mean":
            for f in self.all_fields:
                v = f.getter()
                a = self._acc.get(f.variable.name)
                if a is None:
                    self._acc[f.variable.name] = v * float(dt)
                else:
                    a += v * float(dt)
            self._acc_seconds += dt
            if self.frequency.is_boundary(t, self.anchor):
                start = t - _seconds(self._acc_seconds)
                means = {k: a / self._acc_seconds for k, a in self._acc.items()}
                self._acc = {}
                self._acc_seconds = 0
                self._write_record(t, means, start=start)
        elif t < run_end and self.frequency.is_boundary(t, self.anchor):
            self._write_record(t, {f.variable.name: f.getter() for f in self.all_fields})

    def close(self) -> None:
        """Finalize the open file at the end of a run segment (it keeps only complete records)."""
        if self._open_file:
            self._finalize()
        if self.operation == "mean" and self._acc_seconds:
            log.info("stream %s: the mean record in progress (%d s accumulated) continues in the restart",
                     self.name, self._acc_seconds)

    def abort(self) -> None:
        """Close without renaming (after an error): the partial file stays under its temporary name.

        Call after the writer has been flushed or closed (no file operation of this stream runs).
        """
        self._open_file = False
        if self._ds is not None:
            try:
                self._ds.close()
            finally:
                self._ds = None

    # ---- restart -------------------------------------------------------------------------
    def restart_state(self) -> dict[str, np.ndarray]:
        out = {f"stream__{self.name}__acc_seconds": np.array(self._acc_seconds, dtype=np.int64)}
        for k, a in self._acc.items():
            out[f"stream__{self.name}__acc__{k}"] = a
        return out

    def load_restart_state(self, state: dict[str, np.ndarray]) -> None:
        key = f"stream__{self.name}__acc_seconds"
        self._acc_seconds = int(state.get(key, 0))
        prefix = f"stream__{self.name}__acc__"
        self._acc = {k[len(prefix):]: np.array(v, dtype=np.float64) for k, v in state.items() if k.startswith(prefix)}
        if self._acc_seconds and set(self._acc) != {f.variable.name for f in self.all_fields}:
            from esm.errors import RestartError
            raise RestartError(f"restart holds a mean record in progress for stream {self.name!r} with variables "
                               f"{sorted(self._acc)}, but the namelist asks for "
                               f"{sorted(f.variable.name for f in self.all_fields)}")

    # ---- files -------------------------------------------------------------------------
    def _write_record(self, t: cftime.datetime, values: dict[str, np.ndarray], start: cftime.datetime | None = None):
        file_time = start if start is not None else t
        if self._open_file and file_time >= self._file_period_end:
            self._finalize()
        if not self._open_file:
            self._final = self.output_dir / f"{self.name}.{file_stamp(file_time)}.nc"
            self._file_period_end = self.file_period.next_boundary(file_time, self.anchor)
            self._open_file = True
            self._nrec = 0
            self.writer.submit(self._open, self._final)
        if start is None:
            times = (seconds_between(self.anchor, t) / 3600.0, None)
        else:
            a = seconds_between(self.anchor, start) / 3600.0
            b = seconds_between(self.anchor, t) / 3600.0
            times = (0.5 * (a + b), (a, b))
        data = {}
        for f in self.all_fields:
            v = values[f.variable.name]
            ok = ~np.isinf(v) if f.variable.masked else np.isfinite(v)
            if not np.all(ok):
                from esm.errors import ModelStateError
                raise ModelStateError(f"output stream {self.name!r}: variable {f.variable.name!r} is not finite at "
                                      f"{format_time(t)}")
            arr = v.astype(np.float32)  # a copy: the model may change v meanwhile
            if f.variable.masked:
                arr[np.isnan(arr)] = FILL_VALUE
            data[f.variable.name] = arr
        self.writer.submit(self._put, self._nrec, times, data)
        self._nrec += 1
        # complete when the next record would fall into the next file period
        nxt = self.frequency.next_boundary(t, self.anchor) if start is None else t
        if nxt >= self._file_period_end:
            self._finalize()

    def _put(self, n: int, times, data: dict[str, np.ndarray]) -> None:
        ds = self._ds
        ds["time"][n] = times[0]
        if times[1] is not None:
            ds["time_bnds"][n, :] = times[1]
        for name, arr in data.items():
            ds[name][n] = arr

    def _open(self, final: Path) -> None:
        ds = create_dataset(final)
        global_attributes(ds, f"esm output stream {self.name}", self.namelist_text, {
            "esm_stream": self.name,
            "esm_stream_frequency": str(self.frequency),
            "esm_stream_operation": self.operation,
            "esm_file_period": str(self.file_period),
        })
        ds.createDimension("time", None)
        ds.createDimension("bnds", 2)
        define_horizontal(ds, self.grid)
        if self.has_3d:
            define_vertical(ds, self.vcoord)
        for dname, (values, attrs) in self.extra_dims.items():
            if any(dname in f.variable.dims for f in self.all_fields):
                ds.createDimension(dname, len(values))
                v = ds.createVariable(dname, "i4" if np.asarray(values).dtype.kind in "iu" else "f8", (dname,))
                v.setncatts(attrs)
                v[:] = values
        units = f"hours since {format_time(self.anchor)}"
        tv = ds.createVariable("time", "f8", ("time",))
        tv.setncatts({"standard_name": "time", "long_name": "time", "units": units,
                      "calendar": self.anchor.calendar, "axis": "T"})
        if self.operation == "mean":
            tv.setncattr("bounds", "time_bnds")
            ds.createVariable("time_bnds", "f8", ("time", "bnds"))
        for f in self.all_fields:
            var = f.variable
            dims = ("time",) + var.dims
            chunks = (1,) + tuple(len(ds.dimensions[d]) for d in var.dims)
            v = ds.createVariable(var.name, "f4", dims, zlib=self.deflate > 0, complevel=self.deflate or None,
                                  shuffle=self.deflate > 0, chunksizes=chunks,
                                  fill_value=FILL_VALUE if var.masked else None)
            atts = {"long_name": var.long_name, "units": var.units}
            if var.standard_name:
                atts["standard_name"] = var.standard_name
            atts["cell_methods"] = ("time: point" if self.operation == "inst" else var.cell_methods_mean)
            atts["cell_measures"] = "area: cell_area"
            if var.comment:
                atts["comment"] = var.comment
            v.setncatts(atts)
        self._ds = ds

    def _finalize(self) -> None:
        self._open_file = False
        self.writer.submit(self._close_and_rename, self._final)

    def _close_and_rename(self, final: Path) -> None:
        path = finalize_dataset(self._ds, final)
        self._ds = None
        self.files_written.append(path)
        log.debug("stream %s: wrote %s", self.name, path)


def _seconds(n: int):
    import datetime as _dt
    return _dt.timedelta(seconds=int(n))
