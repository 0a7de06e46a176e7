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

class ShareResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHARE_RESULT_UNSPECIFIED: _ClassVar[ShareResult]
    SHARE_RESULT_ACCEPTED: _ClassVar[ShareResult]
    SHARE_RESULT_DUPLICATE: _ClassVar[ShareResult]
    SHARE_RESULT_REJECTED_UNKNOWN_JOB: _ClassVar[ShareResult]
    SHARE_RESULT_REJECTED_ABOVE_TARGET: _ClassVar[ShareResult]
    SHARE_RESULT_REJECTED_BAD_NTIME: _ClassVar[ShareResult]

class EnergyMeasurement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENERGY_MEASUREMENT_UNSPECIFIED: _ClassVar[EnergyMeasurement]
    ENERGY_MEASUREMENT_MODELLED: _ClassVar[EnergyMeasurement]
    ENERGY_MEASUREMENT_MEASURED: _ClassVar[EnergyMeasurement]
SHARE_RESULT_UNSPECIFIED: ShareResult
SHARE_RESULT_ACCEPTED: ShareResult
SHARE_RESULT_DUPLICATE: ShareResult
SHARE_RESULT_REJECTED_UNKNOWN_JOB: ShareResult
SHARE_RESULT_REJECTED_ABOVE_TARGET: ShareResult
SHARE_RESULT_REJECTED_BAD_NTIME: ShareResult
ENERGY_MEASUREMENT_UNSPECIFIED: EnergyMeasurement
ENERGY_MEASUREMENT_MODELLED: EnergyMeasurement
ENERGY_MEASUREMENT_MEASURED: EnergyMeasurement

