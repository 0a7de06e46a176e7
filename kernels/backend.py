"""Hash backends: the compiled CPU fallback and the CUDA build of the same kernel.

Both run ``src/sha256d_scan.cu``: the CPU build was compiled at install time
into ``kernels._cpu``; the CUDA build is compiled by NVRTC through
``cupy.RawModule`` on first use. Every candidate a kernel reports is hashed
again on the host with ``hashlib`` over all 256 bits before it is returned.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from kernels.errors import KernelBuildError, KernelInputError
from kernels.header import MAX_NONCE, display_hash, header_prefix, sha256d, validate_target

__all__ = [
    "EARLY_LIMB7_LIMIT",
    "CpuBackend",
    "Found",
    "HashBackend",
    "ScanResult",
    "confirm_candidates",
    "cpu_paths",
    "default_threads",
    "fastest_cpu_path",
    "prepare_job",
    "split_range",
    "use_full_compare",
    "validate_range",
    "validate_threads",
]

# The early scan keeps lanes whose top 32 bits pass; with the target's top limb
# below 2**16 at most one nonce in 65,536 is a false candidate, too few to cost
# the host anything. Easier targets use the full 256-bit compare in the kernel.
EARLY_LIMB7_LIMIT = 1 << 16
# Nonces per CPU thread in one bounded batch: about 0.15 s at 26 MH/s per core.
CPU_BATCH_PER_THREAD = 1 << 22
# Below this a range is not worth splitting across threads.
CPU_MIN_SPLIT = 1 << 14


@dataclass(frozen=True, slots=True)
class Found:
    """A nonce whose header hash meets the target, with that hash (internal order)."""

    nonce: int
    hash: bytes

    @property
    def hash_hex(self) -> str:
        """The hash byte-reversed, as explorers show it."""
        return display_hash(self.hash)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one scan of ``[nonce_start, nonce_start + count)`` did and found."""

    backend: str
    nonce_start: int
    count: int
    found: tuple[Found, ...]
    seconds: float

    @property
    def hashes(self) -> int:
        """Header hashes computed (one per nonce scanned)."""
        return self.count


class HashBackend(Protocol):
    """A device that scans nonce ranges. ``scan`` is bounded by ``batch_size``."""

    name: str
    batch_size: int

    def scan(self, header: bytes, target: int, nonce_start: int, count: int) -> ScanResult:
        """Every nonce of the range whose hash meets ``target`` (``count <= batch_size``)."""
        ...

    def close(self) -> None:
        """Release threads and device memory."""
        ...


