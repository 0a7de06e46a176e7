"""The demo's live status: one small table, redrawn in place on a TTY, plain lines otherwise.

Fits 80 columns::

    period  4/24  03:00-04:00  (1 h = 5 s)   absorbed so far  95.3 MWh
    site        plan MW  budget W  power W      hashrate  shares
    wind-105       14.7       4.9      4.8    1.21 MH/s        3
    ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

__all__ = ["SiteRow", "StatusFrame", "format_hashrate", "render"]

# ANSI: cursor to the start of the line N lines up, then erase to the end of the screen.
_UP = "\x1b[{n}F"
_ERASE_DOWN = "\x1b[J"


@dataclass(frozen=True, slots=True)
class SiteRow:
    """One site's line."""

    site: str
    plan_mw: float
    budget_w: float
    power_w: float
    hashrate_hs: float
    shares: int


@dataclass(frozen=True, slots=True)
class StatusFrame:
    """What the status shows at one moment."""

    period: int  # 1-based; 0 while the plan is being made
    period_count: int
    period_hours: float
    period_s: float
    day: int
    absorbed_mwh: float
    rows: tuple[SiteRow, ...]
    # Sites the day's plan gives nothing (no curtailed energy reaches them): said on
    # screen, so a site that stays at zero reads as the plan's answer, not a fault.
    quiet_sites: tuple[str, ...] = ()
    # The rolling plan: its window's first period (hours since the demo day's start),
    # length (h), re-plans so far, the last one's solve time and age, forecasts pushed.
    window_start_h: float | None = None
    window_h: float = 24.0
    replans: int = 0
    replan_s: float = 0.0
    replan_age_s: float = 0.0
    forecasts: int = 0


def format_hashrate(hashrate_hs: float) -> str:
    """``1.21 MH/s``: H/s scaled to k, M or G."""
    for unit, scale in (("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if hashrate_hs >= scale:
            return f"{hashrate_hs / scale:.2f} {unit}"
    return f"{hashrate_hs:.0f} H/s"


def _clock(hours: float) -> str:
    total_min = round(hours * 60) % (24 * 60)
    return f"{total_min // 60:02d}:{total_min % 60:02d}"


def _day_clock(hours: float) -> str:
    return f"day {int(hours // 24) + 1} {_clock(hours)}"


def window_line(frame: StatusFrame) -> str:
    """``window day 1 03:00-day 2 03:00  re-plans 7 (0.05 s, 0.4 s ago)  forecasts 6``."""
    start = frame.window_start_h or 0.0
    return (
        f"window {_day_clock(start)}-{_day_clock(start + frame.window_h)}  "
        f"re-plans {frame.replans} ({frame.replan_s:.2f} s, {frame.replan_age_s:.1f} s ago)  "
        f"forecasts {frame.forecasts}"
    )[:80]


def lines(frame: StatusFrame) -> list[str]:
    """The status as lines of at most 80 characters."""
    if frame.period == 0:
        head = "planning the demo day (curtailment-only, HiGHS) ..."
    else:
        start_h = (frame.period - 1) * frame.period_hours
        day = f" day {frame.day}" if frame.day > 1 else ""
        head = (
            f"period {frame.period:2d}/{frame.period_count}{day}  "
            f"{_clock(start_h)}-{_clock(start_h + frame.period_hours)}  "
            f"(1 h = {frame.period_s / frame.period_hours:g} s)  "
            f"absorbed {frame.absorbed_mwh:7.1f} MWh"
        )
    out = [head[:80]]
    if frame.window_start_h is not None:
        out.append(window_line(frame))
    out += [
        f"{'site':<12}{'plan MW':>8}{'budget W':>10}{'power W':>9}{'hashrate':>14}{'shares':>8}",
    ]
    total_power_w = total_hs = 0.0
    total_shares = 0
    for row in frame.rows:
        out.append(
            f"{row.site[:12]:<12}{row.plan_mw:8.1f}{row.budget_w:10.1f}{row.power_w:9.1f}"
            f"{format_hashrate(row.hashrate_hs):>14}{row.shares:8d}"
        )
        total_power_w += row.power_w
        total_hs += row.hashrate_hs
        total_shares += row.shares
    out.append(
        f"{'farm':<12}{'':8}{'':10}{total_power_w:9.1f}"
        f"{format_hashrate(total_hs):>14}{total_shares:8d}"
    )
    for site in frame.quiet_sites:
        out.append(f"{site}: no curtailed energy reaches it, so it mines nothing (by design)"[:80])
    return out


def render(frame: StatusFrame, stream: TextIO, *, tty: bool, drawn: int) -> int:
    """Write ``frame``: over the previous one on a TTY (``drawn`` lines), else below it.

    Returns
    -------
    int
        Lines written (pass back as ``drawn`` next time).
    """
    text = lines(frame)
    prefix = _UP.format(n=drawn) + _ERASE_DOWN if tty and drawn else ""
    stream.write(prefix + "\n".join(text) + "\n")
    stream.flush()
    return len(text)
