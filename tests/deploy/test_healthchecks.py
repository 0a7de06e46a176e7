"""The deployment's health checks, run for real: the images' HEALTHCHECK one-liner
against a coordinator started the way compose starts it (SPILLWAY_* variables, the
example scenario), and the workers' check (compose healthcheck, Kubernetes readiness)
against a worker started the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from service.testing import free_port

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


def k8s_worker_readiness() -> str:
    """The path the DaemonSet's readiness probe GETs on the metrics port (9464)."""
    daemonset = next(yaml.safe_load_all((DEPLOY / "k8s" / "worker.yaml").read_text()))
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    probe = container["readinessProbe"]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports[probe["port"]] == 9464
    path: str = probe["path"]
    return path


def http_ok(port: int, path: str) -> bool:
    """What a kubelet's httpGet probe sees: a 2xx answer (else a failed probe)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return 200 <= reply.status < 400
    except OSError:  # HTTPError (503) and refused connections alike
        return False


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
    """Compose and Kubernetes ask the worker the same thing: its /healthz on 9464."""
    path = k8s_worker_readiness()
    assert path == "/healthz"
    assert f"http://127.0.0.1:9464{path}" in " ".join(compose_worker_healthcheck())


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
        lambda: metric(metrics_port, 'spillway_plan_solve_seconds_count{warm="false"}') >= 1,
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
    readiness = k8s_worker_readiness()
    wait_for(
        lambda: worker.poll() is None and check(worker_check, worker_env),
        60,
        "the worker's health check to pass",
    )
    assert http_ok(worker_metrics_port, readiness)
    assert metric(metrics_port, "spillway_workers_connected") == 1

    # Graceful stop: the worker's check fails once its coordinator is gone.
    coordinator.send_signal(signal.SIGTERM)
    assert coordinator.wait(timeout=20) == 0
    assert not check(healthcheck, coordinator_env)
    wait_for(lambda: not check(worker_check, worker_env), 60, "the worker's check to fail")
    assert not http_ok(worker_metrics_port, readiness)
    assert metric(worker_metrics_port, "spillway_coordinator_connected") == 0


# --- the real stack under the deployment's Prometheus config and rules -------------


# Not exported yet (see deploy/README.md): their panels are empty.
MISSING_METRICS: tuple[str, ...] = ()
# Series that exist only with a Stratum upstream (`serve --pool`), which this stack has
# not: their queries must run, and may come back empty.
UPSTREAM_ONLY = ("spillway_pool_connected", "spillway_pool_shares_total")
GRAFANA_VARIABLES = {"$__rate_interval": "5s", "$__range": "5m", "$site": ".*"}


def prometheus_query(port: int, expr: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as reply:
        body = json.loads(reply.read())
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, object]] = body["data"]["result"]
    return result


@pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs Debian's prometheus (make test installs it)"
)
def test_stack_under_deploy_prometheus(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    grpc_port, metrics_port, worker_metrics_port, prom_port = (free_port() for _ in range(4))
    base = {**os.environ, "PYTHONUNBUFFERED": "1"}
    spawn(
        processes,
        ["serve"],
        {
            **base,
            "SPILLWAY_GRPC_LISTEN": f"127.0.0.1:{grpc_port}",
            "SPILLWAY_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
            "SPILLWAY_DATA_DIR": str(tmp_path / "coordinator"),
            "SPILLWAY_SCENARIO": str(SCENARIO),
        },
        tmp_path / "coordinator.log",
    )
    wait_for(
        lambda: check(
            local(dockerfile_healthcheck("cpu.Dockerfile")),
            {**base, "SPILLWAY_GRPC_LISTEN": f"127.0.0.1:{grpc_port}"},
        ),
        60,
        "the coordinator",
    )
    spawn(
        processes,
        ["worker", "--threads", "1", "--telemetry-seconds", "1"],
        {
            **base,
            "SPILLWAY_COORDINATOR": f"127.0.0.1:{grpc_port}",
            "SPILLWAY_SITE": "site-north",
            "SPILLWAY_BACKEND": "cpu",
            "SPILLWAY_METRICS_LISTEN": f"127.0.0.1:{worker_metrics_port}",
            "SPILLWAY_DATA_DIR": str(tmp_path / "worker"),
        },
        tmp_path / "worker.log",
    )
    # deploy/prometheus/prometheus.yml with local targets, fast intervals, and its rules.
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(DEPLOY / "prometheus" / "rules.yml")]
    targets = {
        "spillway-coordinator": metrics_port,
        "spillway-worker": worker_metrics_port,
        "prometheus": prom_port,
    }
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [f"127.0.0.1:{targets[job['job_name']]}"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    with (tmp_path / "prometheus.log").open("wb") as log:
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=log,
            stderr=log,
        )
    processes.insert(0, prometheus)

    def ready(expr: str) -> bool:
        try:
            return bool(prometheus_query(prom_port, expr))
        except OSError:
            return False

    wait_for(lambda: ready('sum(up{job=~"spillway-.*"}) == 2'), 60, "both jobs up")
    wait_for(
        lambda: ready('rate(spillway_hashes_total{job="spillway-worker"}[10s]) > 0'),
        60,
        "the worker hashing",
    )
    wait_for(
        lambda: ready(
            'sum(spillway_shares_total{job="spillway-coordinator",result="accepted"}) > 0'
        ),
        60,
        "an accepted share",
    )
    time.sleep(3)  # a few more scrapes for the rates

    # Every dashboard query runs, and returns series unless its metric is still missing.
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "spillway.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            result = prometheus_query(prom_port, expr)
            if not any(name in expr for name in (*MISSING_METRICS, *UPSTREAM_ONLY)):
                assert result, (panel["title"], expr)

    def value(expr: str) -> float:
        (sample,) = prometheus_query(prom_port, expr)
        return float(sample["value"][1])  # type: ignore[index]

    # The rolling horizon's panels: the coordinator serving --scenario exports them (a
    # scenario of snapshot names, not times, plans once: no window, no re-plans yet).
    def panel_series(title: str) -> list[dict[str, object]]:
        (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
        found = []
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, substitute in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, substitute)
            found += prometheus_query(prom_port, expr)
        return found

    window = panel_series("Plan window")
    assert sorted(r["metric"]["__name__"] for r in window) == [  # type: ignore[index]
        "spillway_forecast_horizon_seconds", "spillway_plan_horizon_seconds",
    ]  # fmt: skip
    replans = panel_series("Re-plans")
    assert sorted(r["metric"]["result"] for r in replans) == ["adopted", "failed"]  # type: ignore[index]
    assert all(float(r["value"][1]) == 0 for r in replans)  # type: ignore[index]
    (short,) = panel_series("Forecast short of the window")
    assert float(short["value"][1]) == 0  # type: ignore[index]

    # The grid-signal panels: no signal holds site-north, whose budget comes from the plan.
    reasons = panel_series("Budget reason per site")
    assert {(r["metric"]["site"], r["metric"]["reason"]) for r in reasons} >= {  # type: ignore[index]
        ("site-north", "plan")
    }
    active = [r for r in panel_series("Grid signals active") if r["metric"]["site"] == "site-north"]  # type: ignore[index]
    assert sorted(r["metric"]["kind"] for r in active) == ["load_dispatch", "price", "simple"]  # type: ignore[index]
    assert all(float(r["value"][1]) == 0 for r in active)  # type: ignore[index]
    assert {float(r["value"][1]) for r in panel_series("Grid signal ends in")} == {0.0}  # type: ignore[index]

    north = 'job="spillway-coordinator",site="site-north"'
    assert value(f"spillway_power_budget_watts{{{north}}}") > 0
    assert value(f"spillway_power_watts{{{north}}}") > 0
    assert value('spillway_workers_connected{job="spillway-coordinator"}') == 1
    # J/TH from the counters: the worker's power model is 1.5 J/MH = 1.5e6 J/TH.
    (j_per_th,) = [
        t["expr"]
        for p in dashboard["panels"]
        for t in p["targets"]
        if p["title"].startswith("Energy per hash") and t["legendFormat"].startswith("farm")
    ]
    for variable, substitute in {**GRAFANA_VARIABLES, "$__rate_interval": "30s"}.items():
        j_per_th = j_per_th.replace(variable, substitute)
    assert value(j_per_th) == pytest.approx(1.5e6, rel=0.02)

    # The alerts: quiet on this healthy stack, but for the hashrate one: the plan gives
    # site-north a budget in MW, far beyond one CPU thread, and it fires for that worker.
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            result = prometheus_query(prom_port, rule["expr"])
            if rule["alert"] == "SpillwayHashrateFarBelowExpected":
                instances = [r["metric"]["instance"] for r in result]  # type: ignore[index]
                assert instances == [f"127.0.0.1:{worker_metrics_port}"]
            else:
                assert result == [], rule["alert"]
