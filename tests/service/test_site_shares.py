"""``SiteShares``: a site's budget shed across its streams once per change, and when a
stream coming or going moves another stream's figure (so the others need waking)."""

from __future__ import annotations

import random

from service.coordinator.site_shares import SiteShares, worker_capacity
from service.domain import WorkerRecord
from service.signals.shedding import shed


def worker(
    name: str, hashrate_hs: float, max_power_w: float = 100.0, site: str = "a"
) -> WorkerRecord:
    return WorkerRecord(name, site, name, "cpu", hashrate_hs, max_power_w, 0.0)


def test_parts_are_the_shed_of_the_site_budget() -> None:
    """Each worker's part is what ``shed`` gives it over the site's streaming workers,
    for any budget; another site's streams are not counted; alone, the whole budget."""
    rng = random.Random(7)
    fleet = [
        worker(f"w{i}", rng.choice([0.0, 1e6, 2e6, 3e6]), rng.uniform(10, 200)) for i in range(60)
    ]
    other = worker("elsewhere", 5e6, site="b")
    shares = SiteShares()
    for w in [*fleet, other]:
        shares.add(w)
    for budget_w in (0.0, 55.5, 1234.0, 5_000.0, 1e6):
        expected = shed(budget_w, [worker_capacity(w) for w in fleet])
        assert {w.worker_id: shares.part_w(w, budget_w) for w in fleet} == expected
        assert shares.part_w(other, budget_w) == budget_w
    for w in fleet[1:]:
        shares.remove(w)
    assert shares.part_w(fleet[0], 42.0) == 42.0


def test_a_new_stream_wakes_the_others_only_when_a_figure_moves() -> None:
    shares = SiteShares()
    slow, fast, slower = worker("slow", 1e6), worker("fast", 2e6), worker("slower", 0.5e6)
    assert shares.add(slow) is False  # alone: nobody to wake
    assert shares.part_w(slow, 150.0) == 150.0
    assert shares.add(fast) is True  # slow falls from 150 W to 50 W
    assert (shares.part_w(fast, 150.0), shares.part_w(slow, 150.0)) == (100.0, 50.0)
    assert shares.add(slower) is False  # least efficient: gets 0, the others keep theirs
    assert shares.part_w(slower, 150.0) == 0.0
    assert shares.remove(slower) is False
    assert shares.remove(fast) is True  # slow grows back to 150 W
    assert shares.part_w(slow, 150.0) == 150.0


def test_zero_and_covering_budgets_wake_nobody() -> None:
    shares = SiteShares()
    first = worker("first", 1e6)
    shares.add(first)
    shares.part_w(first, 0.0)
    assert [shares.add(worker(f"z{i}", 1e6 * (i + 2))) for i in range(5)] == [False] * 5
    shares.part_w(first, 600.0)  # six 100 W workers: everyone at max
    assert shares.part_w(first, 600.0) == 100.0
    assert shares.add(worker("z5", 9e6, max_power_w=100.0)) is True  # 700 W asked, 600 W given
    assert shares.remove(worker("z5", 9e6)) is True


def test_nothing_computed_yet_counts_as_a_change() -> None:
    """Before any stream has asked for its part there is no budget to compare: wake."""
    shares = SiteShares()
    shares.add(worker("a1", 1e6))
    assert shares.add(worker("a2", 2e6)) is True


def figures(workers: dict[str, WorkerRecord], budget_w: float) -> dict[str, float]:
    """Every streaming worker's figure, straight from ``shed`` (alone: the budget)."""
    if len(workers) <= 1:
        return dict.fromkeys(workers, budget_w)
    return shed(budget_w, [worker_capacity(w) for w in workers.values()])


def test_wake_decisions_match_shed_before_and_after() -> None:
    """Thousands of random comings and goings: ``add``/``remove`` say True exactly when
    another worker's figure (by ``shed`` over the streams before and after) moved, and
    every part is ``shed``'s."""
    rng = random.Random(12)
    for budget_w in (0.0, 150.0, 2_500.0, 1e9):
        shares = SiteShares()
        streaming: dict[str, WorkerRecord] = {}
        for step in range(1500):
            if streaming and rng.random() < 0.4:
                gone = streaming.pop(rng.choice(sorted(streaming)))
                before = figures({**streaming, gone.worker_id: gone}, budget_w)
                moved = any(before[w] != part for w, part in figures(streaming, budget_w).items())
                assert shares.remove(gone) is moved, (step, budget_w)
            else:
                new = worker(
                    f"w{rng.randrange(400):03d}",
                    rng.choice([0.0, 1e6, 2e6, 3e6]),
                    rng.choice([50.0, 100.0, rng.uniform(10, 200)]),
                )
                if new.worker_id in streaming:
                    continue
                before = figures(streaming, budget_w)
                after = figures({**streaming, new.worker_id: new}, budget_w)
                moved = any(after[w] != part for w, part in before.items())
                assert shares.add(new) is moved, (step, budget_w)
                streaming[new.worker_id] = new
            expected = figures(streaming, budget_w)
            for w in rng.sample(sorted(streaming), min(5, len(streaming))):
                assert shares.part_w(streaming[w], budget_w) == expected[w]
