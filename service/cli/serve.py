"""``spillway serve``: run the coordinator (flags, or ``SPILLWAY_*`` environment variables)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from service.cli.common import env, read_token, tls_files
from service.coordinator.pool_bridge import PoolSettings
from service.coordinator.settings import CoordinatorSettings
from service.demo.settings import DemoSettings
from service.errors import ConfigError
from service.rpc.server import serve
from service.stratum.client import parse_pool_url
from service.stratum.errors import StratumJobError

__all__ = ["register"]


# The flags' defaults are the settings' own (``--help`` shows them).
_COORDINATOR = CoordinatorSettings()
_DEMO = DemoSettings()


def register(commands: Any) -> None:
    """Add ``serve`` to the ``spillway`` parser."""
    parser = commands.add_parser("serve", help="run the coordinator (gRPC + metrics)")
    _add_listen_flags(parser)
    _add_security_flags(parser)
    _add_ledger_flags(parser)
    _add_pool_flags(parser.add_argument_group("Stratum pool (--pool)"))
    _add_demo_flags(parser.add_argument_group("demo (--demo)"))
    parser.set_defaults(run=run)


def _add_listen_flags(parser: argparse.ArgumentParser) -> None:
    """Where the coordinator listens and keeps its state; what it plans at start."""
    d = _COORDINATOR
    parser.add_argument("--grpc-listen", default=env("GRPC_LISTEN", d.grpc_listen))
    parser.add_argument(
        "--health-listen",
        default=env("HEALTH_LISTEN"),
        help="HOST:PORT of a plaintext gRPC port serving only grpc.health.v1 (probes)",
    )
    parser.add_argument(
        "--metrics-listen",
        default=env("METRICS_LISTEN", d.metrics_listen),
        help="HOST:PORT of the Prometheus endpoint; 'off' for none",
    )
    parser.add_argument("--data-dir", default=env("DATA_DIR", str(d.data_dir)))
    parser.add_argument(
        "--scenario",
        default=env("SCENARIO"),
        help="PyPSA folder or MATPOWER case to plan at start (from the current period)",
    )
    parser.add_argument(
        "--plan-mode",
        default=env("PLAN_MODE", d.plan_mode),
        choices=["co-optimised", "curtailment-only"],
    )
    parser.add_argument(
        "--horizon-hours",
        type=float,
        default=env("HORIZON_HOURS", str(d.horizon_hours)),
        help="a scenario at real times rolls: each re-plan covers this many hours from now",
    )
    parser.add_argument("--grace-seconds", type=float, default=env("GRACE_SECONDS", str(d.grace_s)))
    parser.add_argument(
        "--share-difficulty",
        type=float,
        default=env("SHARE_DIFFICULTY", str(d.share_difficulty)),
    )
    parser.add_argument(
        "--budget-hold-seconds",
        type=float,
        default=env("BUDGET_HOLD_SECONDS", str(d.budget_hold_s)),
        help="how long a worker holds a budget without news",
    )
    parser.add_argument("--hash-threads", type=int, default=d.hash_threads)


def _add_security_flags(parser: argparse.ArgumentParser) -> None:
    """TLS, mTLS and the bearer token."""
    parser.add_argument("--tls-cert", default=env("TLS_CERT"))
    parser.add_argument("--tls-key", default=env("TLS_KEY"))
    parser.add_argument(
        "--tls-client-ca", default=env("TLS_CLIENT_CA"), help="require client certs (mTLS)"
    )
    parser.add_argument("--auth-token-file", default=env("AUTH_TOKEN_FILE"))


def _add_ledger_flags(parser: argparse.ArgumentParser) -> None:
    """The ledger's period, prices and clock tolerance."""
    d = _COORDINATOR
    parser.add_argument(
        "--period-seconds",
        type=float,
        default=env("PERIOD_SECONDS", str(d.period_s)),
        help="ledger period",
    )
    parser.add_argument(
        "--contract-prices",
        default=env("CONTRACT_PRICES"),
        help="CSV plant,price_per_mwh: contract prices the ledger pays those plants",
    )
    parser.add_argument(
        "--telemetry-clock-skew-seconds",
        type=float,
        default=env("TELEMETRY_CLOCK_SKEW_SECONDS", str(d.telemetry_clock_skew_s)),
        help="refuse signed telemetry whose window ends this far ahead of the coordinator's clock",
    )


