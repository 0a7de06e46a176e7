"""Power budget -> hashing duty: bounded batches with pauses, from an energy-per-hash figure.

The power model is ``power_w = hashrate_hs * joules_per_hash``: each batch of
``n`` nonces costs ``n * joules_per_hash`` joules (a configured figure for the
CPU; on a GPU where NVML reads its energy, corrected each telemetry window by
``correct`` from the joules measured, see ``service.worker.power``). A token bucket holds the energy
allowed but not yet used: it fills at the budget and is capped at
``CREDIT_S`` seconds of budget (or one batch, if larger), and a batch starts
only when the bucket holds its whole energy. So over any window ``W`` the
energy used is at most ``budget_w * (W + CREDIT_S)``: within 5% over any 2 s
(and 2% over the 5 s telemetry interval), while a loop starved of the CPU for up
to ``CREDIT_S`` catches up, so the mean over a period tracks the budget.
The card's power limit is never touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CREDIT_S", "DutyCycle"]

# Burst allowance: energy saved while idle is capped at this much budget time
# (bounds the overshoot over a window W to CREDIT_S / W of the budget).
CREDIT_S = 0.1
# Batch length at full duty; shorter in proportion at lower duty, never below MIN_BATCH_S
# (thread start-up dominates below a few milliseconds). Kept below CREDIT_S so the
# bucket has room for the budget that accrues while the loop is late to start a batch.
BATCH_AT_FULL_S = 0.05
MIN_BATCH_S = 0.004
MIN_BATCH_NONCES = 1 << 12


@dataclass
class DutyCycle:
    """Token-bucket duty cycling of hashing batches.

    Parameters
    ----------
    joules_per_hash:
        Energy per hash of the device (W per H/s).
    hashrate_hs:
        Current estimate of the device's full-speed hashrate; refined by ``record``.
    """

    joules_per_hash: float
    hashrate_hs: float
    budget_w: float = 0.0
    credit_j: float = 0.0
    _last_s: float | None = None

    @property
    def full_power_w(self) -> float:
        """Power when hashing flat out."""
        return self.hashrate_hs * self.joules_per_hash

    def set_budget(self, budget_w: float, now_s: float) -> None:
        """Change the budget (accrued credit is kept, under the new cap)."""
        self._accrue(now_s)
        if budget_w != self.budget_w:
            self.budget_w = max(0.0, budget_w)
            self.credit_j = min(self.credit_j, self._cap_j())

    def batch_nonces(self) -> int:
        """Nonces in the next batch: shorter batches at lower duty."""
        duty = min(1.0, self.budget_w / self.full_power_w) if self.full_power_w > 0 else 0.0
        batch_s = max(MIN_BATCH_S, duty * BATCH_AT_FULL_S)
        return max(MIN_BATCH_NONCES, int(self.hashrate_hs * batch_s))

    def wait_s(self, nonces: int, now_s: float) -> float:
        """Seconds to wait before a batch of ``nonces`` may start (0: start now)."""
        self._accrue(now_s)
        if self.budget_w <= 0:
            return math.inf
        need_j = nonces * self.joules_per_hash - self.credit_j
        return max(0.0, need_j / self.budget_w)

    def begin(self, nonces: int, now_s: float) -> float:
        """Take a batch's energy from the bucket as it starts; returns that energy in joules.

        Taken at the start, so the budget that accrues while the batch runs is
        not lost to the cap.
        """
        self._accrue(now_s)
        energy_j = nonces * self.joules_per_hash
        self.credit_j -= energy_j
        return energy_j

    def record(self, nonces: int, busy_s: float) -> None:
        """Refine the hashrate estimate from a finished batch."""
        if busy_s > 0:
            # Smooth the hashrate estimate; batches are short and noisy.
            self.hashrate_hs = 0.8 * self.hashrate_hs + 0.2 * (nonces / busy_s)

    def correct(self, joules_per_hash: float) -> None:
        """Use a corrected energy per hash (from measured energy) from now on.

        The bucket's credit is kept, under the cap the new figure gives; a figure
        that is not a positive number is ignored.
        """
        if math.isfinite(joules_per_hash) and joules_per_hash > 0:
            self.joules_per_hash = joules_per_hash
            self.credit_j = min(self.credit_j, self._cap_j())

    def _cap_j(self) -> float:
        one_batch_j = self.batch_nonces() * self.joules_per_hash
        return max(self.budget_w * CREDIT_S, one_batch_j)

    def _accrue(self, now_s: float) -> None:
        if self._last_s is not None and now_s > self._last_s:
            self.credit_j = min(
                self._cap_j(), self.credit_j + self.budget_w * (now_s - self._last_s)
            )
        self._last_s = now_s
