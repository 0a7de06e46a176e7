"""Transport: TLS and mTLS, bearer tokens over TLS, address in use, the metrics endpoint."""

from __future__ import annotations

import logging
import shutil
import subprocess
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry
from spw_helpers import AUTH, SPILLWAY, free_port, make_settings, scrape

from service.domain import TlsFiles
from service.errors import ConfigError
from service.rpc.server import build_server, open_calls_warning
from spillway.v1 import operator_pb2, operator_pb2_grpc

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    root = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=spillway test CA",
        cwd=root,
    )
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        _openssl(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=root,
        )
        (root / f"{name}.ext").write_text(ext + "\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=root,
        )
    return root


class TestTls:
    async def test_tls_with_token(self, tmp_path: Path, pki: Path) -> None:
        """Over TLS a client that trusts the CA calls with its bearer token."""
        settings = make_settings(
            tmp_path, tls=TlsFiles(pki / "server.pem", pki / "server.key", None)
        )
        server, port = await build_server(settings, registry=CollectorRegistry())
        creds = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.pem").read_bytes())
        try:
            async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds) as channel:
                stub = operator_pb2_grpc.OperatorServiceStub(channel)
                reply = await stub.ClearBudgetOverride(
                    operator_pb2.ClearBudgetOverrideRequest(site="alpha"), metadata=AUTH
                )
                assert reply.cleared is False
        finally:
            await server.stop(0)

    async def test_plaintext_health_port_beside_mtls(self, tmp_path: Path, pki: Path) -> None:
        """With mTLS on the main port, probes get health in plaintext on --health-listen only."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        health_port = free_port()
        settings = make_settings(
            tmp_path,
            tls=TlsFiles(pki / "server.pem", pki / "server.key", pki / "ca.pem"),
            health_listen=f"127.0.0.1:{health_port}",
        )
        server, _ = await build_server(settings, registry=CollectorRegistry())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await operator_pb2_grpc.OperatorServiceStub(channel).GetStatus(
                    operator_pb2.GetStatusRequest()
                )
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
            await server.health.enter_graceful_shutdown()
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await server.stop(0)

    async def test_mtls_refuses_client_without_certificate(self, tmp_path: Path, pki: Path) -> None:
        """With a client CA, a client without a certificate cannot call; one with it can."""
        settings = make_settings(
            tmp_path, tls=TlsFiles(pki / "server.pem", pki / "server.key", pki / "ca.pem")
        )
        server, port = await build_server(settings, registry=CollectorRegistry())
        ca = (pki / "ca.pem").read_bytes()
        try:
            bare = grpc.ssl_channel_credentials(root_certificates=ca)
            async with grpc.aio.secure_channel(f"127.0.0.1:{port}", bare) as channel:
                stub = operator_pb2_grpc.OperatorServiceStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.GetStatus(operator_pb2.GetStatusRequest(), timeout=5)
                assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            full = grpc.ssl_channel_credentials(
                root_certificates=ca,
                private_key=(pki / "client.key").read_bytes(),
                certificate_chain=(pki / "client.pem").read_bytes(),
            )
            async with grpc.aio.secure_channel(f"127.0.0.1:{port}", full) as channel:
                stub = operator_pb2_grpc.OperatorServiceStub(channel)
                reply = await stub.GetStatus(operator_pb2.GetStatusRequest(), timeout=5)
                assert reply.server_time.seconds > 0
        finally:
            await server.stop(0)

    async def test_unreadable_certificate_is_config_error(self, tmp_path: Path) -> None:
        """A missing certificate file fails at start naming TLS."""
        settings = make_settings(
            tmp_path, tls=TlsFiles(tmp_path / "nope.pem", tmp_path / "nope.key", None)
        )
        with pytest.raises(ConfigError, match="tls"):
            await build_server(settings, registry=CollectorRegistry())


class TestListen:
    async def test_address_in_use_fails_at_once(self, tmp_path: Path) -> None:
        """A second coordinator on a taken port fails at once with a clear message."""
        first, port = await build_server(
            make_settings(tmp_path / "a"), registry=CollectorRegistry()
        )
        try:
            with pytest.raises(
                ConfigError, match=f"grpc_listen: cannot listen on 127.0.0.1:{port}"
            ):
                await build_server(
                    make_settings(tmp_path / "b", grpc_listen=f"127.0.0.1:{port}"),
                    registry=CollectorRegistry(),
                )
        finally:
            await first.stop(0)

    def test_serve_command_exits_2_when_port_taken(self, tmp_path: Path) -> None:
        """``spillway serve`` on a taken port exits with status 2 and one line naming it."""
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            port = sock.getsockname()[1]
            done = subprocess.run(
                [
                    *SPILLWAY,
                    "serve",
                    "--grpc-listen",
                    f"127.0.0.1:{port}",
                    "--metrics-listen",
                    "off",
                    "--data-dir",
                    str(tmp_path),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert done.returncode == 2
        assert f"grpc_listen: cannot listen on 127.0.0.1:{port}" in done.stderr


class TestOpenCalls:
    @pytest.mark.parametrize(
        "listen", ["0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051", "coordinator.lan:50051"]
    )
    def test_open_calls_off_loopback_are_warned(self, listen: str) -> None:
        """No token on a network address: a warning naming the address and the risk."""
        warning = open_calls_warning(listen, None)
        assert warning is not None and listen in warning and "--auth-token-file" in warning
        assert open_calls_warning(listen, "token") is None

    @pytest.mark.parametrize("listen", ["127.0.0.1:1", "[::1]:1", "localhost:1", "127.0.0.2:1"])
    def test_loopback_is_not_warned(self, listen: str) -> None:
        assert open_calls_warning(listen, None) is None

    async def test_loopback_start_without_token_is_quiet(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A real start on 127.0.0.1 without a token logs no open-calls warning."""
        with caplog.at_level(logging.WARNING):
            running, _ = await build_server(
                make_settings(tmp_path, auth_token=None), registry=CollectorRegistry()
            )
            await running.stop(0)
        assert not [r for r in caplog.records if "auth-token-file" in r.getMessage()]


