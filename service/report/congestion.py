"""Congestion: the most loaded branches over time, and the branches mining loads.

Branches are lines and transformers alike (a step-up transformer at its rating
curtails a plant as surely as a line does), each named with its end buses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
from matplotlib.figure import Figure

from service.report.base import WIDTH_IN, Chart, short_snapshot, snapshot_axis
from service.report.network import largest_change, peak_loading

if TYPE_CHECKING:
    from service.report.plandir import PlanTables

__all__ = ["CHANGE_KEY", "HEATMAP_KEY", "branch_change", "branch_loading"]

HEATMAP_KEY = "branch_loading"
CHANGE_KEY = "branch_change"
#: Branches shown in the loading heatmap (the most loaded ones).
HEATMAP_BRANCHES = 15
#: Branches shown in the before/after view (those whose loading mining moves most).
CHANGE_BRANCHES = 12
#: Smallest change of loading (per unit of the rating) that counts as mining's doing.
MOVED_PU = 0.005
NONE_MOVED = (
    "Mining changes no branch's loading by 0.5 percentage points or more: the sites "
    "take curtailed power at (or next to) the buses where it is curtailed."
)


def branch_loading(t: PlanTables) -> Chart:
    """Heatmap of loading over time for the most loaded lines and transformers."""

    loading = t.loading.fillna(0.0)
    top = list(peak_loading(loading).sort_values(ascending=False, kind="stable").index)
    top = top[:HEATMAP_BRANCHES]
    n = len(top)
    title = f"Branch loading over time, the {n} most loaded lines and transformers"
    fig = Figure(figsize=(WIDTH_IN, max(3.0, 1.6 + 0.28 * n)), layout="constrained")
    ax = fig.subplots()
    values = 100.0 * loading[top].to_numpy(dtype=float).T if n else np.zeros((1, len(t.snapshots)))
    image = ax.imshow(
        values,
        aspect="auto",
        cmap="viridis",
        vmin=0.0,
        vmax=max(100.0, values.max()),
        interpolation="nearest",
    )
    ax.set_yticks(range(n), [t.branch_label(k) for k in top], fontsize=7)
    snapshot_axis(ax, t.snapshots)
    label = "loading |p0|/s_max (%)"
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(title)
    return Chart(
        HEATMAP_KEY,
        title,
        (label,),
        "Flow as a share of each branch's rating (lines and transformers, named by their "
        "end buses); 100 % is a congested branch.",
        fig,
    )


def branch_change(t: PlanTables) -> Chart | None:
    """Loading without and with mining of the branches mining moves most, at the
    snapshot it moves each most (``None`` for a plan directory written without the
    base plan's loading)."""
    if t.loading_base is None:
        return None
    change, at = largest_change(t.loading, t.loading_base)
    base = t.loading_base.reindex(columns=t.loading.columns).fillna(0.0)
    moved = change[change.abs() >= MOVED_PU]
    order = moved.abs().sort_values(ascending=False, kind="stable").index[:CHANGE_BRANCHES]
    # the branch mining loads most on top
    keys = list(change[order].sort_values(ascending=True, kind="stable").index)
    before = np.array([float(cast("float", base.at[at[k], k])) for k in keys])
    after = np.array([float(cast("float", t.loading.fillna(0.0).at[at[k], k])) for k in keys])
    n = len(keys)
    title = "Branches mining loads: loading without and with mining"
    fig = Figure(figsize=(WIDTH_IN, max(3.0, 1.4 + 0.34 * n)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)
    without, with_ = "without mining", "with mining"
    ax.barh(y + 0.2, 100.0 * before, height=0.4, color="0.65", label=without)
    ax.barh(y - 0.2, 100.0 * after, height=0.4, color="C3", label=with_)
    for i, key in enumerate(keys):
        ax.annotate(
            f"{100.0 * change[key]:+.1f} pp at {short_snapshot(at[key])}",
            (100.0 * max(after[i], before[i]), i),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(y, [t.branch_label(k) for k in keys], fontsize=7)
    if not n:
        ax.text(
            0.5,
            0.5,
            NONE_MOVED,
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="0.3",
            wrap=True,
        )
    ax.axvline(100.0, color="k", linewidth=0.8, linestyle=":")
    top = max([110.0, *(100.0 * after + 45.0), *(100.0 * before + 45.0)])
    ax.set_xlim(0.0, top)
    ax.set_xlabel("loading |p0|/s_max (%)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title)
    caption = (
        f"The {n} branches whose loading mining changes most (of {len(moved)} it moves by "
        f"{100 * MOVED_PU:g} percentage points or more), each at the snapshot of its "
        "largest change: grey without mining, red with it; the dotted line is the rating."
        if n
        else NONE_MOVED
    )
    return Chart(CHANGE_KEY, title, (without, with_), caption, fig)
