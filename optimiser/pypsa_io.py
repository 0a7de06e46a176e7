"""Read a scenario in PyPSA's CSV folder layout (current and older releases).

Files read (absent files mean "no such components"; absent columns take
PyPSA's defaults):

``snapshots.csv``      ``weightings`` (older) or ``objective``/``stores``/``generators``
``buses.csv``          ``v_nom`` (kV), ``control`` (``Slack`` marks the angle reference)
``carriers.csv``       ``co2_emissions`` (t per MWh of fuel)
``lines.csv``          ``bus0, bus1, x`` (ohm) or ``type, length, num_parallel``;
                       ``s_nom, s_max_pu``
``transformers.csv``   ``bus0, bus1, x`` (per unit of ``s_nom``), ``s_nom, s_max_pu,
                       tap_ratio, phase_shift`` (degrees)
``generators.csv``     ``bus, carrier, p_nom, marginal_cost, p_min_pu, p_max_pu, efficiency``
``generators-p_max_pu.csv``, ``generators-p_min_pu.csv``
``loads.csv``          ``bus, p_set``; ``loads-p_set.csv``
``storage_units.csv``  PyPSA's storage columns; ``storage_units-inflow.csv``
``stores.csv``         ``bus, e_nom, e_min_pu, e_max_pu, e_initial, e_cyclic,
                       standing_loss, marginal_cost, marginal_cost_storage``;
                       ``stores-e_min_pu.csv``, ``stores-e_max_pu.csv``
``mining_sites.csv``   Spillway's own: ``bus, p_nom, value`` or ``hashprice_per_th_day`` with
                       ``efficiency_j_per_th``; ``ramp_limit_up/down, p_min_pu, rig_block_mw``;
                       ``mining_sites-value.csv``

Reactances: a line with a standard ``type`` gets ``x = x_per_length * length / num_parallel``
(ohm), as PyPSA computes it; ``x_pu = x / v_nom**2`` on PyPSA's 1 MVA base.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimiser.data import (
    Branches,
    Buses,
    Commitment,
    Expansion,
    Generators,
    GlobalConstraint,
    GridData,
    Links,
    Loads,
    MiningSites,
    Ramps,
    Snapshots,
    StorageUnits,
    Stores,
    is_renewable_carrier,
    value_per_mwh_from_hashprice,
)
from optimiser.errors import BadGridDataError
from optimiser.pypsa_defaults import (
    STANDARD_LINE_TYPES,
    UNSUPPORTED_FLAGS,
    UNSUPPORTED_NONZERO,
    UNSUPPORTED_SERIES,
)
from optimiser.validate import SeriesTable, Table, choose_slack, read_csv_table

logger = logging.getLogger(__name__)

__all__ = ["STANDARD_LINE_TYPES", "read_pypsa_folder", "read_pypsa_tables", "with_mining_sites"]


#: Static component tables: their first column holds the component names and must be
#: headed ``name`` (PyPSA's export), so that a table whose first column is something
#: else is refused rather than read with that column as the names.
STATIC_TABLES = frozenset(
    {
        "buses",
        "lines",
        "transformers",
        "generators",
        "loads",
        "storage_units",
        "stores",
        "links",
        "carriers",
        "global_constraints",
        "mining_sites",
    }
)
#: Columns that carry nothing to model (drawing only), never warned about.
DESCRIPTIVE_COLUMNS = frozenset({"color", "nice_name"})


class _CsvFolder(Mapping[str, pd.DataFrame]):
    """A scenario folder as PyPSA-stem -> table of strings, each CSV file parsed
    on first access only (a folder holds files this reader never looks at)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stems = sorted(p.stem for p in path.glob("*.csv") if p.is_file())
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, stem: str) -> pd.DataFrame:
        if stem not in self._frames:
            if stem not in self._stems:
                raise KeyError(stem)
            frame = read_csv_table(self.path / f"{stem}.csv")
            first = str(frame.index.name or "").strip()
            if stem in STATIC_TABLES and first != "name" and len(frame.columns):
                raise BadGridDataError(
                    f"{stem}.csv",
                    1,
                    first,
                    f"the first column must be `name` (the component names), got {first!r}",
                )
            self._frames[stem] = frame
        return self._frames[stem]

    def __iter__(self) -> Iterator[str]:
        return iter(self._stems)

    def __len__(self) -> int:
        return len(self._stems)


def _as_strings(stem: str, df: object) -> pd.DataFrame:
    """A table as the CSV reader builds it: every cell a string, blank for missing.

    Frames built by hand (numbers, ``NaN``) are converted; frames of strings pass as
    they are, so the CSV path pays nothing.
    """
    if not isinstance(df, pd.DataFrame):
        raise BadGridDataError(f"{stem}.csv", None, None, "table is not a pandas DataFrame")

    def is_text(dtype: Any) -> bool:
        # the CSV reader's frames: object columns, a str (pandas 3: string) index
        return bool(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))

    if all(is_text(dt) for dt in df.dtypes) and is_text(df.index.dtype):
        return df
    out = pd.DataFrame(
        {str(c): df[c].astype(str).where(df[c].notna(), "").astype(object) for c in df.columns},
        index=pd.Index(df.index.astype(str), name=df.index.name),
    )
    return out


