"""The coupler: builds a run from its Config and steps every process in order.

One model step of ``dt`` seconds, starting at time ``t``::

    1. meteorology at t (if any process needs it)
    2. each component due at t (its interval divides the seconds since the run anchor) computes
       new surface fluxes and loss rates; others keep their cached values
    3. the atmosphere is advanced: with transport enabled, Transport.step injects the summed
       fluxes, mixes, advects and applies losses; without it, fluxes enter the lowest layer
       and losses act in place
    4. the clock advances to t + dt; the state is checked (no NaN, positive air mass)
    5. output streams account for the step; checkpoints are written when due

The run anchor is the namelist's ``start`` of the first (cold-start) segment; it is kept in
restarts so that interval boundaries and output time units stay the same across segments.
"""
from __future__ import annotations

import logging
import time as _time
from collections import defaultdict
from pathlib import Path

import numpy as np

from esm.atmosphere import Atmosphere
from esm.clock import Clock, Interval, format_time, parse_time
from esm.component import Component, Variable
from esm.components import component_class
from esm.config.schema import Config
from esm.constants import P_STANDARD
from esm.diagnostics.progress import Progress
from esm.errors import ConfigError, EsmUserError, ModelStateError, RestartError
from esm.grid import Grid
from esm.initial import initial_mole_fractions
from esm.io import restart as rst
from esm.io.streams import AsyncWriter, OutputField, Stream, SyncWriter
from esm.tracers import TracerSet
from esm.vertical import VerticalCoordinate

log = logging.getLogger(__name__)

RUN_NAMELIST = "esm_run.nml"


