"""The CUDA build of the nonce-search kernel, compiled by NVRTC through CuPy.

CuPy is imported only here and only when a CUDA backend is asked for, so a
CPU-only machine never needs it. CuPy and CUDA errors are translated once, in
``translate_cupy_errors``.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

from kernels.backend import (
    ScanResult,
    confirm_candidates,
    prepare_job,
    split_range,
    use_full_compare,
    validate_range,
)
from kernels.errors import DeviceUnavailableError, KernelBuildError
from kernels.header import header_prefix, validate_target

__all__ = ["CudaBackend", "cuda_device_count", "kernel_source_dir", "translate_cupy_errors"]

# Nonces per launch per GPU: long enough to fill the chip (about 0.15 s at 7 GH/s),
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


class _Gpu:
    """One device's share of the work: its module, stream, job and result buffer."""

    def __init__(self, cupy: Any, ordinal: int) -> None:
        self.cupy = cupy
        self.ordinal = ordinal
        self.device = cupy.cuda.Device(ordinal)
        with self.device:
            self.module = cupy.RawModule(
                code=_kernel_source(),
                options=(f"-I{kernel_source_dir()}", "--std=c++11"),
            )
            self.early = self.module.get_function("sha256d_scan_early")
            self.full = self.module.get_function("sha256d_scan_full")
            self.job_ptr = self.module.get_global("spw_job_c")
            self.stream = cupy.cuda.Stream(non_blocking=True)
            # What ties this CUDA device to its NVML handle (kernels.power.NvmlPower).
            self.pci_bus_id = str(self.device.pci_bus_id)
            sm_count = self.device.attributes["MultiProcessorCount"]
            self.grid = (sm_count * BLOCKS_PER_SM,)
            self.results = cupy.zeros(1 + RESULT_CAPACITY, dtype=cupy.uint32)
            # CUDA events around each launch: the kernel's own time, no host in it.
            self.started = cupy.cuda.Event()
            self.finished = cupy.cuda.Event()
        self._last = (False, 0, 0)  # (full, nonce_start, count) of the queued scan
        self.kernel_s = 0.0

    def launch(self, job_words: Any, full: bool, nonce_start: int, count: int) -> None:
        """Queue the job upload and one scan on this device's stream; returns at once."""
        import numpy as np

        cupy = self.cupy
        with self.device, self.stream:
            # A device view of the kernel's __constant__ spw_job_c, filled from the host.
            job_view = cupy.ndarray(job_words.shape, cupy.uint32, memptr=self.job_ptr)
            job_view.set(job_words, stream=self.stream)
            self.results[:1].fill(0)
            kernel = self.full if full else self.early
            args = (
                np.uint32(nonce_start),
                np.uint32(count),
                self.results,
                np.uint32(RESULT_CAPACITY),
            )
            self.started.record(self.stream)
            kernel(self.grid, (THREADS_PER_BLOCK,), args, stream=self.stream)
            self.finished.record(self.stream)
        self._last = (full, nonce_start, count)

    def collect(self) -> list[int]:
        """Wait for the queued scan; its candidate nonces (run again if they overflowed)."""
        import numpy as np

        cupy = self.cupy
        full, nonce_start, count = self._last
        with self.device:
            reported = int(self.results[:1].get(stream=self.stream)[0])
            self.kernel_s = cupy.cuda.get_elapsed_time(self.started, self.finished) / 1e3
            results = self.results
            if reported > RESULT_CAPACITY:
                # Too many to hold: scan this part again with room for every one.
                results = cupy.zeros(1 + reported, dtype=cupy.uint32)
                with self.stream:
                    kernel = self.full if full else self.early
                    args = (np.uint32(nonce_start), np.uint32(count), results, np.uint32(reported))
                    kernel(self.grid, (THREADS_PER_BLOCK,), args, stream=self.stream)
                reported = int(results[:1].get(stream=self.stream)[0])
            return [int(n) for n in results[1 : 1 + reported].get(stream=self.stream)]


class CudaBackend:
    """Every (or the chosen) NVIDIA GPU running ``sha256d_scan_early`` / ``sha256d_scan_full``.

    Each GPU has its own stream, constant-memory job and result buffer; a
    batch is cut into one contiguous piece per GPU (``split_range``), so no two
    GPUs ever hash the same header.

    Parameters
    ----------
    devices:
        CUDA device ordinals; default: all that CuPy sees.

    Raises
    ------
    DeviceUnavailableError
        Without CuPy, a driver or a listed device.
    KernelBuildError
        If NVRTC cannot compile the kernel.
    """

    name = "cuda"

    def __init__(self, devices: Sequence[int] | None = None) -> None:
        cupy = _cupy()
        with translate_cupy_errors():
            present = cupy.cuda.runtime.getDeviceCount()
            ordinals = list(range(present)) if devices is None else list(devices)
            if not ordinals:
                raise DeviceUnavailableError("no CUDA device present")
            for ordinal in ordinals:
                if not 0 <= ordinal < present:
                    raise DeviceUnavailableError(f"no CUDA device {ordinal}: {present} present")
            self._gpus = [_Gpu(cupy, ordinal) for ordinal in ordinals]
        self.devices = tuple(ordinals)
        # For measured power: NvmlPower(backend.pci_bus_ids) reads these very GPUs.
        self.pci_bus_ids = tuple(gpu.pci_bus_id for gpu in self._gpus)
        self.threads = len(self._gpus)
        self.batch_size = LAUNCH_NONCES * len(self._gpus)
        # GPU time of the last scan by CUDA events: per batch, the slowest GPU.
        self.last_kernel_s = 0.0

    def scan(self, header: bytes, target: int, nonce_start: int, count: int) -> ScanResult:
        """Every nonce of ``[nonce_start, nonce_start + count)`` whose hash meets ``target``."""
        import numpy as np

        prefix = header_prefix(header)
        validate_target(target)
        validate_range(nonce_start, count)
        job_words = np.frombuffer(prepare_job(prefix, target), dtype=np.uint32)
        full = use_full_compare(target)
        candidates: list[int] = []
        kernel_s = 0.0
        start_s = time.perf_counter()
        with translate_cupy_errors():
            offset = 0
            while offset < count:
                batch = min(self.batch_size, count - offset)
                parts = split_range(nonce_start + offset, batch, len(self._gpus))
                busy = [(gpu, part) for gpu, part in zip(self._gpus, parts, strict=True) if part[1]]
                for gpu, (part_start, part_count) in busy:
                    gpu.launch(job_words, full, part_start, part_count)
                for gpu, _ in busy:
                    candidates.extend(gpu.collect())
                kernel_s += max(gpu.kernel_s for gpu, _ in busy)
                offset += batch
        seconds = time.perf_counter() - start_s
        self.last_kernel_s = kernel_s
        found = confirm_candidates(prefix, target, candidates)
        return ScanResult(self.name, nonce_start, count, found, seconds)

    def close(self) -> None:
        """Drop the devices' buffers (CuPy keeps the compiled modules cached)."""
        self._gpus = []

    def __enter__(self) -> CudaBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