class _Tables:
    """The scenario's tables by file name (``lines.csv``), each checked and wrapped
    at most once per read (the refusal check and the readers look at some twice)."""

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self.frames = frames
        self._tables: dict[str, Table | None] = {}
        self.read: set[str] = set()  # stems read as a table or series

    def warn_unused(self, source: str) -> None:
        """Log, by name, every table given that was never read and every column with
        values that no reader asked for: PyPSA input Spillway does not use is said,
        never silently ignored."""
        unread = sorted(stem for stem in self.frames if stem not in self.read)
        if unread:
            logger.warning(
                "%s: not used by Spillway: %s", source, ", ".join(f"{s}.csv" for s in unread)
            )
        for name, t in self._tables.items():
            cols = t.unused_columns(DESCRIPTIVE_COLUMNS) if t is not None else []
            if cols:
                logger.warning(
                    "%s: %s columns not used by Spillway: %s", source, name, ", ".join(cols)
                )

    def exists(self, name: str) -> bool:
        """Whether the table ``name`` (a file name, ``lines.csv``) was given."""
        return name.removesuffix(".csv") in self.frames

    def table(self, name: str) -> Table | None:
        """``name`` as a :class:`Table`, or ``None`` if the table is absent."""
        if name not in self._tables:
            stem = name.removesuffix(".csv")
            self.read.add(stem)
            self._tables[name] = (
                Table(name, _as_strings(stem, self.frames[stem])) if self.exists(name) else None
            )
        return self._tables[name]

    def series(
        self, name: str, snapshots: tuple[str, ...], components: tuple[str, ...]
    ) -> SeriesTable | None:
        """``name`` as a :class:`SeriesTable`, or ``None`` if the table is absent."""
        if not self.exists(name):
            return None
        stem = name.removesuffix(".csv")
        self.read.add(stem)
        return SeriesTable(name, _as_strings(stem, self.frames[stem]), snapshots, components)


def _refuse_unsupported(folder: _Tables) -> None:
    periods = folder.table("investment_periods.csv")
    if periods is not None and len(periods):
        raise periods.fail(0, None, "multi-period investment is not supported by Spillway")
    for name in UNSUPPORTED_SERIES:
        if folder.exists(name):
            raise BadGridDataError(name, None, None, "this input is not supported by Spillway")
    for name, flag in UNSUPPORTED_FLAGS:
        t = folder.table(name)
        if t is not None and t.has(flag):
            on = np.flatnonzero(t.bools(flag, False))
            if len(on):
                raise t.fail(int(on[0]), flag, "not supported by Spillway")
    for name, column in UNSUPPORTED_NONZERO:
        t = folder.table(name)
        if t is None or not t.has(column):
            continue
        for i, raw in enumerate(t.strings(column)):
            if raw.lower() in ("", "nan"):
                continue
            try:
                zero = float(raw) == 0.0
            except ValueError:
                zero = False
            if not zero:
                raise t.fail(i, column, f"{raw!r}: not supported by Spillway (leave it 0)")


def _read_snapshots(folder: _Tables) -> Snapshots:
    t = folder.table("snapshots.csv")
    if t is None:
        raise BadGridDataError("snapshots.csv", None, None, "file is missing")
    if len(t) == 0:
        raise BadGridDataError("snapshots.csv", None, None, "no snapshots")
    t.used.add("snapshot")  # PyPSA's export: the snapshots' labels beside a counter
    if t.has("objective") or t.has("stores") or t.has("generators"):
        # current PyPSA: three weightings
        w_obj = t.floats("objective", 1.0, nonneg=True)
        w_sto = t.floats("stores", 1.0, nonneg=True)
        w_gen = t.floats("generators", 1.0, nonneg=True)
    else:
        # older PyPSA (< 0.18): one `weightings` column for all three
        w = t.floats("weightings", 1.0, nonneg=True)
        w_obj, w_sto, w_gen = w, w.copy(), w.copy()
    return Snapshots(
        names=t.names, weight_objective=w_obj, weight_generators=w_gen, weight_stores=w_sto
    )


def _line_resistance_ohm(t: Table, rows: np.ndarray) -> np.ndarray:
    """Resistance (ohm) of the lines in ``rows`` (DC lines, whose linear flow uses r)."""
    r = t.floats("r", 0.0)
    for i in np.flatnonzero(rows & ~(r > 0)):
        raise t.fail(int(i), "r", f"a DC line needs a positive resistance r (ohm), got {r[i]:g}")
    return r


def _line_reactance_ohm(t: Table, rows: np.ndarray) -> np.ndarray:
    """Reactance (ohm) of the lines in ``rows``: ``x``, or from ``type`` and ``length``."""
    if not t.has("x") and not t.has("type") and rows.any():
        raise t.fail(
            None,
            "x",
            "column is missing: give each line's reactance x (ohm), or a standard "
            "line `type` with its `length` (km), as PyPSA accepts",
        )
    x = t.floats("x", 0.0)
    types = t.strings("type")
    length = t.floats("length", 0.0, nonneg=True)
    num_parallel = t.floats("num_parallel", 1.0)
    out = np.array(x)
    for i, typ in enumerate(types):
        if not rows[i]:
            continue
        if typ == "":
            if not x[i] > 0:
                raise t.fail(i, "x", f"reactance must be positive, got {x[i]:g} ohm")
            continue
        if typ not in STANDARD_LINE_TYPES:
            raise t.fail(i, "type", f"unknown standard line type {typ!r}")
        if not num_parallel[i] > 0:
            raise t.fail(i, "num_parallel", f"must be positive, got {num_parallel[i]:g}")
        out[i] = STANDARD_LINE_TYPES[typ] * length[i] / num_parallel[i]
        if not out[i] > 0:
            raise t.fail(i, "length", f"line of type {typ!r} needs a positive length")
    return out


