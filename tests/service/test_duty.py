"""Budget -> hashing duty: the real CPU backend held to a budget by the declared power model."""

from __future__ import annotations

import time

import pytest

import kernels
from service.worker.duty import CREDIT_S, DutyCycle

# Header and target no nonce meets: every batch is pure hashing.
HEADER = bytes(76)
TARGET = kernels.DIFF1_TARGET >> 32


def run_duty(budget_w: float, joules_per_hash: float, seconds: float) -> list[tuple[float, float]]:
    """Hash on one CPU thread under ``budget_w`` for ``seconds``; (start, energy) per batch."""
    backend = kernels.CpuBackend(threads=1)
    try:
        rate = kernels.measure_hashrate(backend, seconds=0.2)
        duty = DutyCycle(joules_per_hash, rate.hashes_per_second)
        start = time.monotonic()
        duty.set_budget(budget_w, start)
        log = [(start, 0.0)]
        nonce = 0
        while (now := time.monotonic()) - start < seconds:
            count = duty.batch_nonces()
            wait_s = duty.wait_s(count, now)
            if wait_s > 0:
                time.sleep(min(wait_s, 0.05))
                continue
            begun = time.monotonic()
            energy = duty.begin(count, begun)
            backend.scan(HEADER, TARGET, nonce, count)
            nonce += count
            duty.record(count, time.monotonic() - begun)
            log.append((begun, energy))
        return log
    finally:
        backend.close()


def window_energy(log: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Energy of batches that started in ``[lo, hi)`` (each batch counted whole)."""
    return sum(e for t, e in log if lo <= t < hi)


class TestDutyCycle:
    def test_zero_budget_never_hashes(self) -> None:
        """At zero budget no batch may start."""
        duty = DutyCycle(1e-6, 1e7)
        duty.set_budget(0.0, 0.0)
        assert duty.wait_s(duty.batch_nonces(), 10.0) == float("inf")

    def test_credit_is_capped(self) -> None:
        """A long idle spell does not bank more than CREDIT_S of budget (or one batch)."""
        duty = DutyCycle(1e-6, 1e7)  # full power 10 W
        duty.set_budget(2.0, 0.0)
        duty.wait_s(duty.batch_nonces(), 1000.0)
        assert duty.credit_j <= max(2.0 * CREDIT_S, duty.batch_nonces() * 1e-6) + 1e-12

    @pytest.mark.parametrize("fraction", [0.2, 0.4])  # headroom on a shared 2-core host
    def test_real_cpu_mean_power_follows_budget(self, fraction: float) -> None:
        """Mean power over the run is within 5% of the budget; no 2 s window is 5% above it."""
        probe = kernels.measure_hashrate(kernels.CpuBackend(threads=1), seconds=0.2)
        joules_per_hash = 1e-6
        budget_w = fraction * probe.hashes_per_second * joules_per_hash
        log = run_duty(budget_w, joules_per_hash, seconds=3.5)
        start, end = log[0][0], log[-1][0]
        mean_w = window_energy(log, start, end) / (end - start)
        assert mean_w == pytest.approx(budget_w, rel=0.05)
        t = start
        while t + 2.0 <= end:
            assert window_energy(log, t, t + 2.0) <= 1.05 * budget_w * 2.0
            t += 0.25


class TestBackoff:
    def test_exponential_capped_with_jitter(self) -> None:
        """Delays double per attempt up to the cap, each in [half, full] of its step, spread out."""
        import random

        from service.worker.core import backoff_delay_s

        rng = random.Random(4)
        for attempt, step in [(0, 0.5), (1, 1.0), (3, 4.0), (10, 30.0), (40, 30.0)]:
            delays = [backoff_delay_s(attempt, 0.5, 30.0, rng) for _ in range(200)]
            assert all(step / 2 <= d <= step for d in delays)
            assert max(delays) - min(delays) > step / 4  # jitter spreads them
