"""The checked-in generated code matches ``proto/`` (regenerated with the pinned grpcio-tools)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parents[3] / "proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _generated(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted((root / "spillway" / "v1").iterdir())
        if path.name.endswith(GENERATED_SUFFIXES)
    }


class TestGeneratedCode:
    def test_generated_code_is_fresh(self, tmp_path: Path) -> None:
        """Regenerating from the .proto files gives exactly the checked-in files (`make proto`)."""
        subprocess.run(
            [sys.executable, str(PROTO_ROOT / "generate.py"), "--out", str(tmp_path)], check=True
        )
        fresh = _generated(tmp_path)
        checked_in = _generated(PROTO_ROOT)
        assert sorted(fresh) == sorted(checked_in), "generated files differ: run `make proto`"
        stale = [name for name in fresh if fresh[name] != checked_in[name]]
        assert not stale, f"stale generated code: {stale}; run `make proto`"

    def test_every_rpc_has_its_own_request_and_response(self) -> None:
        """One request/response pair per RPC, named after it."""
        from spillway.v1 import ledger_pb2, miner_pb2, operator_pb2, planner_pb2

        for module in (ledger_pb2, miner_pb2, operator_pb2, planner_pb2):
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    assert method.input_type.name == f"{method.name}Request"
                    assert method.output_type.name == f"{method.name}Response"
