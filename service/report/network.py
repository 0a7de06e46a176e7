"""The network map: where the plan's congestion, curtailment and mining sit.

Left: every branch coloured by its peak loading with mining, congested branches
drawn thick and marked, mining sites sized by their capacity, curtailed plants
(summed per bus) by the energy they lose without mining (ring) and with it (disc).
Right: the change mining makes to each branch's peak loading. SVG element ids
(``gid``) name the layers, so the report's tests count what was drawn:
``map-buses``, ``map-branches``, ``map-congested``, ``map-sites``,
``map-curtailed-before``, ``map-curtailed-after`` and ``change-branches``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from service.report.base import WIDTH_IN, Chart
from service.report.layout import bus_positions

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PathCollection

    from service.report.layout import BusPositions
    from service.report.plandir import PlanTables

__all__ = ["CONGESTED_LOADING", "MAP_KEY", "MAP_TITLE", "network_map", "peak_loading"]

MAP_KEY = "network"
MAP_TITLE = "Network map: peak branch loading, curtailment and mining sites"
#: Peak loading from which a branch counts as congested (solver tolerance below 1).
CONGESTED_LOADING = 0.999
#: Largest marker area (pt²) of a site or a curtailed bus.
MARKER_MAX_PT2 = 300.0
#: Loading colours: matplotlib's YlOrRd without its palest quarter (visible on white).
_LOADING_CMAP = ListedColormap(colormaps["YlOrRd"](np.linspace(0.25, 1.0, 256)), name="loading")


def peak_loading(frame: pd.DataFrame) -> pd.Series:
    """Each branch's largest loading over the snapshots (0 where never loaded)."""
    return frame.fillna(0.0).max(axis=0) if len(frame) else frame.sum(axis=0)


