"""Build the CPU fallback of the nonce-search kernel as a C extension.

Metadata lives in pyproject.toml; this file only declares the compiled part.
The same kernel source (kernels/src/sha256d_scan.cu) is compiled here by the
host C compiler and, at run time, by NVRTC through CuPy for NVIDIA GPUs.
"""

from __future__ import annotations

from setuptools import Extension, setup

cpu_scan = Extension(
    "kernels._cpu",
    sources=["kernels/src/cpu_scan.c"],
    depends=[
        "kernels/src/portable.h",
        "kernels/src/sha256.cuh",
        "kernels/src/sha256d_scan.cu",
        "kernels/src/cpu_shani.h",
    ],
    # No -march=native: the wheel must run on any x86-64; the fast paths are
    # compiled per instruction set with target pragmas and picked at run time.
    extra_compile_args=["-O3", "-std=c11", "-fno-strict-aliasing", "-Wall", "-Wextra"],
)

setup(ext_modules=[cpu_scan])
