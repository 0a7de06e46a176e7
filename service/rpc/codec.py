"""Plans and scenarios stored as their messages' bytes: the coordinator's ``PlanCodec``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.rpc.convert import calendar_to_proto, plan_from_proto, plan_to_proto
from service.rpc.scenario import read_scenario_message, scenario_calendar
from spillway.v1 import planner_pb2

if TYPE_CHECKING:
    from optimiser import GridData
    from service.domain import Calendar, Plan

__all__ = ["PROTO_CODEC", "ProtoCodec"]


class ProtoCodec:
    """``Plan`` and ``Scenario`` messages, serialised (the store's format since schema 1)."""

    def plan_to_bytes(self, plan: Plan) -> bytes:
        """A plan as a serialised ``Plan`` message."""
        return plan_to_proto(plan).SerializeToString()

    def plan_from_bytes(self, body: bytes) -> Plan:
        """A plan from a serialised ``Plan`` message."""
        return plan_from_proto(planner_pb2.Plan.FromString(body))

    def calendar_to_bytes(self, calendar: Calendar) -> bytes:
        """A calendar as a serialised ``Scenario`` message without components."""
        return calendar_to_proto(calendar).SerializeToString()

    def read_scenario(self, body: bytes) -> tuple[GridData, Calendar]:
        """A serialised ``Scenario``, read and checked by the optimiser, and its calendar."""
        scenario = planner_pb2.Scenario.FromString(body)
        return read_scenario_message(scenario), scenario_calendar(scenario)


PROTO_CODEC = ProtoCodec()