class TestMetricsEndpoint:
    async def test_scrape_shows_grpc_series_up_front(self, tmp_path: Path) -> None:
        """The HTTP endpoint serves gRPC series before any call, and counts a call."""
        metrics_port = free_port()
        registry = CollectorRegistry()
        server, port = await build_server(
            make_settings(tmp_path, metrics_listen=f"127.0.0.1:{metrics_port}"), registry=registry
        )
        try:
            labels = (
                ("grpc_code", "OK"),
                ("grpc_method", "GetStatus"),
                ("grpc_service", "spillway.v1.OperatorService"),
                ("grpc_type", "unary"),
            )
            before = scrape(metrics_port)
            assert before[("grpc_server_handled_total", labels)] == 0
            assert ("spillway_workers_connected", ()) in before
            assert ("spillway_plan_solve_seconds_count", (("warm", "false"),)) in before
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await operator_pb2_grpc.OperatorServiceStub(channel).GetStatus(
                    operator_pb2.GetStatusRequest()
                )
            assert scrape(metrics_port)[("grpc_server_handled_total", labels)] == 1
            if shutil.which("promtool"):
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as reply:
                    text = reply.read()
                check = subprocess.run(
                    ["promtool", "check", "metrics"], input=text, capture_output=True
                )
                assert check.returncode == 0, check.stdout + check.stderr
        finally:
            await server.stop(0)

    async def test_graceful_stop_goes_not_serving(self, tmp_path: Path) -> None:
        """On stop, health answers NOT_SERVING (or the call fails) and the store is flushed."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        server, port = await build_server(make_settings(tmp_path), registry=CollectorRegistry())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            assert (await stub.Check(health_pb2.HealthCheckRequest())).status == 1
            await server.health.enter_graceful_shutdown()
            assert (await stub.Check(health_pb2.HealthCheckRequest())).status == 2
        await server.stop(0)
        assert not (tmp_path / "coordinator.sqlite3-wal").exists() or (
            (tmp_path / "coordinator.sqlite3-wal").stat().st_size == 0
        )


class TestWorkerOverTls:
    async def test_worker_joins_over_mtls(self, tmp_path: Path, pki: Path) -> None:
        """A worker with the CA, a client certificate and the token connects over mTLS."""
        import asyncio

        from spw_helpers import TOKEN

        import kernels
        from service.worker.core import Worker
        from service.worker.settings import WorkerSettings

        settings = make_settings(
            tmp_path / "c", tls=TlsFiles(pki / "server.pem", pki / "server.key", pki / "ca.pem")
        )
        coordinator_registry = CollectorRegistry()
        server, port = await build_server(settings, registry=coordinator_registry)
        backend = kernels.CpuBackend(threads=1)
        registry = CollectorRegistry()
        worker = Worker(
            WorkerSettings(
                coordinator=f"localhost:{port}",
                site="tls",
                worker_name="t1",
                data_dir=tmp_path / "w",
                auth_token=TOKEN,
                tls=TlsFiles(pki / "client.pem", pki / "client.key", pki / "ca.pem"),
            ),
            backend,
            registry,
        )
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(100):
                if registry.get_sample_value("spillway_coordinator_connected") == 1:
                    break
                await asyncio.sleep(0.1)
            assert registry.get_sample_value("spillway_coordinator_connected") == 1
            assert coordinator_registry.get_sample_value("spillway_workers_connected") == 1
        finally:
            worker.stop.set()
            await task
            backend.close()
            await server.stop(0)
