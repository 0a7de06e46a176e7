"""The energy ledger: tamper evidence, proofs, crash safety and settlement, on real SQLite files."""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from service.ledger import (
    EnergyRecord,
    Ledger,
    LedgerHead,
    LedgerInputError,
    LedgerIntegrityError,
    build_proof,
    canonical_bytes,
    check_certificate,
    keys_hash,
    load_or_create_key,
    merkle_branch,
    merkle_root,
    read_jsonl,
    root_from_branch,
    settle,
    sign_hex,
    sign_telemetry,
    verify_ledger,
    verify_periods,
    verify_proof,
    write_csv,
    write_jsonl,
)
from service.ledger.store import LEDGER_FILE

PERIOD_S = 900
SITES = ("north-farm", "coast-farm", "hydro-farm")
PLANTS = {"wind-a": "wind", "solar-b": "solar", "hydro-c": "hydro"}


def make_record(
    worker_key: Ed25519PrivateKey, site: str, period: int, energy_j: int
) -> EnergyRecord:
    # Two reports per period; sequences rise with the period, as a worker's do.
    telemetry = [
        sign_telemetry(
            worker_key,
            worker=f"{site}-w1",
            site=site,
            sequence=2 * period + half,
            window_start_ms=(1_700_000_000 + period * PERIOD_S + half * PERIOD_S // 2) * 1000,
            window_end_ms=(1_700_000_000 + (period + half) * PERIOD_S) * 1000,
            energy_j=energy_j // 2 + (energy_j % 2 if half else 0),
            hashes=energy_j * 20,
            shares_found=(period + half) % 4,
        )
        for half in (0, 1)
    ]
    plants = list(PLANTS)
    curtailed = {plants[period % 3]: energy_j // 2, plants[(period + 1) % 3]: energy_j // 5}
    return EnergyRecord.build(
        telemetry=telemetry,
        period=period,
        period_start_s=1_700_000_000 + period * PERIOD_S,
        period_s=PERIOD_S,
        plan_id=f"plan-{period // 4}",
        curtailed_j=curtailed,
        carrier=PLANTS,
        price_micro_per_mwh={plant: 12_500_000 + 1_000 * i for i, plant in enumerate(PLANTS)},
        shares=period % 7,
    )


@pytest.fixture
def worker_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def data_dir(tmp_path: Path, worker_key: Ed25519PrivateKey) -> Path:
    """A ledger of six periods of three sites each."""
    with Ledger(tmp_path) as ledger:
        for period in range(6):
            records = [
                make_record(worker_key, site, period, 3_600_000 * (period + i + 1))
                for i, site in enumerate(SITES)
            ]
            ledger.append_period(period, 1_700_000_000 + period * PERIOD_S, PERIOD_S, records)
    return tmp_path


def verify_dir(data_dir: Path) -> Any:
    with Ledger(data_dir, read_only=True) as ledger:
        return verify_periods(list(ledger.periods()), ledger.public_key)


def verify_full(data_dir: Path) -> Any:
    """The chain and its end: head and worker keys."""
    with Ledger(data_dir, read_only=True) as ledger:
        return verify_ledger(
            ledger.periods(), ledger.public_key, lambda: (ledger.head(), ledger.worker_keys())
        )


def sql(data_dir: Path, statement: str, *args: Any) -> None:
    with closing(sqlite3.connect(data_dir / LEDGER_FILE)) as db, db:
        db.execute(statement, args)


def record_body(data_dir: Path, period: int, position: int) -> dict[str, Any]:
    with closing(sqlite3.connect(data_dir / LEDGER_FILE)) as db:
        row = db.execute(
            "SELECT body FROM records WHERE period=? AND position=?", (period, position)
        ).fetchone()
    body: dict[str, Any] = json.loads(row[0])
    return body


class TestTamperEvidence:
    def test_untouched_ledger_verifies(self, data_dir: Path) -> None:
        """A ledger as written checks out: every period and record."""
        report = verify_dir(data_dir)
        assert report.ok and (report.periods, report.records) == (6, 18)

    def test_edited_value_is_caught_at_its_period(self, data_dir: Path) -> None:
        """Changing one record's energy is caught at that period."""
        body = record_body(data_dir, 3, 1)
        body["grid_j"] += 1
        body["energy_j"] += 1
        sql(
            data_dir,
            "UPDATE records SET body=? WHERE period=3 AND position=1",
            canonical_bytes(body).decode(),
        )
        report = verify_dir(data_dir)
        assert report.first_bad_period == 3 and report.periods == 3
        assert "Merkle root" in report.problem

    def test_dropped_record_is_caught(self, data_dir: Path) -> None:
        """Deleting a record is caught at its period."""
        sql(data_dir, "DELETE FROM records WHERE period=2 AND position=2")
        assert verify_dir(data_dir).first_bad_period == 2

    def test_swapped_order_is_caught(self, data_dir: Path) -> None:
        """Swapping two records' positions is caught at their period."""
        sql(data_dir, "UPDATE records SET position=-1 WHERE period=4 AND position=0")
        sql(data_dir, "UPDATE records SET position=0 WHERE period=4 AND position=1")
        sql(data_dir, "UPDATE records SET position=1 WHERE period=4 AND position=-1")
        report = verify_dir(data_dir)
        assert report.first_bad_period == 4

    def test_bad_signature_is_caught(self, data_dir: Path) -> None:
        """A header signature that is not the coordinator's is caught at its period."""
        with closing(sqlite3.connect(data_dir / LEDGER_FILE)) as db:
            signature = db.execute("SELECT signature FROM periods WHERE period=5").fetchone()[0]
        forged = ("0" if signature[0] != "0" else "1") + signature[1:]
        sql(data_dir, "UPDATE periods SET signature=? WHERE period=5", forged)
        report = verify_dir(data_dir)
        assert report.first_bad_period == 5 and "signature" in report.problem

    def test_report_counted_twice_is_caught(
        self, tmp_path: Path, worker_key: Ed25519PrivateKey
    ) -> None:
        """A coordinator reusing a worker's signed report in a later period is caught there."""
        first = make_record(worker_key, "north-farm", 3, 1000)
        again = EnergyRecord.from_json(first.to_json() | {"period": 4})
        with Ledger(tmp_path) as ledger:
            ledger.append_period(3, 0, PERIOD_S, [first])
            ledger.append_period(4, PERIOD_S, PERIOD_S, [again])
        report = verify_dir(tmp_path)
        assert report.first_bad_period == 4 and "sequence" in report.problem

    def test_dropped_period_breaks_the_chain(self, data_dir: Path) -> None:
        """Removing a whole period is caught at the next one, whose link no longer holds."""
        sql(data_dir, "DELETE FROM records WHERE period=1")
        sql(data_dir, "DELETE FROM periods WHERE period=1")
        report = verify_dir(data_dir)
        assert report.first_bad_period == 2 and "link" in report.problem

    def test_other_coordinator_key_fails(self, data_dir: Path) -> None:
        """Pinned to another coordinator key, the very first period fails."""
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
        with Ledger(data_dir, read_only=True) as ledger:
            report = verify_periods(list(ledger.periods()), other)
        assert report.first_bad_period == 0

    def test_unsigned_telemetry_is_refused(
        self, tmp_path: Path, worker_key: Ed25519PrivateKey
    ) -> None:
        """The coordinator cannot record energy no worker signed."""
        record = make_record(worker_key, "north-farm", 0, 1000)
        forged = EnergyRecord.from_json(
            record.to_json()
            | {
                "energy_j": 2000,
                "grid_j": 2000 - sum(record.curtailed_j.values()),
                "telemetry": [
                    record.to_json()["telemetry"][0] | {"energy_j": 1500},
                    record.to_json()["telemetry"][1],
                ],
            }
        )
        with (
            Ledger(tmp_path) as ledger,
            pytest.raises(LedgerInputError, match="bad worker signature"),
        ):
            ledger.append_period(0, 0, PERIOD_S, [forged])

    def test_periods_only_move_forward(self, data_dir: Path, worker_key: Ed25519PrivateKey) -> None:
        """Appending a period that is not after the last one is refused; nothing is written."""
        with Ledger(data_dir) as ledger, pytest.raises(LedgerInputError, match="not after"):
            ledger.append_period(5, 0, PERIOD_S, [make_record(worker_key, "north-farm", 5, 10)])
        assert verify_dir(data_dir).periods == 6

    def test_older_file_gains_the_window_column(self, data_dir: Path) -> None:
        """A ledger whose worker_keys lacks last_window_end_ms gets it on open, keys kept."""
        with Ledger(data_dir) as ledger:
            ledger.set_worker_key("w1", "north-farm", "ab" * 32)
        sql(data_dir, "ALTER TABLE worker_keys DROP COLUMN last_window_end_ms")
        with Ledger(data_dir) as ledger:
            assert ledger.worker_key("w1") == ("north-farm", "ab" * 32, -1)
            assert ledger.last_window_end_ms("w1") is None
        assert verify_dir(data_dir).ok


class TestProofs:
    def test_every_record_has_a_proof(self, data_dir: Path) -> None:
        """Each site's record in each period proves against its header."""
        with Ledger(data_dir, read_only=True) as ledger:
            for period in range(6):
                for site in SITES:
                    verify_proof(build_proof(ledger, site, period), ledger.public_key)

    @pytest.mark.parametrize("alter", ["record", "branch", "header", "index"])
    def test_altered_proof_fails(self, data_dir: Path, alter: str) -> None:
        """A proof with its record, branch, header or position changed does not verify."""
        with Ledger(data_dir, read_only=True) as ledger:
            proof = build_proof(ledger, "coast-farm", 2)
            key = ledger.public_key
        if alter == "record":
            proof["record"]["hashes"] += 1
        elif alter == "branch":
            proof["branch"][0] = "00" * 32
        elif alter == "header":
            proof["header"]["record_count"] += 1
        else:
            proof["index"] ^= 1
        with pytest.raises(LedgerIntegrityError):
            verify_proof(proof, key)

    @given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40), st.data())
    def test_branches_fold_to_the_root(self, leaves: list[bytes], data: st.DataObject) -> None:
        """For any tree, any leaf's branch folds back to Bitcoin's Merkle root."""
        index = data.draw(st.integers(0, len(leaves) - 1))
        assert root_from_branch(leaves[index], index, merkle_branch(leaves, index)) == merkle_root(
            leaves
        )

    def test_merkle_root_is_bitcoins(self, stratum_vectors: dict[str, Any]) -> None:
        """Our Merkle fold gives a real block's merkle root from its coinbase and branch."""
        from kernels import sha256d

        block = stratum_vectors["block_277647"]
        notify = block["notify_params"]
        coinbase = bytes.fromhex(
            notify["coinb1"] + block["extranonce1"] + block["extranonce2"] + notify["coinb2"]
        )
        branch = [bytes.fromhex(h) for h in notify["merkle_branch"]]
        root = sha256d(coinbase)
        assert root_from_branch(root, 0, branch).hex() == block["expected_merkle_root_internal_hex"]