def _rating(t: Table) -> np.ndarray:
    s_nom = t.floats("s_nom", 0.0, allow_inf=True)
    s_max_pu = t.floats("s_max_pu", 1.0)
    extendable = t.bools("s_nom_extendable", False)
    rating = s_nom * s_max_pu
    for i in range(len(t)):
        if not s_nom[i] > 0 and not (extendable[i] and s_nom[i] == 0):
            raise t.fail(i, "s_nom", f"rating must be positive, got {s_nom[i]:g}")
        if not s_max_pu[i] > 0:
            raise t.fail(i, "s_max_pu", f"must be positive, got {s_max_pu[i]:g}")
    return rating


def _expansion(t: Table, prefix: str) -> Expansion:
    """PyPSA's ``{prefix}_nom_extendable``, ``_nom_min``, ``_nom_max`` and ``capital_cost``."""
    ext = t.bools(f"{prefix}_nom_extendable", False)
    lo = t.floats(f"{prefix}_nom_min", 0.0, nonneg=True)
    hi = t.floats(f"{prefix}_nom_max", np.inf, allow_inf=True)
    for i in np.flatnonzero(ext & (hi < lo)):
        raise t.fail(int(i), f"{prefix}_nom_max", f"{hi[i]:g} is below {prefix}_nom_min {lo[i]:g}")
    return Expansion(
        extendable=ext,
        nom_min=lo,
        nom_max=hi,
        # PyPSA's periodized cost without overnight_cost (refused): capital + fixed O&M
        capital_cost=t.floats("capital_cost", 0.0) + t.floats("fom_cost", 0.0),
        length_km=t.floats("length", 0.0, nonneg=True),
        carrier=t.strings("carrier"),
    )


def _cat_expansion(parts: list[Expansion]) -> Expansion:
    if not parts:
        return Expansion.fixed(0)
    return Expansion(
        extendable=np.concatenate([p.extendable for p in parts]),
        nom_min=np.concatenate([p.nom_min for p in parts]),
        nom_max=np.concatenate([p.nom_max for p in parts]),
        capital_cost=np.concatenate([p.capital_cost for p in parts]),
        length_km=np.concatenate([p.length_km for p in parts]),
        carrier=tuple(c for p in parts for c in (p.carrier or ("",) * len(p))),
    )


def _read_branches(
    folder: _Tables, bus_index: dict[str, int], v_nom: np.ndarray, dc_bus: np.ndarray
) -> tuple[Branches, Expansion]:
    names: list[str] = []
    kind: list[str] = []
    b0: list[np.ndarray] = []
    b1: list[np.ndarray] = []
    bb: list[np.ndarray] = []
    sh: list[np.ndarray] = []
    rt: list[np.ndarray] = []
    pu: list[np.ndarray] = []
    ex: list[Expansion] = []
    lines = folder.table("lines.csv")
    if lines is not None:
        bus0 = lines.bus_refs("bus0", bus_index)
        bus1 = lines.bus_refs("bus1", bus_index)
        dc = dc_bus[bus0] & dc_bus[bus1]
        # PyPSA's linear flow on a DC sub-network runs on the resistance r, not x
        x_ohm = _line_reactance_ohm(lines, ~dc)
        x_ohm[dc] = _line_resistance_ohm(lines, dc)[dc]
        x_pu = x_ohm / v_nom[bus0] ** 2  # PyPSA: 1 MVA base, v_nom of bus0
        names += lines.names
        kind += ["line"] * len(lines)
        b0.append(bus0)
        b1.append(bus1)
        bb.append(_susceptance(lines, x_pu))
        sh.append(np.zeros(len(lines)))
        rt.append(_rating(lines))
        pu.append(lines.floats("s_max_pu", 1.0))
        # a line's carrier, where not given, is its buses' (AC, or DC between DC buses)
        line_ext = _expansion(lines, "s")
        carriers = tuple(
            c or ("DC" if d else "AC") for c, d in zip(line_ext.carrier, dc.tolist(), strict=True)
        )
        ex.append(replace(line_ext, carrier=carriers))
        _check_loops(lines, bus0, bus1)
    trafos = folder.table("transformers.csv")
    if trafos is not None:
        bus0 = trafos.bus_refs("bus0", bus_index)
        bus1 = trafos.bus_refs("bus1", bus_index)
        for i, typ in enumerate(trafos.strings("type")):
            if typ != "":
                raise trafos.fail(i, "type", "standard transformer types are not supported")
        x = trafos.floats("x", 0.0)
        for i in range(len(trafos)):
            if not x[i] > 0:
                raise trafos.fail(i, "x", f"reactance must be positive, got {x[i]:g}")
        rating = _rating(trafos)
        s_nom = trafos.floats("s_nom", 0.0, allow_inf=True)
        tap = trafos.floats("tap_ratio", 1.0, positive=True)
        with np.errstate(divide="ignore"):
            x_pu = x / s_nom * tap  # per unit of s_nom -> 1 MVA base, times the tap ratio
        names += trafos.names
        kind += ["transformer"] * len(trafos)
        b0.append(bus0)
        b1.append(bus1)
        bb.append(_susceptance(trafos, x_pu))
        sh.append(np.deg2rad(trafos.floats("phase_shift", 0.0)))
        rt.append(rating)
        pu.append(trafos.floats("s_max_pu", 1.0))
        ex.append(_expansion(trafos, "s"))
        _check_loops(trafos, bus0, bus1)

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return Branches(
        names=tuple(names),
        kind=tuple(kind),
        bus0=cat(b0, np.int64),
        bus1=cat(b1, np.int64),
        b_mw_per_rad=cat(bb, np.float64),
        shift_rad=cat(sh, np.float64),
        s_max_mw=cat(rt, np.float64),
        s_max_pu=cat(pu, np.float64),
    ), _cat_expansion(ex)


