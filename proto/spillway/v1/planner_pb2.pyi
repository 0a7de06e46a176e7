import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlanningMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLANNING_MODE_UNSPECIFIED: _ClassVar[PlanningMode]
    PLANNING_MODE_CO_OPTIMISED: _ClassVar[PlanningMode]
    PLANNING_MODE_CURTAILMENT_ONLY: _ClassVar[PlanningMode]

class PlanStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_STATUS_UNSPECIFIED: _ClassVar[PlanStatus]
    PLAN_STATUS_OPTIMAL: _ClassVar[PlanStatus]
    PLAN_STATUS_INFEASIBLE: _ClassVar[PlanStatus]
    PLAN_STATUS_TIME_LIMIT: _ClassVar[PlanStatus]
    PLAN_STATUS_ERROR: _ClassVar[PlanStatus]
    PLAN_STATUS_UNKNOWN: _ClassVar[PlanStatus]

class ForecastSeriesKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORECAST_SERIES_KIND_UNSPECIFIED: _ClassVar[ForecastSeriesKind]
    FORECAST_SERIES_KIND_GENERATOR_AVAILABILITY: _ClassVar[ForecastSeriesKind]
    FORECAST_SERIES_KIND_LOAD_DEMAND: _ClassVar[ForecastSeriesKind]
    FORECAST_SERIES_KIND_STORAGE_INFLOW: _ClassVar[ForecastSeriesKind]
    FORECAST_SERIES_KIND_MINING_VALUE: _ClassVar[ForecastSeriesKind]
PLANNING_MODE_UNSPECIFIED: PlanningMode
PLANNING_MODE_CO_OPTIMISED: PlanningMode
PLANNING_MODE_CURTAILMENT_ONLY: PlanningMode
PLAN_STATUS_UNSPECIFIED: PlanStatus
PLAN_STATUS_OPTIMAL: PlanStatus
PLAN_STATUS_INFEASIBLE: PlanStatus
PLAN_STATUS_TIME_LIMIT: PlanStatus
PLAN_STATUS_ERROR: PlanStatus
PLAN_STATUS_UNKNOWN: PlanStatus
FORECAST_SERIES_KIND_UNSPECIFIED: ForecastSeriesKind
FORECAST_SERIES_KIND_GENERATOR_AVAILABILITY: ForecastSeriesKind
FORECAST_SERIES_KIND_LOAD_DEMAND: ForecastSeriesKind
FORECAST_SERIES_KIND_STORAGE_INFLOW: ForecastSeriesKind
FORECAST_SERIES_KIND_MINING_VALUE: ForecastSeriesKind

