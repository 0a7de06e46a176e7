"""A site's budget and why: grid event > operator override > price rule > plan > zero.

Pure functions over plain data; the coordinator gathers the inputs (its stored
override, the plan's budget for the period, the price rule's state, the active grid
signals) and streams the answer.

- A grid event outranks everything, but it *limits* the budget that would hold
  without it rather than inventing one: ``LOAD_DISPATCH`` caps it at the setpoint,
  ``SIMPLE`` scales it by the level's fraction. Where several events hold at once,
  the lowest budget wins (every event is obeyed).
- An operator override replaces what the price rule and the plan say.
- The price rule, when it has curtailed the site, sets zero.
- Else the plan's budget; with no plan for now, zero (safe).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.signals.domain import GridSignal, SignalKind

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DEFAULT_SIMPLE_LEVELS", "BudgetReason", "SiteDecision", "decide_site_budget"]

#: Fractions of the budget for OpenADR SIMPLE levels 0 (normal), 1 (moderate),
#: 2 (high) and 3 (special): ``--openadr-simple-levels 1,0.5,0,0``.
DEFAULT_SIMPLE_LEVELS: tuple[float, float, float, float] = (1.0, 0.5, 0.0, 0.0)


class BudgetReason(enum.StrEnum):
    """What set a site's budget."""

    EVENT = "event"
    OVERRIDE = "override"
    PRICE_RULE = "price_rule"
    PLAN = "plan"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SiteDecision:
    """A site's budget now and why.

    For ``EVENT``: the binding event's id, kind, its level (SIMPLE) or setpoint in W
    (LOAD_DISPATCH), and the end of its interval (``until_s``). For ``PRICE_RULE``
    (as the coordinator fills it in): the price in force and its interval's end. For ``OVERRIDE``:
    ``until_s`` is the override's expiry. ``underlying`` is what the budget would be
    without the event (equal to ``budget_w`` for every other reason).
    """

    site: str
    budget_w: float
    reason: BudgetReason
    underlying_w: float
    until_s: float | None = None
    event_id: str | None = None
    event_kind: SignalKind | None = None
    level: int | None = None
    setpoint_w: float | None = None
    #: ``PRICE_RULE``: the price in force (per MWh), when an interval holds now.
    price_per_mwh: float | None = None


def decide_site_budget(
    site: str,
    now_s: float,
    *,
    plan_w: float | None,
    override_w: float | None = None,
    override_until_s: float | None = None,
    price_curtailed: bool = False,
    signals: Sequence[GridSignal] = (),
    simple_levels: Sequence[float] = DEFAULT_SIMPLE_LEVELS,
) -> SiteDecision:
    """The budget of ``site`` at ``now_s`` and the reason for it.

    Parameters
    ----------
    plan_w:
        The plan's budget for the period holding now (``None``: no plan covers now).
    override_w, override_until_s:
        An operator override and its expiry (ignored once expired; ``None`` until:
        no expiry).
    price_curtailed:
        Whether the price rule has curtailed the site.
    signals:
        Grid signals (any site, any time: those not for ``site`` or not active now
        are ignored, and so are ``ELECTRICITY_PRICE`` ones, which feed the price rule).
    simple_levels:
        Fraction of the budget for each SIMPLE level (index = level); a level past
        the end takes the last fraction.

    Raises
    ------
    ValueError
        ``simple_levels`` is empty or holds a fraction outside [0, 1].
    """
    if not simple_levels or any(not 0.0 <= f <= 1.0 for f in simple_levels):
        raise ValueError(f"simple_levels must be fractions in [0, 1], got {list(simple_levels)}")
    if override_w is not None and (override_until_s is None or now_s < override_until_s):
        base = SiteDecision(site, override_w, BudgetReason.OVERRIDE, override_w, override_until_s)
    elif price_curtailed:
        base = SiteDecision(site, 0.0, BudgetReason.PRICE_RULE, 0.0)
    elif plan_w is not None:
        base = SiteDecision(site, plan_w, BudgetReason.PLAN, plan_w)
    else:
        base = SiteDecision(site, 0.0, BudgetReason.NONE, 0.0)
    best = base
    for s in signals:
        if s.kind == SignalKind.ELECTRICITY_PRICE or not (s.applies_to(site) and s.active(now_s)):
            continue
        if s.kind == SignalKind.LOAD_DISPATCH:
            budget = min(base.budget_w, max(0.0, s.value))
            level, setpoint = None, max(0.0, s.value)
        else:
            level = max(0, int(s.value))
            budget = base.budget_w * simple_levels[min(level, len(simple_levels) - 1)]
            setpoint = None
        # the first event found binds; a later one only where it is strictly lower
        if best.reason != BudgetReason.EVENT or budget < best.budget_w:
            best = SiteDecision(
                site,
                budget,
                BudgetReason.EVENT,
                base.budget_w,
                s.end_s,
                s.event_id,
                s.kind,
                level,
                setpoint,
            )
    return best