def check_output_dir(path: Path) -> Path:
    """Create ``path`` if needed and make sure files can be written there."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".esm_write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise EsmUserError(f"&output_nml output_dir {str(path)!r} is not a writable directory: "
                           f"{exc.strerror or exc}") from None
    return path


class Model:
    """A configured run: geometry, state, components, streams; ``run()`` steps it to the end."""

    def __init__(self, config: Config, restart_file: str | Path | None = None):
        self._created = _time.perf_counter()
        self.config = config
        tc = config.time_control
        self.grid = Grid.from_spec(config.grid_nml.horizontal)
        self.vcoord = VerticalCoordinate.from_name(config.grid_nml.vertical)
        self.tracers = TracerSet(config.tracers_nml.names)
        self.output_dir = check_output_dir(Path(config.output_nml.output_dir))
        self.timers: dict[str, float] = defaultdict(float)

        restart_file = restart_file if restart_file is not None else (config.restart_nml.restart_file or None)
        restart = None
        if restart_file:
            path = rst.latest_restart(self.output_dir) if str(restart_file) == "latest" else Path(restart_file)
            restart = rst.read_restart(path)
            rst.check_compatible(restart, grid=config.grid_nml.horizontal, vertical=config.grid_nml.vertical,
                                 tracers=self.tracers.names, components=config.coupler_nml.components,
                                 dt=tc.dt, calendar=tc.calendar, nlat=self.grid.nlat, nlon=self.grid.nlon,
                                 nlev=self.vcoord.nlev)
        self.restart_in = restart

        start = parse_time(tc.start, tc.calendar)
        end = parse_time(tc.end, tc.calendar)
        anchor = restart.anchor if restart else start
        if restart and restart.anchor != start:
            log.warning("the restart's run anchor %s differs from &time_control start %s; interval boundaries and "
                        "output time units keep the anchor", format_time(restart.anchor), format_time(start))
        if restart and restart.time >= end:
            raise RestartError(f"restart file {str(restart.path)!r} is at {format_time(restart.time)}, not before "
                               f"&time_control end = {format_time(end)}: nothing to run")
        try:
            self.clock = Clock(anchor, end, tc.dt)
            if restart:
                self.clock.step = self.clock.step_of(restart.time)
        except ValueError as exc:
            raise ConfigError(f"&time_control: {exc}") from None
        self.anchor = anchor
        self.start_time = self.clock.time

        # ---- atmosphere, components, transport, meteorology --------------------------------
        self.components: list[Component] = [component_class(name)(config, self.grid, self.vcoord, self.tracers,
                                                                 self.clock)
                                            for name in config.coupler_nml.components]
        for c in self.components:
            if c.interval % tc.dt:
                raise ConfigError(f"component {c.name!r}: update interval {c.interval} s is not a multiple of "
                                  f"&time_control dt = {tc.dt} s")
        self.transport = None
        if config.transport_nml.enabled:
            from esm.transport import Transport  # imported only when used
            self.transport = Transport(config, self.grid, self.vcoord, self.tracers)
        needs_met = self.transport is not None or any(getattr(c, "needs_met", False) for c in self.components)
        self.met = None
        if needs_met:
            from esm.meteorology import make_provider
            self.met = make_provider(config, self.grid, self.vcoord)

        nt = len(self.tracers)
        for c in self.components:
            c.met_provider = self.met
        if restart:
            self.atm = Atmosphere(self.grid, self.vcoord, self.tracers, restart.air_mass, restart.q)
            self._load_state(restart.state)
        else:
            if self.met is not None:
                ps = np.asarray(self.met.at(self.clock.time)["ps"], dtype=np.float64)
            else:
                ps = np.full(self.grid.shape, P_STANDARD)
            q = initial_mole_fractions(config, self.grid, self.vcoord.nlev, self.tracers)
            self.atm = Atmosphere.from_surface_pressure(self.grid, self.vcoord, self.tracers, ps, q)
            met0 = self.met.at(self.clock.time) if self.met is not None else None
            for c in self.components:
                with self._timer(c.name):
                    c.initialise(self.clock.time, met0)
            self._fluxes: dict[str, dict[str, np.ndarray]] = {}
            self._losses: dict[str, dict[str, np.ndarray]] = {}
        self.flux_total = np.zeros((nt, self.grid.nlat, self.grid.nlon))
        self._sum_fluxes()

        # ---- output ------------------------------------------------------------------------
        self.namelist_text = config.to_namelist(output_only=True)
        self.writer = AsyncWriter() if config.output_nml.async_write else SyncWriter()
        self.streams = self._build_streams()
        if restart:
            for s in self.streams:
                s.load_restart_state(restart.state)
        self.restart_interval = Interval.parse(config.restart_nml.restart_interval)
        self.checkpoints: list[Path] = []
        self.init_seconds = _time.perf_counter() - self._created

    # ---- state in restarts ------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {}
        state.update(self.atm.budget.state())
        for c in self.components:
            for k, v in c.restart_state().items():
                state[f"{c.name}__{k}"] = np.asarray(v)
            for tr, f in self._fluxes.get(c.name, {}).items():
                state[f"flux__{c.name}__{tr}"] = f
            for tr, r in self._losses.get(c.name, {}).items():
                state[f"loss__{c.name}__{tr}"] = r
        if self.transport is not None and hasattr(self.transport, "restart_state"):
            for k, v in self.transport.restart_state().items():
                state[f"transport__{k}"] = np.asarray(v)
        if self.met is not None:
            for k, v in self.met.restart_state().items():
                state[f"met__{k}"] = np.asarray(v)
        for s in self.streams:
            state.update(s.restart_state())
        return state

    def _load_state(self, state: dict[str, np.ndarray]) -> None:
        where = f"restart file {str(self.restart_in.path)!r}"
        try:
            self.atm.budget.load(state)
        except KeyError as exc:
            raise RestartError(f"{where} lacks the budget field {exc}") from None
        self._fluxes, self._losses = {}, {}
        for c in self.components:
            prefix = f"{c.name}__"
            sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            try:
                c.load_restart_state(sub)
            except (KeyError, ValueError) as exc:
                raise RestartError(f"{where}: component {c.name!r} cannot load its state: {exc}") from None
            self._fluxes[c.name] = {k.split("__", 2)[2]: np.array(v) for k, v in state.items()
                                    if k.startswith(f"flux__{c.name}__")}
            self._losses[c.name] = {k.split("__", 2)[2]: np.array(v) for k, v in state.items()
                                    if k.startswith(f"loss__{c.name}__")}
        if self.transport is not None and hasattr(self.transport, "load_restart_state"):
            self.transport.load_restart_state({k[len("transport__"):]: v for k, v in state.items()
                                               if k.startswith("transport__")})
        if self.met is not None:
            self.met.load_restart_state({k[len("met__"):]: v for k, v in state.items() if k.startswith("met__")})

    # ---- output variables ---------------------------------------------------------------
    def output_fields(self) -> dict[str, OutputField]:
        """Every variable a stream can name: tracers, their fluxes and columns, ps, air mass, diagnostics."""
        fields: dict[str, OutputField] = {}
        for i, (name, sp) in enumerate(zip(self.tracers.names, self.tracers.species)):
            fields[name] = OutputField(
                Variable(name, ("lev", "lat", "lon"), "mol mol-1", f"dry-air mole fraction of {sp.long_name}",
                         sp.standard_name), (lambda i=i: self.atm.q[i]))
            fields[f"column_{name}"] = OutputField(
                Variable(f"column_{name}", ("lat", "lon"), "mol mol-1",
                         f"column-averaged dry-air mole fraction of {sp.long_name}",
                         comment="air-mass-weighted mean over all model layers (X" + name.upper() + ")"),
                (lambda i=i: np.sum(self.atm.q[i] * self.atm.air_mass, axis=0) / np.sum(self.atm.air_mass, axis=0)))
            if sp.flux_kind == "mass":
                units, scale = "kg m-2 s-1", sp.molar_mass
            else:
                units, scale = "mol m-2 s-1", 1.0
            fields[f"{name}_flux"] = OutputField(
                Variable(f"{name}_flux", ("lat", "lon"), units,
                         f"net surface upward {'mass' if scale != 1.0 else 'mole'} flux of {sp.long_name} "
                         "(all components)", sp.flux_standard_name if scale == 1.0 else ""),
                (lambda i=i, scale=scale: self.flux_total[i] * scale))
        fields["ps"] = OutputField(Variable("ps", ("lat", "lon"), "Pa", "surface air pressure",
                                            "surface_air_pressure"), self.atm.surface_pressure)
        fields["air_mass"] = OutputField(Variable("air_mass", ("lev", "lat", "lon"), "kg",
                                                  "dry-air mass in grid cell"), lambda: self.atm.air_mass)
        for c in self.components:
            for var in c.variables:
                if var.name in fields:
                    raise ConfigError(f"component {c.name!r} declares output variable {var.name!r} twice")
                fields[var.name] = OutputField(var, (lambda c=c, n=var.name: self._component_diag(c, n)))
        return fields

    def _component_diag(self, c: Component, name: str) -> np.ndarray:
        d = c.diagnostics()
        if name not in d:
            raise RuntimeError(f"component {c.name!r} declared output variable {name!r} but did not provide it")
        return np.asarray(d[name], dtype=np.float64)

    def _build_streams(self) -> list[Stream]:
        out = self.config.output_nml
        fields = self.output_fields()
        extra_dims = {}
        for c in self.components:
            extra_dims.update(c.extra_dims)
        streams = []
        for i, name in enumerate(out.streams):
            chosen = []
            for vname in out.stream_variables[i].replace(",", " ").split():
                if vname == "surface_flux":
                    chosen += [fields[f"{t}_flux"] for t in self.tracers.names]
                elif vname in fields:
                    chosen.append(fields[vname])
                else:
                    import difflib
                    close = difflib.get_close_matches(vname, list(fields), n=3)
                    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                    raise ConfigError(f"&output_nml stream_variables of stream {name!r}: unknown variable "
                                      f"{vname!r}{hint} (available: {', '.join(['surface_flux'] + list(fields))})")
            names = [f.variable.name for f in chosen]
            if len(set(names)) != len(names):
                raise ConfigError(f"&output_nml stream {name!r} lists a variable twice: {names}")
            streams.append(Stream(
                name, Interval.parse(out.stream_frequency[i]), out.stream_operation[i],
                Interval.parse(out.stream_file_period[i]), chosen, self.grid, self.vcoord, self.output_dir,
                self.anchor, self.namelist_text, out.deflate_level, extra_dims,
                ps_getter=None if "ps" in names else self.atm.surface_pressure,
                air_mass_getter=None if "air_mass" in names else (lambda: self.atm.air_mass),
                writer=self.writer))
        return streams

    # ---- stepping -----------------------------------------------------------------------
    class _Timer:
        def __init__(self, timers, name):
            self.timers, self.name = timers, name

        def __enter__(self):
            self.t0 = _time.perf_counter()

        def __exit__(self, *exc):
            self.timers[self.name] += _time.perf_counter() - self.t0

    def _timer(self, name: str) -> "_Timer":
        return Model._Timer(self.timers, name)

    def _sum_fluxes(self) -> None:
        self.flux_total[:] = 0.0
        for c in self.components:  # fixed order: deterministic sums
            for tr, f in self._fluxes.get(c.name, {}).items():
                if tr in self.tracers:
                    self.flux_total[self.tracers.index(tr)] += f

    def step(self) -> None:
        """Advance the model by one step (see module docstring)."""
        t = self.clock.time
        dt = self.clock.dt
        met = None
        if self.met is not None:
            with self._timer("meteorology"):
                met = self.met.at(t)
        updated = False
        for c in self.components:
            if self.clock.seconds % c.interval == 0 or c.name not in self._fluxes:
                with self._timer(c.name):
                    fl = c.surface_flux(t, c.interval, self.atm, met)
                    lr = c.loss_rates(t, c.interval, self.atm, met)
                for tr, f in fl.items():
                    if np.shape(f) != self.grid.shape:
                        raise RuntimeError(f"component {c.name!r} returned a {tr!r} flux of shape {np.shape(f)}; "
                                           f"expected (nlat, nlon) = {self.grid.shape}")
                    if not np.all(np.isfinite(f)):
                        bad = np.argwhere(~np.isfinite(f))[0]
                        raise ModelStateError(f"component {c.name!r} returned a non-finite {tr!r} flux at "
                                              f"{format_time(t)}, lat {self.grid.lat[bad[0]]:.2f}, "
                                              f"lon {self.grid.lon[bad[1]]:.2f}")
                self._fluxes[c.name] = {k: np.asarray(v, dtype=np.float64) for k, v in fl.items()}
                self._losses[c.name] = {k: np.asarray(v, dtype=np.float64) for k, v in lr.items()}
                updated = True
        if updated:
            self._sum_fluxes()
        losses: dict[int, np.ndarray] = {}
        for c in self.components:
            for tr, r in self._losses.get(c.name, {}).items():
                if tr in self.tracers:
                    i = self.tracers.index(tr)
                    losses[i] = losses[i] + r if i in losses else r
        if self.transport is not None:
            with self._timer("meteorology"):
                mf = self.met.step_fluxes(t, dt, self.atm.surface_pressure())
            with self._timer("transport"):
                self.transport.step(self.atm, mf, met, dt, surface_flux=self.flux_total, loss_rates=losses)
        else:
            with self._timer("sources_sinks"):
                self.atm.add_surface_flux(self.flux_total, dt)
                for i, r in sorted(losses.items()):
                    self.atm.apply_loss(r, dt, i)
        self.clock.advance()
        self.atm.check(f"after the step ending {format_time(self.clock.time)}")

    def write_checkpoint(self) -> Path:
        t = self.clock.time
        # every file finished before the checkpoint must be on disk under its final name before the
        # restart exists: a run resumed from it never rewrites those files
        with self._timer("output"):
            self.writer.flush()
        data = rst.RestartData(
            time=t, anchor=self.anchor, step=self.clock.step, dt=self.clock.dt,
            grid=self.config.grid_nml.horizontal, vertical=self.config.grid_nml.vertical,
            tracers=self.tracers.names, components=tuple(self.config.coupler_nml.components),
            namelist=self.config.to_namelist(), air_mass=self.atm.air_mass, q=self.atm.q, state=self._state())
        with self._timer("restart"):
            path = rst.write_restart(rst.restart_path(self.output_dir, t), data, self.grid)
        self.checkpoints.append(path)
        keep = self.config.restart_nml.keep
        if keep and len(self.checkpoints) > keep:
            for old in self.checkpoints[:-keep]:
                old.unlink(missing_ok=True)
            self.checkpoints = self.checkpoints[-keep:]
        log.info("restart written: %s", path)
        return path

    def write_run_namelist(self) -> Path:
        """The fully resolved namelist (defaults + user values), with units, into the run directory."""
        import tempfile
        final = self.output_dir / RUN_NAMELIST
        with tempfile.NamedTemporaryFile("w", dir=self.output_dir, prefix=".esm_run.", delete=False) as fh:
            fh.write(f"! esm resolved namelist (defaults + user values), from {self.config.source}\n")
            fh.write(self.config.to_namelist(comments=True))
        Path(fh.name).chmod(0o644)
        Path(fh.name).replace(final)
        return final

    def run(self, progress: str | None = None) -> dict:
        """Step from the current time to the end; returns a summary (budget, timings)."""
        cfg = self.config
        self.write_run_namelist()
        for g, k, v, d in cfg.non_defaults():
            log.info("namelist: &%s %s = %r (default %r)", g, k, v, d)
        log.info("grid %s; %s; tracers %s; components %s; transport %s",
                 self.grid.describe(), self.vcoord.describe(), ", ".join(self.tracers.names),
                 ", ".join(c.name for c in self.components) or "none", "on" if self.transport else "off")
        log.info("run from %s to %s, dt = %d s, %d steps%s", format_time(self.clock.time),
                 format_time(self.clock.end), self.clock.dt, self.clock.nsteps - self.clock.step,
                 f" (restart {self.restart_in.path})" if self.restart_in else "")
        wall0 = _time.perf_counter()
        run_end = self.clock.end
        bar = Progress(progress or cfg.output_nml.progress, self.clock.nsteps, self.clock.step,
                       Interval.parse(cfg.output_nml.log_interval), self.anchor)
        try:
            with self._timer("output"):
                for s in self.streams:
                    s.start(self.clock.time)
            while not self.clock.done:
                self.step()
                t = self.clock.time
                with self._timer("output"):
                    for s in self.streams:
                        s.after_step(t, self.clock.dt, run_end)
                if (not self.restart_interval.never and t < run_end
                        and self.restart_interval.is_boundary(t, self.anchor)):
                    self.write_checkpoint()
                bar.update(self.clock.step, t)
            with self._timer("output"):
                for s in self.streams:
                    s.close()
                self.writer.flush()
            if cfg.restart_nml.write_final:
                self.write_checkpoint()
        except BaseException:
            try:
                self.writer.flush()
            except Exception:  # the original error matters more than a follow-on writer error
                pass
            for s in self.streams:
                s.abort()
            raise
        finally:
            self.writer.close()
            if self.met is not None:
                self.met.close()
            bar.close()
        wall = _time.perf_counter() - wall0
        summary = {"wall_seconds": wall, "init_seconds": self.init_seconds, "timers": dict(self.timers),
                   "budget": self.budget_table(),
                   "files": [str(p) for s in self.streams for p in s.files_written],
                   "restart": str(self.checkpoints[-1]) if self.checkpoints else None}
        self.log_summary(summary)
        return summary

    # ---- reports ------------------------------------------------------------------------
    def budget_table(self) -> list[dict]:
        rows = []
        final = self.atm.total_moles()
        b = self.atm.budget
        for i, (name, sp) in enumerate(zip(self.tracers.names, self.tracers.species)):
            expected = b.initial[i] + b.sources[i] - b.sinks[i]
            scale = max(abs(b.initial[i]), abs(final[i]), b.sources[i], b.sinks[i], 1e-300)
            rows.append({"tracer": name, "initial_mol": b.initial[i], "sources_mol": b.sources[i],
                         "sinks_mol": b.sinks[i], "chemical_loss_mol": b.chemical_loss[i], "final_mol": final[i],
                         "residual_mol": final[i] - expected, "relative_residual": (final[i] - expected) / scale})
        return rows

    def log_summary(self, summary: dict) -> None:
        log.info("wall time: initialisation (incl. spin-ups) %.2f s, stepping %.2f s; by part (spin-ups included): "
                 "%s", summary["init_seconds"], summary["wall_seconds"],
                 ", ".join(f"{k} {v:.2f} s" for k, v in sorted(summary["timers"].items(), key=lambda kv: -kv[1])))
        log.info("tracer budget [mol]: %-12s %14s %14s %14s %14s %12s", "tracer", "initial", "sources", "sinks",
                 "final", "residual/rel")
        for r in summary["budget"]:
            log.info("tracer budget [mol]: %-12s %14.6e %14.6e %14.6e %14.6e %12.2e", r["tracer"], r["initial_mol"],
                     r["sources_mol"], r["sinks_mol"], r["final_mol"], r["relative_residual"])