def _susceptance(t: Table, x_pu: np.ndarray) -> np.ndarray:
    """1 / x in per unit, refusing a reactance so small (a subnormal, say) that it is infinite."""
    with np.errstate(divide="ignore", over="ignore"):
        b_pu = 1.0 / x_pu
    bad = np.flatnonzero(~np.isfinite(b_pu))
    if len(bad):
        i = int(bad[0])
        raise t.fail(
            i, "x", f"reactance {x_pu[i]:g} p.u. is too small: its susceptance is infinite"
        )
    return b_pu


def _check_loops(t: Table, bus0: np.ndarray, bus1: np.ndarray) -> None:
    same = np.flatnonzero(bus0 == bus1)
    if len(same):
        raise t.fail(int(same[0]), "bus1", "branch connects a bus to itself")


def _read_carriers(folder: _Tables) -> dict[str, float]:
    t = folder.table("carriers.csv")
    if t is None:
        return {}
    co2 = t.floats("co2_emissions", 0.0)
    return dict(zip(t.names, co2.tolist(), strict=True))


def _read_generators(
    folder: _Tables, snaps: tuple[str, ...], bus_index: dict[str, int], co2: dict[str, float]
) -> tuple[Generators, Expansion, Commitment | None, Ramps | None]:
    t = folder.table("generators.csv") or Table("generators.csv", pd.DataFrame())
    n_t, n = len(snaps), len(t)
    bus = t.bus_refs("bus", bus_index)
    carrier = t.strings("carrier")
    p_nom = t.floats("p_nom", 0.0, nonneg=True)
    eff = t.floats("efficiency", 1.0, positive=True)
    p_min = np.tile(t.floats("p_min_pu", 0.0), (n_t, 1))
    p_max = np.tile(t.floats("p_max_pu", 1.0, nonneg=True), (n_t, 1))
    s_max = folder.series("generators-p_max_pu.csv", snaps, t.names)
    if s_max is not None:
        p_max = s_max.fill(p_max, t.names, nonneg=True)
    s_min = folder.series("generators-p_min_pu.csv", snaps, t.names)
    if s_min is not None:
        p_min = s_min.fill(p_min, t.names)
    with np.errstate(over="ignore", invalid="ignore"):
        # Each cell is finite, but their product is the MW bound the model uses.
        unbounded = np.argwhere(~np.isfinite(p_max * p_nom) | ~np.isfinite(p_min * p_nom))
    if len(unbounded):
        ti, gi = (int(v) for v in unbounded[0])
        series = s_max is not None or s_min is not None
        raise BadGridDataError(
            "generators.csv",
            gi + 2,
            "p_nom",
            f"p_nom {p_nom[gi]:g} x p_max_pu {p_max[ti, gi]:g} (or p_min_pu {p_min[ti, gi]:g})"
            " is not a finite MW figure",
            name=t.names[gi] if not series else f"{t.names[gi]} at {snaps[ti]}",
        )
    bad = np.argwhere(p_min > p_max + 1e-9)
    if len(bad):
        ti, gi = (int(v) for v in bad[0])
        file = "generators-p_min_pu.csv" if s_min is not None else "generators.csv"
        raise BadGridDataError(
            file,
            ti + 2 if s_min is not None else gi + 2,
            "p_min_pu" if s_min is None else t.names[gi],
            f"p_min_pu {p_min[ti, gi]:g} exceeds p_max_pu {p_max[ti, gi]:g}",
            name=t.names[gi] if s_min is None else snaps[ti],
        )
    t.used.add("control")  # PQ/PV: PyPSA's power flow only, no part of its optimisation
    commitment = _read_commitment(t)
    ramps = _read_ramps(t, None if commitment is None else commitment.committable)
    if commitment is not None:
        ext = t.bools("p_nom_extendable", False)
        for k in np.flatnonzero(ext & commitment.committable).tolist():
            raise t.fail(k, "committable", "a committable generator cannot also be extendable")
    return (
        Generators(
            names=t.names,
            bus=bus,
            carrier=carrier,
            p_nom_mw=p_nom,
            marginal_cost=t.floats("marginal_cost", 0.0),
            p_min_pu=p_min,
            p_max_pu=p_max,
            renewable=np.array([is_renewable_carrier(c) for c in carrier], dtype=bool).reshape(n),
            co2_t_per_mwh=np.array([co2.get(c, 0.0) for c in carrier]).reshape(n) / eff,
        ),
        _expansion(t, "p"),
        commitment,
        ramps,
    )


