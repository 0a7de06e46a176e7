"""``spillway status``, ``spillway budget set|pause|clear``, ``spillway schedule push``.

Operator commands: one call each to the coordinator's ``OperatorService``.
A refused call prints one line (status code and message) and exits with 2.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from datetime import UTC, datetime
from typing import Any

import grpc

from service.cli.common import (
    add_client_flags,
    client_channel,
    parse_duration_s,
    read_token,
    tls_files,
)
from service.errors import ConfigError
from service.rpc.convert import duration, timestamp
from spillway.v1 import common_pb2, operator_pb2, operator_pb2_grpc

__all__ = ["format_status", "register"]

_SOURCES = {v: k.removeprefix("BUDGET_SOURCE_").lower() for k, v in common_pb2.BudgetSource.items()}
_REASONS = {
    v: k.removeprefix("BUDGET_REASON_").lower() for k, v in operator_pb2.BudgetReason.items()
}
_KINDS = {
    v: k.removeprefix("GRID_SIGNAL_KIND_").lower() for k, v in operator_pb2.GridSignalKind.items()
}


_FOR_HELP = "how long: a number with a unit, 90s, 15m, 2h, 1d (a bare number is seconds)"


def register(commands: Any) -> None:
    """Add ``status``, ``budget`` and ``schedule`` to the ``spillway`` parser."""
    status = commands.add_parser("status", help="sites, budgets, workers, hashrate, last plan")
    add_client_flags(status)
    status.set_defaults(run=run_status)

    budget = commands.add_parser("budget", help="operator overrides of a site's budget")
    sub = budget.add_subparsers(dest="budget_command", required=True, metavar="COMMAND")
    set_ = sub.add_parser("set", help="a manual budget that outranks the plan until it expires")
    add_client_flags(set_)
    set_.add_argument("--site", required=True, help="the site the override holds for")
    set_.add_argument("--watts", type=float, required=True, help="the site's budget, watts")
    set_.add_argument("--for", dest="for_", required=True, metavar="DURATION", help=_FOR_HELP)
    set_.add_argument("--reason", default="", help="why, kept with the override (default: none)")
    set_.set_defaults(run=run_budget_set)
    pause = sub.add_parser("pause", help="budget zero for a bounded time")
    add_client_flags(pause)
    pause.add_argument("--site", required=True, help="the site to pause")
    pause.add_argument("--for", dest="for_", required=True, metavar="DURATION", help=_FOR_HELP)
    pause.add_argument("--reason", default="", help="why, kept with the pause (default: none)")
    pause.set_defaults(run=run_budget_pause)
    clear = sub.add_parser("clear", help="drop a site's override")
    add_client_flags(clear)
    clear.add_argument("--site", required=True, help="the site whose override is dropped")
    clear.set_defaults(run=run_budget_clear)

    schedule = commands.add_parser("schedule", help="push a per-site, per-period schedule")
    sub = schedule.add_subparsers(dest="schedule_command", required=True, metavar="COMMAND")
    push = sub.add_parser(
        "push", help="CSV: site,start (ISO 8601),duration_s,budget_watts[,source]"
    )
    add_client_flags(push)
    push.add_argument(
        "--file",
        required=True,
        help="the CSV: a header row site,start,duration_s,budget_watts[,source], source"
        " curtailed or grid (default grid)",
    )
    push.set_defaults(run=run_schedule_push)


def _call(
    args: argparse.Namespace,
    method: str,
    request: Any,
    stub_type: Any = operator_pb2_grpc.OperatorServiceStub,
) -> Any:
    """One call of ``method`` on the coordinator at ``--coordinator`` (a ``stub_type``)."""
    token = read_token(args.auth_token_file)
    tls = tls_files(args.tls_cert, args.tls_key, args.tls_ca)
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async def go() -> Any:
        async with client_channel(args.coordinator, tls) as channel:
            stub = stub_type(channel)
            return await getattr(stub, method)(request, metadata=metadata, timeout=10)

    return asyncio.run(go())


def _guard(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            status: int = fn(args)
        except ConfigError as exc:
            print(f"spillway: error: {exc}", file=sys.stderr)
            return 2
        except grpc.aio.AioRpcError as exc:
            print(f"spillway: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 2
        return status

    return run


def _signal_line(sig: operator_pb2.GridSignalStatus) -> str:
    """A grid event in force, as ``spillway status`` shows it."""
    kind = _KINDS.get(sig.kind, "?")
    until = f" until {_when(sig.until_time.seconds)}" if sig.HasField("until_time") else ""
    if kind == "price":
        return f"price rule curtailed (price {sig.price_per_mwh:g} per MWh){until}"
    what = (
        f"setpoint {sig.setpoint_watts:.1f} W" if kind == "load_dispatch" else f"level {sig.level}"
    )
    return (
        f"grid event {sig.event_id} ({kind}, {what}){until};"
        f" {sig.underlying_budget_watts:.1f} W without it"
    )


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_status(reply: operator_pb2.GetStatusResponse) -> str:
    """A readable table of sites, budgets, workers and hashrate, then the last plan."""
    rows = [
        ("SITE", "BUDGET W", "SOURCE", "REASON", "POWER W", "HASHRATE MH/s", "WORKERS", "SHARES")
    ]
    for site in reply.sites:
        connected = sum(1 for w in site.workers if w.connected)
        source = _SOURCES.get(site.budget_source, "?")
        if site.HasField("budget_override"):
            source += f" until {_when(site.budget_override.expire_time.seconds)}"
        rows.append(
            (
                site.site,
                f"{site.budget_watts:.1f}",
                source,
                _REASONS.get(site.budget_reason, "?"),
                f"{site.power_watts:.1f}",
                f"{site.hashrate_hashes_per_second / 1e6:.2f}",
                f"{connected}/{len(site.workers)}",
                str(site.shares_accepted),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    for site in reply.sites:
        for w in site.workers:
            state = "connected" if w.connected else f"last seen {_when(w.last_seen_time.seconds)}"
            lines.append(
                f"  {site.site}/{w.worker_name} ({w.backend}): {state},"
                f" {w.hashrate_hashes_per_second / 1e6:.2f} MH/s, {w.power_watts:.1f} W"
            )
    for site in reply.sites:
        if site.HasField("active_signal"):
            lines.append(f"  {site.site}: {_signal_line(site.active_signal)}")
    if reply.HasField("rolling"):
        r = reply.rolling
        window = (
            f"{_when(r.window_start_time.seconds)} to {_when(r.window_end_time.seconds)}"
            if r.HasField("window_start_time")
            else "not planned yet"
        )
        lines.append(
            f"rolling window: {window} ({r.horizon.seconds / 3600:g} h);"
            f" forecasts reach {_when(r.forecast_reach_time.seconds)}"
            f" (revision {r.forecast_revision})"
        )
    if reply.HasField("pool"):
        pool = reply.pool
        state = (
            f"{pool.url}, difficulty {pool.difficulty:g}, job {pool.job_id}"
            if pool.connected
            else "no session"
        )
        lines.append(
            f"pool: {state}; shares accepted {pool.shares_accepted},"
            f" rejected {pool.shares_rejected}, stale {pool.shares_stale}"
        )
    plan = reply.current_plan_id or "none"
    lines.append(f"last plan: {plan}")
    return "\n".join(line.rstrip() for line in lines)


@_guard
def run_status(args: argparse.Namespace) -> int:
    """``spillway status``."""
    print(format_status(_call(args, "GetStatus", operator_pb2.GetStatusRequest())))
    return 0


@_guard
def run_budget_set(args: argparse.Namespace) -> int:
    """``spillway budget set``."""
    length_s = parse_duration_s("for", args.for_)
    reply = _call(
        args,
        "SetBudgetOverride",
        operator_pb2.SetBudgetOverrideRequest(
            site=args.site,
            budget_watts=args.watts,
            duration=duration(length_s),
            reason=args.reason,
        ),
    )
    o = reply.budget_override
    print(f"{o.site}: {o.budget_watts:.1f} W until {_when(o.expire_time.seconds)}")
    return 0


@_guard
def run_budget_pause(args: argparse.Namespace) -> int:
    """``spillway budget pause``."""
    length_s = parse_duration_s("for", args.for_)
    reply = _call(
        args,
        "PauseSite",
        operator_pb2.PauseSiteRequest(
            site=args.site, duration=duration(length_s), reason=args.reason
        ),
    )
    until = _when(reply.budget_override.expire_time.seconds)
    print(f"{reply.budget_override.site}: paused until {until}")
    return 0


@_guard
def run_budget_clear(args: argparse.Namespace) -> int:
    """``spillway budget clear``."""
    reply = _call(
        args, "ClearBudgetOverride", operator_pb2.ClearBudgetOverrideRequest(site=args.site)
    )
    print(f"{args.site}: override {'cleared' if reply.cleared else 'was not set'}")
    return 0


@_guard
def run_schedule_push(args: argparse.Namespace) -> int:
    """``spillway schedule push --file CSV``."""
    sources = {
        "curtailed": common_pb2.ENERGY_SOURCE_CURTAILED,
        "grid": common_pb2.ENERGY_SOURCE_GRID,
        "": common_pb2.ENERGY_SOURCE_UNSPECIFIED,
    }
    entries = []
    try:
        with open(args.file, newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    start = datetime.fromisoformat(row["start"]).timestamp()
                    entries.append(
                        operator_pb2.ScheduledBudget(
                            site=row["site"],
                            start_time=timestamp(start),
                            duration=duration(float(row["duration_s"])),
                            budget_watts=float(row["budget_watts"]),
                            energy_source=sources[(row.get("source") or "").strip()],
                        )
                    )
                except (KeyError, ValueError, TypeError) as exc:
                    raise ConfigError(f"file: line {line}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"file: cannot read {args.file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"file: {args.file} is not UTF-8 text (byte {exc.start}); expected a CSV"
        ) from exc
    except csv.Error as exc:  # a NUL byte, a broken quote: not a CSV
        raise ConfigError(f"file: {args.file} is not a readable CSV: {exc}") from exc
    reply = _call(args, "PushSchedule", operator_pb2.PushScheduleRequest(entries=entries))
    print(
        f"schedule {reply.schedule_id}: {reply.entry_count} periods ({time.strftime('%H:%M:%S')})"
    )
    return 0
