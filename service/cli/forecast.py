"""``spillway forecast push``: send a folder of PyPSA-named forecast CSVs to the coordinator.

The folder holds any of ``generators-p_max_pu.csv``, ``loads-p_set.csv``,
``storage_units-inflow.csv`` and ``mining_sites-value.csv``, each indexed by
timestamp (first column), one column per component. Only the CSV's form is
checked here (timestamps, numbers); the coordinator checks the rest against the
scenario it serves (components, the period grid, NaN, ranges) and a refusal is
printed as one line naming the file, row and column, exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from service.cli.common import add_client_flags, client_channel, read_token, tls_files
from service.errors import ConfigError

__all__ = ["SeriesOrigin", "read_forecast_csvs", "register"]


@dataclass(frozen=True, slots=True)
class SeriesOrigin:
    """Where a sent series came from: file, column and the CSV row of each point."""

    file: str
    column: str
    index_column: str
    rows: tuple[int, ...]


def register(commands: Any) -> None:
    """Add ``forecast push`` to the ``spillway`` parser."""
    forecast = commands.add_parser("forecast", help="forecasts for the rolling plan")
    sub = forecast.add_subparsers(dest="forecast_command", required=True, metavar="COMMAND")
    push = sub.add_parser(
        "push", help="send PyPSA-named CSVs indexed by timestamp (the coordinator checks them)"
    )
    add_client_flags(push)
    push.add_argument(
        "folder",
        metavar="DIR",
        help="PyPSA-named CSVs indexed by timestamp: generators-p_max_pu.csv, loads-p_set.csv,"
        " storage_units-inflow.csv, mining_sites-value.csv (any of them)",
    )
    push.set_defaults(run=run_push)


def read_forecast_csvs(folder: Path) -> tuple[Any, list[SeriesOrigin]]:
    """The folder's series as an ``optimiser.forecast.Forecast`` and each one's origin.

    Raises
    ------
    ConfigError
        No forecast file, an unreadable file, a bad timestamp or a cell that is not a
        number (naming file, row and column; header = row 1).
    """
    import pandas as pd

    from optimiser.forecast import Forecast, ForecastSeries, SeriesKind, parse_timestamp_s

    series: list[ForecastSeries] = []
    origins: list[SeriesOrigin] = []
    found = False
    for kind in SeriesKind:
        path = folder / f"{kind.value}.csv"
        if not path.is_file():
            continue
        found = True
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ConfigError(f"{path.name}: cannot read: {exc}") from exc
        if frame.shape[1] < 2:
            raise ConfigError(f"{path.name} row 1: want a timestamp column and a component")
        index = str(frame.columns[0])
        times: list[int] = []
        for row, text in enumerate(frame[frame.columns[0]], start=2):
            try:
                times.append(parse_timestamp_s(text))
            except ValueError as exc:
                raise ConfigError(f"{path.name} row {row}, column {index}: {exc}") from exc
        rows = tuple(range(2, 2 + len(times)))
        for col in frame.columns[1:]:
            name = str(col).strip()
            values: list[float] = []
            for row, text in enumerate(frame[col], start=2):
                try:
                    values.append(float(text))  # NaN parses: the coordinator refuses it
                except ValueError:
                    raise ConfigError(
                        f"{path.name} row {row}, column {name}: not a number: {text!r}"
                    ) from None
            series.append(ForecastSeries(kind, name, tuple(times), tuple(values)))
            origins.append(SeriesOrigin(path.name, name, index, rows))
    if not found:
        names = ", ".join(f"{k.value}.csv" for k in SeriesKind)
        raise ConfigError(f"{folder}: no forecast file (want {names})")
    return Forecast(tuple(series)), origins


_FIELD_RE = re.compile(r"series\[(\d+)\](?:\.(values|times)\[(\d+)\]|\.(component|kind))?")


def locate(details: str, origins: list[SeriesOrigin]) -> str:
    """The server's field paths (``series[2].values[5]``) as file, row and column."""

    def where(m: re.Match[str]) -> str:
        i = int(m.group(1))
        if i >= len(origins):
            return m.group(0)
        o = origins[i]
        if m.group(2) is not None:
            j = int(m.group(3))
            row = o.rows[j] if j < len(o.rows) else j + 2
            column = o.column if m.group(2) == "values" else o.index_column
            return f"{o.file} row {row}, column {column}"
        if m.group(4) == "component":
            return f"{o.file} row 1, column {o.column}"
        return f"{o.file} column {o.column}"

    return _FIELD_RE.sub(where, details)


def run_push(args: argparse.Namespace) -> int:
    """``spillway forecast push``."""
    from service.rpc.planner_client import update_forecast

    try:
        forecast, origins = read_forecast_csvs(Path(args.folder))
        token = read_token(args.auth_token_file)
        tls = tls_files(args.tls_cert, args.tls_key, args.tls_ca)
    except ConfigError as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async def go() -> Any:
        async with client_channel(args.coordinator, tls) as channel:
            return await update_forecast(channel, forecast, metadata=metadata)

    try:
        reply = asyncio.run(go())
    except grpc.aio.AioRpcError as exc:
        details = exc.details() or ""
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            details = locate(details, origins)
        print(f"spillway: {exc.code().name}: {details}", file=sys.stderr)
        return 2
    reach = ""
    if reply.HasField("reach_time"):
        reach = f", forecasts reach {reply.reach_time.ToDatetime():%Y-%m-%d %H:%M}Z"
    print(f"forecast revision {reply.revision}: {reply.points_accepted} points stored{reach}")
    return 0
