"""The price rule's hysteresis and the price feed reader."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.signals.errors import BadSignalInputError
from service.signals.price_feed import read_price_feed
from service.signals.price_rule import PriceRule, PriceState, run_rule, step

RULE = PriceRule(
    curtail_above=100.0, curtail_hard=300.0, resume_below=60.0, curtail_after=3, resume_after=2
)

prices = st.lists(st.floats(min_value=-50, max_value=500, allow_nan=False), max_size=60)
rules = st.builds(
    lambda resume, gap, hard_gap, n, m: PriceRule(
        curtail_above=resume + gap,
        curtail_hard=resume + gap + hard_gap,
        resume_below=resume,
        curtail_after=n,
        resume_after=m,
    ),
    st.floats(-20, 200),
    st.floats(0, 100),
    st.floats(0, 200),
    st.integers(1, 5),
    st.integers(1, 5),
)


class TestHysteresis:
    def test_curtails_after_n_high_intervals(self):
        """Three intervals above 100 curtail the site; two do not."""
        assert run_rule(RULE, [120, 130, 50, 120, 130, 140]) == [
            False,
            False,
            False,
            False,
            False,
            True,
        ]

    def test_hard_price_curtails_at_once(self):
        """One interval at the hard price curtails immediately."""
        assert run_rule(RULE, [50, 300]) == [False, True]

    def test_resumes_after_m_low_intervals_only(self):
        """Prices between resume_below and curtail_above keep the site curtailed."""
        out = run_rule(RULE, [400, 80, 90, 59, 80, 59, 10, 200])
        assert out == [True, True, True, True, True, True, False, False]

    def test_missing_price_changes_nothing(self):
        """A NaN (no price known) neither curtails nor breaks a run."""
        s = step(RULE, step(RULE, PriceState(), 120), math.nan)
        assert s == PriceState(above_run=1)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"curtail_above": 50, "resume_below": 60}, "resume_below"),
            ({"curtail_above": 50, "curtail_hard": 40}, "curtail_hard"),
            ({"curtail_above": 50, "curtail_after": 0}, "curtail_after"),
            ({"curtail_above": math.nan}, "NaN"),
        ],
    )
    def test_bad_rule_rejected(self, kwargs, match):
        """Thresholds that could never settle, or runs below one, are refused by name."""
        with pytest.raises(ValueError, match=match):
            PriceRule(**kwargs)

    @settings(max_examples=300, deadline=None)
    @given(rules, prices)
    def test_properties(self, rule, series):
        """Curtailment starts only on a hard price or N highs, ends only after M lows."""
        out = run_rule(rule, series)
        for i, p in enumerate(series):
            before = out[i - 1] if i else False
            if not before and out[i]:
                # became curtailed: hard, or the last N were all above
                window = series[max(0, i - rule.curtail_after + 1) : i + 1]
                assert p >= rule.curtail_hard or (
                    len(window) == rule.curtail_after
                    and all(q > rule.curtail_above for q in window)
                )
            if before and not out[i]:
                window = series[max(0, i - rule.resume_after + 1) : i + 1]
                assert len(window) == rule.resume_after
                assert all(q < rule.resume_threshold for q in window)
            if p >= rule.curtail_hard:
                assert out[i]

    @settings(max_examples=200, deadline=None)
    @given(rules, st.floats(-50, 500))
    def test_steady_price_settles(self, rule, price):
        """A steady price settles after at most max(N, M) intervals and stays."""
        out = run_rule(rule, [price] * (max(rule.curtail_after, rule.resume_after) + 3))
        n = max(rule.curtail_after, rule.resume_after)
        assert len(set(out[n:])) == 1


class TestPriceFeed:
    def write(self, tmp_path: Path, text: str) -> Path:
        p = tmp_path / "prices.csv"
        p.write_text(text)
        return p

    def test_reads_sites_and_buses(self, tmp_path):
        """Rows by site and by bus, ISO and epoch starts, UTC when no offset."""
        feed = read_price_feed(
            self.write(
                tmp_path,
                (
                    "site,bus,start,duration_s,price_per_mwh\n"
                    "north,,2026-03-01T14:00:00Z,900,120.5\n"
                    ",B2,2026-03-01 14:00:00,3600,-3\n"
                    "north,,1772373600,60,7\n"
                ),
            )
        )
        assert feed[0].site == "north" and feed[0].start_s == 1772373600.0
        assert feed[0].end_s == 1772373600.0 + 900
        assert feed[1].bus == "B2" and feed[1].start_s == 1772373600.0
        assert feed[1].applies_to("south", "B2") and not feed[0].applies_to("south", "B2")
        assert feed[2].price_per_mwh == 7.0

    @pytest.mark.parametrize(
        ("text", "row", "field"),
        [
            ("site,start,duration_s\nn,1,1\n", 1, "price_per_mwh"),
            ("start,duration_s,price_per_mwh\n1,1,1\n", 1, "site"),
            ("site,start,duration_s,price_per_mwh\nn,yesterday,60,1\n", 2, "start"),
            ("site,start,duration_s,price_per_mwh\nn,1,60,1\nn,1,0,1\n", 3, "duration_s"),
            ("site,start,duration_s,price_per_mwh\nn,1,60,nan\n", 2, "price_per_mwh"),
            ("site,bus,start,duration_s,price_per_mwh\nn,B,1,60,1\n", 2, "site"),
        ],
    )
    def test_errors_name_file_row_field(self, tmp_path, text, row, field):
        """A bad feed is refused naming the file, the row and the field."""
        with pytest.raises(BadSignalInputError) as info:
            read_price_feed(self.write(tmp_path, text))
        assert (info.value.file, info.value.row, info.value.field) == ("prices.csv", row, field)
        assert "prices.csv" in str(info.value)
