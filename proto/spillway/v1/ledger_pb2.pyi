import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeriodHeader(_message.Message):
    __slots__ = ("period", "period_start_time", "period_seconds", "prev_hash", "merkle_root", "record_count", "hash", "signature", "header_json")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    MERKLE_ROOT_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    HEADER_JSON_FIELD_NUMBER: _ClassVar[int]
    period: int
    period_start_time: _timestamp_pb2.Timestamp
    period_seconds: int
    prev_hash: str
    merkle_root: str
    record_count: int
    hash: str
    signature: str
    header_json: str
    def __init__(self, period: _Optional[int] = ..., period_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_seconds: _Optional[int] = ..., prev_hash: _Optional[str] = ..., merkle_root: _Optional[str] = ..., record_count: _Optional[int] = ..., hash: _Optional[str] = ..., signature: _Optional[str] = ..., header_json: _Optional[str] = ...) -> None: ...

class LedgerRecord(_message.Message):
    __slots__ = ("period", "position", "site", "plan_id", "energy_joules", "grid_energy_joules", "curtailed_joules_by_plant", "hashes", "shares", "owed_micro_by_plant", "record_json", "record_signature", "header_hash")
    class CurtailedJoulesByPlantEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class OwedMicroByPlantEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    GRID_ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    CURTAILED_JOULES_BY_PLANT_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    OWED_MICRO_BY_PLANT_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    RECORD_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    HEADER_HASH_FIELD_NUMBER: _ClassVar[int]
    period: int
    position: int
    site: str
    plan_id: str
    energy_joules: int
    grid_energy_joules: int
    curtailed_joules_by_plant: _containers.ScalarMap[str, int]
    hashes: int
    shares: int
    owed_micro_by_plant: _containers.ScalarMap[str, int]
    record_json: str
    record_signature: str
    header_hash: str
    def __init__(self, period: _Optional[int] = ..., position: _Optional[int] = ..., site: _Optional[str] = ..., plan_id: _Optional[str] = ..., energy_joules: _Optional[int] = ..., grid_energy_joules: _Optional[int] = ..., curtailed_joules_by_plant: _Optional[_Mapping[str, int]] = ..., hashes: _Optional[int] = ..., shares: _Optional[int] = ..., owed_micro_by_plant: _Optional[_Mapping[str, int]] = ..., record_json: _Optional[str] = ..., record_signature: _Optional[str] = ..., header_hash: _Optional[str] = ...) -> None: ...

class ListRecordsRequest(_message.Message):
    __slots__ = ("site", "first_period", "last_period")
    SITE_FIELD_NUMBER: _ClassVar[int]
    FIRST_PERIOD_FIELD_NUMBER: _ClassVar[int]
    LAST_PERIOD_FIELD_NUMBER: _ClassVar[int]
    site: str
    first_period: int
    last_period: int
    def __init__(self, site: _Optional[str] = ..., first_period: _Optional[int] = ..., last_period: _Optional[int] = ...) -> None: ...

class ListRecordsResponse(_message.Message):
    __slots__ = ("records", "public_key", "next_period")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NEXT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[LedgerRecord]
    public_key: str
    next_period: int
    def __init__(self, records: _Optional[_Iterable[_Union[LedgerRecord, _Mapping]]] = ..., public_key: _Optional[str] = ..., next_period: _Optional[int] = ...) -> None: ...

class ListPeriodHeadersRequest(_message.Message):
    __slots__ = ("first_period", "last_period")
    FIRST_PERIOD_FIELD_NUMBER: _ClassVar[int]
    LAST_PERIOD_FIELD_NUMBER: _ClassVar[int]
    first_period: int
    last_period: int
    def __init__(self, first_period: _Optional[int] = ..., last_period: _Optional[int] = ...) -> None: ...

class ListPeriodHeadersResponse(_message.Message):
    __slots__ = ("headers", "public_key", "next_period")
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NEXT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    headers: _containers.RepeatedCompositeFieldContainer[PeriodHeader]
    public_key: str
    next_period: int
    def __init__(self, headers: _Optional[_Iterable[_Union[PeriodHeader, _Mapping]]] = ..., public_key: _Optional[str] = ..., next_period: _Optional[int] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("site", "period")
    SITE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    site: str
    period: int
    def __init__(self, site: _Optional[str] = ..., period: _Optional[int] = ...) -> None: ...

class GetInclusionProofResponse(_message.Message):
    __slots__ = ("proof_json", "header", "branch", "index")
    PROOF_JSON_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    proof_json: str
    header: PeriodHeader
    branch: _containers.RepeatedScalarFieldContainer[str]
    index: int
    def __init__(self, proof_json: _Optional[str] = ..., header: _Optional[_Union[PeriodHeader, _Mapping]] = ..., branch: _Optional[_Iterable[str]] = ..., index: _Optional[int] = ...) -> None: ...

class WatchPeriodHeadersRequest(_message.Message):
    __slots__ = ("after_period",)
    AFTER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    after_period: int
    def __init__(self, after_period: _Optional[int] = ...) -> None: ...

class WatchPeriodHeadersResponse(_message.Message):
    __slots__ = ("header",)
    HEADER_FIELD_NUMBER: _ClassVar[int]
    header: PeriodHeader
    def __init__(self, header: _Optional[_Union[PeriodHeader, _Mapping]] = ...) -> None: ...

class SettleRequest(_message.Message):
    __slots__ = ("from_time", "to_time")
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    def __init__(self, from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SettlementAccount(_message.Message):
    __slots__ = ("name", "energy_joules", "owed_micro", "curtailed_joules_by_carrier", "periods")
    class CurtailedJoulesByCarrierEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    OWED_MICRO_FIELD_NUMBER: _ClassVar[int]
    CURTAILED_JOULES_BY_CARRIER_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    name: str
    energy_joules: int
    owed_micro: int
    curtailed_joules_by_carrier: _containers.ScalarMap[str, int]
    periods: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., energy_joules: _Optional[int] = ..., owed_micro: _Optional[int] = ..., curtailed_joules_by_carrier: _Optional[_Mapping[str, int]] = ..., periods: _Optional[_Iterable[int]] = ...) -> None: ...

class SettleResponse(_message.Message):
    __slots__ = ("settlement_json", "plants", "sites", "certificates_json", "next_from_time")
    class CertificatesJsonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SETTLEMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    PLANTS_FIELD_NUMBER: _ClassVar[int]
    SITES_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATES_JSON_FIELD_NUMBER: _ClassVar[int]
    NEXT_FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    settlement_json: str
    plants: _containers.RepeatedCompositeFieldContainer[SettlementAccount]
    sites: _containers.RepeatedCompositeFieldContainer[SettlementAccount]
    certificates_json: _containers.ScalarMap[str, str]
    next_from_time: _timestamp_pb2.Timestamp
    def __init__(self, settlement_json: _Optional[str] = ..., plants: _Optional[_Iterable[_Union[SettlementAccount, _Mapping]]] = ..., sites: _Optional[_Iterable[_Union[SettlementAccount, _Mapping]]] = ..., certificates_json: _Optional[_Mapping[str, str]] = ..., next_from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
