"""The Stratum client against a real pool server on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from service.stratum import NOTIFY_FIELDS, StratumJob
from service.stratum.client import (
    PoolEndpoint,
    ShareVerdict,
    StratumClient,
    StratumConnectionError,
    StratumSession,
    parse_pool_url,
)
from service.stratum.errors import StratumJobError
from service.stratum.upstream import StratumUpstream


def endpoint(port: int, password: str = "x") -> PoolEndpoint:
    return PoolEndpoint("127.0.0.1", port, False, "farm.worker1", password)


class JobLog:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, float]] = []
        self.changed = asyncio.Event()

    def __call__(self, job: StratumJob, session: StratumSession) -> None:
        self.jobs.append((job.job_id, session.difficulty))
        self.changed.set()

    async def wait_for(self, job_id: str, difficulty: float | None = None) -> None:
        while not any(
            j == job_id and (difficulty is None or d == difficulty) for j, d in self.jobs
        ):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


@pytest.fixture
def block_notify(stratum_vectors: dict[str, Any]) -> list[Any]:
    named = stratum_vectors["block_277647"]["notify_params"]
    return [named[key] for key in NOTIFY_FIELDS]


class TestHandshake:
    async def test_subscribe_authorize_and_first_job(
        self, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """After the handshake the client holds extranonce1 and size, mask, difficulty and job."""
        await stratum_pool.notify(block_notify)
        stratum_pool.difficulty = 512.0
        log = JobLog()
        client = StratumClient(endpoint(stratum_pool.port), on_job=log)
        session = await client.connect()
        await log.wait_for("277647", 512.0)
        assert session.extranonce1 == bytes.fromhex("0400003d")
        assert session.extranonce2_size == 4
        assert session.version_mask == 0x1FFFE000
        assert session.authorized
        await client.close()

    async def test_pool_without_version_rolling(self, stratum_pool: Any) -> None:
        """A pool that refuses mining.configure still serves: no rolling then."""
        stratum_pool.offer_version_rolling = False
        client = StratumClient(endpoint(stratum_pool.port))
        session = await client.connect()
        assert session.version_mask == 0 and session.authorized
        await client.close()

    async def test_refused_authorization_fails_the_connection(self, stratum_pool: Any) -> None:
        """A refused mining.authorize is an error, not a silent session."""
        stratum_pool.accept_password = "secret"
        with pytest.raises(StratumConnectionError, match="authorization refused"):
            await StratumClient(endpoint(stratum_pool.port, "wrong")).connect()

    async def test_unreachable_pool(self) -> None:
        """A pool nobody listens on fails with a connection error."""
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(StratumConnectionError, match="cannot connect"):
            await StratumClient(endpoint(port)).connect(timeout_s=2)


class TestShares:
    async def test_real_block_share_is_accepted(
        self, stratum_pool: Any, stratum_vectors: dict[str, Any], block_notify: list[Any]
    ) -> None:
        """The real block's submit params are accepted and rebuild the real block hash."""
        block = stratum_vectors["block_277647"]
        await stratum_pool.notify(block_notify)
        stratum_pool.difficulty = 1000.0
        client = StratumClient(endpoint(stratum_pool.port), version_mask=None)
        await client.connect()
        outcome = await client.submit(
            "farm.worker1",
            "277647",
            bytes.fromhex(block["extranonce2"]),
            int(block_notify[7], 16),
            block["nonce"],
        )
        assert outcome.verdict is ShareVerdict.ACCEPTED
        assert stratum_pool.submissions[-1].hash_hex == block["expected_block_hash"]
        assert stratum_pool.submissions[-1].params == ["farm.worker1", *block["submit_params"][1:]]
        await client.close()

    async def test_rejections_carry_the_reason(
        self, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """A low-difficulty share is rejected with the pool's reason; an unknown job is stale."""
        await stratum_pool.notify(block_notify)
        client = StratumClient(endpoint(stratum_pool.port))
        await client.connect()
        low = await client.submit("w", "277647", bytes(4), int(block_notify[7], 16), 1)
        stale = await client.submit("w", "old-job", bytes(4), int(block_notify[7], 16), 1)
        assert (low.verdict, low.reason) == (ShareVerdict.REJECTED, "Low difficulty share")
        assert stale.verdict is ShareVerdict.STALE
        await client.close()


class TestVersionBits:
    async def test_pool_checks_version_bits_against_the_mask(
        self, stratum_pool: Any, stratum_vectors: dict[str, Any], block_notify: list[Any]
    ) -> None:
        """Bits outside the granted mask are refused; bits inside rebuild the rolled header."""
        block = stratum_vectors["block_277647"]
        await stratum_pool.notify(block_notify)
        stratum_pool.difficulty = 1000.0
        client = StratumClient(endpoint(stratum_pool.port), version_mask=0x00006000)
        session = await client.connect()
        assert session.version_mask == 0x00006000  # the pool's 0x1fffe000 & ours
        args = ("w", "277647", bytes.fromhex(block["extranonce2"]), int(block_notify[7], 16))
        outside = await client.submit(*args, block["nonce"], 0x00008000)
        assert (outside.verdict, outside.reason) == (
            ShareVerdict.REJECTED,
            "Version bits outside mask",
        )
        # The job's own bits (none under the mask): the real block again, with a 6th param.
        same = await client.submit(*args, block["nonce"], 0)
        assert same.verdict is ShareVerdict.ACCEPTED
        assert stratum_pool.submissions[-1].hash_hex == block["expected_block_hash"]
        # A rolled version is another header: the real nonce is no share of it.
        rolled = await client.submit(*args, block["nonce"], 0x00002000)
        assert rolled.reason == "Low difficulty share"
        await client.close()

    async def test_version_bits_need_negotiation(
        self, stratum_pool: Any, stratum_vectors: dict[str, Any], block_notify: list[Any]
    ) -> None:
        """A pool that granted no rolling refuses a submit with version bits."""
        block = stratum_vectors["block_277647"]
        await stratum_pool.notify(block_notify)
        client = StratumClient(endpoint(stratum_pool.port), version_mask=None)
        await client.connect()
        outcome = await client.submit(
            "w", "277647", bytes(4), int(block_notify[7], 16), block["nonce"], 0
        )
        assert outcome.reason == "Version rolling not negotiated"
        await client.close()

    async def test_set_version_mask_is_announced(
        self, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """mining.set_version_mask takes effect at once and reaches the job listener."""
        await stratum_pool.notify(block_notify)
        masks: list[int] = []
        changed = asyncio.Event()

        def on_job(job: StratumJob, session: StratumSession) -> None:
            masks.append(session.version_mask)
            changed.set()

        client = StratumClient(endpoint(stratum_pool.port), on_job=on_job)
        await client.connect()
        await stratum_pool.set_version_mask(0x00006000)
        async with asyncio.timeout(30):
            while 0x00006000 not in masks:
                changed.clear()
                await changed.wait()
        assert client.session.version_mask == 0x00006000
        await client.close()


class TestPoolMessages:
    async def test_difficulty_and_clean_jobs_are_followed(
        self, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """set_difficulty and a new clean job reach the listener in order."""
        log = JobLog()
        client = StratumClient(endpoint(stratum_pool.port), on_job=log)
        await client.connect()
        await stratum_pool.notify(block_notify)
        await log.wait_for("277647", 1.0)
        await stratum_pool.set_difficulty(64.0)
        await log.wait_for("277647", 64.0)
        await stratum_pool.notify(["next", *block_notify[1:8], True])
        await log.wait_for("next", 64.0)
        assert client.session.job is not None and client.session.job.clean_jobs
        await client.close()

    async def test_hostile_lines_are_survived(
        self, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """Garbage, over-long lines, non-objects, unknown methods, bad params: session lives on."""
        log = JobLog()
        client = StratumClient(endpoint(stratum_pool.port), on_job=log, max_line_bytes=4096)
        await client.connect()
        await stratum_pool.broadcast("this is not json")
        await stratum_pool.broadcast("x" * 20_000)
        await stratum_pool.broadcast("[1, 2, 3]")
        await stratum_pool.broadcast(
            json.dumps({"id": None, "method": "mining.dance", "params": []})
        )
        await stratum_pool.broadcast(
            json.dumps({"id": None, "method": "mining.notify", "params": ["j", "00"]})
        )
        await stratum_pool.broadcast(
            json.dumps({"id": None, "method": "mining.set_difficulty", "params": [-1]})
        )
        await stratum_pool.broadcast(json.dumps({"id": 999, "result": True, "error": None}))
        await stratum_pool.notify(block_notify)
        await log.wait_for("277647", 1.0)
        assert not client.closed.is_set()
        assert client.session.difficulty == 1.0
        await client.close()

    async def test_set_extranonce_changes_the_session(
        self, stratum_pool: Any, block_notify: list[Any]
    ) -> None:
        """mining.set_extranonce replaces extranonce1 and its size."""
        log = JobLog()
        client = StratumClient(endpoint(stratum_pool.port), on_job=log)
        await client.connect()
        await stratum_pool.notify(block_notify)
        await log.wait_for("277647")
        await stratum_pool.broadcast(
            json.dumps({"id": None, "method": "mining.set_extranonce", "params": ["aabbccdd", 8]})
        )
        for _ in range(50):
            if client.session.extranonce2_size == 8:
                break
            await asyncio.sleep(0.02)
        assert client.session.extranonce1 == bytes.fromhex("aabbccdd")
        assert client.session.extranonce2_size == 8
        await client.close()


class TestHostileDifficulty:
    @pytest.mark.parametrize(
        "difficulty",
        ["1e-300", "0", "-5", "NaN", "1e308", "Infinity", "-Infinity", "true", '"x"'],
    )
    async def test_absurd_difficulty_does_not_stick(
        self, stratum_pool: Any, block_notify: list[Any], difficulty: str
    ) -> None:
        """A difficulty that is not a sane finite number is refused; the last sane one stays.

        The next job arrives with that difficulty (never skipped), and the refusal is told.
        """
        refusals: list[tuple[str, str]] = []
        log = JobLog()
        client = StratumClient(
            endpoint(stratum_pool.port),
            on_job=log,
            on_refusal=lambda kind, what: refusals.append((kind, what)),
        )
        await client.connect()
        await stratum_pool.notify(block_notify)
        await stratum_pool.set_difficulty(64.0)
        await log.wait_for("277647", 64.0)
        await stratum_pool.broadcast(
            f'{{"id": null, "method": "mining.set_difficulty", "params": [{difficulty}]}}'
        )
        await stratum_pool.notify(["next", *block_notify[1:]])
        await log.wait_for("next")
        assert log.jobs[-1] == ("next", 64.0)
        assert client.session.difficulty == 64.0
        assert [kind for kind, _ in refusals] == ["difficulty"]
        await client.close()

    @pytest.mark.parametrize("difficulty", [2.0**-32, 1 / 4096, 1.0, 65536.0, 2.0**64])
    async def test_sane_difficulties_are_taken(
        self, stratum_pool: Any, block_notify: list[Any], difficulty: float
    ) -> None:
        """Difficulties from 2**-32 (regtest's range) to 2**64 are followed."""
        log = JobLog()
        client = StratumClient(endpoint(stratum_pool.port), on_job=log)
        await client.connect()
        await stratum_pool.notify(block_notify)
        await stratum_pool.set_difficulty(difficulty)
        await log.wait_for("277647", difficulty)
        await client.close()


class TestUpstream:
    async def test_reconnects_after_a_drop(self, stratum_pool: Any) -> None:
        """When the pool drops the connection, the upstream reconnects and subscribes again."""
        upstream = StratumUpstream(
            [endpoint(stratum_pool.port)], lambda e: StratumClient(e), backoff_initial_s=0.05
        )
        task = asyncio.create_task(upstream.run())
        await asyncio.wait_for(upstream.connected.wait(), 5)
        await stratum_pool.drop_all()
        for _ in range(200):
            if upstream.connections >= 2 and upstream.connected.is_set():
                break
            await asyncio.sleep(0.02)
        assert upstream.connections >= 2 and stratum_pool.connections >= 2
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def test_fails_over_and_follows_client_reconnect(
        self, stratum_pool: Any, second_stratum_pool: Any
    ) -> None:
        """A dead primary falls over to the next pool; client.reconnect moves to its port."""
        dead = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        dead_port = dead.sockets[0].getsockname()[1]
        dead.close()
        await dead.wait_closed()
        upstream = StratumUpstream(
            [endpoint(dead_port), endpoint(stratum_pool.port)],
            lambda e: StratumClient(e),
            backoff_initial_s=0.05,
        )
        task = asyncio.create_task(upstream.run())
        await asyncio.wait_for(upstream.connected.wait(), 5)
        assert upstream.client is not None and upstream.client.endpoint.port == stratum_pool.port
        await stratum_pool.broadcast(
            json.dumps(
                {
                    "id": None,
                    "method": "client.reconnect",
                    "params": ["127.0.0.1", second_stratum_pool.port, 0],
                }
            )
        )
        for _ in range(200):
            if second_stratum_pool.connections and upstream.connected.is_set():
                break
            await asyncio.sleep(0.02)
        assert upstream.client is not None
        assert upstream.client.endpoint.port == second_stratum_pool.port
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def reconnect_message(host: str, port: int, wait_s: Any = 0) -> str:
    return json.dumps({"id": None, "method": "client.reconnect", "params": [host, port, wait_s]})


async def handled_after(client: StratumClient, pool: Any, block_notify: list[Any]) -> None:
    """Send a job behind what was sent before and wait until the client has it (or is gone)."""
    await pool.notify(["after", *block_notify[1:]])
    async with asyncio.timeout(10):
        while not client.closed.is_set() and (
            client.session.job is None or client.session.job.job_id != "after"
        ):
            await asyncio.sleep(0.01)


class TestRedirects:
    async def test_reconnect_to_another_host_is_refused(
        self, stratum_pool: Any, other_host_pool: Any, block_notify: list[Any]
    ) -> None:
        """client.reconnect to another host is not followed: the login never reaches it.

        The session goes on; after a drop the upstream goes back to the configured pool.
        """
        refusals: list[tuple[str, str]] = []
        upstream = StratumUpstream(
            [endpoint(stratum_pool.port)],
            lambda e: StratumClient(e, on_refusal=lambda kind, what: refusals.append((kind, what))),
            backoff_initial_s=0.05,
        )
        task = asyncio.create_task(upstream.run())
        await asyncio.wait_for(upstream.connected.wait(), 5)
        first = upstream.client
        assert first is not None
        await stratum_pool.broadcast(reconnect_message("127.0.0.2", other_host_pool.port))
        await handled_after(first, stratum_pool, block_notify)
        assert not first.closed.is_set(), "the session was dropped for the redirect"
        assert refusals == [("redirect", f"127.0.0.2:{other_host_pool.port}")]
        await stratum_pool.drop_all()
        async with asyncio.timeout(10):
            while stratum_pool.connections < 2 or not upstream.connected.is_set():
                await asyncio.sleep(0.02)
        assert other_host_pool.connections == 0, "the pool login went to the redirect's host"
        assert upstream.client is not None and upstream.client.endpoint.host == "127.0.0.1"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    async def test_operator_may_allow_redirects(
        self, stratum_pool: Any, other_host_pool: Any
    ) -> None:
        """With allow_redirect the client follows the pool to another host."""
        upstream = StratumUpstream(
            [endpoint(stratum_pool.port)],
            lambda e: StratumClient(e, allow_redirect=True),
            backoff_initial_s=0.05,
        )
        task = asyncio.create_task(upstream.run())
        await asyncio.wait_for(upstream.connected.wait(), 5)
        await stratum_pool.broadcast(reconnect_message("127.0.0.2", other_host_pool.port))
        async with asyncio.timeout(10):
            while other_host_pool.connections == 0 or not upstream.connected.is_set():
                await asyncio.sleep(0.02)
        assert upstream.client is not None
        assert (upstream.client.endpoint.host, upstream.client.endpoint.port) == (
            "127.0.0.2",
            other_host_pool.port,
        )
        assert upstream.client.session.authorized
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    @pytest.mark.parametrize(
        "params",
        [["127.0.0.1", 70000, 0], ["127.0.0.1", "x", 0], ["127.0.0.1", 0, "NaN"]],
        ids=["port-out-of-range", "port-not-a-number", "wait-nan"],
    )
    async def test_malformed_reconnect_is_skipped(
        self, stratum_pool: Any, block_notify: list[Any], params: list[Any]
    ) -> None:
        """A reconnect with a bad port or wait is skipped; the session goes on."""
        client = StratumClient(endpoint(stratum_pool.port))
        await client.connect()
        await stratum_pool.broadcast(
            json.dumps({"id": None, "method": "client.reconnect", "params": params})
        )
        await handled_after(client, stratum_pool, block_notify)
        assert not client.closed.is_set() and client.reconnect_to is None
        await client.close()


class TestPoolUrl:
    @pytest.mark.parametrize(
        ("url", "tls"),
        [("stratum+tcp://pool.example:3333", False), ("stratum+ssl://pool.example:443", True)],
    )
    def test_schemes(self, url: str, tls: bool) -> None:
        """stratum+tcp and stratum+ssl URLs parse to host, port and TLS."""
        parsed = parse_pool_url(url, "user")
        assert (parsed.host, parsed.tls) == ("pool.example", tls)

    @pytest.mark.parametrize(
        "url", ["http://pool:1", "stratum+tcp://pool", "stratum+tcp://:3333", "stratum+tcp://p:x"]
    )
    def test_bad_urls_name_the_pool_field(self, url: str) -> None:
        """A URL that is not stratum+tcp/ssl with HOST:PORT is refused naming 'pool'."""
        with pytest.raises(StratumJobError) as info:
            parse_pool_url(url, "user")
        assert info.value.field == "pool"

    @pytest.mark.parametrize(
        "url", ["stratum+tcp://acct:secret@pool:3333", "stratum+tcp://acct@pool:3333"]
    )
    def test_credentials_in_the_url_are_refused(self, url: str) -> None:
        """USER:PASSWORD@ in the URL is refused (the URL is a metric label), without echoing it."""
        with pytest.raises(StratumJobError) as info:
            parse_pool_url(url, "user")
        assert info.value.field == "pool" and "secret" not in str(info.value)