def _read_ramps(t: Table, committable: np.ndarray | None = None) -> Ramps | None:
    """PyPSA's ``ramp_limit_up``/``ramp_limit_down`` (per unit of ``p_nom`` per
    snapshot) and ``p_init``; ``None`` when no component has a limit. Start-up and
    shut-down ramps, and ramps of committable units, are refused by name."""
    for field in ("ramp_limit_start_up", "ramp_limit_shut_down"):
        if t.has(field):
            for i, v in enumerate(t.strings(field)):
                if v.lower() not in ("", "nan"):
                    raise t.fail(i, field, "start-up and shut-down ramps are not supported")

    def fractions(field: str) -> np.ndarray:
        out = np.full(len(t), np.nan)
        for i, v in enumerate(t.strings(field)):
            if v.lower() in ("", "nan"):
                continue
            try:
                out[i] = float(v)
            except ValueError:
                raise t.fail(i, field, f"not a number: {v!r}") from None
            if not out[i] >= 0:
                raise t.fail(i, field, f"must not be negative, got {out[i]:g}")
        return out

    ramps = Ramps(
        up=fractions("ramp_limit_up"),
        down=fractions("ramp_limit_down"),
        p_init_mw=t.optional_floats("p_init"),
    )
    if committable is not None:
        limited = ~(np.isnan(ramps.up) & np.isnan(ramps.down))
        for k in np.flatnonzero(limited & committable).tolist():
            raise t.fail(k, "ramp_limit_up", "ramps of a committable unit are not supported")
    return ramps if ramps.any else None


def _snapshot_counts(t: Table, field: str, default: float) -> np.ndarray:
    """A whole-number column of snapshot counts (``min_up_time``, ...)."""
    v = t.floats(field, default, nonneg=True)
    for k in np.flatnonzero(v != np.round(v)).tolist():
        raise t.fail(k, field, f"must be a whole number of snapshots, got {v[k]:g}")
    return v.astype(np.int64)


def _read_commitment(t: Table) -> Commitment | None:
    """PyPSA's unit-commitment columns of ``generators.csv``; ``None`` when no
    generator is committable."""
    committable = t.bools("committable", False)
    if not committable.any():
        return None
    return Commitment(
        committable=committable,
        min_up_time=_snapshot_counts(t, "min_up_time", 0.0),
        min_down_time=_snapshot_counts(t, "min_down_time", 0.0),
        up_time_before=_snapshot_counts(t, "up_time_before", 1.0),
        down_time_before=_snapshot_counts(t, "down_time_before", 0.0),
        start_up_cost=t.floats("start_up_cost", 0.0),
        shut_down_cost=t.floats("shut_down_cost", 0.0),
        stand_by_cost=t.floats("stand_by_cost", 0.0),
    )


def _read_loads(folder: _Tables, snaps: tuple[str, ...], bus_index: dict[str, int]) -> Loads:
    t = folder.table("loads.csv") or Table("loads.csv", pd.DataFrame())
    p_set = np.tile(t.floats("p_set", 0.0), (len(snaps), 1))
    s = folder.series("loads-p_set.csv", snaps, t.names)
    if s is not None:
        p_set = s.fill(p_set, t.names)
    # PyPSA's `sign` (-1 for loads) only flips the sign convention of `p`; p_set is consumption
    return Loads(names=t.names, bus=t.bus_refs("bus", bus_index), p_set_mw=p_set)


def _read_storage(
    folder: _Tables, snaps: tuple[str, ...], bus_index: dict[str, int]
) -> tuple[StorageUnits, Expansion]:
    t = folder.table("storage_units.csv") or Table("storage_units.csv", pd.DataFrame())
    t.used.add("control")  # PQ/PV: PyPSA's power flow only
    p_nom = t.floats("p_nom", 0.0, nonneg=True)
    inflow = np.tile(t.floats("inflow", 0.0, nonneg=True), (len(snaps), 1))
    s = folder.series("storage_units-inflow.csv", snaps, t.names)
    if s is not None:
        inflow = s.fill(inflow, t.names, nonneg=True)
    p_min_pu = t.floats("p_min_pu", -1.0)
    p_max_pu = t.floats("p_max_pu", 1.0, nonneg=True)
    for i in range(len(t)):
        if p_min_pu[i] > 0:
            raise t.fail(i, "p_min_pu", f"must be <= 0 for a storage unit, got {p_min_pu[i]:g}")
    soc_set = None
    s_set = folder.series("storage_units-state_of_charge_set.csv", snaps, t.names)
    if s_set is not None:
        soc_set = s_set.fill(np.full((len(snaps), len(t)), np.nan), t.names, blank_is_nan=True)
    return StorageUnits(
        names=t.names,
        bus=t.bus_refs("bus", bus_index),
        carrier=t.strings("carrier"),
        p_nom_mw=p_nom,
        p_min_pu=p_min_pu,
        p_max_pu=p_max_pu,
        max_hours=t.floats("max_hours", 1.0, nonneg=True),
        efficiency_store=t.floats("efficiency_store", 1.0, positive=True),
        efficiency_dispatch=t.floats("efficiency_dispatch", 1.0, positive=True),
        standing_loss=t.floats("standing_loss", 0.0, nonneg=True),
        state_of_charge_initial_mwh=t.floats("state_of_charge_initial", 0.0, nonneg=True),
        cyclic_state_of_charge=t.bools("cyclic_state_of_charge", False),
        marginal_cost=t.floats("marginal_cost", 0.0),
        spill_cost=t.floats("spill_cost", 0.0),
        inflow_mw=inflow,
        state_of_charge_set_mwh=soc_set,
    ), _expansion(t, "p")


