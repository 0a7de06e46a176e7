"""The coordinator's pool bridge against hostile pools on loopback: redirects and difficulties."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.stratum import NOTIFY_FIELDS

USER = "farm.north"


@pytest.fixture
def block_notify(stratum_vectors: dict[str, Any]) -> list[Any]:
    named = stratum_vectors["block_277647"]["notify_params"]
    return [named[key] for key in NOTIFY_FIELDS]


def reconnect_message(host: str, port: int) -> str:
    return json.dumps({"id": None, "method": "client.reconnect", "params": [host, port, 0]})


async def until(predicate: Any, what: str, timeout_s: float = 60.0) -> None:
    """Poll ``predicate`` (maybe async) until true; fail naming ``what`` (a bound on a hang)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                value = predicate()
                if asyncio.iscoroutine(value):
                    value = await value
                if value:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


class Serve:
    """``spillway serve --pool ...`` as a real process, its metrics scraped over HTTP."""

    def __init__(self, process: asyncio.subprocess.Process, metrics_url: str) -> None:
        self.process = process
        self.metrics_url = metrics_url

    async def sample(self, name: str, **labels: str) -> float | None:
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(self.metrics_url, timeout=5).read().decode()
        )
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(f"{name}{{{wanted}}} "):
                return float(line.rsplit(" ", 1)[1])
        return None


@contextlib.asynccontextmanager
async def serve(tmp_path: Any, pool: Any, *flags: str, **env: str) -> AsyncIterator[Serve]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        "--data-dir",
        str(tmp_path / "coordinator"),
        "--grpc-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--pool",
        f"stratum+tcp://127.0.0.1:{pool.port}",
        "--pool-user",
        USER,
        "--pool-password",
        "secret-login",
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    try:
        assert process.stdout is not None
        metrics_url = ""
        async with asyncio.timeout(60):
            while not metrics_url:
                line = (await process.stdout.readline()).decode()
                assert line, "spillway serve ended before it served metrics"
                if found := re.search(r"metrics on (http://\S+)", line):
                    metrics_url = found.group(1)
        yield Serve(process, metrics_url)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


class TestRedirectsThroughTheCli:
    async def test_serve_refuses_a_redirect_to_another_host(
        self, tmp_path: Any, stratum_pool: Any, other_host_pool: Any, block_notify: list[Any]
    ) -> None:
        """``client.reconnect ["127.0.0.2", PORT, 0]``: that host never hears from us; counted."""
        await stratum_pool.notify(block_notify)
        pool = f"stratum+tcp://127.0.0.1:{stratum_pool.port}"
        async with serve(tmp_path, stratum_pool) as running:
            await until(lambda: stratum_pool.writers, "the coordinator's pool session")
            assert await running.sample("spillway_pool_redirects_refused_total", pool=pool) == 0
            await stratum_pool.broadcast(reconnect_message("127.0.0.2", other_host_pool.port))

            async def refused() -> bool:
                sample = await running.sample("spillway_pool_redirects_refused_total", pool=pool)
                return sample == 1 or other_host_pool.connections > 0

            await until(refused, "the redirect refused (or followed)")
            # The pool then drops us: the next session is with the configured pool again.
            await stratum_pool.drop_all()
            await until(lambda: stratum_pool.connections >= 2, "a new session with the pool")
            await until(lambda: stratum_pool.writers, "the new session up")
            assert other_host_pool.connections == 0, "the pool login went to 127.0.0.2"
            assert await running.sample("spillway_pool_redirects_refused_total", pool=pool) == 1

    async def test_environment_allows_redirects(
        self, tmp_path: Any, stratum_pool: Any, other_host_pool: Any, block_notify: list[Any]
    ) -> None:
        """SPILLWAY_POOL_ALLOW_REDIRECT=1 (like --pool-allow-redirect) follows the pool there."""
        await stratum_pool.notify(block_notify)
        async with serve(tmp_path, stratum_pool, SPILLWAY_POOL_ALLOW_REDIRECT="1"):
            await until(lambda: stratum_pool.writers, "the coordinator's pool session")
            await stratum_pool.broadcast(reconnect_message("127.0.0.2", other_host_pool.port))
            await until(lambda: other_host_pool.writers, "a session with the other host")
