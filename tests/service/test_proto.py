"""The checked-in generated code matches ``proto/`` (regenerated with the pinned grpcio-tools)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
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


class TestCompatibility:
    def test_older_workers_skip_no_work(self) -> None:
        """A worker built before NoWork reads it as no directive (and hashes on, as before)."""
        from google.protobuf import (
            descriptor_pb2,
            descriptor_pool,
            duration_pb2,
            message_factory,
            timestamp_pb2,
        )

        from spillway.v1 import common_pb2, miner_pb2

        # miner.proto as it was: StreamWorkResponse without field 4.
        old = descriptor_pb2.FileDescriptorProto()
        miner_pb2.DESCRIPTOR.CopyToProto(old)
        old.name = "old/miner.proto"
        response = next(m for m in old.message_type if m.name == "StreamWorkResponse")
        kept = [f for f in response.field if f.number != 4]
        del response.field[:]
        response.field.extend(kept)
        pool = descriptor_pool.DescriptorPool()
        for module in (duration_pb2, timestamp_pb2, common_pb2):
            dependency = descriptor_pb2.FileDescriptorProto()
            module.DESCRIPTOR.CopyToProto(dependency)
            pool.Add(dependency)
        pool.Add(old)
        old_response = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("spillway.v1.StreamWorkResponse")
        )
        wire = miner_pb2.StreamWorkResponse(no_work=miner_pb2.NoWork(reason="pool gone"))
        decoded = old_response.FromString(wire.SerializeToString())
        assert decoded.WhichOneof("directive") is None
        job = miner_pb2.StreamWorkResponse(job=miner_pb2.MiningJob(job_id="j"))
        assert old_response.FromString(job.SerializeToString()).WhichOneof("directive") == "job"