def largest_change(after: pd.DataFrame, before: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per branch, the loading change mining makes where it makes the most, signed
    (after - before; a peak can stay at the rating while mining moves the flow a
    lot in other hours), and the snapshot it happens at.

    Returns
    -------
    tuple[pandas.Series, pandas.Series]
        Change (per unit of the rating) and its snapshot, both by branch key.
    """
    delta = (after.fillna(0.0) - before.reindex(columns=after.columns).fillna(0.0)).fillna(0.0)
    if not len(delta):
        return delta.sum(axis=0), pd.Series("", index=delta.columns, dtype=object)
    at = delta.abs().idxmax(axis=0)
    change = pd.Series(
        np.array([_number(delta.at[at[k], k]) for k in delta.columns], dtype=float),
        index=delta.columns,
    )
    return change, at.astype(str)


def _number(value: object) -> float:
    """A table cell as a float (pandas types cells as any scalar)."""
    return float(cast("float", value))


def _segments(t: PlanTables, pos: BusPositions, names: list[str]) -> tuple[list[str], np.ndarray]:
    """Branch keys (those with both ends known) and their end points ``(n, 2, 2)``."""
    assert t.branches is not None
    at = {b: i for i, b in enumerate(names)}
    keys = [str(k) for k, r in t.branches.iterrows() if r["bus0"] in at and r["bus1"] in at]
    ends = np.array(
        [
            [pos.xy[at[str(t.branches.at[k, "bus0"])]], pos.xy[at[str(t.branches.at[k, "bus1"])]]]
            for k in keys
        ]
    ).reshape(-1, 2, 2)
    return keys, ends


def _sizes(values: np.ndarray, largest: float) -> np.ndarray:
    """Marker areas proportional to ``values`` (the largest drawn at MARKER_MAX_PT2)."""
    return MARKER_MAX_PT2 * np.clip(values, 0.0, None) / largest if largest > 0 else values * 0


def _frame(ax: Axes, pos: BusPositions) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if pos.geographic:
        # longitude degrees shrink with the cosine of the latitude
        ax.set_aspect(1.0 / np.cos(np.radians(float(np.mean(pos.xy[:, 1])))))
    else:
        ax.set_aspect("equal")
    ax.margins(0.04)


def _bus_map(t: PlanTables) -> tuple[list[str], BusPositions]:
    assert t.buses is not None and t.branches is not None
    names = [str(n) for n in t.buses.index]
    edges = list(zip(t.branches["bus0"], t.branches["bus1"], strict=True))
    x = t.buses["x"].to_numpy(dtype=float) if "x" in t.buses.columns else None
    y = t.buses["y"].to_numpy(dtype=float) if "y" in t.buses.columns else None
    return names, bus_positions(names, edges, x, y)


def network_map(t: PlanTables, colours: dict[str, str]) -> Chart | None:
    """The map (``None`` for a plan directory written without its network tables).

    ``colours``: carrier -> colour, as the other charts use them.
    """

    if t.buses is None or t.branches is None:
        return None
    names, pos = _bus_map(t)
    keys, ends = _segments(t, pos, names)
    after = peak_loading(t.loading).reindex(keys).fillna(0.0).to_numpy(dtype=float)
    rated = np.isfinite(t.branches["s_max_mw"].reindex(keys).to_numpy(dtype=float))
    two = t.loading_base is not None
    span = np.ptp(pos.xy, axis=0) if len(names) > 1 else np.ones(2)
    ratio = float(span[1] / span[0]) if span[0] > 0 else 1.0
    if pos.geographic:
        ratio /= np.cos(np.radians(float(np.mean(pos.xy[:, 1]))))
    panel_w = WIDTH_IN / (2 if two else 1) - 0.6
    height = float(np.clip(panel_w * ratio + 1.6, 4.0, 9.0))
    fig = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    axes = fig.subplots(1, 2 if two else 1, squeeze=False)[0]
    ax = axes[0]

    # branches by peak loading; unrated ones grey (nothing limits them)
    colour = np.array([_LOADING_CMAP(min(v, 1.0)) for v in after]).reshape(-1, 4)
    colour[~rated] = (0.6, 0.6, 0.6, 1.0)
    congested = rated & (after >= CONGESTED_LOADING)
    widths = np.where(congested, 2.4, 0.9)
    lines = LineCollection(list(ends), colors=colour, linewidths=widths, zorder=1)
    lines.set_gid("map-branches")
    ax.add_collection(lines)
    buses = ax.scatter(pos.xy[:, 0], pos.xy[:, 1], s=4, c="0.3", linewidths=0, zorder=2)
    buses.set_gid("map-buses")
    mid = ends.mean(axis=1) if len(ends) else np.zeros((0, 2))
    marks = ax.scatter(mid[congested, 0], mid[congested, 1], s=30, marker="x", c="k", zorder=5)
    marks.set_gid("map-congested")

    # curtailed plants, summed per bus: ring without mining, disc with it
    at = {b: i for i, b in enumerate(names)}
    gens = t.generators
    before = t.energy_mwh(t.curtailment_before_mw).groupby(gens["bus"]).sum()
    lost = t.energy_mwh(t.curtailment_after_mw).groupby(gens["bus"]).sum()
    lost = lost.reindex(before.index).fillna(0.0)
    shown = [b for b in before.index if before[b] > 0 and str(b) in at]
    cur_xy = np.array([pos.xy[at[str(b)]] for b in shown]).reshape(-1, 2)
    top_carrier = _main_carrier(t, shown)
    cur_colour = [colours.get(top_carrier[str(b)], "C2") for b in shown]
    largest = float(before.max()) if len(before) else 0.0
    ring = ax.scatter(
        cur_xy[:, 0],
        cur_xy[:, 1],
        s=_sizes(before[shown].to_numpy(), largest),
        facecolors="none",
        edgecolors=cur_colour,
        linewidths=1.2,
        zorder=3,
    )
    ring.set_gid("map-curtailed-before")
    disc = ax.scatter(
        cur_xy[:, 0],
        cur_xy[:, 1],
        s=_sizes(lost[shown].to_numpy(), largest),
        c=cur_colour,
        alpha=0.6,
        linewidths=0,
        zorder=3,
    )
    disc.set_gid("map-curtailed-after")

    # mining sites by capacity
    sites = t.mining_sites
    site_at = [(str(s), at[str(b)]) for s, b in sites["bus"].items() if str(b) in at]
    p_nom = np.array([_number(sites.at[s, "p_nom"]) for s, _ in site_at])
    site_xy = np.array([pos.xy[i] for _, i in site_at]).reshape(-1, 2)
    largest_site = float(p_nom.max()) if len(p_nom) else 0.0
    _draw_sites(ax, site_xy, _sizes(p_nom, largest_site), 1.8).set_gid("map-sites")
    for (site, _), (x, y) in zip(site_at, site_xy, strict=True):
        ax.annotate(
            site,
            (x, y),
            xytext=(5, 5),
            textcoords="offset points",
            fontsize=7,
            color="C0",
            zorder=6,
        )
    fig.colorbar(
        _mappable(Normalize(0.0, 100.0), _LOADING_CMAP),
        ax=ax,
        location="bottom",
        shrink=0.8,
        label="peak loading |p0|/s_max (%)",
    )
    handles = [
        Line2D([], [], marker="x", color="k", linestyle="none", label="congested branch"),
        Line2D([], [], color="0.6", label="unrated branch"),
        Line2D(
            [],
            [],
            marker="s",
            mfc="none",
            mec="C0",
            linestyle="none",
            label=f"mining site (largest {largest_site:,.0f} MW)",
        ),
        Line2D(
            [],
            [],
            marker="o",
            mfc="none",
            mec="0.3",
            linestyle="none",
            label=f"curtailed without mining (largest {largest:,.0f} MWh)",
        ),
        Line2D(
            [],
            [],
            marker="o",
            color="0.3",
            alpha=0.6,
            linestyle="none",
            label="curtailed with mining",
        ),
    ]
    handles += [
        Line2D([], [], marker="o", color=colours.get(c, "C2"), linestyle="none", label=c)
        for c in dict.fromkeys(top_carrier[str(b)] for b in shown)
    ]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncols=3, frameon=False)
    where = "at their coordinates" if pos.source == "coordinates" else "by a graph layout"
    ax.set_title(f"peak loading with mining (buses {where})", fontsize=9)
    _frame(ax, pos)
    legend = [str(h.get_label()) for h in handles]
    if two:
        assert t.loading_base is not None
        change, _ = largest_change(t.loading, t.loading_base)
        change_pp = 100.0 * change.reindex(keys).fillna(0.0).to_numpy(dtype=float)
        bound = max(5.0, float(np.abs(change_pp).max()) if len(change_pp) else 0.0)
        norm = Normalize(-bound, bound)
        cmap = colormaps["coolwarm"]
        moved = np.abs(change_pp) >= 0.5
        changes = LineCollection(
            list(ends),
            colors=cmap(norm(change_pp)),
            linewidths=np.where(moved, 2.0, 0.7),
            zorder=1,
        )
        changes.set_gid("change-branches")
        axes[1].add_collection(changes)
        axes[1].scatter(pos.xy[:, 0], pos.xy[:, 1], s=3, c="0.5", linewidths=0, zorder=2)
        _draw_sites(axes[1], site_xy, _sizes(p_nom, largest_site), 1.5)
        fig.colorbar(
            _mappable(norm, cmap),
            ax=axes[1],
            location="bottom",
            shrink=0.8,
            label="largest change in loading, with minus without mining (pp)",
        )
        axes[1].set_title("the change mining makes", fontsize=9)
        _frame(axes[1], pos)
        legend.append("largest change in loading (pp)")
    fig.suptitle(MAP_TITLE)
    caption = (
        f"Every bus ({len(names)}) and branch ({len(keys)}) of the network, buses {where}"
        + (f" ({pos.why_layout})" if pos.why_layout else "")
        + f". {int(congested.sum())} branches reach {100 * CONGESTED_LOADING:.1f} % of their "
        "rating at some snapshot (marked x): curtailment sits behind them, and a site behind "
        "them gets less."
    )
    return Chart(MAP_KEY, MAP_TITLE, tuple(legend), caption, fig)


def _draw_sites(ax: Axes, xy: np.ndarray, sizes: np.ndarray, width: float) -> PathCollection:
    """Mining sites as hollow squares (area: capacity)."""
    return ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=sizes,
        marker="s",
        facecolors="none",
        edgecolors="C0",
        linewidths=width,
        zorder=4,
    )


def _main_carrier(t: PlanTables, buses: list[str]) -> dict[str, str]:
    """Per bus, the carrier that loses the most energy there without mining."""
    energy = t.energy_mwh(t.curtailment_before_mw)
    gens = t.generators.reindex(energy.index)
    by = energy.groupby([gens["bus"], gens["carrier"]]).sum()
    out = {}
    for bus in buses:
        part = by.xs(bus, level=0) if bus in by.index.get_level_values(0) else None
        out[str(bus)] = str(part.idxmax()) if part is not None and len(part) else ""
    return out


def _mappable(norm: Normalize, cmap: Colormap) -> ScalarMappable:
    """A colour bar's source: the norm and colour map, no data."""
    return ScalarMappable(norm=norm, cmap=cmap)
