"""Stratum v1 upstream for all workers: ``work`` (a pool's ``mining.notify`` -> block headers),
``client`` (the pool connection), ``messages`` (its lines decoded and checked, the
session state), ``endpoint`` (where a pool is), ``upstream`` (reconnects and failover
across pools), ``allocator`` (one job split among workers) and
``errors``. The coordinator's side (pools, failover, forwarded shares) is
``service.coordinator.pool_bridge``: it uses the coordinator's store and metrics.

Public face: ``StratumJob.from_notify`` parses a job as a pool sends it;
``build_header`` assembles the 80-byte header for an extranonce2, ntime,
nonce and rolled version bits.
"""

from __future__ import annotations

from service.stratum.errors import StratumError, StratumJobError
from service.stratum.work import (
    NOTIFY_FIELDS,
    StratumJob,
    build_coinbase,
    build_header,
    coinbase_merkle_root,
    prevhash_from_stratum,
    roll_version,
)

__all__ = [
    "NOTIFY_FIELDS",
    "StratumError",
    "StratumJob",
    "StratumJobError",
    "build_coinbase",
    "build_header",
    "coinbase_merkle_root",
    "prevhash_from_stratum",
    "roll_version",
]
