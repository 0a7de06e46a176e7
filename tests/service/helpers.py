"""Helpers shared by the service tests (on ``pythonpath``; conftest holds the fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from service.server import CoordinatorServer
from service.settings import CoordinatorSettings

TOKEN = "s3cret-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@dataclass
class Running:
    """A coordinator under test and a channel to it."""

    server: CoordinatorServer
    port: int
    channel: Any
    registry: CollectorRegistry
    settings: CoordinatorSettings

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def make_settings(data_dir: Path, **overrides: Any) -> CoordinatorSettings:
    """Settings for a loopback coordinator with fast intervals."""
    values: dict[str, Any] = {
        "grpc_listen": "127.0.0.1:0",
        "metrics_listen": None,
        "data_dir": data_dir,
        "auth_token": TOKEN,
        "grace_s": 1.0,
        "budget_refresh_s": 0.1,
        "budget_hold_s": 3.0,
        "period_s": 60.0,
        "share_difficulty": 1 / 4096,
        "hash_threads": 1,
    }
    values.update(overrides)
    return CoordinatorSettings(**values)
