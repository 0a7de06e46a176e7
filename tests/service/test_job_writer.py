"""Jobs are on disk before they are sent, and a fleet's first jobs share transactions."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from service.coordinator.shares import JobWriter
from service.coordinator.storage import AsyncStore, Store
from service.domain import make_job


class TestJobWriter:
    async def test_every_job_is_stored_before_add_returns(self, tmp_path: Path) -> None:
        """A thousand jobs asked for at once are all readable, from a fresh connection too."""
        path = tmp_path / "coordinator.sqlite3"
        store = await asyncio.to_thread(AsyncStore, path)
        try:
            batches: list[int] = []
            add_jobs = store.store.add_jobs

            def counted(jobs: list) -> None:  # type: ignore[type-arg]
                batches.append(len(jobs))
                add_jobs(jobs)

            store.store.add_jobs = counted  # type: ignore[method-assign]
            writer = JobWriter(store)
            jobs = [
                make_job(f"j{i}", "w", now_s=time.time(), difficulty=1.0, ntime_roll_s=60)
                for i in range(1000)
            ]
            await asyncio.gather(*(writer.add(job) for job in jobs))
            assert sum(batches) == 1000
            assert len(batches) < 1000  # asked together, committed together
        finally:
            await asyncio.to_thread(store.close)
        reopened = Store(path)
        try:
            assert all(reopened.job(job.job_id) == job for job in jobs)
        finally:
            reopened.close()
