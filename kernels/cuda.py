"""The CUDA build of the nonce-search kernel, compiled by NVRTC through CuPy.

CuPy is imported only here and only when a CUDA backend is asked for, so a
CPU-only machine never needs it. CuPy and CUDA errors are translated once, in
``translate_cupy_errors``.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

from kernels.backend import (
    ScanResult,
    confirm_candidates,
    prepare_job,
    use_full_compare,
    validate_range,
)
from kernels.errors import DeviceUnavailableError, KernelBuildError
from kernels.header import header_prefix, validate_target

__all__ = ["CudaBackend", "cuda_device_count", "kernel_source_dir", "translate_cupy_errors"]

# Nonces per launch: long enough to fill the chip (about 0.15 s at 7 GH/s),
# short enough that a caller can stop between launches, and small enough that
# the kernel's 32-bit grid-stride index never wraps.
LAUNCH_NONCES = 1 << 30
THREADS_PER_BLOCK = 256
BLOCKS_PER_SM = 8
# Result slots per launch. The early scan finds about count / 2**32 * (limb7+1)
# candidates, a handful; a full-compare scan can find many, and a launch whose
# counter passes the capacity is run again with room for every one.
RESULT_CAPACITY = 1 << 16


def _cupy() -> Any:
    try:
        import cupy
    except ImportError as exc:
        raise DeviceUnavailableError(
            "CuPy is not installed: install the GPU extra, pip install 'spillway[cuda]'"
        ) from exc
    return cupy


@contextlib.contextmanager
def translate_cupy_errors() -> Iterator[None]:
    """Re-raise CuPy and CUDA errors as the kernels package's own."""
    cupy = _cupy()
    compile_error: type[BaseException] = getattr(
        getattr(cupy.cuda, "compiler", None), "CompileException", RuntimeError
    )
    try:
        yield
    except compile_error as exc:
        raise KernelBuildError(f"NVRTC could not compile the kernel: {exc}") from exc
    except (cupy.cuda.runtime.CUDARuntimeError, cupy.cuda.driver.CUDADriverError) as exc:
        raise DeviceUnavailableError(f"CUDA error: {exc}") from exc


def cuda_device_count() -> int:
    """GPUs CuPy sees; 0 where CuPy or a driver is missing."""
    try:
        cupy = _cupy()
        count: int = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no CuPy, no driver, no device: all mean "no GPU here"
        return 0
    return count


def kernel_source_dir() -> str:
    """The folder holding sha256d_scan.cu and its headers, as installed."""
    return str(resources.files("kernels") / "src")


@functools.cache
def _kernel_source() -> str:
    return (resources.files("kernels") / "src" / "sha256d_scan.cu").read_text("utf-8")


class CudaBackend:
    """One NVIDIA GPU running ``sha256d_scan_early`` / ``sha256d_scan_full``.

    Parameters
    ----------
    device:
        CUDA device ordinal.

    Raises
    ------
    DeviceUnavailableError
        Without CuPy, a driver or that device.
    KernelBuildError
        If NVRTC cannot compile the kernel.
    """

    name = "cuda"
    batch_size = LAUNCH_NONCES

    def __init__(self, device: int = 0) -> None:
        cupy = _cupy()
        self._cupy = cupy
        with translate_cupy_errors():
            count = cupy.cuda.runtime.getDeviceCount()
            if not 0 <= device < count:
                raise DeviceUnavailableError(f"no CUDA device {device}: {count} present")
            self._device = cupy.cuda.Device(device)
            with self._device:
                self._module = cupy.RawModule(
                    code=_kernel_source(),
                    options=(f"-I{kernel_source_dir()}", "--std=c++11"),
                )
                self._early = self._module.get_function("sha256d_scan_early")
                self._full = self._module.get_function("sha256d_scan_full")
                self._job_ptr = self._module.get_global("spw_job_c")
                sm_count = self._device.attributes["MultiProcessorCount"]
                self._grid = (sm_count * BLOCKS_PER_SM,)
                self._results = cupy.zeros(1 + RESULT_CAPACITY, dtype=cupy.uint32)
        self.device = device

    def scan(self, header: bytes, target: int, nonce_start: int, count: int) -> ScanResult:
        """Every nonce of ``[nonce_start, nonce_start + count)`` whose hash meets ``target``."""
        import numpy as np

        prefix = header_prefix(header)
        validate_target(target)
        validate_range(nonce_start, count)
        job = prepare_job(prefix, target)
        kernel = self._full if use_full_compare(target) else self._early
        cupy = self._cupy
        candidates: list[int] = []
        start_s = time.perf_counter()
        with translate_cupy_errors(), self._device:
            job_words = np.frombuffer(job, dtype=np.uint32)
            # A device view of the kernel's __constant__ spw_job_c, filled from the host.
            cupy.ndarray(job_words.shape, cupy.uint32, memptr=self._job_ptr).set(job_words)
            offset = 0
            while offset < count:
                launch = min(LAUNCH_NONCES, count - offset)
                first = nonce_start + offset
                results = self._results
                capacity = RESULT_CAPACITY
                while True:
                    results[0] = 0
                    kernel(
                        self._grid,
                        (THREADS_PER_BLOCK,),
                        (np.uint32(first), np.uint32(launch), results, np.uint32(capacity)),
                    )
                    reported = int(results[0].get())
                    if reported <= capacity:
                        break
                    # Too many to hold: run the launch again with room for all.
                    capacity = reported
                    results = cupy.zeros(1 + capacity, dtype=cupy.uint32)
                candidates.extend(int(n) for n in results[1 : 1 + reported].get())
                offset += launch
        seconds = time.perf_counter() - start_s
        found = confirm_candidates(prefix, target, candidates)
        return ScanResult(self.name, nonce_start, count, found, seconds)

    def close(self) -> None:
        """Free the result buffer (the module stays cached with CuPy)."""
        self._results = None

    def __enter__(self) -> CudaBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
