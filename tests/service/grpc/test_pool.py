"""The coordinator mining for a Stratum pool: real gRPC, a real CPU worker, the test pool."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from prometheus_client import CollectorRegistry
from spw_helpers import AUTH, TOKEN, know_site, make_settings

import kernels
from service.coordinator import storage
from service.coordinator.pool_bridge import PoolBridge, PoolSettings
from service.coordinator.storage import SCHEMA_VERSION, AsyncStore, Store
from service.domain import Job, ShareOutcome, ShareResultKind
from service.errors import ConfigError
from service.rpc.server import CoordinatorServer, build_server
from service.stratum import NOTIFY_FIELDS, build_header
from service.stratum.client import PoolEndpoint
from service.worker.core import Worker
from service.worker.settings import WorkerSettings
from spillway.v1 import miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc

USER = "farm.north"
# Shares come every 2**32 / 4096 = 1 Mi hashes on average: several a second on one thread.
EASY = 1 / 4096


def params_of(block: dict[str, Any], **change: Any) -> list[Any]:
    named = block["notify_params"] | change
    return [named[key] for key in NOTIFY_FIELDS]


def endpoint(pool: Any) -> PoolEndpoint:
    return PoolEndpoint("127.0.0.1", pool.port, pool.tls, USER)


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` (a bound on a hang, not a timing)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)
    assert predicate(), what


@dataclass
class PoolFarm:
    """A coordinator mining for pools, and one CPU worker with a budget."""

    server: CoordinatorServer
    port: int
    registry: CollectorRegistry
    worker: Worker
    worker_registry: CollectorRegistry

    @property
    def bridge(self) -> PoolBridge:
        bridge = self.server.coordinator.pool
        assert bridge is not None
        return bridge

    def sample(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def worker_hashes(self) -> float:
        """The worker's own hash counter (``spillway_hashes_total`` at the worker)."""
        value = self.worker_registry.get_sample_value("spillway_hashes_total", {"backend": "cpu"})
        return value or 0.0

    def worker_version(self) -> int | None:
        """The header version of the unit the worker hashes now."""
        job = self.worker.state.job
        return int.from_bytes(job.prefix[:4], "little") if job is not None else None

    def worker_pool_job(self) -> str | None:
        """The pool job id of the unit the worker hashes now."""
        job = self.worker.state.job
        return self.bridge.pool_job_of(job.job_id) if job is not None else None

    async def verdicts(self) -> dict[str, int]:
        """The worker's pool verdicts as stored."""
        worker_id = self.worker.state.worker_id
        assert worker_id is not None
        store = self.server.store
        return await store.run(store.store.pool_verdicts, worker_id)


@contextlib.asynccontextmanager
async def pool_farm(
    tmp_path: Path, pools: Sequence[Any], **pool_settings: Any
) -> AsyncIterator[PoolFarm]:
    registry = CollectorRegistry()
    settings = PoolSettings(
        tuple(endpoint(pool) for pool in pools),
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
        # EASY is far below a CPU thread's share floor (test_stratum_bridge tests the
        # floor): lifted here, so the pool's difficulty is the workers' share target.
        **({"max_worker_shares_per_s": 1e9} | pool_settings),
    )
    server, port = await build_server(
        make_settings(tmp_path / "coordinator", pool=settings), registry=registry
    )
    backend = kernels.CpuBackend(threads=1)
    worker_registry = CollectorRegistry()
    worker = Worker(
        WorkerSettings(
            coordinator=f"127.0.0.1:{port}",
            site="north",
            worker_name="n1",
            data_dir=tmp_path / "worker",
            auth_token=TOKEN,
            joules_per_hash=1e-6,  # 5 W below is 5 MH/s at most
            telemetry_s=60.0,
            share_flush_s=0.05,
        ),
        backend,
        worker_registry,
    )
    task = asyncio.create_task(worker.run())
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await know_site(channel, "north", "n1")
            await operator_pb2_grpc.OperatorServiceStub(channel).SetBudgetOverride(
                operator_pb2.SetBudgetOverrideRequest(
                    site="north", budget_watts=5.0, duration=duration_pb2.Duration(seconds=600)
                ),
                metadata=AUTH,
            )
        yield PoolFarm(server, port, registry, worker, worker_registry)
    finally:
        worker.stop.set()
        await task
        backend.close()
        await server.stop(0)