def _add_pool_flags(pool: Any) -> None:
    """Stratum pools to mine for."""
    pool.add_argument(
        "--pool",
        action="append",
        metavar="URL",
        help="stratum+tcp://HOST:PORT or stratum+ssl://HOST:PORT to mine for; repeat for"
        " failover pools in priority order (SPILLWAY_POOL: comma-separated)",
    )
    pool.add_argument("--pool-user", default=env("POOL_USER"), help="the pool account (.worker)")
    pool.add_argument("--pool-password", default=env("POOL_PASSWORD", "x"))
    pool.add_argument(
        "--pool-tls-ca",
        default=env("POOL_TLS_CA"),
        help="CA bundle for stratum+ssl pools (default: the system's CAs)",
    )
    pool.add_argument(
        "--pool-allow-redirect",
        action="store_true",
        default=(env("POOL_ALLOW_REDIRECT") or "").lower() in ("1", "true", "yes"),
        help="follow a pool's client.reconnect to another host (the pool login goes there);"
        " default: only to another port of the same host",
    )


def _add_demo_flags(demo: Any) -> None:
    """The embedded demo's clock and power mapping."""
    demo.add_argument(
        "--demo",
        action="store_true",
        help="play the embedded demo day with one in-process CPU worker per site",
    )
    demo.add_argument(
        "--demo-period-seconds",
        type=float,
        default=env("DEMO_PERIOD_SECONDS", str(_DEMO.period_s)),
        help=f"wall seconds per hourly planning period (default {_DEMO.period_s:g})",
    )
    demo.add_argument(
        "--demo-cpu-watts",
        type=float,
        default=env("DEMO_CPU_WATTS", str(_DEMO.cpu_w)),
        help="power of one CPU thread hashing flat out; a site's full capacity maps to it",
    )


def pool_settings(
    urls: list[str] | None,
    user: str | None,
    password: str,
    *,
    tls_ca: str | None = None,
    allow_redirect: bool = False,
) -> PoolSettings | None:
    """Pools from ``--pool`` (or ``SPILLWAY_POOL``); None when none is given.

    Raises
    ------
    ConfigError
        Naming ``pool`` for a bad URL, ``pool_user`` when it is missing.
    """
    if not urls:
        urls = [u for u in re.split(r"[,\s]+", env("POOL") or "") if u]
    if not urls:
        return None
    if not user:
        raise ConfigError("pool_user: --pool-user (or SPILLWAY_POOL_USER) is needed with --pool")
    try:
        endpoints = tuple(parse_pool_url(url, user, password or "x") for url in urls)
    except StratumJobError as exc:
        raise ConfigError(f"{exc.field}: --{exc.field.replace('_', '-')} {exc.problem}") from exc
    return PoolSettings(
        endpoints, tls_ca=Path(tls_ca) if tls_ca else None, allow_redirect=allow_redirect
    )


def run(args: argparse.Namespace) -> int:
    """``spillway serve``."""
    try:
        if not args.horizon_hours > 0:
            raise ConfigError("horizon_hours: --horizon-hours must be above zero")
        if not args.telemetry_clock_skew_seconds >= 0:
            raise ConfigError("telemetry_clock_skew_s: --telemetry-clock-skew-seconds must be >= 0")
        settings = CoordinatorSettings(
            grpc_listen=args.grpc_listen,
            health_listen=args.health_listen,
            metrics_listen=None if args.metrics_listen == "off" else args.metrics_listen,
            data_dir=Path(args.data_dir),
            scenario=Path(args.scenario) if args.scenario else None,
            plan_mode=args.plan_mode,
            horizon_hours=args.horizon_hours,
            tls=tls_files(args.tls_cert, args.tls_key, args.tls_client_ca),
            auth_token=read_token(args.auth_token_file),
            grace_s=args.grace_seconds,
            share_difficulty=args.share_difficulty,
            period_s=args.period_seconds,
            contract_prices=Path(args.contract_prices) if args.contract_prices else None,
            telemetry_clock_skew_s=args.telemetry_clock_skew_seconds,
            budget_hold_s=args.budget_hold_seconds,
            hash_threads=args.hash_threads,
            pool=pool_settings(
                args.pool,
                args.pool_user,
                args.pool_password,
                tls_ca=args.pool_tls_ca,
                allow_redirect=args.pool_allow_redirect,
            ),
        )
        if args.demo:
            if not (args.demo_period_seconds > 0 and args.demo_cpu_watts > 0):
                raise ConfigError("demo_period_seconds, demo_cpu_watts: must be above zero")
            from service.demo.core import run_demo

            demo = DemoSettings(period_s=args.demo_period_seconds, cpu_w=args.demo_cpu_watts)
            return run_demo(settings, demo)
        asyncio.run(serve(settings, registry=CollectorRegistry()))
    except ConfigError as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    return 0
