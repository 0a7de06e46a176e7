"""Notes on what a plan's inputs lack, so that a zero is never silent.

Each note is one plain sentence for the report's "Notes" list: no mining sites,
sites that mined nothing, unrated branches, no CO2 factors, and curtailment-only
bus prices above every generator's cost (what they mean).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from service.report.charts import co2_known

if TYPE_CHECKING:
    from service.report.plandir import PlanTables

__all__ = ["IDLE_MWH", "notes"]

#: A site that mined less than this (MWh) over the plan mined nothing.
IDLE_MWH = 1e-6


def notes(t: PlanTables) -> list[str]:
    """The notes on a plan, in the order a reader meets the charts."""
    out: list[str] = []
    sites = t.mining_sites
    mode = str(t.summary.get("mode", ""))
    if len(sites) == 0:
        out.append(
            "This plan has no mining sites, so nothing was mined: the scenario has no "
            "(or an empty) mining_sites.csv. Add one (bus, p_nom, value) to plan mining."
        )
    else:
        by_site = t.summary.get("mining_mwh_by_site", {})
        # below IDLE_MWH is solver noise, not mining
        idle = [str(s) for s in sites.index if float(by_site.get(str(s), 0.0)) < IDLE_MWH]
        why = (
            "no curtailed or spilled energy reaches its bus"
            if mode == "curtailment-only"
            else "energy at its bus costs more than mining there earns"
        )
        for site in idle:
            bus = str(sites.at[site, "bus"])
            out.append(f"Site {site} (bus {bus}) mined nothing in this plan: {why}.")
    if t.branches is not None and len(t.branches):
        unrated = t.branches[~np.isfinite(t.branches["s_max_mw"].to_numpy(dtype=float))]
        if len(unrated):
            names = ", ".join(t.branch_label(k) for k in unrated.index[:5])
            more = f" and {len(unrated) - 5} more" if len(unrated) > 5 else ""
            out.append(
                f"{len(unrated)} of {len(t.branches)} branches have no rating (s_nom): "
                f"nothing limits their flow and their loading shows as 0 % ({names}{more})."
            )
    if not co2_known(t):
        other = float(t.details.get("mining_mwh_by_source", {}).get("other", 0.0))
        out.append(
            "The scenario gives no CO2 factors (carriers.csv co2_emissions): the CO2 of the "
            f"{other:,.1f} MWh of other generation mining used is unknown, not zero."
        )
    out += _price_notes(t, mode)
    return out


def _price_notes(t: PlanTables, mode: str) -> list[str]:
    if "marginal_cost" not in t.generators.columns or not len(t.generators):
        return []
    prices = t.marginal_price
    if not prices.size:
        return []
    dearest = float(t.generators["marginal_cost"].astype(float).max())
    peak = prices.max(axis=0)
    bus = str(peak.idxmax())
    high = float(peak.max())
    # a bus where a site mines part of its capacity is priced at the site's value
    value = float(t.mining_value_per_mwh.to_numpy().max()) if t.mining_value_per_mwh.size else 0.0
    if mode != "curtailment-only" or high <= max(dearest, value) + 1e-6:
        return []
    low = float(prices.min(axis=0).min())
    return [
        f"Bus prices reach {high:,.0f}/MWh (bus {bus}; the lowest is {low:,.0f}) while no "
        f"generator costs more than {dearest:,.0f}/MWh and no site values a MWh above "
        f"{value:,.0f}. In curtailment-only mode every "
        "conventional generator is pinned to its output in the plan without mining, so one "
        "more MWh at a bus can only come from re-routing renewable output around congested "
        "branches: the bus price (the dual of its power balance) measures that re-routing, "
        "not a cost anyone pays for energy."
    ]
