"""Rolling-window updates of a live :class:`optimiser.Planner`: shift its bases in time,
and set the storage units' initial state of charge.

Kept apart from ``planner.py`` (a mixin of :class:`~optimiser.Planner`) because both
only matter to the rolling horizon (:mod:`optimiser.rolling`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from optimiser.basis_shift import PeriodIndex, period_index
from optimiser.errors import BadGridDataError
from optimiser.solve import RowMap

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.data import GridData
    from optimiser.solve import HighsModel

__all__ = ["WarmUpdates"]


class WarmUpdates:
    """Mixin: what :meth:`Planner.update` does for a moved window."""

    data: GridData
    model: Any
    highs: HighsModel
    base_highs: HighsModel
    _periods: tuple[PeriodIndex, PeriodIndex] | None = None
    _soc0: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]] | None = None

    def _shift_bases(self, shift: int) -> None:
        """Both instances' kept bases, ``shift`` periods earlier (see ``basis_shift``)."""
        if self._periods is None:  # once, on the first shift (not part of a cold plan)
            h, t = self.highs, self.model.T
            self._periods = (period_index(h.col_members, t), period_index(h.row_members, t))
        cols, rows = self._periods
        for inst in (self.base_highs, self.highs):
            inst.shift_basis(cols, rows, shift)

    def _soc0_rows(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """Per storage unit: the HiGHS row of its first-period balance (-1: cyclic or
        none), the coefficient of ``E_u0`` in it, and the row's right-hand side now."""
        if self._soc0 is None:
            m, h = self.model, self.highs
            su = self.data.storage_units
            rows = h.rows(m.eq_storage_soc, [(u, 0) for u in su.names]).row
            rows = np.where(su.cyclic_state_of_charge, -1, rows)
            soc_cols = h.cols(m.sto_soc_mwh).reshape(len(su), -1)[:, 0]
            coef = np.zeros(len(su))
            a = h.a_csc
            for i, (r, c) in enumerate(zip(rows.tolist(), soc_cols.tolist(), strict=True)):
                if r >= 0 and c >= 0:
                    lo, hi = a.indptr[c], a.indptr[c + 1]
                    hit = np.flatnonzero(a.indices[lo:hi] == r)
                    coef[i] = a.data[lo + hit[0]] if len(hit) else 0.0
            rhs = np.where(rows >= 0, h.row_lower[np.maximum(rows, 0)], 0.0)
            self._soc0 = (rows, coef, rhs)
        return self._soc0

    def _set_soc_initial(self, d: GridData, soc_mwh: NDArray[np.float64]) -> GridData:
        """The scenario with these initial states of charge, and both LPs changed to match."""
        su = d.storage_units
        if not len(su):
            return d
        new = np.array(soc_mwh, dtype=float)
        if new.shape != su.state_of_charge_initial_mwh.shape or not np.isfinite(new).all():
            raise BadGridDataError(
                "storage_units", None, "state_of_charge_initial", f"bad values {new!r}"
            )
        changed = ~np.isclose(new, su.state_of_charge_initial_mwh, rtol=0.0, atol=1e-12)
        if changed.any() and any(gc.kind == "primary_energy" for gc in d.global_constraints):
            # the CO2 row counts E_init as a constant: not updated here
            raise BadGridDataError(
                "storage_units", None, "state_of_charge_initial", "a CO2 limit needs a rebuild"
            )
        rows, coef, rhs = self._soc0_rows()
        rhs = rhs + coef * (new - su.state_of_charge_initial_mwh)
        self._soc0 = (rows, coef, rhs)
        none = np.full(len(rows), -1, dtype=np.int64)
        at = RowMap(row=rows, col=none, coef=coef, kind=np.zeros(len(rows), dtype=np.int64))
        for inst in (self.base_highs, self.highs):
            inst.set_row_bounds(at, rhs, rhs)
        return replace(d, storage_units=replace(su, state_of_charge_initial_mwh=new))
