"""``spillway status``'s text for a coordinator mining for a pool (``format_status``).

The pool end-to-end test (``tests/service/grpc/test_pool.py``) checks the status
reply's pool fields from a real coordinator and pool; here the CLI's line for
those same values, so that test needs nothing of ``service.cli``.
"""

from __future__ import annotations

from service.cli.operator import format_status
from spillway.v1 import operator_pb2

POOL = "stratum+tcp://127.0.0.1:3333"


def status_with(pool: operator_pb2.PoolStatus) -> operator_pb2.GetStatusResponse:
    return operator_pb2.GetStatusResponse(pool=pool)


def test_connected_pool_line_names_url_difficulty_job_and_shares() -> None:
    """As the real block's e2e reply: connected, difficulty 1e6, job 277647, 1 accepted."""
    status = status_with(
        operator_pb2.PoolStatus(
            url=POOL, connected=True, difficulty=1e6, job_id="277647", shares_accepted=1
        )
    )
    assert f"pool: {POOL}, difficulty 1e+06, job 277647; shares accepted 1," in (
        format_status(status)
    )


def test_pool_without_session_says_so() -> None:
    status = status_with(operator_pb2.PoolStatus(shares_accepted=3, shares_rejected=1))
    assert "pool: no session; shares accepted 3, rejected 1, stale 0" in format_status(status)
