"""``spillway serve --demo``: a real process, real gRPC over loopback, a real HTTP scrape."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import pytest

from optimiser.demo import DEMO_SITES
from service.demo.core import DemoSettings
from service.demo.rolling import DemoClock, DemoRoll, scale_plan
from service.demo.status import SiteRow, StatusFrame, lines
from service.rpc.convert import plan_from_proto, plan_to_proto
from spillway.v1 import planner_pb2

PERIOD_S = 0.4
STARTUP_S = 40.0
# A bound on a clean stop (about 1 s on an idle machine), not a speed target: wide
# enough for a loaded 2-core machine, where the workers' last batches run slower.
STOP_S = 20.0
METRICS_RE = re.compile(r"^spillway metrics on http://([\d.]+):(\d+)/metrics")
PERIOD_RE = re.compile(r"^period\s+(\d+)/24")
ROW_RE = re.compile(r"^(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+")
WINDOW_RE = re.compile(
    r"^window day (\d+) (\d\d):00-day (\d+) (\d\d):00  re-plans (\d+) .*forecasts (\d+)$"
)


@dataclass
class _Output:
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self) -> list[str]:
        with self.lock:
            return list(self.lines)

    def wait_for(self, predicate: object, timeout_s: float) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.snapshot()
            if predicate(got):  # type: ignore[operator]
                return got
            time.sleep(0.1)
        raise AssertionError("timed out; output:\n" + "\n".join(self.snapshot()[-40:]))


def _periods(output: list[str]) -> list[int]:
    return [int(m.group(1)) for line in output if (m := PERIOD_RE.match(line))]


def _budgets_w(output: list[str], site: str) -> list[float]:
    """The budget W column of ``site``'s rows, across every period shown."""
    return [
        float(m.group(3)) for line in output if (m := ROW_RE.match(line)) and m.group(1) == site
    ]


def _sample(text: str, name: str, labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _scrape(host: str, port: int) -> str:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as reply:
        body: bytes = reply.read()
    return body.decode()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_demo() -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        "--demo",
        "--demo-period-seconds",
        str(PERIOD_S),
        "--grpc-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: find anything it leaves behind
    )


class TestServeDemo:
    @pytest.mark.solver
    def test_demo_runs_follows_the_plan_and_stops_cleanly(self) -> None:
        """Periods advance, hashes rise, wind-105 gets budgets, city-129 none; SIGINT ends all."""
        proc = _start_demo()
        output = _Output()
        reader = threading.Thread(target=output.read, args=(proc.stdout,), daemon=True)
        reader.start()
        try:
            got = output.wait_for(lambda o: len(set(_periods(o))) >= 2, STARTUP_S)
            match = next(m for line in got if (m := METRICS_RE.match(line)))
            host, port = match.group(1), int(match.group(2))
            assert sum("worker" in line and "metrics on http" in line for line in got) == len(
                DEMO_SITES
            )

            first = _scrape(host, port)
            for site in DEMO_SITES:
                assert _sample(first, "spillway_power_budget_watts", f'site="{site}"') is not None
            hashes_before = _sample(first, "spillway_hashes_total", 'backend="cpu"') or 0.0
            # Wind at bus 105 is behind the congested lines: its budget starts in period 3.
            got = output.wait_for(lambda o: max(_periods(o), default=0) >= 12, STARTUP_S)
            hashes_after = _sample(_scrape(host, port), "spillway_hashes_total", 'backend="cpu"')
            assert hashes_after is not None
            assert hashes_after > hashes_before
            assert max(_budgets_w(got, "wind-105")) > 0
            city = _budgets_w(got, "city-129")
            assert city
            assert max(city) == 0
            # ... and the screen says why, and where the demo keeps its state.
            assert "city-129: no curtailed energy reaches it, so it mines nothing (by design)" in (
                got
            )
            assert sum("wind-105: no curtailed" in line for line in got) == 0
            assert any(line.startswith("spillway demo: state (") for line in got)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            begun = time.monotonic()
            try:
                rc = proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            stop_s = time.monotonic() - begun
            reader.join(timeout=2)
            if proc.stdout is not None:
                proc.stdout.close()
        assert rc == 0, "\n".join(output.snapshot()[-20:])
        assert stop_s < STOP_S
        assert not _group_alive(proc.pid)
        with socket.socket() as sock:  # nothing listens on the metrics port any more
            # (SO_REUSEADDR, as servers bind: the scrape's connection may sit in TIME_WAIT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))

    @pytest.mark.solver
    def test_demo_rolls_its_plan_with_pushed_forecasts(self) -> None:
        """Each demo hour a forecast goes through UpdateForecast and the plan is re-made
        warm: the screen's window moves with the hour, re-plans and forecasts count up,
        and the coordinator's metrics count the adopted re-plans."""
        proc = _start_demo()
        output = _Output()
        reader = threading.Thread(target=output.read, args=(proc.stdout,), daemon=True)
        reader.start()

        def windows(o: list[str]) -> list[tuple[int, int, int]]:
            """(window start hour, re-plans, forecasts) of each window line."""
            return [
                ((int(m.group(1)) - 1) * 24 + int(m.group(2)), int(m.group(5)), int(m.group(6)))
                for line in o
                if (m := WINDOW_RE.match(line))
            ]

        try:
            got = output.wait_for(lambda o: len({w[0] for w in windows(o)}) >= 4, STARTUP_S)
            seen = windows(got)
            starts = [w[0] for w in seen]
            assert starts == sorted(starts) and len(set(starts)) >= 4  # it rolls forward
            assert seen[-1][1] > seen[0][1] >= 1  # re-plans happen
            assert seen[-1][2] > seen[0][2] >= 1  # forecasts are pushed
            # each window spans 24 h, and none starts after the period shown with it
            spans = [
                (int(m.group(3)) - int(m.group(1))) * 24 + int(m.group(4)) - int(m.group(2))
                for line in got
                if (m := WINDOW_RE.match(line))
            ]
            assert set(spans) == {24}
            periods = _periods(got)[-len(starts) :]
            assert all(s % 24 + 1 <= p or p < 3 for s, p in zip(starts, periods, strict=True))
            match = next(m for line in got if (m := METRICS_RE.match(line)))
            text = _scrape(match.group(1), int(match.group(2)))
            adopted = _sample(text, "spillway_plan_replans_total", 'result="adopted"')
            assert adopted is not None and adopted >= 3
            reach_s = _sample(text, "spillway_forecast_horizon_seconds", "")
            assert reach_s is None or reach_s > 0
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            reader.join(timeout=2)
            if proc.stdout is not None:
                proc.stdout.close()

    @pytest.mark.solver
    def test_sigterm_stops_everything(self) -> None:
        """SIGTERM once the day is playing: exit 0 within a few seconds, nothing left."""
        proc = _start_demo()
        output = _Output()
        reader = threading.Thread(target=output.read, args=(proc.stdout,), daemon=True)
        reader.start()
        try:
            output.wait_for(lambda o: bool(_periods(o)), STARTUP_S)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=STOP_S)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            reader.join(timeout=2)
            if proc.stdout is not None:
                proc.stdout.close()
        assert rc == 0
        assert output.snapshot()[-1] == "spillway demo: stopped"
        assert not _group_alive(proc.pid)


