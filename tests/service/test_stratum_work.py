"""Headers from Stratum jobs: the real block 277,647 rebuilt byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import kernels
from service.stratum import (
    NOTIFY_FIELDS,
    StratumJob,
    StratumJobError,
    build_header,
    prevhash_from_stratum,
    roll_version,
)


@pytest.fixture
def block(stratum_vectors: dict[str, Any]) -> dict[str, Any]:
    vector: dict[str, Any] = stratum_vectors["block_277647"]
    return vector


class TestRealBlock:
    def test_header_and_hash_are_the_real_ones(self, block: dict[str, Any]) -> None:
        """notify + extranonces + the real nonce give block 277,647's header and hash."""
        job = StratumJob.from_notify(block["notify_params"])
        header = build_header(
            job,
            bytes.fromhex(block["extranonce1"]),
            bytes.fromhex(block["extranonce2"]),
            nonce=block["nonce"],
        )
        assert header.hex() == block["expected_header_hex"]
        assert header[36:68].hex() == block["expected_merkle_root_internal_hex"]
        assert kernels.display_hash(kernels.block_hash(header)) == block["expected_block_hash"]

    def test_submit_params_rebuild_the_block(self, block: dict[str, Any]) -> None:
        """The mining.submit a miner sends (job, extranonce2, ntime, nonce) identifies the block."""
        _, job_id, extranonce2, ntime, nonce = block["submit_params"]
        job = StratumJob.from_notify(block["notify_params"])
        assert job.job_id == job_id
        header = build_header(
            job,
            bytes.fromhex(block["extranonce1"]),
            bytes.fromhex(extranonce2),
            ntime=int(ntime, 16),
            nonce=int(nonce, 16),
        )
        assert header.hex() == block["expected_header_hex"]

    def test_search_finds_the_real_nonce(self, block: dict[str, Any]) -> None:
        """The CPU kernel scanning the rebuilt job finds the real nonce at the block's target."""
        job = StratumJob.from_notify(block["notify_params"])
        prefix = job.header_prefix(
            bytes.fromhex(block["extranonce1"]), bytes.fromhex(block["extranonce2"])
        )
        result = kernels.search(
            prefix, kernels.bits_to_target(job.nbits), block["nonce"] - 5000, 10_000, backend="cpu"
        )
        assert [hit.nonce for hit in result.found] == [block["nonce"]]

    def test_message_forms_agree(self, block: dict[str, Any]) -> None:
        """The JSON-RPC message, its params list and the named object decode alike."""
        named = block["notify_params"]
        params = [named[key] for key in NOTIFY_FIELDS]
        message = json.dumps({"id": None, "method": "mining.notify", "params": params})
        assert StratumJob.from_notify(message) == StratumJob.from_notify(params)
        assert StratumJob.from_notify(params) == StratumJob.from_notify(named)


class TestRules:
    def test_prevhash_words_are_byte_swapped(self) -> None:
        """Each 32-bit word of Stratum's prevhash is reversed into internal order."""
        assert prevhash_from_stratum("00010203" * 8) == bytes([3, 2, 1, 0]) * 8

    def test_version_rolling_stays_in_mask(self) -> None:
        """BIP 310 rolling replaces only the bits under the mask."""
        assert roll_version(0x20000000, 0x1FFFE000, 0x00002000) == 0x20002000
        with pytest.raises(StratumJobError, match="outside mask"):
            roll_version(0x20000000, 0x1FFFE000, 0x00000001)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"prevhash": "abcd"}, "notify.prevhash"),
            ({"coinb1": "zz"}, "notify.coinb1"),
            ({"merkle_branch": ["00" * 31]}, "notify.merkle_branch[0]"),
            ({"version": "0200"}, "notify.version"),
            ({"nbits": 5}, "notify.nbits"),
        ],
    )
    def test_malformed_fields_are_named(
        self, block: dict[str, Any], change: dict[str, Any], field: str
    ) -> None:
        """A malformed notify field is refused by name."""
        notify = block["notify_params"] | change
        with pytest.raises(StratumJobError) as info:
            StratumJob.from_notify(notify)
        assert info.value.field == field

    def test_short_params_list_is_refused(self) -> None:
        """A params list without all nine fields is refused."""
        with pytest.raises(StratumJobError, match="needs 9 params"):
            StratumJob.from_notify(["1", "00" * 32])


class TestCli:
    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service.cli", "stratum", "header", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    def test_prints_header_and_hash(self, block: dict[str, Any], tmp_path: Path) -> None:
        """stratum header with --nonce prints the real header, hash and difficulty."""
        notify = tmp_path / "notify.json"
        notify.write_text(json.dumps(block["notify_params"]))
        run = self.run(
            "--notify",
            f"@{notify}",
            "--extranonce1",
            block["extranonce1"],
            "--extranonce2",
            block["extranonce2"],
            "--nonce",
            "96ba035d",
        )
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0] == block["expected_header_hex"]
        assert lines[1] == f"hash {block['expected_block_hash']}"
        assert lines[2].startswith("difficulty ")

    def test_bad_extranonce_names_the_field(self, block: dict[str, Any]) -> None:
        """A bad extranonce2 exits 2 naming it."""
        run = self.run(
            "--notify",
            json.dumps(block["notify_params"]),
            "--extranonce1",
            "0400003d",
            "--extranonce2",
            "xyz",
        )
        assert run.returncode == 2
        assert "extranonce2: is not hexadecimal" in run.stderr
