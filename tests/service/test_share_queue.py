"""The worker's on-disk share queue is bounded (issue 13, item 2): stale-job shares go first."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.worker.share_queue import QueuedShare, ShareQueue, WorkDone


def shares(job_id: str, count: int, start_s: float) -> list[QueuedShare]:
    return [QueuedShare(uuid.uuid4().hex, job_id, 0, n, start_s + n * 1e-3) for n in range(count)]


class TestBound:
    def test_flood_keeps_the_bound_on_disk(self, tmp_path: Path) -> None:
        """228,714 shares once filled a queue; now it holds max_shares, across a reopen."""
        path = tmp_path / "q.sqlite3"
        queue = ShareQueue(path, max_shares=1000)
        dropped = 0
        for batch in range(50):
            result = queue.add(shares("job", 500, batch), {"job"})
            dropped += result.stale + result.newest
        assert len(queue) == 1000
        assert dropped == 50 * 500 - 1000
        queue.close()
        assert len(ShareQueue(path, max_shares=1000)) == 1000

    def test_stale_job_shares_go_first_then_newest(self, tmp_path: Path) -> None:
        """Old-job shares are dropped before any current one; then the newest current ones."""
        queue = ShareQueue(tmp_path / "q.sqlite3", max_shares=10)
        queue.add(shares("old", 4, 0.0), {"old"})
        current = shares("new", 8, 10.0)
        dropped = queue.add(current, {"new"})
        assert (dropped.stale, dropped.newest) == (2, 0)
        assert sum(s.job_id == "old" for s in queue.pending()) == 2
        dropped = queue.add(shares("new", 5, 20.0), {"new"})
        assert (dropped.stale, dropped.newest) == (2, 3)
        kept = queue.pending()
        assert {s.job_id for s in kept} == {"new"}
        # The oldest have waited longest: they stay; the newest beyond the bound went.
        assert [s.found_s for s in kept] == sorted(s.found_s for s in kept)
        assert kept[:8] == sorted(current, key=lambda s: s.found_s)

    @settings(max_examples=25, deadline=None)
    @given(batches=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 40)), max_size=12))
    def test_never_past_the_bound(self, batches: list[tuple[str, int]]) -> None:
        """Whatever arrives, the queue holds at most max_shares and drops are counted."""
        with tempfile.TemporaryDirectory() as folder:
            queue = ShareQueue(Path(folder) / "q.sqlite3", max_shares=25)
            added = dropped = 0
            for step, (job, count) in enumerate(batches):
                result = queue.add(shares(job, count, step), {job})
                added += count
                dropped += result.stale + result.newest
                assert len(queue) <= 25
            assert len(queue) == added - dropped
            queue.close()


class TestUnreportedTelemetry:
    def test_work_and_outbox_survive_a_reopen_and_move_together(self, tmp_path: Path) -> None:
        """Shares go in with their count; a staged report takes its work out in one step."""
        path = tmp_path / "q.sqlite3"
        queue = ShareQueue(path)
        _, start_ms = queue.unreported()
        queue.add(shares("job", 3, 0.0), {"job"}, WorkDone(10.5, 1000, 3, modelled=True))
        queue.save(WorkDone(2.0, 200))
        queue.close()
        queue = ShareQueue(path)
        assert queue.unreported() == (WorkDone(12.5, 1200, 3, modelled=True), start_ms)
        # Signed: 12 J, 1200 hashes, 3 shares; 1 J more was done, not yet saved.
        queue.stage(7, '{"sequence": 7}', WorkDone(1.0 - 12, 0 - 1200, -3), start_ms + 500, False)
        queue.close()
        queue = ShareQueue(path)
        assert queue.unreported() == (WorkDone(1.5, 0, 0, modelled=False), start_ms + 500)
        assert queue.outbox() == ['{"sequence": 7}']
        queue.answered(7)
        assert queue.outbox() == []
        queue.close()
