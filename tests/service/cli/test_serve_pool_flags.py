"""``spillway serve``'s pool flags and ``SPILLWAY_POOL``: bad ones named, pools in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import main
from service.cli.serve import pool_settings


class TestFlags:
    @pytest.mark.parametrize(
        ("args", "named"),
        [
            (["--pool", "http://pool.example:3333", "--pool-user", "u"], "pool: --pool"),
            (["--pool", "stratum+tcp://pool.example", "--pool-user", "u"], "pool: --pool"),
            (["--pool", "stratum+tcp://pool.example:3333"], "pool_user: --pool-user"),
        ],
    )
    def test_bad_pool_flags_name_the_flag(
        self, args: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad pool URL or a missing user exits 2 with one line naming the flag."""
        code = main(["serve", "--data-dir", str(tmp_path), "--metrics-listen", "off", *args])
        assert code == 2
        err = capsys.readouterr().err
        assert named in err, err

    def test_pools_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """SPILLWAY_POOL lists pools in priority order (comma-separated); flags win over it."""
        monkeypatch.setenv("SPILLWAY_POOL", "stratum+tcp://a.example:3333, stratum+ssl://b:443")
        settings = pool_settings(None, "acct.w1", "pw")
        assert settings is not None
        assert [(e.url, e.user, e.password) for e in settings.endpoints] == [
            ("stratum+tcp://a.example:3333", "acct.w1", "pw"),
            ("stratum+ssl://b:443", "acct.w1", "pw"),
        ]
        flagged = pool_settings(["stratum+tcp://c:1"], "acct.w1", "x")
        assert flagged is not None and [e.host for e in flagged.endpoints] == ["c"]
        monkeypatch.delenv("SPILLWAY_POOL")
        assert pool_settings(None, None, "x") is None
