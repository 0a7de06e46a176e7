"""The report's charts, drawn with matplotlib's object API (no pyplot, no global state).

Each chart is a :class:`Chart`: a key (the PNG's file stem), a title, the legend
entries it shows, and the ``Figure``. Figures are rendered by
:mod:`service.report.render` to inline SVG and, on request, PNG through the Agg
canvas, so no display is ever needed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from optimiser.attribution import GRID_SOURCE
from service.report.base import WIDTH_IN, Chart, snapshot_axis
from service.report.congestion import branch_change, branch_loading
from service.report.network import network_map

if TYPE_CHECKING:
    import pandas as pd

    from service.report.plandir import PlanTables

__all__ = [
    "SOURCES_KEY",
    "SOURCES_TITLE",
    "WIDTH_IN",
    "Chart",
    "carrier_colours",
    "co2_known",
    "draw_all",
    "totals",
]

#: Carrier colours: the default cycle without its grey C7, kept for ``grid``.
PALETTE = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9")
#: Width of a site's bar (sites are 1 apart): room between bars for their totals.
BAR_WIDTH = 0.6
#: Colour of the ``grid`` source (energy that is not curtailment), a neutral grey.
GRID_COLOUR = "0.6"
#: Key and title of the sources chart (its section is there, saying the breakdown
#: is absent, even for a plan directory written without the sources table).
SOURCES_KEY = "sources"
SOURCES_TITLE = "Mining energy per site by source, traced through the network"


def carrier_colours(t: PlanTables, before: pd.DataFrame | None = None) -> dict[str, str]:
    """One colour per carrier, the same in every chart: the curtailed carriers (and
    ``spill``) first, then the carriers of traced sources, ``grid`` grey.

    ``before``: ``t.curtailment_by_carrier_mw(after=False)`` where the caller has it.
    """
    if before is None:
        before = t.curtailment_by_carrier_mw(after=False)
    carriers = list(before.columns)
    by_source = t.mining_mwh_by_site_and_source
    if by_source is not None:
        carriers += [str(c) for c in by_source["carrier"] if c != GRID_SOURCE]
    ordered = list(dict.fromkeys(carriers))
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(ordered)}
    colours[GRID_SOURCE] = GRID_COLOUR
    return colours


def curtailment(t: PlanTables) -> Chart:
    """Curtailed power by carrier before and after mining, stacked over time."""
    title = "Curtailed power by carrier, before and after mining"
    before = t.curtailment_by_carrier_mw(after=False)
    after = t.curtailment_by_carrier_mw(after=True).reindex(columns=before.columns)
    carriers = [c for c in before.columns if (before[c].abs() + after[c].abs()).sum() > 0]
    carriers = carriers or list(before.columns)
    fig = Figure(figsize=(WIDTH_IN, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    x = np.arange(len(t.snapshots))
    by_carrier = carrier_colours(t, before)
    colours = [by_carrier[c] for c in carriers]
    for ax, frame, name in ((axes[0], before, "before mining"), (axes[1], after, "after mining")):
        ys = [frame[c].to_numpy(dtype=float) for c in carriers]
        ax.stackplot(x, *ys, labels=carriers, colors=colours, step="mid", alpha=0.85)
        ax.set_title(name, fontsize=10)
        snapshot_axis(ax, t.snapshots)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("curtailed power (MW)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", title="carrier", fontsize=8)
    fig.suptitle(title)
    return Chart(
        "curtailment",
        title,
        tuple(carriers),
        "Renewable power the grid could not take (and storage spill), stacked by carrier: "
        "left the plan without mining, right with it.",
        fig,
    )


def mining(t: PlanTables) -> Chart:
    """Mining load per site against its capacity."""
    title = "Mining load per site against its capacity"
    fig = Figure(figsize=(WIDTH_IN, 4.0), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(t.snapshots))
    legend: list[str] = []
    for i, site in enumerate(t.mining_mw.columns):
        colour = f"C{i % 10}"
        bus = t.mining_sites["bus"].get(site, "?")
        load = f"{site} load (bus {bus})"
        cap = f"{site} capacity"
        ax.step(x, t.mining_mw[site].to_numpy(dtype=float), where="mid", color=colour, label=load)
        p_nom = float(t.mining_sites["p_nom"].get(site, np.nan))
        ax.axhline(p_nom, color=colour, linestyle="--", linewidth=1, label=cap)
        legend += [load, cap]
    ax.set_ylabel("power (MW)")
    # from zero: a site's load reads against its capacity, not against a zoomed axis
    ax.set_ylim(bottom=0.0, top=max(1.0, float(ax.get_ylim()[1])))
    snapshot_axis(ax, t.snapshots)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(loc="upper left", fontsize=7, bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(
            0.5,
            0.5,
            "no mining sites in this plan",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="0.4",
        )
    ax.set_title(title)
    return Chart(
        "mining",
        title,
        tuple(legend),
        "Planned mining load at each site (solid) and the site's capacity p_nom (dashed).",
        fig,
    )


def sources(t: PlanTables) -> Chart | None:
    """Each site's mining energy stacked by traced source (``None`` without the table).

    One bar per site; each plant is one segment coloured by its carrier (plants of
    one carrier are told apart by thin white edges), ``grid`` grey on top.
    """
    by_source = t.mining_mwh_by_site_and_source
    if by_source is None:
        return None
    sites = [str(s) for s in t.mining_mw.columns]
    sites += [s for s in dict.fromkeys(by_source["site"]) if s not in sites]
    colours = carrier_colours(t)
    fig = Figure(figsize=(WIDTH_IN, 4.2), layout="constrained")
    ax = fig.subplots()
    bottom_mwh = np.zeros(len(sites))
    carriers: list[str] = []
    # grid last in each bar, so the curtailed energy a site absorbed sits on the axis
    ordered = by_source.sort_values("carrier", key=lambda c: c == GRID_SOURCE, kind="stable")
    for site, _source, carrier, mwh in ordered.itertuples(index=False):
        i = sites.index(site)
        colour = colours.get(carrier, GRID_COLOUR)
        ax.bar(
            i,
            mwh,
            width=BAR_WIDTH,
            bottom=bottom_mwh[i],
            color=colour,
            edgecolor="white",
            linewidth=0.5,
        )
        bottom_mwh[i] += mwh
        carriers.append(carrier)
    for i, total_mwh in enumerate(bottom_mwh):
        ax.annotate(f"{total_mwh:,.1f}", (i, total_mwh), ha="center", va="bottom", fontsize=7)
    legend = [c for c in dict.fromkeys(carriers) if c != GRID_SOURCE]
    legend += [GRID_SOURCE] if GRID_SOURCE in carriers else []
    handles = [Patch(color=colours.get(c, GRID_COLOUR), label=c) for c in legend]
    if handles:
        ax.legend(
            handles=handles,
            title="carrier",
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    ax.set_xticks(range(len(sites)), sites, rotation=30 if len(sites) > 4 else 0, fontsize=8)
    ax.set_xlabel("mining site")
    ax.set_ylabel("mining energy (MWh)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(SOURCES_TITLE)
    return Chart(
        SOURCES_KEY,
        SOURCES_TITLE,
        tuple(legend),
        "Each site's mining energy traced to the plants it came from by proportional "
        "sharing of the plan's flow change (with mining minus without) through the "
        "network: curtailed energy coloured by the plant's carrier, the rest grid in grey.",
        fig,
    )


def prices(t: PlanTables) -> Chart:
    """Marginal prices at the buses of the mining sites."""
    title = "Marginal price at the mining sites' buses"
    fig = Figure(figsize=(WIDTH_IN, 4.0), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(t.snapshots))
    legend: list[str] = []
    buses: dict[str, list[str]] = {}
    for site, bus in t.mining_sites["bus"].items():
        buses.setdefault(str(bus), []).append(str(site))
    for i, (bus, sites) in enumerate(buses.items()):
        if bus not in t.marginal_price.columns:
            continue
        label = f"bus {bus} ({', '.join(sites)})"
        ax.step(
            x,
            t.marginal_price[bus].to_numpy(dtype=float),
            where="mid",
            color=f"C{i % 10}",
            label=label,
        )
        legend.append(label)
    ax.set_ylabel("marginal price (currency/MWh)")
    snapshot_axis(ax, t.snapshots)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title)
    return Chart(
        "prices",
        title,
        tuple(legend),
        "Dual of each site bus's power balance in the mining plan: what one more MWh "
        "there would cost the system.",
        fig,
    )


def co2_known(t: PlanTables) -> bool:
    """Whether the plan's CO2 figure means anything: the scenario gives CO2 factors,
    or mining bought no other generation, or every generator is renewable."""
    gens = t.generators
    factors = gens["co2_t_per_mwh"] if "co2_t_per_mwh" in gens.columns else None
    if factors is not None and (factors.astype(float) > 0).any():
        return True
    other = float(t.details.get("mining_mwh_by_source", {}).get("other", 0.0))
    return other <= 0.0 or bool(gens["renewable"].all())


def totals(t: PlanTables) -> dict[str, float]:
    """The headline totals (MWh, currency, t), the plan's own from ``summary.json`` and
    ``details.json`` (``nan`` where it has none: revenue of an older plan, CO2
    without CO2 factors)."""
    by_source = t.details.get("mining_mwh_by_source", {})
    return {
        "mining_mwh": float(t.summary["mining_mwh"]),
        "mining_mwh_curtailed": float(by_source.get("curtailed", np.nan)),
        "mining_mwh_other": float(by_source.get("other", np.nan)),
        "curtailment_mwh_before": float(t.summary["curtailment_mwh_before"]),
        "curtailment_mwh_after": float(t.summary["curtailment_mwh_after"]),
        "revenue": t.revenue,
        "mining_co2_t": float(t.details.get("mining_co2_t", np.nan)) if co2_known(t) else math.nan,
    }


def totals_chart(t: PlanTables) -> Chart:
    """Bars of the totals: energy, revenue by site, CO2."""
    title = "Totals: energy absorbed, revenue and CO2 of the mining energy"
    tot = totals(t)
    fig = Figure(figsize=(WIDTH_IN, 3.6), layout="constrained")
    ax_e, ax_r, ax_c = fig.subplots(1, 3, width_ratios=[3, 3, 1])
    energy = {
        "mined": tot["mining_mwh"],
        "absorbed": tot["mining_mwh_curtailed"],
        "other": tot["mining_mwh_other"],
    }
    bars = ax_e.bar(list(energy), list(energy.values()), color=["C0", "C2", "C7"])
    ax_e.bar_label(bars, fmt="{:,.1f}", fontsize=7)
    ax_e.set_ylabel("energy (MWh)")
    ax_e.set_title("mining energy", fontsize=10)
    revenue = t.revenue_by_site
    bars = ax_r.bar(list(revenue), list(revenue.values()), color="C1")
    ax_r.bar_label(bars, fmt="{:,.0f}", fontsize=7)
    ax_r.set_ylabel("revenue (currency)")
    ax_r.set_title("revenue by site", fontsize=10)
    ax_r.tick_params(axis="x", labelrotation=30, labelsize=7)
    if math.isnan(tot["mining_co2_t"]):
        # no CO2 factors: say so rather than draw 0 t on an empty axis
        ax_c.set_ylim(0.0, 1.0)
        ax_c.set_xticks([0], ["CO2"])
        ax_c.text(0, 0.5, "unknown:\nno CO2\nfactors", ha="center", va="center", fontsize=8)
    else:
        bars = ax_c.bar(["CO2"], [tot["mining_co2_t"]], color="C3")
        ax_c.bar_label(bars, fmt="{:,.2f}", fontsize=7)
        ax_c.set_ylim(bottom=0.0, top=max(1.0, tot["mining_co2_t"] * 1.15))
    ax_c.set_ylabel("CO2 (t)")
    ax_c.set_title("CO2", fontsize=10)
    fig.suptitle(title)
    return Chart(
        "totals",
        title,
        ("mined", "absorbed", "other"),
        "Energy mined and how much of it was curtailment absorbed, the value of the "
        "mined energy per site, and the CO2 of the extra generation mining caused.",
        fig,
    )


def draw_all(t: PlanTables) -> list[Chart]:
    """Every chart of the report, in reading order (no sources chart for a plan
    directory without the sources table)."""
    colours = carrier_colours(t)
    charts = [
        network_map(t, colours),
        curtailment(t),
        mining(t),
        sources(t),
        branch_loading(t),
        branch_change(t),
        prices(t),
        totals_chart(t),
    ]
    return [c for c in charts if c is not None]
