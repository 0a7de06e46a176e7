"""Every RPC, sent empty and random messages: never UNKNOWN or INTERNAL; refusals store nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from spw_helpers import AUTH, make_settings

from service.rpc.server import DB_FILE, SERVICES, build_server
from spillway.v1 import ledger_pb2, miner_pb2, operator_pb2, planner_pb2

FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
FD = descriptor.FieldDescriptor
MODULES = {
    m.DESCRIPTOR.package + "." + n: getattr(m, n)
    for m in (ledger_pb2, miner_pb2, operator_pb2, planner_pb2)
    for n in m.DESCRIPTOR.message_types_by_name
}

_INTS = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
    FD.TYPE_ENUM: (-3, 12),  # proto3 enums are open: unknown numbers arrive too
}


def _field(field: Any, depth: int) -> st.SearchStrategy[Any]:
    if field.type in _INTS:
        lo, hi = _INTS[field.type]
        return st.integers(lo, hi)
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(width=64 if field.type == FD.TYPE_DOUBLE else 32)
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type == FD.TYPE_STRING:
        return st.text(max_size=70) | st.sampled_from(["alpha", "east", "w1", ""])
    if field.type == FD.TYPE_BYTES:
        return st.binary(max_size=90) | st.binary(min_size=76, max_size=76)
    return _message(field.message_type, depth + 1)


def _message(desc: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    if depth > 2:
        return st.just({})
    fields = {}
    for field in desc.fields:
        one = _field(field, depth)
        fields[field.name] = st.none() | (st.lists(one, max_size=3) if field.is_repeated else one)
    return st.fixed_dictionaries(fields)


def _fill(message: Any, values: dict[str, Any]) -> Any:
    for name, value in values.items():
        if value is None:
            continue
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.is_repeated:
            for item in value:
                if field.type == FD.TYPE_MESSAGE:
                    _fill(getattr(message, name).add(), item)
                else:
                    getattr(message, name).append(item)
        elif field.type == FD.TYPE_MESSAGE:
            _fill(getattr(message, name), value)
            getattr(message, name).SetInParent()
        else:
            setattr(message, name, value)
    return message


METHODS = [(service, method) for service in SERVICES for method in service.methods]


@pytest.fixture(scope="module")
def server_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A coordinator on its own thread and event loop (hypothesis drives sync calls)."""
    data = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    ready: list[Any] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        ready.append(
            loop.run_until_complete(
                build_server(make_settings(data, max_searches=1), registry=CollectorRegistry())
            )
        )
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not ready:
        thread.join(0.05)
    server, port = ready[0]
    yield port, data / DB_FILE
    asyncio.run_coroutine_threadsafe(server.stop(0), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def _snapshot(db_path: Path) -> list[Any]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in sorted(tables)]
    finally:
        db.close()


def _call(port: int, service: Any, method: Any, request: Any) -> grpc.StatusCode:
    path = f"/{service.full_name}/{method.name}"
    response_type = MODULES[method.output_type.full_name]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        kwargs = {
            "request_serializer": type(request).SerializeToString,
            "response_deserializer": response_type.FromString,
        }
        try:
            if method.server_streaming:
                call = channel.unary_stream(path, **kwargs)(request, metadata=AUTH, timeout=1)
                next(iter(call), None)
                call.cancel()
            else:
                channel.unary_unary(path, **kwargs)(request, metadata=AUTH, timeout=3)
        except grpc.RpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize(("service", "method"), METHODS, ids=lambda x: getattr(x, "name", x))
class TestEveryRpc:
    def test_empty_request(self, server_port: tuple[int, Path], service: Any, method: Any) -> None:
        """An empty request is answered without UNKNOWN or INTERNAL."""
        port, _ = server_port
        request = MODULES[method.input_type.full_name]()
        assert _call(port, service, method, request) not in FORBIDDEN

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.data())
    def test_random_requests(
        self, server_port: tuple[int, Path], service: Any, method: Any, data: st.DataObject
    ) -> None:
        """Random field values: never UNKNOWN or INTERNAL; a refused call changes no state."""
        port, db_path = server_port
        request_type = MODULES[method.input_type.full_name]
        if not request_type.DESCRIPTOR.fields:
            return  # an empty message has nothing random to send: test_empty_request covers it
        values = data.draw(_message(request_type.DESCRIPTOR))
        request = _fill(request_type(), values)
        before = _snapshot(db_path)
        code = _call(port, service, method, request)
        assert code not in FORBIDDEN, (method.name, request)
        if code not in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED):
            assert _snapshot(db_path) == before, (method.name, code, request)


NUMERIC_PATHS = [
    ("branches", 0, "reactance_per_unit"),
    ("branches", 1, "rating_watts"),
    ("generators", 0, "capacity_watts"),
    ("generators", 1, "marginal_cost_per_megawatt_hour"),
    ("mining_sites", 0, "max_power_watts"),
    ("mining_sites", 0, "revenue_per_megawatt_hour"),
    ("mining_sites", 0, "min_power_watts"),
    ("mining_sites", 0, "ramp_limit_watts"),
    ("buses", 2, "nominal_voltage_volts"),
]


class TestScenarioMutations:
    @settings(
        max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        path=st.sampled_from(NUMERIC_PATHS),
        value=st.floats() | st.sampled_from([0.0, -1.0, 1e-300, 1e300]),
        availability=st.lists(st.floats(), min_size=0, max_size=3),
        plan=st.booleans(),
    )
    def test_mutated_scenario_never_internal(
        self,
        server_port: tuple[int, Path],
        path: tuple[str, int, str],
        value: float,
        availability: list[float],
        plan: bool,
    ) -> None:
        """A real scenario with one odd number: accepted and planned, or refused by field."""
        import time

        from test_planner import three_bus

        port, _ = server_port
        scenario = three_bus(time.time())
        kind, index, field = path
        setattr(getattr(scenario, kind)[index], field, value)
        del scenario.generators[0].availability_per_unit[:]
        scenario.generators[0].availability_per_unit.extend(availability)
        service = SERVICES[0]
        code = _call(
            port,
            service,
            service.methods_by_name["SubmitScenario"],
            planner_pb2.SubmitScenarioRequest(scenario=scenario),
        )
        assert code not in FORBIDDEN, (path, value, availability)
        if code == grpc.StatusCode.OK and plan:
            # A scenario the reader accepts is planned, or refused with a clear status.
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                from spillway.v1 import planner_pb2_grpc

                stub = planner_pb2_grpc.PlannerServiceStub(channel)
                reply = stub.SubmitScenario(
                    planner_pb2.SubmitScenarioRequest(scenario=scenario), metadata=AUTH
                )
                try:
                    stub.RunPlan(
                        planner_pb2.RunPlanRequest(
                            scenario_id=reply.scenario_id,
                            mode=planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY,
                        ),
                        metadata=AUTH,
                        timeout=30,
                    )
                except grpc.RpcError as exc:
                    assert exc.code() not in FORBIDDEN, (path, value, exc.details())
