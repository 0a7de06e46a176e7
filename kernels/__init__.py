"""Proof-of-work kernels: Bitcoin double SHA-256 nonce search on GPU and CPU.

One kernel source (``src/sha256d_scan.cu``) runs as CUDA C through CuPy on
NVIDIA GPUs and, compiled by the host C compiler at install time, as the CPU
fallback. Every nonce reported has been hashed again on the host over all 256
bits.

Typical use::

    import kernels
    result = kernels.search(header, kernels.bits_to_target(0x1d00ffff), 0, 1 << 24)
    for hit in result.found:
        print(hit.nonce, hit.hash_hex)

``search`` works through the range in bounded batches; ``iter_search`` yields
each batch so a caller can stop between them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kernels.backend import (
    CpuBackend,
    Found,
    HashBackend,
    ScanResult,
    cpu_paths,
    default_threads,
    fastest_cpu_path,
    validate_range,
    validate_threads,
)
from kernels.errors import (
    DeviceUnavailableError,
    KernelBuildError,
    KernelError,
    KernelInputError,
    PowerUnavailableError,
)
from kernels.header import (
    DIFF1_TARGET,
    HEADER_BYTES,
    MAX_NONCE,
    MAX_TARGET,
    PREFIX_BYTES,
    BlockHeader,
    bits_to_difficulty,
    bits_to_target,
    block_hash,
    decode_compact,
    difficulty_to_target,
    display_hash,
    hash_difficulty,
    hash_meets_target,
    hash_to_int,
    header_prefix,
    parse_header,
    sha256d,
    target_to_bits,
    target_to_difficulty,
    validate_target,
    with_nonce,
)

__all__ = [
    "BACKENDS",
    "DIFF1_TARGET",
    "HEADER_BYTES",
    "MAX_NONCE",
    "MAX_TARGET",
    "PREFIX_BYTES",
    "BlockHeader",
    "CpuBackend",
    "DeviceUnavailableError",
    "Found",
    "HashBackend",
    "Hashrate",
    "KernelBuildError",
    "KernelError",
    "KernelInputError",
    "PowerUnavailableError",
    "ScanResult",
    "bits_to_difficulty",
    "bits_to_target",
    "block_hash",
    "cpu_paths",
    "cuda_available",
    "decode_compact",
    "default_threads",
    "difficulty_to_target",
    "display_hash",
    "fastest_cpu_path",
    "get_backend",
    "hash_difficulty",
    "hash_meets_target",
    "hash_to_int",
    "header_prefix",
    "iter_search",
    "measure_hashrate",
    "parse_header",
    "search",
    "sha256d",
    "target_to_bits",
    "target_to_difficulty",
    "validate_target",
    "with_nonce",
]

BACKENDS = ("auto", "cpu", "cuda")

# A header no nonce will meet at difficulty 1 in a benchmark's lifetime: the
# genesis block's prefix, with a target of difficulty 2**32 (limb 7 = 0, so
# the early-reject scan runs, as it does for every real share target).
_BENCH_HEADER = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000"
    "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
    "4b1e5e4a29ab5f49ffff001d"
)
_BENCH_TARGET = DIFF1_TARGET >> 32


def cuda_available() -> bool:
    """Whether CuPy is installed and sees at least one GPU."""
    from kernels.cuda import cuda_device_count

    return cuda_device_count() > 0


def get_backend(name: str = "auto", *, threads: int | None = None) -> HashBackend:
    """A backend by name: ``cuda``, ``cpu``, or ``auto`` (the GPU when CuPy sees one).

    Parameters
    ----------
    name:
        ``auto``, ``cpu`` or ``cuda``.
    threads:
        CPU threads (CPU backend only); default all cores.

    Raises
    ------
    KernelInputError
        For an unknown name or a thread count below 1.
    DeviceUnavailableError
        For ``cuda`` without CuPy or a GPU.
    """
    if threads is not None:
        validate_threads(threads)
    if name not in BACKENDS:
        raise KernelInputError("backend", f"must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "cuda" or (name == "auto" and cuda_available()):
        from kernels.cuda import CudaBackend

        return CudaBackend()
    return CpuBackend(threads=threads)


def iter_search(
    header: bytes,
    target: int,
    nonce_start: int,
    count: int,
    *,
    backend: HashBackend,
) -> Iterator[ScanResult]:
    """Scan ``[nonce_start, nonce_start + count)`` one bounded batch at a time.

    Each yielded result covers one batch (at most ``backend.batch_size``
    nonces); stop iterating to stop hashing.

    Raises
    ------
    KernelInputError
        For a bad header, target or range (before any hashing).
    """
    header_prefix(header)
    validate_target(target)
    validate_range(nonce_start, count)
    offset = 0
    while offset < count:
        batch = min(backend.batch_size, count - offset)
        yield backend.scan(header, target, nonce_start + offset, batch)
        offset += batch


def search(
    header: bytes,
    target: int,
    nonce_start: int,
    count: int,
    *,
    backend: str | HashBackend = "auto",
    threads: int | None = None,
) -> ScanResult:
    """Every nonce of ``[nonce_start, nonce_start + count)`` whose header hash meets ``target``.

    Parameters
    ----------
    header:
        76 bytes (the header without its nonce) or 80 bytes (the nonce is ignored).
    target:
        1 .. 2**256-1; a hash meets it when, read little-endian, it is ``<= target``.
    nonce_start, count:
        The range; it must end at or before nonce 2**32-1.
    backend:
        ``auto``, ``cpu``, ``cuda`` or a backend object (kept open for reuse).
    threads:
        CPU threads when a CPU backend is made here.

    Returns
    -------
    ScanResult
        ``found`` in nonce order, each with its hash; ``count`` hashes done.
    """
    owned = isinstance(backend, str)
    device = get_backend(backend, threads=threads) if isinstance(backend, str) else backend
    try:
        found: list[Found] = []
        seconds = 0.0
        for batch in iter_search(header, target, nonce_start, count, backend=device):
            found.extend(batch.found)
            seconds += batch.seconds
        return ScanResult(device.name, nonce_start, count, tuple(found), seconds)
    finally:
        if owned:
            device.close()


@dataclass(frozen=True, slots=True)
class Hashrate:
    """A hashrate measurement: ``hashes`` done in ``seconds`` of scanning."""

    backend: str
    threads: int
    hashes: int
    seconds: float

    @property
    def hashes_per_second(self) -> float:
        """Hashes per second over the whole measurement."""
        return self.hashes / self.seconds if self.seconds > 0 else 0.0


def measure_hashrate(
    backend: str | HashBackend = "auto", *, seconds: float = 5.0, threads: int | None = None
) -> Hashrate:
    """Hash for about ``seconds`` on a real header and report the rate.

    The first batch warms up (thread start, path choice, GPU compile) and is
    not counted.

    Raises
    ------
    KernelInputError
        If ``seconds`` is not positive, or for a bad thread count.
    """
    if not seconds > 0:
        raise KernelInputError("seconds", f"must be above zero, got {seconds}")
    owned = isinstance(backend, str)
    device = get_backend(backend, threads=threads) if isinstance(backend, str) else backend
    try:
        batch = device.batch_size
        device.scan(_BENCH_HEADER, _BENCH_TARGET, 0, min(batch, 1 << 20))  # warm-up
        hashes, busy_s, nonce = 0, 0.0, 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if nonce + batch > MAX_NONCE + 1:
                nonce = 0
            result = device.scan(_BENCH_HEADER, _BENCH_TARGET, nonce, batch)
            hashes += result.count
            busy_s += result.seconds
            nonce += batch
        used_threads = getattr(device, "threads", 1)
        return Hashrate(device.name, used_threads, hashes, busy_s)
    finally:
        if owned:
            device.close()