@pytest.fixture
def block(stratum_vectors: dict[str, Any]) -> dict[str, Any]:
    vector: dict[str, Any] = stratum_vectors["block_277647"]
    return vector


class TestRealBlock:
    @pytest.mark.parametrize("rolling", [True, False], ids=["version-rolling", "no-rolling"])
    async def test_coordinator_submits_the_real_nonce(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any], rolling: bool
    ) -> None:
        """Pool job of block 277,647, a window around its nonce: exactly that nonce goes up.

        With rolling negotiated the first unit carries the job's own version, and the
        submit has BIP 310's 6th param (no bit rolled); without, it has five params.
        """
        stratum_pool.offer_version_rolling = rolling
        stratum_pool.difficulty = 1e6  # the real nonce is a share; any other almost surely not
        await stratum_pool.notify(params_of(block))
        window = 1 << 18
        async with pool_farm(
            tmp_path,
            [stratum_pool],
            nonces_per_unit=window,
            nonce_first=block["nonce"] - window // 2,
            nonce_count=window,
            extranonce2_start=int(block["extranonce2"], 16),
            clock_s=lambda: 0.0,  # the unit's ntime is the job's own, as in the block
        ) as farm:
            pool = endpoint(stratum_pool).url
            await until(
                lambda: (
                    farm.sample("spillway_pool_shares_total", pool=pool, result="accepted") == 1
                ),
                "the pool's verdict recorded",
            )
            assert len(stratum_pool.submissions) == 1
            submission = stratum_pool.submissions[0]
            version_bits = ["00000000"] if rolling else []
            assert submission.params == [USER, *block["submit_params"][1:], *version_bits]
            assert submission.verdict == "accepted"
            assert submission.hash_hex == block["expected_block_hash"]
            assert await farm.verdicts() == {"accepted": 1}
            assert farm.sample("spillway_pool_connected", pool=pool) == 1
            assert farm.sample("spillway_pool_difficulty", pool=pool) == 1e6
            async with grpc.aio.insecure_channel(f"127.0.0.1:{farm.port}") as channel:
                status = await operator_pb2_grpc.OperatorServiceStub(channel).GetStatus(
                    operator_pb2.GetStatusRequest()
                )
            assert (status.pool.url, status.pool.connected, status.pool.job_id) == (
                pool,
                True,
                "277647",
            )
            assert (status.pool.difficulty, status.pool.shares_accepted) == (1e6, 1)
            # The CLI's line for these values: tests/service/cli/test_format_status.py.


