"""Command line: ``esm run | check | defaults | version``.

User errors (bad namelist, missing file, unwritable directory, bad restart) print one clear
message to stderr and exit with status 2, without a traceback unless ``--debug``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from esm._version import __version__
from esm.errors import EsmUserError

log = logging.getLogger("esm")


def _setup_logging(level: int, logfile: Path | None = None) -> None:
    fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile is not None:
        handlers.append(logging.FileHandler(logfile, mode="a"))
    logging.basicConfig(level=level, format=fmt, handlers=handlers, force=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="esm", description="esm: Earth-system carbon-cycle model with coupled transport")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the model from a namelist")
    run.add_argument("namelist", type=Path)
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE",
                     help="override a namelist value (repeatable), e.g. --set time_control.dt=1800")
    run.add_argument("--output-dir", type=Path, help="same as --set output_nml.output_dir=DIR")
    run.add_argument("--restart", help="continue from this restart file ('latest' = newest in output_dir/restart)")
    run.add_argument("--progress", choices=("auto", "bar", "log", "none"), help="override &output_nml progress")
    run.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    chk = sub.add_parser("check", help="validate a namelist and print the non-default values")
    chk.add_argument("namelist", type=Path)
    chk.add_argument("--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE")
    chk.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("defaults", help="print a documented namelist with every key, its default and units")
    sub.add_parser("version", help="print the esm version and build facts")
    return p


def _cmd_run(args) -> int:
    from esm.config import load_config
    from esm.coupler import Model

    overrides = list(args.overrides)
    if args.output_dir is not None:
        overrides.append(f"output_nml.output_dir={args.output_dir}")
    cfg = load_config(args.namelist, overrides)
    model = Model(cfg, restart_file=args.restart)
    # the run log goes next to the outputs as well as to stderr
    _setup_logging(logging.DEBUG if args.debug else logging.INFO, model.output_dir / "esm.log")
    summary = model.run(progress=args.progress)
    print(f"esm: run complete in {summary['wall_seconds']:.1f} s; {len(summary['files'])} output files in "
          f"{model.output_dir}; restart {summary['restart']}")
    return 0


def _cmd_check(args) -> int:
    from esm.config import load_config

    cfg = load_config(args.namelist, args.overrides)
    nd = cfg.non_defaults()
    print(f"{args.namelist}: valid ({len(nd)} values differ from the defaults)")
    for g, k, v, d in nd:
        print(f"  &{g} {k} = {v!r}   (default {d!r})")
    return 0


def _cmd_defaults(args) -> int:
    from esm.config import schema

    s = schema()
    print(f"! esm {__version__}: every namelist key with its default, units [in brackets] and meaning.\n")
    print(s.format_namelist(s.defaults(), comments=True))
    return 0


def _cmd_version(args) -> int:
    print(f"esm {__version__}")
    try:
        from esm._kernels import _build_info
        print(f"kernels: OpenMP {'on' if _build_info.openmp_enabled() else 'OFF'}, "
              f"{_build_info.max_threads()} threads available")
    except ImportError:
        print("kernels: not built (pip install . builds them)")
    return 0


#: OpenMP wait policy of a run unless the environment sets one. libgomp's default lets a thread that finished a
#: kernel spin on for ~300 000 iterations; the coupled step alternates short kernels with Python (coupler, land
#: bookkeeping, output), and on a machine whose vCPUs share a core or that runs other jobs the spinning thread
#: takes the core from the main thread. ``esm run namelists/default.nml`` with 2 threads, alternated, load ~2:
#: 84 / 91 s with PASSIVE against 106 / 115 s with the default (validation/land/README.md, speed round 10).
#: Set before the first kernel import loads the OpenMP runtime; the environment's value wins.
OMP_WAIT_POLICY_DEFAULT = "PASSIVE"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY_DEFAULT)
    args = _parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    _setup_logging(logging.DEBUG if debug else logging.INFO)
    handlers = {"run": _cmd_run, "check": _cmd_check, "defaults": _cmd_defaults, "version": _cmd_version}
    try:
        return handlers[args.command](args)
    except EsmUserError as exc:
        if debug:
            raise
        print(f"esm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our stdout went away (``esm defaults | head``): not an error of the run.
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
