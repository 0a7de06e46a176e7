"""The ``spillway hash`` commands, run as a user runs them: a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

GENESIS_76 = (
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b2"
    "7ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d"
)


def spillway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, check=False
    )


class TestHashSearch:
    def test_json_reports_the_genesis_nonce(self, mainnet_headers: list[Any]) -> None:
        """--json prints backend, found (nonce and display-order hash), hashes and seconds."""
        genesis = mainnet_headers[0]
        run = spillway(
            "hash",
            "search",
            "--header",
            GENESIS_76,
            "--bits",
            "1d00ffff",
            "--start",
            str(genesis.nonce - 5000),
            "--count",
            "10000",
            "--backend",
            "cpu",
            "--json",
        )
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert set(out) == {"backend", "found", "hashes", "seconds"}
        assert out["backend"] == "cpu" and out["hashes"] == 10000
        assert out["found"] == [{"nonce": genesis.nonce, "hash": genesis.block_hash_display}]

    def test_target_flag_and_plain_output(self) -> None:
        """--target takes a 256-bit hex target; plain output lists 'nonce hash' lines."""
        run = spillway(
            "hash",
            "search",
            "--header",
            GENESIS_76,
            "--target",
            "7" + "f" * 63,
            "--start",
            "0",
            "--count",
            "64",
            "--backend",
            "cpu",
        )
        assert run.returncode == 0, run.stderr
        lines = [line for line in run.stdout.splitlines() if not line.startswith("#")]
        assert 16 < len(lines) < 48
        for line in lines:
            nonce, digest = line.split()
            assert 0 <= int(nonce) < 64 and len(digest) == 64

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["--header", "00" * 79, "--bits", "1d00ffff", "--start", "0", "--count", "1"],
                "header: must be 76 or 80 bytes, got 79",
            ),
            (
                ["--header", "zz", "--bits", "1d00ffff", "--start", "0", "--count", "1"],
                "header: is not hexadecimal",
            ),
            (
                ["--header", GENESIS_76, "--bits", "04923456", "--start", "0", "--count", "1"],
                "bits: 0x04923456 encodes a negative target",
            ),
            (
                ["--header", GENESIS_76, "--target", "0", "--start", "0", "--count", "1"],
                "target: must be at least 1",
            ),
            (
                ["--header", GENESIS_76, "--bits", "1d00ffff", "--start", "-1", "--count", "1"],
                "nonce_start: must not be negative",
            ),
            (
                [
                    "--header",
                    GENESIS_76,
                    "--bits",
                    "1d00ffff",
                    "--start",
                    "4294967295",
                    "--count",
                    "2",
                ],
                "runs past nonce 4294967295",
            ),
            (
                [
                    "--header",
                    GENESIS_76,
                    "--bits",
                    "1d00ffff",
                    "--start",
                    "0",
                    "--count",
                    "1",
                    "--threads",
                    "0",
                ],
                "threads: must be at least 1",
            ),
        ],
    )
    def test_bad_input_names_the_field(self, args: list[str], message: str) -> None:
        """Bad input exits 2 with one line naming the field and the problem."""
        run = spillway("hash", "search", "--backend", "cpu", *args)
        assert run.returncode == 2
        assert message in run.stderr
        assert "Traceback" not in run.stderr


class TestHashBench:
    def test_json_keys(self) -> None:
        """hash bench --json prints backend, threads, hashes, seconds and hashes_per_second."""
        run = spillway(
            "hash", "bench", "--backend", "cpu", "--seconds", "0.3", "--threads", "1", "--json"
        )
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert set(out) == {"backend", "threads", "hashes", "seconds", "hashes_per_second"}
        assert out["threads"] == 1 and out["hashes"] > 0
        assert out["hashes_per_second"] == pytest.approx(out["hashes"] / out["seconds"], rel=1e-3)