def _read_stores(
    folder: _Tables, snaps: tuple[str, ...], bus_index: dict[str, int]
) -> tuple[Stores, Expansion]:
    """``stores.csv`` with ``stores-e_min_pu.csv`` / ``stores-e_max_pu.csv``."""
    t = folder.table("stores.csv") or Table("stores.csv", pd.DataFrame())
    n_t = len(snaps)
    for field in ("p_set", "e_set"):  # fixed operation: not modelled, never ignored
        if t.has(field):
            for i, v in enumerate(t.strings(field)):
                if v.lower() not in ("", "nan"):
                    raise t.fail(i, field, "a fixed store operation is not supported by Spillway")
    if t.has("e_nom_mod"):
        mod = t.floats("e_nom_mod", 0.0, nonneg=True)
        for k in np.flatnonzero(mod > 0).tolist():
            raise t.fail(k, "e_nom_mod", "modular (integer) capacity is not supported")
    e_min = np.tile(t.floats("e_min_pu", 0.0), (n_t, 1))
    e_max = np.tile(t.floats("e_max_pu", 1.0), (n_t, 1))
    for name, arr in (("stores-e_min_pu.csv", e_min), ("stores-e_max_pu.csv", e_max)):
        series = folder.series(name, snaps, t.names)
        if series is not None:
            arr[:] = series.fill(arr, t.names)
    bad = np.argwhere(e_min > e_max + 1e-9)
    if len(bad):
        ti, k = (int(v) for v in bad[0])
        raise t.fail(k, "e_min_pu", f"e_min_pu {e_min[ti, k]:g} exceeds e_max_pu {e_max[ti, k]:g}")
    loss = t.floats("standing_loss", 0.0, nonneg=True)
    for k in np.flatnonzero(loss > 1).tolist():
        raise t.fail(k, "standing_loss", f"must be <= 1 per hour, got {loss[k]:g}")
    return Stores(
        names=t.names,
        bus=t.bus_refs("bus", bus_index),
        carrier=t.strings("carrier"),
        e_nom_mwh=t.floats("e_nom", 0.0, nonneg=True),
        e_min_pu=e_min,
        e_max_pu=e_max,
        e_initial_mwh=t.floats("e_initial", 0.0),
        e_cyclic=t.bools("e_cyclic", False),
        standing_loss=loss,
        marginal_cost=t.floats("marginal_cost", 0.0),
        marginal_cost_storage=t.floats("marginal_cost_storage", 0.0),
    ), _expansion(t, "e")


def _read_links(folder: _Tables, snaps: tuple[str, ...], bus_index: dict[str, int]) -> Links:
    """``links.csv``: two-port and multi-port links (``bus2``, ``efficiency2``, ...)."""
    t = folder.table("links.csv") or Table("links.csv", pd.DataFrame())
    n_t = len(snaps)
    p_min = np.tile(t.floats("p_min_pu", 0.0), (n_t, 1))
    p_max = np.tile(t.floats("p_max_pu", 1.0), (n_t, 1))
    for name, arr, default in (
        ("links-p_max_pu.csv", p_max, 1.0),
        ("links-p_min_pu.csv", p_min, 0.0),
    ):
        series = folder.series(name, snaps, t.names)
        if series is not None:
            arr[:] = series.fill(arr, t.names)
        del default
    bad = np.argwhere(p_min > p_max + 1e-9)
    if len(bad):
        _, k = (int(v) for v in bad[0])
        raise t.fail(k, "p_min_pu", f"p_min_pu {p_min[bad[0][0], k]:g} exceeds p_max_pu")
    extra_bus: list[np.ndarray] = []
    extra_eff: list[np.ndarray] = []
    port = 2
    while t.has(f"bus{port}"):
        col = f"bus{port}"
        names = t.strings(col)
        idx = np.full(len(t), -1, dtype=np.int64)
        for i, b in enumerate(names):
            if b == "":
                continue
            if b not in bus_index:
                raise t.fail(i, col, f"unknown bus {b!r}")
            idx[i] = bus_index[b]
        extra_bus.append(idx)
        extra_eff.append(t.floats(f"efficiency{port}", 1.0))
        port += 1
    bus0 = t.bus_refs("bus0", bus_index)
    bus1 = t.bus_refs("bus1", bus_index)
    return Links(
        names=t.names,
        bus0=bus0,
        bus1=bus1,
        carrier=t.strings("carrier"),
        p_nom_mw=t.floats("p_nom", 0.0, nonneg=True),
        efficiency=t.floats("efficiency", 1.0),
        p_min_pu=p_min,
        p_max_pu=p_max,
        marginal_cost=t.floats("marginal_cost", 0.0),
        bus_extra=tuple(extra_bus),
        efficiency_extra=tuple(extra_eff),
    )


#: PyPSA's global constraint types this reader models.
_GLOBAL_KINDS = (
    "primary_energy",
    "transmission_volume_expansion_limit",
    "transmission_expansion_cost_limit",
)