def _plan() -> planner_pb2.Plan:
    plan = planner_pb2.Plan(plan_id="p", period_count=2)
    plan.period_duration.FromSeconds(3600)
    plan.sites.add(site="a", budget_watts=[30e6, 0.0], curtailed_watts=[30e6, 0.0])
    return plan


def _roll(periods_played: float, demo: DemoSettings) -> DemoRoll:
    """The demo's rolling view of ``_plan`` (hourly), ``periods_played`` periods in."""
    wall_start_s = time.time() - periods_played * demo.period_s
    roll = DemoRoll(DemoClock(0.0, 3600.0, wall_start_s, demo.period_s), demo, {"a": 60.0})
    roll.first_period = 0
    roll.curtailed_mw = {"a": [30.0, 0.0]}
    return roll


class TestDemoClock:
    def test_budget_scales_to_cpu_watts(self) -> None:
        """Half a site's capacity in the plan is half the CPU power figure."""
        demo = DemoSettings(period_s=5.0, cpu_w=20.0)
        plan = plan_to_proto(scale_plan(plan_from_proto(_plan()), {"a": 60.0}, 1000.0, demo))
        assert list(plan.sites[0].budget_watts) == pytest.approx([10.0, 0.0])
        assert plan.period_duration.ToNanoseconds() == 5_000_000_000
        assert plan.start_time.seconds == 1000

    def test_absorbed_counts_elapsed_periods(self) -> None:
        """Absorbed MWh grows with the periods played, part periods in proportion."""
        demo = DemoSettings(period_s=5.0, cpu_w=20.0)
        assert _roll(0.25, demo).absorbed_mwh(0.5 * demo.period_s) == pytest.approx(15.0)
        assert _roll(0.25, demo).absorbed_mwh(demo.period_s) == pytest.approx(30.0)
        assert _roll(1.5, demo).absorbed_mwh(demo.period_s) == 0.0  # the period with none


class TestStatus:
    def test_lines_fit_80_columns(self) -> None:
        """Every status line fits an 80-column terminal."""
        rows = tuple(SiteRow(s, 123.4, 12345.6, 9999.9, 123.4e9, 123456) for s in DEMO_SITES)
        frame = StatusFrame(24, 24, 1.0, 5.0, 12, 123456.7, rows)
        text = lines(frame)
        assert all(len(line) <= 80 for line in text)
        assert text[0].startswith("period 24/24 day 12")

    def test_quiet_site_is_explained(self) -> None:
        """A site the plan gives nothing gets a line saying why, within 80 columns."""
        rows = tuple(SiteRow(s, 0.0, 0.0, 0.0, 0.0, 0) for s in DEMO_SITES)
        quiet = lines(StatusFrame(3, 24, 1.0, 5.0, 1, 1.0, rows, quiet_sites=("city-129",)))
        assert quiet[-1] == (
            "city-129: no curtailed energy reaches it, so it mines nothing (by design)"
        )
        assert all(len(line) <= 80 for line in quiet)
        assert len(lines(StatusFrame(3, 24, 1.0, 5.0, 1, 1.0, rows))) == len(quiet) - 1
