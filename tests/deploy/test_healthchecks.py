"""The deployment's health checks, run for real: the images' HEALTHCHECK one-liner
against a coordinator started the way compose starts it (SPILLWAY_* variables, the
example scenario), and the workers' check (compose healthcheck, Kubernetes readiness)
against a worker started the same way.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from service.metrics import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SPILLWAY = [sys.executable, "-m", "service.cli"]
SCENARIO = DEPLOY / "scenario" / "three-bus"


def dockerfile_healthcheck(name: str) -> list[str]:
    text = (DEPLOY / "docker" / name).read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert match, f"{name}: no HEALTHCHECK CMD [...]"
    command: list[str] = json.loads(match.group(1))
    return command


def compose_worker_healthcheck() -> list[str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    test: list[str] = compose["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return test[1:]


def k8s_worker_readiness() -> list[str]:
    daemonset = next(yaml.safe_load_all((DEPLOY / "k8s" / "worker.yaml").read_text()))
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    command: list[str] = container["readinessProbe"]["exec"]["command"]
    return command


def local(command: list[str], metrics_port: int | None = None) -> list[str]:
    """The container command for this machine: this Python, the test's metrics port."""
    assert command[0] == "python"
    rest = command[1:]
    if metrics_port is not None:
        rest = [part.replace("127.0.0.1:9464", f"127.0.0.1:{metrics_port}") for part in rest]
    return [sys.executable, *rest]


def check(command: list[str], env: dict[str, str]) -> bool:
    result = subprocess.run(command, env=env, capture_output=True, timeout=30)
    return result.returncode == 0


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in reversed(started):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def spawn(
    processes: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        proc = subprocess.Popen([*SPILLWAY, *args], env=env, stdout=handle, stderr=handle)
    processes.append(proc)
    return proc


def test_worker_checks_agree() -> None:
    assert compose_worker_healthcheck() == k8s_worker_readiness()


def test_images_share_one_healthcheck() -> None:
    assert dockerfile_healthcheck("cpu.Dockerfile") == dockerfile_healthcheck("cuda.Dockerfile")


def test_healthchecks_against_running_services(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    grpc_port, metrics_port, worker_metrics_port = free_port(), free_port(), free_port()
    base = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # As compose sets it (the image's defaults listen on 0.0.0.0; loopback here).
    coordinator_env = {
        **base,
        "SPILLWAY_GRPC_LISTEN": f"127.0.0.1:{grpc_port}",
        "SPILLWAY_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
        "SPILLWAY_DATA_DIR": str(tmp_path / "coordinator"),
        "SPILLWAY_SCENARIO": str(SCENARIO),
        "SPILLWAY_PLAN_MODE": "curtailment-only",
    }
    healthcheck = local(dockerfile_healthcheck("cpu.Dockerfile"))
    assert not check(healthcheck, coordinator_env), "healthy before the coordinator runs"
    coordinator = spawn(processes, ["serve"], coordinator_env, tmp_path / "coordinator.log")
    wait_for(
        lambda: coordinator.poll() is None and check(healthcheck, coordinator_env),
        60,
        "the HEALTHCHECK to pass",
    )
    # The example scenario plans at start.
    wait_for(
        lambda: metric(metrics_port, "spillway_plan_solve_seconds_count") >= 1,
        60,
        "the scenario's plan",
    )

    worker_env = {
        **base,
        "SPILLWAY_COORDINATOR": f"127.0.0.1:{grpc_port}",
        "SPILLWAY_SITE": "site-north",
        "SPILLWAY_WORKER_NAME": "deploy-test",
        "SPILLWAY_BACKEND": "cpu",
        "SPILLWAY_METRICS_LISTEN": f"127.0.0.1:{worker_metrics_port}",
        "SPILLWAY_DATA_DIR": str(tmp_path / "worker"),
    }
    worker_check = local(compose_worker_healthcheck(), worker_metrics_port)
    worker = spawn(processes, ["worker", "--threads", "1"], worker_env, tmp_path / "worker.log")
    wait_for(
        lambda: worker.poll() is None and check(worker_check, worker_env),
        60,
        "the worker's health check to pass",
    )
    assert metric(metrics_port, "spillway_workers_connected") == 1

    # Graceful stop: the worker's check fails once its coordinator is gone.
    coordinator.send_signal(signal.SIGTERM)
    assert coordinator.wait(timeout=20) == 0
    assert not check(healthcheck, coordinator_env)
    wait_for(lambda: not check(worker_check, worker_env), 60, "the worker's check to fail")
