"""``spillway serve``: run the coordinator (flags, or ``SPILLWAY_*`` environment variables)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from service.cli.common import (
    ENV_EPILOG,
    PLAN_MODE_HELP,
    PLAN_MODES,
    Given,
    GivenAlias,
    env,
    positive_float,
    read_token,
    tls_files,
)
from service.cli.serve_demo import add_demo_flags, check_demo_flags, run_demo_command
from service.coordinator.pool_bridge import PoolSettings
from service.coordinator.settings import CoordinatorSettings
from service.errors import ConfigError
from service.rpc.server import serve
from service.signals.errors import VenError
from service.signals.price_rule import PriceRule
from service.signals.ven import VenSettings
from service.stratum.client import parse_pool_url
from service.stratum.errors import StratumJobError

__all__ = ["coordinator_settings", "register"]


# The flags' defaults are the settings' own (``--help`` shows them).
_COORDINATOR = CoordinatorSettings()
_VEN_STALE_S = next(f.default for f in fields(VenSettings) if f.name == "stale_s")


def register(commands: Any) -> None:
    """Add ``serve`` to the ``spillway`` parser."""
    parser = commands.add_parser(
        "serve", help="run the coordinator (gRPC + metrics)", epilog=ENV_EPILOG
    )
    _add_listen_flags(parser)
    _add_security_flags(parser)
    _add_ledger_flags(parser)
    _add_share_limit_flags(parser)
    _add_pool_flags(parser.add_argument_group("Stratum pool (--pool)"))
    _add_openadr_flags(parser.add_argument_group("OpenADR 2.0b VEN (--openadr-vtn-url)"))
    _add_price_rule_flags(parser.add_argument_group("price rule (--curtail-above)"))
    add_demo_flags(parser.add_argument_group("demo (--demo)"))
    parser.set_defaults(run=run)


def _add_listen_flags(parser: argparse.ArgumentParser) -> None:
    """Where the coordinator listens and keeps its state; what it plans at start."""
    d = _COORDINATOR
    parser.add_argument(
        "--grpc-listen",
        default=env("GRPC_LISTEN", d.grpc_listen),
        help="HOST:PORT of the gRPC API (workers, operators, planner, ledger)",
    )
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
    parser.add_argument(
        "--data-dir",
        action=Given,
        default=env("DATA_DIR", str(d.data_dir)),
        help="where the coordinator keeps its state: coordinator.sqlite3, ledger.sqlite and the"
        " ledger's signing key ledger_ed25519.pem (with --demo: the demo's state, kept;"
        " without it the demo uses a temporary folder)",
    )
    parser.add_argument(
        "--scenario",
        action=Given,
        default=env("SCENARIO"),
        help="PyPSA folder or MATPOWER case to plan at start (from the current period)",
    )
    parser.add_argument(
        "--mode",
        dest="plan_mode",
        action=Given,
        default=env("PLAN_MODE", d.plan_mode),
        choices=PLAN_MODES,
        help="mode of the plan made from --scenario (SPILLWAY_PLAN_MODE); " + PLAN_MODE_HELP,
    )
    parser.add_argument(
        "--plan-mode",
        dest="plan_mode",
        choices=PLAN_MODES,
        action=GivenAlias,
        new_name="--mode",
        help="deprecated name of --mode (still works; warns on stderr; SPILLWAY_PLAN_MODE)",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=env("GRACE_SECONDS", str(d.grace_s)),
        help="on SIGTERM, how long calls in flight get to finish before the server stops",
    )
    parser.add_argument(
        "--horizon-hours",
        type=float,
        default=env("HORIZON_HOURS", str(d.horizon_hours)),
        help="a scenario at real times rolls: each re-plan covers this many hours from now"
        " (SPILLWAY_HORIZON_HOURS)",
    )
    parser.add_argument(
        "--share-difficulty",
        type=float,
        default=env("SHARE_DIFFICULTY", str(d.share_difficulty)),
        help="share difficulty of the jobs handed to workers (1 is about 2^32 hashes per share;"
        " the default suits CPU workers)",
    )
    parser.add_argument(
        "--budget-hold-seconds",
        type=float,
        default=env("BUDGET_HOLD_SECONDS", str(d.budget_hold_s)),
        help="how long a worker holds a budget without news",
    )
    parser.add_argument(
        "--hash-threads",
        type=int,
        default=d.hash_threads,
        help="CPU threads of the HashingService's direct nonce searches (default: all cores;"
        " no SPILLWAY_ variable)",
    )


def _add_security_flags(parser: argparse.ArgumentParser) -> None:
    """TLS, mTLS and the bearer token."""
    parser.add_argument(
        "--tls-cert", default=env("TLS_CERT"), help="server certificate (PEM): serve TLS"
    )
    parser.add_argument("--tls-key", default=env("TLS_KEY"), help="its private key (PEM)")
    parser.add_argument(
        "--tls-client-ca", default=env("TLS_CLIENT_CA"), help="require client certs (mTLS)"
    )
    parser.add_argument(
        "--auth-token-file",
        default=env("AUTH_TOKEN_FILE"),
        help="file holding the bearer token clients must send (default: no token asked)",
    )


def _add_ledger_flags(parser: argparse.ArgumentParser) -> None:
    """The ledger's period, prices and clock tolerance."""
    d = _COORDINATOR
    parser.add_argument(
        "--period-seconds",
        action=Given,
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


def _add_share_limit_flags(parser: argparse.ArgumentParser) -> None:
    """What each worker may hand in: a token bucket of shares."""
    d = _COORDINATOR
    parser.add_argument(
        "--worker-shares-per-second",
        default=env("WORKER_SHARES_PER_SECOND", f"{d.worker_shares_per_s:g}"),
        metavar="R",
        help="shares taken per worker per second; past it SubmitShares is RESOURCE_EXHAUSTED"
        " and the shares wait in the worker's queue (SPILLWAY_WORKER_SHARES_PER_SECOND)",
    )
    parser.add_argument(
        "--worker-share-burst",
        default=env("WORKER_SHARE_BURST", f"{d.worker_share_burst:g}"),
        metavar="B",
        help="shares a worker may hand in at once above --worker-shares-per-second, at least 1"
        " (SPILLWAY_WORKER_SHARE_BURST)",
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
    pool.add_argument(
        "--pool-password",
        default=env("POOL_PASSWORD", "x"),
        help="the pool password (most pools ignore it)",
    )
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


def _add_openadr_flags(group: Any) -> None:
    """The VTN whose demand-response events cap the sites' budgets."""
    levels = ",".join(f"{f:g}" for f in _COORDINATOR.openadr_simple_levels)
    group.add_argument(
        "--openadr-vtn-url",
        default=env("OPENADR_VTN_URL"),
        metavar="URL",
        help="the utility's VTN: the coordinator registers there as a VEN and obeys its"
        " events (default: no VEN; SPILLWAY_OPENADR_VTN_URL)",
    )
    group.add_argument(
        "--openadr-ven-name",
        default=env("OPENADR_VEN_NAME"),
        metavar="NAME",
        help="the VEN name the VTN knows this coordinator by (SPILLWAY_OPENADR_VEN_NAME)",
    )
    group.add_argument(
        "--openadr-cert",
        default=env("OPENADR_CERT"),
        help="PEM certificate that signs our messages (SPILLWAY_OPENADR_CERT)",
    )
    group.add_argument(
        "--openadr-key",
        default=env("OPENADR_KEY"),
        help="PEM private key of --openadr-cert (SPILLWAY_OPENADR_KEY)",
    )
    group.add_argument(
        "--openadr-vtn-fingerprint",
        default=env("OPENADR_VTN_FINGERPRINT"),
        help="check the VTN's signatures against this fingerprint",
    )
    group.add_argument(
        "--openadr-stale-seconds",
        type=float,
        default=env("OPENADR_STALE_SECONDS", str(_VEN_STALE_S)),
        help="the VTN counts as unreachable after this long without an answer"
        " (active events are obeyed until they end regardless)",
    )
    group.add_argument(
        "--openadr-simple-levels",
        default=env("OPENADR_SIMPLE_LEVELS", levels),
        help="fractions of the budget for SIMPLE levels 0,1,2,3",
    )


def _add_price_rule_flags(group: Any) -> None:
    """Curtailment on price with hysteresis (prices from ELECTRICITY_PRICE events and from
    ``spillway prices push``)."""
    d = {f.name: f.default for f in fields(PriceRule)}
    group.add_argument(
        "--curtail-above",
        type=float,
        default=env("CURTAIL_ABOVE"),
        metavar="PRICE",
        help="curtail a site after --curtail-after intervals priced above this (per MWh)",
    )
    group.add_argument(
        "--curtail-after",
        type=int,
        default=env("CURTAIL_AFTER", str(d["curtail_after"])),
        help="consecutive intervals above --curtail-above before curtailing",
    )
    group.add_argument(
        "--curtail-hard",
        type=float,
        default=env("CURTAIL_HARD", str(d["curtail_hard"])),
        metavar="PRICE",
        help="curtail at once on an interval priced at or above this",
    )
    group.add_argument(
        "--resume-below",
        type=float,
        default=env("RESUME_BELOW"),
        metavar="PRICE",
        help="resume after --resume-after intervals priced below this (default: --curtail-above)",
    )
    group.add_argument(
        "--resume-after",
        type=int,
        default=env("RESUME_AFTER", str(d["resume_after"])),
        help="consecutive intervals below --resume-below before resuming",
    )


def price_rule_settings(args: argparse.Namespace) -> PriceRule | None:
    """The price rule (None without --curtail-above).

    Raises
    ------
    ConfigError
        Naming ``price_rule`` for thresholds or run lengths that cannot work.
    """
    if args.curtail_above is None:
        if args.resume_below is not None:
            raise ConfigError("curtail_above: --resume-below needs --curtail-above")
        return None
    try:
        return PriceRule(
            curtail_above=float(args.curtail_above),
            curtail_hard=float(args.curtail_hard),
            resume_below=None if args.resume_below is None else float(args.resume_below),
            curtail_after=int(args.curtail_after),
            resume_after=int(args.resume_after),
        )
    except ValueError as exc:
        raise ConfigError(f"price_rule: {exc}") from exc


def openadr_settings(args: argparse.Namespace) -> tuple[VenSettings | None, tuple[float, ...]]:
    """The VEN's settings (None without --openadr-vtn-url) and the SIMPLE fractions.

    Raises
    ------
    ConfigError
        Naming the field: a missing VEN name, a bad URL, a missing file, levels that
        are not four fractions in [0, 1].
    """
    try:
        levels = tuple(float(x) for x in str(args.openadr_simple_levels).split(","))
    except ValueError:
        levels = ()
    if len(levels) != 4 or not all(0.0 <= f <= 1.0 for f in levels):
        raise ConfigError(
            "openadr_simple_levels: --openadr-simple-levels wants four fractions in [0, 1],"
            f" got {args.openadr_simple_levels!r}"
        )
    if not args.openadr_vtn_url:
        return None, levels
    if not args.openadr_ven_name:
        raise ConfigError("openadr_ven_name: --openadr-ven-name is needed with --openadr-vtn-url")
    try:
        ven = VenSettings(
            args.openadr_vtn_url,
            args.openadr_ven_name,
            cert_path=args.openadr_cert,
            key_path=args.openadr_key,
            vtn_fingerprint=args.openadr_vtn_fingerprint,
            stale_s=args.openadr_stale_seconds,
        )
    except VenError as exc:
        raise ConfigError(f"openadr_{exc}") from exc
    return ven, levels


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


def coordinator_settings(args: argparse.Namespace) -> CoordinatorSettings:
    """The coordinator's settings from ``serve``'s flags.

    Raises
    ------
    ConfigError
        Naming the field and flag of a bad value.
    """
    if not args.horizon_hours > 0:
        raise ConfigError("horizon_hours: --horizon-hours must be above zero")
    if not args.telemetry_clock_skew_seconds >= 0:
        raise ConfigError("telemetry_clock_skew_s: --telemetry-clock-skew-seconds must be >= 0")
    ven, levels = openadr_settings(args)
    return CoordinatorSettings(
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
        worker_shares_per_s=positive_float(
            "worker_shares_per_s", "--worker-shares-per-second", args.worker_shares_per_second
        ),
        worker_share_burst=positive_float(
            "worker_share_burst", "--worker-share-burst", args.worker_share_burst, minimum=1
        ),
        openadr=ven,
        openadr_simple_levels=levels,
        price_rule=price_rule_settings(args),
        pool=pool_settings(
            args.pool,
            args.pool_user,
            args.pool_password,
            tls_ca=args.pool_tls_ca,
            allow_redirect=args.pool_allow_redirect,
        ),
    )


def run(args: argparse.Namespace) -> int:
    """``spillway serve``."""
    try:
        if args.demo:
            check_demo_flags(args)
        settings = coordinator_settings(args)
        if args.demo:
            return run_demo_command(args, settings)
        asyncio.run(serve(settings, registry=CollectorRegistry()))
    except ConfigError as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    return 0