class Bus(_message.Message):
    __slots__ = ("name", "nominal_voltage_volts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_VOLTAGE_VOLTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    nominal_voltage_volts: float
    def __init__(self, name: _Optional[str] = ..., nominal_voltage_volts: _Optional[float] = ...) -> None: ...

class Branch(_message.Message):
    __slots__ = ("name", "bus0", "bus1", "reactance_per_unit", "rating_watts", "transformer")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUS0_FIELD_NUMBER: _ClassVar[int]
    BUS1_FIELD_NUMBER: _ClassVar[int]
    REACTANCE_PER_UNIT_FIELD_NUMBER: _ClassVar[int]
    RATING_WATTS_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMER_FIELD_NUMBER: _ClassVar[int]
    name: str
    bus0: str
    bus1: str
    reactance_per_unit: float
    rating_watts: float
    transformer: bool
    def __init__(self, name: _Optional[str] = ..., bus0: _Optional[str] = ..., bus1: _Optional[str] = ..., reactance_per_unit: _Optional[float] = ..., rating_watts: _Optional[float] = ..., transformer: _Optional[bool] = ...) -> None: ...

class Generator(_message.Message):
    __slots__ = ("name", "bus", "carrier", "capacity_watts", "marginal_cost_per_megawatt_hour", "availability_per_unit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_WATTS_FIELD_NUMBER: _ClassVar[int]
    MARGINAL_COST_PER_MEGAWATT_HOUR_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_PER_UNIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    bus: str
    carrier: str
    capacity_watts: float
    marginal_cost_per_megawatt_hour: float
    availability_per_unit: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, name: _Optional[str] = ..., bus: _Optional[str] = ..., carrier: _Optional[str] = ..., capacity_watts: _Optional[float] = ..., marginal_cost_per_megawatt_hour: _Optional[float] = ..., availability_per_unit: _Optional[_Iterable[float]] = ...) -> None: ...

class Load(_message.Message):
    __slots__ = ("name", "bus", "demand_watts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    DEMAND_WATTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    bus: str
    demand_watts: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, name: _Optional[str] = ..., bus: _Optional[str] = ..., demand_watts: _Optional[_Iterable[float]] = ...) -> None: ...

class StorageUnit(_message.Message):
    __slots__ = ("name", "bus", "capacity_watts", "energy_capacity_joules", "initial_energy_joules", "inflow_watts", "spill_allowed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_WATTS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_CAPACITY_JOULES_FIELD_NUMBER: _ClassVar[int]
    INITIAL_ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    INFLOW_WATTS_FIELD_NUMBER: _ClassVar[int]
    SPILL_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    name: str
    bus: str
    capacity_watts: float
    energy_capacity_joules: float
    initial_energy_joules: float
    inflow_watts: _containers.RepeatedScalarFieldContainer[float]
    spill_allowed: bool
    def __init__(self, name: _Optional[str] = ..., bus: _Optional[str] = ..., capacity_watts: _Optional[float] = ..., energy_capacity_joules: _Optional[float] = ..., initial_energy_joules: _Optional[float] = ..., inflow_watts: _Optional[_Iterable[float]] = ..., spill_allowed: _Optional[bool] = ...) -> None: ...

class MiningSite(_message.Message):
    __slots__ = ("name", "bus", "max_power_watts", "efficiency_joules_per_terahash", "ramp_limit_watts", "min_power_watts", "rig_block_watts", "revenue_per_megawatt_hour")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_JOULES_PER_TERAHASH_FIELD_NUMBER: _ClassVar[int]
    RAMP_LIMIT_WATTS_FIELD_NUMBER: _ClassVar[int]
    MIN_POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    RIG_BLOCK_WATTS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_PER_MEGAWATT_HOUR_FIELD_NUMBER: _ClassVar[int]
    name: str
    bus: str
    max_power_watts: float
    efficiency_joules_per_terahash: float
    ramp_limit_watts: float
    min_power_watts: float
    rig_block_watts: float
    revenue_per_megawatt_hour: float
    def __init__(self, name: _Optional[str] = ..., bus: _Optional[str] = ..., max_power_watts: _Optional[float] = ..., efficiency_joules_per_terahash: _Optional[float] = ..., ramp_limit_watts: _Optional[float] = ..., min_power_watts: _Optional[float] = ..., rig_block_watts: _Optional[float] = ..., revenue_per_megawatt_hour: _Optional[float] = ...) -> None: ...

class Scenario(_message.Message):
    __slots__ = ("name", "start_time", "period_duration", "period_count", "base_power_watts", "buses", "branches", "generators", "loads", "storage_units", "mining_sites")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DURATION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_COUNT_FIELD_NUMBER: _ClassVar[int]
    BASE_POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    BUSES_FIELD_NUMBER: _ClassVar[int]
    BRANCHES_FIELD_NUMBER: _ClassVar[int]
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    LOADS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_UNITS_FIELD_NUMBER: _ClassVar[int]
    MINING_SITES_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: _timestamp_pb2.Timestamp
    period_duration: _duration_pb2.Duration
    period_count: int
    base_power_watts: float
    buses: _containers.RepeatedCompositeFieldContainer[Bus]
    branches: _containers.RepeatedCompositeFieldContainer[Branch]
    generators: _containers.RepeatedCompositeFieldContainer[Generator]
    loads: _containers.RepeatedCompositeFieldContainer[Load]
    storage_units: _containers.RepeatedCompositeFieldContainer[StorageUnit]
    mining_sites: _containers.RepeatedCompositeFieldContainer[MiningSite]
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., period_count: _Optional[int] = ..., base_power_watts: _Optional[float] = ..., buses: _Optional[_Iterable[_Union[Bus, _Mapping]]] = ..., branches: _Optional[_Iterable[_Union[Branch, _Mapping]]] = ..., generators: _Optional[_Iterable[_Union[Generator, _Mapping]]] = ..., loads: _Optional[_Iterable[_Union[Load, _Mapping]]] = ..., storage_units: _Optional[_Iterable[_Union[StorageUnit, _Mapping]]] = ..., mining_sites: _Optional[_Iterable[_Union[MiningSite, _Mapping]]] = ...) -> None: ...

class SitePlan(_message.Message):
    __slots__ = ("site", "budget_watts", "curtailed_watts", "bus", "bus_marginal_price_per_megawatt_hour", "sources")
    SITE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    CURTAILED_WATTS_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    BUS_MARGINAL_PRICE_PER_MEGAWATT_HOUR_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    site: str
    budget_watts: _containers.RepeatedScalarFieldContainer[float]
    curtailed_watts: _containers.RepeatedScalarFieldContainer[float]
    bus: str
    bus_marginal_price_per_megawatt_hour: _containers.RepeatedScalarFieldContainer[float]
    sources: _containers.RepeatedCompositeFieldContainer[SiteSource]
    def __init__(self, site: _Optional[str] = ..., budget_watts: _Optional[_Iterable[float]] = ..., curtailed_watts: _Optional[_Iterable[float]] = ..., bus: _Optional[str] = ..., bus_marginal_price_per_megawatt_hour: _Optional[_Iterable[float]] = ..., sources: _Optional[_Iterable[_Union[SiteSource, _Mapping]]] = ...) -> None: ...

class SiteSource(_message.Message):
    __slots__ = ("plant", "watts")
    PLANT_FIELD_NUMBER: _ClassVar[int]
    WATTS_FIELD_NUMBER: _ClassVar[int]
    plant: str
    watts: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, plant: _Optional[str] = ..., watts: _Optional[_Iterable[float]] = ...) -> None: ...

