"""The price store on a real SQLite file: pushed prices replace by key, prune, and the
rule's state reads back after the file is opened again."""

from __future__ import annotations

from pathlib import Path

from service.signals.domain import PricePoint
from service.signals.price_rule import PriceState
from service.signals.price_store import PriceStore


def test_prices_replace_by_site_or_bus_and_start(tmp_path: Path) -> None:
    store = PriceStore(tmp_path / "prices.sqlite3")
    try:
        reach = store.put_prices(
            [
                PricePoint("alpha", None, 100.0, 160.0, 50.0),
                PricePoint(None, "bus-1", 100.0, 160.0, 70.0),
                PricePoint("alpha", None, 160.0, 220.0, 60.0),
            ],
            received_s=1.0,
        )
        assert reach == 220.0
        store.put_prices([PricePoint("alpha", None, 100.0, 130.0, 999.0)], received_s=2.0)
        got = store.prices(ending_after_s=0.0)
        assert [(p.site, p.bus, p.start_s, p.end_s, p.price_per_mwh) for p in got] == [
            (None, "bus-1", 100.0, 160.0, 70.0),  # by start, then site ("" for a bus)
            ("alpha", None, 100.0, 130.0, 999.0),  # the later push replaced the first row
            ("alpha", None, 160.0, 220.0, 60.0),
        ]
        assert [p.start_s for p in store.prices(ending_after_s=160.0)] == [160.0]
        assert store.prune(before_s=170.0) == 2
        assert len(store.prices(ending_after_s=0.0)) == 1
    finally:
        store.close()


def test_rule_state_reads_back_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite3"
    store = PriceStore(path)
    store.put_states({"alpha": (PriceState(curtailed=True, below_run=1), 160.0)})
    store.put_states({"beta": (PriceState(above_run=2), 100.0)})
    store.close()
    again = PriceStore(path)
    try:
        assert again.states() == {
            "alpha": (PriceState(curtailed=True, below_run=1), 160.0),
            "beta": (PriceState(above_run=2), 100.0),
        }
    finally:
        again.close()
