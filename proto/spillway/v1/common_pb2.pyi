from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class EnergySource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENERGY_SOURCE_UNSPECIFIED: _ClassVar[EnergySource]
    ENERGY_SOURCE_CURTAILED: _ClassVar[EnergySource]
    ENERGY_SOURCE_GRID: _ClassVar[EnergySource]

class BudgetSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_SOURCE_UNSPECIFIED: _ClassVar[BudgetSource]
    BUDGET_SOURCE_NONE: _ClassVar[BudgetSource]
    BUDGET_SOURCE_PLAN: _ClassVar[BudgetSource]
    BUDGET_SOURCE_SCHEDULE: _ClassVar[BudgetSource]
    BUDGET_SOURCE_OVERRIDE: _ClassVar[BudgetSource]
    BUDGET_SOURCE_GRID_EVENT: _ClassVar[BudgetSource]
    BUDGET_SOURCE_PRICE_RULE: _ClassVar[BudgetSource]
ENERGY_SOURCE_UNSPECIFIED: EnergySource
ENERGY_SOURCE_CURTAILED: EnergySource
ENERGY_SOURCE_GRID: EnergySource
BUDGET_SOURCE_UNSPECIFIED: BudgetSource
BUDGET_SOURCE_NONE: BudgetSource
BUDGET_SOURCE_PLAN: BudgetSource
BUDGET_SOURCE_SCHEDULE: BudgetSource
BUDGET_SOURCE_OVERRIDE: BudgetSource
BUDGET_SOURCE_GRID_EVENT: BudgetSource
BUDGET_SOURCE_PRICE_RULE: BudgetSource