class TestPoolEvents:
    async def test_disconnect_reconnects_then_fails_over(
        self,
        tmp_path: Path,
        stratum_pool: Any,
        second_stratum_pool: Any,
        block: dict[str, Any],
    ) -> None:
        """A dropped session comes back to the primary; a dead primary fails over to the second."""
        second_stratum_pool.extranonce1 = bytes.fromhex("0badf00d")
        for pool in (stratum_pool, second_stratum_pool):
            pool.difficulty = EASY
            await pool.notify(params_of(block))
        primary, second = endpoint(stratum_pool).url, endpoint(second_stratum_pool).url
        async with pool_farm(tmp_path, [stratum_pool, second_stratum_pool]) as farm:

            def accepted(pool: str) -> float:
                return farm.sample("spillway_pool_shares_total", pool=pool, result="accepted")

            await until(lambda: accepted(primary) >= 1, "a share accepted by the primary")
            await stratum_pool.drop_all()
            await until(lambda: stratum_pool.connections == 2, "reconnected to the primary")
            before = accepted(primary)
            await until(lambda: accepted(primary) > before, "a share of the new session")
            await stratum_pool.stop()
            await until(lambda: accepted(second) >= 1, "a share accepted by the second pool")
            assert farm.sample("spillway_pool_connected", pool=primary) == 0
            assert farm.sample("spillway_pool_connected", pool=second) == 1
            # Every share the second pool saw was built on its own extranonce1: all accepted.
            assert {s.verdict for s in second_stratum_pool.submissions} == {"accepted"}

    async def test_no_hashing_while_no_pool_serves(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """The pool gone, the worker stops hashing (stream and budget kept); back, it resumes."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block, job_id="a"))
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(lambda: farm.worker_pool_job() == "a", "the worker hashes job a")
            await until(lambda: len(stratum_pool.submissions) >= 1, "a share of job a")
            port = stratum_pool.port
            await stratum_pool.stop()
            await until(lambda: farm.worker.state.job is None, "the work withdrawn")

            # One batch may be in flight when the work goes: wait until the count holds.
            async def hashes_settled() -> float:
                while True:
                    before = farm.worker_hashes()
                    await asyncio.sleep(0.5)
                    if farm.worker_hashes() == before:
                        return before

            async with asyncio.timeout(60):
                idle_hashes = await hashes_settled()
            assert farm.worker.state.connected and farm.worker.state.budget_now() == 5.0
            submitted = len(stratum_pool.submissions)
            await stratum_pool.notify(params_of(block, job_id="b", clean_jobs=True))
            await asyncio.sleep(1.0)  # long enough for several batches, were any hashed
            assert farm.worker_hashes() == idle_hashes
            assert farm.worker.state.job is None

            await stratum_pool.start(port=port)  # back, with job b for the new session
            await until(lambda: farm.worker_pool_job() == "b", "the worker hashes job b")
            await until(lambda: farm.worker_hashes() > idle_hashes, "hashing resumed")
            await until(
                lambda: any(s.verdict == "accepted" for s in stratum_pool.submissions[submitted:]),
                "a share of job b accepted",
            )
            # Nothing of the old session's work reached the pool after it went.
            assert {s.params[1] for s in stratum_pool.submissions[submitted:]} == {"b"}

    async def test_a_stream_without_pool_work_starts_with_no_work(
        self, tmp_path: Path, stratum_pool: Any
    ) -> None:
        """A worker that (re)connects while the pool has no job is told first to idle."""
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{farm.port}") as channel:
                stub = miner_pb2_grpc.WorkerServiceStub(channel)
                reply = await stub.RegisterWorker(
                    miner_pb2.RegisterWorkerRequest(site="north", worker_name="n2", backend="cpu"),
                    metadata=AUTH,
                )
                stream = stub.StreamWork(
                    miner_pb2.StreamWorkRequest(worker_id=reply.worker_id), metadata=AUTH
                )
                first = await asyncio.wait_for(stream.read(), 60)
                stream.cancel()
            assert first.WhichOneof("directive") == "no_work"
            assert "no pool work" in first.no_work.reason

    async def test_set_difficulty_reaches_workers(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """A new pool difficulty becomes the workers' share target at once, and shares meet it."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block))
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(
                lambda: (
                    farm.worker.state.job is not None
                    and farm.worker.state.job.target == kernels.difficulty_to_target(EASY)
                ),
                "the worker hashes at the first difficulty",
            )
            await stratum_pool.set_difficulty(EASY * 2)
            await until(
                lambda: (
                    farm.worker.state.job is not None
                    and farm.worker.state.job.target == kernels.difficulty_to_target(EASY * 2)
                ),
                "the new target at the worker",
            )
            seen = len(stratum_pool.submissions)
            await until(
                lambda: any(s.verdict == "accepted" for s in stratum_pool.submissions[seen:]),
                "a share accepted at the new difficulty",
            )
            pool = endpoint(stratum_pool).url
            assert farm.sample("spillway_pool_difficulty", pool=pool) == EASY * 2

    async def test_clean_job_replaces_work_at_once(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """A clean job reaches the worker at once; no share of the old job goes up after it."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block, job_id="a"))
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(lambda: farm.worker_pool_job() == "a", "the worker hashes job a")
            await until(lambda: len(stratum_pool.submissions) >= 1, "a share of job a")
            await stratum_pool.notify(params_of(block, job_id="b", clean_jobs=True))
            # Pushed at the notify: the periodic job refresh is a minute away.
            await until(lambda: farm.worker_pool_job() == "b", "the worker hashes job b")
            seen = len(stratum_pool.submissions)
            await until(
                lambda: any(s.params[1] == "b" for s in stratum_pool.submissions[seen:]),
                "a share of job b",
            )
            jobs = [s.params[1] for s in stratum_pool.submissions]
            first_b = jobs.index("b")
            assert set(jobs[first_b:]) == {"b"}

    async def test_malformed_lines_are_survived(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """Garbage from the pool is skipped: the session stays up and the next job is mined."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block, job_id="a"))
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(lambda: farm.worker_pool_job() == "a", "the worker hashes job a")
            for line in (
                "{not json",
                "[1, 2, 3]",
                json.dumps({"id": None, "method": "mining.notify", "params": [1, 2]}),
                json.dumps({"id": None, "method": "mining.set_difficulty", "params": ["x"]}),
                json.dumps({"id": None, "method": "mining.notify", "params": "x" * 200_000}),
            ):
                await stratum_pool.broadcast(line)
            await stratum_pool.notify(params_of(block, job_id="b", clean_jobs=True))
            await until(lambda: farm.worker_pool_job() == "b", "the worker hashes job b")
            await until(
                lambda: any(s.params[1] == "b" for s in stratum_pool.submissions),
                "a share of job b",
            )
            assert stratum_pool.connections == 1

    async def test_rejections_are_recorded_per_worker(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """The pool's rejections (with reason) and stale answers land in SQLite and metrics."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block))
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            pool = endpoint(stratum_pool).url

            def answered(result: str) -> bool:
                return farm.sample("spillway_pool_shares_total", pool=pool, result=result) >= 1

            await until(lambda: answered("accepted"), "an accepted share")
            stratum_pool.difficulty = 1e9  # the pool now refuses what it told us to send
            await until(lambda: answered("rejected"), "a rejected share")
            stratum_pool.jobs.clear()  # the pool forgets the job: its shares are stale
            await until(lambda: answered("stale"), "a stale share")
            worker_id = farm.worker.state.worker_id
            assert worker_id is not None
            store = farm.server.store
            answers = await store.run(store.store.pool_answers, worker_id)
            reasons = {(verdict, reason) for pool_url, verdict, reason in answers}
            assert ("rejected", "Low difficulty share") in reasons
            assert ("stale", "Job not found") in reasons
            counts = await farm.verdicts()
            assert all(counts[result] >= 1 for result in ("accepted", "rejected", "stale"))


BIP320_MASK = 0x1FFFE000


class TestVersionRolling:
    async def test_shares_of_rolled_versions_are_accepted(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """New units roll the granted bits; their shares carry them and rebuild at the pool."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block))
        job = stratum_pool.jobs["277647"]
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(lambda: farm.worker_version() == job.version, "the job's own version")
            # Each difficulty change cuts the worker a new unit: the next roll.
            versions = {job.version}
            for step in range(1, 3):
                await stratum_pool.set_difficulty(EASY * (1 + step / 8))
                await until(
                    lambda: farm.worker_version() not in (None, *versions),
                    "a unit of a new version",
                )
                version = farm.worker_version()
                assert version is not None
                versions.add(version)
            assert len(versions) == 3
            rolled = [v for v in versions if v != job.version]
            for version in rolled:
                assert version & ~BIP320_MASK == job.version & ~BIP320_MASK
            await until(
                lambda: any(
                    s.verdict == "accepted" and s.version in rolled
                    for s in stratum_pool.submissions
                ),
                "an accepted share of a rolled version",
            )
            share = next(s for s in stratum_pool.submissions if s.version in rolled)
            _, _, extranonce2, ntime, nonce, version_bits = share.params
            assert int(version_bits, 16) == share.version & BIP320_MASK
            # Rebuilt here, independently of the pool: BIP 310's version, then the hash.
            header = build_header(
                job,
                stratum_pool.extranonce1,
                bytes.fromhex(extranonce2),
                ntime=int(ntime, 16),
                nonce=int(nonce, 16),
                version=(job.version & ~BIP320_MASK) | int(version_bits, 16),
            )
            digest = kernels.block_hash(header)
            assert kernels.display_hash(digest) == share.hash_hex
            assert kernels.hash_meets_target(digest, kernels.difficulty_to_target(EASY))
            assert "Version bits outside mask" not in {s.verdict for s in stratum_pool.submissions}

    async def test_no_mask_no_version_bits(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """A pool that grants no rolling gets five-param submits of the job's own version."""
        stratum_pool.offer_version_rolling = False
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block))
        job = stratum_pool.jobs["277647"]
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(lambda: farm.worker_version() == job.version, "the job's own version")
            await stratum_pool.set_difficulty(EASY * 1.5)
            await until(
                lambda: (
                    farm.worker.state.job is not None
                    and farm.worker.state.job.target == kernels.difficulty_to_target(EASY * 1.5)
                ),
                "a second unit",
            )
            assert farm.worker_version() == job.version
            await until(lambda: len(stratum_pool.submissions) >= 2, "shares at the pool")
            assert {len(s.params) for s in stratum_pool.submissions} == {5}
            assert {s.verdict for s in stratum_pool.submissions} == {"accepted"}

    async def test_a_new_mask_replaces_the_work(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """mining.set_version_mask: the worker gets work rolled within the new mask only."""
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block))
        job = stratum_pool.jobs["277647"]
        async with pool_farm(tmp_path, [stratum_pool]) as farm:
            await until(lambda: farm.worker_version() == job.version, "the job's own version")
            await stratum_pool.set_difficulty(EASY * 1.5)  # a second unit: a rolled version
            await until(
                lambda: farm.worker_version() not in (None, job.version), "a rolled version"
            )
            before = farm.worker.state.job
            narrow = 0x00C00000  # the old roll's bit 13 is outside it
            await stratum_pool.set_version_mask(narrow)
            await until(
                lambda: (
                    farm.worker.state.job is not None
                    and farm.worker.state.job is not before
                    and farm.worker_version() == job.version
                ),
                "new work (roll 0) under the new mask",
            )
            seen = len(stratum_pool.submissions)
            await stratum_pool.set_difficulty(EASY * 2)  # the next unit rolls the new bits
            await until(
                lambda: farm.worker_version() == job.version ^ 0x00400000,
                "a unit rolled within the new mask",
            )
            await until(
                lambda: any(
                    s.version == job.version ^ 0x00400000 for s in stratum_pool.submissions[seen:]
                ),
                "a share of the newly rolled version",
            )
            since = stratum_pool.submissions[seen:]
            assert {s.verdict for s in since} == {"accepted"}
            assert all(int(s.params[5], 16) & ~narrow == 0 for s in since)


@pytest.fixture
def pool_cert(tmp_path: Path) -> Path:
    """A self-signed certificate (and key) for a pool on 127.0.0.1; its own CA."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "pool.key",
            "-out",
            "pool.pem",
            "-days",
            "2",
            "-subj",
            "/CN=test pool",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    return tmp_path / "pool.pem"


class TestTls:
    async def test_stratum_ssl_pool(
        self, tmp_path: Path, stratum_pool: Any, pool_cert: Path, block: dict[str, Any]
    ) -> None:
        """A stratum+ssl pool whose certificate --pool-tls-ca trusts gets shares over TLS."""
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(pool_cert, pool_cert.with_suffix(".key"))
        await stratum_pool.stop()
        await stratum_pool.start(server_tls)  # the same pool, now behind TLS
        stratum_pool.difficulty = EASY
        await stratum_pool.notify(params_of(block))
        async with pool_farm(tmp_path, [stratum_pool], tls_ca=pool_cert) as farm:
            url = endpoint(stratum_pool).url
            assert url.startswith("stratum+ssl://")
            await until(
                lambda: farm.sample("spillway_pool_shares_total", pool=url, result="accepted") >= 1,
                "a share accepted over TLS",
            )

    async def test_unreadable_ca_is_a_config_error(self, tmp_path: Path) -> None:
        """A --pool-tls-ca that cannot be read stops the start, naming the flag."""
        settings = PoolSettings(
            (PoolEndpoint("127.0.0.1", 1, True, USER),), tls_ca=tmp_path / "missing.pem"
        )
        with pytest.raises(ConfigError, match="pool_tls_ca"):
            await build_server(
                make_settings(tmp_path / "coordinator", pool=settings),
                registry=CollectorRegistry(),
            )


class TestStorage:
    def test_version_1_file_migrates(self, tmp_path: Path) -> None:
        """A version 1 file gains the pool tables, loses the unsigned energy table, keeps rows."""
        path = tmp_path / "coordinator.sqlite3"
        db = sqlite3.connect(path, isolation_level=None)
        db.executescript(f"{storage._SCHEMA} PRAGMA user_version=1;")
        db.execute("INSERT INTO overrides VALUES ('north', 5.0, 1e12, 'kept', 0)")
        db.close()
        store = Store(path)
        try:
            assert store.schema_version() == SCHEMA_VERSION == 3
            assert store.override("north", 0.0) is not None
            assert store.pool_verdicts() == {}
            assert store.pool_pending() == []
        finally:
            store.close()
        with contextlib.closing(sqlite3.connect(path)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"pool_units", "pool_shares"} <= tables and "ledger" not in tables

    async def test_unanswered_shares_are_stale_after_restart(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """A share stored but unanswered before a restart is recorded stale: its session died."""
        path = tmp_path / "coordinator.sqlite3"
        store = Store(path)
        worker = store.register_worker("north", "n1", "cpu", 1e6, 5.0, 0.0)
        job = Job("j1", worker.worker_id, bytes(76), kernels.DIFF1_TARGET, 0, 600, 0.0)
        pool = endpoint(stratum_pool).url
        store.add_pool_job(job, pool, "277647", bytes(4), bytes(4))
        store.record_shares(
            worker, [(job, 0, 7, ShareOutcome("s1", ShareResultKind.ACCEPTED, "", bytes(32)))], 1.0
        )
        store.close()
        await stratum_pool.notify(params_of(block))
        registry = CollectorRegistry()
        async_store = await asyncio.to_thread(AsyncStore, path)

        async def nothing() -> None:
            return None

        bridge = PoolBridge(PoolSettings((endpoint(stratum_pool),)), async_store, registry, nothing)
        await bridge.start()
        try:
            await until(
                lambda: (
                    registry.get_sample_value(
                        "spillway_pool_shares_total", {"pool": pool, "result": "stale"}
                    )
                    == 1
                ),
                "the stale verdict",
            )
            answers = await async_store.run(async_store.store.pool_answers, worker.worker_id)
            assert answers == [(pool, "stale", "session ended")]
            assert await async_store.run(async_store.store.pool_pending) == []
        finally:
            await bridge.stop()
            await asyncio.to_thread(async_store.close)


class TestLiveHashrateFloor:
    async def test_reported_hashrate_floors_a_worker_that_declared_little(
        self, tmp_path: Path, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """A worker declaring 1 H/s but reporting 26 MH/s gets work floored at 26 MH/s."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from spw_helpers import signed_telemetry

        from service.stratum.client import MIN_POOL_DIFFICULTY

        stratum_pool.difficulty = MIN_POOL_DIFFICULTY
        await stratum_pool.notify(params_of(block))
        key = Ed25519PrivateKey.generate()
        async with pool_farm(tmp_path, [stratum_pool], max_worker_shares_per_s=2.0) as farm:
            coordinator = farm.server.coordinator
            worker = await coordinator.register(
                "north", "liar", "cpu", 1.0, 50.0, key.public_key().public_bytes_raw()
            )
            async with grpc.aio.insecure_channel(f"127.0.0.1:{farm.port}") as channel:
                await miner_pb2_grpc.WorkerServiceStub(channel).ReportTelemetry(
                    miner_pb2.ReportTelemetryRequest(
                        worker_id=worker.worker_id,
                        interval=duration_pb2.Duration(seconds=2),
                        power_watts=5.0,
                        energy_joules=10.0,
                        hashes=52_000_000,
                        hashrate_hashes_per_second=26e6,
                        signed_telemetry=signed_telemetry(
                            key, worker.worker_id, "north", 1, 10, 52_000_000
                        ),
                    ),
                    metadata=AUTH,
                )
            for _ in range(100):  # the pool's job reaches the bridge
                job = await coordinator.new_job(worker)
                if job is not None:
                    break
                await asyncio.sleep(0.05)
        assert job is not None
        assert job.target == kernels.difficulty_to_target(26e6 / (2.0 * 2**32))