def _read_global_constraints(folder: _Tables) -> tuple[GlobalConstraint, ...]:
    t = folder.table("global_constraints.csv")
    if t is None:
        return ()
    # PyPSA's defaults (its export leaves out columns equal to them)
    kinds = t.strings("type", "primary_energy")
    attrs = t.strings("carrier_attribute", "co2_emissions")
    senses = t.strings("sense", "==")
    constants = t.floats("constant", 0.0, allow_inf=True)
    out = []
    for i, name in enumerate(t.names):
        if kinds[i] not in _GLOBAL_KINDS:
            raise t.fail(
                i, "type", f"{kinds[i]!r} is not supported (Spillway models {list(_GLOBAL_KINDS)})"
            )
        if kinds[i] == "primary_energy" and attrs[i] != "co2_emissions":
            raise t.fail(
                i, "carrier_attribute", f"only co2_emissions is supported, got {attrs[i]!r}"
            )
        if senses[i] not in ("<=", ">=", "=="):
            raise t.fail(i, "sense", f"must be <=, >= or ==, got {senses[i]!r}")
        if t.has("investment_period") and t.strings("investment_period")[i] != "":
            raise t.fail(i, "investment_period", "multi-period investment is not supported")
        out.append(GlobalConstraint(name, kinds[i], attrs[i], senses[i], float(constants[i])))
    return tuple(out)


def _read_mining(
    folder: _Tables, snaps: tuple[str, ...], bus_index: dict[str, int]
) -> tuple[MiningSites, Expansion]:
    t = folder.table("mining_sites.csv")
    if t is None:
        return MiningSites.empty(len(snaps)), Expansion.fixed(0)
    bus = t.bus_refs("bus", bus_index)
    expansion = _expansion(t, "p")
    # an extendable site is sized by the plan: p_nom is then only its starting size
    p_nom = t.floats("p_nom", None if not expansion.any else 0.0, nonneg=True)
    for k in np.flatnonzero(expansion.extendable).tolist():
        for field in ("ramp_limit_up", "ramp_limit_down", "rig_block_mw"):
            if t.has(field) and t.strings(field)[k] != "":
                raise t.fail(k, field, "not supported for an extendable site (p_nom_extendable)")
    eff = t.optional_floats("efficiency_j_per_th")
    value = t.optional_floats("value")
    hashprice = t.optional_floats("hashprice_per_th_day")
    for i in range(len(t)):
        if np.isnan(value[i]):
            if np.isnan(hashprice[i]):
                raise t.fail(i, "value", "give `value` or `hashprice_per_th_day`")
            if not eff[i] > 0:
                raise t.fail(
                    i, "efficiency_j_per_th", "a positive efficiency is needed with a hashprice"
                )
            value[i] = value_per_mwh_from_hashprice(hashprice[i], eff[i])
        if not np.isnan(eff[i]) and not eff[i] > 0:
            raise t.fail(i, "efficiency_j_per_th", f"must be positive, got {eff[i]:g}")
    value_t = np.tile(value, (len(snaps), 1))
    s = folder.series("mining_sites-value.csv", snaps, t.names)
    if s is not None:
        value_t = s.fill(value_t, t.names)
    ramp_up = t.optional_floats("ramp_limit_up")
    ramp_down = t.optional_floats("ramp_limit_down")
    for field, arr in (("ramp_limit_up", ramp_up), ("ramp_limit_down", ramp_down)):
        for bad in np.flatnonzero(arr < 0):
            raise t.fail(int(bad), field, f"must not be negative, got {arr[bad]:g}")
    p_min = t.floats("p_min_pu", 0.0, nonneg=True)
    for bad in np.flatnonzero(p_min > 1):
        raise t.fail(int(bad), "p_min_pu", f"must be <= 1, got {p_min[bad]:g}")
    block = t.optional_floats("rig_block_mw")
    for bad in np.flatnonzero(block <= 0):
        raise t.fail(int(bad), "rig_block_mw", f"must be positive, got {block[bad]:g}")
    return MiningSites(
        names=t.names,
        bus=bus,
        p_nom_mw=p_nom,
        p_min_pu=p_min,
        value_per_mwh=value_t,
        ramp_limit_up=ramp_up,
        ramp_limit_down=ramp_down,
        efficiency_j_per_th=eff,
        rig_block_mw=block,
    ), expansion


def with_mining_sites(data: GridData, path: str | Path) -> GridData:
    """``data`` with the mining sites of ``path`` instead of its own (any network: a
    MATPOWER case has no mining table of its own).

    ``path`` is a CSV file in ``mining_sites.csv``'s layout (module docstring), read and
    checked as that table is, against ``data``'s buses; each site's value is static (a
    ``mining_sites-value.csv`` series belongs to a scenario folder).

    Raises
    ------
    BadGridDataError
        The file cannot be read, or a row or field is invalid (named by the file's name).
    """
    path = Path(path)
    if not path.is_file():
        raise BadGridDataError(path.name, None, None, "mining sites file does not exist")
    frame = read_csv_table(path)
    tables = _Tables({"mining_sites": frame})
    bus_index = {n: i for i, n in enumerate(data.buses.names)}
    try:
        sites, expansion = _read_mining(tables, data.snapshots.names, bus_index)
    except BadGridDataError as exc:  # name the file the user gave
        raise BadGridDataError(path.name, exc.row, exc.field, exc.detail, name=exc.name) from None
    changes = {k: v for k, v in data.expansion.items() if k != "mining_sites"}
    if expansion.any:
        changes["mining_sites"] = expansion
    logger.info("%s: %d mining sites from %s", data.name, len(sites), path)
    return replace(data, mining_sites=sites, expansion=changes)


