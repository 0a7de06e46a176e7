"""What every chart shares: the :class:`Chart` record, the figure width and the
snapshot axis (readable time ticks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_TICKS", "WIDTH_IN", "Chart", "short_snapshot", "snapshot_axis"]

#: Most tick labels on a snapshot axis before they are thinned.
MAX_TICKS = 8
#: Width of a figure (inches); height is chosen per chart.
WIDTH_IN = 9.0
#: Tick steps tried on a time axis, in snapshots (hourly data: 1 h to 1 week).
_STEPS = (1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168)


@dataclass(frozen=True)
class Chart:
    """One drawn chart.

    Attributes
    ----------
    key:
        Short name, the PNG's file stem (``curtailment``, ``mining``, ...).
    title:
        The chart's title, also the report section's heading.
    legend:
        Legend (or colour bar) entries shown, for the reader and the tests.
    caption:
        One sentence on how to read it.
    figure:
        The matplotlib figure.
    """

    key: str
    title: str
    legend: tuple[str, ...]
    caption: str
    figure: Figure


def _times(snapshots: tuple[str, ...]) -> pd.DatetimeIndex | None:
    """The snapshots as times, where every name is an ISO 8601 time."""
    if not snapshots:
        return None
    times = pd.to_datetime(pd.Index(snapshots), format="ISO8601", errors="coerce")
    return None if times.isna().any() else pd.DatetimeIndex(times)


def time_tick_labels(snapshots: tuple[str, ...]) -> tuple[list[int], list[str], str]:
    """Tick positions, their labels and the axis label of a snapshot axis.

    Times get short labels (``00:00``, and the day where it changes: ``01 Jul``) at a
    whole step of snapshots, the year in the axis label; other names are thinned to
    at most :data:`MAX_TICKS`.
    """
    n = len(snapshots)
    times = _times(snapshots)
    if times is None:
        step = max(1, int(np.ceil(n / MAX_TICKS)))
        ticks = list(range(0, n, step))
        return ticks, [snapshots[i] for i in ticks], "snapshot"
    step = next((s for s in _STEPS if int(np.ceil(n / s)) <= MAX_TICKS), _STEPS[-1])
    step = max(step, int(np.ceil(n / MAX_TICKS)))
    ticks = list(range(0, n, step))
    daily = bool((times.hour == 0).all() and (times.minute == 0).all())
    labels, day = [], None
    for i in ticks:
        stamp = times[i]
        if daily:
            labels.append(stamp.strftime("%d %b"))
        elif stamp.date() != day:
            labels.append(stamp.strftime("%H:%M\n%d %b"))
        else:
            labels.append(stamp.strftime("%H:%M"))
        day = stamp.date()
    years = sorted({str(y) for y in times.year})
    return ticks, labels, f"time ({', '.join(years)})"


def snapshot_axis(ax: Axes, snapshots: tuple[str, ...]) -> None:
    """Label the x axis with readable snapshot ticks (:func:`time_tick_labels`)."""
    ticks, labels, axis_label = time_tick_labels(snapshots)
    long = max((len(line) for s in labels for line in s.split("\n")), default=0) > 10
    ax.set_xticks(
        ticks, labels, rotation=30 if long else 0, ha="right" if long else "center", fontsize=7
    )
    ax.set_xlabel(axis_label)
    ax.set_xlim(-0.5, len(snapshots) - 0.5)


def short_snapshot(snapshot: str) -> str:
    """A snapshot as a short label: ``01 Jul 14:00`` for a time, else the name."""
    times = _times((snapshot,))
    return snapshot if times is None else times[0].strftime("%d %b %H:%M")
