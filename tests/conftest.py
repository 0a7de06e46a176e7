"""Shared fixtures: the real data under tests/data."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class MainnetHeader:
    """One real Bitcoin mainnet block header with its published hash."""

    height: int
    header: bytes
    block_hash_display: str
    bits: int

    @property
    def nonce(self) -> int:
        return int.from_bytes(self.header[76:], "little")


def load_mainnet_headers() -> list[MainnetHeader]:
    """All rows of tests/data/bitcoin/mainnet_headers.csv."""
    with (DATA_DIR / "bitcoin" / "mainnet_headers.csv").open(newline="") as handle:
        return [
            MainnetHeader(
                height=int(row["height"]),
                header=bytes.fromhex(row["header_hex"]),
                block_hash_display=row["block_hash"],
                bits=int(row["nbits"], 16),
            )
            for row in csv.DictReader(handle)
        ]


@pytest.fixture(scope="session")
def mainnet_headers() -> list[MainnetHeader]:
    return load_mainnet_headers()


@pytest.fixture(scope="session")
def stratum_vectors() -> dict[str, Any]:
    with (DATA_DIR / "bitcoin" / "stratum_vectors.json").open() as handle:
        vectors: dict[str, Any] = json.load(handle)
    return vectors