class TestExports:
    def test_jsonl_export_verifies_and_catches_edits(self, data_dir: Path, tmp_path: Path) -> None:
        """A JSON-lines export verifies alone; an edited line is caught at its period."""
        export = tmp_path / "ledger.jsonl"
        with Ledger(data_dir, read_only=True) as ledger, export.open("w") as out:
            assert write_jsonl(ledger, out) == 6
        public_key, periods = read_jsonl(export)
        assert verify_periods(periods, public_key).ok
        lines = export.read_text().splitlines()
        lines[3] = lines[3].replace('"shares":', '"shares":1', 1)
        export.write_text("\n".join(lines) + "\n")
        public_key, periods = read_jsonl(export)
        assert verify_periods(periods, public_key).first_bad_period == 2

    def test_an_export_left_unread_holds_no_file(self, data_dir: Path, tmp_path: Path) -> None:
        """Opening an export and dropping its periods unread (a caller that fails first)
        leaves no file open: it used to, and the ResourceWarning surfaced in a later test."""
        export = tmp_path / "ledger.jsonl"
        with Ledger(data_dir, read_only=True) as ledger, export.open("w") as out:
            write_jsonl(ledger, out)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            _, periods = read_jsonl(export)
            del periods
            gc.collect()
        assert not [w for w in caught if issubclass(w.category, ResourceWarning)]

    def test_csv_has_a_row_per_record(self, data_dir: Path, tmp_path: Path) -> None:
        """The CSV export has one row per record with the header hash beside it."""
        out = tmp_path / "ledger.csv"
        with Ledger(data_dir, read_only=True) as ledger, out.open("w", newline="") as handle:
            assert write_csv(ledger, handle) == 18
        rows = out.read_text().splitlines()
        assert rows[0].startswith("period,period_start_s") and len(rows) == 19


