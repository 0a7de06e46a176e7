"""Which plants a site's energy in one ledger period came from, by the plan, and at what price.

The rule (the plan carries, per period, each site's ``curtailed_w`` and the
plants they come from, ``sources``, traced through the network; and, per plant,
the curtailment all mining absorbs, ``absorbed_w``; see
``service.coordinator.planning.plan_from_result`` and ``optimiser.attribution``):

1. The site may claim as curtailed at most what the plan gave it: over the
   ledger period's window ``[start, start + period_s)``, the integral of its
   ``curtailed_w`` (plan periods overlapping the window count for their
   overlap). Periods outside the plan, and sites the plan does not name,
   claim nothing.
2. Each plan period's claimable energy comes from the site's own ``sources``:
   the plants whose curtailed energy reaches the site's bus by proportional
   sharing (Bialek) of the change in flows that mining causes, so a site behind
   a congested line is never credited with a plant beyond it. Plans made before
   tracing carry no ``sources``; for them the claim is split among all plants in
   proportion to their ``absorbed_w`` in that period (the old system-wide
   pro-rata rule). A traced plan's site without ``sources`` has
   ``curtailed_w`` 0 and so claims nothing either way.
3. The site used ``min(energy, claimable)`` curtailed energy (curtailed energy
   first: a site under budget still ran on what would have been thrown away),
   split among plants in proportion to what each could supply, in whole
   joules by largest remainder so the parts add up exactly; the rest is grid
   energy.
4. Each plant is paid its contract price where one is configured, else the
   marginal price of the site's bus, weighted by the plant's energy over the
   plan periods. A negative marginal price (usual while plants are curtailed)
   is recorded as zero: the ledger never has a plant owe the miner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.units import MICRO_PER_UNIT

if TYPE_CHECKING:
    from service.domain import Plan

__all__ = ["MICRO_PER_UNIT", "Attribution", "attribute"]


@dataclass(frozen=True, slots=True)
class Attribution:
    """A site's energy split for one ledger period."""

    plan_id: str
    curtailed_j: dict[str, int] = field(default_factory=dict)
    carrier: dict[str, str] = field(default_factory=dict)
    price_micro_per_mwh: dict[str, int] = field(default_factory=dict)


def _split(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``total`` in whole units across ``weights`` by largest remainder (sums exactly)."""
    weight_sum = sum(weights.values())
    if total <= 0 or weight_sum <= 0:
        return {}
    exact = {name: total * weight / weight_sum for name, weight in weights.items()}
    parts = {name: int(value) for name, value in exact.items()}
    left = total - sum(parts.values())
    for name in sorted(exact, key=lambda n: (parts[n] - exact[n], n))[:left]:
        parts[name] += 1
    return {name: joules for name, joules in parts.items() if joules > 0}


def attribute(
    plan: Plan | None,
    site: str,
    period_start_s: int,
    period_s: int,
    energy_j: int,
    *,
    contract_price_micro_per_mwh: Mapping[str, int] | None = None,
) -> Attribution:
    """Split ``energy_j`` used by ``site`` in one ledger period by the module's rule."""
    if plan is None:
        return Attribution(plan_id="")
    site_plan = plan.site(site)
    plan_start_s, plan_period_s = plan.start_s, plan.period_s
    if site_plan is None or plan_period_s <= 0:
        return Attribution(plan_id=plan.plan_id)
    window_end_s = period_start_s + period_s
    first = max(0, int((period_start_s - plan_start_s) // plan_period_s))
    last = min(plan.period_count - 1, int((window_end_s - plan_start_s) // plan_period_s))
    supply_j: dict[str, float] = defaultdict(float)
    money: dict[str, float] = defaultdict(float)  # joules x price, for the weighted price
    for t in range(first, last + 1):
        t_start_s = plan_start_s + t * plan_period_s
        overlap_s = min(window_end_s, t_start_s + plan_period_s) - max(period_start_s, t_start_s)
        if overlap_s <= 0 or t >= len(site_plan.curtailed_w):
            continue
        claim_j = max(0.0, site_plan.curtailed_w[t]) * overlap_s
        if site_plan.sources:
            weights = {
                src.plant: max(0.0, src.power_w[t])
                for src in site_plan.sources
                if t < len(src.power_w)
            }
        else:  # a plan made before tracing: system-wide pro rata
            weights = {
                p.plant: max(0.0, p.absorbed_w[t]) for p in plan.plants if t < len(p.absorbed_w)
            }
        weight_sum = sum(weights.values())
        if claim_j <= 0 or weight_sum <= 0:
            continue
        prices = site_plan.bus_price_per_mwh
        price = max(0.0, prices[t]) if t < len(prices) else 0.0
        for plant, watts in weights.items():
            joules = claim_j * watts / weight_sum
            supply_j[plant] += joules
            money[plant] += joules * price
    claimable_j = sum(supply_j.values())
    used_j = min(energy_j, int(claimable_j))
    curtailed_j = _split(used_j, supply_j)
    carriers: dict[str, str] = defaultdict(lambda: "other")
    carriers.update({p.plant: p.carrier or "other" for p in plan.plants})
    contract = contract_price_micro_per_mwh or {}
    prices_micro = {
        plant: contract[plant]
        if plant in contract
        else round(money[plant] / supply_j[plant] * MICRO_PER_UNIT)
        for plant in curtailed_j
    }
    return Attribution(
        plan_id=plan.plan_id,
        curtailed_j=curtailed_j,
        carrier={plant: carriers[plant] for plant in curtailed_j},
        price_micro_per_mwh=prices_micro,
    )
