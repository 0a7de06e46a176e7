"""Shift a kept HiGHS basis along the time axis when a rolling window moves.

When the window moves by ``k`` periods, the period the new model calls ``t`` is
the one the old model called ``t + k``: each series moves ``k`` slots. The
basis the last solve left describes the old slots, so reusing it as it stands
starts the dual simplex from the previous hour's dispatch in every slot (on
SciGRID-DE ~900 + ~750 iterations, as long as a third of a cold plan). Shifted,
it starts from the right dispatch for all but the ``k`` new last periods.

Every column and HiGHS row whose Pyomo index ends in the model's time set ``T``
is keyed by (component, the rest of its index) and its period; a member of
period ``t`` takes the status its key had at ``t + k``, and the new last periods
(``t + k >= T``) take the old last period's. Members not indexed by time keep
their own status.

The shifted basis may not have exactly one basic variable per row, or may be
singular; it is handed to HiGHS as an *alien* basis, which HiGHS completes to a
proper one (adding slacks where it is short) before the solve. Nonbasic statuses
are set to a bound that exists (``kLower`` on a column without lower bound
becomes ``kUpper`` or ``kZero``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = ["PeriodIndex", "period_index", "shifted_status", "valid_nonbasic"]

# HighsBasisStatus values
_LOWER, _BASIC, _UPPER, _ZERO = 0, 1, 2, 3


class PeriodIndex:
    """For each member (column or row), its key and its period (-1: not timed).

    ``table[key, t]`` is the member of that key at period ``t`` (-1 where none).
    """

    def __init__(self, key: NDArray[np.int64], period: NDArray[np.int64], n_t: int) -> None:
        self.key = key
        self.period = period
        self.n_t = n_t
        n_keys = int(key.max()) + 1 if len(key) else 0
        self.table = np.full((max(n_keys, 1), n_t), -1, dtype=np.int64)
        timed = period >= 0
        self.table[key[timed], period[timed]] = np.flatnonzero(timed)

    def source(self, shift: int) -> NDArray[np.int64]:
        """For each member, the old member whose status it takes after ``shift`` periods."""
        n = len(self.key)
        src = np.arange(n, dtype=np.int64)
        timed = np.flatnonzero(self.period >= 0)
        old_t = np.minimum(self.period[timed] + shift, self.n_t - 1)
        found = self.table[self.key[timed], old_t]
        ok = found >= 0
        src[timed[ok]] = found[ok]
        return src


def period_index(members: Sequence[Any], time_set: Any) -> PeriodIndex:
    """Key and period of each Pyomo member (``VarData`` or ``ConstraintData``)."""
    n_t = len(time_set)
    timed_parent: dict[int, bool] = {}
    keys: dict[tuple[int, Any], int] = {}
    key = np.zeros(len(members), dtype=np.int64)
    period = np.full(len(members), -1, dtype=np.int64)
    for i, obj in enumerate(members):
        parent = obj.parent_component()
        pid = id(parent)
        timed = timed_parent.get(pid)
        if timed is None:
            timed = timed_parent[pid] = _indexed_by_time(parent, time_set)
        if not timed:
            continue
        idx = obj.index()
        if isinstance(idx, tuple):
            rest, t = idx[:-1], idx[-1]
        else:
            rest, t = (), idx
        key[i] = keys.setdefault((pid, rest), len(keys))
        period[i] = int(t)
    return PeriodIndex(key, period, n_t)


def _indexed_by_time(component: Any, time_set: Any) -> bool:
    if not component.is_indexed():
        return False
    index = component.index_set()
    if index is time_set:
        return True
    subsets = list(index.subsets()) if hasattr(index, "subsets") else []
    return len(subsets) > 1 and subsets[-1] is time_set


def shifted_status(status: NDArray[np.int64], index: PeriodIndex, shift: int) -> NDArray[np.int64]:
    """Statuses after the window moved ``shift`` periods (see the module's docstring)."""
    return np.asarray(status, dtype=np.int64)[index.source(shift)]


def valid_nonbasic(
    status: NDArray[np.int64], lower: NDArray[np.float64], upper: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Nonbasic statuses moved to a bound that exists (basic ones kept)."""
    out = np.array(status, dtype=np.int64)
    lo, up = np.isfinite(lower), np.isfinite(upper)
    nonbasic = out != _BASIC
    at_lower = nonbasic & (out == _LOWER)
    at_upper = nonbasic & (out == _UPPER)
    other = nonbasic & ~at_lower & ~at_upper
    out[at_lower & ~lo] = np.where(up[at_lower & ~lo], _UPPER, _ZERO)
    out[at_upper & ~up] = np.where(lo[at_upper & ~up], _LOWER, _ZERO)
    fix = other & (lo | up)
    out[fix] = np.where(lo[fix], _LOWER, _UPPER)
    out[other & ~lo & ~up] = _ZERO
    return out