def validate_range(nonce_start: int, count: int) -> None:
    """Refuse a range that is negative or runs past nonce 2**32-1.

    Raises
    ------
    KernelInputError
        Naming ``nonce_start`` or ``count``.
    """
    for field, value in (("nonce_start", nonce_start), ("count", count)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise KernelInputError(field, f"must be an integer, got {type(value).__name__}")
        if value < 0:
            raise KernelInputError(field, f"must not be negative, got {value}")
    if nonce_start > MAX_NONCE:
        raise KernelInputError("nonce_start", f"must be at most {MAX_NONCE}, got {nonce_start}")
    if nonce_start + count > MAX_NONCE + 1:
        raise KernelInputError(
            "count",
            f"range {nonce_start} + {count} runs past nonce {MAX_NONCE}"
            f" (at most {MAX_NONCE + 1 - nonce_start} nonces from {nonce_start})",
        )


def validate_threads(threads: int) -> int:
    """Return ``threads`` if it is at least 1.

    Raises
    ------
    KernelInputError
        Naming ``threads``.
    """
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise KernelInputError("threads", f"must be an integer, got {type(threads).__name__}")
    if threads < 1:
        raise KernelInputError("threads", f"must be at least 1, got {threads}")
    return threads


def split_range(nonce_start: int, count: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``[nonce_start, nonce_start + count)`` into ``parts`` contiguous ``(start, count)``.

    The pieces follow each other without gap or overlap and differ in size by
    at most one nonce, so threads or GPUs given one each never hash the same
    header twice and finish together.
    """
    bounds = [nonce_start + count * i // parts for i in range(parts + 1)]
    return [(lo, hi - lo) for lo, hi in itertools.pairwise(bounds)]


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def use_full_compare(target: int) -> bool:
    """Whether ``target`` is easy enough that the kernel must compare all 256 bits."""
    return (target >> 224) >= EARLY_LIMB7_LIMIT


def confirm_candidates(prefix: bytes, target: int, candidates: list[int]) -> tuple[Found, ...]:
    """Re-hash each candidate with ``hashlib``; keep those that meet ``target``, by nonce."""
    found = []
    for nonce in sorted(set(candidates)):
        digest = sha256d(prefix + nonce.to_bytes(4, "little"))
        if int.from_bytes(digest, "little") <= target:
            found.append(Found(nonce, digest))
    return tuple(found)


@functools.cache
def _cpu_module() -> ModuleType:
    try:
        from kernels import _cpu
    except ImportError as exc:
        raise KernelBuildError(
            "the compiled CPU build (kernels._cpu) is missing: reinstall the package"
            " with a C compiler present (`make test` or `pip install -e .`)"
        ) from exc
    return _cpu


def prepare_job(prefix: bytes, target: int) -> bytes:
    """The nonce-free precompute of a scan (``spw_job``: midstate, prehash, preextend, target).

    Computed by the CPU build's ``spw_job_prepare`` for every backend: the
    CUDA backend copies these bytes into the kernel's constant memory.
    """
    job: bytes = _cpu_module().prepare(prefix, target.to_bytes(32, "little"))
    return job


def cpu_paths() -> list[str]:
    """The CPU build's scan paths this processor runs.

    Any of ``sha-ni``, ``avx512``, ``avx2`` and ``portable`` (always there).
    """
    paths: list[str] = _cpu_module().paths()
    return paths


@functools.cache
def fastest_cpu_path() -> str:
    """The path that hashes fastest here, measured once per process (about 0.1 s)."""
    cpu = _cpu_module()
    job = cpu.prepare(bytes(76), (0xFFFF << 208).to_bytes(32, "little"))
    count = 1 << 16
    best_path, best_s = "portable", float("inf")
    for path in cpu.paths():
        for _ in range(3):
            start_s = time.perf_counter()
            cpu.scan(job, 0, count, path, False)
            elapsed_s = time.perf_counter() - start_s
            if elapsed_s < best_s:
                best_path, best_s = path, elapsed_s
    return best_path


class CpuBackend:
    """The CPU fallback: the kernel compiled for the host, on ``threads`` cores.

    Parameters
    ----------
    threads:
        Worker threads (the scan releases the GIL); default: every core this
        process may use.
    path:
        ``sha-ni``, ``avx512``, ``avx2`` or ``portable``; default: the fastest
        one this processor runs, measured at first use.

    Raises
    ------
    KernelInputError
        If ``threads`` is below 1 or ``path`` is not one this processor runs.
    KernelBuildError
        If the compiled build is missing.
    """

    name = "cpu"

    def __init__(self, threads: int | None = None, path: str | None = None) -> None:
        self.threads = validate_threads(default_threads() if threads is None else threads)
        self._cpu = _cpu_module()
        available = cpu_paths()
        if path is None:
            path = fastest_cpu_path()
        elif path not in available:
            raise KernelInputError(
                "path", f"{path!r} is not available here; choose one of {', '.join(available)}"
            )
        self.path = path
        self.batch_size = CPU_BATCH_PER_THREAD * self.threads
        self._pool = (
            ThreadPoolExecutor(self.threads, thread_name_prefix="spillway-hash")
            if self.threads > 1
            else None
        )

    def scan(self, header: bytes, target: int, nonce_start: int, count: int) -> ScanResult:
        """Every nonce of ``[nonce_start, nonce_start + count)`` whose hash meets ``target``.

        Raises
        ------
        KernelInputError
            For a bad header, target or range.
        """
        prefix = header_prefix(header)
        validate_target(target)
        validate_range(nonce_start, count)
        job = prepare_job(prefix, target)
        full = use_full_compare(target)
        start_s = time.perf_counter()
        if self._pool is None or count < CPU_MIN_SPLIT:
            candidates = self._cpu.scan(job, nonce_start, count, self.path, full)
        else:
            parts = self._pool.map(
                lambda part: self._cpu.scan(job, part[0], part[1], self.path, full),
                split_range(nonce_start, count, self.threads),
            )
            candidates = [nonce for part in parts for nonce in part]
        seconds = time.perf_counter() - start_s
        found = confirm_candidates(prefix, target, candidates)
        return ScanResult(self.name, nonce_start, count, found, seconds)

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> CpuBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
