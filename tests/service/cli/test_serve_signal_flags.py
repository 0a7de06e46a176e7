"""``spillway serve``'s rolling, OpenADR and price-rule flags: settings built, bad ones named."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from service.cli import main
from service.cli.main import build_parser
from service.cli.serve import openadr_settings, price_rule_settings
from service.signals.precedence import DEFAULT_SIMPLE_LEVELS


def parse(*args: str):
    return build_parser().parse_args(["serve", *args])


class TestSignalFlags:
    def test_defaults_are_the_settings(self) -> None:
        """No flags: no VEN, the default SIMPLE fractions, no price rule, a 24 h window."""
        args = parse()
        assert openadr_settings(args) == (None, DEFAULT_SIMPLE_LEVELS)
        assert price_rule_settings(args) is None
        assert args.horizon_hours == 24.0

    def test_openadr_and_price_rule(self) -> None:
        """The VEN's URL, name and staleness, the SIMPLE fractions and the price rule."""
        args = parse(
            "--openadr-vtn-url",
            "http://127.0.0.1:8080/OpenADR2/Simple/2.0b",
            "--openadr-ven-name",
            "farm",
            "--openadr-stale-seconds",
            "60",
            "--openadr-simple-levels",
            "1,0.75,0.25,0",
            "--curtail-above",
            "100",
            "--curtail-after",
            "3",
            "--resume-below",
            "60",
        )
        ven, levels = openadr_settings(args)
        assert ven is not None and (ven.ven_name, ven.stale_s) == ("farm", 60.0)
        assert levels == (1.0, 0.75, 0.25, 0.0)
        rule = price_rule_settings(args)
        assert rule is not None
        assert (rule.curtail_above, rule.curtail_after, rule.resume_below) == (100.0, 3, 60.0)
        assert rule.curtail_hard == math.inf and rule.resume_after == 1

    @pytest.mark.parametrize(
        ("args", "named"),
        [
            (["--openadr-vtn-url", "http://127.0.0.1:1/x"], "openadr_ven_name"),
            (["--openadr-vtn-url", "ftp://x", "--openadr-ven-name", "f"], "openadr_vtn_url"),
            (["--openadr-simple-levels", "1,0.5,0"], "openadr_simple_levels"),
            (["--openadr-simple-levels", "1,2,0,0"], "openadr_simple_levels"),
            (["--curtail-above", "50", "--resume-below", "80"], "price_rule: resume_below"),
            (["--resume-below", "80"], "curtail_above"),
            (["--horizon-hours", "0"], "horizon_hours"),
        ],
    )
    def test_bad_flags_name_the_field(
        self, args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exit 2 with one line naming the field."""
        code = main(["serve", "--data-dir", str(tmp_path), "--metrics-listen", "off", *args])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and named in err[0], err