class PowerBudget(_message.Message):
    __slots__ = ("site", "budget_watts", "source", "energy_source", "period_start_time", "period_duration", "valid_until_time")
    SITE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DURATION_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    site: str
    budget_watts: float
    source: _common_pb2.BudgetSource
    energy_source: _common_pb2.EnergySource
    period_start_time: _timestamp_pb2.Timestamp
    period_duration: _duration_pb2.Duration
    valid_until_time: _timestamp_pb2.Timestamp
    def __init__(self, site: _Optional[str] = ..., budget_watts: _Optional[float] = ..., source: _Optional[_Union[_common_pb2.BudgetSource, str]] = ..., energy_source: _Optional[_Union[_common_pb2.EnergySource, str]] = ..., period_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., valid_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MiningJob(_message.Message):
    __slots__ = ("job_id", "header_prefix", "share_target", "share_difficulty", "ntime_roll", "clean", "nonce_start", "nonce_count")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    HEADER_PREFIX_FIELD_NUMBER: _ClassVar[int]
    SHARE_TARGET_FIELD_NUMBER: _ClassVar[int]
    SHARE_DIFFICULTY_FIELD_NUMBER: _ClassVar[int]
    NTIME_ROLL_FIELD_NUMBER: _ClassVar[int]
    CLEAN_FIELD_NUMBER: _ClassVar[int]
    NONCE_START_FIELD_NUMBER: _ClassVar[int]
    NONCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    header_prefix: bytes
    share_target: bytes
    share_difficulty: float
    ntime_roll: _duration_pb2.Duration
    clean: bool
    nonce_start: int
    nonce_count: int
    def __init__(self, job_id: _Optional[str] = ..., header_prefix: _Optional[bytes] = ..., share_target: _Optional[bytes] = ..., share_difficulty: _Optional[float] = ..., ntime_roll: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., clean: _Optional[bool] = ..., nonce_start: _Optional[int] = ..., nonce_count: _Optional[int] = ...) -> None: ...

class StopWork(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class NoWork(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Share(_message.Message):
    __slots__ = ("share_id", "job_id", "ntime", "nonce", "found_time")
    SHARE_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NTIME_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    FOUND_TIME_FIELD_NUMBER: _ClassVar[int]
    share_id: str
    job_id: str
    ntime: int
    nonce: int
    found_time: _timestamp_pb2.Timestamp
    def __init__(self, share_id: _Optional[str] = ..., job_id: _Optional[str] = ..., ntime: _Optional[int] = ..., nonce: _Optional[int] = ..., found_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ShareAck(_message.Message):
    __slots__ = ("share_id", "result", "reason")
    SHARE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    share_id: str
    result: ShareResult
    reason: str
    def __init__(self, share_id: _Optional[str] = ..., result: _Optional[_Union[ShareResult, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class RegisterWorkerRequest(_message.Message):
    __slots__ = ("site", "worker_name", "backend", "hashrate_hashes_per_second", "max_power_watts", "software_version", "telemetry_public_key")
    SITE_FIELD_NUMBER: _ClassVar[int]
    WORKER_NAME_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    HASHRATE_HASHES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    MAX_POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    site: str
    worker_name: str
    backend: str
    hashrate_hashes_per_second: float
    max_power_watts: float
    software_version: str
    telemetry_public_key: bytes
    def __init__(self, site: _Optional[str] = ..., worker_name: _Optional[str] = ..., backend: _Optional[str] = ..., hashrate_hashes_per_second: _Optional[float] = ..., max_power_watts: _Optional[float] = ..., software_version: _Optional[str] = ..., telemetry_public_key: _Optional[bytes] = ...) -> None: ...

class RegisterWorkerResponse(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class StreamWorkRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class StreamWorkResponse(_message.Message):
    __slots__ = ("power_budget", "job", "stop", "no_work")
    POWER_BUDGET_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    NO_WORK_FIELD_NUMBER: _ClassVar[int]
    power_budget: PowerBudget
    job: MiningJob
    stop: StopWork
    no_work: NoWork
    def __init__(self, power_budget: _Optional[_Union[PowerBudget, _Mapping]] = ..., job: _Optional[_Union[MiningJob, _Mapping]] = ..., stop: _Optional[_Union[StopWork, _Mapping]] = ..., no_work: _Optional[_Union[NoWork, _Mapping]] = ...) -> None: ...

class SubmitSharesRequest(_message.Message):
    __slots__ = ("worker_id", "shares")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    shares: _containers.RepeatedCompositeFieldContainer[Share]
    def __init__(self, worker_id: _Optional[str] = ..., shares: _Optional[_Iterable[_Union[Share, _Mapping]]] = ...) -> None: ...

class SubmitSharesResponse(_message.Message):
    __slots__ = ("acks",)
    ACKS_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[ShareAck]
    def __init__(self, acks: _Optional[_Iterable[_Union[ShareAck, _Mapping]]] = ...) -> None: ...

class ReportTelemetryRequest(_message.Message):
    __slots__ = ("worker_id", "interval", "power_watts", "energy_joules", "hashes", "hashrate_hashes_per_second", "budget_watts", "signed_telemetry")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    HASHRATE_HASHES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    BUDGET_WATTS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    interval: _duration_pb2.Duration
    power_watts: float
    energy_joules: float
    hashes: int
    hashrate_hashes_per_second: float
    budget_watts: float
    signed_telemetry: SignedTelemetry
    def __init__(self, worker_id: _Optional[str] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., power_watts: _Optional[float] = ..., energy_joules: _Optional[float] = ..., hashes: _Optional[int] = ..., hashrate_hashes_per_second: _Optional[float] = ..., budget_watts: _Optional[float] = ..., signed_telemetry: _Optional[_Union[SignedTelemetry, _Mapping]] = ...) -> None: ...

class SignedTelemetry(_message.Message):
    __slots__ = ("worker_id", "site", "sequence", "window_start_unix_ms", "window_end_unix_ms", "energy_joules", "hashes", "shares_found", "signature", "energy_measurement")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    SHARES_FOUND_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ENERGY_MEASUREMENT_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    site: str
    sequence: int
    window_start_unix_ms: int
    window_end_unix_ms: int
    energy_joules: int
    hashes: int
    shares_found: int
    signature: bytes
    energy_measurement: EnergyMeasurement
    def __init__(self, worker_id: _Optional[str] = ..., site: _Optional[str] = ..., sequence: _Optional[int] = ..., window_start_unix_ms: _Optional[int] = ..., window_end_unix_ms: _Optional[int] = ..., energy_joules: _Optional[int] = ..., hashes: _Optional[int] = ..., shares_found: _Optional[int] = ..., signature: _Optional[bytes] = ..., energy_measurement: _Optional[_Union[EnergyMeasurement, str]] = ...) -> None: ...

class ReportTelemetryResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FoundNonce(_message.Message):
    __slots__ = ("nonce", "hash", "hash_display_hex")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_DISPLAY_HEX_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    hash: bytes
    hash_display_hex: str
    def __init__(self, nonce: _Optional[int] = ..., hash: _Optional[bytes] = ..., hash_display_hex: _Optional[str] = ...) -> None: ...

class SearchNoncesRequest(_message.Message):
    __slots__ = ("header", "bits", "target", "nonce_start", "nonce_count")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BITS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    NONCE_START_FIELD_NUMBER: _ClassVar[int]
    NONCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    bits: int
    target: bytes
    nonce_start: int
    nonce_count: int
    def __init__(self, header: _Optional[bytes] = ..., bits: _Optional[int] = ..., target: _Optional[bytes] = ..., nonce_start: _Optional[int] = ..., nonce_count: _Optional[int] = ...) -> None: ...

class SearchNoncesResponse(_message.Message):
    __slots__ = ("found", "hashes_done", "done")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    HASHES_DONE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    found: _containers.RepeatedCompositeFieldContainer[FoundNonce]
    hashes_done: int
    done: bool
    def __init__(self, found: _Optional[_Iterable[_Union[FoundNonce, _Mapping]]] = ..., hashes_done: _Optional[int] = ..., done: _Optional[bool] = ...) -> None: ...
