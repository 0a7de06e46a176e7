"""`spillway --help` and every sub-command's: each flag described, each default shown.

Walks the real parser (every sub-command, nested ones included), so a flag added
without help text, or whose default the help hides, fails here.
"""

from __future__ import annotations

import argparse
import re

import pytest

from service.cli.main import build_parser, main, sub_parsers

_SKIPPED = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


def _every_parser() -> list[argparse.ArgumentParser]:
    parser = build_parser()
    return [parser, *sub_parsers(parser)]


def _flat(text: str) -> str:
    """Help text without its line wrapping (argparse breaks lines at spaces and hyphens)."""
    return re.sub(r"\s+", "", text)


def _shown(default: object) -> bool:
    return not (default is None or default is False or default == argparse.SUPPRESS) and (
        default != []
    )


class TestHelp:
    def test_walk_finds_every_sub_command(self) -> None:
        progs = {p.prog for p in _every_parser()}
        for expected in (
            "spillway serve",
            "spillway worker",
            "spillway ledger verify-certificate",
            "spillway ledger list",
            "spillway budget set",
            "spillway settle",
        ):
            assert expected in progs

    @pytest.mark.parametrize("parser", _every_parser(), ids=lambda p: p.prog)
    def test_every_action_is_described_and_shows_its_default(
        self, parser: argparse.ArgumentParser
    ) -> None:
        text = parser.format_help()
        flat = _flat(text)
        for action in parser._actions:
            if isinstance(action, _SKIPPED):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help and action.help.strip(), f"{parser.prog} {name}: no help text"
            if action.option_strings and _shown(action.default):
                assert _flat(str(action.default)) in flat, f"{parser.prog} {name}: default hidden"
        assert "FOR_" not in text  # no dest leaking into the usage as a metavar
        usage = parser.format_usage()
        assert not re.search(r"\b[A-Z]+_\b", usage), f"{parser.prog}: a dest-like metavar"
        assert "(default: None)" not in text

    def test_defaults_shown_in_serve_help(self) -> None:
        serve = next(p for p in sub_parsers(build_parser()) if p.prog == "spillway serve")
        text = " ".join(serve.format_help().split())
        assert "--mode {curtailment-only,co-optimised}" in text
        assert "(default: curtailment-only)" in text
        assert "deprecated name of --mode" in text


class TestLogLevel:
    def test_log_level_before_or_after_the_sub_command(self) -> None:
        parser = build_parser()
        assert parser.parse_args(["ledger", "head", "x", "--log-level", "DEBUG"]).log_level == (
            "DEBUG"
        )
        assert parser.parse_args(["--log-level", "INFO", "ledger", "head", "x"]).log_level == (
            "INFO"
        )
        assert parser.parse_args(["ledger", "head", "x"]).log_level == "WARNING"

    def test_bad_log_level_after_the_sub_command_is_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as info:
            main(["plan", "--demo", "--log-level", "LOUD"])
        assert info.value.code == 2
        assert "--log-level" in capsys.readouterr().err


def _options(prog: str) -> dict[str, argparse.Action]:
    """``prog``'s flags by their long name, from a parser built now (env read now)."""
    parser = build_parser()
    (found,) = [p for p in [parser, *sub_parsers(parser)] if p.prog == prog]
    return {
        a.option_strings[-1]: a
        for a in found._actions
        if a.option_strings and not isinstance(a, _SKIPPED) and a.dest != "log_level"
    }


class TestEnvironment:
    @pytest.mark.parametrize("prog", ["spillway serve", "spillway worker"])
    def test_every_flag_follows_the_variable_rule_or_says_otherwise(
        self, prog: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """What the epilog promises: SPILLWAY_<FLAG> sets a flag's default, else its help says."""
        monkeypatch.setenv("SPILLWAY_SITE", "north")  # worker --site is required without it
        before = _options(prog)
        for flag, action in before.items():
            variable = "SPILLWAY_" + flag[2:].upper().replace("-", "_")
            value = "1" if action.nargs == 0 else str(action.choices[-1] if action.choices else 7)
            with monkeypatch.context() as m:
                m.setenv(variable, value)
                honoured = _options(prog)[flag].default != action.default
            assert honoured or "SPILLWAY_" in (action.help or ""), f"{prog} {flag}"

    def test_client_connection_flags_follow_their_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for flag in ("--coordinator", "--tls-ca", "--tls-cert", "--tls-key", "--auth-token-file"):
            variable = "SPILLWAY_" + flag[2:].upper().replace("-", "_")
            monkeypatch.setenv(variable, "from-env")
            assert _options("spillway ledger list")[flag].default == "from-env", flag
            status = next(p for p in sub_parsers(build_parser()) if p.prog == "spillway status")
            assert variable in _flat(status.format_help()), variable  # the epilog names it


class TestPlanMode:
    def test_one_default_for_plan_and_serve(self) -> None:
        assert _options("spillway plan")["--mode"].default == "curtailment-only"
        assert _options("spillway serve")["--mode"].default == "curtailment-only"

    def test_serve_plan_mode_is_a_deprecated_alias(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        parser = build_parser()
        args = parser.parse_args(["serve", "--plan-mode", "co-optimised"])
        assert args.plan_mode == "co-optimised"
        assert "--plan-mode is deprecated; use --mode" in capsys.readouterr().err
        assert parser.parse_args(["serve", "--mode", "co-optimised"]).plan_mode == "co-optimised"
        assert parser.parse_args(["serve"]).plan_mode == "curtailment-only"
        assert capsys.readouterr().err == ""
