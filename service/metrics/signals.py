"""Why each site's budget is what it is, and the grid signal that holds it.

``spillway_site_budget_reason{site,reason}`` is 1 for the rule that set the site's
budget and 0 for the others (reasons: the budget sources, ``none`` .. ``price_rule``);
``spillway_grid_signal_active{site,kind}`` is 1 while a grid signal of that kind
holds the site's budget (``load_dispatch``, ``simple``, ``price``: the price rule
has curtailed it); ``spillway_grid_signal_until_timestamp_seconds{site}`` is the end
of that signal's interval (0: none, or open-ended), and
``spillway_grid_signal_setpoint_watts{site}`` / ``spillway_grid_signal_level{site}``
its setpoint or level (0 otherwise). Label sets are small and fixed; a site's
series are written only when its decision changes (every work stream asks for its
budget each refresh).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge

from service.metrics.labels import NAMESPACE

if TYPE_CHECKING:
    from service.domain import Budget
    from service.signals.precedence import SiteDecision

__all__ = ["BUDGET_REASONS", "SIGNAL_KINDS", "SignalMetrics"]

#: The ``reason`` label: ``service.domain.BudgetSourceKind`` values.
BUDGET_REASONS = ("none", "plan", "schedule", "override", "grid_event", "price_rule")
#: The ``kind`` label: ``service.signals.domain.SignalKind`` values as status names them.
SIGNAL_KINDS = ("load_dispatch", "simple", "price")
_KIND_OF = {"load_dispatch": "load_dispatch", "simple": "simple", "electricity_price": "price"}


class SignalMetrics:
    """Per-site budget reason and active grid signal.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.budget_reason = Gauge(
            "site_budget_reason",
            "1 for the rule that set the site's budget (grid event > override > price rule"
            " > plan > schedule > none), 0 for the others.",
            ("site", "reason"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.signal_active = Gauge(
            "grid_signal_active",
            "1 while a grid signal of this kind holds the site's budget (price: the price"
            " rule has curtailed it).",
            ("site", "kind"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.signal_until = Gauge(
            "grid_signal_until_timestamp_seconds",
            "Unix time the grid signal holding the site's budget ends (0: none or open-ended).",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.signal_setpoint = Gauge(
            "grid_signal_setpoint_watts",
            "The LOAD_DISPATCH setpoint holding the site's budget (0: none).",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.signal_level = Gauge(
            "grid_signal_level",
            "The SIMPLE level (0-3) holding the site's budget (0: none).",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self._last: dict[str, tuple[str, str | None, float, float, int]] = {}

    def site(self, site: str) -> None:
        """Create a site's series at zero (first sight of a site: no reason, no signal yet)."""
        for reason in BUDGET_REASONS:
            self.budget_reason.labels(site, reason)
        for kind in SIGNAL_KINDS:
            self.signal_active.labels(site, kind)
        self.signal_until.labels(site)
        self.signal_setpoint.labels(site)
        self.signal_level.labels(site)

    def observe(self, budget: Budget, decision: SiteDecision | None) -> None:
        """Record why ``budget`` is what it is (``decision``: the grid's, if any)."""
        site = budget.site
        kind = None
        until_s, setpoint_w, level = 0.0, 0.0, 0
        if decision is not None and decision.event_kind is not None:
            kind = _KIND_OF.get(str(decision.event_kind))
            if decision.until_s is not None and math.isfinite(decision.until_s):
                until_s = decision.until_s
            setpoint_w = decision.setpoint_w or 0.0
            level = decision.level or 0
        now = (str(budget.source), kind, until_s, setpoint_w, level)
        if self._last.get(site) == now:
            return
        self._last[site] = now
        for reason in BUDGET_REASONS:
            self.budget_reason.labels(site, reason).set(1 if reason == now[0] else 0)
        for k in SIGNAL_KINDS:
            self.signal_active.labels(site, k).set(1 if k == kind else 0)
        self.signal_until.labels(site).set(until_s)
        self.signal_setpoint.labels(site).set(setpoint_w)
        self.signal_level.labels(site).set(level)
