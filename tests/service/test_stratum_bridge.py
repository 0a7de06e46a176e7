"""The coordinator's pool bridge against hostile pools on loopback: redirects and difficulties."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import kernels
from service.coordinator.pool_bridge import PoolBridge, PoolSettings
from service.coordinator.storage import AsyncStore
from service.domain import Job, ShareOutcome, ShareResultKind, WorkerRecord
from service.stratum import NOTIFY_FIELDS
from service.stratum.client import MIN_POOL_DIFFICULTY, PoolEndpoint

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


@dataclass
class Bridge:
    """A ``PoolBridge`` as the coordinator runs it: a real store, the test pool upstream."""

    bridge: PoolBridge
    store: AsyncStore
    registry: CollectorRegistry
    pool: str

    def sample(self, name: str) -> float | None:
        return self.registry.get_sample_value(name, {"pool": self.pool})

    async def worker(self, hashrate_hs: float) -> WorkerRecord:
        store = self.store
        return await store.run(
            store.store.register_worker, "north", "n1", "cpu", hashrate_hs, 100.0, time.time()
        )

    async def job_of(self, worker: WorkerRecord, pool_job: str) -> Job:
        """The worker's next job, once it is a unit of ``pool_job`` (bounded wait)."""
        found: list[Job] = []

        async def ready() -> bool:
            job = await self.bridge.new_job(worker)
            if job is not None and self.bridge.pool_job_of(job.job_id) == pool_job:
                found.append(job)
            return bool(found)

        await until(ready, f"a unit of pool job {pool_job}", timeout_s=15)
        return found[0]


@contextlib.asynccontextmanager
async def bridge_for(tmp_path: Any, pool: Any, **settings: Any) -> AsyncIterator[Bridge]:
    store = AsyncStore(tmp_path / "coordinator.sqlite3")
    registry = CollectorRegistry()

    async def on_change() -> None:
        pass

    endpoint = PoolEndpoint("127.0.0.1", pool.port, False, USER)
    bridge = PoolBridge(
        PoolSettings((endpoint,), backoff_initial_s=0.05, backoff_max_s=0.2, **settings),
        store,
        registry,
        on_change,
    )
    await bridge.start()
    try:
        yield Bridge(bridge, store, registry, endpoint.url)
    finally:
        await bridge.stop()
        store.close()


def shares_per_s(hashrate_hs: float, target: int) -> float:
    """Shares a second a hashrate finds on average at a target (hash uniform in 2**256)."""
    return hashrate_hs * (target + 1) / 2**256


class TestHostileDifficulty:
    @pytest.mark.parametrize("difficulty", ["Infinity", "1e308", "1e-300", "NaN", "0", "-1"])
    async def test_absurd_difficulty_neither_sticks_nor_stops_work(
        self, tmp_path: Any, stratum_pool: Any, block_notify: list[Any], difficulty: str
    ) -> None:
        """After an absurd set_difficulty the next job reaches workers at the last sane one."""
        await stratum_pool.notify(block_notify)
        async with bridge_for(tmp_path, stratum_pool) as farm:
            worker = await farm.worker(hashrate_hs=1e3)
            first = await farm.job_of(worker, "277647")
            assert first.target == kernels.difficulty_to_target(1.0)
            await stratum_pool.broadcast(
                f'{{"id": null, "method": "mining.set_difficulty", "params": [{difficulty}]}}'
            )
            await stratum_pool.notify(["next", *block_notify[1:8], True])
            job = await farm.job_of(worker, "next")
            assert job.target == kernels.difficulty_to_target(1.0)
            assert farm.sample("spillway_pool_difficulties_refused_total") == 1
            assert farm.sample("spillway_pool_difficulty") == 1.0


class TestShareFloor:
    async def test_tiny_pool_difficulty_is_floored_by_the_workers_hashrate(
        self, tmp_path: Any, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """At the least difficulty a pool may set, a 26 MH/s worker still gets 2 shares/s."""
        stratum_pool.difficulty = MIN_POOL_DIFFICULTY
        await stratum_pool.notify(block_notify)
        async with bridge_for(tmp_path, stratum_pool, max_worker_shares_per_s=2.0) as farm:
            worker = await farm.worker(hashrate_hs=26e6)
            job = await farm.job_of(worker, "277647")
        pool_target = kernels.difficulty_to_target(MIN_POOL_DIFFICULTY)
        assert shares_per_s(26e6, pool_target) > 1e7  # the pool's own: nearly every hash
        assert 1.9 < shares_per_s(26e6, job.target) <= 2.0 + 1e-9
        assert job.target == kernels.difficulty_to_target(26e6 / (2.0 * 2**32))
        assert farm.sample("spillway_pool_units_floored_total") == 1

    async def test_a_worker_finding_too_many_shares_gets_harder_work(
        self, tmp_path: Any, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """A worker that declared 1 H/s but floods shares is re-cut at the rate its shares show."""
        stratum_pool.difficulty = MIN_POOL_DIFFICULTY
        await stratum_pool.notify(block_notify)
        backend = kernels.CpuBackend(threads=1)
        try:
            async with bridge_for(tmp_path, stratum_pool, max_worker_shares_per_s=2.0) as farm:
                worker = await farm.worker(hashrate_hs=1.0)
                easy = await farm.job_of(worker, "277647")
                assert easy.target == kernels.difficulty_to_target(MIN_POOL_DIFFICULTY)
                found = backend.scan(easy.header_prefix + bytes(4), easy.target, 0, 4096).found
                assert len(found) > 4000  # nearly every nonce is a share at the pool's target
                generation = farm.bridge.generation
                accepted = ShareOutcome("s", ShareResultKind.ACCEPTED)
                farm.bridge.forward(
                    worker,
                    [(easy, easy.ntime, share.nonce, accepted) for share in found],
                    [accepted] * len(found),
                )
                assert farm.bridge.generation == generation + 1  # new units for the workers
                harder = await farm.bridge.new_job(worker)
                observed_hs = farm.bridge.share_floor.observed_hashrate_hs(worker.worker_id)
        finally:
            backend.close()
        assert harder is not None and harder.target < easy.target / 100
        assert shares_per_s(observed_hs, harder.target) <= 2.0 + 1e-9