class PlantPlan(_message.Message):
    __slots__ = ("plant", "carrier", "bus", "absorbed_watts")
    PLANT_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    ABSORBED_WATTS_FIELD_NUMBER: _ClassVar[int]
    plant: str
    carrier: str
    bus: str
    absorbed_watts: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, plant: _Optional[str] = ..., carrier: _Optional[str] = ..., bus: _Optional[str] = ..., absorbed_watts: _Optional[_Iterable[float]] = ...) -> None: ...

class BranchPlan(_message.Message):
    __slots__ = ("branch", "flow_watts", "loading_fraction", "shadow_price_per_megawatt_hour")
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    FLOW_WATTS_FIELD_NUMBER: _ClassVar[int]
    LOADING_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SHADOW_PRICE_PER_MEGAWATT_HOUR_FIELD_NUMBER: _ClassVar[int]
    branch: str
    flow_watts: _containers.RepeatedScalarFieldContainer[float]
    loading_fraction: _containers.RepeatedScalarFieldContainer[float]
    shadow_price_per_megawatt_hour: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, branch: _Optional[str] = ..., flow_watts: _Optional[_Iterable[float]] = ..., loading_fraction: _Optional[_Iterable[float]] = ..., shadow_price_per_megawatt_hour: _Optional[_Iterable[float]] = ...) -> None: ...

