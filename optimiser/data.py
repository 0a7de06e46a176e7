"""Grid data: frozen dataclasses of numpy arrays, one per component table.

Conventions (PyPSA's): power in MW, energy in MWh, time series shaped
``(n_snapshots, n_components)``, component references as integer indices into
``GridData.buses``. Arrays are made read-only on construction so that nothing
downstream (model building, checking) can mutate the data it was given.

Per-unit scaling happens here, in one place: each branch carries its series
susceptance ``b_mw_per_rad`` so that ``flow_mw = b_mw_per_rad * (theta_i - theta_j - shift_rad)``.
With PyPSA's 1 MVA base, ``b = 1 / x_pu`` with ``x_pu = x_ohm / v_nom_kv**2`` for lines
and ``x_pu = x / s_nom * tap_ratio`` for transformers (``x`` per unit of ``s_nom``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]
    IntArray = NDArray[np.int64]
    BoolArray = NDArray[np.bool_]

__all__ = [
    "Branches",
    "Buses",
    "Commitment",
    "Expansion",
    "Generators",
    "GlobalConstraint",
    "GridData",
    "Links",
    "Loads",
    "MiningSites",
    "Ramps",
    "Snapshots",
    "StorageUnits",
    "Stores",
    "bus_load_mw",
    "generator_bounds_mw",
    "value_per_mwh_from_hashprice",
]

#: Carrier-name fragments that mark a generator as variable renewable (its output
#: beyond dispatch counts as curtailment). Matched case-insensitively. Reservoir
#: hydro is not here: it is dispatchable, and its wasted water shows up as storage spill.
RENEWABLE_CARRIER_KEYS = ("wind", "solar", "pv", "run of river", "ror")


def _freeze(obj: Any) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False


def is_renewable_carrier(carrier: str) -> bool:
    """Whether a carrier name denotes a variable renewable (wind, solar, run of river)."""
    c = carrier.lower()
    return any(k in c for k in RENEWABLE_CARRIER_KEYS)


def value_per_mwh_from_hashprice(hashprice_per_th_day: float, efficiency_j_per_th: float) -> float:
    """Revenue of one MWh of mining load.

    ``value = hashprice * (1e6 / efficiency) / 24``: one MW at ``e`` J/TH computes
    ``1e6 / e`` TH/s; one MWh is that hash rate for 1/24 of a day.

    Parameters
    ----------
    hashprice_per_th_day:
        Revenue per TH/s of hash rate per day (currency).
    efficiency_j_per_th:
        Energy per terahash (J/TH), > 0.

    Returns
    -------
    float
        Currency per MWh.
    """
    return hashprice_per_th_day * 1e6 / efficiency_j_per_th / 24.0


@dataclass(frozen=True)
class Snapshots:
    """Snapshots and their weightings (hours each snapshot stands for)."""

    names: tuple[str, ...]
    weight_objective: FloatArray
    weight_generators: FloatArray
    weight_stores: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Buses:
    """Buses; ``slack`` marks the angle reference of each island.

    ``x``, ``y``: the buses' map coordinates where the scenario has them (PyPSA's
    ``x``, ``y``, e.g. longitude and latitude; ``nan`` for a bus without), else
    ``None``. Only drawn (``spillway report``'s network map), never modelled.
    """

    names: tuple[str, ...]
    v_nom_kv: FloatArray
    slack: BoolArray
    x: FloatArray | None = None
    y: FloatArray | None = None

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Branches:
    """Lines and transformers together; ``kind`` is ``"line"`` or ``"transformer"``.

    ``s_max_mw`` is ``s_nom * s_max_pu``, ``inf`` for an unrated branch.
    """

    names: tuple[str, ...]
    kind: tuple[str, ...]
    bus0: IntArray
    bus1: IntArray
    b_mw_per_rad: FloatArray
    shift_rad: FloatArray
    s_max_mw: FloatArray
    #: ``s_max_pu`` (the limit of an extendable branch is ``s_max_pu * s_nom_opt``).
    s_max_pu: FloatArray | None = None

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def keys(self) -> tuple[str, ...]:
        """Unique keys ``line:NAME`` / ``transformer:NAME`` (PyPSA allows a line and a
        transformer to share a name)."""
        return tuple(f"{k}:{n}" for k, n in zip(self.kind, self.names, strict=True))


@dataclass(frozen=True)
class Generators:
    """Generators; availability ``p_min_pu``/``p_max_pu`` per snapshot.

    ``co2_t_per_mwh`` is the carrier's emissions per MWh of fuel divided by the
    generator's efficiency (PyPSA's convention), i.e. per MWh of electricity.
    """

    names: tuple[str, ...]
    bus: IntArray
    carrier: tuple[str, ...]
    p_nom_mw: FloatArray
    marginal_cost: FloatArray
    p_min_pu: FloatArray
    p_max_pu: FloatArray
    renewable: BoolArray
    co2_t_per_mwh: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Commitment:
    """Unit commitment of the generators (PyPSA's ``committable`` and its companions),
    one entry per generator; only ``committable`` ones get binaries (a MILP).

    Times are in snapshots (PyPSA's: not weighted); costs per start, per stop, and
    ``stand_by_cost`` per hour on.
    """

    committable: BoolArray
    min_up_time: IntArray
    min_down_time: IntArray
    up_time_before: IntArray
    down_time_before: IntArray
    start_up_cost: FloatArray
    shut_down_cost: FloatArray
    stand_by_cost: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.committable)


@dataclass(frozen=True)
class Ramps:
    """Ramp limits of generators or links (PyPSA's): per snapshot, output may rise by at
    most ``up * p_nom`` and fall by at most ``down * p_nom`` (fractions; ``nan``: no
    limit). ``p_init_mw`` is the output before the first snapshot (``nan``: unknown, so
    the first snapshot is free, as in PyPSA)."""

    up: FloatArray
    down: FloatArray
    p_init_mw: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.up)

    @property
    def any(self) -> bool:
        """Whether any component has a limit."""
        return bool((~np.isnan(self.up)).any() or (~np.isnan(self.down)).any())


@dataclass(frozen=True)
class Loads:
    """Fixed loads, ``p_set_mw`` per snapshot."""

    names: tuple[str, ...]
    bus: IntArray
    p_set_mw: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class StorageUnits:
    """Storage units (pumped hydro, hydro reservoirs with inflow and spill).

    Power limits: dispatch ``<= p_max_pu * p_nom``, store ``<= -p_min_pu * p_nom``;
    energy capacity ``max_hours * p_nom``.
    """

    names: tuple[str, ...]
    bus: IntArray
    carrier: tuple[str, ...]
    p_nom_mw: FloatArray
    p_min_pu: FloatArray
    p_max_pu: FloatArray
    max_hours: FloatArray
    efficiency_store: FloatArray
    efficiency_dispatch: FloatArray
    standing_loss: FloatArray
    state_of_charge_initial_mwh: FloatArray
    cyclic_state_of_charge: BoolArray
    marginal_cost: FloatArray
    spill_cost: FloatArray
    inflow_mw: FloatArray
    #: State of charge fixed at the end of a snapshot (MWh), ``nan``: free; ``None``: none.
    state_of_charge_set_mwh: FloatArray | None = None

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def empty(cls, n_snapshots: int) -> StorageUnits:
        """No storage units."""
        z = np.zeros(0)
        return cls(
            names=(),
            bus=np.zeros(0, dtype=np.int64),
            carrier=(),
            p_nom_mw=z.copy(),
            p_min_pu=z.copy(),
            p_max_pu=z.copy(),
            max_hours=z.copy(),
            efficiency_store=z.copy(),
            efficiency_dispatch=z.copy(),
            standing_loss=z.copy(),
            state_of_charge_initial_mwh=z.copy(),
            cyclic_state_of_charge=np.zeros(0, dtype=bool),
            marginal_cost=z.copy(),
            spill_cost=z.copy(),
            inflow_mw=np.zeros((n_snapshots, 0)),
        )


@dataclass(frozen=True)
class MiningSites:
    """Mining sites: flexible load with a value (currency per MWh) per snapshot.

    ``ramp_limit_up/down`` are fractions of ``p_nom`` per snapshot (``nan``: none);
    ``rig_block_mw`` is the size of one integer rig block (``nan``: continuous).
    """

    names: tuple[str, ...]
    bus: IntArray
    p_nom_mw: FloatArray
    p_min_pu: FloatArray
    value_per_mwh: FloatArray
    ramp_limit_up: FloatArray
    ramp_limit_down: FloatArray
    efficiency_j_per_th: FloatArray
    rig_block_mw: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def empty(cls, n_snapshots: int) -> MiningSites:
        """No mining sites."""
        z = np.zeros(0)
        return cls(
            names=(),
            bus=np.zeros(0, dtype=np.int64),
            p_nom_mw=z.copy(),
            p_min_pu=z.copy(),
            value_per_mwh=np.zeros((n_snapshots, 0)),
            ramp_limit_up=z.copy(),
            ramp_limit_down=z.copy(),
            efficiency_j_per_th=z.copy(),
            rig_block_mw=z.copy(),
        )


@dataclass(frozen=True)
class Links:
    """Controllable branches outside Kirchhoff's voltage law (HVDC, converters, ...).

    ``p0`` (MW) is withdrawn at ``bus0`` and ``efficiency * p0`` delivered at
    ``bus1``; a multi-port link also delivers ``efficiency_extra[k] * p0`` at
    ``bus_extra[k]`` (``-1``: no such port), PyPSA's ``bus2``, ``efficiency2``, ...
    Bounds ``p_min_pu * p_nom <= p0 <= p_max_pu * p_nom`` per snapshot.
    """

    names: tuple[str, ...]
    bus0: IntArray
    bus1: IntArray
    carrier: tuple[str, ...]
    p_nom_mw: FloatArray
    efficiency: FloatArray
    p_min_pu: FloatArray
    p_max_pu: FloatArray
    marginal_cost: FloatArray
    bus_extra: tuple[IntArray, ...]
    efficiency_extra: tuple[FloatArray, ...]

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def empty(cls, n_snapshots: int) -> Links:
        """No links."""
        z = np.zeros(0)
        return cls(
            names=(),
            bus0=np.zeros(0, dtype=np.int64),
            bus1=np.zeros(0, dtype=np.int64),
            carrier=(),
            p_nom_mw=z.copy(),
            efficiency=z.copy(),
            p_min_pu=np.zeros((n_snapshots, 0)),
            p_max_pu=np.zeros((n_snapshots, 0)),
            marginal_cost=z.copy(),
            bus_extra=(),
            efficiency_extra=(),
        )


@dataclass(frozen=True)
class Stores:
    """Stores (PyPSA's ``Store``): an energy level ``e`` with one free power ``p``.

    ``p`` (MW) is injected at ``bus`` (negative: the store charges); the level follows
    ``e_t = (1 - standing_loss)^h_t e_t-1 - h_t p_t`` with ``e_-1 = e_initial`` or,
    when ``e_cyclic``, ``e_T-1``. Bounds ``e_min_pu * e_nom <= e <= e_max_pu * e_nom``
    per snapshot. ``marginal_cost`` is per MWh of ``p`` (negative ``p`` is credited),
    ``marginal_cost_storage`` per MWh of ``e`` per hour.
    """

    names: tuple[str, ...]
    bus: IntArray
    carrier: tuple[str, ...]
    e_nom_mwh: FloatArray
    e_min_pu: FloatArray
    e_max_pu: FloatArray
    e_initial_mwh: FloatArray
    e_cyclic: BoolArray
    standing_loss: FloatArray
    marginal_cost: FloatArray
    marginal_cost_storage: FloatArray

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def empty(cls, n_snapshots: int) -> Stores:
        """No stores."""
        z = np.zeros(0)
        return cls(
            names=(),
            bus=np.zeros(0, dtype=np.int64),
            carrier=(),
            e_nom_mwh=z.copy(),
            e_min_pu=np.zeros((n_snapshots, 0)),
            e_max_pu=np.zeros((n_snapshots, 0)),
            e_initial_mwh=z.copy(),
            e_cyclic=np.zeros(0, dtype=bool),
            standing_loss=z.copy(),
            marginal_cost=z.copy(),
            marginal_cost_storage=z.copy(),
        )


@dataclass(frozen=True)
class Expansion:
    """Capacity expansion of one component family (PyPSA's ``*_nom_extendable``).

    ``nom_min``/``nom_max`` bound the optimal capacity (MW, ``nom_max`` may be
    ``inf``); ``capital_cost`` is per MW over the planned horizon. ``length_km`` and
    ``carrier`` (lines and links) select and weigh the transmission expansion limits
    (``()``: no carriers given).
    """

    extendable: BoolArray
    nom_min: FloatArray
    nom_max: FloatArray
    capital_cost: FloatArray
    length_km: FloatArray
    carrier: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self)

    def __len__(self) -> int:
        return len(self.extendable)

    @property
    def any(self) -> bool:
        """Whether any component is extendable."""
        return bool(self.extendable.any())

    @classmethod
    def fixed(cls, n: int) -> Expansion:
        """``n`` components, none extendable."""
        return cls(
            extendable=np.zeros(n, dtype=bool),
            nom_min=np.zeros(n),
            nom_max=np.full(n, np.inf),
            capital_cost=np.zeros(n),
            length_km=np.zeros(n),
        )


@dataclass(frozen=True)
class GlobalConstraint:
    """One of PyPSA's global constraints.

    ``kind`` is ``primary_energy`` (``Σ_t w_t Σ_g P_gt e_g / η_g`` plus storage
    depletion, of ``carrier_attribute`` ``e``, ``sense`` ``constant``: the CO2
    limit), ``transmission_volume_expansion_limit`` (``Σ length · s_nom`` of the
    lines and links of the carriers named in ``carrier_attribute``) or
    ``transmission_expansion_cost_limit`` (``Σ capital_cost · s_nom`` likewise), over
    the extendable lines and links only (PyPSA's).
    """

    name: str
    kind: str
    carrier_attribute: str
    sense: str
    constant: float


#: The component families that can be extended, as :attr:`GridData.expansion` keys.
EXPANSION_FAMILIES = (
    "generators",
    "branches",
    "links",
    "storage_units",
    "stores",
    "mining_sites",
)


def _take_rows(obj: Any, rows: slice) -> Any:
    """Copy of a component with every 2-D (time-series) array cut to ``rows``."""
    changes = {
        f.name: np.array(getattr(obj, f.name)[rows])
        for f in fields(obj)
        if isinstance(getattr(obj, f.name), np.ndarray) and getattr(obj, f.name).ndim == 2
    }
    return replace(obj, **changes)


@dataclass(frozen=True)
class GridData:
    """A whole scenario: network, time series and mining sites."""

    name: str
    snapshots: Snapshots
    buses: Buses
    branches: Branches
    generators: Generators
    loads: Loads
    storage_units: StorageUnits
    mining_sites: MiningSites
    source: str = field(default="")
    links: Links | None = None
    #: Family (:data:`EXPANSION_FAMILIES`) -> its expansion; an absent family is fixed.
    expansion: dict[str, Expansion] = field(default_factory=dict)
    global_constraints: tuple[GlobalConstraint, ...] = ()
    #: ``co2_emissions`` per carrier (t per MWh of primary energy).
    carrier_co2: dict[str, float] = field(default_factory=dict)
    stores: Stores | None = None
    #: Unit commitment (``None``: no generator is committable).
    commitment: Commitment | None = None
    #: ``generators`` / ``links`` -> their ramp limits (absent: none).
    ramps: dict[str, Ramps] = field(default_factory=dict)

    @property
    def all_links(self) -> Links:
        """The links (an empty table when there are none)."""
        return self.links if self.links is not None else Links.empty(self.n_snapshots)

    @property
    def all_stores(self) -> Stores:
        """The stores (an empty table when there are none)."""
        return self.stores if self.stores is not None else Stores.empty(self.n_snapshots)

    def expansion_of(self, family: str) -> Expansion:
        """The expansion of ``family`` (all fixed when not given)."""
        sizes = {
            "generators": len(self.generators),
            "branches": len(self.branches),
            "links": len(self.all_links),
            "storage_units": len(self.storage_units),
            "stores": len(self.all_stores),
            "mining_sites": len(self.mining_sites),
        }
        return self.expansion.get(family) or Expansion.fixed(sizes[family])

    @property
    def has_expansion(self) -> bool:
        """Whether any capacity is extendable."""
        return any(e.any for e in self.expansion.values())

    @property
    def n_snapshots(self) -> int:
        """Number of snapshots."""
        return len(self.snapshots)

    def head(self, n: int) -> GridData:
        """The same scenario cut to its first ``n`` snapshots."""
        if n >= self.n_snapshots:
            return self
        rows = slice(0, n)
        s = self.snapshots
        snaps = Snapshots(
            names=s.names[:n],
            weight_objective=np.array(s.weight_objective[:n]),
            weight_generators=np.array(s.weight_generators[:n]),
            weight_stores=np.array(s.weight_stores[:n]),
        )
        return replace(
            self,
            snapshots=snaps,
            generators=_take_rows(self.generators, rows),
            loads=_take_rows(self.loads, rows),
            storage_units=_take_rows(self.storage_units, rows),
            mining_sites=_take_rows(self.mining_sites, rows),
            links=_take_rows(self.links, rows) if self.links is not None else None,
            stores=_take_rows(self.stores, rows) if self.stores is not None else None,
        )

    def without_mining(self) -> GridData:
        """The same scenario with no mining sites (plain LOPF)."""
        expansion = {k: v for k, v in self.expansion.items() if k != "mining_sites"}
        return replace(self, mining_sites=MiningSites.empty(self.n_snapshots), expansion=expansion)


def bus_load_mw(data: GridData) -> FloatArray:
    """Fixed load per bus and snapshot, shape ``(T, n_buses)`` (MW)."""
    out = np.zeros((data.n_snapshots, len(data.buses)))
    if len(data.loads):
        np.add.at(out.T, data.loads.bus, data.loads.p_set_mw.T)
    return out


def generator_bounds_mw(
    generators: Generators, zero_below_mw: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """``(p_min_pu * p_nom, p_max_pu * p_nom)`` per snapshot, shape ``(T, n)`` (MW).

    Magnitudes below ``zero_below_mw`` become 0 (see ``ModelOptions.zero_below_mw``).
    """
    lo = generators.p_min_pu * generators.p_nom_mw
    hi = generators.p_max_pu * generators.p_nom_mw
    if zero_below_mw > 0:
        lo = np.where(np.abs(lo) < zero_below_mw, 0.0, lo)
        hi = np.where(np.abs(hi) < zero_below_mw, 0.0, hi)
    return lo, hi