class TestCrashSafety:
    def test_sigkill_mid_append_leaves_no_torn_period(self, tmp_path: Path) -> None:
        """A writer killed by SIGKILL mid-append leaves whole periods only, and a valid chain."""
        script = tmp_path / "writer.py"
        script.write_text(
            "import sys\n"
            "from pathlib import Path\n"
            "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey\n"
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_ledger import make_record\n"
            "from service.ledger import Ledger\n"
            "key = Ed25519PrivateKey.generate()\n"
            "with Ledger(Path(sys.argv[1])) as ledger:\n"
            "    for period in range(100000):\n"
            "        records = [make_record(key, f'site-{i}', period, 1000 + i)\n"
            "                   for i in range(40)]\n"
            "        ledger.append_period(period, period * 900, 900, records)\n"
            "        if period == 2: print('running', flush=True)\n"
        )
        data = tmp_path / "data"
        writer = subprocess.Popen(
            [sys.executable, str(script), str(data)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "running"
        time.sleep(0.3)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        report = verify_dir(data)
        assert report.ok and report.periods >= 3
        assert report.records == 40 * report.periods


class TestSettlement:
    def test_totals_equal_the_records(self, data_dir: Path) -> None:
        """Per plant and per site, settlement totals are the sums of the records in the span."""
        with Ledger(data_dir, read_only=True) as ledger:
            periods = list(ledger.periods())
            records = [EnergyRecord.from_json(r) for p in periods for r in p.records]
            key = Ed25519PrivateKey.generate()
            start, end = 1_700_000_000 + PERIOD_S, 1_700_000_000 + 5 * PERIOD_S
            result = settle(periods, start, end, key, "00" * 32)
        in_span = [r for r in records if start <= r.period_start_s < end]
        for site in SITES:
            mine = [r for r in in_span if r.site == site]
            assert result.sites[site]["energy_j"] == sum(r.energy_j for r in mine)
            assert result.sites[site]["owed_micro"] == sum(sum(r.owed_micro.values()) for r in mine)
            assert len(result.sites[site]["periods"]) == 4
        for plant in PLANTS:
            assert result.plants[plant]["energy_j"] == sum(
                r.curtailed_j.get(plant, 0) for r in in_span
            )
            assert result.plants[plant]["owed_micro"] == sum(
                r.owed_micro.get(plant, 0) for r in in_span
            )

    def test_certificate_checks_against_the_ledger(self, data_dir: Path) -> None:
        """A site's certificate recomputes from the ledger; an inflated one does not."""
        from service.ledger import load_or_create_key

        with Ledger(data_dir, read_only=True) as ledger:
            periods = list(ledger.periods())
            key = load_or_create_key(data_dir / "ledger_ed25519.pem", create=False)
            result = settle(periods, 0, 2**40, key, ledger.public_key)
            certificate = result.certificates["hydro-farm"]
            check_certificate(certificate, periods, ledger.public_key)
            inflated = json.loads(json.dumps(certificate))
            inflated["curtailed_j_by_carrier"]["wind"] += 1
            with pytest.raises(LedgerIntegrityError):
                check_certificate(inflated, periods, ledger.public_key)


class TestCli:
    def spillway(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    def test_export_verify_proof_and_settle(self, data_dir: Path, tmp_path: Path) -> None:
        """export, verify (directory and export), proof, verify-proof and settle work end to end."""
        assert self.spillway("ledger", "verify", str(data_dir)).stdout.startswith(
            "ok: 6 periods, 18 records"
        )
        export = self.spillway("ledger", "export", str(data_dir), "--format", "jsonl")
        (tmp_path / "x.jsonl").write_text(export.stdout)
        assert self.spillway("ledger", "verify", str(tmp_path / "x.jsonl")).returncode == 0
        proof = self.spillway(
            "ledger", "proof", str(data_dir), "--site", "north-farm", "--period", "4"
        )
        (tmp_path / "proof.json").write_text(proof.stdout)
        checked = self.spillway("ledger", "verify-proof", str(tmp_path / "proof.json"))
        assert checked.returncode == 0 and "north-farm period 4" in checked.stdout
        settled = self.spillway(
            "settle",
            "--data-dir",
            str(data_dir),
            "--from",
            "2023-11-14T22:00:00",
            "--to",
            str(2**40),
        )
        assert settled.returncode == 0, settled.stderr
        certificate = json.loads(settled.stdout)["certificates"]["coast-farm"]
        (tmp_path / "cert.json").write_text(json.dumps(certificate))
        assert (
            self.spillway(
                "ledger", "verify-certificate", str(tmp_path / "cert.json"), str(data_dir)
            ).returncode
            == 0
        )

    def test_verify_names_the_bad_period(self, data_dir: Path) -> None:
        """verify exits 1 and names the first bad period."""
        sql(data_dir, "DELETE FROM records WHERE period=3 AND position=0")
        run = self.spillway("ledger", "verify", str(data_dir))
        assert run.returncode == 1 and run.stdout.startswith("bad: period 3:")

    def test_missing_ledger_is_a_clear_error(self, tmp_path: Path) -> None:
        """A data directory without a ledger exits 2 saying so."""
        run = self.spillway("ledger", "export", str(tmp_path))
        assert run.returncode == 2 and "has no ledger" in run.stderr


def resign_head(data_dir: Path) -> None:
    """What the key holder can do after cutting the tail: sign a head over the file as it is."""
    key = load_or_create_key(data_dir / "ledger_ed25519.pem", create=False)
    with closing(sqlite3.connect(data_dir / LEDGER_FILE)) as db, db:
        count, last_period = db.execute("SELECT COUNT(*), MAX(period) FROM periods").fetchone()
        (last_hash,) = db.execute(
            "SELECT hash FROM periods ORDER BY period DESC LIMIT 1"
        ).fetchone()
        keys = db.execute("SELECT worker, site, public_key FROM worker_keys").fetchall()
        head = LedgerHead(count, last_period, last_hash, keys_hash(keys))
        signed = canonical_bytes(head.to_json(sign_hex(key, head.signed_bytes()))).decode()
        db.execute("UPDATE meta SET value=? WHERE key='head'", (signed,))


def drop_last_period(data_dir: Path) -> None:
    sql(data_dir, "DELETE FROM records WHERE period=(SELECT MAX(period) FROM periods)")
    sql(data_dir, "DELETE FROM periods WHERE period=(SELECT MAX(period) FROM periods)")


def spillway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, check=False
    )


class TestLedgerEnd:
    def test_last_period_deleted_from_the_store_is_caught(self, data_dir: Path) -> None:
        """Deleting the newest period (header and records) from ledger.sqlite fails verify."""
        assert spillway("ledger", "verify", str(data_dir)).returncode == 0
        drop_last_period(data_dir)
        run = spillway("ledger", "verify", str(data_dir))
        assert run.returncode == 1, run.stdout
        assert run.stdout.startswith("bad: the signed head names 6 periods ending at period 5")
        assert "removed from its end" in run.stdout

    def test_last_period_deleted_from_an_export_is_caught(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        """An export without its last period, or cut short with its head, fails verify."""
        lines = spillway("ledger", "export", str(data_dir)).stdout.splitlines()
        assert [json.loads(line)["type"] for line in lines[-2:]] == ["keys", "head"]
        export = tmp_path / "cut.jsonl"
        export.write_text("\n".join(lines[:-3] + lines[-2:]) + "\n")  # period 5 gone
        run = spillway("ledger", "verify", str(export))
        assert run.returncode == 1 and "the signed head names 6 periods" in run.stdout
        export.write_text("\n".join(lines[:-3]) + "\n")  # period 5, keys and head gone
        run = spillway("ledger", "verify", str(export))
        assert run.returncode == 1 and run.stdout.startswith("bad: no signed head"), run.stdout
        forged = json.loads(lines[-1]) | {"periods": 5}
        export.write_text("\n".join([*lines[:-3], lines[-2], json.dumps(forged)]) + "\n")
        run = spillway("ledger", "verify", str(export))
        assert run.returncode == 1 and "signature on the head" in run.stdout

    def test_replaced_worker_key_is_caught(self, data_dir: Path, tmp_path: Path) -> None:
        """An UPDATE of a worker's public key in worker_keys fails verify, and is not signed."""
        with Ledger(data_dir) as ledger:
            ledger.set_worker_key("north-farm-w1", "north-farm", "ab" * 32)
        assert verify_full(data_dir).ok
        sql(data_dir, "UPDATE worker_keys SET public_key=? WHERE worker='north-farm-w1'", "cd" * 32)
        run = spillway("ledger", "verify", str(data_dir))
        assert run.returncode == 1 and "worker_keys differ" in run.stdout
        export = tmp_path / "x.jsonl"
        export.write_text(spillway("ledger", "export", str(data_dir)).stdout)
        assert "worker_keys differ" in spillway("ledger", "verify", str(export)).stdout
        # The coordinator does not sign over it at its next start, nor at a registration.
        with pytest.raises(LedgerIntegrityError, match="worker_keys differ"):
            Ledger(data_dir)

    def test_coordinator_refuses_to_sign_over_a_cut_tail(
        self, data_dir: Path, worker_key: Ed25519PrivateKey
    ) -> None:
        """A tail cut while the coordinator was down is refused at open: never re-signed."""
        drop_last_period(data_dir)
        with pytest.raises(LedgerIntegrityError, match="removed from its end"):
            Ledger(data_dir)
        sql(data_dir, "DELETE FROM meta WHERE key='head'")
        with pytest.raises(LedgerIntegrityError, match="head is missing"):
            Ledger(data_dir)

    def test_serve_refuses_a_cut_ledger(self, data_dir: Path) -> None:
        """``spillway serve`` on a data directory whose ledger lost its tail exits 2, one line."""
        drop_last_period(data_dir)
        run = spillway(
            "serve", "--data-dir", str(data_dir), "--grpc-listen", "127.0.0.1:0",
            "--metrics-listen", "off",
        )  # fmt: skip
        assert run.returncode == 2
        assert run.stderr.startswith("spillway: error: ledger: the signed head names 6 periods")
        assert run.stderr.count("\n") == 1, run.stderr

    def test_expected_head_catches_a_tail_cut_by_the_key_holder(
        self, data_dir: Path, tmp_path: Path, worker_key: Ed25519PrivateKey
    ) -> None:
        """A head seen before (hash or saved checkpoint) must still be in the chain.

        The key holder can cut the tail and sign a new head (verify alone then passes);
        --expect-head and --checkpoint still catch it. Grown honestly, the ledger keeps it.
        """
        checkpoint = tmp_path / "head.json"
        checkpoint.write_text(spillway("ledger", "head", str(data_dir)).stdout)
        seen = json.loads(checkpoint.read_text())["last_hash"]
        with Ledger(data_dir) as ledger:  # grows honestly: the old head is still in it
            ledger.append_period(6, 1_700_000_000 + 6 * PERIOD_S, PERIOD_S, [
                make_record(worker_key, "north-farm", 6, 3_600_000)
            ])  # fmt: skip
        pinned = ("--expect-head", seen, "--checkpoint", str(checkpoint))
        assert spillway("ledger", "verify", str(data_dir), *pinned).returncode == 0
        drop_last_period(data_dir)
        drop_last_period(data_dir)
        resign_head(data_dir)
        assert spillway("ledger", "verify", str(data_dir)).stdout.startswith("ok: 5 periods")
        run = spillway("ledger", "verify", str(data_dir), "--expect-head", seen)
        assert run.returncode == 1 and "expected head" in run.stdout
        run = spillway("ledger", "verify", str(data_dir), "--checkpoint", str(checkpoint))
        assert run.returncode == 1 and "checkpoint's head (6 periods" in run.stdout

    def test_certificate_names_its_head(
        self, data_dir: Path, tmp_path: Path, worker_key: Ed25519PrivateKey
    ) -> None:
        """A certificate names the head it was made against, checks after the ledger grows,
        and fails once that head is cut away."""
        settled = spillway(
            "settle", "--data-dir", str(data_dir), "--from", "0", "--to", "2000000000"
        )
        certificate = json.loads(settled.stdout)["certificates"]["north-farm"]
        head = json.loads(spillway("ledger", "head", str(data_dir)).stdout)
        assert certificate["head"] == {
            "periods": 6,
            "last_period": 5,
            "last_hash": head["last_hash"],
        }
        path = tmp_path / "cert.json"
        path.write_text(json.dumps(certificate))
        with Ledger(data_dir) as ledger:  # a new period inside the certificate's range
            ledger.append_period(6, 1_700_000_000 + 6 * PERIOD_S, PERIOD_S, [
                make_record(worker_key, "north-farm", 6, 3_600_000)
            ])  # fmt: skip
        check = ("ledger", "verify-certificate", str(path), str(data_dir))
        assert spillway(*check).returncode == 0
        drop_last_period(data_dir)
        drop_last_period(data_dir)
        resign_head(data_dir)
        run = spillway(*check)
        assert run.returncode == 1 and "does not hold the head" in run.stdout

    def test_version_2_file_reads_and_upgrades(self, data_dir: Path) -> None:
        """A ledger of schema 2 (no head) reads but does not verify until written once."""
        sql(data_dir, "DELETE FROM meta WHERE key='head'")
        sql(data_dir, "UPDATE meta SET value='2' WHERE key='schema_version'")
        report = verify_full(data_dir)
        assert (report.periods, report.ok) == (6, False) and "no signed head" in report.problem
        with Ledger(data_dir) as ledger:
            assert ledger.head() is not None
        assert verify_full(data_dir).ok


class TestReads:
    def test_periods_by_start_time_read_only_the_range(self, data_dir: Path) -> None:
        """The start-time filter keeps exactly the periods starting in ``[from, to)``."""
        start, end = 1_700_000_000 + PERIOD_S, 1_700_000_000 + 4 * PERIOD_S
        with Ledger(data_dir, read_only=True) as ledger:
            every = list(ledger.periods())
            ranged = list(ledger.periods(start_from_s=start, start_to_s=end))
            assert ranged == [p for p in every if start <= p.header["period_start_s"] < end]
            assert [p.header["period"] for p in ranged] == [1, 2, 3]
            assert list(ledger.periods(start_from_s=end)) == every[4:]
            assert list(ledger.periods(start_to_s=start)) == every[:1]
            assert list(ledger.periods(2, 5, start_to_s=end)) == every[2:4]
            # A settlement of the range is the same from the range alone as from everything.
            key = Ed25519PrivateKey.generate()
            whole = settle(every, start, end, key, ledger.public_key)
            assert settle(ranged, start, end, key, ledger.public_key) == whole

    def test_headers_are_the_periods_without_records(self, data_dir: Path) -> None:
        with Ledger(data_dir, read_only=True) as ledger:
            for first, last in ((None, None), (2, 4), (5, None), (7, 9)):
                periods = list(ledger.periods(first, last))
                headers = ledger.headers(first, last)
                assert [(h.header, h.hash, h.signature) for h in headers] == [
                    (p.header, p.hash, p.signature) for p in periods
                ]


class TestRecorderPeriods:
    async def test_clock_stepping_back_never_writes_into_a_closed_period(
        self, tmp_path: Path, worker_key: Ed25519PrivateKey
    ) -> None:
        """Reports go after the last closed period, whether closed now or before a restart."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        from service.coordinator.recorder import LedgerRecorder

        public = worker_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        now_s = [10 * PERIOD_S + 100.0]
        sequence = [0]

        def report() -> Any:
            sequence[0] += 1
            end_ms = 1_000 * sequence[0]  # in the past, one after another (never overlapping)
            return sign_telemetry(
                worker_key,
                worker="w1",
                site="north",
                sequence=sequence[0],
                window_start_ms=end_ms - 1_000,
                window_end_ms=end_ms,
                energy_j=1_000,
                hashes=10,
                shares_found=0,
            )

        recorder = LedgerRecorder(tmp_path, PERIOD_S, clock=lambda: now_s[0])
        await recorder.open()
        try:
            await recorder.register_key("w1", "north", public)
            assert await recorder.accept("w1", "north", report()) == 10
            now_s[0] = 12 * PERIOD_S
            assert [h.period for h in await recorder.close_due(None)] == [10]
            now_s[0] = 5 * PERIOD_S + 50.0  # the clock stepped back
            assert await recorder.accept("w1", "north", report()) == 11
        finally:
            await recorder.close()
        reopened = LedgerRecorder(tmp_path, PERIOD_S, clock=lambda: now_s[0])
        await reopened.open()
        try:
            assert await reopened.last_period() == 10
            assert await reopened.accept("w1", "north", report()) == 11
        finally:
            await reopened.close()
