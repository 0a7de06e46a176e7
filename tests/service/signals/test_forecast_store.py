"""The forecast store: later forecasts win, and an accepted one survives SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from optimiser.forecast import Forecast, ForecastSeries, SeriesKind
from service.signals.forecast_store import ForecastStore

T0 = 1772323200


def forecast(values: list[float], start: int = T0, comp: str = "wind") -> Forecast:
    times = tuple(start + 3600 * i for i in range(len(values)))
    return Forecast((ForecastSeries(SeriesKind.GENERATORS_P_MAX_PU, comp, times, tuple(values)),))


class TestForecastStore:
    def test_later_replaces_earlier_per_timestamp(self, tmp_path):
        """A second forecast replaces the overlapping hours only; reach and revisions grow."""
        store = ForecastStore(tmp_path / "fc.sqlite3")
        assert store.reach_s() is None and store.revision() == 0
        assert store.put(forecast([0.1, 0.2, 0.3]), 1.0) == 1
        assert store.put(forecast([0.9, 0.8], start=T0 + 3600), 2.0) == 2
        t = store.table()[SeriesKind.GENERATORS_P_MAX_PU]["wind"]
        assert t == {T0: 0.1, T0 + 3600: 0.9, T0 + 7200: 0.8}
        assert store.reach_s() == T0 + 7200
        assert store.table(from_s=T0 + 3600)[SeriesKind.GENERATORS_P_MAX_PU]["wind"] == {
            T0 + 3600: 0.9,
            T0 + 7200: 0.8,
        }
        assert store.prune(T0 + 3600) == 1
        store.close()
        again = ForecastStore(tmp_path / "fc.sqlite3")
        assert again.revision() == 2 and again.reach_s() == T0 + 7200
        again.close()

    def test_survives_sigkill_right_after_put(self, tmp_path):
        """A process killed by SIGKILL right after put() returned loses nothing."""
        path = tmp_path / "fc.sqlite3"
        script = textwrap.dedent(f"""
            import sys, time
            from optimiser.forecast import Forecast, ForecastSeries, SeriesKind
            from service.signals.forecast_store import ForecastStore
            store = ForecastStore({str(path)!r})
            times = tuple({T0} + 3600 * i for i in range(48))
            for n in range(3):
                series = tuple(
                    ForecastSeries(SeriesKind.LOADS_P_SET, f"load{{j}}", times,
                                   tuple(float(n * 1000 + j + i) for i in range(48)))
                    for j in range(50))
                store.put(Forecast(series), time.time())
            print("stored", flush=True)
            time.sleep(60)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "stored"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        store = ForecastStore(path)
        table = store.table()[SeriesKind.LOADS_P_SET]
        assert len(table) == 50 and all(len(v) == 48 for v in table.values())
        assert table["load7"][T0 + 3600 * 5] == 2000.0 + 7 + 5  # the last put won
        assert store.revision() == 3
        store.close()
