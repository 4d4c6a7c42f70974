"""Build: one Cython Extension per liqcore/**/*.pyx.  The kernels that belong together are one such module (a
unit: ``liqcore/_libs/detection.pyx`` and ``reading.pyx`` include their kernels' ``.pxi`` sources), since every
Cython module compiles its own copy of Cython's typed-memoryview machinery (about 1 MB of C, most of a
kernel's compile time): a fresh install compiles it once per unit.

Environment knobs (build time):
  LIQCORE_DEBUG=1        bounds/wraparound checks on, assertions kept, -O0 -g (the debug build the
                         property tests also run against in CI).
  LIQCORE_BUILD_ONLY=a,b build only the extensions whose dotted name contains one of the parts.
"""
import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
DEBUG = os.environ.get("LIQCORE_DEBUG", "") not in ("", "0")
ONLY = [p for p in os.environ.get("LIQCORE_BUILD_ONLY", "").split(",") if p]


def extensions():
    exts = []
    for pyx in sorted(HERE.glob("liqcore/**/*.pyx")):
        rel = pyx.relative_to(HERE).with_suffix("")
        name = ".".join(rel.parts)
        if ONLY and not any(p in name for p in ONLY):
            continue
        exts.append(
            Extension(
                name,
                [str(pyx.relative_to(HERE))],
                include_dirs=[np.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
                + ([("CYTHON_TRACE", "0")] if DEBUG else [("NDEBUG", "1")]),
                # release: no debug information (-g0 overrides the interpreter's own -g): a fresh install
                # compiles every kernel, and the debug information is most of that compile's time and size
                extra_compile_args=(["-O0", "-g"] if DEBUG else ["-O3", "-g0"]),
            )
        )
    return exts


directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}

class ParallelBuildExt(build_ext):
    """Compile the extensions on every core (``-j``) unless told otherwise: a fresh install compiles them all.
    An in-place build also removes the in-place builds of modules that have no ``.pyx`` any more (a kernel
    moved into a unit), so a checkout never imports a stale kernel."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self):
        super().run()
        if self.inplace:
            for so in HERE.glob("liqcore/**/*.so"):
                if not so.with_name(so.name.split(".")[0] + ".pyx").exists():
                    so.unlink()


setup(
    cmdclass={"build_ext": ParallelBuildExt},
    ext_modules=cythonize(
        extensions(),
        compiler_directives=directives,
        compile_time_env={"LIQCORE_DEBUG": DEBUG},
        build_dir="build/cython-debug" if DEBUG else "build/cython",
        nthreads=os.cpu_count() or 1,
        quiet=True,
    ),
)
