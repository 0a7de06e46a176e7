import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from spillway.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BudgetReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_REASON_UNSPECIFIED: _ClassVar[BudgetReason]
    BUDGET_REASON_NONE: _ClassVar[BudgetReason]
    BUDGET_REASON_PLAN: _ClassVar[BudgetReason]
    BUDGET_REASON_SCHEDULE: _ClassVar[BudgetReason]
    BUDGET_REASON_OVERRIDE: _ClassVar[BudgetReason]
    BUDGET_REASON_GRID_EVENT: _ClassVar[BudgetReason]
    BUDGET_REASON_PRICE_RULE: _ClassVar[BudgetReason]

class GridSignalKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRID_SIGNAL_KIND_UNSPECIFIED: _ClassVar[GridSignalKind]
    GRID_SIGNAL_KIND_LOAD_DISPATCH: _ClassVar[GridSignalKind]
    GRID_SIGNAL_KIND_SIMPLE: _ClassVar[GridSignalKind]
    GRID_SIGNAL_KIND_PRICE: _ClassVar[GridSignalKind]
BUDGET_REASON_UNSPECIFIED: BudgetReason
BUDGET_REASON_NONE: BudgetReason
BUDGET_REASON_PLAN: BudgetReason
BUDGET_REASON_SCHEDULE: BudgetReason
BUDGET_REASON_OVERRIDE: BudgetReason
BUDGET_REASON_GRID_EVENT: BudgetReason
BUDGET_REASON_PRICE_RULE: BudgetReason
GRID_SIGNAL_KIND_UNSPECIFIED: GridSignalKind
GRID_SIGNAL_KIND_LOAD_DISPATCH: GridSignalKind
GRID_SIGNAL_KIND_SIMPLE: GridSignalKind
GRID_SIGNAL_KIND_PRICE: GridSignalKind

class BudgetOverride(_message.Message):
    __slots__ = ("site", "budget_watts", "expire_time", "reason")
    SITE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    site: str
    budget_watts: float
    expire_time: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, site: _Optional[str] = ..., budget_watts: _Optional[float] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ScheduledBudget(_message.Message):
    __slots__ = ("site", "start_time", "duration", "budget_watts", "energy_source")
    SITE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    site: str
    start_time: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    budget_watts: float
    energy_source: _common_pb2.EnergySource
    def __init__(self, site: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., budget_watts: _Optional[float] = ..., energy_source: _Optional[_Union[_common_pb2.EnergySource, str]] = ...) -> None: ...

class WorkerStatus(_message.Message):
    __slots__ = ("worker_id", "worker_name", "backend", "connected", "last_seen_time", "hashrate_hashes_per_second", "power_watts")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_NAME_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    HASHRATE_HASHES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    worker_name: str
    backend: str
    connected: bool
    last_seen_time: _timestamp_pb2.Timestamp
    hashrate_hashes_per_second: float
    power_watts: float
    def __init__(self, worker_id: _Optional[str] = ..., worker_name: _Optional[str] = ..., backend: _Optional[str] = ..., connected: _Optional[bool] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hashrate_hashes_per_second: _Optional[float] = ..., power_watts: _Optional[float] = ...) -> None: ...

class SiteStatus(_message.Message):
    __slots__ = ("site", "budget_watts", "budget_source", "energy_source", "budget_override", "workers", "hashrate_hashes_per_second", "power_watts", "shares_accepted", "energy_joules", "budget_reason", "active_signal")
    SITE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SOURCE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    HASHRATE_HASHES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    SHARES_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_REASON_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SIGNAL_FIELD_NUMBER: _ClassVar[int]
    site: str
    budget_watts: float
    budget_source: _common_pb2.BudgetSource
    energy_source: _common_pb2.EnergySource
    budget_override: BudgetOverride
    workers: _containers.RepeatedCompositeFieldContainer[WorkerStatus]
    hashrate_hashes_per_second: float
    power_watts: float
    shares_accepted: int
    energy_joules: float
    budget_reason: BudgetReason
    active_signal: GridSignalStatus
    def __init__(self, site: _Optional[str] = ..., budget_watts: _Optional[float] = ..., budget_source: _Optional[_Union[_common_pb2.BudgetSource, str]] = ..., energy_source: _Optional[_Union[_common_pb2.EnergySource, str]] = ..., budget_override: _Optional[_Union[BudgetOverride, _Mapping]] = ..., workers: _Optional[_Iterable[_Union[WorkerStatus, _Mapping]]] = ..., hashrate_hashes_per_second: _Optional[float] = ..., power_watts: _Optional[float] = ..., shares_accepted: _Optional[int] = ..., energy_joules: _Optional[float] = ..., budget_reason: _Optional[_Union[BudgetReason, str]] = ..., active_signal: _Optional[_Union[GridSignalStatus, _Mapping]] = ...) -> None: ...

