"""The operator commands against a real coordinator, and ``SPILLWAY_*`` defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from spw_helpers import SPILLWAY, TOKEN, Running

from service.cli import build_parser
from spillway.v1 import operator_pb2, operator_pb2_grpc


async def spillway(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *SPILLWAY, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class TestBudgetCommands:
    async def test_set_status_clear(self, coordinator: Running, tmp_path: Path) -> None:
        """``budget set`` overrides until cleared; ``status`` shows it; ``clear`` drops it."""
        token = tmp_path / "token"
        token.write_text(TOKEN)
        common = ("--coordinator", coordinator.address, "--auth-token-file", str(token))
        code, out, err = await spillway(
            "budget", "set", *common, "--site", "north", "--watts", "250", "--for", "10m"
        )
        assert code == 0, err
        assert out.startswith("north: 250.0 W until ")
        code, out, _ = await spillway("status", "--coordinator", coordinator.address)
        assert code == 0
        header, row = out.splitlines()[:2]
        assert header.split()[:3] == ["SITE", "BUDGET", "W"]
        assert row.split()[:3] == ["north", "250.0", "override"]
        assert "last plan: none" in out
        code, out, _ = await spillway("budget", "clear", *common, "--site", "north")
        assert (code, out.strip()) == (0, "north: override cleared")
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        # No worker, override or schedule names it any more: nothing to show.
        assert list((await stub.GetStatus(operator_pb2.GetStatusRequest())).sites) == []

    async def test_refusals_are_one_line(self, coordinator: Running, tmp_path: Path) -> None:
        """Without a token, or with a bad duration, the command exits 2 with one line."""
        code, _, err = await spillway(
            "budget", "pause", "--coordinator", coordinator.address, "--site", "n", "--for", "1h"
        )
        assert code == 2
        assert err.startswith("spillway: UNAUTHENTICATED:")
        code, _, err = await spillway(
            "budget", "pause", "--coordinator", coordinator.address, "--site", "n", "--for", "soon"
        )
        assert (code, err.count("\n")) == (2, 1)
        assert "for: expected a duration" in err


class TestEnvironment:
    def test_env_sets_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``SPILLWAY_GRPC_LISTEN`` and friends set defaults; flags still win."""
        monkeypatch.setenv("SPILLWAY_GRPC_LISTEN", "127.0.0.1:6000")
        monkeypatch.setenv("SPILLWAY_GRACE_SECONDS", "2.5")
        args = build_parser().parse_args(["serve"])
        assert (args.grpc_listen, args.grace_seconds) == ("127.0.0.1:6000", 2.5)
        args = build_parser().parse_args(["serve", "--grpc-listen", "127.0.0.1:7000"])
        assert args.grpc_listen == "127.0.0.1:7000"
