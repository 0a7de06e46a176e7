"""A real Prometheus scrapes the coordinator and a worker; PromQL shows hashrate and budgets."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import duration_pb2
from prometheus_client import CollectorRegistry
from spw_helpers import AUTH, TOKEN, free_port, know_site, make_settings

import kernels
from service.metrics import start_metrics_server
from service.rpc.server import build_server
from service.worker.core import Worker
from service.worker.settings import WorkerSettings
from spillway.v1 import operator_pb2, operator_pb2_grpc

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs Debian's prometheus (make test installs it)"
)


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as reply:
        body = json.load(reply)
    assert body["status"] == "success"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def _until(port: int, promql: str, timeout_s: float = 30) -> list[dict[str, Any]]:
    for _ in range(int(timeout_s * 4)):
        try:
            result = await asyncio.to_thread(_query, port, promql)
        except OSError:
            result = []
        if result:
            return result
        await asyncio.sleep(0.25)
    raise AssertionError(f"no result for {promql}")


class TestPrometheus:
    async def test_promql_shows_hashrate_and_budgets(self, tmp_path: Path) -> None:
        """Prometheus scrapes both processes' endpoints; PromQL sees budget and hashrate."""
        import grpc

        coordinator_metrics = free_port()
        server, port = await build_server(
            make_settings(tmp_path / "c", metrics_listen=f"127.0.0.1:{coordinator_metrics}"),
            registry=CollectorRegistry(),
        )
        worker_registry = CollectorRegistry()
        worker_http = start_metrics_server(worker_registry, "127.0.0.1:0")
        backend = kernels.CpuBackend(threads=1)
        worker = Worker(
            WorkerSettings(
                coordinator=f"127.0.0.1:{port}",
                site="north",
                worker_name="n1",
                data_dir=tmp_path / "w",
                auth_token=TOKEN,
                joules_per_hash=1e-6,
                telemetry_s=1.0,
            ),
            backend,
            worker_registry,
        )
        prom_port = free_port()
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: coordinator\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{coordinator_metrics}']}}]\n"
            "  - job_name: worker\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{worker_http.port}']}}]\n"
        )
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        task = asyncio.create_task(worker.run())
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await know_site(channel, "north", "n1")
                await operator_pb2_grpc.OperatorServiceStub(channel).SetBudgetOverride(
                    operator_pb2.SetBudgetOverrideRequest(
                        site="north", budget_watts=3.0, duration=duration_pb2.Duration(seconds=120)
                    ),
                    metadata=AUTH,
                )
            await _until(prom_port, 'spillway_power_budget_watts{job="worker",site="north"} == 3')
            await _until(prom_port, 'spillway_power_budget_watts{job="coordinator"} == 3')
            # 3 W at 1 uJ per hash is 3 MH/s. The first 3 s window may still hold the
            # ramp from zero, so wait for the rate to reach half of it, then bound it.
            rate = await _until(
                prom_port, 'rate(spillway_hashes_total{job="worker",backend="cpu"}[3s]) > 1.5e6'
            )
            hashrate_hs = float(rate[0]["value"][1])
            assert hashrate_hs < 4.5e6
            await _until(prom_port, 'sum(grpc_server_handled_total{grpc_code="OK"}) > 0')
        finally:
            worker.stop.set()
            await task
            prometheus.terminate()
            prometheus.wait(timeout=10)
            backend.close()
            worker_http.close()
            await server.stop(0)