def read_pypsa_folder(folder: str | Path) -> GridData:
    """Read and validate a scenario in PyPSA's CSV folder layout (``buses.csv`` etc.):
    :func:`read_pypsa_tables` on the folder's files, each parsed when first needed.

    Raises
    ------
    BadGridDataError
        The folder does not exist, or any file, row or field is invalid.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadGridDataError(str(folder), None, None, "scenario folder does not exist")
    return read_pypsa_tables(_CsvFolder(folder), source=str(folder), default_name=folder.name)


def read_pypsa_tables(
    tables: Mapping[str, pd.DataFrame], *, source: str = "<tables>", default_name: str = ""
) -> GridData:
    """Read and validate a scenario given as PyPSA's tables, keyed by file stem.

    The frames are those the CSV reader builds (:func:`read_pypsa_folder` is this
    function on a folder's files): static tables (``buses``, ``lines``,
    ``generators``, ``mining_sites``, ...) indexed by component name, time series
    (``generators-p_max_pu``, ``loads-p_set``, ...) indexed by snapshot with one
    column per component, ``snapshots`` indexed by snapshot. Cells are strings as
    read from CSV (blank: PyPSA's default); frames of numbers (``NaN``: default)
    are converted first. Validation is the same as for a folder, and errors name
    the table as its file (``lines.csv``), the row as its CSV line (first component:
    line 2) and the field.

    Parameters
    ----------
    tables:
        File stem -> table; absent stems mean no such components.
    source:
        Where the tables came from (kept as :attr:`GridData.source`).
    default_name:
        The scenario's name when no ``network`` table names it.

    Returns
    -------
    GridData
        The validated scenario.

    Raises
    ------
    BadGridDataError
        Any table, row or field is invalid (the message names all three).
    """
    csv = _Tables(tables)
    _refuse_unsupported(csv)
    snapshots = _read_snapshots(csv)
    snaps = snapshots.names
    buses_t = csv.table("buses.csv")
    if buses_t is None or len(buses_t) == 0:
        raise BadGridDataError("buses.csv", None, None, "file is missing or has no buses")
    v_nom = buses_t.floats("v_nom", 1.0, positive=True)
    slack_marked = np.array([c.lower() == "slack" for c in buses_t.strings("control", "PQ")])
    dc_bus = np.array([c.upper() == "DC" for c in buses_t.strings("carrier", "AC")], dtype=bool)
    bus_index = {n: i for i, n in enumerate(buses_t.names)}
    # map coordinates, for the report only; a bus without them gets nan
    has_xy = buses_t.has("x") and buses_t.has("y")
    x = buses_t.floats("x", np.nan) if has_xy else None
    y = buses_t.floats("y", np.nan) if has_xy else None
    co2 = _read_carriers(csv)
    branches, branch_ext = _read_branches(csv, bus_index, v_nom, dc_bus)
    gens, gen_ext, commitment, gen_ramps = _read_generators(csv, snaps, bus_index, co2)
    loads = _read_loads(csv, snaps, bus_index)
    storage, storage_ext = _read_storage(csv, snaps, bus_index)
    links = _read_links(csv, snaps, bus_index)
    stores, store_ext = _read_stores(csv, snaps, bus_index)
    links_t = csv.table("links.csv") or Table("links.csv", pd.DataFrame())
    link_ext = _expansion(links_t, "p")
    ramps = {
        family: r
        for family, r in (("generators", gen_ramps), ("links", _read_ramps(links_t)))
        if r is not None
    }
    mining, mining_ext = _read_mining(csv, snaps, bus_index)
    expansion = {
        family: ext
        for family, ext in (
            ("generators", gen_ext),
            ("branches", branch_ext),
            ("links", link_ext),
            ("storage_units", storage_ext),
            ("stores", store_ext),
            ("mining_sites", mining_ext),
        )
        if ext.any
    }
    slack = choose_slack(
        bus_names=buses_t.names,
        branches=branches,
        generators=gens,
        loads=loads,
        storage_units=storage,
        mining_sites=mining,
        slack_marked=slack_marked,
        bus_file="buses.csv",
        link_buses=np.r_[
            links.bus0, links.bus1, *[b[b >= 0] for b in links.bus_extra], stores.bus
        ].astype(np.int64),
    )
    name = default_name or source
    net = csv.table("network.csv")
    if net is not None and len(net):
        name = net.names[0]
        net.used.update(net.df.columns)  # the export's metadata (version, CRS): nothing to model
    data = GridData(
        name=name,
        snapshots=snapshots,
        buses=Buses(names=buses_t.names, v_nom_kv=v_nom, slack=slack, x=x, y=y),
        branches=branches,
        generators=gens,
        loads=loads,
        storage_units=storage,
        mining_sites=mining,
        source=source,
        links=links if len(links) else None,
        expansion=expansion,
        global_constraints=_read_global_constraints(csv),
        carrier_co2=co2,
        stores=stores if len(stores) else None,
        commitment=commitment,
        ramps=ramps,
    )
    csv.warn_unused(source)
    logger.info(
        "read %s: %d buses, %d branches, %d generators, %d snapshots, %d mining sites",
        name,
        len(data.buses),
        len(branches),
        len(gens),
        len(snaps),
        len(mining),
    )
    return data
