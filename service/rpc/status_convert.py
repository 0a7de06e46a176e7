"""``GetStatus``'s budget reasons, grid signals and rolling window: domain -> messages."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from service.domain import Budget, BudgetSourceKind
from service.rpc.convert import duration, timestamp
from service.signals.domain import SignalKind
from service.signals.precedence import BudgetReason
from spillway.v1 import operator_pb2

if TYPE_CHECKING:
    from service.coordinator.rolling import RollingView
    from service.signals.precedence import SiteDecision

__all__ = ["budget_reason_to_proto", "grid_signal_to_proto", "rolling_to_proto"]

_FROM_SOURCE = {
    BudgetSourceKind.NONE: operator_pb2.BUDGET_REASON_NONE,
    BudgetSourceKind.PLAN: operator_pb2.BUDGET_REASON_PLAN,
    BudgetSourceKind.SCHEDULE: operator_pb2.BUDGET_REASON_SCHEDULE,
    BudgetSourceKind.OVERRIDE: operator_pb2.BUDGET_REASON_OVERRIDE,
    BudgetSourceKind.GRID_EVENT: operator_pb2.BUDGET_REASON_GRID_EVENT,
    BudgetSourceKind.PRICE_RULE: operator_pb2.BUDGET_REASON_PRICE_RULE,
}
_KINDS = {
    SignalKind.LOAD_DISPATCH: operator_pb2.GRID_SIGNAL_KIND_LOAD_DISPATCH,
    SignalKind.SIMPLE: operator_pb2.GRID_SIGNAL_KIND_SIMPLE,
    SignalKind.ELECTRICITY_PRICE: operator_pb2.GRID_SIGNAL_KIND_PRICE,
}


def budget_reason_to_proto(
    budget: Budget, decision: SiteDecision | None
) -> operator_pb2.BudgetReason:
    """Why the budget is what it is: the grid's decision, else the budget's own source."""
    if decision is not None and decision.reason == BudgetReason.EVENT:
        return operator_pb2.BUDGET_REASON_GRID_EVENT
    if decision is not None and decision.reason == BudgetReason.PRICE_RULE:
        return operator_pb2.BUDGET_REASON_PRICE_RULE
    return _FROM_SOURCE[budget.source]


def grid_signal_to_proto(decision: SiteDecision) -> operator_pb2.GridSignalStatus:
    """The event (or, for the price rule, the price) that holds a site's budget."""
    kind = decision.event_kind
    msg = operator_pb2.GridSignalStatus(
        event_id=decision.event_id or "",
        kind=_KINDS.get(kind, operator_pb2.GRID_SIGNAL_KIND_UNSPECIFIED)
        if kind is not None
        else operator_pb2.GRID_SIGNAL_KIND_UNSPECIFIED,
        level=decision.level or 0,
        setpoint_watts=decision.setpoint_w or 0.0,
        underlying_budget_watts=decision.underlying_w,
        price_per_mwh=decision.price_per_mwh or 0.0,
    )
    if decision.until_s is not None and math.isfinite(decision.until_s):
        msg.until_time.CopyFrom(timestamp(decision.until_s))
    return msg


def rolling_to_proto(view: RollingView) -> operator_pb2.RollingStatus:
    """The rolling window, the forecasts' reach and revision."""
    msg = operator_pb2.RollingStatus(
        forecast_reach_time=timestamp(view.reach_end_s),
        horizon=duration(view.horizon_s),
        forecast_revision=view.revision,
    )
    if view.window_start_s is not None and view.window_end_s is not None:
        msg.window_start_time.CopyFrom(timestamp(view.window_start_s))
        msg.window_end_time.CopyFrom(timestamp(view.window_end_s))
    return msg
