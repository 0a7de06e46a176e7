"""Flags for the share limits that had none (issue 13, item 2's bounds): the coordinator's
per-worker share rate and burst, the worker's share-queue bound. The real parsers.

``spillway serve --worker-shares-per-second R --worker-share-burst B`` and
``spillway worker --max-queued-shares N``; defaults are the settings' own and
``--help`` shows them; a bad value (0, negative, not a number) exits 2 with one
line naming the flag.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main
from service.cli.main import build_parser
from service.cli.serve import coordinator_settings
from service.cli.worker import worker_settings
from service.coordinator.settings import CoordinatorSettings
from service.worker.settings import WorkerSettings

WORKER = ["worker", "--coordinator", "127.0.0.1:1", "--site", "s", "--name", "w"]


def _help(capsys: pytest.CaptureFixture[str], command: str) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


class TestDefaults:
    def test_serve_defaults_are_the_settings_and_help_shows_them(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        settings = coordinator_settings(build_parser().parse_args(["serve"]))
        defaults = CoordinatorSettings()
        assert settings.worker_shares_per_s == defaults.worker_shares_per_s == 50.0
        assert settings.worker_share_burst == defaults.worker_share_burst == 500.0
        text = _help(capsys, "serve")
        assert "--worker-shares-per-second" in text and "(default: 50)" in text
        assert "--worker-share-burst" in text and "(default: 500)" in text

    def test_worker_default_is_the_settings_and_help_shows_it(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        settings = worker_settings(build_parser().parse_args(WORKER))
        assert settings.max_queued_shares == WorkerSettings("c", "s", "w").max_queued_shares
        assert settings.max_queued_shares == 10_000
        text = _help(capsys, "worker")
        assert "--max-queued-shares" in text and "(default: 10000)" in text


class TestValues:
    def test_serve_takes_the_rate_and_burst(self) -> None:
        args = build_parser().parse_args(
            ["serve", "--worker-shares-per-second", "2.5", "--worker-share-burst", "20"]
        )
        settings = coordinator_settings(args)
        assert (settings.worker_shares_per_s, settings.worker_share_burst) == (2.5, 20.0)

    def test_worker_takes_the_bound(self) -> None:
        args = build_parser().parse_args([*WORKER, "--max-queued-shares", "250"])
        assert worker_settings(args).max_queued_shares == 250

    def test_variables_give_the_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SPILLWAY_WORKER_SHARES_PER_SECOND", "7")
        monkeypatch.setenv("SPILLWAY_WORKER_SHARE_BURST", "70")
        monkeypatch.setenv("SPILLWAY_MAX_QUEUED_SHARES", "700")
        serve = coordinator_settings(build_parser().parse_args(["serve"]))
        assert (serve.worker_shares_per_s, serve.worker_share_burst) == (7.0, 70.0)
        assert worker_settings(build_parser().parse_args(WORKER)).max_queued_shares == 700


BAD = ["0", "-5", "abc", "nan", "inf", ""]


class TestBadValues:
    @pytest.mark.parametrize("value", BAD)
    @pytest.mark.parametrize("flag", ["--worker-shares-per-second", "--worker-share-burst"])
    def test_serve_names_the_flag(
        self, flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = main(["serve", "--data-dir", str(tmp_path), "--metrics-listen", "off", flag, value])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0], err

    def test_a_burst_below_one_share_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A burst under one share would take none, ever."""
        assert main(["serve", "--worker-share-burst", "0.5"]) == 2
        assert "--worker-share-burst" in capsys.readouterr().err

    @pytest.mark.parametrize("value", [*BAD, "1.5", "1e3"])
    def test_worker_names_the_flag(self, value: str, capsys: pytest.CaptureFixture[str]) -> None:
        code = main([*WORKER, "--max-queued-shares", value])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--max-queued-shares" in err[0], err
