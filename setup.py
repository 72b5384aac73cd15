"""Build esm: every ``cython_kernels/<name>.pyx`` becomes ``esm._kernels.<name>``.

OpenMP is used when the compiler accepts ``-fopenmp``; otherwise the kernels are
built serial and the build says so loudly (``esm.openmp_enabled()`` reports it at
run time). Set ``ESM_BOUNDSCHECK=1`` to rebuild the kernels with bounds and
wraparound checks for debugging.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from setuptools import setup
from setuptools.extension import Extension

HERE = Path(__file__).parent.resolve()


def _compiler_has_openmp() -> bool:
    """Try to compile and link a tiny OpenMP program with the default C compiler."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        return False
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "t.c"
        c.write_text(src)
        try:
            res = subprocess.run([cc, "-fopenmp", str(c), "-o", str(Path(tmp) / "t")],
                                 capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return res.returncode == 0


def _version() -> str:
    for line in (HERE / "esm" / "_version.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip("\"'")
    raise RuntimeError("esm/_version.py has no __version__")


OPENMP = _compiler_has_openmp() and os.environ.get("ESM_NO_OPENMP", "0") != "1"
if not OPENMP:
    bar = "!" * 78
    print(f"\n{bar}\n!! esm: building the Cython kernels WITHOUT OpenMP: they will run on one core.\n"
          f"!! Install a compiler with OpenMP support (gcc) for threaded kernels.\n{bar}\n",
          file=sys.stderr)

DEBUG = os.environ.get("ESM_BOUNDSCHECK", "0") == "1"
directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
}
compile_args = ["-O3", "-ffp-contract=off"]  # no FMA contraction: results identical across builds
link_args = []
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

extensions = [
    Extension(
        f"esm._kernels.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                       ("ESM_OPENMP", "1" if OPENMP else "0")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for pyx in sorted((HERE / "cython_kernels").glob("*.pyx"))
]

try:
    from Cython.Build import cythonize
except ImportError as exc:  # pragma: no cover - build requirement
    raise SystemExit("esm needs Cython>=3 to build its kernels: pip install 'Cython>=3'") from exc

ext_modules = cythonize(
    extensions,
    compiler_directives=directives,
    quiet=True,
)

setup(
    version=_version(),
    packages=[
        "esm",
        *[f"esm.{p.relative_to(HERE / 'esm').as_posix().replace('/', '.')}"
          for p in sorted((HERE / "esm").rglob("*")) if p.is_dir() and (p / "__init__.py").exists()],
        "esm.forcing",
    ],
    package_dir={"esm.forcing": "forcing"},
    package_data={
        "esm.forcing": ["**/*.nc", "**/*.csv", "**/*.txt", "**/*.json"],
    },
    ext_modules=ext_modules,
    zip_safe=False,
)