class GridSignalStatus(_message.Message):
    __slots__ = ("event_id", "kind", "level", "setpoint_watts", "until_time", "underlying_budget_watts", "price_per_mwh")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SETPOINT_WATTS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_MWH_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    kind: GridSignalKind
    level: int
    setpoint_watts: float
    until_time: _timestamp_pb2.Timestamp
    underlying_budget_watts: float
    price_per_mwh: float
    def __init__(self, event_id: _Optional[str] = ..., kind: _Optional[_Union[GridSignalKind, str]] = ..., level: _Optional[int] = ..., setpoint_watts: _Optional[float] = ..., until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., underlying_budget_watts: _Optional[float] = ..., price_per_mwh: _Optional[float] = ...) -> None: ...

class RollingStatus(_message.Message):
    __slots__ = ("window_start_time", "window_end_time", "forecast_reach_time", "horizon", "forecast_revision")
    WINDOW_START_TIME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_TIME_FIELD_NUMBER: _ClassVar[int]
    FORECAST_REACH_TIME_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    FORECAST_REVISION_FIELD_NUMBER: _ClassVar[int]
    window_start_time: _timestamp_pb2.Timestamp
    window_end_time: _timestamp_pb2.Timestamp
    forecast_reach_time: _timestamp_pb2.Timestamp
    horizon: _duration_pb2.Duration
    forecast_revision: int
    def __init__(self, window_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., forecast_reach_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., horizon: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., forecast_revision: _Optional[int] = ...) -> None: ...

class PoolStatus(_message.Message):
    __slots__ = ("url", "connected", "difficulty", "job_id", "shares_accepted", "shares_rejected", "shares_stale")
    URL_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    DIFFICULTY_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHARES_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SHARES_REJECTED_FIELD_NUMBER: _ClassVar[int]
    SHARES_STALE_FIELD_NUMBER: _ClassVar[int]
    url: str
    connected: bool
    difficulty: float
    job_id: str
    shares_accepted: int
    shares_rejected: int
    shares_stale: int
    def __init__(self, url: _Optional[str] = ..., connected: _Optional[bool] = ..., difficulty: _Optional[float] = ..., job_id: _Optional[str] = ..., shares_accepted: _Optional[int] = ..., shares_rejected: _Optional[int] = ..., shares_stale: _Optional[int] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("server_time", "sites", "current_plan_id", "current_plan_create_time", "pool", "rolling")
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PLAN_CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    ROLLING_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    sites: _containers.RepeatedCompositeFieldContainer[SiteStatus]
    current_plan_id: str
    current_plan_create_time: _timestamp_pb2.Timestamp
    pool: PoolStatus
    rolling: RollingStatus
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sites: _Optional[_Iterable[_Union[SiteStatus, _Mapping]]] = ..., current_plan_id: _Optional[str] = ..., current_plan_create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pool: _Optional[_Union[PoolStatus, _Mapping]] = ..., rolling: _Optional[_Union[RollingStatus, _Mapping]] = ...) -> None: ...

class SetBudgetOverrideRequest(_message.Message):
    __slots__ = ("site", "budget_watts", "duration", "reason")
    SITE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    site: str
    budget_watts: float
    duration: _duration_pb2.Duration
    reason: str
    def __init__(self, site: _Optional[str] = ..., budget_watts: _Optional[float] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class SetBudgetOverrideResponse(_message.Message):
    __slots__ = ("budget_override",)
    BUDGET_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    budget_override: BudgetOverride
    def __init__(self, budget_override: _Optional[_Union[BudgetOverride, _Mapping]] = ...) -> None: ...

class PauseSiteRequest(_message.Message):
    __slots__ = ("site", "duration", "reason")
    SITE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    site: str
    duration: _duration_pb2.Duration
    reason: str
    def __init__(self, site: _Optional[str] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PauseSiteResponse(_message.Message):
    __slots__ = ("budget_override",)
    BUDGET_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    budget_override: BudgetOverride
    def __init__(self, budget_override: _Optional[_Union[BudgetOverride, _Mapping]] = ...) -> None: ...

class ClearBudgetOverrideRequest(_message.Message):
    __slots__ = ("site",)
    SITE_FIELD_NUMBER: _ClassVar[int]
    site: str
    def __init__(self, site: _Optional[str] = ...) -> None: ...

class ClearBudgetOverrideResponse(_message.Message):
    __slots__ = ("cleared",)
    CLEARED_FIELD_NUMBER: _ClassVar[int]
    cleared: bool
    def __init__(self, cleared: _Optional[bool] = ...) -> None: ...

class PushScheduleRequest(_message.Message):
    __slots__ = ("entries", "reason")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ScheduledBudget]
    reason: str
    def __init__(self, entries: _Optional[_Iterable[_Union[ScheduledBudget, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class PushScheduleResponse(_message.Message):
    __slots__ = ("schedule_id", "entry_count")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    entry_count: int
    def __init__(self, schedule_id: _Optional[str] = ..., entry_count: _Optional[int] = ...) -> None: ...
