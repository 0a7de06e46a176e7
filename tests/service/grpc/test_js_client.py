"""An independent client (``@grpc/grpc-js``) calls health, a unary and a streaming RPC."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from spw_helpers import TOKEN, Running, know_site

JS_DIR = Path(__file__).parent / "js"
PROTO_ROOT = Path(__file__).resolve().parents[3] / "proto"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir(),
    reason="needs node and `npm ci` in tests/service/grpc/js (make test runs it)",
)


class TestGrpcJsClient:
    async def test_same_answers_and_errors(
        self, coordinator: Running, mainnet_headers: list[Any]
    ) -> None:
        """grpc-js sees SERVING, a status, a stream of finds, and the same error codes."""
        block = mainnet_headers[0]
        await know_site(coordinator.channel, "js-site", "js-1")
        env = {
            **os.environ,
            "SPW_HEADER_HEX": block.header.hex(),
            "SPW_BITS": str(block.bits),
            "SPW_START": str(block.nonce - 1000),
        }
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(JS_DIR / "client.js"),
            coordinator.address,
            str(PROTO_ROOT),
            TOKEN,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, stderr.decode()
        out = json.loads(stdout)
        assert out["health"] == 1  # SERVING
        assert out["status_ok"] is True
        assert out["no_token_code"] == 16  # UNAUTHENTICATED
        assert out["bad_code"] == 3  # INVALID_ARGUMENT
        assert "site" in out["bad_details"] and "budget_watts" in out["bad_details"]
        assert out["bad_has_status_details"] is True
        assert out["set_budget_watts"] == 5
        assert out["stream_found"] == [block.nonce]
        assert out["stream_hashes"] == 2000
        assert out["bad_stream_code"] == 3
