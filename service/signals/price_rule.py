"""The price rule: curtail a site on high prices, with hysteresis.

As fleet software configures it: a site curtails after ``curtail_after``
consecutive intervals priced above ``curtail_above``, at once on an interval at or
above ``curtail_hard``, and resumes after ``resume_after`` consecutive intervals
priced below ``resume_below``. The gap between ``curtail_above`` and
``resume_below``, and the run lengths, keep a price that wobbles around one
threshold from switching megawatts on and off every interval.

The rule is a pure state machine: ``step(rule, state, price) -> state``; the caller
feeds it one price per interval, once each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["PriceRule", "PriceState", "run_rule", "step"]


@dataclass(frozen=True, slots=True)
class PriceRule:
    """Thresholds (currency per MWh) and run lengths (intervals) of the price rule.

    Raises
    ------
    ValueError
        A threshold is NaN, ``resume_below > curtail_above``, ``curtail_hard <
        curtail_above``, or a run length is below 1.
    """

    curtail_above: float
    curtail_hard: float = math.inf
    resume_below: float | None = None  # None: ``curtail_above`` (no price gap)
    curtail_after: int = 1
    resume_after: int = 1

    def __post_init__(self) -> None:
        resume = self.resume_threshold
        for name, v in (
            ("curtail_above", self.curtail_above),
            ("curtail_hard", self.curtail_hard),
            ("resume_below", resume),
        ):
            if math.isnan(v):
                raise ValueError(f"{name} is NaN")
        if resume > self.curtail_above:
            raise ValueError(
                f"resume_below {resume} is above curtail_above {self.curtail_above}: "
                "the site would never settle"
            )
        if self.curtail_hard < self.curtail_above:
            raise ValueError(
                f"curtail_hard {self.curtail_hard} is below curtail_above {self.curtail_above}"
            )
        for name, n in (("curtail_after", self.curtail_after), ("resume_after", self.resume_after)):
            if n < 1:
                raise ValueError(f"{name} must be at least 1 interval, got {n}")

    @property
    def resume_threshold(self) -> float:
        """``resume_below``, or ``curtail_above`` where none is set."""
        return self.curtail_above if self.resume_below is None else self.resume_below


@dataclass(frozen=True, slots=True)
class PriceState:
    """Where a site stands: curtailed or not, and the current run of high/low prices."""

    curtailed: bool = False
    above_run: int = 0
    below_run: int = 0


def step(rule: PriceRule, state: PriceState, price_per_mwh: float) -> PriceState:
    """The state after one more interval at ``price_per_mwh``.

    A NaN price (no price known) changes nothing and breaks no run: missing data
    neither curtails nor resumes a site.
    """
    if math.isnan(price_per_mwh):
        return state
    if not state.curtailed:
        if price_per_mwh >= rule.curtail_hard:
            return PriceState(curtailed=True)
        if price_per_mwh > rule.curtail_above:
            run = state.above_run + 1
            if run >= rule.curtail_after:
                return PriceState(curtailed=True)
            return replace(state, above_run=run)
        return replace(state, above_run=0)
    if price_per_mwh < rule.resume_threshold:
        run = state.below_run + 1
        if run >= rule.resume_after:
            return PriceState(curtailed=False)
        return replace(state, below_run=run)
    return replace(state, below_run=0)


def run_rule(
    rule: PriceRule, prices_per_mwh: Iterable[float], state: PriceState | None = None
) -> list[bool]:
    """Whether the site is curtailed after each interval of ``prices_per_mwh``."""
    s = state or PriceState()
    out = []
    for p in prices_per_mwh:
        s = step(rule, s, p)
        out.append(s.curtailed)
    return out
