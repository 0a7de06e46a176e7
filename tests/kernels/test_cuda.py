"""The CUDA build: compiles for Hopper everywhere nvcc is, runs where a GPU is."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kernels
from kernels.cuda import kernel_source_dir
from kernels.reference import reference_scan

NVCC = shutil.which("nvcc")


@pytest.mark.nvcc
@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_kernel_source_compiles_for_the_gpu(tmp_path: Path, arch: str) -> None:
    """The very source the CPU build runs compiles as CUDA, both scans exported by name."""
    assert NVCC is not None
    src = Path(kernel_source_dir())
    cubin = tmp_path / "scan.cubin"
    run = subprocess.run(
        [
            NVCC,
            "-cubin",
            f"-arch={arch}",
            "-O3",
            "-Werror",
            "all-warnings",
            f"-I{src}",
            "-o",
            str(cubin),
            str(src / "sha256d_scan.cu"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    image = cubin.read_bytes()
    assert b"sha256d_scan_early" in image and b"sha256d_scan_full" in image
    assert b"spw_job_c" in image


def _gpu_present() -> bool:
    return kernels.cuda_available()


gpu = pytest.mark.skipif(not _gpu_present(), reason="no CuPy or no NVIDIA GPU")


@pytest.fixture(scope="module")
def cuda_backend() -> Iterator[Any]:
    from kernels.cuda import CudaBackend

    with CudaBackend() as device:
        yield device


@pytest.mark.gpu
@gpu
class TestOnGpu:
    def test_window_around_each_real_nonce_finds_it(
        self, cuda_backend: Any, mainnet_headers: list[Any]
    ) -> None:
        """On the GPU too, 2**16 nonces around each real nonce find that block's hash."""
        for row in mainnet_headers:
            start = min(max(0, row.nonce - (1 << 15)), kernels.MAX_NONCE + 1 - (1 << 16))
            result = cuda_backend.scan(row.header, kernels.bits_to_target(row.bits), start, 1 << 16)
            assert {hit.nonce: hit.hash_hex for hit in result.found}.get(
                row.nonce
            ) == row.block_hash_display

    @pytest.mark.parametrize("target_shift", [250, 252, 255])
    def test_matches_cpu_and_reference_on_easy_targets(
        self, cuda_backend: Any, target_shift: int
    ) -> None:
        """GPU, CPU build and hashlib find the same nonces at the top end of the nonce space."""
        prefix = bytes(range(76))
        start, count = kernels.MAX_NONCE + 1 - 5000, 5000
        gpu_found = [
            hit.nonce for hit in cuda_backend.scan(prefix, 1 << target_shift, start, count).found
        ]
        cpu_found = [
            hit.nonce
            for hit in kernels.search(prefix, 1 << target_shift, start, count, backend="cpu").found
        ]
        assert gpu_found == cpu_found == reference_scan(prefix, 1 << target_shift, start, count)

    def test_auto_backend_is_the_gpu(self) -> None:
        """backend='auto' picks CUDA where CuPy sees a GPU."""
        device = kernels.get_backend("auto")
        try:
            assert device.name == "cuda"
        finally:
            device.close()
