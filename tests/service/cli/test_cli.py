"""The operator commands against a real coordinator, and ``SPILLWAY_*`` defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from spw_helpers import AUTH, SPILLWAY, TOKEN, Running

from service.cli import build_parser
from spillway.v1 import miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc


async def register_worker(coordinator: Running, site: str, name: str = "w1") -> str:
    """Register a worker at ``site`` (which makes the site known)."""
    stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
    reply = await stub.RegisterWorker(
        miner_pb2.RegisterWorkerRequest(
            site=site, worker_name=name, backend="cpu", hashrate_hashes_per_second=1e6,
            max_power_watts=50,
        ),
        metadata=AUTH,
    )  # fmt: skip
    return str(reply.worker_id)


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
        worker_id = await register_worker(coordinator, "north")
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
        # Only its worker names the site now: no override, no budget.
        sites = (await stub.GetStatus(operator_pb2.GetStatusRequest())).sites
        assert [(s.site, s.budget_watts, s.workers[0].worker_id) for s in sites] == [
            ("north", 0.0, worker_id)
        ]

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

    async def test_huge_duration_is_one_line(self, coordinator: Running, tmp_path: Path) -> None:
        """A duration past what protobuf holds exits 2 naming --for, not a traceback."""
        code, _, err = await spillway(
            "budget", "set", "--coordinator", coordinator.address, "--site", "n",
            "--watts", "1", "--for", "99999999999999999999s",
        )  # fmt: skip
        assert (code, err.count("\n")) == (2, 1), err
        assert err.startswith("spillway: error: for: ") and "too long" in err

    @pytest.mark.parametrize(
        "body", [bytes(range(256)) * 4, "site,start,duration_s,budget_watts\n".encode("utf-16")]
    )
    async def test_binary_schedule_is_one_line(
        self, coordinator: Running, tmp_path: Path, body: bytes
    ) -> None:
        """A binary CSV exits 2 with one line naming the file, not a traceback."""
        path = tmp_path / "schedule.csv"
        path.write_bytes(body)
        code, _, err = await spillway(
            "schedule", "push", "--coordinator", coordinator.address, "--file", str(path)
        )
        assert (code, err.count("\n")) == (2, 1), err
        assert err.startswith("spillway: error: file: ") and str(path) in err

    async def test_unknown_site_is_refused(self, coordinator: Running, tmp_path: Path) -> None:
        """``budget set`` on a site nobody knows: NOT_FOUND listing the known; no phantom."""
        token = tmp_path / "token"
        token.write_text(TOKEN)
        common = ("--coordinator", coordinator.address, "--auth-token-file", str(token))
        await register_worker(coordinator, "north")
        code, _, err = await spillway(
            "budget", "set", *common, "--site", "no-such-site", "--watts", "1", "--for", "1m"
        )
        assert (code, err.count("\n")) == (2, 1), err
        assert err.startswith("spillway: NOT_FOUND: site: no site 'no-such-site'")
        assert "known sites: north" in err
        schedule = tmp_path / "schedule.csv"
        schedule.write_text(
            "site,start,duration_s,budget_watts\nno-such-site,2026-01-01T00:00:00+00:00,60,1\n"
        )
        code, _, err = await spillway("schedule", "push", *common, "--file", str(schedule))
        assert code == 2 and "NOT_FOUND" in err and "no-such-site" in err, err
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        status = await stub.GetStatus(operator_pb2.GetStatusRequest())
        assert [s.site for s in status.sites] == ["north"]
        labels = {
            sample.labels.get("site")
            for family in coordinator.registry.collect()
            for sample in family.samples
        }
        assert "no-such-site" not in labels


class TestEnvironment:
    def test_env_sets_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``SPILLWAY_GRPC_LISTEN`` and friends set defaults; flags still win."""
        monkeypatch.setenv("SPILLWAY_GRPC_LISTEN", "127.0.0.1:6000")
        monkeypatch.setenv("SPILLWAY_GRACE_SECONDS", "2.5")
        args = build_parser().parse_args(["serve"])
        assert (args.grpc_listen, args.grace_seconds) == ("127.0.0.1:6000", 2.5)
        args = build_parser().parse_args(["serve", "--grpc-listen", "127.0.0.1:7000"])
        assert args.grpc_listen == "127.0.0.1:7000"