class PlanSummary(_message.Message):
    __slots__ = ("objective", "revenue", "mining_energy_joules", "curtailment_absorbed_joules", "grid_energy_joules", "solve_seconds")
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    MINING_ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    CURTAILMENT_ABSORBED_JOULES_FIELD_NUMBER: _ClassVar[int]
    GRID_ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    SOLVE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    objective: float
    revenue: float
    mining_energy_joules: float
    curtailment_absorbed_joules: float
    grid_energy_joules: float
    solve_seconds: float
    def __init__(self, objective: _Optional[float] = ..., revenue: _Optional[float] = ..., mining_energy_joules: _Optional[float] = ..., curtailment_absorbed_joules: _Optional[float] = ..., grid_energy_joules: _Optional[float] = ..., solve_seconds: _Optional[float] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("plan_id", "scenario_id", "mode", "status", "termination", "create_time", "start_time", "period_duration", "period_count", "sites", "branches", "summary", "plants")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DURATION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_COUNT_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    BRANCHES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PLANTS_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    scenario_id: str
    mode: PlanningMode
    status: PlanStatus
    termination: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    period_duration: _duration_pb2.Duration
    period_count: int
    sites: _containers.RepeatedCompositeFieldContainer[SitePlan]
    branches: _containers.RepeatedCompositeFieldContainer[BranchPlan]
    summary: PlanSummary
    plants: _containers.RepeatedCompositeFieldContainer[PlantPlan]
    def __init__(self, plan_id: _Optional[str] = ..., scenario_id: _Optional[str] = ..., mode: _Optional[_Union[PlanningMode, str]] = ..., status: _Optional[_Union[PlanStatus, str]] = ..., termination: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., period_count: _Optional[int] = ..., sites: _Optional[_Iterable[_Union[SitePlan, _Mapping]]] = ..., branches: _Optional[_Iterable[_Union[BranchPlan, _Mapping]]] = ..., summary: _Optional[_Union[PlanSummary, _Mapping]] = ..., plants: _Optional[_Iterable[_Union[PlantPlan, _Mapping]]] = ...) -> None: ...

class SubmitScenarioRequest(_message.Message):
    __slots__ = ("scenario",)
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    scenario: Scenario
    def __init__(self, scenario: _Optional[_Union[Scenario, _Mapping]] = ...) -> None: ...

class SubmitScenarioResponse(_message.Message):
    __slots__ = ("scenario_id",)
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    scenario_id: str
    def __init__(self, scenario_id: _Optional[str] = ...) -> None: ...

class RunPlanRequest(_message.Message):
    __slots__ = ("scenario_id", "mode", "allow_suboptimal", "time_limit")
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SUBOPTIMAL_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    scenario_id: str
    mode: PlanningMode
    allow_suboptimal: bool
    time_limit: _duration_pb2.Duration
    def __init__(self, scenario_id: _Optional[str] = ..., mode: _Optional[_Union[PlanningMode, str]] = ..., allow_suboptimal: _Optional[bool] = ..., time_limit: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RunPlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class GetPlanRequest(_message.Message):
    __slots__ = ("plan_id",)
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    def __init__(self, plan_id: _Optional[str] = ...) -> None: ...

class GetPlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class WatchPlansRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchPlansResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class ForecastSeries(_message.Message):
    __slots__ = ("kind", "component", "times", "values")
    KIND_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    kind: ForecastSeriesKind
    component: str
    times: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, kind: _Optional[_Union[ForecastSeriesKind, str]] = ..., component: _Optional[str] = ..., times: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class UpdateForecastRequest(_message.Message):
    __slots__ = ("scenario_id", "series")
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    scenario_id: str
    series: _containers.RepeatedCompositeFieldContainer[ForecastSeries]
    def __init__(self, scenario_id: _Optional[str] = ..., series: _Optional[_Iterable[_Union[ForecastSeries, _Mapping]]] = ...) -> None: ...

class UpdateForecastResponse(_message.Message):
    __slots__ = ("revision", "points_accepted", "reach_time")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    POINTS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REACH_TIME_FIELD_NUMBER: _ClassVar[int]
    revision: int
    points_accepted: int
    reach_time: _timestamp_pb2.Timestamp
    def __init__(self, revision: _Optional[int] = ..., points_accepted: _Optional[int] = ..., reach_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PricePoint(_message.Message):
    __slots__ = ("site", "bus", "start_time", "duration", "price_per_mwh")
    SITE_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_MWH_FIELD_NUMBER: _ClassVar[int]
    site: str
    bus: str
    start_time: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    price_per_mwh: float
    def __init__(self, site: _Optional[str] = ..., bus: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., price_per_mwh: _Optional[float] = ...) -> None: ...

class PushPricesRequest(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[PricePoint]
    def __init__(self, prices: _Optional[_Iterable[_Union[PricePoint, _Mapping]]] = ...) -> None: ...

class PushPricesResponse(_message.Message):
    __slots__ = ("points_accepted", "reach_time")
    POINTS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REACH_TIME_FIELD_NUMBER: _ClassVar[int]
    points_accepted: int
    reach_time: _timestamp_pb2.Timestamp
    def __init__(self, points_accepted: _Optional[int] = ..., reach_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
