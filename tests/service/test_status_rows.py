"""``Store.status_rows``: a status call's rows in one read, as the per-site reads give them."""

from __future__ import annotations

from pathlib import Path

from service.coordinator.storage import Store
from service.domain import Override, ShareOutcome, ShareResultKind, make_job


def test_status_rows_match_the_per_site_reads(tmp_path: Path) -> None:
    store = Store(tmp_path / "coordinator.sqlite3")
    try:
        north = store.register_worker("north", "n1", "cpu", 1e6, 100.0, 10.0)
        south = store.register_worker("south", "s1", "cpu", 1e6, 100.0, 10.0)
        for worker, count in ((north, 3), (south, 1)):
            job = make_job(
                f"job-{worker.site}", worker.worker_id, now_s=10.0, difficulty=1.0, ntime_roll_s=60
            )
            store.add_jobs([job])
            accepted = ShareOutcome("s", ShareResultKind.ACCEPTED, "", b"\x00" * 32)
            store.record_shares(worker, [(job, job.ntime, n, accepted) for n in range(count)], 11.0)
        store.set_override(Override("north", 50.0, 1_000.0, "test"), 10.0)
        store.set_override(Override("east", 10.0, 20.0, "expired at 20 s"), 10.0)
        rows = store.status_rows(100.0)
        assert rows.workers == store.workers()
        assert rows.known_sites == store.known_sites() == ["east", "north", "south"]
        assert rows.shares_by_site == {"north": 3, "south": 1}
        for site in rows.known_sites:
            assert rows.shares_by_site.get(site, 0) == store.share_count(site)
            assert rows.overrides_by_site.get(site) == store.override(site, 100.0)
        assert rows.overrides_by_site == {"north": Override("north", 50.0, 1_000.0, "test")}
    finally:
        store.close()
