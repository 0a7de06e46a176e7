"""Read a price feed: ``site`` or ``bus``, ``start``, ``duration_s``, ``price_per_mwh``.

``start`` is ISO 8601 (``2026-03-01T14:00:00Z``, ``2026-03-01 14:00:00+01:00``; a
time without an offset is UTC) or seconds since the epoch. One row holds for
``[start, start + duration_s)``. A row names a site or a bus, not both.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

from service.signals.domain import PricePoint
from service.signals.errors import BadSignalInputError

__all__ = ["parse_time_s", "read_price_feed"]

REQUIRED = ("start", "duration_s", "price_per_mwh")


def parse_time_s(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (UTC when no offset) or a number.

    Raises
    ------
    ValueError
        Neither form.
    """
    s = text.strip()
    try:
        v = float(s)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise ValueError(f"{text!r} is not a finite time")
        return v
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    t = datetime.fromisoformat(s)  # ValueError names the text
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def read_price_feed(path: str | Path) -> tuple[PricePoint, ...]:
    """All rows of a price feed CSV, in file order.

    Raises
    ------
    BadSignalInputError
        A missing column, or a row with a bad field (names file, row and field).
    """
    p = Path(path)
    name = p.name
    try:
        handle = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise BadSignalInputError(name, None, None, f"cannot read: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        for col in REQUIRED:
            if col not in header:
                raise BadSignalInputError(name, 1, col, "missing column")
        if "site" not in header and "bus" not in header:
            raise BadSignalInputError(name, 1, "site", "need a site or a bus column")
        out = []
        for i, row in enumerate(reader, start=2):
            out.append(_row(name, i, row))
    if not out:
        raise BadSignalInputError(name, None, None, "no prices")
    return tuple(out)


def _row(name: str, i: int, row: dict[str, str | None]) -> PricePoint:
    def cell(col: str) -> str:
        v = row.get(col)
        return (v or "").strip()

    site, bus = cell("site") or None, cell("bus") or None
    if (site is None) == (bus is None):
        raise BadSignalInputError(name, i, "site", "name exactly one of site and bus")
    try:
        start_s = parse_time_s(cell("start"))
    except ValueError as exc:
        raise BadSignalInputError(name, i, "start", f"not a time: {exc}") from exc
    duration_s = _number(name, i, "duration_s", cell("duration_s"))
    if duration_s <= 0:
        raise BadSignalInputError(name, i, "duration_s", f"must be > 0, got {duration_s}")
    price = _number(name, i, "price_per_mwh", cell("price_per_mwh"))
    return PricePoint(site, bus, start_s, start_s + duration_s, price)


def _number(name: str, i: int, col: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise BadSignalInputError(name, i, col, f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise BadSignalInputError(name, i, col, f"not a finite number: {text!r}")
    return v
